import { type ReactNode, useEffect, useState } from "react";
import type { Component as RestoreComponent, DrillReport, JobFinished, JobProgress, Phase, RestoreReport } from "../bindings";
import { rtoLabel } from "../drill/text";
import { backupRefusalWords, errorDisplay, isCancel } from "../ipc/errorDisplay";
import { DamagedNotice } from "./DamagedNotice";
import { doneLabel, jobSteps } from "./jobSteps";
import { fileNameOf } from "./names";
import { ErrorNotice } from "./ErrorNotice";
import { countOf, formatBytes, formatDuration, formatTime } from "./format";
import { recoveryName } from "../recover/rules";
import { fullStop, JOB_KIND_WORDS, plural, sentenceCase, WORDS } from "../words";
import { type LiveJob, useJobActions, useLiveJobs } from "../store";

const PHASES: Record<Phase, string> = {
  connecting: "Connecting",
  counting: "Counting rows",
  dumping: "Dumping the database",
  downloading: "Downloading storage objects",
  on_server: "Backing up on the server",
  server_step: "Backing up on the server",
  globals: "Reading roles",
  packing: "Packing the archive",
  syncing: "Writing to disk",
  verifying: "Verifying checksums",
  planning: "Planning",
  safety_backup: "Safety backup",
  restoring: "Restoring",
  validating: "Validating row counts",
  copying: "Copying to destinations",
  fetching: "Fetching a copy",
  done: "Done",
};

export function phaseLabel(phase: Phase): string {
  return PHASES[phase] ?? phase;
}

/** The phase, and for a restore of several components the one it is on ("Storage: restoring"). */
export function progressLabel(p: JobProgress): string {
  const component = p.component ? COMPONENTS[p.component] : null;
  return component ? `${component}: ${phaseLabel(p.phase).toLowerCase()}` : phaseLabel(p.phase);
}

const COMPONENTS: Record<RestoreComponent, string> = { database: "Database", storage: WORDS.fileStorageShort, config: "Configuration" };

/** Fraction done (0–1) when the phase's total is known, else null. */
export function fraction(p: JobProgress): number | null {
  if (p.bytes_total === null || p.bytes_total <= 0) return null;
  return Math.min(1, Math.max(0, p.bytes_done / p.bytes_total));
}

/**
 * The percent a bar shows, or null for an indeterminate bar: without a known size, or before the
 * first byte (issue 44: a bar must show the same fraction as the text beside it, and a job that
 * has done nothing yet shows elapsed time, not a bar stuck at "0 %").
 */
export function barPercent(p: JobProgress | null): number | null {
  if (!p) return null;
  if (countsPercent(p)) return p.bytes_done > 0 ? Math.min(100, Math.max(0, p.bytes_done)) : null;
  const f = fraction(p);
  if (f === null || p.bytes_done <= 0) return null;
  return Math.round(f * 100);
}

/**
 * The bar itself: determinate and indeterminate fills are different elements (keyed), so the
 * width never animates from the moving 30 % stripe to a real value (restore-05 showed a bar ~27 %
 * full beside "0 %").
 */
