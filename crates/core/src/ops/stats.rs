//! A project's backup statistics (issue 47): how many backups, how much they take, per type,
//! the oldest and the newest, how fast a backup grows per week, and per destination the bytes
//! stored and the copies there. Computed here once; `offsite backups --stats`, `offsite status
//! --json` and the app's Backups tab only show it.

use crate::archive::BackupType;
use crate::catalog::{parse_timestamp, BackupRecord, CopyState, LOCAL_DESTINATION};
use crate::engine::Engine;
use crate::error::Result;
use serde::Serialize;
use std::collections::BTreeMap;

/// One type's share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TypeStats {
    pub backup_type: BackupType,
    pub count: u32,
    pub bytes: u64,
}

/// What one place holds of the project's backups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DestinationStats {
    /// `local` (the backup folder) or the destination's name.
    pub destination: String,
    /// Stored copies there.
    pub copies: u32,
    pub bytes: u64,
}

/// A project's backup statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupStats {
    pub project: String,
    /// Backups in the catalog (per-tenant archives included).
    pub count: u32,
    /// Their archives' sizes added up (one copy each).
    pub total_bytes: u64,
    /// Per type, the most frequent first.
    pub by_type: Vec<TypeStats>,
    /// When the oldest and the newest were taken.
    pub oldest: Option<String>,
    pub newest: Option<String>,
    /// How much a backup grows per week, in bytes (negative: shrinks): for the project's most
    /// frequent type, the newest archive's size minus the oldest's, over the weeks between them.
    /// `None` with fewer than two such backups or less than a day between them.
    pub growth_per_week_bytes: Option<i64>,
    pub suspicious: u32,
    pub pinned: u32,
    /// Per place (the backup folder first): stored copies and their bytes.
    pub destinations: Vec<DestinationStats>,
}

/// The growth per week of `backups` (one type, newest first); see [`BackupStats`].
fn growth_per_week(backups: &[&BackupRecord]) -> Option<i64> {
    let (newest, oldest) = (backups.first()?, backups.last()?);
    let (a, b) = (
        parse_timestamp(&oldest.created_at).ok()?,
        parse_timestamp(&newest.created_at).ok()?,
    );
    let secs = (b - a).whole_seconds();
    if secs < 86_400 {
        return None;
    }
    let delta = i128::from(newest.size) - i128::from(oldest.size);
    let per_week = delta * 604_800 / i128::from(secs);
    i64::try_from(per_week).ok()
}

/// A project's backup statistics (see the module's description).
pub(crate) async fn project_stats(engine: &Engine, project: &str) -> Result<BackupStats> {
    let p = engine.catalog.project(project).await?;
    let backups = engine.catalog.backups(&p.id).await?;
    let marks = engine.catalog.backup_marks(&p.id).await?;
    let mut types: BTreeMap<String, (BackupType, u32, u64)> = BTreeMap::new();
    for b in &backups {
        let e = types
            .entry(b.backup_type.to_string())
            .or_insert((b.backup_type, 0, 0));
        e.1 += 1;
        e.2 += b.size;
    }
    let mut by_type: Vec<TypeStats> = types
        .into_values()
        .map(|(backup_type, count, bytes)| TypeStats {
            backup_type,
            count,
            bytes,
        })
        .collect();
    by_type.sort_by(|a, b| b.count.cmp(&a.count).then(b.bytes.cmp(&a.bytes)));
    let growth_per_week_bytes = by_type.first().and_then(|t| {
        let of_type: Vec<&BackupRecord> = backups
            .iter()
            .filter(|b| b.backup_type == t.backup_type && b.tenant().is_none())
            .collect();
        growth_per_week(&of_type)
    });
    let destinations = engine.catalog.destinations(&p.id).await?;
    let mut places: Vec<DestinationStats> = std::iter::once("local".to_string())
        .chain(destinations.iter().map(|d| d.name.clone()))
        .map(|destination| DestinationStats {
            destination,
            copies: 0,
            bytes: 0,
        })
        .collect();
    for c in engine.catalog.project_copies(&p.id).await? {
        if c.state != CopyState::Stored {
            continue;
        }
        let at = if c.destination == LOCAL_DESTINATION {
            Some(0)
        } else {
            destinations
                .iter()
                .position(|d| d.id == c.destination)
                .map(|i| i + 1)
        };
        if let Some(place) = at.and_then(|i| places.get_mut(i)) {
            place.copies += 1;
            place.bytes += c.size;
        }
    }
    let count = |f: fn(&crate::catalog::BackupMarks) -> bool| {
        u32::try_from(marks.values().filter(|m| f(m)).count()).unwrap_or(u32::MAX)
    };
    Ok(BackupStats {
        project: p.name.clone(),
        count: u32::try_from(backups.len()).unwrap_or(u32::MAX),
        total_bytes: backups.iter().map(|b| b.size).sum(),
        by_type,
        oldest: backups.last().map(|b| b.created_at.clone()),
        newest: backups.first().map(|b| b.created_at.clone()),
        growth_per_week_bytes,
        suspicious: count(|m| !m.suspicious.is_empty()),
        pinned: count(|m| m.pinned),
        destinations: places,
    })
}

