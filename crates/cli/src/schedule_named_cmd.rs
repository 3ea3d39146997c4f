//! The flags of a named backup schedule's plan (issue 47: several schedules per project):
//! `offsite schedule add|set PROJECT --name N [--type T] [--destinations a,b]
//! [--keep-… N] [--schema …|--exclude-table-data …]`. The engine checks and saves them
//! (`offsite_core::ops::NamedSchedule`); here they are only collected.

use crate::selection_cmd::SelectionArgs;
use clap::Args;
use offsite_core::catalog::ScheduleType;
use offsite_core::ops::NamedSchedule;
use offsite_core::schedule::{RetentionPolicy, ScheduleSpec, Within};
use offsite_core::{Error, Result};

/// What a named backup schedule makes beyond when it runs.
#[derive(Args, Debug, Default, Clone)]
pub struct PlanArgs {
    /// What its backups hold: database, full, storage, config, or tenant (a database backup,
    /// then one archive per tenant of --tenant). Default: the project's backup type.
    #[arg(long = "type", value_name = "TYPE")]
    pub backup_type: Option<String>,
    /// Copy its backups only to these destinations (names, comma-separated). Default: every
    /// destination of the project.
    #[arg(long, value_delimiter = ',', value_name = "DEST,…")]
    pub destinations: Option<Vec<String>>,
    /// Back to every destination of the project.
    #[arg(long, conflicts_with = "destinations")]
    pub all_destinations: bool,
    /// Its own retention, pruning only its backups: keep its N newest.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// … the newest of each of N hours.
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<u32>,
    /// … the newest of each of N days.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// … the newest of each of N ISO weeks.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// … the newest of each of N months.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// … the newest of each of N years.
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<u32>,
    /// … every backup within DUR of its newest: 36h, 30d, 8w, 6m, 1y.
    #[arg(long, value_name = "DUR")]
    pub keep_within: Option<String>,
    /// Back to the project's retention policy (`offsite retention set`).
    #[arg(long)]
    pub project_retention: bool,
    /// Its own selection of schemas and tables (default: the project's).
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Back to the project's selection (`offsite project set-selection`).
    #[arg(long)]
    pub project_selection: bool,
}

impl PlanArgs {
    /// Whether any flag was given.
    pub fn given(&self) -> bool {
        self.backup_type.is_some()
            || self.destinations.is_some()
            || self.all_destinations
            || self.retention_given()
            || self.project_retention
            || self.selection.given()
            || self.project_selection
    }

    fn retention_given(&self) -> bool {
        self.keep_last.is_some()
            || self.keep_hourly.is_some()
            || self.keep_daily.is_some()
            || self.keep_weekly.is_some()
            || self.keep_monthly.is_some()
            || self.keep_yearly.is_some()
            || self.keep_within.is_some()
    }

    /// The request these flags (and the schedule's own) make.
    pub fn request(
        &self,
        project: String,
        name: String,
        spec: Option<ScheduleSpec>,
        time_zone: Option<String>,
        tenant: Option<String>,
    ) -> Result<NamedSchedule> {
        if self.project_retention && self.retention_given() {
            return Err(Error::invalid(
                "--project-retention and --keep-… contradict each other",
            ));
        }
        if self.project_selection && self.selection.given() {
            return Err(Error::invalid(
                "--project-selection and a selection flag contradict each other",
            ));
        }
        let retention = self
            .retention_given()
            .then(|| -> Result<RetentionPolicy> {
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
            })
            .transpose()?;
        Ok(NamedSchedule {
            project,
            name,
            spec,
            time_zone,
            backup_type: self
                .backup_type
                .as_deref()
                .map(str::parse::<ScheduleType>)
                .transpose()?,
            tenant,
            selection: self.selection.for_run()?,
            destinations: self.destinations.clone(),
            use_all_destinations: self.all_destinations,
            retention,
            use_project_retention: self.project_retention,
            use_project_selection: self.project_selection,
        })
    }
}
