//! Restore drills: restore a backup into a throwaway cluster (or a scratch server the user
//! names), prove its content against what was backed up, run the project's own validation
//! queries, and write a signed report an auditor can check (issue 26; see DESIGN.md).
//!
//! The types here are the one shape every part shares: the runner fills a [`DrillReport`],
//! `report` renders and signs it, the catalog keeps its summary, the front ends show it.

pub mod content;

use serde::{Deserialize, Serialize};

pub mod cluster;
pub mod confine;
pub mod expect;
pub mod neutral;
pub mod queries;
pub mod report_html;
pub mod sandbox;
pub mod scratch;
pub mod settings;
pub mod sign;
pub mod single_user;
pub(crate) mod storage_config;
pub(crate) mod sweep;
pub mod validation;

pub use validation::ValidationCheck;

/// Version of the report's JSON shape (bump when a field changes meaning).
pub const REPORT_FORMAT: u32 = 1;

/// The outcome of one named check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passed,
    Failed,
    /// The check could not be made this way; `detail` says why and what was checked instead.
    NotComparable,
    /// Not run, because an earlier step failed (e.g. no table checks after a failed restore).
    Skipped,
}

/// One named check, with what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DrillCheck {
    /// Stable id: `verify`, `restore`, `table:<schema>.<table>`, `large_objects`,
    /// `query:<check id>`, `parity:<part>` (a part's objects against the backup's census),
    /// `storage`, `config`, `rto`.
    pub id: String,
    /// What a person reads: "Table public.orders: rows and content".
    pub title: String,
    pub status: CheckStatus,
    /// What the backup promised (e.g. "1204 rows, sha256 9f…"; ">= 1000").
    #[serde(default)]
    pub expected: Option<String>,
    /// What the drill found.
    #[serde(default)]
    pub actual: Option<String>,
    /// Why it failed / why it could not be compared, in words.
    #[serde(default)]
    pub detail: Option<String>,
}

/// The drill's verdict: passed only when no check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
}

/// Where the drill restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DrillTargetInfo {
    /// `throwaway` (a private cluster Offsite started) or `server` (a scratch server the user
    /// named; its URL is never recorded, only host and database name).
    pub kind: String,
    /// "PostgreSQL 15.18".
    pub server_version: String,
    /// e.g. "localhost:5432/offsite_drill_01j…" (no user, no password) or "private socket".
    pub location: String,
}

/// The machine and program that ran the drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RanBy {
    pub hostname: String,
    /// "linux x86_64"
    pub os: String,
    /// "offsite 0.1.0"
    pub offsite_version: String,
    /// "pg_restore (PostgreSQL) 15.18"
    pub pg_restore: Option<String>,
}

/// Everything a drill proved, as signed and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DrillReport {
    /// [`REPORT_FORMAT`].
    pub format: u32,
    pub drill_id: String,
    pub project: String,
    pub backup_id: String,
    /// File name of the archive (no folder: folders can name people).
    pub archive_name: String,
    /// SHA-256 of the archive file as stored (the ciphertext when encrypted).
    pub archive_sha256: String,
    /// RFC 3339 UTC.
    pub backup_created_at: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    /// RFC 3339 UTC.
    pub finished_at: String,
    /// The source server's version as recorded in the archive, e.g. "15.18".
    pub source_server_version: Option<String>,
    pub target: DrillTargetInfo,
    pub checks: Vec<DrillCheck>,
    pub verdict: Verdict,
    /// Seconds from the start of the restore to a database that passed its checks (RTO).
    pub rto_seconds: f64,
    /// Size of the archive file.
    pub archive_bytes: u64,
    /// Size of the restored database (`pg_database_size`).
    pub restored_database_bytes: Option<u64>,
    /// Hours between the newest row the validation queries found and the backup's time, when a
    /// freshness query gave one (the RPO, measured).
    #[serde(default)]
    pub rpo_hours: Option<f64>,
    pub ran_by: RanBy,
}

impl DrillReport {
    /// The verdict the checks imply: failed when any check failed.
    pub fn verdict_of(checks: &[DrillCheck]) -> Verdict {
        if checks.iter().any(|c| c.status == CheckStatus::Failed) {
            Verdict::Failed
        } else {
            Verdict::Passed
        }
    }

    /// The first failed check (what a notification names).
    pub fn first_failure(&self) -> Option<&DrillCheck> {
        self.checks.iter().find(|c| c.status == CheckStatus::Failed)
    }

