// The last step: how the ONE restore went, a section per component: the database proved table by
// table (rows the backup recorded against rows the target holds now), the storage bucket by
// bucket, the configuration setting by setting; or why it failed and what to do, by error code.
import type { ConfigReport, DatabaseReport, StorageRestoreReport } from "../../bindings";
import { countOf, formatBytes } from "../../components/format";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Copyable } from "../../components/Copyable";
import { errorDisplay, toneClass } from "../../ipc/errorDisplay";
import { formatDuration } from "../../components/format";
import { failureAdvice, readyPlan, type Step, succeeded, type WizardState } from "../steps";
import { WORDS } from "../../words";
import { StorageTargetFolder, StorageTargetInline } from "./ComponentsRestore";
import { ParitySection } from "./ParitySection";

type Props = {
  state: WizardState;
  onGoto: (step: Step) => void;
  onDone: () => void;
  /** "Put back the safety backup": the wizard again, for the safety backup into the same target. */
  onPutBack?: () => void;
};

/** Why row counts could not be compared (a backup imported from a database dump made outside Offsite). */
function notRecorded(report: DatabaseReport | null): string | null {
  return report?.rows_not_recorded || null;
}

const count = (n: number | null) => (n === null ? "—" : n.toLocaleString("en-US"));

export function ReportStep({ state, onGoto, onDone, onPutBack }: Props) {
  if (state.run.status !== "finished") return null;
  const { report: whole, error, startedAt, finishedAt } = state.run;
  const report = whole?.database ?? null;
  const ok = succeeded(state);
  const durationMs = whole?.duration_ms ?? finishedAt - startedAt;
  const oneTransaction = readyPlan(state)?.one_transaction ?? true;
  const advice = error
    ? failureAdvice(error.code, oneTransaction)
    : whole && !whole.ok
      ? failureAdvice("validation_failed")
      : null;
  const mismatched = report?.tables.filter((t) => !t.ok).length ?? 0;
  const title = ok
    ? report
      ? "Restored: every table holds the rows the backup recorded"
      : "Restored"
    : error && !errorDisplay(error.code).failure
      ? "Restore cancelled"
      : error
        ? "The restore failed"
        : `Restored, but ${mismatched} table${mismatched === 1 ? "" : "s"} differ${mismatched === 1 ? "s" : ""}`;

  return (
    <div data-testid="wizard-result" data-ok={String(ok)} data-code={error?.code ?? ""}>
      <div
        className={`notice ${ok ? "notice-ok" : error ? toneClass(errorDisplay(error.code).tone) : "notice-error"}`}
        role="status"
      >
        <p className="notice-title" data-testid="wizard-report-title">
          {title}
        </p>
        <p className="small" data-testid="wizard-report-duration">
          Took {formatDuration(durationMs / 1000)}
          {report ? ` · into ${report.plan.target_database}` : ""}
        </p>
      </div>

      {error && <ErrorNotice error={error} testId="wizard-error" />}

      {notRecorded(report) && (
        <p className="notice notice-warn" data-testid="wizard-rows-not-recorded">
          {notRecorded(report)}
        </p>
      )}

      {report?.safety_backup && (
        <div className="wizard-section" data-testid="wizard-safety">
          <div data-testid="wizard-safety-path">
            Safety backup of the target as it was:
            <Copyable value={report.safety_backup} kind="path" reveal testId="wizard-safety-open" />
          </div>
          {onPutBack && (
            <>
              <p className="small muted">
                Not what you wanted? Put {report.plan.target_database} back as it was before this restore: the safety backup is
                checked and restored like any backup, and what this restore wrote is kept in a new safety backup.
              </p>
              <div className="form-actions">
                <button type="button" className="btn" onClick={onPutBack} data-testid="wizard-put-back">
                  Put back the safety backup…
                </button>
              </div>
            </>
          )}
        </div>
      )}

      {report && report.tables.length > 0 && (
        <table className="history-table wizard-table" data-testid="wizard-report-tables">
          <thead>
            <tr>
              <th>Table</th>
              <th className="num">Rows in the backup</th>
              <th className="num">Rows restored</th>
              <th>Check</th>
            </tr>
          </thead>
          <tbody>
            {report.tables.map((t) => (
              <tr
                key={`${t.schema}.${t.table}`}
                data-testid="wizard-table-row"
                data-table={`${t.schema}.${t.table}`}
                data-expected={t.expected}
                data-actual={t.actual ?? ""}
                data-ok={String(t.ok)}
              >
                <td className="mono">
                  {t.schema}.{t.table}
                </td>
                <td className="num">{count(t.expected)}</td>
                <td className="num">{count(t.actual)}</td>
                <td className={t.ok ? "state-succeeded" : "state-failed"}>{t.ok ? "OK" : "differs"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {whole?.storage && <StorageSection report={whole.storage} />}
      {whole?.config && <ConfigSection report={whole.config} />}
      {whole?.parity && <ParitySection parity={whole.parity} />}

      {advice && (
        <p className="muted" data-testid="wizard-advice">
          {advice.text}
        </p>
      )}

      <div className="form-actions">
        {advice?.goto && advice.label && (
          <button type="button" className="btn" onClick={() => onGoto(advice.goto!)} data-testid="wizard-advice-action">
            {advice.label}
          </button>
        )}
        <button type="button" className="btn btn-primary" onClick={onDone} data-testid="wizard-done">
          {ok ? "Done" : "Close"}
        </button>
      </div>
    </div>
  );
}

const n = (x: number) => x.toLocaleString("en-US");

/** The storage section of the report: what was written, skipped, kept and deleted, per bucket. */
function StorageSection({ report }: { report: StorageRestoreReport }) {
  return (
    <section className="wizard-section" data-testid="wizard-report-storage">
      <h4>{WORDS.fileStorage}</h4>
      <p className="small" data-testid="wizard-report-storage-summary">
        {countOf(report.uploaded, "object")} written ({formatBytes(report.uploaded_bytes)}), {n(report.skipped)} identical
        skipped
        {report.kept ? `, ${n(report.kept)} different kept` : ""}
        {report.plan.mirror ? `, ${n(report.deleted)} deleted (${formatBytes(report.deleted_bytes)})` : ""}
        <StorageTargetInline target={report.plan.target} />
      </p>
      <StorageTargetFolder target={report.plan.target} testId="wizard-report-storage-target" />
      <table className="history-table wizard-table">
        <thead>
          <tr>
            <th>Bucket</th>
            <th className="num">Written</th>
            <th className="num">Skipped</th>
            <th className="num">Kept</th>
            <th className="num">Deleted</th>
          </tr>
        </thead>
        <tbody>
          {report.buckets.map((b) => (
            <tr key={b.bucket} data-testid="wizard-report-bucket" data-bucket={b.bucket} data-uploaded={b.uploaded}>
              <td className="mono">
                {b.bucket}
                {b.target_bucket !== b.bucket ? ` → ${b.target_bucket}` : ""}
                {b.created ? " (created)" : ""}
              </td>
              <td className="num">
                {n(b.uploaded)} ({formatBytes(b.uploaded_bytes)})
              </td>
              <td className="num">{n(b.skipped)}</td>
              <td className="num">{n(b.kept)}</td>
              <td className={`num${b.deleted > 0 ? " destroys" : ""}`}>{n(b.deleted)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The configuration section of the report: the settings written back, and those skipped. */
function ConfigSection({ report }: { report: ConfigReport }) {
  const { applied, skipped } = report.applied;
  return (
    <section className="wizard-section" data-testid="wizard-report-config">
      <h4>Configuration</h4>
      <p className="small" data-testid="wizard-report-config-summary">
        {applied.length === 0 && skipped.length === 0
          ? `Nothing written back to ${report.plan.project}.`
          : `Wrote ${applied.length} setting${applied.length === 1 ? "" : "s"} back to ${report.plan.project}` +
            (skipped.length ? `; ${skipped.length} skipped.` : ".")}
      </p>
      {(applied.length > 0 || skipped.length > 0) && (
        <ul className="small mono">
          {applied.map((a) => (
            <li key={`${a.file}:${a.setting}`}>{a.setting ? `${a.file}:${a.setting}` : a.file}</li>
          ))}
          {skipped.map((x) => (
            <li key={`skip-${x.file}:${x.setting}`} className="muted">
              {x.setting ? `${x.file}:${x.setting}` : x.file}: skipped, {x.reason}
            </li>
          ))}
        </ul>
      )}
      {report.deployed.length > 0 && (
        <p className="small" data-testid="wizard-report-functions">
          Edge Functions deployed again:{" "}
          {report.deployed
            .map((d) => `${d.slug} (${d.action === "create" ? "created" : "updated"}${d.version !== null ? `, version ${d.version}` : ""})`)
            .join(", ")}
          . Set their secrets again if they use any.
        </p>
      )}
      {report.vault_key_set && (
        <p className="small" data-testid="wizard-report-vault">
          {report.plan.project}’s Vault root key was set to the backup’s before the database was restored: its
          Vault secrets decrypt there.
        </p>
      )}
    </section>
  );
}
