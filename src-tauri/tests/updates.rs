//! Signed updates against an update server on 127.0.0.1: the manifest is the one a release
//! publishes, signed by the tauri CLI with a throwaway key; the real tauri.conf.json updater
//! settings with that key. The offer reaches the app (version, notes); the package is verified
//! by the plugin's own `download` (never installed: the running binary stays); a bad signature,
//! a tampered package and a signature of another version are refused; "off" means no request.

use super::*;
use crate::updates::{self, UpdateSource, Updates};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

const PASSWORD: &str = "throwaway-test-password";

/// The tauri CLI of the UI's development dependencies (what signs a release).
fn tauri_cli() -> PathBuf {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/node_modules/.bin/tauri");
    assert!(
        cli.exists(),
        "{} is missing: run `npm --prefix ui ci` first",
        cli.display()
    );
    cli
}

fn cli(args: &[&str], path: &Path) -> String {
    let out = Command::new(tauri_cli())
        .args(args)
        .arg(path)
        .env_remove("TAURI_SIGNING_PRIVATE_KEY")
        .env_remove("TAURI_SIGNING_PRIVATE_KEY_PATH")
        .env_remove("TAURI_SIGNING_PRIVATE_KEY_PASSWORD")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "tauri {args:?}: {text}");
    text
}

/// A new key pair (`tauri signer generate`): the private key's file and the public key as
/// tauri.conf.json holds it.
fn generate_key(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    cli(&["signer", "generate", "--ci", "-p", PASSWORD, "-w"], &key);
    let public = std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap();
    (key, public.trim().to_string())
}

/// `tauri signer sign` of `file` for `version`: the signature as a manifest carries it.
fn sign(key: &Path, file: &Path, version: &str) -> String {
    let key = key.display().to_string();
    cli(
        &[
            "signer",
            "sign",
            "-f",
            &key,
            "-p",
            PASSWORD,
            "--app-version",
            version,
        ],
        file,
    );
    let sig = std::fs::read_to_string(format!("{}.sig", file.display())).unwrap();
    sig.trim().to_string()
}

/// Path → body.
type Routes = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An HTTP server on 127.0.0.1 answering GETs from a fixed table (404 otherwise); it records the
/// paths asked for.
struct Server {
    base: String,
    routes: Routes,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: Routes = Arc::default();
        let asked: Arc<Mutex<Vec<String>>> = Arc::default();
        let (r, a) = (routes.clone(), asked.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split(' ').nth(1).unwrap_or("").to_string();
                a.lock().unwrap().push(path.clone());
                let body = r.lock().unwrap().iter().find(|(p, _)| *p == path).cloned();
                let (status, body) = match body {
                    Some((_, b)) => ("200 OK", b),
                    None => ("404 Not Found", Vec::new()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            }
        });
        Server {
            base,
            routes,
            asked,
        }
    }

    fn route(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.routes
            .lock()
            .unwrap()
            .push((path.to_string(), body.into()));
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

/// A release manifest as a release publishes it (one platform entry: this machine's).
fn manifest(version: &str, url: &str, signature: &str) -> Vec<u8> {
    let platform = tauri_plugin_updater::target().unwrap();
    serde_json::to_vec(&json!({
        "version": version,
        "notes": "Restores are faster.\n\nThe CLI prints its version.",
        "pub_date": "2026-11-20T10:00:00Z",
        "platforms": { platform: { "url": url, "signature": signature } },
    }))
    .unwrap()
}

/// The app with the updater plugin configured as tauri.conf.json configures it, with `pubkey`
/// in place of the release key and the manifest at `endpoint` (the `OFFSITE_UPDATE_ENDPOINT`
/// override).
fn updater_app(pubkey: Option<&str>, endpoint: &str) -> TestApp {
    let conf: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tauri.conf.json"))
            .unwrap(),
    )
    .unwrap();
    let mut updater = conf["plugins"]["updater"].clone();
    assert_eq!(updater["requireSignedVersion"], json!(true), "{updater}");
    if let Some(key) = pubkey {
        updater["pubkey"] = json!(key);
    }
    let mut context = mock_context(noop_assets());
    context
        .config_mut()
        .plugins
        .0
        .insert("updater".into(), updater);
    let builder = mock_builder()
        .plugin(tauri_plugin_updater::Builder::new().build())
        .manage(Updates::new(UpdateSource {
            endpoint: Some(endpoint.parse().unwrap()),
            pubkey: None,
        }));
    test_app_with(builder, context)
}

