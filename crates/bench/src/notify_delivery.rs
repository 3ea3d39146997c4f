//! `offsite-bench --notify`, delivery: 1,000 queued events delivered to a local HTTP receiver.
//!
//! Each run seeds a fresh data folder through the engine's own catalog API: one JSON webhook
//! channel (with an HMAC secret) routed for all events from 50 projects, and 1,000 finished
//! backup jobs (`Catalog::start_job` + `Catalog::finish_job`, which queues each job's event in
//! the same transaction, as every real backup does). Then the release `offsite run-due` is run
//! pass after pass until every one of the 1,000 rows is `sent`, timed from the first pass's
//! start to the last one's end (the channel's URL and secret come from the environment store).
//! The receiver must have accepted each event id exactly once.
//!
//! The floor: the same 1,000 events POSTed one after another with the product's own HTTP client
//! and request code (`notify::webhook::client` + `webhook::send`: same payload, headers, HMAC,
//! no TLS on loopback) to the same receiver, in this process (no catalog, no process start).

use crate::report::median;
use offsite_core::catalog::{Catalog, JobKind, JobOutcome, NewProject};
use offsite_core::notify::{channel_secret_key, webhook, ChannelSpec, Event, Preset, WebhookSpec};
use offsite_core::secrets::env_var_for_key;
use offsite_testkit::WebhookReceiver;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Events queued per run.
pub const EVENTS: usize = 1000;
const PROJECTS: usize = 50;
const CHANNEL: &str = "hook";
const SECRET: &str = "bench-hmac-secret";
/// The longest a run may take before it is called failed (the rate limit postpones by a minute).
const GIVE_UP: Duration = Duration::from_secs(180);

/// One run.
pub struct DeliveryRun {
    /// First pass's start to the end of the pass after which every row was `sent`.
    pub secs: f64,
    pub passes: usize,
    /// The floor: 1,000 POSTs in a loop.
    pub floor_secs: f64,
    /// Events the product's watchers queued meanwhile (delivered in the same passes).
    pub extra: usize,
}

/// The medians of all runs.
pub struct Delivery {
    pub runs: Vec<DeliveryRun>,
}

impl Delivery {
    pub fn secs(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.secs).collect::<Vec<_>>())
    }
    pub fn floor_secs(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.floor_secs).collect::<Vec<_>>())
    }
}

/// `runs` runs, each in its own folder under `work` with its own receiver.
pub fn run(bin: &Path, work: &Path, runs: usize) -> Result<Delivery, String> {
    let mut out = Vec::new();
    for i in 1..=runs {
        let dir = work.join(format!("delivery-{i}"));
        let r = one_run(bin, &dir)?;
        eprintln!(
            "  delivery run {i}/{runs}: {:.2} s in {} pass(es) ({:.0} events/s; {} watcher events besides); floor {:.2} s",
            r.secs,
            r.passes,
            EVENTS as f64 / r.secs,
            r.extra,
            r.floor_secs
        );
        out.push(r);
    }
    Ok(Delivery { runs: out })
}

fn rt() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))
}

