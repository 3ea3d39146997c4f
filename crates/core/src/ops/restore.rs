//! The restore job: the one plan of a [`RestoreRequest`] (changes nothing), and its execution
//! as ONE job: the database (planned, executed, row counts validated), then the storage, then
//! the configuration, with one report. A failure stops the job; its error says what was
//! restored and what not.

use crate::catalog::{JobKind, Project};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::interrupted_storage::PartOf;
use crate::ops::job::JobStart;
use crate::ops::restore_parts as parts;
use crate::ops::runner::{self, RunningJob};
use crate::postgres::restore::new_database::{self, Presence};
use crate::postgres::restore::{RestoreOptions, RestoreTarget};
use crate::restore::{
    Component, ConfigReport, RestoreOutcome, RestorePlan, RestoreReport, RestoreRequest,
    StorageRestore, StorageTo,
};
use crate::sources::supabase_api::GuardedManagementApi;
use crate::storage::{StorageRestoreOptions, StorageTargetRef};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// A request with each section's target found (connections, stores, APIs): what planning and
/// executing need.
struct Resolved {
    archive: PathBuf,
    database: Option<(RestoreTarget, RestoreOptions)>,
    /// `--as-role`: the database is restored as this role of the target.
    as_role: Option<String>,
    /// Into a saved project: its name, for the hint of a rejected password.
    database_project: Option<String>,
    /// Create the target database first when it does not exist (`create_database`).
    create_database: bool,
    storage: Option<ResolvedStorage>,
    config: Option<(crate::restore::ConfigRestore, String, GuardedManagementApi)>,
    /// The keys of an encrypted archive, unlocked while the plan or job runs.
    _unlocked: crate::archive::Unlocked,
}

struct ResolvedStorage {
    to: StorageTo,
    target: StorageTargetRef,
    opts: StorageRestoreOptions,
    files: BTreeMap<String, PathBuf>,
}

async fn resolve(engine: &Engine, req: &RestoreRequest) -> Result<Resolved> {
    if req.components().is_empty() {
        return Err(Error::invalid("nothing to restore: no component chosen")
            .with_hint("choose the database, the storage or the configuration"));
    }
    let database = match &req.database {
        Some(d) => {
            let mut opts = parts::database_options(engine, &d.options).await;
            opts.untrusted_origin = untrusted_origin(engine, &req.archive).await?;
            if opts.replace && !opts.no_safety_backup {
                let encryption = safety_encryption(engine, &d.to, &req.archive).await?;
                let into = match &d.to {
                    crate::restore::DatabaseTo::Project(name) => Some(name.clone()),
                    _ => None,
                };
                opts.safety = Some(super::safety::taker(engine, into, encryption).await);
            }
            Some((parts::database_target(engine, &d.to).await?, opts))
        }
        None => None,
    };
    let storage = match &req.storage {
        Some(s) => Some(resolve_storage(engine, s).await?),
        None => None,
    };
    let config = match &req.config {
        Some(c) => {
            let (project_ref, api) = parts::config_api(engine, &c.project).await?;
            Some((c.clone(), project_ref, api))
        }
        None => None,
    };
    let _unlocked = crate::archive::unlock(&req.archive, archive_keys(engine, req).await?);
    let database_project = match &req.database {
        Some(crate::restore::DatabaseRestore {
            to: crate::restore::DatabaseTo::Project(name),
            ..
        }) => Some(name.clone()),
        _ => None,
    };
    Ok(Resolved {
        archive: req.archive.clone(),
        as_role: req
            .database
            .as_ref()
            .and_then(|d| d.options.as_role.clone())
            .filter(|r| !r.is_empty()),
        create_database: req
            .database
            .as_ref()
            .is_some_and(|d| d.options.create_database),
        database,
        database_project,
        storage,
        config,
        _unlocked,
    })
}

