//! The notification tables (migration 13): channels (never a secret), routes per project, the
//! outbox (one row per event and channel) and each project's last seen overdue state.
//!
//! Events are written in the same transaction as what caused them: [`enqueue`] takes the
//! transaction's connection (`Catalog::finish_job` calls it for the job it finishes, the overdue
//! transition for the state it records). The rows are built in Rust rather than by an SQL
//! trigger: the payload (a fresh event id, the summary, the duration) and the routing rules
//! (`notify::events`) live in one place, and a catalog without channels costs one query.

use super::sql::{db_error, is_unique_violation};
use super::Catalog;
use crate::error::{Error, Result};
use crate::notify::events::{self, EventGroup, FinishedJob};
use crate::notify::{ChannelSpec, Event, EventError, EventProject};
use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;

/// A configured channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRecord {
    pub name: String,
    pub spec: ChannelSpec,
    pub created_at: String,
    /// The channel's own rate limit, messages a minute (`None`: its kind's default,
    /// [`crate::notify::rate::rate_per_minute`]; every channel added before schema 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_minute: Option<u32>,
}

impl ChannelRecord {
    /// The most messages it sends a minute: its own limit, else its kind's default.
    pub fn rate(&self) -> u32 {
        crate::notify::rate::channel_rate(&self.spec, self.rate_per_minute)
    }
}

/// A project's route to one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRecord {
    pub project: String,
    pub channel: String,
    /// Event groups (`failed`, `overdue`…).
    pub events: Vec<String>,
}

/// One event for one channel, as the outbox holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub event_id: String,
    pub channel: String,
    pub project_id: Option<String>,
    /// `backup_failed`… (the event's kind).
    pub kind: String,
    pub severity: String,
    pub payload_json: String,
    /// queued | sending | sent | failed | digested
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

const OUTBOX_COLS: &str = "id, event_id, channel, project_id, kind, severity, payload_json, \
    state, attempts, next_attempt_at, last_error, created_at, sent_at";

fn word<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Queue `event` (of `project_id`, if any) for every channel that wants it, on `conn` (the
/// caller's transaction). `only_channel`: a test or digest for one channel. Returns how many
/// rows were written.
pub(crate) async fn enqueue(
    conn: &mut SqliteConnection,
    event: &Event,
    project_id: Option<&str>,
    only_channel: Option<&str>,
    now: &str,
) -> Result<usize> {
    let what = "queueing a notification";
    let channels: Vec<(String, String)> =
        sqlx::query_as("SELECT name, spec_json FROM notify_channels ORDER BY name")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| db_error(what, e))?;
    if channels.is_empty() {
        return Ok(0);
    }
    let routes: Vec<(String, String)> = match project_id {
        Some(p) => sqlx::query_as("SELECT channel, events FROM notify_routes WHERE project_id = ?")
            .bind(p)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| db_error(what, e))?,
        None => Vec::new(),
    };
    let payload = serde_json::to_string(event)
        .map_err(|e| Error::internal(format!("encoding an event: {e}")))?;
    let mut n = 0;
    for (name, spec_json) in channels {
        let wanted = match only_channel {
            Some(only) => only == name,
            None => {
                let Ok(spec) = serde_json::from_str::<ChannelSpec>(&spec_json) else {
                    tracing::warn!(channel = %name, "a channel's settings cannot be read");
                    continue;
                };
                let groups: Option<Vec<EventGroup>> = if routes.is_empty() {
                    None
                } else {
                    Some(
                        routes
                            .iter()
                            .filter(|(c, _)| *c == name)
                            .flat_map(|(_, g)| g.split(',').filter_map(EventGroup::parse))
                            .collect(),
                    )
                };
                events::channel_wants(&spec, groups.as_deref(), event.event)
            }
        };
        if !wanted {
            continue;
        }
        sqlx::query(
            "INSERT INTO notify_outbox (event_id, channel, project_id, kind, severity, payload_json, \
             state, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?) \
             ON CONFLICT (event_id, channel) DO NOTHING",
        )
        .bind(&event.id)
        .bind(&name)
        .bind(project_id)
        .bind(word(&event.event))
        .bind(word(&event.severity))
        .bind(&payload)
        .bind(now)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(|e| db_error(what, e))?;
        n += 1;
    }
    Ok(n)
}

