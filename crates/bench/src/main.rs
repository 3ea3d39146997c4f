//! `offsite-bench`: measures Offsite's backup, verify and restore against the raw tools
//! (`pg_dump -Fp`, `pg_dump -Fc`, `pg_restore`, `sha256sum`) on a generated dataset, in a
//! throwaway PostgreSQL cluster, and prints medians, every run, and PASS/MISS against the targets.
//!
//! Run: `cargo build --release -p offsite-cli && cargo run --release -p offsite-bench -- --size-mb 500 --runs 3`

mod agent;
mod args;
mod dataset;
mod diff_recover;
mod digests;
mod drill;
mod large;
mod large_gen;
mod large_report;
mod measure;
mod notify;
mod notify_delivery;
mod notify_metrics;
mod pitr;
mod pitr_crypt;
mod pitr_objects;
mod pitr_physical;
mod pitr_replay;
mod report;
mod setup;
#[allow(dead_code)]
mod storage_fixture;
mod suite;
mod summary;
mod tenants_gen;
mod workdir;

use args::Args;
use dataset::MIB;
use measure::{Measured, ServerCpu};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use workdir::WorkDir;

fn main() {
    let args = Args::parse_checked();
    // Panics inside (e.g. the testkit) unwind through run(), whose locals clean up on drop.
    let code = match std::panic::catch_unwind(|| run(&args)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            eprintln!("\noffsite-bench: error: {e}");
            1
        }
        Err(_) => {
            eprintln!("\noffsite-bench: aborted by a panic (see above); temporary files and the cluster were removed");
            1
        }
    };
    std::process::exit(code);
}

/// Sets up (binary, work folder, cluster, datasets, projects), then runs the chosen mode.
fn run(args: &Args) -> Result<(), String> {
    if args.tokio_sleep_floor {
        notify::tokio_sleep_floor();
    }
    let t_all = Instant::now();
    let load_start = loadavg();
    let (offsite_bin, notes) = setup::offsite_binary(args)?;
    if args.notify {
        let bin = offsite_bin.ok_or("--notify needs the offsite binary")?;
        return notify::run(args, &bin);
    }
    if args.large {
        let bin = offsite_bin.ok_or("--large needs the offsite binary")?;
        return large::run(args, bin, notes);
    }
    let base = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = WorkDir::new(&base)?;
    let w = work.path.clone();
    eprintln!("work folder: {}", w.display());
    let (pg, pg_version) = setup::start_cluster()?;
    let srv = ServerCpu::new(pg.data_dir());
    if args.pitr_replay {
        let o = Offsite {
            bin: offsite_bin.ok_or("--pitr-replay needs the offsite binary")?,
            data_dir: w.join("offsite-data"),
            pg: &pg,
        };
        return pitr_replay::run(&pitr::PitrBench {
            offsite: &o,
            pg: &pg,
            runs: args.runs,
            scale: args.pgbench_scale,
            secs: args.pgbench_secs,
            builtin: args.pgbench_builtin.clone(),
        });
    }
    if args.pitr_encrypted {
        let o = Offsite {
            bin: offsite_bin.ok_or("--pitr-encrypted needs the offsite binary")?,
            data_dir: w.join("offsite-data"),
            pg: &pg,
        };
        return pitr_crypt::run_bench(&o, &pg, args.runs);
    }
    if args.pitr_objects {
        let o = Offsite {
            bin: offsite_bin.ok_or("--pitr-objects needs the offsite binary")?,
            data_dir: w.join("offsite-data"),
            pg: &pg,
        };
        return pitr_objects::run_bench(
            &o,
            &pg,
            args.runs,
            args.pitr_objects_count,
            args.pitr_objects_kib,
        );
    }
    if args.pitr_physical {
        let o = Offsite {
            bin: offsite_bin.ok_or("--pitr-physical needs the offsite binary")?,
            data_dir: w.join("offsite-data"),
            pg: &pg,
        };
        let b = pitr::PitrBench {
            offsite: &o,
            pg: &pg,
            runs: args.runs,
            scale: args.pgbench_scale,
            secs: args.pgbench_secs,
            builtin: args.pgbench_builtin.clone(),
        };
        return pitr_physical::run(&b, &w);
    }
    if args.pitr {
        let o = Offsite {
            bin: offsite_bin.ok_or("--pitr needs the offsite binary")?,
            data_dir: w.join("offsite-data"),
            pg: &pg,
        };
        return pitr::run(&pitr::PitrBench {
            offsite: &o,
            pg: &pg,
            runs: args.runs,
            scale: args.pgbench_scale,
            secs: args.pgbench_secs,
            builtin: args.pgbench_builtin.clone(),
        });
    }
    if args.recover && !args.diff {
        let o = Offsite {
            bin: offsite_bin.ok_or("--recover needs the offsite binary")?,
            data_dir: w.join("offsite-data"),
            pg: &pg,
        };
        return diff_recover::run_recover(
            &row_bench(args, &o, &pg, &w),
            args.tenant_mb,
            args.tenants,
        );
    }
    let data = setup::datasets(args, &pg, &w)?;
    let off = offsite_bin.map(|bin| Offsite {
        bin,
        data_dir: w.join("offsite-data"),
        pg: &pg,
    });
    if let Some(o) = &off {
        setup::add_projects(o, data.small.is_some())?;
    }

    if args.diff {
        let o = off.as_ref().ok_or("--diff needs the offsite binary")?;
        let b = row_bench(args, o, &pg, &w);
        diff_recover::run_diff(&b)?;
        if args.recover {
            diff_recover::run_recover(&b, args.tenant_mb, args.tenants)?;
        }
        return Ok(());
    }
    if args.digests_only || args.drill {
        let o = off
            .as_ref()
            .ok_or("--digests-only/--drill need the offsite binary")?;
        if args.digests_only {
            digests::run(o, &pg, &srv, &w, args.runs)?;
        }
        if args.drill {
            let (offsite, work, runs) = (o, w.as_path(), args.runs);
            drill::run(&drill::DrillBench {
                offsite,
                pg: &pg,
                work,
                runs,
            })?;
        }
        return Ok(());
    }

    let bench_agent = match (&off, args.agent) {
        (Some(o), true) => {
            eprintln!("starting the agent (offsite serve)…");
            Some(agent::BenchAgent::start(
                &o.bin,
                &pg,
                &o.url("bench_large"),
                &w.join("agent"),
            )?)
        }
        _ => None,
    };
    let suite = suite::Suite {
        args,
        pg: &pg,
        srv: &srv,
        off: off.as_ref(),
        agent: bench_agent.as_ref(),
        w: &w,
        source_counts: &data.source_counts,
    };
    let r = suite.run_all()?;
    let cx = summary::Context {
        args,
        pg_version: &pg_version,
        data: &data,
        notes: &notes,
        t_all,
        load_start: &load_start,
    };
    summary::print(&cx, &r)?;
    drop(bench_agent);
    drop(off);
    drop(pg);
    drop(work);
    Ok(())
}

