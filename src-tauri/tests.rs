//! The commands through Tauri's mock runtime (real IPC: argument parsing, state, serialization),
//! on a temporary data folder with an in-memory secret store; and the bindings' freshness.

use super::*;
use offsite_core::secrets::{project_password_key, MemoryStore, SecretStore};
use serde_json::{json, Value};
use std::sync::mpsc;
use std::time::Duration;
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{Listener, Manager, WebviewWindow};

struct TestApp {
    _app: tauri::App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    secrets: Arc<MemoryStore>,
    data_dir: tempfile::TempDir,
}

fn test_app() -> TestApp {
    test_app_with(mock_builder(), mock_context(noop_assets()))
}

/// [`test_app`] from this builder and context (plugins, their configuration).
fn test_app_with(
    builder: tauri::Builder<MockRuntime>,
    context: tauri::Context<MockRuntime>,
) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let engine = tauri::async_runtime::block_on(Engine::open(
        EngineConfig::new(secrets.clone()).data_dir(data_dir.path().to_path_buf()),
    ))
    .unwrap();
    let app = build_app(builder, specta_builder!(MockRuntime), Ok(engine), context).unwrap();
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    TestApp {
        _app: app,
        webview,
        secrets,
        data_dir,
    }
}

/// Invoke `cmd` with `args` as the UI would; Ok(response) or Err(error value).
fn invoke(t: &TestApp, cmd: &str, args: Value) -> Result<Value, Value> {
    tauri::test::get_ipc_response(
        &t.webview,
        tauri::webview::InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            // The app's own origin (a remote origin may call no app command).
            url: if cfg!(windows) {
                "http://tauri.localhost"
            } else {
                "tauri://localhost"
            }
            .parse()
            .unwrap(),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: tauri::test::INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

#[test]
fn app_info_names_the_app_and_its_data_folder() {
    let t = test_app();
    let info = invoke(&t, "app_info", json!({})).unwrap();
    assert_eq!(info["engine"], json!(offsite_core::tool_version()));
    assert_eq!(info["version"], json!(env!("CARGO_PKG_VERSION")));
    assert_eq!(
        info["data_dir"],
        json!(t.data_dir.path().display().to_string())
    );
    assert!(info["name"].is_string());
    // The About section's versions: the engine's, as `offsite --version` prints them.
    assert_eq!(info["versions"], json!(offsite_core::version_info()));
}

#[test]
fn add_project_then_list_projects_never_returns_the_password() {
    let t = test_app();
    let secret = "s3cret-Pa55word";
    let added = invoke(
        &t,
        "add_project",
        json!({ "request": {
            "name": "shop",
            "connection": { "url": format!("postgres://app:{secret}@db.example.com:6543/shop") },
            "tls": "require",
            "password": null,
            "backup_dir": null,
            "skip_test": true,
        }}),
    )
    .unwrap();
    assert_eq!(added["project"]["name"], "shop");
    assert_eq!(added["project"]["tls_mode"], "require");
    assert_eq!(added["last_backup"], Value::Null);
    // The URL's password went to the secret store, and was stripped from what is stored.
    assert_eq!(
        t.secrets
            .get(&project_password_key("shop"))
            .unwrap()
            .as_deref(),
        Some(secret)
    );

    let by_fields = invoke(
        &t,
        "add_project",
        json!({ "request": {
            "name": "blog",
            "connection": { "fields": { "host": "localhost", "port": null, "user": "postgres", "database": "blog" } },
            "tls": null,
            "password": "another-secret",
            "backup_dir": null,
            "skip_test": true,
        }}),
    )
    .unwrap();
    assert_eq!(
        by_fields["project"]["db_url"],
        "postgres://postgres@localhost:5432/blog"
    );

    let list = invoke(&t, "list_projects", json!({})).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["project"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"shop") && names.contains(&"blog"));
    let text = list.to_string();
    assert!(
        !text.contains(secret) && !text.contains("another-secret"),
        "{text}"
    );
    assert!(!text.contains("password"), "{text}");
    let shop = &list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["project"]["name"] == "shop")
        .unwrap()["project"];
    assert_eq!(
        shop["db_url"],
        "postgres://app@db.example.com:6543/shop?sslmode=require"
    );

    // Renaming onto another project's name is refused and touches no password.
    let e = invoke(&t, "update_project", json!({ "name": "shop", "changes": { "name": "blog", "connection": null, "tls": null, "password": null, "backup_dir": null } })).unwrap_err();
    assert_eq!(e["code"], "already_exists", "{e}");
    assert_eq!(
        t.secrets
            .get(&project_password_key("blog"))
            .unwrap()
            .as_deref(),
        Some("another-secret")
    );

    // Rename: the password moves along; remove: it goes.
    let renamed = invoke(&t, "update_project", json!({ "name": "shop", "changes": { "name": "store", "connection": null, "tls": null, "password": null, "backup_dir": null } })).unwrap();
    assert_eq!(renamed["project"]["name"], "store");
    assert_eq!(
        t.secrets
            .get(&project_password_key("store"))
            .unwrap()
            .as_deref(),
        Some(secret)
    );
    assert_eq!(t.secrets.get(&project_password_key("shop")).unwrap(), None);
    // What the Backups tab and the remove dialog ask: no safety backups, no keys yet.
    assert_eq!(
        invoke(&t, "list_safety_backups", json!({ "project": "blog" })).unwrap(),
        json!([])
    );
    assert_eq!(invoke(&t, "list_keys", json!({})).unwrap(), json!([]));
    invoke(
        &t,
        "remove_project",
        json!({ "name": "store", "typedName": null, "deleteKey": false }),
    )
    .unwrap();
    assert_eq!(t.secrets.get(&project_password_key("store")).unwrap(), None);
    assert_eq!(
        invoke(&t, "list_projects", json!({}))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn engine_errors_arrive_as_code_message_hint() {
    let t = test_app();
    let e = invoke(&t, "get_project", json!({ "name": "nope" })).unwrap_err();
    assert_eq!(e["code"], "not_found", "{e}");
    assert!(e["message"].as_str().unwrap().contains("nope"), "{e}");
    assert!(e["hint"].is_string(), "{e}");
    assert_eq!(e["retryable"], false);

    let e = invoke(&t, "add_project", json!({ "request": {
        "name": "x", "connection": { "url": "mysql://x@y/z" }, "tls": null, "password": "pw", "backup_dir": null,
    }}))
    .unwrap_err();
    assert_eq!(e["code"], "invalid_input", "{e}");
    assert!(!e.to_string().contains("\"pw\""), "{e}");
}

#[test]
fn a_job_id_comes_back_at_once_and_job_finished_follows() {
    let t = test_app();
    let (tx, rx) = mpsc::channel::<Value>();
    t.webview.listen_any("job-finished", move |event| {
        tx.send(serde_json::from_str(event.payload()).unwrap())
            .unwrap();
    });
    let missing = t.data_dir.path().join("missing.tar.gz");
    let job_id = invoke(
        &t,
        "start_verify",
        json!({ "path": missing.display().to_string() }),
    )
    .unwrap();
    let job_id = job_id.as_str().unwrap().to_string();
    assert!(!job_id.is_empty());
    let finished = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(finished["job_id"], json!(job_id));
    assert_eq!(finished["kind"], "verify");
    assert_eq!(finished["ok"], false);
    assert_eq!(finished["error"]["code"], "not_found", "{finished}");
    // The engine recorded the job under the same id.
    let jobs = invoke(&t, "list_jobs", json!({ "project": null, "limit": null })).unwrap();
    assert_eq!(jobs[0]["id"], json!(job_id), "{jobs}");
    assert_eq!(jobs[0]["state"], "failed");
    // It is no longer running: cancelling it is a no-op.
    assert_eq!(
        invoke(&t, "cancel_job", json!({ "jobId": job_id })).unwrap(),
        json!(false)
    );
}

#[test]
fn finished_hooks_see_the_job_with_its_project_and_how_long_it_took() {
    let t = test_app();
    let (tx, rx) = mpsc::channel::<JobDone>();
    let tx = std::sync::Mutex::new(tx);
    t._app
        .state::<JobRegistry>()
        .on_finished(move |done| tx.lock().unwrap().send(done.clone()).unwrap());
    let job_id = invoke(&t, "start_backup", json!({ "project": "nope" })).unwrap();
    let done = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(json!(done.finished.job_id), job_id);
    assert!(!done.finished.ok);
    assert_eq!(done.subject.project.as_deref(), Some("nope"));
    let text = crate::notify::job_text(&done);
    assert_eq!(text.title, "Backup of nope failed");
    assert!(text.body.contains("nope"), "{}", text.body);
    assert_eq!(text.project.as_deref(), Some("nope"));
}

#[test]
fn desktop_settings_have_defaults_are_checked_and_saved() {
    let t = test_app();
    let got = invoke(&t, "get_desktop_settings", json!({})).unwrap();
    assert_eq!(
        got,
        json!({
            "notifications": true, "start_minimised": false, "theme": "system",
            "schedule_notifications": "always", "schedule_concurrency": 1,
            "default_backup_dir": null, "pg_bin": null,
            "check_for_updates": true
        })
    );
    // Starting at login: not available in the mock runtime (no plugin), said clearly.
    assert_eq!(
        invoke(&t, "get_autostart", json!({})).unwrap(),
        json!(false)
    );
    let e = invoke(&t, "set_autostart", json!({ "on": true })).unwrap_err();
    assert!(
        e["message"].as_str().unwrap().contains("not available"),
        "{e}"
    );
    let folder = t.data_dir.path().join("copies");
    let wanted = json!({
        "notifications": false, "start_minimised": true, "theme": "dark",
        "schedule_notifications": "failures", "schedule_concurrency": 2,
        "default_backup_dir": folder.display().to_string(), "pg_bin": null,
        "check_for_updates": false
    });
    let saved = invoke(&t, "set_desktop_settings", json!({ "settings": wanted })).unwrap();
    assert_eq!(saved, wanted);
    assert_eq!(
        invoke(&t, "get_desktop_settings", json!({})).unwrap(),
        wanted
    );
    assert!(folder.is_dir());

    // A pg_dump folder without pg_dump: an error with a code, and nothing is saved.
    let mut bad = wanted.clone();
    bad["pg_bin"] = json!(t.data_dir.path().display().to_string());
    bad["theme"] = json!("light");
    let e = invoke(&t, "set_desktop_settings", json!({ "settings": bad })).unwrap_err();
    assert_eq!(e["code"], "tool_missing", "{e}");
    assert!(e["hint"].is_string());
    assert_eq!(
        invoke(&t, "get_desktop_settings", json!({})).unwrap(),
        wanted
    );
}

/// "Stale after N days" is gone (the engine's health rules decide what is overdue): a value an
/// older version saved is harmless, and a UI that still sends the field is not refused.
#[test]
fn an_old_stale_after_days_setting_is_harmless() {
    let t = test_app();
    let folder = t.data_dir.path().join("copies");
    let current = json!({
        "notifications": true, "start_minimised": false, "theme": "dark",
        "schedule_notifications": "always", "schedule_concurrency": 1,
        "default_backup_dir": folder.display().to_string(), "pg_bin": null,
        "check_for_updates": true
    });
    // What an older window sent: the same with the old field (even one it would now refuse).
    let mut old = current.clone();
    old["stale_after_days"] = json!(0);
    assert_eq!(
        invoke(&t, "set_desktop_settings", json!({ "settings": old })).unwrap(),
        current
    );
    assert_eq!(
        invoke(&t, "get_desktop_settings", json!({})).unwrap(),
        current
    );
    assert!(invoke(&t, "get_desktop_settings", json!({}))
        .unwrap()
        .get("stale_after_days")
        .is_none());
}

#[test]
fn detect_tools_lists_pairs_with_versions() {
    let t = test_app();
    let report = invoke(&t, "detect_tools", json!({})).unwrap();
    assert_eq!(report["configured"], Value::Null);
    let found = report["found"].as_array().unwrap();
    // CI installs PostgreSQL's client tools; each entry has its folder and version.
    assert!(!found.is_empty(), "{report}");
    for tool in found {
        assert!(
            tool["dir"].is_string() && tool["major"].as_u64().unwrap() >= 9,
            "{tool}"
        );
        assert!(
            tool["version_line"].as_str().unwrap().contains("pg_dump"),
            "{tool}"
        );
    }
}

#[test]
fn backup_actions_take_ids_and_say_when_they_are_unknown() {
    let t = test_app();
    for (cmd, args) in [
        (
            "delete_backup",
            json!({ "backupId": "nope", "deleteFile": true, "everywhere": false }),
        ),
        ("show_in_folder", json!({ "backupId": "nope" })),
    ] {
        let e = invoke(&t, cmd, args).unwrap_err();
        assert_eq!(e["code"], "not_found", "{cmd}: {e}");
    }
    // A path is not an id: the UI cannot make the app open or delete arbitrary files.
    let e = invoke(&t, "show_in_folder", json!({ "backupId": "/etc" })).unwrap_err();
    assert_eq!(e["code"], "not_found", "{e}");
    let e = invoke(&t, "show_in_folder", json!({ "path": "/etc" })).unwrap_err();
    assert!(e.to_string().contains("backupId"), "{e}");
    // reveal_file takes a path, but only one of Offsite's backup files: any other file, a
    // folder or a relative path is refused before a file manager opens; a gone one is not found.
    for path in ["/etc/hosts", "/etc", "relative.tar.gz", ""] {
        let e = invoke(&t, "reveal_file", json!({ "path": path })).unwrap_err();
        assert_eq!(e["code"], "invalid_input", "{path}: {e}");
    }
    let e = invoke(
        &t,
        "reveal_file",
        json!({ "path": "/no/such/backup.tar.gz" }),
    )
    .unwrap_err();
    assert_eq!(e["code"], "not_found", "{e}");
}

#[test]
fn pick_path_answers_from_the_test_variable_without_a_dialog() {
    let t = test_app();
    // No other test reads or writes this variable.
    std::env::set_var(commands::PICK_ANSWER_ENV, "/tmp/some backup.tar.gz");
    let got = invoke(
        &t,
        "pick_path",
        json!({ "kind": "import_file", "title": null }),
    );
    std::env::remove_var(commands::PICK_ANSWER_ENV);
    assert_eq!(got.unwrap(), json!("/tmp/some backup.tar.gz"));
}

/// Every command the app registers is granted to the window in the capability file (and listed
/// in build.rs, or the capability would not resolve): a new command cannot be forgotten, and
/// nothing else is granted.
#[test]
fn capabilities_grant_exactly_the_apps_commands_and_event_listening() {
    let bindings = bindings_source().unwrap();
    let mut commands: Vec<String> = bindings
        .split("TAURI_INVOKE(\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().replace('_', "-"))
        .map(|c| format!("allow-{c}"))
        .collect();
    commands.sort();
    commands.dedup();
    assert!(commands.len() >= 20, "{commands:?}");
    let capability: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src-tauri/capabilities/default.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut granted: Vec<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    granted.sort();
    let mut expected = commands.clone();
    expected.extend([
        "core:event:allow-listen".into(),
        "core:event:allow-unlisten".into(),
    ]);
    expected.sort();
    assert_eq!(granted, expected);
    assert_eq!(capability["windows"], json!(["main"]));
    assert_eq!(capability["local"], json!(true));
    assert!(capability.get("remote").is_none());
}

/// The committed `ui/src/bindings.ts` must be what the commands and events generate now.
/// `OFFSITE_UPDATE_BINDINGS=1 cargo test -p offsite-desktop bindings` rewrites it.
#[test]
fn bindings_are_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings.ts");
    let fresh = bindings_source().unwrap();
    if std::env::var_os("OFFSITE_UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "ui/src/bindings.ts is stale: run `OFFSITE_UPDATE_BINDINGS=1 cargo test -p offsite-desktop bindings` and commit it"
    );
}

/// Wait for the `job-finished` of `job_id`, collecting its `job-progress` events on the way.
/// The `job-progress` and `job-finished` events the window receives, as (name, payload).
fn job_events(t: &TestApp) -> mpsc::Receiver<(String, Value)> {
    let (tx, rx) = mpsc::channel::<(String, Value)>();
    for name in ["job-progress", "job-finished"] {
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

fn wait_for_job(events: &mpsc::Receiver<(String, Value)>, job_id: &str) -> (Vec<Value>, Value) {
    let mut progress = Vec::new();
    loop {
        let (name, payload) = events
            .recv_timeout(Duration::from_secs(120))
            .expect("job events");
        if payload["job_id"] != json!(job_id) {
            continue;
        }
        match name.as_str() {
            "job-progress" => progress.push(payload),
            _ => return (progress, payload),
        }
    }
}

/// Backup, verify and restore planning against a real PostgreSQL cluster, through IPC and the
/// job events the UI listens to.
#[test]
fn backup_and_verify_jobs_report_progress_and_results_over_events() {
    let pg = offsite_testkit::TestCluster::shared();
    let db = pg.unique_db("desk");
    pg.psql(&db, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g;");
    let t = test_app();
    let rx = job_events(&t);
    invoke(
        &t,
        "add_project",
        json!({ "request": { "name": "live", "connection": { "url": pg.url_with_password(&db) }, "tls": "disable", "password": null, "backup_dir": null } }),
    )
    .unwrap();
    let report = invoke(
        &t,
        "test_connection",
        json!({ "name": "live", "connection": null, "tls": null, "password": null }),
    )
    .unwrap();
    assert_eq!(report["can_dump"], true, "{report}");

    let job_id = invoke(&t, "start_backup", json!({ "project": "live" })).unwrap();
    let job_id = job_id.as_str().unwrap();
    let (progress, finished) = wait_for_job(&rx, job_id);
    assert_eq!(finished["ok"], true, "{finished}");
    assert_eq!(finished["kind"], "backup");
    assert_eq!(finished["result"]["kind"], "backup");
    let backup = &finished["result"]["backup"];
    assert!(backup["size"].as_u64().unwrap() > 0, "{backup}");
    assert!(!progress.is_empty());
    assert_eq!(progress.last().unwrap()["finished"], true, "{progress:?}");
    assert_eq!(progress.last().unwrap()["phase"], "done");

    let summary = invoke(&t, "get_project", json!({ "name": "live" })).unwrap();
    assert_eq!(summary["last_backup"]["id"], backup["id"], "{summary}");
    assert_eq!(summary["backup_count"], 1);
    let backups = invoke(&t, "list_backups", json!({ "project": "live" })).unwrap();
    assert_eq!(backups.as_array().unwrap().len(), 1);

    let path = backup["path"].as_str().unwrap();
    let manifest = invoke(&t, "inspect_archive", json!({ "path": path })).unwrap();
    assert_eq!(manifest["project"], "live");
    assert!(
        manifest["tables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["table"] == "t" && c["rows"] == 2000),
        "{manifest}"
    );

    let verify_id = invoke(&t, "start_verify", json!({ "path": path })).unwrap();
    let (_, verified) = wait_for_job(&rx, verify_id.as_str().unwrap());
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(verified["result"]["report"]["ok"], true, "{verified}");
    assert_eq!(verified["result"]["backup_id"], backup["id"]);

    // The plan for an empty database, given as an unsaved connection with its password.
    let empty = pg.unique_db("desk_target");
    let plan = invoke(
        &t,
        "plan_restore",
        json!({ "request": {
            "archive": path,
            "database": {
                "to": { "connection": { "connection": { "url": pg.url(&empty) }, "tls": "disable", "password": pg.superuser_password() } },
                "options": { "replace": false, "no_safety_backup": false, "create_roles": false, "no_owner": false },
            },
            "storage": null,
            "config": null,
        } }),
    )
    .unwrap();
    assert_eq!(plan["database"]["target_empty"], true, "{plan}");
    assert!(
        plan["database"]["will_create"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x.as_str().unwrap().contains("t")),
        "{plan}"
    );
    assert!(
        !plan.to_string().contains(pg.superuser_password()),
        "{plan}"
    );

    // The jobs, as the catalog recorded them under the ids the UI was given.
    let jobs = invoke(&t, "list_jobs", json!({ "project": "live", "limit": 10 })).unwrap();
    let ids: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&job_id) && ids.contains(&verify_id.as_str().unwrap()),
        "{jobs}"
    );
}

/// Cancelling a running backup through IPC: `cancel_job` → `job-finished` with code `cancelled`.
#[test]
fn cancel_job_stops_a_running_backup() {
    let pg = offsite_testkit::TestCluster::shared();
    let db = pg.unique_db("desk_cancel");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100);",
    );
    // A session holding an exclusive lock on `t` makes pg_dump wait: the backup is mid-way.
    let mut lock = pg
        .command(pg.bin("psql"))
        .args([
            "-X",
            "-d",
            &db,
            "-c",
            "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120);",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let waiting = |sql: &str| {
        for _ in 0..400 {
            if pg.psql(&db, sql) != "0" {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("timed out: {sql}");
    };
    waiting("SELECT count(*) FROM pg_locks WHERE relation = 't'::regclass AND mode = 'AccessExclusiveLock' AND granted");

    let t = test_app();
    let rx = job_events(&t);
    invoke(
        &t,
        "add_project",
        json!({ "request": { "name": "slow", "connection": { "url": pg.url_with_password(&db) }, "tls": "disable", "password": null, "backup_dir": null } }),
    )
    .unwrap();
    let job_id = invoke(&t, "start_backup", json!({ "project": "slow" })).unwrap();
    let job_id = job_id.as_str().unwrap();
    waiting(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND application_name = 'offsite' AND wait_event_type = 'Lock'"
    ));

    assert_eq!(
        invoke(&t, "cancel_job", json!({ "jobId": job_id })).unwrap(),
        json!(true)
    );
    let (_, finished) = wait_for_job(&rx, job_id);
    let _ = lock.kill();
    let _ = lock.wait();
    assert_eq!(finished["ok"], false, "{finished}");
    assert_eq!(finished["error"]["code"], "cancelled", "{finished}");
    let jobs = invoke(&t, "list_jobs", json!({ "project": "slow", "limit": null })).unwrap();
    assert_eq!(jobs[0]["id"], json!(job_id));
    assert_eq!(jobs[0]["state"], "cancelled", "{jobs}");
    assert_eq!(
        invoke(&t, "list_backups", json!({ "project": "slow" })).unwrap(),
        json!([])
    );
}

/// Import through IPC: `inspect_import` recognises a real `pg_dump -Fc` file and refuses a text
/// file with `unsupported_format`; `start_import` into a new project ends with `job-finished`
/// carrying the registered backup.
#[test]
fn inspect_import_and_start_import_over_ipc() {
    let pg = offsite_testkit::TestCluster::shared();
    let db = pg.unique_db("desk_import");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 50);",
    );
    let t = test_app();
    let dump = t.data_dir.path().join("plain.dump");
    let out = pg
        .command("pg_dump")
        .args(pg.conn_args())
        .args(["-Fc", "-f"])
        .arg(&dump)
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = t.data_dir.path().join("notes.txt");
    std::fs::write(&text, "not a backup\n").unwrap();

    let e = invoke(
        &t,
        "inspect_import",
        json!({ "path": text.display().to_string() }),
    )
    .unwrap_err();
    assert_eq!(e["code"], "unsupported_format", "{e}");
    assert!(e["hint"].as_str().is_some(), "{e}");

    let preview = invoke(
        &t,
        "inspect_import",
        json!({ "path": dump.display().to_string() }),
    )
    .unwrap();
    assert_eq!(preview["kind"], "pg_dump", "{preview}");
    assert_eq!(preview["dump"]["database"], json!(db), "{preview}");
    assert_eq!(preview["rows_recorded"], false);

    let rx = job_events(&t);
    let job_id = invoke(
        &t,
        "start_import",
        json!({
            "path": dump.display().to_string(),
            "into": { "new_project": { "name": "imported", "connection": { "url": pg.url(&db) }, "tls": "disable", "password": pg.superuser_password(), "backup_dir": null } },
            "verify": true,
        }),
    )
    .unwrap();
    let (progress, finished) = wait_for_job(&rx, job_id.as_str().unwrap());
    assert_eq!(finished["ok"], true, "{finished}");
    assert_eq!(finished["kind"], "import");
    // The result is the registered backup, in the project created for the import.
    assert_eq!(finished["result"]["kind"], "import");
    assert_eq!(finished["result"]["project"], "imported");
    assert_eq!(finished["result"]["created_project"], true);
    assert_eq!(finished["result"]["backup"]["status"], "verified");
    let summary = invoke(&t, "get_project", json!({ "name": "imported" })).unwrap();
    assert_eq!(
        summary["project"]["id"], finished["result"]["backup"]["project_id"],
        "{summary}"
    );
    assert!(!finished.to_string().contains(pg.superuser_password()));
    assert_eq!(progress.last().unwrap()["finished"], true, "{progress:?}");
    let backups = invoke(&t, "list_backups", json!({ "project": "imported" })).unwrap();
    assert_eq!(backups.as_array().unwrap().len(), 1, "{backups}");
}

/// A change made by another process (here: a second engine on the same data folder, as the
/// `offsite` command line would be) reaches the window as a `catalog-changed` event naming it.
#[test]
fn changes_made_elsewhere_reach_the_window_as_catalog_changed_events() {
    let t = test_app();
    let (tx, rx) = mpsc::channel::<Value>();
    t.webview.listen_any("catalog-changed", move |event| {
        let _ = tx.send(serde_json::from_str(event.payload()).unwrap());
    });
    // No waiting: the watcher read the feed's end while the app was built.
    let other = tauri::async_runtime::block_on(Engine::open(
        EngineConfig::new(Arc::new(MemoryStore::new())).data_dir(t.data_dir.path().to_path_buf()),
    ))
    .unwrap();
    let added = tauri::async_runtime::block_on(other.add_project(offsite_core::AddProject::url(
        "elsewhere",
        "postgres://postgres@db.example.com:5432/postgres",
    )))
    .unwrap();
    // The watcher polls every 0.5 s; under a loaded CI machine (every test of the workspace at
    // once on two cores) it was seen to need more than 10 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        let Ok(event) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        assert_eq!(event["reload_all"], json!(false));
        seen.extend(event["changes"].as_array().unwrap().clone());
        if seen.iter().any(|c| c["id"] == json!(added.id)) {
            break;
        }
    }
    let change = seen
        .iter()
        .find(|c| c["id"] == json!(added.id))
        .unwrap_or_else(|| panic!("no catalog-changed event named the new project: {seen:?}"));
    assert_eq!(change["entity"], json!("project"));
    assert_eq!(change["op"], json!("upsert"));
    assert_eq!(change["project_id"], json!(added.id));
    assert!(change["seq"].as_i64().unwrap() > 0);
}

fn add_shop(t: &TestApp) {
    invoke(
        t,
        "add_project",
        json!({ "request": {
            "name": "shop",
            "connection": { "url": "postgres://app@db.example.com:5432/shop" },
            "tls": null, "password": "pw", "backup_dir": null, "skip_test": true,
        }}),
    )
    .unwrap();
}

#[test]
fn schedules_set_list_preview_pause_and_clear_over_ipc() {
    let t = test_app();
    add_shop(&t);
    assert_eq!(
        invoke(&t, "list_schedules", json!({ "project": "shop" })).unwrap(),
        json!([])
    );

    // A preview saves nothing.
    let preview = invoke(
        &t,
        "preview_schedule",
        json!({ "when": { "kind": "weekly", "days": ["mon", "thu"], "time": "02:30" }, "timeZone": "UTC" }),
    )
    .unwrap();
    assert_eq!(preview["spec"], "weekly mon,thu 02:30");
    // The spec comes back typed, as the engine read it (the window parses no text).
    assert_eq!(
        preview["when"],
        json!({ "kind": "weekly", "days": ["mon", "thu"], "time": "02:30" })
    );
    assert_eq!(preview["time_zone"], "UTC");
    let runs = preview["next_runs"].as_array().unwrap();
    assert_eq!(runs.len(), 5, "{preview}");
    assert!(runs
        .iter()
        .all(|r| r.as_str().unwrap().ends_with("T02:30:00.000Z")));
    assert_eq!(
        invoke(&t, "list_schedules", json!({ "project": "shop" })).unwrap(),
        json!([])
    );

    // Bad input: a clear error with a hint, and nothing saved.
    for bad in [
        json!({ "kind": "daily", "time": "25:00" }),
        json!({ "kind": "cron", "expr": "0 3 * *" }),
        json!({ "kind": "every", "hours": 0 }),
        json!({ "kind": "weekly", "days": [], "time": "02:30" }),
        json!({ "kind": "monthly", "day": 32, "time": "02:30" }),
    ] {
        let e = invoke(
            &t,
            "preview_schedule",
            json!({ "when": bad, "timeZone": null }),
        )
        .unwrap_err();
        assert_eq!(e["code"], "invalid_input", "{bad}: {e}");
        assert!(e["hint"].is_string(), "{e}");
        let e = invoke(
            &t,
            "set_schedule",
            json!({ "project": "shop", "kind": "backup", "when": bad, "paused": false, "verifyNewest": null, "timeZone": null }),
        )
        .unwrap_err();
        assert_eq!(e["code"], "invalid_input", "{e}");
    }
    assert_eq!(
        invoke(&t, "list_schedules", json!({ "project": null })).unwrap(),
        json!([])
    );

    let set = invoke(
        &t,
        "set_schedule",
        json!({ "project": "shop", "kind": "backup", "when": { "kind": "daily", "time": "02:30" },
                "paused": false, "verifyNewest": null, "timeZone": "Europe/Berlin" }),
    )
    .unwrap();
    assert_eq!(set["spec"], "daily 02:30");
    assert_eq!(set["kind"], "backup");
    assert_eq!(set["time_zone"], "Europe/Berlin");
    assert_eq!(set["paused"], false);
    assert_eq!(set["next_runs"].as_array().unwrap().len(), 5);
    let verify = invoke(
        &t,
        "set_schedule",
        json!({ "project": "shop", "kind": "verify", "when": { "kind": "monthly", "day": 1, "time": "04:00" },
                "paused": true, "verifyNewest": 3, "timeZone": "UTC" }),
    )
    .unwrap();
    assert_eq!(verify["paused"], true);
    assert_eq!(verify["verify_newest"], 3);

    let listed = invoke(&t, "list_schedules", json!({ "project": "shop" })).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let backup = listed.iter().find(|s| s["kind"] == "backup").unwrap();
    assert_eq!(backup["spec"], "daily 02:30");
    assert_eq!(backup["when"], json!({ "kind": "daily", "time": "02:30" }));
    let verify = listed.iter().find(|s| s["kind"] == "verify").unwrap();
    assert_eq!(verify["spec"], "monthly 1 04:00");
    assert_eq!(
        verify["when"],
        json!({ "kind": "monthly", "day": 1, "time": "04:00" })
    );
    assert_eq!(verify["paused"], true);

    // The home screen's status: the next run of the backup schedule, not overdue yet.
    let status = invoke(&t, "project_status", json!({})).unwrap();
    assert_eq!(status[0]["name"], "shop");
    assert_eq!(status[0]["schedule"], "daily 02:30");
    assert_eq!(status[0]["next_run"], backup["next_runs"][0]);
    assert_eq!(status[0]["overdue"], false);
    invoke(
        &t,
        "pause_schedule",
        json!({ "project": "shop", "kind": "backup", "paused": true }),
    )
    .unwrap();
    let status = invoke(&t, "project_status", json!({})).unwrap();
    assert_eq!(status[0]["paused"], true);
    assert_eq!(status[0]["next_run"], Value::Null);

    assert_eq!(
        invoke(
            &t,
            "clear_schedule",
            json!({ "project": "shop", "kind": "backup" })
        )
        .unwrap(),
        json!(true)
    );
    assert_eq!(
        invoke(
            &t,
            "clear_schedule",
            json!({ "project": "shop", "kind": "backup" })
        )
        .unwrap(),
        json!(false)
    );
    let listed = invoke(&t, "list_schedules", json!({ "project": "shop" })).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let e = invoke(&t, "list_schedules", json!({ "project": "nope" })).unwrap_err();
    assert_eq!(e["code"], "not_found");
}

#[test]
fn retention_get_set_and_preview_over_ipc() {
    let t = test_app();
    add_shop(&t);
    // A new project keeps the recommended policy, saved with it.
    let first = invoke(&t, "get_retention", json!({ "project": "shop" })).unwrap();
    assert_eq!(
        first["rules"],
        "keep-daily 7, keep-weekly 4, keep-monthly 12"
    );

    let set = invoke(
        &t,
        "set_retention",
        json!({ "project": "shop", "policy": { "keep_last": 3, "keep_daily": 7, "keep_within": "30d" }, "timeZone": "UTC" }),
    )
    .unwrap();
    assert_eq!(set["rules"], "keep-last 3, keep-daily 7, keep-within 30d");
    assert_eq!(set["policy"]["keep_within"], "30d");
    assert_eq!(set["time_zone"], "UTC");
    let got = invoke(&t, "get_retention", json!({ "project": "shop" })).unwrap();
    assert_eq!(got["policy"], set["policy"]);

    let e = invoke(
        &t,
        "set_retention",
        json!({ "project": "shop", "policy": { "keep_last": 0 }, "timeZone": null }),
    )
    .unwrap_err();
    assert_eq!(e["code"], "invalid_input", "{e}");
    assert!(e["hint"].is_string());
    let e = invoke(
        &t,
        "set_retention",
        json!({ "project": "shop", "policy": { "keep_within": "3 fortnights" }, "timeZone": null }),
    )
    .unwrap_err();
    assert!(e.to_string().contains("duration"), "{e}");
    // Unchanged by the refused ones.
    let got = invoke(&t, "get_retention", json!({ "project": "shop" })).unwrap();
    assert_eq!(got["rules"], "keep-last 3, keep-daily 7, keep-within 30d");

    let preview = invoke(&t, "preview_prune", json!({ "project": "shop" })).unwrap();
    assert_eq!(preview["dry_run"], true);
    assert_eq!(preview["kept"], json!([]));
    assert_eq!(preview["removed"], json!([]));
    let applied = invoke(&t, "apply_retention", json!({ "project": "shop" })).unwrap();
    assert_eq!(applied["dry_run"], false);
}

#[test]
fn job_history_filters_by_project_kind_trigger_and_state() {
    use offsite_core::catalog::{JobKind, JobOutcome};
    let t = test_app();
    add_shop(&t);
    let engine = t._app.state::<Shell>().engine().unwrap().clone();
    let shop = tauri::async_runtime::block_on(engine.project("shop")).unwrap();
    let catalog = engine.catalog();
    let record = |id: &str, kind, project: Option<&str>, trigger: &str, ok: bool| {
        tauri::async_runtime::block_on(async {
            catalog
                .start_job_triggered(id, kind, project, trigger.parse().unwrap())
                .await
                .unwrap();
            let outcome = if ok {
                JobOutcome::Succeeded { backup_id: None }
            } else {
                JobOutcome::Failed {
                    code: "connection".into(),
                    message: "refused".into(),
                    hint: None,
                    detail: None,
                }
            };
            catalog.finish_job(id, outcome).await.unwrap();
        })
    };
    record("j1", JobKind::Backup, Some(&shop.id), "schedule", true);
    record("j2", JobKind::Backup, Some(&shop.id), "manual", false);
    record("j3", JobKind::Verify, Some(&shop.id), "schedule", true);
    record("j4", JobKind::Restore, None, "cli", true);
    let ids = |filter: Value| -> Vec<String> {
        let mut v: Vec<String> = invoke(&t, "job_history", json!({ "filter": filter }))
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(json!({})), ["j1", "j2", "j3", "j4"]);
    assert_eq!(ids(json!({ "project": "shop" })), ["j1", "j2", "j3"]);
    assert_eq!(ids(json!({ "kind": "backup" })), ["j1", "j2"]);
    assert_eq!(ids(json!({ "trigger": "schedule" })), ["j1", "j3"]);
    assert_eq!(ids(json!({ "state": "failed" })), ["j2"]);
    assert_eq!(
        ids(
            json!({ "project": "shop", "kind": "backup", "trigger": "schedule", "state": "succeeded" })
        ),
        ["j1"]
    );
    assert_eq!(ids(json!({ "limit": 2 })).len(), 2);
    let e = invoke(
        &t,
        "job_history",
        json!({ "filter": { "project": "nope" } }),
    )
    .unwrap_err();
    assert_eq!(e["code"], "not_found");
    assert!(invoke(&t, "job_history", json!({ "filter": { "kind": "dance" } })).is_err());
}

mod components;
mod drill_settings;
mod pitr_at;
mod projects_add;
mod recover;
mod settings;
mod updates;
mod verify;

mod artifacts;
mod job_steps;
mod scheduled_jobs;
