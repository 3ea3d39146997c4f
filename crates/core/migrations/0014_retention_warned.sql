-- Issue 27: each backup is announced once before retention removes it (the 7-day warning).
-- Written in the same transaction as the `retention_will_remove` event that names it.
CREATE TABLE notify_retention_warned (
    backup_id  TEXT PRIMARY KEY NOT NULL REFERENCES backups(id) ON DELETE CASCADE,
    warned_at  TEXT NOT NULL
);
