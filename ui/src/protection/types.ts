// What the protection screens (encryption, destinations, the 3-2-1 view) show and take. The
// components draw these; `api.ts` maps the engine's generated types onto them and back, so the
// components never decide a rule themselves (the engine validates recipients, tests a
// destination, counts copies): they collect input and show results and error codes.
import type { ErrorPayload, LockMode, RetentionPolicy } from "../bindings";
import type { Call } from "../ipc/call";

export type EncryptionMode = "off" | "passphrase" | "key";

export const ENCRYPTION_MODE_LABEL: Record<EncryptionMode, string> = {
  off: "Off",
  passphrase: "Passphrase",
  key: "Generated key",
};

/** A project's (or the default) encryption as the engine reports it. */
export type EncryptionView = {
  mode: EncryptionMode;
  /** The generated key's public half (`age1…`), when the mode is `key`. */
  publicKey: string | null;
  /** Extra recipients (age or SSH public keys). */
  recipients: string[];
  /** The user entered the recovery key back: encrypted backups may run. */
  confirmed: boolean;
};

export type EncryptionRequest = {
  mode: EncryptionMode;
  /** Only with `passphrase`. */
  passphrase: string | null;
  recipients: string[];
};

/** What setting it up returns: the settings and, once, the recovery key to keep. */
export type EncryptionSetupResult = { settings: EncryptionView; recoveryItem: string | null };

export type EncryptionApi = {
  set: (r: EncryptionRequest) => Promise<Call<EncryptionSetupResult>>;
  confirm: (item: string) => Promise<Call<EncryptionView>>;
  /** Save the item to a file the user picks (a native dialog); `false`: cancelled. */
  saveFile?: (item: string) => Promise<Call<boolean>>;
};

export type DestinationKind = "folder" | "s3" | "rclone";

export const DESTINATION_KIND_LABEL: Record<DestinationKind, string> = {
  folder: "Folder",
  s3: "S3-compatible bucket",
  rclone: "rclone remote",
};

/** A destination's state as the project page shows it. */
export type DestinationState = "ok" | "pending" | "offline" | "failing";

export const DESTINATION_STATE_LABEL: Record<DestinationState, string> = {
  ok: "Up to date",
  pending: "Copies pending",
  offline: "Offline",
  failing: "Failing",
};

export type DestinationView = {
  name: string;
  kind: DestinationKind;
  /** Folder path, `s3://bucket/prefix` or `remote:path`. */
  location: string;
  /** The retention rules in words (`null`: keeps everything). */
  retention: string | null;
  state: DestinationState;
  /** The oldest pending copy was made (ISO time), when copies wait. */
  pendingSince: string | null;
  /** The last error's message, when failing. */
  problem: string | null;
  /**
   * Its copy does not count as another medium (the engine's `same_medium_as`: a folder on the
   * disk of the local backups): "Up to date" is then amber, not green (screens-light-05).
   */
  sameMedium?: boolean;
  /** An S3 destination's Object Lock and storage class in words (absent or null: neither). */
  protection?: string | null;
  /** An S3 destination's settings as saved, for changing them (absent: not S3). */
  s3Protection?: S3ProtectionFields;
};

/** An S3 destination's Object Lock and storage class, as the form holds them. */
export type S3ProtectionFields = {
  /** "": no lock. */
  objectLock: "" | LockMode;
  /** Empty: the days follow the destination's retention. */
  lockDays: string;
  /** "": the bucket's default class. */
  storageClass: string;
};

export type S3DestinationFields = S3ProtectionFields & {
  endpoint: string;
  region: string;
  bucket: string;
  prefix: string;
  accessKeyId: string;
  secret: string;
  pathStyle: boolean;
};

/** What the add form collects. */
export type DestinationForm = {
  name: string;
  kind: DestinationKind;
  folder: string;
  s3: S3DestinationFields;
  remote: string;
  /** A folder kept away from this computer (a drive taken home) counts as offsite. */
  offsite: boolean;
  retention: RetentionPolicy;
};

/** What "Test" found. */
export type DestinationTest = {
  writable: boolean;
  offline: boolean;
  /** Free bytes, when the destination knows. */
  freeBytes: number | null;
  detail: string | null;
  /** On the disk of the local backups: writable, but not a separate copy (the engine's words). */
  sameDisk?: string | null;
};

export type DestinationsApi = {
  add: (form: DestinationForm) => Promise<Call<unknown>>;
  remove: (name: string) => Promise<Call<unknown>>;
  test: (name: string) => Promise<Call<DestinationTest>>;
  /** Change an S3 destination's Object Lock and storage class (absent: the app cannot yet). */
  setProtection?: (name: string, f: S3ProtectionFields) => Promise<Call<unknown>>;
};

/** A copy's state (the catalog's `backup_copies.state`): there, or waiting for its destination. */
export type CopyState = "stored" | "pending";

export const COPY_STATE_LABEL: Record<CopyState, string> = {
  stored: "Stored",
  pending: "Pending",
};

export type CopyView = {
  destination: string;
  kind: DestinationKind | null;
  state: CopyState;
  /** Checked against its recorded SHA-256 (a deep check). */
  verified: boolean;
  /** When it was uploaded (ISO), or since when it waits. */
  at: string | null;
  problem: string | null;
};

/** Where one backup lives. */
export type BackupLocations = {
  backupId: string;
  localPresent: boolean;
  copies: CopyView[];
};

/** The project's 3-2-1 state at a glance. */
export type ProtectionView = {
  /** Copies of the newest backup, the local one included. */
  copies: number;
  /** Distinct media (local disk, another disk, a bucket…). */
  media: number;
  /** Whether one copy is offsite. */
  offsite: boolean;
  /** Destinations with copies waiting, with since when. */
  pending: { destination: string; since: string }[];
};

export type LoadState<T> = { status: "loading" } | { status: "ready"; data: T } | { status: "error"; error: ErrorPayload };
