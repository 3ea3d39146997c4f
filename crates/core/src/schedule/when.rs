//! A schedule's spec as a typed value, the form the window sends and reads over IPC (the
//! editor's fields: times as `HH:MM`, days as `mon`…`sun`). The engine validates it
//! ([`ScheduleWhen::spec`]: bad input is an `invalid_input` error with a hint) and shows every
//! saved or previewed spec this way too ([`ScheduleWhen::of`]), so no front end parses the text
//! form (`daily 02:30`) again.

use super::spec::ScheduleSpec;
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// When a schedule runs, as the editor's fields hold it (times are `HH:MM`, 24-hour clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ScheduleWhen {
    /// Every N hours from midnight (1 to 24).
    Every {
        hours: u32,
    },
    Daily {
        time: String,
    },
    /// On the given days (`mon`…`sun`) at a time.
    Weekly {
        days: Vec<String>,
        time: String,
    },
    /// On day D (1 to 31; shorter months: their last day) at a time.
    Monthly {
        day: u32,
        time: String,
    },
    /// A 5-field cron expression.
    Cron {
        expr: String,
    },
}

impl ScheduleWhen {
    /// The engine's spec; bad input is an `invalid_input` error with a hint.
    pub fn spec(&self) -> Result<ScheduleSpec> {
        match self {
            ScheduleWhen::Every { hours } => ScheduleSpec::every(&format!("{hours}h")),
            ScheduleWhen::Daily { time } => ScheduleSpec::daily(time),
            ScheduleWhen::Weekly { days, time } => ScheduleSpec::weekly(&days.join(","), time),
            ScheduleWhen::Monthly { day, time } => ScheduleSpec::monthly(&day.to_string(), time),
            ScheduleWhen::Cron { expr } => ScheduleSpec::cron(expr),
        }
    }

    /// A (valid) spec as the editor's fields.
    pub fn of(spec: &ScheduleSpec) -> ScheduleWhen {
        match spec {
            ScheduleSpec::EveryHours(n) => ScheduleWhen::Every {
                hours: u32::from(*n),
            },
            ScheduleSpec::Daily(t) => ScheduleWhen::Daily {
                time: t.to_string(),
            },
            ScheduleSpec::Weekly(d, t) => ScheduleWhen::Weekly {
                days: d.to_string().split(',').map(str::to_string).collect(),
                time: t.to_string(),
            },
            ScheduleSpec::Monthly(d, t) => ScheduleWhen::Monthly {
                day: u32::from(*d),
                time: t.to_string(),
            },
            ScheduleSpec::Cron(e) => ScheduleWhen::Cron {
                expr: e.text.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn every_spec_reads_back_as_the_fields_it_was_made_from() {
        for text in [
            "every 6h",
            "daily 02:30",
            "weekly mon,thu 02:30",
            "monthly 31 23:59",
            "cron 0 3 * * MON-FRI",
        ] {
            let spec: ScheduleSpec = text.parse().unwrap();
            let when = ScheduleWhen::of(&spec);
            assert_eq!(when.spec().unwrap(), spec, "{text}");
        }
        let when = ScheduleWhen::of(&"weekly mon,thu 02:30".parse().unwrap());
        assert_eq!(
            serde_json::to_value(&when).unwrap(),
            serde_json::json!({"kind": "weekly", "days": ["mon", "thu"], "time": "02:30"})
        );
        let bad = ScheduleWhen::Daily {
            time: "25:00".into(),
        }
        .spec()
        .unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::InvalidInput);
        assert!(bad.hint().is_some());
    }
}
