//! `offsite notify add | list | test | remove | log | route | settings`: notification channels
//! (email, webhooks with presets, Telegram, heartbeat pings), which project events go where, the
//! outbox (what was sent, what waits, what failed and why), and the copy and space watchers'
//! thresholds. Secrets come on standard input and go to the keychain; nothing here prints one.

use crate::output::Out;
use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use offsite_core::catalog::{ChannelRecord, OutboxRow, RouteRecord};
use offsite_core::notify::{ChannelSpec, Preset};
use offsite_core::ops::notify::watch::settings::WatchSettingsChange;
use offsite_core::ops::notify::ChannelInput;
use offsite_core::{Engine, Error, Result};
use serde_json::json;

#[derive(Subcommand)]
pub enum NotifyCmd {
    /// Add a channel: email over SMTP, a webhook (JSON payload v1 signed with HMAC, or a preset),
    /// a Telegram chat or a heartbeat ping URL.
    #[command(
        after_help = "Examples:\n  offsite notify add ops --email ops@example.com --smtp smtp://alerts@example.com@mail.example.com --smtp-password-stdin\n  printf '%s\\n' \"$SLACK_URL\" | offsite notify add chat --webhook-stdin --preset slack\n  printf '%s\\n' \"$HOOK_URL\" \"$SECRET\" | offsite notify add hook --webhook-stdin --secret-stdin\n  printf %s \"$TOKEN\" | offsite notify add tg --telegram -1001234567890 --bot-token-stdin\n  printf %s \"$PING_URL\" | offsite notify add hc --ping-stdin\n  offsite notify add quiet --webhook https://example.com/offsite --rate 2"
    )]
    Add(AddArgs),
    /// List the channels (secrets shown redacted) and the routes.
    #[command(after_help = "Examples:\n  offsite notify list\n  offsite notify list --json")]
    List,
    /// Send a test message to a channel now; a failure says why (auth, TLS, DNS, the server's
    /// answer).
    #[command(after_help = "Examples:\n  offsite notify test ops")]
    Test {
        /// The channel (see `offsite notify list`).
        name: String,
    },
    /// Remove a channel with its routes, its queued messages and its secrets.
    #[command(after_help = "Examples:\n  offsite notify remove ops")]
    Remove {
        /// The channel (see `offsite notify list`).
        name: String,
    },
    /// The outbox, newest first: each event per channel, queued, sent or failed with the reason.
    #[command(
        after_help = "Examples:\n  offsite notify log\n  offsite notify log --project shop --json"
    )]
    Log {
        /// Only this project's events.
        #[arg(long, value_name = "PROJECT")]
        project: Option<String>,
        /// How many rows at most.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send a project's events of these groups to these channels (without a route a project
    /// sends failures, overdue and failed drills to every channel). Groups: failed, succeeded,
    /// overdue, drill, retention, space, copies, agent, platform, or all; none: these channels hear
    /// nothing from the project.
    #[command(
        after_help = "Examples:\n  offsite notify route shop --events failed,overdue,drill --to ops,chat"
    )]
    Route {
        /// The project (see `offsite project list`).
        project: String,
        /// The event groups, comma-separated.
        #[arg(long, value_name = "GROUPS")]
        events: String,
        /// The channels, comma-separated.
        #[arg(long, value_name = "NAME[,NAME]", value_delimiter = ',')]
        to: Vec<String>,
    },
    /// The copy and space watchers' thresholds: show them, or change those given.
    #[command(
        after_help = "Examples:\n  offsite notify settings\n  offsite notify settings --copy-pending-hours 6 --space-free-mib 2048 --space-days 30"
    )]
    Settings {
        /// Warn when a copy has been pending longer than this many hours (default 24).
        #[arg(long, value_name = "N")]
        copy_pending_hours: Option<u32>,
        /// Warn when a backup folder or folder destination has less than this many MiB free
        /// (default 1024; 0: no floor). Less free than the next backup needs (twice the newest
        /// backup) warns whatever this says; the disk's size plays no part.
        #[arg(long, value_name = "MIB")]
        space_free_mib: Option<u32>,
        /// Warn when it fills in fewer than this many days at the current growth (default 14; 0:
        /// never by growth).
        #[arg(long, value_name = "DAYS")]
        space_days: Option<u32>,
    },
}

