//! The journal of a storage restore (issue 63, item 2), beside [`super::interrupted`]'s of the
//! database restores.
//!
//! Before a storage restore writes anything (a bucket created, an object written) it records in
//! the catalog where it writes and a note of what ([`StorageJournalNote`], in a private file of
//! the data folder: a restore of many objects outgrows a catalog row). When its process dies,
//! the next start of Offsite ([`settle`]) removes the objects it wrote where the target had
//! none (the target is as it was) and says, where it cannot prove what is there, exactly that:
//! the objects it was overwriting may hold the backup's content or the old; a mirror restore
//! killed while deleting had written every object. Either way the one command that finishes it
//! is the same restore again.

use crate::catalog::{JournalEntry, JournalWork};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::restore::StorageTo;
use crate::storage::restore::journal::{
    undo_interrupted, RecordStorageJournal, StorageJournal, StorageJournalNote,
};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder of the notes in the data folder.
const NOTES_DIR: &str = "journals";
/// The most a note file may hold (it lists every object the restore writes).
const MAX_NOTE: u64 = 512 << 20;

/// Where a storage restore writes, as its journal keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Dest {
    Folder(PathBuf),
    /// A saved project's bucket store (its id; its credentials are the project's own).
    Project(String),
}

/// What the journal's `undo` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StorageUndo {
    dest: Dest,
    /// The note's file.
    note: PathBuf,
    /// Mirror mode: every object was written and deleting the target's extra objects began.
    #[serde(default)]
    deleting: bool,
    mirror: bool,
    overwrite: bool,
    /// The database component restored before the storage's, in the same job or an earlier
    /// step of the same restore (its label).
    #[serde(default)]
    database_done: Option<String>,
    /// The one command that finishes it (journals recorded before it was kept: made from the
    /// fields above).
    #[serde(default)]
    again: Option<String>,
}

/// What a storage restore that is a step of a larger restore says when it is interrupted or
/// fails (the storage of a whole project restored to a time, `ops::pitr::whole`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PartOf {
    /// The one command that finishes the larger restore from this step on.
    pub again: Option<String>,
    /// What an earlier step restored (its label).
    pub database_done: Option<String>,
}

/// `offsite restore ARCHIVE --components storage --storage-to TO …`: the storage restore of
/// `opts` into `to` (a folder's absolute path or a project's name) run again.
pub(crate) fn again_of(
    archive: &Path,
    to: &str,
    opts: &crate::storage::StorageRestoreOptions,
) -> String {
    let mut s = format!(
        "offsite restore {} --components storage --storage-to {}",
        super::interrupted::shell_word(&archive.to_string_lossy()),
        super::interrupted::shell_word(to)
    );
    s.push_str(&storage_flags(opts));
    s
}

/// The storage flags of a restore command for `opts` (` --buckets …`, ` --overwrite`,
/// ` --mirror --yes`).
pub(crate) fn storage_flags(opts: &crate::storage::StorageRestoreOptions) -> String {
    let mut s = String::new();
    if let crate::storage::layout::BucketSelection::Only(b) = &opts.buckets {
        s.push_str(&format!(
            " --buckets {}",
            super::interrupted::shell_word(&b.join(","))
        ));
    }
    if opts.overwrite {
        s.push_str(" --overwrite");
    }
    if opts.mirror {
        s.push_str(" --mirror --yes");
    }
    s
}

/// The word `--storage-to` takes for `to`: a folder's absolute path, or the project's name.
pub(crate) fn to_word(to: &StorageTo) -> String {
    match to {
        StorageTo::Folder(dir) => std::path::absolute(dir)
            .unwrap_or_else(|_| dir.clone())
            .to_string_lossy()
            .into_owned(),
        StorageTo::Project(name) => name.clone(),
    }
}

/// A restore job's storage journal.
pub(crate) struct StorageJournalRec {
    engine: Engine,
    job_id: String,
    entry: JournalEntry,
    undo: std::sync::Mutex<StorageUndo>,
}

