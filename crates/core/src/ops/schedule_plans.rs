//! Several backup schedules per project (issue 47, item 2): add, edit and remove a named
//! schedule with its own type, selection, destinations and retention ([`SchedulePlan`]); what a
//! schedule view says about them (whose retention, which destinations by name); and each
//! schedule's overdue state. The single-schedule calls (`ops::schedule::set`) edit the schedule
//! named `default`.

use super::schedule::{view, ScheduleView};
use crate::catalog::{
    parse_timestamp, NewSchedule, Project, ScheduleKind, SchedulePlan, ScheduleRecord,
    ScheduleType, DEFAULT_SCHEDULE,
};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::schedule::{self, RetentionPolicy, Zone};
use crate::selection::BackupSelection;
use std::collections::HashMap;
use time::OffsetDateTime;

/// The longest schedule name.
pub const MAX_SCHEDULE_NAME: usize = 40;

/// A named backup schedule to add or change. `None` plan fields: when adding, the project's;
/// when changing, left as they are.
#[derive(Debug, Clone, Default)]
pub struct NamedSchedule {
    pub project: String,
    pub name: String,
    /// When it runs (`None` when changing: as it is; required when adding).
    pub spec: Option<crate::schedule::ScheduleSpec>,
    /// IANA zone (`None`: as it is, or this computer's for a new one).
    pub time_zone: Option<String>,
    pub backup_type: Option<ScheduleType>,
    /// The tenant a `tenant` schedule splits each backup by.
    pub tenant: Option<String>,
    pub selection: Option<BackupSelection>,
    /// Destination names (`Some(empty)` is refused: use `use_all_destinations`).
    pub destinations: Option<Vec<String>>,
    /// Back to every destination of the project.
    pub use_all_destinations: bool,
    pub retention: Option<RetentionPolicy>,
    /// Back to the project's retention policy.
    pub use_project_retention: bool,
    /// Back to the project's selection.
    pub use_project_selection: bool,
    /// No tenant split any more (a `tenant` schedule refuses it).
    pub no_tenant: bool,
}

/// A named backup schedule as the app's editor holds it: every part said, `None` being the
/// project's (its type, its selection, every destination, its retention policy). Saving one
/// replaces the schedule's plan whole ([`ScheduleEdit::request`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ScheduleEdit {
    pub name: String,
    pub when: crate::schedule::ScheduleWhen,
    /// IANA zone (`None`: as it is, or this computer's for a new one).
    pub time_zone: Option<String>,
    pub backup_type: Option<ScheduleType>,
    /// The tenant of a `tenant` schedule (other types: none).
    pub tenant: Option<String>,
    pub selection: Option<BackupSelection>,
    /// Destination names (`None`: every destination of the project).
    pub destinations: Option<Vec<String>>,
    /// Its own retention (`None`: the project's policy).
    pub retention: Option<RetentionPolicy>,
}

impl ScheduleEdit {
    /// The request that makes project `project`'s schedule exactly this (the time checked here,
    /// everything else by [`save`]).
    pub fn request(self, project: &str) -> Result<NamedSchedule> {
        let spec = self.when.spec()?;
        let tenant = self.tenant.filter(|t| !t.trim().is_empty());
        Ok(NamedSchedule {
            project: project.to_string(),
            name: self.name,
            spec: Some(spec),
            time_zone: self.time_zone,
            backup_type: self.backup_type,
            no_tenant: tenant.is_none(),
            tenant,
            use_project_selection: self.selection.is_none(),
            selection: self.selection,
            use_all_destinations: self.destinations.is_none(),
            destinations: self.destinations,
            use_project_retention: self.retention.is_none(),
            retention: self.retention,
        })
    }
}

/// Whether `name` may name a schedule: 1–40 of `a-z 0-9 - _`, starting with a letter or digit.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_SCHEDULE_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("{name:?} cannot name a schedule")).with_hint(format!(
            "use 1 to {MAX_SCHEDULE_NAME} lower-case letters, digits, - and _ (hourly, monthly-cold)"
        )))
    }
}

/// The destination ids of `names` among the project's destinations (an unknown name refuses).
async fn destination_ids(
    engine: &Engine,
    project: &Project,
    names: &[String],
) -> Result<Vec<String>> {
    if names.is_empty() {
        return Err(Error::invalid("a schedule's list of destinations is empty")
            .with_hint("name at least one destination, or leave --destinations out for all"));
    }
    let all = engine.catalog.destinations(&project.id).await?;
    let mut ids = Vec::new();
    for n in names {
        let d = all.iter().find(|d| &d.name == n).ok_or_else(|| {
            Error::not_found(format!("{} has no destination named {n:?}", project.name))
                .with_hint("see its destinations with `offsite destination list PROJECT`")
        })?;
        if !ids.contains(&d.id) {
            ids.push(d.id.clone());
        }
    }
    Ok(ids)
}

