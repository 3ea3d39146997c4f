//! A damaged archive verified through the app: its `job-finished` says what the catalog, the
//! history and the notification say — failed, code `integrity` — and still carries the report
//! that says what is damaged (issue 63 item 8: the event said `ok: true`).

use super::*;

#[test]
fn a_damaged_verify_is_failed_in_its_event_as_in_the_catalog_and_the_notification() {
    let pg = offsite_testkit::TestCluster::shared();
    let db = pg.unique_db("desk_damaged");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g;",
    );
    let t = test_app();
    let rx = job_events(&t);
    let (tx, hooks) = mpsc::channel::<JobDone>();
    let tx = std::sync::Mutex::new(tx);
    t._app
        .state::<JobRegistry>()
        .on_finished(move |done| tx.lock().unwrap().send(done.clone()).unwrap());
    invoke(
        &t,
        "add_project",
        json!({ "request": { "name": "dmg", "connection": { "url": pg.url_with_password(&db) }, "tls": "disable", "password": null, "backup_dir": null } }),
    )
    .unwrap();
    let backup_job = invoke(&t, "start_backup", json!({ "project": "dmg" })).unwrap();
    let (_, backed_up) = wait_for_job(&rx, backup_job.as_str().unwrap());
    assert_eq!(backed_up["ok"], true, "{backed_up}");
    let path = backed_up["result"]["backup"]["path"]
        .as_str()
        .unwrap()
        .to_string();

    // One byte in the middle of the archive flipped.
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&path, &bytes).unwrap();

    let verify_job = invoke(&t, "start_verify", json!({ "path": path })).unwrap();
    let verify_job = verify_job.as_str().unwrap();
    let (_, finished) = wait_for_job(&rx, verify_job);
    assert_eq!(finished["ok"], false, "{finished}");
    assert_eq!(finished["error"]["code"], "integrity", "{finished}");
    assert_eq!(finished["result"]["kind"], "verify", "{finished}");
    assert_eq!(finished["result"]["report"]["ok"], false, "{finished}");

    // The catalog (History) says the same, with the same words.
    let jobs = invoke(&t, "list_jobs", json!({ "project": "dmg", "limit": 10 })).unwrap();
    let job = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == json!(verify_job))
        .unwrap_or_else(|| panic!("the verify job in {jobs}"));
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["error_code"], finished["error"]["code"], "{job}");
    assert_eq!(job["error_message"], finished["error"]["message"], "{job}");

    // So does the notification, made from the same finished job.
    let done = loop {
        let done = hooks.recv_timeout(Duration::from_secs(60)).unwrap();
        if done.finished.job_id == verify_job {
            break done;
        }
    };
    assert!(!done.finished.ok);
    let text = crate::notify::job_text(&done);
    assert!(text.title.ends_with("the archive is damaged"), "{text:?}");
}
