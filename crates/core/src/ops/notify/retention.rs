//! Retention's events (issue 27): `retention_will_remove`, seven days before retention is
//! expected to remove backups (each backup announced once), and `retention_removed`, once per
//! prune that removed backups. Their `details.backups` list each backup: id, created, size, when
//! it goes (or went) and why.

use crate::catalog::{format_timestamp, parse_timestamp, BackupRecord};
use crate::engine::Engine;
use crate::error::Result;
use crate::notify::events::new_event;
use crate::notify::{Event, EventKind, EventProject};
use serde::Serialize;
use time::Duration;

/// How far ahead the warning looks.
pub const WARN_AHEAD: Duration = Duration::days(7);

/// A backup as retention's events name it.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionItem {
    pub id: String,
    pub created_at: String,
    pub size_bytes: u64,
    /// When it is expected to go (`retention_will_remove`) or went (`retention_removed`).
    pub removed_at: String,
    /// Why the policy does not keep it (`not kept by keep-daily 7`).
    pub reason: String,
}

impl RetentionItem {
    pub fn of(b: &BackupRecord, removed_at: String, policy: &str) -> RetentionItem {
        RetentionItem {
            id: b.id.clone(),
            created_at: b.created_at.clone(),
            size_bytes: b.size,
            removed_at,
            reason: format!("not kept by {policy}"),
        }
    }
}

fn listed(items: &[RetentionItem]) -> String {
    let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    ids.join(", ")
}

/// The warning that retention will remove `items` within seven days.
pub fn will_remove_event(
    project: EventProject,
    policy: &str,
    items: &[RetentionItem],
    now: &str,
) -> Event {
    let summary = format!(
        "Retention will remove {} of {} within 7 days: {}",
        crate::words::count(items.len(), "backup"),
        project.name,
        listed(items)
    );
    let mut e = new_event(EventKind::RetentionWillRemove, now, Some(project), summary);
    e.details = serde_json::json!({ "policy": policy, "backups": items });
    e
}

/// The notice that a prune removed `items`.
pub fn removed_event(
    project: EventProject,
    policy: &str,
    job_id: Option<&str>,
    items: &[RetentionItem],
    now: &str,
) -> Event {
    let summary = format!(
        "Retention removed {} of {}: {}",
        items.len(),
        project.name,
        listed(items)
    );
    let mut e = new_event(EventKind::RetentionRemoved, now, Some(project), summary);
    e.job_id = job_id.map(str::to_string);
    e.size_bytes = Some(items.iter().map(|i| i.size_bytes).sum());
    e.details = serde_json::json!({ "policy": policy, "backups": items });
    e
}

/// For each project with a retention policy: the backups whose forecast removal is within
/// [`WARN_AHEAD`] and that were not announced yet, in one `retention_will_remove` event per
/// project (queued with the record of the announcement). Returns how many events were made.
pub(crate) async fn warn_ahead(engine: &Engine) -> Result<u32> {
    let catalog = &engine.catalog;
    let now = engine.clock.now();
    let horizon = now + WARN_AHEAD;
    let stamp = format_timestamp(now);
    let mut made = 0;
    for project in catalog.projects().await? {
        // One project's trouble (a policy or schedule that cannot be read) does not keep the
        // others' warnings, or the delivery after them, from happening.
        match warn_project(engine, &project, horizon, &stamp).await {
            Ok(true) => made += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(project = %project.name, "retention warning skipped: {e}"),
        }
    }
    Ok(made)
}

async fn warn_project(
    engine: &Engine,
    project: &crate::catalog::Project,
    horizon: time::OffsetDateTime,
    stamp: &str,
) -> Result<bool> {
    let catalog = &engine.catalog;
    {
        let Some(record) = catalog.retention(&project.id).await? else {
            return Ok(false);
        };
        let (policy, _) = crate::ops::prune::policy_of(Some(&record))?;
        if policy.is_empty() {
            return Ok(false);
        }
        let policy = policy.describe();
        let backups = catalog.backups(&project.id).await?;
        let mut items = Vec::new();
        for f in crate::ops::prune::forecast(engine, &project.name).await? {
            let Some(at) = f.removed_at.as_deref() else {
                continue;
            };
            if parse_timestamp(at)? > horizon {
                continue;
            }
            if let Some(b) = backups.iter().find(|b| b.id == f.backup_id) {
                items.push(RetentionItem::of(b, at.to_string(), &policy));
            }
        }
        if items.is_empty() {
            return Ok(false);
        }
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        let who = EventProject {
            id: project.id.clone(),
            name: project.name.clone(),
        };
        let announced = catalog
            .record_retention_warning(&project.id, &ids, |fresh| {
                let fresh: Vec<RetentionItem> = items
                    .iter()
                    .filter(|i| fresh.contains(&i.id))
                    .cloned()
                    .collect();
                Some(will_remove_event(who, &policy, &fresh, stamp))
            })
            .await?;
        Ok(!announced.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::render;

    #[test]
    fn each_backup_is_one_readable_line() {
        let items = vec![RetentionItem {
            id: "b-1".into(),
            created_at: "2030-03-01T01:00:00.000Z".into(),
            size_bytes: 2048,
            removed_at: "2030-03-09T00:30:00.000Z".into(),
            reason: "not kept by keep-daily 8".into(),
        }];
        let who = EventProject {
            id: "p".into(),
            name: "shop".into(),
        };
        let e = will_remove_event(who, "keep-daily 8", &items, "2030-03-02T01:00:00.000Z");
        assert_eq!(e.event, EventKind::RetentionWillRemove);
        let r = render(&e);
        assert!(
            r.subject.contains("Retention will remove 1 backup of shop"),
            "{r:?}"
        );
        assert!(
            r.text.contains(
                "Backup: b-1 (created 2030-03-01T01:00:00.000Z, 2.0 KB): removal \
                 2030-03-09T00:30:00.000Z; not kept by keep-daily 8"
            ),
            "{}",
            r.text
        );
        assert!(!r.text.contains("[{"), "no raw JSON: {}", r.text);
    }
}
