//! Time zones at the edges: the engine keeps UTC [`OffsetDateTime`]s; schedules and retention
//! periods are about the user's wall clock, in a named IANA zone. [`Zone`] converts both ways and
//! decides what a wall-clock time means on the days the clocks change:
//!
//! - a time that does not exist (skipped by a spring-forward change, `02:30` in Berlin on the last
//!   Sunday of March) means the first valid instant after it (`03:00`, the moment of the change);
//! - a time that exists twice (a fall-back change repeats an hour) means its first occurrence.

use crate::error::{Error, Result};
use jiff::civil::DateTime as Civil;
use jiff::tz::{AmbiguousOffset, TimeZone};
use time::OffsetDateTime;

/// A named time zone (IANA name such as `Europe/Berlin`, or `UTC`).
#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl Zone {
    /// The zone of this IANA name (`Europe/Berlin`, `America/New_York`, `UTC`). The tz database
    /// is built in, so every machine reads a name the same way.
    pub fn named(name: &str) -> Result<Zone> {
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::invalid("no time zone given")
                .with_hint("name an IANA time zone such as Europe/Berlin or UTC"));
        }
        let tz = TimeZone::get(name).map_err(|e| {
            Error::invalid(format!("{name:?} is not a known time zone ({e})"))
                .with_hint("name an IANA time zone such as Europe/Berlin, America/New_York or UTC")
        })?;
        Ok(Zone {
            name: name.to_string(),
            tz,
        })
    }

    /// UTC.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_string(),
            tz: TimeZone::UTC,
        }
    }

    /// This computer's zone: `TZ` when set to an IANA name, otherwise the system's setting
    /// (UTC when it has no IANA name).
    pub fn local() -> Zone {
        if let Ok(tz) = std::env::var("TZ") {
            let name = tz.trim_start_matches(':');
            if let Ok(z) = Zone::named(name) {
                return z;
            }
        }
        match TimeZone::try_system() {
            Ok(tz) => match tz.iana_name().map(str::to_string) {
                Some(name) => Zone { name, tz },
                None => Zone::utc(),
            },
            Err(_) => Zone::utc(),
        }
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `t` as a sentence writes it in this zone: "2026-11-24 03:30 CET" (the zone's
    /// abbreviation, or its offset where it has none).
    pub fn readable(&self, t: OffsetDateTime) -> String {
        let ts = to_timestamp(t);
        let c = self.tz.to_datetime(ts);
        let info = self.tz.to_offset_info(ts);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} {}",
            c.year(),
            c.month(),
            c.day(),
            c.hour(),
            c.minute(),
            info.abbreviation()
        )
    }

    /// The wall-clock time in this zone at `t`.
    pub fn local_time(&self, t: OffsetDateTime) -> Civil {
        self.tz.to_datetime(to_timestamp(t))
    }

    /// The instant a wall-clock time means in this zone: the first occurrence of a repeated
    /// time, the first valid instant after a skipped one.
    pub fn resolve(&self, c: Civil) -> OffsetDateTime {
        let mut probe = c;
        // Gaps are at most a day long (Samoa skipped 2011-12-30); step by minutes past it.
        for _ in 0..(2 * 24 * 60) {
            match self.tz.to_ambiguous_timestamp(probe).offset() {
                AmbiguousOffset::Unambiguous { offset } => return instant(offset, probe),
                AmbiguousOffset::Fold { before, .. } => return instant(before, probe),
                AmbiguousOffset::Gap { .. } => {
                    probe = next_minute(probe);
                }
            }
        }
        // Unreachable with real zones; fall back to jiff's own choice.
        from_timestamp(
            self.tz
                .to_ambiguous_timestamp(c)
                .compatible()
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        )
    }

    /// How much the clocks fall back between `from` and `to` (one hour across the night daylight
    /// saving time ends; zero otherwise, and when they spring forward).
    pub fn fall_back_within(&self, from: OffsetDateTime, to: OffsetDateTime) -> time::Duration {
        let before = self.tz.to_offset(to_timestamp(from)).seconds();
        let after = self.tz.to_offset(to_timestamp(to)).seconds();
        time::Duration::seconds(i64::from((before - after).max(0)))
    }

    /// The largest change of the offset from UTC over a year (one hour where daylight saving
    /// time is kept, zero elsewhere).
    pub fn dst_shift(&self, around: OffsetDateTime) -> time::Duration {
        let offsets: Vec<i32> = (0..12)
            .map(|m| {
                let t = around + time::Duration::days(30 * m);
                self.tz.to_offset(to_timestamp(t)).seconds()
            })
            .collect();
        let (min, max) = (
            offsets.iter().min().copied().unwrap_or(0),
            offsets.iter().max().copied().unwrap_or(0),
        );
        time::Duration::seconds(i64::from(max - min))
    }
}

/// Midnight-anchored minute arithmetic that cannot fail for sane dates.
fn next_minute(c: Civil) -> Civil {
    c.checked_add(jiff::Span::new().minutes(1)).unwrap_or(c)
}

fn instant(offset: jiff::tz::Offset, c: Civil) -> OffsetDateTime {
    from_timestamp(
        offset
            .to_timestamp(c)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    )
}

pub(crate) fn to_timestamp(t: OffsetDateTime) -> jiff::Timestamp {
    jiff::Timestamp::from_nanosecond(t.unix_timestamp_nanos())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

pub(crate) fn from_timestamp(ts: jiff::Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ts.as_nanosecond())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::datetime;
    use time::macros::datetime as utc;

    #[test]
    fn skipped_times_mean_the_moment_of_the_change_and_repeated_ones_their_first_occurrence() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        // 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC).
        assert_eq!(
            berlin.resolve(datetime(2026, 3, 29, 2, 30, 0, 0)),
            utc!(2026-03-29 01:00 UTC)
        );
        // 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens at 00:30 and 01:30 UTC.
        assert_eq!(
            berlin.resolve(datetime(2026, 10, 25, 2, 30, 0, 0)),
            utc!(2026-10-25 00:30 UTC)
        );
        assert_eq!(
            berlin.local_time(utc!(2026-10-25 01:30 UTC)),
            datetime(2026, 10, 25, 2, 30, 0, 0)
        );
        let ny = Zone::named("America/New_York").unwrap();
        // 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC).
        assert_eq!(
            ny.resolve(datetime(2026, 3, 8, 2, 15, 0, 0)),
            utc!(2026-03-08 07:00 UTC)
        );
        assert_eq!(
            ny.dst_shift(utc!(2026-01-01 0:00 UTC)),
            time::Duration::HOUR
        );
        assert_eq!(
            Zone::utc().dst_shift(utc!(2026-01-01 0:00 UTC)),
            time::Duration::ZERO
        );
    }

    #[test]
    fn unknown_zones_are_refused() {
        let e = Zone::named("Mars/Olympus").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
        assert!(e.message().contains("Mars/Olympus"));
        assert_eq!(Zone::named("UTC").unwrap().name(), "UTC");
    }
}
