// The project's own validation queries: each a SQL query and what its answer must be (">= 1000",
// "within 26h" …). Every drill runs them against the restored database. The engine parses the
// expectation; this form only collects it and shows the engine's refusal.
import { useState } from "react";
import type { ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";

export type CheckRow = { id: string; sql: string; expect: string; title?: string | null };

type Props = {
  checks: readonly CheckRow[];
  /** Resolves with the engine's refusal (null: added). */
  onAdd: (sql: string, expect: string) => Promise<ErrorPayload | null>;
  onRemove: (id: string) => void;
  error?: ErrorPayload | null;
};

export function ValidationChecks({ checks, onAdd, onRemove, error }: Props) {
  const [sql, setSql] = useState("");
  const [expect, setExpect] = useState("");
  const [busy, setBusy] = useState(false);
  const [addError, setAddError] = useState<ErrorPayload | null>(null);
  const ready = sql.trim() !== "" && expect.trim() !== "";

  const add = async () => {
    if (!ready) return;
    setBusy(true);
    setAddError(null);
    const refused = await onAdd(sql.trim(), expect.trim());
    setBusy(false);
    if (refused) setAddError(refused);
    else {
      setSql("");
      setExpect("");
    }
  };

  return (
    <section className="panel" aria-label="Validation queries" data-testid="validation-checks">
      <h3 className="panel-title">Validation queries</h3>
      <p className="small muted">
        Each drill runs these on the restored database: e.g. <code>select count(*) from auth.users</code> ≥ 1000, or{" "}
        <code>select max(created_at) from orders</code> within 26h of the backup.
      </p>
      {error && <ErrorNotice error={error} testId="validation-checks-error" />}
      {checks.length === 0 ? (
        <p className="muted small" data-testid="validation-checks-empty">
          No validation queries yet.
        </p>
      ) : (
        <ul className="check-list" data-testid="validation-check-list">
          {checks.map((c) => (
            <li key={c.id} data-testid="validation-check" data-check={c.id}>
              {c.title && <strong>{c.title}: </strong>}
              <code className="mono">{c.sql}</code> <span className="muted">must be</span>{" "}
              <strong data-testid="validation-check-expect">{c.expect}</strong>{" "}
              <button
                type="button"
                className="btn btn-small btn-quiet"
                onClick={() => onRemove(c.id)}
                aria-label={`Remove the check ${c.sql}`}
                data-testid="validation-check-remove"
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
        data-testid="validation-check-form"
      >
        <div className="field-grid">
          <label className="field">
            <span>SQL</span>
            <textarea
              rows={2}
              value={sql}
              onChange={(e) => setSql(e.target.value)}
              placeholder="select count(*) from auth.users"
              data-testid="validation-check-sql"
            />
          </label>
          <label className="field">
            <span>Expect</span>
            <input
              value={expect}
              onChange={(e) => setExpect(e.target.value)}
              placeholder=">= 1000"
              data-testid="validation-check-expect-input"
            />
          </label>
        </div>
        {addError && <ErrorNotice error={addError} testId="validation-check-add-error" />}
        <div className="form-actions">
          <button type="submit" className="btn" disabled={!ready || busy} data-testid="validation-check-add">
            {busy ? "Adding…" : "Add check"}
          </button>
        </div>
      </form>
    </section>
  );
}
