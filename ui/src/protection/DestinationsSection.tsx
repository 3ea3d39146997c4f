// A project's destinations besides its local folder: another folder (an external drive, a NAS
// mount), an S3-compatible bucket, an rclone remote. Each with its own retention. "Test" asks
// the engine whether it is writable, how much room there is, or whether it is offline (a drive
// that is not mounted is offline, not an error). Removing asks first; copies already made stay
// where they are.
import { type FormEvent, type ReactNode, useId, useState } from "react";
import type { ErrorPayload, RetentionPolicy } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { RemoveConfirm } from "../components/RemoveConfirm";
import { formatBytes, formatTime } from "../components/format";
import {
  DESTINATION_KIND_LABEL,
  DESTINATION_STATE_LABEL,
  type DestinationForm,
  type DestinationKind,
  type DestinationsApi,
  type DestinationTest,
  type DestinationView,
  type LoadState,
} from "./types";
import { DestinationProtectionEdit, NO_PROTECTION, S3ProtectionInputs } from "./S3Protection";

const KINDS: DestinationKind[] = ["folder", "s3", "rclone"];

export const EMPTY_FORM: DestinationForm = {
  name: "",
  kind: "folder",
  folder: "",
  s3: { endpoint: "", region: "us-east-1", bucket: "", prefix: "", accessKeyId: "", secret: "", pathStyle: true, ...NO_PROTECTION },
  remote: "",
  offsite: false,
  retention: {},
};

type CountRule = "keep_last" | "keep_daily" | "keep_weekly" | "keep_monthly" | "keep_yearly";
const RETENTION_RULES: [CountRule, string][] = [
  ["keep_last", "Last"],
  ["keep_daily", "Daily"],
  ["keep_weekly", "Weekly"],
  ["keep_monthly", "Monthly"],
  ["keep_yearly", "Yearly"],
];

/** The form holds what the kind needs (the engine checks it when adding). */
export function formComplete(f: DestinationForm): boolean {
  if (f.name.trim() === "") return false;
  switch (f.kind) {
    case "folder":
      return f.folder.trim() !== "";
    case "s3":
      return f.s3.bucket.trim() !== "" && f.s3.accessKeyId.trim() !== "" && f.s3.secret !== "";
    case "rclone":
      return f.remote.trim() !== "";
  }
}

/** The test's answer in words. */
export function testSummary(t: DestinationTest): string {
  if (t.offline)
    return `Offline${t.detail ? `: ${t.detail}` : ": not reachable now (a drive that is not mounted?)"}. Copies wait until it is back.`;
  const room = t.freeBytes !== null ? `${formatBytes(t.freeBytes)} free` : "free space unknown";
  // Writable, but on the backups' own disk: not a second copy (issue 44, protection-05 read green).
  if (t.writable && t.sameDisk) return `${t.sameDisk} (Writable · ${room})`;
  return t.writable ? `Writable · ${room}` : `Not writable${t.detail ? `: ${t.detail}` : ""}`;
}

type Props = {
  destinations: LoadState<DestinationView[]>;
  api: DestinationsApi;
  /** Re-read the list (after a change, or to retry). */
  reload: () => void;
  /** Pick a folder with the native dialog (optional). */
  pickFolder?: () => Promise<string | null>;
};

