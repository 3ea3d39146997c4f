// What a person reads instead of a path or an id: a backup by its type and time, a file by its
// name, a database by server and database name (never a connection URL with its port and options).
import type { BackupType } from "../bindings";
import { databaseHost, databaseName, formatBytes, formatTime } from "./format";
import { clockTimeSeconds } from "../project/tabs/time";

const TYPE_NAMES: Record<BackupType, string> = {
  full: "Full backup",
  database: "Database backup",
  storage: "File storage backup",
  config: "Configuration backup",
  incremental: "Incremental backup",
};

/** "Database backup of 2026-11-23 03:00" (local time). */
export function backupName(b: { backup_type: BackupType; created_at: string }): string {
  return `${TYPE_NAMES[b.backup_type] ?? "Backup"} of ${formatTime(b.created_at)}`;
}

/** ":16": a time's seconds, the part added when two backups share a minute. */
function secondsOf(iso: string): string {
  const t = clockTimeSeconds(iso);
  return t === iso ? "" : `:${t.slice(-2)}`;
}

/**
 * Names for a list of backups shown together (the restore wizard, the side panel, Compare, Drills):
 * each as `backupName`, and only where two would read the same, what tells them apart (issue 44):
 * the seconds (two backups of one minute); made in the same second too, the size when it differs;
 * else their place among those of that second, oldest first ("1 of 2"). Never an id.
 */
export function backupNames(list: { id: string; backup_type: BackupType; created_at: string; size?: number }[]): Map<string, string> {
  const groups = new Map<string, typeof list>();
  for (const b of list) {
    const name = backupName(b);
    groups.set(name, [...(groups.get(name) ?? []), b]);
  }
  const out = new Map<string, string>();
  for (const [name, group] of groups) {
    if (group.length === 1) {
      out.set(group[0]!.id, name);
      continue;
    }
    const bySecond = new Map<string, typeof list>();
    for (const b of group) {
      const s = `${name}${secondsOf(b.created_at)}`;
      bySecond.set(s, [...(bySecond.get(s) ?? []), b]);
    }
    for (const [withSeconds, same] of bySecond) {
      if (same.length === 1) {
        out.set(same[0]!.id, withSeconds);
        continue;
      }
      const sizes = same.map((b) => (b.size === undefined ? "" : formatBytes(b.size)));
      const sizesDiffer = sizes.every((z, i) => z !== "" && sizes.indexOf(z) === i);
      // Oldest first: the list may be in any order.
      const order = [...same].sort((x, y) => x.created_at.localeCompare(y.created_at) || list.indexOf(y) - list.indexOf(x));
      same.forEach((b, i) =>
        out.set(b.id, sizesDiffer ? `${withSeconds}, ${sizes[i]}` : `${withSeconds} (${order.indexOf(b) + 1} of ${same.length})`),
      );
    }
  }
  return out;
}

/** The last part of a path: "shop_20261123_020000_database.tar.zst". */
export function fileNameOf(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}

/** The folder of a path (what "show in folder" opens). */
export function folderOf(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i > 0 ? path.slice(0, i) : path;
}

/** A database connection URL as a person names it: "app on db.example.com" (no user, port or options). */
export function databaseLabel(url: string): string {
  const db = databaseName(url);
  const host = databaseHost(url).replace(/:\d+$/, "");
  if (host === url) return url.replace(/\/\/[^@/]*@/, "//");
  return db ? `${db} on ${host}` : host;
}

/**
 * A per-tenant archive's tenant as a person reads it: "orgs 2", not the engine's mark "orgs=2"
 * (issue 44). A tenant's name has no "=" (letters, digits, "-", "_": the engine's rule), so the
 * first one ends it; the rest is the root row's key value.
 */
export function tenantWords(mark: string): { name: string; value: string; words: string } {
  const at = mark.indexOf("=");
  if (at < 0) return { name: mark, value: "", words: mark };
  const name = mark.slice(0, at);
  const value = mark.slice(at + 1);
  return { name, value, words: `${name} ${value}` };
}
