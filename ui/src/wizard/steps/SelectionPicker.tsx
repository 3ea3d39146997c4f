// What of the backup to restore: everything, chosen schemas (whole, with all they hold) or chosen
// tables; definitions and rows, rows only, or definitions only; under their own names or in a new
// schema beside the originals. Every change asks for a new plan, which names what comes along and
// what would break.
import { useState } from "react";
import type { BackupTable, LeftOutKey, Selection, SelectWhat, SelectionPlan } from "../../bindings";
import { Details } from "../../components/Details";
import { SentenceDetails } from "../../components/SentenceDetails";
import { EVERYTHING, tableArg, type SelectionView } from "../steps";
import { plural } from "../../words";

function andList(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

/**
 * A foreign key the restore leaves out, in words: "public.orders will not check that its
 * customers exist, because public.customers is not restored." (the constraint goes behind Details).
 */
export function leftOutWords(k: LeftOutKey): string {
  const names = k.references.map((r) => r.slice(r.lastIndexOf(".") + 1));
  const verb = k.references.length === 1 ? "is" : "are";
  return `${k.table} will not check that its ${andList(names)} exist, because ${andList(k.references)} ${verb} not restored.`;
}

const SHOWN = 200;

/** The backup's schemas, with how many tables each holds, in name order. */
export function schemasOf(tables: BackupTable[]): { schema: string; tables: number }[] {
  const counts = new Map<string, number>();
  for (const t of tables) counts.set(t.schema, (counts.get(t.schema) ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([schema, n]) => ({ schema, tables: n }));
}

export function SelectionPicker({
  tables,
  selection,
  plan,
  view,
  onChange,
  onView,
}: {
  tables: BackupTable[];
  selection: Selection;
  plan: SelectionPlan | null;
  view: SelectionView;
  onChange: (s: Selection) => void;
  onView: (v: Partial<SelectionView>) => void;
}) {
  const chosen = new Set(selection.tables ?? []);
  const chosenSchemas = new Set(selection.schemas ?? []);
  const mode = view.mode;
  const open = mode !== "all";
  const filter = view.filter;
  const [side, setSide] = useState(selection.into_schema ?? "");
  const f = filter.trim().toLowerCase();
  const visible = tables.filter((t) => !f || `${t.schema}.${t.table}`.toLowerCase().includes(f));

  const toggle = (t: BackupTable, on: boolean) => {
    const arg = tableArg(t.schema, t.table);
    const next = new Set(chosen);
    if (on) next.add(arg);
    else next.delete(arg);
    onChange({ ...selection, tables: [...next] });
  };
  const toggleSchema = (schema: string, on: boolean) => {
    const next = new Set(chosenSchemas);
    if (on) next.add(schema);
    else next.delete(schema);
    onChange({ ...selection, schemas: [...next] });
  };
  // Schemas and tables are chosen one way at a time: switching drops the other choice.
  const choose = (m: SelectionView["mode"]) => {
    onView({ mode: m });
    if (m === "all") onChange(EVERYTHING);
    else if (m === "schemas" && chosen.size > 0) onChange({ ...selection, tables: [] });
    else if (m === "tables" && chosenSchemas.size > 0) onChange({ ...selection, schemas: [] });
  };

  return (
    <div className="notice notice-neutral" data-testid="wizard-selection">
      <p className="notice-title">What to restore</p>
      <div className="choice-row" role="radiogroup" aria-label="What to restore">
        <label>
          <input
            type="radio"
            name="wizard-what"
            checked={mode === "all"}
            onChange={() => choose("all")}
            data-testid="wizard-select-all"
          />{" "}
          Everything in the backup
        </label>
        <label>
          <input
            type="radio"
            name="wizard-what"
            checked={mode === "schemas"}
            onChange={() => choose("schemas")}
            data-testid="wizard-select-schemas"
          />{" "}
          Chosen schemas
        </label>
        <label>
          <input
            type="radio"
            name="wizard-what"
            checked={mode === "tables"}
            onChange={() => choose("tables")}
            data-testid="wizard-select-some"
          />{" "}
          Chosen tables
        </label>
      </div>
      {open && (
        <div className="wizard-select">
          {mode === "schemas" && (
            <ul className="mono small wizard-select-list" data-testid="wizard-select-schema-list">
              {schemasOf(tables).map(({ schema, tables: n }) => (
                <li key={schema}>
                  <label>
                    <input
                      type="checkbox"
                      checked={chosenSchemas.has(schema)}
                      onChange={(e) => toggleSchema(schema, e.target.checked)}
                      data-testid="wizard-select-schema"
                      data-schema={schema}
                    />{" "}
                    <bdi>{schema}</bdi> <span className="muted">({n === 1 ? "1 table" : `${n} tables`})</span>
                  </label>
                </li>
              ))}
            </ul>
          )}
          {mode === "tables" && (
            <>
              <input
                type="search"
                placeholder="Filter tables"
                value={filter}
                onChange={(e) => onView({ filter: e.target.value })}
                data-testid="wizard-select-filter"
              />
              <ul className="mono small wizard-select-list" data-testid="wizard-select-tables">
                {visible.slice(0, SHOWN).map((t) => {
                  const arg = tableArg(t.schema, t.table);
                  return (
                    <li key={arg}>
                      <label>
                        <input
                          type="checkbox"
                          checked={chosen.has(arg)}
                          onChange={(e) => toggle(t, e.target.checked)}
                          data-testid="wizard-select-table"
                          data-table={`${t.schema}.${t.table}`}
                        />{" "}
                        <bdi>
                          {t.schema}.{t.table}
                        </bdi>
                      </label>
                    </li>
                  );
                })}
                {visible.length > SHOWN && <li className="muted">… {visible.length - SHOWN} more: filter to find them</li>}
              </ul>
            </>
          )}
          <label>
            Restore{" "}
            <select
              value={selection.what ?? "both"}
              onChange={(e) => onChange({ ...selection, what: e.target.value as SelectWhat })}
              data-testid="wizard-select-what"
            >
              <option value="both">definitions and rows</option>
              <option value="data">rows only (into the existing tables)</option>
              <option value="schema">definitions only</option>
            </select>
          </label>
          <div className="field">
            <label htmlFor="wizard-select-side">Into a new schema beside the originals (optional)</label>
            <input
              id="wizard-select-side"
              value={side}
              placeholder="e.g. yesterday"
              onChange={(e) => setSide(e.target.value)}
              onBlur={() => onChange({ ...selection, into_schema: side.trim() || null })}
              onKeyDown={(e) => {
                if (e.key === "Enter") onChange({ ...selection, into_schema: side.trim() || null });
              }}
              data-testid="wizard-select-side"
            />
          </div>
          {plan && (
            <div className="small" data-testid="wizard-selection-plan">
              <p>
                Restoring {plural(plan.tables.length, "table")}
                {plan.into_schema ? ` into schema ${plan.into_schema}` : ""}
                {plan.dependencies.length > 0 && <>, with what they need: {plan.dependencies.join(", ")}</>}
              </p>
              {(plan.notes.length > 0 || (plan.left_out_keys ?? []).length > 0) && (
                <ul data-testid="wizard-selection-notes">
                  {(plan.left_out_keys ?? []).map((k) => (
                    <li key={`${k.table} ${k.constraint}`} data-testid="wizard-selection-left-out">
                      {leftOutWords(k)}
                      <Details testId="wizard-selection-left-out-detail">
                        <p>
                          Foreign key <code>{k.constraint}</code> of {k.table}, left out of the restore.
                        </p>
                      </Details>
                    </li>
                  ))}
                  {plan.notes.map((n) => (
                    <li key={n} data-testid="wizard-selection-note">
                      <SentenceDetails text={n} testId="wizard-selection-note-detail" />
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </div>
      )}
    </div>
  );
}
