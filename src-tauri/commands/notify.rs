//! Notification channels (email, webhooks, Telegram, heartbeat pings), which of a project's events
//! go to which channel (routes), "send a test" and the outbox (the delivery log). Secrets (an SMTP
//! password, a webhook's URL and signing secret, a bot token, a ping URL) go in — to the keychain,
//! through the engine — and never come out: a channel comes back with its target redacted.

use super::{err, CmdResult};
use crate::Shell;
use offsite_core::catalog::{ChannelRecord, OutboxRow, RouteRecord};
use offsite_core::notify::{ChannelSpec, Event, Preset, SmtpSecurity};
use offsite_core::ops::notify::ChannelInput;
use serde::{Deserialize, Serialize};
use tauri::State;

/// How many rows of the delivery log the app reads at most.
pub const LOG_LIMIT: u32 = 200;

/// The kinds of channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Webhook,
    Telegram,
    Ping,
}

/// How a webhook formats its message: Offsite's signed JSON (payload v1) or a service's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum WebhookPreset {
    Json,
    Slack,
    Discord,
    Teams,
    Mattermost,
    Ntfy,
    Pagerduty,
}

impl From<WebhookPreset> for Preset {
    fn from(p: WebhookPreset) -> Preset {
        match p {
            WebhookPreset::Json => Preset::Json,
            WebhookPreset::Slack => Preset::Slack,
            WebhookPreset::Discord => Preset::Discord,
            WebhookPreset::Teams => Preset::Teams,
            WebhookPreset::Mattermost => Preset::Mattermost,
            WebhookPreset::Ntfy => Preset::Ntfy,
            WebhookPreset::Pagerduty => Preset::Pagerduty,
        }
    }
}

/// A channel to add, with its secrets (kept in the keychain, never returned).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NewChannel {
    /// `to`: comma-separated addresses; `smtp_url`: `smtp://[user@]host[:port]` (STARTTLS),
    /// `smtps://…` (TLS), `?from=ADDRESS`; never the password (that is `password`).
    Email {
        to: String,
        smtp_url: String,
        password: Option<String>,
    },
    /// `secret` signs the body (`Offsite-Signature`); a PagerDuty preset's routing key.
    Webhook {
        url: String,
        preset: WebhookPreset,
        secret: Option<String>,
    },
    /// `api_base`: the Bot API server (`null` or empty: https://api.telegram.org; https, or http
    /// to this machine only).
    Telegram {
        chat_id: String,
        bot_token: String,
        #[serde(default)]
        api_base: Option<String>,
    },
    /// A healthchecks.io-style check URL.
    Ping { url: String },
}

impl From<NewChannel> for ChannelInput {
    fn from(c: NewChannel) -> ChannelInput {
        let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
        match c {
            NewChannel::Email {
                to,
                smtp_url,
                password,
            } => ChannelInput::Email {
                to: vec![to],
                smtp_url,
                password: nonempty(password),
            },
            NewChannel::Webhook {
                url,
                preset,
                secret,
            } => ChannelInput::Webhook {
                url,
                preset: preset.into(),
                secret: nonempty(secret),
            },
            NewChannel::Telegram {
                chat_id,
                bot_token,
                api_base,
            } => ChannelInput::Telegram {
                chat_id,
                bot_token,
                api_base: api_base.filter(|b| !b.trim().is_empty()),
            },
            NewChannel::Ping { url } => ChannelInput::Ping { url },
        }
    }
}

/// A channel as the app shows it: what it is and where it sends, with nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ChannelView {
    pub name: String,
    pub kind: ChannelKind,
    /// Where it sends, redacted (`ops@example.com via mail.example.com:587`,
    /// `https://hooks.slack.com/services/…`, `chat -100…`).
    pub target: String,
    /// The webhook's format, the SMTP security, a Telegram channel's Bot API server when not
    /// Telegram's own; `null` for the others.
    pub detail: Option<String>,
    pub created_at: String,
    /// The most messages it sends a minute.
    pub rate_per_minute: u32,
    /// Whether that is its kind's default (no rate of its own).
    pub rate_is_default: bool,
    /// The event groups it takes from a project without any route (the engine's default, as
    /// the route editor's boxes show it).
    pub default_events: Vec<String>,
}

