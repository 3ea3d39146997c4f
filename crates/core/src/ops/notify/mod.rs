//! Notification channels, routes and the outbox as the front ends use them (`Engine::notify_*`):
//! adding a channel puts its secrets in the keychain and only what is not secret in the catalog;
//! "send a test" delivers one `test` event now and says plainly why it failed.

pub mod deliver;
pub mod metrics;
pub mod outbox;
pub mod retention;
pub mod watch;

use crate::catalog::{ChannelRecord, OutboxRow, RouteRecord};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::notify::events::{new_event, parse_group_list, parse_groups, EventGroup};
use crate::notify::webhook::redact_url;
use crate::notify::{
    channel_secret_key, ChannelSpec, EmailSpec, EventKind, PingSpec, Preset, SmtpSecurity,
    TelegramSpec, WebhookSpec,
};
use deliver::DeliveryReport;

/// A channel as it is added: its settings with its secrets (which go to the keychain).
#[derive(Debug, Clone)]
pub enum ChannelInput {
    /// `smtp_url`: `smtp://[user@]host[:port]` (STARTTLS, 587), `smtps://…` (TLS, 465),
    /// `?tls=none` for a loopback relay, `?from=addr`. Never a password: that is `password`.
    Email {
        to: Vec<String>,
        smtp_url: String,
        password: Option<String>,
    },
    Webhook {
        url: String,
        preset: Preset,
        /// Signs the body (`Offsite-Signature`); PagerDuty's routing key.
        secret: Option<String>,
    },
    Telegram {
        chat_id: String,
        bot_token: String,
        /// `None`: `https://api.telegram.org`.
        api_base: Option<String>,
    },
    Ping {
        url: String,
    },
}

/// What the channel's secrets are, by keychain suffix (see [`channel_secret_key`]).
const SECRET_PARTS: [&str; 4] = ["url", "secret", "password", "bot-token"];

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(
            Error::invalid(format!("{name:?} is not a valid channel name"))
                .with_hint("use 1 to 64 letters, digits, '-', '_' or '.'"),
        )
    }
}

fn http_url(url: &str, what: &str) -> Result<url::Url> {
    let u = url::Url::parse(url.trim()).map_err(|_| {
        Error::invalid(format!("the {what} is not a valid URL"))
            .with_hint("write it as https://host/path")
    })?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(Error::invalid(format!(
            "the {what} must be an http:// or https:// URL"
        )));
    }
    Ok(u)
}

/// Parse an SMTP URL into the email channel's settings (see [`ChannelInput::Email`]).
pub fn parse_smtp_url(smtp_url: &str, to: Vec<String>) -> Result<EmailSpec> {
    let u = url::Url::parse(smtp_url.trim()).map_err(|_| {
        Error::invalid("the SMTP URL is not valid")
            .with_hint("write it as smtp://user@mail.example.com:587 or smtps://mail.example.com")
    })?;
    if u.password().is_some() {
        return Err(Error::invalid("the SMTP URL must not hold the password")
            .with_hint("give the password on standard input (--smtp-password-stdin): it goes to the keychain"));
    }
    let mut security = match u.scheme() {
        "smtp" => SmtpSecurity::Starttls,
        "smtps" => SmtpSecurity::Tls,
        other => {
            return Err(Error::invalid(format!("unknown SMTP URL scheme {other:?}"))
                .with_hint("use smtp:// (STARTTLS) or smtps:// (TLS)"))
        }
    };
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::invalid("the SMTP URL has no host"))?
        .to_string();
    let mut from = None;
    for (k, v) in u.query_pairs() {
        match (k.as_ref(), v.as_ref()) {
            ("tls", "none") if security == SmtpSecurity::Starttls => security = SmtpSecurity::None,
            ("from", f) => from = Some(f.to_string()),
            (k, _) => {
                return Err(Error::invalid(format!("unknown SMTP URL option {k:?}"))
                    .with_hint("the options are tls=none (loopback relays only) and from=ADDRESS"))
            }
        }
    }
    let username = Some(u.username()).filter(|s| !s.is_empty()).map(|s| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    });
    let from = from
        .or_else(|| username.clone().filter(|n| n.contains('@')))
        .unwrap_or_else(|| format!("offsite@{host}"));
    let to: Vec<String> = to
        .iter()
        .flat_map(|t| t.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if to.is_empty()
        || to
            .iter()
            .any(|t| !t.contains('@') || t.contains(char::is_whitespace))
    {
        return Err(Error::invalid(
            "give the recipients as email addresses (--email a@example.com)",
        ));
    }
    Ok(EmailSpec {
        to,
        from,
        port: u.port().unwrap_or(match security {
            SmtpSecurity::Tls => 465,
            _ => 587,
        }),
        host,
        security,
        username,
    })
}

