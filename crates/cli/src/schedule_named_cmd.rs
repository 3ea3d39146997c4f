//! The flags of a named backup schedule's plan (issue 47: several schedules per project):
//! `offsite schedule add|set PROJECT --name N [--type T] [--destinations a,b]
//! [--keep-… N] [--schema …|--exclude-table-data …]`. The engine checks and saves them
//! (`offsite_core::ops::NamedSchedule`); here they are only collected.

use crate::keep_args::KeepArgs;
use crate::selection_cmd::SelectionArgs;
use clap::Args;
use offsite_core::catalog::ScheduleType;
use offsite_core::ops::NamedSchedule;
use offsite_core::schedule::ScheduleSpec;
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
    /// Its own retention, pruning only its backups.
    #[command(flatten)]
    pub keep: KeepArgs,
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
            || self.keep.given()
            || self.project_retention
            || self.selection.given()
            || self.project_selection
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
        if self.project_retention && self.keep.given() {
            return Err(Error::invalid(
                "--project-retention and --keep-… contradict each other",
            ));
        }
        if self.project_selection && self.selection.given() {
            return Err(Error::invalid(
                "--project-selection and a selection flag contradict each other",
            ));
        }
        let retention = self.keep.given().then(|| self.keep.policy()).transpose()?;
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
            no_tenant: false,
        })
    }
}