/// The event the job `id` (just finished, on `conn`) makes, queued on `conn`.
pub(crate) async fn enqueue_job_event(conn: &mut SqliteConnection, id: &str) -> Result<usize> {
    let what = "reading a finished job for its notification";
    type Row = (
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT j.kind, j.state, j.project_id, p.name, j.started_at, j.finished_at, j.backup_id, \
         b.size, j.error_code, j.error_message, j.error_hint \
         FROM jobs j LEFT JOIN projects p ON p.id = j.project_id \
         LEFT JOIN backups b ON b.id = j.backup_id WHERE j.id = ?",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| db_error(what, e))?;
    let Some((kind, state, pid, pname, started, finished, backup_id, size, code, msg, hint)) = row
    else {
        return Ok(0);
    };
    let finished = finished.unwrap_or_else(|| started.clone());
    // A job whose process died is a failure to the people told (its code says `interrupted`).
    let state = if state == "interrupted" {
        "failed".to_string()
    } else {
        state
    };
    let retry = match (&pid, kind.as_str(), state.as_str()) {
        (Some(p), "backup", "failed") => scheduled_retry(conn, id, p, code.as_deref()).await?,
        _ => None,
    };
    let job = FinishedJob {
        id: id.to_string(),
        kind,
        state,
        project: pid
            .clone()
            .zip(pname)
            .map(|(id, name)| EventProject { id, name }),
        started_at: started,
        finished_at: finished.clone(),
        backup_id,
        size_bytes: size.and_then(|s| u64::try_from(s).ok()),
        error: code.map(|code| EventError {
            code,
            message: msg.unwrap_or_default(),
            hint,
        }),
        retry,
    };
    match events::job_event(&job) {
        Some(event) if damage_already_told(conn, &job).await? => {
            tracing::debug!(event = ?event.event, "the same damage was already announced");
            Ok(0)
        }
        Some(event) => enqueue(conn, &event, pid.as_deref(), None, &finished).await,
        None => Ok(0),
    }
}

/// Whether `job` (a verify that found damage in a catalog backup) only finds again the damage
/// an earlier verify of the same backup found: `verify_damaged` is queued once per damaged
/// backup, not on every scheduled verify. A verify in between that passed (the file was
/// replaced, a copy fetched back) makes the next damage news again; verifies that ended
/// otherwise (the file missing, cancelled) decide nothing.
async fn damage_already_told(conn: &mut SqliteConnection, job: &FinishedJob) -> Result<bool> {
    let damaged = job.kind == "verify"
        && job.state == "failed"
        && job.error.as_ref().is_some_and(|e| e.code == "integrity");
    let Some(backup_id) = job.backup_id.as_deref().filter(|_| damaged) else {
        return Ok(false);
    };
    let before: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT state, error_code FROM jobs WHERE kind = 'verify' AND backup_id = ? AND id <> ? \
         AND (state = 'succeeded' OR (state = 'failed' AND error_code = 'integrity')) \
         ORDER BY COALESCE(finished_at, started_at) DESC, rowid DESC LIMIT 1",
    )
    .bind(backup_id)
    .bind(&job.id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| db_error("reading the backup's earlier verifications", e))?;
    Ok(before.is_some_and(|(state, _)| state == "failed"))
}

