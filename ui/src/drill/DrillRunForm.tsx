// "Run a drill now": which backup (the newest, or one from the list) and where it restores (a
// throwaway cluster Offsite starts itself, or a scratch server the user names by URL; the
// settings give the default). The URL is sent once with the request and never shown back.
import { useState } from "react";
import { DrillTargetField } from "./DrillTargetField";

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
  const [kind, setKind] = useState<DrillTargetChoice["kind"]>(defaultTarget.kind);
  const [url, setUrl] = useState(defaultTarget.kind === "server" ? defaultTarget.url : "");
  const problem = kind === "server" ? scratchUrlProblem(url) : null;
  const [touched, setTouched] = useState(false);

  const submit = () => {
    setTouched(true);
    if (problem) return;
    onRun({
      backup: backup === "" ? null : backup,
      target: kind === "server" ? { kind: "server", url: url.trim() } : { kind: "throwaway" },
    });
  };

  return (
    <form
      className="form drill-run"
      data-testid="drill-run-form"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
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
        <DrillTargetField
          legend="This drill restores into"
          name="drill-target"
          testIdPrefix="drill-target"
          kind={kind}
          onChange={setKind}
        />
      </div>
      {kind === "server" && (
        <label className="field">
          <span>Scratch server URL</span>
          <input
            type="password"
            autoComplete="off"
            value={url}
            placeholder="postgres://user:password@host:5432/postgres"
            onChange={(e) => setUrl(e.target.value)}
            data-testid="drill-server-url"
          />
          <span className="field-help">
            Offsite creates a database offsite_drill_…, restores into it, checks it and drops it. The role needs
            CREATEDB.
          </span>
          {touched && problem && (
            <span className="field-error" role="alert" data-testid="drill-server-url-error">
              {problem}
            </span>
          )}
        </label>
      )}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={running} data-testid="drill-run">
          {running ? "Drill running…" : "Run drill now"}
        </button>
      </div>
    </form>
  );
}
