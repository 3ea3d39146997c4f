// The restore wizard as a pure state machine: one step per screen, Back keeps every choice, and
// nothing changes a database before the explicit "Restore" on the review step. The component
// (RestoreWizard.tsx) runs the effects (commands, job events) and feeds their results back here.
import type {
  BackupRow,
  ConfigRestore,
  ErrorPayload,
  JobProgress,
  DatabaseOptions,
  DatabasePlan,
  DatabaseTo,
  RestorePlan,
  RestoreReport,
  RestoreRequest,
  Manifest,
  Selection,
  StorageRestore,
  TlsMode,
  VerifyReport,
} from "../bindings";
import { errorDisplay } from "../ipc/errorDisplay";
import { parseBuckets } from "../project/backupTypes";

export const STEPS = ["source", "verify", "target", "review", "run", "report"] as const;
export type Step = (typeof STEPS)[number];

export const STEP_TITLES: Record<Step, string> = {
  source: "Choose a backup",
  verify: "Check the archive",
  target: "Choose where to restore",
  review: "Review the plan",
  run: "Restoring",
  report: "Report",
};

/** The archive to restore: one of the project's backups, or a path typed in. */
export type Source = { kind: "backup"; backupId: string; path: string } | { kind: "path"; path: string };

/**
 * A database on a server, named by its parts (as the glossary names targets). `create`: when the
 * database does not exist yet, the restore creates it empty first (the check says whether the
 * role may).
 */
export type ServerTarget = {
  kind: "server";
  host: string;
  port: string;
  user: string;
  database: string;
  tls: TlsMode;
  password: string;
  create?: boolean;
};

/** Where to restore: this project's database, another saved project, a database on a server (or a pasted URL). */
export type Target =
  | { kind: "this" }
  | { kind: "project"; name: string }
  | ServerTarget
  | UrlTarget;

/** A database by a pasted connection URL (`create` as for [`ServerTarget`]). */
export type UrlTarget = { kind: "url"; url: string; password: string; create?: boolean };

/** An empty server target: the usual port, TLS when the server offers it. */
export const NEW_SERVER_TARGET: ServerTarget = {
  kind: "server",
  host: "",
  port: "5432",
  user: "",
  database: "",
  tls: "prefer",
  password: "",
};

/** A target typed in (a server's parts, a URL): planned only when the user asks for the check. */
export function typedTarget(t: Target | null): t is ServerTarget | UrlTarget {
  return t?.kind === "server" || t?.kind === "url";
}

/** Whether the restore creates the target database when it is missing (the target's box). */
export function createsDatabase(s: WizardState): boolean {
  return typedTarget(s.target) && s.target.create === true;
}

export type Verify =
  | { status: "idle" }
  | { status: "running"; jobId: string | null; progress: JobProgress | null }
  | { status: "done"; report: VerifyReport }
  | { status: "error"; error: ErrorPayload };

export type Plan =
  | { status: "idle" }
  | { status: "loading"; seq: number }
  | { status: "ready"; seq: number; plan: RestorePlan }
  | { status: "error"; seq: number; error: ErrorPayload };

export type Run =
  | { status: "idle" }
  | { status: "running"; jobId: string | null; startedAt: number; progress: JobProgress | null; cancelling: boolean }
  | {
      status: "finished";
      startedAt: number;
      finishedAt: number;
      report: RestoreReport | null;
      error: ErrorPayload | null;
    };

/** The storage component as chosen: into a saved project's storage or a folder, which buckets, how. */
export type StorageChoice = {
  /** The saved project whose storage is written (when not into a folder). */
  project: string;
  toFolder: boolean;
  folder: string;
  allBuckets: boolean;
  /** The buckets, comma separated, when not all. */
  buckets: string;
  mirror: boolean;
  overwrite: boolean;
};

/** The configuration component as chosen: the project written to and the settings written back. */
/**
 * The configuration written back: settings (`file:setting`) and Edge Functions (slugs) ticked in the
 * review, and whether the project's Vault root key is set to the backup's.
 */
export type ConfigChoice = { project: string; settings: string[]; functions?: string[]; vaultKey?: boolean };

/**
 * What is restored: the database (unless the archive has none, or it is unticked), and beside it
 * storage and configuration (null: not restored).
 */
export type Components = { database: boolean; storage: StorageChoice | null; config: ConfigChoice | null };

