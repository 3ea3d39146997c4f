-- Offsite catalog, version 33: a job that writes somewhere records first what it is about to do
-- (issue 63, item 2; docs/recover.md "A job that dies"). A job whose process dies leaves its
-- journal: the next start of Offsite finds the job, calls it `interrupted` (a new word of
-- jobs.state: running | cancelling | cancelled | succeeded | failed | interrupted) and returns
-- the target to how it was, then removes the journal. A job that ends on its own (succeeded,
-- failed or cancelled: it undid its own work) removes its journal when it is finished.
--
-- work:         restore_parallel (pg_restore -j into a target that held none of the backup),
--               restore_one (one transaction; with a safety backup when it replaces), recover
-- target:       the target's URL without any password (never a secret)
-- target_project: the saved project restored into (its password is the project's own), or NULL
-- target_label: the target for people ("dst on 127.0.0.1:5432")
-- target_empty: 1 when the target held none of what the job writes
-- archive:      the backup the job writes from
-- undo:         JSON: what the undo needs (schemas and extensions the target had, the restore's
--               session name; the safety backup's path)
CREATE TABLE job_journal (
    job_id         TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    work           TEXT NOT NULL,
    target         TEXT NOT NULL,
    target_project TEXT,
    target_label   TEXT NOT NULL,
    target_empty   INTEGER NOT NULL,
    archive        TEXT NOT NULL,
    undo           TEXT NOT NULL,
    recorded_at    TEXT NOT NULL
);
