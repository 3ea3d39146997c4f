//! `offsite-bench --notify`, metrics: the agent's `GET /metrics` with 50 projects.
//!
//! The agent's engine folder is seeded through the engine's catalog API before the agent
//! starts: 50 projects, each with a daily backup schedule (none due), 20 successful backups
//! (job + backup record) and 2 failed backup jobs. The agent's configuration names the same 50
//! projects. `offsite serve` (the release binary, its own process, plain HTTP on 127.0.0.1)
//! gets a metrics token and a read-only API token from `offsite serve token create`.
//!
//! Timed from this process over one keep-alive HTTP client (the product's,
//! `notify::webhook::client`): `GET /metrics` (metrics token) and
//! the floor, the agent's cheapest authenticated endpoint `GET
//! /platform/projects/p00/backup-schedule` (API token; the same router, audit line and token
//! check), alternated request by request, 200 of each per round after 10 of each to warm up.
//! Every `/metrics` answer must be 200 and name all 50 projects.

use crate::report::median;
use offsite_core::archive::BackupType;
use offsite_core::catalog::{
    Catalog, JobKind, JobOutcome, NewBackup, NewProject, NewSchedule, ScheduleKind,
};
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROJECTS: usize = 50;
const REQUESTS: usize = 200;
const WARM_UP: usize = 10;

/// Latencies of one round, in milliseconds.
pub struct Round {
    pub metrics: Stats,
    pub floor: Stats,
}

#[derive(Clone, Copy)]
pub struct Stats {
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Stats {
    fn of(ms: &mut [f64]) -> Stats {
        ms.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
        Stats {
            p50: median(ms),
            p95: at(0.95),
            max: ms[ms.len() - 1],
        }
    }
}

/// The medians over rounds of each statistic.
pub fn medians(rounds: &[Round], pick: fn(&Round) -> Stats) -> Stats {
    let m = |f: fn(&Stats) -> f64| median(&rounds.iter().map(|r| f(&pick(r))).collect::<Vec<_>>());
    Stats {
        p50: m(|s| s.p50),
        p95: m(|s| s.p95),
        max: m(|s| s.max),
    }
}

/// The `/metrics` body size of the last answer, with the rounds.
pub struct MetricsBench {
    pub rounds: Vec<Round>,
    pub body_bytes: usize,
}

/// Seeds `dir`, starts the agent, measures `runs` rounds.
pub fn run(bin: &Path, dir: &Path, runs: usize) -> Result<MetricsBench, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    let config = write_config(dir)?;
    rt.block_on(seed(&dir.join("data").join("engine")))?;
    let metrics_token = token(bin, &config, &["--metrics"])?;
    let api_token = token(bin, &config, &["--project", "p00", "--read-only"])?;
    let agent = Agent::start(bin, &config, dir)?;
    // The product's own HTTP client (rustls with ring, keep-alive, 15 s timeout).
    let client = offsite_core::notify::webhook::client().map_err(|e| e.message)?;
    let metrics_url = format!("{}/metrics", agent.url);
    let floor_url = format!("{}/platform/projects/p00/backup-schedule", agent.url);
    let mut rounds = Vec::new();
    let mut body_bytes = 0;
    for i in 1..=runs {
        let (mut m, mut f) = (Vec::new(), Vec::new());
        for n in 0..WARM_UP + REQUESTS {
            let (ms, body) = rt.block_on(get(&client, &metrics_url, &metrics_token))?;
            check_metrics(&body)?;
            body_bytes = body.len();
            let (fs, _) = rt.block_on(get(&client, &floor_url, &api_token))?;
            if n >= WARM_UP {
                m.push(ms);
                f.push(fs);
            }
        }
        let r = Round {
            metrics: Stats::of(&mut m),
            floor: Stats::of(&mut f),
        };
        eprintln!(
            "  /metrics round {i}/{runs}: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; \
             floor p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            r.metrics.p50, r.metrics.p95, r.metrics.max, r.floor.p50, r.floor.p95, r.floor.max
        );
        rounds.push(r);
    }
    drop(agent);
    Ok(MetricsBench { rounds, body_bytes })
}

/// One GET with a bearer token, timed to the last byte of the body; must answer 200.
async fn get(client: &reqwest::Client, url: &str, token: &str) -> Result<(f64, String), String> {
    let t0 = Instant::now();
    let resp = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| format!("GET {url}: {e}"))?;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    if status != reqwest::StatusCode::OK {
        return Err(format!("GET {url}: {status}: {body}"));
    }
    Ok((ms, body))
}

