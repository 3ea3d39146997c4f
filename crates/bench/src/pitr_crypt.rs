//! `--pitr-encrypted` (issue 67, item 5): what a passphrase costs a point-in-time restore and
//! a capture pass. Two projects over two identical databases, one unencrypted, one with a
//! passphrase (the env secret store); each gets capture enabled and six passes, each after one
//! row was written (six one-row segments). Then, --runs times alternating, `offsite restore
//! --at` the last instant into a new database (its rows checked), timed with its peak RSS;
//! and each pass's time and peak RSS. With `OFFSITE_LOG=info` the restore's log says how many
//! passphrase keys it derived (scrypt): the target is one per job, not one per file.
//! Prints the medians, the ratio encrypted / unencrypted (target ≤ 1.2) and the derivations.

use crate::measure::{run, Measured};
use crate::report::median;
use crate::Offsite;
use offsite_testkit::TestCluster;

const PASS: &str = "bench passphrase: correct horse battery staple";
const PASSES: usize = 6;

struct Side {
    project: &'static str,
    db: &'static str,
    sealed: bool,
}

const SIDES: [Side; 2] = [
    Side {
        project: "plain",
        db: "pitr_crypt_plain",
        sealed: false,
    },
    Side {
        project: "sealed",
        db: "pitr_crypt_sealed",
        sealed: true,
    },
];

fn cmd(o: &Offsite, side: &Side, args: &[&str]) -> std::process::Command {
    let mut c = o.cmd();
    c.env(
        offsite_core::secrets::env_var_for_key(&format!(
            "project:{}:encryption-passphrase",
            side.project
        )),
        PASS,
    );
    c.args(args);
    c
}

