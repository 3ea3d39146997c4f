// The rules of "Recover these rows…" that the wizard shows, kept out of its drawing so they can be
// tested alone: what the request says, what the plan destroys (said in red, like the restore
// review's banner), the typed word that enables the button. Counts are always the engine's plan.
import type { ColumnEquals, RecoverReport, RecoverRequest, RowKeys, TableRecovery, UndoReport } from "../bindings";
import { formatTime } from "../components/format";
import { plural } from "../words";
import { type DatabaseTarget, targetOf, targetReady, typedPassword } from "../wizard/databaseTarget";

/** The word typed to confirm a recovery. */
export const CONFIRM_WORD = "recover";

/** Where the rows go: a saved project, a database on a server (by its parts), or a pasted URL. */
export type Target = DatabaseTarget;
export { targetOf, targetReady, typedPassword };

export type RecoverForm = {
  target: Target;
  children: boolean;
  onConflict: "keep" | "update";
};

/** `"schema"."table"`: each part quoted (a bare part would be folded to lower case, a dot split). */
export function quotedTable(schema: string, name: string): string {
  const q = (x: string) => `"${x.replace(/"/g, '""')}"`;
  return `${q(schema)}.${q(name)}`;
}

/**
 * The request: rows by filters and, when rows were ticked one by one, by their keys too. Null
 * while the target is not filled in (a server without its database, a port that is no port).
 */
export function recoverRequest(archive: string, table: string, filters: ColumnEquals[], form: RecoverForm, keys?: RowKeys | null): RecoverRequest | null {
  const to = targetOf(form.target);
  if (to === null) return null;
  return {
    archive,
    rows: { table, filters, ...(keys ? { keys } : {}), children: form.children, on_conflict: form.onConflict, key_columns: [] },
    to,
    dry_run: false,
  };
}

export type Totals = { insert: number; update: number; unchanged: number; conflict: number; parentsPresent: number };

export function totals(tables: TableRecovery[]): Totals {
  const t: Totals = { insert: 0, update: 0, unchanged: 0, conflict: 0, parentsPresent: 0 };
  for (const x of tables) {
    t.insert += x.insert;
    t.update += x.update;
    t.unchanged += x.unchanged;
    t.conflict += x.conflict;
    t.parentsPresent += x.parents_present;
  }
  return t;
}

/** The red banner: what the recovery changes in the target that is already there (none: null). */
export function destructiveLines(plan: RecoverReport): string[] | null {
  const t = totals(plan.tables);
  const lines: string[] = [];
  if (t.update > 0)
    lines.push(`Overwrites ${plural(t.update, "row")} in ${plan.target} with the backup's values (an undo file keeps the old ones).`);
  const firing = plan.tables.filter((x) => x.triggers.length > 0 && x.insert + x.update > 0);
  if (firing.length > 0)
    lines.push(`Triggers of ${plural(firing.length, "table")} fire on the recovery's writes: ${firing.map((x) => `${x.schema}.${x.table}`).join(", ")}.`);
  return lines.length > 0 ? lines : null;
}

/** Whether the plan writes anything at all. */
export function writesAnything(plan: RecoverReport): boolean {
  const t = totals(plan.tables);
  return t.insert + t.update > 0;
}

/** The start button is enabled by the typed word, and only for a plan that writes something. */
export function canStart(plan: RecoverReport | null, typed: string): boolean {
  return !!plan && writesAnything(plan) && typed.trim().toLowerCase() === CONFIRM_WORD;
}

/** The start button's label names what it does: "Insert 12 rows, overwrite 1 in shop". */
export function startLabel(plan: RecoverReport): string {
  const t = totals(plan.tables);
  const parts = [];
  if (t.insert > 0) parts.push(`insert ${plural(t.insert, "row")}`);
  if (t.update > 0) parts.push(`overwrite ${t.update}`);
  if (parts.length === 0) return "Nothing to recover";
  const s = parts.join(", ");
  return `${s.charAt(0).toUpperCase()}${s.slice(1)} in ${plan.target}`;
}

/** The undo's summary: what was put back and what was left because it changed since. */
export function undoSummary(r: UndoReport): { deleted: number; restored: number; left: number } {
  let deleted = 0;
  let restored = 0;
  let left = 0;
  for (const t of r.tables) {
    deleted += t.deleted;
    restored += t.restored;
    left += t.changed_since;
  }
  return { deleted, restored, left };
}

/**
 * A recovery as a person names it: by when it ran, from its undo id (`rcv_YYYYMMDD_HHMMSS_xxxxxx`,
 * the engine's UTC clock) — "the recovery of 2026-11-26 09:39" in local time; an id of another
 * shape is named as it is (issue 44: undo ids were shown raw where a date would do).
 */
export function recoveryName(undoId: string): string {
  const m = /^rcv_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})_/.exec(undoId);
  if (!m) return `the recovery ${undoId}`;
  return `the recovery of ${formatTime(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`)}`;
}

/** One hop of a foreign-key chain as the engine writes it: `public.tasks(project_id) → public.projects(id)`. */
const HOP = /^(.+?)\((.*?)\)\s*→\s*(.+?)\((.*?)\)$/;

/**
 * Why a table is in the recovery, in a sentence (issue 44: the foreign-key chain was shown as
 * engine paths): the chosen table's rows, rows that refer to the table one step closer to the
 * chosen rows, or rows the table one step further refers to. The chain itself goes behind Details.
 */
export function roleSentence(t: Pick<TableRecovery, "role" | "path">): string {
  if (t.role === "chosen") return "The rows you chose.";
  const last = t.path.length > 0 ? HOP.exec(t.path[t.path.length - 1] ?? "") : null;
  if (t.role === "child") {
    return last ? `Rows that refer to the recovered rows of ${last[3]}.` : "Rows that refer to the recovered rows.";
  }
  return last ? `Rows that the recovered rows of ${last[1]} refer to.` : "Rows the recovered rows refer to.";
}
