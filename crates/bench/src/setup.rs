//! What every mode needs before measuring: the `offsite` binary, the tuned cluster, the
//! generated datasets and the Offsite projects over them.

use crate::args::Args;
use crate::dataset::{self, Dataset, MIB};
use crate::measure;
use crate::{mib, row_counts, Offsite};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The `offsite` binary to measure (none with --raw-only) and notes about it for the report.
pub fn offsite_binary(args: &Args) -> Result<(Option<PathBuf>, Vec<String>), String> {
    let mut notes: Vec<String> = Vec::new();
    if args.raw_only {
        return Ok((None, notes));
    }
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
    let version = Command::new(&bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    notes.push(format!("Offsite binary: {} ({version})", bin.display()));
    if let Some(newer) = newer_source(&bin) {
        let w = format!(
            "WARNING: {} is older than {} — the numbers are for an older build; run `cargo build --release -p offsite-cli`",
            bin.display(),
            newer.display()
        );
        eprintln!("{w}");
        notes.push(w);
    }
    Ok((Some(bin), notes))
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
/// Starts the throwaway cluster tuned for speed; returns it with its version.
pub fn start_cluster() -> Result<(TestCluster, String), String> {
    eprintln!("starting a throwaway PostgreSQL cluster…");
    let pg = TestCluster::start();
    tune(&pg)?;
    let pg_version = pg.try_psql("postgres", "SHOW server_version")?;
    eprintln!(
        "PostgreSQL {pg_version} on port {} ({})",
        pg.port(),
        pg.bin_dir().display()
    );
    Ok((pg, pg_version))
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
/// The generated datasets: the large one always, the small one only for the full suite.
pub struct Datasets {
    pub large: Dataset,
    pub small: Option<Dataset>,
    /// Row counts of the large dataset (`users/orders/events`), to check restores against.
    pub source_counts: String,
}

pub fn datasets(args: &Args, pg: &TestCluster, w: &Path) -> Result<Datasets, String> {
    let target = args.size_mb * 1024 * 1024;
    let small_target = (target / args.small_divisor.max(1)).max(1024 * 1024);
    eprintln!("calibrating the generator…");
    let t0 = Instant::now();
    let per_unit = dataset::calibrate(pg, w, 10)?;
    eprintln!(
        "  {:.2} MiB of dump text per unit ({:.1} s)",
        per_unit / MIB,
        t0.elapsed().as_secs_f64()
    );
    eprintln!(
        "generating the large dataset (≥ {} MiB of dump text)…",
        args.size_mb
    );
    let large = dataset::build(pg, "bench_large", target, per_unit, w)?;
    eprintln!(
        "  {:.1} MiB dump text, {:.1} MiB on disk, in {:.0} s",
        mib(large.dump_bytes),
        mib(large.db_bytes),
        large.generate_secs
    );
    let small = if args.raw_only || args.digests_only || args.drill || args.diff {
        None
    } else {
        eprintln!(
            "generating the small dataset (≥ {:.0} MiB of dump text)…",
            mib(small_target)
        );
        let d = dataset::build(pg, "bench_small", small_target, per_unit, w)?;
        eprintln!(
            "  {:.1} MiB dump text, {:.1} MiB on disk, in {:.0} s",
            mib(d.dump_bytes),
            mib(d.db_bytes),
            d.generate_secs
        );
        Some(d)
    };
    let source_counts = row_counts(pg, "bench_large")?;
    if args.show_sample {
        for t in ["users", "orders", "events"] {
            let rows = pg.try_psql(
                "bench_large",
                &format!("SELECT * FROM {t} ORDER BY random() LIMIT 3"),
            )?;
            eprintln!("--- sample of {t} ---\n{rows}");
        }
    }
    Ok(Datasets {
        large,
        small,
        source_counts,
    })
}

/// Adds the Offsite projects `bench` (large) and, with a small dataset, `bench_small`.
pub fn add_projects(o: &Offsite, with_small: bool) -> Result<(), String> {
    let with_small = with_small.then_some(("bench_small", "bench_small"));
    for (name, db) in std::iter::once(("bench", "bench_large")).chain(with_small) {
        // The env secret store is read-only: the password comes from PGPASSWORD at run time.
        let mut c = o.cmd();
        c.args(["project", "add", name, "--db", &o.url(db)]);
        measure::run(&mut c, None)?.check(&format!("offsite project add {name}"))?;
    }
    Ok(())
}
