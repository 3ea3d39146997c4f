use super::*;

fn local() -> CopyMark {
    CopyMark {
        place: "This computer".into(),
        kind: "local".into(),
        ok: true,
        same_medium_as: None,
        note: None,
        offsite: false,
    }
}

/// A destination away from this computer (an S3 bucket, a NAS in another building).
fn dest(name: &str, ok: bool) -> CopyMark {
    CopyMark {
        place: name.into(),
        kind: "destination".into(),
        ok,
        same_medium_as: None,
        note: None,
        offsite: true,
    }
}

/// A protected project: a recent good backup on a schedule, verified, kept in three places (one
/// offsite), its restore proven by a drill.
fn safe() -> Facts {
    Facts {
        project: "shop".into(),
        subtitle: "shop_db".into(),
        backups: 3,
        last_good: Some("2026-11-24T02:30:05.000Z".into()),
        last_verified: Some("2026-11-24T02:31:00.000Z".into()),
        last_proven: Some("2026-11-24T03:00:00.000Z".into()),
        copies: vec![local(), dest("nas", true), dest("s3", true)],
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
            "backed up on schedule, kept in 3 places, restore proven",
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
            "point-in-time capture behind",
            |f| f.capture_behind = Some((60, 3 * 3600)),
            Health::AtRisk,
            "point-in-time capture last read the database's changes 3 h ago, past its limit of 1 min",
            Some(FixAction::CaptureNow),
        ),
        (
            "the capture's slot past half its limit, no capture reading it",
            |f| {
                f.slot_held = Some(SlotHeld {
                    retained: 600 << 20,
                    limit: 1 << 30,
                    in_use: false,
                })
            },
            Health::AtRisk,
            "600.0 MB held on the server for point-in-time capture, limit 1.0 GB: no capture is reading it",
            Some(FixAction::CaptureNow),
        ),
        (
            "the capture ended (its slot dropped)",
            |f| f.capture_ended = Some("its slot held 1.3 GB of WAL on the server".into()),
            Health::AtRisk,
            "point-in-time capture ended: its slot held 1.3 GB of WAL on the server. Start it again, or turn it off",
            Some(FixAction::RestartCapture),
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
            "the schedule (daily at 02:30) is paused",
            Some(FixAction::ResumeSchedule),
        ),
        (
            "one copy",
            |f| f.copies = vec![local()],
            Health::AtRisk,
            "1 of 3 copies: the newest good backup is only on this computer",
            Some(FixAction::AddDestination),
        ),
        (
            "copy not there yet",
            |f| f.copies = vec![local(), dest("nas", false)],
            Health::AtRisk,
            "1 of 3 copies: the newest good backup is only on this computer",
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
                "item": checklist::item_of(r.kind),
                "item_label": checklist::item_of(r.kind).label(),
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
    // Two places now, but not 3-2-1 yet: the server is beside the database, not offsite.
    assert_eq!(h.problems[0].kind, ProblemKind::CopiesShort, "{h:?}");
    assert_eq!(
        h.reason,
        "2 of 3 copies, on 2 separate disks, none away from this computer: 3-2-1 wants 3 copies, on 2 separate disks, 1 away from this computer"
    );
    f.copies.push(dest("s3", true));
    let h = assess(&f);
    assert_eq!(h.health, Health::Protected, "{h:?}");
    assert!(h.reason.contains("kept in 3 places"), "{}", h.reason);
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
        "2 of 3 copies, all on one disk: the newest good backup is only on this computer (usb is on the same disk as the local backups: one medium, not two)"
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

/// Each checklist item's states and Fix, from a protected project with one thing changed.
#[test]
fn each_checklist_item_has_its_states_why_and_fix() {
    use CheckId as I;
    use CheckState as S;
    type Case = (
        &'static str,
        fn(&mut Facts),
        CheckId,
        CheckState,
        &'static str,
        Option<FixAction>,
    );
    let cases: Vec<Case> =
        vec![
        ("scheduled", |_| {}, I::Scheduled, S::Done, "Backs up daily at 02:30.", None),
        (
            "scheduled by cron",
            |f| f.schedule = Some("cron * * * * *".into()),
            I::Scheduled,
            S::Done,
            "Backs up every minute.",
            None,
        ),
        (
            "scheduled weekly by cron",
            |f| f.schedule = Some("cron 30 2 * * 1".into()),
            I::Scheduled,
            S::Done,
            "Backs up weekly on Monday at 02:30.",
            None,
        ),
        (
            "no schedule",
            |f| f.schedule = None,
            I::Scheduled,
            S::Gap,
            "No schedule: backups are only made by hand.",
            Some(FixAction::AddSchedule),
        ),
        (
            "paused schedule",
            |f| f.paused = true,
            I::Scheduled,
            S::Gap,
            "The schedule (daily at 02:30) is paused.",
            Some(FixAction::ResumeSchedule),
        ),
        (
            "backed up",
            |_| {},
            I::BackedUp,
            S::Done,
            "The newest good backup is from 2026-11-24 02:30 UTC.",
            None,
        ),
        (
            "overdue",
            |f| f.overdue = true,
            I::BackedUp,
            S::Gap,
            "Overdue: the newest good backup is from 2026-11-24 02:30 UTC.",
            Some(FixAction::BackUpNow),
        ),
        (
            "refused",
            |f| f.last_run = failed("auth", "no"),
            I::BackedUp,
            S::Gap,
            "The server refused the credentials of the last backup.",
            Some(FixAction::EditCredentials),
        ),
        (
            "verified",
            |_| {},
            I::Verified,
            S::Done,
            "Checksums checked 2026-11-24 02:31 UTC.",
            None,
        ),
        (
            // A passing drill read the backup back in full: verified, not "never".
            "verified by a drill",
            |f| f.last_verified = None,
            I::Verified,
            S::Done,
            "Read back in full by the drill of 2026-11-24 03:00 UTC.",
            None,
        ),
        (
            "never verified",
            |f| {
                f.last_verified = None;
                f.last_proven = None;
            },
            I::Verified,
            S::Gap,
            "No backup was verified yet",
            Some(FixAction::VerifyNow),
        ),
        (
            "newest damaged",
            |f| f.newest_damaged = true,
            I::Verified,
            S::Gap,
            "The newest backup is damaged or missing",
            Some(FixAction::VerifyPrevious),
        ),
        (
            "3-2-1",
            |_| {},
            I::Copies,
            S::Done,
            "3 of 3 copies, on 3 separate disks, 1 away from this computer: 3-2-1 met.",
            None,
        ),
        (
            "one copy",
            |f| f.copies = vec![local()],
            I::Copies,
            S::Gap,
            "1 of 3 copies: the newest good backup is only on this computer.",
            Some(FixAction::AddDestination),
        ),
        (
            "two copies, none offsite",
            |f| {
                let mut nas = dest("nas", true);
                nas.offsite = false;
                f.copies = vec![local(), nas];
            },
            I::Copies,
            S::Gap,
            "2 of 3 copies, on 2 separate disks, none away from this computer: 3-2-1 wants 3 copies, on 2 separate disks, 1 away from this computer.",
            Some(FixAction::AddDestination),
        ),
        (
            "proven",
            |_| {},
            I::RestoreProven,
            S::Done,
            "A drill restored a backup and checked it 2026-11-24 03:00 UTC.",
            None,
        ),
        (
            "never proven",
            |f| f.last_proven = None,
            I::RestoreProven,
            S::Gap,
            "No restore was tried yet",
            Some(FixAction::RunDrill),
        ),
        (
            "drill failed",
            |f| f.drill_failed = true,
            I::RestoreProven,
            S::Gap,
            "The newest restore drill failed.",
            Some(FixAction::OpenDrill),
        ),
        (
            "encryption off",
            |_| {},
            I::Encryption,
            S::Off,
            "Off (your choice), so not counted:",
            None,
        ),
        (
            "encryption ready",
            |f| f.encryption = EncryptionState::Ready,
            I::Encryption,
            S::Done,
            "Backups are encrypted and the recovery key is confirmed.",
            None,
        ),
        (
            "recovery key not confirmed",
            |f| f.encryption = EncryptionState::Unconfirmed,
            I::Encryption,
            S::Gap,
            "The recovery key is not confirmed yet",
            Some(FixAction::ConfirmRecoveryKey),
        ),
        (
            "encryption not set up",
            |f| f.encryption = EncryptionState::NotSetUp,
            I::Encryption,
            S::Gap,
            "Encryption is on but not set up yet.",
            Some(FixAction::SetUpEncryption),
        ),
        (
            "paused backups",
            |f| f.encryption = EncryptionState::Unconfirmed,
            I::BackedUp,
            S::Paused,
            "The newest good backup is from 2026-11-24 02:30 UTC. Backing up waits for the recovery key.",
            Some(FixAction::ConfirmRecoveryKey),
        ),
        (
            "nothing to verify yet",
            |f| {
                f.backups = 0;
                f.last_good = None;
                f.copies.clear();
            },
            I::Verified,
            S::Waiting,
            "Waits for a first good backup.",
            None,
        ),
    ];
    for (name, change, id, state, why, fix) in cases {
        let mut f = safe();
        change(&mut f);
        let h = assess(&f);
        let item = h.checklist.item(id);
        assert_eq!(item.state, state, "{name}: {item:?}");
        assert!(item.why.starts_with(why), "{name}: {:?}", item.why);
        assert_eq!(item.fix, fix, "{name}");
        assert_eq!(item.fix_label, fix.map(|f| f.label().to_string()), "{name}");
        assert_eq!(item.label, id.label(), "{name}");
        // One truth: an open item means not protected, and the first open item's Fix is the
        // project's Fix.
        let first_open = h.checklist.open().next();
        assert_eq!(
            h.health == Health::Protected,
            first_open.is_none(),
            "{name}"
        );
        assert_eq!(first_open.and_then(|i| i.fix), h.fix(), "{name}");
    }
}

/// Several gaps: every one is listed, next step first (the order of the Fix), then what waits,
/// then what is done; "N of M done" counts what applies.
#[test]
fn the_checklist_lists_every_gap_next_step_first() {
    let mut f = safe();
    f.schedule = None;
    f.copies = vec![local()];
    f.last_verified = None;
    f.last_proven = None;
    let h = assess(&f);
    let order: Vec<(CheckId, CheckState)> =
        h.checklist.items.iter().map(|i| (i.id, i.state)).collect();
    assert_eq!(
        order,
        [
            (CheckId::Scheduled, CheckState::Gap),
            (CheckId::Copies, CheckState::Gap),
            (CheckId::Verified, CheckState::Gap),
            (CheckId::RestoreProven, CheckState::Gap),
            (CheckId::BackedUp, CheckState::Done),
            (CheckId::Encryption, CheckState::Off),
        ]
    );
    assert_eq!(h.checklist.line, "1 of 5 done");
    assert_eq!(h.fix(), Some(FixAction::AddSchedule));
    // What every notification about the project says: the count, the next item's why and Fix.
    let next = h.checklist.item(CheckId::Scheduled);
    assert_eq!(
        h.checklist.next_step().unwrap(),
        format!("1 of 5 done · next: {} Add a schedule", next.why)
    );
    assert_eq!(assess(&safe()).checklist.next_step(), None, "all done");
    let (n, line) = needs_you(&[h.clone(), assess(&safe())]);
    assert_eq!((n, line.as_str()), (4, "4 things need you"));
    assert_eq!(needs_you(&[assess(&safe())]).1, "Nothing needs you");
}

/// Paused backups: never backed up and the key not confirmed is Unprotected, and still no
/// "Back up now" anywhere (it would fail again); the refused run is not a second problem.
#[test]
fn paused_backups_never_offer_back_up_now() {
    let mut f = safe();
    f.backups = 0;
    f.last_good = None;
    f.copies.clear();
    f.encryption = EncryptionState::Unconfirmed;
    f.last_run = failed("needs_consent", "project \"shop\" is encrypted, but …");
    let h = assess(&f);
    assert_eq!(h.health, Health::Unprotected);
    assert_eq!(h.fix(), Some(FixAction::ConfirmRecoveryKey));
    assert!(h
        .reason
        .starts_with("backups paused: confirm your recovery key"));
    assert!(h.problems.iter().all(|p| p.fix != FixAction::BackUpNow));
    assert!(h
        .problems
        .iter()
        .all(|p| p.kind != ProblemKind::LastRunFailed));
    assert!(h
        .checklist
        .items
        .iter()
        .all(|i| i.fix != Some(FixAction::BackUpNow)));
    assert_eq!(h.checklist.items[1].state, CheckState::Paused);
    // "Backups paused" is said once (the reason; the app's banner): no item repeats it.
    assert!(
        h.checklist
            .items
            .iter()
            .all(|i| !i.why.to_lowercase().contains("paused")),
        "{:?}",
        h.checklist.items
    );
    // Confirmed: the old refusal is a failed run to retry like any other.
    f.encryption = EncryptionState::Ready;
    assert_eq!(assess(&f).fix(), Some(FixAction::BackUpNow));
}

/// Times in the checklist's sentences are this computer's (the zone gathered with the facts), and
/// each item that names one carries the instant and the sentence with `{at}` in its place, so the
/// app writes it in its own format.
#[test]
fn checklist_times_are_local_and_carried_for_the_front_ends() {
    let mut f = safe();
    f.zone = Some(crate::schedule::Zone::named("Europe/Berlin").unwrap());
    f.overdue = true;
    let h = assess(&f);
    let backed = h.checklist.item(CheckId::BackedUp);
    assert_eq!(
        backed.why,
        "Overdue: the newest good backup is from 2026-11-24 03:30 CET."
    );
    assert_eq!(backed.at.as_deref(), Some("2026-11-24T02:30:05.000Z"));
    assert_eq!(
        backed.why_at.as_deref(),
        Some("Overdue: the newest good backup is from {at}.")
    );
    let proven = h.checklist.item(CheckId::RestoreProven);
    assert_eq!(
        proven.why,
        "A drill restored a backup and checked it 2026-11-24 04:00 CET."
    );
    assert_eq!(
        proven.why_at.as_deref(),
        Some("A drill restored a backup and checked it {at}.")
    );
    assert_eq!(proven.at.as_deref(), f.last_proven.as_deref());
    // An item whose sentence names no time carries none.
    let scheduled = h.checklist.item(CheckId::Scheduled);
    assert_eq!(
        (scheduled.at.as_ref(), scheduled.why_at.as_ref()),
        (None, None)
    );
    // Summer time is named as such.
    f.last_good = Some("2026-07-01T10:00:00Z".into());
    let h = assess(&f);
    assert!(
        h.checklist
            .item(CheckId::BackedUp)
            .why
            .ends_with("2026-07-01 12:00 CEST."),
        "{:?}",
        h.checklist.item(CheckId::BackedUp).why
    );
}

/// An overdue schedule is not "Done: Scheduled" (issue 44, `overdue-later-01`): the item says
/// overdue, its next step is the backup item's (the credentials when runs are refused), and the
/// count of done items drops by one — also when the project was never backed up.
#[test]
fn an_overdue_schedule_is_not_done() {
    let mut f = safe();
    f.overdue = true;
    let h = assess(&f);
    let s = h.checklist.item(CheckId::Scheduled);
    assert_eq!(s.state, CheckState::Gap);
    assert_eq!(
        s.why,
        "Overdue: the schedule (daily at 02:30) missed its last backup."
    );
    assert_eq!(s.fix, Some(FixAction::BackUpNow));
    let ids: Vec<_> = h.checklist.items.iter().map(|i| i.id).collect();
    assert_eq!(&ids[..2], [CheckId::BackedUp, CheckId::Scheduled]);
    assert_eq!(h.checklist.done + 2, assess(&safe()).checklist.done);
    // Never backed up, runs refused: overdue too, and its step is to fix the credentials.
    let mut f = safe();
    f.backups = 0;
    f.last_good = None;
    f.copies.clear();
    f.overdue = true;
    f.last_run = failed("auth", "password rejected");
    let h = assess(&f);
    let s = h.checklist.item(CheckId::Scheduled);
    assert_eq!(s.state, CheckState::Gap);
    assert_eq!(
        s.why,
        "Overdue: the schedule (daily at 02:30) has not made a good backup yet."
    );
    assert_eq!(s.fix, Some(FixAction::EditCredentials));
    // Not overdue: done as before.
    assert_eq!(
        assess(&safe()).checklist.item(CheckId::Scheduled).state,
        CheckState::Done
    );
}

#[test]
fn the_recovery_point_is_the_newer_of_the_last_good_backup_and_the_capture() {
    let h = |captured_to: Option<&str>| {
        assess(&Facts {
            captured_to: captured_to.map(str::to_string),
            ..safe()
        })
        .recovery_point
    };
    assert_eq!(
        h(None).as_deref(),
        Some("2026-11-24T02:30:05.000Z"),
        "no capture: the backup"
    );
    assert_eq!(
        h(Some("2026-11-24T09:15:42.000Z")).as_deref(),
        Some("2026-11-24T09:15:42.000Z"),
        "capture ran after the backup"
    );
    assert_eq!(
        h(Some("2026-11-24T01:00:00.000Z")).as_deref(),
        Some("2026-11-24T02:30:05.000Z"),
        "a capture behind the backup does not move it back"
    );
    let never = assess(&Facts {
        captured_to: Some("2026-11-24T09:15:42.000Z".into()),
        last_good: None,
        ..safe()
    });
    assert_eq!(
        never.recovery_point.as_deref(),
        Some("2026-11-24T09:15:42.000Z")
    );
}

/// The warning share: a slot at half its limit is not yet a problem, past it is; a slot under
/// it says nothing whether or not a capture reads it.
#[test]
fn a_slot_is_a_problem_past_half_its_limit() {
    let at = |retained: u64, in_use: bool| {
        let mut f = safe();
        f.slot_held = Some(SlotHeld {
            retained,
            limit: 1000,
            in_use,
        });
        assess(&f)
    };
    assert_eq!(at(500, false).health, Health::Protected);
    assert_eq!(at(400, true).health, Health::Protected);
    let h = at(501, true);
    assert_eq!(h.health, Health::AtRisk);
    assert_eq!(h.problems[0].kind, ProblemKind::SlotFilling);
    assert!(
        h.reason.contains("the capture is reading it"),
        "{}",
        h.reason
    );
    assert!(!h.reason.contains("bytes"), "{}", h.reason);
}