    /// What a failed drill's job says (its notification shows it): the project, the first
    /// failed check's title with what was expected and found, and how many more failed.
    /// `None` when the drill passed.
    pub fn failure_message(&self) -> Option<String> {
        let first = self.first_failure()?;
        let mut m = format!(
            "the restore drill of {} failed: {}",
            self.project, first.title
        );
        match (&first.expected, &first.actual) {
            (Some(e), Some(a)) => m.push_str(&format!(" (expected {e}, found {a})")),
            _ => {
                if let Some(d) = &first.detail {
                    m.push_str(&format!(" ({d})"));
                }
            }
        }
        let more = self
            .checks
            .iter()
            .filter(|c| c.status == CheckStatus::Failed)
            .count()
            - 1;
        if more > 0 {
            let checks = if more == 1 { "check" } else { "checks" };
            m.push_str(&format!(" and {more} more {checks} failed"));
        }
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, status: CheckStatus) -> DrillCheck {
        DrillCheck {
            id: id.into(),
            title: id.into(),
            status,
            expected: None,
            actual: None,
            detail: None,
        }
    }

    #[test]
    fn a_drill_fails_when_any_check_failed_and_names_the_first() {
        let ok = [
            check("verify", CheckStatus::Passed),
            check("t", CheckStatus::NotComparable),
        ];
        assert_eq!(DrillReport::verdict_of(&ok), Verdict::Passed);
        let bad = [
            check("verify", CheckStatus::Passed),
            check("table:public.a", CheckStatus::Failed),
            check("query:1", CheckStatus::Failed),
        ];
        assert_eq!(DrillReport::verdict_of(&bad), Verdict::Failed);
    }

    #[test]
    fn a_failed_drill_s_message_names_the_first_failed_check() {
        let mut r = crate::drill::report_html::tests::sample();
        let m = r.failure_message().unwrap();
        assert_eq!(
            m,
            "the restore drill of shop failed: Table public.<script>alert(1)</script>: rows and \
             content (expected 3 rows & \"sha\", found 2 rows)"
        );
        r.checks.push(check("query:1", CheckStatus::Failed));
        assert!(r
            .failure_message()
            .unwrap()
            .ends_with(" and 1 more check failed"));
        r.checks.retain(|c| c.status != CheckStatus::Failed);
        assert_eq!(r.failure_message(), None);
    }
}

/// A number of seconds as every front end writes a duration ([`crate::units::format_duration`]).
fn seconds_words(seconds: f64) -> String {
    crate::units::format_duration(std::time::Duration::from_secs_f64(seconds.max(0.0)))
}

/// A target in the same words, whole days as days ("7 days", not "168 h").
fn target_words(seconds: u32) -> String {
    match seconds {
        86_400 => "1 day".into(),
        s if s > 0 && s % 86_400 == 0 => format!("{} days", s / 86_400),
        s => seconds_words(f64::from(s)),
    }
}

/// The RTO check: the time from the start of the restore to a checked database, failed when it
/// is longer than the project's RTO target (`target`, seconds; `None`: no target, only measured).
pub fn rto_check(rto_seconds: f64, target: Option<u32>) -> DrillCheck {
    let over = target.filter(|t| rto_seconds > f64::from(*t));
    DrillCheck {
        id: "rto".into(),
        title: "Time to a restored, checked database (RTO)".into(),
        status: if over.is_some() {
            CheckStatus::Failed
        } else {
            CheckStatus::Passed
        },
        // Durations in the one way every front end writes them ("under 1 s", "1 min 35 s"), not
        // "0.4 s" beside the app's "under 1 s" or a target's "1m" (issue 44).
        expected: target.map(|t| format!("at most {}", target_words(t))),
        actual: Some(seconds_words(rto_seconds)),
        detail: over.map(|t| {
            format!(
                "the restore took {}, longer than the recovery time target of {}",
                seconds_words(rto_seconds),
                target_words(t)
            )
        }),
    }
}

#[cfg(test)]
mod rto_tests {
    use super::*;

    #[test]
    fn a_restore_longer_than_the_rto_target_fails_the_check() {
        let c = rto_check(95.0, Some(60));
        assert_eq!(c.status, CheckStatus::Failed);
        assert_eq!(c.expected.as_deref(), Some("at most 1 min"));
        assert_eq!(c.actual.as_deref(), Some("1 min 35 s"));
        assert!(c
            .detail
            .unwrap()
            .contains("took 1 min 35 s, longer than the recovery time target of 1 min"));
        // Under a second: as the app says it, not "0.4 s".
        assert_eq!(rto_check(0.4, None).actual.as_deref(), Some("under 1 s"));
        assert_eq!(
            DrillReport::verdict_of(&[rto_check(95.0, Some(60))]),
            Verdict::Failed
        );
        assert_eq!(rto_check(30.0, Some(60)).status, CheckStatus::Passed);
        assert_eq!(rto_check(3000.0, None).status, CheckStatus::Passed);
    }
}
