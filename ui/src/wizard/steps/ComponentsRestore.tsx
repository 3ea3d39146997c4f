// "What to restore" for a backup that holds storage and/or configuration beside its database:
// storage (all or chosen buckets, into the project's storage or a folder, mirror only after typed
// consent) and configuration (the settings that differ, side by side, chosen one by one). Each is
// planned first and changes nothing until its own button; the database goes on through the
// wizard's next steps.
import { useId, useState } from "react";
import {
  commands,
  type ConfigPlan,
  type ErrorPayload,
  type Manifest,
  type RestoreRequest,
  type SettingDiff,
  type StoragePlan,
} from "../../bindings";
import { ErrorNotice } from "../../components/ErrorNotice";
import { formatBytes } from "../../components/format";
import { parseBuckets } from "../../project/backupTypes";
import { useJobActions, useStore } from "../../store";
import { call } from "../../ipc/call";

/** Whether the archive holds storage / configuration members (its manifest's counts). */
export function archiveComponents(m: Manifest | null | undefined): { storage: boolean; config: boolean } {
  const counts = m?.counts ?? {};
  return { storage: "storage" in counts || Boolean(m?.storage), config: "config" in counts };
}

/** The word mirror mode asks to be typed. */
export const MIRROR_WORD = "mirror";

const key = (d: SettingDiff) => (d.setting ? `${d.file}:${d.setting}` : d.file);
const show = (v: unknown) => (v === null || v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v));

type Props = { archive: string; manifest: Manifest | null | undefined; project: string };

