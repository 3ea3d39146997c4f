// Every job of every project, as the catalog recorded it (this window's, earlier sessions', the
// command line's, the scheduler's): the audit trail, filtered by project, kind, trigger and state.
import { useMemo, useState } from "react";
import type { JobFilter, JobKind, JobState, JobTrigger } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { JobTable, STATE_LABEL } from "../components/JobHistory";
import { keys, useJobHistory, useProjects, useReload } from "../store";
import { JOB_KIND_WORDS } from "../words";

const KINDS: JobKind[] = ["backup", "verify", "restore", "recover", "import", "prune", "pull", "drill"];
const TRIGGERS: JobTrigger[] = ["manual", "schedule", "catch_up", "retry", "cli", "retention"];
const STATES: JobState[] = ["running", "cancelling", "cancelled", "succeeded", "failed", "interrupted"];

export const TRIGGER_LABEL: Record<JobTrigger, string> = {
  manual: "Manual",
  schedule: "Schedule",
  catch_up: "Catch-up",
  retry: "Retry",
  cli: "Command line",
  retention: "Retention",
};

const NO_FILTER: JobFilter = { project: null, kind: null, trigger: null, state: null, limit: null };

export function History({ onBack }: { onBack: () => void }) {
  const [filter, setFilter] = useState<JobFilter>(NO_FILTER);
  const filtered = filter.project !== null || filter.kind !== null || filter.trigger !== null || filter.state !== null;
  const jobs = useJobHistory(filter);
  const projects = useProjects();
  const reload = useReload();
  const names = useMemo(() => {
    const m: Record<string, string> = {};
    if (projects.status === "ready") for (const s of projects.data) m[s.project.id] = s.project.name;
    return m;
  }, [projects]);

  const select = <K extends "project" | "kind" | "trigger" | "state">(name: K, value: string) =>
    setFilter((f) => ({ ...f, [name]: value === "" ? null : value }));

  return (
    <section aria-labelledby="history-title" data-testid="history">
      <div className="toolbar">
        <button type="button" className="btn btn-quiet" onClick={onBack} data-testid="back-home">
          ← Projects
        </button>
        <h2 id="history-title" className="screen-title">
          History
        </h2>
      </div>
      <div className="field-grid" data-testid="history-filters">
        <label className="field">
          <span>Project</span>
          <select value={filter.project ?? ""} onChange={(e) => select("project", e.target.value)} data-testid="history-project">
            <option value="">All projects</option>
            {projects.status === "ready" &&
              projects.data.map((s) => (
                <option key={s.project.id} value={s.project.name}>
                  {s.project.name}
                </option>
              ))}
          </select>
        </label>
        <label className="field">
          <span>Kind</span>
          <select value={filter.kind ?? ""} onChange={(e) => select("kind", e.target.value)} data-testid="history-kind">
            <option value="">Any kind</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {JOB_KIND_WORDS[k]}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Trigger</span>
          <select value={filter.trigger ?? ""} onChange={(e) => select("trigger", e.target.value)} data-testid="history-trigger">
            <option value="">Any trigger</option>
            {TRIGGERS.map((t) => (
              <option key={t} value={t}>
                {TRIGGER_LABEL[t]}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>State</span>
          <select value={filter.state ?? ""} onChange={(e) => select("state", e.target.value)} data-testid="history-state">
            <option value="">Any state</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {STATE_LABEL[s]}
              </option>
            ))}
          </select>
        </label>
      </div>
      {jobs.status === "loading" && (
        <p className="muted" data-testid="history-loading">
          Loading jobs…
        </p>
      )}
      {jobs.status === "error" && (
        <ErrorNotice error={jobs.error} testId="history-error" onRetry={() => reload(keys.history(filter))} />
      )}
      {jobs.status === "ready" && jobs.data.length === 0 && filtered && (
        <div className="empty" data-testid="history-empty">
          <h3>No job matches these filters</h3>
          <button type="button" className="btn" onClick={() => setFilter(NO_FILTER)} data-testid="history-clear">
            Show every job
          </button>
        </div>
      )}
      {jobs.status === "ready" && jobs.data.length === 0 && !filtered && (
        <div className="empty" data-testid="history-empty">
          <h3>No jobs yet</h3>
          <p className="muted">
            Every backup, verification, restore, copy and drill is recorded here once it starts — whether you, a schedule
            or the command line started it — with how it ended and why.
          </p>
          <button type="button" className="btn" onClick={onBack} data-testid="history-empty-back">
            Back to your projects
          </button>
        </div>
      )}
      {jobs.status === "ready" && jobs.data.length > 0 && (
        <JobTable jobs={jobs.data} projectNames={names} testId="history-row" />
      )}
    </section>
  );
}
