//! `offsite-bench`: measures Offsite's backup, verify and restore against the raw tools
//! (`pg_dump -Fp`, `pg_dump -Fc`, `pg_restore`, `sha256sum`) on a generated dataset, in a
//! throwaway PostgreSQL cluster, and prints medians, every run, and PASS/MISS against the targets.
//!
//! Run: `cargo build --release -p offsite-cli && cargo run --release -p offsite-bench -- --size-mb 500 --runs 3`

mod agent;
mod dataset;
mod digests;
mod drill;
mod measure;
mod report;

use clap::Parser;
use dataset::{Dataset, MIB};
use measure::{Measured, ServerCpu};
use offsite_testkit::TestCluster;
use report::{Results, Verdict};
use serde_json::json;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Instant;

/// Benchmark Offsite (backup, verify, restore, peak RSS) against raw pg_dump -Fp / -Fc,
/// pg_restore and sha256sum.
///
/// Starts a throwaway PostgreSQL cluster, generates a mixed-type dataset (users, orders, events:
/// uuid, text, jsonb, text[], numeric, enum, timestamptz; indexes and foreign keys) of at least
/// --size-mb MiB of plain `pg_dump -Fp` text plus a second one of a quarter of that size, runs
/// every measurement --runs times (warm page cache: dropping caches is not possible here) and
/// prints all runs, the medians, and PASS/MISS against the targets. Everything it creates
/// (cluster, temporary files) is removed at the end, also on errors and Ctrl-C.
///
/// Build the CLI first: `cargo build --release -p offsite-cli` (the bench runs
/// target/release/offsite next to itself unless --offsite-bin is given).
#[derive(Parser, Debug)]
#[command(name = "offsite-bench", version, verbatim_doc_comment)]
struct Args {
    /// Minimum size of the large dataset, as MiB of `pg_dump -Fp` output (overshoot ≤ ~5 %).
    #[arg(long, default_value_t = 500, value_name = "MIB")]
    size_mb: u64,
    /// Size of the small dataset (for the "peak RSS flat across sizes" check) as a fraction
    /// 1/N of --size-mb.
    #[arg(long, default_value_t = 4, value_name = "N")]
    small_divisor: u64,
    /// Runs of every measurement; medians are reported (3 or more recommended).
    #[arg(long, default_value_t = 3, value_name = "N")]
    runs: usize,
    /// Only the dataset and the raw tools (pg_dump, pg_restore, sha256sum): no Offsite binary needed.
    #[arg(long)]
    raw_only: bool,
    /// The `offsite` binary (default: `offsite` next to this executable, i.e. target/release/offsite).
    #[arg(long, value_name = "PATH")]
    offsite_bin: Option<PathBuf>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json_out: Option<PathBuf>,
    /// Folder for the temporary files (dumps, archives, Offsite's data folder; needs roughly
    /// 4× --size-mb free). Default: the system temp folder.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Print a few generated rows of each table (to eyeball the data) before measuring.
    #[arg(long)]
    show_sample: bool,
    /// Skip the extra diagnostic measurement `pg_dump -Fc -Z0` (what Offsite runs internally).
    #[arg(long)]
    no_diagnostics: bool,
    /// Only measure what the per-table digests cost a backup (Offsite's backup of the large
    /// dataset with and without them, --runs times each); skips every other measurement.
    #[arg(long)]
    digests_only: bool,
    /// Only measure a restore drill of the large dataset (`offsite drill`) against the same
    /// done by hand (initdb, pg_restore, COPY every table back); with --digests-only, both.
    #[arg(long)]
    drill: bool,
    /// Also time the agent's own backup of the large dataset (`offsite serve` next to the
    /// cluster, triggered over HTTP, timed from the request to `COMPLETED`) against the CLI's.
    #[arg(long)]
    agent: bool,
}

