// "What to restore" for a backup that holds storage and/or configuration beside its database: the
// choice form of those components (storage: all or chosen buckets, into a saved project's storage
// or a folder, mirror; configuration: the project written to). The choices go into the wizard's
// ONE restore request: the review shows the one plan with a section per component, and "Restore"
// runs them in one job. Nothing is planned or changed here.
import { useId } from "react";
import type { ConfigPlan, Manifest, StoragePlan } from "../../bindings";
import { Copyable } from "../../components/Copyable";
import { countOf, formatBytes } from "../../components/format";
import { archiveHasDatabase, type ConfigChoice, type Components, type StorageChoice } from "../steps";
import { sentenceCase } from "../../words";

export { MIRROR_WORD } from "../steps";

/** Whether the archive holds storage / configuration members (its manifest's counts). */
export function archiveComponents(m: Manifest | null | undefined): { storage: boolean; config: boolean } {
  const counts = m?.counts ?? {};
  return { storage: "storage" in counts || Boolean(m?.storage), config: "config" in counts };
}

/** A setting as the request names it: `file:setting`, or the file. */
export const settingKey = (d: { file: string; setting: string }) => (d.setting ? `${d.file}:${d.setting}` : d.file);
const show = (v: unknown) => (v === null || v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v));

/** The storage choice a ticked box starts with: every bucket into the project's own storage. */
export function defaultStorage(project: string): StorageChoice {
  return { project, toFolder: false, folder: "", allBuckets: true, buckets: "", mirror: false, overwrite: false };
}

type Props = {
  manifest: Manifest | null | undefined;
  /** The project the wizard was opened from. */
  project: string;
  /** The other saved projects (storage can go into theirs). */
  projects: string[];
  components: Components;
  onDatabase: (on: boolean) => void;
  onStorage: (choice: StorageChoice | null) => void;
  onConfig: (choice: ConfigChoice | null) => void;
};

