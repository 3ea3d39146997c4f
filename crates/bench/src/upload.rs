//! `offsite-bench-upload`: Offsite's upload of an archive to an S3-compatible store
//! (`S3Destination`: multipart, per-part Content-MD5, SHA-256 metadata, checked by a HEAD)
//! against `rclone copyto` of the same file to the same server, in one run.
//!
//! 1. Writes a file of `--size-mb` MiB (default 1024; PRNG bytes, as an archive is: not
//!    compressible) and its SHA-256, and starts `s3s-fs` on 127.0.0.1 with the storage bench's
//!    TCP_NODELAY preload shim (`--server-nagle`: as installed).
//! 2. The floor first: `curl -T` of the file in one PUT (SigV4, unsigned payload): what the
//!    server takes in over one connection with no work on the client's side.
//! 3. `--runs` times each, alternating: (a) `rclone copyto FILE remote:bench/KEY` (its
//!    defaults: 5 MiB chunks, 4 at once, the file's MD5 as metadata); (b) Offsite's upload
//!    (this binary's hidden `put-s3`, in a child process) given the SHA-256 the backup
//!    recorded (`HashedBody`: the file is read once); (c) the same without it (read twice: hashed,
//!    then sent). Each object is checked on the server (size) and removed after the run. The
//!    best run of each is compared: target (b) ≥ 0.9× the speed of (a), peak RSS ≤ 64 MiB.
//!
//!   cargo build --release -p offsite-bench --bin offsite-bench-upload
//!   target/release/offsite-bench-upload [--size-mb 1024] [--runs 3] [--quick] [--keep]
//!
//! Needs `s3s-fs` (`cargo install s3s-fs@0.14.1 --locked --features binary`), `rclone` and
//! `curl`; fails when one is missing. `--server moto` uploads to moto (testkit's, in memory)
//! instead: what the smoke test runs (`tests/upload_smoke.rs`), so that `cargo test` needs no
//! s3s-fs; its numbers say nothing. The hidden `put-folder` subcommand (one
//! `FolderDestination` put) serves the full-disk test.

#[allow(dead_code)]
mod measure;
#[allow(dead_code)]
mod storage_fixture;

use clap::Parser;
use measure::Measured;
use offsite_core::destinations::{
    Destination, FileBody, FolderDestination, HashedBody, PutOptions, S3Destination,
    S3DestinationConfig,
};
use offsite_core::sources::ObjectTarget;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use storage_fixture::{fail, S3sFs, S3sFsCmd, ACCESS_KEY, SECRET_KEY};

const MIB: f64 = 1024.0 * 1024.0;
const BUCKET: &str = "bench";

#[derive(Parser, Debug)]
#[command(name = "offsite-bench-upload", verbatim_doc_comment)]
struct Args {
    /// Size of the uploaded file, MiB.
    #[arg(long, default_value_t = 1024)]
    size_mb: u64,
    /// Runs of each contender, alternating (the best counts; medians are printed too).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// A smoke run: 16 MiB, one run each.
    #[arg(long)]
    quick: bool,
    /// Keep the work folder (its path is printed).
    #[arg(long)]
    keep: bool,
    /// Where the work folder is created (default: the system's temp folder).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Run s3s-fs as installed (Nagle's algorithm on).
    #[arg(long)]
    server_nagle: bool,
    /// The server: `s3s-fs` (what the numbers are measured on) or `moto` (testkit's moto,
    /// for the smoke test: checks the bench runs; its speeds mean nothing).
    #[arg(long, default_value = "s3s-fs", value_parser = ["s3s-fs", "moto"])]
    server: String,
    /// Do not warm the free memory before each run (see offsite-bench-transfer).
    #[arg(long)]
    cold_memory: bool,
    /// Offsite's part size, MiB.
    #[arg(long, default_value_t = 8)]
    part_mb: usize,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(clap::Subcommand, Debug)]
