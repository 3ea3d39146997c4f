// A job's progress as the wizard shows it (the check and the restore).
import type { JobProgress } from "../../bindings";
import { formatBytes, formatDuration } from "../../components/format";
import { ProgressBar, barPercent, doneText, eta, progressLabel } from "../../components/JobPanel";

export function Progress({ progress }: { progress: JobProgress | null }) {
  const percent = barPercent(progress);
  return (
    <div className="wizard-progress">
      <p data-testid="wizard-phase">{progress ? progressLabel(progress) : "Starting…"}</p>
      <ProgressBar percent={percent} label="Progress" testId="wizard-progress" />
      <dl className="job-stats">
        <div>
          <dt>Done</dt>
          <dd data-testid="wizard-bytes">
            {progress ? doneText(progress) : "—"}
          </dd>
        </div>
        <div>
          <dt>Speed</dt>
          <dd data-testid="wizard-throughput">
            {progress?.bytes_per_sec ? `${formatBytes(progress.bytes_per_sec)}/s` : "—"}
          </dd>
        </div>
        <div>
          <dt>Time left</dt>
          <dd data-testid="wizard-eta">{formatDuration(progress ? eta(progress) : null)}</dd>
        </div>
      </dl>
    </div>
  );
}
