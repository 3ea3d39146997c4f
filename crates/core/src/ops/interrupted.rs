//! A job that dies leaves a journal, and the next start finishes the story (issue 63, item 2).
//!
//! Before a restore writes anything it records in the catalog what it is about to do
//! ([`JobJournal`]: the target without any password, whether it met nothing of the backup, the
//! undo it needs). A job whose process is gone (its liveness lock is free: never one another
//! live Offsite process runs) is made `interrupted` at the next start
//! ([`crate::ops::runner::fail_interrupted_jobs`]); then [`settle_all`] returns its target to how
//! it was, and the job's message says what is there:
//!
//! - `pg_restore -j` into a target that held none of the backup: what it created is dropped
//!   again (the same undo as a failed restore's), so the target is as before;
//! - one transaction: the server rolled it back when the session died; a replace's safety
//!   backup is named, with the command that restores it;
//! - where Offsite cannot reach the target or cannot prove the undo (no password at hand, the
//!   server down, the undo refused), the job says so, with the one command that finishes it:
//!   the same restore again, which settles the journal with its own password first
//!   ([`settle_target`]) — so running it again never needs a manual step.

use crate::catalog::{JournalEntry, JournalWork};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::postgres::conn::ConnSpec;
use crate::postgres::restore::{JournalNote, RecordJournal, RestoreTarget};
use futures::future::BoxFuture;
use std::path::PathBuf;

/// A restore job's journal in the catalog.
pub(crate) struct JobJournal {
    pub engine: Engine,
    pub job_id: String,
    pub target: RestoreTarget,
    /// The saved project restored into, if any (its own password connects later).
    pub target_project: Option<String>,
    pub archive: PathBuf,
    /// `--as-role ROLE`, if given: the job's temporary login role (named from the job's id,
    /// [`crate::postgres::restore::as_role::temp_name`]) is dropped if the job left it.
    pub as_role: Option<String>,
    /// `--replace` was given (the restore to run again says it too).
    pub replace: bool,
}

/// What a plain restore's journal holds: its [`JournalNote`], the `--as-role` whose temporary
/// role it makes, and whether it was recorded before the restore began to write (a journal
/// recorded before the temporary role is made, so that a kill in between leaves no role).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct RestoreUndo {
    #[serde(flatten)]
    note: JournalNote,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    as_role: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    before_writing: bool,
}

impl JobJournal {
    async fn save(&self, work: JournalWork, target_empty: bool, undo: RestoreUndo) -> Result<()> {
        let undo = serde_json::to_string(&undo)
            .map_err(|e| Error::internal(format!("encoding a restore's journal: {e}")))?;
        let spec = &self.target.spec;
        self.engine
            .catalog
            .record_journal(&JournalEntry {
                job_id: self.job_id.clone(),
                work,
                target: spec.to_url(),
                target_project: self.target_project.clone(),
                target_label: label_of(spec),
                target_empty,
                archive: self.archive.to_string_lossy().into_owned(),
                undo,
                recorded_at: String::new(),
            })
            .await
            .map_err(|e| {
                e.context(
                    "recording what the restore is about to do failed, so nothing was restored",
                )
            })
    }

    /// Before the temporary login role of `--as-role` is made: the journal names it, so the
    /// next start drops it if the process dies before the restore records what it writes.
    pub(crate) async fn record_before_writing(&self) -> Result<()> {
        let undo = RestoreUndo {
            note: JournalNote::OneTransaction {
                safety_backup: None,
            },
            as_role: self.as_role.clone(),
            before_writing: true,
        };
        self.save(JournalWork::RestoreOne, !self.replace, undo)
            .await
    }
}

impl RecordJournal for JobJournal {
    fn record(&self, note: JournalNote) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let (work, target_empty) = match &note {
                JournalNote::Parallel(_) => (JournalWork::RestoreParallel, true),
                JournalNote::OneTransaction { safety_backup } => {
                    (JournalWork::RestoreOne, safety_backup.is_none())
                }
            };
            let undo = RestoreUndo {
                note,
                as_role: self.as_role.clone(),
                before_writing: false,
            };
            self.save(work, target_empty, undo).await
        })
    }
}

