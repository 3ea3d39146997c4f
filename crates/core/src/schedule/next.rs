//! The instants a schedule runs at: wall-clock slots of its spec, in its zone, resolved the way
//! [`Zone::resolve`] does on the days the clocks change. Pure functions of their arguments.
//!
//! Slots are found on the wall clock, then resolved: a daily 02:30 has one wall-clock slot per
//! day, so it runs once on every day, also when 02:30 is skipped (it runs at 03:00) or repeated
//! (it runs at the first 02:30).

use super::spec::ScheduleSpec;
use super::zone::Zone;
use time::{Duration, OffsetDateTime};

/// How many wall-clock slots a search looks at before giving up (years of a sparse cron).
const SEARCH_LIMIT: usize = 100_000;

/// The first run strictly after `after` (`None`: the spec never runs again).
pub fn next_after(
    spec: &ScheduleSpec,
    zone: &Zone,
    after: OffsetDateTime,
) -> Option<OffsetDateTime> {
    // A wall-clock slot at or before `after`'s wall-clock time resolves to `after` or earlier,
    // so the search starts there; slots that resolve to `after` or before (a repeated hour's
    // second pass, a skipped hour's slots after its first) are passed over.
    let mut c = zone.local_time(after);
    for _ in 0..SEARCH_LIMIT {
        let slot = spec.next_civil_after(c)?;
        let at = zone.resolve(slot);
        if at > after {
            return Some(at);
        }
        c = slot;
    }
    None
}

/// The next `n` runs after `after` (the editor's preview).
pub fn preview(
    spec: &ScheduleSpec,
    zone: &Zone,
    after: OffsetDateTime,
    n: usize,
) -> Vec<OffsetDateTime> {
    let mut out = Vec::with_capacity(n);
    let mut t = after;
    while out.len() < n {
        match next_after(spec, zone, t) {
            Some(next) => {
                out.push(next);
                t = next;
            }
            None => break,
        }
    }
    out
}

/// The newest run in `(after, until]`, if any: what is due at `until` when the last run (or the
/// schedule's creation) was at `after`. Looks at no more than a few weeks of slots however long
/// ago `after` was.
pub fn latest_in(
    spec: &ScheduleSpec,
    zone: &Zone,
    after: OffsetDateTime,
    until: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let first = next_after(spec, zone, after)?;
    if first > until {
        return None;
    }
    // Jump close to `until` when `after` is long ago (a laptop off for a month, every hour).
    let mut latest = first;
    let near = until - Duration::days(35);
    if near > first {
        if let Some(s) = next_after(spec, zone, near).filter(|s| *s <= until) {
            latest = s;
        }
    }
    for _ in 0..SEARCH_LIMIT {
        match next_after(spec, zone, latest) {
            Some(n) if n <= until => latest = n,
            _ => break,
        }
    }
    Some(latest)
}

