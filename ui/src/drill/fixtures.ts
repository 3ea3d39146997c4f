import type { DrillReport } from "../bindings";

/** A passed drill's report as the engine writes it. */
export function reportFixture(over: Partial<DrillReport> = {}): DrillReport {
  return {
    format: 1,
    drill_id: "d-01",
    project: "shop",
    backup_id: "b-42",
    archive_name: "shop-20261124T0400Z.tar.gz",
    archive_sha256: "9f".repeat(32),
    backup_created_at: "2026-11-24T04:00:00Z",
    started_at: "2026-11-24T05:00:00Z",
    finished_at: "2026-11-24T05:04:00Z",
    source_server_version: "15.18",
    target: { kind: "throwaway", server_version: "PostgreSQL 16.4", location: "private socket" },
    checks: [
      { id: "verify", title: "Archive verifies", status: "passed", expected: null, actual: null, detail: null },
      {
        id: "table:public.orders",
        title: "Table public.orders: rows and content",
        status: "passed",
        expected: "1204 rows, sha256 9f12…",
        actual: "1204 rows, sha256 9f12…",
        detail: null,
      },
      {
        id: "table:public.events",
        title: "Table public.events: rows and content",
        status: "not_comparable",
        expected: "10 rows",
        actual: "10 rows",
        detail: "no unique order: row count compared instead",
      },
    ],
    verdict: "passed",
    rto_seconds: 240,
    archive_bytes: 1048576,
    restored_database_bytes: 8388608,
    rpo_hours: null,
    ran_by: { hostname: "laptop", os: "linux x86_64", offsite_version: "offsite 0.1.0", pg_restore: "pg_restore (PostgreSQL) 16.4" },
    ...over,
  };
}
