//! What is due now, and whether a project is overdue: pure functions of the schedule, its zone,
//! what the catalog recorded (the schedule's creation, the last slot run, the newest good backup)
//! and the wall clock's `now`. No timers: a timer's monotonic clock stops while the computer
//! sleeps; the wall clock does not.
//!
//! Catch-up: however many slots passed while the computer slept or Offsite was closed, exactly one
//! run is due — for the newest missed slot — and recording that slot as run makes the next due
//! time the first slot after `now`.

use super::next::{latest_in, longest_gap, next_after};
use super::spec::ScheduleSpec;
use super::zone::Zone;
use crate::kinds::JobTrigger;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

/// A run that starts this long after its slot still counts as on time (`schedule`); later, or
/// after several missed slots, it is a `catch_up`.
pub const ON_TIME: Duration = Duration::minutes(30);

/// The default grace before a project with a schedule is overdue: a daily schedule alerts after
/// 25 hours without a good backup.
pub const DEFAULT_GRACE: Duration = Duration::HOUR;

/// One run that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Due {
    /// The slot it runs for (the newest one that has come); recorded as run when claimed.
    #[serde(with = "time::serde::rfc3339")]
    pub slot: OffsetDateTime,
    /// `schedule` (on time) or `catch_up` (late, or slots were missed).
    pub trigger: JobTrigger,
}

/// What is due at `now` for a schedule whose last run was for the slot `last_slot` (or that was
/// created at `created_at` and never ran): `None`, or one run for the newest slot that has come.
pub fn due(
    spec: &ScheduleSpec,
    zone: &Zone,
    created_at: OffsetDateTime,
    last_slot: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Option<Due> {
    // A schedule replaced after its last run starts over from its creation.
    let since = last_slot.map_or(created_at, |s| s.max(created_at));
    let first = next_after(spec, zone, since)?;
    if first > now {
        return None;
    }
    let slot = latest_in(spec, zone, since, now)?;
    let trigger = if slot == first && now - slot <= ON_TIME {
        JobTrigger::Schedule
    } else {
        JobTrigger::CatchUp
    };
    Some(Due { slot, trigger })
}

/// When the schedule runs next, seen at `now`: `now`-ish when something is due (the slot it is
/// for), otherwise the next slot.
pub fn next_run(
    spec: &ScheduleSpec,
    zone: &Zone,
    created_at: OffsetDateTime,
    last_slot: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    match due(spec, zone, created_at, last_slot, now) {
        Some(d) => Some(d.slot),
        None => next_after(spec, zone, now.max(last_slot.unwrap_or(created_at))),
    }
}

/// Whether a project is overdue at `now`: its newest good backup (or, when it has none or an
/// older one, the schedule's creation) is older than the schedule's longest gap plus `grace`.
pub fn overdue(
    spec: &ScheduleSpec,
    zone: &Zone,
    created_at: OffsetDateTime,
    last_good: Option<OffsetDateTime>,
    now: OffsetDateTime,
    grace: Duration,
) -> bool {
    let since = last_good.map_or(created_at, |g| g.max(created_at));
    now - since > longest_gap(spec, zone, since) + grace
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use time::macros::datetime;

    fn spec(s: &str) -> ScheduleSpec {
        s.parse().unwrap()
    }

    #[test]
    fn a_new_schedule_waits_for_its_first_slot_then_runs_on_time() {
        let (s, z) = (spec("daily 02:30"), Zone::named("Europe/Berlin").unwrap());
        let created = datetime!(2026-11-20 10:00 UTC);
        let clock = ManualClock::new(created);
        assert_eq!(due(&s, &z, created, None, clock.now()), None);
        clock.set(datetime!(2026-11-21 01:29 UTC));
        assert_eq!(due(&s, &z, created, None, clock.now()), None);
        clock.set(datetime!(2026-11-21 01:31 UTC));
        let d = due(&s, &z, created, None, clock.now()).unwrap();
        assert_eq!(d.slot, datetime!(2026-11-21 01:30 UTC));
        assert_eq!(d.trigger, JobTrigger::Schedule);
        // Once recorded, nothing until the next slot.
        assert_eq!(due(&s, &z, created, Some(d.slot), clock.now()), None);
        assert_eq!(
            next_run(&s, &z, created, Some(d.slot), clock.now()),
            Some(datetime!(2026-11-22 01:30 UTC))
        );
    }

    #[test]
    fn three_days_asleep_is_exactly_one_catch_up_run() {
        let (s, z) = (spec("every 6h"), Zone::named("America/New_York").unwrap());
        let created = datetime!(2026-11-01 12:00 UTC);
        let clock = ManualClock::new(datetime!(2026-11-20 05:00 UTC));
        let last = Some(datetime!(2026-11-20 05:00 UTC)); // 00:00 EST
        clock.advance(Duration::days(3) + Duration::hours(2));
        let now = clock.now();
        let d = due(&s, &z, created, last, now).unwrap();
        assert_eq!(d.trigger, JobTrigger::CatchUp);
        assert_eq!(d.slot, datetime!(2026-11-23 05:00 UTC)); // the newest missed: 00:00 EST
                                                             // After that one run, nothing more is due until the next slot: never two.
        assert_eq!(due(&s, &z, created, Some(d.slot), now), None);
        clock.advance(Duration::minutes(10));
        assert_eq!(due(&s, &z, created, Some(d.slot), clock.now()), None);
        // A single slot missed by hours (the laptop slept through it) is a catch-up too.
        let d = due(&s, &z, created, last, datetime!(2026-11-20 13:00 UTC)).unwrap();
        assert_eq!(d.slot, datetime!(2026-11-20 11:00 UTC));
        assert_eq!(d.trigger, JobTrigger::CatchUp);
    }

    #[test]
    fn overdue_after_the_longest_gap_and_grace() {
        let (s, z) = (spec("daily 02:30"), Zone::utc());
        let created = datetime!(2026-11-01 0:00 UTC);
        let good = Some(datetime!(2026-11-20 02:35 UTC));
        assert!(!overdue(
            &s,
            &z,
            created,
            good,
            datetime!(2026-11-21 03:35 UTC),
            DEFAULT_GRACE
        ));
        assert!(overdue(
            &s,
            &z,
            created,
            good,
            datetime!(2026-11-21 03:36 UTC),
            DEFAULT_GRACE
        ));
        // Never backed up: one gap plus grace after the schedule was made.
        assert!(!overdue(
            &s,
            &z,
            created,
            None,
            datetime!(2026-11-02 01:00 UTC),
            DEFAULT_GRACE
        ));
        assert!(overdue(
            &s,
            &z,
            created,
            None,
            datetime!(2026-11-02 01:01 UTC),
            DEFAULT_GRACE
        ));
        // Across the night the clocks fall back, the daily gap is 25 real hours: 26 with grace.
        let berlin = Zone::named("Europe/Berlin").unwrap();
        // 02:35 CEST on the day the clocks fall back; the next 02:30 is CET, 25 hours later.
        let good = Some(datetime!(2026-10-25 00:35 UTC));
        let october = datetime!(2026-10-01 0:00 UTC);
        let at = |t| overdue(&s, &berlin, october, good, t, DEFAULT_GRACE);
        assert!(!at(datetime!(2026-10-26 02:35 UTC)));
        assert!(at(datetime!(2026-10-26 02:36 UTC)));
        // An old backup does not make a new schedule overdue at once.
        let old = Some(datetime!(2026-01-01 0:00 UTC));
        assert!(!overdue(
            &s,
            &z,
            created,
            old,
            datetime!(2026-11-01 12:00 UTC),
            DEFAULT_GRACE
        ));
    }
}
