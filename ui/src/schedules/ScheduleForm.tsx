// The fields of the schedule editor (when, and for verify schedules how many backups, and whether
// it is on or paused). Shaping input only: the engine checks every value when the schedule is
// saved. One save model on the Schedules tab (issue 44): every field here, the On switch included,
// is saved by the editor's Save; nothing saves on change.
import type { ScheduleKind } from "../bindings";
import { DAY_NAMES, DAYS, type ScheduleForm as Form, type WhenKind } from "./spec";

const WHEN_LABEL: Record<WhenKind, string> = {
  every: "Every N hours",
  daily: "Daily",
  weekly: "Weekly",
  monthly: "Monthly",
  cron: "Custom (five cron fields)",
};

const pad = (n: number) => String(n).padStart(2, "0");
const HOURS = Array.from({ length: 24 }, (_, i) => pad(i));
const MINUTES = Array.from({ length: 60 }, (_, i) => pad(i));

/** A time of day as an hour and a minute chosen from lists: only real times can be picked
 * ("25:00" cannot). `value` is "HH:MM"; anything else shows as not chosen yet. */
export function TimePicker({ value, onChange, labelledBy, testId }: { value: string; onChange: (time: string) => void; labelledBy: string; testId: string }) {
  const m = /^(\d{1,2}):(\d{2})$/.exec(value.trim());
  const hour = m && Number(m[1]) < 24 ? pad(Number(m[1])) : "";
  const minute = m && Number(m[2]) < 60 ? m[2]! : "";
  return (
    <span className="time-picker" role="group" aria-labelledby={labelledBy} data-testid={testId} data-value={hour && minute ? `${hour}:${minute}` : ""}>
      <select aria-label="Hour" value={hour} onChange={(e) => onChange(`${e.target.value}:${minute || "00"}`)} data-testid={`${testId}-hour`}>
        {hour === "" && <option value="">--</option>}
        {HOURS.map((h) => (
          <option key={h} value={h}>
            {h}
          </option>
        ))}
      </select>
      <span aria-hidden="true">:</span>
      <select aria-label="Minute" value={minute} onChange={(e) => onChange(`${hour || "00"}:${e.target.value}`)} data-testid={`${testId}-minute`}>
        {minute === "" && <option value="">--</option>}
        {MINUTES.map((x) => (
          <option key={x} value={x}>
            {x}
          </option>
        ))}
      </select>
    </span>
  );
}

export function ScheduleForm({
  what,
  form,
  onEdit,
  tenants = [],
  idPrefix = "schedule",
}: {
  what: ScheduleKind;
  form: Form;
  onEdit: (change: Partial<Form>) => void;
  /** The project's tenant roots (a backup schedule may split each backup by one). */
  tenants?: string[];
  /** The fields' test ids and label id start with it (two editors on one page stay apart). */
  idPrefix?: string;
}) {
  return (
    <>
      <div className="field-grid">
        <label className="field">
          <span>When</span>
          <select value={form.kind} onChange={(e) => onEdit({ kind: e.target.value as WhenKind })} data-testid={`${idPrefix}-kind`}>
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
            <input type="number" min={1} max={24} value={form.hours} onChange={(e) => onEdit({ hours: e.target.value })} data-testid={`${idPrefix}-hours`} />
          </label>
        )}
        {form.kind === "monthly" && (
          <label className="field">
            <span>Day of the month</span>
            <input type="number" min={1} max={31} value={form.day} onChange={(e) => onEdit({ day: e.target.value })} data-testid={`${idPrefix}-day`} />
          </label>
        )}
        {(form.kind === "daily" || form.kind === "weekly" || form.kind === "monthly") && (
          <div className="field">
            <span id={`${idPrefix}-time-label`}>Time (this computer’s time)</span>
            <TimePicker value={form.time} onChange={(time) => onEdit({ time })} labelledBy={`${idPrefix}-time-label`} testId={`${idPrefix}-time`} />
          </div>
        )}
        {form.kind === "cron" && (
          <label className="field">
            <span>Cron (minute hour day-of-month month day-of-week)</span>
            <input type="text" className="mono" value={form.cron} onChange={(e) => onEdit({ cron: e.target.value })} data-testid={`${idPrefix}-cron`} />
          </label>
        )}
        {what === "backup" && (tenants.length > 0 || form.tenant !== "") && (
          <label className="field">
            <span>Then one archive per tenant of</span>
            <select value={form.tenant} onChange={(e) => onEdit({ tenant: e.target.value })} data-testid={`${idPrefix}-tenant`}>
              <option value="">No tenant split</option>
              {[...new Set([...tenants, ...(form.tenant ? [form.tenant] : [])])].map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
        )}
        {what === "verify" && (
          <label className="field">
            <span>Verify the newest (empty: all)</span>
            <input type="number" min={1} value={form.newest} onChange={(e) => onEdit({ newest: e.target.value })} data-testid={`${idPrefix}-newest`} />
          </label>
        )}
      </div>
      {form.kind === "weekly" && (
        <fieldset className="checks" data-testid={`${idPrefix}-days`}>
          <legend>Days</legend>
          {DAYS.map((d) => (
            <label key={d} className="choice">
              <input
                type="checkbox"
                checked={form.days.includes(d)}
                onChange={(e) => onEdit({ days: e.target.checked ? [...form.days, d] : form.days.filter((x) => x !== d) })}
                data-testid={`${idPrefix}-day-${d}`}
              />
              {DAY_NAMES[d].slice(0, 3)}
            </label>
          ))}
        </fieldset>
      )}
      <label className="choice" data-testid={`${idPrefix}-on-field`}>
        <input type="checkbox" role="switch" checked={!form.paused} onChange={(e) => onEdit({ paused: !e.target.checked })} data-testid={`${idPrefix}-on`} />
        On: runs at these times
        <span className="muted small"> (switched off, it is paused: kept, but nothing runs; saved with the schedule)</span>
      </label>
    </>
  );
}
