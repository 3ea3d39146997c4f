// The recovery's tables: the plan (per table what is inserted, overwritten, left and kept, the
// foreign keys that led there, the target's triggers — which do not fire, and what they would have
// done — a sample of rows), the report after it ran,
// and the undo's report (rows changed since the recovery are named, not overwritten).
import type { RecoverReport, TableRecovery, UndoReport } from "../bindings";
import { Details } from "../components/Details";
import { roleSentence, totals } from "./rules";

const n = (x: number) => x.toLocaleString("en-US");

/** The triggers of a table as the plan names them: they do not fire unless the recovery was asked
 *  to let them (`fire_triggers`); what each would have done where its source says so. */
function triggerLine(x: TableRecovery, fired: boolean): string {
  const notes = x.trigger_notes ?? [];
  const named =
    notes.length > 0
      ? notes.map((t) => (t.effects.length > 0 ? `${t.name} (${t.effects.join(", ")})` : t.name)).join(", ")
      : x.triggers.join(", ");
  return fired ? `Triggers fire: ${named}` : `Triggers that will not fire: ${named}`;
}

function Counts({ tables, testId, fired }: { tables: TableRecovery[]; testId: string; fired: boolean }) {
  const t = totals(tables);
  return (
    <div className="browse-grid-wrap">
      <table className="history-table recover-counts" data-testid={testId}>
        <thead>
          <tr>
            <th>Table</th>
            <th className="num">Insert</th>
            <th className="num">Overwrite</th>
            <th className="num">Unchanged</th>
            <th className="num">Kept (differs)</th>
            {/* Rows needed only because other rows point to them, already in the target (issue 44:
                "Parents present" was the engine's term). */}
            <th className="num" title="Rows the recovered rows point to, already in the target: left as they are">
              Linked rows already there
            </th>
          </tr>
        </thead>
        <tbody>
          {tables.map((x) => (
            <tr key={`${x.schema}.${x.table}`} data-testid="recover-table" data-table={`${x.schema}.${x.table}`}>
              <td>
                <span className="mono">
                  {x.schema}.{x.table}
                </span>{" "}
                <div className="muted small" data-testid="recover-role">
                  {roleSentence(x)}
                </div>
                {x.path.length > 0 && (
                  <Details testId="recover-chain">
                    <ol className="mono recover-chain">
                      {x.path.map((hop) => (
                        <li key={hop}>{hop}</li>
                      ))}
                    </ol>
                  </Details>
                )}
                {x.triggers.length > 0 && (
                  <div className={`small ${fired ? "text-danger" : "muted"}`} data-testid="recover-triggers">
                    {triggerLine(x, fired)}
                  </div>
                )}
              </td>
              <td className="num" data-testid="recover-insert">
                {n(x.insert)}
              </td>
              <td className={`num${x.update > 0 ? " text-danger" : ""}`} data-testid="recover-update">
                {n(x.update)}
              </td>
              <td className="num" data-testid="recover-unchanged">
                {n(x.unchanged)}
              </td>
              <td className="num" data-testid="recover-conflict">
                {n(x.conflict)}
              </td>
              <td className="num">{n(x.parents_present)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr data-testid="recover-total">
            <th>Total</th>
            <th className="num">{n(t.insert)}</th>
            <th className={`num${t.update > 0 ? " text-danger" : ""}`}>{n(t.update)}</th>
            <th className="num">{n(t.unchanged)}</th>
            <th className="num">{n(t.conflict)}</th>
            <th className="num">{n(t.parentsPresent)}</th>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}

function Sample({ t }: { t: TableRecovery }) {
  if (t.sample.length === 0) return null;
  return (
    <details className="recover-sample" data-testid="recover-sample">
      <summary className="small">
        Sample rows of {t.schema}.{t.table}
      </summary>
      <div className="browse-grid-wrap">
        <table className="history-table browse-grid">
          <thead>
            <tr>
              {t.columns.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {t.sample.map((row, i) => (
              <tr key={i}>
                {row.map((v, j) => (
                  <td key={j} className={v === null ? "muted" : undefined}>
                    {v === null ? "NULL" : v}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

export function PlanTables({ plan }: { plan: RecoverReport }) {
  return (
    <>
      <p className="small muted">
        The plan for {plan.target}, from {plan.rows_read.toLocaleString("en-US")} rows read in the backup. Nothing has
        been written yet.
      </p>
      <Counts tables={plan.tables} testId="recover-plan" fired={plan.trigger_handling === "fired"} />
      {plan.tables.map((t) => (
        <Sample key={`${t.schema}.${t.table}`} t={t} />
      ))}
    </>
  );
}

export function ReportTables({ report }: { report: RecoverReport }) {
  return (
    <Counts tables={report.tables} testId="recover-report-counts" fired={report.trigger_handling === "fired"} />
  );
}

export function UndoTables({ undo }: { undo: UndoReport }) {
  return (
    <div className="browse-grid-wrap">
      <table className="history-table recover-counts" data-testid="recover-undo-report">
        <thead>
          <tr>
            <th>Table</th>
            <th className="num">Deleted</th>
            <th className="num">Put back</th>
            <th className="num">Changed since (left)</th>
          </tr>
        </thead>
        <tbody>
          {undo.tables.map((t) => (
            <tr key={`${t.schema}.${t.table}`}>
              <td className="mono">
                {t.schema}.{t.table}
              </td>
              <td className="num">{n(t.deleted)}</td>
              <td className="num">{n(t.restored)}</td>
              <td className="num">
                {n(t.changed_since)}
                {t.changed_keys.length > 0 && <div className="muted small mono">{t.changed_keys.join(", ")}</div>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