fn row_bench<'a>(
    args: &Args,
    o: &'a Offsite<'a>,
    pg: &'a TestCluster,
    w: &'a Path,
) -> diff_recover::RowBench<'a> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    diff_recover::RowBench {
        offsite: o,
        pg,
        work: w,
        runs: args.runs,
        jobs: args.jobs.unwrap_or(cores),
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB
}

fn file_size(p: &Path) -> Result<u64, String> {
    std::fs::metadata(p)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", p.display()))
}

/// Flush dirty pages (ours and the server's) so one step's writes are not paid by the next.
fn settle(pg: &TestCluster) {
    // SAFETY: plain syscall.
    unsafe { libc::sync() };
    let _ = pg.try_psql("postgres", "CHECKPOINT");
    unsafe { libc::sync() };
}

/// Times a command with the server's CPU use alongside.
fn timed(
    pg: &TestCluster,
    srv: &Option<ServerCpu>,
    cmd: &mut Command,
    stdin: Option<&[u8]>,
    what: &str,
) -> Result<(Measured, f64), String> {
    settle(pg);
    let before = srv.as_ref().map(|s| s.total());
    let m = measure::run(cmd, stdin)?.check(what)?;
    std::thread::sleep(std::time::Duration::from_millis(100)); // let the backend exit and be reaped
    let server_cpu = match (srv, before) {
        (Some(s), Some(b)) => (s.total() - b).max(0.0),
        _ => f64::NAN,
    };
    Ok((m, server_cpu))
}

struct Offsite<'a> {
    bin: PathBuf,
    data_dir: PathBuf,
    pg: &'a TestCluster,
}

impl Offsite<'_> {
    fn cmd(&self) -> Command {
        let mut c = self.pg.command(&self.bin);
        c.env("OFFSITE_SECRET_STORE", "env")
            .env_remove("OFFSITE_DATA_DIR")
            .env_remove("OFFSITE_PG_BIN")
            .env_remove("OFFSITE_LOG");
        c.arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--json")
            .arg("--pg-bin")
            .arg(self.pg.bin_dir());
        c
    }
    fn url(&self, db: &str) -> String {
        format!("{}?sslmode=disable", self.pg.url(db))
    }
}

fn json_of(m: &Measured, what: &str) -> Result<serde_json::Value, String> {
    serde_json::from_slice(&m.stdout).map_err(|e| {
        format!(
            "{what}: output is not JSON ({e}): {}",
            String::from_utf8_lossy(&m.stdout)
        )
    })
}

fn row_counts(pg: &TestCluster, db: &str) -> Result<String, String> {
    pg.try_psql(db, "SELECT (SELECT count(*) FROM users) || '/' || (SELECT count(*) FROM orders) || '/' || (SELECT count(*) FROM events)")
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
