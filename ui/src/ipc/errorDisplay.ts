// The one table from an error's `code` (the generated `ErrorKind`) to how the window shows it.
// Screens never compare codes themselves (`code === "cancelled"`…): they read this table. It is
// typed `Record<ErrorKind, …>`, so a kind added on the Rust side fails type-checking here until it
// is given a row.
import type { ErrorKind } from "../bindings";

/** How an error is coloured: a cancel is not a failure; a warning asks for attention only. */
export type Tone = "neutral" | "error" | "warning";

/** Restore wizard steps an error can send the user back to (a subset of wizard/steps.ts `Step`). */
export type RestoreGoto = "source" | "verify" | "target" | "review";

/** What the restore report suggests after a failure with this code. */
export type RestoreAdvice = { text: string; goto: RestoreGoto | null; label: string | null };

export type ErrorDisplay = {
  /** Colour of the notice. */
  tone: Tone;
  /** A short title above the message. */
  title: string;
  /** Whether it counts as a failure (false: the user stopped it; shown as "Cancelled"). */
  failure: boolean;
  /** How a finished job with this error is summed up in one word. */
  outcome: string;
  /** Whether a "Try again" button may be offered (then only when the payload says `retryable`). */
  offerRetry: boolean;
  /** The add-project form field the error belongs to, if any. */
  field: "name" | null;
  /** A file being imported or inspected is simply not something Offsite can read. */
  unreadableFile: boolean;
  /** The restore report's advice. */
  restore: RestoreAdvice;
  /** Where a refused backup sends the user to fix it ("Back up now" on the project page). */
  backupFix: BackupFix | null;
  /** The next step, in a sentence (shown when the error carries no hint of its own). */
  next: string;
  /** The buttons that take that step, first the main one; shown where the screen can do it. */
  actions: ErrorAction[];
};

/** What an error's button does; a screen (or the app, see ErrorActionsProvider) says how. */
export type ErrorActionKind =
  | "retry"
  | "edit_credentials"
  | "check_address"
  | "open_settings"
  | "open_backup_folder"
  | "verify_another"
  | "choose_another";

/** The label of each action's button. */
export const ACTION_LABELS: Record<ErrorActionKind, string> = {
  retry: "Try again",
  edit_credentials: "Edit credentials",
  check_address: "Check the address",
  open_settings: "Settings",
  open_backup_folder: "Open backup folder",
  verify_another: "Verify another backup",
  choose_another: "Choose another backup",
};

export type ErrorAction = ErrorActionKind;

/** A refused backup's way out: a button with this label opens that part of the project page. */
export type BackupFix = { target: "encryption"; label: string };

const GENERIC_TITLE = "Something went wrong";

const RESTORE_DEFAULT: RestoreAdvice = {
  text: "The restore failed; the target was left as it was.",
  goto: "review",
  label: "Back to the plan",
};
const RESTORE_TARGET: RestoreAdvice = {
  text: "Check the target's connection, credentials and privileges.",
  goto: "target",
  label: "Choose the target again",
};
const RESTORE_SOURCE: RestoreAdvice = {
  text: "The archive cannot be restored. Choose another backup.",
  goto: "source",
  label: "Choose another backup",
};

/** A failure: red, "Failed", retry offered when retryable, the default restore advice. */
function failed(
  title: string,
  next: string,
  actions: ErrorAction[],
  over: Partial<ErrorDisplay> = {},
): ErrorDisplay {
  return {
    tone: "error",
    title,
    failure: true,
    outcome: "Failed",
    offerRetry: true,
    field: null,
    unreadableFile: false,
    restore: RESTORE_DEFAULT,
    backupFix: null,
    next,
    actions,
    ...over,
  };
}

/** A damaged archive file: the integrity fact, said once, with its next step. */
export const DAMAGED_TEXT =
  "Its contents do not match its checksum: verify another backup or fetch a copy.";

