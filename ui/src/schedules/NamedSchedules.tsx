// A project's named backup schedules beside the default one (issue 47: an hourly database backup
// to the laptop, a monthly full one to a cold destination): each with its time, type, where its
// copies go and whose retention prunes its backups, as the engine says. Added, changed and
// removed with `offsite schedule add|set|remove` (the app does not edit them yet).
import type { ScheduleView } from "../bindings";
import { describeSpec } from "./spec";
import { dayAndTime } from "../project/tabs/time";

export function NamedSchedules({ list }: { list: ScheduleView[] }) {
  if (list.length === 0) return null;
  return (
    <div data-testid="named-schedules">
      <h3 className="panel-title">More backup schedules</h3>
      <ul className="small">
        {list.map((v) => (
          <li key={v.name} data-testid="named-schedule" data-name={v.name}>
            <strong>{v.name}</strong>: {describeSpec(v.when)} · {v.backup_type ?? "the project's type"} · copies to{" "}
            <span data-testid="named-schedule-destinations">{v.destinations ? v.destinations.join(", ") : "every destination"}</span> ·
            retention{" "}
            <span data-testid="named-schedule-retention">
              {v.retention_from === "schedule" ? `its own (${v.retention_rules})` : `the project's (${v.retention_rules})`}
            </span>
            {v.paused ? " · paused" : v.next_runs[0] ? ` · next ${dayAndTime(v.next_runs[0])}` : ""}
          </li>
        ))}
      </ul>
      <p className="muted small">
        Add, change or remove these with <code>offsite schedule add|set|remove</code>.
      </p>
    </div>
  );
}