/** Whether an archive holds a database (a storage or configuration backup does not). */
export function archiveHasDatabase(m: Manifest | null | undefined): boolean {
  if (!m) return true;
  const counts = m.counts ?? {};
  if ("database" in counts || "database" in (m.components ?? {})) return true;
  return !("storage" in counts || m.storage || "config" in counts);
}

/** The word a storage mirror asks to be typed. */
export const MIRROR_WORD = "mirror";

export type WizardState = {
  step: Step;
  /** The project the wizard was opened from. */
  project: string;
  source: Source | null;
  /** What is typed into the path field (kept across Back/Next). */
  pathInput: string;
  verify: Verify;
  target: Target | null;
  /**
   * A typed target (a server, a URL) is planned only once asked ("Check the target"): not at
   * every keystroke. Set by the check, cleared when the target changes (but not when only its
   * "create it" box does: that plans again at once).
   */
  targetChecked: boolean;
  plan: Plan;
  /** Sequence number of the newest plan request (older answers are ignored). */
  planSeq: number;
  /** What the user typed to confirm replacing a non-empty database. */
  consent: string;
  /** What the user typed to allow a storage mirror to delete objects. */
  mirrorConsent: string;
  /** Storage and configuration, restored in the same job as the database. */
  components: Components;
  safetyBackup: boolean;
  createRoles: boolean;
  /** Restore objects of roles the connecting role cannot act for as its own. */
  noOwner: boolean;
  /**
   * Restore as this (less privileged) role of the target, so the backup's code runs with its
   * rights only; empty: as the connecting role.
   */
  asRole: string;
  /**
   * Consent to run the statements of the backup's SQL that pg_dump never writes (the plan's
   * `arbitrary_sql`): its own checkbox, apart from replacing. Cleared with the plan.
   */
  allowArbitrarySql: boolean;
  /** What of the backup to restore (no tables: everything). */
  selection: Selection;
  /**
   * How the selection is being chosen (whole schemas or tables) and the table filter. Kept here,
   * not in the picker: every change re-plans, and the picker is not shown while the plan is made.
   */
  selectionView: SelectionView;
  run: Run;
};

export type Action =
  | { type: "next" }
  | { type: "back" }
  | { type: "goto"; step: Step }
  | { type: "chooseBackup"; backupId: string; path: string }
  | { type: "typePath"; path: string }
  | { type: "verifyStarted" }
  | { type: "verifyJob"; jobId: string }
  | { type: "verifyProgress"; progress: JobProgress }
  | { type: "verifyDone"; report: VerifyReport }
  | { type: "verifyFailed"; error: ErrorPayload }
  | { type: "chooseTarget"; target: Target }
  | { type: "checkTarget" }
  | { type: "planStarted" }
  | { type: "planLoaded"; seq: number; plan: RestorePlan }
  | { type: "planFailed"; seq: number; error: ErrorPayload }
  | { type: "typeConsent"; text: string }
  | { type: "typeMirrorConsent"; text: string }
  | { type: "setDatabase"; on: boolean }
  | { type: "setStorage"; choice: StorageChoice | null }
  | { type: "setConfig"; choice: ConfigChoice | null }
  | { type: "setSafetyBackup"; on: boolean }
  | { type: "setCreateRoles"; on: boolean }
  | { type: "setNoOwner"; on: boolean }
  | { type: "setAsRole"; role: string }
  | { type: "setAllowArbitrarySql"; on: boolean }
  | { type: "setSelection"; selection: Selection }
  | { type: "setSelectionView"; view: Partial<SelectionView> }
  | { type: "confirm"; now: number }
  | { type: "runJob"; jobId: string }
  | { type: "runProgress"; progress: JobProgress }
  | { type: "cancelRequested" }
  | { type: "cancelRefused" }
  | { type: "runFinished"; now: number; report: RestoreReport | null; error: ErrorPayload | null }
  | { type: "putBack" };

/** How the selection is being chosen: everything, whole schemas or tables; the tables' filter. */
export type SelectionView = { mode: "all" | "schemas" | "tables"; filter: string };

/** The whole backup. */
export const EVERYTHING: Selection = { schemas: [], tables: [], what: "both", into_schema: null };

/** A table as the restore takes it: both parts quoted, so any name is read back exactly. */
export function tableArg(schema: string, table: string): string {
  const q = (x: string) => `"${x.replace(/"/g, '""')}"`;
  return `${q(schema)}.${q(table)}`;
}

