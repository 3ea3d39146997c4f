//! A project's recovery targets (issue 47): the RPO (how much work may be lost: the newest good
//! backup may be at most this old) and the RTO (how long a restore may take: a drill whose
//! restore took longer fails its RTO check). Durations are written like keep-within's, with
//! minutes and seconds too: `30m`, `4h`, `1d`, `1w`, `1h30m`, `90s` (`m` is **minutes** here:
//! a target is never months away).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The longest target accepted: a year.
pub const TARGET_MAX_SECONDS: u64 = 366 * 24 * 3600;

/// A project's targets, in seconds (`None`: no target).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Targets {
    pub rpo_seconds: Option<u32>,
    pub rto_seconds: Option<u32>,
}

/// Parse a target's duration (`30m`, `24h`, `1h30m`, `2d`, `1w`, `90s`) into seconds.
pub fn parse_target(s: &str) -> Result<u32> {
    let bad = || {
        Error::invalid(format!("{s:?} is not a duration"))
            .with_hint("write a number and a unit: s (seconds), m (minutes), h (hours), d (days), w (weeks), e.g. 30m, 24h, 1h30m or 1w")
    };
    let t = s.trim().to_ascii_lowercase();
    let mut total: u64 = 0;
    let mut num = String::new();
    for ch in t.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            if num.len() > 9 {
                return Err(bad());
            }
            continue;
        }
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        let unit: u64 = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(bad)?;
    }
    if !num.is_empty() || total == 0 {
        return Err(bad());
    }
    if total > TARGET_MAX_SECONDS {
        return Err(Error::invalid(format!("{s:?} is longer than a year"))
            .with_hint("a recovery target is at most a year (e.g. 24h, 1w)"));
    }
    u32::try_from(total).map_err(|_| bad())
}

/// A duration in seconds as a target is written (`1d2h`, `30m`, `90s` → `1m30s`).
pub fn format_target(seconds: u32) -> String {
    let mut left = u64::from(seconds);
    let mut out = String::new();
    for (unit, name) in [(86_400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')] {
        let n = left / unit;
        if n > 0 {
            out.push_str(&format!("{n}{name}"));
            left -= n * unit;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_minutes_not_months() {
        assert_eq!(parse_target("30m").unwrap(), 1800);
        assert_eq!(parse_target("24h").unwrap(), 86_400);
        assert_eq!(parse_target("1h30m").unwrap(), 5400);
        assert_eq!(parse_target(" 1W ").unwrap(), 604_800);
        assert_eq!(parse_target("90s").unwrap(), 90);
        for bad in [
            "",
            "0h",
            "h",
            "30",
            "1y",
            "-1h",
            "1h 2m",
            "99999999999999h",
            "400d",
        ] {
            assert!(parse_target(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(format_target(5400), "1h30m");
        assert_eq!(format_target(86_400 + 7200), "1d2h");
        assert_eq!(format_target(90), "1m30s");
    }
}