#[derive(Args)]
#[command(group(ArgGroup::new("kind").required(true).args(["email", "webhook", "webhook_stdin", "telegram", "ping", "ping_stdin"])))]
#[command(group(ArgGroup::new("webhook_url").args(["webhook", "webhook_stdin"])))]
pub struct AddArgs {
    /// The channel's name (letters, digits, '-', '_', '.').
    name: String,
    /// Email recipients (comma-separated); needs --smtp.
    #[arg(long, value_name = "TO", requires = "smtp")]
    email: Option<String>,
    /// The SMTP relay: smtp://[user@]host[:port] (STARTTLS), smtps://… (TLS); ?from=ADDRESS.
    /// Never the password (--smtp-password-stdin).
    #[arg(long, value_name = "URL")]
    smtp: Option<String>,
    /// Read the SMTP password from standard input (kept in the keychain).
    #[arg(long, requires = "smtp")]
    smtp_password_stdin: bool,
    /// A webhook URL (kept in the keychain; shown redacted). The URL is a secret, and an
    /// argument is visible to other users of this machine (`ps`) and stays in shell history:
    /// prefer --webhook-stdin.
    #[arg(long, value_name = "URL")]
    webhook: Option<String>,
    /// Read the webhook URL from standard input (its first line; a --secret-stdin secret
    /// follows on the second). Kept in the keychain, never shown whole.
    #[arg(long)]
    webhook_stdin: bool,
    /// The webhook's format (default: json, the signed payload v1).
    #[arg(long, value_enum, requires = "webhook_url")]
    preset: Option<PresetArg>,
    /// Read the webhook's signing secret (PagerDuty: the routing key) from standard input
    /// (after the URL's line with --webhook-stdin).
    #[arg(long, requires = "webhook_url")]
    secret_stdin: bool,
    /// A Telegram chat id; needs --bot-token-stdin.
    #[arg(
        long,
        value_name = "CHAT_ID",
        requires = "bot_token_stdin",
        allow_hyphen_values = true
    )]
    telegram: Option<String>,
    /// Read the Telegram bot token from standard input (kept in the keychain).
    #[arg(long, requires = "telegram")]
    bot_token_stdin: bool,
    /// The Bot API server (default https://api.telegram.org): https://, or http:// to this
    /// machine only (a local Bot API server, a proxy).
    #[arg(long, value_name = "URL", requires = "telegram")]
    telegram_api: Option<String>,
    /// The most messages a minute this channel sends (default per kind: Telegram 20, chat
    /// presets and email 30, pings 60, PagerDuty 120, JSON webhooks 1200); the rest wait.
    #[arg(long, value_name = "N")]
    rate: Option<u32>,
    /// A heartbeat URL in the healthchecks.io convention (success, /fail); kept in the keychain.
    /// The URL is a secret, and an argument is visible to other users of this machine (`ps`)
    /// and stays in shell history: prefer --ping-stdin.
    #[arg(long, value_name = "URL")]
    ping: Option<String>,
    /// Read the heartbeat URL from standard input (kept in the keychain, never shown whole).
    #[arg(long)]
    ping_stdin: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PresetArg {
    Json,
    Slack,
    Discord,
    Teams,
    Mattermost,
    Ntfy,
    Pagerduty,
}

impl From<PresetArg> for Preset {
    fn from(p: PresetArg) -> Preset {
        match p {
            PresetArg::Json => Preset::Json,
            PresetArg::Slack => Preset::Slack,
            PresetArg::Discord => Preset::Discord,
            PresetArg::Teams => Preset::Teams,
            PresetArg::Mattermost => Preset::Mattermost,
            PresetArg::Ntfy => Preset::Ntfy,
            PresetArg::Pagerduty => Preset::Pagerduty,
        }
    }
}

fn input(a: AddArgs) -> Result<ChannelInput> {
    // One line each, in this order: the URL (--webhook-stdin, --ping-stdin), then the secret.
    let stdin = |what: &str| -> Result<String> {
        crate::read_password_stdin().map_err(|_| {
            Error::invalid(format!("no {what} on standard input")).with_hint(
                "pipe it in, one line each, the URL first: printf '%s\\n' \"$URL\" \"$SECRET\" | offsite notify add …",
            )
        })
    };
    let webhook = match (a.webhook, a.webhook_stdin) {
        (Some(url), _) => Some(url),
        (None, true) => Some(stdin("webhook URL")?),
        (None, false) => None,
    };
    if let Some(url) = webhook {
        return Ok(ChannelInput::Webhook {
            url,
            preset: a.preset.map(Preset::from).unwrap_or(Preset::Json),
            secret: a
                .secret_stdin
                .then(|| stdin("signing secret"))
                .transpose()?,
        });
    }
    if a.ping_stdin {
        return Ok(ChannelInput::Ping {
            url: stdin("ping URL")?,
        });
    }
    if let Some(url) = a.ping {
        return Ok(ChannelInput::Ping { url });
    }
    if let Some(chat_id) = a.telegram {
        return Ok(ChannelInput::Telegram {
            chat_id,
            bot_token: stdin("bot token")?,
            api_base: a.telegram_api,
        });
    }
    match (a.email, a.smtp) {
        (Some(to), Some(smtp_url)) => Ok(ChannelInput::Email {
            to: vec![to],
            smtp_url,
            password: a
                .smtp_password_stdin
                .then(|| stdin("SMTP password"))
                .transpose()?,
        }),
        _ => Err(Error::invalid(
            "an email channel needs --email TO and --smtp URL",
        )),
    }
}

