//! What a storage restore is about to write, given to its journal before the first write
//! (issue 63, item 2: a job that dies leaves a journal), and the undo of an interrupted one.
//!
//! The note lists every object the restore writes where the target had none (a folder: the
//! file's path inside the bucket's folder), the buckets it creates, and how many objects it
//! overwrites (their old content is not kept: Offsite cannot prove what they hold after a
//! kill). [`undo_interrupted`] removes what the restore wrote where there was nothing — an
//! object whose size is no longer the backup's was written by someone else since, and is kept.

use super::{folder, Decision, Prepared, StorageTargetRef};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use futures::future::BoxFuture;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One object a storage restore writes where the target had none.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NewObject {
    /// The target bucket (a folder: the bucket's folder).
    pub bucket: String,
    /// An object store: the key; a folder: the file's path inside the bucket's folder
    /// (`/`-separated segments).
    pub key: String,
    /// Its size as the backup has it (`None`: the folder's map of encoded names).
    pub size: Option<u64>,
}

/// What a storage restore is about to write.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StorageJournalNote {
    /// Buckets (target names) it creates; a folder: their folders.
    pub create_buckets: Vec<String>,
    /// A folder target: whether the folder itself was there.
    pub dir_existed: bool,
    /// The objects it writes where the target had none.
    pub new: Vec<NewObject>,
    /// How many objects it overwrites, and the first of them (`bucket/key`, at most 20).
    pub overwrite: u64,
    pub overwrite_sample: Vec<String>,
    /// Mirror mode: how many objects of the target it deletes once every object is written.
    pub delete: u64,
}

/// Records a storage restore's journal where the next start finds it (the operation supplies
/// it: the catalog's journal of the job). A failure to record stops the restore before it
/// writes.
pub trait RecordStorageJournal: Send + Sync {
    /// Before the first write (a bucket created, an object written): what the restore writes.
    fn writing(&self, note: StorageJournalNote) -> BoxFuture<'_, Result<()>>;
    /// Mirror mode: every object is written, deleting the target's objects the backup lacks
    /// begins (what is deleted cannot be brought back).
    fn deleting(&self) -> BoxFuture<'_, Result<()>>;
    /// The one command that runs this restore again (said when a failure leaves the target
    /// other than it was).
    fn again(&self) -> Option<String> {
        None
    }
}

/// The journal a storage restore records in ([`super::StorageRestoreOptions::journal`]).
#[derive(Clone)]
pub struct StorageJournal(pub Arc<dyn RecordStorageJournal>);

impl std::fmt::Debug for StorageJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageJournal")
    }
}

/// The note of a prepared restore into `target`.
pub(super) fn note_of(p: &Prepared, target: &StorageTargetRef) -> StorageJournalNote {
    const SAMPLE: usize = 20;
    let sel = &p.sel;
    let mut note = StorageJournalNote {
        create_buckets: sel
            .buckets
            .iter()
            .zip(&p.exists)
            .filter(|(_, e)| !**e)
            .map(|(b, _)| b.target.clone())
            .collect(),
        delete: p.deletions.len() as u64,
        ..StorageJournalNote::default()
    };
    let places = match target {
        StorageTargetRef::Folder(dir) => {
            note.dir_existed = dir.is_dir();
            Some(folder::places(sel))
        }
        StorageTargetRef::Store(_) => None,
    };
    // Folder buckets whose map of encoded names gets entries.
    let mut encoded: BTreeSet<usize> = BTreeSet::new();
    for (i, (item, d)) in sel.items.iter().zip(&p.decisions).enumerate() {
        let bucket = &sel.buckets[item.bucket].target;
        let e = sel.entry(item);
        let key = match &places {
            Some(places) => {
                if places[i].1 && matches!(d, Decision::New | Decision::Overwrite) {
                    encoded.insert(item.bucket);
                }
                places[i].0.join("/")
            }
            None => e.key.clone(),
        };
        match d {
            Decision::New => note.new.push(NewObject {
                bucket: bucket.clone(),
                key,
                size: Some(e.size),
            }),
            Decision::Overwrite => {
                note.overwrite += 1;
                if note.overwrite_sample.len() < SAMPLE {
                    note.overwrite_sample.push(format!("{bucket}/{}", e.key));
                }
            }
            Decision::Identical | Decision::Keep => {}
        }
    }
    if let StorageTargetRef::Folder(dir) = target {
        for bi in encoded {
            let bucket = &sel.buckets[bi].target;
            if dir.join(bucket).join(folder::KEYS_FILE).exists() {
                note.overwrite += 1;
                if note.overwrite_sample.len() < SAMPLE {
                    note.overwrite_sample
                        .push(format!("{bucket}/{}", folder::KEYS_FILE));
                }
            } else {
                note.new.push(NewObject {
                    bucket: bucket.clone(),
                    key: folder::KEYS_FILE.to_string(),
                    size: None,
                });
            }
        }
    }
    note
}