/// The plan `req` asks for on top of `old` (a new schedule: the project's everywhere).
async fn merged_plan(
    engine: &Engine,
    project: &Project,
    req: &NamedSchedule,
    old: SchedulePlan,
) -> Result<SchedulePlan> {
    let mut plan = old;
    if req.backup_type.is_some() {
        plan.backup_type = req.backup_type;
    }
    if req.use_project_selection {
        plan.selection = None;
    }
    if let Some(s) = &req.selection {
        s.validate()?;
        plan.selection = Some(s.clone());
    }
    if req.use_all_destinations {
        plan.destinations = None;
    }
    if let Some(names) = &req.destinations {
        plan.destinations = Some(destination_ids(engine, project, names).await?);
    }
    if req.use_project_retention {
        plan.retention = None;
    }
    if let Some(r) = &req.retention {
        if r.is_empty() {
            return Err(
                Error::invalid("a schedule's own retention needs at least one rule")
                    .with_hint("give --keep-daily 7 (or another rule), or --project-retention"),
            );
        }
        r.validate()?;
        plan.retention = Some(r.clone());
    }
    if plan.selection.is_some()
        && matches!(
            plan.backup_type,
            Some(ScheduleType::Storage | ScheduleType::Config)
        )
    {
        return Err(Error::invalid(
            "a storage or config schedule holds no database: a selection does not apply",
        ));
    }
    Ok(plan)
}

/// How [`save`] treats a schedule of that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaveMode {
    /// The name must be free.
    Add,
    /// The schedule must exist.
    Change,
    /// Either.
    Upsert,
}

/// Add or change a named backup schedule ([`SaveMode`]); returns it with its next 5 runs.
/// Nothing is saved when anything is refused.
pub(crate) async fn save(
    engine: &Engine,
    req: NamedSchedule,
    mode: SaveMode,
) -> Result<ScheduleView> {
    check_name(&req.name)?;
    let project = engine.catalog.project(&req.project).await?;
    let old = engine
        .catalog
        .schedule(&project.id, ScheduleKind::Backup, &req.name)
        .await?;
    match (&old, mode) {
        (Some(_), SaveMode::Add) => {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "{} has a schedule named {:?} already",
                    project.name, req.name
                ),
            )
            .with_hint("change it with `offsite schedule set PROJECT --name NAME …`"))
        }
        (None, SaveMode::Change) => {
            return Err(Error::not_found(format!(
                "{} has no schedule named {:?}",
                project.name, req.name
            ))
            .with_hint("add it with `offsite schedule add PROJECT --name NAME …`"))
        }
        _ => {}
    }
    let old_plan = old
        .as_ref()
        .map(ScheduleRecord::plan)
        .transpose()?
        .unwrap_or_default();
    let plan = merged_plan(engine, &project, &req, old_plan).await?;
    let tenant = match (&req.tenant, &old) {
        (Some(t), _) => Some(t.clone()),
        (None, _) if req.no_tenant => None,
        (None, Some(o)) => o.tenant.clone(),
        (None, None) => None,
    };
    // A tenant's archives are split from a database backup: the schedule's type is `tenant`
    // (or `database`, or the project's default, as the `default` schedule's `--tenant` was).
    let takes_tenant = matches!(
        plan.backup_type,
        None | Some(ScheduleType::Tenant | ScheduleType::Database)
    );
    let tenant = tenant.filter(|_| takes_tenant);
    match (plan.backup_type, &tenant) {
        (Some(ScheduleType::Tenant), None) => {
            return Err(Error::invalid("a tenant schedule needs --tenant NAME")
                .with_hint("see the project's tenants with `offsite tenant list PROJECT`"))
        }
        (_, None) if req.tenant.is_some() => {
            return Err(Error::invalid(
                "--tenant goes with a database backup: --type tenant (or database)",
            ))
        }
        (_, Some(t)) => {
            engine.catalog.tenant(&project.id, t).await?;
        }
        _ => {}
    }
    let spec = match (&req.spec, &old) {
        (Some(s), _) => s.to_string(),
        (None, Some(o)) => o.spec.clone(),
        (None, None) => {
            return Err(Error::invalid("a new schedule needs a time")
                .with_hint("give --every 6h, --daily HH:MM, --weekly, --monthly or --cron"))
        }
    };
    let zone = match (&req.time_zone, &old) {
        (Some(z), _) => Zone::named(z)?,
        (None, Some(o)) => Zone::named(&o.time_zone)?,
        (None, None) => Zone::local(),
    };
    engine
        .catalog
        .set_schedule(&NewSchedule {
            project_id: project.id.clone(),
            kind: ScheduleKind::Backup,
            name: req.name.clone(),
            spec,
            time_zone: zone.name().to_string(),
            verify_newest: None,
            plan: Some(plan),
        })
        .await?;
    engine
        .catalog
        .set_schedule_tenant(
            &project.id,
            &req.name,
            tenant.as_deref(),
            old.as_ref().and_then(|o| o.tenant_keep_last),
        )
        .await?;
    let record = engine
        .catalog
        .schedule(&project.id, ScheduleKind::Backup, &req.name)
        .await?
        .ok_or_else(|| Error::internal("a schedule just saved is not there"))?;
    described(engine, &project, &record, engine.clock.now()).await
}

