//! The whole project at a time (issue 46 item 5, docs/pitr.md): `offsite restore PROJECT --at
//! TIME --components …` restores each component as it was at TIME, as a restore of a backup
//! restores them — the database from its captured changes (the newest base before TIME and the
//! transactions committed up to TIME, [`super::restore`]), the storage as the newest storage
//! pull (full, storage or incremental backup; an incremental's chain is resolved as for any
//! restore) that had finished at or before TIME, and the configuration as the newest backup
//! holding it taken at or before TIME.
//!
//! The plan says per component which point it comes from and how far that is from TIME; a
//! component whose newest state is older than TIME says so, and one with no state at or before
//! TIME is refused (a blocker of its own section) with what to do. Execution refuses on any
//! blocker before it changes anything, then restores the database, the storage and the
//! configuration in turn (each through the ordinary restore); a failure says what was restored
//! and what not.

use super::objects_at::StorageAtTime;
use super::restore::{PitrPlan, PitrRestored};
use crate::catalog::{BackupRecord, BackupStatus, JobKind, Project};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};

use crate::ops::JobStart;
use crate::pitr::{micros_text, parse_time};
use crate::postgres::conn::ProjectConnection;
use crate::restore::{
    Component, ConfigPlan, ConfigReport, ConfigRestore, DatabaseTo, RestoreRequest, StorageRestore,
};
use crate::storage::{StoragePlan, StorageRestoreReport};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// What to restore of a project as it was at a time: a section per component (absent: not
/// restored), each with its target and consents as in a restore of a backup.
#[derive(Debug, Clone)]
pub struct ProjectAtRequest {
    pub project: String,
    /// µs since the epoch.
    pub at: i64,
    pub database: Option<DatabaseTo>,
    pub storage: Option<StorageRestore>,
    pub config: Option<ConfigRestore>,
    /// With the storage and without the database: a database already restored to TIME (by an
    /// earlier restore to that time) whose `storage.objects` rows decide the objects, as this
    /// request's own database would. What finishes an interrupted storage step names it.
    pub storage_rows_from: Option<DatabaseTo>,
}

/// Which backup a component comes from, and how far its state is from TIME.
#[derive(Debug, Clone, Serialize)]
pub struct AtPoint {
    pub backup_id: String,
    pub path: String,
    /// When the backup began (its manifest's time).
    pub taken_at: String,
    /// When its state was complete: the backup job's end (a backup pulled from elsewhere: when
    /// it began, the only time known).
    pub state_at: String,
    /// TIME − `state_at`, whole seconds (0 and `exact` false: under a second before TIME).
    pub behind_seconds: u64,
    /// Whether `state_at` is TIME itself.
    pub exact: bool,
}

/// One component of the plan: where it comes from (in words too), its own plan, and why it
/// would be refused.
#[derive(Debug, Clone, Serialize)]
pub struct AtSection<P> {
    /// The backup the component comes from (the database: its base).
    pub point: Option<AtPoint>,
    /// Whether the component's state is exactly the one at TIME.
    pub at_time: bool,
    /// Which point it comes from and how far that is from TIME, for people.
    pub said: String,
    pub plan: Option<P>,
    pub blockers: Vec<String>,
}

/// The plan of restoring a project as it was at a time.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectAtPlan {
    pub project: String,
    pub at: String,
    pub database: Option<AtSection<PitrPlan>>,
    pub storage: Option<AtSection<StoragePlan>>,
    pub config: Option<AtSection<ConfigPlan>>,
}

impl ProjectAtPlan {
    /// Why execution would refuse, each prefixed with its component ("storage: …").
    pub fn blockers(&self) -> Vec<String> {
        fn add<P>(out: &mut Vec<String>, c: Component, s: &Option<AtSection<P>>) {
            if let Some(s) = s {
                out.extend(s.blockers.iter().map(|b| format!("{}: {b}", c.label())));
            }
        }
        let mut out = Vec::new();
        add(&mut out, Component::Database, &self.database);
        add(&mut out, Component::Storage, &self.storage);
        add(&mut out, Component::Config, &self.config);
        out
    }
}

/// What restoring a project as it was at a time did: a section per component restored.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectAtReport {
    pub plan: ProjectAtPlan,
    pub database: Option<PitrRestored>,
    pub storage: Option<StorageRestoreReport>,
    /// The storage as the restored rows say at TIME: what it was made of (`None`: restored as
    /// the pull had it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_at: Option<StorageAtTime>,
    pub config: Option<ConfigReport>,
}

