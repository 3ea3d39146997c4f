// One drill's report as an auditor reads it: the verdict, what was restored where and by whom,
// and every check with what was expected, what was found and its status. "Save report…" writes
// the signed printable page; the signature line says whether the report verifies.
import { ReportText } from "../components/ShortHashes";
import type { DrillReport } from "../bindings";
import type { ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatBytes, formatTime } from "../components/format";
import { Details } from "../components/Details";
import { shortVersion } from "../words";
import {
  type BackupNames,
  CHECK_STATUS_LABEL,
  checkCounts,
  drillBackupName,
  restoreTime,
  RTO_EXPLAINED,
  VERDICT_LABEL,
  whereRestored,
} from "./text";

/** Whether the report's signature verifies (checked by the engine, with this app's public key). */
export type SignatureState =
  | { status: "checking" }
  | { status: "valid"; detail: string | null }
  | { status: "invalid"; detail: string | null }
  | { status: "unknown"; error: ErrorPayload };

export type SaveState =
  | { status: "idle" }
  | { status: "saving" }
  | { status: "saved"; path: string }
  | { status: "error"; error: ErrorPayload };

type Props = {
  report: DrillReport;
  /** The project's backups, to name the drilled one by its type and time. */
  names?: BackupNames;
  signature?: SignatureState | undefined;
  save?: SaveState;
  onSave?: () => void;
};

export function DrillReportView({ report, names = new Map(), signature, save = { status: "idle" }, onSave }: Props) {
  const passed = report.verdict === "passed";
  return (
    <section className="panel drill-report" aria-label="Drill report" data-testid="drill-report" data-verdict={report.verdict}>
      <div className="toolbar">
        <h3 className="panel-title">
          <span className={`badge badge-${passed ? "ok" : "failed"}`} data-testid="drill-report-verdict">
            {VERDICT_LABEL[report.verdict]}
          </span>{" "}
          Drill of {report.project} · {formatTime(report.finished_at)}
        </h3>
        <span className="spacer" />
        {onSave && (
          <button
            type="button"
            className="btn btn-small"
            onClick={onSave}
            disabled={save.status === "saving"}
            data-testid="drill-report-save"
          >
            {save.status === "saving" ? "Saving…" : "Save report…"}
          </button>
        )}
      </div>
      {save.status === "saved" && (
        <p className="notice notice-ok small" role="status" data-testid="drill-report-saved">
          Saved to <span className="mono">{save.path}</span>
        </p>
      )}
      {save.status === "error" && <ErrorNotice error={save.error} testId="drill-report-save-error" />}
      {signature && <SignatureLine state={signature} />}
      <dl className="kv compact" data-testid="drill-report-facts">
        <Fact
          label="Backup"
          value={drillBackupName(report.backup_id, names, report.backup_created_at)}
          testId="drill-report-backup"
        />
        <Fact label="Restored into" value={whereRestored(report.target)} testId="drill-report-target" />
        <Fact label="Time to restore" value={restoreTime(report.rto_seconds)} testId="drill-report-rto" />
        {report.rpo_hours != null && (
          <Fact label="Newest data in the backup" value={`${report.rpo_hours.toFixed(1)} h before the backup was made`} />
        )}
        <Fact
          label="Sizes"
          value={`archive ${formatBytes(report.archive_bytes)}${
            report.restored_database_bytes !== null ? ` · restored database ${formatBytes(report.restored_database_bytes)}` : ""
          }`}
        />
        <Fact
          label="Backup made from"
          value={report.source_server_version ? `PostgreSQL ${shortVersion(report.source_server_version).replace(/^PostgreSQL /, "")}` : "—"}
        />
        <Fact label="Ran by" value={`Offsite ${report.ran_by.offsite_version.replace(/^offsite /i, "")} on ${report.ran_by.hostname}`} />
      </dl>
      <Details testId="drill-report-technical">
        <dl className="kv compact">
          <Fact label="Time to restore" value={RTO_EXPLAINED} />
          <Fact label="Archive file" value={report.archive_name} mono />
          <Fact label="Archive SHA-256" value={report.archive_sha256} mono />
          <Fact label="Restored into" value={`${report.target.location} (${report.target.server_version})`} mono testId="drill-report-target-raw" />
          {report.source_server_version && <Fact label="Source server" value={report.source_server_version} mono />}
          <Fact
            label="Ran by"
            value={`${report.ran_by.offsite_version} on ${report.ran_by.hostname} (${report.ran_by.os})${
              report.ran_by.pg_restore ? ` · ${report.ran_by.pg_restore}` : ""
            }`}
            mono
          />
        </dl>
      </Details>
      <p className="small muted" data-testid="drill-report-counts">
        {checkCounts(report.checks.map((c) => c.status))}
      </p>
      <table className="history-table drill-checks" data-testid="drill-checks">
        <thead>
          <tr>
            <th>Check</th>
            <th>Expected</th>
            <th>Found</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {report.checks.map((c) => (
            <tr key={c.id} data-testid="drill-check" data-check={c.id} data-status={c.status}>
              <td>
                <ReportText text={c.title} />
                {c.detail && (
                  <Details testId="drill-check-detail">
                    <ReportText text={c.detail} />
                  </Details>
                )}
              </td>
              <td className="small">{c.expected ? <ReportText text={c.expected} /> : "—"}</td>
              <td className="small">{c.actual ? <ReportText text={c.actual} /> : "—"}</td>
              <td className={`state-${c.status === "passed" ? "succeeded" : c.status === "failed" ? "failed" : "other"}`}>
                {CHECK_STATUS_LABEL[c.status]}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Fact({ label, value, mono, testId }: { label: string; value: string; mono?: boolean; testId?: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd className={mono ? "mono small" : undefined} data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

function SignatureLine({ state }: { state: SignatureState }) {
  switch (state.status) {
    case "checking":
      return (
        <p className="small muted" data-testid="drill-signature" data-state="checking">
          Checking the signature…
        </p>
      );
    case "valid":
      return (
        <p className="notice notice-ok small" data-testid="drill-signature" data-state="valid">
          Signature verifies: this report is as Offsite wrote it{state.detail ? ` (${state.detail})` : ""}.
        </p>
      );
    case "invalid":
      return (
        <p className="notice notice-error small" role="alert" data-testid="drill-signature" data-state="invalid">
          The signature does not verify: this report was changed after it was signed
          {state.detail ? ` (${state.detail})` : ""}.
        </p>
      );
    case "unknown":
      return <ErrorNotice error={state.error} testId="drill-signature-error" />;
  }
}
