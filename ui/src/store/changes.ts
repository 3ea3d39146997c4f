// The adapter between the catalog's change stream and the store: the only module that knows where
// "something in the catalog changed" comes from.
//
// The engine records every change to a project, a backup or a job, whoever made it (this window,
// the CLI in another process, a scheduler, the agent); the app reads that feed and emits it in
// batches as `events.catalogChanged` (`catalog-changed`: `{ changes, reload_all }`), within about
// half a second. That stream is complete: the store trusts what it holds and refreshes exactly
// what each batch names.
//
// This window's own jobs are also applied the moment their `job-finished` arrives (from the
// store's one job-event subscription, not a listener of this module's own), so the list shows a
// backup as soon as the job panel says it is written, as before the feed existed; the feed names
// the same rows again a moment later, which fetches them once more.
import { type Change, events, type JobFinished } from "../bindings";

export type { Change };

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

/** The app's change source: the catalog's feed, and this window's finished jobs at once. */
export const catalogChanges: ChangeSource = {
  complete: true,
  listen: async (onBatch, jobFinished) => {
    const stopJobs = jobFinished((f) => onBatch({ changes: changesOfJob(f), reloadAll: false }));
    let stopFeed: () => void = () => {};
    try {
      stopFeed = await events.catalogChanged.listen((e) =>
        onBatch({ changes: e.payload.changes, reloadAll: e.payload.reload_all }),
      );
    } catch {
      // No event system (outside Tauri): this window's own jobs still refresh what they changed.
    }
    return () => {
      stopFeed();
      stopJobs();
    };
  },
};

/** A change this window made itself (after a command succeeded), applied at once. */
export function localChange(entity: Change["entity"], id: string, projectId: string | null, op: Change["op"] = "upsert"): Change {
  return { seq: 0, entity, id, project_id: projectId, op };
}