fn now(pg: &TestCluster) -> Result<String, String> {
    std::thread::sleep(std::time::Duration::from_millis(30));
    let t = pg.try_psql(
        "postgres",
        "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    )?;
    std::thread::sleep(std::time::Duration::from_millis(30));
    Ok(t.trim().to_string())
}

fn setup(o: &Offsite, pg: &TestCluster, side: &Side) -> Result<(), String> {
    pg.try_psql("postgres", &format!("CREATE DATABASE {}", side.db))?;
    pg.try_psql(
        side.db,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g",
    )?;
    let url = o.url(side.db);
    run(
        &mut cmd(o, side, &["project", "add", side.project, "--db", &url]),
        None,
    )?
    .check("project add")?;
    if side.sealed {
        let line = format!("{PASS}\n");
        let set = ["encryption", "set", side.project, "--passphrase-stdin"];
        run(&mut cmd(o, side, &set), Some(line.as_bytes()))?.check("encryption set")?;
        let confirm = ["encryption", "confirm", side.project];
        run(&mut cmd(o, side, &confirm), Some(line.as_bytes()))?.check("encryption confirm")?;
    }
    run(&mut cmd(o, side, &["pitr", "enable", side.project]), None)?.check("pitr enable")?;
    Ok(())
}

/// Six passes, each after one row; their measures, and the instant after the last row.
fn passes(o: &Offsite, pg: &TestCluster, side: &Side) -> Result<(Vec<Measured>, String), String> {
    let mut out = Vec::new();
    let mut at = String::new();
    for i in 0..PASSES {
        pg.try_psql(
            side.db,
            &format!("INSERT INTO t VALUES ({}, 'pass {i}')", 100_000 + i),
        )?;
        // The instant after the last row, before the last pass (a window ends at the last
        // commit its passes read).
        at = now(pg)?;
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let m = run(
            &mut cmd(o, side, &["pitr", "run", side.project, "--once"]),
            None,
        )?
        .check("pitr run --once")?;
        out.push(m);
    }
    Ok((out, at))
}

fn restore(
    o: &Offsite,
    pg: &TestCluster,
    side: &Side,
    at: &str,
    n: usize,
) -> Result<(Measured, usize), String> {
    let to = format!("{}_to_{n}", side.db);
    pg.try_psql("postgres", &format!("CREATE DATABASE {to}"))?;
    let url = o.url(&to);
    let mut c = cmd(
        o,
        side,
        &["restore", side.project, "--at", at, "--to", &url],
    );
    c.env("OFFSITE_LOG", "info");
    let m = run(&mut c, None)?.check("restore --at")?;
    let rows = pg.try_psql(&to, "SELECT count(*) FROM t")?;
    if rows.trim() != (1000 + PASSES).to_string() {
        return Err(format!("{}: {rows} rows after restore --at", side.project));
    }
    pg.try_psql("postgres", &format!("DROP DATABASE {to}"))?;
    let derived = String::from_utf8_lossy(&m.stderr)
        .matches("derived a passphrase key")
        .count();
    Ok((m, derived))
}

/// `offsite pitr run --every 1` (the daemon's way: one process, a pass a second) for eight
/// passes with a row before each: its resident memory at the end (VmRSS), its peak (VmHWM) and
/// how many passphrase keys it derived (its log).
fn daemon(o: &Offsite, pg: &TestCluster, side: &Side) -> Result<String, String> {
    let log = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    let mut c = cmd(o, side, &["pitr", "run", side.project, "--every", "1"]);
    c.env("OFFSITE_LOG", "offsite_core::crypto=info")
        .stdout(std::process::Stdio::null())
        .stderr(log.reopen().map_err(|e| e.to_string())?);
    let mut child = c.spawn().map_err(|e| format!("pitr run --every 1: {e}"))?;
    for i in 0..8 {
        pg.try_psql(
            side.db,
            &format!("INSERT INTO t VALUES ({}, 'daemon {i}')", 200_000 + i),
        )?;
        std::thread::sleep(std::time::Duration::from_millis(1500));
    }
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(f64::NAN, mib)
    };
    let derived = std::fs::read_to_string(log.path())
        .unwrap_or_default()
        .matches("derived a passphrase key")
        .count();
    Ok(format!(
        "{:<7} capture daemon (pitr run --every 1, 12 s, a row every 1.5 s): VmRSS at the end {:.1} MiB, VmHWM {:.1} MiB, passphrase derivations {derived}",
        side.project,
        field("VmRSS:"),
        field("VmHWM:"),
    ))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub(crate) fn run_bench(o: &Offsite, pg: &TestCluster, runs: usize) -> Result<(), String> {
    let mut at = Vec::new();
    for side in &SIDES {
        setup(o, pg, side)?;
        let (ms, t) = passes(o, pg, side)?;
        let walls: Vec<f64> = ms.iter().map(|m| m.wall.as_secs_f64()).collect();
        let rss: Vec<f64> = ms.iter().map(|m| mib(m.maxrss_kib)).collect();
        println!(
            "{:<7} capture pass (×{PASSES}): wall median {:.2} s (runs {}), peak RSS max {:.1} MiB",
            side.project,
            median(&walls),
            walls
                .iter()
                .map(|w| format!("{w:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            rss.iter().cloned().fold(0.0, f64::max),
        );
        at.push(t);
        println!("{}", daemon(o, pg, side)?);
    }
    let mut results: [Vec<(f64, f64, usize)>; 2] = [Vec::new(), Vec::new()];
    for n in 0..runs {
        for (i, side) in SIDES.iter().enumerate() {
            let (m, derived) = restore(o, pg, side, &at[i], n)?;
            results[i].push((m.wall.as_secs_f64(), mib(m.maxrss_kib), derived));
        }
    }
    let med = |i: usize| median(&results[i].iter().map(|r| r.0).collect::<Vec<_>>());
    for (i, side) in SIDES.iter().enumerate() {
        println!(
            "{:<7} restore --at over {PASSES} segments: median {:.2} s (runs {}), peak RSS max {:.1} MiB, passphrase derivations per restore: {}",
            side.project,
            med(i),
            results[i].iter().map(|r| format!("{:.2}", r.0)).collect::<Vec<_>>().join(", "),
            results[i].iter().map(|r| r.1).fold(0.0, f64::max),
            results[i].iter().map(|r| r.2.to_string()).collect::<Vec<_>>().join(", "),
        );
    }
    let ratio = med(1) / med(0);
    println!(
        "encrypted / unencrypted restore --at: {ratio:.2} (target ≤ 1.2: {})",
        if ratio <= 1.2 { "PASS" } else { "MISS" }
    );
    Ok(())
}