/// Restore the database, through a temporary role of `--as-role` when one is asked for (dropped
/// whatever the outcome).
async fn restore_database_as(
    r: &Resolved,
    target: &RestoreTarget,
    opts: &RestoreOptions,
    job: &RunningJob,
) -> Result<crate::postgres::restore::DatabaseReport> {
    use crate::postgres::restore::as_role;
    let Some(role) = &r.as_role else {
        return parts::restore_database(&r.archive, target, opts, &job.reporter, &job.cancel).await;
    };
    let (as_target, temp) = as_role::begin(target, role, &as_role::temp_name(&job.id)).await?;
    let restored =
        parts::restore_database(&r.archive, &as_target, opts, &job.reporter, &job.cancel).await;
    let ended = as_role::end(target, &temp).await;
    let report = restored?;
    ended?;
    Ok(report)
}

/// How the safety backup of a replaced database is encrypted: like the backups of the project
/// restored into; a target that is not a project, like the backups of the archive's project
/// (the catalog's owner, or the one its file name names) — so an encrypted project never leaves
/// a plaintext copy. Encryption that is on but not confirmed refuses (`needs_consent`), as a
/// backup would: nothing is restored.
async fn safety_encryption(
    engine: &Engine,
    to: &crate::restore::DatabaseTo,
    archive: &std::path::Path,
) -> Result<Option<crate::crypto::Encryption>> {
    let project = match to {
        crate::restore::DatabaseTo::Project(name) => Some(engine.catalog.project(name).await?),
        _ => match runner::owner_of_archive(engine, archive).await? {
            Some((_, p)) => Some(p),
            None => match crate::ops::encrypted_read::project_named_by(archive) {
                Some(name) if crate::archive::is_encrypted(archive) => {
                    engine.catalog.project(&name).await.ok()
                }
                _ => None,
            },
        },
    };
    let Some(project) = project else {
        return Ok(None);
    };
    super::encryption::for_backup(engine, &project)
        .await
        .map_err(|e| {
            e.context(format!(
                "the safety backup would be encrypted like the backups of project {:?}",
                project.name
            ))
        })
}

/// Where a backup came from, when it is not one this computer made: `None` for a local backup.
async fn untrusted_origin(engine: &Engine, archive: &std::path::Path) -> Result<Option<String>> {
    use crate::catalog::BackupOrigin;
    Ok(match runner::owner_of_archive(engine, archive).await? {
        Some((b, _)) => match b.origin {
            BackupOrigin::Local => None,
            BackupOrigin::Server => Some("was made by a backup server and pulled from it".into()),
            BackupOrigin::Artifact => Some("was pulled from an artifact bucket".into()),
            BackupOrigin::Imported => Some("was imported from a file".into()),
        },
        None => Some("is a file Offsite did not make (no backup in the catalog has it)".into()),
    })
}

/// The keys that may open the archive of `req` (when it is encrypted): the one the request
/// brings, and the project's own (from its keychain) when the catalog knows the archive.
async fn archive_keys(
    _engine: &Engine,
    req: &RestoreRequest,
) -> Result<Vec<crate::crypto::UserKey>> {
    let mut keys: Vec<crate::crypto::UserKey> = req.key.iter().cloned().collect();
    keys.extend(crate::ops::encrypted_read::project_keys_of_archive(_engine, &req.archive).await?);
    Ok(keys)
}

async fn resolve_storage(engine: &Engine, s: &StorageRestore) -> Result<ResolvedStorage> {
    Ok(ResolvedStorage {
        to: s.to.clone(),
        target: parts::storage_target(engine, &s.to).await?,
        opts: parts::storage_options(s),
        files: parts::backup_files(engine).await?,
    })
}

/// The sections of the plan except the database's (which the database's execution plans
/// again itself, in its transaction's view of the target).
async fn plan_storage_config(r: &Resolved, with_storage: bool) -> Result<RestorePlan> {
    let storage = match &r.storage {
        Some(s) if with_storage => {
            Some(parts::plan_storage(&r.archive, s.files.clone(), &s.target, &s.opts).await?)
        }
        _ => None,
    };
    let config = match &r.config {
        Some((c, project_ref, api)) => {
            Some(parts::plan_config(&r.archive, c, project_ref, api).await?)
        }
        None => None,
    };
    Ok(RestorePlan {
        archive: r.archive.clone(),
        database: None,
        storage,
        config,
    })
}

