-- Offsite catalog, version 20: the change feed names a project when one of its sources is tested
-- or its encryption changes (issue 44).
--
-- A Test button, a backup or a pull records `source_tests`; setting up encryption and confirming
-- the recovery item write `project_encryption`. Both move what a window shows (a source card's
-- light and last test, the protection checklist's "Encryption ready", backups paused or not), so
-- an open window must hear of them whoever wrote them (this window, the command line in another
-- process, a scheduler). As with drill settings (version 12), the row names the project: a
-- project change makes a window fetch the project's status, health and sources again. Ids only.
-- Version 19 is left to another branch's migration (both apply, in any order).

CREATE TRIGGER source_tests_insert_change AFTER INSERT ON source_tests BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER source_tests_update_change AFTER UPDATE ON source_tests BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;

CREATE TRIGGER project_encryption_insert_change AFTER INSERT ON project_encryption BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER project_encryption_update_change AFTER UPDATE ON project_encryption BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
