-- Offsite catalog, version 32: a tenant schedule's own retention (issue 63, docs/tenants.md
-- "Retention"). `tenant_keep_last`: how many archives of each tenant of the schedule's tenant
-- (`schedules.tenant`) are kept, locally and at every destination; NULL: the default, 4. The
-- project's retention policy never counts per-tenant archives.
ALTER TABLE schedules ADD COLUMN tenant_keep_last INTEGER;
