-- Offsite catalog, version 9: destinations, and the state of each copy there.
-- (Version 8 belongs to another change; this one does not depend on it.)
--
-- destinations: per project, zero or more places its archives are copied to besides its own
-- backup folder: a folder (an external drive, a NAS mount), an S3-compatible bucket, or an
-- rclone remote. Only what is not secret is kept here: an S3 secret access key lives in the
-- keychain (`project:<name>:destination:<dest>:s3-secret`). `offsite` marks a folder that is
-- kept away from the computer (S3 and rclone count as offsite always). A destination's own
-- retention policy (the schedules' GFS rules) is in its keep_* columns; `retention_zone` NULL
-- means it has none (it keeps every copy).
--
-- backup_copies (version 5) gets the state of a copy at a destination: `stored` (there, checked)
-- or `pending` (not there yet: the destination was unreachable or offline; retried later), when
-- it became pending, the last error, how many attempts, and when it was uploaded. The local copy
-- is always `stored`. Copies at a destination go when their destination is removed (their files
-- are left where they are).

CREATE TABLE destinations (
    id              TEXT PRIMARY KEY NOT NULL,
    project_id      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,           -- folder | s3 | rclone
    folder          TEXT,
    s3_endpoint     TEXT,
    s3_region       TEXT,
    s3_bucket       TEXT,
    s3_prefix       TEXT,
    s3_key_id       TEXT,
    s3_path_style   INTEGER NOT NULL DEFAULT 0,
    rclone          TEXT,
    offsite         INTEGER NOT NULL DEFAULT 0,
    keep_last       INTEGER,
    keep_hourly     INTEGER,
    keep_daily      INTEGER,
    keep_weekly     INTEGER,
    keep_monthly    INTEGER,
    keep_yearly     INTEGER,
    keep_within     TEXT,
    retention_zone  TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (project_id, name)
);

ALTER TABLE backup_copies ADD COLUMN state TEXT NOT NULL DEFAULT 'stored';  -- stored | pending
ALTER TABLE backup_copies ADD COLUMN uploaded_at TEXT;
ALTER TABLE backup_copies ADD COLUMN pending_since TEXT;
ALTER TABLE backup_copies ADD COLUMN last_error TEXT;
ALTER TABLE backup_copies ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;

CREATE INDEX backup_copies_by_destination ON backup_copies(destination);

CREATE TRIGGER destinations_insert_change AFTER INSERT ON destinations BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER destinations_update_change AFTER UPDATE ON destinations BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER destinations_delete_change AFTER DELETE ON destinations
WHEN EXISTS (SELECT 1 FROM projects WHERE id = OLD.project_id) BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', OLD.project_id, OLD.project_id, 'upsert');
END;

-- A copy at a destination changing shows on its project (the local copy changes with its backup,
-- which is fed already).
CREATE TRIGGER copies_insert_change AFTER INSERT ON backup_copies
WHEN NEW.destination <> 'local' BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op)
    SELECT 'project', project_id, project_id, 'upsert' FROM backups WHERE id = NEW.backup_id;
END;
CREATE TRIGGER copies_update_change AFTER UPDATE ON backup_copies
WHEN NEW.destination <> 'local' BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op)
    SELECT 'project', project_id, project_id, 'upsert' FROM backups WHERE id = NEW.backup_id;
END;
CREATE TRIGGER copies_delete_change AFTER DELETE ON backup_copies
WHEN OLD.destination <> 'local' BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op)
    SELECT 'project', project_id, project_id, 'upsert' FROM backups WHERE id = OLD.backup_id;
END;
