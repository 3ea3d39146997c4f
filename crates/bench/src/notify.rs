//! `offsite-bench --notify`: what notifications cost when nothing happens (issue 27).
//!
//! Idle wakes: a data folder seeded through the engine's own catalog API with `--notify-projects`
//! projects (daily schedules, none due) and 5 webhook channels to a local receiver; the release
//! `offsite daemon` left idle for `--idle-secs`; its wakeups counted from
//! `/proc/PID/task/*/status` (voluntary + nonvoluntary context switches, all threads) sampled
//! every 200 ms: a wake is a burst of switches after a quiet sample (one due-loop pass is one
//! burst, however many thread hand-offs it makes). Reported per minute, medians of --runs,
//! against two floors: an idle `sleep` process and the daemon over an empty data folder.

use crate::args::Args;
use crate::report::{median, verdict_table, Verdict};
use crate::workdir::WorkDir;
use offsite_core::catalog::{Catalog, NewProject, NewSchedule, ScheduleKind};
use offsite_core::notify::{ChannelSpec, Preset, WebhookSpec};
use offsite_testkit::WebhookReceiver;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the notification benches and prints their table.
pub fn run(args: &Args, bin: &Path) -> Result<(), String> {
    let base = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = WorkDir::new(&base)?;
    let rx = WebhookReceiver::start();
    let seeded = work.path.join("seeded");
    let empty = work.path.join("empty");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    rt.block_on(seed(&seeded, args.notify_projects, 5, &rx))?;
    rt.block_on(seed(&empty, 0, 0, &rx))?;
    drop(rt);
    let idle = Duration::from_secs(args.idle_secs);
    let (mut floor, mut zero, mut full) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=args.runs {
        eprintln!("run {run}/{}: {} s each…", args.runs, args.idle_secs);
        floor.push(wakes_per_minute(Command::new("sleep").arg("100000"), idle)?);
        zero.push(wakes_per_minute(&mut daemon(bin, &empty), idle)?);
        full.push(wakes_per_minute(&mut daemon(bin, &seeded), idle)?);
        let (a, b, c) = (floor[run - 1], zero[run - 1], full[run - 1]);
        eprintln!(
            "  wakes/min: sleep {:.2}, daemon (0 projects) {:.2}, daemon ({} projects) {:.2}; \
             switches/min {:.0} / {:.0} / {:.0}",
            a.wakes, b.wakes, args.notify_projects, c.wakes, a.switches, b.switches, c.switches
        );
    }
    let med = |v: &[Idle], f: fn(&Idle) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let wakes = |i: &Idle| i.wakes;
    let sw = |i: &Idle| i.switches;
    let (f, z, d) = (med(&floor, wakes), med(&zero, wakes), med(&full, wakes));
    println!(
        "\n## offsite-bench --notify: idle wakes, {} runs of {} s, load average {}\n",
        args.runs,
        args.idle_secs,
        crate::loadavg()
    );
    println!(
        "| process | wakes per minute (bursts, median) | context switches per minute (all threads) |\n|---|---:|---:|"
    );
    println!("| `sleep` (floor) | {f:.2} | {:.0} |", med(&floor, sw));
    println!(
        "| `offsite daemon`, 0 projects | {z:.2} | {:.0} |",
        med(&zero, sw)
    );
    println!(
        "| `offsite daemon`, {} projects (daily), 5 webhook channels | {d:.2} | {:.0} |",
        args.notify_projects,
        med(&full, sw)
    );
    // A window of W seconds can hold one pass more than W/60 (one at each edge).
    let allowed = 1.0 + 60.0 / args.idle_secs as f64;
    let v = [Verdict::at_most(
        "daemon's wakes per minute (50 projects, 5 channels)",
        format!("{d:.2} per minute (window {} s)", args.idle_secs),
        d / allowed,
        1.0,
        "at most one due-loop pass a minute",
    )];
    println!("\n{}", verdict_table(&v));
    drop(rx);
    drop(work);
    Ok(())
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
                spec: format!("daily {slot}"),
                time_zone: "UTC".to_string(),
                verify_newest: None,
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
fn slot_hours_away(hours: u64) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let s = (secs + hours * 3600) % 86_400;
    format!("{:02}:{:02}", s / 3600, (s % 3600) / 60)
}
