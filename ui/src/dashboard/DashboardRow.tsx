// One project on the dashboard: its state with the reason, the facts behind it, and ONE Fix
// button with the action the engine chose for its worst problem.
import type { MouseEvent, ReactNode } from "react";
import type { CheckItem, ErrorPayload, ProjectHealth } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { phaseLabel } from "../components/JobPanel";
import { stepLine } from "../components/jobSteps";
import { formatAgo, formatTime } from "../components/format";
import type { LiveJob } from "../store";
import { answeredByBanner, busyWhileBackingUp, ChecklistBadge, ChecklistItems, checkWhy, PausedBanner, saysAgain } from "./Checklist";
import { CopyMarks } from "./CopyMarks";
import { HealthBadge } from "./HealthBadge";
import { ScheduleCell } from "./ScheduleCell";
import { sentenceCase } from "../words";
import { BACKUP_RUNNING, projectHeadline } from "./headline";

type Props = {
  health: ProjectHealth;
  /** A backup of this project running in this window. */
  running: LiveJob | undefined;
  /** Starting the fix failed (a backup that could not start, a browser that did not open). */
  fixError: ErrorPayload | undefined;
  onOpen: (name: string) => void;
  onFix: (health: ProjectHealth) => void;
  /** Take one checklist item's Fix (the items after the first: the first is the Fix button). */
  onFixItem: (project: string, item: CheckItem) => void;
};

/** When: relative, with the exact local time on hover. */
function When({ iso, testId, never }: { iso: string | null; testId: string; never: string }) {
  if (!iso) {
    return (
      <span className="muted" data-testid={testId}>
        {never}
      </span>
    );
  }
  return (
    <time dateTime={iso} title={formatTime(iso)} data-testid={testId}>
      {formatAgo(iso)}
    </time>
  );
}

/** Whether a checklist item is open (something to do, or paused). */
const isOpen = (item: CheckItem | undefined): item is CheckItem => item !== undefined && (item.state === "gap" || item.state === "paused");

/**
 * A fact beside the checklist (copies, schedule): amber while its item is open, so it does not
 * read as fine beside the amber item (drill-02: a calm "No schedule" under "Scheduled: not yet").
 */
function Fact({ health: h, item: id, label, children }: { health: ProjectHealth; item: CheckItem["id"]; label: string; children: ReactNode }) {
  const item = h.checklist.items.find((i) => i.id === id);
  return (
    <div>
      <dt>{label}</dt>
      <dd className={isOpen(item) ? "dash-fact-open" : undefined} data-state={item?.state} data-testid={`project-fact-${id}`}>
        {children}
      </dd>
    </div>
  );
}

/**
 * The newest good backup's time. While the checklist's "Backed up recently" is open (a failed
 * last run, overdue, paused), the time — or "Never" — is not said as fine or calm: it is amber
 * (issue 44: "just now" read as all well beside the amber item; overdue-later-01 had a grey
 * "Never" beside refused credentials). Its why is the item's, said there once.
 */
function LastGoodBackup({ health: h }: { health: ProjectHealth }) {
  const item = h.checklist.items.find((i) => i.id === "backed_up");
  const open = isOpen(item);
  return (
    <div>
      <dt>Last good backup</dt>
      <dd className={open ? "dash-fact-open" : undefined} data-state={item?.state} data-testid="project-fact-backed_up">
        <When iso={h.last_good} testId="project-last-backup" never="Never" />
        {h.recovery_point && h.recovery_point !== h.last_good && (
          // Point-in-time capture runs: the newest restorable moment is later than the backup.
          <div className="dash-fact-sub" data-testid="project-recovery-point">
            Restorable to <When iso={h.recovery_point} testId="project-recovery-point-time" never="" />
          </div>
        )}
        {/* Why it is not fine is said once, by the card's reason or its checklist item (issue 44,
            dashboard-02 said a refusal three times on one card): the time is amber, nothing more. */}
      </dd>
    </div>
  );
}

/**
 * The card's reason in the app's one time format: when it is a checklist item's why (as it
 * usually is), that item's own words with its time in this computer's zone ("…from 2026-11-23
 * 09:27 UTC" was the engine's text, dashboard-01).
 */
export function reasonWords(h: ProjectHealth): string {
  const item = h.checklist.items.find((i) => saysAgain(i, h.reason));
  return item ? checkWhy(item) : h.reason;
}

/**
 * The card's headline (issue 64): "Last good backup 2 hours ago · next tonight 02:30", in the
 * engine's tone (amber beside a failed or overdue backup, green only when protected).
 */