/// "4 min before TIME", "under 1 s before TIME", "at TIME".
fn before(p: &AtPoint) -> String {
    let behind_seconds = p.behind_seconds;
    if p.exact {
        "at TIME".into()
    } else {
        format!(
            "{} before TIME",
            crate::units::format_duration(std::time::Duration::from_secs(behind_seconds))
        )
    }
}

/// Whether a backup's (catalog) manifest lists a member of `component`.
fn holds(b: &BackupRecord, component: Component) -> bool {
    let Some(json) = b.manifest_json.as_deref() else {
        return false;
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(json) else {
        return false;
    };
    let names = doc["members"].as_array().into_iter().flatten();
    let mut names = names.filter_map(|m| m["name"].as_str());
    match component {
        Component::Storage => names.any(|n| n == "storage.json"),
        Component::Config => names.any(|n| n.starts_with("config/")),
        Component::Database => false,
    }
}

/// When a backup's state was complete (µs): its backup job's end, else its own time.
async fn state_time(engine: &Engine, b: &BackupRecord) -> Result<(i64, i64)> {
    let taken = parse_time(&b.created_at)?;
    if let Some(job_id) = &b.job_id {
        if let Ok(job) = engine.catalog.job(job_id).await {
            if job.kind == JobKind::Backup {
                if let Some(end) = job.finished_at.as_deref().and_then(|t| parse_time(t).ok()) {
                    return Ok((taken, end.max(taken)));
                }
            }
        }
    }
    Ok((taken, taken))
}

/// The newest good backup of `project` holding `component` whose state was complete at or
/// before `at`; or why there is none (the blocker, with what to do).
async fn newest_at(
    engine: &Engine,
    project: &Project,
    at: i64,
    component: Component,
) -> Result<std::result::Result<AtPoint, String>> {
    let mut first_after: Option<i64> = None;
    for b in engine.catalog.backups(&project.id).await? {
        if matches!(b.status, BackupStatus::Corrupt | BackupStatus::Missing)
            || !holds(&b, component)
        {
            continue;
        }
        let (taken, done) = state_time(engine, &b).await?;
        if done > at {
            first_after = Some(first_after.map_or(done, |f| f.min(done)));
            continue;
        }
        return Ok(Ok(AtPoint {
            backup_id: b.id.clone(),
            path: b.path.clone(),
            taken_at: micros_text(taken),
            state_at: micros_text(done),
            behind_seconds: u64::try_from((at - done) / 1_000_000).unwrap_or(0),
            exact: done == at,
        }));
    }
    let what = match component {
        Component::Storage => "storage backup (full, storage or incremental)",
        _ => "configuration backup (full or config)",
    };
    Ok(Err(match first_after {
        Some(t) => format!(
            "no {what} of {} had finished at or before TIME (the first finished at {}): restore a time at or after it, or leave the {} out (--components)",
            project.name,
            micros_text(t),
            component.label()
        ),
        None => format!(
            "{} has no {what}: take one (offsite backup {} --type {}), or leave the {} out (--components)",
            project.name,
            project.name,
            if component == Component::Storage { "storage" } else { "config" },
            component.label()
        ),
    }))
}

/// A section whose component has no state at or before TIME.
fn refused<P>(why: String) -> AtSection<P> {
    AtSection {
        point: None,
        at_time: false,
        said: format!("refused: {why}"),
        plan: None,
        blockers: vec![why],
    }
}

/// The database's section: the plan of a restore to the time (refusals of the time become its
/// blocker, naming the nearest restorable times).
async fn database_section(engine: &Engine, name: &str, at: i64) -> Result<AtSection<PitrPlan>> {
    let plan = match super::restore::plan(engine, name, at).await {
        Ok(p) => p,
        Err(e) if matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::NotFound) => {
            let hint = e.hint().map(|h| format!(" ({h})")).unwrap_or_default();
            return Ok(refused(format!("{}{hint}", e.message())));
        }
        Err(e) => return Err(e),
    };
    let said = match (&plan.stop_commit_at, &plan.stop_commit_lsn) {
        (Some(t), Some(l)) => format!(
            "database at TIME exactly: base {} (taken {}) + {} replayed up to the last commit at or before TIME, at {t} (LSN {l})",
            plan.base_backup_id,
            plan.base_at,
            crate::words::plural(plan.transactions, "transaction")
        ),
        _ => format!(
            "database at TIME exactly: base {} (taken {}), no transaction committed between it and TIME",
            plan.base_backup_id, plan.base_at
        ),
    };
    let record = engine.catalog.backup(&plan.base_backup_id).await?;
    Ok(AtSection {
        point: Some(AtPoint {
            backup_id: plan.base_backup_id.clone(),
            path: record.path,
            taken_at: plan.base_at.clone(),
            state_at: micros_text(at),
            // The replayed state is the one at TIME itself.
            behind_seconds: 0,
            exact: true,
        }),
        at_time: true,
        said,
        plan: Some(plan),
        blockers: Vec::new(),
    })
}

