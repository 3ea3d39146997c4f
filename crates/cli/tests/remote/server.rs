//! The laptop side of a backup server, as two processes over HTTP(S): the real `offsite serve`
//! (with a throwaway PostgreSQL) and the `offsite` command line. Adding the server pins its
//! certificate's fingerprint; `backup --remote` ends with the agent's archive, byte for byte,
//! verified and registered; `pull` fetches only what is missing; a wrong token and a changed
//! certificate fail clearly with nothing registered and no `.part` left; a download cut by the
//! fault proxy resumes into the same bytes (the whole matrix of faults is in `faults.rs`).

use super::{
    assert_same_as_agents, backup_on_agent, database, free_port, json_of, plain, start_agent, walk,
    Laptop,
};
use offsite_testkit::http_proxy::{HttpFault, HttpFaultProxy};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn backup_server_trust_remote_backup_pull_wrong_token_and_changed_certificate() {
    let db = database(2_000);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let agent = start_agent(&db, &listen, false);
    let fp = agent.fingerprint.clone().unwrap();
    // As errors name it (the agent prints it with colons).
    let fp_plain = plain(&fp);
    let token = agent.token();
    let laptop = Laptop::new(&token);
    let db_url = TestCluster::shared().url(&db);
    let add = |extra: &[&str]| {
        let mut a = vec![
            "project",
            "add",
            "shop",
            "--db",
            db_url.as_str(),
            // The laptop never connects to the database itself: it pulls from the server.
            "--no-test",
            "--server",
            agent.url.as_str(),
            "--server-project",
            "shop",
        ];
        a.extend_from_slice(extra);
        laptop.run(&a)
    };

    // Not confirmed (no terminal to ask on): refused, the fingerprint shown, nothing added.
    let out = add(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains(&fp), "the fingerprint is shown: {stderr}");
    assert!(stderr.contains("--trust-fingerprint"), "{stderr}");
    let projects = laptop.json(&["project", "list"], 0);
    assert_eq!(
        projects["projects"].as_array().unwrap().len(),
        0,
        "{projects}"
    );
    // Another fingerprint than the server's: refused naming both.
    let other = format!("SHA256:{}", "ab".repeat(32));
    let out = add(&["--trust-fingerprint", &other]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&fp_plain) && stderr.contains(&other),
        "{stderr}"
    );
    // Confirmed: pinned.
    let out = add(&["--trust-fingerprint", &fp]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let comps = laptop.json(&["project", "components", "shop"], 0);
    let server = &comps["components"]["server"];
    assert_eq!(server["fingerprint"], fp_plain.as_str(), "{comps}");
    assert_eq!(server["project"], "shop");
    assert!(
        !comps.to_string().contains(&token),
        "the token is not in the catalog: {comps}"
    );

    // backup --remote: triggered, followed, downloaded, verified, registered.
    let done = laptop.json(&["backup", "shop", "--remote", "--type", "database"], 0);
    let path = PathBuf::from(done["path"].as_str().unwrap());
    assert!(path.is_file(), "{done}");
    assert!(path.starts_with(laptop.data.path()), "{done}");
    assert_same_as_agents(&agent, &path);
    let listed = laptop.backups();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["sha256"], done["sha256"]);
    assert_eq!(listed[0]["status"], "verified", "{listed:?}");
    let verify = laptop.run(&["verify", path.to_str().unwrap()]);
    assert!(verify.status.success());

    // Two more backups made on the server (by its schedule, say): pull fetches exactly those.
    let client = agent.client(&token);
    for _ in 0..2 {
        backup_on_agent(&client).await;
    }
    let pulled = laptop.json(&["pull", "shop"], 0);
    assert_eq!(
        pulled["downloaded"].as_array().unwrap().len(),
        2,
        "{pulled}"
    );
    assert_eq!(pulled["already_local"], 1, "{pulled}");
    for b in pulled["downloaded"].as_array().unwrap() {
        assert_same_as_agents(&agent, Path::new(b["path"].as_str().unwrap()));
        // The server's default backup is a parallel dump (format 2): pulled, it verifies.
        let path = b["path"].as_str().unwrap();
        let m = laptop.json(&["inspect", path], 0);
        assert_eq!(m["format_version"], 2, "{m}");
        assert!(laptop.run(&["verify", path]).status.success());
    }
    // One pull, one job: both downloads are registered by it.
    let by = pulled["downloaded"][0]["job_id"].clone();
    assert!(by.is_string(), "{pulled}");
    assert_eq!(pulled["downloaded"][1]["job_id"], by, "{pulled}");
    assert_eq!(laptop.backups().len(), 3);
    // Each came from the backup server: the one it made when asked, and the two pulled.
    for b in laptop.backups() {
        assert_eq!(b["origin"], "server", "{b}");
    }
    // Idempotent.
    let again = laptop.json(&["pull", "shop"], 0);
    assert_eq!(again["downloaded"].as_array().unwrap().len(), 0, "{again}");
    assert_eq!(again["already_local"], 3, "{again}");
    assert_eq!(laptop.backups().len(), 3);

    // A wrong token: a clear auth error, without the token; nothing registered or left.
    let (_, archives_before) = laptop.files();
    client.start_backup("DATABASE", &[], None).await.unwrap(); // something new to pull
    tokio::time::sleep(Duration::from_millis(200)).await;
    for args in [
        &["--json", "backup", "shop", "--remote"][..],
        &["--json", "pull", "shop"][..],
    ] {
        let out = laptop.run_with_token("not-the-token-4711", args);
        let v = json_of(&out, 3, args);
        assert_eq!(v["error"]["code"], "auth", "{v}");
        let all = format!("{v}{}", String::from_utf8_lossy(&out.stderr));
        assert!(!all.contains("not-the-token-4711"), "{all}");
        assert!(all.contains("token"), "the error says what to fix: {all}");
    }
    let (parts, archives_after) = laptop.files();
    assert!(parts.is_empty(), "{parts:?}");
    assert_eq!(archives_before, archives_after);
    assert_eq!(laptop.backups().len(), 3);

    // The same address now shows another certificate: refused naming both fingerprints.
    drop(client);
    drop(agent);
    let impostor = start_agent(&db, &listen, false);
    let new_fp = plain(impostor.fingerprint.as_deref().unwrap());
    assert_ne!(new_fp, fp_plain);
    for args in [
        &["--json", "backup", "shop", "--remote"][..],
        &["--json", "pull", "shop"][..],
    ] {
        let out = laptop.run(args);
        let v = json_of(&out, 3, args);
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(&fp_plain) && msg.contains(&new_fp), "{v}");
    }
    let (parts, archives) = laptop.files();
    assert!(parts.is_empty(), "{parts:?}");
    assert_eq!(archives, archives_after);
    assert_eq!(laptop.backups().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_cut_by_the_proxy_resumes_into_the_same_bytes() {
    let db = database(40_000);
    let agent = start_agent(&db, "127.0.0.1:0", true);
    let token = agent.token();
    // A backup on the server, made before the laptop pulls.
    let client = agent.client(&token);
    let made = backup_on_agent(&client).await;
    let size = made.size.unwrap();
    assert!(size > 400_000, "the archive is big enough to cut: {size}");
    let proxy = HttpFaultProxy::start(agent.addr());
    let laptop = Laptop::new(&token);
    let db_url = TestCluster::shared().url(&db);
    laptop.add_plain_server(&db_url, &proxy.endpoint());
    // The list, the link, then the file: cut after 150 kB (the small JSON answers pass whole).
    proxy.reset_counts();
    proxy.inject(Some("GET"), HttpFault::CutBodyAfter(150_000), 3);
    let pulled = laptop.json(&["pull", "shop"], 0);
    let got = pulled["downloaded"].as_array().unwrap();
    assert_eq!(got.len(), 1, "{pulled}");
    let path = PathBuf::from(got[0]["path"].as_str().unwrap());
    assert_same_as_agents(&agent, &path);
    assert_eq!(got[0]["sha256"], made.sha256.clone().unwrap().as_str());
    let files: Vec<_> = proxy
        .exchanges()
        .into_iter()
        .filter(|e| e.path.starts_with("/files/"))
        .collect();
    assert!(files.len() >= 2, "cut, then resumed: {files:?}");
    assert_eq!(files[0].body_bytes, 150_000, "{files:?}");
    assert_eq!(
        files[1].range.as_deref(),
        Some("bytes=150000-"),
        "resumed where it was cut: {files:?}"
    );
    let sent: u64 = files.iter().map(|e| e.body_bytes).sum();
    assert_eq!(sent, size, "nothing was sent twice: {files:?}");
    let (parts, archives) = laptop.files();
    assert!(parts.is_empty(), "{parts:?}");
    assert_eq!(laptop.backups()[0]["status"], "verified");

    // A download cut, whose resume the server then refuses for good (the archive was deleted
    // meanwhile): a clear error, no `.part`, no archive, nothing registered.
    backup_on_agent(&client).await;
    proxy.clear();
    proxy.inject(Some("GET"), HttpFault::CutBodyAfter(150_000), 3);
    proxy.inject(Some("GET"), HttpFault::Status(404), 20);
    let out = laptop.run(&["--json", "pull", "shop"]);
    let v = json_of(&out, 2, &["pull"]);
    assert_eq!(v["error"]["code"], "not_found", "{v}");
    let (parts, after) = laptop.files();
    assert!(parts.is_empty(), "{parts:?}");
    assert_eq!(after, archives);
    assert_eq!(laptop.backups().len(), 1);
    // Once the server answers again, the next pull brings it.
    proxy.clear();
    let pulled = laptop.json(&["pull", "shop"], 0);
    assert_eq!(
        pulled["downloaded"].as_array().unwrap().len(),
        1,
        "{pulled}"
    );
    assert_eq!(laptop.backups().len(), 2);
}

/// The interactive way: the token from standard input into the OS keychain (run under
/// `.ci/with-keyring`), used by later commands without any environment; removing the server
/// or the project removes it.
#[tokio::test(flavor = "multi_thread")]
async fn the_token_lives_in_the_keychain() {
    use offsite_core::secrets::{KeychainStore, SecretStore};
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "this test uses the real OS keychain: run it through .ci/with-keyring"
    );
    let db = database(100);
    let agent = start_agent(&db, "127.0.0.1:0", false);
    let fp = agent.fingerprint.clone().unwrap();
    let token = agent.token();
    let data = tempfile::tempdir().unwrap();
    let name = format!("remote-kc-{}", std::process::id());
    let key = format!("project:{name}:server-token");
    let keychain = KeychainStore::default();
    let run = |args: &[&str], stdin: Option<&str>| -> Output {
        use std::io::Write;
        let mut c = Command::new(env!("CARGO_BIN_EXE_offsite"));
        c.arg("--data-dir").arg(data.path()).args(args);
        for var in [
            "PGPASSWORD",
            "OFFSITE_SECRET_STORE",
            "OFFSITE_SERVER_TOKEN",
            "OFFSITE_PG_BIN",
        ] {
            c.env_remove(var);
        }
        let mut child = c
            .env("OFFSITE_SERVER_POLL_MS", "200")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    };
    let db_url = TestCluster::shared().url(&db);
    let out = run(
        &[
            "project",
            "add",
            &name,
            "--db",
            &db_url,
            // The laptop never connects to the database itself: it pulls from the server.
            "--no-test",
            "--server",
            &agent.url,
            "--server-project",
            "shop",
            "--token-stdin",
            "--trust-fingerprint",
            &fp,
        ],
        Some(&format!("{token}\n")),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(keychain.get(&key).unwrap().as_deref(), Some(token.as_str()));
    let mut files = 0;
    walk(data.path(), &mut |p| {
        files += 1;
        let bytes = std::fs::read(p).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&token),
            "the token is in {}",
            p.display()
        );
    });
    assert!(files > 0);
    let out = run(&["--json", "backup", &name, "--remote"], None);
    let v = json_of(&out, 0, &["backup", "--remote"]);
    assert_same_as_agents(&agent, Path::new(v["path"].as_str().unwrap()));
    // Removing the server removes its token.
    let out = run(
        &["--json", "project", "components", &name, "--remove-server"],
        None,
    );
    let v = json_of(&out, 0, &["--remove-server"]);
    assert!(v["components"]["server"].is_null(), "{v}");
    assert_eq!(keychain.get(&key).unwrap(), None);
    let out = run(&["--json", "pull", &name], None);
    let v = json_of(&out, 2, &["pull"]);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no backup server"),
        "{v}"
    );
    let _ = run(&["project", "remove", &name], None);
}

