-- Offsite catalog, version 10: restore drills (issue 26).
--
-- drills: one row per drill run: which backup it restored (its id is kept even after the
-- backup is deleted: the row is the record that it was proven), when, the verdict, the RTO
-- measured, the first failed check (what a notification names), the whole report as JSON (the
-- same document as the report file) and the report file's path. A drill's rows go with its
-- project. Nothing secret: a scratch server is named by host, port and database only.

CREATE TABLE drills (
    id                  TEXT PRIMARY KEY NOT NULL,
    project_id          TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    backup_id           TEXT NOT NULL,
    job_id              TEXT REFERENCES jobs(id) ON DELETE SET NULL,
    started_at          TEXT NOT NULL,
    finished_at         TEXT NOT NULL,
    verdict             TEXT NOT NULL,           -- passed | failed
    rto_seconds         REAL NOT NULL,
    failed_check_id     TEXT,
    failed_check_title  TEXT,
    report_json         TEXT NOT NULL,
    report_path         TEXT
);

CREATE INDEX drills_project_started ON drills(project_id, started_at);
