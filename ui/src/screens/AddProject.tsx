import { type FormEvent, useCallback, useEffect, useId, useRef, useState } from "react";
import {
  commands,
  type Connection,
  type ConnectionReport,
  type ErrorPayload,
  type NewComponents,
  type ProjectChanges,
  type ProjectSummary,
  type SupabaseProject,
  type TlsMode,
} from "../bindings";
import { toErrorPayload } from "../ipc/errors";
import { errorDisplay } from "../ipc/errorDisplay";
import { keys, localChange, useOptionalStore } from "../store";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatBytes } from "../components/format";
import { plural } from "../words";
import { Dialog } from "../components/Dialog";
import { PanelFooter } from "../components/PanelFooter";
import { parseBuckets } from "../project/backupTypes";
import { TlsOptions } from "../components/TlsOptions";

/** The optional storage and Supabase parts of a new project (secrets go to the keychain). */
export type ComponentValues = {
  supabaseUrl: string;
  endpoint: string;
  region: string;
  keyId: string;
  secret: string;
  buckets: string;
  ref: string;
  token: string;
};

export const EMPTY_COMPONENTS: ComponentValues = {
  supabaseUrl: "",
  endpoint: "",
  region: "us-east-1",
  keyId: "",
  secret: "",
  buckets: "all",
  ref: "",
  token: "",
};

/**
 * The parts of the new project as the engine takes them with it, in the same call (all or
 * nothing); `null` when none is given. A part is sent as soon as anything of it is typed: what
 * it still lacks (a key id, a secret, a ref, a token) is the engine's to refuse, with its hint,
 * so the app and the command line check the same rules once.
 */
export function toComponents(c: ComponentValues): NewComponents | null {
  const storage = c.endpoint.trim() !== "" || c.keyId.trim() !== "" || c.secret !== "";
  const supabase = c.ref.trim() !== "" || c.token !== "";
  if (!storage && !supabase) return null;
  return {
    storage: storage
      ? {
          endpoint: c.endpoint.trim() || null,
          region: c.region.trim() || "us-east-1",
          access_key_id: c.keyId.trim(),
          secret_access_key: c.secret,
          path_style: true,
          buckets: parseBuckets(c.buckets),
          concurrency: null,
        }
      : null,
    supabase: supabase ? { project_ref: c.ref.trim(), api_url: null, access_token: c.token } : null,
    default_type: null,
    artifacts: null,
    server: null,
  };
}

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
  /** The project's own backup folder; empty: the app's default folder. */
  backupDir: string;
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
  backupDir: "",
};

const TLS_MODES: readonly TlsMode[] = ["disable", "prefer", "require", "verify-full"];

/** The form prefilled from a saved project: its URL (which never holds the password), TLS and folder. */
export function formFromProject(summary: ProjectSummary): FormValues {
  const p = summary.project;
  const tls = (TLS_MODES as readonly string[]).includes(p.tls_mode) ? (p.tls_mode as TlsMode) : "prefer";
  return { ...EMPTY_FORM, name: p.name, mode: "url", url: p.db_url, tls, backupDir: p.backup_dir ?? "" };
}

function sameConnection(a: FormValues, b: FormValues): boolean {
  return JSON.stringify(toConnection(a)) === JSON.stringify(toConnection(b));
}

/** What an edit changes, compared with the project as loaded; `null` keeps a value. */
export function projectChanges(initial: FormValues, v: FormValues): ProjectChanges {
  const name = v.name.trim();
  const backupDir = v.backupDir.trim();
  return {
    name: name !== initial.name ? name : null,
    connection: sameConnection(initial, v) ? null : toConnection(v),
    tls: v.tls !== initial.tls ? v.tls : null,
    password: v.password || null,
    // "" resets the project to the default folder.
    backup_dir: backupDir !== initial.backupDir.trim() ? backupDir : null,
  };
}

type Field = "name" | "url" | "host" | "port" | "user" | "database";
export type FormErrors = Partial<Record<Field, string>>;

/** Client-side checks; the engine checks again (its errors come back with code `invalid_input`). */
/** A project name the engine accepts (it checks again). */
export const isProjectName = (name: string) => /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/.test(name.trim());

