// This project's jobs of this session (running: progress and Cancel; finished: the result until
// dismissed), above the tabs so every tab shows them; nothing at all when there are none.
import { FinishedView, ProgressView } from "../../components/JobPanel";
import { type LiveJob, useJobActions, useLiveJobs } from "../../store";
import { plural } from "../../words";

/** How many finished jobs stay listed above the tabs (the newest; the rest behind "Dismiss all"). */
export const FINISHED_SHOWN = 3;

/**
 * The results still worth a line (newest first): a failure that a later success of the same kind
 * has answered (a backup paused for the recovery key, then one that ran) is no longer news — it
 * is counted with the older results, not shown above the tabs.
 */
export function answered(finished: LiveJob[]): LiveJob[] {
  return finished.filter((j, i) => j.finished?.ok || !finished.slice(0, i).some((n) => n.kind === j.kind && n.finished?.ok));
}

export function LiveJobs({ project }: { project: string }) {
  const live = useLiveJobs(project);
  const { cancel, dismiss } = useJobActions();
  if (live.length === 0) return null;
  // Results do not pile up and push the tabs down (issue 44): the newest few, one line each.
  const finished = live.filter((j) => j.finished);
  const shown = answered(finished).slice(0, FINISHED_SHOWN);
  const hidden = finished.length - shown.length;
  return (
    <section className="panel jobs" aria-label="Jobs now" data-testid="job-panel">
      {live
        .filter((j) => !j.finished)
        .map((job) => (
          <ProgressView key={job.id} job={job} onCancel={() => void cancel(job.id)} />
        ))}
      {shown.map((job) => (
        <FinishedView key={job.id} job={job} onDismiss={() => dismiss(job.id)} />
      ))}
      {finished.length > 1 && (
        <div className="job-head small" data-testid="jobs-older">
          {hidden > 0 && <span className="muted">and {plural(hidden, "older result")}</span>}
          <span className="spacer" />
          <button
            type="button"
            className="btn btn-small btn-quiet"
            onClick={() => finished.forEach((j) => dismiss(j.id))}
            data-testid="jobs-dismiss-all"
          >
            Dismiss all
          </button>
        </div>
      )}
    </section>
  );
}
