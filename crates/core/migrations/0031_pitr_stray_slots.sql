-- Offsite catalog, version 31: stray point-in-time slots already reported (issue 46,
-- docs/pitr.md "Stray slots").
--
-- A capture pass looks (at most every few minutes per server) for replication slots named like
-- Offsite's (`offsite_pitr_…`) that no active chain of this catalog owns, and queues one
-- `pitr_stray_slot` alert per slot. One row per slot reported and still seen: `server` is where
-- it was found (`HOST:PORT/DATABASE` as the project connects; never a user or a password),
-- `reported_at` when the last alert was queued and `retained_bytes` the WAL it held then. A
-- check that no longer sees the slot deletes its row, so a slot that comes back is reported
-- again; one still there is reported again 24 hours after its last alert only when it holds
-- more WAL than it did then. Not tied to a project: the slot is the server's, whichever
-- project's capture found it.
CREATE TABLE pitr_stray_slots (
    server          TEXT NOT NULL,
    slot            TEXT NOT NULL,
    reported_at     TEXT NOT NULL,
    retained_bytes  INTEGER NOT NULL,
    PRIMARY KEY (server, slot)
);
