import { Details } from "./Details";
import type { JobRecord, JobState, JobTrigger } from "../bindings";
import { useJobs } from "../store";
import { errorDisplay } from "../ipc/errorDisplay";
import { formatBytes, formatDuration, formatTime } from "./format";
import { JOB_KIND_WORDS } from "../words";

export const STATE_LABEL: Record<JobState, string> = {
  running: "Running",
  cancelling: "Cancelling",
  cancelled: "Cancelled",
  succeeded: "Succeeded",
  failed: "Failed",
  interrupted: "Interrupted",
};

function duration(job: JobRecord): string {
  if (!job.finished_at) return "—";
  const ms = new Date(job.finished_at).getTime() - new Date(job.started_at).getTime();
  return Number.isFinite(ms) ? formatDuration(ms / 1000) : "—";
}

/**
 * A job's size column: one number per backup across screens (issue 44: Activity said 74.6 KB
 * read for a backup the Backups list shows as 40.5 KB). A job that made or checked a backup shows
 * that backup's size as the Backups list does (compressed); a copy that had nothing new to send
 * says so instead of "0 B"; any other job, the bytes it processed.
 */
export function jobSize(j: JobRecord, backupSizes?: ReadonlyMap<string, number>): string {
  if (j.kind === "sync" && j.state === "succeeded" && j.bytes_done === 0) return "already there";
  const size = j.backup_id ? backupSizes?.get(j.backup_id) : undefined;
  if (size !== undefined) return formatBytes(size);
  return formatBytes(j.bytes_done);
}

/** The project's recent jobs as the catalog recorded them (also those of earlier sessions and of the CLI). */
export function JobHistory({ project }: { project: string }) {
  const history = useJobs(project);

  if (history.status === "error") {
    const error = history.error;
    return (
      <p className="muted small" data-testid="job-history-error" data-code={error.code}>
        Job history unavailable: {error.message}
      </p>
    );
  }
  if (history.status !== "ready" || history.data.length === 0) return null;
  const jobs = history.data;
  return (
    <details className="history" data-testid="job-history">
      <summary data-testid="job-history-toggle">Recent jobs ({jobs.length})</summary>
      <JobTable jobs={jobs} />
    </details>
  );
}

const TRIGGER_WORDS: Record<JobTrigger, string> = {
  manual: "Manual",
  schedule: "Schedule",
  catch_up: "Catch-up",
  retry: "Retry",
  cli: "Command line",
  retention: "Retention",
};

/**
 * Jobs as a table. With `projectNames` (project id → name) it has a Project column and a Trigger
 * column (the history of every project).
 */
export function JobTable({
  jobs,
  projectNames,
  testId = "job-history-row",
  backupSizes,
}: {
  jobs: JobRecord[];
  projectNames?: Record<string, string>;
  testId?: string;
  /** Backup id → its archive's size (compressed), as the Backups list shows it. */
  backupSizes?: ReadonlyMap<string, number>;
}) {
  const all = projectNames !== undefined;
  return (
    <table className="history-table">
      <thead>
        <tr>
          <th>Started</th>
          {all && <th>Project</th>}
          <th>Job</th>
          {all && <th>Trigger</th>}
          <th>State</th>
          <th className="num" title="A backup's size as the Backups list shows it (compressed); other jobs: how much data they processed">
            Size
          </th>
          <th className="num">Took</th>
          <th>Problem</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((j) => (
          <tr
            key={j.id}
            data-testid={testId}
            data-state={j.state}
            data-kind={j.kind}
            data-trigger={j.trigger ?? "manual"}
          >
            <td>{formatTime(j.started_at)}</td>
            {all && (
              <td data-testid={`${testId}-project`}>
                {j.project_id ? (projectNames[j.project_id] ?? "(removed project)") : "—"}
              </td>
            )}
            <td>{JOB_KIND_WORDS[j.kind] ?? j.kind}</td>
            {all && <td>{TRIGGER_WORDS[j.trigger ?? "manual"]}</td>}
            <td className={`state-${j.state}`}>{STATE_LABEL[j.state]}</td>
            <td className="num" data-testid={`${testId}-size`}>
              {jobSize(j, backupSizes)}
            </td>
            <td className="num">{duration(j)}</td>
            <td className="problem">
              {j.error_code && errorDisplay(j.error_code).failure && (
                <>
                  <strong>{errorDisplay(j.error_code).title}</strong>
                  {j.error_message ? `: ${j.error_message}` : ""}
                  {j.error_hint && <span className="muted"> — {j.error_hint}</span>}
                  {/* What the server or tool said, kept with the job (issue 44). */}
                  {j.error_detail && (
                    <Details testId={`${testId}-detail`}>
                      <p className="mono" style={{ overflowWrap: "anywhere" }}>
                        {j.error_detail}
                      </p>
                    </Details>
                  )}
                </>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
