//! The `pitr_stray_slots` table (migration `0031_pitr_stray_slots.sql`): the stray
//! point-in-time slots already reported (docs/pitr.md "Stray slots"), so each is reported once.

use super::notify::enqueue;
use super::sql::db_error;
use super::Catalog;
use crate::error::Result;
use crate::notify::Event;

/// A stray slot as last reported.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StrayReport {
    pub slot: String,
    /// When its last alert was queued.
    pub reported_at: String,
    /// The WAL it held then.
    pub retained_bytes: i64,
}

/// The reports of one server (`?`), by slot.
const REPORTS: &str =
    "SELECT slot, reported_at, retained_bytes FROM pitr_stray_slots WHERE server = ? ORDER BY slot";

impl Catalog {
    /// The strays reported on `server` (`HOST:PORT/DATABASE`) and seen since.
    pub async fn pitr_stray_reports(&self, server: &str) -> Result<Vec<StrayReport>> {
        sqlx::query_as::<_, StrayReport>(REPORTS)
            .bind(server)
            .fetch_all(self.pool())
            .await
            .map_err(|e| db_error("reading the stray slots reported", e))
    }

    /// After a check of `server` that found the strays `seen` (name, retained WAL): the ones
    /// reported before and not seen now are forgotten (they went: back again, they are reported
    /// again); for each one seen, `event_of(slot, retained, last report)` says whether to report
    /// it — an event it gives is queued for `project_id` in the same transaction as the record of
    /// the report, so two processes checking at once do not both report it. Returns how many
    /// events were queued.
    pub async fn record_pitr_strays(
        &self,
        server: &str,
        project_id: &str,
        seen: &[(String, i64)],
        event_of: impl Fn(&str, i64, Option<&StrayReport>) -> Option<Event>,
    ) -> Result<usize> {
        let what = "recording the stray slots reported";
        let now = self.now();
        let mut tx = self.pool().begin().await.map_err(|e| db_error(what, e))?;
        let before: Vec<StrayReport> = sqlx::query_as(REPORTS)
            .bind(server)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_error(what, e))?;
        for gone in before
            .iter()
            .filter(|r| !seen.iter().any(|(s, _)| *s == r.slot))
        {
            sqlx::query("DELETE FROM pitr_stray_slots WHERE server = ? AND slot = ?")
                .bind(server)
                .bind(&gone.slot)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(what, e))?;
        }
        let mut queued = 0;
        for (slot, retained) in seen {
            let last = before.iter().find(|r| r.slot == *slot);
            let Some(event) = event_of(slot, *retained, last) else {
                continue;
            };
            sqlx::query(
                "INSERT INTO pitr_stray_slots (server, slot, reported_at, retained_bytes) \
                 VALUES (?, ?, ?, ?) ON CONFLICT (server, slot) DO UPDATE SET \
                 reported_at = excluded.reported_at, retained_bytes = excluded.retained_bytes",
            )
            .bind(server)
            .bind(slot)
            .bind(&now)
            .bind(retained)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(what, e))?;
            enqueue(&mut tx, &event, Some(project_id), None, &now).await?;
            queued += 1;
        }
        tx.commit().await.map_err(|e| db_error(what, e))?;
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{catalog_at, shop, AT};
    use crate::notify::events::new_event;
    use crate::notify::EventKind;

    fn event() -> Option<crate::notify::Event> {
        Some(new_event(
            EventKind::PitrStraySlot,
            "2030-01-02T03:04:05.000Z",
            None,
            "stray".into(),
        ))
    }

    #[tokio::test]
    async fn a_report_is_recorded_and_forgotten_when_the_slot_goes() {
        let (c, _clock) = catalog_at(AT).await;
        let (_dir, p) = shop(&c).await;
        let srv = "db:5432/shop";
        let seen = vec![
            ("offsite_pitr_a".to_string(), 100),
            ("offsite_pitr_b".into(), 5),
        ];
        let n = c
            .record_pitr_strays(srv, &p.id, &seen, |s, _, last| {
                assert!(last.is_none());
                (s == "offsite_pitr_a").then(event).flatten()
            })
            .await
            .unwrap();
        assert_eq!(n, 1);
        let got = c.pitr_stray_reports(srv).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].slot.as_str(), got[0].retained_bytes),
            ("offsite_pitr_a", 100)
        );
        // Another server's strays are its own.
        assert!(c
            .pitr_stray_reports("db:5432/blog")
            .await
            .unwrap()
            .is_empty());
        // Seen again: the last report is handed over; no event, nothing changes.
        let n = c
            .record_pitr_strays(srv, &p.id, &seen, |s, _, last| {
                assert_eq!(last.is_some(), s == "offsite_pitr_a");
                None
            })
            .await
            .unwrap();
        assert_eq!(n, 0);
        assert_eq!(c.pitr_stray_reports(srv).await.unwrap().len(), 1);
        // Not seen: forgotten.
        c.record_pitr_strays(srv, &p.id, &[], |_, _, _| event())
            .await
            .unwrap();
        assert!(c.pitr_stray_reports(srv).await.unwrap().is_empty());
    }
}
