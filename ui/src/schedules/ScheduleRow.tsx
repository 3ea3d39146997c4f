// One saved schedule as a row: what, when in words (and how often, read from the engine's runs),
// whether it is on or paused, the next run in local time with the zone named, and Edit (the On
// switch is in the editor, saved with its Save: one save model on the tab, issue 44).
import type { ScheduleKind, ScheduleView } from "../bindings";
import { dayAndTime } from "../project/tabs/time";
import { gapWords, isFrequent, shortestGapMinutes } from "./cadence";
import { describeSpec } from "./spec";
import "../project/tabs/tabs.css";

export const KIND_LABEL: Record<ScheduleKind, string> = { backup: "Backup", verify: "Verify", drill: "Restore drill" };

/** This computer's zone (IANA name), to say when a schedule keeps another one. */
export function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Whether two zone names are the same zone ("Etc/UTC" and "UTC" are). */
export function sameZone(a: string, b: string): boolean {
  const canon = (z: string) => {
    try {
      const r = new Intl.DateTimeFormat("en", { timeZone: z }).resolvedOptions().timeZone;
      return /^(Etc\/)?(UTC|UCT|Universal|Zulu|GMT|GMT0|Greenwich)$/.test(r) ? "UTC" : r;
    } catch {
      return z;
    }
  };
  return a === b || canon(a) === canon(b);
}

/** The warning for runs under 15 minutes apart (null: none). */
export function FrequentWarning({ runs, testId }: { runs: readonly string[]; testId: string }) {
  if (!isFrequent(runs)) return null;
  const gap = gapWords(shortestGapMinutes(runs));
  return (
    <p className="notice notice-warn small" role="note" data-testid={testId}>
      This schedule runs {gap}: under 15 minutes apart. Each run is a whole backup or check of the project; choose a
      longer interval unless you mean it.
    </p>
  );
}

type Props = {
  kind: ScheduleKind;
  view: ScheduleView | undefined;
  editing: boolean;
  onEdit: () => void;
};

export function ScheduleRow({ kind, view, editing, onEdit }: Props) {
  const state = !view ? "none" : view.paused ? "paused" : "on";
  const gap = view ? gapWords(shortestGapMinutes(view.next_runs)) : null;
  return (
    <div className="sched-row" data-testid={`schedule-${kind}`} data-state={state} data-editing={editing}>
      <strong>{KIND_LABEL[kind]}</strong>
      <div>
        {!view ? (
          <span className="muted" data-testid={`schedule-${kind}-none`}>
            No schedule
          </span>
        ) : (
          <>
            <span data-testid={`schedule-${kind}-spec`} title={view.spec}>
              {describeSpec(view.when, view.words)}
            </span>
            {gap && view.when.kind === "cron" && !view.words && (
              <span className="small" data-testid={`schedule-${kind}-gap`}>
                {" "}
                · runs {gap}
              </span>
            )}
            {kind === "backup" && view.tenant && (
              <span className="muted small" data-testid="schedule-backup-tenant">
                {" "}
                · then one archive per {view.tenant}
              </span>
            )}
            {kind === "verify" && (
              <span className="muted small"> · {view.verify_newest === null ? "every backup" : `newest ${view.verify_newest}`}</span>
            )}
            <div className="small">
              Next run:{" "}
              <span data-testid={`schedule-${kind}-next`}>
                {view.paused ? "— (paused)" : view.next_runs[0] ? dayAndTime(view.next_runs[0]) : "—"}
              </span>
              {/* The time names this computer's zone ("03:15 CET"); a schedule kept in another zone says so,
                  the same zone is not named a second time ("UTC · Etc/UTC"). */}
              {!sameZone(view.time_zone, localZone()) && (
                <span className="muted" data-testid={`schedule-${kind}-zone`}>
                  {" "}
                  · the schedule keeps {view.time_zone} time
                </span>
              )}
            </div>
            {/* The schedule being edited has the warning under its preview, once. */}
            {!view.paused && !editing && <FrequentWarning runs={view.next_runs} testId={`schedule-${kind}-frequent`} />}
          </>
        )}
      </div>
      <div className="form-actions" style={{ margin: 0 }}>
        {view && (
          <span className={`sched-state${view.paused ? " muted" : ""}`} data-testid={`schedule-${kind}-state`}>
            {view.paused ? "Paused" : "On"}
          </span>
        )}
        <button type="button" className="btn btn-small" onClick={onEdit} aria-pressed={editing} data-testid={`schedule-${kind}-edit`}>
          {view ? "Edit" : "Set up"}
        </button>
      </div>
    </div>
  );
}
