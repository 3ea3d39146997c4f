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
};

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
function failed(title: string, over: Partial<ErrorDisplay> = {}): ErrorDisplay {
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
    ...over,
  };
}

export const ERROR_DISPLAY: Record<ErrorKind, ErrorDisplay> = {
  invalid_input: failed("Check what you entered", { unreadableFile: true }),
  not_found: failed("Not found"),
  already_exists: failed("Already exists", { field: "name" }),
  connection: failed("Cannot reach the server", { restore: RESTORE_TARGET }),
  auth: failed("The server rejected the credentials", { restore: RESTORE_TARGET }),
  rate_limited: failed("The service asks to slow down", { tone: "warning", restore: RESTORE_TARGET }),
  permission: failed("Missing privileges", { restore: RESTORE_TARGET }),
  tool_missing: failed("pg_dump is missing or too old", {
    restore: {
      text: "Install the PostgreSQL client tools the hint names, then try again.",
      goto: "review",
      label: "Back to the plan",
    },
  }),
  tool_failed: failed("A PostgreSQL tool failed"),
  integrity: failed("The archive is damaged", { unreadableFile: true, restore: RESTORE_SOURCE }),
  unsupported_format: failed("Not an archive Offsite can read", { unreadableFile: true, restore: RESTORE_SOURCE }),
  unsafe_path: failed(GENERIC_TITLE, { unreadableFile: true, restore: RESTORE_SOURCE }),
  busy: failed("Another job is running on this project", {
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
    restore: {
      text: "The restore was cancelled. It runs in one transaction, so the target was left as it was.",
      goto: "review",
      label: "Back to the plan",
    },
  },
  disk_full: failed("The disk is full"),
  needs_consent: failed(GENERIC_TITLE, {
    // A backup is refused with it while encryption is set up but its recovery item not entered back.
    backupFix: { target: "encryption", label: "Enter the recovery item…" },
    restore: {
      text: "The target database is not empty any more. Review the plan again and confirm replacing it.",
      goto: "review",
      label: "Review the plan again",
    },
  }),
  arbitrary_sql: failed("The backup runs SQL pg_dump never writes", {
    offerRetry: false,
    restore: {
      text: "The backup's SQL holds statements pg_dump never writes. Review them in the plan; restore only if you trust the file.",
      goto: "review",
      label: "Back to the plan",
    },
  }),
  validation_failed: failed(GENERIC_TITLE, {
    restore: {
      text: "The restore ran, but the row counts do not match what the backup recorded.",
      goto: null,
      label: null,
    },
  }),
  wrong_key: failed("The key or passphrase does not open it", {
    offerRetry: false,
    restore: {
      text: "The archive is encrypted and the key or passphrase given does not open it. Choose the backup again with the right one.",
      goto: "source",
      label: "Choose the backup again",
    },
  }),
  secrets: failed("The keychain failed"),
  keychain_unavailable: failed("The keychain is unavailable", { restore: RESTORE_TARGET }),
  catalog: failed("A local error occurred"),
  io: failed("A local error occurred"),
  interrupted: failed("The job was interrupted"),
  conflict: failed("The file is not what Offsite recorded"),
  internal: failed(GENERIC_TITLE),
};

/** A code this build does not know (a newer engine): shown as a plain failure. */
const UNKNOWN: ErrorDisplay = failed(GENERIC_TITLE);

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
