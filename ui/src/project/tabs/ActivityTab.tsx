// The project page's Activity tab: this project's jobs, the live ones on top (progress, Cancel,
// their result), then every recorded job newest first (also those of the CLI and earlier sessions).
import { ErrorNotice } from "../../components/ErrorNotice";
import { JobTable } from "../../components/JobHistory";
import { FinishedView, ProgressView } from "../../components/JobPanel";
import { keys, useJobActions, useJobs, useLiveJobs, useStore } from "../../store";
import "./tabs.css";

export function ActivityTab({ project }: { project: string }) {
  const live = useLiveJobs(project);
  const history = useJobs(project);
  const store = useStore();
  const { cancel, dismiss } = useJobActions();
  return (
    <div className="tab-activity" data-testid="tab-activity">
      {live.length > 0 && (
        <section className="panel jobs" aria-label="Jobs now" data-testid="job-panel">
          {live
            .filter((j) => !j.finished)
            .map((job) => (
              <ProgressView key={job.id} job={job} onCancel={() => void cancel(job.id)} />
            ))}
          {live
            .filter((j) => j.finished)
            .map((job) => (
              <FinishedView key={job.id} job={job} onDismiss={() => dismiss(job.id)} />
            ))}
        </section>
      )}
      <section className="panel" aria-label="Jobs" data-testid="job-history">
        <h2 className="panel-title">Jobs</h2>
        {history.status === "loading" && (
          <p className="muted small" data-testid="job-history-loading">
            Loading jobs…
          </p>
        )}
        {history.status === "error" && (
          <ErrorNotice error={history.error} testId="job-history-error" onRetry={() => store.reload(keys.jobs(project))} />
        )}
        {history.status === "ready" && history.data.length === 0 && live.length === 0 && (
          <p className="muted small" data-testid="job-history-empty">
            No jobs yet: backups, verifications, restores and drills of this project appear here.
          </p>
        )}
        {history.status === "ready" && history.data.length > 0 && <JobTable jobs={history.data} />}
      </section>
    </div>
  );
}