/// Every project has its last success in the answer.
fn check_metrics(body: &str) -> Result<(), String> {
    for i in 0..PROJECTS {
        let needle = format!("offsite_backup_last_success_timestamp_seconds{{project=\"p{i:02}\"");
        if !body.contains(&needle) {
            return Err(format!(
                "/metrics does not name project p{i:02}: {body:.400}"
            ));
        }
    }
    Ok(())
}

/// The agent's configuration with the 50 projects (a closed port: nothing connects).
fn write_config(dir: &Path) -> Result<std::path::PathBuf, String> {
    let data = dir.join("data");
    offsite_core::private_fs::create_dir_all(&data)
        .map_err(|e| format!("{}: {e}", data.display()))?;
    let mut text = format!("listen = \"127.0.0.1:0\"\ndata_dir = {data:?}\n");
    for i in 0..PROJECTS {
        text.push_str(&format!(
            "\n[projects.p{i:02}]\ndatabase_url = \"postgres://postgres@127.0.0.1:1/postgres\"\n"
        ));
    }
    let config = dir.join("agent.toml");
    std::fs::write(&config, text).map_err(|e| format!("writing the agent's config: {e}"))?;
    Ok(config)
}

/// 50 projects with a daily schedule, 20 successful and 2 failed backups each.
async fn seed(engine_dir: &Path) -> Result<(), String> {
    let err = |e: offsite_core::Error| e.to_string();
    offsite_core::private_fs::create_dir_all(engine_dir)
        .map_err(|e| format!("{}: {e}", engine_dir.display()))?;
    let catalog = Catalog::open(engine_dir).await.map_err(err)?;
    let slot = crate::notify::slot_hours_away(12);
    for i in 0..PROJECTS {
        let name = format!("p{i:02}");
        let p = catalog
            .add_project(&NewProject {
                name: name.clone(),
                db_url: "postgres://postgres@127.0.0.1:1/postgres".to_string(),
                tls_mode: "disable".to_string(),
                backup_dir: None,
            })
            .await
            .map_err(err)?;
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
            .map_err(err)?;
        for k in 0..22u64 {
            let job = catalog
                .start_job(JobKind::Backup, Some(&p.id))
                .await
                .map_err(err)?;
            let outcome = if k % 11 == 10 {
                JobOutcome::Failed {
                    code: "connection".into(),
                    message: "connection refused".into(),
                    hint: None,
                    detail: None,
                }
            } else {
                let b = catalog
                    .add_backup(&NewBackup {
                        project_id: p.id.clone(),
                        path: engine_dir.join(format!("{name}-{k}.offsite.tar.gz")),
                        size: 1_000_000 + k * 7919,
                        sha256: format!("{:064x}", (i as u128) << 32 | k as u128),
                        backup_type: BackupType::ALL[0],
                        created_at: catalog.now(),
                        manifest_json: None,
                        job_id: Some(job.id.clone()),
                        origin: Default::default(),
                    })
                    .await
                    .map_err(err)?;
                JobOutcome::Succeeded {
                    backup_id: Some(b.id),
                }
            };
            catalog.finish_job(&job.id, outcome).await.map_err(err)?;
        }
    }
    catalog.close().await;
    Ok(())
}

/// `offsite serve --config C token create ARGS`: the token it prints.
fn token(bin: &Path, config: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .args(["token", "create"])
        .args(args)
        .env_remove("OFFSITE_DATA_DIR")
        .output()
        .map_err(|e| format!("offsite serve token create: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "offsite serve token create {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `offsite serve` as its own process, killed on drop.
struct Agent {
    child: Child,
    url: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    fn start(bin: &Path, config: &Path, dir: &Path) -> Result<Agent, String> {
        let log_path = dir.join("agent.log");
        let log = std::fs::File::create(&log_path)
            .map_err(|e| format!("creating the agent's log: {e}"))?;
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--insecure-http")
            .env_remove("OFFSITE_DATA_DIR")
            .env_remove("OFFSITE_LOG")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting offsite serve: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(u) = line.strip_prefix("offsite agent listening on ") {
                        let url = u.trim().trim_end_matches('/').to_string();
                        return Ok(Agent { child, url });
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "offsite serve did not start: {}",
                        std::fs::read_to_string(&log_path).unwrap_or_default()
                    ));
                }
            }
        }
    }
}