enum Cmd {
    /// One measured upload to S3 (used by the benchmark itself).
    #[command(hide = true)]
    PutS3 {
        file: PathBuf,
        #[arg(long)]
        endpoint: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        sha256: Option<String>,
        #[arg(long, default_value_t = 8)]
        part_mb: usize,
    },
    /// One put into a folder destination (the full-disk test runs it in a tiny tmpfs).
    #[command(hide = true)]
    PutFolder {
        file: PathBuf,
        dir: PathBuf,
        name: String,
    },
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Print a failed put as the CLI would (message, code, hint); exit code 1.
fn report(r: offsite_core::Result<offsite_core::destinations::StoredObject>) -> i32 {
    match r {
        Ok(s) => {
            println!(
                "{}",
                serde_json::json!({"name": s.name, "size": s.size, "sha256": s.sha256})
            );
            0
        }
        Err(e) => {
            eprintln!("put failed: {} ({})", e, e.code());
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            1
        }
    }
}

fn put_s3(
    file: PathBuf,
    endpoint: String,
    key: String,
    sha: Option<String>,
    part_mb: usize,
) -> i32 {
    runtime().block_on(async move {
        let dest = match S3Destination::new(&dest_config(endpoint)) {
            Ok(d) => d.with_part_size(part_mb << 20),
            Err(e) => return report(Err(e)),
        };
        let body = FileBody { path: file };
        let r = match sha {
            Some(s) => {
                dest.put(&key, &HashedBody::new(body, s), PutOptions::default())
                    .await
            }
            None => dest.put(&key, &body, PutOptions::default()).await,
        };
        report(r)
    })
}

fn dest_config(endpoint: String) -> S3DestinationConfig {
    S3DestinationConfig {
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        bucket: BUCKET.into(),
        prefix: String::new(),
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: SECRET_KEY.into(),
        path_style: true,
    }
}

fn put_folder(file: PathBuf, dir: PathBuf, name: String) -> i32 {
    runtime().block_on(async move {
        let dest = FolderDestination::new(dir);
        report(
            offsite_core::destinations::put_file(&dest, &name, &file, PutOptions::default()).await,
        )
    })
}

/// Deterministic PRNG bytes (xorshift), written in 1 MiB pieces.
fn write_file(path: &Path, size: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create the file"));
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut left = size;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        for w in buf[..n].chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = x.to_le_bytes();
            w.copy_from_slice(&b[..w.len()]);
        }
        f.write_all(&buf[..n]).expect("write the file");
        left -= n as u64;
    }
    f.flush().expect("flush");
}

fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap_or_else(|e| fail(&format!("sha256sum: {e}")));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn run_measured(what: &str, cmd: &mut Command, warm: Option<(&Path, u64)>) -> Measured {
    // SAFETY: plain libc call (written pages of the previous run go to disk first).
    unsafe { libc::sync() };
    if let Some((dir, bytes)) = warm {
        // As offsite-bench-transfer does: free memory this VM handed back to its host is slow
        // to touch again; warm it alike for every contender (see docs/benchmarks.md).
        measure::warm_memory(dir, bytes);
    }
    measure::run(cmd, None)
        .and_then(|m| m.check(what))
        .unwrap_or_else(|e| fail(&e))
}

/// The server the uploads go to.
enum Server {
    /// s3s-fs serving `root` (the objects are files there).
    S3sFs {
        _server: S3sFs,
        cmd: S3sFsCmd,
        root: PathBuf,
    },
    /// moto, for the smoke test.
    Moto(offsite_testkit::s3::MotoServer),
}

impl Server {
    fn start(args: &Args, work: &Path) -> Server {
        if args.server == "moto" {
            let moto = offsite_testkit::s3::MotoServer::start();
            runtime().block_on(async {
                offsite_core::sources::s3::S3Store::new(&offsite_core::sources::s3::S3Config {
                    endpoint: Some(moto.endpoint()),
                    region: "us-east-1".into(),
                    access_key_id: ACCESS_KEY.into(),
                    secret_access_key: SECRET_KEY.into(),
                    path_style: true,
                })
                .unwrap_or_else(|e| fail(&format!("moto client: {e}")))
                .create_bucket(BUCKET)
                .await
                .unwrap_or_else(|e| fail(&format!("moto: create the bucket: {e}")))
            });
            return Server::Moto(moto);
        }
        let root = work.join("s3root");
        std::fs::create_dir_all(root.join(BUCKET)).expect("bucket folder");
        let cmd = S3sFsCmd {
            bin: storage_fixture::s3s_fs_path(),
            nodelay_shim: (!args.server_nagle).then(|| storage_fixture::build_nodelay_shim(work)),
        };
        let server = S3sFs::start(&cmd, &root, &work.join("s3s-fs.log"));
        Server::S3sFs {
            _server: server,
            cmd,
            root,
        }
    }

