//! `offsite-bench-schedules`: what schedules cost when nothing is happening, measured.
//!
//! - the retention decision over 10,000 backups (restic's rules: last, hourly, daily, weekly,
//!   monthly, yearly, within), median of 7 — target ≤ 50 ms;
//! - `offsite run-due` with 50 scheduled projects and nothing due, a whole process (start, open
//!   the catalog, compute every schedule, exit), median of 7 — target ≤ 100 ms.
//!
//!   cargo build --release -p offsite-cli -p offsite-bench
//!   target/release/offsite-bench-schedules [--offsite-bin PATH]
//!
//! Prints a table (measured, target, pass/miss) and one JSON line.

use clap::Parser;
use offsite_core::catalog::{BackupStatus, Catalog, NewProject};
use offsite_core::schedule::{Candidate, RetentionPolicy, Within, Zone};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use time::macros::datetime;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[derive(clap::Parser)]
#[command(
    about = "What schedules cost when nothing happens (retention over 10,000 backups, run-due with nothing due)"
)]
struct Args {
    /// The `offsite` binary (default: beside this one).
    #[arg(long)]
    offsite_bin: Option<PathBuf>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let bin = args.offsite_bin.unwrap_or_else(|| {
        std::env::current_exe()
            .expect("current_exe")
            .with_file_name("offsite")
    });
    if !bin.is_file() {
        eprintln!(
            "offsite-bench-schedules: {} does not exist: cargo build --release -p offsite-cli (or --offsite-bin)",
            bin.display()
        );
        std::process::exit(1);
    }

    // 1. Retention over 10,000 backups: one every 47 minutes, ~13 months.
    let start = datetime!(2025-10-01 00:00 UTC);
    let candidates: Vec<Candidate> = (0..10_000)
        .map(|i| Candidate {
            id: format!("b{i:05}"),
            created_at: start + time::Duration::minutes(47 * i),
            status: if i % 97 == 0 {
                BackupStatus::Corrupt
            } else {
                BackupStatus::Unverified
            },
        })
        .collect();
    let policy = RetentionPolicy {
        keep_last: Some(5),
        keep_hourly: Some(24),
        keep_daily: Some(14),
        keep_weekly: Some(8),
        keep_monthly: Some(12),
        keep_yearly: Some(3),
        keep_within: Some("30d".parse::<Within>().expect("within")),
    };
    let zone = Zone::named("Europe/Berlin").expect("zone");
    let now = start + time::Duration::minutes(47 * 10_000);
    let mut times = Vec::new();
    let mut kept = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let d = offsite_core::schedule::retention::decide(&policy, &zone, now, &candidates);
        times.push(t.elapsed());
        kept = d.iter().filter(|x| x.keep).count();
    }
    let retention = median(times);

    // 2. run-due with 50 scheduled projects, nothing due.
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    {
        // Projects straight into the catalog (no server is contacted: nothing is due), their
        // schedules through the engine.
        std::fs::create_dir_all(&data).expect("data dir");
        let catalog = Catalog::open(&data).await.expect("catalog");
        for i in 0..50 {
            catalog
                .add_project(&NewProject {
                    name: format!("p{i:02}"),
                    db_url: format!("postgres://u@127.0.0.1:1/p{i:02}"),
                    tls_mode: "disable".to_string(),
                    backup_dir: None,
                })
                .await
                .expect("project");
        }
        drop(catalog);
        for i in 0..50 {
            let out = Command::new(&bin)
                .arg("--data-dir")
                .arg(&data)
                .args([
                    "schedule",
                    "set",
                    &format!("p{i:02}"),
                    "--daily",
                    "02:30",
                    "--tz",
                    "UTC",
                ])
                .env("OFFSITE_SECRET_STORE", "env")
                .env("HOME", dir.path())
                .env("OFFSITE_TEST_NOW", "2029-12-01T12:00:00Z")
                .output()
                .expect("schedule set");
            assert!(
                out.status.success(),
                "schedule set: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let out = Command::new(&bin)
            .arg("--data-dir")
            .arg(&data)
            .args(["--json", "run-due"])
            .env("OFFSITE_SECRET_STORE", "env")
            .env("HOME", dir.path())
            // After the schedules were set, before their first slot (2029-12-02 02:30): nothing
            // is due, every schedule is computed.
            .env("OFFSITE_TEST_NOW", "2029-12-01T18:00:00Z")
            .output()
            .expect("run-due");
        times.push(t.elapsed());
        assert!(
            out.status.success(),
            "run-due: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let run_due = median(times);

    let row = |what: &str, d: Duration, target: f64| {
        println!(
            "| {what} | {:.1} ms | ≤ {target} ms | {} |",
            ms(d),
            if ms(d) <= target { "pass" } else { "miss" }
        )
    };
    println!("| metric | measured (median of 7) | target | |");
    println!("|---|---:|---|---|");
    row(
        "retention decision, 10,000 backups (7 rules)",
        retention,
        50.0,
    );
    row(
        "`offsite run-due`, 50 scheduled projects, nothing due",
        run_due,
        100.0,
    );
    println!(
        "{}",
        serde_json::json!({
            "retention_10k_ms": ms(retention),
            "retention_kept": kept,
            "run_due_nothing_due_ms": ms(run_due),
        })
    );
}
