// The editor of one named backup schedule (issue 47): its name, what its backups hold (type, and
// for a tenant schedule the tenant; its own selection of schemas and tables, or the project's),
// when it runs (the default schedule's fields), where its copies go (every destination, or chosen
// ones) and whose retention prunes its backups (the project's, or its own with the Retention
// section's presets and rules), and whether it is on or paused (the On switch: saved with the
// rest by Save, never on change). Shaping input only: the engine checks every value when saved,
// and its refusal is shown here in the app's words.
import { useState } from "react";
import { commands, type BackupSelection, type ErrorPayload, type ScheduleEdit, type ScheduleType, type ScheduleView } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { call } from "../ipc/call";
import type { NoticeWords } from "../ipc/errorDisplay";
import { type Fields, fieldsOf, policyOf, RECOMMENDED, RetentionFields, RetentionPresets } from "./RetentionRules";
import { ScheduleForm } from "./ScheduleForm";
import { localZone } from "./ScheduleRow";
import { DEFAULT_FORM, formOf, type ScheduleForm as WhenForm, whenOf } from "./spec";

export const TYPE_WORDS: Record<ScheduleType, string> = {
  database: "Database",
  full: "Full (database, storage and configuration)",
  storage: "Storage files",
  config: "Configuration",
  tenant: "Database, then one archive per tenant",
};

type SelectionList = keyof Required<BackupSelection>;

/** The zone names this system knows, for the zone field's suggestions (none where it cannot say). */
const ZONES: string[] = (() => {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  try {
    return intl.supportedValuesOf ? intl.supportedValuesOf("timeZone") : [];
  } catch {
    return [];
  }
})();

const SELECTION_LISTS: [SelectionList, string][] = [
  ["schemas", "Only these schemas"],
  ["exclude_schemas", "Leave out these schemas"],
  ["tables", "Only these tables (schema.table)"],
  ["exclude_tables", "Leave out these tables"],
  ["exclude_table_data", "Keep these tables without their rows"],
];

/** What the editor's fields hold. */
export type NamedForm = {
  name: string;
  /** "": the project's backup type. */
  type: ScheduleType | "";
  tenant: string;
  when: WhenForm;
  /** The IANA zone its times are kept in; "": this computer's (a new one), or as saved. */
  timeZone: string;
  destinations: "all" | "chosen";
  chosen: string[];
  retention: "project" | "own";
  rules: Fields;
  selection: "project" | "own";
  /** One name a line, per list. */
  lists: Record<SelectionList, string>;
};

const NO_LISTS: Record<SelectionList, string> = { schemas: "", exclude_schemas: "", tables: "", exclude_tables: "", exclude_table_data: "" };

export const NEW_FORM: NamedForm = {
  name: "",
  type: "",
  tenant: "",
  when: DEFAULT_FORM,
  timeZone: "",
  destinations: "all",
  chosen: [],
  retention: "project",
  rules: RECOMMENDED,
  selection: "project",
  lists: NO_LISTS,
};

/** The form for a saved schedule. */
export function namedFormOf(v: ScheduleView): NamedForm {
  const lists = { ...NO_LISTS };
  for (const [k] of SELECTION_LISTS) lists[k] = (v.selection?.[k] ?? []).join("\n");
  return {
    name: v.name,
    type: v.backup_type ?? "",
    tenant: v.tenant ?? "",
    when: formOf(v.when, v.paused, null),
    timeZone: v.time_zone,
    destinations: v.destinations ? "chosen" : "all",
    chosen: v.destinations ?? [],
    retention: v.retention ? "own" : "project",
    rules: v.retention ? fieldsOf(v.retention) : RECOMMENDED,
    selection: v.selection ? "own" : "project",
    lists,
  };
}

const holdsDatabase = (t: NamedForm["type"]) => t !== "storage" && t !== "config";
/** A tenant split follows a database backup: a tenant schedule, or a database (or the project's type) one. */
const takesTenant = (t: NamedForm["type"]) => t === "tenant" || t === "database" || t === "";

