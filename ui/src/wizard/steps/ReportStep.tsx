// The last step: how the restore went, proved table by table (rows the backup recorded against
// rows the target holds now), or why it failed and what to do, by error code.
import type { DatabaseReport } from "../../bindings";
import { ErrorNotice } from "../../components/ErrorNotice";
import { errorDisplay, toneClass } from "../../ipc/errorDisplay";
import { formatDuration } from "../../components/format";
import { failureAdvice, type Step, succeeded, type WizardState } from "../steps";

type Props = { state: WizardState; onGoto: (step: Step) => void; onDone: () => void };

/** Why row counts could not be compared (a backup imported from a plain pg_dump file). */
function notRecorded(report: DatabaseReport | null): string | null {
  return report?.rows_not_recorded || null;
}

const count = (n: number | null) => (n === null ? "—" : n.toLocaleString("en-US"));

export function ReportStep({ state, onGoto, onDone }: Props) {
  if (state.run.status !== "finished") return null;
  const { report, error, startedAt, finishedAt } = state.run;
  const ok = succeeded(state);
  const durationMs = report?.duration_ms ?? finishedAt - startedAt;
  const advice = error ? failureAdvice(error.code) : report && !report.ok ? failureAdvice("validation_failed") : null;
  const mismatched = report?.tables.filter((t) => !t.ok).length ?? 0;
  const title = ok
    ? "Restored: every table holds the rows the backup recorded"
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
        <p data-testid="wizard-safety-path">
          Safety backup of the target as it was: <span className="mono small">{report.safety_backup}</span>
        </p>
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
