//! The commands through Tauri's mock runtime (real IPC: argument parsing, state, serialization),
//! on a temporary data folder with an in-memory secret store; and the bindings' freshness.

use super::*;
use offsite_core::secrets::{project_password_key, MemoryStore, SecretStore};
use serde_json::{json, Value};
use std::sync::mpsc;
use std::time::Duration;
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{Listener, WebviewWindow};

struct TestApp {
    _app: tauri::App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    secrets: Arc<MemoryStore>,
    data_dir: tempfile::TempDir,
}

fn test_app() -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let engine = tauri::async_runtime::block_on(Engine::open(EngineConfig {
        data_dir: Some(data_dir.path().to_path_buf()),
        secrets: secrets.clone(),
        pg_bin: None,
    }))
    .unwrap();
    let app = build_app(
        mock_builder(),
        specta_builder!(MockRuntime),
        Ok(engine),
        mock_context(noop_assets()),
    )
    .unwrap();
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
    invoke(&t, "remove_project", json!({ "name": "store" })).unwrap();
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