function linesOf(s: string): string[] {
  return s
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

/** The request the form makes (an empty zone: `null`, a new one gets this computer's, a saved one keeps its own; the engine checks the name). */
export function editOf(f: NamedForm): ScheduleEdit {
  const selection: BackupSelection = {};
  for (const [k] of SELECTION_LISTS) {
    const names = linesOf(f.lists[k]);
    if (names.length > 0) selection[k] = names;
  }
  return {
    name: f.name.trim(),
    when: whenOf(f.when),
    time_zone: f.timeZone.trim() === "" ? null : f.timeZone.trim(),
    backup_type: f.type === "" ? null : f.type,
    tenant: takesTenant(f.type) && f.tenant !== "" ? f.tenant : null,
    selection: f.selection === "own" && holdsDatabase(f.type) ? selection : null,
    destinations: f.destinations === "chosen" ? f.chosen : null,
    retention: f.retention === "own" ? policyOf(f.rules) : null,
  };
}

/** What is missing or wrong before the form is sent (null: nothing the app can tell). */
export function problemOf(f: NamedForm, isNew: boolean): string | null {
  if (isNew && !/^[a-z0-9][a-z0-9_-]{0,39}$/.test(f.name.trim())) {
    return "Name the schedule with 1 to 40 lower-case letters, digits, - and _ (hourly, monthly-cold).";
  }
  if (f.type === "tenant" && f.tenant === "") return "Choose the tenant whose archives follow each backup.";
  if (f.destinations === "chosen" && f.chosen.length === 0) return "Choose at least one destination, or send copies to every destination.";
  if (f.retention === "own" && Object.values(f.rules).every((v) => v.trim() === "")) {
    return "Its own retention needs at least one rule: choose the recommended one, set a rule, or use the project's policy.";
  }
  if (f.selection === "own" && holdsDatabase(f.type) && Object.values(f.lists).every((v) => linesOf(v).length === 0)) {
    return "Its own selection names no schema or table: name at least one, or back up what the project's selection says.";
  }
  return null;
}

/** The app's next step for an engine refusal (the engine's hints name command-line flags). */
export function scheduleErrorWords(e: ErrorPayload): NoticeWords | null {
  switch (e.code) {
    case "already_exists":
      return { title: "That name is taken", next: "Choose another name: each schedule of a project has its own." };
    case "not_found":
      return { title: "Not found", next: "What the message names is not there any more: reload the page and choose again." };
    case "invalid_input":
      return { title: "This schedule cannot be saved", next: "Change what the message names, then save again." };
    default:
      return null;
  }
}

type Props = {
  project: string;
  /** The saved schedule being changed (absent: a new one). */
  saved?: ScheduleView | undefined;
  /** The names of the project's destinations. */
  destinations: string[];
  tenants: string[];
  onSaved: (v: ScheduleView) => void;
  onCancel: () => void;
};

export function NamedScheduleEditor({ project, saved, destinations, tenants, onSaved, onCancel }: Props) {
  const [form, setForm] = useState<NamedForm>(() => (saved ? namedFormOf(saved) : NEW_FORM));
  const [problem, setProblem] = useState<string | null>(null);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  const edit = (change: Partial<NamedForm>) => {
    setProblem(null);
    setError(null);
    setForm((f) => ({ ...f, ...change }));
  };
  const save = async () => {
    const p = problemOf(form, !saved);
    setProblem(p);
    if (p) return;
    setBusy(true);
    setError(null);
    const req = editOf(form);
    const r = await call(saved ? commands.changeNamedSchedule(project, req) : commands.addNamedSchedule(project, req));
    if (!r.ok) {
      setBusy(false);
      return setError(r.error);
    }
    // The On switch, saved with the rest (the engine keeps it apart from the schedule's edit).
    const paused = form.when.paused;
    if (r.data.paused !== paused) {
      const p = await call(commands.pauseNamedSchedule(project, r.data.name, paused));
      if (!p.ok) {
        setBusy(false);
        return setError(p.error);
      }
    }
    setBusy(false);
    onSaved({ ...r.data, paused });
  };
  const id = `named-${saved?.name ?? "new"}`;
  return (
    <div className="form" data-testid="named-editor" data-name={saved?.name ?? ""}>
      <h3 className="panel-title">{saved ? `Edit the schedule ${saved.name}` : "Add a backup schedule"}</h3>
      <div className="field-grid">
        <label className="field">
          <span>Name</span>
          {saved ? (
            <strong data-testid="named-editor-name">{saved.name}</strong>
          ) : (
            <input type="text" value={form.name} placeholder="hourly" maxLength={40} onChange={(e) => edit({ name: e.target.value })} data-testid="named-editor-name" />
          )}
        </label>
        <label className="field">
          <span>Backs up</span>
          <select value={form.type} onChange={(e) => edit({ type: e.target.value as NamedForm["type"] })} data-testid="named-editor-type">
            <option value="">The project’s backup type</option>
            {(Object.keys(TYPE_WORDS) as ScheduleType[]).map((t) => (
              <option key={t} value={t}>
                {TYPE_WORDS[t]}
              </option>
            ))}
          </select>
        </label>
        {(form.type === "tenant" || (takesTenant(form.type) && form.tenant !== "")) && (
          <label className="field">
            <span>One archive per tenant of</span>
            <select value={form.tenant} onChange={(e) => edit({ tenant: e.target.value })} data-testid="named-editor-tenant">
              <option value="">{form.type === "tenant" ? "Choose a tenant" : "No tenant split"}</option>
              {[...new Set([...tenants, ...(form.tenant ? [form.tenant] : [])])].map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <ScheduleForm what="backup" form={form.when} onEdit={(c) => edit({ when: { ...form.when, ...c } })} idPrefix="named-editor" />
      <label className="field">
        <span>Its times are kept in the time zone</span>
        <input
          type="text"
          list={`${id}-zones`}
          value={form.timeZone}
          placeholder={`${localZone()} (this computer’s)`}
          onChange={(e) => edit({ timeZone: e.target.value })}
          data-testid="named-editor-zone"
        />
        <datalist id={`${id}-zones`}>
          {ZONES.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
      </label>
      <fieldset className="checks" data-testid="named-editor-destinations" data-choice={form.destinations}>
        <legend>Copies go to</legend>
        <label className="choice">
          <input type="radio" name={`${id}-dest`} checked={form.destinations === "all"} onChange={() => edit({ destinations: "all" })} data-testid="named-editor-dest-all" />
          Every destination of the project
        </label>
        <label className="choice">
          <input
            type="radio"
            name={`${id}-dest`}
            checked={form.destinations === "chosen"}
            disabled={destinations.length === 0 && form.chosen.length === 0}
            onChange={() => edit({ destinations: "chosen" })}
            data-testid="named-editor-dest-chosen"
          />
          Only these:
        </label>
        {form.destinations === "chosen" &&
          [...new Set([...destinations, ...form.chosen])].map((d) => (
            <label key={d} className="choice">
              <input
                type="checkbox"
                checked={form.chosen.includes(d)}
                onChange={(e) => edit({ chosen: e.target.checked ? [...form.chosen, d] : form.chosen.filter((x) => x !== d) })}
                data-testid={`named-editor-dest-${d}`}
              />
              {d}
            </label>
          ))}
      </fieldset>
      <fieldset className="checks" data-testid="named-editor-retention" data-choice={form.retention}>
        <legend>Which of its backups are kept</legend>
        <label className="choice">
          <input type="radio" name={`${id}-ret`} checked={form.retention === "project"} onChange={() => edit({ retention: "project" })} data-testid="named-editor-ret-project" />
          The project’s retention policy
        </label>
        <label className="choice">
          <input type="radio" name={`${id}-ret`} checked={form.retention === "own"} onChange={() => edit({ retention: "own" })} data-testid="named-editor-ret-own" />
          Its own rules (for this schedule’s backups only)
        </label>
      </fieldset>
      {form.retention === "own" && (
        <>
          <RetentionPresets fields={form.rules} group={`${id}-preset`} onSetAll={(rules) => edit({ rules })} testId="named-editor-presets" />
          <RetentionFields fields={form.rules} onEdit={(k, v) => edit({ rules: { ...form.rules, [k]: v } })} testPrefix="named-editor-keep" />
        </>
      )}
      {holdsDatabase(form.type) && (
        <fieldset className="checks" data-testid="named-editor-selection" data-choice={form.selection}>
          <legend>Of the database it backs up</legend>
          <label className="choice">
            <input type="radio" name={`${id}-sel`} checked={form.selection === "project"} onChange={() => edit({ selection: "project" })} data-testid="named-editor-sel-project" />
            What the project’s selection says
          </label>
          <label className="choice">
            <input type="radio" name={`${id}-sel`} checked={form.selection === "own"} onChange={() => edit({ selection: "own" })} data-testid="named-editor-sel-own" />
            Its own selection
          </label>
          {form.selection === "own" && (
            <div className="field-grid">
              {SELECTION_LISTS.map(([k, label]) => (
                <label key={k} className="field">
                  <span>{label} (one a line)</span>
                  <textarea
                    className="mono"
                    rows={2}
                    value={form.lists[k]}
                    onChange={(e) => edit({ lists: { ...form.lists, [k]: e.target.value } })}
                    data-testid={`named-editor-sel-${k}`}
                  />
                </label>
              ))}
            </div>
          )}
        </fieldset>
      )}
      {problem && (
        <p className="notice notice-warn small" role="alert" data-testid="named-editor-problem">
          {problem}
        </p>
      )}
      {error && <ErrorNotice error={error} testId="named-editor-error" words={scheduleErrorWords(error)} reveal />}
      <div className="form-actions">
        <button type="button" className="btn btn-primary" onClick={() => void save()} disabled={busy} data-testid="named-editor-save">
          {saved ? "Save changes" : "Add schedule"}
        </button>
        <button type="button" className="btn btn-quiet" onClick={onCancel} disabled={busy} data-testid="named-editor-cancel">
          Cancel
        </button>
      </div>
    </div>
  );
}
