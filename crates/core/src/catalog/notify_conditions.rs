//! The watchers' memory (migration 15, issue 27): each watched condition's state as last seen
//! (`notify_conditions`), so its event fires once per transition, and when each watcher last
//! ran (`notify_watch_runs`), so a watcher with its own cadence keeps it across restarts.

use super::notify::enqueue;
use super::sql::db_error;
use super::Catalog;
use crate::clock::{format_timestamp, parse_timestamp};
use crate::error::Result;
use crate::notify::Event;

/// One watched condition as last recorded.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConditionRecord {
    pub project_id: String,
    pub kind: String,
    pub subject: String,
    pub active: bool,
    pub changed_at: String,
    pub detail: Option<String>,
}

impl Catalog {
    /// Record whether `kind`/`subject` of `project_id` holds now. When that changed (or, first
    /// seen, it holds), `event_of(active)` is asked for an event; one it gives is queued in the
    /// same transaction as the new state, so each transition fires once. `None` records the
    /// state silently (a watcher with no "back to normal" event). Returns whether an event was
    /// queued.
    pub async fn record_condition(
        &self,
        project_id: &str,
        kind: &str,
        subject: &str,
        active: bool,
        detail: Option<&str>,
        event_of: impl FnOnce(bool) -> Option<Event>,
    ) -> Result<bool> {
        let what = "recording a watched condition";
        let now = self.now();
        let mut tx = self.pool().begin().await.map_err(|e| db_error(what, e))?;
        let before: Option<bool> = sqlx::query_scalar(
            "SELECT active FROM notify_conditions WHERE project_id = ? AND kind = ? AND subject = ?",
        )
        .bind(project_id)
        .bind(kind)
        .bind(subject)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_error(what, e))?;
        if before == Some(active) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO notify_conditions (project_id, kind, subject, active, changed_at, detail) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, kind, subject) DO UPDATE SET \
             active = excluded.active, changed_at = excluded.changed_at, detail = excluded.detail",
        )
        .bind(project_id)
        .bind(kind)
        .bind(subject)
        .bind(active)
        .bind(&now)
        .bind(detail)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(what, e))?;
        // First seen and not holding: nothing to say.
        let event = if before.is_some() || active {
            event_of(active)
        } else {
            None
        };
        let fired = event.is_some();
        if let Some(event) = event {
            enqueue(&mut tx, &event, Some(project_id), None, &now).await?;
        }
        tx.commit().await.map_err(|e| db_error(what, e))?;
        Ok(fired)
    }

    /// The recorded conditions of one kind (all projects), or of every kind.
    pub async fn conditions(&self, kind: Option<&str>) -> Result<Vec<ConditionRecord>> {
        sqlx::query_as::<_, ConditionRecord>(
            "SELECT project_id, kind, subject, active, changed_at, detail FROM notify_conditions \
             WHERE (? IS NULL OR kind = ?) ORDER BY project_id, kind, subject",
        )
        .bind(kind)
        .bind(kind)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the watched conditions", e))
    }

    /// Whether watcher `watch` is due (never ran, or last ran at least `every` ago by the
    /// catalog's clock; a last run in the future — the clock was set back — counts as due); if
    /// so it is marked as run now, in the same statement's transaction, so two processes do
    /// not both run it.
    pub async fn claim_watch(&self, watch: &str, every: std::time::Duration) -> Result<bool> {
        let what = "claiming a watcher's run";
        let now = self.clock().now();
        let mut tx = self.pool().begin().await.map_err(|e| db_error(what, e))?;
        let last: Option<String> =
            sqlx::query_scalar("SELECT checked_at FROM notify_watch_runs WHERE watch = ?")
                .bind(watch)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| db_error(what, e))?;
        let due = match last.as_deref().map(parse_timestamp) {
            Some(Ok(t)) => t > now || now - t >= every,
            _ => true,
        };
        if due {
            sqlx::query(
                "INSERT INTO notify_watch_runs (watch, checked_at) VALUES (?, ?) \
                 ON CONFLICT (watch) DO UPDATE SET checked_at = excluded.checked_at",
            )
            .bind(watch)
            .bind(format_timestamp(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(what, e))?;
            tx.commit().await.map_err(|e| db_error(what, e))?;
        }
        Ok(due)
    }

    /// Forget when `watch` last ran, so the next check runs it (after a backup or a prune, say).
    pub async fn reset_watch(&self, watch: &str) -> Result<()> {
        sqlx::query("DELETE FROM notify_watch_runs WHERE watch = ?")
            .bind(watch)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("resetting a watcher's run", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{catalog_at, shop, AT};
    use crate::notify::events::new_event;
    use crate::notify::{ChannelSpec, Event, EventKind, EventProject, Preset, WebhookSpec};
    use std::time::Duration;

    fn event(p: &str, kind: EventKind) -> Event {
        let project = EventProject {
            id: p.into(),
            name: "shop".into(),
        };
        new_event(
            kind,
            "2030-01-02T03:04:05.000Z",
            Some(project),
            "low".into(),
        )
    }

    fn hook() -> ChannelSpec {
        ChannelSpec::Webhook(WebhookSpec {
            url_display: "https://hooks.example.com/…".into(),
            preset: Preset::Json,
        })
    }

    #[tokio::test]
    async fn a_condition_fires_once_per_transition() {
        let (c, _clock) = catalog_at(AT).await;
        let (_dir, p) = shop(&c).await;
        c.add_channel("a", &hook()).await.unwrap();
        let ev = |on: bool| on.then(|| event(&p.id, EventKind::SpaceLow));
        let rec =
            |on: bool| c.record_condition(&p.id, "space_low", "folder", on, Some("3 GiB left"), ev);
        assert!(!rec(false).await.unwrap(), "first seen and fine: silent");
        assert!(rec(true).await.unwrap());
        assert!(!rec(true).await.unwrap(), "still low: no second event");
        assert!(
            !rec(false).await.unwrap(),
            "back to normal: no event from this watcher"
        );
        assert!(rec(true).await.unwrap(), "low again: fires again");
        let rows = c.outbox(None, 10).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.kind == "space_low"));
        let conds = c.conditions(Some("space_low")).await.unwrap();
        assert_eq!(conds.len(), 1);
        assert!(conds[0].active);
        assert_eq!(conds[0].detail.as_deref(), Some("3 GiB left"));
        // Another subject is its own condition.
        assert!(c
            .record_condition(&p.id, "space_low", "dest:nas", true, None, ev)
            .await
            .unwrap());
        assert_eq!(c.conditions(None).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_watch_runs_at_its_cadence_by_the_catalog_clock() {
        let (c, clock) = catalog_at(AT).await;
        let hour = Duration::from_secs(3600);
        assert!(c.claim_watch("space", hour).await.unwrap(), "never ran");
        assert!(!c.claim_watch("space", hour).await.unwrap());
        assert!(
            c.claim_watch("copies", hour).await.unwrap(),
            "watches are separate"
        );
        clock.advance(time::Duration::seconds(3599));
        assert!(!c.claim_watch("space", hour).await.unwrap());
        clock.advance(time::Duration::seconds(1));
        assert!(c.claim_watch("space", hour).await.unwrap());
        c.reset_watch("space").await.unwrap();
        assert!(
            c.claim_watch("space", hour).await.unwrap(),
            "reset: due at once"
        );
    }
}