fn one_run(bin: &Path, dir: &Path) -> Result<DeliveryRun, String> {
    let rx = WebhookReceiver::start();
    let url = rx.url(&format!("/{CHANNEL}"));
    let rt = rt()?;
    let events = rt.block_on(seed(dir, &url))?;
    let t0 = Instant::now();
    let mut passes = 0;
    loop {
        passes += 1;
        run_due(bin, dir, &url)?;
        let states = rt.block_on(states(dir))?;
        let sent = events
            .iter()
            .filter(|e| states.get(&e.id).map(String::as_str) == Some("sent"))
            .count();
        if sent == EVENTS {
            break;
        }
        if t0.elapsed() > GIVE_UP {
            return Err(format!(
                "delivery: only {sent} of {EVENTS} rows sent after {passes} passes and {} s",
                t0.elapsed().as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let secs = t0.elapsed().as_secs_f64();
    let extra = check_received(&rx, &format!("/{CHANNEL}"), &events)?;
    let floor_url = rx.url("/floor");
    let floor_secs = rt.block_on(floor(&floor_url, &events))?;
    let floor_ok = rx
        .requests()
        .iter()
        .filter(|r| r.path == "/floor" && r.status == 200)
        .count();
    if floor_ok != EVENTS {
        return Err(format!(
            "floor: the receiver accepted {floor_ok} of {EVENTS} POSTs"
        ));
    }
    Ok(DeliveryRun {
        secs,
        passes,
        floor_secs,
        extra,
    })
}

/// `offsite run-due` over `dir`, the channel's URL and secret from the environment store.
fn run_due(bin: &Path, dir: &Path, url: &str) -> Result<(), String> {
    let out = Command::new(bin)
        .env("OFFSITE_SECRET_STORE", "env")
        .env_remove("OFFSITE_LOG")
        .env_remove("OFFSITE_DATA_DIR")
        .env(env_var_for_key(&channel_secret_key(CHANNEL, "url")), url)
        .env(
            env_var_for_key(&channel_secret_key(CHANNEL, "secret")),
            SECRET,
        )
        .arg("--data-dir")
        .arg(dir)
        .arg("run-due")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("starting offsite run-due: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "offsite run-due failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// The data folder: the channel, 50 projects routed to it for all events, and 1,000 finished
/// backup jobs (20 a project), whose events the catalog queues as it records them. Returns the
/// queued events.
async fn seed(dir: &Path, url: &str) -> Result<Vec<Event>, String> {
    let err = |e: offsite_core::Error| e.to_string();
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let catalog = Catalog::open(dir).await.map_err(err)?;
    let spec = ChannelSpec::Webhook(WebhookSpec {
        url_display: url.to_string(),
        preset: Preset::Json,
    });
    catalog.add_channel(CHANNEL, &spec).await.map_err(err)?;
    let all = offsite_core::notify::events::parse_groups("all").map_err(err)?;
    for i in 0..PROJECTS {
        let p = catalog
            .add_project(&NewProject {
                name: format!("p{i:02}"),
                db_url: "postgres://postgres@127.0.0.1:1/postgres".to_string(),
                tls_mode: "disable".to_string(),
                backup_dir: None,
            })
            .await
            .map_err(err)?;
        catalog.set_route(&p.id, CHANNEL, &all).await.map_err(err)?;
        for _ in 0..EVENTS / PROJECTS {
            let job = catalog
                .start_job(JobKind::Backup, Some(&p.id))
                .await
                .map_err(err)?;
            let done = JobOutcome::Succeeded { backup_id: None };
            catalog.finish_job(&job.id, done).await.map_err(err)?;
        }
    }
    let rows = catalog
        .outbox(None, 10 * EVENTS as u32)
        .await
        .map_err(err)?;
    catalog.close().await;
    let queued: Vec<_> = rows
        .iter()
        .filter(|r| r.channel == CHANNEL && r.state == "queued")
        .collect();
    if queued.len() != EVENTS || rows.len() != EVENTS {
        return Err(format!(
            "seeding: {} outbox rows, {} queued for {CHANNEL}; expected {EVENTS}",
            rows.len(),
            queued.len()
        ));
    }
    queued
        .iter()
        .map(|r| {
            serde_json::from_str::<Event>(&r.payload_json)
                .map_err(|e| format!("a queued event cannot be read: {e}"))
        })
        .collect()
}

/// Every outbox row's state, by event id.
async fn states(dir: &Path) -> Result<HashMap<String, String>, String> {
    let catalog = Catalog::open(dir).await.map_err(|e| e.to_string())?;
    let rows = catalog
        .outbox(None, 10 * EVENTS as u32)
        .await
        .map_err(|e| e.to_string())?;
    catalog.close().await;
    Ok(rows.into_iter().map(|r| (r.event_id, r.state)).collect())
}

/// The receiver accepted each event id exactly once on `path` (and nothing failed); returns
/// how many other events (the watchers') it received, each once.
fn check_received(rx: &WebhookReceiver, path: &str, events: &[Event]) -> Result<usize, String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let reqs = rx.requests();
    for r in reqs.iter().filter(|r| r.path == path) {
        if r.status != 200 {
            return Err(format!("the receiver answered {} to a delivery", r.status));
        }
        let id = r.header("offsite-event-id").unwrap_or_default().to_string();
        *seen.entry(id).or_default() += 1;
    }
    for e in events {
        match seen.get(&e.id) {
            Some(1) => {}
            Some(n) => return Err(format!("event {} was delivered {n} times", e.id)),
            None => return Err(format!("event {} never reached the receiver", e.id)),
        }
    }
    if let Some((id, n)) = seen.iter().find(|(_, n)| **n > 1) {
        return Err(format!("event {id} was delivered {n} times"));
    }
    // The product's own watchers may queue events of their own meanwhile (a `space_low` per
    // project when the disk is below 10 % free): delivered too, and counted.
    Ok(seen.len() - events.len())
}

/// The floor: `events` POSTed one after another with the product's client and request code.
async fn floor(url: &str, events: &[Event]) -> Result<f64, String> {
    let client = webhook::client().map_err(|e| e.message)?;
    let t0 = Instant::now();
    for e in events {
        webhook::send(&client, url, Some(SECRET), Preset::Json, e)
            .await
            .map_err(|e| format!("floor POST: {}", e.message))?;
    }
    Ok(t0.elapsed().as_secs_f64())
}
