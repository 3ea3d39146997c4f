//! `offsite recover`: chosen rows of a backup (with the rows they need) into a live database,
//! in one job, and `recover --undo` (see [`crate::recover`]). The engine's entry points.

use crate::catalog::JobKind;
use crate::crypto::UserKey;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::job::JobStart;
use crate::ops::restore_parts::database_target;
use crate::ops::runner;
use crate::progress::Reporter;
use crate::recover::{self, RecoverInput, RecoverReport, RecoverRows, UndoReport};
use crate::restore::DatabaseTo;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// Where undo files live, in the data folder.
pub const RECOVER_DIR: &str = "recoveries";

/// A recovery as the front ends ask for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RecoverRequest {
    /// What `restore` takes: a path, a backup id, `PROJECT:latest`.
    pub archive: String,
    pub rows: RecoverRows,
    pub to: DatabaseTo,
    /// Plan only: counts and samples, nothing written.
    #[serde(default)]
    pub dry_run: bool,
}

/// A recovery and the job that ran it (`None` for a dry run, which runs no job).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RecoverOutcome {
    pub job_id: Option<String>,
    pub report: RecoverReport,
}

/// An undo and the job that ran it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UndoOutcome {
    pub job_id: String,
    pub report: UndoReport,
}

fn new_undo_id(engine: &Engine) -> String {
    let now = engine.clock.now();
    let stamp = format!(
        "{:04}{:02}{:02}_{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let rnd = uuid::Uuid::new_v4().simple().to_string();
    format!("rcv_{stamp}_{}", &rnd[..6])
}

impl Engine {
    /// Plans (`dry_run`) or carries out a recovery of chosen rows (see [`crate::recover`]).
    pub async fn recover(
        &self,
        req: RecoverRequest,
        key: Option<UserKey>,
        start: JobStart,
    ) -> Result<RecoverOutcome> {
        let resolved = crate::ops::resolve::resolve(self, &req.archive).await?;
        let _unlocked = self.unlock_archive(&resolved.path, key).await?;
        let target = database_target(self, &req.to).await?;
        let target_ref = match &req.to {
            DatabaseTo::Project(name) => name.clone(),
            DatabaseTo::Connection { .. } => target.spec.to_url(),
        };
        let project = match &req.to {
            DatabaseTo::Project(name) => Some(self.catalog.project(name).await?),
            DatabaseTo::Connection { .. } => None,
        };
        if !req.dry_run {
            // What a killed job on the same database left is settled first (issue 63).
            crate::ops::interrupted::settle_target(self, &target).await?;
        }
        let engine = self.clone();
        let target_project = project.as_ref().map(|p| p.id.clone());
        let body = move |reporter: Reporter, cancel: CancellationToken, job_id: Option<String>| async move {
            let mut conn = target.spec.connect(target.password.as_deref()).await?;
            let undo_id = new_undo_id(&engine);
            // The job's journal, before anything is written (issue 63).
            let journal = match job_id {
                Some(job_id) => Some(
                    crate::ops::interrupted::RecoverJournal::record(
                        &engine,
                        job_id,
                        &target.spec,
                        target_project,
                        &resolved.path,
                        &undo_id,
                    )
                    .await?,
                ),
                None => None,
            };
            let input = RecoverInput {
                archive: &resolved.path,
                target_label: req.to.label(),
                target_ref,
                rows: &req.rows,
                dry_run: req.dry_run,
                undo_dir: engine.data_dir.join(RECOVER_DIR),
                undo_id,
                created_at: crate::clock::format_timestamp(engine.clock.now()),
                reporter: &reporter,
                cancel: &cancel,
                journal: journal
                    .as_ref()
                    .map(|j| j as &dyn crate::recover::RecordTxid),
            };
            recover::recover(&mut conn, input).await
        };
        if req.dry_run {
            let report = body(Reporter::silent(), CancellationToken::new(), None).await?;
            return Ok(RecoverOutcome {
                job_id: None,
                report,
            });
        }
        let (job_id, report) = runner::run(
            self,
            JobKind::Recover,
            project.as_ref(),
            start,
            |_| None,
            |job| {
                body(
                    job.reporter.clone(),
                    job.cancel.clone(),
                    Some(job.id.clone()),
                )
            },
        )
        .await?;
        Ok(RecoverOutcome {
            job_id: Some(job_id),
            report,
        })
    }

    /// Undoes recovery `id`: deletes the rows it inserted and gives the rows it overwrote their
    /// old values, except rows changed since (reported, left). `password` is for a target
    /// given as a URL without one.
    pub async fn recover_undo(
        &self,
        id: &str,
        password: Option<String>,
        start: JobStart,
    ) -> Result<UndoOutcome> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::invalid(format!(
                "{id:?} is not a recovery's undo id"
            )));
        }
        let dir = self.data_dir.join(RECOVER_DIR);
        let path: PathBuf = dir.join(recover::undo_file_name(id));
        let done = dir.join(format!("{id}.undone"));
        if !path.is_file() {
            if done.is_file() {
                return Err(Error::new(
                    crate::error::ErrorKind::Conflict,
                    format!("recovery {id} was already undone"),
                ));
            }
            return Err(
                Error::not_found(format!("no recovery {id} to undo")).with_hint(
                    "a recovery prints its undo id; its file is in the data folder's recoveries/",
                ),
            );
        }
        let head = recover::read_header(&path)?;
        let to = DatabaseTo::url_or_project(&head.target, password);
        let target = database_target(self, &to).await?;
        let project = match &to {
            DatabaseTo::Project(name) => Some(self.catalog.project(name).await?),
            DatabaseTo::Connection { .. } => None,
        };
        // What a killed job on the same database left (a killed undo of this recovery too) is
        // settled first, with this undo's password (issue 63).
        crate::ops::interrupted::settle_target(self, &target).await?;
        let (engine, undo_id) = (self.clone(), id.to_string());
        let target_project = project.as_ref().map(|p| p.id.clone());
        let (job_id, report) = runner::run(
            self,
            JobKind::Recover,
            project.as_ref(),
            start,
            |_| None,
            |job| async move {
                // The job's journal before anything is written (issue 63): a killed undo is
                // settled at the next start by asking the server whether it committed.
                let journal = crate::ops::interrupted::RecoverJournal::record_undo(
                    &engine,
                    job.id.clone(),
                    &target.spec,
                    target_project,
                    &path,
                    &undo_id,
                )
                .await?;
                let mut conn = target.spec.connect(target.password.as_deref()).await?;
                let report = recover::undo(&mut conn, &path, Some(&journal)).await?;
                std::fs::rename(&path, &done)
                    .map_err(|e| Error::io(format!("marking {} undone", path.display()), e))?;
                Ok(report)
            },
        )
        .await?;
        Ok(UndoOutcome { job_id, report })
    }
}

/// The front ends spawn these as tasks (a Tauri command, a job): their futures must be `Send`.
/// This does not compile when one is not (once, a `RawSql::execute` deep inside made them not).
#[cfg(test)]
#[allow(dead_code)]
mod futures_are_send {
    use super::*;
    fn is_send<T: Send>(_: T) {}
    fn recover(engine: Engine, req: RecoverRequest, start: JobStart) {
        is_send(async move { engine.recover(req, None, start).await });
    }
    fn undo(engine: Engine, id: String, start: JobStart) {
        is_send(async move { engine.recover_undo(&id, None, start).await });
    }
    fn tenant_show(engine: Engine, project: String, name: String) {
        is_send(async move { engine.tenant_show(&project, &name).await });
    }
}