export function ComponentsRestore({ manifest, project, projects, components, onDatabase, onStorage, onConfig }: Props) {
  const has = archiveComponents(manifest);
  const hasDatabase = archiveHasDatabase(manifest);
  const id = useId();
  if (!has.storage && !has.config) return null;
  const storage = components.storage;
  const set = (patch: Partial<StorageChoice>) => storage && onStorage({ ...storage, ...patch });

  return (
    <section className="panel" aria-label="What to restore" data-testid="wizard-components">
      <h3>What to restore</h3>
      <p className="small muted">
        This backup also holds {[has.storage && "storage", has.config && "configuration"].filter(Boolean).join(" and ")}.
        What you tick is restored with the database in one job: the review shows the plan of each before anything
        changes.
      </p>
      <fieldset className="checks">
        <label>
          <input
            type="checkbox"
            checked={components.database}
            disabled={!hasDatabase}
            onChange={(e) => onDatabase(e.target.checked)}
            data-testid="wizard-components-database"
          />{" "}
          Database{hasDatabase ? " (its target is chosen next)" : " (not in this backup)"}
        </label>
        {has.storage && (
          <label>
            <input
              type="checkbox"
              checked={storage !== null}
              onChange={(e) => onStorage(e.target.checked ? defaultStorage(project) : null)}
              data-testid="wizard-components-storage"
            />{" "}
            Storage
          </label>
        )}
        {has.config && (
          <label>
            <input
              type="checkbox"
              checked={components.config !== null}
              onChange={(e) => onConfig(e.target.checked ? { project, settings: [] } : null)}
              data-testid="wizard-components-config"
            />{" "}
            Configuration (the review compares it with the project’s; you choose the settings written back there)
          </label>
        )}
      </fieldset>
      {components.config && (
        <label className="field" data-testid="wizard-config-choice">
          Configuration written back to{" "}
          <select
            value={components.config.project}
            onChange={(e) => onConfig({ project: e.target.value, settings: [] })}
            data-testid="wizard-config-project"
          >
            {[project, ...projects.filter((p) => p !== project)].map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
      )}

      {storage && (
        <div className="form" data-testid="wizard-storage">
          <fieldset className="segmented">
            <legend>Buckets</legend>
            <label>
              <input type="radio" name={`${id}-b`} checked={storage.allBuckets} onChange={() => set({ allBuckets: true })} />
              All
            </label>
            <label>
              <input
                type="radio"
                name={`${id}-b`}
                checked={!storage.allBuckets}
                onChange={() => set({ allBuckets: false })}
                data-testid="wizard-storage-some"
              />
              Only these
            </label>
          </fieldset>
          {!storage.allBuckets && (
            <input
              aria-label="Buckets, comma separated"
              value={storage.buckets}
              onChange={(e) => set({ buckets: e.target.value })}
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
                checked={!storage.toFolder}
                onChange={() => set({ toFolder: false })}
                data-testid="wizard-storage-to-project"
              />
              A project’s storage
            </label>
            <label>
              <input
                type="radio"
                name={`${id}-to`}
                checked={storage.toFolder}
                onChange={() => set({ toFolder: true })}
                data-testid="wizard-storage-to-folder"
              />
              A folder
            </label>
          </fieldset>
          {!storage.toFolder && (
            <select
              aria-label="Project"
              value={storage.project}
              onChange={(e) => set({ project: e.target.value })}
              data-testid="wizard-storage-project"
            >
              {[project, ...projects.filter((p) => p !== project)].map((p) => (
                <option key={p} value={p}>
                  {p}’s storage
                </option>
              ))}
            </select>
          )}
          {storage.toFolder && (
            <input
              aria-label="Folder"
              value={storage.folder}
              onChange={(e) => set({ folder: e.target.value })}
              placeholder="/path/to/folder"
              data-testid="wizard-storage-folder"
            />
          )}
          <label className="check">
            <input
              type="checkbox"
              checked={storage.overwrite}
              onChange={(e) => set({ overwrite: e.target.checked })}
              data-testid="wizard-storage-overwrite"
            />{" "}
            Replace files whose content differs (folders)
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={storage.mirror}
              onChange={(e) => set({ mirror: e.target.checked })}
              data-testid="wizard-storage-mirror"
            />{" "}
            Mirror: delete objects the backup does not have (the review asks you to type “mirror”)
          </label>
        </div>
      )}
    </section>
  );
}

export function StoragePlanView({ plan }: { plan: StoragePlan }) {
  return (
    <div data-testid="wizard-storage-planned">
      <p className="small" data-testid="wizard-storage-summary">
        {countOf(plan.upload, "object")} to write ({formatBytes(plan.upload_bytes)}),{" "}
        <span className={plan.overwrite_count > 0 ? "destroys" : undefined} data-testid="wizard-storage-overwrites">
          {plan.overwrite_count.toLocaleString("en-US")} overwritten
        </span>
        ,{" "}
        {plan.identical.toLocaleString("en-US")} identical skipped
        {plan.mirror && (
          <>
            ,{" "}
            <span className={plan.delete > 0 ? "destroys" : undefined} data-testid="wizard-storage-deletes">
              {plan.delete.toLocaleString("en-US")} deleted ({formatBytes(plan.delete_bytes)})
            </span>
          </>
        )}
        <StorageTargetInline target={plan.target} />
      </p>
      <StorageTargetFolder target={plan.target} testId="wizard-storage-target" />
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
                {b.create ? " (to be created)" : ""}
              </td>
              <td className="num">{b.objects.toLocaleString("en-US")}</td>
              <td className="num">
                {b.upload.toLocaleString("en-US")} ({formatBytes(b.upload_bytes)})
              </td>
              <td className="num">{b.overwrite.toLocaleString("en-US")}</td>
              <td className="num">{b.identical.toLocaleString("en-US")}</td>
              <td className={`num${plan.mirror && b.delete > 0 ? " destroys" : ""}`}>
                {plan.mirror ? b.delete.toLocaleString("en-US") : "—"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {plan.warnings.map((w) => (
        <p key={w} className="notice notice-warn small">
          {sentenceCase(w)}
        </p>
      ))}
    </div>
  );
}

export function ConfigDiffTable({
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
          const k = settingKey(d);
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

/** The folder of a storage restore's target ("folder <path>", as the plan names it), or null. */
export function storageTargetFolder(target: string): string | null {
  return target.startsWith("folder ") ? target.slice("folder ".length) : null;
}

/** The end of the summary sentence: " — into the object store." (a folder gets a line of its own). */
export function StorageTargetInline({ target }: { target: string }) {
  return <>{storageTargetFolder(target) === null ? ` — into ${target === "object store" ? "the object store" : target}.` : "."}</>;
}

/** A folder target on its own line, shortened in the middle with Copy (issue 44, storage-04). */
export function StorageTargetFolder({ target, testId }: { target: string; testId: string }) {
  const folder = storageTargetFolder(target);
  if (folder === null) return null;
  return (
    <div className="small" data-testid={testId}>
      Into the folder
      <Copyable value={folder} kind="path" testId={`${testId}-path`} />
    </div>
  );
}