/// The restore plan, a section per component asked for (changes nothing).
pub(crate) async fn plan(engine: &Engine, req: &RestoreRequest) -> Result<RestorePlan> {
    let r = resolve(engine, req).await?;
    let mut plan = plan_storage_config(&r, true).await?;
    if let Some((target, opts)) = &r.database {
        let mut opts = opts.clone();
        // A database that does not exist yet is planned as what it would be created from.
        let presence = new_database::presence(target)
            .await
            .map_err(|e| password_hint(engine, &r, e))?;
        let read_from = match presence {
            Presence::Exists => target.clone(),
            Presence::Missing { .. } => new_database::template_of(target),
        };
        if let Some(role) = &r.as_role {
            // Checked, never created by a plan: the plan is read through the connection given.
            crate::postgres::restore::as_role::check(&read_from, role).await?;
            opts.untrusted_origin = None;
        }
        let mut d = parts::plan_database(&r.archive, &read_from, &opts)
            .await
            .map_err(|e| password_hint(engine, &r, e))?;
        new_database::mark_plan(&mut d, target, &presence, r.create_database);
        if let Some(role) = &r.as_role {
            d.warnings.insert(0, format!(
                "restores as {role}: the backup's functions run with {role}'s rights only, and what it creates is owned by {role} (this plan was read as {}, whose rights may differ)",
                d.connecting_role
            ));
        }
        plan.database = Some(d);
    }
    Ok(plan)
}

/// A rejected password of a saved project's database: the hint that fits its secret store.
fn password_hint(engine: &Engine, r: &Resolved, e: Error) -> Error {
    match &r.database_project {
        Some(name) => engine.password_hint(name, e),
        None => e,
    }
}

/// The project whose lock the job holds: the archive's (when the catalog knows it), else the
/// storage's or configuration's target project.
async fn job_project(engine: &Engine, req: &RestoreRequest) -> Result<Option<Project>> {
    if let Some((_, p)) = runner::owner_of_archive(engine, &req.archive).await? {
        return Ok(Some(p));
    }
    let name = match (&req.storage, &req.config) {
        (
            Some(StorageRestore {
                to: StorageTo::Project(name),
                ..
            }),
            _,
        ) => Some(name),
        (_, Some(c)) => Some(&c.project),
        _ => None,
    };
    match name {
        Some(n) => Ok(Some(engine.catalog.project(n).await?)),
        None => Ok(None),
    }
}

/// Plan and execute a restore as one job with one report.
pub(crate) async fn run(
    engine: &Engine,
    req: RestoreRequest,
    start: JobStart,
) -> Result<RestoreOutcome> {
    run_part(engine, req, start, PartOf::default()).await
}

/// [`run`] as a step of a larger restore (`part`: what its storage journal says then).
pub(crate) async fn run_part(
    engine: &Engine,
    req: RestoreRequest,
    start: JobStart,
    part: PartOf,
) -> Result<RestoreOutcome> {
    let r = resolve(engine, &req).await?;
    let project = job_project(engine, &req).await?;
    if let Some((target, _)) = &r.database {
        // What a killed restore into the same database left goes first (issue 63).
        super::interrupted::settle_target(engine, target)
            .await
            .map_err(|e| password_hint(engine, &r, e))?;
    }
    if let Some(s) = &r.storage {
        // What a killed storage restore into the same target wrote goes first.
        super::interrupted_storage::settle_target(engine, &s.to).await?;
    }
    let (job_id, report) = runner::run(
        engine,
        JobKind::Restore,
        project.as_ref(),
        start,
        |_| None,
        |job| async move {
            execute(&r, &job, Some((engine, &part)))
                .await
                .map_err(|e| password_hint(engine, &r, e))
        },
    )
    .await?;
    Ok(RestoreOutcome { job_id, report })
}

/// Restore `req` inside a job already running (a drill's): resolved and executed as
/// [`run`] does, without a job (or project lock) of its own.
pub(crate) async fn run_within(
    engine: &Engine,
    req: RestoreRequest,
    job: &RunningJob,
) -> Result<RestoreReport> {
    let r = resolve(engine, &req).await?;
    execute(&r, job, None)
        .await
        .map_err(|e| password_hint(engine, &r, e))
}