export function initialState(project: string): WizardState {
  return {
    step: "source",
    project,
    source: null,
    pathInput: "",
    verify: { status: "idle" },
    target: null,
    targetChecked: false,
    plan: { status: "idle" },
    planSeq: 0,
    consent: "",
    mirrorConsent: "",
    components: { database: true, storage: null, config: null },
    safetyBackup: true,
    createRoles: false,
    noOwner: false,
    asRole: "",
    allowArbitrarySql: false,
    selection: EVERYTHING,
    selectionView: { mode: "all", filter: "" },
    run: { status: "idle" },
  };
}

export function stepIndex(step: Step): number {
  return STEPS.indexOf(step);
}

export function sourcePath(s: WizardState): string | null {
  return s.source?.path ?? null;
}

/** The target as the commands take it; null while incomplete (an empty URL). */
export function restoreTo(s: WizardState): DatabaseTo | null {
  const t = s.target;
  if (!t) return null;
  switch (t.kind) {
    case "this":
      return { project: s.project };
    case "project":
      return t.name ? { project: t.name } : null;
    case "url": {
      const url = t.url.trim();
      if (!url) return null;
      return { connection: { connection: { url }, tls: null, password: t.password === "" ? null : t.password } };
    }
    case "server":
      return serverTo(t);
  }
}

/**
 * A database on a server as the commands take it (the password beside it, never in it); null
 * while a part is missing or the port is no port. The restore and the row recovery share it.
 */
export function serverTo(t: Omit<ServerTarget, "kind" | "create">): DatabaseTo | null {
  const [host, user, database, port] = [t.host.trim(), t.user.trim(), t.database.trim(), t.port.trim()];
  if (!host || !user || !database) return null;
  const n = port === "" ? null : Number(port);
  if (n !== null && !(Number.isInteger(n) && n > 0 && n < 65536)) return null;
  return {
    connection: {
      connection: { fields: { host, port: n, user, database } },
      tls: t.tls,
      password: t.password === "" ? null : t.password,
    },
  };
}

/**
 * Choices for planning. The plan is asked for as if replacing and running SQL pg_dump never
 * writes were allowed, so its blockers are the ones consent cannot lift (missing roles, …);
 * consent itself is the typed database name and the arbitrary-SQL checkbox.
 */
export function planChoices(s: WizardState): DatabaseOptions {
  return {
    replace: true,
    no_safety_backup: !s.safetyBackup,
    create_roles: s.createRoles,
    create_database: createsDatabase(s),
    no_owner: s.noOwner,
    ...(s.asRole ? { as_role: s.asRole } : {}),
    selection: s.selection,
    allow_arbitrary_sql: true,
  };
}

/** Choices for the restore itself: replace only when the plan saw a non-empty target. */
export function runChoices(s: WizardState): DatabaseOptions {
  const plan = readyPlan(s);
  return {
    replace: plan ? !plan.target_empty : false,
    no_safety_backup: !s.safetyBackup,
    create_roles: s.createRoles,
    create_database: createsDatabase(s),
    no_owner: s.noOwner,
    ...(s.asRole ? { as_role: s.asRole } : {}),
    selection: s.selection,
    allow_arbitrary_sql: s.allowArbitrarySql,
  };
}

/** The storage section of the request; null while incomplete (a folder not typed). */
export function storageSection(c: StorageChoice): StorageRestore | null {
  const folder = c.folder.trim();
  if (c.toFolder && !folder) return null;
  if (!c.toFolder && !c.project) return null;
  return {
    to: c.toFolder ? { kind: "folder", value: folder } : { kind: "project", value: c.project },
    buckets: c.allBuckets ? { kind: "all" } : parseBuckets(c.buckets),
    bucket_map: {},
    mirror: c.mirror,
    overwrite: c.overwrite,
  };
}

function configSection(c: ConfigChoice): ConfigRestore {
  return { project: c.project, settings: c.settings, functions: c.functions ?? [], vault_key: c.vaultKey ?? false };
}

/**
 * The ONE restore request of the wizard: the database into the chosen target, and beside it every
 * component chosen (storage, configuration). Null while a chosen section is incomplete.
 */