/// What a restore to a time's journal holds: what dropping its base again needs, and the
/// restore to run again.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct ReplayUndo {
    undo: crate::postgres::restore::ParallelUndo,
    project: String,
    at: String,
    /// `--as-role ROLE`: the job's temporary login role (named from the job's id) is dropped
    /// if the job left it.
    #[serde(default)]
    as_role: Option<String>,
}

/// The journal of a restore to a time (`restore PROJECT --at TIME`): recorded when its base
/// restore is about to write (its plan found the target holding none of the base), as the
/// replay's — the base is restored, then the changes replayed and committed as they go, so a
/// process that dies anywhere in between leaves a target the next start empties again.
pub(crate) struct ReplayJournal {
    pub engine: Engine,
    pub job_id: String,
    pub target: RestoreTarget,
    pub target_project: Option<String>,
    /// The base backup.
    pub archive: PathBuf,
    pub project: String,
    /// The time restored to, as the plan says it.
    pub at: String,
    /// `--as-role ROLE`, if given.
    pub as_role: Option<String>,
}

impl RecordJournal for ReplayJournal {
    fn record(&self, note: JournalNote) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let undo = match note {
                JournalNote::Parallel(undo) => undo,
                // One transaction: what the target held before is read now, before it writes.
                JournalNote::OneTransaction { .. } => {
                    crate::postgres::restore::undo_before(&self.target).await?
                }
            };
            let undo = serde_json::to_string(&ReplayUndo {
                undo,
                project: self.project.clone(),
                at: self.at.clone(),
                as_role: self.as_role.clone(),
            })
            .map_err(|e| Error::internal(format!("encoding a replay's journal: {e}")))?;
            let spec = &self.target.spec;
            self.engine
                .catalog
                .record_journal(&JournalEntry {
                    job_id: self.job_id.clone(),
                    work: JournalWork::Replay,
                    target: spec.to_url(),
                    target_project: self.target_project.clone(),
                    target_label: label_of(spec),
                    target_empty: true,
                    archive: self.archive.to_string_lossy().into_owned(),
                    undo,
                    recorded_at: String::new(),
                })
                .await
                .map_err(|e| {
                    e.context(
                        "recording what the restore is about to do failed, so nothing was restored",
                    )
                })
        })
    }
}

/// What a recovery's journal holds: its undo id, and the transaction it writes in once begun;
/// `undoing`: the job is `recover --undo` of that recovery (its transaction is the undo's).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct RecoverUndo {
    undo_id: String,
    txid: Option<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    undoing: bool,
}

/// A recovery job's journal in the catalog: recorded before the recovery connects to write,
/// and again with its transaction id before its first write.
pub(crate) struct RecoverJournal {
    engine: Engine,
    entry: JournalEntry,
    undo_id: String,
    undoing: bool,
}

impl RecoverJournal {
    pub(crate) async fn record(
        engine: &Engine,
        job_id: String,
        spec: &ConnSpec,
        target_project: Option<String>,
        archive: &std::path::Path,
        undo_id: &str,
    ) -> Result<RecoverJournal> {
        let j = RecoverJournal {
            engine: engine.clone(),
            entry: JournalEntry {
                job_id,
                work: JournalWork::Recover,
                target: spec.to_url(),
                target_project,
                target_label: label_of(spec),
                target_empty: false,
                archive: archive.to_string_lossy().into_owned(),
                undo: String::new(),
                recorded_at: String::new(),
            },
            undo_id: undo_id.to_string(),
            undoing: false,
        };
        j.save(None).await?;
        Ok(j)
    }

    /// The journal of `recover --undo UNDO_ID` (job `job_id`), whose undo file is at `undo_file`:
    /// recorded before the undo connects to write, and again with its transaction id.
    pub(crate) async fn record_undo(
        engine: &Engine,
        job_id: String,
        spec: &ConnSpec,
        target_project: Option<String>,
        undo_file: &std::path::Path,
        undo_id: &str,
    ) -> Result<RecoverJournal> {
        let mut j =
            RecoverJournal::record(engine, job_id, spec, target_project, undo_file, undo_id)
                .await?;
        j.undoing = true;
        j.save(None).await?;
        Ok(j)
    }