/// Remove project `project`'s backup schedule `name`; whether there was one. Its backups stay
/// (the project's retention policy prunes them from then on).
pub(crate) async fn remove(engine: &Engine, project: &str, name: &str) -> Result<bool> {
    let p = engine.catalog.project(project).await?;
    engine
        .catalog
        .remove_schedule(&p.id, ScheduleKind::Backup, name)
        .await
}

/// A schedule's view with its plan in words: destination names, and whose retention prunes its
/// backups (its own, or the project's, with the rules).
pub(crate) async fn described(
    engine: &Engine,
    project: &Project,
    s: &ScheduleRecord,
    now: OffsetDateTime,
) -> Result<ScheduleView> {
    let mut v = view(&project.name, s, now)?;
    let plan = s.plan()?;
    if let Some(ids) = &plan.destinations {
        let all = engine.catalog.destinations(&project.id).await?;
        v.destinations = Some(
            ids.iter()
                .filter_map(|id| all.iter().find(|d| &d.id == id).map(|d| d.name.clone()))
                .collect(),
        );
    }
    match &plan.retention {
        Some(r) => {
            v.retention_from = "schedule".to_string();
            v.retention_rules = r.describe();
        }
        None => {
            let record = engine.catalog.retention(&project.id).await?;
            let (policy, _) = super::prune::policy_of(record.as_ref())?;
            v.retention_from = "project".to_string();
            v.retention_rules = policy.describe();
        }
    }
    v.backup_type = plan.backup_type;
    v.selection = plan.selection;
    v.retention = plan.retention;
    Ok(v)
}

/// Which backup schedules of each project are overdue at `now`, by project id, by name. A
/// named schedule looks at its own newest good backup (`backups.schedule_name`); the `default`
/// one, as before schedules had names, at the project's newest good backup of any kind.
pub(crate) async fn overdue_schedules(
    engine: &Engine,
    schedules: &[ScheduleRecord],
    newest_good: &HashMap<String, String>,
    only: Option<&str>,
    now: OffsetDateTime,
) -> Result<HashMap<String, Vec<String>>> {
    let own = engine.catalog.newest_good_by_schedule(only).await?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for s in schedules
        .iter()
        .filter(|s| s.kind == ScheduleKind::Backup && !s.paused)
    {
        let last_good = if s.name == DEFAULT_SCHEDULE {
            newest_good.get(&s.project_id)
        } else {
            own.get(&(s.project_id.clone(), s.name.clone()))
        };
        let good = last_good.map(|t| parse_timestamp(t)).transpose()?;
        let (spec, zone, created) = (
            s.spec.parse()?,
            Zone::named(&s.time_zone)?,
            parse_timestamp(&s.created_at)?,
        );
        if schedule::overdue(&spec, &zone, created, good, now, schedule::DEFAULT_GRACE) {
            out.entry(s.project_id.clone())
                .or_default()
                .push(s.name.clone());
        }
    }
    Ok(out)
}

impl Engine {
    /// Add a named backup schedule (its name must be free); returns it with its next 5 runs.
    pub async fn add_named_schedule(&self, req: NamedSchedule) -> Result<ScheduleView> {
        save(self, req, SaveMode::Add).await
    }
    /// Change a named backup schedule (what is not given stays as it is; it must exist).
    pub async fn change_named_schedule(&self, req: NamedSchedule) -> Result<ScheduleView> {
        save(self, req, SaveMode::Change).await
    }
    /// Change a named backup schedule (what is not given stays as it is), or add it when the
    /// project has none of that name.
    pub async fn set_named_schedule(&self, req: NamedSchedule) -> Result<ScheduleView> {
        save(self, req, SaveMode::Upsert).await
    }
    /// Remove a named backup schedule; whether there was one. Its backups stay.
    pub async fn remove_named_schedule(&self, project: &str, name: &str) -> Result<bool> {
        remove(self, project, name).await
    }
    /// Pause (or resume) a named backup schedule.
    pub async fn pause_named_schedule(
        &self,
        project: &str,
        name: &str,
        paused: bool,
    ) -> Result<()> {
        check_name(name)?;
        super::schedule::pause(self, project, ScheduleKind::Backup, name, paused).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_names_are_short_plain_words() {
        for ok in ["default", "hourly", "monthly-cold", "db_1", "7d"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-x",
            "Hourly",
            "a b",
            "x;drop",
            "ä",
            &"x".repeat(41),
            "a\n",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
