//! When a schedule runs: every N hours, daily at HH:MM, weekly on chosen days at HH:MM, monthly on
//! day D at HH:MM, or a 5-field cron expression. All in the schedule's time zone (see `zone.rs`).
//!
//! A spec has one text form, which the catalog stores and the command line and the window show:
//! `every 6h`, `daily 02:30`, `weekly mon,thu 02:30`, `monthly 15 02:30`, `cron 0 3 * * 1-5`.

use crate::error::{Error, Result};
use jiff::civil::{Date, DateTime as Civil, Weekday};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A time of day, to the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay {
    pub hour: i8,
    pub minute: i8,
}

impl TimeOfDay {
    /// `HH:MM` (24-hour clock; `2:30` is accepted too).
    pub fn parse(s: &str) -> Result<TimeOfDay> {
        let bad = || {
            Error::invalid(format!("{s:?} is not a time of day")).with_hint(
                "write a time as HH:MM on a 24-hour clock, from 00:00 to 23:59 (e.g. 02:30)",
            )
        };
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let digits =
            |p: &str| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(h) || m.len() != 2 || !digits(m) {
            return Err(bad());
        }
        let (hour, minute): (i8, i8) =
            (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if !(0..24).contains(&hour) || !(0..60).contains(&minute) {
            return Err(bad());
        }
        Ok(TimeOfDay { hour, minute })
    }

    pub(crate) fn on(self, date: Date) -> Civil {
        date.at(self.hour, self.minute, 0, 0)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// Days of the week, a bit each (Monday = bit 0 … Sunday = bit 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekdays(u8);

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Weekdays {
    /// `mon,thu` (three-letter or full English names, any case; at least one day).
    pub fn parse(s: &str) -> Result<Weekdays> {
        let mut bits = 0u8;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let p = part.to_ascii_lowercase();
            let i = DAY_NAMES
                .iter()
                .position(|d| p == *d || (p.len() > 3 && full_day_name(d) == p))
                .ok_or_else(|| {
                    Error::invalid(format!("{part:?} is not a day of the week")).with_hint(
                        "name days as mon,tue,wed,thu,fri,sat,sun (e.g. --weekly mon,thu 02:30)",
                    )
                })?;
            bits |= 1 << i;
        }
        if bits == 0 {
            return Err(Error::invalid("no day of the week given")
                .with_hint("name at least one day, e.g. --weekly mon,thu 02:30"));
        }
        Ok(Weekdays(bits))
    }

    pub fn contains(self, d: Weekday) -> bool {
        self.0 & (1 << (d.to_monday_zero_offset() as u8)) != 0
    }

    /// The days, Monday first.
    pub fn days(self) -> impl Iterator<Item = usize> {
        (0..7).filter(move |i| self.0 & (1 << i) != 0)
    }
}

fn full_day_name(short: &str) -> &'static str {
    match short {
        "mon" => "monday",
        "tue" => "tuesday",
        "wed" => "wednesday",
        "thu" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        _ => "sunday",
    }
}

impl fmt::Display for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.days().map(|i| DAY_NAMES[i]).collect();
        f.write_str(&names.join(","))
    }
}

/// When a schedule runs.
#[derive(Clone)]
pub enum ScheduleSpec {
    /// At every N-th hour of the day from local midnight (00:00, 06:00, 12:00, 18:00 for 6).
    EveryHours(u8),
    Daily(TimeOfDay),
    Weekly(Weekdays, TimeOfDay),
    /// On day D of every month; a month without that day runs on its last day.
    Monthly(u8, TimeOfDay),
    /// A 5-field cron expression (minute hour day-of-month month day-of-week), matched on the
    /// zone's wall clock.
    Cron(Box<CronExpr>),
}

/// A parsed 5-field cron expression and its text.
#[derive(Clone)]
pub struct CronExpr {
    pub(crate) text: String,
    pub(crate) cron: croner::Cron,
}

impl fmt::Debug for ScheduleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScheduleSpec({self})")
    }
}

impl PartialEq for ScheduleSpec {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl ScheduleSpec {
    /// `--every 6h`: `Nh` (or `N`) with N from 1 to 24.
    pub fn every(s: &str) -> Result<ScheduleSpec> {
        let t = s.trim().to_ascii_lowercase();
        let n = t.strip_suffix('h').unwrap_or(&t);
        match n.parse::<u8>() {
            Ok(n) if (1..=24).contains(&n) => Ok(ScheduleSpec::EveryHours(n)),
            _ => Err(Error::invalid(format!("{s:?} is not an interval of hours"))
                .with_hint("write the interval as 1h to 24h, e.g. --every 6h")),
        }
    }