/// The longest time between two runs starting at `around`, in real time (a daily schedule: 24
/// hours, 25 across the night the clocks fall back). What "overdue" is measured against.
pub fn longest_gap(spec: &ScheduleSpec, zone: &Zone, around: OffsetDateTime) -> Duration {
    let hours = |h: i64| Duration::hours(h);
    let nominal = match spec {
        ScheduleSpec::EveryHours(n) => hours(i64::from(*n)),
        ScheduleSpec::Daily(_) => hours(24),
        ScheduleSpec::Weekly(days, _) => {
            let d: Vec<i64> = days.days().map(|i| i as i64).collect();
            let mut gap = 0;
            for (k, day) in d.iter().enumerate() {
                let next = d.get(k + 1).copied().unwrap_or(d[0] + 7);
                gap = gap.max(next - day);
            }
            hours(24 * gap)
        }
        ScheduleSpec::Monthly(..) => hours(24 * 31),
        ScheduleSpec::Cron(_) => {
            // Measure it: the runs of a year (or the first 2,000).
            let mut gap = Duration::ZERO;
            let mut prev = match next_after(spec, zone, around) {
                Some(p) => p,
                None => return Duration::MAX,
            };
            let end = around + Duration::days(366);
            for _ in 0..2000 {
                match next_after(spec, zone, prev) {
                    Some(n) => {
                        gap = gap.max(n - prev);
                        prev = n;
                        if n > end {
                            break;
                        }
                    }
                    None => break,
                }
            }
            return gap.max(hours(1));
        }
    };
    // Where the clocks fall back within the gap, it lasts longer in real time (25 hours).
    nominal + zone.fall_back_within(around, around + nominal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn spec(s: &str) -> ScheduleSpec {
        s.parse().unwrap()
    }
    fn zone(name: &str) -> Zone {
        Zone::named(name).unwrap()
    }
    fn runs(s: &str, z: &str, from: OffsetDateTime, until: OffsetDateTime) -> Vec<OffsetDateTime> {
        let (s, z) = (spec(s), zone(z));
        let mut out = vec![];
        let mut t = from;
        while let Some(n) = next_after(&s, &z, t) {
            if n > until {
                break;
            }
            out.push(n);
            t = n;
        }
        out
    }

    #[test]
    fn daily_0230_runs_once_on_spring_forward_day_at_0300_berlin() {
        let r = runs(
            "daily 02:30",
            "Europe/Berlin",
            datetime!(2026-03-27 12:00 UTC),
            datetime!(2026-03-31 12:00 UTC),
        );
        assert_eq!(
            r,
            vec![
                datetime!(2026-03-28 01:30 UTC), // 02:30 CET
                datetime!(2026-03-29 01:00 UTC), // 02:30 does not exist: 03:00 CEST
                datetime!(2026-03-30 00:30 UTC), // 02:30 CEST
                datetime!(2026-03-31 00:30 UTC),
            ]
        );
    }

    #[test]
    fn daily_0230_runs_once_on_fall_back_day_at_the_first_0230_berlin() {
        let r = runs(
            "daily 02:30",
            "Europe/Berlin",
            datetime!(2026-10-23 12:00 UTC),
            datetime!(2026-10-27 12:00 UTC),
        );
        assert_eq!(
            r,
            vec![
                datetime!(2026-10-24 00:30 UTC), // 02:30 CEST
                datetime!(2026-10-25 00:30 UTC), // the first 02:30 (CEST), not 01:30 UTC too
                datetime!(2026-10-26 01:30 UTC), // 02:30 CET
                datetime!(2026-10-27 01:30 UTC),
            ]
        );
        // Asked from inside the repeated hour (after the first 02:30): not again that day.
        assert_eq!(
            next_after(
                &spec("daily 02:30"),
                &zone("Europe/Berlin"),
                datetime!(2026-10-25 01:15 UTC)
            ),
            Some(datetime!(2026-10-26 01:30 UTC))
        );
    }

    #[test]
    fn new_york_dst_days_run_once_each() {
        // 2026-03-08: 02:00 EST -> 03:00 EDT; 2026-11-01: 02:00 EDT -> 01:00 EST.
        let spring = runs(
            "daily 02:15",
            "America/New_York",
            datetime!(2026-03-07 12:00 UTC),
            datetime!(2026-03-09 12:00 UTC),
        );
        assert_eq!(
            spring,
            vec![
                datetime!(2026-03-08 07:00 UTC),
                datetime!(2026-03-09 06:15 UTC)
            ]
        );
        let fall = runs(
            "daily 01:30",
            "America/New_York",
            datetime!(2026-10-31 12:00 UTC),
            datetime!(2026-11-02 12:00 UTC),
        );
        assert_eq!(
            fall,
            vec![
                datetime!(2026-11-01 05:30 UTC),
                datetime!(2026-11-02 06:30 UTC)
            ]
        );
    }

    #[test]
    fn every_hours_weekly_monthly_and_cron() {
        let r = runs(
            "every 6h",
            "Europe/Berlin",
            datetime!(2026-03-28 22:00 UTC),
            datetime!(2026-03-29 23:00 UTC),
        );
        // 00:00 CET, 06:00 / 12:00 / 18:00 CEST on the short day, 00:00 CEST.
        assert_eq!(
            r,
            vec![
                datetime!(2026-03-28 23:00 UTC),
                datetime!(2026-03-29 04:00 UTC),
                datetime!(2026-03-29 10:00 UTC),
                datetime!(2026-03-29 16:00 UTC),
                datetime!(2026-03-29 22:00 UTC),
            ]
        );
        // 2026-11-19 is a Thursday.
        let r = runs(
            "weekly mon,thu 02:30",
            "UTC",
            datetime!(2026-11-18 00:00 UTC),
            datetime!(2026-11-27 00:00 UTC),
        );
        assert_eq!(
            r,
            vec![
                datetime!(2026-11-19 02:30 UTC),
                datetime!(2026-11-23 02:30 UTC),
                datetime!(2026-11-26 02:30 UTC),
            ]
        );
        let r = runs(
            "monthly 31 03:00",
            "UTC",
            datetime!(2026-01-01 00:00 UTC),
            datetime!(2026-05-01 00:00 UTC),
        );
        assert_eq!(
            r,
            vec![
                datetime!(2026-01-31 03:00 UTC),
                datetime!(2026-02-28 03:00 UTC),
                datetime!(2026-03-31 03:00 UTC),
                datetime!(2026-04-30 03:00 UTC),
            ]
        );
        // Cron on the wall clock: 02:30 on the spring-forward day runs once, at 03:00.
        let r = runs(
            "cron 30 2 * * *",
            "Europe/Berlin",
            datetime!(2026-03-28 12:00 UTC),
            datetime!(2026-03-30 12:00 UTC),
        );
        assert_eq!(
            r,
            vec![
                datetime!(2026-03-29 01:00 UTC),
                datetime!(2026-03-30 00:30 UTC)
            ]
        );
        // Weekdays only, and Feb 29.
        let r = runs(
            "cron 0 9 * * mon-fri",
            "UTC",
            datetime!(2026-11-20 10:00 UTC),
            datetime!(2026-11-24 10:00 UTC),
        );
        assert_eq!(
            r,
            vec![
                datetime!(2026-11-23 09:00 UTC),
                datetime!(2026-11-24 09:00 UTC)
            ]
        );
        assert_eq!(
            next_after(
                &spec("cron 0 0 29 2 *"),
                &zone("UTC"),
                datetime!(2026-01-01 0:00 UTC)
            ),
            Some(datetime!(2028-02-29 0:00 UTC))
        );
    }

    #[test]
    fn preview_lists_the_next_five() {
        let p = preview(
            &spec("daily 02:30"),
            &zone("UTC"),
            datetime!(2026-11-20 03:00 UTC),
            5,
        );
        assert_eq!(p.len(), 5);
        assert_eq!(p[0], datetime!(2026-11-21 02:30 UTC));
        assert_eq!(p[4], datetime!(2026-11-25 02:30 UTC));
    }

    #[test]
    fn latest_in_finds_the_newest_missed_slot_quickly() {
        let s = spec("every 1h");
        let z = zone("Europe/Berlin");
        // Three years asleep.
        let after = datetime!(2023-11-20 10:00 UTC);
        let until = datetime!(2026-11-20 10:30 UTC);
        assert_eq!(
            latest_in(&s, &z, after, until),
            Some(datetime!(2026-11-20 10:00 UTC))
        );
        assert_eq!(
            latest_in(&s, &z, until, until + Duration::minutes(10)),
            None
        );
    }

    #[test]
    fn longest_gaps() {
        let at = datetime!(2026-01-01 0:00 UTC);
        let berlin = zone("Europe/Berlin");
        assert_eq!(
            longest_gap(&spec("daily 02:30"), &berlin, at),
            Duration::hours(24)
        );
        let fall_back_eve = datetime!(2026-10-24 12:00 UTC);
        assert_eq!(
            longest_gap(&spec("daily 02:30"), &berlin, fall_back_eve),
            Duration::hours(25)
        );
        let spring_eve = datetime!(2026-03-28 12:00 UTC);
        assert_eq!(
            longest_gap(&spec("daily 02:30"), &berlin, spring_eve),
            Duration::hours(24)
        );
        assert_eq!(
            longest_gap(&spec("daily 02:30"), &zone("UTC"), at),
            Duration::hours(24)
        );
        assert_eq!(
            longest_gap(&spec("every 6h"), &zone("UTC"), at),
            Duration::hours(6)
        );
        assert_eq!(
            longest_gap(&spec("weekly mon,thu 02:30"), &zone("UTC"), at),
            Duration::days(4)
        );
        assert_eq!(
            longest_gap(&spec("cron 0 3 * * mon-fri"), &zone("UTC"), at),
            Duration::days(3)
        );
        assert_eq!(
            longest_gap(&spec("cron 0 3 * * *"), &berlin, at),
            Duration::hours(25),
            "measured over a year, which has a fall-back night"
        );
    }
}