fn main() {
    let args = Args::parse();
    if args.runs == 0 {
        eprintln!("offsite-bench: --runs must be at least 1");
        std::process::exit(2);
    }
    if args.runs < 3 {
        eprintln!("offsite-bench: warning: fewer than 3 runs; medians are not robust");
    }
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

/// A temporary folder that is removed on drop, and by a watchdog process if we die first
/// (SIGKILL, Ctrl-C).
struct WorkDir {
    path: PathBuf,
    watchdog: Option<(Child, ChildStdin)>,
}

impl WorkDir {
    fn new(base: &Path) -> Result<WorkDir, String> {
        let path = tempfile::Builder::new()
            .prefix("offsite-bench-")
            .tempdir_in(base)
            .map_err(|e| format!("creating a temporary folder in {}: {e}", base.display()))?
            .keep();
        let mut cmd = Command::new("/bin/sh");
        cmd.args([
            "-c",
            r#"cat >/dev/null; rm -rf -- "$1""#,
            "offsite-bench-watchdog",
        ])
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
        let watchdog = match cmd.spawn() {
            Ok(mut child) => {
                let stdin = child.stdin.take().expect("piped");
                Some((child, stdin))
            }
            Err(e) => {
                eprintln!(
                    "warning: no cleanup watchdog ({e}); {} stays if the bench is killed",
                    path.display()
                );
                None
            }
        };
        Ok(WorkDir { path, watchdog })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        if let Some((mut child, stdin)) = self.watchdog.take() {
            drop(stdin);
            let _ = child.wait();
        }
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

fn run(args: &Args) -> Result<(), String> {
    let t_all = Instant::now();
    let load_start = loadavg();
    let offsite_bin = if args.raw_only {
        None
    } else {
        let bin = match &args.offsite_bin {
            Some(b) => b.clone(),
            None => std::env::current_exe()
                .map_err(|e| format!("current_exe: {e}"))?
                .with_file_name("offsite"),
        };
        if !bin.is_file() {
            return Err(format!(
                "the offsite binary {} does not exist: build it first with `cargo build --release -p offsite-cli` \
                 (or pass --offsite-bin, or --raw-only)",
                bin.display()
            ));
        }
        Some(bin)
    };
    let mut notes: Vec<String> = Vec::new();
    if let Some(bin) = &offsite_bin {
        let version = Command::new(bin)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        notes.push(format!("Offsite binary: {} ({version})", bin.display()));
        if let Some(newer) = newer_source(bin) {
            let w = format!(
                "WARNING: {} is older than {} — the numbers are for an older build; run `cargo build --release -p offsite-cli`",
                bin.display(),
                newer.display()
            );
            eprintln!("{w}");
            notes.push(w);
        }
    }

    let base = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = WorkDir::new(&base)?;
    let w = work.path.clone();
    eprintln!("work folder: {}", w.display());

    eprintln!("starting a throwaway PostgreSQL cluster…");
    let pg = TestCluster::start();
    tune(&pg)?;
    let pg_version = pg.try_psql("postgres", "SHOW server_version")?;
    eprintln!(
        "PostgreSQL {pg_version} on port {} ({})",
        pg.port(),
        pg.bin_dir().display()
    );
    let srv = ServerCpu::new(pg.data_dir());

    // ---- datasets ----------------------------------------------------------------------------
    let target = args.size_mb * 1024 * 1024;
    let small_target = (target / args.small_divisor.max(1)).max(1024 * 1024);
    eprintln!("calibrating the generator…");
    let t0 = Instant::now();
    let per_unit = dataset::calibrate(&pg, &w, 10)?;
    eprintln!(
        "  {:.2} MiB of dump text per unit ({:.1} s)",
        per_unit / MIB,
        t0.elapsed().as_secs_f64()
    );
    eprintln!(
        "generating the large dataset (≥ {} MiB of dump text)…",
        args.size_mb
    );
    let large = dataset::build(&pg, "bench_large", target, per_unit, &w)?;
    eprintln!(
        "  {:.1} MiB dump text, {:.1} MiB on disk, in {:.0} s",
        mib(large.dump_bytes),
        mib(large.db_bytes),
        large.generate_secs
    );
    let small = if args.raw_only || args.digests_only || args.drill {
        None
    } else {
        eprintln!(
            "generating the small dataset (≥ {:.0} MiB of dump text)…",
            mib(small_target)
        );
        let d = dataset::build(&pg, "bench_small", small_target, per_unit, &w)?;
        eprintln!(
            "  {:.1} MiB dump text, {:.1} MiB on disk, in {:.0} s",
            mib(d.dump_bytes),
            mib(d.db_bytes),
            d.generate_secs
        );
        Some(d)
    };
    let source_counts = row_counts(&pg, "bench_large")?;
    if args.show_sample {
        for t in ["users", "orders", "events"] {
            let rows = pg.try_psql(
                "bench_large",
                &format!("SELECT * FROM {t} ORDER BY random() LIMIT 3"),
            )?;
            eprintln!("--- sample of {t} ---\n{rows}");
        }
    }

    // ---- Offsite projects -------------------------------------------------------------------
    let off = offsite_bin.map(|bin| Offsite {
        bin,
        data_dir: w.join("offsite-data"),
        pg: &pg,
    });
    if let Some(o) = &off {
        let with_small = small.as_ref().map(|_| ("bench_small", "bench_small"));
        for (name, db) in std::iter::once(("bench", "bench_large")).chain(with_small) {
            // The env secret store is read-only: the password comes from PGPASSWORD at run time.
            let mut c = o.cmd();
            c.args(["project", "add", name, "--db", &o.url(db)]);
            measure::run(&mut c, None)?.check(&format!("offsite project add {name}"))?;
        }
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

    // ---- runs -------------------------------------------------------------------------------
    let mut r = Results::default();
    let fp_file = w.join("large.sql");
    let fc_file = w.join("large.dump");
    let fc0_file = w.join("large.z0.dump");
    for run in 1..=args.runs {
        eprintln!("run {run}/{}…", args.runs);
        for f in [&fp_file, &fc_file, &fc0_file] {
            let _ = std::fs::remove_file(f);
        }

        // a. pg_dump -Fp
        let mut c = pg.command("pg_dump");
        c.args(pg.conn_args())
            .args(["-Fp", "-f"])
            .arg(&fp_file)
            .args(["-d", "bench_large"]);
        let (m, scpu) = timed(&pg, &srv, &mut c, None, "pg_dump -Fp")?;
        let fp_bytes = file_size(&fp_file)?;
        r.add("fp_secs", "pg_dump -Fp time", "s", m.secs());
        r.add("fp_mib", "pg_dump -Fp output size", "MiB", mib(fp_bytes));
        r.add("fp_cpu", "pg_dump -Fp client CPU", "s", m.cpu.as_secs_f64());
        r.add("fp_srv_cpu", "pg_dump -Fp server CPU", "s", scpu);
        eprintln!(
            "  pg_dump -Fp          {:7.2} s  {:8.1} MiB",
            m.secs(),
            mib(fp_bytes)
        );

        // b. pg_dump -Fc (default compression)
        let mut c = pg.command("pg_dump");
        c.args(pg.conn_args())
            .args(["-Fc", "-f"])
            .arg(&fc_file)
            .args(["-d", "bench_large"]);
        let (m, scpu) = timed(&pg, &srv, &mut c, None, "pg_dump -Fc")?;
        let fc_bytes = file_size(&fc_file)?;
        r.add("fc_secs", "pg_dump -Fc time", "s", m.secs());
        r.add("fc_mib", "pg_dump -Fc file size", "MiB", mib(fc_bytes));
        r.add("fc_cpu", "pg_dump -Fc client CPU", "s", m.cpu.as_secs_f64());
        r.add("fc_srv_cpu", "pg_dump -Fc server CPU", "s", scpu);
        eprintln!(
            "  pg_dump -Fc          {:7.2} s  {:8.1} MiB",
            m.secs(),
            mib(fc_bytes)
        );

        // diagnostic: pg_dump -Fc -Z0 (what Offsite runs, before its own gzip + hashing)
        if !args.no_diagnostics {
            let mut c = pg.command("pg_dump");
            c.args(pg.conn_args())
                .args(["-Fc", "-Z0", "-f"])
                .arg(&fc0_file)
                .args(["-d", "bench_large"]);
            let (m, _) = timed(&pg, &srv, &mut c, None, "pg_dump -Fc -Z0")?;
            r.add("fc0_secs", "(diag) pg_dump -Fc -Z0 time", "s", m.secs());
            r.add(
                "fc0_mib",
                "(diag) pg_dump -Fc -Z0 size",
                "MiB",
                mib(file_size(&fc0_file)?),
            );
            eprintln!("  pg_dump -Fc -Z0      {:7.2} s", m.secs());
            let _ = std::fs::remove_file(&fc0_file);
        }

        // c. offsite backup
        let archive_dir = w.join(format!("archives-{run}"));
        let mut archive: Option<(PathBuf, u64)> = None;
        if let Some(o) = &off {
            let mut c = o.cmd();
            c.args(["backup", "bench", "--dest"]).arg(&archive_dir);
            let (m, scpu) = timed(&pg, &srv, &mut c, None, "offsite backup (large)")?;
            let v = json_of(&m, "offsite backup")?;
            let path = PathBuf::from(
                v["path"]
                    .as_str()
                    .ok_or("offsite backup: no \"path\" in its JSON")?,
            );
            let size = file_size(&path)?;
            r.add("off_secs", "Offsite backup time", "s", m.secs());
            r.add("off_mib", "Offsite archive size", "MiB", mib(size));
            r.add(
                "off_cpu",
                "Offsite backup client CPU (offsite + pg_dump)",
                "s",
                m.cpu.as_secs_f64(),
            );
            r.add("off_srv_cpu", "Offsite backup server CPU", "s", scpu);
            r.add(
                "off_rss",
                "Offsite backup peak RSS, large (wait4, incl. pg_dump)",
                "MiB",
                m.maxrss_kib as f64 / 1024.0,
            );
            r.add(
                "off_hwm",
                "Offsite backup peak RSS, large (offsite process only)",
                "MiB",
                m.own_hwm_kib.map_or(f64::NAN, |k| k as f64 / 1024.0),
            );
            if let Some(d) = m.child("pg_dump") {
                r.add(
                    "off_pre",
                    "Offsite backup: before pg_dump starts",
                    "s",
                    d.first_seen,
                );
                r.add(
                    "off_dump",
                    "Offsite backup: while pg_dump runs",
                    "s",
                    d.last_seen - d.first_seen,
                );
                r.add(
                    "off_post",
                    "Offsite backup: after pg_dump exits (globals, packing, fsync, catalog)",
                    "s",
                    m.secs() - d.last_seen,
                );
            }
            eprintln!(
                "  offsite backup       {:7.2} s  {:8.1} MiB  peak RSS {:.1} MiB",
                m.secs(),
                mib(size),
                m.maxrss_kib as f64 / 1024.0
            );
            archive = Some((path, size));
        }

        // c2. the agent's own backup of the same database
        if let Some(a) = &bench_agent {
            let run = a.backup()?;
            r.add(
                "agent_secs",
                "Agent backup time (its job: started → finished)",
                "s",
                run.job_secs,
            );
            r.add(
                "agent_wall_secs",
                "Agent backup seen from the laptop (request → COMPLETED, 50 ms polls)",
                "s",
                run.secs,
            );
            r.add("agent_mib", "Agent archive size", "MiB", mib(run.size));
            eprintln!(
                "  agent backup         {:7.2} s  {:8.1} MiB  (seen from the laptop: {:.2} s)",
                run.job_secs,
                mib(run.size),
                run.secs
            );
        }

        // d. verify vs sha256sum
        if let (Some(o), Some((path, size))) = (&off, &archive) {
            let mut c = o.cmd();
            c.arg("inspect").arg(path);
            let m = measure::run(&mut c, None)?.check("offsite inspect")?;
            let manifest = json_of(&m, "offsite inspect")?;
            let data_bytes: u64 = manifest["members"]
                .as_array()
                .ok_or("offsite inspect: no \"members\" in its JSON")?
                .iter()
                .filter_map(|m| m["size"].as_u64())
                .sum();

            let mut c = o.cmd();
            c.arg("verify").arg(path);
            let (m, _) = timed(&pg, &srv, &mut c, None, "offsite verify")?;
            let v = json_of(&m, "offsite verify")?;
            if v["ok"].as_bool() != Some(true) {
                return Err(format!("offsite verify did not report ok: {v}"));
            }
            r.add("verify_secs", "Offsite verify time", "s", m.secs());
            r.add(
                "verify_mibps",
                "Offsite verify, archive bytes/s",
                "MiB/s",
                mib(*size) / m.secs(),
            );
            r.add(
                "verify_data_mibps",
                "Offsite verify, uncompressed member bytes/s",
                "MiB/s",
                mib(data_bytes) / m.secs(),
            );
            r.add("verify_cpu", "Offsite verify CPU", "s", m.cpu.as_secs_f64());
            r.add(
                "data_mib",
                "archive members, uncompressed",
                "MiB",
                mib(data_bytes),
            );
            eprintln!(
                "  offsite verify       {:7.2} s  {:8.1} MiB/s archive, {:.1} MiB/s data",
                m.secs(),
                mib(*size) / m.secs(),
                mib(data_bytes) / m.secs()
            );

            let mut c = Command::new("sha256sum");
            c.arg(path);
            let (m, _) = timed(&pg, &srv, &mut c, None, "sha256sum ARCHIVE")?;
            r.add("sha_arch_secs", "sha256sum archive time", "s", m.secs());
            r.add(
                "sha_arch_mibps",
                "sha256sum archive",
                "MiB/s",
                mib(*size) / m.secs(),
            );
            eprintln!(
                "  sha256sum archive    {:7.2} s  {:8.1} MiB/s",
                m.secs(),
                mib(*size) / m.secs()
            );
        }
        let mut c = Command::new("sha256sum");
        c.arg(&fp_file);
        let (m, _) = timed(&pg, &srv, &mut c, None, "sha256sum DUMP.sql")?;
        r.add("sha_fp_secs", "sha256sum -Fp dump time", "s", m.secs());
        r.add(
            "sha_fp_mibps",
            "sha256sum -Fp dump",
            "MiB/s",
            mib(fp_bytes) / m.secs(),
        );
        eprintln!(
            "  sha256sum -Fp dump   {:7.2} s  {:8.1} MiB/s",
            m.secs(),
            mib(fp_bytes) / m.secs()
        );
        let _ = std::fs::remove_file(&fp_file);

        // e. restores, each into a fresh empty database
        let db = format!("restore_pg_{run}");
        pg.create_db(&db);
        let mut c = pg.command("pg_restore");
        c.args(pg.conn_args()).args(["-d", &db]).arg(&fc_file);
        let res = timed(&pg, &srv, &mut c, None, "pg_restore");
        let counts = res.as_ref().ok().map(|_| row_counts(&pg, &db));
        pg.drop_db(&db);
        let (m, scpu) = res?;
        if let Some(c) = counts {
            let c = c?;
            if c != source_counts {
                return Err(format!(
                    "pg_restore: restored row counts {c} differ from the source's {source_counts}"
                ));
            }
        }
        r.add("pgr_secs", "pg_restore time", "s", m.secs());
        r.add("pgr_cpu", "pg_restore client CPU", "s", m.cpu.as_secs_f64());
        r.add("pgr_srv_cpu", "pg_restore server CPU", "s", scpu);
        eprintln!("  pg_restore           {:7.2} s", m.secs());

        if let (Some(o), Some((path, _))) = (&off, &archive) {
            let db = format!("restore_off_{run}");
            pg.create_db(&db);
            let mut c = o.cmd();
            c.arg("restore")
                .arg(path)
                .args(["--to", &o.url(&db), "--yes"]);
            let res = timed(&pg, &srv, &mut c, None, "offsite restore");
            let counts = res.as_ref().ok().map(|_| row_counts(&pg, &db));
            pg.drop_db(&db);
            let (m, scpu) = res?;
            let v = json_of(&m, "offsite restore")?;
            if v["report"]["ok"].as_bool() != Some(true) {
                return Err(format!("offsite restore did not report ok: {v}"));
            }
            if let Some(c) = counts {
                let c = c?;
                if c != source_counts {
                    return Err(format!("offsite restore: restored row counts {c} differ from the source's {source_counts}"));
                }
            }
            r.add("offr_secs", "Offsite restore time", "s", m.secs());
            if let Some(d) = m.child("pg_restore") {
                r.add(
                    "offr_pre",
                    "Offsite restore: before the main pg_restore (plan, checks)",
                    "s",
                    d.first_seen,
                );
                r.add(
                    "offr_restore",
                    "Offsite restore: while the main pg_restore runs",
                    "s",
                    d.last_seen - d.first_seen,
                );
                r.add(
                    "offr_post",
                    "Offsite restore: after pg_restore exits (validation)",
                    "s",
                    m.secs() - d.last_seen,
                );
            }
            r.add(
                "offr_cpu",
                "Offsite restore client CPU (offsite + pg_restore)",
                "s",
                m.cpu.as_secs_f64(),
            );
            r.add("offr_srv_cpu", "Offsite restore server CPU", "s", scpu);
            r.add(
                "offr_rss",
                "Offsite restore peak RSS (wait4, incl. pg_restore)",
                "MiB",
                m.maxrss_kib as f64 / 1024.0,
            );
            eprintln!("  offsite restore      {:7.2} s", m.secs());
        }
        let _ = std::fs::remove_file(&fc_file);
        let _ = std::fs::remove_dir_all(&archive_dir);

        // f. peak RSS on the small dataset
        if let Some(o) = &off {
            let dir = w.join(format!("archives-small-{run}"));
            let mut c = o.cmd();
            c.args(["backup", "bench_small", "--dest"]).arg(&dir);
            let (m, _) = timed(&pg, &srv, &mut c, None, "offsite backup (small)")?;
            r.add("small_secs", "Offsite backup time, small", "s", m.secs());
            r.add(
                "small_rss",
                "Offsite backup peak RSS, small (wait4, incl. pg_dump)",
                "MiB",
                m.maxrss_kib as f64 / 1024.0,
            );
            r.add(
                "small_hwm",
                "Offsite backup peak RSS, small (offsite process only)",
                "MiB",
                m.own_hwm_kib.map_or(f64::NAN, |k| k as f64 / 1024.0),
            );
            eprintln!(
                "  offsite backup small {:7.2} s  peak RSS {:.1} MiB",
                m.secs(),
                m.maxrss_kib as f64 / 1024.0
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    // ---- report -------------------------------------------------------------------------------
    let verdicts = verdicts(&r, args.raw_only);
    let mut text = String::new();
    text.push_str(&format!(
        "\n## offsite-bench: {} runs, large dataset {:.1} MiB of pg_dump -Fp text{}\n\n",
        args.runs,
        mib(large.dump_bytes),
        small
            .as_ref()
            .map(|s| format!(", small dataset {:.1} MiB", mib(s.dump_bytes)))
            .unwrap_or_default()
    ));
    text.push_str(&format!(
        "PostgreSQL {pg_version} (throwaway cluster, fsync=off), {} × {}, warm page cache (caches cannot be dropped here); \
         `sync` + CHECKPOINT before every timed step. MiB = 2^20 bytes.\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_model()
    ));
    for d in std::iter::once(&large).chain(small.iter()) {
        text.push_str(&describe(d));
    }
    for n in &notes {
        text.push_str(&format!("- {n}\n"));
    }
    if !verdicts.is_empty() {
        text.push_str("\n### Targets (ratios of medians)\n\n");
        text.push_str(&report::verdict_table(&verdicts));
    }
    text.push_str("\n### All runs\n\n");
    text.push_str(&report::runs_table(&r, args.runs));
    text.push_str(&format!(
        "\ntotal bench time: {:.0} s; load average at start {load_start}, at end {} (other work on the machine skews timings)\n",
        t_all.elapsed().as_secs_f64(),
        loadavg()
    ));
    println!("{text}");
    let _ = std::io::stdout().flush();

    if let Some(path) = &args.json_out {
        let doc = json!({
            "size_mb_target": args.size_mb,
            "runs": args.runs,
            "raw_only": args.raw_only,
            "postgres_version": pg_version,
            "cpu": cpu_model(),
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "cache": "warm (page cache not dropped); sync + CHECKPOINT before each timed step",
            "datasets": { "large": large, "small": small },
            "notes": notes,
            "series": r.series,
            "targets": verdicts,
            "total_secs": t_all.elapsed().as_secs_f64(),
            "loadavg": { "start": load_start, "end": loadavg() },
        });
        std::fs::write(
            path,
            serde_json::to_string_pretty(&doc).expect("serializable") + "\n",
        )
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("results written to {}", path.display());
    }
    drop(pg);
    drop(work);
    Ok(())
}

/// A source file of the engine or the CLI newer than `bin` (when this runs from the repository).
fn newer_source(bin: &Path) -> Option<PathBuf> {
    let built = std::fs::metadata(bin).and_then(|m| m.modified()).ok()?;
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let mut stack: Vec<PathBuf> = [
        "core/src",
        "core/migrations",
        "cli/src",
        "core/Cargo.toml",
        "cli/Cargo.toml",
    ]
    .iter()
    .map(|p| crates.join(p))
    .collect();
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if let Ok(t) = meta.modified() {
            if t > built && newest.as_ref().is_none_or(|(n, _)| t > *n) {
                newest = Some((t, p));
            }
        }
    }
    newest.map(|(_, p)| p)
}

fn describe(d: &Dataset) -> String {
    format!(
        "- `{}`: {:.1} MiB dump text, {:.1} MiB database; {} users, {} orders, {} events (generated in {:.0} s)\n",
        d.db,
        mib(d.dump_bytes),
        mib(d.db_bytes),
        d.rows.users,
        d.rows.orders,
        d.rows.events + d.extra_events,
        d.generate_secs
    )
}

/// Server settings for speed (the testkit already has fsync, full_page_writes and
/// synchronous_commit off). WAL level stays as the testkit sets it, so that pg_restore's plain
/// and Offsite's single-transaction restore write the same WAL.
fn tune(pg: &TestCluster) -> Result<(), String> {
    pg.try_psql(
        "postgres",
        "ALTER SYSTEM SET shared_buffers = '1GB';
         ALTER SYSTEM SET maintenance_work_mem = '512MB';
         ALTER SYSTEM SET work_mem = '64MB';
         ALTER SYSTEM SET max_wal_size = '8GB';
         ALTER SYSTEM SET checkpoint_timeout = '1h';
         ALTER SYSTEM SET wal_buffers = '64MB';
         ALTER SYSTEM SET autovacuum = off;
         ALTER SYSTEM SET jit = off;",
    )
    .map_err(|e| format!("tuning the cluster: {e}"))?;
    pg.restart();
    Ok(())
}

fn verdicts(r: &Results, raw_only: bool) -> Vec<Verdict> {
    let mut v = Vec::new();
    if raw_only {
        return v;
    }
    let m = |k: &str| r.median(k).unwrap_or(f64::NAN);
    let (fp, fc, off) = (m("fp_secs"), m("fc_secs"), m("off_secs"));
    v.push(Verdict::at_least(
        "backup speed vs pg_dump -Fp",
        format!("{fp:.2} s / {off:.2} s"),
        fp / off,
        0.9,
        "t_fp / t_offsite",
    ));
    v.push(Verdict::at_least(
        "backup speed vs pg_dump -Fc",
        format!("{fc:.2} s / {off:.2} s"),
        fc / off,
        3.0,
        "t_fc / t_offsite",
    ));
    let (sz_off, sz_fc) = (m("off_mib"), m("fc_mib"));
    v.push(Verdict::at_most(
        "archive size vs pg_dump -Fc file",
        format!("{sz_off:.1} MiB / {sz_fc:.1} MiB"),
        sz_off / sz_fc,
        1.2,
        "",
    ));
    let (pgr, offr) = (m("pgr_secs"), m("offr_secs"));
    v.push(Verdict::at_least(
        "restore speed vs pg_restore",
        format!("{pgr:.2} s / {offr:.2} s"),
        pgr / offr,
        0.9,
        "t_pg_restore / t_offsite",
    ));
    let (va, sa) = (m("verify_mibps"), m("sha_arch_mibps"));
    v.push(Verdict::at_least(
        "verify vs sha256sum, same archive",
        format!("{va:.0} / {sa:.0} MiB/s"),
        va / sa,
        3.0,
        "archive bytes/s",
    ));
    let (vd, sf) = (m("verify_data_mibps"), m("sha_fp_mibps"));
    v.push(Verdict::at_least(
        "verify vs sha256sum, data bytes",
        format!("{vd:.0} / {sf:.0} MiB/s"),
        vd / sf,
        3.0,
        "uncompressed member bytes/s vs sha256sum of the -Fp dump",
    ));
    if r.median("agent_secs").is_some() {
        let agent = m("agent_secs");
        v.push(Verdict::at_least(
            "agent's backup speed vs the local CLI's",
            format!("{off:.2} s / {agent:.2} s"),
            off / agent,
            1.0,
            "t_cli / t_agent (same database, same machine)",
        ));
    }
    let (rl, rs) = (m("off_rss"), m("small_rss"));
    v.push(Verdict::at_most(
        "peak RSS, large dataset",
        format!("{rl:.1} MiB"),
        rl / 64.0,
        1.0,
        "vs 64 MiB",
    ));
    v.push(Verdict::at_most(
        "peak RSS, small dataset",
        format!("{rs:.1} MiB"),
        rs / 64.0,
        1.0,
        "vs 64 MiB",
    ));
    v.push(Verdict::at_most(
        "peak RSS flat across sizes",
        format!("{rl:.1} / {rs:.1} MiB"),
        rl / rs,
        1.2,
        "large / small; flat = within 20 %",
    ));
    v
}
