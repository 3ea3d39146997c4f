//! The outbox's rules, as pure functions of the engine's clock: when a failed attempt is tried
//! again (exponential backoff on the wall clock, so it survives sleep and restarts: the time is
//! stored in `next_attempt_at`), when to give up, each channel's rate limit, and when a storm of
//! failures collapses into one digest.

use crate::catalog::OutboxRow;
use crate::notify::events::new_event;
use crate::notify::{ChannelSpec, DeliveryError, DeliveryFailure, Event, EventKind};
use time::{Duration, OffsetDateTime};

/// The first retry comes this long after a failed attempt; each next one waits twice as long…
pub const FIRST_RETRY: Duration = Duration::seconds(30);
/// …up to this.
pub const MAX_RETRY: Duration = Duration::hours(1);
/// The longest a server's `Retry-After` is honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::hours(6);
/// After this long since the event, a failing delivery is given up (marked failed).
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);
/// How long a claimed row is leased to its sender; a sender killed mid-send leaves it to be
/// claimed again after this. Longer than one claim can take to send (`deliver.rs`: 32 rows, 8
/// at once, each request at most 15 s).
pub const LEASE: Duration = Duration::minutes(2);
/// More failure events than this, fresh for one channel in one pass, collapse into a digest.
pub const STORM: usize = 5;

/// When to try again after attempt number `attempts` (1 = the first) failed with `error`:
/// `None` to give up (a permanent failure, or [`GIVE_UP_AFTER`] passed since `created`).
///
/// 30 s, 1 min, 2 min, 4 min … 1 h (no jitter: one process per catalog sends); a 429's
/// `Retry-After` wins when it is later (up to [`MAX_RETRY_AFTER`]).
pub fn retry_at(
    attempts: u32,
    error: &DeliveryError,
    created: OffsetDateTime,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    if !error.is_transient() || now - created >= GIVE_UP_AFTER {
        return None;
    }
    let exp = attempts.saturating_sub(1).min(16);
    let mut wait = (FIRST_RETRY * 2_i32.pow(exp)).min(MAX_RETRY);
    if let DeliveryFailure::RateLimited {
        retry_after_secs: Some(s),
    } = error.failure
    {
        let asked =
            Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 2)).min(MAX_RETRY_AFTER);
        wait = wait.max(asked);
    }
    Some(now + wait)
}

pub use crate::notify::rate::{channel_rate, check_rate, rate_per_minute, MAX_RATE_PER_MINUTE};

/// The note a row held back by a storm carries until it is collapsed into a digest.
pub const STORM_HOLD: &str = "held back: a storm of failures, sent as one digest";

/// What a storm does to one channel's claim.
#[derive(Debug, Default)]
pub struct StormPlan<'a> {
    /// Collapse these into one digest now.
    pub collapse: Vec<&'a OutboxRow>,
    /// Hold these back until the next minute (they are collapsed then).
    pub hold: Vec<&'a OutboxRow>,
}

/// The storm rule for one channel's claim. `recent_failures`: the failure events queued for the
/// channel in the last minute (these rows included). When more than [`STORM`] failures came in
/// a minute, fresh failure rows are held back to the next minute and then sent as one digest;
/// the first [`STORM`] went out one by one. Pings are never collapsed (each is a heartbeat).
pub fn storm<'a>(
    spec: &ChannelSpec,
    rows: &[&'a OutboxRow],
    recent_failures: u32,
) -> StormPlan<'a> {
    if matches!(spec, ChannelSpec::Ping(_)) {
        return StormPlan::default();
    }
    let fresh: Vec<&OutboxRow> = rows
        .iter()
        .copied()
        .filter(|r| r.severity == "failure" && r.attempts <= 1 && r.kind != "digest")
        .collect();
    let held = fresh
        .iter()
        .any(|r| r.last_error.as_deref() == Some(STORM_HOLD));
    if held {
        if fresh.len() >= 2 {
            return StormPlan {
                collapse: fresh,
                hold: Vec::new(),
            };
        }
        return StormPlan::default();
    }
    if recent_failures as usize > STORM && !fresh.is_empty() {
        return StormPlan {
            collapse: Vec::new(),
            hold: fresh,
        };
    }
    StormPlan::default()
}

/// The start of the minute after `now` (rows held in one minute are claimed together).
pub fn next_minute(now: OffsetDateTime) -> OffsetDateTime {
    let start = now
        .replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(now);
    start + Duration::minutes(1)
}

/// The one event that stands for `rows` (a storm): how many, and each one's summary.
pub fn digest(rows: &[&OutboxRow], now: &str) -> Event {
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let e: Option<Event> = serde_json::from_str(&r.payload_json).ok();
            serde_json::json!({
                "id": r.event_id,
                "event": r.kind,
                "project": e.as_ref().and_then(|e| e.project.as_ref().map(|p| p.name.clone())),
                "summary": e.map(|e| e.summary),
            })
        })
        .collect();
    let mut projects: Vec<String> = items
        .iter()
        .filter_map(|i| i["project"].as_str().map(str::to_string))
        .collect();
    projects.sort();
    projects.dedup();
    let summary = format!(
        "{} failures at once{}",
        rows.len(),
        if projects.is_empty() {
            String::new()
        } else {
            format!(" ({})", projects.join(", "))
        }
    );
    let mut e = new_event(EventKind::Digest, now, None, summary);
    e.details = serde_json::json!({ "events": items });
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);

    #[test]
    fn backoff_doubles_to_an_hour_and_gives_up_after_a_day() {
        let e = DeliveryError::new(DeliveryFailure::ServerError { status: 503 }, "x");
        let wait = |n| retry_at(n, &e, T, T).map(|t| t - T);
        assert_eq!(wait(1), Some(Duration::seconds(30)));
        assert_eq!(wait(2), Some(Duration::minutes(1)));
        assert_eq!(wait(3), Some(Duration::minutes(2)));
        assert_eq!(wait(9), Some(Duration::hours(1)));
        assert_eq!(wait(1000), Some(Duration::hours(1)));
        assert_eq!(retry_at(3, &e, T, T + GIVE_UP_AFTER), None);
        let auth = DeliveryError::new(DeliveryFailure::Auth, "no");
        assert_eq!(retry_at(1, &auth, T, T), None);
        let limited = DeliveryError::new(
            DeliveryFailure::RateLimited {
                retry_after_secs: Some(120),
            },
            "slow",
        );
        assert_eq!(retry_at(1, &limited, T, T), Some(T + Duration::minutes(2)));
        let forever = DeliveryError::new(
            DeliveryFailure::RateLimited {
                retry_after_secs: Some(u64::MAX),
            },
            "slow",
        );
        assert_eq!(retry_at(1, &forever, T, T), Some(T + MAX_RETRY_AFTER));
    }

    #[test]
    fn a_channel_s_own_rate_wins_over_its_kind_s_default() {
        let tg = ChannelSpec::Telegram(crate::notify::TelegramSpec {
            chat_id: "-100".into(),
            api_base: "https://api.telegram.org".into(),
        });
        assert_eq!(channel_rate(&tg, None), 20);
        assert_eq!(channel_rate(&tg, Some(2)), 2);
        assert_eq!(channel_rate(&tg, Some(0)), 20);
        assert_eq!(check_rate(2).unwrap(), 2);
        assert!(check_rate(0).is_err());
        assert!(check_rate(MAX_RATE_PER_MINUTE + 1).is_err());
    }
}
