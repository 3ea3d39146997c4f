//! Which backups a retention policy keeps (restic's semantics, in the policy's time zone):
//!
//! - keep-last N: the N newest backups;
//! - keep-hourly / daily / weekly / monthly / yearly N: the newest backup in each of the N most
//!   recent hours / days / ISO weeks / months / years that have one;
//! - keep-within DUR: every backup taken within DUR (`36h`, `30d`, `8w`, `6m`, `1y`, or combined
//!   like `1y6m`) before the newest backup (not before now: backups that stopped do not all
//!   expire).
//!
//! Rules combine with OR: a backup is kept when any rule keeps it, and every reason is listed. A
//! policy without rules keeps everything. Whatever the rules say, the newest verified backup (or,
//! when none is verified, the newest good one) is kept, and so is any backup dated after `now`
//! (a clock that was wrong). A backup known to be corrupt, or whose file is missing, never counts
//! as the one kept for the last N or for a period: the next good one in that period is kept
//! instead. The decision sorts once and walks the list once: O(n log n).

use super::zone::Zone;
use crate::error::{Error, Result};
use crate::kinds::BackupStatus;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// A retention policy. `None` rules are off; counts are at least 1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct RetentionPolicy {
    pub keep_last: Option<u32>,
    pub keep_hourly: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<u32>,
    /// A duration: `36h`, `30d`, `8w`, `6m`, `1y`, `1y6m`.
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub keep_within: Option<Within>,
}

impl RetentionPolicy {
    /// The policy a new project gets: a week of dailies, a month of weeklies, a year of
    /// monthlies (7 daily · 4 weekly · 12 monthly). Keeping everything stays a choice (a policy
    /// without rules).
    pub fn recommended() -> RetentionPolicy {
        RetentionPolicy {
            keep_daily: Some(7),
            keep_weekly: Some(4),
            keep_monthly: Some(12),
            ..RetentionPolicy::default()
        }
    }

    /// No rules: keeps everything.
    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|(_, c)| c.is_none()) && self.keep_within.is_none()
    }

    /// The count rules that are set: (`keep-daily`, 7), … (`keep-within` is not a count).
    pub fn count_rules(&self) -> Vec<(&'static str, u32)> {
        self.counts()
            .into_iter()
            .filter_map(|(name, n)| n.map(|n| (name, n)))
            .collect()
    }

    fn counts(&self) -> [(&'static str, Option<u32>); 6] {
        [
            ("keep-last", self.keep_last),
            ("keep-hourly", self.keep_hourly),
            ("keep-daily", self.keep_daily),
            ("keep-weekly", self.keep_weekly),
            ("keep-monthly", self.keep_monthly),
            ("keep-yearly", self.keep_yearly),
        ]
    }

    /// Counts must be at least 1 (leave a rule out to turn it off).
    pub fn validate(&self) -> Result<()> {
        for (name, count) in self.counts() {
            if count == Some(0) {
                return Err(Error::invalid(format!("--{name} must be at least 1"))
                    .with_hint(format!("leave --{name} out to turn that rule off")));
            }
        }
        Ok(())
    }

    /// The rules in words: `keep-last 3, keep-daily 7, keep-within 30d` (or `keep everything`).
    pub fn describe(&self) -> String {
        if self.is_empty() {
            return "keep everything".to_string();
        }
        let mut parts: Vec<String> = self
            .counts()
            .iter()
            .filter_map(|(n, c)| c.map(|c| format!("{n} {c}")))
            .collect();
        if let Some(w) = self.keep_within {
            parts.push(format!("keep-within {w}"));
        }
        parts.join(", ")
    }
}

/// A duration for keep-within: years, months, weeks, days and hours, counted on the calendar in
/// the policy's zone (`1m` before March 31 is February 28/29).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Within {
    pub years: u32,
    pub months: u32,
    pub weeks: u32,
    pub days: u32,
    pub hours: u32,
}