export function ComponentsRestore({ archive, manifest, project }: Props) {
  const has = archiveComponents(manifest);
  const id = useId();
  const { startRestore } = useJobActions();
  const store = useStore();
  const [storage, setStorage] = useState(false);
  const [config, setConfig] = useState(false);
  const [allBuckets, setAllBuckets] = useState(true);
  const [buckets, setBuckets] = useState("");
  const [toFolder, setToFolder] = useState(false);
  const [folder, setFolder] = useState("");
  const [mirror, setMirror] = useState(false);
  const [overwrite, setOverwrite] = useState(false);
  const [consent, setConsent] = useState("");
  const [storagePlan, setStoragePlan] = useState<StoragePlan | null>(null);
  const [configPlan, setConfigPlan] = useState<ConfigPlan | null>(null);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!has.storage && !has.config) return null;

  // The one restore request, with the storage section only.
  const request = (): RestoreRequest => ({
    archive,
    database: null,
    storage: {
      to: toFolder ? { kind: "folder", value: folder.trim() } : { kind: "project", value: project },
      buckets: allBuckets ? { kind: "all" } : parseBuckets(buckets),
      bucket_map: {},
      mirror,
      overwrite,
    },
    config: null,
  });
  // The one restore request, with the configuration section only.
  const configRequest = (settings: string[]): RestoreRequest => ({
    archive,
    database: null,
    storage: null,
    config: { project, settings },
  });
  // Any change of the storage choices makes the plan stale.
  const changed = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setStoragePlan(null);
    setNotice(null);
  };
  const consentOk = !mirror || consent.trim() === MIRROR_WORD;

  const planStorage = async () => {
    setBusy(true);
    setError(null);
    const r = await call(commands.planRestore(request()));
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setStoragePlan(r.data.storage);
  };

  const runStorage = async () => {
    setError(null);
    const started = await startRestore(project, request());
    if (!started.ok) return setError(started.error);
    setNotice("Storage restore started; its progress shows on the project's page.");
    setStoragePlan(null);
    setConsent("");
  };

  const planConfig = async () => {
    setBusy(true);
    setError(null);
    const r = await call(commands.planRestore(configRequest([])));
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setConfigPlan(r.data.config);
    setChosen(new Set());
  };

  const applyConfig = async () => {
    setBusy(true);
    setError(null);
    const started = await startRestore(project, configRequest([...chosen]));
    if (!started.ok) {
      setBusy(false);
      return setError(started.error);
    }
    store.follow(started.id, {
      onProgress: () => {},
      onFinished: (f) => {
        setBusy(false);
        const applied = f.result?.kind === "restore" ? f.result.report.config?.applied : undefined;
        if (!f.ok || !applied) return setError(f.error ?? { code: "internal", message: "The configuration was not written.", hint: null, retryable: false });
        const skipped = applied.skipped.length;
        setNotice(
          `Wrote ${applied.applied.length} setting${applied.applied.length === 1 ? "" : "s"} back` +
            (skipped ? `; ${skipped} skipped.` : "."),
        );
        setConfigPlan(null);
        setChosen(new Set());
      },
    });
  };

  return (
    <section className="panel" aria-label="What to restore" data-testid="wizard-components">
      <h3>What to restore</h3>
      <p className="small muted">
        This backup also holds {[has.storage && "storage", has.config && "configuration"].filter(Boolean).join(" and ")}.
        Each is planned and restored on its own here; the database continues with Next.
      </p>
      <fieldset className="checks">
        <label>
          <input type="checkbox" checked disabled data-testid="wizard-components-database" /> Database (next steps)
        </label>
        {has.storage && (
          <label>
            <input
              type="checkbox"
              checked={storage}
              onChange={(e) => changed(setStorage)(e.target.checked)}
              data-testid="wizard-components-storage"
            />{" "}
            Storage
          </label>
        )}
        {has.config && (
          <label>
            <input
              type="checkbox"
              checked={config}
              onChange={(e) => setConfig(e.target.checked)}
              data-testid="wizard-components-config"
            />{" "}
            Configuration
          </label>
        )}
      </fieldset>

      {storage && (
        <div className="form" data-testid="wizard-storage">
          <fieldset className="segmented">
            <legend>Buckets</legend>
            <label>
              <input type="radio" name={`${id}-b`} checked={allBuckets} onChange={() => changed(setAllBuckets)(true)} />
              All
            </label>
            <label>
              <input
                type="radio"
                name={`${id}-b`}
                checked={!allBuckets}
                onChange={() => changed(setAllBuckets)(false)}
                data-testid="wizard-storage-some"
              />
              Only these
            </label>
          </fieldset>
          {!allBuckets && (
            <input
              aria-label="Buckets, comma separated"
              value={buckets}
              onChange={(e) => changed(setBuckets)(e.target.value)}
              placeholder="avatars, docs"
              data-testid="wizard-storage-buckets"
            />
          )}
          <fieldset className="segmented">
            <legend>Into</legend>
            <label>
              <input
                type="radio"
                name={`${id}-to`}
                checked={!toFolder}
                onChange={() => changed(setToFolder)(false)}
                data-testid="wizard-storage-to-project"
              />
              {project}’s storage
            </label>
            <label>
              <input
                type="radio"
                name={`${id}-to`}
                checked={toFolder}
                onChange={() => changed(setToFolder)(true)}
                data-testid="wizard-storage-to-folder"
              />
              A folder
            </label>
          </fieldset>
          {toFolder && (
            <input
              aria-label="Folder"
              value={folder}
              onChange={(e) => changed(setFolder)(e.target.value)}
              placeholder="/path/to/folder"
              data-testid="wizard-storage-folder"
            />
          )}
          <label className="check">
            <input
              type="checkbox"
              checked={overwrite}
              onChange={(e) => changed(setOverwrite)(e.target.checked)}
              data-testid="wizard-storage-overwrite"
            />{" "}
            Replace files whose content differs (folders)
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={mirror}
              onChange={(e) => changed(setMirror)(e.target.checked)}
              data-testid="wizard-storage-mirror"
            />{" "}
            Mirror: delete objects the backup does not have
          </label>
          {mirror && (
            <div className="field">
              <label htmlFor={`${id}-consent`}>
                Mirror deletes objects. Type <span className="mono">{MIRROR_WORD}</span> to allow it
              </label>
              <input
                id={`${id}-consent`}
                value={consent}
                onChange={(e) => setConsent(e.target.value)}
                autoComplete="off"
                data-testid="wizard-storage-consent"
              />
            </div>
          )}
          <div className="form-actions">
            <button
              type="button"
              className="btn"
              onClick={() => void planStorage()}
              disabled={busy || (toFolder && !folder.trim())}
              data-testid="wizard-storage-plan"
            >
              Plan storage restore
            </button>
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => void runStorage()}
              disabled={!storagePlan || storagePlan.blockers.length > 0 || !consentOk}
              title={!consentOk ? `Type ${MIRROR_WORD} to allow deleting` : undefined}
              data-testid="wizard-storage-run"
            >
              Restore storage
            </button>
          </div>
          {storagePlan && <StoragePlanView plan={storagePlan} />}
        </div>
      )}

      {config && (
        <div className="form" data-testid="wizard-config">
          <div className="form-actions">
            <button
              type="button"
              className="btn"
              onClick={() => void planConfig()}
              disabled={busy}
              data-testid="wizard-config-plan"
            >
              Compare with {project}’s configuration
            </button>
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => void applyConfig()}
              disabled={busy || chosen.size === 0}
              data-testid="wizard-config-apply"
            >
              Write {chosen.size} setting{chosen.size === 1 ? "" : "s"} back
            </button>
          </div>
          {configPlan && (
            <ConfigDiffTable
              plan={configPlan}
              chosen={chosen}
              onToggle={(k, on) =>
                setChosen((old) => {
                  const next = new Set(old);
                  if (on) next.add(k);
                  else next.delete(k);
                  return next;
                })
              }
            />
          )}
        </div>
      )}

      {error && <ErrorNotice error={error} testId="wizard-components-error" />}
      {notice && (
        <p className="notice notice-ok small" role="status" data-testid="wizard-components-notice">
          {notice}
        </p>
      )}
    </section>
  );
}

