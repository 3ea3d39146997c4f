-- Offsite catalog, version 29: physical point-in-time capture (issue 46, docs/pitr.md).
--
-- pitr_chains.mode: `logical` (a publication and a pgoutput slot; the base an Offsite backup)
-- or `physical` (a physical slot read by pg_receivewal; the base a sealed pg_basebackup tar,
-- described as JSON in base_snapshot: its file, checksum, WAL start and end, timeline). A
-- physical chain's `publication` is empty and its segments are sealed WAL files.
ALTER TABLE pitr_chains ADD COLUMN mode TEXT NOT NULL DEFAULT 'logical'
    CHECK (mode IN ('logical', 'physical'));