/**
 * Looks like `postgres://…` with something after the scheme: a host, or (libpq's socket form)
 * `postgresql:///db?host=/var/run/postgresql`. The engine parses it properly and names what is
 * wrong.
 */
export const isDatabaseUrl = (url: string) => /^postgres(ql)?:\/\/\S/i.test(url.trim());

export function validate(v: FormValues, forTest = false): FormErrors {
  const errors: FormErrors = {};
  if (!forTest) {
    if (!v.name.trim()) errors.name = "Give the project a name.";
    else if (!isProjectName(v.name))
      errors.name = "Use up to 64 letters, digits, '.', '-' and '_' (not starting with '.' or '-').";
  }
  if (v.mode === "url") {
    if (!v.url.trim()) errors.url = "Paste the database URL.";
    else if (!isDatabaseUrl(v.url))
      errors.url =
        "Use the form postgres://user@host:5432/database, or postgresql://user@/database?host=/socket/folder.";
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
  return errorDisplay(error.code).field;
}

type Props = {
  onSaved: (project: ProjectSummary) => void;
  onCancel: () => void;
  /** Edit this saved project instead of adding one. */
  editName?: string;
  /** After the edited project was removed. */
  onRemoved?: () => void;
};

type EditLoad =
  | { status: "loading" }
  | { status: "ready"; initial: FormValues }
  | { status: "error"; error: ErrorPayload };

type TestState =
  | { status: "idle" }
  | { status: "testing" }
  | { status: "ok"; report: ConnectionReport }
  | { status: "error"; error: ErrorPayload };

/** The add-project form; with `editName`, the same form editing a saved project. */
export function AddProject({ onSaved, onCancel, editName, onRemoved }: Props) {
  const id = useId();
  const store = useOptionalStore();
  const editing = editName !== undefined;
  const prefix = editing ? "edit" : "add";
  const [v, setV] = useState<FormValues>(EMPTY_FORM);
  const [errors, setErrors] = useState<FormErrors>({});
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<ErrorPayload | null>(null);
  const [test, setTest] = useState<TestState>({ status: "idle" });
  const [pickError, setPickError] = useState<ErrorPayload | null>(null);
  const [edit, setEdit] = useState<EditLoad>({ status: editing ? "loading" : "ready", initial: EMPTY_FORM } as EditLoad);
  const [removing, setRemoving] = useState(false);
  const [comp, setComp] = useState<ComponentValues>(EMPTY_COMPONENTS);
  const [quickAddError, setQuickAddError] = useState<ErrorPayload | null>(null);
  const setC = <K extends keyof ComponentValues>(key: K, value: ComponentValues[K]) => {
    setComp((old) => ({ ...old, [key]: value }));
  };

  /** The engine reads what was pasted (URL, ref or connection string) and says what to fill in. */
  const quickAdd = async () => {
    let q: SupabaseProject;
    try {
      const result = await commands.supabaseProject(comp.supabaseUrl);
      if (result.status === "error") return setQuickAddError(toErrorPayload(result.error));
      q = result.data;
    } catch (e) {
      return setQuickAddError(toErrorPayload(e));
    }
    setQuickAddError(null);
    setV((old) => ({
      ...old,
      name: old.name.trim() ? old.name : q.project_ref,
      mode: "fields",
      host: q.db_host,
      port: String(q.db_port),
      user: q.db_user,
      database: q.db_name,
      tls: q.tls,
    }));
    setErrors({});
    setComp((old) => ({ ...old, endpoint: q.storage_endpoint, ref: q.project_ref }));
  };

  const removeButton = useRef<HTMLButtonElement>(null);

  const loadProject = useCallback(async () => {
    if (editName === undefined) return;
    setEdit({ status: "loading" });
    try {
      const result = await commands.getProject(editName);
      if (result.status === "error") return setEdit({ status: "error", error: toErrorPayload(result.error) });
      const initial = formFromProject(result.data);
      setV(initial);
      setEdit({ status: "ready", initial });
    } catch (e) {
      setEdit({ status: "error", error: toErrorPayload(e) });
    }
  }, [editName]);

  useEffect(() => {
    void loadProject();
  }, [loadProject]);

  const initial = edit.status === "ready" ? edit.initial : EMPTY_FORM;

  const chooseFolder = async () => {
    setPickError(null);
    try {
      const result = await commands.pickPath("folder", "Backup folder");
      if (result.status === "error") return setPickError(toErrorPayload(result.error));
      if (result.data !== null) set("backupDir", result.data);
    } catch (e) {
      setPickError(toErrorPayload(e));
    }
  };

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
      // A saved project, unchanged: the engine uses its stored password.
      const asSaved = editing && sameConnection(initial, v) && v.tls === initial.tls && !v.password;
      const result = asSaved
        ? await commands.testConnection(editName, null, null, null)
        : await commands.testConnection(null, toConnection(v), v.tls, v.password || null);
      if (result.status === "ok") setTest({ status: "ok", report: result.data });
      else setTest({ status: "error", error: toErrorPayload(result.error) });
    } catch (e) {
      setTest({ status: "error", error: toErrorPayload(e) });
    }
  };

  /** The connection failures the engine refuses a new project for (it can be added anyway). */
  const notReachable = (err: ErrorPayload | null) =>
    !editing && err !== null && ["connection", "auth", "not_found", "permission"].includes(err.code);

  const save = async (e: FormEvent, skipTest = false) => {
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
      const result = editing
        ? await commands.updateProject(editName, projectChanges(initial, v))
        : await commands.addProject(
            {
              name: v.name.trim(),
              connection: toConnection(v),
              tls: v.tls,
              password: v.password || null,
              backup_dir: v.backupDir.trim() || null,
              // The engine tries the connection first unless told to add it anyway.
              skip_test: skipTest,
            },
            // Its parts go in the same call: the engine adds all of it, or nothing.
            toComponents(comp),
          );
      if (result.status === "ok") {
        setV((old) => ({ ...old, password: "" }));
        setComp((old) => ({ ...old, secret: "", token: "" }));
        const saved = result.data.project.id;
        store?.apply([localChange("project", saved, saved)]);
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

  const title = (
    <div className="toolbar">
      <h2 id={`${id}-title`} className="screen-title">
        {editing ? `Edit ${editName}` : "Add a project"}
      </h2>
    </div>
  );

  if (edit.status !== "ready") {
    return (
      <section aria-labelledby={`${id}-title`} className="form-screen">
        {title}
        {edit.status === "loading" ? (
          <p className="muted" data-testid="edit-loading">
            Loading project…
          </p>
        ) : (
          <>
            <ErrorNotice error={edit.error} testId="edit-load-error" onRetry={() => void loadProject()} />
            <div className="form-actions">
              <button type="button" className="btn" onClick={onCancel} data-testid="edit-cancel">
                Back
              </button>
            </div>
          </>
        )}
      </section>
    );
  }

  return (
    <section aria-labelledby={`${id}-title`} className="form-screen">
      {title}
      <form className="panel form" onSubmit={save} noValidate data-testid={`${prefix}-project-form`}>
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
            {input("host", "Server", { placeholder: "db.example.supabase.co or /var/run/postgresql" })}
            {input("port", "Port", { inputMode: "numeric" })}
            {input("user", "User")}
            {input("database", "Database")}
          </div>
        )}

        <div className="field-grid">
          <div className="field">
            <label htmlFor={`${id}-tls`}>Encrypted connection (TLS)</label>
            <select
              id={`${id}-tls`}
              value={v.tls}
              onChange={(e) => set("tls", e.target.value as TlsMode)}
              data-testid="field-tls"
            >
              <TlsOptions />
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
              placeholder={editing ? "leave empty to keep the stored password" : undefined}
              aria-describedby={`${id}-password-help`}
              data-testid="field-password"
            />
            <p className="field-help" id={`${id}-password-help`}>
              {editing
                ? "Leave empty to keep the stored password. A new one replaces it in your system keychain."
                : "Kept in your system keychain; never shown again."}
            </p>
          </div>
        </div>

        <div className="field">
          <label htmlFor={`${id}-backup-dir`}>Backup folder</label>
          <div className="path-row">
            <input
              id={`${id}-backup-dir`}
              type="text"
              value={v.backupDir}
              onChange={(e) => set("backupDir", e.target.value)}
              placeholder="the default backup folder"
              autoComplete="off"
              spellCheck={false}
              aria-describedby={`${id}-backup-dir-help`}
              data-testid="field-backup-dir"
            />
            <button type="button" className="btn" onClick={() => void chooseFolder()} data-testid="backup-dir-choose">
              Choose…
            </button>
            <button
              type="button"
              className="btn btn-quiet"
              onClick={() => set("backupDir", "")}
              disabled={!v.backupDir}
              data-testid="backup-dir-default"
            >
              Use default
            </button>
          </div>
          <p className="field-help" id={`${id}-backup-dir-help`}>
            Empty: the default backup folder (see Settings), in a folder named after the project.
          </p>
          {pickError && <ErrorNotice error={pickError} testId="pick-error" />}
        </div>

        {!editing && (
          <details className="components-add" data-testid="add-components">
            <summary>Storage &amp; Supabase (optional)</summary>
            <div className="field">
              <label htmlFor={`${id}-supabase-url`}>Supabase project URL</label>
              <div className="path-row">
                <input
                  id={`${id}-supabase-url`}
                  value={comp.supabaseUrl}
                  onChange={(e) => setC("supabaseUrl", e.target.value)}
                  placeholder="https://REF.supabase.co"
                  autoComplete="off"
                  spellCheck={false}
                  data-testid="supabase-url"
                />
                <button type="button" className="btn" onClick={() => void quickAdd()} data-testid="supabase-fill">
                  Fill in
                </button>
              </div>
              <p className="field-help">
                Fills in the database (db.REF.supabase.co, user postgres, TLS required), the storage endpoint and the ref.
              </p>
              {quickAddError && (
                <p className="field-error" data-testid="supabase-url-error" data-code={quickAddError.code}>
                  {quickAddError.message}
                </p>
              )}
            </div>
            <div className="field">
              <label htmlFor={`${id}-s3-endpoint`}>Storage endpoint (S3)</label>
              <input
                id={`${id}-s3-endpoint`}
                value={comp.endpoint}
                onChange={(e) => setC("endpoint", e.target.value)}
                placeholder="https://REF.storage.supabase.co/storage/v1/s3"
                autoComplete="off"
                spellCheck={false}
                data-testid="add-s3-endpoint"
              />
            </div>
            <div className="field-grid">
              <div className="field">
                <label htmlFor={`${id}-s3-region`}>Region</label>
                <input
                  id={`${id}-s3-region`}
                  value={comp.region}
                  onChange={(e) => setC("region", e.target.value)}
                  autoComplete="off"
                  data-testid="add-s3-region"
                />
              </div>
              <div className="field">
                <label htmlFor={`${id}-s3-key-id`}>Access key id</label>
                <input
                  id={`${id}-s3-key-id`}
                  value={comp.keyId}
                  onChange={(e) => setC("keyId", e.target.value)}
                  autoComplete="off"
                  spellCheck={false}
                  data-testid="add-s3-key-id"
                />
              </div>
              <div className="field">
                <label htmlFor={`${id}-s3-secret`}>Secret access key</label>
                <input
                  id={`${id}-s3-secret`}
                  type="password"
                  value={comp.secret}
                  onChange={(e) => setC("secret", e.target.value)}
                  autoComplete="new-password"
                  data-testid="add-s3-secret"
                />
              </div>
              <div className="field">
                <label htmlFor={`${id}-s3-buckets`}>Buckets (all, or names)</label>
                <input
                  id={`${id}-s3-buckets`}
                  value={comp.buckets}
                  onChange={(e) => setC("buckets", e.target.value)}
                  autoComplete="off"
                  spellCheck={false}
                  data-testid="add-s3-buckets"
                />
              </div>
            </div>
            <div className="field-grid">
              <div className="field">
                <label htmlFor={`${id}-supabase-ref`}>Supabase project ref</label>
                <input
                  id={`${id}-supabase-ref`}
                  value={comp.ref}
                  onChange={(e) => setC("ref", e.target.value)}
                  autoComplete="off"
                  spellCheck={false}
                  data-testid="add-supabase-ref"
                />
              </div>
              <div className="field">
                <label htmlFor={`${id}-supabase-token`}>Access token</label>
                <input
                  id={`${id}-supabase-token`}
                  type="password"
                  value={comp.token}
                  onChange={(e) => setC("token", e.target.value)}
                  autoComplete="new-password"
                  placeholder="sbp_…"
                  data-testid="add-supabase-token"
                />
              </div>
            </div>
            <p className="field-help">Secrets go to your system keychain and are never shown again.</p>
          </details>
        )}

        {!editing && (
          <p className="field-help" data-testid="add-retention-note">
            Keeps 7 daily · 4 weekly · 12 monthly backups (recommended); change it, or keep everything, under Schedules &amp; retention.
          </p>
        )}
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
          <button type="button" className="btn btn-quiet" onClick={onCancel} data-testid={`${prefix}-cancel`}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={saving} data-testid={`${prefix}-save`}>
            {saving ? "Saving…" : editing ? "Save changes" : "Save"}
          </button>
        </div>

        {test.status === "ok" && <ConnectionReportView report={test.report} />}
        {test.status === "error" && <ErrorNotice error={test.error} testId="test-error" />}
        {saveError && <ErrorNotice error={saveError} testId="save-error" />}
        {notReachable(saveError) && (
          <div className="form-actions">
            <span className="spacer" />
            <button
              type="button"
              className="btn btn-quiet"
              disabled={saving}
              onClick={(e) => void save(e, true)}
              data-testid={`${prefix}-save-untested`}
            >
              Add without testing
            </button>
          </div>
        )}
      </form>

      {editing && (
        <div className="panel danger-zone">
          <div>
            <p className="notice-title">Remove this project</p>
            <p className="muted small">Its backup files stay on disk; its stored password is deleted.</p>
          </div>
          <span className="spacer" />
          <button
            ref={removeButton}
            type="button"
            className="btn btn-danger"
            onClick={() => setRemoving(true)}
            data-testid="project-remove"
          >
            Remove project…
          </button>
        </div>
      )}
      {editing && removing && (
        <RemoveProjectDialog
          name={editName}
          onCancel={() => setRemoving(false)}
          onRemoved={() => {
            setRemoving(false);
            onRemoved?.();
          }}
        />
      )}
    </section>
  );
}