export function StoragePlanView({ plan }: { plan: StoragePlan }) {
  return (
    <div data-testid="wizard-storage-planned">
      <p className="small" data-testid="wizard-storage-summary">
        {plan.upload.toLocaleString("en-US")} objects to write ({formatBytes(plan.upload_bytes)}), {plan.overwrite_count} overwritten,{" "}
        {plan.identical.toLocaleString("en-US")} identical skipped
        {plan.mirror ? `, ${plan.delete.toLocaleString("en-US")} deleted (${formatBytes(plan.delete_bytes)})` : ""} — into{" "}
        {plan.target}.
      </p>
      <table className="history-table wizard-table">
        <thead>
          <tr>
            <th>Bucket</th>
            <th className="num">Objects</th>
            <th className="num">To write</th>
            <th className="num">Overwrites</th>
            <th className="num">Identical</th>
            <th className="num">Deleted</th>
          </tr>
        </thead>
        <tbody>
          {plan.buckets.map((b) => (
            <tr key={b.bucket} data-testid="wizard-storage-bucket" data-bucket={b.bucket}>
              <td className="mono">
                {b.bucket}
                {b.target_bucket !== b.bucket ? ` → ${b.target_bucket}` : ""}
                {b.create ? " (created)" : ""}
              </td>
              <td className="num">{b.objects.toLocaleString("en-US")}</td>
              <td className="num">
                {b.upload.toLocaleString("en-US")} ({formatBytes(b.upload_bytes)})
              </td>
              <td className="num">{b.overwrite.toLocaleString("en-US")}</td>
              <td className="num">{b.identical.toLocaleString("en-US")}</td>
              <td className="num">{plan.mirror ? b.delete.toLocaleString("en-US") : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {plan.blockers.map((b) => (
        <p key={b} className="notice notice-error small" data-testid="wizard-storage-blocker">
          {b}
        </p>
      ))}
      {plan.warnings.map((w) => (
        <p key={w} className="notice notice-warn small">
          {w}
        </p>
      ))}
    </div>
  );
}

function ConfigDiffTable({
  plan,
  chosen,
  onToggle,
}: {
  plan: ConfigPlan;
  chosen: Set<string>;
  onToggle: (key: string, on: boolean) => void;
}) {
  if (plan.diffs.length === 0)
    return (
      <p className="muted small" data-testid="wizard-config-same">
        The project’s configuration matches the backup.
      </p>
    );
  return (
    <table className="history-table wizard-table" data-testid="wizard-config-diffs">
      <thead>
        <tr>
          <th />
          <th>Setting</th>
          <th>In the backup</th>
          <th>Now</th>
        </tr>
      </thead>
      <tbody>
        {plan.diffs.map((d) => {
          const k = key(d);
          const why = d.redacted
            ? "Redacted in the backup: its value is unknown and never written back"
            : !d.writable
              ? "Cannot be written back through the Management API"
              : undefined;
          return (
            <tr key={k} data-testid="wizard-config-diff" data-setting={k}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Restore ${k}`}
                  checked={chosen.has(k)}
                  disabled={why !== undefined}
                  title={why}
                  onChange={(e) => onToggle(k, e.target.checked)}
                  data-testid="wizard-config-choose"
                />
              </td>
              <td className="mono">{k}</td>
              <td className="mono small">{d.redacted ? "(redacted)" : show(d.archived)}</td>
              <td className="mono small">{show(d.current)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
