// What a project's database backups hold (issue 47 item 1, selective backups): everything (the
// default), or chosen schemas and tables, with tables kept without their rows (log tables). One
// Save sends the lists; the engine checks each name (`public.logs`, `"My Schema".t`) and its
// refusal is shown here. The pg_dump flags are behind Details.
import { useCallback, useEffect, useId, useState } from "react";
import { type BackupSelection, commands, type ErrorPayload } from "../bindings";
import { Details } from "../components/Details";
import { ErrorNotice } from "../components/ErrorNotice";
import { call, type Call } from "../ipc/call";

export type SelectionList = keyof Required<BackupSelection>;

export const SELECTION_LISTS: [SelectionList, string, string][] = [
  ["exclude_table_data", "Keep the table but not its rows", "--exclude-table-data"],
  ["schemas", "Only these schemas", "-n"],
  ["exclude_schemas", "Leave out these schemas", "-N"],
  ["tables", "Only these tables", "-t"],
  ["exclude_tables", "Leave out these tables", "-T"],
];

export type SelectionApi = {
  get: () => Promise<Call<BackupSelection>>;
  /** Absent: the selection is shown, not changed, here. */
  set?: (selection: BackupSelection) => Promise<Call<BackupSelection>>;
};

/** The project's selection (what a database backup holds), read and saved through the engine. */
export function selectionApi(project: string): SelectionApi {
  return {
    get: async () => call(commands.backupSelection(project)),
    set: async (selection) => call(commands.setBackupSelection(project, selection)),
  };
}

type Lists = Record<SelectionList, string>;
const NO_LISTS: Lists = { schemas: "", exclude_schemas: "", tables: "", exclude_tables: "", exclude_table_data: "" };

export function namesOf(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

/** The selection the lists make (a list left empty is left out: the empty selection is everything). */
export function selectionOf(lists: Lists): BackupSelection {
  const s: BackupSelection = {};
  for (const [k] of SELECTION_LISTS) {
    const names = namesOf(lists[k]);
    if (names.length > 0) s[k] = names;
  }
  return s;
}

const listsOf = (s: BackupSelection): Lists => {
  const l = { ...NO_LISTS };
  for (const [k] of SELECTION_LISTS) l[k] = (s[k] ?? []).join("\n");
  return l;
};

export const isEverything = (s: BackupSelection) => SELECTION_LISTS.every(([k]) => (s[k] ?? []).length === 0);

/** The saved selection in a sentence. */
export function selectionWords(s: BackupSelection): string {
  if (isEverything(s)) return "Everything: every schema and table with its rows.";
  const parts = SELECTION_LISTS.flatMap(([k, label]) => ((s[k] ?? []).length > 0 ? [`${label.toLowerCase()}: ${(s[k] ?? []).join(", ")}`] : []));
  return `Only what was chosen — ${parts.join("; ")}.`;
}

export function BackupSelectionSection({ api }: { api: SelectionApi }) {
  const id = useId();
  const [saved, setSaved] = useState<BackupSelection | null>(null);
  const [loadError, setLoadError] = useState<ErrorPayload | null>(null);
  const [chosen, setChosen] = useState(false);
  const [lists, setLists] = useState<Lists>(NO_LISTS);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const show = (s: BackupSelection) => {
    setSaved(s);
    setChosen(!isEverything(s));
    setLists(listsOf(s));
  };
  const reload = useCallback(() => {
    setLoadError(null);
    void api.get().then((r) => (r.ok ? show(r.data) : setLoadError(r.error)));
  }, [api]);
  useEffect(reload, [reload]);

  if (loadError) return <ErrorNotice error={loadError} testId="selection-load-error" onRetry={reload} />;
  if (saved === null) return <p className="muted small">Loading…</p>;

  const set = api.set;
  if (!set) {
    return (
      <div className="form" data-testid="selection-section" data-everything={isEverything(saved)}>
        <p className="small" data-testid="selection-saved">
          {selectionWords(saved)}
        </p>
        {!isEverything(saved) && (
          <p className="small muted">Restores and drills of these backups hold only what was chosen; each backup names what it left out.</p>
        )}
      </div>
    );
  }
  const save = async () => {
    setBusy(true);
    setError(null);
    setNotice(null);
    const r = await set(chosen ? selectionOf(lists) : {});
    setBusy(false);
    if (!r.ok) return setError(r.error);
    show(r.data);
    setNotice("Saved. The next database backup holds this.");
  };
  const edit = (patch: Partial<Lists>) => {
    setNotice(null);
    setLists((l) => ({ ...l, ...patch }));
  };
  return (
    <div className="form" data-testid="selection-section" data-everything={isEverything(saved)}>
      <p className="small" data-testid="selection-saved">
        {selectionWords(saved)}
      </p>
      <fieldset className="checks">
        <legend className="small">What a database backup holds</legend>
        <label className="choice">
          <input type="radio" name={`${id}-sel`} checked={!chosen} onChange={() => setChosen(false)} data-testid="selection-everything" />
          Everything (default)
        </label>
        <label className="choice">
          <input type="radio" name={`${id}-sel`} checked={chosen} onChange={() => setChosen(true)} data-testid="selection-chosen" />
          Only what I choose
        </label>
      </fieldset>
      {chosen && (
        <>
          <p className="field-help">One name a line, as schema.table for a table (public.logs). Log tables: keep the table but not its rows.</p>
          <div className="field-grid">
            {SELECTION_LISTS.map(([k, label]) => (
              <div key={k} className="field">
                <label htmlFor={`${id}-${k}`}>{label}</label>
                <textarea
                  id={`${id}-${k}`}
                  className="mono"
                  rows={2}
                  value={lists[k]}
                  placeholder={k === "schemas" || k === "exclude_schemas" ? "public" : "public.logs"}
                  onChange={(e) => edit({ [k]: e.target.value })}
                  data-testid={`selection-${k}`}
                />
              </div>
            ))}
          </div>
        </>
      )}
      <p className="small muted">
        Restores and drills of these backups hold only what was chosen; each backup names what it left out.
      </p>
      <Details testId="selection-details">
        <p className="mono">
          pg_dump {SELECTION_LISTS.map(([, label, flag]) => `${flag} (${label.toLowerCase()})`).join(", ")}
        </p>
      </Details>
      {error && <ErrorNotice error={error} testId="selection-error" />}
      {notice && (
        <p className="notice notice-ok small" role="status" data-testid="selection-notice">
          {notice}
        </p>
      )}
      <div className="form-actions">
        <button type="button" className="btn btn-primary btn-small" disabled={busy} onClick={() => void save()} data-testid="selection-save">
          Save
        </button>
      </div>
    </div>
  );
}
