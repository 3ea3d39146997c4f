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
fn server_now() -> String {
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

fn status(a: &AgentProc) -> Value {
    let out = engine_cli(a, &["--json", "pitr", "status", "shop"]);
    assert!(
        out.status.success(),
        "pitr status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits (up to `secs`) until `ok` holds, saying what it waited for.
fn wait_for(a: &AgentProc, secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
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
    wait_for(a, 90, &format!("{at} to be restorable"), || {
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
        .status
        .success()
    });
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

fn offsite_slots() -> String {
    TestCluster::shared()
        .psql(
            "postgres",
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'offsite\\_pitr\\_%'",
        )
        .trim()
        .to_string()
}

#[test]
fn the_agent_captures_resumes_after_a_kill_and_starts_a_new_base_after_ddl() {
    let fx = fixture(20);
    let c = TestCluster::shared();
    let slots_before = offsite_slots();
    let mut a = start(&fx, "[projects.shop.pitr]\nkeep_within = \"7d\"\n", true);
    wait_for(&a, 120, "the capture's base", || {
        status(&a)["enabled"] == true
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

    // A schema change: the window breaks there and a new base starts by itself.
    c.psql(&fx.db, "ALTER TABLE orders ADD COLUMN extra int");
    wait_for(&a, 90, "a new base after the schema change", || {
        let s = status(&a);
        s["enabled"] == true
            && s["ended"]
                .to_string()
                .contains("the captured tables' columns changed")
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

    // Capture taken out of the configuration: its slot is dropped at the next start.
    let config = std::fs::read_to_string(&a.config).unwrap();
    std::fs::write(
        &a.config,
        config.replace("[projects.shop.pitr]\nkeep_within = \"7d\"\n", ""),
    )
    .unwrap();
    a.kill_and_restart(true);
    wait_for(&a, 60, "the slot to be dropped", || {
        offsite_slots() == slots_before
    });
    assert_eq!(status(&a)["enabled"], false);
}
