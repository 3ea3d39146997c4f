// A project's schedules: one row per schedule (backup, verify, restore drill) saying whether it is
// on or paused, and one editor for the schedule being edited. One save model (issue 44): every
// control of an editor, its On switch included, is saved by that editor's Save; nothing on the tab
// saves on change (buttons such as Clear, Remove… and Apply now… act when pressed). Every run shown is one the engine computed
// for what is SAVED (`ScheduleView.next_runs`), in this computer's time with the zone named: an
// edit that is not saved yet changes nothing there and says so.
import { useEffect, useState } from "react";
import { AutostartOffer } from "./AutostartOffer";
import { commands, type ErrorPayload, type ScheduleKind, type ScheduleView } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { dayAndTime } from "../project/tabs/time";
import { keys, useSchedules, useStore } from "../store";
import { call } from "../ipc/call";
import { gapWords, shortestGapMinutes } from "./cadence";
import { FrequentWarning, KIND_LABEL, ScheduleRow } from "./ScheduleRow";
import { ScheduleForm } from "./ScheduleForm";
import { NamedSchedules } from "./NamedSchedules";
import { DEFAULT_FORM, defaultForm, describeSpec, formOf, type ScheduleForm as Form, whenOf } from "./spec";

const KINDS: readonly ScheduleKind[] = ["backup", "verify", "drill"];

type Props = { project: string };