export function restoreRequest(s: WizardState, options: DatabaseOptions): RestoreRequest | null {
  const archive = s.source?.path;
  if (!archive) return null;
  const { database, storage, config } = s.components;
  const to = database ? restoreTo(s) : null;
  if (database && !to) return null;
  const storageReq = storage ? storageSection(storage) : null;
  if (storage && !storageReq) return null;
  if (!to && !storageReq && !config) return null; // nothing chosen
  return {
    archive,
    database: to ? { to, options } : null,
    storage: storageReq,
    config: config ? configSection(config) : null,
  };
}

/**
 * The backup step 1 starts on (issue 44): the newest verified backup, else the newest one not
 * known damaged or missing; none when the project has none.
 */
export function preselectedBackup(backups: readonly BackupRow[]): BackupRow | null {
  return (
    backups.find((b) => b.status === "verified") ?? backups.find((b) => b.status === "unverified") ?? null
  );
}

/** The one plan, when it is made. */
export function readyRestorePlan(s: WizardState): RestorePlan | null {
  return s.plan.status === "ready" ? s.plan.plan : null;
}

/** The plan's database section. */
export function readyPlan(s: WizardState): DatabasePlan | null {
  return readyRestorePlan(s)?.database ?? null;
}

/** Replacing a non-empty database needs its name typed exactly. */
export function needsConsent(s: WizardState): boolean {
  const plan = readyPlan(s);
  return plan !== null && !plan.target_empty;
}

export function consentGiven(s: WizardState): boolean {
  const plan = readyPlan(s);
  if (!plan) return readyRestorePlan(s) !== null; // no database section: nothing to replace
  return plan.target_empty || s.consent.trim() === plan.target_database;
}

/** The backup's SQL holds statements pg_dump never writes: they need their own checkbox. */
export function needsArbitrarySqlConsent(s: WizardState): boolean {
  const plan = readyPlan(s);
  return plan !== null && plan.arbitrary_sql_total > 0;
}

/** A storage mirror deletes objects: it needs the word typed. */
export function needsMirrorConsent(s: WizardState): boolean {
  return readyRestorePlan(s)?.storage?.mirror === true;
}

/** Every section's blockers, in one list (database, then storage, then configuration). */
export function blockers(s: WizardState): string[] {
  const p = readyRestorePlan(s);
  if (!p) return [];
  return [...(p.database?.blockers ?? []), ...(p.storage?.blockers ?? []), ...(p.config?.blockers ?? [])];
}

/** Why "Restore" is disabled (empty when it is enabled). */
export function restoreDisabledReasons(s: WizardState): string[] {
  const plan = readyPlan(s);
  if (s.plan.status === "loading") return ["The plan is being made."];
  if (!readyRestorePlan(s)) return ["There is no plan yet."];
  const reasons = blockers(s);
  if (needsMirrorConsent(s) && s.mirrorConsent.trim() !== MIRROR_WORD)
    reasons.push(`Type “${MIRROR_WORD}” to allow the storage restore to delete objects.`);
  if (needsArbitrarySqlConsent(s) && !s.allowArbitrarySql)
    reasons.push("Tick the box to run the statements pg_dump never writes, or restore another backup.");
  if (plan && !consentGiven(s)) reasons.push(`Type the database name “${plan.target_database}” to confirm replacing it.`);
  return reasons;
}

export function canRestore(s: WizardState): boolean {
  return s.step === "review" && restoreDisabledReasons(s).length === 0;
}

/** Whether Next is allowed on the current step. */
export function canNext(s: WizardState): boolean {
  switch (s.step) {
    case "source":
      return Boolean(s.source && s.source.path.trim());
    case "verify":
      // An intact archive, and something of it to restore (a storage backup: a component ticked).
      return (
        s.verify.status === "done" &&
        s.verify.report.ok &&
        (s.components.database || s.components.storage !== null || s.components.config !== null)
      );
    case "target":
      return restoreRequest(s, planChoices(s)) !== null && s.plan.status === "ready";
    default:
      return false; // review → "Restore"; run and report move by themselves
  }
}

export function canBack(s: WizardState): boolean {
  switch (s.step) {
    case "source":
      return false;
    case "run":
      return false;
    case "report":
      return s.run.status === "finished" && !succeeded(s);
    default:
      return true;
  }
}

export function succeeded(s: WizardState): boolean {
  return s.run.status === "finished" && s.run.error === null && s.run.report !== null && s.run.report.ok;
}

