import { useMemo, useState } from "react";
import type { ErrorPayload, JobRecord, ProjectStatus, ProjectSummary } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { errorTitle } from "../ipc/errorDisplay";
import { databaseHost, formatAgo, formatBytes, formatTime } from "../components/format";
import {
  keys,
  type Resource,
  useJobActions,
  useJobs,
  useLiveJobs,
  useProjectStatus,
  useProjects,
  useReload,
} from "../store";
import { phaseLabel } from "../components/JobPanel";
import { ImportButton } from "../dropzone/importRequest";
import { ProvenLine } from "../drill/ProvenLine";
import { glance } from "../drill/api";
import { DEFAULT_STALE_AFTER_DAYS, useStaleAfterDays } from "../settings/appSettings";

const DAY_MS = 24 * 3600 * 1000;

export type BackupState = "ok" | "failed" | "never" | "stale";

/**
 * The state a project card shows: its newest backup, and whether a later backup job failed. A
 * backup is "stale" once it is `staleAfterDays` days old (the saved setting, default 2).
 */
export function backupState(
  summary: ProjectSummary,
  lastJob: JobRecord | null,
  now = Date.now(),
  staleAfterDays = DEFAULT_STALE_AFTER_DAYS,
): BackupState {
  const last = summary.last_backup;
  const failedLater =
    lastJob !== null &&
    lastJob.kind === "backup" &&
    lastJob.state === "failed" &&
    (!last || lastJob.started_at > last.created_at);
  if (failedLater) return "failed";
  if (!last) return "never";
  if (last.status === "corrupt" || last.status === "missing") return "failed";
  if (now - new Date(last.created_at).getTime() >= staleAfterDays * DAY_MS) return "stale";
  return "ok";
}

const STATE_LABEL: Record<BackupState, string> = {
  ok: "Backed up",
  failed: "Failed",
  never: "Never backed up",
  stale: "Stale",
};

type Props = {
  onOpen: (name: string) => void;
  onAdd: () => void;
  /** Open the settings screen (the toolbar's Settings button; absent: no button). */
  onSettings?: () => void;
  /** Open the history of every job (the toolbar's History button; absent: no button). */
  onHistory?: () => void;
};

export type ScheduleState = "on" | "paused" | "none";

/** A card's schedule state from the project's status (none known: "none"). */
export function scheduleState(status: ProjectStatus | undefined): ScheduleState {
  if (!status?.schedule) return "none";
  return status.paused ? "paused" : "on";
}

/** The schedule line of a project card: state, next run, overdue. */
function ScheduleLine({ status }: { status: ProjectStatus | undefined }) {
  const state = scheduleState(status);
  return (
    <span className="small" data-testid="project-schedule" data-schedule={state}>
      {status?.overdue && (
        <span
          className="badge badge-failed"
          title={`No good backup since ${status.last_good ? formatTime(status.last_good) : "the schedule began"}`}
          data-testid="project-overdue"
        >
          Overdue
        </span>
      )}{" "}
      <span className="muted" data-testid="project-schedule-state" data-state={state}>
        {state === "none" ? "No schedule" : state === "paused" ? "Schedule paused" : "Scheduled"}
      </span>
      {state === "on" && status?.next_run && (
        <span className="muted">
          {" "}
          · next{" "}
          <span data-testid="project-next-run" title={status.next_run}>
            {formatTime(status.next_run)}
          </span>
        </span>
      )}
    </span>
  );
}

type Load =
  | { status: "loading" }
  | { status: "ready"; projects: ProjectSummary[]; lastJobs: Record<string, JobRecord> }
  | { status: "error"; error: ErrorPayload };

/** The cards' data: the projects, and the newest backup job of each (a job list that fails is no jobs). */
function combine(projects: Resource<ProjectSummary[]>, jobs: Resource<JobRecord[]>): Load {
  if (projects.status === "error") return projects;
  if (projects.status === "loading" || jobs.status === "loading") return { status: "loading" };
  const lastJobs: Record<string, JobRecord> = {};
  if (jobs.status === "ready") {
    for (const job of jobs.data) {
      // Newest first: keep the first backup job of each project.
      if (job.kind === "backup" && job.project_id && !lastJobs[job.project_id]) lastJobs[job.project_id] = job;
    }
  }
  return { status: "ready", projects: projects.data, lastJobs };
}

