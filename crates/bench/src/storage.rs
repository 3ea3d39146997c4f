//! `offsite-bench-storage`: pulling a bucket into an archive, measured against `rclone copy` on
//! the same local S3 server (`s3s-fs` serving a folder), all in one run.
//!
//! 1. Writes a bucket of `--objects` objects (default 10,000; 1 KiB–1 MiB, log-uniform, ≈ 1.5 GB;
//!    PRNG bytes; keys under 4 prefixes) straight into the folder s3s-fs serves, with s3s-fs's
//!    per-object records (ETag = MD5), and starts s3s-fs on 127.0.0.1.
//! 2. (a) Offsite's full pull into a finished archive (`compose`: the real backup path, archive
//!    fsynced and renamed); (b) `rclone copy` at its defaults (4 transfers, 8 checkers) and (c)
//!    with `--transfers 16`, each into an empty folder.
//! 3. Changes 1 % (rewrites n/100 objects with new bytes of the same size, deletes n/500, adds
//!    n/500), then (d) Offsite's next full pull over (a) (unchanged objects copied from (a)), (e)
//!    an incremental pull over (a), (f) `rclone copy --transfers 16` again into (c)'s folder, and
//!    for context (f2) the same with `--use-server-modtime` into (b)'s folder and (d0) the next
//!    full pull with s3s-fs's listings as they are (no ETags: nothing can be reused).
//! 4. Peak RSS of Offsite's pull (and of rclone's copy) on buckets of `--rss-objects` small
//!    objects (1–8 KiB), each served by its own s3s-fs.
//!
//! s3s-fs never sets TCP_NODELAY on its connections: with Nagle's algorithm on, the body of a
//! response written after its headers waits for the client's delayed ACK (up to 40 ms), which
//! dominated the small objects' downloads of every client. MinIO (Go) and nginx turn Nagle off
//! by default, so by default the bench does too: s3s-fs runs with a preload library (built with `cc`
//! into the work folder) that sets TCP_NODELAY on each accepted connection. `--server-nagle`
//! runs s3s-fs as installed.
//!
//! Before each run of each contender the free memory is warmed alike (see
//! `measure::warm_memory`; `--cold-memory` skips it), as the transfer bench does.
//!
//! Every Offsite pull runs in a child process (this binary's hidden `pull` subcommand): its wall
//! time includes the process start, its peak RSS is `ru_maxrss` from `wait4`.
//!
//!   cargo build --release -p offsite-bench --bin offsite-bench-storage
//!   target/release/offsite-bench-storage [--objects 10000] [--rss-objects 10000,30000,100000] [--quick] [--rss-only] [--keep] [--server-nagle] [--cold-memory]
//!
//! Needs `s3s-fs` (`cargo install s3s-fs@0.14.1 --locked --features binary`) and `rclone`
//! (`apt-get install -y rclone`); fails when either is missing.

#[allow(dead_code)]
mod measure;
mod storage_child;
mod storage_fixture;

use clap::Parser;
use measure::Measured;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use storage_fixture::{Fixture, S3sFs, S3sFsCmd, SizeRange};

const BUCKET: &str = "bench";
const MIB: f64 = 1024.0 * 1024.0;

