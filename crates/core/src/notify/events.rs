//! Which events exist for what a project does, and which channels want them: the event groups a
//! route names, the default when a project has no route, and the events a finished job or an
//! overdue transition makes.

use super::{ChannelSpec, Event, EventError, EventKind, EventProject, Severity, PAYLOAD_VERSION};
use crate::error::{Error, Result};

/// The groups of events a route names (`offsite notify route P --events failed,overdue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventGroup {
    /// A backup failed, a verification found damage, the canary found a backup suspicious,
    /// point-in-time capture lost its slot.
    Failed,
    /// A backup succeeded.
    Succeeded,
    /// The project is overdue, or back to normal.
    Overdue,
    /// A restore drill passed or failed.
    Drill,
    /// Retention will remove (or removed) backups.
    Retention,
    /// A folder or destination is filling.
    Space,
    /// A copy is pending too long.
    Copies,
    /// The agent is unreachable or its certificate changed.
    Agent,
    /// The platform's own daily backup is missing.
    Platform,
}

/// Every group, in the order they are written.
pub const ALL_GROUPS: [EventGroup; 9] = [
    EventGroup::Failed,
    EventGroup::Succeeded,
    EventGroup::Overdue,
    EventGroup::Drill,
    EventGroup::Retention,
    EventGroup::Space,
    EventGroup::Copies,
    EventGroup::Agent,
    EventGroup::Platform,
];

impl EventGroup {
    pub fn as_str(self) -> &'static str {
        match self {
            EventGroup::Failed => "failed",
            EventGroup::Succeeded => "succeeded",
            EventGroup::Overdue => "overdue",
            EventGroup::Drill => "drill",
            EventGroup::Retention => "retention",
            EventGroup::Space => "space",
            EventGroup::Copies => "copies",
            EventGroup::Agent => "agent",
            EventGroup::Platform => "platform",
        }
    }

    pub fn parse(s: &str) -> Option<EventGroup> {
        ALL_GROUPS.into_iter().find(|g| g.as_str() == s.trim())
    }

    /// The group an event belongs to (`None`: tests and digests, which go to one channel).
    pub fn of(kind: EventKind) -> Option<EventGroup> {
        use EventKind as K;
        Some(match kind {
            K::BackupFailed
            | K::VerifyDamaged
            | K::BackupSuspicious
            | K::PitrSlotDropped
            | K::PitrStraySlot => EventGroup::Failed,
            K::BackupSucceeded => EventGroup::Succeeded,
            K::ProjectOverdue | K::ProjectBackToNormal => EventGroup::Overdue,
            K::DrillPassed | K::DrillFailed => EventGroup::Drill,
            K::RetentionWillRemove | K::RetentionRemoved => EventGroup::Retention,
            K::SpaceLow => EventGroup::Space,
            K::CopyPending => EventGroup::Copies,
            K::AgentUnreachable | K::AgentCertificateChanged => EventGroup::Agent,
            K::PlatformBackupMissing => EventGroup::Platform,
            K::Test | K::Digest => return None,
        })
    }
}