    async fn save(&self, txid: Option<i64>) -> Result<()> {
        let undo = serde_json::to_string(&RecoverUndo {
            undo_id: self.undo_id.clone(),
            txid,
            undoing: self.undoing,
        })
        .map_err(|e| Error::internal(format!("encoding a recovery's journal: {e}")))?;
        let mut entry = self.entry.clone();
        entry.undo = undo;
        self.engine
            .catalog
            .record_journal(&entry)
            .await
            .map_err(|e| {
                e.context(
                    "recording what the recovery is about to do failed, so nothing was recovered",
                )
            })
    }
}

impl crate::recover::RecordTxid for RecoverJournal {
    fn record(&self, txid: i64) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.save(Some(txid)))
    }
}

fn label_of(spec: &ConnSpec) -> String {
    format!("database {} on {}", spec.database, spec.location())
}

/// At start: settle every journal an interrupted job left, with the credentials at hand (a
/// project's own password; for a URL target, what libpq's environment gives). A journal another
/// process is settling is left to it. Never fails the start: what cannot be settled is said in
/// the job.
pub(crate) async fn settle_all(engine: &Engine) -> Result<()> {
    for entry in engine.catalog.unsettled_journals().await? {
        if entry.work == JournalWork::StorageRestore {
            if let Err(e) = settle(engine, &entry, None).await {
                tracing::warn!("settling interrupted job {}: {e}", entry.job_id);
            }
            continue;
        }
        let password = match &entry.target_project {
            Some(id) => match engine.catalog.project_by_id(id).await {
                Ok(p) => engine.password_of(&p).await.unwrap_or(None),
                Err(_) => None,
            },
            None => None,
        };
        let target = match ConnSpec::parse_url(&entry.target) {
            Ok((spec, _)) => RestoreTarget { spec, password },
            Err(e) => {
                tracing::warn!("the journal of job {} names no target: {e}", entry.job_id);
                continue;
            }
        };
        if let Err(e) = settle(engine, &entry, Some(&target)).await {
            tracing::warn!("settling interrupted job {}: {e}", entry.job_id);
        }
    }
    Ok(())
}

/// Before a restore into `target`: settle the journals interrupted jobs left on the same
/// database, with this restore's password, so that what a killed restore created is gone
/// before this one plans. A journal that still cannot be settled stops the restore, saying why.
pub(crate) async fn settle_target(engine: &Engine, target: &RestoreTarget) -> Result<()> {
    for entry in engine.catalog.unsettled_journals().await? {
        if entry.work == JournalWork::StorageRestore {
            continue;
        }
        let Ok((spec, _)) = ConnSpec::parse_url(&entry.target) else {
            continue;
        };
        let same = spec.host == target.spec.host
            && spec.port == target.spec.port
            && spec.database == target.spec.database;
        if same && !settle(engine, &entry, Some(target)).await? {
            let job = engine.catalog.job(&entry.job_id).await?;
            return Err(Error::new(
                crate::error::ErrorKind::Interrupted,
                job.error_message.unwrap_or_default(),
            )
            .with_hint(job.error_hint.unwrap_or_default()));
        }
    }
    Ok(())
}

/// Settle one journal: returns whether the target is back to how it was (the journal is gone);
/// either way the job says what is there. `Ok(false)` also when another process holds the
/// journal's lock (it settles it). `target`: a database journal's target with its password
/// (a storage journal finds its own).
pub(crate) async fn settle(
    engine: &Engine,
    entry: &JournalEntry,
    target: Option<&RestoreTarget>,
) -> Result<bool> {
    let lock_name = format!("journal-{}.lock", entry.job_id);
    let Some(lock) = crate::ops::runner::try_named_lock(engine, &lock_name)? else {
        return Ok(false);
    };
    // Settled meanwhile by the process that held the lock.
    if engine.catalog.journal(&entry.job_id).await?.is_none() {
        return Ok(true);
    }
    let (message, hint, settled) = match (entry.work, target) {
        (JournalWork::StorageRestore, _) => {
            super::interrupted_storage::settle(engine, entry).await?
        }
        (_, None) => {
            return Err(Error::internal(format!(
                "settling job {}: its database target was not given",
                entry.job_id
            )))
        }
        (JournalWork::Recover, Some(t)) => settle_recover(engine, entry, t).await?,
        (JournalWork::RestoreParallel | JournalWork::RestoreOne, Some(t)) => {
            settle_restore(engine, entry, t).await?
        }
        (JournalWork::Replay, Some(t)) => settle_replay(engine, entry, t).await?,
    };
    engine
        .catalog
        .settle_journal(&entry.job_id, &message, &hint, settled)
        .await?;
    drop(lock);
    if settled {
        // Nothing will settle this journal again: its lock file goes.
        let _ = std::fs::remove_file(engine.data_dir.join("locks").join(&lock_name));
    }
    Ok(settled)
}

