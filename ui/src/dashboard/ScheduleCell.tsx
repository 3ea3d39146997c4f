// A row's schedule: its state, the next run in local time (the screen names the zone once), whether it is overdue
// (the engine's fact), and how the last backup run ended.
import type { ProjectHealth } from "../bindings";
import { errorTitle } from "../ipc/errorDisplay";
import { formatAgo, formatTime } from "../components/format";

export type ScheduleState = "on" | "paused" | "none";

export function scheduleState(h: ProjectHealth): ScheduleState {
  if (!h.schedule) return "none";
  return h.paused ? "paused" : "on";
}

export function ScheduleCell({ health }: { health: ProjectHealth }) {
  const state = scheduleState(health);
  const next = state === "on" && health.next_run ? formatTime(health.next_run) : null;
  const run = health.last_run;
  // A run refused because backups are paused (the recovery key waits) did not fail: it waited,
  // in amber, with what resumes it (the engine counts it as the pause, not as a failed run).
  const waited = Boolean(run && !run.succeeded && health.checklist.paused && run.error_code === "needs_consent");
  const setUp = health.checklist.items.some((i) => i.id === "encryption" && i.fix === "set_up_encryption");
  const cause = waited
    ? `${setUp ? "set up encryption" : "confirm your recovery key"} to resume backups`
    : run?.error_code
      ? errorTitle(run.error_code)
      : "failed";
  return (
    <div className="dash-schedule" data-testid="project-schedule" data-schedule={state}>
      <span data-testid="project-schedule-state" data-state={state}>
        {state === "none" ? "No schedule" : state === "paused" ? `Paused (${health.schedule_words ?? health.schedule})` : health.schedule_words ?? health.schedule}
      </span>
      {health.overdue && (
        <span className="dash-overdue" data-testid="project-overdue" title="No good backup for longer than the schedule allows">
          Overdue
        </span>
      )}
      {next && health.next_run && (
        <span className="muted small">
          Next{" "}
          <span data-testid="project-next-run">{next}</span>
        </span>
      )}
      <span
        className={`small ${waited ? "text-warn" : run && !run.succeeded ? "text-danger" : "muted"}`}
        data-testid="project-last-run"
        data-ok={run ? String(run.succeeded) : "none"}
        data-waited={waited ? "true" : undefined}
        // Why it failed or waited is the card's reason and checklist item (dashboard-02 said
        // "refused" / "rejected" three times on one card): here only when, the cause on hover.
        title={run ? `${formatTime(run.finished_at)}${run.succeeded ? "" : ` · ${cause}`}` : undefined}
      >
        {!run
          ? "No run yet"
          : run.succeeded
            ? `Last run succeeded ${formatAgo(run.finished_at)}`
            : waited
              ? `Last run waited ${formatAgo(run.finished_at)}`
              : `Last run failed ${formatAgo(run.finished_at)}`}
      </span>
    </div>
  );
}
