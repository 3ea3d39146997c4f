-- Offsite catalog, version 26: several backup schedules per project (issue 47, item 2).
--
-- schedules is rebuilt (SQLite cannot drop a UNIQUE constraint) with every row copied unchanged
-- and named `default`: a project's one backup / verify / drill schedule keeps its id, spec,
-- zone, slot, retries and tenant. What is new:
--  * name: a schedule's name in its project (`default` for the one the single-schedule commands
--    edit; `hourly`, `monthly-cold`, …); UNIQUE (project_id, kind, name). Only backup schedules
--    take other names.
--  * backup_type: what a backup schedule's backups hold: `database`, `full`, `storage`, `config`
--    or `tenant` (a database backup followed by one archive per tenant of `tenant`); NULL: the
--    project's default type (what every schedule did before).
--  * selection: a JSON `BackupSelection` (`{"exclude_table_data":["public.logs"]}`) that this
--    schedule's database backups hold instead of the project's; NULL: the project's.
--  * destinations: a JSON array of destination ids its backups are copied to; NULL: every
--    destination of the project. An id whose destination is gone is ignored.
--  * retention: a JSON `RetentionPolicy` (periods in the schedule's `time_zone`) that prunes this
--    schedule's backups only; NULL: the project's policy.
--
-- backups.schedule_name: the schedule that made it (NULL: made by hand, imported, or before
-- version 26). backups.copy_to: a JSON array of the destination ids it goes to (NULL: every
-- one), fixed when it is made.

CREATE TABLE schedules_v26 (
    id              TEXT PRIMARY KEY NOT NULL,
    project_id      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,            -- backup | verify | drill
    name            TEXT NOT NULL DEFAULT 'default',
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
    tenant          TEXT,
    backup_type     TEXT,
    selection       TEXT CHECK (selection IS NULL OR json_valid(selection)),
    destinations    TEXT CHECK (destinations IS NULL OR json_valid(destinations)),
    retention       TEXT CHECK (retention IS NULL OR json_valid(retention)),
    UNIQUE (project_id, kind, name)
);

INSERT INTO schedules_v26 (id, project_id, kind, name, spec, time_zone, verify_newest, paused,
    created_at, updated_at, last_slot, last_claimed_at, retry_attempt, retry_at, last_job_id,
    tenant)
SELECT id, project_id, kind, 'default', spec, time_zone, verify_newest, paused, created_at,
    updated_at, last_slot, last_claimed_at, retry_attempt, retry_at, last_job_id, tenant
FROM schedules;

-- The copy does not feed the change feed (the rows are the same): the old table's triggers go
-- before it does.
DROP TRIGGER schedules_insert_change;
DROP TRIGGER schedules_update_change;
DROP TRIGGER schedules_delete_change;
DROP TABLE schedules;
ALTER TABLE schedules_v26 RENAME TO schedules;

CREATE TRIGGER schedules_insert_change AFTER INSERT ON schedules BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER schedules_update_change AFTER UPDATE ON schedules BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER schedules_delete_change AFTER DELETE ON schedules
WHEN EXISTS (SELECT 1 FROM projects WHERE id = OLD.project_id) BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', OLD.project_id, OLD.project_id, 'upsert');
END;

ALTER TABLE backups ADD COLUMN schedule_name TEXT;
ALTER TABLE backups ADD COLUMN copy_to TEXT CHECK (copy_to IS NULL OR json_valid(copy_to));
