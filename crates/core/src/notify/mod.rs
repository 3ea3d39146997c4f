//! Notifications beyond the desktop: channels (email, webhooks with presets, Telegram, heartbeat
//! pings), the events they carry, and an outbox in the catalog that delivers each event at least
//! once. Metrics (Prometheus text) are rendered here too.
//!
//! The shared vocabulary lives in this file: [`Event`] (the versioned payload every channel
//! formats), [`EventKind`], [`ChannelSpec`] (what is stored per channel, never a secret),
//! [`Rendered`] (subject, text and HTML every human-facing channel sends) and [`DeliveryError`]
//! (why one attempt failed, and whether trying again can help).
//!
//! Module map (one subject per file):
//! - `events.rs`: event groups and routing (the default without a route), the events a finished
//!   job or an overdue transition makes;
//! - `render.rs`: an event → [`Rendered`] (plain text + simple HTML);
//! - `webhook.rs`, `presets.rs`: JSON payload v1 signed with HMAC-SHA256; Slack, Discord, Teams,
//!   Mattermost, ntfy and PagerDuty Events v2 formats;
//! - `ping.rs`: healthchecks.io convention (`/start`, success, `/fail`);
//! - `email.rs`: SMTP through `lettre` (STARTTLS, implicit TLS, auth);
//! - `telegram.rs`: Bot API `sendMessage`;
//! - `metrics.rs`: Prometheus text exposition (agent `/metrics`, `--metrics-file`);
//! - `outbox.rs`, `deliver.rs`: the catalog outbox, delivery with backoff, rate limits, digests.

pub mod email;
pub mod events;
pub mod markup;
pub mod ping;
pub mod presets;
pub mod rate;
pub mod render;
pub mod telegram;
pub mod webhook;

use serde::{Deserialize, Serialize};

/// The version of the JSON payload ([`Event`]); bumped only on an incompatible change.
pub const PAYLOAD_VERSION: u32 = 1;

/// The HTTP header that carries the event id (receivers deduplicate on it).
pub const EVENT_ID_HEADER: &str = "Offsite-Event-Id";
/// The HTTP header that carries `sha256=<hex>`: HMAC-SHA256 of the exact body with the secret.
pub const SIGNATURE_HEADER: &str = "Offsite-Signature";

/// What happened. Stored as text (`backup_failed`, …) in the outbox and in the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    BackupSucceeded,
    BackupFailed,
    /// The canary found a backup suspicious: it shrank, a table lost most of its rows, a table
    /// or schema is gone (issue 47).
    BackupSuspicious,
    VerifyDamaged,
    DrillPassed,
    DrillFailed,
    ProjectOverdue,
    ProjectBackToNormal,
    CopyPending,
    RetentionWillRemove,
    RetentionRemoved,
    SpaceLow,
    AgentUnreachable,
    AgentCertificateChanged,
    PlatformBackupMissing,
    /// Point-in-time capture dropped its slot (it held more WAL than allowed) or found it gone:
    /// the restorable window ends there until capture is enabled again (issue 46).
    PitrSlotDropped,
    /// A capture pass found a replication slot named like Offsite's that no capture of this
    /// catalog reads (left by a removed project or agent, or another catalog's): it keeps WAL on
    /// the server for as long as it is there (issue 46).
    PitrStraySlot,
    /// "Send a test" from the app or `offsite notify test`.
    Test,
    /// Several failures collapsed into one message (a storm).
    Digest,
}

/// The outcome an event reports, for channels that colour or route by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Ok,
    Warning,
    Failure,
}

/// A project as an event names it (never its URL: URLs can carry credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventProject {
    pub id: String,
    pub name: String,
}

/// An error as an event carries it: the code, the message and the hint, as the error type has
/// them (error text never holds a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The versioned JSON payload (v1) every channel formats; webhooks send it as is.
/// Documented in docs/notifications.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// [`PAYLOAD_VERSION`].
    pub version: u32,
    /// UUID v4; the same on every retry of the same event (receivers deduplicate on it).
    pub id: String,
    pub event: EventKind,
    pub severity: Severity,
    /// RFC 3339 UTC, from the engine's `Clock`.
    pub occurred_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<EventProject>,
    /// One line a person reads first ("Backup of shop failed: connection refused").
    pub summary: String,
    /// The project's protection checklist when the event is sent ("2 of 5 done · next: …",
    /// `health::Checklist::next_step`); absent without a project or when all is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protection: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<EventError>,
    /// Event-specific facts (the retry plan, the backups retention will remove and why, space left
    /// and days until full, the failed drill check…): a JSON object, never secret.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