/// What [`undo_interrupted`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageUndone {
    /// Objects (files) the restore had written where there were none, removed.
    pub removed: u64,
    /// Objects it was to write that are there with another size (written by someone else
    /// since): kept (`bucket/key`, at most 20) and how many.
    pub changed: Vec<String>,
    pub changed_count: u64,
    /// Buckets it created that are left (an object store: Offsite does not delete buckets; a
    /// folder: one that holds other files).
    pub buckets_left: Vec<String>,
}

impl StorageUndone {
    fn changed(&mut self, what: String) {
        self.changed_count += 1;
        if self.changed.len() < 20 {
            self.changed.push(what);
        }
    }

    /// What the target holds after this undo of a restore that wrote `note`, in words ("the 3
    /// objects it had written where there were none were removed again{when}…, so the target
    /// is as it was before"), and whether it is as it was before.
    pub fn said(&self, note: &StorageJournalNote, when: &str) -> (String, bool) {
        let mut s = format!(
            "the {} it had written where there were none {} removed again{when}",
            crate::words::plural(self.removed, "object"),
            if self.removed == 1 { "was" } else { "were" }
        );
        let mut as_before = true;
        if self.changed_count > 0 {
            as_before = false;
            s.push_str(&format!(
                "; {} it was to write {} there with other content (written since), kept: {}",
                crate::words::plural(self.changed_count, "object"),
                if self.changed_count == 1 { "is" } else { "are" },
                self.changed.join(", ")
            ));
        }
        if !self.buckets_left.is_empty() {
            as_before = false;
            let one = self.buckets_left.len() == 1;
            s.push_str(&format!(
                "; the {} it created {} left: {}",
                if one { "bucket" } else { "buckets" },
                if one { "is" } else { "are" },
                self.buckets_left.join(", ")
            ));
        }
        if note.overwrite > 0 {
            as_before = false;
            s.push_str(&format!(
                "; it was to overwrite {} whose content differed ({}{}): each holds the \
                 backup's content or what was there before, Offsite cannot tell which and cannot \
                 put the old content back",
                crate::words::plural(note.overwrite, "object"),
                note.overwrite_sample.join(", "),
                if note.overwrite as usize > note.overwrite_sample.len() {
                    ", …"
                } else {
                    ""
                }
            ));
        }
        if as_before {
            s.push_str(", so the target is as it was before");
        }
        (s, as_before)
    }
}

