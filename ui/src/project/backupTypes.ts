// The backup types a project can make, and why one it cannot is unavailable (the engine refuses
// the same ones: storage and incremental need the project's storage, config its Supabase project).
import type { BackupType, BucketSelection, Components } from "../bindings";

export const BACKUP_TYPES: readonly { type: BackupType; label: string }[] = [
  { type: "database", label: "Database" },
  { type: "full", label: "Full (database, storage, configuration)" },
  { type: "storage", label: "Storage only" },
  { type: "config", label: "Configuration only" },
  { type: "incremental", label: "Incremental storage" },
];

/** Why the project cannot make a `type` backup, or null when it can. */
export function typeUnavailable(c: Components | null, type: BackupType): string | null {
  if ((type === "storage" || type === "incremental") && !c?.storage)
    return "Needs the project's storage: set it under Storage & configuration.";
  if (type === "config" && !c?.supabase)
    return "Needs the project's Supabase ref and access token: set them under Storage & configuration.";
  return null;
}

/** The project's default backup type (`database` when none is set or it is not a known type). */
export function defaultType(c: Components | null): BackupType {
  const t = c?.default_type;
  return BACKUP_TYPES.some((b) => b.type === t) ? (t as BackupType) : "database";
}

/** "all buckets" or the chosen names. */
export function bucketsLabel(b: BucketSelection): string {
  return b.kind === "all" ? "all buckets" : b.names.join(", ");
}

/** A comma list (or "all"/empty) as a selection. */
export function parseBuckets(text: string): BucketSelection {
  const t = text.trim();
  if (t === "" || t.toLowerCase() === "all") return { kind: "all" };
  const names = t
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return names.length === 0 ? { kind: "all" } : { kind: "only", names: [...new Set(names)] };
}