impl FromStr for Within {
    type Err = Error;
    /// `36h`, `30d`, `8w`, `6m`, `1y`, or a combination such as `1y6m` or `2d12h`.
    fn from_str(s: &str) -> Result<Within> {
        let bad = || {
            Error::invalid(format!("{s:?} is not a duration"))
                .with_hint("write a number and a unit: h (hours), d (days), w (weeks), m (months), y (years), e.g. 36h, 30d, 8w, 6m, 1y or 1y6m")
        };
        let t = s.trim().to_ascii_lowercase();
        let mut w = Within::default();
        let mut num = String::new();
        for ch in t.chars() {
            if ch.is_ascii_digit() {
                num.push(ch);
                continue;
            }
            let n: u32 = num.parse().map_err(|_| bad())?;
            num.clear();
            let slot = match ch {
                'y' => &mut w.years,
                'm' => &mut w.months,
                'w' => &mut w.weeks,
                'd' => &mut w.days,
                'h' => &mut w.hours,
                _ => return Err(bad()),
            };
            *slot = slot.checked_add(n).ok_or_else(bad)?;
        }
        if !num.is_empty() || w == Within::default() {
            return Err(bad());
        }
        if w.years > 1000
            || w.months > 12_000
            || w.weeks > 52_000
            || w.days > 365_000
            || w.hours > 10_000_000
        {
            return Err(bad());
        }
        Ok(w)
    }
}

impl fmt::Display for Within {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, unit) in [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.weeks, 'w'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for Within {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Within {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|e: Error| serde::de::Error::custom(e.message().to_string()))
    }
}

impl Within {
    /// `t` minus this duration, on the calendar of `zone`.
    fn before(&self, zone: &Zone, t: OffsetDateTime) -> OffsetDateTime {
        let local = zone.local_time(t);
        let span = jiff::Span::new()
            .years(i64::from(self.years))
            .months(i64::from(self.months))
            .weeks(i64::from(self.weeks))
            .days(i64::from(self.days));
        let back = local
            .checked_sub(span)
            .map(|c| zone.resolve(c))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        back - time::Duration::hours(i64::from(self.hours))
    }
}

/// A backup as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub created_at: OffsetDateTime,
    pub status: BackupStatus,
}

impl Candidate {
    /// Not known corrupt, file not missing.
    fn good(&self) -> bool {
        matches!(
            self.status,
            BackupStatus::Verified | BackupStatus::Unverified
        )
    }
}

/// Which rule keeps a backup: the kind of each of a [`Decision`]'s reasons, for a window or a
/// list that shows one word per backup ("daily", "newest") rather than the reason's detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum KeepRule {
    /// The newest verified backup (or, with none verified, the newest good one): always kept.
    Newest,
    /// The backup of the newest passed restore drill: always kept.
    Proven,
    /// Pinned by hand (`offsite pin`): kept by every retention.
    Pinned,
    /// The canary found it suspicious, or it is the good backup a suspicious one was compared
    /// with: never pruned ahead of the good ones.
    Suspicious,
    /// A kept incremental builds on it.
    Base,
    /// Dated after now (a clock that was wrong): always kept.
    Future,
    /// keep-last N.
    Last,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
    /// keep-within DUR.
    Within,
    /// The project has no retention rules: everything is kept.
    NoPolicy,
}

impl KeepRule {
    /// The rule in one or two words, as the backup list shows it ("newest", "daily",
    /// "kept by the policy's keep-last").
    pub fn word(self) -> &'static str {
        match self {
            KeepRule::Newest => "newest",
            KeepRule::Proven => "restore proven",
            KeepRule::Pinned => "pinned",
            KeepRule::Suspicious => "suspicious",
            KeepRule::Base => "base of an incremental",
            KeepRule::Future => "dated in the future",
            KeepRule::Last => "latest",
            KeepRule::Hourly => "hourly",
            KeepRule::Daily => "daily",
            KeepRule::Weekly => "weekly",
            KeepRule::Monthly => "monthly",
            KeepRule::Yearly => "yearly",
            KeepRule::Within => "recent",
            KeepRule::NoPolicy => "no retention rules",
        }
    }

    /// The reasons of one kept backup in words, the strongest first, each rule once:
    /// `newest · daily · weekly` (empty when `rules` is).
    pub fn summary(rules: &[KeepRule]) -> String {
        let mut sorted = rules.to_vec();
        sorted.sort();
        sorted.dedup();
        sorted
            .iter()
            .map(|r| r.word())
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// What the policy does with one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub keep: bool,
    /// Why it is kept (`last 1`, `daily 2026-11-20`, `weekly 2026-W47`, `monthly 2026-11`,
    /// `yearly 2026`, `hourly 2026-11-20 14h`, `within 30d`, `newest verified`); empty when removed.
    pub reasons: Vec<String>,
    /// The rule of each reason, in the same order.
    pub rules: Vec<KeepRule>,
}