/// [`run_within`] with the database restore's journal recorded by `journal` (a restore to a
/// time: its replay's journal, which undoes the base as well — `ops::pitr::restore`).
pub(crate) async fn run_within_journaled(
    engine: &Engine,
    req: RestoreRequest,
    job: &RunningJob,
    journal: crate::postgres::restore::Journal,
) -> Result<RestoreReport> {
    let mut r = resolve(engine, &req).await?;
    if let Some((_, opts)) = r.database.as_mut() {
        opts.journal = Some(journal);
    }
    execute(&r, job, None)
        .await
        .map_err(|e| password_hint(engine, &r, e))
}

/// The job's body: refuse on the storage's and configuration's blockers before anything is
/// changed, then restore each component in turn (the database plans and refuses on its own
/// blockers before it changes anything). `journal`: the database restore records what it is
/// about to do in the job's journal (not within a drill: its throwaway cluster dies with it).
async fn execute(
    r: &Resolved,
    job: &RunningJob,
    journal: Option<(&Engine, &PartOf)>,
) -> Result<RestoreReport> {
    let started = Instant::now();
    let mut report = RestoreReport {
        archive: r.archive.clone(),
        database: None,
        storage: None,
        config: None,
        parity: None,
        ok: true,
        duration_ms: 0,
    };
    // The storage's own execution plans again and refuses on its blockers: planned here only
    // when a database restore comes first, so that it is not touched for nothing.
    let ahead = plan_storage_config(r, r.database.is_some()).await?;
    let blockers = ahead.blockers();
    if !blockers.is_empty() {
        return Err(Error::invalid(format!(
            "the restore cannot go ahead: {}; nothing was changed",
            blockers.join("; ")
        ))
        .with_hint("review it with --dry-run (offsite restore ARCHIVE … --dry-run)"));
    }
    // Vault's root key goes first: the database's Vault rows are encrypted with it.
    let vault_key_set = match (&r.config, &ahead.config) {
        (Some((_, _, api)), Some(plan)) => parts::set_vault_key(&r.archive, plan, api)
            .await
            .map_err(|e| {
                let e = e.also("nothing was restored");
                match e.hint() {
                    Some(_) => e,
                    None => e.with_hint(
                        "run the restore again once the Management API takes the key, or restore without setting it",
                    ),
                }
            })?,
        _ => false,
    };
    if let Some((target, opts)) = &r.database {
        job.reporter.component(Some(Component::Database));
        let mut opts = opts.clone();
        if let Some((engine, _)) = journal {
            let j = journal_of(engine, r, target, &opts, job).await?;
            // The temporary role of --as-role is made before the restore records what it
            // writes: the journal names it first.
            if r.as_role.is_some() {
                j.record_before_writing().await?;
            }
            opts.journal = Some(crate::postgres::restore::Journal(j));
        }
        let created = create_if_missing(r, target).await?;
        let restored = restore_database_as(r, target, &opts, job).await;
        let restored = match (restored, created) {
            (Err(e), true) => Err(new_database::removed_after(target, e).await),
            (other, _) => other,
        };
        let mut d = restored.map_err(|e| stopped(e, Component::Database, &report, r))?;
        if created {
            // The report's plan was read from the database once created: it says it was.
            d.plan.database_missing = true;
            d.plan.may_create_database = true;
            d.plan.creates_database = true;
        }
        report.ok &= d.ok;
        report.database = Some(d);
    }
    if let Some(s) = &r.storage {
        job.reporter.component(Some(Component::Storage));
        let mut opts = s.opts.clone();
        if let Some((engine, part)) = journal {
            let mut part = part.clone();
            if let (Some((t, _)), Some(_)) = (&r.database, &report.database) {
                part.database_done = Some(format!(
                    "database {} on {}",
                    t.spec.database,
                    t.spec.location()
                ));
            }
            opts.journal = Some(
                super::interrupted_storage::journal_for(
                    engine, &job.id, &s.to, &r.archive, &opts, part,
                )
                .await?,
            );
        }
        let done = parts::restore_storage_part(
            &r.archive,
            s.files.clone(),
            &s.target,
            &opts,
            &job.reporter,
            &job.cancel,
        )
        .await;
        if let Some((engine, _)) = journal {
            super::interrupted_storage::forget_note(engine, &job.id);
        }
        let done = done.map_err(|e| stopped(e, Component::Storage, &report, r))?;
        report.storage = Some(done);
    }
    if let (Some((_, _, api)), Some(plan)) = (&r.config, ahead.config) {
        job.reporter.component(Some(Component::Config));
        let (applied, deployed) =
            parts::apply_config(&r.archive, &plan, api, &job.reporter, &job.cancel)
                .await
                .map_err(|e| stopped(e, Component::Config, &report, r))?;
        report.config = Some(ConfigReport {
            plan,
            applied,
            deployed,
            vault_key_set,
        });
    }
    job.reporter.component(None);
    report.parity = super::restore_parity::report(&r.archive, sides(r), &job.cancel).await;
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// What the parity report of `r` compares: the database when restored whole, the storage, the
/// configuration.
fn sides(r: &Resolved) -> super::restore_parity::Sides<'_> {
    super::restore_parity::Sides {
        database: r
            .database
            .as_ref()
            .filter(|(_, o)| o.selection.is_whole())
            .map(|(t, _)| t),
        storage: r.storage.as_ref().map(|s| (&s.target, &s.opts, &s.files)),
        config: r
            .config
            .as_ref()
            .map(|(c, project_ref, api)| (c.project.as_str(), project_ref.as_str(), api)),
    }
}