function Headline({ health }: { health: ProjectHealth }) {
  // The engine's verdict (state, tone) in words: nothing is decided here.
  const line = projectHeadline(health.verdict);
  return (
    <p className={`dash-headline dash-headline-${line.tone}`} data-testid="project-headline" data-tone={line.tone}>
      {line.text}
    </p>
  );
}

export function DashboardRow({ health: h, running, fixError, onOpen, onFix, onFixItem }: Props) {
  const worst = h.problems[0];
  // The checklist's first open item is the one the Fix button takes (the engine orders both).
  const next = h.checklist.items.find((i) => i.state === "gap" || i.state === "paused");
  // Paused backups: the banner's one sentence and one button say it (not a reason line, a Fix
  // button and two rows as well: issue 44).
  const pauseFix = answeredByBanner(h.checklist);
  // The reason is an open row's sentence (as it usually is): said there, once, not as a line of
  // its own above a row reduced to "needs you" (issue 44, overdue-later-01).
  const reasonIsARow = h.checklist.items.some((i) => (i.state === "gap" || i.state === "paused") && saysAgain(i, h.reason));
  // A backup of the project runs: started here (its live job) or as the engine says (a schedule,
  // the command line, another window): "Back up now" waits, saying why (issue 64 item 6).
  const backingUp = Boolean(running) || h.verdict.backup_running;
  // A click anywhere on the row but on a button opens the project (the name is the keyboard's way).
  const open = (e: MouseEvent) => {
    if (e.target instanceof Element && e.target.closest("button, a")) return;
    onOpen(h.project);
  };
  return (
    <li
      className={`dash-row dash-${h.health}`}
      data-testid="project-card"
      data-project={h.project}
      data-health={h.health}
      data-problem={worst?.kind ?? "none"}
      onClick={open}
    >
      <div className="dash-head">
        <div className="dash-badges">
          <HealthBadge health={h.health} label={h.health_label} />
          <ChecklistBadge checklist={h.checklist} />
        </div>
        <div className="dash-title">
          <h3 className="dash-name">
            <button type="button" className="link" onClick={() => onOpen(h.project)} data-testid={`project-open-${h.project}`}>
              {h.project}
            </button>
          </h3>
          <span className="muted small" data-testid="project-subtitle">
            {h.subtitle}
          </span>
        </div>
        <div className="dash-middle">
          <Headline health={h} />
          {/* Paused backups are said once, by the banner below (with what to do). */}
          {!h.checklist.paused && !reasonIsARow && (
            <p className="dash-reason" data-testid="project-reason">
              {sentenceCase(reasonWords(h))}
            </p>
          )}
        </div>
        <div className="dash-fix">
          {running ? (
            <span className="small" data-testid="project-running">
              {/* The running backup's step, as its panel names it (issue 64 item 6). */}
              Backing up · {stepLine(running.kind, running.progress?.phase ?? null, running.phases) ?? (running.progress ? phaseLabel(running.progress.phase) : "Starting")}
            </span>
          ) : backingUp ? (
            <span className="small" data-testid="project-running">
              {BACKUP_RUNNING}
            </span>
          ) : null}
          {worst && !(pauseFix && worst.fix === pauseFix) && (
            <button
              type="button"
              className={h.health === "protected" ? "btn" : "btn btn-primary"}
              onClick={() => onFix(h)}
              disabled={worst.fix === "back_up_now" && backingUp}
              data-testid={`fix-${h.project}`}
              data-fix={worst.fix}
              title={worst.fix === "back_up_now" && backingUp ? BACKUP_RUNNING : worst.reason}
            >
              {worst.fix === "back_up_now" && backingUp ? "Backing up…" : worst.fix_label}
            </button>
          )}
        </div>
      </div>
      <PausedBanner
        checklist={h.checklist}
        onFix={(item) => onFixItem(h.project, item)}
        testId={`project-paused-${h.project}`}
        fixTestId={`fix-${h.project}`}
      />
      <ChecklistItems
        checklist={h.checklist}
        show="open"
        onFix={(item) => onFixItem(h.project, item)}
        mainFix={next?.id}
        pausedBanner
        testId="project-checklist"
        busy={busyWhileBackingUp(backingUp)}
      />
      <dl className="dash-facts">
        <LastGoodBackup health={h} />
        <Fact health={h} item="copies" label="Copies">
          <CopyMarks copies={h.copies} />
        </Fact>
        <Fact health={h} item="scheduled" label="Schedule">
          <ScheduleCell health={h} />
        </Fact>
      </dl>
      {fixError && <ErrorNotice error={fixError} testId={`project-error-${h.project}`} />}
    </li>
  );
}
