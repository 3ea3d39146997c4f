// A project's "Storage & configuration": its S3-compatible storage and Supabase project as saved
// (never a secret: those stay in the keychain and only go in), forms to change or remove them,
// "Test storage" with the buckets found, and the default backup type.
import { type FormEvent, useId, useState } from "react";
import {
  type BackupType,
  commands,
  type Components,
  type ErrorKind,
  type ErrorPayload,
  type StorageComponent,
  type StorageTestReport,
  type SupabaseComponent,
} from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatBytes } from "../components/format";
import { keys, useComponents, useStore } from "../store";
import { BACKUP_TYPES, bucketsLabel, defaultType, parseBuckets, typeUnavailable } from "./backupTypes";
import { call } from "../ipc/call";
import { S3ConnectionFields, type S3Connection, s3Connection, s3Settings } from "./S3Fields";
import { RemoveConfirm } from "../components/RemoveConfirm";
import { WORDS } from "../words";

/** What to check when the storage test fails with a code whose engine error brought no hint. */
const TEST_HINTS: Partial<Record<ErrorKind, string>> = {
  auth: "Check the access key id and the secret access key (for Supabase: Storage → S3 access keys).",
  permission: "The keys need permission to list the buckets and read their objects.",
  connection: "Check the endpoint URL and that the store is reachable from this computer.",
  secrets: "Enter the secret access key again in the storage form.",
};

export function testErrorWithHint(e: ErrorPayload): ErrorPayload {
  return e.hint ? e : { ...e, hint: TEST_HINTS[e.code] ?? null };
}

type StorageFields = S3Connection & {
  allBuckets: boolean;
  buckets: string;
};

function storageFields(s: StorageComponent | null): StorageFields {
  return {
    ...s3Connection(s),
    allBuckets: s?.buckets?.kind !== "only",
    buckets: s?.buckets?.kind === "only" ? s.buckets.names.join(", ") : "",
  };
}

