//! The dispatcher: claims the outbox rows that are due, sends each to its channel, and records
//! the result (sent; queued again at the backoff's time; failed with the reason). At least once:
//! a row is marked sent only after the channel accepted it, so a process killed mid-send sends
//! it again after the lease (receivers deduplicate on the event id). Per-channel rate limits,
//! and a storm of failures collapses into one digest (`outbox.rs`).
//!
//! It runs after every finished job ([`after_job`]), at every check of the due loop (the desktop
//! app, `offsite daemon`, the agent) and in `offsite run-due`.

use super::outbox::{self, LEASE};
use crate::catalog::{format_timestamp, parse_timestamp, ChannelRecord, OutboxRow};
use crate::engine::Engine;
use crate::error::{ErrorKind, Result};
use crate::notify::events::overdue_event;
use crate::notify::{
    channel_secret_key, email, ping, render::render, telegram, webhook, ChannelSpec, DeliveryError,
    DeliveryFailure, Event, EventProject,
};
use crate::ops::schedule::ProjectStatus;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// How many rows one claim takes (sent within the lease: 4 rounds of 8 requests of at most
/// 15 s each).
const BATCH: u32 = 32;
/// Sends at once to one channel.
const PARALLEL: usize = 8;
/// The most rounds of claims one pass makes (a pass ends when nothing is due).
const MAX_ROUNDS: usize = 500;
/// How long [`after_job`] may deliver before it lets the job's caller go on.
const AFTER_JOB_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

/// What one delivery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    pub sent: u32,
    /// Failed this time, queued again for later.
    pub retrying: u32,
    /// Failed for good (a permanent failure, or too old).
    pub failed: u32,
    /// Collapsed into digests.
    pub digested: u32,
    /// Held back by a channel's rate limit.
    pub postponed: u32,
}

/// A channel's secret from the keychain (`None`: not there). A keychain that cannot be reached
/// is a transient failure.
fn secret(
    engine: &Engine,
    channel: &str,
    what: &str,
) -> std::result::Result<Option<String>, DeliveryError> {
    engine
        .secrets
        .get(&channel_secret_key(channel, what))
        .map_err(|e| {
            let failure = if e.kind() == ErrorKind::KeychainUnavailable {
                DeliveryFailure::Connect
            } else {
                DeliveryFailure::Other
            };
            DeliveryError::new(
                failure,
                format!(
                    "reading the channel's {what} from the keychain: {}",
                    e.message()
                ),
            )
        })
}

fn missing(what: &str) -> DeliveryError {
    DeliveryError::new(
        DeliveryFailure::Auth,
        format!("the channel's {what} is not in the keychain (add the channel again)"),
    )
}

/// Send `event` to the channel `name` now (one attempt).
pub(crate) async fn send_event(
    engine: &Engine,
    client: &reqwest::Client,
    name: &str,
    spec: &ChannelSpec,
    event: &Event,
) -> std::result::Result<(), DeliveryError> {
    match spec {
        ChannelSpec::Webhook(w) => {
            let url = secret(engine, name, "url")?.ok_or_else(|| missing("URL"))?;
            let key = secret(engine, name, "secret")?;
            webhook::send(client, &url, key.as_deref(), w.preset, event).await
        }
        ChannelSpec::Ping(_) => {
            let url = secret(engine, name, "url")?.ok_or_else(|| missing("ping URL"))?;
            ping::send(client, &url, event).await
        }
        ChannelSpec::Email(e) => {
            let password = secret(engine, name, "password")?;
            email::send(e, password.as_deref(), &render(event), &event.id).await
        }
        ChannelSpec::Telegram(t) => {
            let token = secret(engine, name, "bot-token")?.ok_or_else(|| missing("bot token"))?;
            telegram::send(t, &token, &render(event)).await
        }
    }
}

