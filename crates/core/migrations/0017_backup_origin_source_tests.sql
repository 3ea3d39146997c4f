-- Offsite catalog, version 17: where each backup came from, and when each source's connection
-- was last tested (issue 29).
--
-- backups.origin: `local` (made on this computer), `server` (made by or pulled from the
-- project's backup server, `offsite serve`), `artifact` (pulled from an artifact bucket) or
-- `imported` (a dropped file, `offsite import`). Set once, by the engine, when the backup is
-- registered. Rows written before this version: an import job's backup is `imported`; a pull
-- job's is `server` when the file has the server's fallback name (`remote_…`) or the project has
-- a server and no artifact bucket, `artifact` when it has a bucket and no server; everything
-- else (a backup job's, which may have been made by a server: no record says) is `local`.
ALTER TABLE backups ADD COLUMN origin TEXT NOT NULL DEFAULT 'local'
    CHECK (origin IN ('local', 'server', 'artifact', 'imported'));

UPDATE backups SET origin = 'imported'
WHERE job_id IN (SELECT id FROM jobs WHERE kind = 'import');

UPDATE backups SET origin = CASE
    WHEN path LIKE '%/remote\_%' ESCAPE '\' THEN 'server'
    WHEN (SELECT json_type(doc, '$.server') FROM project_components c
          WHERE c.project_id = backups.project_id AND json_valid(c.doc)) = 'object'
     AND (SELECT json_type(doc, '$.artifacts') FROM project_components c
          WHERE c.project_id = backups.project_id AND json_valid(c.doc)) IS NOT 'object'
        THEN 'server'
    WHEN (SELECT json_type(doc, '$.artifacts') FROM project_components c
          WHERE c.project_id = backups.project_id AND json_valid(c.doc)) = 'object'
        THEN 'artifact'
    ELSE 'local' END
WHERE job_id IN (SELECT id FROM jobs WHERE kind = 'pull');

-- source_tests: the last test of each of a project's sources (`database`, `storage`,
-- `supabase`, `server`, `artifacts`): a Test button, or a backup or pull that connected to it.
-- `ok` 1/0; `message` is the failure's one line (never a secret: the engine's error message).
CREATE TABLE source_tests (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source      TEXT NOT NULL
        CHECK (source IN ('database', 'storage', 'supabase', 'server', 'artifacts')),
    tested_at   TEXT NOT NULL,
    ok          INTEGER NOT NULL CHECK (ok IN (0, 1)),
    message     TEXT,
    PRIMARY KEY (project_id, source)
);