/// Offsite's storage pull against `rclone copy` on a local S3 server (s3s-fs), with peak RSS.
#[derive(Parser, Debug)]
#[command(name = "offsite-bench-storage", verbatim_doc_comment)]
struct Args {
    /// Objects in the timed bucket (1 KiB–1 MiB each, ≈ 151 KB on average).
    #[arg(long, default_value_t = 10_000)]
    objects: usize,
    /// Bucket sizes (objects of 1–8 KiB) for the peak-RSS comparison.
    #[arg(long, value_delimiter = ',', default_value = "10000,30000,100000")]
    rss_objects: Vec<usize>,
    /// A smoke run: 1,000 objects, RSS at 500 and 2,000.
    #[arg(long)]
    quick: bool,
    /// Only the peak-RSS part (4.): no timed bucket, no timed table.
    #[arg(long)]
    rss_only: bool,
    /// Keep the work folder (its path is printed).
    #[arg(long)]
    keep: bool,
    /// gzip level of the archives (default: Offsite's default).
    #[arg(long)]
    compression: Option<u32>,
    /// Run s3s-fs as installed: it never sets TCP_NODELAY, so the body of a response that
    /// follows its headers waits up to 40 ms for the client's delayed ACK (Nagle's algorithm).
    /// By default the bench turns Nagle off on s3s-fs's connections (a preload library built
    /// with `cc`), as MinIO (Go) and nginx do by default.
    #[arg(long)]
    server_nagle: bool,
    /// Do not warm the free memory before each run. On a VM that hands free pages back to its
    /// host (this machine), whichever run comes after a pause pays for faulting them in again;
    /// by default every run of every contender starts after the same warm-up.
    #[arg(long)]
    cold_memory: bool,
    /// Where the work folder is created (default: the system's temp folder).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(clap::Subcommand, Debug)]
enum Cmd {
    /// One measured pull (used by the benchmark itself).
    #[command(hide = true)]
    Pull(storage_child::PullArgs),
    /// Write a bucket of small objects (1–8 KiB, as the RSS runs use) into ROOT, for pulls by
    /// hand (`s3s-fs … ROOT`, then `pull`).
    #[command(hide = true)]
    Fixture {
        root: PathBuf,
        #[arg(long)]
        objects: usize,
    },
    /// Change 1 % of the timed bucket in ROOT (as step 3 does) and write the ETag index for
    /// `pull --listing-etags` to INDEX_DIR/listing-etags.tsv.
    #[command(hide = true)]
    Change {
        root: PathBuf,
        index_dir: PathBuf,
        #[arg(long)]
        objects: usize,
        #[arg(long, default_value_t = 2)]
        seed: u64,
        /// Only rewrite the 1 % (no deletions or additions).
        #[arg(long)]
        rewrite_only: bool,
    },
}

/// One measured row.
struct Row {
    id: &'static str,
    what: String,
    m: Measured,
    /// Bytes the run moved or produced (for MiB/s): the bucket's bytes.
    bytes: u64,
    detail: String,
    server_cpu: f64,
    /// rclone only: seconds a `sync` right after it took (its files are not on disk when it
    /// exits; Offsite's archive is fsynced before it reports done).
    sync_after: Option<f64>,
}

/// CPU seconds (user + system) used by `pid` so far.
fn cpu_of(pid: u32) -> f64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let Some(rest) = s.rfind(')').map(|i| &s[i + 1..]) else {
        return 0.0;
    };
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // SAFETY: plain libc call.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) as f64 / tick
}

fn sync() {
    // SAFETY: plain libc call.
    unsafe { libc::sync() };
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Runs `cmd` measured, with the server's CPU over the same span; exits on failure.
/// Bytes of free memory warmed before each run (see [`measure::warm_memory`]): more than the
/// largest run writes (the 1.45 GB archive or rclone's files).
const WARM_BYTES: u64 = 1_750 << 20;

fn measured(what: &str, server: &S3sFs, cmd: &mut Command, warm: Option<&Path>) -> (Measured, f64) {
    sync();
    if let Some(dir) = warm {
        measure::warm_memory(dir, WARM_BYTES);
    }
    let c0 = cpu_of(server.pid());
    let m = measure::run(cmd, None)
        .and_then(|m| m.check(what))
        .unwrap_or_else(|e| storage_fixture::fail(&e));
    (m, cpu_of(server.pid()) - c0)
}

struct Ctx {
    me: PathBuf,
    rclone: PathBuf,
    compression: u32,
    work: PathBuf,
    /// Warm the free memory before each run (not `--cold-memory`).
    warm: bool,
}

impl Ctx {
    /// An Offsite pull in a child process; returns the measurement and its JSON line.
    fn offsite(
        &self,
        what: &str,
        server: &S3sFs,
        root: &Path,
        previous: Option<&Path>,
        incremental: bool,
        listing_etags: bool,
    ) -> (Measured, f64, serde_json::Value) {
        let mut cmd = Command::new(&self.me);
        cmd.arg("pull")
            .args(["--endpoint", &server.endpoint()])
            .arg("--dest")
            .arg(self.work.join("archives"))
            .args(["--compression", &self.compression.to_string()]);
        if let Some(p) = previous {
            cmd.arg("--previous").arg(p);
        }
        if incremental {
            cmd.arg("--incremental");
        }
        if listing_etags {
            cmd.arg("--listing-etags").arg(etag_index(root, &self.work));
        }
        let (m, server_cpu) = measured(what, server, &mut cmd, self.warm.then_some(&*self.work));
        let line = String::from_utf8_lossy(&m.stdout).trim().to_string();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            storage_fixture::fail(&format!("{what}: bad output {line:?}: {e}"))
        });
        (m, server_cpu, v)
    }

    /// `rclone copy` of the bucket into `dest` with `extra` flags.
    fn rclone(&self, what: &str, server: &S3sFs, dest: &Path, extra: &[&str]) -> (Measured, f64) {
        let conf = self.work.join("rclone.conf");
        let mut cmd =
            storage_fixture::rclone_copy(&self.rclone, &conf, &server.endpoint(), BUCKET, dest);
        cmd.args(extra);
        measured(what, server, &mut cmd, self.warm.then_some(&*self.work))
    }
}

