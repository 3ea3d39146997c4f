// The adapter between the catalog's change stream and the store: the only module that knows where
// "something in the catalog changed" comes from.
//
// The engine records every change to a project, a backup or a job, whoever made it (this window,
// the CLI in another process, a scheduler, the agent), and the app emits them in batches as the
// event `catalog-changed` (`{ changes: Change[] }`), within about a second.
//
// TODO(catalogChanged): `events.catalogChanged` is not in bindings.ts yet. Until it is, the stand-in
// below derives changes from this window's own `job-finished` events (fed from the store's one
// job-event subscription, so it adds no listener): it sees what this window's jobs changed, not
// what the CLI or a scheduler did, and says so with `complete: false` (the store then also reloads
// what a screen shows when the screen opens, as every screen did before). When the binding exists:
// listen to `events.catalogChanged` here, take `Change` from bindings.ts, and set `complete: true`.
import type { JobFinished } from "../bindings";

/** One change to the catalog. `id`: the entity's id; `project_id`: the project it belongs to. */
export type Change = {
  seq: number;
  entity: "project" | "backup" | "job";
  id: string;
  project_id: string | null;
  op: "upsert" | "delete";
};

/** The store's job-finished fan-out (its one subscription to `job-finished`). */
export type JobFinishedSource = (cb: (f: JobFinished) => void) => () => void;

/** One event's worth: the changes, oldest first; `reloadAll` when changes were missed. */
export type ChangeBatch = { changes: Change[]; reloadAll: boolean };

export type ChangeSource = {
  /** Whether every catalog change reaches the window through this source. */
  complete: boolean;
  /** Calls `onBatch` with each batch until the returned function is called. */
  listen: (onBatch: (batch: ChangeBatch) => void, jobFinished: JobFinishedSource) => Promise<() => void>;
};

/**
 * What a finished job of this window changed in the catalog, as far as its payload tells: the job
 * itself, the backup a backup or import wrote, the project an import created, the backup a
 * verification updated. `project_id` is null where the payload does not name the project (the
 * store then finds it from what it holds).
 */
export function changesOfJob(f: JobFinished): Change[] {
  const r = f.result;
  const projectId = r?.kind === "backup" || r?.kind === "import" ? r.backup.project_id : null;
  const out: Change[] = [{ seq: 0, entity: "job", id: f.job_id, project_id: projectId, op: "upsert" }];
  if (r?.kind === "backup") {
    out.push({ seq: 0, entity: "backup", id: r.backup.id, project_id: r.backup.project_id, op: "upsert" });
  } else if (r?.kind === "import") {
    if (r.created_project) {
      out.push({ seq: 0, entity: "project", id: r.backup.project_id, project_id: r.backup.project_id, op: "upsert" });
    }
    out.push({ seq: 0, entity: "backup", id: r.backup.id, project_id: r.backup.project_id, op: "upsert" });
  } else if (r?.kind === "verify" && r.backup_id) {
    out.push({ seq: 0, entity: "backup", id: r.backup_id, project_id: null, op: "upsert" });
  }
  return out;
}

/** The app's change source. TODO(catalogChanged): switch to `events.catalogChanged`. */
export const catalogChanges: ChangeSource = {
  complete: false,
  listen: async (onBatch, jobFinished) => jobFinished((f) => onBatch({ changes: changesOfJob(f), reloadAll: false })),
};

/** A change this window made itself (after a command succeeded), applied at once. */
export function localChange(entity: Change["entity"], id: string, projectId: string | null, op: Change["op"] = "upsert"): Change {
  return { seq: 0, entity, id, project_id: projectId, op };
}
