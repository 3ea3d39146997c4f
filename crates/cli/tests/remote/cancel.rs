//! A cancel while the server makes the backup cancels it there: the laptop's client (what
//! `backup --remote` and the app's Cancel go through) follows the server's step in bytes, and a
//! cancel asks the server to stop (`POST …/cancel`), ending `cancelled` only once the server
//! confirmed it, with nothing left on the server. A cancel once the server has made it (while
//! its archive comes down) leaves it on the server, and the job's error says so.

use super::{database, free_port, start_agent, walk};
use offsite_core::catalog::JobState;
use offsite_core::ops::job::JobStart;
use offsite_core::ops::ServerSettings;
use offsite_core::progress::{Phase, ProgressUpdate, Reporter};
use offsite_core::secrets::MemoryStore;
use offsite_core::{AddProject, Engine, EngineConfig, ErrorKind};
use offsite_testkit::TestCluster;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_on_the_laptop_cancels_the_backup_on_the_server() {
    // Big enough that the server is still dumping when the cancel comes.
    let db = database(1_000_000);
    let agent = start_agent(&db, &format!("127.0.0.1:{}", free_port()), true);
    let token = agent.token();
    let mut client = agent.client(&token);
    client.poll_interval = Duration::from_millis(50);
    let created = client.start_backup("DATABASE", &[], None).await.unwrap();

    // The user presses Cancel once the server reports the dump's bytes.
    let cancel = CancellationToken::new();
    let seen: Arc<Mutex<Vec<ProgressUpdate>>> = Arc::default();
    let (c2, s2) = (cancel.clone(), seen.clone());
    let sink = Arc::new(move |u: &ProgressUpdate| {
        s2.lock().unwrap().push(u.clone());
        if u.phase == Phase::ServerStep && u.bytes_done > 0 {
            c2.cancel();
        }
    });
    let reporter = Reporter::with_interval(sink, "job", Duration::ZERO);
    let e = client
        .wait(&created.backup_id, &reporter, &cancel)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e:?}");
    assert!(e.message().starts_with("cancelled on the server"), "{e}");
    assert!(!format!("{e:?}").contains(&token));
    // The server's bytes reached the reporter, with the dump's total (the database's size).
    let step = seen
        .lock()
        .unwrap()
        .iter()
        .find(|u| u.phase == Phase::ServerStep && u.bytes_done > 0)
        .cloned()
        .expect("the server's bytes");
    assert!(step.bytes_total.is_some_and(|t| t > 0), "{step:?}");

    // On the server: ended cancelled, nothing written.
    let b = client.backup(&created.backup_id).await.unwrap();
    assert!(b.is_failed(), "{b:?}");
    assert_eq!(b.error.as_ref().unwrap().code, "cancelled", "{b:?}");
    assert!(agent.archives().is_empty(), "{:?}", agent.archives());
    assert!(client
        .backups()
        .await
        .unwrap()
        .iter()
        .all(|b| !b.is_completed()));
    // Cancelling it again is refused (it is not being made).
    let again = client.cancel_backup(&created.backup_id).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict, "{again:?}");
    let unknown = client
        .cancel_backup("0b8e5f0e-3c1e-4c55-9a55-1b2c3d4e5f60")
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound, "{unknown:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_during_the_download_says_the_backup_stays_on_the_server() {
    let db = database(2_000);
    let agent = start_agent(&db, &format!("127.0.0.1:{}", free_port()), false);
    let token = agent.token();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(
        EngineConfig::new(Arc::new(MemoryStore::default())).data_dir(dir.path().join("data")),
    )
    .await
    .unwrap();
    let pg = TestCluster::shared();
    engine
        .add_project(AddProject::url("shop", pg.url_with_password(&db)))
        .await
        .unwrap();
    engine
        .set_server(
            "shop",
            Some(ServerSettings {
                url: agent.url.clone(),
                project: "shop".into(),
                token: Some(token.clone()),
                fingerprint: agent.fingerprint.clone(),
                ..Default::default()
            }),
        )
        .await
        .unwrap();

    // The user presses Cancel as soon as the finished backup starts coming down.
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    let start = JobStart {
        progress: Arc::new(move |u: &ProgressUpdate| {
            if u.phase == Phase::Downloading {
                c2.cancel();
            }
        }),
        cancel: cancel.clone(),
        ..Default::default()
    };
    let e = engine
        .remote_backup("shop", Some("database"), None, start)
        .await
        .unwrap_err();
    assert!(cancel.is_cancelled(), "the download was reached: {e:?}");
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e:?}");
    // What is true: the server's backup stays there, nothing is kept here; never "nothing was
    // kept on the server".
    assert!(
        e.message().starts_with("download cancelled: the backup "),
        "{e}"
    );
    assert!(e.message().contains("stays on the server"), "{e}");
    assert!(e.message().ends_with("nothing was kept here"), "{e}");
    assert!(e.hint().unwrap().contains("Pull new"), "{e:?}");
    assert!(!format!("{e:?}").contains("on the server or here"), "{e:?}");
    assert!(!format!("{e:?}").contains(&token));

    // The server has it, completed; here: no backup, no archive, no `.part`.
    let client = agent.client(&token);
    let on_server = client.backups().await.unwrap();
    assert_eq!(
        on_server.iter().filter(|b| b.is_completed()).count(),
        1,
        "{on_server:?}"
    );
    assert_eq!(agent.archives().len(), 1, "{:?}", agent.archives());
    assert!(engine.backups("shop").await.unwrap().is_empty());
    let mut left = Vec::new();
    walk(dir.path(), &mut |p| {
        let s = p.to_string_lossy();
        if s.ends_with(".part") || offsite_core::backup::has_archive_suffix(&s) {
            left.push(p.to_path_buf());
        }
    });
    assert!(left.is_empty(), "{left:?}");
    // The job's row: cancelled.
    let job = engine.jobs(Some("shop"), 1).await.unwrap().remove(0);
    assert_eq!(job.state, JobState::Cancelled, "{job:?}");
}
