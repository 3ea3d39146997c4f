//! Stray slots reported by the capture itself (issue 46, docs/pitr.md "Stray slots"): a slot
//! left by a removed agent or a deleted project is found and reported, never left filling a
//! disk in silence.
//!
//! After a capture pass (`pitr run`, `offsite daemon`, `offsite serve`, the app's Capture now —
//! all go through [`super::keep::keep`]) the project's server is asked for the replication slots
//! named like Offsite's (`offsite_pitr_…`) that no active chain of this catalog owns — at most
//! every [`EVERY`] per server within a process. Each one gets one `pitr_stray_slot` alert through
//! the outbox, naming the slot, the WAL it holds, whether something reads it, and what to do.
//! The reports are kept in the catalog (`pitr_stray_slots`): a slot is reported again only when
//! it went and came back, or [`AGAIN_AFTER`] its last report if it holds more WAL than then.
//! Nothing here fails the capture: a failure is logged and the pass goes on.

use super::connect;
use crate::catalog::{format_timestamp, parse_timestamp, Project, StrayReport};
use crate::engine::Engine;
use crate::error::Result;
use crate::notify::events::new_event;
use crate::notify::{Event, EventKind, EventProject};
use crate::pitr::server::SlotState;
use crate::postgres::restore::quote_literal;
use crate::units::format_bytes;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// How often a process looks for strays on one server, at most.
pub(crate) const EVERY: Duration = Duration::from_secs(5 * 60);
/// A stray still there is reported again this long after its last report, if it grew.
pub(crate) const AGAIN_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// When this process last looked at each server.
static LOOKED: Mutex<Option<HashMap<String, Instant>>> = Mutex::new(None);

/// Whether to look at `server` now (not looked at within [`EVERY`]); if so it counts as looked at.
fn due_to_look(server: &str, now: Instant) -> bool {
    let mut looked = LOOKED.lock().unwrap_or_else(|e| e.into_inner());
    let looked = looked.get_or_insert_with(HashMap::new);
    match looked.get(server) {
        Some(at) if now.saturating_duration_since(*at) < EVERY => false,
        _ => {
            looked.insert(server.to_string(), now);
            true
        }
    }
}

/// Whether a stray holding `retained` bytes is to be reported, given its last report (`None`:
/// never reported, or it went since and came back): always when not reported; again only
/// [`AGAIN_AFTER`] the last report and when it holds more WAL than it did then. A report dated
/// in the future (the clock was set back) counts from now: not again yet.
pub(crate) fn to_report(last: Option<&StrayReport>, retained: i64, now: OffsetDateTime) -> bool {
    let Some(last) = last else {
        return true;
    };
    let Ok(at) = parse_timestamp(&last.reported_at) else {
        return true;
    };
    now - at >= AGAIN_AFTER && retained > last.retained_bytes
}

/// Look for strays on `project`'s server (when due) and report the new ones. Never fails: what
/// goes wrong is logged.
pub(crate) async fn check(engine: &Engine, project: &Project) {
    if let Err(e) = check_now(engine, project).await {
        tracing::warn!(project = %project.name, "looking for stray point-in-time slots: {e}");
    }
}

async fn check_now(engine: &Engine, project: &Project) -> Result<()> {
    let spec = engine.spec_of(project)?;
    // Where the slots are: the server and the database (a logical slot is a database's).
    let server = format!("{}/{}", spec.location(), spec.database);
    if !due_to_look(&server, Instant::now()) {
        return Ok(());
    }
    let (spec, mut conn) = connect(engine, project).await?;
    let strays = super::stray_slots(engine, &spec, &mut conn).await?;
    drop(conn);
    let seen: Vec<(String, i64)> = strays
        .iter()
        .map(|s| (s.slot.clone(), s.retained_bytes))
        .collect();
    let now = engine.clock.now();
    let queued = engine
        .catalog
        .record_pitr_strays(&server, &project.id, &seen, |slot, retained, last| {
            if !to_report(last, retained, now) {
                return None;
            }
            let s = strays.iter().find(|s| s.slot == slot)?;
            Some(alert(project, &server, s, last.is_some(), now))
        })
        .await?;
    if queued > 0 {
        tracing::warn!(project = %project.name, "{queued} stray point-in-time slot(s) on {server}");
        // Sent now where nothing else delivers (a one-shot `pitr run --once`); the outbox keeps
        // it for the next delivery when this fails.
        if let Err(e) = crate::ops::notify::deliver::deliver_due(engine).await {
            tracing::warn!(project = %project.name, "delivering the alert: {e}");
        }
    }
    Ok(())
}