/// Schedules trigger remote backups too: a due run of a project with a backup server makes the
/// backup on the server and lands its archive, verified, in the laptop's catalog (trigger
/// `schedule`); when the server is down, the run fails as temporary and a retry is planned.
#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_backup_of_a_project_with_a_server_runs_on_the_server() {
    let db = database(2_000);
    let mut agent = start_agent(&db, "127.0.0.1:0", true);
    let laptop = Laptop::new(&agent.token());
    let db_url = TestCluster::shared().url(&db);
    let t0 = "2026-11-20T09:00:00Z";
    laptop.json_at(
        t0,
        &[
            "project",
            "add",
            "shop",
            "--db",
            &db_url,
            // The laptop never connects to the database itself: it pulls from the server.
            "--no-test",
            "--server",
            &agent.url,
            "--server-project",
            "shop",
        ],
        0,
    );
    laptop.json_at(
        t0,
        &["schedule", "set", "shop", "--every", "6h", "--tz", "UTC"],
        0,
    );

    let due = laptop.json_at("2026-11-20T12:00:10Z", &["run-due"], 0);
    let run = &due["runs"][0];
    assert_eq!(run["state"], "succeeded", "{due}");
    assert_eq!(run["trigger"], "schedule", "{due}");
    assert_eq!(agent.archives().len(), 1, "the server made the backup");
    let backups = laptop.backups();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(backups[0]["id"], run["backup_id"], "{due}");
    assert_eq!(backups[0]["status"], "verified");
    assert_same_as_agents(&agent, Path::new(backups[0]["path"].as_str().unwrap()));

    // The server is gone at the next slot: a temporary failure, retried later, nothing new.
    let _ = agent.child.kill();
    let _ = agent.child.wait();
    // (`run-due` exits 1 when a run failed.)
    let due = laptop.json_at("2026-11-20T18:00:10Z", &["run-due"], 1);
    let run = &due["runs"][0];
    assert_eq!(run["state"], "failed", "{due}");
    assert_eq!(run["error"]["code"], "connection", "{due}");
    assert!(run["retry_at"].is_string(), "a retry is planned: {due}");
    assert_eq!(laptop.backups().len(), 1);
    let (parts, _) = laptop.files();
    assert!(parts.is_empty(), "{parts:?}");
}