/// The parity report of `req`'s targets as they are now, outside a restore.
pub(crate) async fn parity(
    engine: &Engine,
    req: &RestoreRequest,
) -> Result<crate::parity::ParityReport> {
    let r = resolve(engine, req).await?;
    let cancel = tokio_util::sync::CancellationToken::new();
    Ok(
        super::restore_parity::report(&r.archive, sides(&r), &cancel)
            .await
            .unwrap_or_else(|| crate::parity::ParityReport {
                parts: Vec::new(),
                equal: true,
                note: Some("nothing to compare: no part has rows or objects on either side".into()),
            }),
    )
}

/// A target database that does not exist: refused unless the restore may create it, else
/// created (empty). Returns whether it was created here.
async fn create_if_missing(r: &Resolved, target: &RestoreTarget) -> Result<bool> {
    let presence = new_database::presence(target).await?;
    if let Some(e) = new_database::refusal(&target.spec, &presence, r.create_database) {
        return Err(e);
    }
    if presence == Presence::Exists {
        return Ok(false);
    }
    new_database::create(target).await?;
    Ok(true)
}

/// The job's journal for the database restore into `target`.
async fn journal_of(
    engine: &Engine,
    r: &Resolved,
    target: &RestoreTarget,
    opts: &RestoreOptions,
    job: &RunningJob,
) -> Result<std::sync::Arc<super::interrupted::JobJournal>> {
    let target_project = match &r.database_project {
        Some(name) => Some(engine.catalog.project(name).await?.id),
        None => None,
    };
    Ok(std::sync::Arc::new(super::interrupted::JobJournal {
        engine: engine.clone(),
        job_id: job.id.clone(),
        target: target.clone(),
        target_project,
        archive: r.archive.clone(),
        as_role: r.as_role.clone(),
        replace: opts.replace,
    }))
}

/// The error of the component that failed, saying what was restored before it and what not.
fn stopped(e: Error, failed: Component, report: &RestoreReport, r: &Resolved) -> Error {
    let asked = [
        (Component::Database, r.database.is_some()),
        (Component::Storage, r.storage.is_some()),
        (Component::Config, r.config.is_some()),
    ];
    let done: Vec<&str> = report
        .plan()
        .components()
        .into_iter()
        .map(Component::label)
        .collect();
    let not: Vec<&str> = asked
        .iter()
        .filter(|(c, a)| *a && *c >= failed)
        .map(|(c, _)| c.label())
        .collect();
    if done.is_empty() && not.len() == 1 {
        return e; // one component: its own error says it all
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
