-- Offsite catalog, version 34: the foreign keys a tenant's members can set (issue 62, item 5;
-- docs/tenants.md "What a member can write"). `member_writes`: a JSON list of
-- `{"schema", "table", "columns"}`, each the referencing side of a foreign key whose value a
-- member of a tenant can choose (`tasks.assignee`). A row a tenant's rows reach only through
-- such a key is not the tenant's: a per-tenant archive leaves it out and counts it. `[]`: every
-- foreign key is followed, as before.
ALTER TABLE tenants ADD COLUMN member_writes TEXT NOT NULL DEFAULT '[]';
