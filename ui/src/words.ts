// The product's words, as docs/glossary.md defines them: one place for the labels the window
// writes and for counts with their noun ("1 table", "2 tables", "1 copy", "2 copies"; never
// "table(s)"). Screens take a label from WORDS or a count from `plural` instead of spelling them.

import type { JobKind } from "./bindings";

/** The labels a person reads, by the glossary's word. */
export const WORDS = {
  backup: "backup",
  backups: "backups",
  copy: "copy",
  destination: "destination",
  source: "source",
  /** `offsite serve`: the agent next to the database. "agent" only where the command is named. */
  backupServer: "backup server",
  BackupServer: "Backup server",
  /** A backup a CI job uploaded to a bucket, then imported here. */
  artifact: "artifact",
  drill: "drill",
  verified: "verified",
  proven: "proven restorable",
  retention: "retention",
  schedule: "schedule",
  project: "project",
  /** The single file a backup is written as. */
  archiveFile: "archive file",
  /** Supabase Storage: the project's files, a source; never where backups are kept. */
  fileStorage: "File storage (Supabase Storage)",
  fileStorageShort: "File storage",
  /** A file inside an archive file (database.dump, storage/…, globals.sql). */
  part: "part",
} as const;

/** Where a backup came from (its origin), as the timeline and the side panel say it. */
/** A job's kind as the app names it (tables, filters, result lines). */
export const JOB_KIND_WORDS: Record<JobKind, string> = {
  backup: "Backup",
  verify: "Verify",
  restore: "Restore",
  import: "Import",
  prune: "Remove old backups",
  pull: "Pull",
  sync: "Copy to destinations",
  fetch_copy: "Fetch a copy",
  drill: "Drill",
  recover: "Recover rows",
};

export const ORIGIN_WORDS = {
  local: "made here",
  server: "backup server",
  artifact: "artifact",
  imported: "imported",
  safety: "Safety",
} as const;

/** The same as a sentence, for a title or the side panel. */
export const ORIGIN_SENTENCE = {
  local: "Made on this computer",
  server: "Made by the backup server and downloaded",
  artifact: "Pulled from the artifact bucket",
  imported: "Imported from a file",
  safety: "Taken before a restore replaced this project's database",
} as const;

/** Nouns whose plural is not the noun + "s". */
const IRREGULAR: Record<string, string> = {
  copy: "copies",
  entry: "entries",
  directory: "directories",
  policy: "policies",
  query: "queries",
  library: "libraries",
  child: "children",
  person: "people",
  status: "statuses",
  process: "processes",
  match: "matches",
  batch: "batches",
  index: "indexes",
  schema: "schemas",
};

/** The plural of a noun: "table" → "tables", "copy" → "copies", "Copy" → "Copies". */
export function pluralOf(noun: string): string {
  const lower = noun.toLowerCase();
  const irregular = IRREGULAR[lower];
  if (irregular) return noun === lower ? irregular : irregular.charAt(0).toUpperCase() + irregular.slice(1);
  if (/[^aeiou]y$/i.test(noun)) return `${noun.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(noun)) return `${noun}es`;
  return `${noun}s`;
}

/** The noun for this count: 1 → singular, anything else (0, 2, 1.5) → plural. */
export function nounFor(n: number, noun: string, nouns: string = pluralOf(noun)): string {
  return n === 1 ? noun : nouns;
}

/** "1 table", "2 tables", "0 copies", "1,024 objects": a count with its noun. */
export function plural(n: number, noun: string, nouns: string = pluralOf(noun)): string {
  return `${n.toLocaleString("en-US")} ${nounFor(n, noun, nouns)}`;
}

/** A line as a sentence: its first letter capital ("never backed up" → "Never backed up"). The
 * engine's reasons are written to follow a colon in the CLI; a line of their own starts with a
 * capital. */
export function sentenceCase(line: string): string {
  return line.charAt(0).toUpperCase() + line.slice(1);
}

/** A line as a whole sentence: a capital first and a full stop last (the engine's hints end
 * without one, written to follow a dash in the CLI). */
export function fullStop(line: string): string {
  const s = sentenceCase(line.trim());
  return /[.!?…]$/.test(s) ? s : `${s}.`;
}

/**
 * A program's version as a person reads it: its name and number, without the build string the
 * server reports ("PostgreSQL 15.14 (Debian 15.14-1) on x86_64-pc-linux-gnu, compiled by gcc …" →
 * "PostgreSQL 15.14"; "15.18 (Debian 15.18-0+deb12u1)" → "15.18"). The whole string belongs behind
 * Details.
 */
export function shortVersion(version: string): string {
  const v = version.trim();
  const m = /^((?:[A-Za-z_][\w-]*\s+)*(?:\([A-Za-z]+\)\s+)?)?(\d+(?:\.\d+)*(?:beta\d+|rc\d+|devel)?)/.exec(v);
  if (!m) return v;
  const name = (m[1] ?? "").replace(/\s*\([A-Za-z]+\)\s*/, " ").trim();
  return name ? `${name} ${m[2]}` : (m[2] ?? v);
}
