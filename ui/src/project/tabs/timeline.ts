// The Backups tab's timeline: backups (newest first, as the catalog lists them) under a heading
// per local calendar day. One flat list, so the virtual list windows 10,000 backups as before.
import type { BackupRow } from "../../bindings";
import { localDay } from "./time";

export type TimelineEntry =
  | { kind: "day"; key: string; label: string; count: number }
  | { kind: "backup"; backup: BackupRow };

/** Day headings and backups, in the order given; a day's heading comes before its first backup. */
export function timeline(backups: readonly BackupRow[], timeZone?: string): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let day: Extract<TimelineEntry, { kind: "day" }> | null = null;
  for (const b of backups) {
    const d = localDay(b.created_at, timeZone);
    if (!day || day.key !== d.key) {
      day = { kind: "day", key: d.key, label: d.label, count: 0 };
      out.push(day);
    }
    day.count += 1;
    out.push({ kind: "backup", backup: b });
  }
  return out;
}

/** The newest backup not known to be bad (verified or not yet verified; as the engine's status reads it). */
export function newestGood(backups: readonly BackupRow[]): BackupRow | null {
  return backups.find((b) => b.status === "verified" || b.status === "unverified") ?? null;
}