    /// `--daily HH:MM`.
    pub fn daily(time: &str) -> Result<ScheduleSpec> {
        Ok(ScheduleSpec::Daily(TimeOfDay::parse(time)?))
    }

    /// `--weekly mon,thu HH:MM`.
    pub fn weekly(days: &str, time: &str) -> Result<ScheduleSpec> {
        Ok(ScheduleSpec::Weekly(
            Weekdays::parse(days)?,
            TimeOfDay::parse(time)?,
        ))
    }

    /// `--monthly D HH:MM` (D from 1 to 31; shorter months run on their last day).
    pub fn monthly(day: &str, time: &str) -> Result<ScheduleSpec> {
        let d = day.trim().parse::<u8>().ok().filter(|d| (1..=31).contains(d)).ok_or_else(|| {
            Error::invalid(format!("{day:?} is not a day of the month"))
                .with_hint("give a day from 1 to 31 (months without it run on their last day), e.g. --monthly 1 03:00")
        })?;
        Ok(ScheduleSpec::Monthly(d, TimeOfDay::parse(time)?))
    }

    /// `--cron "EXPR"`: exactly five fields (minute hour day-of-month month day-of-week), with
    /// lists, ranges, steps and names (`0 3 * * mon-fri`).
    pub fn cron(expr: &str) -> Result<ScheduleSpec> {
        let text = expr.split_whitespace().collect::<Vec<_>>().join(" ");
        let hint = "write the five cron fields: minute hour day-of-month month day-of-week, e.g. \"30 2 * * *\" (02:30 every day) or \"0 */6 * * mon-fri\"";
        let fields = text.split(' ').filter(|f| !f.is_empty()).count();
        if fields != 5 {
            return Err(Error::invalid(format!(
                "the custom schedule {expr:?} has {}, not 5",
                crate::words::count(fields, "field")
            ))
            .with_hint(hint));
        }
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .year(croner::parser::Year::Disallowed)
            .build()
            .parse(&text)
            .map_err(|e| {
                // croner's text names no field ("Number out of bounds"): say which, and its range.
                let why = super::cron_fields::out_of_range(&text).unwrap_or_else(|| e.to_string());
                Error::invalid(format!("{expr:?} is not a valid custom schedule: {why}"))
                    .with_hint(hint)
            })?;
        let spec = ScheduleSpec::Cron(Box::new(CronExpr { text, cron }));
        // "0 0 30 2 *" parses but never runs.
        let from = jiff::civil::date(2026, 1, 1).at(0, 0, 0, 0);
        if spec.next_civil_after(from).is_none() {
            return Err(
                Error::invalid(format!("the custom schedule {expr:?} never runs")).with_hint(hint),
            );
        }
        Ok(spec)
    }

    /// The first wall-clock slot strictly after `c` (`None` when there is none within years).
    pub(crate) fn next_civil_after(&self, c: Civil) -> Option<Civil> {
        let day = c.date();
        let add_days = |n: i64| day.checked_add(jiff::Span::new().days(n)).ok();
        match self {
            ScheduleSpec::EveryHours(n) => {
                for d in 0..=1 {
                    let date = add_days(d)?;
                    for h in (0..24).step_by(usize::from(*n)) {
                        let cand = date.at(h as i8, 0, 0, 0);
                        if cand > c {
                            return Some(cand);
                        }
                    }
                }
                None
            }
            ScheduleSpec::Daily(t) => (0..=1)
                .filter_map(|d| add_days(d).map(|date| t.on(date)))
                .find(|cand| *cand > c),
            ScheduleSpec::Weekly(days, t) => (0..=7)
                .filter_map(add_days)
                .filter(|date| days.contains(date.weekday()))
                .map(|date| t.on(date))
                .find(|cand| *cand > c),
            ScheduleSpec::Monthly(d, t) => {
                let first = day.first_of_month();
                (0..=2)
                    .filter_map(|m| first.checked_add(jiff::Span::new().months(m)).ok())
                    .map(|month| {
                        let dd = (*d as i8).min(month.days_in_month());
                        t.on(month.with().day(dd).build().unwrap_or(month))
                    })
                    .find(|cand| *cand > c)
            }
            ScheduleSpec::Cron(e) => {
                let naive = chrono::NaiveDate::from_ymd_opt(
                    i32::from(c.year()),
                    c.month() as u32,
                    c.day() as u32,
                )?
                .and_hms_opt(
                    c.hour() as u32,
                    c.minute() as u32,
                    c.second() as u32,
                )?;
                let start = chrono::TimeZone::from_utc_datetime(&chrono::Utc, &naive);
                let next = e.cron.find_next_occurrence(&start, false).ok()?;
                let n = next.naive_utc();
                use chrono::{Datelike, Timelike};
                jiff::civil::date(n.year() as i16, n.month() as i8, n.day() as i8)
                    .at(n.hour() as i8, n.minute() as i8, 0, 0)
                    .into()
            }
        }
    }
}

impl fmt::Display for ScheduleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleSpec::EveryHours(n) => write!(f, "every {n}h"),
            ScheduleSpec::Daily(t) => write!(f, "daily {t}"),
            ScheduleSpec::Weekly(d, t) => write!(f, "weekly {d} {t}"),
            ScheduleSpec::Monthly(d, t) => write!(f, "monthly {d} {t}"),
            ScheduleSpec::Cron(e) => write!(f, "cron {}", e.text),
        }
    }
}