/// What an interrupted recovery left: its transaction committed (its undo file is named now),
/// or not (the server rolled it back; its unfinished undo file goes) — asked of the server by
/// the transaction id the journal holds.
async fn settle_recover(
    engine: &Engine,
    entry: &JournalEntry,
    target: &RestoreTarget,
) -> Result<(String, String, bool)> {
    let undo: RecoverUndo = serde_json::from_str(&entry.undo).map_err(|e| {
        Error::internal(format!(
            "the journal of job {} is unreadable: {e}",
            entry.job_id
        ))
    })?;
    let label = &entry.target_label;
    let dir = engine.data_dir.join(crate::ops::recover::RECOVER_DIR);
    if undo.undoing {
        return settle_undo(target, &dir, &undo, label).await;
    }
    let again = "run the same recovery again (offsite recover …)";
    let rolled_back = |why: &str| {
        crate::recover::remove_left_undo(&dir, &undo.undo_id);
        (
            format!(
                "interrupted (Offsite stopped while it ran): {why}, so {label} holds none of \
                 the recovery's rows"
            ),
            again.to_string(),
            true,
        )
    };
    let Some(txid) = undo.txid else {
        return Ok(rolled_back("the recovery had not begun to write"));
    };
    let status = recovery_status(target, txid).await;
    Ok(match status.as_ref().map(|s| s.as_deref()) {
        Ok(Some("committed")) => match crate::recover::register_left_undo(&dir, &undo.undo_id) {
            Ok(Some(_)) => (
                format!(
                    "interrupted (Offsite stopped while it ran) after the recovery had \
                     committed: its rows are in {label}"
                ),
                format!(
                    "nothing is left to do; to take the recovery back: offsite recover --undo {}",
                    undo.undo_id
                ),
                true,
            ),
            _ => (
                format!(
                    "interrupted (Offsite stopped while it ran) after the recovery had \
                     committed: its rows are in {label}, but its undo file was not complete, \
                     so Offsite cannot take it back"
                ),
                "check the recovered rows in the target".to_string(),
                true,
            ),
        },
        Ok(Some("aborted")) | Ok(None) => {
            rolled_back("the server rolled the recovery's transaction back")
        }
        Ok(Some(other)) => (
            format!(
                "interrupted (Offsite stopped while it ran): the recovery's transaction is still \
                 {other} on the server"
            ),
            "run offsite history again in a moment: it asks the server again".to_string(),
            false,
        ),
        Err(e) => (
            format!(
                "interrupted (Offsite stopped while it ran): whether the recovery committed in \
                 {label} is not known: {}",
                e.message()
            ),
            format!(
                "{again}: it asks the server first (a URL target's password in PGPASSWORD); or \
                 run offsite history once {label} can be reached"
            ),
            false,
        ),
    })
}

