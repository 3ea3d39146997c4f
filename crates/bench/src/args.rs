//! The command line of `offsite-bench`.

use clap::Parser;
use std::path::PathBuf;

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
pub struct Args {
    /// Minimum size of the large dataset, as MiB of `pg_dump -Fp` output (overshoot ≤ ~5 %).
    #[arg(long, default_value_t = 500, value_name = "MIB")]
    pub size_mb: u64,
    /// Size of the small dataset (for the "peak RSS flat across sizes" check) as a fraction
    /// 1/N of --size-mb.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub small_divisor: u64,
    /// Runs of every measurement; medians are reported (3 or more recommended).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub runs: usize,
    /// Only the dataset and the raw tools (pg_dump, pg_restore, sha256sum): no Offsite binary needed.
    #[arg(long)]
    pub raw_only: bool,
    /// The `offsite` binary (default: `offsite` next to this executable, i.e. target/release/offsite).
    #[arg(long, value_name = "PATH")]
    pub offsite_bin: Option<PathBuf>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
    /// Folder for the temporary files (dumps, archives, Offsite's data folder; needs roughly
    /// 4× --size-mb free). Default: the system temp folder.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Print a few generated rows of each table (to eyeball the data) before measuring.
    #[arg(long)]
    pub show_sample: bool,
    /// Skip the extra diagnostic measurement `pg_dump -Fc -Z0` (what Offsite runs internally).
    #[arg(long)]
    pub no_diagnostics: bool,
    /// Only measure what the per-table digests cost a backup (Offsite's backup of the large
    /// dataset with and without them, --runs times each); skips every other measurement.
    #[arg(long)]
    pub digests_only: bool,
    /// Only measure a restore drill of the large dataset (`offsite drill`) against the same
    /// done by hand (initdb, pg_restore, COPY every table back); with --digests-only, both.
    #[arg(long)]
    pub drill: bool,
    /// Also time the agent's own backup of the large dataset (`offsite serve` next to the
    /// cluster, triggered over HTTP, timed from the request to `COMPLETED`) against the CLI's.
    #[arg(long)]
    pub agent: bool,
    /// Only the notification benches (issue 27): the idle `offsite daemon`'s wakeups with
    /// --notify-projects projects and 5 webhook channels, against an idle `sleep` and the
    /// daemon with 0 projects. Needs no PostgreSQL.
    #[arg(long)]
    pub notify: bool,
    /// With --notify: how long each process is left idle (after 10 s to settle).
    #[arg(long, default_value_t = 180, value_name = "SECS")]
    pub idle_secs: u64,
    /// With --notify: projects (daily schedules, routed to every channel) in the seeded folder.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub notify_projects: usize,
    /// With --notify: which measurements, of `idle`, `delivery` (1,000 queued events against a
    /// local receiver), `metrics` (the agent's `/metrics` with 50 projects).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "idle,delivery,metrics",
        value_name = "LIST"
    )]
    pub notify_parts: Vec<String>,
    /// Internal: be the idle floor "a bare tokio runtime sleeping 60 s in a loop" (never returns).
    #[arg(long, hide = true)]
    pub tokio_sleep_floor: bool,
    /// Only the large-database bench (issue 28): a generated database of --scale GiB of dump
    /// text over 56 tables (one of them 40 %), and per run pg_dump -Fd -j N -Z0, pg_restore -j N,
    /// pg_dump -Fc, Offsite backup/verify/restore with --jobs N, sha256sum. Needs roughly
    /// 3.5 × --scale free beside the 15 GiB it leaves to others (use --work-dir, TMPDIR).
    #[arg(long)]
    pub large: bool,
    /// With --large: GiB of dump text to generate (5 for the measurement).
    #[arg(long, default_value_t = 5.0, value_name = "GIB", value_parser = positive_gib)]
    pub scale: f64,
    /// With --large: the share of the dump text in the one big table `events` (0.4; issue 67's
    /// database whose largest table holds most of the data: 0.65).
    #[arg(long, default_value_t = crate::large_gen::BIG_SHARE, value_name = "FRACTION", value_parser = share)]
    pub big_share: f64,
    /// With --large: the seed of the generated values (same seed, same rows).
    #[arg(long, default_value_t = 28, value_name = "N")]
    pub seed: u64,
    /// With --large: workers for pg_dump -j, pg_restore -j and Offsite's --jobs (default: the
    /// cores); with --diff/--recover: the full restore's pg_restore -j.
    #[arg(long, value_name = "N")]
    pub jobs: Option<u32>,
    /// Only the diff bench (issue 45): two backups of the large dataset (--size-mb) in which one
    /// table changed; `offsite diff` (time, bytes read) against a full restore of the backup.
    #[arg(long)]
    pub diff: bool,
    /// Only the row recovery bench (issue 45): one tenant of a multi-tenant database of
    /// --tenant-mb MiB over ten tables, `offsite recover --children` into a live database that
    /// lost it, against a full restore of the backup; peak RSS. With --diff, both.
    #[arg(long)]
    pub recover: bool,
    /// With --recover: MiB of COPY text of the multi-tenant database (1024 for the issue's).
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    pub tenant_mb: u64,
    /// With --recover: tenants (one of them is recovered: 1/N of every table's rows).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub tenants: u64,
    /// Only the point-in-time capture bench (issue 46): the RPO of `offsite pitr run` under a
    /// pgbench write load (commit → durably captured, max and median) and pgbench's TPS with
    /// and without the capture, --runs times alternating.
    #[arg(long)]
    pub pitr: bool,
    /// Only the physical point-in-time bench (issue 46): `offsite restore --at` of a physical
    /// capture against PostgreSQL's own recovery of the same WAL (pgbench -T --pgbench-secs
    /// at --pgbench-scale).
    #[arg(long)]
    pub pitr_physical: bool,
    /// Only the logical replay bench (issue 46): `offsite restore --at` after --pgbench-secs of
    /// pgbench changes against restoring its base alone; replay throughput (changes/s).
    #[arg(long)]
    pub pitr_replay: bool,
    /// Only the passphrase bench (issue 67): `offsite restore --at` over six one-row segments
    /// of a passphrase project against an unencrypted one (--runs times alternating), each
    /// capture pass's time and peak RSS, and the key derivations per restore.
    #[arg(long)]
    pub pitr_encrypted: bool,
    /// Only the Storage objects bench (issue 66 item 4): a capture pass that keeps
    /// --pitr-objects-count new objects of --pitr-objects-kib KiB (--runs times) against
    /// `rclone copy` of the same objects from s3s-fs; then a pass over rows whose objects did
    /// not change (nothing fetched).
    #[arg(long)]
    pub pitr_objects: bool,
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub pitr_objects_count: usize,
    #[arg(long, default_value_t = 256, value_name = "KIB")]
    pub pitr_objects_kib: u64,
    /// With --pitr: pgbench's scale (100,000 accounts each).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub pgbench_scale: u32,
    /// With --pitr: seconds per pgbench run.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub pgbench_secs: u64,
    /// With --pitr and --pitr-replay: pgbench's built-in script (`tpcb-like`: three updates
    /// a transaction, two of them to a few hot rows; `simple-update`: one update of a random
    /// account, no hot rows).
    #[arg(long, default_value = "tpcb-like", value_name = "NAME")]
    pub pgbench_builtin: String,
}

impl Args {
    /// Parses the command line and rejects what cannot run (exits with code 2).
    pub fn parse_checked() -> Args {
        let args = Args::parse();
        if args.runs == 0 {
            eprintln!("offsite-bench: --runs must be at least 1");
            std::process::exit(2);
        }
        if args.runs < 3 {
            eprintln!("offsite-bench: warning: fewer than 3 runs; medians are not robust");
        }
        args
    }
}

/// `--big-share`: a fraction strictly between 0 and 1.
fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("{s:?} is not a fraction between 0 and 1")),
    }
}

/// `--scale`: a positive, finite number of GiB (clap refuses anything else with its usage error).
fn positive_gib(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
        _ => Err(format!("{v:?} is not a positive number of GiB")),
    }
}