/// Words for a backup-based component's point.
fn said_of(component: Component, p: &AtPoint) -> String {
    let verb = if component == Component::Storage {
        "pulled"
    } else {
        "backed up"
    };
    let when = if p.taken_at == p.state_at {
        format!("at {}", p.state_at)
    } else {
        format!("between {} and {}", p.taken_at, p.state_at)
    };
    let mut s = format!(
        "{} as {verb} {when} (backup {}), {}",
        component.label(),
        p.backup_id,
        before(p)
    );
    if !p.exact {
        s.push_str(&format!(
            ": not the state at TIME — changes after {} are not in it",
            p.state_at
        ));
    }
    s
}

/// Whether the project's capture keeps Storage objects' versions (its objects folder holds an
/// index, here or in a copy at a destination): then a restore to a time of the database and
/// the storage gives the objects as the restored `storage.objects` rows say.
async fn rows_mode(engine: &Engine, project: &Project) -> bool {
    super::objects_copy::index_here_or_at_copies(engine, project).await
}

/// Words for the storage at TIME by its rows.
fn said_by_rows(p: &AtPoint) -> String {
    format!(
        "storage at TIME: the objects the database's storage.objects rows list at TIME, each \
         with the contents of the version its row names — kept by the capture, or unchanged since \
         the pull at {} (backup {}); an object whose version Offsite never had is named in the \
         report",
        p.state_at, p.backup_id
    )
}

/// The plan of restoring `req.project` as it was at `req.at` (changes nothing).
pub(crate) async fn plan(engine: &Engine, req: &ProjectAtRequest) -> Result<ProjectAtPlan> {
    if req.database.is_none() && req.storage.is_none() && req.config.is_none() {
        return Err(Error::invalid("nothing to restore: no component chosen")
            .with_hint("choose the database, the storage or the configuration (--components)"));
    }
    let project = engine.catalog.project(&req.project).await?;
    let at = req.at;
    let database = match &req.database {
        Some(_) => Some(database_section(engine, &project.name, at).await?),
        None => None,
    };
    // With the database at TIME, the storage as its rows say at TIME (when the capture kept
    // objects' versions): docs/pitr.md.
    if req.storage_rows_from.is_some() && (req.database.is_some() || req.storage.is_none()) {
        return Err(Error::invalid(
            "the storage's rows come from another database only when the storage is restored without the database",
        )
        .with_hint("restore --components storage with it, or leave it out: a restore of the database at TIME gives its own rows"));
    }
    // (Asked only when the storage is restored: looking at the copies is a request each.)
    let by_rows = req.storage.is_some()
        && (req.database.is_some() || req.storage_rows_from.is_some())
        && rows_mode(engine, &project).await;
    if req.storage_rows_from.is_some() && !by_rows {
        return Err(Error::invalid(format!(
            "the capture of {} kept no Storage objects' versions: there is nothing the rows could choose from",
            project.name
        ))
        .with_hint("leave out --storage-rows-from: the storage is then as pulled before TIME"));
    }
    let storage = match &req.storage {
        Some(s) => Some(
            match newest_at(engine, &project, at, Component::Storage).await? {
                Ok(point) => {
                    let r = RestoreRequest::from_archive(&point.path).storage(s.clone());
                    let plan = engine.plan_restore(&r).await?.storage;
                    AtSection {
                        said: if by_rows {
                            said_by_rows(&point)
                        } else {
                            said_of(Component::Storage, &point)
                        },
                        at_time: by_rows || point.exact,
                        blockers: plan
                            .as_ref()
                            .map(|p| p.blockers.clone())
                            .unwrap_or_default(),
                        point: Some(point),
                        plan,
                    }
                }
                Err(why) => refused(why),
            },
        ),
        None => None,
    };
    let config = match &req.config {
        Some(c) => Some(
            match newest_at(engine, &project, at, Component::Config).await? {
                Ok(point) => {
                    let r = RestoreRequest::from_archive(&point.path).config(c.clone());
                    let plan = engine.plan_restore(&r).await?.config;
                    AtSection {
                        said: said_of(Component::Config, &point),
                        at_time: point.exact,
                        blockers: plan
                            .as_ref()
                            .map(|p| p.blockers.clone())
                            .unwrap_or_default(),
                        point: Some(point),
                        plan,
                    }
                }
                Err(why) => refused(why),
            },
        ),
        None => None,
    };
    Ok(ProjectAtPlan {
        project: project.name,
        at: micros_text(at),
        database,
        storage,
        config,
    })
}