/// A named schedule of a project with a backup server (issue 47): the server makes the backup of
/// the schedule's type (not the project's: a `database` schedule lands a database archive) with
/// the schedule's own selection — the archive the laptop registers records what it left out.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_projects_named_schedule_runs_its_type_and_selection_there() {
    let db = database(500);
    let agent = start_agent(&db, "127.0.0.1:0", true);
    let laptop = Laptop::new(&agent.token());
    let db_url = TestCluster::shared().url(&db);
    let t0 = "2026-11-20T09:00:00Z";
    laptop.json_at(
        t0,
        &[
            "project",
            "add",
            "shop",
            "--db",
            &db_url,
            "--no-test",
            "--server",
            &agent.url,
            "--server-project",
            "shop",
        ],
        0,
    );
    laptop.json_at(
        t0,
        &[
            "schedule",
            "add",
            "shop",
            "--name",
            "lean",
            "--type",
            "database",
            "--every",
            "6h",
            "--exclude-table-data",
            "public.orders",
            "--tz",
            "UTC",
        ],
        0,
    );
    let due = laptop.json_at("2026-11-20T12:00:10Z", &["run-due"], 0);
    let run = &due["runs"][0];
    assert_eq!(run["state"], "succeeded", "{due}");
    assert_eq!(run["schedule"], "lean", "{due}");
    let backups = laptop.backups();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(backups[0]["id"], run["backup_id"], "{due}");
    assert_eq!(backups[0]["backup_type"], "database", "{backups:?}");
    let path = Path::new(backups[0]["path"].as_str().unwrap());
    assert_same_as_agents(&agent, path);
    let manifest = offsite_core::archive::read_manifest(path).unwrap();
    let selection = manifest.selection.expect("a selective backup says so");
    assert_eq!(selection.exclude_table_data, ["public.orders"]);
    let rows = manifest
        .tables
        .iter()
        .find(|t| t.table == "orders")
        .map_or(0, |t| t.rows);
    assert_eq!(rows, 0, "its 500 rows are left out on the server");
}

