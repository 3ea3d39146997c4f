import { type FormEvent, useId, useState } from "react";
import {
  commands,
  type Connection,
  type ConnectionReport,
  type ErrorPayload,
  type ProjectSummary,
  type TlsMode,
} from "../bindings";
import { toErrorPayload } from "../ipc/errors";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatBytes } from "../components/format";

export type FormValues = {
  name: string;
  mode: "url" | "fields";
  url: string;
  host: string;
  port: string;
  user: string;
  database: string;
  tls: TlsMode;
  password: string;
};

export const EMPTY_FORM: FormValues = {
  name: "",
  mode: "url",
  url: "",
  host: "",
  port: "5432",
  user: "postgres",
  database: "postgres",
  tls: "prefer",
  password: "",
};

type Field = "name" | "url" | "host" | "port" | "user" | "database";
export type FormErrors = Partial<Record<Field, string>>;

/** Client-side checks; the engine checks again (its errors come back with code `invalid_input`). */
export function validate(v: FormValues, forTest = false): FormErrors {
  const errors: FormErrors = {};
  if (!forTest) {
    if (!v.name.trim()) errors.name = "Give the project a name.";
    else if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/.test(v.name.trim()))
      errors.name = "Use up to 64 letters, digits, '.', '-' and '_' (not starting with '.' or '-').";
  }
  if (v.mode === "url") {
    if (!v.url.trim()) errors.url = "Paste the database URL.";
    else if (!/^postgres(ql)?:\/\/[^/]+/i.test(v.url.trim()))
      errors.url = "Use the form postgres://user@host:5432/database.";
  } else {
    if (!v.host.trim()) errors.host = "Enter the host.";
    if (!v.user.trim()) errors.user = "Enter the user.";
    if (!v.database.trim()) errors.database = "Enter the database name.";
    const port = v.port.trim();
    if (port && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535))
      errors.port = "A port is a number from 1 to 65535.";
  }
  return errors;
}

export function toConnection(v: FormValues): Connection {
  if (v.mode === "url") return { url: v.url.trim() };
  const port = v.port.trim();
  return {
    fields: { host: v.host.trim(), port: port ? Number(port) : null, user: v.user.trim(), database: v.database.trim() },
  };
}

/** Which field an engine error belongs to, by its code (never by its message). */
function fieldOf(error: ErrorPayload): Field | null {
  switch (error.code) {
    case "already_exists":
      return "name";
    default:
      return null;
  }
}

type Props = {
  onSaved: (project: ProjectSummary) => void;
  onCancel: () => void;
};

type TestState =
  | { status: "idle" }
  | { status: "testing" }
  | { status: "ok"; report: ConnectionReport }
  | { status: "error"; error: ErrorPayload };

