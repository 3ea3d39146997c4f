//! The scheduler's jobs in the window (issue 64 item 6): the sink the app's schedule loop hands
//! the engine turns a job's start into `job-started` (what it is, for which project, started by
//! what), its reports into `job-progress`, its end into `job-finished`; while it runs it is in
//! the registry as the window's own jobs are, so Cancel (`cancel_job`) stops it through its own
//! token and the tray names it. (The engine's side — that a scheduled run says all this, and
//! stops when cancelled — is `crates/core/tests/engine/scheduled_jobs.rs`.)

use super::*;
use offsite_core::catalog::JobKind;
use offsite_core::progress::{JobBegan, JobEnded, Phase, Progress, ProgressUpdate};
use tokio_util::sync::CancellationToken;

/// Every `job-started`, `job-progress` and `job-finished` the window receives, in order.
fn all_job_events(t: &TestApp) -> mpsc::Receiver<(String, Value)> {
    let (tx, rx) = mpsc::channel::<(String, Value)>();
    for name in ["job-started", "job-progress", "job-finished"] {
        let tx = tx.clone();
        t.webview.listen_any(name, move |event| {
            let _ = tx.send((
                name.to_string(),
                serde_json::from_str(event.payload()).unwrap(),
            ));
        });
    }
    rx
}

fn next(rx: &mpsc::Receiver<(String, Value)>) -> (String, Value) {
    rx.recv_timeout(Duration::from_secs(30))
        .expect("a job event")
}

#[test]
fn a_scheduled_job_is_shown_like_the_windows_own_and_cancel_stops_it() {
    let t = test_app();
    let rx = all_job_events(&t);
    let app = t._app.handle().clone();
    let sink = crate::ScheduledProgress::new(app.clone());
    let token = CancellationToken::new();
    let id = offsite_core::ops::new_job_id();

    sink.began(&JobBegan {
        job_id: &id,
        kind: JobKind::Backup,
        trigger: offsite_core::JobTrigger::Schedule,
        project: Some("shop"),
        cancel: &token,
    });
    let (name, started) = next(&rx);
    assert_eq!(name, "job-started");
    assert_eq!(
        started,
        json!({ "job_id": id, "kind": "backup", "project": "shop", "trigger": "schedule" })
    );
    // In the registry as the window's own: the tray's running job, with its step.
    sink.report(&ProgressUpdate {
        job_id: id.clone(),
        phase: Phase::Dumping,
        bytes_done: 10,
        bytes_total: None,
        bytes_per_sec: 0.0,
        finished: false,
        retry: None,
        component: None,
    });
    let (name, progress) = next(&rx);
    assert_eq!(
        (name.as_str(), &progress["job_id"]),
        ("job-progress", &json!(id))
    );
    let live = app.state::<JobRegistry>().live();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].0, id);
    assert_eq!(live[0].1.kind, JobKind::Backup);
    assert_eq!(live[0].1.subject, "shop");
    assert_eq!(live[0].1.phase, Some(Phase::Dumping));

    // Cancel, as the job panel's button does: the job's own token.
    assert_eq!(
        invoke(&t, "cancel_job", json!({ "jobId": id })).unwrap(),
        json!(true)
    );
    assert!(token.is_cancelled());

    let cancelled = offsite_core::Error::cancelled();
    sink.ended(&JobEnded {
        job_id: &id,
        kind: JobKind::Backup,
        error: Some(&cancelled),
    });
    let (name, finished) = next(&rx);
    assert_eq!(name, "job-finished");
    assert_eq!(finished["job_id"], json!(id));
    assert_eq!(finished["ok"], false, "{finished}");
    assert_eq!(finished["error"]["code"], "cancelled", "{finished}");
    assert_eq!(finished["result"], Value::Null, "{finished}");
    // Gone from the registry: nothing left to cancel, nothing for the tray.
    assert!(app.state::<JobRegistry>().live().is_empty());
    assert_eq!(
        invoke(&t, "cancel_job", json!({ "jobId": id })).unwrap(),
        json!(false)
    );
}