/// What an interrupted `recover --undo ID` left: the undo committed (its undo file is marked
/// undone now, as the undo does when it ends), or not (the server rolled it back: the
/// recovery's rows are still there, and the same undo takes them back).
async fn settle_undo(
    target: &RestoreTarget,
    dir: &std::path::Path,
    undo: &RecoverUndo,
    label: &str,
) -> Result<(String, String, bool)> {
    let id = &undo.undo_id;
    let stopped = "interrupted (Offsite stopped while it ran)";
    let again = format!("offsite recover --undo {id}");
    let not_undone = |why: &str| {
        (
            format!(
                "{stopped}: {why}, so {label} still holds the rows of recovery {id} as the \
                 recovery left them"
            ),
            format!("run the undo again: {again}"),
            true,
        )
    };
    let Some(txid) = undo.txid else {
        return Ok(not_undone("the undo had not begun to write"));
    };
    let status = recovery_status(target, txid).await;
    Ok(match status.as_ref().map(|s| s.as_deref()) {
        Ok(Some("committed")) => {
            let file = dir.join(crate::recover::undo_file_name(id));
            let done = dir.join(format!("{id}.undone"));
            if file.is_file() {
                std::fs::rename(&file, &done)
                    .map_err(|e| Error::io(format!("marking {} undone", file.display()), e))?;
            }
            (
                format!(
                    "{stopped} after the undo had committed: recovery {id} is undone in {label}"
                ),
                "nothing is left to do".to_string(),
                true,
            )
        }
        Ok(Some("aborted")) | Ok(None) => {
            not_undone("the server rolled the undo's transaction back")
        }
        Ok(Some(other)) => (
            format!("{stopped}: the undo's transaction is still {other} on the server"),
            "run offsite history again in a moment: it asks the server again".to_string(),
            false,
        ),
        Err(e) => (
            format!(
                "{stopped}: whether the undo of recovery {id} committed in {label} is not known: {}",
                e.message()
            ),
            format!(
                "run the undo again ({again}): it asks the server first (a URL target's \
                 password in PGPASSWORD); or run offsite history once {label} can be reached"
            ),
            false,
        ),
    })
}

/// The server's word on a dead recovery's transaction. One still in progress belongs to a
/// session whose Offsite is gone (the job's lock was free): nothing will ever commit it, and
/// the server only notices the client left when it next writes to it — so its session is
/// ended here (the same role may end its own sessions) and the server asked again, for up to
/// ten seconds, until it has rolled the transaction back.
async fn recovery_status(target: &RestoreTarget, txid: i64) -> Result<Option<String>> {
    async fn ask(
        conn: &mut sqlx::postgres::PgConnection,
        txid: i64,
    ) -> sqlx::Result<Option<String>> {
        sqlx::query_scalar("SELECT txid_status($1)::text")
            .bind(txid)
            .fetch_one(conn)
            .await
    }
    let mut conn = target.spec.connect(target.password.as_deref()).await?;
    let mut status = ask(&mut conn, txid)
        .await
        .map_err(|e| target.spec.map_sqlx(e))?;
    if status.as_deref() == Some("in progress") {
        // backend_xid is the transaction id's low 32 bits (the epoch is the current one).
        let ended: Option<bool> = sqlx::query_scalar(
            "SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE backend_xid IS NOT NULL \
               AND backend_xid::text::bigint = ($1::bigint % 4294967296) \
               AND pid <> pg_backend_pid()",
        )
        .bind(txid)
        .fetch_one(&mut conn)
        .await
        .map_err(|e| target.spec.map_sqlx(e))?;
        if ended == Some(true) {
            let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while status.as_deref() == Some("in progress") && std::time::Instant::now() < until {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                status = ask(&mut conn, txid)
                    .await
                    .map_err(|e| target.spec.map_sqlx(e))?;
            }
        }
    }
    let _ = sqlx::Connection::close(conn).await;
    Ok(status)
}

/// What an interrupted restore to a time left: its base and part of its changes, dropped again
/// (the target held none of the base before it).
async fn settle_replay(
    engine: &Engine,
    entry: &JournalEntry,
    target: &RestoreTarget,
) -> Result<(String, String, bool)> {
    let undo: ReplayUndo = serde_json::from_str(&entry.undo).map_err(|e| {
        Error::internal(format!(
            "the journal of job {} is unreadable: {e}",
            entry.job_id
        ))
    })?;
    let label = &entry.target_label;
    let again = format!(
        "offsite restore {} --at {} --to {}",
        shell_word(&undo.project),
        shell_word(&undo.at),
        shell_word(&to_of(engine, entry).await)
    );
    let archive = PathBuf::from(&entry.archive);
    let keys = crate::ops::encrypted_read::project_keys_of_archive(engine, &archive)
        .await
        .unwrap_or_default();
    let _unlocked = crate::archive::unlock(&archive, keys);
    let pg_bin = engine.pg_bin();
    // The temporary login role of `--as-role` first (its sessions ended), then what it made.
    let role_dropped = match &undo.as_role {
        Some(role) => {
            let name = crate::postgres::restore::as_role::temp_name(&entry.job_id);
            crate::postgres::restore::as_role::drop_left(target, &name, role).await
        }
        None => Ok(()),
    };
    let undone = match role_dropped {
        Ok(()) => {
            crate::postgres::restore::undo_interrupted(
                pg_bin.as_deref(),
                target,
                &archive,
                &undo.undo,
            )
            .await
        }
        Err(e) => Err(e),
    };
    Ok(match undone {
        Ok(()) => (
            format!(
                "interrupted (Offsite stopped while it ran): the restore of {} to {} had \
                 restored its base and part of its changes into {label}; what it had created \
                 there was dropped again at the next start, so the target is as it was before",
                undo.project, undo.at
            ),
            format!("run the restore again: {again}"),
            true,
        ),
        Err(e) => (
            format!(
                "interrupted (Offsite stopped while it ran): {label} may hold the base of the \
                 restore of {} to {} and part of its changes; Offsite could not drop what it \
                 created: {}",
                undo.project,
                undo.at,
                e.message()
            ),
            format!(
                "run the same restore again ({again}): it first drops what this one created \
                 (a URL target's password in PGPASSWORD); or drop and create the database again"
            ),
            false,
        ),
    })
}

