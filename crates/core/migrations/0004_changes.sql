-- Offsite catalog, version 4: a change feed.
--
-- Every insert, update and delete of a project, backup or job appends a row to `changes`, written
-- by triggers inside the same transaction, so whoever writes the catalog (the desktop app, the
-- command line in another process, a scheduler, the agent) is seen: an open window polls
-- `changes` for rows after the last `seq` it saw and refreshes exactly what they name.
-- Rows carry no data (ids only) and no time: they are pruned by count when the catalog opens.

CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    entity      TEXT NOT NULL,  -- project | backup | job
    entity_id   TEXT NOT NULL,
    project_id  TEXT,           -- the project it belongs to (NULL: a job without a project)
    op          TEXT NOT NULL   -- upsert | delete
);

CREATE TRIGGER projects_insert_change AFTER INSERT ON projects BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.id, NEW.id, 'upsert');
END;
CREATE TRIGGER projects_update_change AFTER UPDATE ON projects BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.id, NEW.id, 'upsert');
END;
CREATE TRIGGER projects_delete_change AFTER DELETE ON projects BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', OLD.id, OLD.id, 'delete');
END;

CREATE TRIGGER backups_insert_change AFTER INSERT ON backups BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('backup', NEW.id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER backups_update_change AFTER UPDATE ON backups BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('backup', NEW.id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER backups_delete_change AFTER DELETE ON backups BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('backup', OLD.id, OLD.project_id, 'delete');
END;

CREATE TRIGGER jobs_insert_change AFTER INSERT ON jobs BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('job', NEW.id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER jobs_update_change AFTER UPDATE ON jobs BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('job', NEW.id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER jobs_delete_change AFTER DELETE ON jobs BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('job', OLD.id, OLD.project_id, 'delete');
END;