/// The spec to store and the secrets to keep for `input`.
fn split(input: ChannelInput) -> Result<(ChannelSpec, Vec<(&'static str, String)>)> {
    Ok(match input {
        ChannelInput::Email {
            to,
            smtp_url,
            password,
        } => {
            let spec = parse_smtp_url(&smtp_url, to)?;
            let secrets = password.map(|p| vec![("password", p)]).unwrap_or_default();
            (ChannelSpec::Email(spec), secrets)
        }
        ChannelInput::Webhook {
            url,
            preset,
            secret,
        } => {
            let u = http_url(&url, "webhook URL")?;
            let mut secrets = vec![("url", u.to_string())];
            if let Some(s) = secret.filter(|s| !s.is_empty()) {
                secrets.push(("secret", s));
            } else if preset == Preset::Pagerduty {
                return Err(
                    Error::invalid("a PagerDuty channel needs its routing key").with_hint(
                        "give the integration's routing key on standard input (--secret-stdin)",
                    ),
                );
            }
            let spec = WebhookSpec {
                url_display: redact_url(u.as_str()),
                preset,
            };
            (ChannelSpec::Webhook(spec), secrets)
        }
        ChannelInput::Telegram {
            chat_id,
            bot_token,
            api_base,
        } => {
            let chat_id = chat_id.trim().to_string();
            if chat_id.is_empty() || chat_id.len() > 64 || chat_id.contains(char::is_whitespace) {
                return Err(Error::invalid("the Telegram chat id is not valid")
                    .with_hint("a number like -1001234567890, or @channelname"));
            }
            let token = bot_token.trim().to_string();
            if token.is_empty()
                || token
                    .chars()
                    .any(|c| c.is_control() || c == ' ' || c == '/')
            {
                return Err(Error::invalid("the bot token is not valid")
                    .with_hint("paste the token @BotFather gave, like 123456:ABC-DEF…"));
            }
            let api_base = match api_base.filter(|b| !b.trim().is_empty()) {
                Some(b) => crate::notify::telegram::api_base(&b)?,
                None => crate::notify::telegram::DEFAULT_API_BASE.to_string(),
            };
            (
                ChannelSpec::Telegram(TelegramSpec { chat_id, api_base }),
                vec![("bot-token", token)],
            )
        }
        ChannelInput::Ping { url } => {
            let u = http_url(&url, "ping URL")?;
            (
                ChannelSpec::Ping(PingSpec {
                    url_display: redact_url(u.as_str()),
                }),
                vec![("url", u.to_string())],
            )
        }
    })
}

/// Add a channel (secrets to the keychain first, then the catalog row) with its own rate limit
/// (messages a minute; `None`: its kind's default).
pub(crate) async fn add(
    engine: &Engine,
    name: &str,
    input: ChannelInput,
    rate_per_minute: Option<u32>,
) -> Result<ChannelRecord> {
    check_name(name)?;
    let rate = rate_per_minute
        .map(crate::ops::notify::outbox::check_rate)
        .transpose()?;
    let (spec, secrets) = split(input)?;
    if engine
        .catalog
        .channels()
        .await?
        .iter()
        .any(|c| c.name == name)
    {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("a channel named {name:?} already exists"),
        )
        .with_hint("remove it first (`offsite notify remove NAME`) or pick another name"));
    }
    for part in SECRET_PARTS {
        engine.secrets.delete(&channel_secret_key(name, part))?;
    }
    for (part, value) in &secrets {
        engine.secrets.set(&channel_secret_key(name, part), value)?;
    }
    engine.catalog.add_channel_rated(name, &spec, rate).await
}

/// Remove a channel, its routes, its outbox rows and its secrets.
pub(crate) async fn remove(engine: &Engine, name: &str) -> Result<()> {
    engine.catalog.remove_channel(name).await?;
    for part in SECRET_PARTS {
        if let Err(e) = engine.secrets.delete(&channel_secret_key(name, part)) {
            tracing::warn!("removing a secret of channel {name:?}: {e}");
        }
    }
    Ok(())
}

/// Send a `test` event to `name` now; a failure is the coded error that says why.
pub(crate) async fn test(engine: &Engine, name: &str) -> Result<String> {
    let channel = engine.catalog.channel(name).await?;
    let event = new_event(
        EventKind::Test,
        &engine.catalog.now(),
        None,
        format!("Test message from Offsite to channel {name}"),
    );
    let client = crate::notify::webhook::client().map_err(|e| e.to_error(name))?;
    let sent = deliver::send_event(engine, &client, name, &channel.spec, &event).await;
    // The delivery log shows the test too, sent or failed with the reason.
    let error = sent.as_ref().err().map(|e| e.message.clone());
    if let Err(e) = engine
        .catalog
        .record_test(&event, name, error.as_deref())
        .await
    {
        tracing::warn!("recording a test of channel {name:?} in the delivery log: {e}");
    }
    sent.map_err(|e| e.to_error(name))?;
    Ok(event.id)
}

