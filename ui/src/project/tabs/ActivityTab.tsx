// The project page's Activity tab: every recorded job of this project, newest first (also those
// of the CLI and earlier sessions). The live ones are on top of the page (LiveJobs), on every tab.
import { ErrorNotice } from "../../components/ErrorNotice";
import { JobTable } from "../../components/JobHistory";
import { useMemo } from "react";
import { keys, useBackups, useJobs, useLiveJobs, useStore } from "../../store";
import "./tabs.css";

export function ActivityTab({ project }: { project: string }) {
  const live = useLiveJobs(project);
  const history = useJobs(project);
  const store = useStore();
  const backups = useBackups(project);
  // One size per backup across screens: the Backups list's (compressed).
  const sizes = useMemo(
    () => new Map(backups.status === "ready" ? backups.data.map((b) => [b.id, b.size] as const) : []),
    [backups],
  );
  return (
    <div className="tab-activity" data-testid="tab-activity">
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
        {history.status === "ready" && history.data.length > 0 && <JobTable jobs={history.data} backupSizes={sizes} />}
      </section>
    </div>
  );
}
