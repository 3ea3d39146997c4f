// A job's progress as the wizard shows it (the check and the restore).
import type { JobProgress } from "../../bindings";
import { formatBytes, formatDuration } from "../../components/format";
import { doneText, eta, fraction, progressLabel } from "../../components/JobPanel";

export function Progress({ progress }: { progress: JobProgress | null }) {
  const f = progress ? fraction(progress) : null;
  const percent = f === null ? null : Math.round(f * 100);
  return (
    <div className="wizard-progress">
      <p data-testid="wizard-phase">{progress ? progressLabel(progress) : "Starting…"}</p>
      <div
        className={`progress${percent === null ? " progress-indeterminate" : ""}`}
        role="progressbar"
        aria-label="Progress"
        aria-valuemin={0}
        aria-valuemax={100}
        {...(percent === null ? {} : { "aria-valuenow": percent })}
        data-testid="wizard-progress"
      >
        <div className="progress-fill" style={{ width: percent === null ? undefined : `${percent}%` }} />
      </div>
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