impl Engine {
    /// A project's backup statistics ([`crate::ops::stats`]).
    pub async fn backup_stats(&self, project: &str) -> Result<BackupStats> {
        project_stats(self, project).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::BackupStatus;

    fn backup(created_at: &str, size: u64) -> BackupRecord {
        BackupRecord {
            id: created_at.into(),
            project_id: "p".into(),
            path: format!("/b/{created_at}.tar.zst"),
            size,
            sha256: String::new(),
            backup_type: BackupType::Database,
            created_at: created_at.into(),
            verified_at: None,
            status: BackupStatus::Verified,
            verify_problem: None,
            manifest_json: None,
            job_id: None,
            origin: Default::default(),
        }
    }

    fn growth(list: &[BackupRecord]) -> Option<i64> {
        growth_per_week(&list.iter().collect::<Vec<_>>())
    }

    #[test]
    fn growth_per_week_is_the_newest_minus_the_oldest_over_the_weeks_between() {
        // Two weeks, 1,000 → 3,000 bytes (newest first, the middle one ignored): 1,000 a week.
        let two_weeks = [
            backup("2026-11-15T00:00:00Z", 3_000),
            backup("2026-11-08T00:00:00Z", 9_999_999),
            backup("2026-11-01T00:00:00Z", 1_000),
        ];
        assert_eq!(growth(&two_weeks), Some(1_000));
        // Shrinking: negative. Half a week, 700 bytes less: 1,400 a week less.
        let shrinking = [
            backup("2026-11-04T12:00:00Z", 300),
            backup("2026-11-01T00:00:00Z", 1_000),
        ];
        assert_eq!(growth(&shrinking), Some(-1_400));
        // Exactly a day: counted (7 × the day's change).
        let a_day = [
            backup("2026-11-02T00:00:00Z", 110),
            backup("2026-11-01T00:00:00Z", 100),
        ];
        assert_eq!(growth(&a_day), Some(70));
        // Less than a day between them, one backup, none, or an unreadable date: no figure.
        let hours = [
            backup("2026-11-01T23:59:59Z", 5_000),
            backup("2026-11-01T00:00:00Z", 100),
        ];
        assert_eq!(growth(&hours), None);
        assert_eq!(growth(&two_weeks[..1]), None);
        assert_eq!(growth(&[]), None);
        assert_eq!(
            growth(&[backup("not a date", 1), backup("2026-11-01T00:00:00Z", 1)]),
            None
        );
        // Sizes near u64::MAX do not overflow: the result saturates to None, not a wrong sign.
        let huge = [
            backup("2026-11-02T00:00:00Z", u64::MAX),
            backup("2026-11-01T00:00:00Z", 0),
        ];
        assert_eq!(growth(&huge), None);
    }
}