/// Deliver what is due now; returns what happened. Errors are the catalog's only (a failed
/// send is recorded in its row).
pub(crate) async fn deliver_due(engine: &Engine) -> Result<DeliveryReport> {
    let catalog = &engine.catalog;
    let mut report = DeliveryReport::default();
    let mut client: Option<reqwest::Client> = None;
    let mut channels: Option<HashMap<String, ChannelRecord>> = None;
    for _ in 0..MAX_ROUNDS {
        let now = engine.clock.now();
        let rows = catalog
            .claim_outbox(
                &format_timestamp(now),
                &format_timestamp(now + LEASE),
                BATCH,
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        if channels.is_none() {
            let all = catalog.channels().await?;
            channels = Some(all.into_iter().map(|c| (c.name.clone(), c)).collect());
        }
        let specs = channels.as_ref().expect("loaded above");
        let lines = protection_lines(engine, &rows).await;
        let http = match &client {
            Some(c) => c.clone(),
            None => {
                let c = webhook::client().map_err(|e| crate::error::Error::internal(e.message))?;
                client = Some(c.clone());
                c
            }
        };
        let mut by_channel: BTreeMap<&str, Vec<&OutboxRow>> = BTreeMap::new();
        for r in &rows {
            by_channel.entry(r.channel.as_str()).or_default().push(r);
        }
        for (name, rows) in by_channel {
            let Some(channel) = specs.get(name) else {
                continue; // removed meanwhile: its rows went with it
            };
            deliver_channel(engine, &http, channel, rows, &lines, &mut report).await?;
        }
    }
    Ok(report)
}

/// The protection line of each project the rows' events name, from the one checklist as it
/// stands now ("2 of 5 done · next: …"): computed once per project and pass. A project whose
/// health cannot be read (removed meanwhile) has none.
async fn protection_lines(engine: &Engine, rows: &[OutboxRow]) -> HashMap<String, String> {
    let mut names: Vec<String> = rows
        .iter()
        .filter_map(|r| serde_json::from_str::<Event>(&r.payload_json).ok())
        .filter_map(|e| e.project.map(|p| p.name))
        .collect();
    names.sort();
    names.dedup();
    let mut lines = HashMap::new();
    for name in names {
        let line = match engine.health_from_catalog(Some(&name)).await {
            Ok(list) => list.first().and_then(|h| h.checklist.next_step()),
            Err(e) => {
                tracing::debug!(project = %name, "no protection line for a notification: {e}");
                None
            }
        };
        if let Some(line) = line {
            lines.insert(name, line);
        }
    }
    lines
}

async fn deliver_channel(
    engine: &Engine,
    client: &reqwest::Client,
    channel: &ChannelRecord,
    mut rows: Vec<&OutboxRow>,
    lines: &HashMap<String, String>,
    report: &mut DeliveryReport,
) -> Result<()> {
    let (name, spec) = (channel.name.as_str(), &channel.spec);
    let catalog = &engine.catalog;
    let now = engine.clock.now();
    let now_s = format_timestamp(now);
    let recent = catalog
        .outbox_failures_since(name, &format_timestamp(now - time::Duration::minutes(1)))
        .await?;
    let plan = outbox::storm(spec, &rows, recent);
    if !plan.collapse.is_empty() {
        let digest = outbox::digest(&plan.collapse, &now_s);
        catalog.enqueue_event(&digest, None, Some(name)).await?;
        let ids: Vec<i64> = plan.collapse.iter().map(|r| r.id).collect();
        catalog.outbox_digested(&ids, &digest.id).await?;
        report.digested += ids.len() as u32;
        rows.retain(|r| !ids.contains(&r.id));
    }
    if !plan.hold.is_empty() {
        let at = format_timestamp(outbox::next_minute(now));
        let ids: Vec<i64> = plan.hold.iter().map(|r| r.id).collect();
        for id in &ids {
            catalog.outbox_hold(*id, &at, outbox::STORM_HOLD).await?;
        }
        report.postponed += ids.len() as u32;
        rows.retain(|r| !ids.contains(&r.id));
    }
    let sent_lately = catalog
        .outbox_sent_since(name, &format_timestamp(now - time::Duration::minutes(1)))
        .await?;
    let allowed = channel.rate().saturating_sub(sent_lately) as usize;
    if rows.len() > allowed {
        let later = format_timestamp(now + time::Duration::minutes(1));
        for r in rows.drain(allowed..) {
            catalog.outbox_postpone(r.id, &later).await?;
            report.postponed += 1;
        }
    }
    let mut results = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(PARALLEL) {
        let sends = chunk
            .iter()
            .map(|r| send_row(engine, client, name, spec, r, lines));
        let done = futures::future::join_all(sends).await;
        results.extend(chunk.iter().copied().zip(done));
    }
    for (r, sent) in results {
        match sent {
            Ok(()) => {
                catalog.outbox_sent(r.id).await?;
                report.sent += 1;
            }
            Err(e) => {
                let now = engine.clock.now();
                let created = parse_timestamp(&r.created_at).unwrap_or(now);
                let attempts = u32::try_from(r.attempts).unwrap_or(u32::MAX);
                let next = outbox::retry_at(attempts, &e, created, now).map(format_timestamp);
                tracing::info!(channel = %name, event = %r.event_id, "a notification was not delivered: {}", e.message);
                if next.is_some() {
                    report.retrying += 1;
                } else {
                    report.failed += 1;
                }
                catalog
                    .outbox_failed(r.id, &e.message, next.as_deref())
                    .await?;
            }
        }
    }
    Ok(())
}

/// One row's event sent (or why it was not).
async fn send_row(
    engine: &Engine,
    client: &reqwest::Client,
    name: &str,
    spec: &ChannelSpec,
    row: &OutboxRow,
    lines: &HashMap<String, String>,
) -> std::result::Result<(), DeliveryError> {
    match serde_json::from_str::<Event>(&row.payload_json) {
        Ok(mut event) => {
            if event.protection.is_none() {
                event.protection = event
                    .project
                    .as_ref()
                    .and_then(|p| lines.get(&p.name))
                    .cloned();
            }
            send_event(engine, client, name, spec, &event).await
        }
        Err(e) => Err(DeliveryError::new(
            DeliveryFailure::Other,
            format!("the stored event cannot be read: {e}"),
        )),
    }
}

/// Right after a job finished: deliver its event (and anything else due), for at most
/// [`AFTER_JOB_BUDGET`]; what is left is sent by the next pass. Never fails the job.
pub(crate) async fn after_job(engine: &Engine) {
    // Boxed: the job runner's future stays `Send` for every lifetime (see ops/drill.rs).
    let pass: std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<DeliveryReport>> + Send + '_>,
    > = Box::pin(deliver_due(engine));
    match tokio::time::timeout(AFTER_JOB_BUDGET, pass).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!("delivering notifications failed: {e}"),
        Err(_) => tracing::info!("notifications still being delivered; the next check goes on"),
    }
}

