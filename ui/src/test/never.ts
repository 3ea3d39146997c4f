// The engine words the app has its own word for (docs/glossary.md's "Not" column, and what the
// reviews found on screens): the words test applies them to the UI's text and the engine's.
export const NEVER: [RegExp, string][] = [
  [/\bmembers?\b/i, "a file in the archive (or a role's grants)"],
  [/\bmedia\b|\bmedium\b/i, "separate disks"],
  [/\boutbox\b/i, "notifications waiting to be sent"],
  [/pg_restore -j/i, "restored in parallel"],
  [/archive format/i, "archive file version, or say what the file is"],
  [/\bbytes\b/i, "a size in KiB, MiB, GiB (formatBytes)"],
  [/\bintact\b/i, "verified"],
  [/\bcorrupt(ed)?\b/i, "damaged"],
  [/\bagents?\b/i, "backup server"],
  [/recovery item/i, "recovery key"],
  [/\btarballs?\b/i, "archive file"],
  [/\breplicas?\b/i, "copy"],
  [/\bsnapshots?\b/i, "backup"],
  [/test restore/i, "drill"],
  [/pruning polic/i, "retention"],
  // Issue 64: words the engine brought to screens.
  [/\b\w+\(s\)/, "the count with its noun (plural)"],
  [/cron expression/i, "a custom schedule (five cron fields)"],
  [/host or socket folder/i, "server"],
  [/\bnone offsite\b|\b1 offsite\b/i, "away from this computer"],
];
