//! `offsite-bench-browse`: a look inside a backup without restoring it, measured.
//!
//! A throwaway cluster gets a database with three tables — `a_small` (1,000 rows), `b_before`
//! (--before-rows, in front of the big one in the dump) and `events` (--rows, 5 million by
//! default: bigint, timestamptz, text, numeric, jsonb) — which the engine backs up as it always
//! does. Then, each in a fresh process of this binary (so the wall time and peak RSS are its
//! own; `ru_maxrss` from `wait4`):
//!
//! - the first page (50 rows) of `events`, --runs times — targets: ≤ 1 s, peak RSS ≤ 64 MiB;
//! - a page 1,000,000 rows in (read through, not hopped: paging counts matching rows);
//! - the CSV export of the whole table (peak RSS ≤ 64 MiB).
//!
//!   cargo build --release -p offsite-bench --bin offsite-bench-browse
//!   target/release/offsite-bench-browse [--rows 5000000] [--runs 3]
//!
//! Prints every run, a table (measured, target, pass/miss) and one JSON line.

#[allow(dead_code)]
mod measure;

use clap::{Parser, Subcommand};
use offsite_core::browse::{self, RowFilter};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(about = "The first page of a 5-million-row table in a backup: time and peak RSS")]
struct Args {
    /// Rows of the big table.
    #[arg(long, default_value_t = 5_000_000)]
    rows: u64,
    /// Rows of the table in front of it in the dump.
    #[arg(long, default_value_t = 1_000_000)]
    before_rows: u64,
    /// Runs of the first-page measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Folder for the data folder and the archive (default: the system temp folder).
    #[arg(long)]
    tmp: Option<PathBuf>,
    #[command(subcommand)]
    child: Option<Child>,
}

/// What a measured child process does (hidden).
#[derive(Subcommand, Debug)]
enum Child {
    #[command(hide = true)]
    Page {
        archive: PathBuf,
        #[arg(long)]
        offset: u64,
        #[arg(long)]
        limit: u32,
    },
    #[command(hide = true)]
    Csv { archive: PathBuf, dest: PathBuf },
}

const TARGET_SECS: f64 = 1.0;
const TARGET_RSS_MIB: f64 = 64.0;

fn child(c: Child) {
    offsite_core::allocator::configure();
    let cancel = CancellationToken::new();
    let start = Instant::now();
    let line = match c {
        Child::Page {
            archive,
            offset,
            limit,
        } => {
            let p = browse::rows_page(
                &archive,
                "public",
                "events",
                offset,
                limit,
                &RowFilter::default(),
                &cancel,
            )
            .unwrap_or_else(|e| fail(&format!("page: {e}")));
            let first = p
                .rows
                .first()
                .and_then(|r| r[0].clone())
                .unwrap_or_default();
            serde_json::json!({ "secs": start.elapsed().as_secs_f64(), "rows": p.rows.len(), "first_id": first })
        }
        Child::Csv { archive, dest } => {
            let d = browse::export_table_csv(&archive, "public", "events", &dest, &cancel)
                .unwrap_or_else(|e| fail(&format!("csv: {e}")));
            serde_json::json!({ "secs": start.elapsed().as_secs_f64(), "rows": d.rows, "bytes": d.bytes })
        }
    };
    println!("{line}");
}