/** Drops the plan and the consent; an answer still on its way is then stale (ignored). */
function resetPlan(s: WizardState): WizardState {
  return {
    ...s,
    plan: { status: "idle" },
    planSeq: s.planSeq + 1,
    consent: "",
    mirrorConsent: "",
    allowArbitrarySql: false,
  };
}

function withSource(s: WizardState, source: Source | null): WizardState {
  if (s.source?.path === source?.path) return { ...s, source };
  // Another archive: its check and the plan made for it no longer apply.
  return resetPlan({ ...s, source, verify: { status: "idle" } });
}

function withoutCreate(t: Target | null): Target | null {
  if (typedTarget(t)) return { ...t, create: false };
  return t;
}

function sameTarget(a: Target | null, b: Target | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function reducer(s: WizardState, a: Action): WizardState {
  switch (a.type) {
    case "next": {
      if (!canNext(s)) return s;
      const next = STEPS[stepIndex(s.step) + 1];
      return next ? { ...s, step: next } : s;
    }
    case "back": {
      if (!canBack(s)) return s;
      // From a failed run: the target may have changed meanwhile, so the plan is made again.
      if (s.step === "report") return { ...resetPlan(s), step: "review", run: { status: "idle" } };
      const prev = STEPS[stepIndex(s.step) - 1];
      return prev ? { ...s, step: prev } : s;
    }
    case "goto": {
      // Only backwards, to a step already passed, and never from a running restore.
      if (s.step === "run" || stepIndex(a.step) >= stepIndex(s.step) || stepIndex(a.step) > stepIndex("review")) return s;
      if (s.step === "report" && succeeded(s)) return s;
      const base = s.step === "report" ? { ...resetPlan(s), run: { status: "idle" } as Run } : s;
      return { ...base, step: a.step };
    }
    case "chooseBackup":
      if (s.step !== "source") return s;
      return withSource(s, { kind: "backup", backupId: a.backupId, path: a.path });
    case "typePath": {
      if (s.step !== "source") return s;
      const path = a.path.trim();
      return { ...withSource(s, path ? { kind: "path", path } : null), pathInput: a.path };
    }
    case "verifyStarted":
      if (!s.source) return s;
      return { ...s, verify: { status: "running", jobId: null, progress: null } };
    case "verifyJob":
      return s.verify.status === "running" ? { ...s, verify: { ...s.verify, jobId: a.jobId } } : s;
    case "verifyProgress":
      return s.verify.status === "running" ? { ...s, verify: { ...s.verify, progress: a.progress } } : s;
    case "verifyDone": {
      if (s.verify.status !== "running") return s;
      // An archive without a database (a storage or configuration backup) restores what it holds.
      const database = archiveHasDatabase(a.report.manifest);
      return { ...s, verify: { status: "done", report: a.report }, components: { ...s.components, database } };
    }
    case "verifyFailed":
      return s.verify.status === "running" ? { ...s, verify: { status: "error", error: a.error } } : s;
    case "chooseTarget": {
      if (s.step !== "target") return s;
      if (sameTarget(s.target, a.target)) return s;
      const onlyCreate = sameTarget(withoutCreate(s.target), withoutCreate(a.target));
      return resetPlan({ ...s, target: a.target, targetChecked: onlyCreate && s.targetChecked });
    }
    case "checkTarget":
      return s.step === "target" ? { ...resetPlan(s), targetChecked: true } : s;
    case "planStarted": {
      const seq = s.planSeq + 1;
      return { ...s, planSeq: seq, plan: { status: "loading", seq } };
    }
    case "planLoaded":
      if (a.seq !== s.planSeq) return s; // an answer to an older question
      return { ...s, plan: { status: "ready", seq: a.seq, plan: a.plan } };
    case "planFailed":
      if (a.seq !== s.planSeq) return s;
      return { ...s, plan: { status: "error", seq: a.seq, error: a.error } };
    case "typeConsent":
      return s.step === "review" ? { ...s, consent: a.text } : s;
    case "typeMirrorConsent":
      return s.step === "review" ? { ...s, mirrorConsent: a.text } : s;
    // What is restored beside the database: chosen before the run; a change makes the plan again
    // (an answer still on its way is stale). The typed consents stay: the targets are the same.
    case "setDatabase":
    case "setStorage":
    case "setConfig": {
      if (s.step === "run" || s.step === "report") return s;
      const components =
        a.type === "setDatabase"
          ? { ...s.components, database: a.on }
          : a.type === "setStorage"
            ? { ...s.components, storage: a.choice }
            : { ...s.components, config: a.choice };
      if (JSON.stringify(components) === JSON.stringify(s.components)) return s;
      return { ...s, components, plan: { status: "idle" }, planSeq: s.planSeq + 1 };
    }
    // A changed choice changes the plan (safety backup, blockers): it is made again; the typed
    // consent stays, since the target is the same.
    case "setSafetyBackup":
      return s.step === "review" && s.safetyBackup !== a.on ? { ...s, safetyBackup: a.on, plan: { status: "idle" } } : s;
    case "setCreateRoles":
      return s.step === "review" && s.createRoles !== a.on ? { ...s, createRoles: a.on, plan: { status: "idle" } } : s;
    case "setSelection":
      return s.step === "review" && JSON.stringify(s.selection) !== JSON.stringify(a.selection)
        ? { ...s, selection: a.selection, plan: { status: "idle" } }
        : s;
    case "setSelectionView":
      return s.step === "review" ? { ...s, selectionView: { ...s.selectionView, ...a.view } } : s;
    // Consent only: the plan does not change (it was made as if allowed).
    case "setAllowArbitrarySql":
      return s.step === "review" ? { ...s, allowArbitrarySql: a.on } : s;
    case "setAsRole":
      return s.step === "review" && s.asRole !== a.role.trim()
        ? { ...s, asRole: a.role.trim(), plan: { status: "idle" } }
        : s;
    case "setNoOwner":
      return s.step === "review" && s.noOwner !== a.on ? { ...s, noOwner: a.on, plan: { status: "idle" } } : s;
    case "confirm":
      if (!canRestore(s)) return s;
      return {
        ...s,
        step: "run",
        run: { status: "running", jobId: null, startedAt: a.now, progress: null, cancelling: false },
      };
    case "runJob":
      return s.run.status === "running" ? { ...s, run: { ...s.run, jobId: a.jobId } } : s;
    case "runProgress":
      return s.run.status === "running" ? { ...s, run: { ...s.run, progress: a.progress } } : s;
    case "cancelRequested":
      return s.run.status === "running" ? { ...s, run: { ...s.run, cancelling: true } } : s;
    case "cancelRefused":
      return s.run.status === "running" ? { ...s, run: { ...s.run, cancelling: false } } : s;
    case "runFinished":
      if (s.run.status !== "running") return s;
      return {
        ...s,
        step: "report",
        run: { status: "finished", startedAt: s.run.startedAt, finishedAt: a.now, report: a.report, error: a.error },
      };
    case "putBack":
      return putBack(s);
  }
}

/** The safety backup the finished restore took of its target as it was (null: none was taken). */
export function safetyBackupOf(s: WizardState): string | null {
  return s.run.status === "finished" ? (s.run.report?.database?.safety_backup ?? null) : null;
}

/**
 * "Put back the safety backup": the same wizard again, for the safety backup into the same
 * target — checked, planned (replacing: the name typed again) and restored like any backup, with
 * a safety backup of what this restore wrote. The target exists now: nothing is created.
 */
function putBack(s: WizardState): WizardState {
  const path = safetyBackupOf(s);
  if (s.step !== "report" || path === null) return s;
  const fresh = initialState(s.project);
  return {
    ...fresh,
    step: "verify",
    source: { kind: "path", path },
    pathInput: path,
    target: withoutCreate(s.target),
    targetChecked: typedTarget(s.target),
    noOwner: s.noOwner,
    asRole: s.asRole,
  };
}

/** What the report suggests after a failure, by error code (never by message text): the restore
 * column of the one error table (ipc/errorDisplay.ts). */
export type Advice = { text: string; goto: Step | null; label: string | null };

export function failureAdvice(code: string, oneTransaction = true): Advice {
  const advice = errorDisplay(code).restore;
  // A cancelled pg_restore -j is not rolled back but undone: say so, not the usual promise.
  if (code === "cancelled" && !oneTransaction) {
    return {
      ...advice,
      text: "The restore was cancelled. It was not one transaction (it restored in parallel): what it had created was dropped again, so the target is empty as it was before.",
    };
  }
  return advice;
}