/// Restore `req.project` as it was at `req.at`: refuse on any blocker before anything changes,
/// then the database, the storage and the configuration in turn.
pub(crate) async fn run(
    engine: &Engine,
    req: ProjectAtRequest,
    cancel: &CancellationToken,
) -> Result<ProjectAtReport> {
    let plan = plan(engine, &req).await?;
    let blockers = plan.blockers();
    if !blockers.is_empty() {
        return Err(Error::invalid(format!(
            "the restore to {} cannot go ahead: {}; nothing was changed",
            plan.at,
            blockers.join("; ")
        ))
        .with_hint("review it with --dry-run"));
    }
    let project = engine.catalog.project(&req.project).await?;
    let mut report = ProjectAtReport {
        plan: plan.clone(),
        database: None,
        storage: None,
        storage_at: None,
        config: None,
    };
    if let Some(to) = &req.database {
        let (to, password) = to.url_or_project_text()?;
        let d = super::restore::run(engine, &req.project, req.at, &to, password, None, cancel)
            .await
            .map_err(|e| stopped(e, Component::Database, &req, &report))?;
        report.database = Some(d);
    }
    if let (Some(s), Some(point)) = (
        &req.storage,
        plan.storage.as_ref().and_then(|s| s.point.as_ref()),
    ) {
        // By the rows at TIME when the database was restored to TIME and has them.
        // The rows: of the database this request restored, or of one restored to TIME before.
        let rows_of = match (&req.database, &report.database, &req.storage_rows_from) {
            (Some(to), Some(_), _) => Some(to),
            (None, _, Some(from)) => Some(from),
            _ => None,
        };
        let rows_of = match rows_of {
            Some(to) if rows_mode(engine, &project).await => Some(to),
            _ => None,
        };
        let composed = match rows_of {
            Some(to) => by_rows(engine, &project, to, point, s, req.at, cancel)
                .await
                .map_err(|e| stopped(e, Component::Storage, &req, &report))?,
            None => None,
        };
        let archive = composed
            .as_ref()
            .map(|c| c.archive.clone())
            .unwrap_or_else(|| std::path::PathBuf::from(&point.path));
        report.storage_at = composed.as_ref().map(|c| c.said.clone());
        let r = RestoreRequest::from_archive(&archive).storage(s.clone());
        // Its journal (a job of its own) says what the database step restored and names this
        // restore to a time's storage step as the command that finishes it.
        let part = crate::ops::interrupted_storage::PartOf {
            again: Some(storage_again(
                &req.project,
                &plan.at,
                s,
                composed.as_ref().and(rows_of),
            )?),
            database_done: match (&req.database, &report.database) {
                (Some(to), Some(_)) => Some(format!("{} as it was at {}", label_of(to), plan.at)),
                _ => None,
            },
        };
        let start = JobStart {
            cancel: cancel.clone(),
            ..JobStart::default()
        };
        let done = crate::ops::restore::run_part(engine, r, start, part)
            .await
            .map_err(|e| stopped(e, Component::Storage, &req, &report))?;
        report.storage = done.report.storage;
    }
    if let (Some(c), Some(point)) = (
        &req.config,
        plan.config.as_ref().and_then(|s| s.point.as_ref()),
    ) {
        // Nothing chosen to write back: the plan shows the differences, nothing runs.
        if !c.settings.is_empty() || !c.functions.is_empty() {
            let r = RestoreRequest::from_archive(&point.path).config(c.clone());
            let start = JobStart {
                cancel: cancel.clone(),
                ..JobStart::default()
            };
            let done = engine
                .restore(r, start)
                .await
                .map_err(|e| stopped(e, Component::Config, &req, &report))?;
            report.config = done.report.config;
        }
    }
    Ok(report)
}

/// The storage at TIME composed from the restored database's `storage.objects` rows; `None`
/// when that database has no such table (then as the pull had it). A mirror restore with
/// objects Offsite has no bytes of is refused before anything is written.
#[allow(clippy::too_many_arguments)]
async fn by_rows(
    engine: &Engine,
    project: &Project,
    to: &DatabaseTo,
    point: &AtPoint,
    s: &StorageRestore,
    at: i64,
    cancel: &CancellationToken,
) -> Result<Option<super::objects_at::Composed>> {
    let target = crate::ops::restore_parts::database_target(engine, to).await?;
    let Some(rows) = super::objects_at::rows_at(&target).await? else {
        return Ok(None);
    };
    let dir = super::segment_dir(engine, project);
    let composed = super::objects_at::compose(
        engine,
        project,
        &dir,
        std::path::Path::new(&point.path),
        rows,
        at,
        cancel,
    )
    .await?;
    if s.mirror && composed.said.missing_count > 0 {
        return Err(Error::invalid(format!(
            "{} the rows list at TIME have no contents Offsite ever had ({}): a mirror restore \
             would delete what the target holds of them; nothing was written to the storage",
            crate::words::plural(composed.said.missing_count, "object"),
            composed.said.missing.join(", ")
        ))
        .with_hint("restore the storage without --mirror (those objects are then left as the target has them)"));
    }
    Ok(Some(composed))
}

