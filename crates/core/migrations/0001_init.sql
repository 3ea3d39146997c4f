-- Offsite catalog, version 1: projects, their backups (each local copy) and jobs.
-- Times are RFC 3339 UTC strings ("2024-05-01T10:00:00.000Z"); ids are UUID v4 strings.
-- Never store a secret in this database: passwords live in the OS keychain.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY NOT NULL,
    -- Unique regardless of case: archive file names start with it, and some file systems
    -- (macOS, Windows) do not tell "Shop" from "shop".
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    -- postgres://user@host:port/db, never with a password.
    db_url      TEXT NOT NULL,
    tls_mode    TEXT NOT NULL,
    backup_dir  TEXT,
    created_at  TEXT NOT NULL
);

CREATE TABLE jobs (
    id            TEXT PRIMARY KEY NOT NULL,
    project_id    TEXT REFERENCES projects(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,           -- backup | verify | restore | ...
    state         TEXT NOT NULL,           -- running | cancelling | cancelled | succeeded | failed
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    error_code    TEXT,
    error_message TEXT,
    error_hint    TEXT,
    backup_id     TEXT REFERENCES backups(id) ON DELETE SET NULL
);

CREATE TABLE backups (
    id            TEXT PRIMARY KEY NOT NULL,
    project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    -- Canonical absolute path of the archive file.
    path          TEXT NOT NULL UNIQUE,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    backup_type   TEXT NOT NULL,           -- full | database | storage | config
    created_at    TEXT NOT NULL,
    verified_at   TEXT,
    status        TEXT NOT NULL DEFAULT 'unverified',  -- unverified | verified | corrupt | missing
    manifest_json TEXT,
    job_id        TEXT REFERENCES jobs(id) ON DELETE SET NULL
);

CREATE INDEX backups_by_project ON backups(project_id, created_at);
CREATE INDEX jobs_by_project ON jobs(project_id, started_at);