/// Parse `failed,overdue,drill` (also `all`); an unknown word is an error naming the known ones.
pub fn parse_groups(s: &str) -> Result<Vec<EventGroup>> {
    // `none`: this channel hears nothing from the project (a route that names no group).
    if s.trim() == "none" {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if word == "all" {
            return Ok(ALL_GROUPS.to_vec());
        }
        let g = EventGroup::parse(word).ok_or_else(|| {
            Error::invalid(format!("unknown event group {word:?}")).with_hint(format!(
                "use some of: {}, or all (none: this channel hears nothing from the project)",
                ALL_GROUPS.map(|g| g.as_str()).join(", ")
            ))
        })?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    if out.is_empty() {
        return Err(Error::invalid("no event group was given")
            .with_hint("for example --events failed,overdue,drill"));
    }
    Ok(out)
}

/// The groups as a list of words (the app's checkboxes: `["failed", "drill"]`); an empty list
/// is `none` (this channel hears nothing from the project). Each word as [`parse_groups`] reads it.
pub fn parse_group_list(words: &[String]) -> Result<Vec<EventGroup>> {
    if words.is_empty() {
        return Ok(Vec::new());
    }
    parse_groups(&words.join(","))
}

/// `groups` as stored in a route (`failed,overdue`).
pub fn groups_text(groups: &[EventGroup]) -> String {
    groups
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether a channel whose route for the project names `groups` (`None`: the project has no
/// route at all, so the default applies) takes an event of `kind`.
///
/// The default: failures, overdue (and back to normal), failed drills and the watchers' warnings
/// that a project is at risk (space running out, a copy pending too long, the agent unreachable
/// or its certificate changed, the platform's own backup missing) go to every channel.
/// A heartbeat ping only ever carries backups (success and failure): nothing else is a
/// heartbeat, and by default it carries both (a check that only hears of failures alerts).
pub fn channel_wants(spec: &ChannelSpec, groups: Option<&[EventGroup]>, kind: EventKind) -> bool {
    if matches!(spec, ChannelSpec::Ping(_)) {
        let backup = matches!(kind, EventKind::BackupSucceeded | EventKind::BackupFailed);
        return backup
            && groups.is_none_or(|g| g.contains(&EventGroup::of(kind).expect("a backup group")));
    }
    match groups {
        Some(groups) => EventGroup::of(kind).is_some_and(|g| groups.contains(&g)),
        None => matches!(
            kind,
            EventKind::BackupFailed
                | EventKind::BackupSuspicious
                | EventKind::VerifyDamaged
                | EventKind::ProjectOverdue
                | EventKind::ProjectBackToNormal
                | EventKind::DrillFailed
                | EventKind::SpaceLow
                | EventKind::CopyPending
                | EventKind::AgentUnreachable
                | EventKind::AgentCertificateChanged
                | EventKind::PlatformBackupMissing
                | EventKind::PitrSlotDropped
                | EventKind::PitrStraySlot
        ),
    }
}

/// The groups a channel takes from a project that has no route (the app's boxes before any is
/// saved): each group of which the default sends at least one event. Saved as a route, it sends
/// what the default sends and, for drills, passed drills too (the default sends only failed ones).
pub fn default_groups(spec: &ChannelSpec) -> Vec<EventGroup> {
    use EventKind as K;
    const KINDS: [EventKind; 17] = [
        K::BackupSucceeded,
        K::BackupFailed,
        K::BackupSuspicious,
        K::VerifyDamaged,
        K::DrillPassed,
        K::DrillFailed,
        K::ProjectOverdue,
        K::ProjectBackToNormal,
        K::CopyPending,
        K::RetentionWillRemove,
        K::RetentionRemoved,
        K::SpaceLow,
        K::AgentUnreachable,
        K::AgentCertificateChanged,
        K::PlatformBackupMissing,
        K::PitrSlotDropped,
        K::PitrStraySlot,
    ];
    ALL_GROUPS
        .into_iter()
        .filter(|g| {
            KINDS
                .iter()
                .any(|k| EventGroup::of(*k) == Some(*g) && channel_wants(spec, None, *k))
        })
        .collect()
}

/// The severity an event of `kind` carries.
pub fn severity_of(kind: EventKind) -> Severity {
    use EventKind as K;
    match kind {
        K::BackupSucceeded | K::DrillPassed | K::ProjectBackToNormal | K::Test => Severity::Ok,
        K::BackupFailed | K::VerifyDamaged | K::DrillFailed | K::Digest => Severity::Failure,
        K::AgentUnreachable
        | K::AgentCertificateChanged
        | K::PlatformBackupMissing
        | K::PitrSlotDropped => Severity::Failure,
        K::ProjectOverdue
        | K::BackupSuspicious
        | K::CopyPending
        | K::RetentionWillRemove
        | K::RetentionRemoved
        | K::SpaceLow
        | K::PitrStraySlot => Severity::Warning,
    }
}

/// A new event of `kind` (fresh id, severity from the kind) at `occurred_at`.
pub fn new_event(
    kind: EventKind,
    occurred_at: &str,
    project: Option<EventProject>,
    summary: String,
) -> Event {
    Event {
        version: PAYLOAD_VERSION,
        id: uuid::Uuid::new_v4().to_string(),
        event: kind,
        severity: severity_of(kind),
        occurred_at: occurred_at.to_string(),
        project,
        summary,
        protection: None,
        job_id: None,
        backup_id: None,
        size_bytes: None,
        duration_ms: None,
        error: None,
        details: serde_json::Value::Null,
    }
}

/// A finished job as the outbox sees it (read in the transaction that finished it).
#[derive(Debug, Clone)]
pub struct FinishedJob {
    pub id: String,
    /// `backup`, `verify`, `drill`… (`JobKind` as text).
    pub kind: String,
    /// `succeeded`, `failed`, `cancelled`.
    pub state: String,
    pub project: Option<EventProject>,
    pub started_at: String,
    pub finished_at: String,
    pub backup_id: Option<String>,
    pub size_bytes: Option<u64>,
    pub error: Option<EventError>,
    /// A scheduled backup's retry plan (`details.retry`), when a schedule started it.
    pub retry: Option<serde_json::Value>,
}

/// The event a finished job makes, if any: a backup that succeeded or failed, a verification
/// that found damage (`integrity`), a drill that passed or failed. Cancelled jobs, restores,
/// imports and the like make none.
pub fn job_event(job: &FinishedJob) -> Option<Event> {
    let ok = job.state == "succeeded";
    let failed = job.state == "failed";
    let name = job
        .project
        .as_ref()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "an archive".to_string());
    let why = job
        .error
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_default();
    let (kind, summary) = match (job.kind.as_str(), ok, failed) {
        ("backup", true, _) => (
            EventKind::BackupSucceeded,
            format!("Backup of {name} succeeded"),
        ),
        ("backup", _, true) => (
            EventKind::BackupFailed,
            format!("Backup of {name} failed: {why}"),
        ),
        ("verify", _, true) if job.error.as_ref().is_some_and(|e| e.code == "integrity") => (
            EventKind::VerifyDamaged,
            format!("Verification of a backup of {name} found damage: {why}"),
        ),
        ("drill", true, _) => (
            EventKind::DrillPassed,
            format!("Restore drill of {name} passed"),
        ),
        ("drill", _, true) => (
            EventKind::DrillFailed,
            format!("Restore drill of {name} failed: {why}"),
        ),
        _ => return None,
    };
    let mut e = new_event(kind, &job.finished_at, job.project.clone(), summary);
    e.job_id = Some(job.id.clone());
    e.backup_id = job.backup_id.clone();
    e.size_bytes = job.size_bytes;
    e.duration_ms = duration_ms(&job.started_at, &job.finished_at);
    e.error = job.error.clone().filter(|_| failed);
    if let Some(retry) = job.retry.clone().filter(|_| failed) {
        e.details = serde_json::json!({ "retry": retry });
    }
    Some(e)
}

fn duration_ms(from: &str, to: &str) -> Option<u64> {
    let a = crate::clock::parse_timestamp(from).ok()?;
    let b = crate::clock::parse_timestamp(to).ok()?;
    u64::try_from((b - a).whole_milliseconds()).ok()
}

/// The event of an overdue transition (`overdue` true: it became overdue; false: back to normal).
pub fn overdue_event(
    project: EventProject,
    overdue: bool,
    last_good: Option<&str>,
    now: &str,
) -> Event {
    let (kind, summary) = if overdue {
        let since = last_good
            .map(|t| format!("the newest good backup is from {t}"))
            .unwrap_or_else(|| "it has no good backup".to_string());
        (
            EventKind::ProjectOverdue,
            format!("{} is overdue: {since}", project.name),
        )
    } else {
        (
            EventKind::ProjectBackToNormal,
            format!("{} is back to normal: a new backup was taken", project.name),
        )
    };
    let mut e = new_event(kind, now, Some(project), summary);
    e.details = serde_json::json!({ "last_good_backup_at": last_good });
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn an_empty_list_of_groups_is_none_and_words_are_read_as_the_text_is() {
        assert_eq!(parse_group_list(&[]).unwrap(), Vec::<EventGroup>::new());
        assert_eq!(
            parse_group_list(&words(&["failed", "drill"])).unwrap(),
            parse_groups("failed,drill").unwrap()
        );
        assert_eq!(
            parse_group_list(&words(&["all"])).unwrap(),
            ALL_GROUPS.to_vec()
        );
        assert!(parse_group_list(&words(&["nonsense"])).is_err());
        // A list holding only an empty word names no group: refused, not read as none.
        assert!(parse_group_list(&words(&[""])).is_err());
    }
    use crate::notify::{PingSpec, Preset, WebhookSpec};

    fn hook() -> ChannelSpec {
        ChannelSpec::Webhook(WebhookSpec {
            url_display: "https://x/…".into(),
            preset: Preset::Json,
        })
    }

    #[test]
    fn the_default_route_sends_failures_overdue_failed_drills_and_risks() {
        let h = hook();
        for k in [
            EventKind::BackupFailed,
            EventKind::VerifyDamaged,
            EventKind::ProjectOverdue,
            EventKind::ProjectBackToNormal,
            EventKind::DrillFailed,
            EventKind::SpaceLow,
            EventKind::CopyPending,
            EventKind::AgentUnreachable,
            EventKind::AgentCertificateChanged,
            EventKind::PlatformBackupMissing,
            EventKind::PitrSlotDropped,
            EventKind::PitrStraySlot,
        ] {
            assert!(channel_wants(&h, None, k), "{k:?}");
        }
        for k in [
            EventKind::BackupSucceeded,
            EventKind::DrillPassed,
            EventKind::RetentionWillRemove,
            EventKind::RetentionRemoved,
        ] {
            assert!(!channel_wants(&h, None, k), "{k:?}");
        }
        let only = [EventGroup::Succeeded];
        assert!(channel_wants(&h, Some(&only), EventKind::BackupSucceeded));
        assert!(!channel_wants(&h, Some(&only), EventKind::BackupFailed));
    }

    #[test]
    fn the_default_as_groups_is_what_the_app_checks_before_any_route() {
        let words = |spec: &ChannelSpec| groups_text(&default_groups(spec));
        assert_eq!(
            words(&hook()),
            "failed,overdue,drill,space,copies,agent,platform"
        );
        let p = ChannelSpec::Ping(PingSpec {
            url_display: "https://hc-ping.com/…".into(),
        });
        assert_eq!(words(&p), "failed,succeeded");
    }

    #[test]
    fn a_ping_only_carries_backups_and_both_outcomes_by_default() {
        let p = ChannelSpec::Ping(PingSpec {
            url_display: "https://hc-ping.com/…".into(),
        });
        assert!(channel_wants(&p, None, EventKind::BackupSucceeded));
        assert!(channel_wants(&p, None, EventKind::BackupFailed));
        assert!(!channel_wants(&p, None, EventKind::ProjectOverdue));
        let all = ALL_GROUPS;
        assert!(!channel_wants(&p, Some(&all), EventKind::DrillFailed));
        assert!(!channel_wants(
            &p,
            Some(&[EventGroup::Failed]),
            EventKind::BackupSucceeded
        ));
    }

    #[test]
    fn groups_parse_and_reject_unknown_words() {
        assert_eq!(
            parse_groups("failed, overdue,failed").unwrap(),
            vec![EventGroup::Failed, EventGroup::Overdue]
        );
        assert_eq!(parse_groups("all").unwrap().len(), 9);
        let e = parse_groups("failed,nope").unwrap_err();
        assert!(e.message().contains("nope") && e.hint().unwrap().contains("retention"));
        assert!(parse_groups(" , ").is_err());
        assert!(parse_groups("none,failed").is_err());
    }

    #[test]
    fn a_route_of_none_silences_the_channel_for_that_project() {
        let groups = parse_groups(" none ").unwrap();
        assert!(groups.is_empty());
        // Stored as "" and read back leniently: still no group.
        assert_eq!(groups_text(&groups), "");
        let hook = ChannelSpec::Webhook(crate::notify::WebhookSpec {
            url_display: "https://example.com/…".into(),
            preset: crate::notify::Preset::Json,
        });
        let ping = ChannelSpec::Ping(crate::notify::PingSpec {
            url_display: "https://hc.example/…".into(),
        });
        for kind in [
            EventKind::BackupFailed,
            EventKind::DrillFailed,
            EventKind::ProjectOverdue,
        ] {
            assert!(!channel_wants(&hook, Some(&groups), kind), "{kind:?}");
            // Without a route the default would send it.
            assert!(channel_wants(&hook, None, kind), "{kind:?}");
        }
        assert!(!channel_wants(
            &ping,
            Some(&groups),
            EventKind::BackupFailed
        ));
    }

    #[test]
    fn jobs_make_the_events_they_should() {
        let job = |kind: &str, state: &str, code: Option<&str>| FinishedJob {
            id: "j".into(),
            kind: kind.into(),
            state: state.into(),
            project: Some(EventProject {
                id: "p".into(),
                name: "shop".into(),
            }),
            started_at: "2030-01-01T00:00:00.000Z".into(),
            finished_at: "2030-01-01T00:01:00.500Z".into(),
            backup_id: None,
            size_bytes: Some(7),
            error: code.map(|c| EventError {
                code: c.into(),
                message: "boom".into(),
                hint: None,
            }),
            retry: None,
        };
        let e = job_event(&job("backup", "failed", Some("connection"))).unwrap();
        assert_eq!(e.event, EventKind::BackupFailed);
        assert_eq!(e.severity, Severity::Failure);
        assert_eq!(e.summary, "Backup of shop failed: boom");
        assert_eq!(e.duration_ms, Some(60_500));
        assert_eq!(e.error.unwrap().code, "connection");
        let e = job_event(&job("backup", "succeeded", None)).unwrap();
        assert_eq!((e.event, e.error), (EventKind::BackupSucceeded, None));
        assert_eq!(
            job_event(&job("verify", "failed", Some("integrity")))
                .unwrap()
                .event,
            EventKind::VerifyDamaged
        );
        assert!(job_event(&job("verify", "failed", Some("connection"))).is_none());
        assert!(job_event(&job("verify", "succeeded", None)).is_none());
        assert!(job_event(&job("backup", "cancelled", None)).is_none());
        assert!(job_event(&job("restore", "failed", Some("x"))).is_none());
        assert_eq!(
            job_event(&job("drill", "failed", Some("validation_failed")))
                .unwrap()
                .event,
            EventKind::DrillFailed
        );
        assert_eq!(
            job_event(&job("drill", "succeeded", None)).unwrap().event,
            EventKind::DrillPassed
        );
    }
}