export function AddProject({ onSaved, onCancel }: Props) {
  const id = useId();
  const [v, setV] = useState<FormValues>(EMPTY_FORM);
  const [errors, setErrors] = useState<FormErrors>({});
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<ErrorPayload | null>(null);
  const [test, setTest] = useState<TestState>({ status: "idle" });

  const set = <K extends keyof FormValues>(key: K, value: FormValues[K]) => {
    setV((old) => ({ ...old, [key]: value }));
    if (key in errors) setErrors(({ [key as Field]: _gone, ...rest }) => rest);
  };

  const focusFirstError = (errs: FormErrors) => {
    const first = (["name", "url", "host", "port", "user", "database"] as Field[]).find((f) => errs[f]);
    if (first) document.getElementById(`${id}-${first}`)?.focus();
  };

  const runTest = async () => {
    const errs = validate(v, true);
    setErrors(errs);
    if (Object.keys(errs).length > 0) {
      focusFirstError(errs);
      return;
    }
    setTest({ status: "testing" });
    try {
      const result = await commands.testConnection(null, toConnection(v), v.tls, v.password || null);
      if (result.status === "ok") setTest({ status: "ok", report: result.data });
      else setTest({ status: "error", error: toErrorPayload(result.error) });
    } catch (e) {
      setTest({ status: "error", error: toErrorPayload(e) });
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const errs = validate(v);
    setErrors(errs);
    setSaveError(null);
    if (Object.keys(errs).length > 0) {
      focusFirstError(errs);
      return;
    }
    setSaving(true);
    try {
      const result = await commands.addProject({
        name: v.name.trim(),
        connection: toConnection(v),
        tls: v.tls,
        password: v.password || null,
        backup_dir: null,
      });
      if (result.status === "ok") {
        setV((old) => ({ ...old, password: "" }));
        onSaved(result.data);
        return;
      }
      const error = toErrorPayload(result.error);
      setSaveError(error);
      const field = fieldOf(error);
      if (field) {
        setErrors({ [field]: error.message });
        document.getElementById(`${id}-${field}`)?.focus();
      }
    } catch (err) {
      setSaveError(toErrorPayload(err));
    } finally {
      setSaving(false);
    }
  };

  const input = (field: Field, label: string, props: { type?: string; placeholder?: string; inputMode?: "numeric" } = {}) => (
    <div className={`field${errors[field] ? " field-invalid" : ""}`}>
      <label htmlFor={`${id}-${field}`}>{label}</label>
      <input
        id={`${id}-${field}`}
        type={props.type ?? "text"}
        value={v[field]}
        onChange={(e) => set(field, e.target.value)}
        placeholder={props.placeholder}
        inputMode={props.inputMode}
        autoComplete="off"
        spellCheck={false}
        aria-invalid={Boolean(errors[field])}
        aria-describedby={errors[field] ? `${id}-${field}-error` : undefined}
        data-testid={`field-${field}`}
      />
      {errors[field] && (
        <p className="field-error" id={`${id}-${field}-error`} data-testid={`field-${field}-error`}>
          {errors[field]}
        </p>
      )}
    </div>
  );

  return (
    <section aria-labelledby={`${id}-title`} className="form-screen">
      <div className="toolbar">
        <h2 id={`${id}-title`} className="screen-title">
          Add a project
        </h2>
      </div>
      <form className="panel form" onSubmit={save} noValidate data-testid="add-project-form">
        {input("name", "Name")}

        <fieldset className="segmented">
          <legend>Connection</legend>
          <label>
            <input
              type="radio"
              name={`${id}-mode`}
              checked={v.mode === "url"}
              onChange={() => set("mode", "url")}
              data-testid="mode-url"
            />
            By URL
          </label>
          <label>
            <input
              type="radio"
              name={`${id}-mode`}
              checked={v.mode === "fields"}
              onChange={() => set("mode", "fields")}
              data-testid="mode-fields"
            />
            By fields
          </label>
        </fieldset>

        {v.mode === "url" ? (
          input("url", "Database URL", { placeholder: "postgres://postgres@db.example.supabase.co:5432/postgres" })
        ) : (
          <div className="field-grid">
            {input("host", "Host", { placeholder: "db.example.supabase.co" })}
            {input("port", "Port", { inputMode: "numeric" })}
            {input("user", "User")}
            {input("database", "Database")}
          </div>
        )}

        <div className="field-grid">
          <div className="field">
            <label htmlFor={`${id}-tls`}>TLS</label>
            <select
              id={`${id}-tls`}
              value={v.tls}
              onChange={(e) => set("tls", e.target.value as TlsMode)}
              data-testid="field-tls"
            >
              <option value="disable">disable: never use TLS</option>
              <option value="prefer">prefer: TLS when offered</option>
              <option value="require">require: TLS, certificate not checked</option>
              <option value="verify-full">verify-full: TLS, certificate checked</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-password`}>Password</label>
            <input
              id={`${id}-password`}
              type="password"
              value={v.password}
              onChange={(e) => set("password", e.target.value)}
              autoComplete="new-password"
              data-testid="field-password"
            />
            <p className="field-help">Kept in your system keychain; never shown again.</p>
          </div>
        </div>

        <div className="form-actions">
          <button
            type="button"
            className="btn"
            onClick={() => void runTest()}
            disabled={test.status === "testing"}
            data-testid="test-connection"
          >
            {test.status === "testing" ? "Testing…" : "Test connection"}
          </button>
          <span className="spacer" />
          <button type="button" className="btn btn-quiet" onClick={onCancel} data-testid="add-cancel">
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={saving} data-testid="add-save">
            {saving ? "Saving…" : "Save"}
          </button>
        </div>

        {test.status === "ok" && <ConnectionReportView report={test.report} />}
        {test.status === "error" && <ErrorNotice error={test.error} testId="test-error" />}
        {saveError && <ErrorNotice error={saveError} testId="save-error" />}
      </form>
    </section>
  );
}

export function ConnectionReportView({ report }: { report: ConnectionReport }) {
  const problems = report.unreadable.length > 0 || !report.can_dump || !report.pg_dump;
  return (
    <div
      className={`notice ${problems ? "notice-warn" : "notice-ok"}`}
      role="status"
      data-testid="test-report"
      data-ok={String(!problems)}
    >
      <p className="notice-title">{problems ? "Connected, with problems" : "Connection works"}</p>
      <dl className="kv">
        <dt>Server</dt>
        <dd data-testid="report-version">PostgreSQL {report.server_version}</dd>
        <dt>Database size</dt>
        <dd data-testid="report-size">{formatBytes(report.database_size)}</dd>
        <dt>Role</dt>
        <dd data-testid="report-user">
          {report.user}
          {report.superuser ? " (superuser)" : ""}
        </dd>
        <dt>pg_dump</dt>
        <dd data-testid="report-pg-dump">
          {report.pg_dump ? (
            <span className="mono">{report.pg_dump.version_line}</span>
          ) : (
            <span className="text-danger">not found{report.pg_dump_problem ? `: ${report.pg_dump_problem}` : ""}</span>
          )}
        </dd>
        <dt>Permissions</dt>
        <dd data-testid="report-permissions">
          {report.unreadable.length === 0 ? (
            "can read everything"
          ) : (
            <>
              <span className="text-danger">cannot read {report.unreadable.length} object(s):</span>
              <ul className="compact mono">
                {report.unreadable.slice(0, 20).map((o) => (
                  <li key={o}>{o}</li>
                ))}
              </ul>
            </>
          )}
        </dd>
      </dl>
    </div>
  );
}
