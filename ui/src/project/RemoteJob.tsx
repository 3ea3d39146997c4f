// A job the project page's "Backup server" and "Artifact bucket" sections start (a backup on the
// server, a pull): its phase, what is done, speed and time left while it runs, with Cancel (as a
// local job's panel shows them; on the server's part, Cancel stops the server's backup too), then
// what it did (the backup by name; its path in the details), or why it failed.
import { useRef } from "react";
import type { JobFinished, JobProgress, Phase } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatBytes } from "../components/format";
import { countsPercent, doneText, eta, fraction, JobStepsLine, phaseLabel, ProgressBar, pullSummary, TimeStat } from "../components/JobPanel";
import { backupName, fileNameOf } from "../components/names";
import { errorDisplay, isCancel } from "../ipc/errorDisplay";
import { type LiveJob, useJobActions, usePlacedJob } from "../store";

/** The phases in which the backup server makes the backup (in percent, or in its bytes). */
export function isServerPhase(phase: Phase | null | undefined): boolean {
  return phase === "on_server" || phase === "server_step";
}

/**
 * What a finished server or pull job did, in a sentence. A cancelled backup says what the engine
 * says happened (its error's message): only the engine knows whether the server had made the
 * backup already — then it stays there and only the download was cancelled — or stopped it
 * (nothing kept there or here). The last phase this window saw cannot tell them apart.
 */
export function remoteJobText(f: JobFinished): string {
  if (!f.ok && f.kind === "backup" && isCancel(f.error?.code) && f.error) return sentence(f.error.message);
  if (!f.ok) return errorDisplay(f.error?.code).outcome;
  const r = f.result;
  if (r?.kind === "backup") {
    const verified = r.backup.status === "verified" ? "verified" : r.backup.status;
    return `Backup downloaded and ${verified}: ${formatBytes(r.backup.size)} (compressed).`;
  }
  if (r?.kind === "pull") return pullSummary(r);
  return "Done.";
}

/** "download cancelled: …" → "Download cancelled: ….". */
function sentence(text: string): string {
  const t = text.trim();
  if (t === "") return errorDisplay("cancelled").outcome;
  const s = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** Where a phase started: its first progress report (time in ms, amount done). */
export type PhaseStart = { phase: JobProgress["phase"]; at: number; done: number };

/**
 * Seconds left: from the engine's throughput when it gives one (bytes), else from how fast the
 * phase has advanced since it started (a server's percent). Null until that can be known.
 */
export function remoteEta(p: JobProgress, start: PhaseStart | null, now: number): number | null {
  const fromRate = eta(p);
  if (fromRate !== null) return fromRate;
  if (!start || start.phase !== p.phase || p.bytes_total === null || p.bytes_total <= 0) return null;
  const seconds = (now - start.at) / 1000;
  const advanced = p.bytes_done - start.done;
  if (seconds <= 0 || advanced <= 0) return null;
  return Math.max(0, (p.bytes_total - p.bytes_done) / (advanced / seconds));
}

/** Remembers where the current phase started, to estimate its rate. */
function usePhaseStart(p: JobProgress | null, now: () => number): PhaseStart | null {
  const start = useRef<PhaseStart | null>(null);
  if (p && start.current?.phase !== p.phase) start.current = { phase: p.phase, at: now(), done: p.bytes_done };
  return start.current;
}

/** The job's progress, then its result; test ids `<testId>`, `<testId>-phase`, `-result`, … */
export function RemoteJobView({
  job,
  testId,
  label,
  now = Date.now,
}: {
  job: LiveJob;
  testId: string;
  label: string;
  /** The clock (tests pass their own). */
  now?: () => number;
}) {
  const p = job.progress;
  const start = usePhaseStart(p, now);
  const { cancel } = useJobActions();
  usePlacedJob(job.id); // shown here, in its context: not again above the tabs
  return (
    <div className="server-job" data-testid={testId} data-job-id={job.id}>
      {job.finished === null ? (
        <>
          <div className="toolbar">
            <p className="small" aria-live="polite" data-testid={`${testId}-phase`}>
              {p ? phaseLabel(p.phase) : "Starting…"}
              {p && p.bytes_done > 0 && (
                <span className="muted" data-testid={`${testId}-bytes`}>
                  {" "}
                  {doneText(p)}
                </span>
              )}
            </p>
            <span className="spacer" />
            <button
              type="button"
              className="btn btn-small"
              onClick={() => void cancel(job.id)}
              disabled={job.cancelling}
              data-testid={`${testId}-cancel`}
            >
              {job.cancelling ? "Cancelling…" : "Cancel"}
            </button>
          </div>
          {/* The same named steps as the job panel (on the server → download → verify). */}
          <JobStepsLine job={job} server />
          {/* The job panel's bar: determinate and indeterminate fills never animate into each other. */}
          <ProgressBar percent={percentOf(p)} label={label} testId={`${testId}-progress`} />
          {/* Only what is known, as the job panel (remote-03 said "Speed — · Time left —"). */}
          <dl className="job-stats">
            {p?.bytes_per_sec && !countsPercent(p) ? (
              <div>
                <dt>Speed</dt>
                <dd data-testid={`${testId}-throughput`}>{`${formatBytes(p.bytes_per_sec)}/s`}</dd>
              </div>
            ) : null}
            <TimeStat left={p ? remoteEta(p, start, now()) : null} startedAt={job.startedAt} testId={testId} />
          </dl>
          {isServerPhase(p?.phase) && (
            <p className="muted small" data-testid={`${testId}-cancel-note`}>
              Cancel stops the backup on the server too: nothing is kept there or here.
            </p>
          )}
        </>
      ) : (
        <Finished finished={job.finished} testId={testId} />
      )}
    </div>
  );
}

function Finished({ finished, testId }: { finished: JobFinished; testId: string }) {
  const backup = finished.result?.kind === "backup" ? finished.result.backup : null;
  return (
    <>
      <p
        className={`notice small ${finished.ok ? "notice-ok" : "notice-warn"}`}
        role="status"
        data-testid={`${testId}-result`}
        data-ok={String(finished.ok)}
      >
        {remoteJobText(finished)}
      </p>
      {backup && (
        <details className="small" data-testid={`${testId}-details`}>
          <summary data-testid={`${testId}-name`}>{backupName(backup)}</summary>
          <dl className="kv">
            <dt>File</dt>
            <dd className="mono">{fileNameOf(backup.path)}</dd>
            <dt>Path</dt>
            <dd className="mono" data-testid={`${testId}-path`}>
              <bdi>{backup.path}</bdi>
            </dd>
            <dt>SHA-256</dt>
            <dd className="mono">{backup.sha256}</dd>
          </dl>
        </details>
      )}
      {!finished.ok && finished.error && <ErrorNotice error={finished.error} testId={`${testId}-error`} />}
    </>
  );
}

/** A job's whole percent, or null while its size is unknown (an indeterminate bar). */
function percentOf(p: JobProgress | null | undefined): number | null {
  const f = p ? fraction(p) : null;
  return f === null ? null : Math.round(f * 100);
}