struct Release {
    dir: tempfile::TempDir,
    key: PathBuf,
    pubkey: String,
    package: PathBuf,
}

fn release() -> Release {
    let dir = tempfile::tempdir().unwrap();
    let (key, pubkey) = generate_key(dir.path(), "release-key");
    let package = dir.path().join("offsite_9.9.9_amd64.AppImage.tar.gz");
    std::fs::write(&package, b"the signed bytes of Offsite 9.9.9").unwrap();
    Release {
        dir,
        key,
        pubkey,
        package,
    }
}

fn offered(t: &TestApp) -> tauri_plugin_updater::Update {
    t._app
        .state::<Updates>()
        .offered()
        .expect("an update is offered")
}

#[test]
fn a_signed_update_is_offered_and_its_package_verified() {
    let r = release();
    let server = Server::start();
    let signature = sign(&r.key, &r.package, "9.9.9");
    let pkg_url = format!("{}/pkg", server.base);
    server.route("/pkg", std::fs::read(&r.package).unwrap());
    server.route("/latest", manifest("9.9.9", &pkg_url, &signature));
    let t = updater_app(Some(&r.pubkey), &format!("{}/latest", server.base));

    let before = invoke(&t, "update_status", json!({})).unwrap();
    assert_eq!(before["state"], json!({ "kind": "idle" }));
    assert_eq!(before["check_for_updates"], json!(true));
    assert_eq!(before["last_check"], Value::Null);
    assert_eq!(before["current_version"], json!("0.1.0"));

    let status = invoke(&t, "check_for_update", json!({})).unwrap();
    assert_eq!(
        status["state"],
        json!({
            "kind": "available",
            "version": "9.9.9",
            "notes": "Restores are faster.\n\nThe CLI prints its version.",
            "date": "2026-11-20T10:00:00.000Z",
        }),
        "{status}"
    );
    assert!(status["last_check"].is_string(), "{status}");
    assert_eq!(server.asked(), ["/latest"]);

    // The plugin's download verifies the bytes against the key and the announced version.
    let bytes = tauri::async_runtime::block_on(updates::download_verified(&offered(&t))).unwrap();
    assert_eq!(bytes, std::fs::read(&r.package).unwrap());

    // The automatic check right after is not due (at most once a day): no request.
    let handle = t._app.handle().clone();
    tauri::async_runtime::block_on(updates::check(&handle, false)).unwrap();
    assert_eq!(server.asked(), ["/latest", "/pkg"]);
    drop(r.dir);
}

