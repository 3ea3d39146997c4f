-- Offsite catalog, version 19: a project's tenants (issue 45).
--
-- tenants: per project, named tenant roots: a table (`schema_name`.`table_name`, stored as the
-- database spells them, quotes and dots included) and its key column (a primary key or a unique
-- NOT NULL column, checked against the project's database by the engine before a row is
-- written). A tenant's rows are the root's row with that key value and every row reaching it
-- through foreign keys, walked the way `offsite recover --children` walks them. The name is a
-- folder name too (per-tenant backups go to `tenants/NAME/` of the project's folder): letters,
-- digits, `-` and `_` only, checked here as well as by the engine. Changing a project's tenants
-- is a change of the project.
CREATE TABLE tenants (
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64 AND name NOT GLOB '*[^A-Za-z0-9_-]*'),
    schema_name  TEXT NOT NULL,
    table_name   TEXT NOT NULL,
    key_column   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (project_id, name)
);

CREATE TRIGGER tenants_insert_change AFTER INSERT ON tenants BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', NEW.project_id, NEW.project_id, 'upsert');
END;
CREATE TRIGGER tenants_delete_change AFTER DELETE ON tenants
WHEN EXISTS (SELECT 1 FROM projects WHERE id = OLD.project_id) BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('project', OLD.project_id, OLD.project_id, 'upsert');
END;
