// One project on the dashboard: its state with the reason, the facts behind it, and ONE Fix
// button with the action the engine chose for its worst problem.
import type { MouseEvent } from "react";
import type { ErrorPayload, ProjectHealth, ProjectSummary } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { phaseLabel } from "../components/JobPanel";
import { formatAgo, formatBytes, formatTime } from "../components/format";
import { ProvenLine } from "../drill/ProvenLine";
import { glance } from "../drill/api";
import type { LiveJob } from "../store";
import { CopyMarks } from "./CopyMarks";
import { HealthBadge } from "./HealthBadge";
import { ScheduleCell } from "./ScheduleCell";

type Props = {
  health: ProjectHealth;
  /** The project's summary (its drills, for the "proven" line), when the list is there. */
  summary: ProjectSummary | undefined;
  /** A backup of this project running in this window. */
  running: LiveJob | undefined;
  /** Starting the fix failed (a backup that could not start, a browser that did not open). */
  fixError: ErrorPayload | undefined;
  onOpen: (name: string) => void;
  onFix: (health: ProjectHealth) => void;
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

/** The proven line from the health alone (while the drills' summaries load, or when they fail). */
function ProvenFallback({ health: h }: { health: ProjectHealth }) {
  const failed = h.problems.some((p) => p.kind === "drill_failed");
  const state = failed ? "failed" : h.last_proven ? "proven" : "never";
  return (
    <span
      className={`small ${failed ? "text-danger" : state === "never" ? "muted" : "text-ok"}`}
      data-testid="project-proven"
      data-state={state}
      title={h.last_proven ? formatTime(h.last_proven) : undefined}
    >
      {failed ? "Last drill failed" : h.last_proven ? `Proven restorable ${formatAgo(h.last_proven)}` : "Never proven"}
    </span>
  );
}

export function DashboardRow({ health: h, summary, running, fixError, onOpen, onFix }: Props) {
  const worst = h.problems[0];
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
        <HealthBadge health={h.health} label={h.health_label} />
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
        <p className="dash-reason" data-testid="project-reason">
          {h.reason}
        </p>
        <div className="dash-fix">
          {running ? (
            <span className="small" data-testid="project-running">
              {running.progress ? phaseLabel(running.progress.phase) : "Starting"}…{" "}
              {running.progress ? formatBytes(running.progress.bytes_done) : ""}
            </span>
          ) : null}
          {worst && (
            <button
              type="button"
              className={h.health === "protected" ? "btn" : "btn btn-primary"}
              onClick={() => onFix(h)}
              disabled={worst.fix === "back_up_now" && Boolean(running)}
              data-testid={`fix-${h.project}`}
              data-fix={worst.fix}
              title={worst.reason}
            >
              {worst.fix === "back_up_now" && running ? "Backing up…" : worst.fix_label}
            </button>
          )}
        </div>
      </div>
      <dl className="dash-facts">
        <div>
          <dt>Last good backup</dt>
          <dd>
            <When iso={h.last_good} testId="project-last-backup" never="Never" />
          </dd>
        </div>
        <div>
          <dt>Verified</dt>
          <dd>
            <When iso={h.last_verified} testId="project-verified" never="Never" />
          </dd>
        </div>
        <div>
          <dt>Restore proven</dt>
          <dd>
            {summary ? (
              <ProvenLine last={glance(summary.last_drill)} lastPassed={glance(summary.last_passed_drill)} />
            ) : (
              <ProvenFallback health={h} />
            )}
          </dd>
        </div>
        <div>
          <dt>Copies</dt>
          <dd>
            <CopyMarks copies={h.copies} />
          </dd>
        </div>
        <div>
          <dt>Schedule</dt>
          <dd>
            <ScheduleCell health={h} />
          </dd>
        </div>
      </dl>
      {fixError && <ErrorNotice error={fixError} testId={`project-error-${h.project}`} />}
    </li>
  );
}