/// A restore to a time cancelled while it replayed (`cancelled`: the replay's error, which
/// says what the target was left with): what its base and the replay wrote is dropped again
/// from the job's journal, so the target is as it was before. Returns the error to end the job
/// with: the cancel and the target as it was, or — when the journal is missing or the drop
/// fails — `cancelled` with why the target could not be returned.
pub(crate) async fn undo_cancelled_replay(
    engine: &Engine,
    job_id: &str,
    target: &RestoreTarget,
    cancelled: Error,
) -> Error {
    let entry = match engine.catalog.journal(job_id).await {
        Ok(Some(e)) if e.work == JournalWork::Replay => e,
        _ => return cancelled,
    };
    let Ok(undo) = serde_json::from_str::<ReplayUndo>(&entry.undo) else {
        return cancelled;
    };
    let archive = PathBuf::from(&entry.archive);
    let keys = crate::ops::encrypted_read::project_keys_of_archive(engine, &archive)
        .await
        .unwrap_or_default();
    let _unlocked = crate::archive::unlock(&archive, keys);
    let pg_bin = engine.pg_bin();
    let undone =
        crate::postgres::restore::undo_interrupted(pg_bin.as_deref(), target, &archive, &undo.undo)
            .await;
    let again = format!(
        "offsite restore {} --at {} --to {}",
        shell_word(&undo.project),
        shell_word(&undo.at),
        shell_word(&to_of(engine, &entry).await)
    );
    match undone {
        Ok(()) => Error::new(
            crate::error::ErrorKind::Cancelled,
            format!(
                "restoring {} to {} was cancelled while replaying its changes; what it had \
                 restored into {} (its base and the changes replayed so far) was dropped again, \
                 so the target is as it was before",
                undo.project, undo.at, entry.target_label
            ),
        )
        .with_hint(format!("run the restore again when ready: {again}")),
        Err(u) => {
            let message = format!(
                "{} Dropping what it created failed too: {}",
                cancelled.message(),
                u.message()
            );
            let hint = cancelled.hint().unwrap_or_default().to_string();
            Error::new(crate::error::ErrorKind::Cancelled, message).with_hint(hint)
        }
    }
}