/** Confirms removing a project by its typed name; errors (e.g. `busy`) stay in the dialog. */
export function RemoveProjectDialog({
  name,
  onCancel,
  onRemoved,
}: {
  name: string;
  onCancel: () => void;
  onRemoved: () => void;
}) {
  const id = useId();
  const store = useOptionalStore();
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [deleteKey, setDeleteKey] = useState(false);
  // Whether the project's key encrypts backups: the engine's key list says (`offsite key
  // list`); null while asked or when it cannot be read (the dialog then says it in general).
  const [hasKey, setHasKey] = useState<boolean | null>(null);
  const [keyMode, setKeyMode] = useState<string | null>(null);
  const [saved, setSaved] = useState<"saved" | null>(null);
  const [saveError, setSaveError] = useState<ErrorPayload | null>(null);
  const matches = typed.trim() === name;

  useEffect(() => {
    let stale = false;
    commands
      .listKeys()
      .then((r) => {
        if (stale || r.status !== "ok") return;
        const mine = r.data.find((k) => k.name === name && !k.orphaned);
        setHasKey(mine !== undefined);
        setKeyMode(mine?.mode ?? null);
      })
      .catch(() => {});
    return () => {
      stale = true;
    };
  }, [name]);

  const saveKey = async () => {
    setSaveError(null);
    try {
      const r = await commands.saveRecoveryFile(name);
      if (r.status === "ok") setSaved(r.data ? "saved" : null);
      else setSaveError(toErrorPayload(r.error));
    } catch (err) {
      setSaveError(toErrorPayload(err));
    }
  };

  const confirm = async (e: FormEvent) => {
    e.preventDefault();
    if (!matches || busy) return;
    setBusy(true);
    setError(null);
    try {
      const projectId = store?.projectId(name) ?? null;
      // The engine decides whether the typed name is needed (a key that encrypts backups);
      // the dialog only collects it. The key is kept (orphaned) unless asked otherwise.
      const result = await commands.removeProject(name, typed.trim(), hasKey === true && deleteKey);
      if (result.status === "ok") {
        if (store && projectId !== null) store.apply([localChange("project", projectId, projectId, "delete")]);
        else store?.reload(keys.projects());
        onRemoved();
        return;
      }
      setError(toErrorPayload(result.error));
    } catch (err) {
      setError(toErrorPayload(err));
    }
    setBusy(false);
  };

  return (
    <Dialog title={`Remove ${name}?`} onCancel={onCancel} testId="remove-dialog">
      <form id={`${id}-form`} onSubmit={confirm} noValidate className="form">
        <p>
          Offsite forgets this project and its list of backups, and deletes its stored password from your system
          keychain. <strong>The backup files stay on disk</strong>; you can still restore or import them.
        </p>
        {hasKey === null && (
          <p className="muted small" data-testid="project-remove-key-note">
            If the project encrypts its backups, make sure its recovery key is saved (<span className="mono">offsite key
            export {name}</span>). The key stays in your keychain, marked orphaned; adding a project with the same name
            takes it back.
          </p>
        )}
        {hasKey === true && (
          <div className="notice notice-warn small" data-testid="project-remove-key">
            <p>
              <strong>This project encrypts its backups.</strong> Its key is kept in your keychain (listed by{" "}
              <code className="mono">offsite key list</code>, marked orphaned) unless you tick “Also delete its key”.
              Adding a project named <span className="mono">{name}</span> again takes it back.
            </p>
            <p>Save the key first: without it the backup files cannot be opened.</p>
            <div className="form-actions">
              <button type="button" className="btn btn-small" onClick={() => void saveKey()} data-testid="project-remove-save-key">
                {keyMode === "passphrase" ? "Save the passphrase to a file…" : "Save the recovery key to a file…"}
              </button>
              {saved && (
                <span className="muted" data-testid="project-remove-key-saved">
                  Saved
                </span>
              )}
            </div>
            {saveError && <ErrorNotice error={saveError} testId="project-remove-save-key-error" />}
            <p>
              Or in a terminal: <code className="mono" data-testid="project-remove-export-command" style={{ userSelect: "all" }}>{`offsite key export ${name}`}</code>{" "}
              <button
                type="button"
                className="btn btn-quiet btn-small"
                onClick={() => void navigator.clipboard?.writeText(`offsite key export ${name}`).catch(() => {})}
                data-testid="project-remove-export-command-copy"
              >
                Copy
              </button>
            </p>
            <label className="check">
              <input
                type="checkbox"
                checked={deleteKey}
                onChange={(e) => setDeleteKey(e.target.checked)}
                data-testid="project-remove-delete-key"
              />{" "}
              Also delete its key
            </label>
            {deleteKey && (
              <p data-testid="project-remove-delete-key-warning">
                <strong>The key is deleted with the project:</strong> its backup files can then be opened only with a
                saved copy of the key.
              </p>
            )}
          </div>
        )}
        <div className="field">
          <label htmlFor={`${id}-confirm`}>
            Type <span className="mono">{name}</span> to confirm
          </label>
          <input
            id={`${id}-confirm`}
            type="text"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            data-testid="project-remove-name"
          />
        </div>
        {error && <ErrorNotice error={error} testId="remove-error" />}
        <PanelFooter>
          <span className="spacer" />
          <button type="button" className="btn btn-quiet" onClick={onCancel} data-testid="project-remove-cancel">
            Cancel
          </button>
          <button
            type="submit"
            form={`${id}-form`}
            className="btn btn-danger"
            disabled={!matches || busy}
            data-testid="project-remove-confirm"
          >
            {busy ? "Removing…" : "Remove project"}
          </button>
        </PanelFooter>
      </form>
    </Dialog>
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
          {report.superuser ? " (administrator rights)" : ""}
        </dd>
        <dt>Backup tool</dt>
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
              <span className="text-danger">cannot read {plural(report.unreadable.length, "object")}:</span>
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