export function ComponentsSection({ project }: { project: string }) {
  const components = useComponents(project);
  const store = useStore();
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<"storage" | "supabase" | null>(null);
  // Removing deletes a secret from the keychain: asked once more.
  const [removing, setRemoving] = useState<"storage" | "supabase" | null>(null);
  const [test, setTest] = useState<
    { status: "idle" } | { status: "testing" } | { status: "ok"; report: StorageTestReport } | { status: "error"; error: ErrorPayload }
  >({ status: "idle" });

  const c: Components | null = components.status === "ready" ? components.data : null;

  const saved = (message: string) => {
    setError(null);
    setRemoving(null);
    setNotice(message);
    setEditing(null);
    store.reload(keys.components(project));
  };

  const removeStorage = async () => {
    setNotice(null);
    setTest({ status: "idle" });
    const r = await call(commands.setStorage(project, null));
    if (!r.ok) return setError(r.error);
    saved("Storage removed, with its secret access key.");
  };

  const removeSupabase = async () => {
    setNotice(null);
    const r = await call(commands.setSupabase(project, null));
    if (!r.ok) return setError(r.error);
    saved("Supabase project removed, with its access token.");
  };

  const setType = async (type: BackupType) => {
    setNotice(null);
    const r = await call(commands.setDefaultBackupType(project, type));
    if (!r.ok) return setError(r.error);
    saved(`Default backup type: ${type}.`);
  };

  const runTest = async () => {
    setTest({ status: "testing" });
    const r = await call(commands.testStorage(project));
    setTest(r.ok ? { status: "ok", report: r.data } : { status: "error", error: testErrorWithHint(r.error) });
  };

  return (
    <section className="panel" aria-label="Storage & configuration" data-testid="components-section">
      <h2 className="panel-title">Storage &amp; configuration</h2>
      {components.status === "loading" && (
        <p className="muted small" data-testid="components-loading">
          Loading…
        </p>
      )}
      {components.status === "error" && (
        <ErrorNotice error={components.error} testId="components-load-error" onRetry={() => store.reload(keys.components(project))} />
      )}
      {c && (
        <>
          <div className="components-grid">
            <div data-testid="components-storage">
              <h3 className="small">{WORDS.fileStorage}</h3>
              {c.storage ? (
                <StorageView storage={c.storage} />
              ) : (
                <p className="muted small" data-testid="components-storage-none">
                  No storage. Add an S3-compatible endpoint (Supabase Storage, AWS S3, R2, MinIO…) to back up its
                  buckets.
                </p>
              )}
              <div className="form-actions">
                {/* While its form is open the button is the form's title instead (issue 44). */}
                {editing !== "storage" && (
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => setEditing("storage")}
                    data-testid="components-storage-edit"
                  >
                    {c.storage ? "Edit storage…" : "Add storage…"}
                  </button>
                )}
                {c.storage && (
                  <>
                    <button
                      type="button"
                      className="btn btn-small"
                      onClick={() => void runTest()}
                      disabled={test.status === "testing"}
                      data-testid="components-test"
                    >
                      {test.status === "testing" ? "Testing…" : "Test storage"}
                    </button>
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      onClick={() => setRemoving("storage")}
                      data-testid="components-storage-remove"
                    >
                      Remove storage…
                    </button>
                  </>
                )}
              </div>
            </div>
            <div data-testid="components-supabase">
              <h3 className="small">Supabase configuration</h3>
              {c.supabase ? (
                <SupabaseView supabase={c.supabase} />
              ) : (
                <p className="muted small" data-testid="components-supabase-none">
                  No Supabase project. Add its ref and an access token to back up its configuration.
                </p>
              )}
              <div className="form-actions">
                {editing !== "supabase" && (
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => setEditing("supabase")}
                    data-testid="components-supabase-edit"
                  >
                    {c.supabase ? "Edit Supabase…" : "Add Supabase…"}
                  </button>
                )}
                {c.supabase && (
                  <button
                    type="button"
                    className="btn btn-small btn-danger"
                    onClick={() => setRemoving("supabase")}
                    data-testid="components-supabase-remove"
                  >
                    Remove Supabase…
                  </button>
                )}
              </div>
            </div>
          </div>

          {removing && (
            <RemoveConfirm
              testId="components-remove"
              onRemove={() => void (removing === "storage" ? removeStorage() : removeSupabase())}
              onKeep={() => setRemoving(null)}
            >
              {removing === "storage"
                ? "Remove the storage settings and delete its secret access key from the keychain? Backups already made keep their storage."
                : "Remove the Supabase project and delete its access token from the keychain? Backups already made keep their configuration."}
            </RemoveConfirm>
          )}
          {editing && (
            <h4 className="form-title" data-testid="components-form-title">
              {editing === "storage" ? (c.storage ? "Edit the storage" : "Add storage") : c.supabase ? "Edit the Supabase project" : "Add a Supabase project"}
            </h4>
          )}
          {editing === "storage" && (
            <StorageForm
              project={project}
              current={c.storage ?? null}
              onCancel={() => setEditing(null)}
              onSaved={() => saved("Storage saved.")}
            />
          )}
          {editing === "supabase" && (
            <SupabaseForm
              project={project}
              current={c.supabase ?? null}
              onCancel={() => setEditing(null)}
              onSaved={() => saved("Supabase project saved.")}
            />
          )}

          {test.status === "ok" && <StorageTestView report={test.report} />}
          {test.status === "error" && <ErrorNotice error={test.error} testId="components-test-error" />}

          <DefaultTypeField components={c} onChange={(t) => void setType(t)} />
        </>
      )}
      {error && <ErrorNotice error={error} testId="components-error" />}
      {notice && (
        <p className="notice notice-ok small" role="status" data-testid="components-notice">
          {notice}
        </p>
      )}
    </section>
  );
}

