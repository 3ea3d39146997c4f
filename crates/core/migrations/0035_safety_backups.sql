-- Offsite catalog, version 35: a safety backup (the target of a --replace restore as it was
-- before) is a row, recorded when it is written (issue 63, item 8). It was listed from the data
-- folder by its file name alone (`safety-<database>_…`): the databases of one name on two servers
-- shared one list, and any file put there by that name passed for one.
--
-- path:           the archive, in the data folder's safety-backups
-- server:         the target's HOST:PORT/DATABASE (no user, no password)
-- database:       the target's database
-- target_project: the saved project restored into, or NULL (a URL target)
-- created_at:     RFC 3339; size: bytes; encrypted: 1 when age-encrypted
CREATE TABLE safety_backups (
    path           TEXT PRIMARY KEY,
    server         TEXT NOT NULL,
    database       TEXT NOT NULL,
    target_project TEXT,
    created_at     TEXT NOT NULL,
    size           INTEGER NOT NULL,
    encrypted      INTEGER NOT NULL
);
CREATE INDEX safety_backups_server ON safety_backups (server);
