//! `offsite serve` captures a project's changes when agent.toml asks (`[projects.shop.pitr]`,
//! issue 46): it takes the base and writes segments by itself; killed (SIGKILL) while rows are
//! being written and started again, it resumes from its slot with no gap and no duplicate
//! transaction — a restore to a time after the restart equals the database then (a replayed
//! duplicate insert would fail on the primary key, a gap would change the digest). A schema
//! change starts a new base by itself, and a restore after it works; a project whose capture is
//! taken out of the configuration has its slot dropped at the next start.

use super::*;

/// The digest of `orders` (test-only read, as the superuser).
fn digest(db: &str) -> String {
    TestCluster::shared()
        .psql(
            db,
            "SELECT coalesce(md5(string_agg(o::text, '|' ORDER BY id)), '-') FROM orders o",
        )
        .trim()
        .to_string()
}

/// The server's clock now, RFC 3339 (commit times are taken on it).
pub(super) fn server_now() -> String {
    std::thread::sleep(Duration::from_millis(30));
    let t = TestCluster::shared()
        .psql(
            "postgres",
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        )
        .trim()
        .to_string();
    std::thread::sleep(Duration::from_millis(30));
    t
}

/// `offsite --data-dir <the agent's engine folder> ARGS` (the agent's catalog, read by the CLI).
fn engine_cli(a: &AgentProc, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_offsite"))
        .arg("--data-dir")
        .arg(a.data_dir().join("engine"))
        .args(args)
        .env_remove("OFFSITE_DATA_DIR")
        .env("OFFSITE_SECRET_STORE", "env")
        .env("PGPASSWORD", TestCluster::shared().superuser_password())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(super) fn status(a: &AgentProc) -> Value {
    let out = engine_cli(a, &["--json", "pitr", "status", "shop"]);
    assert!(
        out.status.success(),
        "pitr status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits (up to `secs`) until `ok` holds, saying what it waited for.
pub(super) fn wait_for(a: &AgentProc, secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(
            Instant::now() < deadline,
            "waited {secs} s for {what}; the agent said: {}",
            std::fs::read_to_string(a.dir.path().join("stderr.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Waits until the agent captured up to `at`, then restores that time into a new database
/// and returns its digest.
fn restore_at(a: &AgentProc, at: &str, into: &str) -> String {
    let c = TestCluster::shared();
    let dry_run = || {
        engine_cli(
            a,
            &[
                "restore",
                "shop",
                "--at",
                at,
                "--to",
                &c.url("postgres"),
                "--dry-run",
            ],
        )
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let out = dry_run();
        if out.status.success() {
            break;
        }
        // Said whole when it fails: the plan's refusal and the capture's status then.
        assert!(
            Instant::now() < deadline,
            "waited 90 s for {at} to be restorable; the plan said: {}\nstatus: {}\nthe agent said: {}",
            String::from_utf8_lossy(&out.stderr),
            status(a),
            std::fs::read_to_string(a.dir.path().join("stderr.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    c.create_db(into);
    let out = engine_cli(a, &["restore", "shop", "--at", at, "--to", &c.url(into)]);
    assert!(
        out.status.success(),
        "restore --at {at}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    digest(into)
}

/// Whether the server has the replication slot `name` (an `offsite_pitr_…` name: no quote).
fn slot_exists(name: &str) -> bool {
    assert!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "{name}"
    );
    TestCluster::shared()
        .psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{name}'"),
        )
        .trim()
        == "1"
}

#[test]
fn the_agent_captures_resumes_after_a_kill_and_starts_a_new_base_after_ddl() {
    let fx = fixture(20);
    let c = TestCluster::shared();
    let mut a = start(&fx, "[projects.shop.pitr]\nkeep_within = \"7d\"\n", true);
    // The base recorded (a window), not only the chain started: a kill while the base is taken
    // ends that chain at the next start (crates/cli/tests/pitr_broken.rs), and the writes
    // below would then be before the new base.
    wait_for(&a, 120, "the capture's base", || {
        let s = status(&a);
        s["enabled"] == true && s["windows"].as_array().is_some_and(|w| !w.is_empty())
    });

    // Rows written one transaction each while the agent is killed and started again.
    let db = fx.db.clone();
    let writer = std::thread::spawn(move || {
        for i in 1000..1120 {
            TestCluster::shared().psql(
                &db,
                &format!("INSERT INTO orders VALUES ({i}, 'written while killed {i}')"),
            );
            std::thread::sleep(Duration::from_millis(15));
        }
    });
    std::thread::sleep(Duration::from_millis(700));
    a.kill_and_restart(true);
    writer.join().unwrap();
    c.psql(
        &fx.db,
        "UPDATE orders SET note = note || ' changed' WHERE id % 5 = 0",
    );
    let after_restart = server_now();
    let want = digest(&fx.db);
    assert_eq!(
        restore_at(&a, &after_restart, "agent_pitr_after_kill"),
        want,
        "the restore after the kill differs from the database then"
    );

    // A schema change: the window breaks there and a new base starts by itself. Waited for is
    // the new base itself (one more window), not only the new chain: rows written while its
    // base is still being taken are in no window (a run here wrote one 10 ms before the base).
    let windows = |s: &serde_json::Value| s["windows"].as_array().map_or(0, Vec::len);
    let before = windows(&status(&a));
    c.psql(&fx.db, "ALTER TABLE orders ADD COLUMN extra int");
    wait_for(&a, 90, "a new base after the schema change", || {
        let s = status(&a);
        s["enabled"] == true
            && s["ended"]
                .to_string()
                .contains("the captured tables' definitions changed")
            && windows(&s) > before
    });
    c.psql(
        &fx.db,
        "INSERT INTO orders VALUES (5000, 'after the DDL', 7)",
    );
    let after_ddl = server_now();
    let want = digest(&fx.db);
    assert_eq!(
        restore_at(&a, &after_ddl, "agent_pitr_after_ddl"),
        want,
        "the restore after the new base differs from the database then"
    );

    // Capture taken out of the configuration: its slot (and no other: the point-in-time
    // tests beside it hold theirs on the same cluster) is dropped at the next start.
    let mut ours = None;
    wait_for(&a, 30, "the capture's slot in status", || {
        ours = status(&a)["slot"]["slot"].as_str().map(str::to_string);
        ours.is_some()
    });
    let ours = ours.unwrap();
    assert!(slot_exists(&ours), "{ours} is on the server");
    let config = std::fs::read_to_string(&a.config).unwrap();
    std::fs::write(
        &a.config,
        config.replace("[projects.shop.pitr]\nkeep_within = \"7d\"\n", ""),
    )
    .unwrap();
    a.kill_and_restart(true);
    wait_for(&a, 60, "the slot to be dropped", || !slot_exists(&ours));
    assert_eq!(status(&a)["enabled"], false);
}

/// `offsite --data-dir LAPTOP ARGS` as the laptop runs it: its own catalog, the server token
/// from the environment, the cluster's password for the restore target.
pub(super) fn laptop(data: &std::path::Path, token: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_offsite"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("OFFSITE_DATA_DIR")
        .env("OFFSITE_SECRET_STORE", "env")
        .env("OFFSITE_SERVER_TOKEN", token)
        .env("PGPASSWORD", TestCluster::shared().superuser_password())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(super) fn laptop_ok(data: &std::path::Path, token: &str, args: &[&str]) -> Value {
    let out = laptop(data, token, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// On the laptop at `d`: project `shop` over `db`, backed up by the agent `a`.
pub(super) fn laptop_add(d: &std::path::Path, token: &str, a: &AgentProc, db: &str) {
    laptop_ok(
        d,
        token,
        &[
            "project",
            "add",
            "shop",
            "--db",
            &TestCluster::shared().url(db),
            "--no-test",
            "--server",
            &a.url,
            "--server-project",
            "shop",
        ],
    );
}

/// Waits (up to 90 s) until the agent's `GET …/pitr` at `pitr_url` shows a capture whose last
/// window reaches past `at` with a segment registered; returns that view.
pub(super) async fn wait_window_past(
    http: &reqwest::Client,
    pitr_url: &str,
    token: &str,
    at: &str,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (s, v) = send(http, reqwest::Method::GET, pitr_url, Some(token), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let reached = v["windows"]
            .as_array()
            .and_then(|w| w.last())
            .and_then(|w| w["to"].as_str())
            .is_some_and(|to| to > at);
        let segments = v["chains"][0]["segments"]
            .as_array()
            .is_some_and(|s| !s.is_empty());
        if v["enabled"] == true && reached && segments {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "the agent's window never reached {at}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The laptop pulls what the agent captured (issue 46): the agent's API serves the capture's
/// status and its segments (signed URLs, bound to the token, as backups); `offsite pull` brings
/// the base and the segments; `offsite restore shop --at TIME` on the laptop gives the
/// database as it was then. The attacks: no token, another project's token, a chain id or a
/// segment name that is a path, a URL signed for one segment used for another, a backup's
/// signature used for a segment.
#[tokio::test(flavor = "multi_thread")]
async fn the_laptop_pulls_the_agents_capture_and_restores_a_time() {
    let fx = fixture(20);
    let c = TestCluster::shared();
    let a = start(&fx, "[projects.shop.pitr]\n", true);
    let token = a.token(&["--project", "shop", "--read-only"]);
    let other = a.token(&["--project", "other"]);
    let http = http();
    let pitr_url = format!("{}/platform/projects/shop/pitr", a.url);

    // Writes after the base; the instant and its digest.
    wait_for(&a, 120, "the capture's base", || {
        status(&a)["enabled"] == true
    });
    c.psql(
        &fx.db,
        "INSERT INTO orders SELECT g, 'after the base ' || g FROM generate_series(100, 140) g",
    );
    c.psql(
        &fx.db,
        "UPDATE orders SET note = note || ' x' WHERE id % 3 = 0",
    );
    let at = server_now();
    let want = digest(&fx.db);
    c.psql(&fx.db, "DELETE FROM orders WHERE id > 120");
    // The API's status: capturing, and a window reaching the instant.
    let view = wait_window_past(&http, &pitr_url, &token, &at).await;
    assert!(view["rpo_seconds"].as_f64().unwrap() < 60.0, "{view}");
    let chain = view["chains"][0]["id"].as_str().unwrap().to_string();
    let seg = view["chains"][0]["segments"][0].clone();
    let file = seg["file_name"].as_str().unwrap().to_string();

    // The attacks on the listing and the links.
    let (s, _) = send(&http, reqwest::Method::GET, &pitr_url, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = send(&http, reqwest::Method::GET, &pitr_url, Some(&other), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let link_url =
        |chain: &str, file: &str| format!("{pitr_url}/chains/{chain}/segments/{file}/download");
    for (ch, f, want_status) in [
        ("..%2F..%2Fetc", file.as_str(), StatusCode::BAD_REQUEST),
        (
            chain.as_str(),
            "..%2F..%2Fagent.toml",
            StatusCode::BAD_REQUEST,
        ),
        (chain.as_str(), "%2Fetc%2Fpasswd", StatusCode::BAD_REQUEST),
        (chain.as_str(), "x.tar.zst", StatusCode::BAD_REQUEST),
        (
            chain.as_str(),
            "other_0000000000000001.pitr",
            StatusCode::NOT_FOUND,
        ),
        (
            "00000000-0000-4000-8000-000000000000",
            file.as_str(),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (s, v) = send(
            &http,
            reqwest::Method::GET,
            &link_url(ch, f),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, want_status, "{ch} {f}: {v}");
    }
    let (s, _) = send(
        &http,
        reqwest::Method::GET,
        &link_url(&chain, &file),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another project's token");
    let (s, link) = send(
        &http,
        reqwest::Method::GET,
        &link_url(&chain, &file),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{link}");
    assert_eq!(link["sha256"], seg["sha256"], "{link}");
    let url = link["download_url"].as_str().unwrap().to_string();
    let body = http.get(&url).send().await.unwrap();
    assert_eq!(body.status(), StatusCode::OK);
    let bytes = body.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, seg["size"].as_u64().unwrap());
    assert_eq!(
        offsite_core::digest::sha256_hex(&bytes),
        seg["sha256"].as_str().unwrap()
    );
    // The signature is for that segment of that chain only.
    let query = url.split_once('?').unwrap().1.to_string();
    for forged in [
        format!(
            "{}/pitr-files/{chain}/{}?{query}",
            a.url,
            file.replace(".pitr", "0.pitr")
        ),
        format!(
            "{}/pitr-files/00000000-0000-4000-8000-000000000000/{file}?{query}",
            a.url
        ),
        format!("{}/pitr-files/{chain}/..%2Fagent.toml?{query}", a.url),
        format!("{}/pitr-files/{chain}/{file}", a.url),
    ] {
        let r = http.get(&forged).send().await.unwrap();
        assert!(
            r.status() == StatusCode::FORBIDDEN || r.status() == StatusCode::BAD_REQUEST,
            "{forged}: {}",
            r.status()
        );
    }
    // A backup's download signature does not open a segment.
    let base_id = view["chains"][0]["base_backup_id"].as_str().unwrap();
    let (s, blink) = send(
        &http,
        reqwest::Method::GET,
        &format!("{}/{base_id}/download", backups_url(&a, "shop")),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{blink}");
    let bq = blink["download_url"]
        .as_str()
        .unwrap()
        .split_once('?')
        .unwrap()
        .1
        .to_string();
    let r = http
        .get(format!("{}/pitr-files/{base_id}/{file}?{bq}", a.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The laptop: a project backed up by this server; pull brings the base and the segments.
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    laptop_add(d, &token, &a, &fx.db);
    let pulled = laptop_ok(d, &token, &["--json", "pull", "shop"]);
    let p = &pulled["pitr"];
    assert!(p["chains"].as_u64().unwrap() >= 1, "{pulled}");
    assert!(p["segments"].as_u64().unwrap() >= 1, "{pulled}");
    let again = laptop_ok(d, &token, &["--json", "pull", "shop"]);
    assert_eq!(again["pitr"]["segments"], 0, "{again}");

    // Restored on the laptop, from what the agent captured: the database as it was then.
    let st = laptop_ok(d, &token, &["--json", "pitr", "status", "shop"]);
    assert!(!st["windows"].as_array().unwrap().is_empty(), "{st}");
    c.create_db("laptop_pitr_at");
    laptop_ok(
        d,
        &token,
        &[
            "--json",
            "restore",
            "shop",
            "--at",
            &at,
            "--to",
            &c.url("laptop_pitr_at"),
        ],
    );
    assert_eq!(
        digest("laptop_pitr_at"),
        want,
        "restored on the laptop at {at}"
    );
    let v = laptop_ok(d, &token, &["--json", "pitr", "verify", "shop"]);
    assert_eq!(v["damaged"], 0, "{v}");
}