/// Route `project`'s events of `events` (`failed,overdue`…) to each of `channels`.
pub(crate) async fn route(
    engine: &Engine,
    project: &str,
    events: &str,
    channels: &[String],
) -> Result<Vec<RouteRecord>> {
    route_with(engine, project, || parse_groups(events), channels).await
}

/// [`route`] with the groups as a list of words; an empty list is `none`.
pub(crate) async fn route_list(
    engine: &Engine,
    project: &str,
    events: &[String],
    channels: &[String],
) -> Result<Vec<RouteRecord>> {
    route_with(engine, project, || parse_group_list(events), channels).await
}

async fn route_with(
    engine: &Engine,
    project: &str,
    groups: impl FnOnce() -> Result<Vec<EventGroup>>,
    channels: &[String],
) -> Result<Vec<RouteRecord>> {
    let p = engine.catalog.project(project).await?;
    let groups = groups()?;
    if channels.is_empty() {
        return Err(Error::invalid(
            "name at least one channel (--to NAME[,NAME])",
        ));
    }
    for c in channels {
        engine.catalog.channel(c).await?;
    }
    for c in channels {
        engine.catalog.set_route(&p.id, c, &groups).await?;
    }
    engine.catalog.routes(Some(&p.id)).await
}

/// The outbox, newest first (of one project, or all).
pub(crate) async fn log(
    engine: &Engine,
    project: Option<&str>,
    limit: u32,
) -> Result<Vec<OutboxRow>> {
    let id = match project {
        Some(name) => Some(engine.catalog.project(name).await?.id),
        None => None,
    };
    engine.catalog.outbox(id.as_deref(), limit).await
}

/// After a check of the schedules: the watchers that are due (overdue transitions, retention's
/// removals within 7 days…; each event queued once), then what is due delivered.
pub(crate) async fn check(engine: &Engine) -> Result<DeliveryReport> {
    let statuses = engine.status(None).await?;
    crate::ops::notify::watch::run_watches(engine, &statuses).await;
    deliver::deliver_due(engine).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_parse_into_email_settings() {
        let s = parse_smtp_url(
            "smtp://alerts%40example.com@mail.example.com",
            vec!["a@x.org, b@x.org".into()],
        )
        .unwrap();
        assert_eq!(s.security, SmtpSecurity::Starttls);
        assert_eq!((s.host.as_str(), s.port), ("mail.example.com", 587));
        assert_eq!(s.username.as_deref(), Some("alerts@example.com"));
        assert_eq!(s.from, "alerts@example.com");
        assert_eq!(s.to, ["a@x.org", "b@x.org"]);
        let s = parse_smtp_url(
            "smtps://mail.example.com?from=o@example.com",
            vec!["a@x.org".into()],
        )
        .unwrap();
        assert_eq!(
            (s.security, s.port, s.from.as_str()),
            (SmtpSecurity::Tls, 465, "o@example.com")
        );
        assert_eq!(s.username, None);
        let s = parse_smtp_url("smtp://127.0.0.1:2525?tls=none", vec!["a@x.org".into()]).unwrap();
        assert_eq!((s.security, s.port), (SmtpSecurity::None, 2525));
        let e = parse_smtp_url("smtp://u:hunter2@mail.example.com", vec!["a@x.org".into()])
            .unwrap_err();
        assert!(e.message().contains("password") && !e.message().contains("hunter2"));
        assert!(parse_smtp_url("http://mail.example.com", vec!["a@x.org".into()]).is_err());
        assert!(parse_smtp_url("smtp://mail.example.com", vec!["nobody".into()]).is_err());
        assert!(parse_smtp_url("smtp://mail.example.com?x=1", vec!["a@x.org".into()]).is_err());
    }

    #[test]
    fn secrets_are_split_from_what_is_stored() {
        let (spec, secrets) = split(ChannelInput::Webhook {
            url: "https://hooks.slack.com/services/T/B/SECRET".into(),
            preset: Preset::Slack,
            secret: Some("k".into()),
        })
        .unwrap();
        let stored = serde_json::to_string(&spec).unwrap();
        assert!(!stored.contains("SECRET"), "{stored}");
        assert!(stored.contains("hooks.slack.com"));
        assert_eq!(secrets.len(), 2);
        assert!(split(ChannelInput::Webhook {
            url: "https://events.pagerduty.com/v2/enqueue".into(),
            preset: Preset::Pagerduty,
            secret: None,
        })
        .is_err());
        let (spec, _) = split(ChannelInput::Ping {
            url: "https://hc-ping.com/0f0e-uuid".into(),
        })
        .unwrap();
        assert!(!serde_json::to_string(&spec).unwrap().contains("0f0e"));
        assert!(check_name("ops-team_1").is_ok());
        assert!(check_name("no spaces").is_err());
    }
}
