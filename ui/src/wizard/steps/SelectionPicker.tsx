// What of the backup to restore: everything, or chosen tables (definitions and rows, rows only,
// or definitions only), under their own names or in a new schema beside the originals. Every
// change asks for a new plan, which names what comes along and what would break.
import { useState } from "react";
import type { BackupTable, Selection, SelectWhat, SelectionPlan } from "../../bindings";
import { EVERYTHING, tableArg } from "../steps";

const SHOWN = 200;

export function SelectionPicker({
  tables,
  selection,
  plan,
  onChange,
}: {
  tables: BackupTable[];
  selection: Selection;
  plan: SelectionPlan | null;
  onChange: (s: Selection) => void;
}) {
  const chosen = new Set(selection.tables ?? []);
  const some = chosen.size > 0 || (selection.schemas ?? []).length > 0;
  const [open, setOpen] = useState(some);
  const [filter, setFilter] = useState("");
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

  return (
    <div className="notice notice-neutral" data-testid="wizard-selection">
      <p className="notice-title">What to restore</p>
      <label>
        <input
          type="radio"
          name="wizard-what"
          checked={!open}
          onChange={() => {
            setOpen(false);
            onChange(EVERYTHING);
          }}
          data-testid="wizard-select-all"
        />{" "}
        Everything in the backup
      </label>{" "}
      <label>
        <input
          type="radio"
          name="wizard-what"
          checked={open}
          onChange={() => setOpen(true)}
          data-testid="wizard-select-some"
        />{" "}
        Chosen tables
      </label>
      {open && (
        <div className="wizard-select">
          <input
            type="search"
            placeholder="Filter tables"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
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
                Restoring {plan.tables.length} table(s)
                {plan.into_schema ? ` into schema ${plan.into_schema}` : ""}
                {plan.dependencies.length > 0 && <>, with what they need: {plan.dependencies.join(", ")}</>}
              </p>
              {plan.notes.length > 0 && (
                <ul data-testid="wizard-selection-notes">
                  {plan.notes.map((n) => (
                    <li key={n}>{n}</li>
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