/// A storage restore that failed or was cancelled part way (before a mirror's deletions
/// began): what it wrote where the target had nothing (`note`) is removed at once — the undo
/// the next start gives a killed one ([`undo_interrupted`]) — and its error `e` (its kind kept)
/// says what the target holds now; where that is not as before (an object it overwrote, a
/// bucket it made, the undo refused), its hint is the restore to run again to finish it.
pub(super) async fn undo_failed(
    target: &StorageTargetRef,
    note: &StorageJournalNote,
    opts: &super::StorageRestoreOptions,
    e: Error,
) -> Error {
    let again = opts.journal.as_ref().and_then(|j| j.0.again());
    let finish = || match &again {
        Some(c) => format!("run the same restore again to finish it: {c}"),
        None => "run the same restore again to finish it".to_string(),
    };
    let out = |message: String, hint: String| {
        let mut out = Error::new(e.kind(), message).with_hint(hint);
        if let Some(d) = e.detail() {
            out = out.with_detail(d);
        }
        out
    };
    match undo_interrupted(target, note, &opts.retry).await {
        Err(u) => out(
            format!(
                "{}; Offsite could not remove what it had written where there was nothing, so \
                 the target holds part of the restore: {}",
                e.message(),
                u.message()
            ),
            finish(),
        ),
        Ok(done) => {
            let (said, as_before) = done.said(note, "");
            let cancelled = e.kind() == crate::error::ErrorKind::Cancelled;
            let hint = match (as_before, e.hint(), &again) {
                (false, _, _) => finish(),
                (true, _, Some(c)) if cancelled => {
                    format!("nothing was kept; run it again when ready: {c}")
                }
                (true, Some(h), Some(c)) => format!("{h}; the restore to run again: {c}"),
                (true, Some(h), None) => h.to_string(),
                (true, None, Some(c)) => {
                    format!("run the restore again once the cause is fixed: {c}")
                }
                (true, None, None) => "run the restore again once the cause is fixed".to_string(),
            };
            out(format!("{}; {said}", e.message()), hint)
        }
    }
}

/// Remove what an interrupted storage restore into `target` wrote where the target had
/// nothing (`note`): objects of the backup's size (others were written since: kept), and in a
/// folder the temporary files it left, the folders it made that are empty again, its buckets'
/// folders and the folder itself when it made them and they are empty.
pub async fn undo_interrupted(
    target: &StorageTargetRef,
    note: &StorageJournalNote,
    retry: &RetryPolicy,
) -> Result<StorageUndone> {
    match target {
        StorageTargetRef::Store(store) => undo_store(store.clone(), note, retry).await,
        StorageTargetRef::Folder(dir) => {
            let (dir, note) = (dir.clone(), note.clone());
            super::blocking("removing what the restore wrote", move || {
                undo_folder(&dir, &note)
            })
            .await
        }
    }
}

async fn undo_store(
    store: Arc<dyn crate::sources::ObjectTarget>,
    note: &StorageJournalNote,
    retry: &RetryPolicy,
) -> Result<StorageUndone> {
    let reporter = crate::progress::Reporter::silent();
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut results = futures::stream::iter(note.new.clone())
        .map(|o| {
            let (store, reporter, cancel) = (store.clone(), &reporter, &cancel);
            async move {
                let what = format!("looking at {}/{}", o.bucket, o.key);
                let head = retry
                    .run(&what, reporter, cancel, || {
                        store.head_object(&o.bucket, &o.key)
                    })
                    .await?;
                match head {
                    None => Ok::<_, Error>(None),
                    Some(info) if o.size.is_none_or(|s| s == info.size) => {
                        let what = format!("deleting {}/{}", o.bucket, o.key);
                        retry
                            .run(&what, reporter, cancel, || {
                                store.delete_object(&o.bucket, &o.key)
                            })
                            .await?;
                        Ok(Some(String::new()))
                    }
                    Some(_) => Ok(Some(format!("{}/{}", o.bucket, o.key))),
                }
            }
        })
        .buffer_unordered(8);
    let mut done = StorageUndone::default();
    // The first failure stops it (a store that cannot be reached is not asked 8 at a time for
    // every object): the next start, or the same restore again, tries again.
    while let Some(r) = results.next().await {
        match r {
            Ok(None) => {}
            Ok(Some(k)) if k.is_empty() => done.removed += 1,
            Ok(Some(k)) => done.changed(k),
            Err(e) => {
                return Err(e.context(format!(
                    "{} of the objects the restore had written were removed",
                    done.removed
                )))
            }
        }
    }
    done.buckets_left = note.create_buckets.clone();
    Ok(done)
}

