-- Offsite catalog, version 6: schedules and retention policies.
--
-- schedules: at most one backup schedule and one verify schedule per project (UNIQUE); setting
-- one replaces it (a new row id, a new created_at: a new schedule waits for its first slot).
--  * spec: the text form of when it runs (`every 6h`, `daily 02:30`, `weekly mon,thu 02:30`,
--    `monthly 15 02:30`, `cron 30 2 * * *`), in the IANA zone `time_zone`;
--  * verify_newest: a verify schedule checks the newest N backups (NULL: all of them);
--  * last_slot: the newest slot a runner claimed (RFC 3339 UTC, like every time here). A runner
--    claims a slot with one conditional UPDATE (`... WHERE last_slot IS NULL OR last_slot < ?`),
--    so the app and the command line never run one slot twice;
--  * retry_attempt / retry_at: after a temporary failure (connection, rate limit) the slot's run is
--    tried again at retry_at (5, 15, then 60 minutes later), claimed the same way; a new slot
--    resets them;
--  * last_job_id: the backup job of the last run (no foreign key: jobs can be forgotten); when
--    its process was killed (the job is failed as interrupted), the run is tried again.
--
-- retention_policies: one per project; NULL rules are off; keep_within is a duration text
-- (`30d`, `1y6m`); periods are counted in `time_zone`.
--
-- Both feed the change feed as an upsert of their project (the window shows them on the project).

CREATE TABLE schedules (
    id              TEXT PRIMARY KEY NOT NULL,
    project_id      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,            -- backup | verify
    spec            TEXT NOT NULL,
    time_zone       TEXT NOT NULL,
    verify_newest   INTEGER,
    paused          INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_slot       TEXT,
    last_claimed_at TEXT,
    retry_attempt   INTEGER NOT NULL DEFAULT 0,
    retry_at        TEXT,
    last_job_id     TEXT,
    UNIQUE (project_id, kind)
);

CREATE TABLE retention_policies (
    project_id   TEXT PRIMARY KEY NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    keep_last    INTEGER,
    keep_hourly  INTEGER,
    keep_daily   INTEGER,
    keep_weekly  INTEGER,
    keep_monthly INTEGER,
    keep_yearly  INTEGER,
    keep_within  TEXT,
    time_zone    TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TRIGGER schedules_insert_change AFTER INSERT ON schedules BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER schedules_update_change AFTER UPDATE ON schedules BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
-- A schedule deleted with its project: the project's own delete is in the feed already, and an
-- upsert of a project that is gone would be wrong.
CREATE TRIGGER schedules_delete_change AFTER DELETE ON schedules
WHEN EXISTS (SELECT 1 FROM projects WHERE id = OLD.project_id) BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', OLD.project_id, OLD.project_id, 'upsert');
END;

CREATE TRIGGER retention_insert_change AFTER INSERT ON retention_policies BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER retention_update_change AFTER UPDATE ON retention_policies BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER retention_delete_change AFTER DELETE ON retention_policies
WHEN EXISTS (SELECT 1 FROM projects WHERE id = OLD.project_id) BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', OLD.project_id, OLD.project_id, 'upsert');
END;
