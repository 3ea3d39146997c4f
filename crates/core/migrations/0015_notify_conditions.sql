-- Offsite catalog, version 15: conditions the notification watchers look at (issue 27).
--
-- notify_conditions: per project, the state of each watched condition as last seen, so its
-- event fires once per transition (like notify_overdue): `kind` is the watcher
-- (`copy_pending`, `space_low`, `agent_unreachable`, `agent_certificate`,
-- `platform_backup_missing`), `subject` what it is about within the project (a destination's
-- name, a folder, '' when the project itself). `detail` is a short text for the log, never a
-- secret.
--
-- notify_watch_runs: when each watcher last ran, so a watcher with its own cadence (hourly,
-- daily) runs at that cadence across restarts and sleep, whatever the due loop's minute.

CREATE TABLE notify_conditions (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    active      INTEGER NOT NULL,
    changed_at  TEXT NOT NULL,
    detail      TEXT,
    PRIMARY KEY (project_id, kind, subject)
);

CREATE TABLE notify_watch_runs (
    watch       TEXT PRIMARY KEY NOT NULL,
    checked_at  TEXT NOT NULL
);
