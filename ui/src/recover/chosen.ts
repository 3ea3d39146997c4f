// Rows ticked one by one (Browse, Diff) for "Recover these rows…": each row is named by the key
// the engine gave it (Browse: the page's `row_keys`; Diff: a changed row's `key`). The engine
// decides which columns name a row; this only keeps the ticks and hands them back as its shape.
import type { RowKeys } from "../bindings";

/** The ticked rows of one table: the key's columns, and each row's values by their JSON. */
export type Chosen = { columns: string[]; rows: Map<string, string[]> };

export const noneChosen = (): Chosen => ({ columns: [], rows: new Map() });

const id = (values: string[]) => JSON.stringify(values);

/** Whether the row with these key values is ticked. */
export function isChosen(c: Chosen, values: string[] | null): boolean {
  return values !== null && c.rows.has(id(values));
}

/**
 * Ticks (or unticks) rows named by `columns`. A key of other columns than those already ticked
 * (another table, or the same table read from another backup) starts the choice again.
 */
export function tick(c: Chosen, columns: string[], rows: string[][], on: boolean): Chosen {
  const same = c.columns.length === columns.length && c.columns.every((x, i) => x === columns[i]);
  const next = new Map(same ? c.rows : []);
  for (const values of rows) {
    if (values.length !== columns.length) continue;
    if (on) next.set(id(values), values);
    else next.delete(id(values));
  }
  return { columns, rows: next };
}

/** The ticked rows as the engine's recovery takes them (null: none). */
export function rowKeys(c: Chosen): RowKeys | null {
  if (c.rows.size === 0) return null;
  return { columns: c.columns, values: [...c.rows.values()] };
}

/** "id 4, 5 and 6", "(org_id, user_id) (1, 2)": the ticked rows in a few words (at most `max` shown). */
export function chosenWords(k: RowKeys, max = 5): string {
  const one = (v: string[]) => (v.length === 1 ? (v[0] ?? "") : `(${v.join(", ")})`);
  const name = k.columns.length === 1 ? (k.columns[0] ?? "") : `(${k.columns.join(", ")})`;
  const shown = k.values.slice(0, max).map(one);
  const rest = k.values.length - shown.length;
  if (rest > 0) return `${name} ${shown.join(", ")} and ${rest} more`;
  if (shown.length === 1) return `${name} ${shown[0]}`;
  return `${name} ${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]}`;
}
