//! `offsite-bench --notify`: what notifications cost (issue 27). Three parts (`--notify-parts`):
//!
//! - idle wakes (here): a data folder seeded through the engine's own catalog API with
//!   `--notify-projects` projects (daily schedules, none due) and 5 webhook channels to a local
//!   receiver; the release `offsite daemon` left idle for `--idle-secs`; its wakeups counted from
//!   `/proc/PID/task/*/status` (voluntary + nonvoluntary context switches, all threads) sampled
//!   every 200 ms: a wake is a burst of switches after a quiet sample (one due-loop pass is one
//!   burst, however many thread hand-offs it makes). Reported per minute, medians of --runs,
//!   beside three floors counted the same way: an idle `sleep`, a bare tokio runtime sleeping
//!   60 s in a loop (this program with `--tokio-sleep-floor`), and the daemon over an empty
//!   data folder;
//! - delivery of 1,000 queued events (`notify_delivery.rs`);
//! - the agent's `/metrics` with 50 projects (`notify_metrics.rs`).
use crate::args::Args;
use crate::report::{median, verdict_table, Verdict};
use crate::workdir::WorkDir;
use crate::{notify_delivery, notify_metrics};
use offsite_core::catalog::{Catalog, NewProject, NewSchedule, ScheduleKind};
use offsite_core::notify::{ChannelSpec, Preset, WebhookSpec};
use offsite_testkit::WebhookReceiver;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the notification benches (`--notify-parts`) and prints their tables.
pub fn run(args: &Args, bin: &Path) -> Result<(), String> {
    let parts = &args.notify_parts;
    if let Some(p) = parts
        .iter()
        .find(|p| !["idle", "delivery", "metrics"].contains(&p.as_str()))
    {
        return Err(format!(
            "--notify-parts: unknown {p:?} (use idle, delivery, metrics)"
        ));
    }
    let has = |p: &str| parts.iter().any(|x| x == p);
    let base = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = WorkDir::new(&base)?;
    let load_start = crate::loadavg();
    let idle = if has("idle") {
        Some(idle(args, bin, &work.path)?)
    } else {
        None
    };
    let delivery = if has("delivery") {
        eprintln!("delivery of {} queued events…", notify_delivery::EVENTS);
        Some(notify_delivery::run(bin, &work.path, args.runs)?)
    } else {
        None
    };
    let metrics = if has("metrics") {
        eprintln!("the agent's /metrics…");
        Some(notify_metrics::run(
            bin,
            &work.path.join("agent"),
            args.runs,
        )?)
    } else {
        None
    };
    println!(
        "\n## offsite-bench --notify: {} runs, load average {load_start} at the start, {} at the end\n",
        args.runs,
        crate::loadavg()
    );
    let mut v = Vec::new();
    if let Some(i) = &idle {
        v.push(print_idle(args, i));
    }
    if let Some(d) = &delivery {
        v.push(print_delivery(d));
    }
    if let Some(m) = &metrics {
        v.push(print_metrics(m));
    }
    println!("\n{}", verdict_table(&v));
    drop(work);
    Ok(())
}

/// The idle windows of every process, per run.
struct IdleRuns {
    sleep: Vec<Idle>,
    tokio: Vec<Idle>,
    zero: Vec<Idle>,
    full: Vec<Idle>,
}

/// `--runs` idle windows of each process: `sleep`, a bare tokio runtime, the daemon over an
/// empty folder and over the seeded one.
fn idle(args: &Args, bin: &Path, work: &Path) -> Result<IdleRuns, String> {
    let rx = WebhookReceiver::start();
    let seeded = work.join("seeded");
    let empty = work.join("empty");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    rt.block_on(seed(&seeded, args.notify_projects, 5, &rx))?;
    rt.block_on(seed(&empty, 0, 0, &rx))?;
    drop(rt);
    let me = std::env::current_exe().map_err(|e| format!("this program's path: {e}"))?;
    let idle = Duration::from_secs(args.idle_secs);
    let mut r = IdleRuns {
        sleep: Vec::new(),
        tokio: Vec::new(),
        zero: Vec::new(),
        full: Vec::new(),
    };
    for run in 1..=args.runs {
        eprintln!("idle run {run}/{}: {} s each…", args.runs, args.idle_secs);
        r.sleep
            .push(wakes_per_minute(Command::new("sleep").arg("100000"), idle)?);
        r.tokio.push(wakes_per_minute(
            Command::new(&me).arg("--tokio-sleep-floor"),
            idle,
        )?);
        r.zero
            .push(wakes_per_minute(&mut daemon(bin, &empty), idle)?);
        r.full
            .push(wakes_per_minute(&mut daemon(bin, &seeded), idle)?);
        let (a, t, b, c) = (
            r.sleep[run - 1],
            r.tokio[run - 1],
            r.zero[run - 1],
            r.full[run - 1],
        );
        eprintln!(
            "  wakes/min: sleep {:.2}, tokio {:.2}, daemon (0 projects) {:.2}, daemon ({} projects) {:.2}; \
             switches/min {:.0} / {:.0} / {:.0} / {:.0}",
            a.wakes, t.wakes, b.wakes, args.notify_projects, c.wakes, a.switches, t.switches, b.switches, c.switches
        );
    }
    drop(rx);
    Ok(r)
}

