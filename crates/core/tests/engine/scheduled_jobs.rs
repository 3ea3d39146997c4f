//! The scheduler's jobs seen from a front end (issue 64 item 6): a run through
//! `Engine::run_due_reporting` says when each job it starts begins (what it is, for which
//! project, started by what), reports its progress under the job's id, and says how it ended —
//! and the cancellation handed over at the start stops the job as its starter's would.

use crate::common::env_configured;
use offsite_core::catalog::{JobKind, JobState};
use offsite_core::clock::ManualClock;
use offsite_core::ops::{DueRunState, ScheduleWhat, SetSchedule};
use offsite_core::progress::{JobBegan, JobEnded, Progress, ProgressUpdate};
use offsite_core::schedule::ScheduleSpec;
use offsite_core::{AddProject, JobTrigger};
use offsite_testkit::TestCluster;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use time::macros::datetime;

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Began {
        id: String,
        kind: JobKind,
        trigger: JobTrigger,
        project: Option<String>,
    },
    Report {
        id: String,
        finished: bool,
    },
    Ended {
        id: String,
        kind: JobKind,
        error: Option<String>,
    },
}

/// A front end's sink: what it was told, in order; cancels each job as it begins when asked.
#[derive(Default)]
struct Watcher {
    seen: Mutex<Vec<Seen>>,
    cancel_at_start: AtomicBool,
}

impl Watcher {
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

impl Progress for Watcher {
    fn report(&self, u: &ProgressUpdate) {
        self.seen.lock().unwrap().push(Seen::Report {
            id: u.job_id.clone(),
            finished: u.finished,
        });
    }
    fn began(&self, job: &JobBegan<'_>) {
        self.seen.lock().unwrap().push(Seen::Began {
            id: job.job_id.to_string(),
            kind: job.kind,
            trigger: job.trigger,
            project: job.project.map(str::to_string),
        });
        if self.cancel_at_start.load(Ordering::SeqCst) {
            job.cancel.cancel();
        }
    }
    fn ended(&self, job: &JobEnded<'_>) {
        self.seen.lock().unwrap().push(Seen::Ended {
            id: job.job_id.to_string(),
            kind: job.kind,
            error: job.error.map(|e| e.code().to_string()),
        });
    }
}

/// Every job told of began once, reported only between its start and its end (the last report
/// `finished`), and ended once; returns the jobs in the order they began.
fn jobs_of(seen: &[Seen]) -> Vec<(Seen, Seen)> {
    let mut jobs = Vec::new();
    for (i, s) in seen.iter().enumerate() {
        let Seen::Began { id, .. } = s else { continue };
        let end = seen[i..]
            .iter()
            .position(|e| matches!(e, Seen::Ended { id: e_id, .. } if e_id == id))
            .map(|n| n + i)
            .unwrap_or_else(|| panic!("job {id} began and never ended: {seen:#?}"));
        let reports: Vec<&Seen> = seen
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r, Seen::Report { id: r_id, .. } if r_id == id))
            .map(|(n, r)| {
                assert!(n > i && n < end, "a report outside its job: {seen:#?}");
                r
            })
            .collect();
        assert!(
            matches!(reports.last(), Some(Seen::Report { finished: true, .. })),
            "job {id}'s last report is its finished one: {seen:#?}"
        );
        jobs.push((s.clone(), seen[end].clone()));
    }
    let began = seen
        .iter()
        .filter(|s| matches!(s, Seen::Began { .. }))
        .count();
    let ended = seen
        .iter()
        .filter(|s| matches!(s, Seen::Ended { .. }))
        .count();
    assert_eq!(began, ended, "{seen:#?}");
    jobs
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schedulers_jobs_tell_a_front_end_their_start_progress_and_end_and_stop_when_asked() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 00:30 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let db = pg.unique_db("sched_seen");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 1000);",
    );
    engine
        .add_project(AddProject::url("seen", pg.url_with_password(&db)))
        .await
        .unwrap();
    engine
        .set_schedule(SetSchedule {
            project: "seen".to_string(),
            spec: ScheduleSpec::every("6h").unwrap(),
            what: ScheduleWhat::Backup,
            time_zone: Some("UTC".to_string()),
        })
        .await
        .unwrap();
    let watcher = Arc::new(Watcher::default());
    let sink: Arc<dyn Progress> = watcher.clone();

    // 06:01: the scheduled backup, told from its start to its end under the run's job id.
    clock.set(datetime!(2026-11-20 06:01 UTC));
    let report = engine.run_due_reporting(&sink).await.unwrap();
    assert_eq!(report.runs.len(), 1, "{report:?}");
    let run = &report.runs[0];
    assert_eq!(run.state, DueRunState::Succeeded, "{run:?}");
    let jobs = jobs_of(&watcher.take());
    let (began, ended) = jobs.first().expect("the backup job was told").clone();
    assert_eq!(
        began,
        Seen::Began {
            id: run.job_ids[0].clone(),
            kind: JobKind::Backup,
            trigger: JobTrigger::Schedule,
            project: Some("seen".to_string()),
        }
    );
    assert_eq!(
        ended,
        Seen::Ended {
            id: run.job_ids[0].clone(),
            kind: JobKind::Backup,
            error: None,
        }
    );
    // The retention after it is a job of its own, told too, as the retention's.
    assert!(
        jobs[1..].iter().all(|(b, e)| matches!(
            (b, e),
            (
                Seen::Began {
                    kind: JobKind::Prune | JobKind::Sync,
                    trigger: JobTrigger::Retention,
                    ..
                },
                Seen::Ended { error: None, .. }
            )
        )),
        "{jobs:#?}"
    );
    // The engine's own record says what the front end was told.
    let job = engine.catalog().job(&run.job_ids[0]).await.unwrap();
    assert_eq!(job.state, JobState::Succeeded);

    // 12:01: the front end cancels the job as it begins: the backup stops, recorded cancelled,
    // and the end it is told says so; no backup is registered.
    watcher.cancel_at_start.store(true, Ordering::SeqCst);
    let before = engine.backups("seen").await.unwrap().len();
    clock.set(datetime!(2026-11-20 12:01 UTC));
    let report = engine.run_due_reporting(&sink).await.unwrap();
    let run = &report.runs[0];
    assert_eq!(run.state, DueRunState::Failed, "{run:?}");
    let jobs = jobs_of(&watcher.take());
    assert_eq!(
        jobs.len(),
        1,
        "nothing runs after a cancelled backup: {jobs:#?}"
    );
    assert_eq!(
        jobs[0].1,
        Seen::Ended {
            id: run.job_ids[0].clone(),
            kind: JobKind::Backup,
            error: Some("cancelled".to_string()),
        }
    );
    let job = engine.catalog().job(&run.job_ids[0]).await.unwrap();
    assert_eq!(job.state, JobState::Cancelled, "{job:?}");
    assert_eq!(engine.backups("seen").await.unwrap().len(), before);
}
