// "Run a drill now": which backup (the newest, or one from the list). Where it restores (a
// throwaway cluster Offsite starts itself, or a scratch server) is the drill settings' one choice,
// named here in a line; scheduled drills use the same.
import { useState } from "react";
import { databaseLabel } from "../components/names";

export type DrillTargetChoice = { kind: "throwaway" } | { kind: "server"; url: string };

export type DrillRunRequest = {
  /** null: the newest good backup. */
  backup: string | null;
  target: DrillTargetChoice;
};

export type BackupChoice = { id: string; created_at: string; label: string };

type Props = {
  backups: readonly BackupChoice[];
  /** The target the settings name (a scratch server URL, or the throwaway cluster). */
  defaultTarget: DrillTargetChoice;
  running: boolean;
  onRun: (request: DrillRunRequest) => void;
};

/** Whether a scratch server URL is one the engine could take (it checks the rest). */
export function scratchUrlProblem(url: string): string | null {
  const t = url.trim();
  if (t === "") return "Enter the scratch server's URL (postgres://user@host:5432/postgres).";
  if (!/^postgres(ql)?:\/\//i.test(t)) return "A scratch server URL starts with postgres:// or postgresql://.";
  return null;
}

export function DrillRunForm({ backups, defaultTarget, running, onRun }: Props) {
  const [backup, setBackup] = useState<string>("");
  // One choice of where drills restore, the drill settings' (issue 44: the page asked "This drill
  // restores into" and "Scheduled drills restore into" with the same two radios).
  const target = defaultTarget;
  return (
    <form
      className="form drill-run"
      data-testid="drill-run-form"
      onSubmit={(e) => {
        e.preventDefault();
        onRun({ backup: backup === "" ? null : backup, target });
      }}
    >
      <div className="field-grid">
        <label className="field">
          <span>Backup</span>
          <select value={backup} onChange={(e) => setBackup(e.target.value)} data-testid="drill-backup">
            <option value="">Newest good backup</option>
            {backups.map((b) => (
              <option key={b.id} value={b.id}>
                {b.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="small" data-testid="drill-run-target" data-kind={target.kind}>
        Restores into{" "}
        {target.kind === "server" ? `the scratch server ${databaseLabel(target.url)}` : "a throwaway cluster on this computer"}
        , as the drill settings below say; scheduled drills use the same.
      </p>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={running} data-testid="drill-run">
          {running ? "Drill running…" : "Run drill now"}
        </button>
      </div>
    </form>
  );
}