/// The journal a storage restore into `to` of job `job_id` records in.
pub(crate) async fn journal_for(
    engine: &Engine,
    job_id: &str,
    to: &StorageTo,
    archive: &Path,
    opts: &crate::storage::StorageRestoreOptions,
    part: PartOf,
) -> Result<StorageJournal> {
    let (dest, target, target_project, label) = match to {
        StorageTo::Folder(dir) => {
            let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
            (
                Dest::Folder(dir.clone()),
                format!("folder:{}", dir.display()),
                None,
                format!("folder {}", dir.display()),
            )
        }
        StorageTo::Project(name) => {
            let p = engine.catalog.project(name).await?;
            (
                Dest::Project(p.id.clone()),
                format!("storage:{}", p.id),
                Some(p.id.clone()),
                format!("the bucket store of project {}", p.name),
            )
        }
    };
    let note = engine
        .data_dir
        .join(NOTES_DIR)
        .join(format!("{job_id}.storage.json"));
    let again = part
        .again
        .unwrap_or_else(|| again_of(archive, &to_word(to), opts));
    Ok(StorageJournal(Arc::new(StorageJournalRec {
        engine: engine.clone(),
        job_id: job_id.to_string(),
        entry: JournalEntry {
            job_id: job_id.to_string(),
            work: JournalWork::StorageRestore,
            target,
            target_project,
            target_label: label,
            target_empty: false,
            archive: archive.to_string_lossy().into_owned(),
            undo: String::new(),
            recorded_at: String::new(),
        },
        undo: std::sync::Mutex::new(StorageUndo {
            dest,
            note,
            deleting: false,
            mirror: opts.mirror,
            overwrite: opts.overwrite,
            database_done: part.database_done,
            again: Some(again),
        }),
    })))
}

impl StorageJournalRec {
    async fn save(&self) -> Result<()> {
        let undo = self.undo.lock().expect("not poisoned").clone();
        let mut entry = self.entry.clone();
        entry.undo = serde_json::to_string(&undo)
            .map_err(|e| Error::internal(format!("encoding a storage restore's journal: {e}")))?;
        self.engine.catalog.record_journal(&entry).await
    }
}

impl RecordStorageJournal for StorageJournalRec {
    fn writing(&self, note: StorageJournalNote) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let path = self.undo.lock().expect("not poisoned").note.clone();
            let bytes = serde_json::to_vec(&note)
                .map_err(|e| Error::internal(format!("encoding a storage restore's note: {e}")))?;
            let written = tokio::task::spawn_blocking(move || {
                if let Some(dir) = path.parent() {
                    crate::private_fs::create_dir_all(dir)?;
                }
                crate::private_fs::write_atomic(&path, &bytes)
            })
            .await
            .map_err(|e| Error::internal(format!("writing a storage restore's note: {e}")))?;
            written.map_err(|e| {
                Error::io(
                    format!("writing what job {} is about to restore", self.job_id),
                    e,
                )
            })?;
            self.save().await.map_err(|e| {
                e.context("recording what the storage restore is about to do failed, so nothing was restored")
            })
        })
    }

    fn deleting(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.undo.lock().expect("not poisoned").deleting = true;
            self.save().await
        })
    }

    fn again(&self) -> Option<String> {
        self.undo.lock().expect("not poisoned").again.clone()
    }
}

/// The note file of job `job_id`'s storage journal goes (its job ended on its own).
pub(crate) fn forget_note(engine: &Engine, job_id: &str) {
    let _ = std::fs::remove_file(
        engine
            .data_dir
            .join(NOTES_DIR)
            .join(format!("{job_id}.storage.json")),
    );
}

fn read_undo(entry: &JournalEntry) -> Result<StorageUndo> {
    serde_json::from_str(&entry.undo).map_err(|e| {
        Error::internal(format!(
            "the journal of job {} is unreadable: {e}",
            entry.job_id
        ))
    })
}

/// `restore ARCHIVE --components storage --storage-to …`: the one command that finishes an
/// interrupted storage restore.
async fn again_command(engine: &Engine, entry: &JournalEntry, undo: &StorageUndo) -> String {
    if let Some(again) = &undo.again {
        return again.clone();
    }
    let to = match &undo.dest {
        Dest::Folder(dir) => dir.to_string_lossy().into_owned(),
        Dest::Project(id) => match engine.catalog.project_by_id(id).await {
            Ok(p) => p.name,
            Err(_) => id.clone(),
        },
    };
    let mut s = format!(
        "offsite restore {} --components storage --storage-to {}",
        super::interrupted::shell_word(&entry.archive),
        super::interrupted::shell_word(&to)
    );
    if undo.overwrite {
        s.push_str(" --overwrite");
    }
    if undo.mirror {
        s.push_str(" --mirror --yes");
    }
    s
}

