// This project's jobs of this session (running: progress and Cancel; finished: the result until
// dismissed), above the tabs so every tab shows them; nothing at all when there are none.
import { FinishedView, ProgressView } from "../../components/JobPanel";
import { useJobActions, useLiveJobs } from "../../store";

export function LiveJobs({ project }: { project: string }) {
  const live = useLiveJobs(project);
  const { cancel, dismiss } = useJobActions();
  if (live.length === 0) return null;
  return (
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
  );
}
