-- Offsite catalog, version 12: a project's drill settings, and drills in the change feed (issue 26).
--
-- drill_settings: at most one row per project (no row: the defaults). `server_url` is the
-- scratch server a project's drills restore into (NULL: a private throwaway cluster Offsite
-- starts itself); it never holds a password (the engine refuses one; the password is kept in
-- the OS keychain under `project:<name>:drill-server-password`). `storage_sample` is how many
-- storage objects, chosen at random per drill, the storage check compares one by one (NULL:
-- every object).
--
-- The change feed learns drills: a drill recorded (by a scheduled drill in another process, the
-- command line, the app) or removed with its project is a `drill` row naming its project, so an
-- open window refreshes its drill list and the project's "proven restorable" line. Changing a
-- project's drill settings is a change of the project (as its validation queries are).

CREATE TABLE drill_settings (
    project_id      TEXT PRIMARY KEY NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    server_url      TEXT,
    storage_sample  INTEGER CHECK (storage_sample IS NULL OR storage_sample > 0),
    updated_at      TEXT NOT NULL
);

CREATE TRIGGER drill_settings_insert_change AFTER INSERT ON drill_settings BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER drill_settings_update_change AFTER UPDATE ON drill_settings BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;

CREATE TRIGGER drills_insert_change AFTER INSERT ON drills BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('drill', NEW.id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER drills_update_change AFTER UPDATE ON drills BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('drill', NEW.id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER drills_delete_change AFTER DELETE ON drills BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('drill', OLD.id, OLD.project_id, 'delete');
END;