/// `offsite restore PROJECT --at AT --components storage --storage-to TO …`: the storage step
/// of a restore to a time run again (what finishes it when that step is interrupted).
/// Storage chosen by the rows of a database (`rows_of`) is chosen by that database's rows
/// again (`--storage-rows-from`, named without its password).
fn storage_again(
    project: &str,
    at: &str,
    s: &StorageRestore,
    rows_of: Option<&DatabaseTo>,
) -> Result<String> {
    use crate::ops::interrupted::shell_word;
    use crate::ops::interrupted_storage::{storage_flags, to_word};
    let rows = match rows_of {
        Some(to) => format!(
            " --storage-rows-from {}",
            shell_word(&to.url_or_project_text()?.0)
        ),
        None => String::new(),
    };
    Ok(format!(
        "offsite restore {} --at {} --components storage --storage-to {}{}{rows}",
        shell_word(project),
        shell_word(at),
        shell_word(&to_word(&s.to)),
        storage_flags(&crate::ops::restore_parts::storage_options(s))
    ))
}

/// The database target in words, without any password.
fn label_of(to: &DatabaseTo) -> String {
    match to {
        DatabaseTo::Project(name) => format!("the database of project {name}"),
        DatabaseTo::Connection {
            connection: ProjectConnection::Url(url),
            ..
        } => match crate::postgres::conn::ConnSpec::parse_url(url) {
            Ok((spec, _)) => format!("database {} on {}", spec.database, spec.location()),
            Err(_) => "the target database".to_string(),
        },
        DatabaseTo::Connection { .. } => "the target database".to_string(),
    }
}

/// The error of the component that failed, saying what was restored before it and what not.
fn stopped(e: Error, failed: Component, req: &ProjectAtRequest, r: &ProjectAtReport) -> Error {
    let mut done = Vec::new();
    if r.database.is_some() {
        done.push(Component::Database.label());
    }
    if r.storage.is_some() {
        done.push(Component::Storage.label());
    }
    let asked = [
        (Component::Database, req.database.is_some()),
        (Component::Storage, req.storage.is_some()),
        (Component::Config, req.config.is_some()),
    ];
    let not: Vec<&str> = asked
        .iter()
        .filter(|(c, a)| *a && *c >= failed)
        .map(|(c, _)| c.label())
        .collect();
    if done.is_empty() && not.len() == 1 {
        return e;
    }
    e.context(format!(
        "restoring the {} failed (restored: {}; not restored: {})",
        failed.label(),
        if done.is_empty() {
            "nothing".to_string()
        } else {
            done.join(", ")
        },
        not.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::StorageTo;

    #[test]
    fn the_storage_again_of_a_restore_by_rows_names_the_rows_database_without_its_password() {
        let s = StorageRestore::new(StorageTo::Folder("/srv/media files".into()));
        let plain = storage_again("shop", "2026-11-30T10:00:00Z", &s, None).unwrap();
        // The folder as the command names it: absolute (on Windows, on the current drive).
        let folder = std::path::absolute("/srv/media files").unwrap();
        assert_eq!(
            plain,
            format!(
                "offsite restore shop --at 2026-11-30T10:00:00Z --components storage --storage-to '{}'",
                folder.display()
            )
        );
        let to =
            DatabaseTo::url_or_project("postgres://owner:s3cret@db.example:5432/shop_then", None);
        let rows = storage_again("shop", "2026-11-30T10:00:00Z", &s, Some(&to)).unwrap();
        assert!(
            rows.starts_with(&plain) && rows.contains(" --storage-rows-from "),
            "{rows}"
        );
        assert!(
            rows.contains("db.example") && rows.contains("shop_then"),
            "{rows}"
        );
        assert!(!rows.contains("s3cret"), "{rows}");
        let project = DatabaseTo::Project("shop_copy".into());
        let rows = storage_again("shop", "2026-11-30T10:00:00Z", &s, Some(&project)).unwrap();
        assert!(rows.ends_with(" --storage-rows-from shop_copy"), "{rows}");
    }
}
