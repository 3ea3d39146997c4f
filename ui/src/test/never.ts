// The engine words the app has its own word for (docs/glossary.md's "Not" column, and what the
// reviews found on screens): the words test applies them to the UI's text and the engine's.
export const NEVER: [RegExp, string][] = [
  [/\bmembers?\b/i, "a file in the archive (or a role's grants)"],
  [/\bmedia\b|\bmedium\b/i, "separate disks"],
  [/\boutbox\b/i, "notifications waiting to be sent"],
  [/pg_restore -j/i, "restored in parallel"],
  [/archive format/i, "archive file version, or say what the file is"],
  [/\bbytes\b/i, "a size in KB, MB, GB (formatBytes)"],
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

/**
 * Words a screen never shows, though the engine's code and the command line may use them (issue
 * 64 item 4: the review found them on screens): the app's text and the engine's sentences the app
 * shows (`engineScreen.json`) are held to these as well as to NEVER. The literal scan of the
 * engine's sources is not: the command line keeps PostgreSQL's precise terms.
 */
export const NEVER_ON_SCREEN: [RegExp, string][] = [
  [/\bprun(e|es|ed|ing)\b/i, "removed by retention, the next clean-up"],
  [/\bclusters?\b/i, "server (a throwaway server on this computer)"],
  [/superuser/i, "administrator rights"],
  [/landlock/i, "confined by the operating system"],
  [/pg_dumpall/i, "a whole-server dump"],
  [/\b(KiB|MiB|GiB|TiB)\b/, "KB, MB, GB, as the glossary writes sizes (formatBytes)"],
];

/**
 * Values an engine sentence keeps under Details, never in the line a person reads: ids, times in
 * the engine's form (the app writes its one date format), log positions.
 */
export const TECHNICAL: [RegExp, string][] = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/i, "the backup by its type and time (the id under Details)"],
  [/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/, "the app's one date format (YYYY-MM-DD HH:MM:SS)"],
  [/\bLSN\b|\b[0-9A-F]{1,8}\/[0-9A-F]{5,8}\b/, "the time of the change (the log position under Details)"],
  [/(^|[\s(“"'])--[a-z][a-z0-9-]*/, "the app's own words for the choice (the command line's flag under Details)"],
];
