// Test data for the restore wizard, shaped like the generated bindings' types.
import type {
  ConfigPlan,
  DatabasePlan,
  DatabaseReport,
  JobFinished,
  RestorePlan,
  RestoreReport,
  StoragePlan,
  VerifyReport,
} from "../bindings";

export const ARCHIVE = "/home/ada/.local/share/offsite/backups/shop/shop_20261121_120000_database.tar.gz";

export function verifyReport(over: Partial<VerifyReport> = {}): VerifyReport {
  return {
    archive: ARCHIVE,
    ok: true,
    file_sha256: "cd".repeat(32),
    sidecar: { status: "match" },
    members: [
      {
        name: "database.dump",
        expected_size: 4096,
        actual_size: 4096,
        expected_sha256: "ab".repeat(32),
        actual_sha256: "ab".repeat(32),
        ok: true,
        problem: null,
        problem_kind: null,
      },
      {
        name: "globals.sql",
        expected_size: 120,
        actual_size: 120,
        expected_sha256: "ef".repeat(32),
        actual_sha256: "ef".repeat(32),
        ok: true,
        problem: null,
        problem_kind: null,
      },
    ],
    first_bad: null,
    bytes_verified: 4216,
    problems: [],
    manifest: null,
    ...over,
  };
}

export function corruptReport(): VerifyReport {
  const r = verifyReport();
  const [dump, globals] = r.members;
  return {
    ...r,
    ok: false,
    first_bad: "database.dump",
    problems: ["database.dump: SHA-256 differs from the manifest"],
    members: [
      { ...dump!, actual_sha256: "00".repeat(32), ok: false, problem: "SHA-256 differs", problem_kind: "integrity" },
      globals!,
    ],
  };
}

export function plan(over: Partial<DatabasePlan> = {}): DatabasePlan {
  return {
    archive: ARCHIVE,
    backup_id: "b-1",
    project: "shop",
    created_at: "2026-11-21T12:00:00Z",
    source_server_version: "16.4",
    target: "postgres://postgres@localhost:5432/shop_copy",
    target_database: "shop_copy",
    target_server_version: "16.4",
    pg_restore: "/usr/lib/postgresql/16/bin/pg_restore",
    pg_restore_version: "pg_restore (PostgreSQL) 16.4",
    target_empty: true,
    existing: [],
    will_replace: [],
    will_replace_tables: 0,
    will_create: ["public.orders", "public.customers"],
    will_keep: [],
    will_drop: [],
    missing_roles: [],
    roles_to_create: [],
    connecting_role: "postgres",
    connecting_superuser: true,
    managed_schemas: [],
    owned_by_others: [],
    superuser_only: [],
    platform_privileges: [],
    left_out: [],
    database_missing: false,
    may_create_database: false,
    creates_database: false,
    replace: true,
    safety_backup: false,
    create_roles: false,
    no_owner: false,
    selection: null,
    backup_tables: [
      { schema: "public", table: "customers" },
      { schema: "public", table: "orders" },
    ],
    rows: 1500,
    one_transaction: true,
    blockers: [],
    warnings: [],
    arbitrary_sql: [],
    arbitrary_sql_total: 0,
    allow_arbitrary_sql: true,
    ...over,
  };
}

export const fullPlan = (): DatabasePlan =>
  plan({
    target_empty: false,
    existing: ["public.orders", "public.audit"],
    will_create: ["public.customers"],
    will_replace: ["public.orders"],
    will_replace_tables: 1,
    will_keep: ["public.audit"],
    safety_backup: true,
    warnings: ["1 table, view or function in the target is not in the backup and will be kept"],
  });

export function restoreReport(over: Partial<DatabaseReport> = {}): DatabaseReport {
  return {
    plan: plan(),
    ok: true,
    duration_ms: 65_000,
    tables: [
      { schema: "public", table: "orders", expected: 1000, actual: 1000, ok: true },
      { schema: "public", table: "customers", expected: 500, actual: 500, ok: true },
    ],
    safety_backup: null,
    ...over,
  };
}

