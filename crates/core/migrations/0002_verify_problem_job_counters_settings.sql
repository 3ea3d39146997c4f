-- Offsite catalog, version 2:
--  * backups.verify_problem: why the last verification failed (shown next to a corrupt copy);
--  * jobs.bytes_done / jobs.bytes_total: progress counters, kept so the job list can show how far
--    a job got (also after a crash);
--  * settings: small key/value preferences of the app (never secrets).

ALTER TABLE backups ADD COLUMN verify_problem TEXT;

ALTER TABLE jobs ADD COLUMN bytes_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN bytes_total INTEGER;

-- fail_stale_jobs() looks jobs up by state at every start.
CREATE INDEX jobs_by_state ON jobs(state);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
