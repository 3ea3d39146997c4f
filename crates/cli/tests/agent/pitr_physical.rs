//! `offsite serve` keeps the capture `[projects.shop.pitr] mode` asks for (issue 46), on a
//! throwaway cluster that allows the superuser a replication connection (initdb's own
//! `host replication all 127.0.0.1/32` line, with its password): a project captured logically
//! is switched when `mode = "physical"` is set and the agent started again — the logical chain
//! ends saying why (in the agent's log too), a physical slot and a pg_basebackup base replace
//! it; rows written then are captured by the agent's pg_receivewal passes, and a restore to a
//! time after them gives the database as it was then.

use super::*;

/// `offsite --data-dir <the agent's engine folder> ARGS` against the throwaway cluster.
fn cli(a: &AgentProc, pg: &TestCluster, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_offsite"))
        .arg("--data-dir")
        .arg(a.data_dir().join("engine"))
        .args(args)
        .env_remove("OFFSITE_DATA_DIR")
        .env("OFFSITE_SECRET_STORE", "env")
        .env("OFFSITE_PG_BIN", pg.bin_dir())
        .env("PGPASSWORD", pg.superuser_password())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn status(a: &AgentProc, pg: &TestCluster) -> Value {
    let out = cli(a, pg, &["--json", "pitr", "status", "shop"]);
    assert!(
        out.status.success(),
        "pitr status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn agent_log(a: &AgentProc) -> String {
    std::fs::read_to_string(a.dir.path().join("stderr.log")).unwrap_or_default()
}

/// The type of Offsite's slot on the server (empty: none).
fn slot_type(pg: &TestCluster) -> String {
    pg.psql(
        "postgres",
        "SELECT string_agg(slot_type, ',') FROM pg_replication_slots \
         WHERE slot_name LIKE 'offsite\\_pitr\\_%'",
    )
    .trim()
    .to_string()
}

fn wait_for(a: &AgentProc, secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(
            Instant::now() < deadline,
            "waited {secs} s for {what}; the agent said: {}",
            agent_log(a)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn digest(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SELECT coalesce(md5(string_agg(o::text, '|' ORDER BY id)), '-') FROM orders o",
    )
    .trim()
    .to_string()
}

/// The server's clock now, RFC 3339 (commit times are taken on it).
fn server_now(pg: &TestCluster) -> String {
    std::thread::sleep(Duration::from_millis(30));
    let t = pg
        .psql(
            "postgres",
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        )
        .trim()
        .to_string();
    std::thread::sleep(Duration::from_millis(30));
    t
}

fn config(pg: &TestCluster, db: &str, pitr: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
data_dir = "data"
pg_bin = {bin:?}

[projects.shop]
database_url = {url:?}
password_env = "{DB_PASSWORD_ENV}"

[projects.shop.pitr]
{pitr}
"#,
        bin = pg.bin_dir(),
        url = pg.url(db),
    )
}

#[test]
fn the_agent_switches_to_the_physical_capture_its_config_asks_for_and_restores_a_time() {
    let pg = TestCluster::start();
    let db = "agent_phys";
    pg.create_db(db);
    pg.psql(
        db,
        "CREATE TABLE orders(id int primary key, note text); \
         INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 20) g;",
    );

    // First the logical capture (no mode: as before).
    let mut a = start_config(&config(&pg, db, ""), pg.superuser_password(), true);
    // Its base taken (a window): a chain killed before its base has nothing to end with (the
    // fresh-clone run under load killed the agent while the base was still being dumped).
    wait_for(&a, 120, "the logical capture's base", || {
        let s = status(&a, &pg);
        s["enabled"] == true
            && slot_type(&pg) == "logical"
            && s["windows"].as_array().is_some_and(|w| !w.is_empty())
    });

    let chains = |s: &Value| -> Vec<String> {
        s["windows"]
            .as_array()
            .map(|w| w.iter().map(|w| w["chain_id"].to_string()).collect())
            .unwrap_or_default()
    };
    let logical_chains = chains(&status(&a, &pg));

    // `mode = "physical"`: the logical chain ends, a physical one starts in its place.
    std::fs::write(&a.config, config(&pg, db, "mode = \"physical\"\n")).unwrap();
    a.kill_and_restart(true);
    // Its base taken (a window of a new chain): the slot exists before the base does, and a time
    // picked between the two is in no window (a fresh-clone run under load picked one there).
    wait_for(&a, 180, "the physical capture's base", || {
        let s = status(&a, &pg);
        slot_type(&pg) == "physical"
            && s["enabled"] == true
            && chains(&s).iter().any(|c| !logical_chains.contains(c))
    });
    let said = "the physical capture is asked for: the logical capture ended";
    let s = status(&a, &pg);
    assert!(s["ended"].to_string().contains(said), "{s}");
    assert!(agent_log(&a).contains(said), "{}", agent_log(&a));

    // Changes after the base, captured by the agent's passes; a time between them restored.
    pg.psql(
        db,
        "INSERT INTO orders SELECT g, 'after the base ' || g FROM generate_series(100, 140) g",
    );
    pg.psql(db, "UPDATE orders SET note = note || ' x' WHERE id % 3 = 0");
    let at = server_now(&pg);
    let want = digest(&pg, db);
    pg.psql(db, "DELETE FROM orders WHERE id > 120");

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let plan = cli(
            &a,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                &at,
                "--to",
                &pg.url("postgres"),
                "--dry-run",
            ],
        );
        if plan.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "waited 120 s for {at} to be restorable; the plan said: {}\nstatus: {}\nthe agent said: {}",
            String::from_utf8_lossy(&plan.stderr),
            status(&a, &pg),
            agent_log(&a)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    pg.create_db("agent_phys_at");
    let out = cli(
        &a,
        &pg,
        &[
            "restore",
            "shop",
            "--at",
            &at,
            "--to",
            &pg.url("agent_phys_at"),
        ],
    );
    assert!(
        out.status.success(),
        "restore --at {at}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        digest(&pg, "agent_phys_at"),
        want,
        "the physical restore to {at} differs from the database then"
    );
    // Still the physical capture: the agent kept it.
    assert_eq!(slot_type(&pg), "physical");
}