export function DestinationsSection({ destinations, api, reload, pickFolder }: Props) {
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<string | null>(null);
  const [protecting, setProtecting] = useState<string | null>(null);
  const setProtection = api.setProtection;
  const [tests, setTests] = useState<Record<string, DestinationTest | ErrorPayload | "testing">>({});
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const test = async (name: string) => {
    setTests((t) => ({ ...t, [name]: "testing" }));
    const r = await api.test(name);
    setTests((t) => ({ ...t, [name]: r.ok ? r.data : r.error }));
  };
  const remove = async (name: string) => {
    setError(null);
    const r = await api.remove(name);
    setRemoving(null);
    if (!r.ok) return setError(r.error);
    setNotice(`Removed ${name}. Copies already there were left as they are.`);
    reload();
  };

  return (
    <section className="panel" aria-label="Destinations" data-testid="destinations-section">
      <h2 className="panel-title">Copies elsewhere</h2>
      {destinations.status === "loading" && <p className="muted small">Loading…</p>}
      {destinations.status === "error" && (
        <ErrorNotice error={destinations.error} testId="destinations-load-error" onRetry={reload} />
      )}
      {destinations.status === "ready" && destinations.data.length === 0 && (
        <p className="muted small" data-testid="destinations-none">
          Only the local folder holds the backups. Add another folder (an external drive, a NAS), a bucket or an rclone
          remote: every new backup is copied there too, each with its own retention.
        </p>
      )}
      {destinations.status === "ready" && destinations.data.length > 0 && (
        <ul className="dest-list" data-testid="destinations">
          {destinations.data.map((d) => (
            <li key={d.name} className="dest" data-testid="destination" data-name={d.name} data-state={d.state}>
              <div className="toolbar">
                <strong data-testid="destination-name">{d.name}</strong>
                <span className="muted small" data-testid="destination-kind">
                  {DESTINATION_KIND_LABEL[d.kind]}
                </span>
                {/* Amber as soon as anything says the copy shares the local backups' disk: the
                    copies' count, or this destination's test (issue 64, protection-05 said green
                    "Up to date" above an amber "not a separate copy"). */}
                {d.state === "ok" && (d.sameMedium || sameDiskTested(tests[d.name])) ? (
                  <span className="status dest-state-pending" data-testid="destination-state" data-same-medium="true">
                    Up to date, but on the same disk as the local backups
                  </span>
                ) : (
                  <span className={`status dest-state-${d.state}`} data-testid="destination-state">
                    {DESTINATION_STATE_LABEL[d.state]}
                    {d.pendingSince ? ` since ${formatTime(d.pendingSince)}` : ""}
                  </span>
                )}
                <span className="spacer" />
                <button
                  type="button"
                  className="btn btn-small"
                  onClick={() => void test(d.name)}
                  disabled={tests[d.name] === "testing"}
                  data-testid="destination-test"
                >
                  {tests[d.name] === "testing" ? "Testing…" : "Test"}
                </button>
                {setProtection && d.s3Protection && (
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => {
                      setNotice(null);
                      setProtecting(d.name);
                    }}
                    data-testid="destination-protection-open"
                  >
                    Lock and class…
                  </button>
                )}
                <button
                  type="button"
                  className="btn btn-small btn-danger"
                  onClick={() => setRemoving(d.name)}
                  data-testid="destination-remove"
                >
                  Remove…
                </button>
              </div>
              <p className="mono small path" data-testid="destination-location">
                <bdi>{d.location}</bdi>
              </p>
              <p className="small muted" data-testid="destination-retention">
                Keeps: {d.retention ?? "every backup"}
              </p>
              {d.protection && (
                <p className="small muted" data-testid="destination-protection">
                  {d.protection}
                </p>
              )}
              {d.problem && (
                <p className="small status-corrupt" data-testid="destination-problem">
                  {d.problem}
                </p>
              )}
              <TestResult result={tests[d.name]} />
              {protecting === d.name && setProtection && d.s3Protection && (
                <DestinationProtectionEdit
                  name={d.name}
                  saved={d.s3Protection}
                  onSave={(f) => setProtection(d.name, f)}
                  onDone={(changed) => {
                    setProtecting(null);
                    if (!changed) return;
                    setError(null); // one result at a time: this one replaces an older refusal
                    setNotice(`Saved ${d.name}'s lock and storage class. New copies get them.`);
                    reload();
                  }}
                />
              )}
              {removing === d.name && (
                <RemoveConfirm testId="destination-remove" onRemove={() => void remove(d.name)} onKeep={() => setRemoving(null)}>
                  Stop copying backups to {d.name}? Its stored credentials leave the keychain; copies already there are
                  not deleted.
                </RemoveConfirm>
              )}
            </li>
          ))}
        </ul>
      )}
      <div className="form-actions">
        {!adding && (
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              setNotice(null);
              setAdding(true);
            }}
            data-testid="destination-add"
          >
            Add destination…
          </button>
        )}
      </div>
      {adding && <h4 className="form-title" data-testid="destination-add-title">Add a destination</h4>}
      {adding && (
        <DestinationAddForm
          api={api}
          {...(pickFolder ? { pickFolder } : {})}
          onCancel={() => setAdding(false)}
          onAdded={(name) => {
            setAdding(false);
            setError(null); // one result at a time: this one replaces an older refusal
            setNotice(`Added ${name}. New backups are copied there; "sync" copies the ones made before.`);
            reload();
          }}
        />
      )}
      {error && <ErrorNotice error={error} testId="destinations-error" />}
      {notice && (
        <p className="notice notice-ok small" role="status" data-testid="destinations-notice">
          {notice}
        </p>
      )}
    </section>
  );
}