fn fail(msg: &str) -> ! {
    eprintln!("offsite-bench-browse: {msg}");
    std::process::exit(1)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The database: three tables, the big one last in the dump.
fn fill(pg: &TestCluster, db: &str, rows: u64, before: u64) {
    pg.psql(
        db,
        &format!(
            "CREATE TABLE public.a_small (id int PRIMARY KEY, name text);
             INSERT INTO public.a_small SELECT g, 'name ' || g FROM generate_series(1, 1000) g;
             CREATE TABLE public.b_before (id bigint, note text);
             INSERT INTO public.b_before SELECT g, md5(g::text) FROM generate_series(1, {before}) g;
             CREATE TABLE public.events (id bigint, created_at timestamptz, kind text,
                                         amount numeric(12,2), payload jsonb);
             INSERT INTO public.events
               SELECT g, timestamptz '2026-01-01' + g * interval '1 second',
                      (ARRAY['signup','order','refund','login'])[1 + g % 4],
                      (g % 100000) / 100.0,
                      jsonb_build_object('user', g % 9973, 'ok', g % 7 <> 0)
               FROM generate_series(1, {rows}) g;"
        ),
    );
}

/// Backs the database up through the engine, as `offsite backup` does: the archive.
async fn back_up(pg: &TestCluster, db: &str, dir: &Path) -> PathBuf {
    let secrets = Arc::new(offsite_core::secrets::MemoryStore::default());
    let config = offsite_core::EngineConfig::new(secrets)
        .data_dir(dir.join("data"))
        .pg_bin(Some(pg.bin_dir().to_path_buf()));
    let engine = offsite_core::Engine::open(config)
        .await
        .unwrap_or_else(|e| fail(&format!("engine: {e}")));
    engine
        .add_project(offsite_core::AddProject::url(
            "bench",
            pg.url_with_password(db),
        ))
        .await
        .unwrap_or_else(|e| fail(&format!("add project: {e}")));
    let o = engine
        .backup(
            offsite_core::BackupOptions::project("bench"),
            offsite_core::JobStart::default(),
        )
        .await
        .unwrap_or_else(|e| fail(&format!("backup: {e}")));
    PathBuf::from(o.backup.path)
}

fn measured(args: &[&std::ffi::OsStr]) -> (measure::Measured, serde_json::Value) {
    let exe = std::env::current_exe().expect("current_exe");
    let m = measure::run(Command::new(exe).args(args), None)
        .and_then(|m| m.check("a browse child"))
        .unwrap_or_else(|e| fail(&e));
    let v: serde_json::Value =
        serde_json::from_slice(&m.stdout).unwrap_or_else(|e| fail(&format!("child output: {e}")));
    (m, v)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Some(c) = args.child {
        return child(c);
    }
    let tmp = args.tmp.clone().unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(&tmp).expect("temp folder");
    let pg = TestCluster::start();
    let db = pg.unique_db("browse");
    let t = Instant::now();
    fill(&pg, &db, args.rows, args.before_rows);
    eprintln!(
        "dataset: {} + {} rows in {:.1} s",
        args.rows,
        args.before_rows,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let archive = back_up(&pg, &db, dir.path()).await;
    let size = std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "backup: {} ({:.1} MiB) in {:.1} s",
        archive.display(),
        size as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    let a = archive.as_os_str();

    let mut pages = Vec::new();
    for run in 1..=args.runs.max(1) {
        let (m, v) = measured(&[
            "page".as_ref(),
            a,
            "--offset".as_ref(),
            "0".as_ref(),
            "--limit".as_ref(),
            "50".as_ref(),
        ]);
        assert_eq!(v["first_id"], "1", "the first page starts at row 1: {v}");
        println!(
            "first page run {run}: process {:.3} s, page {:.3} s, peak RSS {:.1} MiB",
            m.secs(),
            v["secs"].as_f64().unwrap_or(0.0),
            mib(m.maxrss_kib)
        );
        pages.push(m);
    }
    pages.sort_by_key(|x| x.wall);
    let page = &pages[pages.len() / 2];
    let page_rss = pages.iter().map(|m| m.maxrss_kib).max().unwrap_or(0);

    let deep_at = (args.rows / 5).min(1_000_000);
    let (deep, dv) = measured(&[
        "page".as_ref(),
        a,
        "--offset".as_ref(),
        deep_at.to_string().as_ref(),
        "--limit".as_ref(),
        "50".as_ref(),
    ]);
    let csv = dir.path().join("events.csv");
    let (export, cv) = measured(&["csv".as_ref(), a, csv.as_os_str()]);
    assert_eq!(
        cv["rows"].as_u64(),
        Some(args.rows),
        "every row exported: {cv}"
    );

    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!();
    println!(
        "{:<44} {:>12} {:>10} {:>6}",
        "measure", "measured", "target", ""
    );
    println!(
        "{:<44} {:>10.3} s {:>8.1} s {:>6}",
        format!(
            "first page of {} rows (median of {})",
            args.rows,
            pages.len()
        ),
        page.secs(),
        TARGET_SECS,
        verdict(page.secs() <= TARGET_SECS)
    );
    println!(
        "{:<44} {:>8.1} MiB {:>6.0} MiB {:>6}",
        "  peak RSS (max of runs)",
        mib(page_rss),
        TARGET_RSS_MIB,
        verdict(mib(page_rss) <= TARGET_RSS_MIB)
    );
    println!(
        "{:<44} {:>10.3} s {:>10} {:>6}",
        format!("page at row {deep_at} (read through)"),
        deep.secs(),
        "-",
        ""
    );
    println!(
        "{:<44} {:>8.1} MiB {:>6.0} MiB {:>6}",
        "  peak RSS",
        mib(deep.maxrss_kib),
        TARGET_RSS_MIB,
        verdict(mib(deep.maxrss_kib) <= TARGET_RSS_MIB)
    );
    println!(
        "{:<44} {:>10.1} s {:>10} {:>6}",
        format!(
            "CSV export ({:.0} MiB)",
            cv["bytes"].as_f64().unwrap_or(0.0) / 1048576.0
        ),
        export.secs(),
        "-",
        ""
    );
    println!(
        "{:<44} {:>8.1} MiB {:>6.0} MiB {:>6}",
        "  peak RSS",
        mib(export.maxrss_kib),
        TARGET_RSS_MIB,
        verdict(mib(export.maxrss_kib) <= TARGET_RSS_MIB)
    );
    let json = serde_json::json!({
        "rows": args.rows,
        "archive_mib": size as f64 / 1048576.0,
        "first_page_secs": page.secs(),
        "first_page_call_secs": call_secs(page),
        "first_page_rss_mib": mib(page_rss),
        "deep_page_offset": deep_at,
        "deep_page_secs": deep.secs(),
        "deep_page_call_secs": dv["secs"],
        "deep_page_rss_mib": mib(deep.maxrss_kib),
        "csv_secs": export.secs(),
        "csv_rss_mib": mib(export.maxrss_kib),
    });
    println!("{json}");
}

/// The in-process time of a run (what its child printed).
fn call_secs(m: &measure::Measured) -> f64 {
    serde_json::from_slice::<serde_json::Value>(&m.stdout)
        .ok()
        .and_then(|v| v["secs"].as_f64())
        .unwrap_or(0.0)
}