fn undo_folder(dir: &Path, note: &StorageJournalNote) -> Result<StorageUndone> {
    let mut done = StorageUndone::default();
    let mut parents: BTreeSet<PathBuf> = BTreeSet::new();
    // Every name is checked before anything is removed.
    let inside = |s: &str| !(s.is_empty() || s == "." || s == ".." || s.contains('\\'));
    let bucket_ok = |b: &str| inside(b) && !b.contains('/');
    if let Some(b) = note.create_buckets.iter().find(|b| !bucket_ok(b.as_str())) {
        return Err(Error::integrity(format!(
            "the journal names bucket {b:?}, which is not a folder inside the target"
        )));
    }
    if let Some(o) = note
        .new
        .iter()
        .find(|o| !bucket_ok(o.bucket.as_str()) || !o.key.split('/').all(inside))
    {
        return Err(Error::integrity(format!(
            "the journal names {}/{}, which is not a path inside the folder",
            o.bucket, o.key
        )));
    }
    for o in &note.new {
        let segs: Vec<String> = o.key.split('/').map(str::to_string).collect();
        let path = folder::path_of(dir, &o.bucket, &segs);
        // Every folder on the way is a real folder: no symlink is followed.
        match folder::existing(dir, &o.bucket, &segs) {
            folder::Existing::File(size) if o.size.is_none_or(|s| s == size) => {
                std::fs::remove_file(&path)
                    .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
                done.removed += 1;
            }
            folder::Existing::File(_) => done.changed(format!("{}/{}", o.bucket, o.key)),
            folder::Existing::Missing | folder::Existing::Blocked(_) => {}
        }
        // The folders it made on the way, deepest first (a temporary file may be in any).
        let mut p = path.parent().map(Path::to_path_buf);
        while let Some(d) = p {
            if !d.starts_with(dir.join(&o.bucket)) {
                break;
            }
            p = d.parent().map(Path::to_path_buf);
            parents.insert(d);
        }
    }
    for b in &note.create_buckets {
        parents.insert(dir.join(b));
    }
    // Deepest first: a folder empty once its children went goes too.
    let mut ordered: Vec<PathBuf> = parents.into_iter().collect();
    ordered.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for d in &ordered {
        remove_temporary_files(d)?;
        let made = note.create_buckets.iter().any(|b| dir.join(b) == *d) || !is_bucket_dir(dir, d);
        if made {
            // Only when empty (remove_dir refuses otherwise); a folder that holds other files stays.
            let _ = std::fs::remove_dir(d);
        }
    }
    for b in &note.create_buckets {
        if dir.join(b).exists() {
            done.buckets_left.push(b.clone());
        }
    }
    if !note.dir_existed {
        let _ = std::fs::remove_dir(dir);
    }
    Ok(done)
}

/// `d` is a bucket's folder (directly inside the target folder).
fn is_bucket_dir(dir: &Path, d: &Path) -> bool {
    d.parent() == Some(dir)
}

/// The restore's temporary files in folder `d` (a write killed part way), never following a
/// symlink.
fn remove_temporary_files(d: &Path) -> Result<()> {
    match std::fs::symlink_metadata(d) {
        Ok(md) if md.is_dir() && !md.file_type().is_symlink() => {}
        _ => return Ok(()),
    }
    let entries =
        std::fs::read_dir(d).map_err(|e| Error::io(format!("reading {}", d.display()), e))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_tmp = name
            .to_str()
            .is_some_and(|n| n.starts_with(crate::archive::TMP_PREFIX));
        if is_tmp && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}
