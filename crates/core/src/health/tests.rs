use super::*;

fn local() -> CopyMark {
    CopyMark {
        place: "This computer".into(),
        kind: "local".into(),
        ok: true,
        same_medium_as: None,
        note: None,
    }
}

fn dest(name: &str, ok: bool) -> CopyMark {
    CopyMark {
        place: name.into(),
        kind: "destination".into(),
        ok,
        same_medium_as: None,
        note: None,
    }
}

/// A protected project: a recent good backup on a schedule, kept in two places.
fn safe() -> Facts {
    Facts {
        project: "shop".into(),
        subtitle: "shop_db".into(),
        backups: 3,
        last_good: Some("2026-11-24T02:30:05.000Z".into()),
        last_verified: Some("2026-11-24T02:31:00.000Z".into()),
        copies: vec![local(), dest("nas", true)],
        schedule: Some("daily 02:30".into()),
        next_run: Some("2026-11-25T02:30:00.000Z".into()),
        last_run: Some(LastRun {
            finished_at: "2026-11-24T02:31:00.000Z".into(),
            succeeded: true,
            error_code: None,
            error_message: None,
        }),
        ..Default::default()
    }
}

fn failed(code: &str, message: &str) -> Option<LastRun> {
    Some(LastRun {
        finished_at: "2026-11-24T02:31:00.000Z".into(),
        succeeded: false,
        error_code: Some(code.into()),
        error_message: Some(message.into()),
    })
}

fn cond(kind: &str, subject: &str) -> ActiveCondition {
    ActiveCondition {
        kind: kind.into(),
        subject: subject.into(),
        detail: None,
    }
}

/// The table of docs/health.md: a situation, the state, the reason's start, the fix.
#[test]
fn each_situation_gets_its_state_reason_and_fix() {
    type Case = (
        &'static str,
        fn(&mut Facts),
        Health,
        &'static str,
        Option<FixAction>,
    );
    let cases: Vec<Case> = vec![
        (
            "all well",
            |_| {},
            Health::Protected,
            "backed up on schedule, kept in 2 places",
            None,
        ),
        (
            "never backed up",
            |f| {
                f.backups = 0;
                f.last_good = None;
                f.copies.clear();
                f.last_run = None;
            },
            Health::Unprotected,
            "never backed up",
            Some(FixAction::BackUpNow),
        ),
        (
            "every backup damaged",
            |f| {
                f.last_good = None;
                f.newest_damaged = true;
                f.copies.clear();
            },
            Health::Unprotected,
            "no good backup",
            Some(FixAction::BackUpNow),
        ),
        (
            "password rejected",
            |f| {
                f.last_run = failed("auth", "password authentication failed for user \"app\"");
            },
            Health::AtRisk,
            "the server refused the credentials of the last backup",
            Some(FixAction::EditCredentials),
        ),
        (
            "newest damaged",
            |f| f.newest_damaged = true,
            Health::AtRisk,
            "the newest backup is damaged",
            Some(FixAction::VerifyPrevious),
        ),
        (
            "overdue",
            |f| f.overdue = true,
            Health::AtRisk,
            "overdue: the newest good backup is from 2026-11-24",
            Some(FixAction::BackUpNow),
        ),
        (
            "last run failed",
            |f| f.last_run = failed("connect", "connection refused"),
            Health::AtRisk,
            "the last backup failed: connection refused",
            Some(FixAction::BackUpNow),
        ),
        (
            "no schedule",
            |f| {
                f.schedule = None;
                f.next_run = None;
            },
            Health::AtRisk,
            "no schedule",
            Some(FixAction::AddSchedule),
        ),
        (
            "paused",
            |f| {
                f.paused = true;
                f.next_run = None;
            },
            Health::AtRisk,
            "the schedule (daily 02:30) is paused",
            Some(FixAction::ResumeSchedule),
        ),
        (
            "one copy",
            |f| f.copies = vec![local()],
            Health::AtRisk,
            "the newest good backup is only on this computer",
            Some(FixAction::AddDestination),
        ),
        (
            "copy not there yet",
            |f| f.copies = vec![local(), dest("nas", false)],
            Health::AtRisk,
            "the newest good backup is only on this computer",
            Some(FixAction::AddDestination),
        ),
        (
            "copy pending",
            |f| f.conditions = vec![cond("copy_pending", "nas")],
            Health::AtRisk,
            "a copy has been waiting (nas)",
            Some(FixAction::RetryCopies),
        ),
        (
            "space low",
            |f| f.conditions = vec![cond("space_low", "/backups")],
            Health::AtRisk,
            "space is running out (/backups)",
            Some(FixAction::FreeSpace),
        ),
        (
            "server unreachable",
            |f| f.conditions = vec![cond("agent_unreachable", "")],
            Health::AtRisk,
            "the backup server does not answer",
            Some(FixAction::CheckServer),
        ),
        (
            "server certificate",
            |f| f.conditions = vec![cond("agent_certificate", "")],
            Health::AtRisk,
            "the backup server's certificate changed",
            Some(FixAction::ReviewServerCertificate),
        ),
        (
            "platform backup",
            |f| f.conditions = vec![cond("platform_backup_missing", "")],
            Health::AtRisk,
            "Supabase's own daily backup is missing",
            Some(FixAction::OpenSupabase),
        ),
        (
            "drill failed",
            |f| f.drill_failed = true,
            Health::AtRisk,
            "the newest restore drill failed",
            Some(FixAction::OpenDrill),
        ),
        (
            "unknown condition",
            |f| f.conditions = vec![cond("something_new", "")],
            Health::Protected,
            "backed up on schedule",
            None,
        ),
    ];
    for (name, change, health, reason, fix) in cases {
        let mut f = safe();
        change(&mut f);
        let h = assess(&f);
        assert_eq!(h.health, health, "{name}");
        assert!(h.reason.starts_with(reason), "{name}: {:?}", h.reason);
        assert_eq!(h.fix(), fix, "{name}");
        assert_eq!(h.health_label, health.label(), "{name}");
        if let Some(p) = h.problems.first() {
            assert_eq!(p.fix_label, p.fix.label(), "{name}");
        }
    }
}

