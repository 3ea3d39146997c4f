//! Time through one injected [`Clock`]: every "now" the engine and the catalog use comes from
//! it, so schedules, retention and overdue checks are pure functions of `now` and tests move time
//! instead of waiting.
//!
//! Durations of work in progress (throughput, timeouts) use `std::time::Instant` — a monotonic
//! clock — and are not "now" in this sense.

mod timestamps;

use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
pub use timestamps::{format_timestamp, parse_timestamp};

/// Where the wall-clock time comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current wall-clock time, UTC.
    fn now(&self) -> OffsetDateTime;
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that stands still until moved (tests; "what if it were Tuesday 02:30").
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            now: Mutex::new(start),
        })
    }
    /// Set the time (it may go backwards: wall clocks do).
    pub fn set(&self, t: OffsetDateTime) {
        *self.lock() = t;
    }
    /// Move the time forwards (or backwards, with a negative duration).
    pub fn advance(&self, by: time::Duration) {
        let mut n = self.lock();
        *n += by;
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        match self.now.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_stands_still_until_moved() {
        let c = ManualClock::new(datetime!(2026-03-29 01:30 UTC));
        assert_eq!(c.now(), datetime!(2026-03-29 01:30 UTC));
        assert_eq!(c.now(), datetime!(2026-03-29 01:30 UTC));
        c.advance(time::Duration::hours(25));
        assert_eq!(c.now(), datetime!(2026-03-30 02:30 UTC));
        c.set(datetime!(2020-01-01 0:00 UTC));
        assert_eq!(c.now(), datetime!(2020-01-01 0:00 UTC));
    }

    #[test]
    fn system_clock_is_utc_and_moves() {
        let c = SystemClock;
        let a = c.now();
        assert_eq!(a.offset(), time::UtcOffset::UTC);
        assert!((OffsetDateTime::now_utc() - a).whole_seconds().abs() < 5);
    }
}
