// A project's "Artifact bucket": dumps something else makes (a cron `pg_dump`, a provider's
// nightly export) in an S3-compatible bucket. Saving lists the bucket with the keys first
// (wrong keys or an unknown bucket are refused, nothing saved); the secret goes into the keychain
// and never comes back. "Pull new" (as `offsite pull`: the backup server too, when there is one)
// downloads what was not imported yet, checks each file against its `.sha256` sidecar when
// there is one (else by its structure), and imports it as a verified backup.
import { type FormEvent, useEffect, useId, useState } from "react";
import { type ArtifactsComponent, commands, type Components, type ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { call } from "../ipc/call";
import { useJobActions } from "../store";
import { useComponentPanel } from "./useComponentPanel";
import { testErrorWithHint } from "./ComponentsSection";
import { RemoteJobView } from "./RemoteJob";
import { type S3Connection, S3ConnectionFields, s3Connection, s3Settings } from "./S3Fields";
import { RemoveConfirm } from "../components/RemoveConfirm";

/** `s3://BUCKET/PREFIX`, as the form takes it. */
export function artifactsLocation(a: Pick<ArtifactsComponent, "bucket" | "prefix">): string {
  return `s3://${a.bucket}/${a.prefix ?? ""}`;
}

export function ArtifactsSection({ project }: { project: string }) {
  const { components, c, reload, editing, setEditing, removing, setRemoving, error, setError, notice, setNotice, job, setJobId, running, saved } =
    useComponentPanel(project);
  const { startPull } = useJobActions();
  const bucket = c?.artifacts ?? null;

  const remove = async () => {
    setNotice(null);
    const r = await call(commands.setArtifacts(project, null));
    if (!r.ok) return setError(r.error);
    saved("Artifact bucket removed, with its secret access key. Backups imported from it stay.");
  };

  const pull = async () => {
    setError(null);
    setNotice(null);
    const started = await startPull(project);
    if (!started.ok) return setError(started.error);
    setJobId(started.id);
  };

  // The count of imported artifacts changes when a pull ends.
  const finishedId = job?.finished ? job.id : null;
  useEffect(() => {
    if (finishedId !== null) reload();
  }, [finishedId, reload]);

  return (
    <section className="panel" aria-label="Artifact bucket" data-testid="artifacts-section">
      <h2 className="panel-title">Artifact bucket</h2>
      {components.status === "error" && (
        <ErrorNotice error={components.error} testId="artifacts-load-error" onRetry={() => reload()} />
      )}
      {c && (
        <>
          {bucket ? (
            <ArtifactsView artifacts={bucket} />
          ) : (
            <p className="muted small" data-testid="artifacts-none">
              No artifact bucket. If something else already makes dumps (a cron <span className="mono">pg_dump</span>, a
              provider's nightly export) into an S3-compatible bucket, Offsite can pull them, check them and keep them as
              verified backups.
            </p>
          )}
          <div className="form-actions">
            {bucket && (
              <button
                type="button"
                className="btn btn-small btn-primary"
                onClick={() => void pull()}
                disabled={running}
                data-testid="artifacts-pull"
              >
                Pull new
              </button>
            )}
            {/* While its form is open the button is the form's title instead (issue 44). */}
            {!editing && (
              <button
                type="button"
                className="btn btn-small"
                onClick={() => setEditing(true)}
                disabled={running}
                data-testid="artifacts-edit"
              >
                {bucket ? "Edit bucket…" : "Add artifact bucket…"}
              </button>
            )}
            {bucket && (
              <button
                type="button"
                className="btn btn-small btn-danger"
                onClick={() => setRemoving(true)}
                disabled={running}
                data-testid="artifacts-remove"
              >
                Remove bucket…
              </button>
            )}
          </div>
          {removing && (
            <RemoveConfirm testId="artifacts-remove" onRemove={() => void remove()} onKeep={() => setRemoving(false)}>
              Remove the artifact bucket and delete its secret access key from the keychain? Backups already imported
              stay; nothing in the bucket is touched.
            </RemoveConfirm>
          )}
          {editing && <h4 className="form-title" data-testid="artifacts-form-title">{bucket ? "Edit the artifact bucket" : "Add an artifact bucket"}</h4>}
          {editing && (
            <ArtifactsForm
              project={project}
              current={bucket}
              onCancel={() => setEditing(false)}
              onSaved={() => saved("Artifact bucket saved: the keys listed it; the secret is in the keychain.")}
            />
          )}
        </>
      )}
      {job && <RemoteJobView job={job} testId="artifacts-job" label="Artifact pull progress" />}
      {error && <ErrorNotice error={error} testId="artifacts-error" />}
      {notice && (
        <p className="notice notice-ok small" role="status" data-testid="artifacts-notice">
          {notice}
        </p>
      )}
    </section>
  );
}

function ArtifactsView({ artifacts: a }: { artifacts: ArtifactsComponent }) {
  const n = a.imported?.length ?? 0;
  return (
    <dl className="kv small" data-testid="artifacts-view">
      <dt>Bucket</dt>
      <dd className="mono" data-testid="artifacts-location">
        {artifactsLocation(a)}
      </dd>
      <dt>Files</dt>
      <dd className="mono" data-testid="artifacts-pattern">
        {a.pattern ?? "every file (but .sha256 sidecars)"}
      </dd>
      <dt>Endpoint</dt>
      <dd className="mono" data-testid="artifacts-endpoint">
        {a.endpoint ?? "AWS S3"}
      </dd>
      <dt>Region</dt>
      <dd>{a.region}</dd>
      <dt>Access key id</dt>
      <dd className="mono" data-testid="artifacts-key-id">
        {a.access_key_id}
      </dd>
      <dt>Secret access key</dt>
      <dd className="muted" data-testid="artifacts-secret">
        stored in the keychain
      </dd>
      <dt>Addressing</dt>
      <dd>{a.path_style !== false ? "path-style" : "virtual-hosted"}</dd>
      <dt>Imported</dt>
      <dd data-testid="artifacts-imported" data-count={n}>
        {n === 0 ? "nothing yet" : `${n} artifact${n === 1 ? "" : "s"}`}
      </dd>
    </dl>
  );
}

type ArtifactsFields = S3Connection & { location: string; pattern: string };

function ArtifactsForm({
  project,
  current,
  onCancel,
  onSaved,
}: {
  project: string;
  current: ArtifactsComponent | null;
  onCancel: () => void;
  onSaved: (c: Components) => void;
}) {
  const id = useId();
  const [f, setF] = useState<ArtifactsFields>(() => ({
    ...s3Connection(current),
    location: current ? artifactsLocation(current) : "",
    pattern: current?.pattern ?? "",
  }));
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof ArtifactsFields>(k: K, v: ArtifactsFields[K]) => setF((o) => ({ ...o, [k]: v }));
  const located = /^s3:\/\/[^/\s]+/.test(f.location.trim());

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const r = await call(
      commands.setArtifacts(project, {
        ...s3Settings(f),
        location: f.location.trim(),
        pattern: f.pattern.trim() || null,
      }),
    );
    setBusy(false);
    setF((o) => ({ ...o, secret: "" }));
    if (!r.ok) return setError(testErrorWithHint(r.error));
    onSaved(r.data);
  };

  return (
    <form className="form" onSubmit={save} noValidate data-testid="artifacts-form">
      <div className="field-grid">
        <div className="field">
          <label htmlFor={`${id}-location`}>Bucket and prefix</label>
          <input
            id={`${id}-location`}
            value={f.location}
            onChange={(e) => set("location", e.target.value)}
            placeholder="s3://BUCKET/PREFIX"
            autoComplete="off"
            spellCheck={false}
            data-testid="artifacts-field-location"
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-pattern`}>File name pattern</label>
          <input
            id={`${id}-pattern`}
            value={f.pattern}
            onChange={(e) => set("pattern", e.target.value)}
            placeholder="*.sql.gz (empty: every file)"
            autoComplete="off"
            spellCheck={false}
            data-testid="artifacts-field-pattern"
          />
        </div>
      </div>
      <S3ConnectionFields value={f} onChange={(patch) => setF((o) => ({ ...o, ...patch }))} hasStoredSecret={current !== null} testIdPrefix="artifacts-field" />
      <p className="field-help">
        Saving lists the bucket with these keys first. The secret goes to your system keychain and is never shown again.
      </p>
      {error && <ErrorNotice error={error} testId="artifacts-form-error" />}
      <div className="form-actions">
        <span className="spacer" />
        <button type="button" className="btn btn-quiet" onClick={onCancel} data-testid="artifacts-cancel">
          Cancel
        </button>
        <button
          type="submit"
          className="btn btn-primary"
          disabled={busy || !located || f.accessKeyId.trim() === "" || (!current && f.secret === "")}
          title={located ? undefined : "Give the bucket as s3://BUCKET/PREFIX"}
          data-testid="artifacts-save"
        >
          {busy ? "Listing the bucket…" : "Test and save"}
        </button>
      </div>
    </form>
  );
}
