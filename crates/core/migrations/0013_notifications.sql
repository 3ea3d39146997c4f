-- Offsite catalog, version 13: notifications (issue 27). (Version 12 belongs to saved drill
-- settings; this one does not depend on it.)
--
-- notify_channels: where notifications go, by name. `spec_json` is a `notify::ChannelSpec`
-- (email, webhook, Telegram, ping): never a secret. SMTP passwords, webhook URLs and signing
-- secrets, bot tokens and ping URLs are in the keychain under `notify:<name>:<what>`.
--
-- notify_routes: which channels a project's events go to, and which event groups (a
-- comma-separated list of failed, succeeded, overdue, drill, retention, space, copies, agent,
-- platform). A project without a route sends failures, overdue and failed drills to every
-- channel (`notify::routes`).
--
-- notify_outbox: one row per event and channel, written in the same transaction as what caused
-- the event (a finished job, an overdue transition). Delivery claims due rows (queued, or
-- `sending` whose lease ran out: a process killed mid-send), sends, and marks them sent, queued
-- again with the next attempt's time, or failed with the reason (never a secret). `digested`:
-- collapsed into one digest event in a storm of failures. The payload is the event's JSON (v1).
--
-- notify_overdue: each project's overdue state as the due loop last saw it, so the transition
-- (overdue, back to normal) fires once.

CREATE TABLE notify_channels (
    name        TEXT PRIMARY KEY NOT NULL,
    spec_json   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE notify_routes (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL REFERENCES notify_channels(name) ON DELETE CASCADE,
    events      TEXT NOT NULL,
    PRIMARY KEY (project_id, channel)
);

CREATE TABLE notify_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         TEXT NOT NULL,
    channel          TEXT NOT NULL REFERENCES notify_channels(name) ON DELETE CASCADE,
    project_id       TEXT REFERENCES projects(id) ON DELETE SET NULL,
    kind             TEXT NOT NULL,
    severity         TEXT NOT NULL,
    payload_json     TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'queued',   -- queued | sending | sent | failed | digested
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    UNIQUE (event_id, channel)
);

CREATE INDEX notify_outbox_due ON notify_outbox(state, next_attempt_at);
CREATE INDEX notify_outbox_by_channel ON notify_outbox(channel, created_at);
CREATE INDEX notify_outbox_by_project ON notify_outbox(project_id, created_at);

CREATE TABLE notify_overdue (
    project_id  TEXT PRIMARY KEY NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    overdue     INTEGER NOT NULL,
    changed_at  TEXT NOT NULL
);
