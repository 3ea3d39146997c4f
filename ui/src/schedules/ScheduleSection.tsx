// A project's schedules: the backup and the verify schedule as saved (state, when in words, next
// run in this computer's time, zone), and an editor with a live preview of the next 5 runs (from
// the engine, which also says what is wrong with a value).
import { useEffect, useState } from "react";
import { commands, type ErrorPayload, type ScheduleKind, type SchedulePreview, type ScheduleView } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatTime } from "../components/format";
import { keys, useSchedules, useStore } from "../store";
import { DAY_NAMES, DAYS, DEFAULT_FORM, describeSpec, formOf, type ScheduleForm, whenOf, type WhenKind } from "./spec";
import { call } from "../ipc/call";

const KIND_LABEL: Record<ScheduleKind, string> = { backup: "Backup", verify: "Verify", drill: "Restore drill" };

const WHEN_LABEL: Record<WhenKind, string> = {
  every: "Every N hours",
  daily: "Daily",
  weekly: "Weekly",
  monthly: "Monthly",
  cron: "Cron expression",
};

type Preview = { status: "idle" } | { status: "ok"; preview: SchedulePreview } | { status: "error"; error: ErrorPayload };

/** The saved schedule of one kind, in one line. */
function SavedSchedule({ kind, view }: { kind: ScheduleKind; view: ScheduleView | undefined }) {
  const state = !view ? "none" : view.paused ? "paused" : "on";
  return (
    <div className="schedule-line" style={{ margin: "4px 0" }} data-testid={`schedule-${kind}`} data-state={state}>
      <strong>{KIND_LABEL[kind]}</strong>{" "}
      {!view ? (
        <span className="muted" data-testid={`schedule-${kind}-none`}>
          No schedule
        </span>
      ) : (
        <>
          <span className={`badge ${view.paused ? "badge-stale" : "badge-ok"}`} data-testid={`schedule-${kind}-state`}>
            {view.paused ? "Paused" : "On"}
          </span>{" "}
          <span data-testid={`schedule-${kind}-spec`} title={view.spec}>
            {describeSpec(view.when)}
          </span>
          {kind === "verify" && (
            <span className="muted small">
              {" "}
              · {view.verify_newest === null ? "every backup" : `newest ${view.verify_newest}`}
            </span>
          )}
          <span className="small">
            {" "}
            · next run{" "}
            <span data-testid={`schedule-${kind}-next`}>
              {view.paused ? "— (paused)" : formatTime(view.next_runs[0] ?? null)}
            </span>
          </span>
          <span className="muted small" data-testid={`schedule-${kind}-zone`}>
            {" "}
            · times in {view.time_zone}
          </span>
        </>
      )}
    </div>
  );
}

type Props = {
  project: string;
  /** How long typing pauses before the preview is asked for (ms). */
  previewDelayMs?: number;
};

