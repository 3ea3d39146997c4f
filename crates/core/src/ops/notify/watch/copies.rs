//! The copy watcher (issue 27): every [`COPIES_EVERY`], for each project and each of its
//! destinations, whether copies of its backups have been pending there (not yet copied, or
//! failing) for longer than the `copy_pending_hours` setting (default 24). When that starts to
//! hold, one `copy_pending` event names the project, the destination (by its name, never its
//! URL), how many backups wait, since when, and the last error. When nothing is pending there
//! any more the condition resets silently (no event), so a later pending copy warns again.

use super::settings;
use crate::catalog::{format_timestamp, parse_timestamp, BackupCopy, CopyState, Project};
use crate::engine::Engine;
use crate::error::Result;
use crate::notify::events::new_event;
use crate::notify::{Event, EventError, EventKind, EventProject};
use std::time::Duration;
use time::OffsetDateTime;

/// How often the copy watcher looks.
pub const COPIES_EVERY: Duration = Duration::from_secs(15 * 60);
/// The name under which the copy watcher's last run is kept.
pub const COPIES_WATCH: &str = "copies";
/// The condition's kind in `notify_conditions`.
pub const COPY_PENDING_KIND: &str = "copy_pending";

/// What waits at one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// How many backups wait.
    pub count: usize,
    /// Since when the oldest has waited.
    pub since: String,
    /// The last error recorded (of the most recently recorded pending copy that has one).
    pub last_error: Option<String>,
}

/// The pending copies among `copies` (one destination's), when the oldest has waited at least
/// `hours` by `now`; `None` when nothing pending waited that long.
pub fn overdue(copies: &[BackupCopy], now: OffsetDateTime, hours: u32) -> Result<Option<Pending>> {
    let pending: Vec<&BackupCopy> = copies
        .iter()
        .filter(|c| c.state == CopyState::Pending)
        .collect();
    let mut oldest: Option<(OffsetDateTime, &str)> = None;
    for c in &pending {
        let since = c.pending_since.as_deref().unwrap_or(&c.created_at);
        let t = parse_timestamp(since)?;
        if oldest.is_none_or(|(o, _)| t < o) {
            oldest = Some((t, since));
        }
    }
    let Some((t, since)) = oldest else {
        return Ok(None);
    };
    if now - t < time::Duration::hours(i64::from(hours)) {
        return Ok(None);
    }
    let last_error = pending.iter().rev().find_map(|c| c.last_error.clone());
    Ok(Some(Pending {
        count: pending.len(),
        since: since.to_string(),
        last_error,
    }))
}

/// The `copy_pending` event for `destination` (its name) of `project`.
pub fn pending_event(
    project: EventProject,
    destination: &str,
    p: &Pending,
    hours: u32,
    now: &str,
) -> Event {
    let summary = format!(
        "{} of {} {} waited since {} to be copied to {} (more than {hours} h)",
        crate::words::count(p.count, "backup"),
        project.name,
        if p.count == 1 { "has" } else { "have" },
        p.since,
        destination
    );
    let sync = format!("offsite sync {}", project.name);
    let mut e = new_event(EventKind::CopyPending, now, Some(project), summary);
    e.error = p.last_error.as_ref().map(|m| EventError {
        code: COPY_PENDING_KIND.into(),
        message: crate::notify::render::one_line(m, 500),
        hint: Some(format!(
            "check that the destination is reachable, writable and has room, then run `{sync}`"
        )),
    });
    e.details = serde_json::json!({
        "destination": destination,
        "pending_backups": p.count,
        "pending_since": p.since,
        "threshold_hours": hours,
    });
    e
}

/// Look at every project's destinations; returns how many events were queued. One project's
/// trouble is logged and does not keep the others from being looked at.
pub(crate) async fn watch_copies(engine: &Engine) -> Result<u32> {
    let hours = settings::load(&engine.catalog).await?.copy_pending_hours;
    let now = engine.clock.now();
    let mut made = 0;
    for project in engine.catalog.projects().await? {
        match watch_project(engine, &project, now, hours).await {
            Ok(n) => made += n,
            Err(e) => tracing::warn!(project = %project.name, "copy watcher skipped: {e}"),
        }
    }
    Ok(made)
}