export function ScheduleSection({ project }: Props) {
  const schedules = useSchedules(project);
  const store = useStore();
  const [what, setWhat] = useState<ScheduleKind>("backup");
  const [form, setForm] = useState<Form>(DEFAULT_FORM);
  const [touched, setTouched] = useState(false);
  const [saveError, setSaveError] = useState<ErrorPayload | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  // The tray question is asked when a schedule is saved, not on every visit (issue 64).
  const [justSaved, setJustSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  // This section edits the schedule named "default" of each kind; a project's other (named)
  // backup schedules are listed, added, edited and removed below its editor.
  const all = schedules.status === "ready" ? schedules.data : [];
  const list = all.filter((s) => s.name === "default");
  const named = all.filter((s) => s.name !== "default");
  // The project's tenant roots, which a backup schedule may split each backup by.
  const [tenants, setTenants] = useState<string[]>([]);
  useEffect(() => {
    let stale = false;
    void call(commands.listTenants(project)).then((r) => {
      if (!stale && r.ok) setTenants(r.data.map((t) => t.name));
    });
    return () => {
      stale = true;
    };
  }, [project]);
  const current = list.find((s) => s.kind === what);

  // The editor starts from the saved schedule of the chosen kind (until the user edits).
  useEffect(() => {
    if (touched) return;
    setForm(current ? formOf(current.when, current.paused, current.verify_newest, current.tenant) : defaultForm(what));
  }, [what, current?.spec, current?.paused, current?.verify_newest, current?.tenant, touched]); // eslint-disable-line react-hooks/exhaustive-deps

  const edit = (change: Partial<Form>) => {
    setTouched(true);
    setSaved(null);
    setForm((f) => ({ ...f, ...change }));
  };

  const refresh = () => {
    store.reload(keys.schedules(project));
    store.reload(keys.status());
    // The checklist above ("Scheduled") reads the engine's health: now, not at the next poll.
    store.reload(keys.health());
  };

  const write = async (kind: ScheduleKind, f: Form, paused: boolean): Promise<ScheduleView | null> => {
    setBusy(true);
    setSaveError(null);
    setSaved(null);
    const newest = f.newest.trim() === "" ? null : Number.parseInt(f.newest, 10);
    const r = await call(
      commands.setSchedule(
        project,
        kind,
        whenOf(f),
        paused,
        kind === "verify" ? (Number.isFinite(newest) ? newest : 0) : null,
        null,
        kind === "backup" ? f.tenant : null,
      ),
    );
    setBusy(false);
    if (!r.ok) {
      setSaveError(r.error);
      return null;
    }
    refresh();
    return r.data;
  };

  const save = async () => {
    // On or paused as the editor's switch says (a new schedule starts on).
    const view = await write(what, form, form.paused);
    if (!view) return;
    setTouched(false);
    // As a named schedule's notice says it: when, and the next run (the engine's).
    setSaved(savedWords(KIND_LABEL[what], view));
    if (!view.paused) setJustSaved(true);
  };

  const clear = async () => {
    setBusy(true);
    setSaveError(null);
    setSaved(null);
    const r = await call(commands.clearSchedule(project, what));
    setBusy(false);
    if (!r.ok) {
      setSaveError(r.error);
      return;
    }
    setTouched(false);
    setSaved(r.data ? `${KIND_LABEL[what]} schedule removed.` : `There was no ${what} schedule.`);
    refresh();
  };

  return (
    <section className="panel" aria-label="Schedules" data-testid="schedule-section">
      <h2 className="panel-title">Schedules</h2>
      {schedules.status === "loading" && (
        <p className="muted small" data-testid="schedules-loading">
          Loading schedules…
        </p>
      )}
      {schedules.status === "error" && (
        <ErrorNotice error={schedules.error} testId="schedules-error" onRetry={() => store.reload(keys.schedules(project))} />
      )}
      {schedules.status === "ready" &&
        KINDS.map((k) => {
          const view = list.find((s) => s.kind === k);
          return (
            <ScheduleRow
              key={k}
              kind={k}
              view={view}
              editing={k === what}
              onEdit={() => {
                setWhat(k);
                setTouched(false);
                setSaved(null);
                setSaveError(null);
              }}
            />
          );
        })}

      <div className="form" data-testid="schedule-editor" data-kind={what}>
        <h3 className="panel-title" data-testid="schedule-editor-title">
          {current ? "Edit" : "Set up"} the {KIND_LABEL[what].toLowerCase()} schedule
        </h3>
        <ScheduleForm what={what} form={form} onEdit={edit} tenants={tenants} />
        {/* Under the fields it is about, and scrolled to: below the preview it was off screen
            (schedule-01). */}
        {saveError && <ErrorNotice error={saveError} testId="schedule-save-error" reveal />}
        <SavedPreview view={current} touched={touched} />
        {/* Schedules run while Offsite runs: when one is saved on while Offsite does not start at
            login, the question is asked, once (issue 64: not a notice on every visit and above every
            project; the project's ✓ Scheduled keeps a short note). */}
        <AutostartOffer active={justSaved && all.some((v) => !v.paused)} testId="schedule-autostart" />
        {saved && (
          <p className="notice notice-ok small" role="status" data-testid="schedule-saved">
            {saved}
          </p>
        )}
        <div className="form-actions">
          <button type="button" className="btn btn-primary" onClick={() => void save()} disabled={busy} data-testid="schedule-save">
            Save {what} schedule
          </button>
          <button type="button" className="btn" onClick={() => void clear()} disabled={busy || !current} data-testid="schedule-clear">
            Clear
          </button>
        </div>
      </div>

      {/* Below the editor of the rows above: its own list, editor and questions. */}
      <NamedSchedules project={project} list={named} tenants={tenants} />
    </section>
  );
}

/** What a saved schedule's notice says: when, and the next run (the engine's), or that it is paused. */
export function savedWords(label: string, view: ScheduleView): string {
  const when = describeSpec(view.when, view.words);
  if (view.paused) return `${label} schedule saved, paused: ${when}; nothing runs until it is on again.`;
  return `${label} schedule saved: ${when}${view.next_runs[0] ? `, next ${dayAndTime(view.next_runs[0])}` : ""}.`;
}

/** The next runs of the SAVED schedule (from the engine); an unsaved edit only adds a note. */
function SavedPreview({ view, touched }: { view: ScheduleView | undefined; touched: boolean }) {
  const gap = view ? gapWords(shortestGapMinutes(view.next_runs)) : null;
  return (
    <div data-testid="schedule-preview" data-status={view ? "saved" : "none"}>
      {touched && (
        <p className="notice notice-neutral small" data-testid="schedule-preview-unsaved">
          Not saved yet: {view ? "the runs below are those of the saved schedule." : "save to see its next runs."}
        </p>
      )}
      {!view && !touched && (
        <p className="muted small" data-testid="schedule-preview-none">
          Not saved yet: no runs until this schedule is saved.
        </p>
      )}
      {view && (
        <>
          <p className="small muted" data-testid="schedule-preview-zone">
            {/* No quotes around the spec: a cron spec quotes its expression itself (schedule-05 showed
                nested quotes around a cron expression). */}
            {view.paused ? "Paused. When switched on, the" : "The"} next {view.next_runs.length} runs of the saved schedule (
            <span data-testid="schedule-preview-spec">{describeSpec(view.when, view.words)}</span>
            {/* How often, only where the spec does not say it itself (a cron expression): "Every day
                at 03:15, every day" said it twice (third review, schedule-02). */}
            {gap && view.when.kind === "cron" && !view.words ? `, ${gap}` : ""}), in this computer’s time:
          </p>
          <ol className="small sched-runs" data-testid="schedule-preview-runs">
            {view.next_runs.map((r) => (
              <li key={r} data-testid="schedule-preview-run" title={r}>
                {dayAndTime(r)}
              </li>
            ))}
          </ol>
          <FrequentWarning runs={view.next_runs} testId="schedule-preview-frequent" />
        </>
      )}
    </div>
  );
}