/** The one report with the database section only. */
export function oneReport(report: DatabaseReport): RestoreReport {
  return {
    archive: report.plan.archive,
    database: report,
    storage: null,
    config: null,
    parity: null,
    ok: report.ok,
    duration_ms: report.duration_ms,
  };
}

/** A finished restore job whose one report has the database section only. */
export function restoreFinished(jobId: string, report: DatabaseReport): JobFinished {
  return { job_id: jobId, kind: "restore", ok: true, error: null, result: { kind: "restore", report: oneReport(report) } };
}

/** The one plan with the database section only. */
export function onePlan(database: DatabasePlan): RestorePlan {
  return { archive: database.archive, database, storage: null, config: null };
}

/** The storage section of a plan: two buckets, one to create; in mirror mode 4 objects deleted. */
export const storagePlan = (mirror: boolean): StoragePlan =>
  ({
    archive: ARCHIVE,
    backup_id: "b1",
    project: "shop",
    created_at: "2026-11-20T10:00:00Z",
    sources: [],
    target: "object store",
    mirror,
    overwrite: false,
    buckets: [
      {
        bucket: "avatars",
        target_bucket: "avatars",
        create: true,
        objects: 2,
        bytes: 20,
        upload: 2,
        upload_bytes: 20,
        overwrite: 0,
        identical: 0,
        keep_different: 0,
        extra: 0,
        delete: 0,
        delete_bytes: 0,
        overwrite_sample: [],
      },
      {
        bucket: "docs",
        target_bucket: "docs",
        create: false,
        objects: 1,
        bytes: 10,
        upload: 0,
        upload_bytes: 0,
        overwrite: 0,
        identical: 1,
        keep_different: 0,
        extra: 4,
        delete: mirror ? 4 : 0,
        delete_bytes: 0,
        overwrite_sample: [],
      },
    ],
    objects: 3,
    bytes: 30,
    upload: 2,
    upload_bytes: 20,
    overwrite_count: 0,
    identical: 1,
    keep_different: 0,
    delete: mirror ? 4 : 0,
    delete_bytes: 0,
    blockers: [],
    warnings: [],
  }) as unknown as StoragePlan;

export const configPlan: ConfigPlan = {
  project: "shop",
  project_ref: "abcdefghijklmnopqrst",
  diffs: [
    { file: "supabase/auth.json", setting: "site_url", archived: "https://old.example", current: "https://new.example", writable: true, redacted: false },
    { file: "supabase/auth.json", setting: "smtp_pass", archived: "[redacted]", current: "x", writable: true, redacted: true },
    { file: "supabase/functions.json", setting: "", archived: [1], current: [2], writable: false, redacted: false },
  ],
  redacted: ["supabase/auth.json:smtp_pass"],
  will_write: [],
  functions: [],
  will_deploy: [],
  vault: {
    state: "differs",
    will_set: false,
    note: "shop has another Vault root key than the backup's: the backup's Vault secrets will not decrypt there unless the key is set to the backup's (which replaces shop's own key; choose it to do so).",
  },
  blockers: [],
};

/**
 * A finished verify job as the app sends it (src-tauri `JobFinished::of`): an intact archive is a
 * success; a damaged one is a failed job (code `integrity`, as the catalog records it) that still
 * carries the report saying what is damaged.
 */
export function verifyFinished(jobId: string, report: VerifyReport, backupId: string | null = "backup-0"): JobFinished {
  return {
    job_id: jobId,
    kind: "verify",
    ok: report.ok,
    error: report.ok
      ? null
      : {
          code: "integrity",
          message: `the archive ${report.archive.split("/").pop()} is damaged${report.first_bad ? `: first damaged file ${report.first_bad}` : ""}`,
          hint: "do not restore from it: verify another backup, fetch a copy from a destination (`offsite copies PROJECT` lists them), or take a new backup",
          retryable: false,
        },
    result: { kind: "verify", backup_id: backupId, report },
  };
}
