// A project's named backup schedules beside the default one (issue 47: an hourly database backup
// to the laptop, a monthly full one to a cold destination): each with its time, type, where its
// copies go and whose retention prunes its backups, as the engine says; each edited (its On switch
// is in the editor, saved with its Save: one save model on the tab, issue 44), or removed after a
// question that says what becomes of its backups (they stay;
// from then on the project's retention policy prunes them, as `ops::schedule_plans::remove`
// leaves them). "Add a backup schedule" opens the same editor empty.
import { useEffect, useState } from "react";
import { commands, type ErrorPayload, type ScheduleView } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { RemoveConfirm } from "../components/RemoveConfirm";
import { call } from "../ipc/call";
import { dayAndTime } from "../project/tabs/time";
import { keys, useRetention, useStore } from "../store";
import { NamedScheduleEditor, scheduleErrorWords, TYPE_WORDS } from "./NamedScheduleEditor";
import { policyWords } from "./RetentionSection";
import { describeSpec } from "./spec";

type Props = {
  project: string;
  list: ScheduleView[];
  /** The project's tenant roots (a tenant schedule splits each backup by one). */
  tenants?: string[];
};

/** What the removal question says becomes of the schedule's backups. */
export function removalWords(v: ScheduleView, projectPolicy: string | null): string {
  const policy = projectPolicy === null ? "the project’s retention policy" : `the project’s retention policy (${projectPolicy})`;
  const kept =
    projectPolicy === "keep everything"
      ? "it keeps everything, so they stay until you remove them"
      : "when retention next runs: after the next scheduled backup, or when you press Apply now under Retention";
  const copies = v.destinations ? ` Their copies stay where they are, and later syncs still send them only to ${v.destinations.join(", ")}.` : "";
  return `Remove the schedule ${v.name}? It stops running. The backups it made are not deleted: from now on ${policy} decides which of them to keep, with the project’s other backups — ${kept}.${copies}`;
}

export function NamedSchedules({ project, list, tenants = [] }: Props) {
  const store = useStore();
  const retention = useRetention(project);
  const [editing, setEditing] = useState<string | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [destinations, setDestinations] = useState<string[]>([]);
  useEffect(() => {
    let stale = false;
    void call(commands.listDestinations(project)).then((r) => {
      if (!stale && r.ok) setDestinations(r.data.map((d) => d.name));
    });
    return () => {
      stale = true;
    };
  }, [project]);

  const refresh = () => {
    store.reload(keys.schedules(project));
    store.reload(keys.status());
    store.reload(keys.health());
  };
  const projectPolicy = retention.status === "ready" && retention.data?.policy ? policyWords(retention.data.policy) : null;

  const remove = async (name: string) => {
    setBusy(true);
    setError(null);
    const r = await call(commands.removeNamedSchedule(project, name));
    setBusy(false);
    setRemoving(null);
    if (!r.ok) return setError(r.error);
    setNotice(r.data ? `Schedule ${name} removed; its backups stay.` : `There was no schedule ${name}.`);
    if (editing === name) setEditing(null);
    refresh();
  };

  return (
    <div className="named-schedules" data-testid="named-schedules">
      <h3 className="panel-title">More backup schedules</h3>
      {list.length === 0 && (
        <p className="muted small" data-testid="named-schedules-none">
          Only the backup schedule above. Add another to back up on its own time, type, destinations and retention — an hourly
          database backup kept on this computer, a monthly full backup to a cold destination.
        </p>
      )}
      <ul className="small">
        {list.map((v) => (
          <li key={v.name} data-testid="named-schedule" data-name={v.name} data-state={v.paused ? "paused" : "on"}>
            <strong>{v.name}</strong>: {describeSpec(v.when, v.words)} · {v.backup_type ? TYPE_WORDS[v.backup_type].toLowerCase() : "the project's type"}
            {v.tenant ? ` of ${v.tenant}` : ""} · copies to{" "}
            <span data-testid="named-schedule-destinations">{v.destinations ? v.destinations.join(", ") : "every destination"}</span> ·
            retention{" "}
            <span data-testid="named-schedule-retention">
              {v.retention_from === "schedule" && v.retention ? `its own (${policyWords(v.retention)})` : `the project's (${projectPolicy ?? v.retention_rules})`}
            </span>
            {v.selection ? " · its own selection" : ""}
            {v.paused ? " · paused" : v.next_runs[0] ? ` · next ${dayAndTime(v.next_runs[0])}` : ""}{" "}
            <span className={`sched-state${v.paused ? " muted" : ""}`} data-testid="named-schedule-state">
              {v.paused ? "Paused" : "On"}
            </span>{" "}
            <button
              type="button"
              className="btn btn-small"
              aria-pressed={editing === v.name}
              onClick={() => {
                setEditing(v.name);
                setNotice(null);
              }}
              data-testid="named-schedule-edit"
            >
              Edit
            </button>{" "}
            <button
              type="button"
              className="btn btn-small btn-danger"
              disabled={busy}
              onClick={() => {
                setRemoving(v.name);
                setNotice(null);
              }}
              data-testid="named-schedule-remove"
            >
              Remove…
            </button>
            {removing === v.name && (
              <RemoveConfirm testId="named-schedule-remove" onRemove={() => void remove(v.name)} onKeep={() => setRemoving(null)}>
                {removalWords(v, projectPolicy)}
              </RemoveConfirm>
            )}
          </li>
        ))}
      </ul>
      {error && <ErrorNotice error={error} testId="named-schedules-error" words={scheduleErrorWords(error)} />}
      {notice && (
        <p className="notice notice-ok small" role="status" data-testid="named-schedules-notice">
          {notice}
        </p>
      )}
      {editing === null ? (
        <div className="form-actions">
          <button
            type="button"
            className="btn"
            onClick={() => {
              setEditing("");
              setNotice(null);
            }}
            data-testid="named-schedule-add"
          >
            Add a backup schedule
          </button>
        </div>
      ) : (
        <NamedScheduleEditor
          key={editing}
          project={project}
          saved={list.find((v) => v.name === editing)}
          destinations={destinations}
          tenants={tenants}
          onSaved={(v) => {
            setEditing(null);
            setNotice(
              v.paused
                ? `Schedule ${v.name} saved, paused: ${describeSpec(v.when, v.words)}; nothing runs until it is on again.`
                : `Schedule ${v.name} saved: ${describeSpec(v.when, v.words)}${v.next_runs[0] ? `, next ${dayAndTime(v.next_runs[0])}` : ""}.`,
            );
            refresh();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
    </div>
  );
}