/// A backup of `project_id` starts: every ping channel that carries the project's backups gets
/// `<url>/start` now (not queued: a missed start only loses the run-time measurement; at most
/// 5 s in all).
pub(crate) async fn ping_start(engine: &Engine, project_id: Option<&str>) {
    let pass = async {
        let channels = engine.catalog.channels().await.ok()?;
        let pings: Vec<_> = channels
            .into_iter()
            .filter(|c| matches!(c.spec, ChannelSpec::Ping(_)))
            .collect();
        if pings.is_empty() {
            return Some(());
        }
        let routes = match project_id {
            Some(p) => engine.catalog.routes(Some(p)).await.ok()?,
            None => Vec::new(),
        };
        let client = webhook::client().ok()?;
        for c in pings {
            let groups: Option<Vec<crate::notify::events::EventGroup>> = if routes.is_empty() {
                None
            } else {
                Some(
                    routes
                        .iter()
                        .filter(|r| r.channel == c.name)
                        .flat_map(|r| {
                            r.events
                                .iter()
                                .filter_map(|g| crate::notify::events::EventGroup::parse(g))
                        })
                        .collect(),
                )
            };
            let wants = crate::notify::events::channel_wants(
                &c.spec,
                groups.as_deref(),
                crate::notify::EventKind::BackupSucceeded,
            ) || crate::notify::events::channel_wants(
                &c.spec,
                groups.as_deref(),
                crate::notify::EventKind::BackupFailed,
            );
            if !wants {
                continue;
            }
            let Ok(Some(url)) = secret(engine, &c.name, "url") else {
                continue;
            };
            if let Err(e) = ping::send_start(&client, &url).await {
                tracing::info!(channel = %c.name, "the start ping failed: {}", e.message);
            }
        }
        Some(())
    };
    let pass: std::pin::Pin<Box<dyn std::future::Future<Output = Option<()>> + Send + '_>> =
        Box::pin(pass);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), pass).await;
}

/// Record each project's overdue state from `statuses`; a change (or a first overdue) queues
/// its event in the same transaction, so it fires once.
pub(crate) async fn record_overdue(engine: &Engine, statuses: &[ProjectStatus]) -> Result<u32> {
    let catalog = &engine.catalog;
    let known = catalog.overdue_states().await?;
    let ids: HashMap<String, String> = catalog
        .projects()
        .await?
        .into_iter()
        .map(|p| (p.name, p.id))
        .collect();
    let now = catalog.now();
    let mut fired = 0;
    for s in statuses {
        let Some(id) = ids.get(&s.name) else { continue };
        if known.get(id) == Some(&s.overdue) {
            continue;
        }
        let project = EventProject {
            id: id.clone(),
            name: s.name.clone(),
        };
        let last_good = s.last_good.clone();
        if catalog
            .record_overdue(id, s.overdue, |o| {
                overdue_event(project, o, last_good.as_deref(), &now)
            })
            .await?
        {
            fired += 1;
        }
    }
    Ok(fired)
}
