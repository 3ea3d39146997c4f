// A project's "Backup server": an Offsite agent (`offsite serve`) next to the database that makes
// the backups; this computer triggers them and downloads the archives. Adding one is trust on
// first use: "Check certificate" shows the fingerprint the server presents, the user compares it
// with the one `offsite serve` printed, then saves. The token goes into the keychain and never
// comes back. "Back up on server" and "Pull new" are jobs: their progress and result show here
// (and in the project's job panel); the downloaded backups appear, verified, in the backup list.
import { type FormEvent, useId, useState } from "react";
import { commands, type Components, type ErrorPayload, type ServerComponent } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { defaultType } from "./backupTypes";
import { useJobActions } from "../store";
import { useComponentPanel } from "./useComponentPanel";
import { call } from "../ipc/call";
import { RemoteJobView } from "./RemoteJob";
import { RemoveConfirm } from "../components/RemoveConfirm";
import { canTrust, fingerprintsMatch, TrustCheck, type TrustState } from "./ServerTrust";
import { Fingerprint } from "../components/Fingerprint";

/** `SHA256:abcd…` (as stored) shown as `SHA256:AB:CD:…` (as `offsite serve` prints it). */
export function fingerprintDisplay(fp: string): string {
  const hex = fp.replace(/^sha256:/i, "").replace(/:/g, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return fp;
  return `SHA256:${(hex.toUpperCase().match(/../g) ?? []).join(":")}`;
}

export function ServerSection({ project }: { project: string }) {
  const { components, c, reload, editing, setEditing, removing, setRemoving, error, setError, notice, setNotice, job, setJobId, running, saved } =
    useComponentPanel(project);
  const { startRemoteBackup, startPull } = useJobActions();
  const server = c?.server ?? null;

  const remove = async () => {
    setNotice(null);
    const r = await call(commands.setServer(project, null));
    if (!r.ok) return setError(r.error);
    saved("Backup server removed, with its token.");
  };

  const start = async (which: "backup" | "pull") => {
    setError(null);
    setNotice(null);
    // The project's default type; a server makes no incremental backups: a database one instead.
    const t = defaultType(c);
    const started =
      which === "backup" ? await startRemoteBackup(project, t === "incremental" ? "database" : t) : await startPull(project);
    if (!started.ok) return setError(started.error);
    setJobId(started.id);
  };

  return (
    <section className="panel" aria-label="Backup server" data-testid="server-section">
      <h2 className="panel-title">Backup server</h2>
      {components.status === "error" && (
        <ErrorNotice error={components.error} testId="server-load-error" onRetry={() => reload()} />
      )}
      {c && (
        <>
          {server ? (
            <ServerView server={server} />
          ) : (
            <p className="muted small" data-testid="server-none">
              No backup server. A backup server (<span className="mono">offsite serve</span>) next to the database makes
              the backups there; this computer starts them and downloads the archives.
            </p>
          )}
          <div className="form-actions">
            {server && (
              <>
                <button
                  type="button"
                  className="btn btn-small btn-primary"
                  onClick={() => void start("backup")}
                  disabled={running}
                  data-testid="server-backup"
                >
                  Back up on server
                </button>
                <button
                  type="button"
                  className="btn btn-small"
                  onClick={() => void start("pull")}
                  disabled={running}
                  data-testid="server-pull"
                >
                  Pull new
                </button>
              </>
            )}
            {/* While its form is open the button is the form's title instead (issue 44). */}
            {!editing && (
              <button
                type="button"
                className="btn btn-small"
                onClick={() => setEditing(true)}
                disabled={running}
                data-testid="server-edit"
              >
                {server ? "Edit server…" : "Add backup server…"}
              </button>
            )}
            {server && (
              <button
                type="button"
                className="btn btn-small btn-danger"
                onClick={() => setRemoving(true)}
                disabled={running}
                data-testid="server-remove"
              >
                Remove server…
              </button>
            )}
          </div>
          {removing && (
            <RemoveConfirm testId="server-remove" onRemove={() => void remove()} onKeep={() => setRemoving(false)}>
              Remove the backup server and delete its token from the keychain? Backups already downloaded stay; the
              server keeps its own.
            </RemoveConfirm>
          )}
          {editing && <h4 className="form-title" data-testid="server-form-title">{server ? "Edit the backup server" : "Add a backup server"}</h4>}
          {editing && (
            <ServerForm
              project={project}
              current={server}
              onCancel={() => setEditing(false)}
              onSaved={() => saved("Backup server saved; its token is in the keychain.")}
            />
          )}
        </>
      )}
      {job && <RemoteJobView job={job} testId="server-job" label="Backup server progress" />}
      {error && (
        <ErrorNotice
          error={error}
          testId="server-error"
          actions={{ edit_credentials: () => setEditing(true), check_address: () => setEditing(true) }}
        />
      )}
      {notice && (
        <p className="notice notice-ok small" role="status" data-testid="server-notice">
          {notice}
        </p>
      )}
    </section>
  );
}

function ServerView({ server }: { server: ServerComponent }) {
  return (
    <dl className="kv small" data-testid="server-view">
      <dt>Server</dt>
      <dd className="mono" data-testid="server-url">
        {server.url}
      </dd>
      <dt>Project on the server</dt>
      <dd className="mono" data-testid="server-project">
        {server.project}
      </dd>
      <dt>Token</dt>
      <dd className="muted" data-testid="server-token">
        stored in the keychain
      </dd>
      <dt>Certificate</dt>
      <dd className="mono" data-testid="server-fingerprint">
        {server.fingerprint ? <Fingerprint text={fingerprintDisplay(server.fingerprint)} /> : "none: plain HTTP, not encrypted"}
      </dd>
      <dt>Scheduled backups</dt>
      <dd className="muted" data-testid="server-scheduled">
        run on this server, then download here
      </dd>
    </dl>
  );
}

type Checked = { status: "idle" } | { status: "checking" } | { status: "shown"; url: string; fingerprint: string | null };

function ServerForm({
  project,
  current,
  onCancel,
  onSaved,
}: {
  project: string;
  current: ServerComponent | null;
  onCancel: () => void;
  onSaved: (c: Components) => void;
}) {
  const id = useId();
  const [url, setUrl] = useState(current?.url ?? "");
  const [serverProject, setServerProject] = useState(current?.project ?? "");
  const [token, setToken] = useState("");
  const [checked, setChecked] = useState<Checked>({ status: "idle" });
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  const [trust, setTrust] = useState<TrustState>({ pasted: "", byEye: false });
  // The fingerprint shown belongs to the URL it was checked for: another URL is checked again.
  const shown = checked.status === "shown" && checked.url === url.trim() ? checked : null;
  // Plain HTTP has nothing to compare; the fingerprint already trusted for this server needs no new
  // comparison; any other must match what offsite serve printed (or be compared by eye).
  const trusted =
    shown !== null &&
    (shown.fingerprint === null ||
      (current?.fingerprint != null && fingerprintsMatch(current.fingerprint, shown.fingerprint)) ||
      canTrust(trust, shown.fingerprint));

  const check = async () => {
    setError(null);
    setChecked({ status: "checking" });
    const u = url.trim();
    const r = await call(commands.serverFingerprint(u));
    if (!r.ok) {
      setChecked({ status: "idle" });
      return setError(r.error);
    }
    setChecked({ status: "shown", url: u, fingerprint: r.data });
    setTrust({ pasted: "", byEye: false });
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!shown || !trusted) return;
    setBusy(true);
    setError(null);
    const r = await call(
      commands.setServer(project, {
        url: url.trim(),
        project: serverProject.trim(),
        // Empty keeps the stored token.
        token: token === "" ? null : token,
        fingerprint: shown.fingerprint,
      }),
    );
    setBusy(false);
    setToken("");
    if (!r.ok) return setError(r.error);
    onSaved(r.data);
  };

  return (
    <form className="form" onSubmit={save} noValidate data-testid="server-form">
      <div className="field-grid">
        <div className="field">
          <label htmlFor={`${id}-url`}>Server URL</label>
          <input
            id={`${id}-url`}
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            placeholder="https://HOST:PORT (what offsite serve printed)"
            autoComplete="off"
            spellCheck={false}
            data-testid="server-field-url"
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-project`}>Project on the server</label>
          <input
            id={`${id}-project`}
            value={serverProject}
            onChange={(e) => setServerProject(e.target.value)}
            placeholder="its name in the server's agent.toml"
            autoComplete="off"
            spellCheck={false}
            data-testid="server-field-project"
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-token`}>Token</label>
          <input
            id={`${id}-token`}
            type="password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            autoComplete="new-password"
            placeholder={current ? "leave empty to keep the stored one" : "offsite serve token create --project ID"}
            data-testid="server-field-token"
          />
        </div>
      </div>
      {shown &&
        (shown.fingerprint ? (
          <TrustCheck
            seen={shown.fingerprint}
            shown={fingerprintDisplay(shown.fingerprint)}
            state={trust}
            onChange={setTrust}
          />
        ) : (
          <p className="notice notice-warn small" data-testid="server-check-plain">
            Plain HTTP: the token and the backups cross the network unencrypted.
          </p>
        ))}
      {error && <ErrorNotice error={error} testId="server-form-error" />}
      <div className="form-actions">
        <button
          type="button"
          className="btn"
          onClick={() => void check()}
          disabled={url.trim() === "" || checked.status === "checking"}
          data-testid="server-check-button"
        >
          {checked.status === "checking" ? "Checking…" : "Check certificate"}
        </button>
        <button
          type="submit"
          className="btn btn-primary"
          disabled={!shown || !trusted || busy || serverProject.trim() === "" || (!current && token === "")}
          title={
            !shown
              ? "Check the certificate first"
              : !trusted
                ? "Paste the fingerprint offsite serve printed (or compare it by eye) first"
                : undefined
          }
          data-testid="server-save"
        >
          {busy ? "Saving…" : shown?.fingerprint ? "Trust and save" : "Save"}
        </button>
        <button type="button" className="btn btn-quiet" onClick={onCancel} data-testid="server-cancel">
          Cancel
        </button>
      </div>
    </form>
  );
}