async fn watch_project(
    engine: &Engine,
    project: &Project,
    now: OffsetDateTime,
    hours: u32,
) -> Result<u32> {
    let catalog = &engine.catalog;
    let copies = catalog.project_copies(&project.id).await?;
    let stamp = format_timestamp(now);
    let mut made = 0;
    for d in catalog.destinations(&project.id).await? {
        let here: Vec<BackupCopy> = copies
            .iter()
            .filter(|c| c.destination == d.id)
            .cloned()
            .collect();
        let found = overdue(&here, now, hours)?;
        let detail = found
            .as_ref()
            .map(|p| format!("{} pending since {}", p.count, p.since));
        let who = EventProject {
            id: project.id.clone(),
            name: project.name.clone(),
        };
        let fired = catalog
            .record_condition(
                &project.id,
                COPY_PENDING_KIND,
                &format!("dest:{}", d.id),
                found.is_some(),
                detail.as_deref(),
                |active| {
                    let p = found.as_ref().filter(|_| active)?;
                    Some(pending_event(who, &d.name, p, hours, &stamp))
                },
            )
            .await?;
        made += u32::from(fired);
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::BackupStatus;
    use crate::notify::render::render;
    use time::macros::datetime;

    fn copy(state: CopyState, since: Option<&str>, err: Option<&str>) -> BackupCopy {
        BackupCopy {
            id: "c".into(),
            backup_id: "b".into(),
            destination: "d".into(),
            location: "shop/a.tar.gz".into(),
            size: 10,
            sha256: "0".repeat(64),
            status: BackupStatus::Unverified,
            verified_at: None,
            verify_problem: None,
            created_at: "2030-01-01T00:00:00.000Z".into(),
            state,
            uploaded_at: None,
            pending_since: since.map(str::to_string),
            last_error: err.map(str::to_string),
            attempts: 1,
            retain_until: None,
        }
    }

    #[test]
    fn pending_longer_than_the_threshold_counts_from_the_oldest() {
        let now = datetime!(2030-01-02 06:00 UTC);
        let copies = vec![
            copy(
                CopyState::Pending,
                Some("2030-01-01T05:00:00.000Z"),
                Some("old"),
            ),
            copy(CopyState::Stored, None, None),
            copy(
                CopyState::Pending,
                Some("2030-01-02T05:00:00.000Z"),
                Some("disk full"),
            ),
        ];
        let p = overdue(&copies, now, 24).unwrap().unwrap();
        assert_eq!(p.count, 2);
        assert_eq!(p.since, "2030-01-01T05:00:00.000Z");
        assert_eq!(p.last_error.as_deref(), Some("disk full"));
        // 25 h waited: not yet more than 26.
        assert_eq!(overdue(&copies, now, 26).unwrap(), None);
        assert_eq!(overdue(&copies, now, 25).unwrap().unwrap().count, 2);
        // Nothing pending: nothing to say.
        let stored = vec![copy(CopyState::Stored, None, None)];
        assert_eq!(overdue(&stored, now, 1).unwrap(), None);
        assert!(overdue(&[copy(CopyState::Pending, Some("x"), None)], now, 1).is_err());
    }

    #[test]
    fn the_event_names_the_destination_the_count_the_time_and_the_error() {
        let p = Pending {
            count: 3,
            since: "2030-01-01T05:00:00.000Z".into(),
            last_error: Some("permission denied writing /mnt/nas/shop".into()),
        };
        let who = EventProject {
            id: "p".into(),
            name: "shop".into(),
        };
        let e = pending_event(who, "nas", &p, 24, "2030-01-02T06:00:00.000Z");
        assert_eq!(e.event, EventKind::CopyPending);
        assert_eq!(e.details["destination"], "nas");
        assert_eq!(e.details["pending_backups"], 3);
        let err = e.error.as_ref().unwrap();
        assert!(err.hint.as_deref().unwrap().contains("offsite sync shop"));
        let r = render(&e);
        assert!(
            r.subject
                .contains("3 backups of shop have waited since 2030-01-01T05:00:00.000Z"),
            "{r:?}"
        );
        assert!(r.text.contains("Destination: nas\n"), "{}", r.text);
        assert!(
            r.text
                .contains("Waiting: 3 backups since 2030-01-01T05:00:00.000Z (threshold 24 h)\n"),
            "{}",
            r.text
        );
        assert!(r
            .text
            .contains("Error: permission denied writing /mnt/nas/shop (copy_pending)\n"));
    }
}
