//! The engine's sentences that reach the app's screens, rendered by the engine's own functions
//! from realistic values (ids, times to the microsecond, log positions, sizes): the dashboard's
//! health lines and checklist, a drill's report lines, the running job's line, the schedule
//! editor's refusals, common error hints. They are written to `ui/src/test/engineScreen.json`,
//! which the UI's words test (`ui/src/words.test.ts`) holds to the glossary's list
//! (`ui/src/test/never.ts`): the same list as the app's own text, and no UUID, RFC 3339 time or
//! LSN outside Details (issue 64 item 4).
//!
//! Checked like the bindings: the file must be what this test renders; with
//! `OFFSITE_UPDATE_BINDINGS=1` the test writes it.

use offsite_core::catalog::JobKind;
use offsite_core::drill::confine::{confined_check, Restorer};
use offsite_core::drill::sandbox::Confinement;
use offsite_core::drill::DrillCheck;
use offsite_core::error::Error;
use offsite_core::health::{
    self, ActiveCondition, CopyMark, EncryptionState, Facts, LastRun, ProjectHealth, SlotHeld,
};
use offsite_core::ops::job_steps;
use offsite_core::ops::pitr::at::AtState;
use offsite_core::schedule::ScheduleSpec;
use serde::Serialize;
use std::path::PathBuf;

/// One sentence and where the app shows it.
#[derive(Serialize)]
struct Said {
    shown: String,
    text: String,
}

#[derive(Default)]
struct Sentences(Vec<Said>);

impl Sentences {
    fn add(&mut self, shown: impl Into<String>, text: impl Into<String>) {
        let text = text.into();
        if !text.is_empty() {
            self.0.push(Said {
                shown: shown.into(),
                text,
            });
        }
    }

    fn error(&mut self, shown: &str, e: &Error) {
        self.add(format!("{shown}: message"), e.message());
        if let Some(h) = e.hint() {
            self.add(format!("{shown}: hint"), h);
        }
    }

    /// What the dashboard card, the project header and the checklist show of a project.
    fn health(&mut self, case: &str, h: &ProjectHealth) {
        let at = |w: &str| format!("health ({case}): {w}");
        self.add(at("state"), &h.health_label);
        self.add(at("reason"), &h.reason);
        if let Some(w) = &h.schedule_words {
            self.add(at("schedule"), w);
        }
        for p in &h.problems {
            self.add(at("problem"), &p.reason);
            self.add(at("fix"), &p.fix_label);
        }
        self.add(at("checklist count"), &h.checklist.line);
        for i in &h.checklist.items {
            self.add(at("checklist item"), &i.label);
            // The app fills `{at}` with its own date format.
            let why = i.why_at.as_deref().unwrap_or(&i.why).replace("{at}", "");
            self.add(at("checklist why"), why);
            if let Some(f) = &i.fix_label {
                self.add(at("checklist fix"), f);
            }
        }
        for c in &h.copies {
            if let Some(n) = &c.note {
                self.add(at("copy note"), n);
            }
        }
    }

    /// What the drill report shows in its table (the detail is under Details).
    fn check(&mut self, case: &str, c: &DrillCheck) {
        self.add(format!("drill check ({case}): title"), &c.title);
        if let Some(e) = &c.expected {
            self.add(format!("drill check ({case}): expected"), e);
        }
        if let Some(a) = &c.actual {
            self.add(format!("drill check ({case}): found"), a);
        }
    }
}

fn copy(place: &str, kind: &str, offsite: bool) -> CopyMark {
    CopyMark {
        place: place.into(),
        kind: kind.into(),
        ok: true,
        same_medium_as: None,
        note: None,
        offsite,
    }
}

