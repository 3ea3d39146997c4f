-- Offsite catalog, version 5: the copies of a backup.
--
-- `backups.path` (unique) names one file: the archive in the project's backup folder. A backup will
-- also be copied elsewhere (another folder, a bucket), so where a backup is kept becomes a table of
-- its own: one row per copy, with its destination ('local' for the archive's own folder, the one
-- `backups.path` names; later the id of a configured destination), its location there (a canonical
-- path or an object key), and what the last check of that copy found.
--
-- The catalog keeps the 'local' row in step with its `backups` row (added, verified, status
-- changed) in the same transaction; it goes with its backup (ON DELETE CASCADE). `backups.path`,
-- `size`, `sha256`, `status`, `verified_at` and `verify_problem` stay as they are for now.
-- No change-feed triggers yet: a local copy only changes with its backup row, which is fed; the
-- copies to other destinations add theirs.
-- (Version 3 belongs to another change.)

CREATE TABLE backup_copies (
    id              TEXT PRIMARY KEY NOT NULL,
    backup_id       TEXT NOT NULL REFERENCES backups(id) ON DELETE CASCADE,
    destination     TEXT NOT NULL,           -- 'local' | a destination's id
    location        TEXT NOT NULL,           -- canonical absolute path | object key
    size            INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'unverified',  -- unverified | verified | corrupt | missing
    verified_at     TEXT,
    verify_problem  TEXT,
    created_at      TEXT NOT NULL,           -- when the copy was recorded
    UNIQUE (destination, location)
);

CREATE INDEX backup_copies_by_backup ON backup_copies(backup_id);

-- Every backup so far has exactly one copy: its local archive. Ids are UUID v4 strings like the
-- catalog's own; the backup's time stands in for when its copy was recorded.
INSERT INTO backup_copies
    (id, backup_id, destination, location, size, sha256, status, verified_at, verify_problem, created_at)
SELECT
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
        || substr(lower(hex(randomblob(2))), 2) || '-'
        || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-'
        || lower(hex(randomblob(6))),
    id, 'local', path, size, sha256, status, verified_at, verify_problem, created_at
FROM backups;