#[test]
fn a_condition_reads_with_what_it_is_about_and_its_detail() {
    let mut f = safe();
    f.conditions = vec![ActiveCondition {
        kind: "copy_pending".into(),
        subject: "nas".into(),
        detail: Some("2 pending since 2026-11-23T02:31:00.000Z".into()),
    }];
    assert_eq!(
        assess(&f).reason,
        "a copy has been waiting (nas): 2 pending since 2026-11-23T02:31:00.000Z"
    );
}

#[test]
fn the_worst_problem_names_the_state_and_the_fix() {
    // Rejected credentials, overdue and one copy at once: the credentials come first — backing
    // up now would only fail again.
    let mut f = safe();
    f.last_run = failed("auth", "password rejected");
    f.overdue = true;
    f.copies = vec![local()];
    let h = assess(&f);
    assert_eq!(h.health, Health::AtRisk);
    assert_eq!(h.fix(), Some(FixAction::EditCredentials));
    let kinds: Vec<_> = h.problems.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            ProblemKind::CredentialsRejected,
            ProblemKind::Overdue,
            ProblemKind::OneCopy
        ]
    );
    // Never backed up and no schedule: unprotected, and the fix is to back up.
    let mut f = safe();
    f.backups = 0;
    f.last_good = None;
    f.copies.clear();
    f.schedule = None;
    let h = assess(&f);
    assert_eq!(h.health, Health::Unprotected);
    assert_eq!(h.reason, "never backed up");
    assert_eq!(h.problems.len(), 2, "{:?}", h.problems);
    assert_eq!(h.problems[1].kind, ProblemKind::NoSchedule);
    // A never-backed-up project is not also "overdue" or "one copy".
    let mut f2 = f.clone();
    f2.overdue = true;
    assert_eq!(assess(&f2).problems.len(), 2);
}

