-- Offsite catalog, version 23: logical point-in-time capture (issue 46, docs/pitr.md).
--
-- pitr_chains: one per `offsite pitr enable` (and per new base after the slot was dropped): the
-- server's slot and publication, the base backup and the transaction snapshot it was dumped in
-- (where base and changes meet), what the publication covers (JSON), the limit of WAL the slot
-- may hold, and whether the chain still runs (`active`) or ended (`ended`, with the reason).
CREATE TABLE pitr_chains (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    slot           TEXT NOT NULL,
    publication    TEXT NOT NULL,
    base_backup_id TEXT,
    base_snapshot  TEXT,
    base_at        INTEGER,
    coverage       TEXT NOT NULL,
    max_retained   INTEGER NOT NULL,
    state          TEXT NOT NULL,
    ended_reason   TEXT,
    last_poll_at   INTEGER,
    created_at     TEXT NOT NULL
);
CREATE INDEX pitr_chains_project ON pitr_chains (project_id);

-- pitr_segments: the change segments of a chain, registered after the file is durably written
-- and before the slot moves past them. LSNs as integers; times as microseconds since the epoch.
CREATE TABLE pitr_segments (
    chain_id         TEXT NOT NULL REFERENCES pitr_chains(id) ON DELETE CASCADE,
    path             TEXT NOT NULL,
    start_lsn        INTEGER NOT NULL,
    first_commit_lsn INTEGER NOT NULL,
    end_lsn          INTEGER NOT NULL,
    first_commit_at  INTEGER NOT NULL,
    last_commit_at   INTEGER NOT NULL,
    closed_at        INTEGER NOT NULL,
    commits          INTEGER NOT NULL,
    bytes            INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    PRIMARY KEY (chain_id, first_commit_lsn)
);