/// What an interrupted storage restore left (see the module's description): the job's message
/// and hint, and whether the journal is settled.
pub(crate) async fn settle(
    engine: &Engine,
    entry: &JournalEntry,
) -> Result<(String, String, bool)> {
    let undo = read_undo(entry)?;
    let label = &entry.target_label;
    let again = again_command(engine, entry, &undo).await;
    let before = match &undo.database_done {
        Some(db) => format!("the database component had been restored into {db}; "),
        None => String::new(),
    };
    let stopped = "interrupted (Offsite stopped while it ran)";
    if undo.deleting {
        return Ok((
            format!(
                "{stopped}: {before}the storage restore into {label} had written every object \
                 of the backup and was deleting the objects the backup lacks (mirror): some of \
                 them may be deleted, the others are still there"
            ),
            format!("run the same restore again to finish it: {again}"),
            true,
        ));
    }
    let read = {
        let path = undo.note.clone();
        tokio::task::spawn_blocking(move || read_note(&path))
            .await
            .map_err(|e| Error::internal(format!("reading a storage restore's note: {e}")))?
    };
    let note = match read {
        Ok(n) => n,
        Err(e) => {
            return Ok((
                format!(
                    "{stopped}: {before}{label} may hold part of the storage restore; what it \
                     wrote cannot be read back: {}",
                    e.message()
                ),
                format!("run the same restore again to finish it: {again}"),
                true,
            ))
        }
    };
    let target = match &undo.dest {
        Dest::Folder(dir) => Ok(crate::storage::StorageTargetRef::Folder(dir.clone())),
        Dest::Project(id) => match engine.catalog.project_by_id(id).await {
            Ok(p) => {
                super::restore_parts::storage_target(engine, &StorageTo::Project(p.name)).await
            }
            Err(e) => Err(e),
        },
    };
    let undone = match target {
        Ok(t) => undo_interrupted(&t, &note, &settle_retry()).await,
        Err(e) => Err(e),
    };
    let done = match undone {
        Ok(d) => d,
        Err(e) => {
            return Ok((
                format!(
                    "{stopped}: {before}{label} may hold part of the storage restore; Offsite \
                     could not remove the objects it had written where there were none: {}",
                    e.message()
                ),
                format!(
                    "run the same restore again ({again}): it first removes what this one wrote"
                ),
                false,
            ))
        }
    };
    forget_note(engine, &entry.job_id);
    let (said, as_before) = done.said(&note, " at the next start");
    let message =
        format!("{stopped}: {before}the storage restore into {label} had begun to write; {said}");
    let hint = if as_before {
        format!("run the restore again: {again}")
    } else {
        format!("run the same restore again to finish it: {again}")
    };
    Ok((message, hint, true))
}

/// How the next start asks a store while it settles: briefly (every command starts with it).
fn settle_retry() -> crate::retry::RetryPolicy {
    crate::retry::RetryPolicy {
        max_attempts: 2,
        min_delay: std::time::Duration::from_millis(500),
        max_delay: std::time::Duration::from_secs(1),
        max_total: std::time::Duration::from_secs(10),
        jitter: true,
    }
}

/// The note at `path`, bounded.
fn read_note(path: &Path) -> Result<StorageJournalNote> {
    use std::io::Read;
    let f = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut buf = Vec::new();
    f.take(MAX_NOTE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if buf.len() as u64 > MAX_NOTE {
        return Err(Error::integrity(format!(
            "{} is larger than {}",
            path.display(),
            crate::units::format_bytes(MAX_NOTE)
        )));
    }
    serde_json::from_slice(&buf)
        .map_err(|e| Error::integrity(format!("{} is unreadable: {e}", path.display())))
}

/// Before a storage restore into `to`: settle the journals interrupted storage restores left on
/// the same target, so that what a killed one wrote is gone before this one plans (the start
/// settled them already, unless it could not). A journal that still cannot be settled stops
/// the restore, saying why.
pub(crate) async fn settle_target(engine: &Engine, to: &StorageTo) -> Result<()> {
    let target = match to {
        StorageTo::Folder(dir) => {
            let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
            format!("folder:{}", dir.display())
        }
        StorageTo::Project(name) => match engine.catalog.project(name).await {
            Ok(p) => format!("storage:{}", p.id),
            Err(_) => return Ok(()),
        },
    };
    for entry in engine.catalog.unsettled_journals().await? {
        if entry.work == JournalWork::StorageRestore
            && entry.target == target
            && !super::interrupted::settle(engine, &entry, None).await?
        {
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
