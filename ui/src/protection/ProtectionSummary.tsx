// The project's 3-2-1 state at a glance (three copies, two media, one offsite), as the engine
// counts it, and where one backup lives: the local file and each copy with its state.
import { formatTime } from "../components/format";
import { COPY_STATE_LABEL, DESTINATION_KIND_LABEL, type BackupLocations, type ProtectionView } from "./types";

type Rule = { key: "copies" | "media" | "offsite"; met: boolean; text: string };

/**
 * The three rules with the project's numbers, in plain words ("media 1 of 2" was the engine's
 * term, issue 44): copies, separate disks, one away from this computer.
 */
export function rules(p: ProtectionView): Rule[] {
  return [
    { key: "copies", met: p.copies >= 3, text: `${p.copies} of 3 copies` },
    { key: "media", met: p.media >= 2, text: `${p.media} of 2 separate disks` },
    { key: "offsite", met: p.offsite, text: p.offsite ? "1 away from this computer" : "none away from this computer" },
  ];
}

export function ProtectionSummary({ protection }: { protection: ProtectionView }) {
  const all = rules(protection);
  const met = all.every((r) => r.met);
  return (
    <div className="protection" data-testid="protection" data-met={met}>
      <span className={`status ${met ? "status-verified" : "status-unverified"}`} data-testid="protection-verdict">
        {met ? "3-2-1: met" : "3-2-1: not yet"}
      </span>
      {all.map((r) => (
        <span key={r.key} className="protection-rule small" data-testid={`protection-${r.key}`} data-met={r.met}>
          {r.met ? "✓" : "✗"} {r.text}
        </span>
      ))}
      {protection.pending.map((p) => (
        <span key={p.destination} className="small notice-warn protection-pending" data-testid="protection-pending" data-destination={p.destination}>
          copy to {p.destination} pending since {formatTime(p.since)}
        </span>
      ))}
    </div>
  );
}

/** Where one backup lives: the local file and every copy. */
export function BackupWhere({ where }: { where: BackupLocations }) {
  return (
    <ul className="plain-list small where" data-testid="backup-where" data-backup-id={where.backupId}>
      <li data-testid="backup-where-local" data-present={where.localPresent}>
        <strong>This computer</strong> · {where.localPresent ? "present" : "file missing"}
      </li>
      {where.copies.map((c) => (
        <li key={c.destination} data-testid="backup-where-copy" data-destination={c.destination} data-state={c.state}>
          <strong>{c.destination}</strong>
          {c.kind && <span className="muted"> ({DESTINATION_KIND_LABEL[c.kind]})</span>} · {COPY_STATE_LABEL[c.state]}
          {c.verified ? " · checked" : ""}
          {c.at ? (
            <>
              {" · "}
              {/* Whole on its line (protection-07 broke it after the date in the side panel). */}
              <span className="nowrap" data-testid="backup-where-copy-at">
                {formatTime(c.at)}
              </span>
            </>
          ) : (
            ""
          )}
          {c.problem ? <span className="muted"> · {c.problem}</span> : null}
        </li>
      ))}
      {where.copies.length === 0 && (
        <li className="muted" data-testid="backup-where-none">
          No copy elsewhere.
        </li>
      )}
    </ul>
  );
}
