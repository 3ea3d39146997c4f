//! The retention flags (`--keep-last`, `--keep-daily`, …, `--keep-within`) as one group, for every
//! command that takes a retention policy: `retention set`, `destination add` and `schedule
//! add/set --name` (each had its own copy of the seven flags and of the policy built from them).
use clap::Args;
use offsite_core::schedule::{RetentionPolicy, Within};
use offsite_core::Result;

#[derive(Args, Debug, Default, Clone)]
pub struct KeepArgs {
    /// Keep the N newest backups (at a destination: copies).
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest of each of the N newest hours that have one.
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<u32>,
    /// … of each of the N newest days.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// … of each of the N newest ISO weeks.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// … of each of the N newest months.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// … of each of the N newest years.
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<u32>,
    /// Keep every backup within DUR of the newest one: 36h, 30d, 8w, 6m, 1y (or 1y6m).
    #[arg(long, value_name = "DUR")]
    pub keep_within: Option<String>,
}

impl KeepArgs {
    /// Whether any of the flags was given.
    pub fn given(&self) -> bool {
        self.keep_last.is_some()
            || self.keep_hourly.is_some()
            || self.keep_daily.is_some()
            || self.keep_weekly.is_some()
            || self.keep_monthly.is_some()
            || self.keep_yearly.is_some()
            || self.keep_within.is_some()
    }

    /// The policy they say (no flag: keep everything); a `--keep-within` that is not a
    /// duration is refused.
    pub fn policy(&self) -> Result<RetentionPolicy> {
        Ok(RetentionPolicy {
            keep_last: self.keep_last,
            keep_hourly: self.keep_hourly,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_yearly: self.keep_yearly,
            keep_within: self
                .keep_within
                .as_deref()
                .map(str::parse::<Within>)
                .transpose()?,
        })
    }
}
