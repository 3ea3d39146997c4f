-- Offsite catalog, version 29: copies of point-in-time change segments at a project's
-- destinations (issue 46, docs/pitr.md "Copies at the destinations").
--
-- A backup's copies are keyed by backup id (backup_copies); a segment is no backup, so its
-- copies get a table of their own: one row per segment and destination, `stored` (there, its
-- size and SHA-256 checked) or `pending` (to be tried again by `offsite sync` and the schedules'
-- loop), with the object's key, what was stored (size, SHA-256 of the file as on disk: the
-- ciphertext when encrypted), the attempts and the last error, and the Object Lock date a
-- locking destination gave it.
--
-- No foreign key to pitr_segments: a pruned window's rows go at once, while its copies at the
-- destinations are deleted when they can be (a destination offline, or a copy locked until a
-- date, keeps its row until then). A row whose segment is gone is such a copy to delete. The
-- copies go with their destination (their files left where they are, as for backups) and with
-- their project.
CREATE TABLE pitr_segment_copies (
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    chain_id         TEXT NOT NULL,
    first_commit_lsn INTEGER NOT NULL,
    destination      TEXT NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
    location         TEXT NOT NULL,
    size             INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('stored', 'pending')),
    uploaded_at      TEXT,
    pending_since    TEXT,
    last_error       TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    retain_until     TEXT,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (chain_id, first_commit_lsn, destination)
);
CREATE INDEX pitr_segment_copies_project ON pitr_segment_copies (project_id);
