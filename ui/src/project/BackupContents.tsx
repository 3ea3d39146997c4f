// What a storage, config, full or incremental backup holds, from its manifest (read for the one
// selected backup only: the list itself never opens archives).
import { useEffect, useState } from "react";
import { type BackupRow, type BackupType, commands, type Manifest } from "../bindings";
import { formatBytes } from "../components/format";

const WITH_COMPONENTS: ReadonlySet<BackupType> = new Set<BackupType>(["full", "storage", "config", "incremental"]);

/** "1,234 objects in 2 buckets (5.0 MB) · 12 configuration files", from a manifest. */
export function contentsLabel(m: Manifest): string {
  const parts: string[] = [];
  const db = m.counts?.database;
  if (db) parts.push(`database: ${db.items.toLocaleString("en-US")} tables`);
  const s = m.storage;
  const sc = m.counts?.storage;
  if (s) {
    parts.push(
      `${s.objects.toLocaleString("en-US")} objects in ${s.buckets} bucket${s.buckets === 1 ? "" : "s"} (${formatBytes(s.bytes)})` +
        (s.reused_objects > 0 ? `, ${s.reused_objects.toLocaleString("en-US")} reused` : ""),
    );
  } else if (sc) {
    parts.push(`${sc.items.toLocaleString("en-US")} objects (${formatBytes(sc.bytes)})`);
  }
  const cc = m.counts?.config;
  if (cc) parts.push(`${cc.items.toLocaleString("en-US")} configuration file${cc.items === 1 ? "" : "s"}`);
  return parts.join(" · ");
}

export function BackupContents({ backup }: { backup: BackupRow | undefined }) {
  const [label, setLabel] = useState<string | null>(null);
  const path = backup && WITH_COMPONENTS.has(backup.backup_type) ? backup.path : null;
  useEffect(() => {
    setLabel(null);
    if (!path) return;
    let stale = false;
    void commands
      .inspectArchive(path)
      .then((r) => {
        if (!stale && r.status === "ok") setLabel(contentsLabel(r.data) || null);
      })
      .catch(() => {});
    return () => {
      stale = true;
    };
  }, [path]);
  if (!label) return null;
  return (
    <p className="small muted" data-testid="backup-contents">
      {label}
    </p>
  );
}