/// What a human-facing channel (email, Telegram, chat presets) sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The webhook formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// The [`Event`] JSON as is, signed.
    Json,
    Slack,
    Discord,
    Teams,
    Mattermost,
    Ntfy,
    Pagerduty,
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// `smtp://`: STARTTLS required.
    Starttls,
    /// `smtps://`: TLS from the first byte (port 465).
    Tls,
    /// `smtp://…?tls=none`: plain text, only to a loopback relay.
    None,
}

/// An email channel: who receives it and the SMTP relay (user name, never the password:
/// that is in the keychain under [`channel_secret_key`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSpec {
    pub to: Vec<String>,
    pub from: String,
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// A webhook channel. The URL is stored without credentials; a URL whose path is itself the
/// secret (Slack, Discord) is stored in the keychain instead and shown redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSpec {
    /// Redacted form for display (`https://hooks.slack.com/services/…`).
    pub url_display: String,
    pub preset: Preset,
}

/// A Telegram channel: the chat; the bot token is in the keychain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramSpec {
    pub chat_id: String,
    /// `https://api.telegram.org` unless a test or a proxy says otherwise.
    pub api_base: String,
}

/// A heartbeat ping channel (healthchecks.io convention); the URL is in the keychain (the
/// check's UUID is what lets anyone ping it), `url_display` is redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingSpec {
    pub url_display: String,
}

/// What is stored for a channel (as JSON in the catalog). Never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelSpec {
    Email(EmailSpec),
    Webhook(WebhookSpec),
    Telegram(TelegramSpec),
    Ping(PingSpec),
}

/// The keychain key of a channel's secret (SMTP password, webhook URL and signing secret, bot
/// token, ping URL), by channel name.
pub fn channel_secret_key(channel: &str, what: &str) -> String {
    format!("notify:{channel}:{what}")
}

/// Why one delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryFailure {
    /// The name does not resolve.
    Dns,
    /// Refused, reset, timed out.
    Connect,
    /// The TLS handshake or certificate failed.
    Tls,
    /// The server rejected the credentials (SMTP 535, HTTP 401/403).
    Auth,
    /// HTTP 429 / SMTP 4xx rate limit; `retry_after_secs` when the server said.
    RateLimited { retry_after_secs: Option<u64> },
    /// HTTP 5xx / SMTP 4xx: try again later.
    ServerError { status: u16 },
    /// HTTP 4xx (not 429) / SMTP 5xx: the request itself is wrong; retrying will not help.
    Rejected { status: u16 },
    /// Anything else (a malformed answer…).
    Other,
}

/// One failed attempt: what kind, and the server's own words (bounded, never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError {
    pub failure: DeliveryFailure,
    pub message: String,
}