/// The retry plan of a scheduled backup that failed (what `ops::schedule` does next): a
/// temporary failure (`connection`, `rate_limited`, `busy`) is tried again after 5, 15, then 60
/// minutes; after the last one, or for any other failure, it is escalated. `None` for a backup
/// no schedule started.
async fn scheduled_retry(
    conn: &mut SqliteConnection,
    job_id: &str,
    project_id: &str,
    code: Option<&str>,
) -> Result<Option<serde_json::Value>> {
    let what = "reading a schedule's retries";
    let trigger: Option<String> = sqlx::query_scalar("SELECT \"trigger\" FROM jobs WHERE id = ?")
        .bind(job_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| db_error(what, e))?;
    if !matches!(trigger.as_deref(), Some("schedule" | "catch_up" | "retry")) {
        return Ok(None);
    }
    let attempt: Option<i64> = sqlx::query_scalar(
        "SELECT retry_attempt FROM schedules WHERE project_id = ? AND kind = 'backup'",
    )
    .bind(project_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| db_error(what, e))?;
    let attempt = usize::try_from(attempt.unwrap_or(0)).unwrap_or(usize::MAX);
    let temporary = matches!(code, Some("connection" | "rate_limited" | "busy"));
    let backoff = crate::schedule::RETRY_BACKOFF;
    Ok(Some(match backoff.get(attempt).filter(|_| temporary) {
        Some(wait) => serde_json::json!({
            "will_retry": true,
            "attempt": attempt + 1,
            "of": backoff.len(),
            "after_minutes": wait.whole_minutes(),
        }),
        None => serde_json::json!({ "will_retry": false, "escalated": true }),
    }))
}

impl Catalog {
    /// Add a channel; its name must be new. Its rate limit is its kind's default.
    pub async fn add_channel(&self, name: &str, spec: &ChannelSpec) -> Result<ChannelRecord> {
        self.add_channel_rated(name, spec, None).await
    }