/// What an interrupted restore left (see the module's description).
async fn settle_restore(
    engine: &Engine,
    entry: &JournalEntry,
    target: &RestoreTarget,
) -> Result<(String, String, bool)> {
    let undo: RestoreUndo = serde_json::from_str(&entry.undo).map_err(|e| {
        Error::internal(format!(
            "the journal of job {} is unreadable: {e}",
            entry.job_id
        ))
    })?;
    let label = &entry.target_label;
    let again = again_command(engine, entry).await;
    // The temporary login role of `--as-role` first (its sessions ended), then what it made.
    if let Some(role) = &undo.as_role {
        let name = crate::postgres::restore::as_role::temp_name(&entry.job_id);
        if let Err(e) = crate::postgres::restore::as_role::drop_left(target, &name, role).await {
            return Ok((
                format!(
                    "interrupted (Offsite stopped while it ran): the temporary login role {name} \
                     it made for --as-role {role} may still be on the server of {label}, and \
                     {label} may hold part of the restore; Offsite could not drop the role: {}",
                    e.message()
                ),
                format!(
                    "run the same restore again ({again}): it first drops the role and what \
                     this one created (a URL target's password in PGPASSWORD)"
                ),
                false,
            ));
        }
    }
    if undo.before_writing {
        return Ok((
            format!(
                "interrupted (Offsite stopped while it ran) before the restore began to write: \
                 {label} is as it was{}",
                if undo.as_role.is_some() {
                    "; the temporary login role it had made for --as-role was dropped"
                } else {
                    ""
                }
            ),
            format!("run the restore again: {again}"),
            true,
        ));
    }
    Ok(match undo.note {
        JournalNote::Parallel(undo) => {
            let archive = PathBuf::from(&entry.archive);
            let keys = crate::ops::encrypted_read::project_keys_of_archive(engine, &archive)
                .await
                .unwrap_or_default();
            let _unlocked = crate::archive::unlock(&archive, keys);
            let pg_bin = engine.pg_bin();
            match crate::postgres::restore::undo_interrupted(
                pg_bin.as_deref(),
                target,
                &archive,
                &undo,
            )
            .await
            {
                Ok(()) => (
                    format!(
                        "interrupted (Offsite stopped while it ran): the restore ran as \
                         pg_restore -j (not one transaction); what it had created in {label} \
                         was dropped again at the next start, so the target is as it was before"
                    ),
                    format!("run the restore again: {again}"),
                    true,
                ),
                Err(e) if e.kind() == crate::error::ErrorKind::Conflict => (
                    format!(
                        "interrupted (Offsite stopped while it ran): the restore ran as \
                         pg_restore -j (not one transaction); what it had created in {label} \
                         was dropped again at the next start, except what the target refused: {}",
                        e.message()
                    ),
                    format!(
                        "{}; or the next start of Offsite drops it once nothing refuses",
                        e.hint().unwrap_or_default()
                    ),
                    false,
                ),
                Err(e) => (
                    format!(
                        "interrupted (Offsite stopped while it ran): {label} may hold part of \
                         the restore (pg_restore -j, not one transaction); Offsite could not \
                         drop what it created: {}",
                        e.message()
                    ),
                    format!(
                        "run the same restore again ({again}): it first drops what this one \
                         created; or drop and create the database again"
                    ),
                    false,
                ),
            }
        }
        JournalNote::OneTransaction { safety_backup } => {
            let back = match &safety_backup {
                Some(p) => format!(
                    "; the safety backup of the target as it was before is at {} (go back to \
                     it with: offsite restore {} --to {} --replace)",
                    p.display(),
                    shell_word(&p.to_string_lossy()),
                    shell_word(&to_of(engine, entry).await)
                ),
                None => String::new(),
            };
            (
                format!(
                    "interrupted (Offsite stopped while it ran): the restore ran in one \
                     transaction, which the server rolls back when its session ends, so {label} \
                     holds none of it unless the commit itself had been reached{back}"
                ),
                format!("run the restore again: {again}"),
                true,
            )
        }
    })
}

/// `--to` of the journal's target: the saved project's name, or the URL (no password).
async fn to_of(engine: &Engine, entry: &JournalEntry) -> String {
    if let Some(id) = &entry.target_project {
        if let Ok(p) = engine.catalog.project_by_id(id).await {
            return p.name;
        }
    }
    entry.target.clone()
}

/// The restore to run again (the one command that finishes an interrupted restore).
async fn again_command(engine: &Engine, entry: &JournalEntry) -> String {
    let replace = if entry.target_empty { "" } else { " --replace" };
    format!(
        "offsite restore {} --to {}{replace}",
        shell_word(&entry.archive),
        shell_word(&to_of(engine, entry).await)
    )
}

/// `s` as one word of a shell command (single-quoted when it needs it).
pub(crate) fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@=+,%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn shell_words_are_quoted_when_they_must_be() {
        assert_eq!(shell_word("/b/shop_1.tar.zst"), "/b/shop_1.tar.zst");
        assert_eq!(
            shell_word("postgres://app@db:5432/dst?sslmode=require"),
            "'postgres://app@db:5432/dst?sslmode=require'"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
