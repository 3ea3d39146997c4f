// Test data shaped like the generated bindings' types.
import type { BackupRecord, ConnectionReport, ProjectSummary } from "../bindings";

export function backup(i: number, over: Partial<BackupRecord> = {}): BackupRecord {
  const t = new Date(Date.UTC(2026, 10, 21, 12, 0, 0) - i * 3600_000).toISOString();
  return {
    id: `backup-${i}`,
    project_id: "p-shop",
    path: `/home/ada/.local/share/offsite/backups/shop/shop_${i}_database.tar.gz`,
    size: 1024 * 1024 * (i + 1),
    sha256: "ab".repeat(32),
    backup_type: "database",
    created_at: t,
    verified_at: null,
    status: "unverified",
    verify_problem: null,
    manifest_json: null,
    job_id: null,
    origin: "local",
    ...over,
  };
}

export function summary(name: string, last: BackupRecord | null, count = last ? 1 : 0): ProjectSummary {
  return {
    project: {
      id: `p-${name}`,
      name,
      db_url: `postgres://postgres@db.${name}.example.com:5432/postgres?sslmode=require`,
      tls_mode: "require",
      backup_dir: null,
      created_at: "2026-11-01T10:00:00Z",
    },
    last_backup: last,
    backup_count: count,
  };
}

export const report: ConnectionReport = {
  server_version: "16.4",
  database_size: 42 * 1024 * 1024,
  user: "backup",
  superuser: false,
  unreadable: ["public.secrets"],
  can_dump: false,
  pg_dump: { dir: "/usr/lib/postgresql/16/bin", version_line: "pg_dump (PostgreSQL) 16.4", major: 16, minor: 4 },
  pg_dump_problem: null,
};