export function ProjectsHome({ onOpen, onAdd, onSettings, onHistory }: Props) {
  const staleAfterDays = useStaleAfterDays();
  const projects = useProjects();
  const statusList = useProjectStatus();
  // A status that cannot be read shows no schedule line (the cards still work).
  const statuses = useMemo(() => {
    const m: Record<string, ProjectStatus> = {};
    if (statusList.status === "ready") for (const st of statusList.data) m[st.name] = st;
    return m;
  }, [statusList]);
  const history = useJobs();
  const load = useMemo(() => combine(projects, history), [projects, history]);
  const [startErrors, setStartErrors] = useState<Record<string, ErrorPayload>>({});
  const jobs = useLiveJobs();
  const { startBackup } = useJobActions();
  const reload = useReload();
  const refresh = () => {
    reload(keys.projects());
    reload(keys.jobs());
  };

  const backUp = async (name: string) => {
    setStartErrors(({ [name]: _old, ...rest }) => rest);
    const started = await startBackup(name);
    if (!started.ok) setStartErrors((all) => ({ ...all, [name]: started.error }));
  };

  if (load.status === "loading") {
    return (
      <p className="muted" data-testid="projects-loading">
        Loading projects…
      </p>
    );
  }
  const settingsButton = onSettings && (
    <button type="button" className="btn btn-quiet" onClick={onSettings} data-testid="open-settings">
      Settings
    </button>
  );

  if (load.status === "error") {
    return (
      <>
        {settingsButton && (
          <div className="toolbar">
            <span className="spacer" />
            {settingsButton}
          </div>
        )}
        <ErrorNotice error={load.error} testId="projects-error" onRetry={refresh} />
      </>
    );
  }

  if (load.projects.length === 0) {
    return (
      <>
        {settingsButton && (
          <div className="toolbar">
            <span className="spacer" />
            {settingsButton}
          </div>
        )}
        <section className="empty" data-testid="empty-state">
          <h2>No projects yet</h2>
          <p className="muted">
            Add a PostgreSQL or Supabase database to keep verified backups of it on this computer. The password goes
            into your system keychain.
          </p>
          <div className="form-actions">
            <button type="button" className="btn btn-primary" onClick={onAdd} data-testid="add-project" autoFocus>
              Add your first project
            </button>
            <ImportButton />
          </div>
          <p className="muted small">
            Or drop a backup on this window: an Offsite archive, a pg_dump file or a project export.
          </p>
          <ul className="project-list" data-testid="project-list" />
        </section>
      </>
    );
  }

  return (
    <section aria-labelledby="projects-title">
      <div className="toolbar">
        <h2 id="projects-title" className="screen-title">
          Projects
        </h2>
        <span className="spacer" />
        {onHistory && (
          <button type="button" className="btn btn-quiet" onClick={onHistory} data-testid="open-history">
            History
          </button>
        )}
        {settingsButton}
        <ImportButton className="btn btn-quiet" />
        <button type="button" className="btn" onClick={onAdd} data-testid="add-project">
          Add project
        </button>
      </div>
      <ul className="project-list" data-testid="project-list">
        {load.projects.map((summary) => {
          const p = summary.project;
          const last = summary.last_backup;
          const lastJob = load.lastJobs[p.id] ?? null;
          const state = backupState(summary, lastJob, Date.now(), staleAfterDays);
          const lastFailure = state === "failed" && lastJob?.state === "failed" ? lastJob : null;
          const running = jobs.find((j) => j.project === p.name && j.kind === "backup" && !j.finished);
          const startError = startErrors[p.name];
          return (
            <li
              key={p.id}
              className="card"
              data-testid="project-card"
              data-project={p.name}
              data-state={state}
              data-overdue={String(Boolean(statuses[p.name]?.overdue))}
            >
              <div className="card-main">
                <h3 className="card-title">
                  <button
                    type="button"
                    className="link"
                    onClick={() => onOpen(p.name)}
                    data-testid={`project-open-${p.name}`}
                  >
                    {p.name}
                  </button>
                </h3>
                <p className="mono muted small" data-testid="project-host">
                  {databaseHost(p.db_url)}
                </p>
              </div>
              <div className="card-status">
                <span className={`badge badge-${state}`} data-testid="project-state">
                  {STATE_LABEL[state]}
                </span>
                {lastFailure?.error_code && !running && (
                  <span
                    className="small text-danger"
                    title={[lastFailure.error_message, lastFailure.error_hint].filter(Boolean).join(" — ")}
                    data-testid="project-last-error"
                    data-code={lastFailure.error_code}
                  >
                    {errorTitle(lastFailure.error_code)}
                  </span>
                )}
                {running ? (
                  <span className="small" data-testid="project-running">
                    {running.progress ? phaseLabel(running.progress.phase) : "Starting"}…{" "}
                    {running.progress ? formatBytes(running.progress.bytes_done) : ""}
                  </span>
                ) : last ? (
                  <span className="small muted" data-testid="project-last-backup" title={formatTime(last.created_at)}>
                    {formatAgo(last.created_at)} · {formatBytes(last.size)} · {summary.backup_count}{" "}
                    {summary.backup_count === 1 ? "backup" : "backups"}
                  </span>
                ) : (
                  <span className="small muted" data-testid="project-last-backup">
                    No backup yet
                  </span>
                )}
                <ProvenLine last={glance(summary.last_drill)} lastPassed={glance(summary.last_passed_drill)} />
                {statusList.status === "ready" && <ScheduleLine status={statuses[p.name]} />}
              </div>
              <div className="card-actions">
                <button
                  type="button"
                  className="btn"
                  onClick={() => void backUp(p.name)}
                  disabled={Boolean(running)}
                  data-testid={`backup-now-${p.name}`}
                >
                  {running ? "Backing up…" : "Back up now"}
                </button>
              </div>
              {startError && <ErrorNotice error={startError} testId={`project-error-${p.name}`} />}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
