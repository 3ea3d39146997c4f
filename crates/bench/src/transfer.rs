//! `offsite-bench-transfer`: Offsite's one download path (`offsite_core::transfer`) against
//! `curl -o` of the same URL, on loopback, in one run.
//!
//! 1. Writes a file of `--size-mb` MiB (default 1024; PRNG bytes) and serves it with testkit's
//!    `FileServer` (HTTP/1.1 on 127.0.0.1, strong ETag, Range/If-Range) in a process of its own
//!    (this binary's hidden `serve` subcommand), as a real server is.
//! 2. `--runs` times each, alternating: (a) `curl -sS -o FILE URL`; (b) `curl -o` followed by
//!    `sync FILE` (the same durability Offsite gives: its file is fsynced before the rename);
//!    (c) Offsite's download (this binary's hidden `get` subcommand in a child process: `.part`,
//!    SHA-256 while writing, size and SHA-256 checked, fsync, rename). The best run of each is
//!    compared: target (c) ≥ 0.95× the speed of (a). The medians are printed beside it.
//!    Before each run the free memory is warmed alike for every contender (`warm_memory`: on
//!    this VM, memory free for a few seconds goes back to the host and costs 1.2–1.9 s per GiB to
//!    touch again; `--cold-memory` skips it).
//! 3. A download through testkit's fault proxy, cut once at 50 % (a clean close mid-body): the
//!    proxy counts the body bytes it passed; re-sent = passed − file size. Target ≤ 1 % of the
//!    file.
//!
//!   cargo build --release -p offsite-bench --bin offsite-bench-transfer
//!   target/release/offsite-bench-transfer [--size-mb 1024] [--runs 7] [--quick] [--keep] [--cold-memory]
//!
//! Needs `curl`; fails when it is missing.

#[allow(dead_code)]
mod measure;

use clap::Parser;
use measure::Measured;
use offsite_testkit::{FileServer, HttpFault, HttpFaultProxy};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const MIB: f64 = 1024.0 * 1024.0;

/// Offsite's download path against `curl -o` on loopback, and the bytes a resume re-sends.
#[derive(Parser, Debug)]
#[command(name = "offsite-bench-transfer", verbatim_doc_comment)]
struct Args {
    /// Size of the downloaded file, MiB.
    #[arg(long, default_value_t = 1024)]
    size_mb: u64,
    /// Runs of each contender, alternating (the best counts; medians are printed too: on a
    /// shared 2-core machine single runs of either swing by ±15 %).
    #[arg(long, default_value_t = 7)]
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
    /// Do not warm the free memory before each run (see `warm_memory`): on a VM that hands
    /// free pages back to its host, each run then pays whatever re-faulting its timing draws.
    #[arg(long)]
    cold_memory: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(clap::Subcommand, Debug)]
enum Cmd {
    /// One measured download (used by the benchmark itself).
    #[command(hide = true)]
    Get {
        url: String,
        dest: PathBuf,
        #[arg(long)]
        size: Option<u64>,
        #[arg(long)]
        sha256: Option<String>,
    },
    /// Serve FILE on loopback until killed, printing its URL (to profile `get` by hand).
    #[command(hide = true)]
    Serve { file: PathBuf },
}

fn fail(msg: &str) -> ! {
    eprintln!("offsite-bench-transfer: {msg}");
    std::process::exit(1);
}

