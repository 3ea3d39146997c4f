// The fields of the schedule editor (when, and for verify schedules how many backups). Shaping
// input only: the engine checks every value when the schedule is saved.
import type { ScheduleKind } from "../bindings";
import { DAY_NAMES, DAYS, type ScheduleForm as Form, type WhenKind } from "./spec";

const WHEN_LABEL: Record<WhenKind, string> = {
  every: "Every N hours",
  daily: "Daily",
  weekly: "Weekly",
  monthly: "Monthly",
  cron: "Cron expression",
};

export function ScheduleForm({ what, form, onEdit }: { what: ScheduleKind; form: Form; onEdit: (change: Partial<Form>) => void }) {
  return (
    <>
      <div className="field-grid">
        <label className="field">
          <span>When</span>
          <select value={form.kind} onChange={(e) => onEdit({ kind: e.target.value as WhenKind })} data-testid="schedule-kind">
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
            <input type="number" min={1} max={24} value={form.hours} onChange={(e) => onEdit({ hours: e.target.value })} data-testid="schedule-hours" />
          </label>
        )}
        {form.kind === "monthly" && (
          <label className="field">
            <span>Day of the month</span>
            <input type="number" min={1} max={31} value={form.day} onChange={(e) => onEdit({ day: e.target.value })} data-testid="schedule-day" />
          </label>
        )}
        {(form.kind === "daily" || form.kind === "weekly" || form.kind === "monthly") && (
          <label className="field">
            <span>Time (24-hour clock, this computer’s time)</span>
            <input
              type="text"
              inputMode="numeric"
              placeholder="HH:MM"
              value={form.time}
              onChange={(e) => onEdit({ time: e.target.value })}
              data-testid="schedule-time"
            />
          </label>
        )}
        {form.kind === "cron" && (
          <label className="field">
            <span>Cron (minute hour day-of-month month day-of-week)</span>
            <input type="text" className="mono" value={form.cron} onChange={(e) => onEdit({ cron: e.target.value })} data-testid="schedule-cron" />
          </label>
        )}
        {what === "verify" && (
          <label className="field">
            <span>Verify the newest (empty: all)</span>
            <input type="number" min={1} value={form.newest} onChange={(e) => onEdit({ newest: e.target.value })} data-testid="schedule-newest" />
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
                onChange={(e) => onEdit({ days: e.target.checked ? [...form.days, d] : form.days.filter((x) => x !== d) })}
                data-testid={`schedule-day-${d}`}
              />
              {DAY_NAMES[d].slice(0, 3)}
            </label>
          ))}
        </fieldset>
      )}
    </>
  );
}
