//! How fast a channel may send: each kind's default and a channel's own limit.

use super::{ChannelSpec, Preset};

/// How many messages a channel sends a minute at most (chat services throttle: Slack one a
/// second, Telegram twenty a minute to a group; machines take more).
pub fn rate_per_minute(spec: &ChannelSpec) -> u32 {
    match spec {
        ChannelSpec::Webhook(w) if w.preset == Preset::Json => 1200,
        ChannelSpec::Webhook(w) if w.preset == Preset::Pagerduty => 120,
        ChannelSpec::Webhook(_) => 30,
        ChannelSpec::Email(_) => 30,
        ChannelSpec::Telegram(_) => 20,
        ChannelSpec::Ping(_) => 60,
    }
}

/// The highest rate a channel may be given (a thousand a second).
pub const MAX_RATE_PER_MINUTE: u32 = 60_000;

/// A channel's limit: its own (`offsite notify add … --rate N`), else its kind's default
/// ([`rate_per_minute`]).
pub fn channel_rate(spec: &ChannelSpec, own: Option<u32>) -> u32 {
    own.filter(|r| *r > 0)
        .unwrap_or_else(|| rate_per_minute(spec))
}

/// A rate given for a channel, checked: 1 to [`MAX_RATE_PER_MINUTE`] messages a minute.
pub fn check_rate(rate: u32) -> crate::error::Result<u32> {
    if (1..=MAX_RATE_PER_MINUTE).contains(&rate) {
        Ok(rate)
    } else {
        Err(crate::error::Error::invalid(format!(
            "a channel's rate must be 1 to {MAX_RATE_PER_MINUTE} messages a minute, not {rate}"
        ))
        .with_hint("leave it out for the kind's default (Telegram 20, chat webhooks 30, email 30, pings 60, JSON webhooks 1200)"))
    }
}
