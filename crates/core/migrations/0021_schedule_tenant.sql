-- Offsite catalog, version 21: a backup schedule may name one of its project's tenants (issue 45).
--
-- schedules.tenant: NULL, or the name of a tenant of the schedule's project (`tenants.name`; no
-- foreign key: a tenant removed later makes the next run fail, naming it). After each of the
-- schedule's backups, one archive per value of that tenant's root key is split from it, one at a
-- time (`offsite backup PROJECT --tenant NAME`). Only backup schedules have one.
ALTER TABLE schedules ADD COLUMN tenant TEXT;
