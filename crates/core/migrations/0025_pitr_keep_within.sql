-- Offsite catalog, version 25: how long a project's point-in-time windows are kept (issue 46,
-- docs/pitr.md). `keep_within`: seconds; after each segment closes (and at `offsite prune`)
-- the windows that ended longer ago than this are removed, segments and rows together, never
-- the newest one. NULL: kept until removed by hand (`offsite pitr prune --keep-within`).
ALTER TABLE pitr_chains ADD COLUMN keep_within INTEGER CHECK (keep_within IS NULL OR keep_within > 0);
