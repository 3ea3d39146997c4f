// A job the project page's "Backup server" and "Artifact bucket" sections start (a backup on the
// server, a pull): its phase and bytes while it runs, then what it did, or why it failed.
import type { JobFinished } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatBytes } from "../components/format";
import { doneText, fraction, phaseLabel, pullSummary } from "../components/JobPanel";
import { errorDisplay } from "../ipc/errorDisplay";
import type { LiveJob } from "../store";

/** What a finished server or pull job did, in a sentence. */
export function remoteJobText(f: JobFinished): string {
  if (!f.ok) return errorDisplay(f.error?.code).outcome;
  const r = f.result;
  if (r?.kind === "backup") {
    const verified = r.backup.status === "verified" ? "verified" : r.backup.status;
    return `Backup downloaded and ${verified}: ${formatBytes(r.backup.size)}.`;
  }
  if (r?.kind === "pull") return pullSummary(r);
  return "Done.";
}

/** The job's progress, then its result; test ids `<testId>`, `<testId>-phase`, `-result`, … */
export function RemoteJobView({ job, testId, label }: { job: LiveJob; testId: string; label: string }) {
  const p = job.progress;
  return (
    <div className="server-job" data-testid={testId} data-job-id={job.id}>
      {job.finished === null ? (
        <>
          <p className="small" aria-live="polite" data-testid={`${testId}-phase`}>
            {p ? phaseLabel(p.phase) : "Starting…"}
            {p && p.bytes_done > 0 && (
              <span className="muted" data-testid={`${testId}-bytes`}>
                {" "}
                {doneText(p)}
              </span>
            )}
          </p>
          <ProgressBar value={p ? fraction(p) : null} label={label} testId={`${testId}-progress`} />
        </>
      ) : (
        <>
          <p
            className={`notice small ${job.finished.ok ? "notice-ok" : "notice-warn"}`}
            role="status"
            data-testid={`${testId}-result`}
            data-ok={String(job.finished.ok)}
          >
            {remoteJobText(job.finished)}
          </p>
          {job.finished.result?.kind === "backup" && (
            <p className="mono small" data-testid={`${testId}-path`}>
              {job.finished.result.backup.path}
            </p>
          )}
          {!job.finished.ok && job.finished.error && <ErrorNotice error={job.finished.error} testId={`${testId}-error`} />}
        </>
      )}
    </div>
  );
}

function ProgressBar({ value, label, testId }: { value: number | null; label: string; testId: string }) {
  const percent = value === null ? null : Math.round(value * 100);
  return (
    <div
      className={`progress${percent === null ? " progress-indeterminate" : ""}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent ?? undefined}
      data-testid={testId}
    >
      <div className="progress-fill" style={{ width: percent === null ? undefined : `${percent}%` }} />
    </div>
  );
}