fn med(v: &[Idle], f: fn(&Idle) -> f64) -> f64 {
    median(&v.iter().map(f).collect::<Vec<_>>())
}

/// The idle table; returns its verdict.
fn print_idle(args: &Args, r: &IdleRuns) -> Verdict {
    let wakes = |i: &Idle| i.wakes;
    let sw = |i: &Idle| i.switches;
    println!(
        "### Idle wakes: {} s windows (after 10 s to settle)\n\n\
         | process | wakes per minute (bursts, median) | context switches per minute (all threads) |\n|---|---:|---:|",
        args.idle_secs
    );
    let rows: [(String, &Vec<Idle>); 4] = [
        ("`sleep` (floor)".into(), &r.sleep),
        (
            "bare tokio runtime, `loop { sleep(60 s) }` (floor)".into(),
            &r.tokio,
        ),
        ("`offsite daemon`, 0 projects".into(), &r.zero),
        (
            format!(
                "`offsite daemon`, {} projects (daily), 5 webhook channels",
                args.notify_projects
            ),
            &r.full,
        ),
    ];
    for (name, v) in rows {
        println!("| {name} | {:.2} | {:.0} |", med(v, wakes), med(v, sw));
    }
    let (d, t) = (med(&r.full, wakes), med(&r.tokio, wakes));
    // A window of W seconds can hold one pass more than W/60 (one at each edge).
    let allowed = 1.0 + 60.0 / args.idle_secs as f64;
    Verdict::at_most(
        "daemon's wakes per minute (50 projects, 5 channels)",
        format!(
            "{d:.2} per minute (window {} s; tokio floor {t:.2})",
            args.idle_secs
        ),
        d / allowed,
        1.0,
        "at most one due-loop pass a minute",
    )
}

/// The delivery table; returns its verdict.
fn print_delivery(d: &notify_delivery::Delivery) -> Verdict {
    let n = notify_delivery::EVENTS as f64;
    println!(
        "\n### Delivery of {n} queued events (one JSON webhook, local receiver)\n\n\
         | run | `offsite run-due` until all sent (s) | passes | watcher events besides | events/s | floor: {n} POSTs in a loop (s) | floor events/s | ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (i, r) in d.runs.iter().enumerate() {
        println!(
            "| {} | {:.2} | {} | {} | {:.0} | {:.2} | {:.0} | {:.2} |",
            i + 1,
            r.secs,
            r.passes,
            r.extra,
            n / r.secs,
            r.floor_secs,
            n / r.floor_secs,
            r.secs / r.floor_secs
        );
    }
    let (s, f) = (d.secs(), d.floor_secs());
    println!(
        "| **median** | **{s:.2}** | | | **{:.0}** | **{f:.2}** | **{:.0}** | **{:.2}** |",
        n / s,
        n / f,
        s / f
    );
    Verdict::at_most(
        "1,000 queued events delivered",
        format!(
            "{s:.2} s ({:.0} events/s; floor {f:.2} s, ratio {:.2})",
            n / s,
            s / f
        ),
        s / 10.0,
        1.0,
        "≤ 10 s",
    )
}

/// The `/metrics` table; returns its verdict.
fn print_metrics(m: &notify_metrics::MetricsBench) -> Verdict {
    println!(
        "\n### The agent's `/metrics`, 50 projects ({} bytes), 200 requests a round, ms\n\n\
         | round | `/metrics` p50 | p95 | max | floor (`GET …/backup-schedule`) p50 | p95 | max |\n|---|---:|---:|---:|---:|---:|---:|",
        m.body_bytes
    );
    let row = |name: String, a: notify_metrics::Stats, b: notify_metrics::Stats| {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            a.p50, a.p95, a.max, b.p50, b.p95, b.max
        )
    };
    for (i, r) in m.rounds.iter().enumerate() {
        row(format!("{}", i + 1), r.metrics, r.floor);
    }
    let a = notify_metrics::medians(&m.rounds, |r| r.metrics);
    let b = notify_metrics::medians(&m.rounds, |r| r.floor);
    row("**median**".into(), a, b);
    Verdict::at_most(
        "agent `/metrics` with 50 projects, p95",
        format!(
            "p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms (floor p50 {:.2} ms: ratio {:.1})",
            a.p50,
            a.p95,
            a.max,
            b.p50,
            a.p50 / b.p50
        ),
        a.p95 / 50.0,
        1.0,
        "≤ 50 ms",
    )
}