export const ERROR_DISPLAY: Record<ErrorKind, ErrorDisplay> = {
  invalid_input: failed("Check what you entered", "Correct what the message names, then try again.", [], {
    unreadableFile: true,
  }),
  not_found: failed("Not found", "It may have been removed meanwhile: reload and choose again.", ["retry"]),
  already_exists: failed("Already exists", "Choose another name.", [], { field: "name" }),
  connection: failed(
    "Cannot reach the server",
    "Check the address and that the server is running, then try again.",
    ["retry", "check_address"],
    { restore: RESTORE_TARGET },
  ),
  auth: failed("The server rejected the credentials", "Enter the password or token again.", ["edit_credentials"], {
    restore: RESTORE_TARGET,
  }),
  rate_limited: failed("The service asks to slow down", "Wait a minute, then try again.", ["retry"], {
    tone: "warning",
    restore: RESTORE_TARGET,
  }),
  permission: failed(
    "Missing privileges",
    "Grant the role the privileges the message names, or connect as another role.",
    ["edit_credentials"],
    { restore: RESTORE_TARGET },
  ),
  tool_missing: failed(
    "pg_dump is missing or too old",
    "Install the PostgreSQL client tools, or set their folder in Settings.",
    ["open_settings"],
    {
      restore: {
        text: "Install the PostgreSQL client tools the hint names, then try again.",
        goto: "review",
        label: "Back to the plan",
      },
    },
  ),
  tool_failed: failed("A PostgreSQL tool failed", "Read the tool's message above, fix its cause, then try again.", [
    "retry",
  ]),
  integrity: failed(
    "The archive is damaged",
    "Its contents do not match their checksum or signature: use another copy.",
    ["verify_another", "choose_another"],
    {
      unreadableFile: true,
      restore: RESTORE_SOURCE,
    },
  ),
  unsupported_format: failed(
    "Not an archive Offsite can read",
    "Choose an Offsite archive file, a database dump made outside Offsite, or a project export.",
    ["choose_another"],
    { unreadableFile: true, restore: RESTORE_SOURCE },
  ),
  unsafe_path: failed(
    "Unsafe file or link",
    "A file names a place outside its own folder, or a link stands where a folder or a copy should be: nothing was extracted or followed. The details name it; remove the link, or choose another backup.",
    ["choose_another"],
    { unreadableFile: true, restore: RESTORE_SOURCE },
  ),
  busy: failed("Another job is running on this project", "Wait for it to finish, then try again.", ["retry"], {
    restore: {
      text: "Another job is running on this project. Try again when it has finished.",
      goto: "review",
      label: "Back to the plan",
    },
  }),
  cancelled: {
    tone: "neutral",
    title: "Cancelled",
    failure: false,
    outcome: "Cancelled",
    offerRetry: false,
    field: null,
    unreadableFile: false,
    backupFix: null,
    next: "Nothing was changed; start it again when you are ready.",
    actions: ["retry"],
    restore: {
      text: "The restore was cancelled. It runs in one transaction, so the target was left as it was.",
      goto: "review",
      label: "Back to the plan",
    },
  },
  disk_full: failed(
    "The disk is full",
    "Free space in the backup folder (older backups, other files) or choose another folder in Settings.",
    ["open_backup_folder", "open_settings"],
  ),
  needs_consent: failed("Waiting for your confirmation", "Confirm what the message asks, then try again.", [], {
    // A pause waiting for the user, not a failure of the machine (issue 44, protection-02): amber,
    // "Paused". A backup is refused with it while encryption is set up but its recovery key not
    // entered back.
    tone: "warning",
    outcome: "Paused",
    backupFix: { target: "encryption", label: "Confirm your recovery key…" },
    restore: {
      text: "The target database is not empty any more. Review the plan again and confirm replacing it.",
      goto: "review",
      label: "Review the plan again",
    },
  }),
  arbitrary_sql: failed(
    "The backup runs SQL pg_dump never writes",
    "Review the statements; restore only if you trust where the file came from.",
    [],
    {
      offerRetry: false,
      restore: {
        text: "The backup's SQL holds statements pg_dump never writes. Review them in the plan; restore only if you trust the file.",
        goto: "review",
        label: "Back to the plan",
      },
    },
  ),
  validation_failed: failed(
    GENERIC_TITLE,
    "The row counts differ from what the backup recorded: compare them in the report, then verify another backup.",
    ["verify_another"],
    {
      restore: {
        text: "The restore ran, but the row counts do not match what the backup recorded.",
        goto: null,
        label: null,
      },
    },
  ),
  wrong_key: failed(
    "The key or passphrase does not open it",
    "Enter the key or passphrase this backup was encrypted with.",
    ["choose_another"],
    {
      offerRetry: false,
      restore: {
        text: "The archive is encrypted and the key or passphrase given does not open it. Choose the backup again with the right one.",
        goto: "source",
        label: "Choose the backup again",
      },
    },
  ),
  secrets: failed("The keychain failed", "Unlock the system keychain, then try again.", ["retry"]),
  keychain_unavailable: failed(
    "The keychain is unavailable",
    "Start or unlock the system keychain (the desktop's secret service), then try again.",
    ["retry"],
    { restore: RESTORE_TARGET },
  ),
  catalog: failed("A local error occurred", "Check the disk and the data folder's permissions, then try again.", [
    "retry",
    "open_settings",
  ]),
  io: failed("A local error occurred", "Check the disk and the folder's permissions, then try again.", [
    "retry",
    "open_backup_folder",
  ]),
  interrupted: failed(
    "The job was interrupted",
    "Its process stopped while it ran; the next start put its target back where it could, and its message says what is there: run it again.",
    ["retry"],
  ),
  conflict: failed(
    "The file is not what Offsite recorded",
    "It changed on disk since Offsite wrote it: verify it, or use another backup.",
    ["verify_another"],
  ),
  archived: failed(
    "This copy must be restored in the provider first",
    "It is in an archive storage class (GLACIER or DEEP_ARCHIVE): restore it in the provider's console, then try again.",
    ["verify_another"],
  ),
  internal: failed(GENERIC_TITLE, "Try again; if it happens again, report it with the message above.", ["retry"]),
};