function StorageView({ storage }: { storage: StorageComponent }) {
  return (
    <dl className="kv small">
      <dt>Endpoint</dt>
      <dd className="mono" data-testid="components-storage-endpoint">
        {storage.endpoint ?? `AWS S3`}
      </dd>
      <dt>Region</dt>
      <dd data-testid="components-storage-region">{storage.region}</dd>
      <dt>Access key id</dt>
      <dd className="mono" data-testid="components-storage-key-id">
        {storage.access_key_id}
      </dd>
      <dt>Secret access key</dt>
      <dd className="muted" data-testid="components-storage-secret">
        stored in the keychain
      </dd>
      <dt>Buckets</dt>
      <dd data-testid="components-storage-buckets">{bucketsLabel(storage.buckets ?? { kind: "all" })}</dd>
      <dt>Addressing</dt>
      <dd>{storage.path_style !== false ? "path-style" : "virtual-hosted"}</dd>
    </dl>
  );
}

function SupabaseView({ supabase }: { supabase: SupabaseComponent }) {
  return (
    <dl className="kv small">
      <dt>Project ref</dt>
      <dd className="mono" data-testid="components-supabase-ref">
        {supabase.project_ref}
      </dd>
      <dt>Access token</dt>
      <dd className="muted" data-testid="components-supabase-token">
        stored in the keychain
      </dd>
      {supabase.api_url && (
        <>
          <dt>Management API</dt>
          <dd className="mono">{supabase.api_url}</dd>
        </>
      )}
    </dl>
  );
}

function StorageForm({
  project,
  current,
  onCancel,
  onSaved,
}: {
  project: string;
  current: StorageComponent | null;
  onCancel: () => void;
  onSaved: (c: Components) => void;
}) {
  const id = useId();
  const [f, setF] = useState<StorageFields>(() => storageFields(current));
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof StorageFields>(k: K, v: StorageFields[K]) => setF((o) => ({ ...o, [k]: v }));

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const r = await call(
      commands.setStorage(project, {
        ...s3Settings(f),
        buckets: f.allBuckets ? { kind: "all" } : parseBuckets(f.buckets),
        concurrency: current?.concurrency ?? null,
      }),
    );
    setBusy(false);
    setF((o) => ({ ...o, secret: "" }));
    if (!r.ok) return setError(r.error);
    onSaved(r.data);
  };

  return (
    <form className="form" onSubmit={save} noValidate data-testid="components-storage-form">
      <S3ConnectionFields value={f} onChange={(patch) => setF((o) => ({ ...o, ...patch }))} hasStoredSecret={current !== null} testIdPrefix="components-field" />
      <fieldset className="segmented">
        <legend>Buckets</legend>
        <label>
          <input
            type="radio"
            name={`${id}-buckets`}
            checked={f.allBuckets}
            onChange={() => set("allBuckets", true)}
            data-testid="components-buckets-all"
          />
          All buckets
        </label>
        <label>
          <input
            type="radio"
            name={`${id}-buckets`}
            checked={!f.allBuckets}
            onChange={() => set("allBuckets", false)}
            data-testid="components-buckets-only"
          />
          Only these
        </label>
      </fieldset>
      {!f.allBuckets && (
        <div className="field">
          <label htmlFor={`${id}-bucket-list`}>Bucket names, comma separated</label>
          <input
            id={`${id}-bucket-list`}
            value={f.buckets}
            onChange={(e) => set("buckets", e.target.value)}
            placeholder="avatars, documents"
            autoComplete="off"
            spellCheck={false}
            data-testid="components-field-buckets"
          />
        </div>
      )}
      <p className="field-help">The secret goes to your system keychain and is never shown again.</p>
      {error && <ErrorNotice error={error} testId="components-storage-error" />}
      <div className="form-actions">
        <span className="spacer" />
        <button type="button" className="btn btn-quiet" onClick={onCancel} data-testid="components-storage-cancel">
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="components-storage-save">
          {busy ? "Saving…" : "Save storage"}
        </button>
      </div>
    </form>
  );
}

