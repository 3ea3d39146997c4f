// A project's canary thresholds (issue 47 item 3): when a new backup, compared with the previous
// good backup of the same type, is marked suspicious. The engine decides (and checks the
// percentages); this card shows what applies, takes new values with one Save, and "Use the
// defaults" hands the choice back to the engine.
import { useCallback, useEffect, useId, useState } from "react";
import { type CanaryThresholds, commands, type ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { call } from "../ipc/call";
import type { LoadState } from "./types";
import "./protection.css";

type Fields = { archive: string; table: string };

const fieldsOf = (t: CanaryThresholds): Fields => ({ archive: String(t.archive_drop_pct), table: String(t.table_drop_pct) });

/** A whole number typed in a field, or null (nothing to send yet). */
export function wholeNumber(text: string): number | null {
  return /^\s*\d+\s*$/.test(text) ? Number.parseInt(text, 10) : null;
}

export function CanarySection({ project }: { project: string }) {
  const id = useId();
  const [saved, setSaved] = useState<LoadState<CanaryThresholds>>({ status: "loading" });
  const [fields, setFields] = useState<Fields>({ archive: "", table: "" });
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const reload = useCallback(() => {
    void call(commands.canaryThresholds(project)).then((r) => {
      setSaved(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
      if (r.ok) setFields(fieldsOf(r.data));
    });
  }, [project]);
  useEffect(reload, [reload]);

  const save = async (thresholds: CanaryThresholds | null) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    const r = await call(commands.setCanaryThresholds(project, thresholds));
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setSaved({ status: "ready", data: r.data });
    setFields(fieldsOf(r.data));
    setNotice(thresholds === null ? "Back to the defaults." : "Saved. The next backup is judged by these.");
  };

  if (saved.status === "loading") return <p className="muted small">Loading…</p>;
  if (saved.status === "error") return <ErrorNotice error={saved.error} testId="canary-load-error" onRetry={reload} />;
  const archive = wholeNumber(fields.archive);
  const table = wholeNumber(fields.table);
  const edit = (k: keyof Fields, v: string) => {
    setNotice(null);
    setFields((f) => ({ ...f, [k]: v }));
  };
  const pct = (k: keyof Fields, testId: string) => (
    <input
      id={`${id}-${k}`}
      className="pct-input"
      type="number"
      min={1}
      max={100}
      value={fields[k]}
      onChange={(e) => edit(k, e.target.value)}
      data-testid={testId}
    />
  );
  return (
    <div className="form" data-testid="canary-section">
      <p className="small">
        Each new backup is compared with the previous good backup of the same type. It is marked <strong>suspicious</strong> —
        kept, never removed before the good ones, shown amber, and you are told what dropped — when:
      </p>
      <ul className="inline-fields small">
        <li>
          <label htmlFor={`${id}-archive`}>its archive file is smaller by at least</label> {pct("archive", "canary-archive")} %
        </li>
        <li>
          <label htmlFor={`${id}-table`}>a table lost at least</label> {pct("table", "canary-table")} % of its rows (all of
          them: always)
        </li>
        <li>a table or a schema is gone (always)</li>
      </ul>
      <p className="field-help">A drop like this is how a bad migration, a runaway delete or encrypted data first shows.</p>
      {error && <ErrorNotice error={error} testId="canary-error" />}
      {notice && (
        <p className="notice notice-ok small" role="status" data-testid="canary-notice">
          {notice}
        </p>
      )}
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-primary btn-small"
          disabled={busy || archive === null || table === null}
          onClick={() => archive !== null && table !== null && void save({ archive_drop_pct: archive, table_drop_pct: table })}
          data-testid="canary-save"
        >
          Save
        </button>
        <button type="button" className="btn btn-small" disabled={busy} onClick={() => void save(null)} data-testid="canary-defaults">
          Use the defaults
        </button>
      </div>
    </div>
  );
}