/** A code this build does not know (a newer engine): shown as a plain failure. */
const UNKNOWN: ErrorDisplay = failed(GENERIC_TITLE, "Try again; if it happens again, report it with the message above.", [
  "retry",
]);

/** What a notice says instead of the engine's title and hint (its hint names a terminal command). */
export type NoticeWords = { title: string; next: string };

/** A backup refused because encryption waits for its recovery key (a backup's `needs_consent`). */
export const BACKUPS_PAUSED_WORDS: NoticeWords = {
  title: "Backups paused: confirm your recovery key",
  next: "No backup runs until the recovery key is entered back on the project's Encryption card: without it nobody could read the backups.",
};

/** The app's words for a refused backup with this code, if it has its own (else the engine's). */
export function backupRefusalWords(code: string | null | undefined): NoticeWords | null {
  return errorDisplay(code).backupFix ? BACKUPS_PAUSED_WORDS : null;
}

export function isErrorKind(code: string): code is ErrorKind {
  return Object.prototype.hasOwnProperty.call(ERROR_DISPLAY, code);
}

/** How to show an error with this code (any string: codes from the catalog are plain strings). */
export function errorDisplay(code: string | null | undefined): ErrorDisplay {
  return code && isErrorKind(code) ? ERROR_DISPLAY[code] : UNKNOWN;
}

/** A short title per error code. */
export function errorTitle(code: string): string {
  return errorDisplay(code).title;
}

/** Whether the error is the user's own cancel (not a failure). */
export function isCancel(code: string | null | undefined): boolean {
  return code !== null && code !== undefined && !errorDisplay(code).failure;
}

/** The notice CSS class for a tone. */
export function toneClass(tone: Tone): string {
  return tone === "neutral" ? "notice-neutral" : tone === "warning" ? "notice-warn" : "notice-error";
}
