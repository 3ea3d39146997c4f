-- Offsite catalog, version 22: the canary, notes and pins (issue 47).
--
-- backups.suspicious: NULL, or a JSON array of reasons (`public.orders: 120,431 → 12 rows`, …):
-- the canary compared the backup with the previous good backup of the same project and type
-- (`backups.compared_with`, that backup's id; no foreign key: it may be deleted later) and found
-- a drop past the project's thresholds. A suspicious backup is kept by retention.
-- backups.note: the text given with `offsite backup P --note` (or in the app), NULL when none.
-- backups.started_by: the OS user who started a manual backup (NULL for scheduled ones).
-- backups.pinned: 1 when `offsite pin` keeps it through every retention.
ALTER TABLE backups ADD COLUMN suspicious TEXT CHECK (suspicious IS NULL OR json_valid(suspicious));
ALTER TABLE backups ADD COLUMN compared_with TEXT;
ALTER TABLE backups ADD COLUMN note TEXT;
ALTER TABLE backups ADD COLUMN started_by TEXT;
ALTER TABLE backups ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1));

-- canary_thresholds: a project's own thresholds (absent: the defaults, archive 50 % smaller, a
-- table losing 90 % of its rows). Percentages 1–100.
CREATE TABLE canary_thresholds (
    project_id        TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    archive_drop_pct  INTEGER NOT NULL CHECK (archive_drop_pct BETWEEN 1 AND 100),
    table_drop_pct    INTEGER NOT NULL CHECK (table_drop_pct BETWEEN 1 AND 100),
    updated_at        TEXT NOT NULL
);