impl From<ChannelRecord> for ChannelView {
    fn from(c: ChannelRecord) -> ChannelView {
        let rate_per_minute = c.rate();
        let rate_is_default = c.rate_per_minute.is_none();
        let default_events = offsite_core::notify::events::default_groups(&c.spec)
            .into_iter()
            .map(|g| g.as_str().to_string())
            .collect();
        let (kind, target, detail) = match c.spec {
            ChannelSpec::Email(e) => {
                let security = match e.security {
                    SmtpSecurity::Starttls => "STARTTLS",
                    SmtpSecurity::Tls => "TLS",
                    SmtpSecurity::None => "no TLS (loopback relay)",
                };
                let target = format!("{} via {}:{}", e.to.join(", "), e.host, e.port);
                (ChannelKind::Email, target, Some(security.to_string()))
            }
            ChannelSpec::Webhook(w) => {
                let preset = serde_json::to_value(w.preset)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string));
                (ChannelKind::Webhook, w.url_display, preset)
            }
            ChannelSpec::Telegram(t) => {
                let server = (t.api_base != offsite_core::notify::telegram::DEFAULT_API_BASE)
                    .then(|| format!("via {}", t.api_base));
                (ChannelKind::Telegram, format!("chat {}", t.chat_id), server)
            }
            ChannelSpec::Ping(p) => (ChannelKind::Ping, p.url_display, None),
        };
        ChannelView {
            name: c.name,
            kind,
            target,
            detail,
            created_at: c.created_at,
            rate_per_minute,
            rate_is_default,
            default_events,
        }
    }
}

/// A project's route to one channel: the event groups it sends there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RouteView {
    /// The project's name.
    pub project: String,
    pub channel: String,
    /// `failed`, `succeeded`, `overdue`, `drill`, `retention`, `space`, `copies`, `agent`, `platform`.
    pub events: Vec<String>,
}

impl From<RouteRecord> for RouteView {
    fn from(r: RouteRecord) -> RouteView {
        RouteView {
            project: r.project,
            channel: r.channel,
            events: r.events,
        }
    }
}

/// Every channel and every route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct NotifyOverview {
    pub channels: Vec<ChannelView>,
    pub routes: Vec<RouteView>,
}

/// One event for one channel in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct DeliveryView {
    pub id: i64,
    pub event_id: String,
    pub channel: String,
    /// The project's name (`null`: an event of no project, such as a test).
    pub project: Option<String>,
    /// `backup_failed`, `project_overdue`, `test`… (the event's kind).
    pub kind: String,
    /// ok | warning | failure
    pub severity: String,
    /// The event's one line ("Backup of shop failed: …").
    pub summary: String,
    /// queued | sending | sent | failed | digested
    pub state: String,
    pub attempts: i64,
    /// RFC 3339 UTC.
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

impl From<OutboxRow> for DeliveryView {
    fn from(r: OutboxRow) -> DeliveryView {
        let event: Option<Event> = serde_json::from_str(&r.payload_json).ok();
        DeliveryView {
            id: r.id,
            event_id: r.event_id,
            channel: r.channel,
            project: event
                .as_ref()
                .and_then(|e| e.project.as_ref().map(|p| p.name.clone())),
            kind: r.kind,
            severity: r.severity,
            summary: event.map(|e| e.summary).unwrap_or_default(),
            state: r.state,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            created_at: r.created_at,
            sent_at: r.sent_at,
        }
    }
}

/// Every channel (targets redacted) and every project's routes.
#[tauri::command]
#[specta::specta]
pub async fn list_channels(shell: State<'_, Shell>) -> CmdResult<NotifyOverview> {
    let (channels, routes) = shell.engine()?.notify_list().await.map_err(err)?;
    Ok(NotifyOverview {
        channels: channels.into_iter().map(ChannelView::from).collect(),
        routes: routes.into_iter().map(RouteView::from).collect(),
    })
}

/// Add a channel named `name`; its secrets go to the keychain. `rate_per_minute`: the most
/// messages it sends a minute (`null`: its kind's default). Returns it as listed.
#[tauri::command]
#[specta::specta]
pub async fn add_channel(
    shell: State<'_, Shell>,
    name: String,
    channel: NewChannel,
    rate_per_minute: Option<u32>,
) -> CmdResult<ChannelView> {
    let engine = shell.engine()?;
    let record = engine
        .notify_add_rated(name.trim(), channel.into(), rate_per_minute)
        .await
        .map_err(err)?;
    Ok(record.into())
}

