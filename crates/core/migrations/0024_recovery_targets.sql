-- Offsite catalog, version 24: a project's recovery targets (issue 47).
--
-- recovery_targets: at most one row per project (no row: no targets). `rpo_seconds`: the newest
-- good backup may be at most this old, else the health checklist marks the project At risk;
-- `rto_seconds`: a drill whose restore took longer fails its RTO check. NULL: no such target.
-- Changing them is a change of the project (the change feed refreshes an open window).
CREATE TABLE recovery_targets (
    project_id   TEXT PRIMARY KEY NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    rpo_seconds  INTEGER CHECK (rpo_seconds IS NULL OR rpo_seconds > 0),
    rto_seconds  INTEGER CHECK (rto_seconds IS NULL OR rto_seconds > 0),
    updated_at   TEXT NOT NULL
);

CREATE TRIGGER recovery_targets_insert_change AFTER INSERT ON recovery_targets BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER recovery_targets_update_change AFTER UPDATE ON recovery_targets BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