#[test]
fn bad_signatures_are_refused_on_download() {
    let r = release();
    let server = Server::start();
    let (other_key, _) = generate_key(r.dir.path(), "attacker-key");
    let bytes = std::fs::read(&r.package).unwrap();
    server.route("/pkg", bytes.clone());
    server.route("/tampered", [bytes.as_slice(), b"!"].concat());
    let cases = [
        (
            "another key",
            "/pkg",
            sign(&other_key, &r.package, "9.9.9"),
            "/1",
        ),
        (
            "tampered bytes",
            "/tampered",
            sign(&r.key, &r.package, "9.9.9"),
            "/2",
        ),
        // A genuine older release announced as a newer version (a downgrade attack).
        (
            "another version",
            "/pkg",
            sign(&r.key, &r.package, "0.0.9"),
            "/3",
        ),
    ];
    for (what, pkg, signature, at) in &cases {
        let url = format!("{}{pkg}", server.base);
        server.route(at, manifest("9.9.9", &url, signature));
        let t = updater_app(Some(&r.pubkey), &format!("{}{at}", server.base));
        let status = invoke(&t, "check_for_update", json!({})).unwrap();
        assert_eq!(status["state"]["kind"], "available", "{what}: {status}");
        let e = tauri::async_runtime::block_on(updates::download_verified(&offered(&t)))
            .expect_err(what);
        assert_eq!(e.kind(), offsite_core::ErrorKind::Integrity, "{what}: {e}");
        assert!(e.to_string().contains("signature"), "{what}: {e}");
        // "Install and restart" takes the same path: refused before anything is installed, and
        // the window is told which update failed and why.
        let status = invoke(&t, "install_update", json!({})).unwrap();
        assert_ne!(status["state"]["kind"], "failed", "{what}: {status}");
        let failed = wait_for(&t, |s| s["state"]["kind"] == "failed");
        assert_eq!(
            failed["state"]["error"]["code"], "integrity",
            "{what}: {failed}"
        );
        assert_eq!(failed["state"]["version"], "9.9.9", "{what}: {failed}");
    }
}

/// The update status once `done` says so (within 30 s).
fn wait_for(t: &TestApp, done: impl Fn(&Value) -> bool) -> Value {
    let until = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = invoke(t, "update_status", json!({})).unwrap();
        if done(&status) {
            return status;
        }
        assert!(std::time::Instant::now() < until, "still {status}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn without_a_release_key_nothing_is_asked_and_off_means_no_check() {
    let server = Server::start();
    server.route("/latest", manifest("9.9.9", "http://127.0.0.1:9/x", "x"));
    // The committed tauri.conf.json carries a placeholder, not a key: no request is made.
    let t = updater_app(None, &format!("{}/latest", server.base));
    let status = invoke(&t, "check_for_update", json!({})).unwrap();
    assert_eq!(status["state"], json!({ "kind": "not_configured" }));
    assert!(server.asked().is_empty(), "{:?}", server.asked());

    // Turned off in Settings: the automatic check asks nothing.
    let r = release();
    let t = updater_app(Some(&r.pubkey), &format!("{}/latest", server.base));
    let mut settings = invoke(&t, "get_desktop_settings", json!({})).unwrap();
    assert_eq!(settings["check_for_updates"], json!(true));
    settings["check_for_updates"] = json!(false);
    invoke(&t, "set_desktop_settings", json!({ "settings": settings })).unwrap();
    let handle = t._app.handle().clone();
    let status = tauri::async_runtime::block_on(updates::check(&handle, false)).unwrap();
    assert!(!status.check_for_updates);
    assert_eq!(status.state, updates::UpdateState::Idle);
    assert!(server.asked().is_empty(), "{:?}", server.asked());
}

#[test]
fn install_waits_while_a_job_runs() {
    let r = release();
    let server = Server::start();
    let signature = sign(&r.key, &r.package, "9.9.9");
    server.route("/pkg", std::fs::read(&r.package).unwrap());
    let url = format!("{}/pkg", server.base);
    server.route("/latest", manifest("9.9.9", &url, &signature));
    let t = updater_app(Some(&r.pubkey), &format!("{}/latest", server.base));
    invoke(&t, "check_for_update", json!({})).unwrap();
    let engine = t._app.state::<Shell>().engine().unwrap().clone();
    tauri::async_runtime::block_on(
        engine
            .catalog()
            .start_job(offsite_core::catalog::JobKind::Backup, None),
    )
    .unwrap();
    let status = invoke(&t, "install_update", json!({})).unwrap();
    assert_eq!(
        status["state"],
        json!({ "kind": "waiting_for_jobs", "version": "9.9.9", "running": 1 })
    );
    // Asked again: still waiting, one install under way.
    let again = invoke(&t, "install_update", json!({})).unwrap();
    assert_eq!(again["state"], status["state"]);
    // Nothing was downloaded (let alone installed) while the job runs.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.asked(), ["/latest"]);
}