export function ProgressBar({ percent, label, testId }: { percent: number | null; label: string; testId: string }) {
  return (
    <div
      className={`progress${percent === null ? " progress-indeterminate" : ""}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      {...(percent === null ? {} : { "aria-valuenow": percent })}
      data-testid={testId}
    >
      {percent === null ? (
        <div key="indeterminate" className="progress-fill" />
      ) : (
        <div key="determinate" className="progress-fill" style={{ width: `${percent}%` }} />
      )}
    </div>
  );
}

/** The phase counts percent (a backup server's progress), not bytes. */
export function countsPercent(p: JobProgress): boolean {
  return p.phase === "on_server";
}

/** What is done, as the phase counts it: "45%" or "2.0 KB of 4.0 KB (50%)". */
export function doneText(p: JobProgress): string {
  if (countsPercent(p)) return `${p.bytes_done}%`;
  const f = fraction(p);
  // Without a known size there is no percent to give: what is done so far, or nothing yet (the
  // elapsed time says the job is alive, not "0 B (0%)").
  if (f === null) return p.bytes_done > 0 ? formatBytes(p.bytes_done) : "—";
  // Nothing done yet: the size to come, without a "0 %" beside a bar that is not filling.
  if (p.bytes_done <= 0) return `none yet of ${formatBytes(p.bytes_total ?? 0)}`;
  return `${formatBytes(p.bytes_done)}${p.bytes_total !== null ? ` of ${formatBytes(p.bytes_total)}` : ""}${
    f !== null ? ` (${Math.round(f * 100)}%)` : ""
  }`;
}

/** Seconds left, when total and throughput are known. */
export function eta(p: JobProgress): number | null {
  if (p.bytes_total === null || !p.bytes_per_sec || p.bytes_per_sec <= 0) return null;
  return Math.max(0, (p.bytes_total - p.bytes_done) / p.bytes_per_sec);
}

export function kindLabel(job: LiveJob): string {
  const kind = job.kind ?? job.finished?.kind;
  const word = kind ? JOB_KIND_WORDS[kind] : "Job";
  // The scheduler's own run (not the retention after it): said, so it is not taken for a click.
  const scheduled = job.startedBy === "schedule" || job.startedBy === "catch_up" || job.startedBy === "retry";
  return scheduled ? `Scheduled ${word.toLowerCase()}` : word;
}

/** Seconds since `startedAt` (ms), ticking every second while shown. */
export function useElapsed(startedAt: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  return Math.max(0, (now - startedAt) / 1000);
}

/** "Time left", when known; else how long the job has run (a bar without a known size). */
export function TimeStat({ left, startedAt, testId }: { left: number | null; startedAt: number; testId: string }) {
  const elapsed = useElapsed(startedAt);
  return left !== null ? (
    <div>
      <dt>Time left</dt>
      <dd data-testid={`${testId}-eta`}>{formatDuration(left)}</dd>
    </div>
  ) : (
    <div>
      <dt>Running for</dt>
      <dd data-testid={`${testId}-elapsed`}>{formatDuration(elapsed)}</dd>
    </div>
  );
}

/** The job's named steps: done ones ticked, the current one marked (issue 64 item 6). */
export function JobStepsLine({ job, server = false }: { job: LiveJob; /** A backup made by the backup server. */ server?: boolean }) {
  const steps = jobSteps(job.kind, job.progress?.phase ?? null, job.phases, server);
  if (!steps) return null;
  return (
    <ol className="job-steps" aria-label="Steps" data-testid="job-steps">
      {steps.map((s) => (
        <li key={s.id} className={`job-step job-step-${s.state}`} data-step={s.id} data-state={s.state} aria-current={s.state === "current" ? "step" : undefined}>
          <span className="job-step-mark" aria-hidden="true">
            {s.state === "done" ? "✓" : s.state === "current" ? "●" : "○"}
          </span>
          {s.label}
        </li>
      ))}
    </ol>
  );
}

export function ProgressView({ job, onCancel }: { job: LiveJob; onCancel: () => void }) {
  const p = job.progress;
  const percent = barPercent(p);
  const left = p ? eta(p) : null;
  // Only what is known (projects-04 showed "Done none yet · Speed — · Time left —").
  const done = p && p.bytes_done > 0 ? doneText(p) : null;
  const speed = p && p.bytes_per_sec && p.bytes_per_sec > 0 && !countsPercent(p) ? `${formatBytes(p.bytes_per_sec)}/s` : null;
  return (
    <div className="job job-running" data-testid="job-running" data-job-id={job.id}>
      <div className="job-head">
        <span className="job-kind">{kindLabel(job)}</span>
        <span className="job-phase" aria-live="polite" data-testid="job-phase">
          {p ? progressLabel(p) : "Starting…"}
        </span>
        <span className="spacer" />
        <button
          type="button"
          className="btn btn-small"
          onClick={onCancel}
          disabled={job.cancelling}
          data-testid="job-cancel"
        >
          {job.cancelling ? "Cancelling…" : "Cancel"}
        </button>
      </div>
      <JobStepsLine job={job} />
      <ProgressBar percent={percent} label={`${kindLabel(job)} progress`} testId="job-progress" />
      <dl className="job-stats">
        {done && p && (
          <div>
            <dt>{doneLabel(p.phase)}</dt>
            <dd data-testid="job-bytes">{done}</dd>
          </div>
        )}
        {speed && (
          <div>
            <dt>Speed</dt>
            <dd data-testid="job-throughput">{speed}</dd>
          </div>
        )}
        <TimeStat left={left} startedAt={job.startedAt} testId="job" />
      </dl>
    </div>
  );
}

type PullResult = Extract<NonNullable<JobFinished["result"]>, { kind: "pull" }>;

/** What a pull ("Pull new") brought, from the backup server and from the artifact bucket. */
export function pullSummary(r: PullResult): string {
  const parts: string[] = [];
  if (r.server) {
    let s = `${plural(r.downloaded.length, "new backup", "new backups")} downloaded and verified, ${r.already_local} already here`;
    if (r.in_progress > 0) s += `, ${r.in_progress} still being made on the server`;
    parts.push(s);
  }
  if (r.artifacts) {
    parts.push(`${plural(r.artifacts.imported.length, "artifact")} imported and verified, ${r.artifacts.already_imported} imported before`);
  }
  return `${parts.join("; ")}.`;
}

/** One restore's report, section by section (database, storage, configuration). */
function restoreText(r: RestoreReport): string {
  const parts: string[] = [];
  if (r.database) {
    parts.push(r.database.ok ? "Restored; every table holds the recorded rows" : "Restored, but row counts differ");
  }
  if (r.storage) {
    const s = r.storage;
    parts.push(
      `Storage restored: ${countOf(s.uploaded, "object")} written (${formatBytes(s.uploaded_bytes)}), ${s.skipped.toLocaleString("en-US")} identical skipped${s.deleted ? `, ${s.deleted.toLocaleString("en-US")} deleted` : ""}`,
    );
  }
  if (r.config) {
    parts.push(`Configuration: ${plural(r.config.applied.applied.length, "setting")} written back`);
  }
  const differing = r.parity?.parts.filter((p) => p.verdict === "differs").length ?? 0;
  if (differing > 0) parts.push(`${plural(differing, "part")} ${differing === 1 ? "differs" : "differ"} from the backup’s source`);
  return parts.length ? parts.join(" · ") : "Restored";
}

/** A drill's outcome in one line: proven with how long the restore took, or the first failed check. */
export function drillText(report: DrillReport): string {
  if (report.verdict === "passed") return `Drill passed: proven restorable · ${rtoLabel(report.rto_seconds)}`;
  const failed = report.checks.find((c) => c.status === "failed");
  return `Drill failed${failed ? `: ${failed.title}` : ""}`;
}

/**
 * The data a backup holds, uncompressed: the sum of its manifest's per-component sizes (the
 * engine's `counts`); null when the record carries no manifest or it does not read as one.
 */
export function dataBytes(manifestJson: string | null): number | null {
  if (!manifestJson) return null;
  try {
    const counts: unknown = (JSON.parse(manifestJson) as { counts?: unknown }).counts;
    if (typeof counts !== "object" || counts === null) return null;
    let sum = 0;
    for (const c of Object.values(counts)) {
      const bytes: unknown = (c as { bytes?: unknown } | null)?.bytes;
      if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes < 0) return null;
      sum += bytes;
    }
    return sum > 0 ? sum : null;
  } catch {
    return null;
  }
}

/**
 * A backup's sizes explained (issue 64 item 6: "111.4 → 12.2 → 93.2 MB" were three unexplained
 * sizes): the data it holds and the archive file it became.
 */
export function backupSizes(size: number, data: number | null): string {
  return data ? `${formatBytes(data)} of data → ${formatBytes(size)} backup` : `${formatBytes(size)} (compressed)`;
}

function resultText(f: JobFinished): string {
  const r = f.result;
  if (!r) return "Finished";
  switch (r.kind) {
    case "backup":
      return `Backup written: ${backupSizes(r.backup.size, dataBytes(r.backup.manifest_json))}`;
    case "verify":
      return f.ok ? `Verified: ${formatBytes(r.report.bytes_verified)} checked (uncompressed)` : "Archive damaged";
    case "restore":
      return restoreText(r.report);
    case "import":
      return `Imported into ${r.project}: ${formatBytes(r.backup.size)} (compressed)`;
    case "pull":
      return `Pulled: ${pullSummary(r)}`;
    case "sync": {
      const stored = r.outcome.copies.filter((c) => c.state === "stored").length;
      return `Copies: ${stored} pushed, ${r.outcome.pruned.length} removed by retention, ${r.outcome.pending} pending`;
    }
    case "fetch_copy":
      return `Fetched from ${r.outcome.destination} and checked`;
    case "drill":
      return drillText(r.report);
    case "recover": {
      const inserted = r.report.tables.reduce((n, t) => n + t.insert, 0);
      const updated = r.report.tables.reduce((n, t) => n + t.update, 0);
      return `Rows recovered into ${r.report.target}: ${inserted} inserted, ${updated} overwritten`;
    }
    case "recover_undo":
      return `${sentenceCase(recoveryName(r.report.id))} undone`;
    case "tenant_backup": {
      const size = r.outcome.backups.reduce((n, b) => n + b.backup.size, 0);
      return r.outcome.backups.length === 0
        ? `Tenant ${r.outcome.tenant}: the backup has no tenant rows; nothing written`
        : `Tenant ${r.outcome.tenant}: ${plural(r.outcome.backups.length, "archive")} written, ${formatBytes(size)} (compressed)`;
    }
    case "pitr_restore": {
      const p = r.restored.plan;
      return p.stop_commit_at
        ? `Restored as of ${formatTime(p.stop_commit_at)}: ${plural(r.restored.replayed.commits, "transaction")} replayed onto the base`
        : "Restored: the base as taken (no change to replay)";
    }
    case "at_state":
      return `Ready to look inside: as of ${formatTime(r.state.at)}, ${plural(r.state.transactions, "transaction")} replayed onto the base`;
  }
}

/** A finished job as its kind and file, for a line that names it ("Import picked-backup"). */
function jobName(job: LiveJob): string {
  const f = job.finished;
  const path = f?.result?.kind === "backup" ? f.result.backup.path : f?.result?.kind === "verify" ? f.result.report.archive : job.subject;
  return path && /[\\/]/.test(path) ? `${kindLabel(job)} of ${fileNameOf(path)}` : kindLabel(job);
}

export function FinishedView({
  job,
  onDismiss,
  also = [],
}: {
  job: LiveJob;
  onDismiss: () => void;
  /** Older jobs that failed for the same cause: named in this card, not given cards of their own. */
  also?: LiveJob[];
}) {
  const f = job.finished;
  if (!f) return null;
  // Whether the job failed is the event's `ok`, as the catalog and the notification say it (a
  // verify that found damage is a failed job that still carries its report); a drill's failed
  // verdict is a job that ran, shown red.
  const intact = f.ok && !(f.result?.kind === "drill" && f.result.report.verdict !== "passed");
  // Waiting for the user (a recovery key to confirm): amber, not a red failure (issue 44).
  const paused = !f.ok && f.error != null && errorDisplay(f.error.code).tone === "warning";
  const path = f.result?.kind === "backup" ? f.result.backup.path : f.result?.kind === "verify" ? f.result.report.archive : null;
  // The damage found by a verify: said once from its report (the engine's own error names a
  // terminal command; the report's facts go behind Details).
  const damaged = !f.ok && f.result?.kind === "verify" ? f.result.report : null;
  return (
    <div
      className={`job job-finished ${intact ? "job-ok" : paused ? "job-paused" : isCancel(f.error?.code) ? "job-cancelled" : "job-failed"}`}
      data-testid="job-finished"
      data-job-id={job.id}
      data-ok={String(intact)}
    >
      <div className="job-head">
        <span className="job-kind">{kindLabel(job)}</span>
        <span className="job-result" role="status" data-testid="job-result">
          {f.ok || damaged ? resultText(f) : errorDisplay(f.error?.code).outcome}
        </span>
        {path && (
          // One line per job (issue 44): the file's name beside the result; the whole (often
          // temporary) path on hover.
          <span className="job-path mono small" title={path} data-testid="job-result-path">
            {fileNameOf(path)}
          </span>
        )}
        <span className="spacer" />
        <button type="button" className="btn btn-small btn-quiet" onClick={onDismiss} data-testid="job-dismiss">
          Dismiss
        </button>
      </div>
      {also.length > 0 && (
        <p className="small muted" data-testid="job-same-cause">
          The same cause also stopped: {also.map(jobName).join(" · ")}.
        </p>
      )}
      {damaged && (
        // The damage said once with its next step; the raw problems (SHA-256 pairs) in the details.
        <DamagedNotice
          testId="job-damaged"
          details={[...(damaged.first_bad ? [`first damaged file: ${damaged.first_bad}`] : []), ...damaged.problems]}
        />
      )}
      {!f.ok && !damaged && f.error && isCancel(f.error.code) && (
        // The user's own stop: the head's "Cancelled" says it once; what was kept and what to
        // do next is a quiet line, not a box repeating "Cancelled" twice more.
        <p className="small muted sentence" data-testid="job-cancelled">
          {fullStop(f.error.hint ?? errorDisplay(f.error.code).next)}
        </p>
      )}
      {!f.ok &&
        !damaged &&
        f.error &&
        !isCancel(f.error.code) &&
        (f.error.code === "integrity" && (f.kind === "import" || f.kind === "verify" || f.kind === "restore") ? (
          <DamagedNotice error={f.error} testId="job-error" />
        ) : (
          <ErrorNotice error={f.error} testId="job-error" words={f.kind === "backup" ? backupRefusalWords(f.error.code) : null} />
        ))}
    </div>
  );
}

/** Running and finished jobs of one project (or all, without `project`). */
export function JobPanel({ project, children }: { project?: string; children?: ReactNode }) {
  const mine = useLiveJobs(project);
  const { cancel, dismiss } = useJobActions();
  const running = mine.filter((j) => !j.finished);
  const finished = mine.filter((j) => j.finished);
  return (
    <section className="panel jobs" aria-label="Jobs" data-testid="job-panel">
      <h2 className="panel-title">Jobs</h2>
      {mine.length === 0 && (
        <p className="muted small" data-testid="job-panel-empty">
          No jobs in this session.
        </p>
      )}
      {running.map((job) => (
        <ProgressView key={job.id} job={job} onCancel={() => void cancel(job.id)} />
      ))}
      {finished.map((job) => (
        <FinishedView key={job.id} job={job} onDismiss={() => dismiss(job.id)} />
      ))}
      {children}
    </section>
  );
}
