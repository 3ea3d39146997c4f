-- Offsite catalog, version 11: a project's own validation queries, run by every restore drill.
-- (Version 10 belongs to the drills; this one does not depend on it.)
--
-- validation_checks: per project, zero or more read-only queries that return one value, each
-- with what that value must satisfy (`expect`, as Offsite's parser writes it back: `>= 1000`,
-- `within 26h`, `is not null`, `between 1 and 5`). A drill runs each on its restored copy of
-- the backup (`drill::queries`). `title` is what a report calls it (NULL: the SQL itself).

CREATE TABLE validation_checks (
    id          TEXT PRIMARY KEY NOT NULL,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    title       TEXT,
    sql         TEXT NOT NULL,
    expect      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE INDEX validation_checks_by_project ON validation_checks(project_id, created_at);

CREATE TRIGGER validation_checks_insert_change AFTER INSERT ON validation_checks BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER validation_checks_delete_change AFTER DELETE ON validation_checks
WHEN EXISTS (SELECT 1 FROM projects WHERE id = OLD.project_id) BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', OLD.project_id, OLD.project_id, 'upsert');
END;