    /// Add a channel with its own rate limit (`None`: its kind's default); its name must be new.
    pub async fn add_channel_rated(
        &self,
        name: &str,
        spec: &ChannelSpec,
        rate_per_minute: Option<u32>,
    ) -> Result<ChannelRecord> {
        let spec_json = serde_json::to_string(spec)
            .map_err(|e| Error::internal(format!("encoding a channel: {e}")))?;
        let rec = ChannelRecord {
            name: name.to_string(),
            spec: spec.clone(),
            created_at: self.now(),
            rate_per_minute,
        };
        sqlx::query(
            "INSERT INTO notify_channels (name, spec_json, created_at, rate_per_minute) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(name)
        .bind(&spec_json)
        .bind(&rec.created_at)
        .bind(rate_per_minute.map(i64::from))
        .execute(self.pool())
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::new(
                    crate::error::ErrorKind::AlreadyExists,
                    format!("a channel named {name:?} already exists"),
                )
                .with_hint("remove it first (`offsite notify remove NAME`) or pick another name")
            } else {
                db_error("adding a channel", e)
            }
        })?;
        Ok(rec)
    }

    /// Every channel, by name.
    pub async fn channels(&self) -> Result<Vec<ChannelRecord>> {
        let rows: Vec<(String, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT name, spec_json, created_at, rate_per_minute FROM notify_channels ORDER BY name",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing channels", e))?;
        rows.into_iter()
            .map(|(name, spec_json, created_at, rate)| {
                let spec = serde_json::from_str(&spec_json).map_err(|e| {
                    Error::new(
                        crate::error::ErrorKind::Catalog,
                        format!("channel {name:?} has unreadable settings: {e}"),
                    )
                })?;
                Ok(ChannelRecord {
                    name,
                    spec,
                    created_at,
                    // The column's CHECK keeps it positive; anything else reads as the default.
                    rate_per_minute: rate.and_then(|r| u32::try_from(r).ok()).filter(|r| *r > 0),
                })
            })
            .collect()
    }

    /// The channel named `name`.
    pub async fn channel(&self, name: &str) -> Result<ChannelRecord> {
        self.channels()
            .await?
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| no_channel(name))
    }

    /// Remove a channel with its routes and outbox rows.
    pub async fn remove_channel(&self, name: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM notify_channels WHERE name = ?")
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("removing a channel", e))?;
        super::sql::changed_a_row(done, || no_channel(name))
    }

    /// Route `project_id`'s events of `groups` to `channel` (replacing that channel's route).
    pub async fn set_route(
        &self,
        project_id: &str,
        channel: &str,
        groups: &[EventGroup],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO notify_routes (project_id, channel, events) VALUES (?, ?, ?) \
             ON CONFLICT (project_id, channel) DO UPDATE SET events = excluded.events",
        )
        .bind(project_id)
        .bind(channel)
        .bind(events::groups_text(groups))
        .execute(self.pool())
        .await
        .map_err(|e| db_error("saving a route", e))?;
        Ok(())
    }

    /// Every route (of one project, or all), by project name and channel.
    pub async fn routes(&self, project_id: Option<&str>) -> Result<Vec<RouteRecord>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT p.name, r.channel, r.events FROM notify_routes r JOIN projects p ON p.id = r.project_id \
             WHERE (? IS NULL OR r.project_id = ?) ORDER BY p.name, r.channel",
        )
        .bind(project_id)
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing routes", e))?;
        Ok(rows
            .into_iter()
            .map(|(project, channel, events)| RouteRecord {
                project,
                channel,
                events: events.split(',').map(str::to_string).collect(),
            })
            .collect())
    }

    /// Queue `event` for the channels that want it (or only `only_channel`), in its own
    /// transaction.
    pub async fn enqueue_event(
        &self,
        event: &Event,
        project_id: Option<&str>,
        only_channel: Option<&str>,
    ) -> Result<usize> {
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(|e| db_error("queueing a notification", e))?;
        enqueue(&mut conn, event, project_id, only_channel, &self.now()).await
    }

    /// Record a project's overdue state; when it changed (or, first seen, is overdue) queue
    /// `event_of(overdue)` in the same transaction. Returns whether an event was made.
    pub async fn record_overdue(
        &self,
        project_id: &str,
        overdue: bool,
        event_of: impl FnOnce(bool) -> Event,
    ) -> Result<bool> {
        let what = "recording a project's overdue state";
        let now = self.now();
        let mut tx = self.pool().begin().await.map_err(|e| db_error(what, e))?;
        let before: Option<bool> =
            sqlx::query_scalar("SELECT overdue FROM notify_overdue WHERE project_id = ?")
                .bind(project_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| db_error(what, e))?;
        if before == Some(overdue) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO notify_overdue (project_id, overdue, changed_at) VALUES (?, ?, ?) \
             ON CONFLICT (project_id) DO UPDATE SET overdue = excluded.overdue, changed_at = excluded.changed_at",
        )
        .bind(project_id)
        .bind(overdue)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(what, e))?;
        // First seen and not overdue: nothing to say.
        let fire = before.is_some() || overdue;
        if fire {
            enqueue(&mut tx, &event_of(overdue), Some(project_id), None, &now).await?;
        }
        tx.commit().await.map_err(|e| db_error(what, e))?;
        Ok(fire)
    }

    /// Each project's overdue state as last recorded, by project id.
    pub async fn overdue_states(&self) -> Result<std::collections::HashMap<String, bool>> {
        let rows: Vec<(String, bool)> =
            sqlx::query_as("SELECT project_id, overdue FROM notify_overdue")
                .fetch_all(self.pool())
                .await
                .map_err(|e| db_error("reading the overdue states", e))?;
        Ok(rows.into_iter().collect())
    }

    /// The newest `limit` outbox rows (of one project, or all), newest first.
    pub async fn outbox(&self, project_id: Option<&str>, limit: u32) -> Result<Vec<OutboxRow>> {
        sqlx::query_as::<_, OutboxRow>(&format!(
            "SELECT {OUTBOX_COLS} FROM notify_outbox WHERE (? IS NULL OR project_id = ?) \
             ORDER BY id DESC LIMIT ?"
        ))
        .bind(project_id)
        .bind(project_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the notification log", e))
    }

    /// Claim up to `limit` rows due at `now` (queued, or sending with a lease that ran out: a
    /// process killed mid-send) for `lease_until`: they become `sending` with one more attempt.
    /// One statement, so two processes never claim the same row.
    pub async fn claim_outbox(
        &self,
        now: &str,
        lease_until: &str,
        limit: u32,
    ) -> Result<Vec<OutboxRow>> {
        sqlx::query_as::<_, OutboxRow>(&format!(
            "UPDATE notify_outbox SET state = 'sending', attempts = attempts + 1, next_attempt_at = ? \
             WHERE id IN (SELECT id FROM notify_outbox WHERE state IN ('queued', 'sending') \
             AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?) RETURNING {OUTBOX_COLS}"
        ))
        .bind(lease_until)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map(|mut rows| {
            rows.sort_by_key(|r| r.id);
            rows
        })
        .map_err(|e| db_error("claiming notifications to send", e))
    }

    /// A claimed row was delivered.
    pub async fn outbox_sent(&self, id: i64) -> Result<()> {
        self.outbox_update(id, "sent", None, None).await
    }

    /// A claimed row failed: queued again for `retry_at`, or (`None`) failed for good.
    pub async fn outbox_failed(&self, id: i64, error: &str, retry_at: Option<&str>) -> Result<()> {
        match retry_at {
            Some(at) => {
                self.outbox_update(id, "queued", Some(error), Some(at))
                    .await
            }
            None => self.outbox_update(id, "failed", Some(error), None).await,
        }
    }

    /// A claimed row is not sent now (the channel's rate limit): queued again for `at`, without
    /// counting the attempt.
    pub async fn outbox_postpone(&self, id: i64, at: &str) -> Result<()> {
        sqlx::query(
            "UPDATE notify_outbox SET state = 'queued', attempts = MAX(attempts - 1, 0), \
             next_attempt_at = ? WHERE id = ?",
        )
        .bind(at)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("postponing a notification", e))?;
        Ok(())
    }

    /// A claimed row held back (a storm) until `at`, with `note`, without counting the attempt.
    pub async fn outbox_hold(&self, id: i64, at: &str, note: &str) -> Result<()> {
        sqlx::query(
            "UPDATE notify_outbox SET state = 'queued', attempts = MAX(attempts - 1, 0), \
             next_attempt_at = ?, last_error = ? WHERE id = ?",
        )
        .bind(at)
        .bind(note)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("holding a notification back", e))?;
        Ok(())
    }

    /// How many failure events were queued for `channel` since `since` (digests not counted).
    pub async fn outbox_failures_since(&self, channel: &str, since: &str) -> Result<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notify_outbox WHERE channel = ? AND severity = 'failure' \
             AND kind != 'digest' AND created_at >= ?",
        )
        .bind(channel)
        .bind(since)
        .fetch_one(self.pool())
        .await
        .map_err(|e| db_error("counting recent failures", e))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Rows collapsed into the digest `digest_event_id`.
    pub async fn outbox_digested(&self, ids: &[i64], digest_event_id: &str) -> Result<()> {
        let note = format!("collapsed into digest {digest_event_id}");
        for id in ids {
            self.outbox_update(*id, "digested", Some(&note), None)
                .await?;
        }
        Ok(())
    }

    /// How many rows of `channel` were sent since `since`.
    pub async fn outbox_sent_since(&self, channel: &str, since: &str) -> Result<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notify_outbox WHERE channel = ? AND state = 'sent' AND sent_at >= ?",
        )
        .bind(channel)
        .bind(since)
        .fetch_one(self.pool())
        .await
        .map_err(|e| db_error("counting sent notifications", e))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Record a test sent to `channel` right away ("Send a test", `offsite notify test`) so the
    /// delivery log shows it: `sent`, or `failed` with `error` (never a secret). One attempt.
    pub async fn record_test(
        &self,
        event: &Event,
        channel: &str,
        error: Option<&str>,
    ) -> Result<()> {
        let now = self.now();
        let payload = serde_json::to_string(event)
            .map_err(|e| Error::internal(format!("encoding an event: {e}")))?;
        let state = if error.is_some() { "failed" } else { "sent" };
        sqlx::query(
            "INSERT INTO notify_outbox (event_id, channel, project_id, kind, severity, payload_json, \
             state, attempts, next_attempt_at, last_error, created_at, sent_at) \
             VALUES (?, ?, NULL, ?, ?, ?, ?, 1, ?, ?, ?, CASE WHEN ? = 'sent' THEN ? END) \
             ON CONFLICT (event_id, channel) DO NOTHING",
        )
        .bind(&event.id)
        .bind(channel)
        .bind(word(&event.event))
        .bind(word(&event.severity))
        .bind(&payload)
        .bind(state)
        .bind(&now)
        .bind(error)
        .bind(&now)
        .bind(state)
        .bind(&now)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("recording a test notification", e))?;
        Ok(())
    }

    async fn outbox_update(
        &self,
        id: i64,
        state: &str,
        error: Option<&str>,
        next: Option<&str>,
    ) -> Result<()> {
        let now = self.now();
        sqlx::query(
            "UPDATE notify_outbox SET state = ?, last_error = ?, \
             next_attempt_at = COALESCE(?, next_attempt_at), \
             sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
        )
        .bind(state)
        .bind(error)
        .bind(next)
        .bind(state)
        .bind(&now)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("recording a notification's delivery", e))?;
        Ok(())
    }
}