/** The destination's last test found it on the disk of the local backups. */
function sameDiskTested(result: DestinationTest | ErrorPayload | "testing" | undefined): boolean {
  return result !== undefined && result !== "testing" && !("code" in result) && Boolean(result.writable && result.sameDisk);
}

function TestResult({ result }: { result: DestinationTest | ErrorPayload | "testing" | undefined }) {
  if (result === undefined || result === "testing") return null;
  if ("code" in result) return <ErrorNotice error={result} testId="destination-test-error" />;
  const tone = result.offline || (result.writable && result.sameDisk) ? "notice-warn" : result.writable ? "notice-ok" : "notice-error";
  return (
    <p
      className={`notice ${tone} small`}
      role="status"
      data-testid="destination-test-result"
      data-writable={result.writable}
      data-offline={result.offline}
      data-same-disk={Boolean(result.sameDisk)}
    >
      {testSummary(result)}
    </p>
  );
}

export function DestinationAddForm({
  api,
  pickFolder,
  onCancel,
  onAdded,
}: {
  api: DestinationsApi;
  pickFolder?: () => Promise<string | null>;
  onCancel: () => void;
  onAdded: (name: string) => void;
}) {
  const id = useId();
  const [f, setF] = useState<DestinationForm>(EMPTY_FORM);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof DestinationForm>(k: K, v: DestinationForm[K]) => setF((o) => ({ ...o, [k]: v }));
  const setS3 = (patch: Partial<DestinationForm["s3"]>) => setF((o) => ({ ...o, s3: { ...o.s3, ...patch } }));
  const setRule = (rule: CountRule, text: string) => {
    const n = Number.parseInt(text, 10);
    setF((o) => ({ ...o, retention: { ...o.retention, [rule]: text.trim() === "" || Number.isNaN(n) ? null : n } }));
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!formComplete(f)) return;
    setBusy(true);
    setError(null);
    const r = await api.add({ ...f, name: f.name.trim() });
    setBusy(false);
    setF((o) => ({ ...o, s3: { ...o.s3, secret: "" } }));
    if (!r.ok) return setError(r.error);
    onAdded(f.name.trim());
  };

  const text = (label: string, value: string, onChange: (v: string) => void, testId: string, placeholder?: string) => (
    <div className="field">
      <label htmlFor={`${id}-${testId}`}>{label}</label>
      <input
        id={`${id}-${testId}`}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder={placeholder}
        autoComplete="off"
        spellCheck={false}
        data-testid={`destination-field-${testId}`}
      />
    </div>
  );

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="destination-form">
      <div className="field-grid">
        {text("Name", f.name, (v) => set("name", v), "name", "NAS, usb-disk, b2…")}
        <div className="field">
          <label htmlFor={`${id}-kind`}>Kind</label>
          <select
            id={`${id}-kind`}
            value={f.kind}
            onChange={(e) => set("kind", e.target.value as DestinationKind)}
            data-testid="destination-field-kind"
          >
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {DESTINATION_KIND_LABEL[k]}
              </option>
            ))}
          </select>
        </div>
      </div>
      {f.kind === "folder" && (
        <div className="field">
          <label htmlFor={`${id}-folder`}>Folder</label>
          <div className="path-row">
            <input
              id={`${id}-folder`}
              value={f.folder}
              onChange={(e) => set("folder", e.target.value)}
              placeholder="/media/me/backup-disk/offsite"
              autoComplete="off"
              spellCheck={false}
              data-testid="destination-field-folder"
            />
            {pickFolder && (
              <button
                type="button"
                className="btn btn-small"
                onClick={() => void pickFolder().then((p) => p && set("folder", p))}
                data-testid="destination-field-folder-choose"
              >
                Choose…
              </button>
            )}
          </div>
          <label className="check">
            <input
              type="checkbox"
              checked={f.offsite}
              onChange={(e) => set("offsite", e.target.checked)}
              data-testid="destination-field-offsite"
            />{" "}
            Kept away from this computer (a drive taken home): counts as offsite
          </label>
        </div>
      )}
      {f.kind === "s3" && <S3DestinationFields value={f.s3} onChange={setS3} text={text} />}
      {f.kind === "rclone" &&
        text("Remote", f.remote, (v) => set("remote", v), "remote", "remote:path (from your rclone configuration)")}
      <fieldset className="field-grid" data-testid="destination-retention-fields">
        <legend className="small">Keep at this destination (empty: every backup)</legend>
        {RETENTION_RULES.map(([rule, label]) => (
          <div className="field" key={rule}>
            <label htmlFor={`${id}-${rule}`}>{label}</label>
            <input
              id={`${id}-${rule}`}
              type="number"
              min={1}
              value={retentionValue(f.retention, rule)}
              onChange={(e) => setRule(rule, e.target.value)}
              data-testid={`destination-field-${rule.replace("_", "-")}`}
            />
          </div>
        ))}
      </fieldset>
      <p className="field-help">
        {f.kind === "s3"
          ? "The secret goes to your system keychain and is never shown again."
          : f.kind === "rclone"
            ? "Uses the rclone installed on this computer and its own configuration."
            : "A drive that is not mounted is shown as offline; copies wait until it is back."}
      </p>
      {error && <ErrorNotice error={error} testId="destination-form-error" />}
      <div className="form-actions">
        <span className="spacer" />
        <button type="button" className="btn btn-quiet" onClick={onCancel} data-testid="destination-cancel">
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy || !formComplete(f)} data-testid="destination-save">
          {busy ? "Adding…" : "Add"}
        </button>
      </div>
    </form>
  );
}