function SupabaseForm({
  project,
  current,
  onCancel,
  onSaved,
}: {
  project: string;
  current: SupabaseComponent | null;
  onCancel: () => void;
  onSaved: (c: Components) => void;
}) {
  const id = useId();
  const [ref, setRef] = useState(current?.project_ref ?? "");
  const [token, setToken] = useState("");
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const r = await call(
      commands.setSupabase(project, {
        project_ref: ref.trim(),
        api_url: current?.api_url ?? null,
        access_token: token === "" ? null : token,
      }),
    );
    setBusy(false);
    setToken("");
    if (!r.ok) return setError(r.error);
    onSaved(r.data);
  };

  return (
    <form className="form" onSubmit={save} noValidate data-testid="components-supabase-form">
      <div className="field-grid">
        <div className="field">
          <label htmlFor={`${id}-ref`}>Project ref</label>
          <input
            id={`${id}-ref`}
            value={ref}
            onChange={(e) => setRef(e.target.value)}
            placeholder="the 20 letters in https://REF.supabase.co"
            autoComplete="off"
            spellCheck={false}
            data-testid="components-field-ref"
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-token`}>Access token</label>
          <input
            id={`${id}-token`}
            type="password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            autoComplete="new-password"
            placeholder={current ? "leave empty to keep the stored one" : "sbp_…"}
            data-testid="components-field-token"
          />
        </div>
      </div>
      {error && <ErrorNotice error={error} testId="components-supabase-error" />}
      <div className="form-actions">
        <span className="spacer" />
        <button type="button" className="btn btn-quiet" onClick={onCancel} data-testid="components-supabase-cancel">
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="components-supabase-save">
          {busy ? "Saving…" : "Save Supabase"}
        </button>
      </div>
    </form>
  );
}

/** The buckets "Test storage" found. */
export function StorageTestView({ report }: { report: StorageTestReport }) {
  const problems = report.missing.length > 0 || report.buckets.some((b) => b.error || b.readable === false);
  return (
    <div
      className={`notice ${problems ? "notice-warn" : "notice-ok"}`}
      role="status"
      data-testid="components-test-report"
      data-ok={String(!problems)}
    >
      <p className="notice-title">
        {problems ? "Storage reachable, with problems" : "Storage works"}: {report.buckets.length} bucket
        {report.buckets.length === 1 ? "" : "s"} at <span className="mono">{report.endpoint}</span>
      </p>
      {report.buckets.length > 0 && (
        <table className="history-table" data-testid="components-test-table">
          <thead>
            <tr>
              <th>Bucket</th>
              <th className="num">Objects</th>
              <th className="num">Size</th>
              <th>Readable</th>
            </tr>
          </thead>
          <tbody>
            {report.buckets.map((b) => (
              <tr key={b.name} data-testid="components-test-row" data-bucket={b.name}>
                <td className="mono">{b.name}</td>
                <td className="num">
                  {b.objects.toLocaleString("en-US")}
                  {b.complete ? "" : "+"}
                </td>
                <td className="num">
                  {formatBytes(b.bytes)}
                  {b.complete ? "" : "+"}
                </td>
                <td data-testid="components-test-readable">
                  {b.error ? (
                    <span className="text-danger">{b.error}</span>
                  ) : b.readable === null ? (
                    <span className="muted">empty</span>
                  ) : b.readable ? (
                    "yes"
                  ) : (
                    <span className="text-danger">no</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {report.missing.length > 0 && (
        <p className="text-danger small" data-testid="components-test-missing">
          Not found with these keys: {report.missing.join(", ")}
        </p>
      )}
    </div>
  );
}

function DefaultTypeField({ components, onChange }: { components: Components; onChange: (t: BackupType) => void }) {
  const id = useId();
  return (
    <div className="field components-default">
      <label htmlFor={`${id}-type`}>Default backup type (“Back up now” and schedules)</label>
      <select
        id={`${id}-type`}
        value={defaultType(components)}
        onChange={(e) => onChange(e.target.value as BackupType)}
        data-testid="components-default-type"
      >
        <BackupTypeOptions components={components} />
      </select>
    </div>
  );
}

/** The backup types as options; those the project cannot make are disabled, with why. */
export function BackupTypeOptions({ components }: { components: Components | null }) {
  return (
    <>
      {BACKUP_TYPES.map(({ type, label }) => {
        const why = typeUnavailable(components, type);
        return (
          <option key={type} value={type} disabled={why !== null} title={why ?? undefined}>
            {label}
          </option>
        );
      })}
    </>
  );
}