impl DeliveryError {
    pub fn new(failure: DeliveryFailure, message: impl Into<String>) -> Self {
        let mut message: String = message.into();
        if message.len() > 1000 {
            let mut cut = 1000;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        Self { failure, message }
    }

    /// Whether another attempt can succeed (DNS, connection, TLS hiccups, 5xx, 429).
    pub fn is_transient(&self) -> bool {
        !matches!(
            self.failure,
            DeliveryFailure::Auth | DeliveryFailure::Rejected { .. }
        )
    }

    /// The error Offsite shows for it ("Send a test", `notify log`): a coded [`crate::error::Error`].
    pub fn to_error(&self, channel: &str) -> crate::error::Error {
        use crate::error::{Error, ErrorKind};
        let what = self.sentence(channel);
        let e = match &self.failure {
            DeliveryFailure::Auth => Error::new(ErrorKind::Auth, what),
            DeliveryFailure::RateLimited { retry_after_secs } => {
                Error::rate_limited(what, retry_after_secs.map(std::time::Duration::from_secs))
            }
            DeliveryFailure::Rejected { .. } | DeliveryFailure::Other => {
                Error::new(ErrorKind::InvalidInput, what)
            }
            DeliveryFailure::Dns
            | DeliveryFailure::Connect
            | DeliveryFailure::Tls
            | DeliveryFailure::ServerError { .. } => Error::new(ErrorKind::Connection, what),
        };
        e.with_hint(self.hint(channel))
            .with_detail(format!("channel '{channel}': {}", self.message))
    }

    /// What happened, one sentence in the app's words; the server's own words are the
    /// error's detail.
    fn sentence(&self, channel: &str) -> String {
        match &self.failure {
            DeliveryFailure::Dns => format!("The channel {channel} cannot find its server."),
            DeliveryFailure::Connect => {
                format!("The channel {channel} cannot connect to its server.")
            }
            DeliveryFailure::Tls => {
                format!("The channel {channel} cannot open a secure connection to its server.")
            }
            DeliveryFailure::Auth => {
                format!("The server of channel {channel} refused its credentials.")
            }
            DeliveryFailure::RateLimited { .. } => {
                format!("The server of channel {channel} asks Offsite to send less often.")
            }
            DeliveryFailure::ServerError { status } => {
                format!("The server of channel {channel} failed (HTTP {status}).")
            }
            DeliveryFailure::Rejected { .. } => {
                format!("The server of channel {channel} refused the message.")
            }
            DeliveryFailure::Other => {
                format!("The channel {channel} could not deliver the message.")
            }
        }
    }

    /// What to do about it, in a sentence.
    fn hint(&self, channel: &str) -> String {
        let again = format!(
            "remove the channel (offsite notify remove {channel}) and add it again with the right one"
        );
        match &self.failure {
            DeliveryFailure::Dns => {
                "check the host name in the channel, and that this machine is online".into()
            }
            DeliveryFailure::Connect => {
                "check that the server is up and that this machine may reach its port (firewall, proxy)"
                    .into()
            }
            DeliveryFailure::Tls => "the server's certificate is not trusted here: use the host name \
                 it was issued for, or add its CA to the system's certificate store (or \
                 SSL_CERT_FILE)"
                .into(),
            DeliveryFailure::Auth => {
                format!("the server refused the password, secret or token: {again}")
            }
            DeliveryFailure::RateLimited { .. } => {
                "the server asks to slow down; queued events are sent again later".into()
            }
            DeliveryFailure::ServerError { .. } => {
                "the server failed; queued events are sent again later".into()
            }
            DeliveryFailure::Rejected { .. } | DeliveryFailure::Other => format!(
                "the server refused the message: check the address, URL or chat id; {again}"
            ),
        }
    }
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn every_failure_is_a_coded_error_with_a_hint_naming_what_to_do() {
        let cases = [
            (DeliveryFailure::Dns, ErrorKind::Connection, "host name"),
            (DeliveryFailure::Connect, ErrorKind::Connection, "port"),
            (DeliveryFailure::Tls, ErrorKind::Connection, "certificate"),
            (
                DeliveryFailure::Auth,
                ErrorKind::Auth,
                "offsite notify remove ops",
            ),
            (
                DeliveryFailure::RateLimited {
                    retry_after_secs: Some(30),
                },
                ErrorKind::RateLimited,
                "slow down",
            ),
            (
                DeliveryFailure::ServerError { status: 502 },
                ErrorKind::Connection,
                "again later",
            ),
            (
                DeliveryFailure::Rejected { status: 400 },
                ErrorKind::InvalidInput,
                "chat id",
            ),
        ];
        for (failure, kind, hint) in cases {
            let e = DeliveryError::new(failure.clone(), "the server's words").to_error("ops");
            assert_eq!(e.kind(), kind, "{failure:?}");
            // A sentence naming the channel; the server's words behind Details.
            assert!(e.message().starts_with("The "), "{e}");
            assert!(e.message().contains("channel ops"), "{e}");
            assert!(!e.message().contains("the server's words"), "{e}");
            assert_eq!(e.detail(), Some("channel 'ops': the server's words"));
            assert!(
                e.hint().unwrap().contains(hint),
                "{failure:?}: {:?}",
                e.hint()
            );
        }
        assert!(!DeliveryError::new(DeliveryFailure::Auth, "x").is_transient());
        assert!(DeliveryError::new(DeliveryFailure::Tls, "x").is_transient());
    }
}