/// A Telegram Bot API server as a channel would store it, checked by the engine's rule (https,
/// or http to this machine only; no user, query or fragment): the form shows the error on its
/// field before anything is stored.
#[tauri::command]
#[specta::specta]
pub async fn check_telegram_api(url: String) -> CmdResult<String> {
    offsite_core::notify::telegram::api_base(&url).map_err(err)
}

/// Remove a channel with its routes, its queued messages and its secrets.
#[tauri::command]
#[specta::specta]
pub async fn remove_channel(shell: State<'_, Shell>, name: String) -> CmdResult<()> {
    shell.engine()?.notify_remove(&name).await.map_err(err)
}

/// Send a test message to a channel now; its event id, or the coded error saying why it failed
/// (DNS, connection, TLS, authentication, the server's answer).
#[tauri::command]
#[specta::specta]
pub async fn test_channel(shell: State<'_, Shell>, name: String) -> CmdResult<String> {
    shell.engine()?.notify_test(&name).await.map_err(err)
}

/// Send `project`'s events of these groups to `channel` (replacing that route's groups). Returns
/// the project's routes.
#[tauri::command]
#[specta::specta]
pub async fn set_notify_route(
    shell: State<'_, Shell>,
    project: String,
    channel: String,
    events: Vec<String>,
) -> CmdResult<Vec<RouteView>> {
    let routes = shell
        .engine()?
        .notify_route_list(&project, &events, &[channel])
        .await
        .map_err(err)?;
    Ok(routes.into_iter().map(RouteView::from).collect())
}

/// The delivery log, newest first: every event per channel, queued, sent or failed with the
/// reason; of one project (by name) or all.
#[tauri::command]
#[specta::specta]
pub async fn notify_log(
    shell: State<'_, Shell>,
    project: Option<String>,
) -> CmdResult<Vec<DeliveryView>> {
    let rows = shell
        .engine()?
        .notify_log(project.as_deref(), LOG_LIMIT)
        .await
        .map_err(err)?;
    Ok(rows.into_iter().map(DeliveryView::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use offsite_core::notify::{EmailSpec, WebhookSpec};

    #[test]
    fn a_channel_is_shown_without_its_secrets() {
        let view = ChannelView::from(ChannelRecord {
            name: "hook".into(),
            spec: ChannelSpec::Webhook(WebhookSpec {
                url_display: "https://hooks.slack.com/services/…".into(),
                preset: Preset::Slack,
            }),
            created_at: "2026-11-24T17:00:00Z".into(),
            rate_per_minute: None,
        });
        assert_eq!(view.kind, ChannelKind::Webhook);
        assert_eq!((view.rate_per_minute, view.rate_is_default), (30, true));
        assert_eq!(view.detail.as_deref(), Some("slack"));
        assert_eq!(view.target, "https://hooks.slack.com/services/…");
        let view = ChannelView::from(ChannelRecord {
            name: "mail".into(),
            spec: ChannelSpec::Email(EmailSpec {
                to: vec!["a@x.org".into(), "b@x.org".into()],
                from: "o@x.org".into(),
                host: "mail.x.org".into(),
                port: 465,
                security: SmtpSecurity::Tls,
                username: Some("o@x.org".into()),
            }),
            created_at: "2026-11-24T17:00:00Z".into(),
            rate_per_minute: Some(2),
        });
        assert_eq!((view.rate_per_minute, view.rate_is_default), (2, false));
        assert_eq!(view.target, "a@x.org, b@x.org via mail.x.org:465");
        assert_eq!(view.detail.as_deref(), Some("TLS"));
    }

    #[test]
    fn empty_secrets_from_the_form_are_no_secret() {
        let input: ChannelInput = NewChannel::Webhook {
            url: "https://example.com/h".into(),
            preset: WebhookPreset::Json,
            secret: Some(String::new()),
        }
        .into();
        assert!(matches!(input, ChannelInput::Webhook { secret: None, .. }));
        let input: ChannelInput = NewChannel::Email {
            to: "a@x.org, b@x.org".into(),
            smtp_url: "smtp://mail.x.org".into(),
            password: Some(String::new()),
        }
        .into();
        assert!(
            matches!(input, ChannelInput::Email { password: None, ref to, .. } if to == &["a@x.org, b@x.org"])
        );
        // An empty "Bot API server" field is Telegram's own server.
        let input: ChannelInput = NewChannel::Telegram {
            chat_id: "-100".into(),
            bot_token: "1:A".into(),
            api_base: Some("  ".into()),
        }
        .into();
        assert!(matches!(
            input,
            ChannelInput::Telegram { api_base: None, .. }
        ));
    }
}