#[test]
fn the_dashboard_lists_worst_first_and_sums_up() {
    let mut never = safe();
    never.project = "b-never".into();
    never.backups = 0;
    never.last_good = None;
    never.copies.clear();
    let mut overdue = safe();
    overdue.project = "c-overdue".into();
    overdue.overdue = true;
    let mut creds = safe();
    creds.project = "d-creds".into();
    creds.last_run = failed("auth", "rejected");
    let mut fine = safe();
    fine.project = "a-fine".into();
    let mut list: Vec<_> = [&fine, &overdue, &creds, &never]
        .into_iter()
        .map(assess)
        .collect();
    worst_first(&mut list);
    let order: Vec<_> = list.iter().map(|h| h.project.as_str()).collect();
    assert_eq!(order, ["b-never", "d-creds", "c-overdue", "a-fine"]);
    let (line, worst) = summary(&list);
    assert_eq!(line, "1 of 4 protected");
    assert_eq!(worst, Health::Unprotected);
    assert_eq!(summary(&[]), ("no projects yet".into(), Health::Protected));
}

#[test]
fn every_problem_kind_has_exactly_one_rule() {
    for r in &RULES {
        assert_eq!(
            RULES.iter().filter(|x| x.kind == r.kind).count(),
            1,
            "{:?}",
            r.kind
        );
    }
}

/// docs/health.md's table of rules (kind, state, fix) is RULES, row for row, in order: the
/// docs cannot drift from what the engine decides.
#[test]
fn the_docs_table_is_the_rules() {
    let doc = include_str!("../../../../docs/health.md");
    let rows: Vec<(String, String, String)> = doc
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 4, "a rule row has four cells: {l}");
            (
                cells[0].trim_matches('`').to_string(),
                cells[2].to_string(),
                cells[3].to_string(),
            )
        })
        .collect();
    let rules: Vec<(String, String, String)> = RULES
        .iter()
        .map(|r| {
            let kind = serde_json::to_value(r.kind).unwrap();
            (
                kind.as_str().unwrap().to_string(),
                r.health.label().to_string(),
                r.fix.label().to_string(),
            )
        })
        .collect();
    assert_eq!(rows, rules);
}

#[test]
fn the_overview_sums_up_worst_first() {
    let mut never = safe();
    never.project = "b-never".into();
    never.backups = 0;
    never.last_good = None;
    let fine = safe();
    let o = overview(vec![assess(&fine), assess(&never)]);
    assert_eq!(o.summary, "1 of 2 protected");
    assert_eq!(o.worst, Health::Unprotected);
    let order: Vec<_> = o.projects.iter().map(|h| h.project.as_str()).collect();
    assert_eq!(order, ["b-never", "shop"]);
    let empty = overview(Vec::new());
    assert_eq!(empty.summary, "no projects yet");
    assert_eq!(empty.worst, Health::Protected);
}

#[test]
fn the_supabase_fix_opens_only_a_dashboard_page() {
    assert_eq!(
        supabase_dashboard_url("abcdefghij0123456789").as_deref(),
        Some("https://supabase.com/dashboard/project/abcdefghij0123456789")
    );
    for bad in ["", "ABC", "a/../b", "x?y=1", "a b", &"a".repeat(65)] {
        assert_eq!(supabase_dashboard_url(bad), None, "{bad:?}");
    }
}

#[test]
fn the_row_says_overdue_even_when_a_worse_problem_is_named() {
    let mut f = safe();
    f.backups = 0;
    f.last_good = None;
    f.copies.clear();
    f.overdue = true;
    let h = assess(&f);
    assert_eq!(h.problems[0].kind, ProblemKind::NeverBackedUp);
    assert!(h.overdue);
    assert!(!assess(&safe()).overdue);
}

/// RULES as the app's component tests read them (`ui/src/dashboard/rules.json`): each
/// dashboard state and Fix button is tested against the engine's own table.
/// `OFFSITE_UPDATE_BINDINGS=1` rewrites the file.
#[test]
fn the_ui_rules_json_is_the_rules() {
    let rules: Vec<serde_json::Value> = RULES
        .iter()
        .map(|r| {
            serde_json::json!({
                "kind": r.kind,
                "health": r.health,
                "health_label": r.health.label(),
                "fix": r.fix,
                "fix_label": r.fix.label(),
            })
        })
        .collect();
    let fresh = serde_json::to_string_pretty(&rules).unwrap() + "\n";
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../ui/src/dashboard/rules.json"
    );
    if std::env::var_os("OFFSITE_UPDATE_BINDINGS").is_some() {
        std::fs::write(path, &fresh).unwrap();
    }
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(
        stored,
        serde_json::Value::Array(rules),
        "ui/src/dashboard/rules.json is stale: run `OFFSITE_UPDATE_BINDINGS=1 cargo test -p offsite-core --lib health::` and commit it"
    );
}