impl Decision {
    /// Kept by `rule`, for `reason`.
    pub fn keep_for(&mut self, rule: KeepRule, reason: String) {
        self.keep = true;
        self.reasons.push(reason);
        self.rules.push(rule);
    }
}

#[derive(Clone, Copy)]
enum Period {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Period {
    fn name(self) -> &'static str {
        match self {
            Period::Hour => "hourly",
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
            Period::Year => "yearly",
        }
    }
    fn rule(self) -> KeepRule {
        match self {
            Period::Hour => KeepRule::Hourly,
            Period::Day => KeepRule::Daily,
            Period::Week => KeepRule::Weekly,
            Period::Month => KeepRule::Monthly,
            Period::Year => KeepRule::Yearly,
        }
    }
    fn key(self, c: &jiff::civil::DateTime) -> String {
        match self {
            Period::Hour => format!(
                "{:04}-{:02}-{:02} {:02}h",
                c.year(),
                c.month(),
                c.day(),
                c.hour()
            ),
            Period::Day => format!("{:04}-{:02}-{:02}", c.year(), c.month(), c.day()),
            Period::Week => {
                let w = c.date().iso_week_date();
                format!("{:04}-W{:02}", w.year(), w.week())
            }
            Period::Month => format!("{:04}-{:02}", c.year(), c.month()),
            Period::Year => format!("{:04}", c.year()),
        }
    }
}