impl FromStr for ScheduleSpec {
    type Err = Error;
    /// The text form (`every 6h`, `daily 02:30`, `weekly mon,thu 02:30`, `monthly 15 02:30`,
    /// `cron EXPR`).
    fn from_str(s: &str) -> Result<ScheduleSpec> {
        let s = s.trim();
        let (kind, rest) = s.split_once(' ').unwrap_or((s, ""));
        let args: Vec<&str> = rest.split_whitespace().collect();
        match (kind, args.as_slice()) {
            ("every", [n]) => ScheduleSpec::every(n),
            ("daily", [t]) => ScheduleSpec::daily(t),
            ("weekly", [d, t]) => ScheduleSpec::weekly(d, t),
            ("monthly", [d, t]) => ScheduleSpec::monthly(d, t),
            ("cron", _) => ScheduleSpec::cron(rest),
            _ => Err(Error::invalid(format!("{s:?} is not a schedule"))
                .with_hint("e.g. every 6h, daily 02:30, weekly mon,thu 02:30, monthly 1 03:00, cron 30 2 * * *")),
        }
    }
}

impl Serialize for ScheduleSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ScheduleSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|e: Error| serde::de::Error::custom(e.message().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn invalid(r: Result<ScheduleSpec>) -> String {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.hint().is_some());
        e.message().to_string()
    }

    #[test]
    fn specs_round_trip_through_their_text() {
        for text in [
            "every 6h",
            "every 1h",
            "daily 02:30",
            "weekly mon,thu 02:30",
            "monthly 31 23:59",
            "cron 0 3 * * MON-FRI",
            "cron */15 * * * *",
        ] {
            let spec: ScheduleSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
            let json = serde_json::to_string(&spec).unwrap();
            assert_eq!(serde_json::from_str::<ScheduleSpec>(&json).unwrap(), spec);
        }
        assert_eq!(
            ScheduleSpec::weekly("Thursday,mon", "2:30")
                .unwrap()
                .to_string(),
            "weekly mon,thu 02:30"
        );
        assert_eq!(ScheduleSpec::every("12").unwrap().to_string(), "every 12h");
    }

    #[test]
    fn bad_times_days_intervals_and_cron_are_refused_clearly() {
        assert!(invalid(ScheduleSpec::daily("25:00")).contains("25:00"));
        invalid(ScheduleSpec::daily("12:60"));
        invalid(ScheduleSpec::daily("noon"));
        invalid(ScheduleSpec::daily("12:5"));
        invalid(ScheduleSpec::daily("-1:00"));
        invalid(ScheduleSpec::every("0h"));
        invalid(ScheduleSpec::every("25h"));
        invalid(ScheduleSpec::every("6m"));
        assert!(invalid(ScheduleSpec::weekly("mon,funday", "02:00")).contains("funday"));
        invalid(ScheduleSpec::weekly("", "02:00"));
        invalid(ScheduleSpec::monthly("0", "02:00"));
        invalid(ScheduleSpec::monthly("32", "02:00"));
        assert!(invalid(ScheduleSpec::cron("61 * * * *")).contains("not a valid custom schedule"));
        // The field and its range, not croner's "Component error: Number out of bounds".
        assert_eq!(
            invalid(ScheduleSpec::cron("0 25 * * *")),
            "\"0 25 * * *\" is not a valid custom schedule: the hour is 25, but an hour goes from 0 to 23"
        );
        assert!(invalid(ScheduleSpec::cron("* * * *")).contains("4 field"));
        assert!(invalid(ScheduleSpec::cron("0 0 * * * *")).contains("6 field"));
        invalid(ScheduleSpec::cron("@daily"));
        invalid(ScheduleSpec::cron("0 0 30 2 *"));
        invalid(ScheduleSpec::cron("a b c d e"));
        invalid("hourly".parse::<ScheduleSpec>());
    }
}