fn describe(spec: &ChannelSpec) -> (&'static str, String) {
    match spec {
        ChannelSpec::Email(e) => (
            "email",
            format!("{} via {}:{}", e.to.join(","), e.host, e.port),
        ),
        ChannelSpec::Webhook(w) => (
            "webhook",
            format!(
                "{} ({})",
                w.url_display,
                serde_json::to_value(w.preset)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
        ),
        ChannelSpec::Telegram(t) => ("telegram", format!("chat {}", t.chat_id)),
        ChannelSpec::Ping(p) => ("ping", p.url_display.clone()),
    }
}

/// "2/min", or "20/min (default)" for a channel without its own rate.
fn rate_words(c: &ChannelRecord) -> String {
    match c.rate_per_minute {
        Some(_) => format!("{}/min", c.rate()),
        None => format!("{}/min default", c.rate()),
    }
}

/// A channel as `--json` shows it: the record, with `rate` (its limit, a minute) always there.
fn channel_json(c: &ChannelRecord) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    v["rate"] = json!(c.rate());
    v
}

fn print_channels(channels: &[ChannelRecord], routes: &[RouteRecord]) {
    if channels.is_empty() {
        println!("no notification channels (add one with `offsite notify add NAME …`)");
        return;
    }
    for c in channels {
        let (kind, what) = describe(&c.spec);
        println!("{:<16} {:<9} {:<14} {what}", c.name, kind, rate_words(c));
    }
    if routes.is_empty() {
        println!("routes: none (failures, overdue and failed drills go to every channel)");
    }
    for r in routes {
        println!(
            "route   {} → {}: {}",
            r.project,
            r.channel,
            r.events.join(",")
        );
    }
}

fn print_log(rows: &[OutboxRow]) {
    if rows.is_empty() {
        println!("no notifications yet");
        return;
    }
    for r in rows {
        let when = r.sent_at.as_deref().unwrap_or(&r.created_at);
        let mut line = format!(
            "{when}  {:<8} {:<12} {:<24} {}",
            r.state, r.channel, r.kind, r.event_id
        );
        if r.attempts > 1 {
            line.push_str(&format!("  attempts {}", r.attempts));
        }
        if r.state == "queued" && r.attempts > 0 {
            line.push_str(&format!("  next {}", r.next_attempt_at));
        }
        if let Some(e) = &r.last_error {
            line.push_str(&format!("  ({e})"));
        }
        println!("{line}");
    }
}

pub async fn notify(engine: &Engine, cmd: NotifyCmd, out: &Out) -> Result<u8> {
    match cmd {
        NotifyCmd::Add(args) => {
            let name = args.name.clone();
            let rate = args.rate;
            let c = engine.notify_add_rated(&name, input(args)?, rate).await?;
            if out.json() {
                out.emit(&json!({ "channel": channel_json(&c) }));
            } else {
                let (kind, what) = describe(&c.spec);
                println!(
                    "added {kind} channel {}: {what} (at most {})",
                    c.name,
                    rate_words(&c)
                );
                println!("send a test with `offsite notify test {}`", c.name);
            }
        }
        NotifyCmd::List => {
            let (channels, routes) = engine.notify_list().await?;
            if out.json() {
                let channels: Vec<_> = channels.iter().map(channel_json).collect();
                out.emit(&json!({ "channels": channels, "routes": routes }));
            } else {
                print_channels(&channels, &routes);
            }
        }
        NotifyCmd::Test { name } => {
            let id = engine.notify_test(&name).await?;
            if out.json() {
                out.emit(&json!({ "sent": true, "channel": name, "event_id": id }));
            } else {
                println!("sent a test message to {name} (event id {id})");
            }
        }
        NotifyCmd::Remove { name } => {
            engine.notify_remove(&name).await?;
            if out.json() {
                out.emit(&json!({ "removed": name }));
            } else {
                println!("removed channel {name}");
            }
        }
        NotifyCmd::Log { project, limit } => {
            let rows = engine.notify_log(project.as_deref(), limit).await?;
            if out.json() {
                out.emit(&json!({ "outbox": rows }));
            } else {
                print_log(&rows);
            }
        }
        NotifyCmd::Route {
            project,
            events,
            to,
        } => {
            let routes = engine.notify_route(&project, &events, &to).await?;
            if out.json() {
                out.emit(&json!({ "routes": routes }));
            } else {
                for r in &routes {
                    println!(
                        "route {} → {}: {}",
                        r.project,
                        r.channel,
                        r.events.join(",")
                    );
                }
            }
        }
        NotifyCmd::Settings {
            copy_pending_hours,
            space_free_mib,
            space_days,
        } => {
            let change = WatchSettingsChange {
                copy_pending_hours,
                space_min_free_mib: space_free_mib,
                space_min_days_to_full: space_days,
            };
            let s = engine.set_notify_watch_settings(change).await?;
            if out.json() {
                out.emit(&json!({ "settings": s }));
            } else {
                println!("copy pending warning after: {} h", s.copy_pending_hours);
                println!("space low below: {} MiB free", s.space_min_free_mib);
                println!(
                    "space low when full within: {} days",
                    s.space_min_days_to_full
                );
            }
        }
    }
    Ok(0)
}