/// The `pitr_stray_slot` event for `slot` on `server` (`HOST:PORT/DATABASE`: no user, no
/// password), found by `project`'s capture.
fn alert(
    project: &Project,
    server: &str,
    slot: &SlotState,
    again: bool,
    now: OffsetDateTime,
) -> Event {
    let held = format_bytes(u64::try_from(slot.retained_bytes).unwrap_or(0));
    let in_use = if slot.active {
        "in use (something reads it now)"
    } else {
        "not in use"
    };
    let drop_sql = format!(
        "SELECT pg_drop_replication_slot({})",
        quote_literal(&slot.slot)
    );
    let what_to_do = format!(
        "It may belong to another Offsite catalog capturing this database (an agent, `offsite \
         serve`, another computer): check there first (`offsite pitr status PROJECT` lists the \
         slot of its capture); dropping a slot that another capture reads ends its window. If \
         none does, drop it on the server: {drop_sql};"
    );
    let summary =
        format!(
        "Stray point-in-time slot {} on {server}: it holds {held} of WAL, {in_use}; no capture \
         of this Offsite reads it (found by the capture of {}){}",
        slot.slot,
        project.name,
        if again { " — still there and growing" } else { "" }
    );
    let who = EventProject {
        id: project.id.clone(),
        name: project.name.clone(),
    };
    let mut e = new_event(
        EventKind::PitrStraySlot,
        &format_timestamp(now),
        Some(who),
        summary,
    );
    e.details = serde_json::json!({
        "slot": slot.slot,
        "server": server,
        "retained_bytes": slot.retained_bytes,
        "active": slot.active,
        "reported_before": again,
        "drop_sql": drop_sql,
        "what_to_do": what_to_do,
    });
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2030-01-02 03:04:05 UTC);

    fn report(hours_ago: i64, retained: i64) -> StrayReport {
        StrayReport {
            slot: "offsite_pitr_x".into(),
            reported_at: format_timestamp(AT - time::Duration::hours(hours_ago)),
            retained_bytes: retained,
        }
    }

    #[test]
    fn a_stray_is_reported_once_then_again_only_after_a_day_and_growing() {
        // Never reported (or it went and came back): reported.
        assert!(to_report(None, 0, AT));
        // Reported: not again while it is there…
        assert!(!to_report(Some(&report(0, 100)), 100, AT));
        assert!(!to_report(Some(&report(23, 100)), 10_000, AT));
        // …nor after a day when it did not grow…
        assert!(!to_report(Some(&report(25, 100)), 100, AT));
        assert!(!to_report(Some(&report(25, 100)), 50, AT));
        // …but after a day, holding more WAL than at its last report.
        assert!(to_report(Some(&report(24, 100)), 101, AT));
        assert!(to_report(Some(&report(72, 100)), 1 << 30, AT));
        // A report dated in the future (the clock set back): not again yet.
        assert!(!to_report(Some(&report(-48, 100)), 1 << 30, AT));
        // A report whose time cannot be read: reported.
        let mut bad = report(0, 100);
        bad.reported_at = "yesterday".into();
        assert!(to_report(Some(&bad), 100, AT));
    }

    #[test]
    fn a_server_is_looked_at_every_few_minutes_at_most() {
        let t = Instant::now();
        let server = "stray-test-host:5432/a";
        assert!(due_to_look(server, t));
        assert!(!due_to_look(server, t + Duration::from_secs(60)));
        assert!(due_to_look("stray-test-host:5432/b", t));
        assert!(due_to_look(server, t + EVERY));
    }

    #[test]
    fn the_slot_is_quoted_as_a_literal() {
        assert_eq!(quote_literal("offsite_pitr_ab"), "'offsite_pitr_ab'");
        assert_eq!(quote_literal("a'b"), "'a''b'");
    }

    #[test]
    fn the_alert_names_the_slot_what_it_holds_and_what_to_do() {
        let p = Project {
            id: "p1".into(),
            name: "shop".into(),
            db_url: "postgres://postgres@db:5432/shop".into(),
            tls_mode: "require".into(),
            backup_dir: None,
            created_at: "2030-01-01T00:00:00.000Z".into(),
        };
        let slot = SlotState {
            slot: "offsite_pitr_x".into(),
            confirmed_flush: 0,
            retained_bytes: 3 << 20,
            active: false,
        };
        let e = alert(&p, "db:5432/shop", &slot, false, AT);
        assert_eq!(e.event, EventKind::PitrStraySlot);
        assert_eq!(e.severity, crate::notify::Severity::Warning);
        assert!(e.summary.contains("offsite_pitr_x"), "{}", e.summary);
        assert!(e.summary.contains("3.0 MB"), "{}", e.summary);
        assert!(e.summary.contains("not in use"), "{}", e.summary);
        assert_eq!(
            e.details["drop_sql"],
            "SELECT pg_drop_replication_slot('offsite_pitr_x')"
        );
        let todo = e.details["what_to_do"].as_str().unwrap();
        assert!(todo.contains("another Offsite catalog"), "{todo}");
        assert!(
            todo.contains("pg_drop_replication_slot('offsite_pitr_x')"),
            "{todo}"
        );
    }
}
