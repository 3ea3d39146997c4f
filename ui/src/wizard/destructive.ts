// What a restore destroys, said where no one can miss it (issue 44): the review's red banner and
// the label of its button come from the one plan the engine made (its counts, its target, its
// safety backup), never from a count of the UI's own.
import type { DatabasePlan, RestorePlan, StoragePlan } from "../bindings";
import { databaseLabel } from "../components/names";
import { formatBytes } from "../components/format";
import { plural } from "../words";

/** "2 tables", "1 view or function", "2 tables and 3 other objects": what a replace replaces. */
export function replacedWords(plan: DatabasePlan): string {
  const total = plan.will_replace.length;
  const tables = Math.min(plan.will_replace_tables, total);
  const others = total - tables;
  if (others === 0) return plural(tables, "table");
  if (tables === 0) return plural(others, "object");
  return `${plural(tables, "table")} and ${plural(others, "other object")}`;
}

/** Whether the database part writes over anything the target already has. */
export function replacesDatabase(plan: DatabasePlan | null | undefined): plan is DatabasePlan {
  return !!plan && plan.replace && !plan.target_empty;
}

/** Whether the storage part deletes objects (a mirror that finds objects the backup lacks). */
export function deletesStorage(plan: StoragePlan | null | undefined): plan is StoragePlan {
  return !!plan && plan.mirror && plan.delete > 0;
}

/**
 * Objects the storage part writes over: the engine's count (an object store always replaces an
 * object whose content differs; a folder only with `overwrite` on, else it counts them as kept).
 */
function overwrites(plan: StoragePlan | null | undefined): number {
  return plan ? plan.overwrite_count : 0;
}

/** "overwrite 1 object and delete 1 object": what the storage part destroys (none: ""). */
export function storageDestroys(plan: StoragePlan | null | undefined): string {
  const parts: string[] = [];
  const over = overwrites(plan);
  if (over > 0) parts.push(`overwrite ${plural(over, "object")}`);
  if (deletesStorage(plan)) parts.push(`delete ${plural(plan.delete, "object")}`);
  return parts.join(" and ");
}

/** The database's sentence: "Replaces 2 tables in restore_src on 127.0.0.1. A safety backup is taken first." */
function databaseSentence(plan: DatabasePlan): string {
  const where = databaseLabel(plan.target);
  const what =
    plan.will_replace.length > 0
      ? `Replaces ${replacedWords(plan)} in ${where}.`
      : `Writes over ${plural(plan.existing.length, "object")} ${where} already has.`;
  const dropped =
    plan.will_drop.length > 0
      ? ` Also drops ${plural(plan.will_drop.length, "object")} that depend${plan.will_drop.length === 1 ? "s" : ""} on them.`
      : "";
  const safety = plan.safety_backup
    ? " A safety backup is taken first."
    : " No safety backup is taken: what is replaced cannot be brought back by Offsite.";
  return what + dropped + safety;
}

/** The storage's sentence: "Deletes 3 objects (1.2 MB) from object store that the backup does not have." */
function storageSentence(plan: StoragePlan): string {
  return `Deletes ${plural(plan.delete, "object")} (${formatBytes(plan.delete_bytes)}) from ${plan.target} that the backup does not have.`;
}

/** The review's red banner: every destructive part of the plan, one sentence each (none: null). */
export function destructiveWarning(plan: RestorePlan | null): string[] | null {
  if (!plan) return null;
  const lines: string[] = [];
  if (replacesDatabase(plan.database)) lines.push(databaseSentence(plan.database));
  const over = overwrites(plan.storage);
  if (over > 0 && plan.storage)
    lines.push(`Overwrites ${plural(over, "object")} in ${plan.storage.target} with the backup's version${over === 1 ? "" : "s"}.`);
  if (deletesStorage(plan.storage)) lines.push(storageSentence(plan.storage));
  return lines.length > 0 ? lines : null;
}

/**
 * The label of the review's button: it names what it destroys and where ("Replace 2 tables in
 * restore_src"), or just "Restore" when nothing is replaced or deleted.
 */
export function restoreButtonLabel(plan: RestorePlan | null): string {
  const db = plan?.database;
  // The storage part's overwrites and deletions are named too (storage-05 said "Replace 1 table"
  // for a restore that also overwrote one file and deleted another).
  const storage = storageDestroys(plan?.storage);
  if (replacesDatabase(db)) {
    const what = db.will_replace.length > 0 ? replacedWords(db) : plural(db.existing.length, "object");
    return `Replace ${what} in ${db.target_database}${storage ? `, ${storage} in storage` : ""}`;
  }
  if (storage) return `Restore and ${storage}`;
  return "Restore";
}
