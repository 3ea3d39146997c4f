//! A schedule said in words, for the protection checklist's "Scheduled" line and `offsite
//! status` ("Backs up every minute.", "Backs up daily at 02:30."): never the text form
//! (`cron * * * * *`, `daily 02:30`), which stays what the catalog stores and the command line
//! reads. A cron expression is said in words when it is one of the common shapes (every N
//! minutes, hourly, daily, weekly on some days at a time); any other is named as a cron
//! schedule with its text.

use super::spec::{ScheduleSpec, TimeOfDay, Weekdays};

const DAY_WORDS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// "Monday", "Monday and Thursday", "Monday, Wednesday and Friday".
fn and_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn days_words(d: Weekdays) -> String {
    let names: Vec<&str> = d.days().map(|i| DAY_WORDS[i]).collect();
    if names.len() == 7 {
        return "every day".to_string();
    }
    if names == DAY_WORDS[..5] {
        return "on weekdays".to_string();
    }
    format!("weekly on {}", and_list(&names))
}

impl ScheduleSpec {
    /// When it runs, in words, to follow "Backs up " ("every minute", "daily at 02:30",
    /// "every 6 hours", "weekly on Monday at 02:30", "monthly on day 15 at 02:30").
    pub fn words(&self) -> String {
        match self {
            ScheduleSpec::EveryHours(1) => "every hour".to_string(),
            ScheduleSpec::EveryHours(24) => "daily at 00:00".to_string(),
            ScheduleSpec::EveryHours(n) => format!("every {n} hours"),
            ScheduleSpec::Daily(t) => format!("daily at {t}"),
            ScheduleSpec::Weekly(d, t) => format!("{} at {t}", days_words(*d)),
            ScheduleSpec::Monthly(d, t) => format!("monthly on day {d} at {t}"),
            ScheduleSpec::Cron(e) => {
                cron_words(&e.text).unwrap_or_else(|| format!("on the cron schedule {}", e.text))
            }
        }
    }
}

/// The words of a schedule's text form (`daily 02:30`); a text that does not parse is shown as
/// it is (it never should: the catalog keeps only parsed schedules).
pub fn schedule_words(text: &str) -> String {
    text.parse::<ScheduleSpec>()
        .map(|s| s.words())
        .unwrap_or_else(|_| text.to_string())
}

fn plain_number(s: &str, lo: u32, hi: u32) -> Option<u32> {
    if s.is_empty() || s.len() > 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| (lo..=hi).contains(n))
}

/// A day-of-week field of single days (`1`, `1,4`, `1-5`, `mon`, `mon,thu`; 0 and 7 are Sunday).
fn cron_days(field: &str) -> Option<Weekdays> {
    let mut names = Vec::new();
    for part in field.split(',') {
        let day = |s: &str| -> Option<usize> {
            match plain_number(s, 0, 7) {
                Some(n) => Some(((n + 6) % 7) as usize),
                None => {
                    let lower = s.to_ascii_lowercase();
                    DAY_WORDS
                        .iter()
                        .position(|d| d[..3].eq_ignore_ascii_case(&lower))
                }
            }
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                if a > b {
                    return None;
                }
                names.extend((a..=b).map(|i| &DAY_WORDS[i][..3]));
            }
            None => names.push(&DAY_WORDS[day(part)?][..3]),
        }
    }
    Weekdays::parse(&names.join(",")).ok()
}

/// The common shapes of a cron expression in words; `None` for any other.
fn cron_words(text: &str) -> Option<String> {
    let f: Vec<&str> = text.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = f.as_slice() else {
        return None;
    };
    if (*dom, *month) != ("*", "*") {
        return None;
    }
    let every_minutes = |m: &str| -> Option<u32> {
        if m == "*" {
            return Some(1);
        }
        m.strip_prefix("*/").and_then(|n| plain_number(n, 1, 59))
    };
    match (*hour, *dow) {
        ("*", "*") => {
            if let Some(n) = every_minutes(minute) {
                return Some(if n == 1 {
                    "every minute".to_string()
                } else {
                    format!("every {n} minutes")
                });
            }
            match plain_number(minute, 0, 59)? {
                0 => Some("every hour".to_string()),
                m => Some(format!("every hour at {m} minutes past")),
            }
        }
        (h, days) => {
            let t = TimeOfDay {
                hour: plain_number(h, 0, 23)? as i8,
                minute: plain_number(minute, 0, 59)? as i8,
            };
            if days == "*" {
                return Some(format!("daily at {t}"));
            }
            Some(format!("{} at {t}", days_words(cron_days(days)?)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> String {
        schedule_words(text)
    }

    #[test]
    fn every_kind_of_schedule_is_said_in_words() {
        assert_eq!(words("every 1h"), "every hour");
        assert_eq!(words("every 6h"), "every 6 hours");
        assert_eq!(words("daily 02:30"), "daily at 02:30");
        assert_eq!(words("weekly mon 02:30"), "weekly on Monday at 02:30");
        assert_eq!(
            words("weekly mon,thu 02:30"),
            "weekly on Monday and Thursday at 02:30"
        );
        assert_eq!(
            words("weekly mon,tue,wed,thu,fri 02:30"),
            "on weekdays at 02:30"
        );
        assert_eq!(words("monthly 15 02:30"), "monthly on day 15 at 02:30");
    }

    #[test]
    fn common_cron_shapes_are_said_in_words_and_others_named() {
        assert_eq!(words("cron * * * * *"), "every minute");
        assert_eq!(words("cron */5 * * * *"), "every 5 minutes");
        assert_eq!(words("cron 0 * * * *"), "every hour");
        assert_eq!(words("cron 15 * * * *"), "every hour at 15 minutes past");
        assert_eq!(words("cron 30 2 * * *"), "daily at 02:30");
        assert_eq!(words("cron 30 2 * * 1"), "weekly on Monday at 02:30");
        assert_eq!(words("cron 30 2 * * 0"), "weekly on Sunday at 02:30");
        assert_eq!(words("cron 30 2 * * 1-5"), "on weekdays at 02:30");
        assert_eq!(
            words("cron 0 3 * * mon,thu"),
            "weekly on Monday and Thursday at 03:00"
        );
        // Shapes without plain words keep their text, named as cron.
        assert_eq!(words("cron 0 3 1 * *"), "on the cron schedule 0 3 1 * *");
        assert_eq!(
            words("cron 0 */2 * * *"),
            "on the cron schedule 0 */2 * * *"
        );
        assert_eq!(
            words("cron 0 3 */2 * *"),
            "on the cron schedule 0 3 */2 * *"
        );
        assert_eq!(
            words("cron 0 3 * * 1,3-5"),
            "weekly on Monday, Wednesday, Thursday and Friday at 03:00"
        );
        for text in ["cron * * * * *", "daily 02:30", "every 6h"] {
            assert!(!words(text).contains("cron *") && !words(text).starts_with("daily 0"));
        }
    }
}