/** An S3 bucket's fields; the secret is write-only (it goes to the keychain). */
function S3DestinationFields({
  value,
  onChange,
  text,
}: {
  value: DestinationForm["s3"];
  onChange: (patch: Partial<DestinationForm["s3"]>) => void;
  text: (label: string, value: string, onChange: (v: string) => void, testId: string, placeholder?: string) => ReactNode;
}) {
  const id = useId();
  const setS3 = onChange;
  const f = { s3: value }; // the same expressions as in the form they came from
  return (
    <>
      {text("Endpoint", f.s3.endpoint, (v) => setS3({ endpoint: v }), "endpoint", "https://s3.example.com (empty: AWS S3)")}
      <div className="field-grid">
        {text("Region", f.s3.region, (v) => setS3({ region: v }), "region")}
        {text("Bucket", f.s3.bucket, (v) => setS3({ bucket: v }), "bucket")}
        {text("Prefix", f.s3.prefix, (v) => setS3({ prefix: v }), "prefix", "offsite/shop/")}
      </div>
      <div className="field-grid">
        {text("Access key id", f.s3.accessKeyId, (v) => setS3({ accessKeyId: v }), "key-id")}
        <div className="field">
          <label htmlFor={`${id}-secret`}>Secret access key</label>
          <input
            id={`${id}-secret`}
            type="password"
            value={f.s3.secret}
            onChange={(e) => setS3({ secret: e.target.value })}
            autoComplete="new-password"
            data-testid="destination-field-secret"
          />
        </div>
      </div>
      <label className="check">
        <input
          type="checkbox"
          checked={f.s3.pathStyle}
          onChange={(e) => setS3({ pathStyle: e.target.checked })}
          data-testid="destination-field-path-style"
        />{" "}
        Path-style addressing (MinIO, Garage and most self-hosted stores)
      </label>
      <S3ProtectionInputs value={value} onChange={onChange} />
    </>
  );
}

function retentionValue(p: RetentionPolicy, rule: CountRule): string {
  const v = p[rule];
  return v === null || v === undefined ? "" : String(v);
}
