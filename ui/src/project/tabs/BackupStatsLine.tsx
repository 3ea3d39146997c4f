// The Backups tab's header line: the engine's statistics of the project's backups (count, total
// size, per type, oldest and newest, growth per week; per place the copies and bytes stored).
// Computed by the engine (`backup_stats`); asked again when the list changes. Nothing is shown
// when they cannot be read (the list says what is wrong).
import { useEffect, useState } from "react";
import { type BackupStats, commands } from "../../bindings";
import { formatBytes } from "../../components/format";
import { plural } from "../../words";
import { dayAndTime } from "./time";
import type { BackupsLoad } from "./BackupsTab";

export function statsWords(s: BackupStats): { summary: string; places: string } {
  const types = s.by_type.map((t) => plural(t.count, `${t.backup_type} backup`)).join(", ");
  const growth =
    s.growth_per_week_bytes === null
      ? ""
      : ` · ${s.growth_per_week_bytes < 0 ? "−" : "+"}${formatBytes(Math.abs(s.growth_per_week_bytes))} a week`;
  const [from, to] = [s.oldest && dayAndTime(s.oldest), s.newest && dayAndTime(s.newest)];
  // One time when the first and the last are of the same minute (not "09:41 → 09:41").
  const span = from && to ? ` · ${from === to ? from : `${from} → ${to}`}` : "";
  const marks = [s.suspicious ? `${s.suspicious} suspicious` : "", s.pinned ? `${s.pinned} pinned` : ""].filter(Boolean).join(", ");
  const summary = `${formatBytes(s.total_bytes)} in all${types ? ` (${types})` : ""}${growth}${span}${marks ? ` · ${marks}` : ""}`;
  // "local" is where the backups themselves are (this computer): backups there, copies elsewhere.
  const places = s.destinations
    .map((d) =>
      d.destination === "local"
        ? `this computer: ${plural(d.copies, "backup")}, ${formatBytes(d.bytes)}`
        : `${d.destination}: ${plural(d.copies, "copy", "copies")}, ${formatBytes(d.bytes)}`,
    )
    .join(" · ");
  return { summary, places };
}

export function BackupStatsLine({ project, load }: { project: string; load: BackupsLoad }) {
  const [stats, setStats] = useState<BackupStats | null>(null);
  useEffect(() => {
    let stale = false;
    if (load.status !== "ready") return;
    void commands
      .backupStats(project)
      .then((r) => {
        if (!stale) setStats(r.status === "ok" ? r.data : null);
      })
      .catch(() => {});
    return () => {
      stale = true;
    };
  }, [load, project]);
  if (!stats || stats.count === 0) return null;
  const { summary, places } = statsWords(stats);
  return (
    <p className="small muted" data-testid="backup-stats">
      <span data-testid="backup-stats-summary">{summary}</span>
      {places ? (
        <>
          <br />
          <span data-testid="backup-stats-places">{places}</span>
        </>
      ) : null}
    </p>
  );
}
