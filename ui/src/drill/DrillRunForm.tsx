// "Run a drill now": which backup (the newest, or one from the list), or — where the project has
// restorable windows — the project as it was at a point in time (the engine makes that state from
// the base and the captured changes, then drills it). Where it restores (a throwaway cluster
// Offsite starts itself, or a scratch server) is the drill settings' one choice, named here in a
// line; scheduled drills use the same.
import { useState } from "react";
import type { Window } from "../bindings";
import { databaseLabel } from "../components/names";
import { AT_TIME, AtTimeField, newestRestorable } from "../components/AtTimeField";
import { localFieldToUtc, toLocalField } from "../wizard/pitr/time";

export type DrillTargetChoice = { kind: "throwaway" } | { kind: "server"; url: string };

export type DrillRunRequest = {
  /** null: the newest good backup (or the state at `at`). */
  backup: string | null;
  target: DrillTargetChoice;
  /** A point in time (RFC 3339, UTC) to drill instead of a backup; absent: a backup. */
  at?: string;
};

export { AT_TIME };

export type BackupChoice = { id: string; created_at: string; label: string };

type Props = {
  backups: readonly BackupChoice[];
  /** The target the settings name (a scratch server URL, or the throwaway cluster). */
  defaultTarget: DrillTargetChoice;
  running: boolean;
  onRun: (request: DrillRunRequest) => void;
  /** The project's restorable windows (none: no point in time is offered). */
  windows?: readonly Window[];
  /** Start on "A point in time" at this moment (RFC 3339 UTC; the point-in-time band's Drill…). */
  initialAt?: string;
};

/** Whether a scratch server URL is one the engine could take (it checks the rest). */
export function scratchUrlProblem(url: string): string | null {
  const t = url.trim();
  if (t === "") return "Enter the scratch server's URL (postgres://user@host:5432/postgres).";
  if (!/^postgres(ql)?:\/\//i.test(t)) return "A scratch server URL starts with postgres:// or postgresql://.";
  return null;
}

/** Why "Run drill now" waits, said beside it (issue 64 item 6); null: it can run. */
export function drillRunWhy(running: boolean, atTime: boolean, at: string | null): string | null {
  if (running) return "A drill of this project is running now.";
  if (atTime && !at) return "Enter a date and time to drill.";
  return null;
}

export function DrillRunForm({ backups, defaultTarget, running, onRun, windows = [], initialAt }: Props) {
  const [backup, setBackup] = useState<string>(initialAt ? AT_TIME : "");
  const [atField, setAtField] = useState(() => (initialAt ? toLocalField(Date.parse(initialAt)) : ""));
  const atTime = backup === AT_TIME;
  const at = atTime ? localFieldToUtc(atField) : null;
  const choose = (value: string) => {
    setBackup(value);
    // The field starts at the newest restorable second.
    if (value === AT_TIME && atField === "") setAtField(newestRestorable(windows));
  };
  // One choice of where drills restore, the drill settings' (issue 44: the page asked "This drill
  // restores into" and "Scheduled drills restore into" with the same two radios).
  const target = defaultTarget;
  const why = drillRunWhy(running, atTime, at);
  return (
    <form
      className="form drill-run"
      data-testid="drill-run-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (atTime) {
          if (at) onRun({ backup: null, target, at });
          return;
        }
        onRun({ backup: backup === "" ? null : backup, target });
      }}
    >
      <div className="field-grid">
        <label className="field">
          <span>Backup</span>
          <select value={backup} onChange={(e) => choose(e.target.value)} data-testid="drill-backup">
            <option value="">Newest good backup</option>
            {backups.map((b) => (
              <option key={b.id} value={b.id}>
                {b.label}
              </option>
            ))}
            {(windows.length > 0 || atTime) && <option value={AT_TIME}>A point in time…</option>}
          </select>
        </label>
        {atTime && (
          <AtTimeField
            className="field"
            label="At (this computer's time)"
            value={atField}
            onChange={setAtField}
            windows={windows}
            testId="drill-at"
          />
        )}
      </div>
      <p className="small" data-testid="drill-run-target" data-kind={target.kind}>
        Restores into{" "}
        {target.kind === "server" ? `the scratch server ${databaseLabel(target.url)}` : "a throwaway server on this computer"}
        , as the drill settings below say; scheduled drills use the same.
      </p>
      <div className="form-actions">
        {why !== null && (
          <span className="muted small" data-testid="drill-run-why">
            {why}
          </span>
        )}
        <button type="submit" className="btn btn-primary" disabled={why !== null} data-testid="drill-run">
          {running ? "Drill running…" : "Run drill now"}
        </button>
      </div>
    </form>
  );
}