/// The idle floor "a bare tokio runtime sleeping 60 s in a loop": a multi-thread runtime (as
/// the daemon's) whose only task sleeps a minute at a time. Never returns.
pub fn tokio_sleep_floor() -> ! {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    })
}

/// `offsite daemon` over `data_dir`, quiet.
fn daemon(bin: &Path, data_dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env("OFFSITE_SECRET_STORE", "env")
        .env_remove("OFFSITE_LOG")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("daemon")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// What one idle window measured, per minute.
#[derive(Clone, Copy)]
struct Idle {
    /// Context switches of all threads.
    switches: f64,
    /// Wakes: bursts of activity (a 200 ms sample with switches after one without). A due-loop
    /// pass is one burst however many thread hand-offs it makes.
    wakes: f64,
}

/// Starts `cmd`, lets it settle 10 s, counts its threads' context switches over `idle`.
fn wakes_per_minute(cmd: &mut Command, idle: Duration) -> Result<Idle, String> {
    let child = cmd
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {cmd:?}: {e}"))?;
    let mut child = Killed(child);
    std::thread::sleep(Duration::from_secs(10));
    let pid = child.0.id();
    // Per thread: the count when first seen and the newest one. Threads come and go (tokio's
    // blocking pool retires idle threads), so the window is sampled every 200 ms and each
    // thread contributes what it did while it was seen (a thread born in the window counts
    // from 0).
    let start = switches(pid)?;
    let mut seen: HashMap<u64, (u64, u64)> = start.iter().map(|(t, n)| (*t, (*n, *n))).collect();
    let (mut bursts, mut last_total, mut quiet) = (0u64, total_of(&seen), true);
    let t0 = Instant::now();
    while t0.elapsed() < idle {
        std::thread::sleep(Duration::from_millis(200));
        for (tid, n) in switches(pid)? {
            seen.entry(tid).or_insert((0, n)).1 = n;
        }
        let total = total_of(&seen);
        let active = total > last_total;
        if active && quiet {
            bursts += 1;
        }
        quiet = !active;
        last_total = total;
    }
    if let Ok(Some(status)) = child.0.try_wait() {
        return Err(format!("{cmd:?} exited while idle: {status}"));
    }
    let per_minute = 60.0 / t0.elapsed().as_secs_f64();
    Ok(Idle {
        switches: total_of(&seen) as f64 * per_minute,
        wakes: bursts as f64 * per_minute,
    })
}

fn total_of(seen: &HashMap<u64, (u64, u64)>) -> u64 {
    seen.values().map(|(a, b)| b.saturating_sub(*a)).sum()
}

/// Kills its process on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Voluntary + nonvoluntary context switches of each thread of `pid`, by thread id.
fn switches(pid: u32) -> Result<Vec<(u64, u64)>, String> {
    let dir = PathBuf::from(format!("/proc/{pid}/task"));
    let rd = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for task in rd.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let mut n = 0;
        for line in status.lines() {
            if let Some(v) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                n += v.trim().parse::<u64>().unwrap_or(0);
            }
        }
        out.push((tid, n));
    }
    Ok(out)
}

/// A data folder with `projects` projects on daily schedules (none due: the slot is hours
/// away) and `channels` JSON webhooks to `rx`, routed from every project.
async fn seed(
    dir: &Path,
    projects: usize,
    channels: usize,
    rx: &WebhookReceiver,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let catalog = Catalog::open(dir).await.map_err(|e| e.to_string())?;
    let names: Vec<String> = (0..channels).map(|i| format!("hook{i}")).collect();
    for n in &names {
        let spec = ChannelSpec::Webhook(WebhookSpec {
            url_display: rx.url(&format!("/{n}")),
            preset: Preset::Json,
        });
        catalog
            .add_channel(n, &spec)
            .await
            .map_err(|e| e.to_string())?;
    }
    let groups = offsite_core::notify::events::parse_groups("all").map_err(|e| e.to_string())?;
    let slot = slot_hours_away(12);
    for i in 0..projects {
        let p = catalog
            .add_project(&NewProject {
                name: format!("p{i:02}"),
                db_url: "postgres://postgres@127.0.0.1:1/postgres".to_string(),
                tls_mode: "disable".to_string(),
                backup_dir: None,
            })
            .await
            .map_err(|e| e.to_string())?;
        catalog
            .set_schedule(&NewSchedule {
                project_id: p.id.clone(),
                kind: ScheduleKind::Backup,
                name: offsite_core::catalog::DEFAULT_SCHEDULE.to_string(),
                spec: format!("daily {slot}"),
                time_zone: "UTC".to_string(),
                verify_newest: None,
                plan: None,
            })
            .await
            .map_err(|e| e.to_string())?;
        for n in &names {
            catalog
                .set_route(&p.id, n, &groups)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// `HH:MM` (UTC) `hours` from now.
pub(crate) fn slot_hours_away(hours: u64) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let s = (secs + hours * 3600) % 86_400;
    format!("{:02}:{:02}", s / 3600, (s % 3600) / 60)
}