/// A protected project: the start of every case.
fn safe() -> Facts {
    Facts {
        project: "shop".into(),
        subtitle: "shop_db".into(),
        backups: 3,
        last_good: Some("2026-11-24T02:30:05.123456Z".into()),
        last_verified: Some("2026-11-24T02:31:00.000Z".into()),
        last_proven: Some("2026-11-24T03:00:00.000Z".into()),
        copies: vec![
            copy("This computer", "local", false),
            copy("nas", "destination", true),
            copy("s3", "destination", true),
        ],
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

type Case = (&'static str, fn(&mut Facts));

/// The situations of docs/health.md.
fn health_cases() -> Vec<Case> {
    vec![
        ("all well", |_| {}),
        ("never backed up", |f| {
            f.backups = 0;
            f.last_good = None;
            f.last_verified = None;
            f.last_proven = None;
            f.copies.clear();
            f.last_run = None;
            f.schedule = None;
            f.next_run = None;
        }),
        ("password refused", |f| {
            f.last_run = failed("auth", "password authentication failed for user \"app\"");
        }),
        ("newest damaged", |f| f.newest_damaged = true),
        ("overdue", |f| {
            f.overdue = true;
            f.overdue_schedules = vec!["default".into()];
        }),
        ("last run failed", |f| {
            f.last_run = failed("connection", "connection refused")
        }),
        ("no schedule", |f| {
            f.schedule = None;
            f.next_run = None;
        }),
        ("paused", |f| {
            f.paused = true;
            f.next_run = None;
        }),
        ("one copy", |f| {
            f.copies = vec![copy("This computer", "local", false)]
        }),
        ("same disk", |f| {
            let mut usb = copy("usb", "destination", false);
            usb.same_medium_as = Some("This computer".into());
            usb.note = Some("usb is on the same disk as the backups on this computer".into());
            f.copies = vec![copy("This computer", "local", false), usb];
        }),
        ("never verified, never proven", |f| {
            f.last_verified = None;
            f.last_proven = None;
        }),
        ("drill failed", |f| f.drill_failed = true),
        ("encryption not confirmed", |f| {
            f.encryption = EncryptionState::Unconfirmed
        }),
        ("encryption not set up", |f| {
            f.encryption = EncryptionState::NotSetUp
        }),
        ("recovery point missed", |f| {
            f.rpo_missed = Some((3600, 26 * 3600))
        }),
        ("capture behind", |f| {
            f.capture_behind = Some((60, 3 * 3600))
        }),
        ("capture slot filling", |f| {
            f.slot_held = Some(SlotHeld {
                retained: 600 << 20,
                limit: 1 << 30,
                in_use: false,
            })
        }),
        ("capture ended", |f| {
            f.capture_ended = Some("its slot held more than its limit on the server".into())
        }),
        ("copy pending", |f| {
            f.conditions = vec![ActiveCondition {
                kind: "copy_pending".into(),
                subject: "nas".into(),
                detail: None,
            }]
        }),
        ("space low", |f| {
            f.conditions = vec![ActiveCondition {
                kind: "space_low".into(),
                subject: "folder".into(),
                detail: Some("less than 1 GB free".into()),
            }]
        }),
    ]
}

/// A `PROJECT@TIME` state as the engine records it: ids, microseconds, the LSN.
fn at_state(commit: bool) -> AtState {
    AtState {
        project: "shop".into(),
        at: "2026-11-28T06:31:23.443668Z".into(),
        base_backup_id: "c39820ee-144f-4804-981c-a7c1d1daa1a7".into(),
        base_at: "2026-11-28T06:00:02.231895Z".into(),
        commit_at: commit.then(|| "2026-11-28T06:31:20.921657Z".into()),
        commit_lsn: commit.then(|| "0/2DDDAA0".into()),
        transactions: if commit { 3 } else { 0 },
        changes: if commit { 12 } else { 0 },
    }
}

fn render() -> Sentences {
    let mut s = Sentences::default();
    let mut all = Vec::new();
    for (case, change) in health_cases() {
        let mut f = safe();
        change(&mut f);
        let h = health::assess(&f);
        s.health(case, &h);
        all.push(h);
    }
    let o = health::overview(all);
    s.add("dashboard: summary", &o.summary);
    s.add("dashboard: needs you", &o.needs_you_line);

    s.check(
        "a moment",
        &offsite_core::ops::drill::at_check("shop", &at_state(true)),
    );
    s.check(
        "a moment, the base as taken",
        &offsite_core::ops::drill::at_check("shop", &at_state(false)),
    );
    let created = vec!["app_owner".to_string()];
    let who = Restorer {
        role: "offsite_drill_ab12cd34ef56ab78cd90",
        own_role: true,
        bypassrls: false,
        created_roles: &created,
    };
    let landlock = Confinement::Confined {
        exec: "/usr/lib/postgresql/15/bin".into(),
        write: "/tmp/offsite-drill-1/data".into(),
        network: false,
    };
    s.check("confined", &confined_check(&who, Ok(&landlock)));
    let none = Confinement::Unconfined("this Linux kernel has no Landlock".into());
    s.check("not confined", &confined_check(&who, Ok(&none)));
    s.check(
        "scratch server",
        &confined_check(&who, Err("db.example.com:5432")),
    );

    for kind in [
        JobKind::Backup,
        JobKind::Verify,
        JobKind::Restore,
        JobKind::Import,
        JobKind::Prune,
        JobKind::Pull,
        JobKind::Sync,
        JobKind::FetchCopy,
        JobKind::Drill,
        JobKind::Recover,
    ] {
        s.add("tray: running job", job_steps::doing(kind, "shop"));
    }
    for steps in [
        job_steps::BACKUP,
        job_steps::SERVER_BACKUP,
        job_steps::RESTORE,
        job_steps::IMPORT,
    ] {
        for step in steps {
            s.add("job panel: step", step.label);
        }
    }

    for expr in ["61 * * * *", "* * * *", "0 0 30 2 *"] {
        if let Err(e) = ScheduleSpec::cron(expr) {
            s.error("schedule editor: a custom schedule refused", &e);
        }
    }
    s.error("any job: cancelled", &Error::cancelled());
    let full = std::io::Error::from_raw_os_error(28);
    s.error(
        "any job: the disk is full",
        &Error::io("writing the backup", full),
    );
    s
}

#[test]
fn the_ui_engine_screen_json_is_what_the_engine_says() {
    let json = serde_json::to_string_pretty(&render().0).unwrap() + "\n";
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/test/engineScreen.json");
    if std::env::var_os("OFFSITE_UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &json).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == json,
        "{} is stale: run this test with OFFSITE_UPDATE_BINDINGS=1 and commit the file",
        path.display()
    );
}

#[test]
fn the_sentences_cover_every_part_of_the_screen() {
    let s = render();
    for part in [
        "health (",
        "dashboard: summary",
        "drill check (a moment)",
        "drill check (confined)",
        "tray: running job",
        "job panel: step",
        "schedule editor",
        "any job",
    ] {
        assert!(
            s.0.iter().any(|x| x.shown.starts_with(part)),
            "nothing rendered for {part}"
        );
    }
}