#[test]
fn refused_credentials_come_first_even_without_a_good_backup() {
    // Never backed up because the server refuses the password: "Back up now" would fail again,
    // so the Fix is to edit the credentials, and the state stays Unprotected.
    let mut f = safe();
    f.backups = 0;
    f.last_good = None;
    f.copies.clear();
    f.last_run = failed(
        "auth",
        "password authentication failed for user \"app\" at db.example:5432",
    );
    let h = assess(&f);
    assert_eq!(h.health, Health::Unprotected);
    assert_eq!(h.fix(), Some(FixAction::EditCredentials));
    assert_eq!(h.problems[1].kind, ProblemKind::NeverBackedUp);
    // The reason names no host, port or user.
    assert!(
        !h.problems[0].reason.contains("db.example"),
        "{}",
        h.problems[0].reason
    );
    // Without the refusal, backing up is the fix.
    f.last_run = None;
    assert_eq!(assess(&f).fix(), Some(FixAction::BackUpNow));
}

#[test]
fn the_overdue_reason_reads_as_a_date_not_a_timestamp() {
    let mut f = safe();
    f.overdue = true;
    f.last_good = Some("2026-11-22T00:32:37.000Z".into());
    let h = assess(&f);
    assert_eq!(
        h.reason,
        "overdue: the newest good backup is from 2026-11-22 00:32 UTC"
    );
}

/// A backup made by (or pulled from) the backup server is also kept there: the server's copy is
/// a place, named by the server, so this computer and the server are two places (no "one copy").
/// A backup made here, or a server the project no longer has, adds no place.
#[test]
fn the_backup_servers_own_copy_counts_as_a_place() {
    use crate::catalog::{BackupOrigin, ServerComponent};
    let server = ServerComponent {
        url: "https://db.example.com:8443/".into(),
        project: "shop".into(),
        fingerprint: None,
        insecure_http: false,
    };
    let mark = gather::server_mark(BackupOrigin::Server, Some(&server)).unwrap();
    assert_eq!(mark.place, "Backup server db.example.com:8443");
    assert_eq!(mark.kind, "server");
    assert!(mark.ok);
    for (origin, server) in [
        (BackupOrigin::Local, Some(&server)),
        (BackupOrigin::Imported, Some(&server)),
        (BackupOrigin::Artifact, Some(&server)),
        (BackupOrigin::Server, None),
    ] {
        assert_eq!(gather::server_mark(origin, server), None, "{origin}");
    }

    let mut f = safe();
    f.copies = vec![local()];
    assert_eq!(assess(&f).problems[0].kind, ProblemKind::OneCopy);
    f.copies.push(mark);
    let h = assess(&f);
    assert_eq!(h.health, Health::Protected, "{h:?}");
    assert!(h.reason.contains("kept in 2 places"), "{}", h.reason);
}

#[test]
fn a_copy_on_the_local_disk_is_not_a_second_place_and_the_reason_says_why() {
    let mut f = safe();
    let mut usb = dest("usb", true);
    usb.same_medium_as = Some("This computer".into());
    usb.note = Some("usb is on the same disk as the local backups: one medium, not two".into());
    f.copies = vec![local(), usb];
    let h = assess(&f);
    assert_eq!(h.health, Health::AtRisk);
    assert_eq!(h.problems[0].kind, ProblemKind::OneCopy);
    assert_eq!(
        h.reason,
        "the newest good backup is only on this computer (usb is on the same disk as the local backups: one medium, not two)"
    );
    // With a copy on another medium as well, protected in 2 places, and still saying why.
    let mut f2 = f.clone();
    f2.copies.push(dest("nas", true));
    let h = assess(&f2);
    assert_eq!(h.health, Health::Protected, "{h:?}");
    assert!(
        h.reason
            .contains("kept in 2 places (usb is on the same disk"),
        "{}",
        h.reason
    );
}
