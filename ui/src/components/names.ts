// What a person reads instead of a path or an id: a backup by its type and time, a file by its
// name, a database by server and database name (never a connection URL with its port and options).
import type { BackupType } from "../bindings";
import { databaseHost, databaseName, formatTime } from "./format";

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

/**
 * Names for a list of backups shown together: each as `backupName`, with the seconds added to
 * the ones that share a name (two backups of the same type in the same minute), so no two choices
 * read the same (issue 44, restore-01: two "Database backup of 2026-11-26 13:34"). Still equal
 * (the same second): an ordinal, "(2)", in list order.
 */
export function backupNames(list: { id: string; backup_type: BackupType; created_at: string }[]): Map<string, string> {
  const byName = new Map<string, number>();
  for (const b of list) byName.set(backupName(b), (byName.get(backupName(b)) ?? 0) + 1);
  const out = new Map<string, string>();
  const seen = new Map<string, number>();
  for (const b of list) {
    let name = backupName(b);
    if ((byName.get(name) ?? 0) > 1) {
      const d = new Date(b.created_at);
      if (!Number.isNaN(d.getTime())) name += `:${String(d.getSeconds()).padStart(2, "0")}`;
    }
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    out.set(b.id, n > 1 ? `${name} (${n})` : name);
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
