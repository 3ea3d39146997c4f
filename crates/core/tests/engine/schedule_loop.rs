//! The one background loop ([`Engine::run_schedules`]) the desktop app, `offsite daemon` and the
//! agent run: a laptop that sleeps through two slots (the wall clock jumps, tokio's timers barely
//! move) runs the schedule once, as a catch-up, at the first check after waking — not once per
//! missed slot and not again at later checks; a wake-up starts a check at once; cancelling ends
//! the loop.

use crate::common::env_configured;
use offsite_core::clock::ManualClock;
use offsite_core::ops::DueRunState;
use offsite_core::ops::{
    DueListener, DueRun, LoopOptions, ProjectStatus, RunDueReport, ScheduleWhat, SetSchedule,
};
use offsite_core::schedule::{RetentionPolicy, ScheduleSpec};
use offsite_core::{AddProject, Engine, JobTrigger, Result};
use offsite_testkit::TestCluster;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::macros::datetime;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Recorder {
    runs: Mutex<Vec<DueRun>>,
    checks: AtomicUsize,
    statuses: AtomicUsize,
}

impl DueListener for Recorder {
    async fn checked(&self, _engine: &Engine, report: &Result<RunDueReport>) {
        let report = report.as_ref().expect("a check failed");
        self.runs
            .lock()
            .unwrap()
            .extend(report.runs.iter().cloned());
        self.checks.fetch_add(1, Ordering::SeqCst);
    }
    async fn statuses(&self, _engine: &Engine, statuses: &[ProjectStatus]) {
        assert_eq!(statuses.len(), 1);
        self.statuses.fetch_add(1, Ordering::SeqCst);
    }
}

impl Recorder {
    fn checks(&self) -> usize {
        self.checks.load(Ordering::SeqCst)
    }
    fn runs(&self) -> Vec<DueRun> {
        self.runs.lock().unwrap().clone()
    }
    /// Wait (bounded) until `n` more checks than `after` have finished.
    async fn until_checks(&self, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while self.checks() < n {
            assert!(
                std::time::Instant::now() < deadline,
                "the loop made {} checks, not {n}",
                self.checks()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slot_passed_during_a_sleep_runs_once_not_twice() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 05:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = Arc::new(env.engine.clone());
    let db = pg.unique_db("loop");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    engine
        .add_project(AddProject::url("loop", pg.url_with_password(&db)))
        .await
        .unwrap();
    // Keep everything: the runs are counted by the backups they leave (a new project keeps
    // the recommended daily policy, which would keep one of the day's two).
    engine
        .set_retention("loop", RetentionPolicy::default(), Some("UTC"))
        .await
        .unwrap();
    engine
        .set_schedule(SetSchedule {
            project: "loop".into(),
            spec: ScheduleSpec::every("6h").unwrap(),
            what: ScheduleWhat::Backup,
            time_zone: Some("UTC".into()),
        })
        .await
        .unwrap();

    let recorder = Arc::new(Recorder::default());
    let cancel = CancellationToken::new();
    let options = LoopOptions {
        max_wait: Duration::from_millis(100),
        ..LoopOptions::default()
    };
    let task = {
        let (engine, recorder, cancel) = (engine.clone(), recorder.clone(), cancel.clone());
        let options = options.clone();
        tokio::spawn(async move { engine.run_schedules(&*recorder, options, cancel).await })
    };
    // Awake at 05:00: the loop checks (at most 100 ms apart) and nothing is due.
    recorder.until_checks(3).await;
    assert!(recorder.runs().is_empty(), "{:?}", recorder.runs());
    // Every check is followed by the projects' statuses (`checked` first, then `statuses`: read
    // between the two, the count is one behind; wait, bounded, until it has caught up).
    let checked = recorder.checks();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while recorder.statuses.load(Ordering::SeqCst) < checked {
        assert!(
            std::time::Instant::now() < deadline,
            "{checked} checks but only {} status reports",
            recorder.statuses.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(recorder.statuses.load(Ordering::SeqCst) <= recorder.checks());

    // The laptop sleeps until 13:00: the 06:00 and 12:00 slots pass while no timer runs.
    clock.set(datetime!(2026-11-20 13:00 UTC));
    let after = recorder.checks();
    recorder.until_checks(after + 6).await;
    let runs = recorder.runs();
    assert_eq!(
        runs.len(),
        1,
        "one catch-up, not one per missed slot: {runs:?}"
    );
    assert_eq!(runs[0].trigger, JobTrigger::CatchUp);
    assert_eq!(runs[0].slot, "2026-11-20T12:00:00.000Z");
    assert_eq!(runs[0].state, DueRunState::Succeeded, "{:?}", runs[0].error);
    assert_eq!(engine.backups("loop").await.unwrap().len(), 1);

    // Cancelling ends the loop. Then a loop that would wait an hour: a wake-up (the desktop
    // hears a resume) starts the check at once, and the 18:00 slot runs on time, once.
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("cancelling ends the loop")
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    let cancel = CancellationToken::new();
    let options = LoopOptions {
        max_wait: Duration::from_secs(3600),
        ..LoopOptions::default()
    };
    let wake = options.wake.clone();
    let task = {
        let (engine, recorder, cancel) = (engine.clone(), recorder.clone(), cancel.clone());
        tokio::spawn(async move { engine.run_schedules(&*recorder, options, cancel).await })
    };
    recorder.until_checks(1).await;
    assert!(recorder.runs().is_empty(), "{:?}", recorder.runs());
    clock.set(datetime!(2026-11-20 18:00:05 UTC));
    wake.notify_one();
    recorder.until_checks(2).await;
    let runs = recorder.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].trigger, JobTrigger::Schedule);
    assert_eq!(runs[0].slot, "2026-11-20T18:00:00.000Z");
    assert_eq!(engine.backups("loop").await.unwrap().len(), 2);
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("cancelling ends the loop")
        .unwrap();
}