fn no_channel(name: &str) -> Error {
    Error::not_found(format!("no notification channel named {name:?}"))
        .with_hint("see the channels with `offsite notify list`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::{catalog_at, shop, AT};
    use crate::catalog::{JobKind, JobOutcome};
    use crate::notify::{PingSpec, Preset, WebhookSpec};

    fn hook() -> ChannelSpec {
        ChannelSpec::Webhook(WebhookSpec {
            url_display: "https://hooks.example.com/…".into(),
            preset: Preset::Json,
        })
    }

    #[tokio::test]
    async fn a_finished_job_queues_its_event_in_the_same_transaction() {
        let (c, _clock) = catalog_at(AT).await;
        let (_dir, p) = shop(&c).await;
        // No channel: a job queues nothing.
        let j = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
        c.finish_job(&j.id, JobOutcome::Succeeded { backup_id: None })
            .await
            .unwrap();
        assert!(c.outbox(None, 10).await.unwrap().is_empty());

        c.add_channel("hook", &hook()).await.unwrap();
        c.add_channel(
            "hc",
            &ChannelSpec::Ping(PingSpec {
                url_display: "https://hc-ping.com/…".into(),
            }),
        )
        .await
        .unwrap();
        let j = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
        let err = crate::error::Error::new(crate::error::ErrorKind::Connection, "refused");
        c.finish_job(&j.id, JobOutcome::from_error(&err))
            .await
            .unwrap();
        let rows = c.outbox(Some(&p.id), 10).await.unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows.iter().all(|r| r.kind == "backup_failed"
            && r.state == "queued"
            && r.event_id == rows[0].event_id));
        let ev: Event = serde_json::from_str(&rows[0].payload_json).unwrap();
        assert_eq!(ev.job_id.as_deref(), Some(j.id.as_str()));
        assert_eq!(ev.error.unwrap().message, "refused");

        // A success goes only to the ping (the default route carries failures).
        let j = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
        c.finish_job(&j.id, JobOutcome::Succeeded { backup_id: None })
            .await
            .unwrap();
        let rows = c.outbox(Some(&p.id), 1).await.unwrap();
        assert_eq!(
            (rows[0].channel.as_str(), rows[0].kind.as_str()),
            ("hc", "backup_succeeded")
        );

        // A job that cannot be finished queues nothing (the transaction rolls back).
        let before = c.outbox(None, 100).await.unwrap().len();
        assert!(c.finish_job(&j.id, JobOutcome::Cancelled).await.is_err());
        assert_eq!(c.outbox(None, 100).await.unwrap().len(), before);
    }

    #[tokio::test]
    async fn routes_choose_channels_and_groups() {
        let (c, _clock) = catalog_at(AT).await;
        let (_dir, p) = shop(&c).await;
        c.add_channel("a", &hook()).await.unwrap();
        c.add_channel("b", &hook()).await.unwrap();
        c.set_route(&p.id, "b", &[EventGroup::Succeeded])
            .await
            .unwrap();
        let j = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
        c.finish_job(&j.id, JobOutcome::Succeeded { backup_id: None })
            .await
            .unwrap();
        let j = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
        let err = crate::error::Error::new(crate::error::ErrorKind::Connection, "refused");
        c.finish_job(&j.id, JobOutcome::from_error(&err))
            .await
            .unwrap();
        let rows = c.outbox(None, 10).await.unwrap();
        // With a route, only routed channels and groups: the success to b, the failure nowhere.
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            (rows[0].channel.as_str(), rows[0].kind.as_str()),
            ("b", "backup_succeeded")
        );
        let routes = c.routes(None).await.unwrap();
        assert_eq!(routes[0].events, vec!["succeeded"]);
        // Removing the channel removes its routes and rows.
        c.remove_channel("b").await.unwrap();
        assert!(c.routes(None).await.unwrap().is_empty());
        assert!(c.outbox(None, 10).await.unwrap().is_empty());
        assert!(c.remove_channel("b").await.is_err());
        assert!(c.add_channel("a", &hook()).await.is_err());
    }

    #[tokio::test]
    async fn claims_are_leases_and_overdue_fires_once_per_transition() {
        let (c, _clock) = catalog_at(AT).await;
        let (_dir, p) = shop(&c).await;
        c.add_channel("a", &hook()).await.unwrap();
        let ev = |o: bool| {
            events::overdue_event(
                EventProject {
                    id: p.id.clone(),
                    name: "shop".into(),
                },
                o,
                None,
                "2030-01-02T03:04:05.000Z",
            )
        };
        assert!(!c.record_overdue(&p.id, false, ev).await.unwrap());
        assert!(c.record_overdue(&p.id, true, ev).await.unwrap());
        assert!(!c.record_overdue(&p.id, true, ev).await.unwrap());
        assert!(c.record_overdue(&p.id, false, ev).await.unwrap());
        let rows = c.outbox(None, 10).await.unwrap();
        let kinds: Vec<_> = rows.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(kinds, ["project_back_to_normal", "project_overdue"]);

        let now = "2030-01-02T03:04:05.000Z";
        let lease = "2030-01-02T03:09:05.000Z";
        let got = c.claim_outbox(now, lease, 10).await.unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|r| r.state == "sending" && r.attempts == 1));
        // Claimed rows are not claimed again until their lease runs out (a killed sender).
        assert!(c.claim_outbox(now, lease, 10).await.unwrap().is_empty());
        let again = c
            .claim_outbox(lease, "2030-01-02T03:14:05.000Z", 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 2);
        assert_eq!(again[0].attempts, 2);
        c.outbox_sent(again[0].id).await.unwrap();
        c.outbox_failed(again[1].id, "HTTP 500", Some(lease))
            .await
            .unwrap();
        let rows = c.outbox(None, 10).await.unwrap();
        assert_eq!(rows.iter().filter(|r| r.state == "sent").count(), 1);
        assert_eq!(rows.iter().filter(|r| r.state == "queued").count(), 1);
    }

    /// The notify rows of the feed after `after`: (channel, project, op).
    async fn notify_feed(c: &Catalog, after: i64) -> Vec<(String, Option<String>, String)> {
        use crate::catalog::ChangeEntity;
        c.changes_since(after, 1000)
            .await
            .unwrap()
            .changes
            .into_iter()
            .filter(|ch| ch.entity == ChangeEntity::Notify)
            .map(|ch| (ch.id, ch.project_id, ch.op.as_str().to_string()))
            .collect()
    }

    #[tokio::test]
    async fn channels_routes_and_delivery_states_are_in_the_feed_once_per_change() {
        let (c, _clock) = catalog_at(AT).await;
        let (_dir, p) = shop(&c).await;
        let pid = Some(p.id.clone());
        let up = |ch: &str, p: &Option<String>| (ch.to_string(), p.clone(), "upsert".to_string());

        let seq = c.last_change_seq().await.unwrap();
        c.add_channel("hook", &hook()).await.unwrap();
        c.set_route(&p.id, "hook", &[EventGroup::Succeeded])
            .await
            .unwrap();
        assert_eq!(
            notify_feed(&c, seq).await,
            [up("hook", &None), up("hook", &pid)]
        );

        // An event queued: one row. Claiming it (queued → sending) writes none.
        let ev = events::new_event(
            crate::notify::EventKind::BackupSucceeded,
            "2030-01-02T03:04:05.000Z",
            None,
            "ok".to_string(),
        );
        let seq = c.last_change_seq().await.unwrap();
        c.enqueue_event(&ev, Some(&p.id), None).await.unwrap();
        assert_eq!(notify_feed(&c, seq).await, [up("hook", &pid)]);
        let now = "2030-01-02T03:04:05.000Z";
        let lease = "2030-01-02T03:06:05.000Z";
        let seq = c.last_change_seq().await.unwrap();
        let row = c.claim_outbox(now, lease, 10).await.unwrap().remove(0);
        assert!(
            notify_feed(&c, seq).await.is_empty(),
            "a claim is no change"
        );

        // Handed back by a rate limit or a storm (its attempt uncounted): no row either.
        c.outbox_postpone(row.id, lease).await.unwrap();
        c.claim_outbox(lease, "2030-01-02T03:08:05.000Z", 10)
            .await
            .unwrap();
        c.outbox_hold(row.id, lease, "held").await.unwrap();
        assert!(notify_feed(&c, seq).await.is_empty());

        // A failed attempt queued again, then sent: one row each, naming the project.
        c.claim_outbox(lease, "2030-01-02T03:08:05.000Z", 10)
            .await
            .unwrap();
        c.outbox_failed(row.id, "HTTP 503", Some(lease))
            .await
            .unwrap();
        assert_eq!(notify_feed(&c, seq).await, [up("hook", &pid)]);
        let seq = c.last_change_seq().await.unwrap();
        c.claim_outbox(lease, "2030-01-02T03:10:05.000Z", 10)
            .await
            .unwrap();
        c.outbox_sent(row.id).await.unwrap();
        c.outbox_sent(row.id).await.unwrap(); // no state change: no row
        assert_eq!(notify_feed(&c, seq).await, [up("hook", &pid)]);

        // Removing the channel: its row (and the route's), not one per outbox row.
        for i in 0..5 {
            let ev = events::new_event(
                crate::notify::EventKind::BackupSucceeded,
                now,
                None,
                format!("ok {i}"),
            );
            c.enqueue_event(&ev, Some(&p.id), None).await.unwrap();
        }
        let seq = c.last_change_seq().await.unwrap();
        c.remove_channel("hook").await.unwrap();
        let rows = notify_feed(&c, seq).await;
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows
            .iter()
            .all(|(ch, _, op)| ch == "hook" && op == "delete"));
    }

    #[tokio::test]
    async fn a_channel_written_before_schema_16_keeps_its_kind_s_rate() {
        use crate::catalog::MIGRATOR;
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .unwrap();
        // The catalog as version 15 left it, with a Telegram channel.
        let v15 = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(
                MIGRATOR
                    .iter()
                    .filter(|m| m.version <= 15)
                    .cloned()
                    .collect(),
            ),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        v15.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO notify_channels (name, spec_json, created_at) VALUES ('tg', \
             '{\"kind\":\"telegram\",\"chat_id\":\"-100\",\"api_base\":\"https://api.telegram.org\"}', \
             '2030-01-01T00:00:00.000Z')",
        )
        .execute(&pool)
        .await
        .unwrap();
        let c = Catalog::migrated(pool, crate::clock::system())
            .await
            .unwrap();
        // Migrated past 16 (the rate column) to the newest version.
        let newest = MIGRATOR.iter().map(|m| m.version).max().unwrap();
        assert!(newest >= 16);
        assert_eq!(c.schema_version().await.unwrap(), newest);
        let tg = c.channel("tg").await.unwrap();
        assert_eq!(tg.rate_per_minute, None);
        assert_eq!(tg.rate(), 20, "Telegram's default");
        // A record serialized without the field reads as the default too.
        let json = serde_json::to_value(&tg).unwrap();
        assert!(json.get("rate_per_minute").is_none(), "{json}");
        let back: ChannelRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back.rate(), 20);
        // A channel with its own rate keeps it.
        c.add_channel_rated("slow", &hook(), Some(2)).await.unwrap();
        let slow = c.channel("slow").await.unwrap();
        assert_eq!((slow.rate_per_minute, slow.rate()), (Some(2), 2));
        assert_eq!(c.channel("tg").await.unwrap().rate(), 20);
    }
}
