// The recovery runbook's scenarios (docs/recovery.md, issue 47 item 9) as the Help screen offers
// them: what happened, what must be at hand, the steps in the app's words, how long it takes, and
// which screen (wizard) each step opens. Words only: what is possible, and every decision, stays
// with the engine behind those screens.
/** Where a scenario's button leads. */
export type HelpStep =
  /** A screen of the chosen project (its page on a tab, the restore wizard, Compare). */
  | { label: string; to: "backups" | "restore" | "diff" | "drills"; primary?: boolean }
  /** The import dialog: an archive or a dump from a destination, a disk or another computer. */
  | { label: string; to: "import"; primary?: boolean }
  /** Add a project (a new server or Supabase project to restore into). */
  | { label: string; to: "add"; primary?: boolean };

export type Scenario = {
  id: "rows" | "migration" | "server" | "ransomware" | "laptop" | "supabase" | "suspicious";
  /** The choice, as the person would say it. */
  title: string;
  atHand: string;
  steps: string[];
  howLong: string;
  actions: HelpStep[];
};

export const SCENARIOS: Scenario[] = [
  {
    id: "rows",
    title: "Rows or a table were deleted",
    atHand: "This computer, with Offsite, and the database’s password.",
    steps: [
      "On the Backups tab, choose the newest backup from before it happened and Look inside it.",
      "Choose the table, then Recover these rows…: only the rows that are gone come back, with what they reference, in one transaction you can undo.",
      "Compare shows what differs between that backup and the database now.",
    ],
    howLong: "Minutes. What changed since that backup is not in it.",
    actions: [
      { label: "Choose the backup…", to: "backups", primary: true },
      { label: "Compare with now…", to: "diff" },
    ],
  },
  {
    id: "migration",
    title: "A migration or deploy broke the database",
    atHand: "This computer, with Offsite, and the database’s password. Stop the application’s writes first.",
    steps: [
      "Compare the last backup from before the deploy with the database now, to see what the migration changed.",
      "Restore only the damaged tables beside the live ones, or replace the whole database: Offsite takes a safety backup first, so the replace can be undone.",
    ],
    howLong: "About the drill’s measured restore time, plus a safety backup.",
    actions: [
      { label: "Compare with now…", to: "diff", primary: true },
      { label: "Restore…", to: "restore" },
    ],
  },
  {
    id: "server",
    title: "The database server is lost",
    atHand: "A new, empty PostgreSQL server of the same major version (or newer), and its password.",
    steps: [
      "Add the new server’s database as the restore’s target, and restore the newest good backup with its roles.",
      "When the file on this computer is gone, Protection → Fetch a copy brings it back from a destination first.",
      "Point the application at the new server and make a backup.",
    ],
    howLong: "The server’s set-up, plus the restore (the drill’s measured time).",
    actions: [{ label: "Restore…", to: "restore", primary: true }],
  },
  {
    id: "ransomware",
    title: "Ransomware or an attacker on the server",
    atHand: "A clean server (never the attacked one), and a backup from before the attack.",
    steps: [
      "Take the server off the network.",
      "On the Backups tab, a backup much smaller than the one before is marked suspicious (amber): take the newest backup before the first suspicious one, and look inside it.",
      "If the attacker reached this computer or a destination, fetch a copy that could not be deleted (an S3 destination with Object Lock, or an unplugged disk).",
      "Restore into the clean server, then change every password the attacker may have seen.",
    ],
    howLong: "The clean server, plus the restore (the drill’s measured time).",
    actions: [
      { label: "See the backups…", to: "backups", primary: true },
      { label: "Restore…", to: "restore" },
    ],
  },
  {
    id: "laptop",
    title: "The computer running Offsite was lost or replaced",
    atHand:
      "The recovery key (when backups are encrypted: the printed key or passphrase), the destination’s access (S3 keys or the disk), and the database’s password. The recovery card says where the copies are.",
    steps: [
      "Download the newest archive from the destination with any S3 client, or copy it from the disk.",
      "Import it here: Offsite checks it and offers to restore it.",
      "Add the project again, with the same recovery key, and its destinations; then revoke what the old computer held (S3 keys, the backup server’s tokens, the database password).",
    ],
    howLong: "The download, then the restore. Nothing of the database is lost.",
    actions: [
      { label: "Import a backup…", to: "import", primary: true },
      { label: "Add the project…", to: "add" },
    ],
  },
  {
    id: "supabase",
    title: "A Supabase project was deleted",
    atHand: "A new Supabase project (same region and Postgres version), its password, and an access token for the settings.",
    steps: [
      "Add the new project to Offsite.",
      "Restore the newest full backup into it: the database, the storage files, the settings the Management API accepts and the Edge Functions. Set the functions’ secrets again yourself: backups hold only their names.",
      "Give the application the new project’s URL and keys.",
    ],
    howLong: "Creating the project (minutes), the restore, and uploading the storage files.",
    actions: [
      { label: "Add the new project…", to: "add", primary: true },
      { label: "Restore…", to: "restore" },
    ],
  },
  {
    id: "suspicious",
    title: "Offsite flagged a backup as suspicious",
    atHand: "Nothing but this computer.",
    steps: [
      "The backup is kept (never removed ahead of the good ones) and marked amber with what dropped (“public.orders: 120,431 → 12 rows”).",
      "Compare it with the good backup before it. An intended cleanup: nothing to do. A runaway delete or a bad migration: see those above.",
    ],
    howLong: "Minutes.",
    actions: [
      { label: "See the backups…", to: "backups", primary: true },
      { label: "Compare…", to: "diff" },
    ],
  },
];

/** Whether a step needs one of the saved projects. */
export function needsProject(step: HelpStep): boolean {
  return step.to !== "import" && step.to !== "add";
}