/// Write (untimed, before a pull) the index of the ETags s3s-fs keeps for the bucket's objects,
/// one `key<TAB>etag` line each, which the pull's listing rows are given (S3 lists ETags with
/// the keys; s3s-fs does not, and reading its 10,000 record files inside the timed pull would
/// measure the harness, not Offsite).
fn etag_index(root: &Path, work: &Path) -> PathBuf {
    let base = root.join(BUCKET);
    let mut out = String::new();
    let mut stack = vec![base.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if e.file_type().expect("file type").is_dir() {
                stack.push(p);
                continue;
            }
            let key = p
                .strip_prefix(&base)
                .expect("under the bucket")
                .to_string_lossy()
                .into_owned();
            if let Some(etag) = storage_fixture::listed_etag(root, BUCKET, &key) {
                out.push_str(&key);
                out.push('\t');
                out.push_str(&etag);
                out.push('\n');
            }
        }
    }
    let path = work.join("listing-etags.tsv");
    std::fs::write(&path, out).expect("writing the ETag index");
    path
}

/// Files and bytes under `dir`.
fn tree_size(dir: &Path) -> (usize, u64) {
    let mut n = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let t = e.file_type().expect("file type");
            if t.is_dir() {
                stack.push(e.path());
            } else {
                n += 1;
                bytes += e.metadata().expect("metadata").len();
            }
        }
    }
    (n, bytes)
}

fn counts(v: &serde_json::Value) -> (u64, u64, u64) {
    let s = &v["storage"];
    let g = |k: &str| s[k].as_u64().unwrap_or(0);
    (g("objects"), g("downloaded_objects"), g("reused_objects"))
}

fn offsite_detail(v: &serde_json::Value) -> String {
    let (objects, downloaded, reused) = counts(v);
    format!(
        "{objects} objects: {downloaded} downloaded, {reused} reused; archive {:.0} MiB",
        v["size"].as_u64().unwrap_or(0) as f64 / MIB
    )
}

fn expect_objects(what: &str, v: &serde_json::Value, objects: usize) {
    let (got, _, _) = counts(v);
    if got != objects as u64 {
        storage_fixture::fail(&format!(
            "{what}: {got} objects in the archive, expected {objects}"
        ));
    }
}

