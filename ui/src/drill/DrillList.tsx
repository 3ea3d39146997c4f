// A project's past drills, newest first: verdict, when, how long the restore took, the backup drilled, the first
// failed check. A click opens the drill's report.
import { formatAgo, formatTime } from "../components/format";
import { type BackupNames, drillBackupName, type DrillGlance, restoreTime, VERDICT_LABEL } from "./text";

export type DrillRow = DrillGlance & {
  id: string;
  backup_id: string;
  started_at: string;
};

type Props = {
  drills: readonly DrillRow[];
  selected: string | null;
  onOpen: (id: string) => void;
  /** The project's backups, to name the drilled one by its type and time. */
  names?: BackupNames;
  now?: number;
};

export function DrillList({ drills, selected, onOpen, names = new Map(), now = Date.now() }: Props) {
  if (drills.length === 0) {
    return (
      <p className="muted" data-testid="drills-empty">
        No drill yet. A drill restores a backup somewhere safe and proves every table holds what was backed up.
      </p>
    );
  }
  return (
    <table className="history-table" data-testid="drill-list">
      <thead>
        <tr>
          <th>Verdict</th>
          <th>When</th>
          <th>Time to restore</th>
          <th>Backup</th>
          <th>Failed check</th>
        </tr>
      </thead>
      <tbody>
        {drills.map((d) => (
          <tr
            key={d.id}
            className={d.id === selected ? "selected" : undefined}
            data-testid="drill-row"
            data-drill={d.id}
            data-verdict={d.verdict}
          >
            <td>
              <button type="button" className="link" onClick={() => onOpen(d.id)} data-testid="drill-open">
                <span className={`badge badge-${d.verdict === "passed" ? "ok" : "failed"}`}>{VERDICT_LABEL[d.verdict]}</span>
              </button>
            </td>
            <td title={formatTime(d.finished_at)}>{formatAgo(d.finished_at, now)}</td>
            <td>{restoreTime(d.rto_seconds)}</td>
            <td data-testid="drill-backup-name">
              {drillBackupName(d.backup_id, names)}
            </td>
            <td className="small">{d.failed_check ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