export function ScheduleSection({ project, previewDelayMs = 300 }: Props) {
  const schedules = useSchedules(project);
  const store = useStore();
  const [what, setWhat] = useState<ScheduleKind>("backup");
  const [form, setForm] = useState<ScheduleForm>(DEFAULT_FORM);
  const [touched, setTouched] = useState(false);
  const [preview, setPreview] = useState<Preview>({ status: "idle" });
  const [saveError, setSaveError] = useState<ErrorPayload | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  /** After a schedule is saved: offer to start Offsite at login, when it does not yet. */
  const [offerAutostart, setOfferAutostart] = useState<"no" | "offer" | "on" | "failed">("no");
  const [busy, setBusy] = useState(false);

  const list = schedules.status === "ready" ? schedules.data : [];
  const current = list.find((s) => s.kind === what);

  // The editor starts from the saved schedule of the chosen kind (until the user edits).
  useEffect(() => {
    if (touched) return;
    setForm(current ? formOf(current.when, current.paused, current.verify_newest) : DEFAULT_FORM);
  }, [current?.spec, current?.paused, current?.verify_newest, touched]); // eslint-disable-line react-hooks/exhaustive-deps

  const when = whenOf(form);
  const whenKey = JSON.stringify(when);
  useEffect(() => {
    let stale = false;
    const t = setTimeout(() => {
      void call(commands.previewSchedule(when, null)).then((r) => {
        if (stale) return;
        setPreview(r.ok ? { status: "ok", preview: r.data } : { status: "error", error: r.error });
      });
    }, previewDelayMs);
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [whenKey, previewDelayMs]); // eslint-disable-line react-hooks/exhaustive-deps

  const edit = (change: Partial<ScheduleForm>) => {
    setTouched(true);
    setSaved(null);
    setForm((f) => ({ ...f, ...change }));
  };

  const refresh = () => {
    store.reload(keys.schedules(project));
    store.reload(keys.status());
  };

  const save = async () => {
    setBusy(true);
    setSaveError(null);
    setSaved(null);
    const newest = form.newest.trim() === "" ? null : Number.parseInt(form.newest, 10);
    const r = await call(
      commands.setSchedule(project, what, when, form.paused, what === "verify" ? (Number.isFinite(newest) ? newest : 0) : null, null),
    );
    setBusy(false);
    if (!r.ok) {
      setSaveError(r.error);
      return;
    }
    setTouched(false);
    setSaved(`${KIND_LABEL[what]} schedule saved: ${describeSpec(r.data.when)}.`);
    refresh();
    // Schedules run while Offsite runs: offer to start it at login (once it is on, never again).
    void call(commands.getAutostart()).then((a) => {
      if (a.ok && !a.data && !r.data.paused) setOfferAutostart("offer");
    });
  };

  const startAtLogin = async () => {
    const a = await call(commands.setAutostart(true));
    setOfferAutostart(a.ok && a.data ? "on" : "failed");
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
    <section className="panel" aria-label="Schedule" data-testid="schedule-section">
      <h2 className="panel-title">Schedule</h2>
      {schedules.status === "loading" && (
        <p className="muted small" data-testid="schedules-loading">
          Loading schedules…
        </p>
      )}
      {schedules.status === "error" && (
        <ErrorNotice error={schedules.error} testId="schedules-error" onRetry={() => store.reload(keys.schedules(project))} />
      )}
      {schedules.status === "ready" && (
        <>
          <SavedSchedule kind="backup" view={list.find((s) => s.kind === "backup")} />
          <SavedSchedule kind="verify" view={list.find((s) => s.kind === "verify")} />
        </>
      )}

      <div className="form" data-testid="schedule-editor">
        <div className="field-grid">
          <label className="field">
            <span>What</span>
            <select
              value={what}
              onChange={(e) => {
                setWhat(e.target.value as ScheduleKind);
                setTouched(false);
                setSaved(null);
                setSaveError(null);
              }}
              data-testid="schedule-what"
            >
              <option value="backup">Back up the project</option>
              <option value="verify">Verify its backups</option>
            </select>
          </label>
          <label className="field">
            <span>When</span>
            <select value={form.kind} onChange={(e) => edit({ kind: e.target.value as WhenKind })} data-testid="schedule-kind">
              {(Object.keys(WHEN_LABEL) as WhenKind[]).map((k) => (
                <option key={k} value={k}>
                  {WHEN_LABEL[k]}
                </option>
              ))}
            </select>
          </label>
          {form.kind === "every" && (
            <label className="field">
              <span>Hours between runs</span>
              <input
                type="number"
                min={1}
                max={24}
                value={form.hours}
                onChange={(e) => edit({ hours: e.target.value })}
                data-testid="schedule-hours"
              />
            </label>
          )}
          {form.kind === "monthly" && (
            <label className="field">
              <span>Day of the month</span>
              <input
                type="number"
                min={1}
                max={31}
                value={form.day}
                onChange={(e) => edit({ day: e.target.value })}
                data-testid="schedule-day"
              />
            </label>
          )}
          {(form.kind === "daily" || form.kind === "weekly" || form.kind === "monthly") && (
            <label className="field">
              <span>Time (24-hour clock)</span>
              <input
                type="text"
                inputMode="numeric"
                placeholder="HH:MM"
                value={form.time}
                onChange={(e) => edit({ time: e.target.value })}
                data-testid="schedule-time"
              />
            </label>
          )}
          {form.kind === "cron" && (
            <label className="field">
              <span>Cron (minute hour day-of-month month day-of-week)</span>
              <input
                type="text"
                className="mono"
                value={form.cron}
                onChange={(e) => edit({ cron: e.target.value })}
                data-testid="schedule-cron"
              />
            </label>
          )}
          {what === "verify" && (
            <label className="field">
              <span>Verify the newest (empty: all)</span>
              <input
                type="number"
                min={1}
                value={form.newest}
                onChange={(e) => edit({ newest: e.target.value })}
                data-testid="schedule-newest"
              />
            </label>
          )}
        </div>
        {form.kind === "weekly" && (
          <fieldset className="checks" data-testid="schedule-days">
            <legend>Days</legend>
            {DAYS.map((d) => (
              <label key={d} className="choice">
                <input
                  type="checkbox"
                  checked={form.days.includes(d)}
                  onChange={(e) =>
                    edit({ days: e.target.checked ? [...form.days, d] : form.days.filter((x) => x !== d) })
                  }
                  data-testid={`schedule-day-${d}`}
                />
                {DAY_NAMES[d].slice(0, 3)}
              </label>
            ))}
          </fieldset>
        )}
        <label className="choice">
          <input
            type="checkbox"
            checked={!form.paused}
            onChange={(e) => edit({ paused: !e.target.checked })}
            data-testid="schedule-on"
          />
          On (unchecked: saved paused)
        </label>

        <div data-testid="schedule-preview" data-status={preview.status}>
          {preview.status === "ok" && (
            <>
              <p className="small muted" data-testid="schedule-preview-zone">
                Next 5 runs of “{describeSpec(preview.preview.when)}”, in this computer’s time (schedule zone{" "}
                {preview.preview.time_zone}):
              </p>
              <ol className="small" data-testid="schedule-preview-runs">
                {preview.preview.next_runs.map((r) => (
                  <li key={r} data-testid="schedule-preview-run" title={r}>
                    {formatTime(r)}
                  </li>
                ))}
              </ol>
            </>
          )}
          {preview.status === "error" && <ErrorNotice error={preview.error} testId="schedule-preview-error" />}
        </div>

        {saveError && <ErrorNotice error={saveError} testId="schedule-save-error" />}
        {offerAutostart === "offer" && (
          <div className="notice notice-neutral small" data-testid="schedule-autostart-offer">
            Schedules run while Offsite runs (the window may be closed: it stays in the tray). Start Offsite when you
            log in, so they run after a restart too?{" "}
            <button type="button" className="btn btn-small" onClick={() => void startAtLogin()} data-testid="schedule-autostart-on">
              Start at login
            </button>{" "}
            <button type="button" className="btn btn-quiet btn-small" onClick={() => setOfferAutostart("no")}>
              Not now
            </button>
          </div>
        )}
        {offerAutostart === "on" && (
          <p className="notice notice-ok small" role="status" data-testid="schedule-autostart-done">
            Offsite will start at login, minimised to the tray.
          </p>
        )}
        {offerAutostart === "failed" && (
          <p className="notice notice-warn small" data-testid="schedule-autostart-failed">
            Starting at login could not be turned on here; add Offsite to your desktop's startup applications.
          </p>
        )}
        {saved && (
          <p className="notice notice-ok small" role="status" data-testid="schedule-saved">
            {saved}
          </p>
        )}
        <div className="form-actions">
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => void save()}
            disabled={busy}
            data-testid="schedule-save"
          >
            Save {what} schedule
          </button>
          <button
            type="button"
            className="btn"
            onClick={() => void clear()}
            disabled={busy || !current}
            data-testid="schedule-clear"
          >
            Clear
          </button>
        </div>
      </div>
    </section>
  );
}