fn archive_of(v: &serde_json::Value) -> PathBuf {
    PathBuf::from(v["archive"].as_str().expect("archive path"))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let mut args = Args::parse();
    match args.cmd.take() {
        Some(Cmd::Pull(p)) => std::process::exit(storage_child::run(p)),
        Some(Cmd::Fixture { root, objects }) => {
            let small = SizeRange {
                min: 1024,
                max: 8 * 1024,
            };
            let f = storage_fixture::generate(&root, BUCKET, objects, small, 3);
            eprintln!("{} objects, {} bytes", f.objects, f.bytes);
            return;
        }
        Some(Cmd::Change {
            root,
            index_dir,
            objects,
            seed,
            rewrite_only,
        }) => {
            let big = SizeRange {
                min: 1024,
                max: 1 << 20,
            };
            let ch = storage_fixture::change(&root, BUCKET, objects, big, seed, rewrite_only);
            eprintln!(
                "{} rewritten, {} deleted, {} added; index {}",
                ch.rewritten,
                ch.deleted,
                ch.added,
                etag_index(&root, &index_dir).display()
            );
            return;
        }
        None => {}
    }
    if args.quick {
        args.objects = 1_000;
        args.rss_objects = vec![500, 2_000];
    }
    if args.objects < 500 {
        storage_fixture::fail("--objects must be at least 500 (1 % changed needs a few)");
    }
    let s3s_bin = storage_fixture::s3s_fs_path();
    let rclone = storage_fixture::rclone_path();
    let rclone_version = Command::new(&rclone)
        .arg("version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| storage_fixture::fail("`rclone version` failed"));

    let base = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::Builder::new()
        .prefix("offsite-bench-storage-")
        .tempdir_in(&base)
        .expect("work folder");
    let ctx = Ctx {
        me: std::env::current_exe().expect("current_exe"),
        rclone,
        compression: args
            .compression
            .unwrap_or(offsite_core::backup::DEFAULT_COMPRESSION_LEVEL),
        work: tmp.path().to_path_buf(),
        warm: !args.cold_memory,
    };
    let s3s = S3sFsCmd {
        bin: s3s_bin,
        nodelay_shim: (!args.server_nagle).then(|| storage_fixture::build_nodelay_shim(&ctx.work)),
    };
    let load_start = loadavg();
    eprintln!("work folder: {}", ctx.work.display());
    eprintln!("server: {}", s3s.describe());
    if ctx.warm {
        eprintln!("memory: warmed before each run ({} MiB written to the page cache and deleted; --cold-memory skips it)", WARM_BYTES >> 20);
    }

    let mut json = if args.rss_only {
        serde_json::Map::new()
    } else {
        timed(&args, &ctx, &s3s, &rclone_version, &load_start)
    };

    // 4. Peak RSS over bucket sizes.
    let small = SizeRange {
        min: 1024,
        max: 8 * 1024,
    };
    let mut rss: Vec<(usize, u64, Measured, Measured)> = Vec::new();
    for &n in &args.rss_objects {
        let root = ctx.work.join(format!("s3-rss-{n}"));
        let t = Instant::now();
        let f = storage_fixture::generate(&root, BUCKET, n, small, 3);
        eprintln!(
            "RSS fixture: {n} objects, {:.0} MiB in {:.1} s",
            f.bytes as f64 / MIB,
            t.elapsed().as_secs_f64()
        );
        let server = S3sFs::start(&s3s, &root, &ctx.work.join(format!("s3s-fs-{n}.log")));
        eprintln!("RSS: Offsite pull of {n} objects …");
        // No previous backup, so listed ETags serve no reuse: without the index the measured
        // process does not hold the harness's key → ETag map (~150 B per object), only
        // Offsite's own memory.
        let (m, _, v) = ctx.offsite("RSS pull", &server, &root, None, false, false);
        expect_objects("RSS pull", &v, n);
        let _ = std::fs::remove_dir_all(ctx.work.join("archives"));
        eprintln!("RSS: rclone copy of {n} objects …");
        let dest = ctx.work.join("rclone-rss");
        let (r, _) = ctx.rclone("RSS rclone", &server, &dest, &["--transfers", "16"]);
        let _ = std::fs::remove_dir_all(&dest);
        drop(server);
        let _ = std::fs::remove_dir_all(&root);
        rss.push((n, f.bytes, m, r));
    }

    json.insert("server_nodelay".into(), s3s.nodelay_shim.is_some().into());
    json.insert("memory_warmed".into(), ctx.warm.into());
    report_rss(&rss, &mut json, s3s.describe());
    if args.keep {
        let kept = tmp.keep();
        eprintln!("kept: {}", kept.display());
    }
}

/// Parts 1–3: the timed bucket, its full pulls, the 1 % change and the next pulls; prints the
/// timed table and returns its JSON fields.
fn timed(
    args: &Args,
    ctx: &Ctx,
    s3s: &S3sFsCmd,
    rclone_version: &str,
    load_start: &str,
) -> serde_json::Map<String, serde_json::Value> {
    // 1. The bucket.
    let root = ctx.work.join("s3");
    let big = SizeRange {
        min: 1024,
        max: 1 << 20,
    };
    let t = Instant::now();
    let fx: Fixture = storage_fixture::generate(&root, BUCKET, args.objects, big, 1);
    eprintln!(
        "fixture: {} objects, {:.0} MiB in {:.1} s",
        fx.objects,
        fx.bytes as f64 / MIB,
        t.elapsed().as_secs_f64()
    );
    let server = S3sFs::start(s3s, &root, &ctx.work.join("s3s-fs.log"));
    let mut rows: Vec<Row> = Vec::new();

    let full_archive = full_pulls(ctx, &server, &root, &fx, &mut rows);

    // 3. 1 % changed, then the next pulls.
    let ch = storage_fixture::change(&root, BUCKET, args.objects, big, 2, false);
    let now_objects = fx.objects - ch.deleted + ch.added;
    let changed_desc = format!(
        "{} rewritten, {} deleted, {} added ({:.1} MiB new bytes)",
        ch.rewritten,
        ch.deleted,
        ch.added,
        ch.bytes_new as f64 / MIB
    );
    eprintln!("changed: {changed_desc}");
    let now_bytes = {
        let (_, b) = tree_size(&root.join(BUCKET));
        b
    };
    for (id, what, incremental) in [
        ("d", "Offsite next full pull over (a)", false),
        ("e", "Offsite incremental pull over (a)", true),
    ] {
        eprintln!("({id}) {what} …");
        let (m, cpu, v) = ctx.offsite(what, &server, &root, Some(&full_archive), incremental, true);
        expect_objects(id, &v, now_objects);
        rows.push(Row {
            id,
            what: what.into(),
            detail: offsite_detail(&v),
            m,
            bytes: now_bytes,
            server_cpu: cpu,
            sync_after: None,
        });
    }
    for (id, what, dir, extra) in [
        (
            "f",
            "rclone copy --transfers 16, re-run into (c)",
            "rclone-c",
            &["--transfers", "16"][..],
        ),
        (
            "f2",
            "rclone copy --transfers 16 --use-server-modtime, re-run into (b)",
            "rclone-b",
            &["--transfers", "16", "--use-server-modtime"][..],
        ),
    ] {
        eprintln!("({id}) {what} …");
        let dest = ctx.work.join(dir);
        let (m, cpu) = ctx.rclone(what, &server, &dest, extra);
        let (n, _) = tree_size(&dest);
        if n != fx.objects + ch.added {
            storage_fixture::fail(&format!(
                "({id}): {n} files, expected {}",
                fx.objects + ch.added
            ));
        }
        rows.push(Row {
            id,
            what: what.into(),
            detail: format!("{n} files (copy keeps deleted ones)"),
            m,
            bytes: now_bytes,
            server_cpu: cpu,
            sync_after: None,
        });
    }
    eprintln!("(d0) Offsite next full pull, listings without ETags …");
    let (m, cpu, v) = ctx.offsite("(d0)", &server, &root, Some(&full_archive), false, false);
    expect_objects("d0", &v, now_objects);
    rows.push(Row {
        id: "d0",
        what: "Offsite next full pull over (a), s3s-fs listings as they are (no ETags)".into(),
        detail: offsite_detail(&v),
        m,
        bytes: now_bytes,
        server_cpu: cpu,
        sync_after: None,
    });
    drop(server);
    // The archives and copies of the timed bucket are not needed any more: free the disk.
    for d in ["archives", "rclone-b", "rclone-c"] {
        let _ = std::fs::remove_dir_all(ctx.work.join(d));
    }

    // The timed table now (the RSS runs over large buckets take long on s3s-fs).
    report_timed(
        args,
        ctx,
        &fx,
        &changed_desc,
        &rows,
        rclone_version,
        load_start,
    )
}

/// Part 2: the full pulls of the timed bucket (Offsite's, rclone's); returns Offsite's archive.
fn full_pulls(
    ctx: &Ctx,
    server: &S3sFs,
    root: &Path,
    fx: &Fixture,
    rows: &mut Vec<Row>,
) -> PathBuf {
    // 2. Full pulls.
    eprintln!("(a) Offsite full pull …");
    let (m, cpu, full) = ctx.offsite("(a) Offsite full pull", server, root, None, false, true);
    expect_objects("(a)", &full, fx.objects);
    rows.push(Row {
        id: "a",
        what: "Offsite full pull → finished archive".into(),
        detail: offsite_detail(&full),
        m,
        bytes: fx.bytes,
        server_cpu: cpu,
        sync_after: None,
    });
    let full_archive = archive_of(&full);
    for (id, what, dir, extra) in [
        (
            "b",
            "rclone copy (defaults: 4 transfers)",
            "rclone-b",
            &[][..],
        ),
        (
            "c",
            "rclone copy --transfers 16",
            "rclone-c",
            &["--transfers", "16"][..],
        ),
    ] {
        eprintln!("({id}) {what} …");
        let dest = ctx.work.join(dir);
        let (m, cpu) = ctx.rclone(what, server, &dest, extra);
        let t_sync = Instant::now();
        sync();
        let sync_after = Some(t_sync.elapsed().as_secs_f64());
        let (n, bytes) = tree_size(&dest);
        if n != fx.objects || bytes != fx.bytes {
            storage_fixture::fail(&format!(
                "({id}): {n} files / {bytes} bytes, expected {} / {}",
                fx.objects, fx.bytes
            ));
        }
        rows.push(Row {
            id,
            what: what.into(),
            detail: format!("{n} files"),
            m,
            bytes: fx.bytes,
            server_cpu: cpu,
            sync_after,
        });
    }

    full_archive
}

/// Prints the timed table and the targets; returns the JSON fields so far.
fn report_timed(
    args: &Args,
    ctx: &Ctx,
    fx: &Fixture,
    changed: &str,
    rows: &[Row],
    rclone_version: &str,
    load_start: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let server = storage_fixture::describe_server(!args.server_nagle);
    let row = |id: &str| rows.iter().find(|r| r.id == id).expect("row");
    let secs = |id: &str| row(id).m.secs();
    let best_full = secs("b").min(secs("c"));
    let ratio_full = best_full / secs("a");
    let durable = |id: &str| secs(id) + row(id).sync_after.unwrap_or(0.0);
    let ratio_durable = durable("b").min(durable("c")) / secs("a");
    let ratio = |id: &str| secs("f") / secs(id);
    let verdict = |ok: bool| if ok { "pass" } else { "miss" };

    println!(
        "## Storage pull: Offsite vs rclone on s3s-fs (127.0.0.1), {} objects, {:.0} MiB",
        fx.objects,
        fx.bytes as f64 / MIB
    );
    println!();
    println!(
        "{}; {rclone_version}; gzip level {}; {} cores; load average {load_start} at the start, {} at the end.",
        if args.quick { "QUICK run" } else { "full run" },
        ctx.compression,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    println!("Server: {server}.");
    println!(
        "Memory: {}.",
        if ctx.warm {
            "warmed before each run of each contender (a throwaway file written to the page cache and deleted)"
        } else {
            "not warmed (--cold-memory)"
        }
    );
    println!("Objects 1 KiB–1 MiB (log-uniform), PRNG bytes, keys under 4 prefixes. 1 % change: {changed}.");
    println!();
    println!("| run | what | wall s | MiB/s | peak RSS MiB | CPU s | s3s-fs CPU s | result |");
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    for r in rows {
        println!(
            "| ({}) | {} | {:.2} | {:.0} | {:.1} | {:.2} | {:.2} | {} |",
            r.id,
            r.what,
            r.m.secs(),
            r.bytes as f64 / MIB / r.m.secs(),
            mib(r.m.maxrss_kib),
            r.m.cpu.as_secs_f64(),
            r.server_cpu,
            r.detail
        );
    }
    println!();
    println!("| target | measured | |");
    println!("|---|---:|---|");
    println!(
        "| full pull (a) vs rclone's best of (b), (c): ≥ 1.0× | {ratio_full:.2}× | {} |",
        verdict(ratio_full >= 1.0)
    );
    println!(
        "| for context: (a) vs rclone's best with a `sync` after it ({:.2} s: its files on disk, as Offsite's archive is when it reports done) | {ratio_durable:.2}× | |",
        row("c").sync_after.unwrap_or(0.0)
    );
    for id in ["d", "e"] {
        println!(
            "| ({id}) vs rclone's re-run (f): ≥ 5× | {:.2}× | {} |",
            ratio(id),
            verdict(ratio(id) >= 5.0)
        );
    }
    println!(
        "| for context: (d), (e) vs (f2) (rclone without HEAD requests) | {:.2}×, {:.2}× | |",
        secs("f2") / secs("d"),
        secs("f2") / secs("e")
    );
    println!(
        "| for context: (d0) vs (f) (no ETags listed: Offsite downloads everything again) | {:.2}× | |",
        ratio("d0")
    );
    let mut json = serde_json::Map::new();
    for r in rows {
        json.insert(format!("{}_secs", r.id), r.m.secs().into());
        json.insert(format!("{}_rss_mib", r.id), mib(r.m.maxrss_kib).into());
    }
    json.insert("full_vs_best_rclone".into(), ratio_full.into());
    json.insert("full_vs_best_rclone_synced".into(), ratio_durable.into());
    json.insert("next_full_vs_rclone_rerun".into(), ratio("d").into());
    json.insert("incremental_vs_rclone_rerun".into(), ratio("e").into());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    json
}

/// Prints the peak-RSS table and the JSON line.
fn report_rss(
    rss: &[(usize, u64, Measured, Measured)],
    json: &mut serde_json::Map<String, serde_json::Value>,
    server: &str,
) {
    let verdict = |ok: bool| if ok { "pass" } else { "miss" };
    println!();
    println!("Peak RSS (ru_maxrss) on buckets of 1–8 KiB objects (smaller objects keep the 100,000-object bucket ≈ 0.45 GB), {server}:");
    println!();
    println!("| objects | MiB | Offsite pull wall s | Offsite peak RSS MiB | rclone --transfers 16 wall s | rclone peak RSS MiB |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for (n, bytes, m, r) in rss {
        println!(
            "| {n} | {:.0} | {:.2} | {:.1} | {:.2} | {:.1} |",
            *bytes as f64 / MIB,
            m.secs(),
            mib(m.maxrss_kib),
            r.secs(),
            mib(r.maxrss_kib)
        );
    }
    if let (Some(first), Some(last)) = (rss.first(), rss.last()) {
        let (lo, hi) = (mib(first.2.maxrss_kib), mib(last.2.maxrss_kib));
        let max = rss.iter().map(|x| mib(x.2.maxrss_kib)).fold(0.0, f64::max);
        println!();
        println!(
            "| target | measured | |\n|---|---:|---|\n| Offsite peak RSS ≤ 100 MiB at every size | {max:.1} MiB | {} |",
            verdict(max <= 100.0)
        );
        if rss.len() > 1 {
            println!(
                "| flat: {} → {} objects ≤ 1.2× | {:.2}× | {} |",
                first.0,
                last.0,
                hi / lo,
                verdict(hi / lo <= 1.2)
            );
        } else {
            println!("| flat | one bucket size measured: give two to --rss-objects | |");
        }
    }
    for (n, _, m, r) in rss {
        json.insert(format!("rss_{n}_offsite_mib"), mib(m.maxrss_kib).into());
        json.insert(format!("rss_{n}_rclone_mib"), mib(r.maxrss_kib).into());
    }
    println!();
    println!("{}", serde_json::Value::Object(json.clone()));
}