/// The child side: one download, a JSON line on stdout.
fn get(url: String, dest: PathBuf, size: Option<u64>, sha256: Option<String>) -> i32 {
    use offsite_core::transfer::{ClientOptions, DownloadUrl, Downloader, TransferPolicy};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let mut src = match DownloadUrl::parse(&url) {
            Ok(u) => u,
            Err(e) => {
                eprintln!("{e}");
                return 2;
            }
        };
        src.size = size;
        src.sha256 = sha256;
        let d = Downloader::new(&ClientOptions::default(), TransferPolicy::default())
            .expect("downloader");
        match d
            .download(
                &src,
                &dest,
                &offsite_core::progress::Reporter::silent(),
                &tokio_util::sync::CancellationToken::new(),
            )
            .await
        {
            Ok(r) => {
                println!(
                    "{}",
                    serde_json::json!({
                        "size": r.size, "sha256": r.sha256, "requests": r.requests,
                        "resumes": r.resumes, "restarts": r.restarts,
                        "bytes_received": r.bytes_received,
                    })
                );
                0
            }
            Err(e) => {
                eprintln!("download failed: {} ({})", e, e.code());
                if let Some(h) = e.hint() {
                    eprintln!("hint: {h}");
                }
                1
            }
        }
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

fn sync() {
    // SAFETY: plain libc call.
    unsafe { libc::sync() };
}

fn run_measured(what: &str, cmd: &mut Command, warm: Option<(&Path, u64)>) -> Measured {
    sync();
    if let Some((dir, bytes)) = warm {
        measure::warm_memory(dir, bytes);
    }
    measure::run(cmd, None)
        .and_then(|m| m.check(what))
        .unwrap_or_else(|e| fail(&e))
}

fn main() {
    // As the CLI does: the measured download runs with the allocator settings `offsite` uses.
    offsite_core::allocator::configure();
    let mut args = Args::parse();
    run_subcommand(&mut args);
    if args.quick {
        args.size_mb = 16;
        args.runs = 1;
    }
    let curl = which("curl").unwrap_or_else(|| fail("curl not found (apt-get install -y curl)"));
    let curl_version = Command::new(&curl)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_default();
    let me = std::env::current_exe().expect("current_exe");
    let mut builder = tempfile::Builder::new();
    builder.prefix("offsite-bench-transfer-");
    let work = match &args.work_dir {
        Some(d) => builder.tempdir_in(d),
        None => builder.tempdir(),
    }
    .expect("work folder");
    let size = args.size_mb * 1024 * 1024;
    let src = work.path().join("source.bin");
    eprintln!("writing {} MiB of PRNG bytes…", args.size_mb);
    write_file(&src, size);
    let sha = sha256sum(&src);
    // The server is a process of its own, as a real one is (an agent, an S3 store): inside
    // this process it shared the measuring process's threads and session, and made the client
    // side's CPU time swing between 1.4 and 3.4 s per download.
    let server = ServerProcess::start(&me, &src);
    let url = server.url.clone();

    let out = work.path().join("out");
    std::fs::create_dir_all(&out).expect("out folder");
    // Each run writes `size` into the page cache; the margin covers the processes' own memory.
    let warm = (!args.cold_memory).then(|| (work.path(), size + (256 << 20)));
    let runs = download_runs(&args, &curl, &me, &out, &url, size, &sha, warm);
    // The resume: one cut at 50 % through the fault proxy.
    let proxy = HttpFaultProxy::start(server.addr());
    proxy.inject(Some("GET"), HttpFault::CutBodyAfter(size / 2), 1);
    let dest = out.join("resumed.bin");
    let proxied = format!("{}/files/f.bin", proxy.endpoint());
    let m = run_measured(
        "offsite get (cut at 50 %)",
        Command::new(&me).arg("get").arg(&proxied).arg(&dest).args([
            "--size",
            &size.to_string(),
            "--sha256",
            &sha,
        ]),
        warm,
    );
    check_file(&dest, size, "offsite (resumed)");
    let passed = proxy.body_bytes();
    let resent = passed.saturating_sub(size);
    let exchanges = proxy.exchanges();
    if exchanges.len() < 2 || proxy.injected() != 1 {
        fail(&format!("the cut did not happen as planned: {exchanges:?}"));
    }
    let v: serde_json::Value = serde_json::from_slice(m.stdout.trim_ascii())
        .unwrap_or_else(|e| fail(&format!("bad output of the child: {e}")));

    let resume = Resume {
        passed,
        resent,
        m,
        v,
    };
    let resume_ok = print_report(&args, &curl_version, size, &runs, &resume);
    if args.keep {
        let kept = work.keep();
        eprintln!("kept {}", kept.display());
    }
    if !resume_ok {
        std::process::exit(3);
    }
}

/// This binary's hidden subcommands (`get`, `serve`): they run and exit here.
fn run_subcommand(args: &mut Args) {
    match args.cmd.take() {
        Some(Cmd::Get {
            url,
            dest,
            size,
            sha256,
        }) => std::process::exit(get(url, dest, size, sha256)),
        Some(Cmd::Serve { file }) => {
            let server = FileServer::start();
            server.serve_file("f.bin", &file);
            println!("{}", server.url("f.bin"));
            loop {
                std::thread::park();
            }
        }
        None => {}
    }
}

/// Every run's measurements, per tool.
struct Runs {
    curl: Vec<Measured>,
    curl_sync: Vec<Measured>,
    offsite: Vec<Measured>,
}

/// `curl -o`, `curl -o` + `sync` and Offsite's download, --runs times each.
#[allow(clippy::too_many_arguments)]
fn download_runs(
    args: &Args,
    curl: &Path,
    me: &Path,
    out: &Path,
    url: &str,
    size: u64,
    sha: &str,
    warm: Option<(&Path, u64)>,
) -> Runs {
    let mut curl_runs = Vec::new();
    let mut curl_sync_runs = Vec::new();
    let mut offsite_runs = Vec::new();
    for i in 0..args.runs {
        eprintln!("run {} of {}…", i + 1, args.runs);
        let dest = out.join("curl.bin");
        let m = run_measured(
            "curl -o",
            Command::new(curl).args(["-sS", "-o"]).arg(&dest).arg(url),
            warm,
        );
        check_file(&dest, size, "curl");
        std::fs::remove_file(&dest).ok();
        curl_runs.push(m);

        let script = format!(
            "{} -sS -o '{}' '{}' && sync '{}'",
            curl.display(),
            dest.display(),
            url,
            dest.display()
        );
        let m = run_measured(
            "curl -o + sync",
            Command::new("sh").args(["-c", &script]),
            warm,
        );
        check_file(&dest, size, "curl + sync");
        std::fs::remove_file(&dest).ok();
        curl_sync_runs.push(m);

        let dest = out.join("offsite.bin");
        let m = run_measured(
            "offsite get",
            Command::new(me).arg("get").arg(url).arg(&dest).args([
                "--size",
                &size.to_string(),
                "--sha256",
                sha,
            ]),
            warm,
        );
        check_file(&dest, size, "offsite");
        std::fs::remove_file(&dest).ok();
        offsite_runs.push(m);
    }

    Runs {
        curl: curl_runs,
        curl_sync: curl_sync_runs,
        offsite: offsite_runs,
    }
}

/// The resume after a cut at 50 %.
struct Resume {
    passed: u64,
    resent: u64,
    m: Measured,
    v: serde_json::Value,
}

/// Prints the tables; returns whether the resume target was met.
fn print_report(args: &Args, curl_version: &str, size: u64, runs: &Runs, r: &Resume) -> bool {
    let best = |runs: &[Measured]| {
        runs.iter()
            .map(Measured::secs)
            .fold(f64::INFINITY, f64::min)
    };
    let median = |runs: &[Measured]| {
        let mut v: Vec<f64> = runs.iter().map(Measured::secs).collect();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    };
    let (curl_runs, curl_sync_runs, offsite_runs) = (&runs.curl, &runs.curl_sync, &runs.offsite);
    let (c, cs, o) = (best(curl_runs), best(curl_sync_runs), best(offsite_runs));
    let c_median = median(curl_runs);
    let mibs = |secs: f64| size as f64 / MIB / secs;
    let ratio = c / o;
    let (passed, resent) = (r.passed, r.resent);
    let resent_pct = resent as f64 * 100.0 / size as f64;

    println!(
        "## offsite-bench-transfer: {} MiB on loopback, best of {} ({})",
        args.size_mb,
        args.runs,
        if args.cold_memory {
            "--cold-memory: free memory not warmed before the runs"
        } else {
            "free memory warmed before each run"
        }
    );
    println!();
    println!("{curl_version}");
    println!();
    println!(
        "| what | best wall (s) | MiB/s | speed vs `curl -o` | median wall (s) | median vs median | peak RSS (MiB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (what, secs, runs) in [
        ("`curl -o`", c, curl_runs),
        ("`curl -o` + `sync FILE`", cs, curl_sync_runs),
        (
            "Offsite download (.part, SHA-256, fsync, rename)",
            o,
            offsite_runs,
        ),
    ] {
        let rss = runs.iter().map(|m| m.maxrss_kib).max().unwrap_or(0) as f64 / 1024.0;
        let m = median(runs);
        println!(
            "| {what} | {secs:.3} | {:.0} | {:.2}× | {m:.3} | {:.2}× | {rss:.1} |",
            mibs(secs),
            c / secs,
            c_median / m
        );
    }
    println!();
    for (what, runs) in [
        ("`curl -o`", curl_runs),
        ("`curl -o` + `sync`", curl_sync_runs),
        ("Offsite", offsite_runs),
    ] {
        let walls: Vec<String> = runs.iter().map(|m| format!("{:.2}", m.secs())).collect();
        let cpus: Vec<String> = runs
            .iter()
            .map(|m| format!("{:.2}", m.cpu.as_secs_f64()))
            .collect();
        println!(
            "- {what}, each run: wall {} s; CPU {} s",
            walls.join(" "),
            cpus.join(" ")
        );
    }
    println!();
    println!("| resume after a cut at 50 % | value | target |");
    println!("|---|---:|---|");
    println!(
        "| body bytes passed by the proxy | {passed} | |\n| re-sent by the resume | {resent} ({resent_pct:.3} % of the file) | ≤ 1 % |\n| requests (resumes) | {} ({}) | |\n| wall (s) | {:.3} | |",
        r.v["requests"], r.v["resumes"], r.m.secs()
    );
    println!();
    let speed_ok = ratio >= 0.95;
    let resume_ok = resent_pct <= 1.0;
    println!(
        "speed: {ratio:.2}× curl, best of {} each ({}: target ≥ 0.95×; medians: {:.2}×); resume: {resent_pct:.3} % re-sent ({}: target ≤ 1 %)",
        args.runs,
        if speed_ok { "met" } else { "MISSED" },
        c_median / median(offsite_runs),
        if resume_ok { "met" } else { "MISSED" }
    );
    println!("load average: {}", loadavg());
    resume_ok
}

/// This binary's hidden `serve` subcommand: testkit's file server in a process of its own.
struct ServerProcess {
    child: std::process::Child,
    url: String,
}

impl ServerProcess {
    fn start(me: &Path, file: &Path) -> ServerProcess {
        use std::io::BufRead;
        let mut child = Command::new(me)
            .arg("serve")
            .arg(file)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| fail(&format!("cannot start the file server: {e}")));
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .unwrap_or_else(|e| fail(&format!("the file server said nothing: {e}")));
        let url = line.trim().to_string();
        if !url.starts_with("http://") {
            let _ = child.kill();
            fail(&format!("the file server printed {url:?}, not its URL"));
        }
        ServerProcess { child, url }
    }

    fn addr(&self) -> std::net::SocketAddr {
        let rest = self.url.trim_start_matches("http://");
        let host = rest.split('/').next().unwrap_or_default();
        host.parse()
            .unwrap_or_else(|e| fail(&format!("bad server address {host:?}: {e}")))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn check_file(path: &Path, size: u64, who: &str) {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len != size {
        fail(&format!(
            "{who}: {} has {len} bytes, expected {size}",
            path.display()
        ));
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.exists())
    })
}