    fn endpoint(&self) -> String {
        match self {
            Server::S3sFs { _server, .. } => _server.endpoint(),
            Server::Moto(m) => m.endpoint(),
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Server::S3sFs { cmd, .. } => cmd.describe(),
            Server::Moto(_) => "moto (in memory; a smoke run: the speeds mean nothing)",
        }
    }

    /// The object `key` as the server stored it: its size; then it is removed.
    fn take_object(&self, key: &str, size: u64, who: &str) {
        let len = match self {
            Server::S3sFs { root, .. } => {
                let p = root.join(BUCKET).join(key);
                let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                std::fs::remove_file(&p).ok();
                // With s3s-fs's record of it.
                std::fs::remove_file(storage_fixture::record_path(root, BUCKET, key)).ok();
                len
            }
            Server::Moto(m) => runtime().block_on(async {
                let dest = S3Destination::new(&dest_config(m.endpoint()))
                    .unwrap_or_else(|e| fail(&format!("moto client: {e}")));
                let len = match dest.stat(key).await {
                    Ok(Some(o)) => o.size,
                    Ok(None) => 0,
                    Err(e) => fail(&format!("{who}: HEAD {key}: {e}")),
                };
                dest.delete(key)
                    .await
                    .unwrap_or_else(|e| fail(&format!("{who}: delete {key}: {e}")));
                len
            }),
        };
        if len != size {
            fail(&format!(
                "{who}: the server holds {len} bytes under {key}, expected {size}"
            ));
        }
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn main() {
    offsite_core::allocator::configure();
    let mut args = Args::parse();
    match args.cmd.take() {
        Some(Cmd::PutS3 {
            file,
            endpoint,
            key,
            sha256,
            part_mb,
        }) => std::process::exit(put_s3(file, endpoint, key, sha256, part_mb)),
        Some(Cmd::PutFolder { file, dir, name }) => std::process::exit(put_folder(file, dir, name)),
        None => {}
    }
    if args.quick {
        args.size_mb = 16;
        args.runs = 1;
    }
    let rclone = storage_fixture::rclone_path();
    let curl = PathBuf::from("curl");
    let me = std::env::current_exe().expect("current_exe");
    let mut builder = tempfile::Builder::new();
    builder.prefix("offsite-bench-upload-");
    let work = match &args.work_dir {
        Some(d) => builder.tempdir_in(d),
        None => builder.tempdir(),
    }
    .expect("work folder");
    let size = args.size_mb << 20;
    let src = work.path().join("archive.tar.gz");
    eprintln!("writing {} MiB of PRNG bytes…", args.size_mb);
    write_file(&src, size);
    let sha = sha256sum(&src);
    let server = Server::start(&args, work.path());
    let ep = server.endpoint();
    // The server writes `size` into the page cache; the margin covers the processes' memory.
    let warm = (!args.cold_memory).then(|| (work.path(), size + (256 << 20)));
    let rclone_version = Command::new(&rclone)
        .arg("version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_default();

    // The floor: one PUT by curl, nothing computed on the client's side.
    let floor = run_measured(
        "curl -T",
        Command::new(&curl)
            .args(["-sS", "-f", "-T"])
            .arg(&src)
            .args(["--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
            .arg(format!("{ACCESS_KEY}:{SECRET_KEY}"))
            .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
            .arg(format!("{ep}/{BUCKET}/floor.bin")),
        warm,
    );
    server.take_object("floor.bin", size, "curl -T");

    let (mut rc, mut ours, mut ours_unhashed) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..args.runs {
        eprintln!("run {} of {}…", i + 1, args.runs);
        let key = format!("rclone-{i}.tar.gz");
        let m = run_measured(
            "rclone copyto",
            Command::new("env")
                // rclone 1.60's s3 backend cannot start with AWS_CA_BUNDLE set.
                .args(["-u", "AWS_CA_BUNDLE"])
                .arg(&rclone)
                .args(["--config", "/dev/null", "copyto"])
                .arg(&src)
                .arg(format!("bench:{BUCKET}/{key}"))
                .env("RCLONE_CONFIG_BENCH_TYPE", "s3")
                .env("RCLONE_CONFIG_BENCH_PROVIDER", "Other")
                .env("RCLONE_CONFIG_BENCH_ENDPOINT", &ep)
                .env("RCLONE_CONFIG_BENCH_ACCESS_KEY_ID", ACCESS_KEY)
                .env("RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY", SECRET_KEY)
                .env("RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE", "true")
                .env("RCLONE_CONFIG_BENCH_REGION", "us-east-1"),
            warm,
        );
        server.take_object(&key, size, "rclone");
        rc.push(m);

        for (hashed, runs) in [(true, &mut ours), (false, &mut ours_unhashed)] {
            let key = format!("offsite-{i}-{hashed}.tar.gz");
            let mut c = Command::new(&me);
            c.arg("put-s3")
                .arg(&src)
                .args(["--endpoint", &ep, "--key", &key])
                .args(["--part-mb", &args.part_mb.to_string()]);
            if hashed {
                c.args(["--sha256", &sha]);
            }
            let m = run_measured("offsite put-s3", &mut c, warm);
            let v: serde_json::Value = serde_json::from_slice(m.stdout.trim_ascii())
                .unwrap_or_else(|e| fail(&format!("bad output of the child: {e}")));
            if v["sha256"] != sha.as_str() {
                fail(&format!("offsite's upload reported {v}, expected {sha}"));
            }
            server.take_object(&key, size, "offsite");
            runs.push(m);
        }
    }
    let described = server.describe();
    drop(server);
    print_report(
        &args,
        size,
        &rclone_version,
        described,
        &floor,
        &rc,
        &ours,
        &ours_unhashed,
    );
    if args.keep {
        eprintln!("kept {}", work.keep().display());
    }
}

#[allow(clippy::too_many_arguments)]
fn print_report(
    args: &Args,
    size: u64,
    rclone_version: &str,
    server: &str,
    floor: &Measured,
    rc: &[Measured],
    ours: &[Measured],
    ours_unhashed: &[Measured],
) {
    let best = |runs: &[Measured]| {
        runs.iter()
            .map(Measured::secs)
            .fold(f64::INFINITY, f64::min)
    };
    let med = |runs: &[Measured]| median(&runs.iter().map(Measured::secs).collect::<Vec<_>>());
    let rss =
        |runs: &[Measured]| runs.iter().map(|m| m.maxrss_kib).max().unwrap_or(0) as f64 / 1024.0;
    let mibs = |secs: f64| size as f64 / MIB / secs;
    let r = best(rc);
    println!(
        "## offsite-bench-upload: {} MiB to {} on loopback, best of {}",
        args.size_mb, server, args.runs
    );
    println!();
    println!(
        "{rclone_version}; Offsite parts of {} MiB, 2 in flight",
        args.part_mb
    );
    println!();
    println!("| what | best wall (s) | MiB/s | speed vs rclone | median wall (s) | CPU (s, best run) | peak RSS (MiB) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let cpu_of_best = |runs: &[Measured]| {
        runs.iter()
            .min_by(|a, b| a.secs().total_cmp(&b.secs()))
            .map(|m| m.cpu.as_secs_f64())
            .unwrap_or(f64::NAN)
    };
    for (what, runs) in [
        (
            "floor: `curl -T` (one PUT, unsigned payload)",
            std::slice::from_ref(floor),
        ),
        ("`rclone copyto` (defaults)", rc),
        ("Offsite, SHA-256 known (read once)", ours),
        ("Offsite, SHA-256 not known (read twice)", ours_unhashed),
    ] {
        let b = best(runs);
        println!(
            "| {what} | {b:.3} | {:.0} | {:.2}× | {:.3} | {:.2} | {:.1} |",
            mibs(b),
            r / b,
            med(runs),
            cpu_of_best(runs),
            rss(runs)
        );
    }
    println!();
    let ratio = r / best(ours);
    let peak = rss(ours).max(rss(ours_unhashed));
    println!(
        "speed: {ratio:.2}× rclone ({}: target ≥ 0.9×; medians {:.2}×); peak RSS {peak:.1} MiB ({}: target ≤ 64 MiB)",
        if ratio >= 0.9 { "met" } else { "MISSED" },
        med(rc) / med(ours),
        if peak <= 64.0 { "met" } else { "MISSED" }
    );
    println!(
        "load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    );
}