/// A pull killed mid-download (SIGKILL: no chance to clean up) leaves its `.part`; the next pull
/// is not blocked by it: it resumes from the bytes already there (`Range` + `If-Range`), and
/// ends with the agent's archive byte for byte, registered once, no `.part` left.
#[tokio::test(flavor = "multi_thread")]
async fn a_pull_killed_mid_download_does_not_block_the_next_one() {
    let db = database(40_000);
    let agent = start_agent(&db, "127.0.0.1:0", true);
    let token = agent.token();
    let client = agent.client(&token);
    let made_size = backup_on_agent(&client).await.size.unwrap();
    let proxy = HttpFaultProxy::start(agent.addr());
    let laptop = Laptop::new(&token);
    let db_url = TestCluster::shared().url(&db);
    let add = laptop.run(&[
        "project",
        "add",
        "shop",
        "--db",
        &db_url,
        // The laptop never connects to the database itself: it pulls from the server.
        "--no-test",
        "--server",
        &proxy.endpoint(),
        "--server-project",
        "shop",
    ]);
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    // The file comes slowly: 4 KiB every 50 ms.
    proxy.inject(
        Some("GET"),
        HttpFault::Drip {
            chunk: 4096,
            pause_ms: 50,
        },
        10,
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_offsite"))
        .arg("--data-dir")
        .arg(laptop.data.path())
        .args(["pull", "shop"])
        .env("OFFSITE_SECRET_STORE", "env")
        .env("OFFSITE_SERVER_TOKEN", &token)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let part = loop {
        let (parts, _) = laptop.files();
        if let Some(p) = parts.first() {
            if std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) > 20_000 {
                break p.clone();
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the pull ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no .part appeared");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(part.exists(), "the killed pull left its .part");
    assert_eq!(laptop.backups().len(), 0);

    let kept = std::fs::metadata(&part).unwrap().len();
    // The killed download's exchange is recorded when its connection closes: wait for it, so
    // what follows counts the next pull only.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !proxy
        .exchanges()
        .iter()
        .any(|e| e.path.starts_with("/files/"))
    {
        assert!(
            Instant::now() < deadline,
            "the cut download was not recorded"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    proxy.clear();
    proxy.reset_counts();
    let pulled = laptop.json(&["pull", "shop"], 0);
    let got = pulled["downloaded"].as_array().unwrap();
    assert_eq!(got.len(), 1, "{pulled}");
    assert_same_as_agents(&agent, Path::new(got[0]["path"].as_str().unwrap()));
    // It went on from the killed pull's bytes instead of fetching them again.
    let files: Vec<_> = proxy
        .exchanges()
        .into_iter()
        .filter(|e| e.path.starts_with("/files/"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        files[0].range.as_deref(),
        Some(format!("bytes={kept}-").as_str()),
        "{files:?}"
    );
    assert_eq!(files[0].status, 206, "{files:?}");
    assert_eq!(files[0].body_bytes, made_size - kept, "{files:?}");
    let (parts, archives) = laptop.files();
    assert!(parts.is_empty(), "{parts:?}");
    assert_eq!(archives.len(), 1, "{archives:?}");
    let backups = laptop.backups();
    assert_eq!(backups.len(), 1);
    assert_eq!(backups[0]["status"], "verified");
}