/// Decide, for every backup, whether `policy` keeps it (and why). Returned newest first.
pub fn decide(
    policy: &RetentionPolicy,
    zone: &Zone,
    now: OffsetDateTime,
    candidates: &[Candidate],
) -> Vec<Decision> {
    let mut order: Vec<&Candidate> = candidates.iter().collect();
    order.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.id.cmp(&a.id))
    });
    let mut out: Vec<Decision> = order
        .iter()
        .map(|c| Decision {
            id: c.id.clone(),
            created_at: c.created_at,
            keep: false,
            reasons: Vec::new(),
            rules: Vec::new(),
        })
        .collect();
    if policy.is_empty() {
        for d in &mut out {
            d.keep_for(KeepRule::NoPolicy, "no retention rules".to_string());
        }
        return out;
    }
    let cutoff = policy.keep_within.map(|w| {
        let newest = order
            .iter()
            .map(|c| c.created_at)
            .find(|t| *t <= now)
            .unwrap_or(now);
        (w, w.before(zone, newest))
    });
    let mut last_left = policy.keep_last.unwrap_or(0);
    let mut last_n = 0u32;
    let mut periods: Vec<(Period, u32, Option<String>)> = [
        (Period::Hour, policy.keep_hourly),
        (Period::Day, policy.keep_daily),
        (Period::Week, policy.keep_weekly),
        (Period::Month, policy.keep_monthly),
        (Period::Year, policy.keep_yearly),
    ]
    .into_iter()
    .filter_map(|(p, n)| n.map(|n| (p, n, None)))
    .collect();
    let newest_verified = order
        .iter()
        .position(|c| c.status == BackupStatus::Verified)
        .map(|i| (i, "newest verified"))
        .or_else(|| {
            order
                .iter()
                .position(|c| c.good())
                .map(|i| (i, "newest successful"))
        });
    for (i, c) in order.iter().enumerate() {
        let d = &mut out[i];
        if c.created_at > now {
            d.keep_for(KeepRule::Future, "newer than now".to_string());
        }
        if let Some((w, cut)) = cutoff {
            if c.created_at >= cut && c.created_at <= now {
                d.keep_for(KeepRule::Within, format!("within {w}"));
            }
        }
        if c.good() {
            if last_left > 0 {
                last_left -= 1;
                last_n += 1;
                d.keep_for(KeepRule::Last, format!("last {last_n}"));
            }
            if !periods.is_empty() {
                let local = zone.local_time(c.created_at);
                for (period, left, last_key) in periods.iter_mut() {
                    if *left == 0 {
                        continue;
                    }
                    let key = period.key(&local);
                    if last_key.as_deref() != Some(key.as_str()) {
                        *left -= 1;
                        d.keep_for(period.rule(), format!("{} {key}", period.name()));
                        *last_key = Some(key);
                    }
                }
            }
        }
        if let Some((n, why)) = newest_verified {
            if n == i {
                d.keep_for(KeepRule::Newest, why.to_string());
            }
        }
        d.keep = !d.reasons.is_empty();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use time::Duration;

    fn cand(id: &str, at: OffsetDateTime) -> Candidate {
        Candidate {
            id: id.to_string(),
            created_at: at,
            status: BackupStatus::Unverified,
        }
    }
    fn kept(ds: &[Decision]) -> Vec<&str> {
        ds.iter()
            .filter(|d| d.keep)
            .map(|d| d.id.as_str())
            .collect()
    }
    fn reasons<'a>(ds: &'a [Decision], id: &str) -> Vec<&'a str> {
        ds.iter()
            .find(|d| d.id == id)
            .unwrap()
            .reasons
            .iter()
            .map(String::as_str)
            .collect()
    }
    const NOW: OffsetDateTime = datetime!(2030-01-01 0:00 UTC);

    /// restic's documentation: one backup every Sunday for 12 weeks; `--keep-daily 4` keeps the
    /// last four Sundays and removes the other eight.
    #[test]
    fn restic_docs_twelve_sundays_keep_daily_4() {
        let ids = [
            "0a1f9759", "46cfe4d5", "f6b1f037", "eb430a5d", "8cf1cb9a", "5d33b116", "b9553125",
            "e1a7b58b", "8f8018c0", "59403279", "dfee9fb4", "e1ae2f40",
        ];
        let first = datetime!(2019-09-01 11:00 UTC);
        let cs: Vec<Candidate> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| cand(id, first + Duration::weeks(i as i64)))
            .collect();
        let policy = RetentionPolicy {
            keep_daily: Some(4),
            ..Default::default()
        };
        let ds = decide(&policy, &Zone::utc(), NOW, &cs);
        assert_eq!(
            kept(&ds),
            vec!["e1ae2f40", "dfee9fb4", "59403279", "8f8018c0"]
        );
        assert_eq!(
            reasons(&ds, "e1ae2f40"),
            vec!["daily 2019-11-17", "newest successful"]
        );
        assert_eq!(reasons(&ds, "8f8018c0"), vec!["daily 2019-10-27"]);
        assert_eq!(ds.iter().filter(|d| !d.keep).count(), 8);
    }

    /// Each reason has its rule: the newest is kept as the newest and by each period that
    /// starts with it; an older one by the period it is the newest of; the summary names each
    /// rule once, the strongest first.
    #[test]
    fn each_reason_has_its_rule_and_the_summary_names_them_once() {
        let cs = vec![
            cand("today", datetime!(2029-12-28 10:00 UTC)),
            cand("today-early", datetime!(2029-12-28 08:00 UTC)),
            cand("yesterday", datetime!(2029-12-27 10:00 UTC)),
            cand("last-week", datetime!(2029-12-20 10:00 UTC)),
            cand("last-month", datetime!(2029-11-15 10:00 UTC)),
        ];
        let policy = RetentionPolicy {
            keep_last: Some(2),
            keep_daily: Some(2),
            keep_weekly: Some(2),
            keep_monthly: Some(2),
            ..Default::default()
        };
        let ds = decide(&policy, &Zone::utc(), NOW, &cs);
        let rules = |id: &str| ds.iter().find(|d| d.id == id).unwrap().rules.clone();
        use KeepRule::*;
        assert_eq!(rules("today"), [Last, Daily, Weekly, Monthly, Newest]);
        assert_eq!(
            KeepRule::summary(&rules("today")),
            "newest · latest · daily · weekly · monthly"
        );
        assert_eq!(rules("today-early"), [Last]);
        assert_eq!(rules("yesterday"), [Daily]);
        assert_eq!(KeepRule::summary(&rules("yesterday")), "daily");
        assert_eq!(rules("last-week"), [Weekly]);
        assert_eq!(rules("last-month"), [Monthly]);
        for d in &ds {
            assert_eq!(d.rules.len(), d.reasons.len(), "{d:?}");
            assert_eq!(d.keep, !d.rules.is_empty(), "{d:?}");
        }
        // Removed: no rule. A corrupt backup keeps no period; keep-within and a future date do.
        let mut cs = cs;
        cs.push(cand("old", datetime!(2029-01-01 10:00 UTC)));
        cs.push(cand("ahead", datetime!(2030-02-01 10:00 UTC)));
        cs[0].status = BackupStatus::Corrupt;
        let policy = RetentionPolicy {
            keep_monthly: Some(1),
            keep_within: Some("2d".parse().unwrap()),
            ..Default::default()
        };
        let ds = decide(&policy, &Zone::utc(), NOW, &cs);
        let rules = |id: &str| ds.iter().find(|d| d.id == id).unwrap().rules.clone();
        assert_eq!(rules("old"), []);
        // The newest good backup is the one dated ahead (the corrupt one never counts).
        assert_eq!(rules("ahead"), [Future, Monthly, Newest]);
        assert_eq!(
            KeepRule::summary(&rules("ahead")),
            "newest · dated in the future · monthly"
        );
        assert_eq!(rules("today"), [Within]);
        assert_eq!(rules("today-early"), [Within]);
        assert_eq!(KeepRule::summary(&rules("today-early")), "recent");
        let none = decide(&RetentionPolicy::default(), &Zone::utc(), NOW, &cs);
        assert!(none.iter().all(|d| d.rules == [NoPolicy]));
    }

    /// restic's documentation: a backup every day; `--keep-daily 7 --keep-weekly 5
    /// --keep-monthly 12 --keep-yearly 75` keeps the 7 newest dailies, 4 more weeklies (the
    /// dailies include one), 12 or 11 monthlies and 75 or 74 yearlies. Here over 80 years.
    #[test]
    fn restic_docs_daily_backups_gfs() {
        let start = datetime!(1950-01-01 12:00 UTC);
        let days = 80 * 365 + 20;
        let cs: Vec<Candidate> = (0..days)
            .map(|i| cand(&format!("{i:06}"), start + Duration::days(i)))
            .collect();
        let policy = RetentionPolicy {
            keep_daily: Some(7),
            keep_weekly: Some(5),
            keep_monthly: Some(12),
            keep_yearly: Some(75),
            ..Default::default()
        };
        let ds = decide(&policy, &Zone::utc(), NOW, &cs);
        let count = |p: &str| {
            ds.iter()
                .filter(|d| d.reasons.iter().any(|r| r.starts_with(p)))
                .count()
        };
        assert_eq!(count("daily "), 7);
        assert_eq!(count("weekly "), 5);
        assert_eq!(count("monthly "), 12);
        assert_eq!(count("yearly "), 75);
        // The union of the rules, computed another way: group by period, take each group's
        // newest, keep the N newest groups. restic's "7 + 4 + 12 or 11 + 75 or 74" is this.
        let mut oracle = std::collections::BTreeSet::new();
        let key = |t: OffsetDateTime, p: &str| match p {
            "d" => t.date().to_string(),
            "w" => {
                let (y, w, _) = t.date().to_iso_week_date();
                format!("{y}-{w}")
            }
            "m" => format!("{}-{:02}", t.year(), t.month() as u8),
            _ => t.year().to_string(),
        };
        for (p, n) in [("d", 7), ("w", 5), ("m", 12), ("y", 75)] {
            let mut groups: std::collections::BTreeMap<String, &Candidate> = Default::default();
            for c in &cs {
                let e = groups.entry(key(c.created_at, p)).or_insert(c);
                if c.created_at > e.created_at {
                    *e = c;
                }
            }
            let mut newest: Vec<&Candidate> = groups.into_values().collect();
            newest.sort_by_key(|c| std::cmp::Reverse(c.created_at));
            oracle.extend(newest.iter().take(n).map(|c| c.id.as_str()));
        }
        let mut got = kept(&ds);
        got.sort();
        assert_eq!(got, oracle.into_iter().collect::<Vec<_>>());
        // Every kept one is the last day of its period (a Sunday for weeks).
        for d in ds
            .iter()
            .filter(|d| d.reasons.iter().any(|r| r.starts_with("weekly")))
        {
            let next = d.created_at + Duration::days(1);
            let is_newest = d.created_at == cs.last().unwrap().created_at;
            assert!(
                is_newest || next.weekday() == time::Weekday::Monday,
                "{d:?}"
            );
        }
    }

    #[test]
    fn keep_last_within_and_reasons() {
        let base = datetime!(2026-11-20 14:30 UTC);
        let cs: Vec<Candidate> = (0..10)
            .map(|i| cand(&format!("b{i}"), base - Duration::days(i)))
            .collect();
        let policy = RetentionPolicy {
            keep_last: Some(3),
            keep_within: Some("5d".parse().unwrap()),
            keep_hourly: Some(1),
            keep_weekly: Some(1),
            keep_monthly: Some(1),
            keep_yearly: Some(1),
            ..Default::default()
        };
        let ds = decide(&policy, &Zone::utc(), NOW, &cs);
        assert_eq!(
            reasons(&ds, "b0"),
            vec![
                "within 5d",
                "last 1",
                "hourly 2026-11-20 14h",
                "weekly 2026-W47",
                "monthly 2026-11",
                "yearly 2026",
                "newest successful"
            ]
        );
        assert_eq!(reasons(&ds, "b2"), vec!["within 5d", "last 3"]);
        assert_eq!(reasons(&ds, "b5"), vec!["within 5d"]);
        assert!(reasons(&ds, "b6").is_empty());
        assert_eq!(kept(&ds), vec!["b0", "b1", "b2", "b3", "b4", "b5"]);
    }

    #[test]
    fn empty_policy_keeps_everything_and_counts_must_be_positive() {
        let cs = vec![cand("a", NOW - Duration::days(400)), cand("b", NOW)];
        let ds = decide(&RetentionPolicy::default(), &Zone::utc(), NOW, &cs);
        assert_eq!(kept(&ds), vec!["b", "a"]);
        let e = RetentionPolicy {
            keep_daily: Some(0),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
        assert!(e.message().contains("--keep-daily"));
    }

    #[test]
    fn corrupt_backups_never_count_and_the_newest_verified_is_kept() {
        let d = |h: i64| datetime!(2026-11-20 00:00 UTC) + Duration::hours(h);
        let mut cs = vec![
            cand("day20-late-corrupt", d(20)),
            cand("day20-early", d(8)),
            cand("day19", d(-5)),
            cand("day18-verified", d(-30)),
            cand("day17", d(-50)),
        ];
        cs[0].status = BackupStatus::Corrupt;
        cs[3].status = BackupStatus::Verified;
        let policy = RetentionPolicy {
            keep_daily: Some(1),
            ..Default::default()
        };
        let ds = decide(&policy, &Zone::utc(), NOW, &cs);
        // The corrupt one is not the day's backup: the good one of that day is.
        assert_eq!(kept(&ds), vec!["day20-early", "day18-verified"]);
        assert_eq!(reasons(&ds, "day18-verified"), vec!["newest verified"]);
        // keep-last skips corrupt and missing backups too.
        cs[1].status = BackupStatus::Missing;
        let ds = decide(
            &RetentionPolicy {
                keep_last: Some(1),
                ..Default::default()
            },
            &Zone::utc(),
            NOW,
            &cs,
        );
        assert_eq!(kept(&ds), vec!["day19", "day18-verified"]);
    }

    #[test]
    fn periods_are_in_the_policys_zone() {
        // 23:30 UTC on Nov 20 is Nov 21 in Berlin and Nov 20 in New York.
        let cs = vec![
            cand("late", datetime!(2026-11-20 23:30 UTC)),
            cand("early", datetime!(2026-11-20 22:30 UTC)),
        ];
        let policy = RetentionPolicy {
            keep_daily: Some(2),
            ..Default::default()
        };
        let berlin = decide(&policy, &Zone::named("Europe/Berlin").unwrap(), NOW, &cs);
        assert_eq!(kept(&berlin), vec!["late", "early"]);
        assert_eq!(reasons(&berlin, "late")[0], "daily 2026-11-21");
        let ny = decide(&policy, &Zone::named("America/New_York").unwrap(), NOW, &cs);
        assert_eq!(kept(&ny), vec!["late"]);
        // The repeated hour on fall-back day: 01:30 EDT and 01:30 EST are one hour "01h".
        let cs = vec![
            cand("est", datetime!(2026-11-01 06:30 UTC)),
            cand("edt", datetime!(2026-11-01 05:30 UTC)),
        ];
        let hourly = RetentionPolicy {
            keep_hourly: Some(5),
            ..Default::default()
        };
        let ds = decide(&hourly, &Zone::named("America/New_York").unwrap(), NOW, &cs);
        assert_eq!(kept(&ds), vec!["est"]);
        assert_eq!(reasons(&ds, "est")[0], "hourly 2026-11-01 01h");
        // ISO weeks: 2026-12-31 (Thursday) is in 2026-W53; 2027-01-04 starts 2027-W01.
        let cs = vec![
            cand("a", datetime!(2027-01-04 12:00 UTC)),
            cand("b", datetime!(2027-01-03 12:00 UTC)),
        ];
        let weekly = RetentionPolicy {
            keep_weekly: Some(2),
            ..Default::default()
        };
        let ds = decide(&weekly, &Zone::utc(), NOW, &cs);
        assert_eq!(reasons(&ds, "a")[0], "weekly 2027-W01");
        assert_eq!(reasons(&ds, "b")[0], "weekly 2026-W53");
    }

    #[test]
    fn keep_within_counts_back_from_the_newest_backup_on_the_calendar() {
        let newest = datetime!(2026-03-31 12:00 UTC);
        let cs = vec![
            cand("n", newest),
            cand("feb28", datetime!(2026-02-28 12:00 UTC)),
            cand("feb27", datetime!(2026-02-27 12:00 UTC)),
        ];
        let p = RetentionPolicy {
            keep_within: Some("1m".parse().unwrap()),
            ..Default::default()
        };
        // A year later nothing has expired: "within" is measured from the newest backup.
        let ds = decide(&p, &Zone::utc(), newest + Duration::days(365), &cs);
        assert_eq!(kept(&ds), vec!["n", "feb28"]);
        assert_eq!(reasons(&ds, "feb28"), vec!["within 1m"]);
        for (text, back) in [
            ("36h", Duration::hours(36)),
            ("30d", Duration::days(30)),
            ("8w", Duration::weeks(8)),
        ] {
            let w: Within = text.parse().unwrap();
            assert_eq!(w.to_string(), text);
            assert_eq!(w.before(&Zone::utc(), newest), newest - back);
        }
        assert_eq!("1y6m".parse::<Within>().unwrap().to_string(), "1y6m");
        for bad in ["", "30", "d", "3x", "-1d", "0d", "1.5d"] {
            let e = bad.parse::<Within>().unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad}");
        }
    }

    /// Not a timed test: 10,000 backups decided in one sort and one pass.
    #[test]
    fn ten_thousand_backups_in_one_pass() {
        let start = datetime!(2000-01-01 0:00 UTC);
        let cs: Vec<Candidate> = (0..10_000)
            .map(|i| cand(&format!("{i:05}"), start + Duration::hours(7 * i)))
            .collect();
        let p = RetentionPolicy {
            keep_last: Some(5),
            keep_hourly: Some(24),
            keep_daily: Some(7),
            keep_weekly: Some(4),
            keep_monthly: Some(12),
            keep_yearly: Some(10),
            keep_within: Some("30d".parse().unwrap()),
        };
        let t = std::time::Instant::now();
        let ds = decide(&p, &Zone::named("Europe/Berlin").unwrap(), NOW, &cs);
        eprintln!("retention over 10,000 backups: {:?}", t.elapsed());
        assert_eq!(ds.len(), 10_000);
        assert!(kept(&ds).len() < 200);
    }
}
