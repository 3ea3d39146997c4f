//! Restoring a backup's storage component: plan, then execute.
//!
//! The target is an S3-compatible store ([`ObjectTarget`]) or a local folder. The plan
//! ([`plan_storage_restore`]) changes nothing: it reads `storage.json` of the backup (and of the
//! base backups an incremental one refers to), lists the target page by page and says per
//! bucket what will be created, uploaded, overwritten, skipped as identical and, in mirror mode,
//! deleted. [`restore_storage`] computes the same plan and carries it out.
//!
//! "Identical" means the same size and the same content: the archived ETag equals the
//! target's; or the target's ETag is a plain MD5 (a single-part upload) equal to the MD5 of the
//! archived bytes; or else the target object is downloaded and its SHA-256 compared.
//!
//! Every member is hashed while it is read and checked against `storage.json` before its bytes
//! go anywhere: a damaged archive never uploads (or writes) a damaged object. Objects of an
//! incremental backup that are in its base come from the base's archive; a base without a copy
//! fails the plan, before anything is written.

mod folder;
pub mod journal;
pub(crate) mod source;
mod store;
#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::progress::{Phase, Reporter};
use crate::retry::RetryPolicy;
use crate::sources::ObjectTarget;
use crate::storage::layout::{check_bucket_name, BucketSelection, BucketSettings};
use serde::Serialize;
use source::{ArchiveDoc, Src};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Looks up the local copy of a backup by id (an incremental backup's base).
pub type ResolveBase<'a> = &'a (dyn Fn(&str) -> Option<PathBuf> + Send + Sync);

/// Where the objects go.
#[derive(Clone)]
pub enum StorageTargetRef {
    /// An S3-compatible store: buckets are created as needed, objects uploaded.
    Store(Arc<dyn ObjectTarget>),
    /// A local folder: `<dir>/<bucket>/<key>` (odd keys under `<bucket>/.offsite-key/`).
    Folder(PathBuf),
}

impl std::fmt::Debug for StorageTargetRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageTargetRef::Store(_) => f.write_str("Store(..)"),
            StorageTargetRef::Folder(p) => f.debug_tuple("Folder").field(p).finish(),
        }
    }
}

/// What the user chose.
#[derive(Debug, Clone)]
pub struct StorageRestoreOptions {
    /// Which buckets of the backup to restore (names as in the backup).
    pub buckets: BucketSelection,
    /// Restore bucket `a` of the backup into bucket `b` of the target (`a` → `b`); buckets not
    /// named keep their names.
    pub bucket_map: BTreeMap<String, String>,
    /// Object stores only: delete the target's objects that the backup does not have (in the
    /// restored buckets). The caller asks for consent; the engine takes the flag.
    pub mirror: bool,
    /// Folder targets only: replace existing files whose content differs (otherwise they are
    /// kept and counted). Object stores always replace objects whose content differs.
    pub overwrite: bool,
    /// Uploads at the same time.
    pub concurrency: usize,
    /// Bodies up to this size are uploaded from memory; bigger ones from a temporary file.
    pub memory_limit: u64,
    /// Where big bodies wait for their upload (default: the system's temporary folder).
    pub temp_dir: Option<PathBuf>,
    /// How remote calls are retried.
    pub retry: RetryPolicy,
    /// Where the restore records what it is about to write, before its first write (a job's
    /// journal: the next start undoes what a killed restore wrote).
    pub journal: Option<journal::StorageJournal>,
}

impl Default for StorageRestoreOptions {
    fn default() -> Self {
        StorageRestoreOptions {
            buckets: BucketSelection::All,
            bucket_map: BTreeMap::new(),
            mirror: false,
            overwrite: false,
            concurrency: 8,
            memory_limit: 8 << 20,
            temp_dir: None,
            retry: RetryPolicy::default(),
            journal: None,
        }
    }
}

/// A backup archive the objects' bytes are read from.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SourceArchive {
    pub backup_id: String,
    pub path: PathBuf,
}

/// What restoring one bucket does.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BucketPlan {
    /// The bucket's name in the backup.
    pub bucket: String,
    /// Its name in the target (differs when mapped).
    pub target_bucket: String,
    /// The target lacks it: it will be created (a folder: `<dir>/<bucket>`).
    pub create: bool,
    /// Objects of the backup in this bucket, and their bytes.
    pub objects: u64,
    pub bytes: u64,
    /// Objects that will be written (new ones and those replacing different content).
    pub upload: u64,
    pub upload_bytes: u64,
    /// Of `upload`: how many replace an object whose content differs.
    pub overwrite: u64,
    /// Identical objects the target already has: skipped.
    pub identical: u64,
    /// Folder targets without `overwrite`: existing files whose content differs, kept.
    pub keep_different: u64,
    /// Objects of the target the backup does not have: deleted in mirror mode, else kept.
    pub extra: u64,
    /// Mirror mode: objects of the target that will be deleted, and their bytes.
    pub delete: u64,
    pub delete_bytes: u64,
    /// The first keys that will be overwritten (at most 20).
    pub overwrite_sample: Vec<String>,
    /// The first keys that will be deleted (at most 20).
    pub delete_sample: Vec<String>,
    /// The bucket's settings as backed up (not applied through S3: see `settings_note`).
    pub settings: Option<BucketSettings>,
    pub settings_note: Option<String>,
}

/// What a storage restore will do. Serialized for `--dry-run` and the wizard's review.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StoragePlan {
    pub archive: PathBuf,
    pub backup_id: String,
    pub project: String,
    pub created_at: String,
    /// The archives the bytes come from: the backup, then the base backups it needs.
    pub sources: Vec<SourceArchive>,
    /// "object store" or "folder <path>".
    pub target: String,
    pub mirror: bool,
    pub overwrite: bool,
    pub buckets: Vec<BucketPlan>,
    /// Sums over `buckets`.
    pub objects: u64,
    pub bytes: u64,
    pub upload: u64,
    pub upload_bytes: u64,
    pub overwrite_count: u64,
    pub identical: u64,
    pub keep_different: u64,
    pub delete: u64,
    pub delete_bytes: u64,
    /// Why execution would refuse, if it would.
    pub blockers: Vec<String>,
    pub warnings: Vec<String>,
}

/// What a storage restore did, per bucket.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BucketOutcome {
    pub bucket: String,
    pub target_bucket: String,
    pub created: bool,
    pub uploaded: u64,
    pub uploaded_bytes: u64,
    pub skipped: u64,
    pub kept: u64,
    pub deleted: u64,
}

/// The result of [`restore_storage`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StorageRestoreReport {
    pub plan: StoragePlan,
    /// Buckets created in the target.
    pub created_buckets: Vec<String>,
    /// Objects written, and their bytes.
    pub uploaded: u64,
    pub uploaded_bytes: u64,
    /// Identical objects left as they were.
    pub skipped: u64,
    pub skipped_bytes: u64,
    /// Folder targets: different files kept (no `overwrite`).
    pub kept: u64,
    /// Mirror mode: objects deleted, and their bytes.
    pub deleted: u64,
    pub deleted_bytes: u64,
    pub buckets: Vec<BucketOutcome>,
    pub duration_ms: u64,
}

/// What happens to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    New,
    Overwrite,
    Identical,
    /// A folder's different file, kept without `overwrite`.
    Keep,
}

/// A selected bucket.
#[derive(Debug, Clone)]
struct SelBucket {
    pub name: String,
    pub target: String,
    pub settings: Option<BucketSettings>,
}

/// A selected object: its entry in the chosen archive and where its bytes are.
#[derive(Debug, Clone)]
struct Item {
    /// Index into the chosen archive's `doc.objects`.
    pub obj: usize,
    /// Index into [`Selected::buckets`].
    pub bucket: usize,
    pub src: Src,
}

/// The backup side of a plan: the archives, the selected buckets and objects (by bucket, then
/// key in byte order).
struct Selected {
    pub archives: Vec<ArchiveDoc>,
    pub buckets: Vec<SelBucket>,
    pub items: Vec<Item>,
}

impl Selected {
    pub fn entry(&self, item: &Item) -> &crate::storage::layout::ObjectEntry {
        &self.archives[0].doc.objects[item.obj]
    }
}

/// A plan with what executing it needs.
struct Prepared {
    pub plan: StoragePlan,
    pub sel: Selected,
    /// One per item.
    pub decisions: Vec<Decision>,
    /// Mirror mode: (bucket index, key, size) of the target's objects to delete.
    pub deletions: Vec<(usize, String, u64)>,
    /// Per bucket: whether the target has it.
    pub exists: Vec<bool>,
}

/// What restoring the storage component of `archive` into `target` would do. Changes nothing.
/// `resolve_base` finds the local copy of a base backup by id (incremental backups).
pub async fn plan_storage_restore(
    archive: &Path,
    resolve_base: ResolveBase<'_>,
    target: &StorageTargetRef,
    opts: &StorageRestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<StoragePlan> {
    Ok(
        prepare(archive, resolve_base, target, opts, reporter, cancel)
            .await?
            .plan,
    )
}

/// Plan, then restore the storage component of `archive` into `target`: missing buckets are
/// created, objects written with their content type, cache control and user metadata, identical
/// ones skipped, and (mirror mode only) the target's objects the backup lacks deleted after
/// everything else succeeded. A failure or a cancel before those deletions stops the restore
/// and removes at once what it wrote where the target had nothing (the undo the next start
/// gives a killed restore, [`journal::undo_interrupted`]); its error says what was written,
/// what was removed again and what the target holds now (objects it overwrote cannot be put
/// back: named, with the restore to run again).
pub async fn restore_storage(
    archive: &Path,
    resolve_base: ResolveBase<'_>,
    target: &StorageTargetRef,
    opts: &StorageRestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<StorageRestoreReport> {
    let started = Instant::now();
    let prepared = prepare(archive, resolve_base, target, opts, reporter, cancel).await?;
    if !prepared.plan.blockers.is_empty() {
        return Err(Error::invalid(format!(
            "the storage restore cannot run: {}",
            prepared.plan.blockers.join("; ")
        )));
    }
    let note = journal::note_of(&prepared, target);
    if let Some(j) = &opts.journal {
        j.0.writing(note.clone()).await?;
    }
    reporter.phase(Phase::Restoring, Some(prepared.plan.upload_bytes));
    let mut deleting = false;
    let done = match target {
        StorageTargetRef::Store(store) => {
            store::execute(
                store.clone(),
                prepared,
                opts,
                reporter,
                cancel,
                &mut deleting,
            )
            .await
        }
        StorageTargetRef::Folder(dir) => folder::execute(dir, prepared, reporter, cancel).await,
    };
    let mut report = match done {
        Ok(r) => r,
        // A mirror's deletions had begun: every object was written (said by the error).
        Err(e) if deleting => return Err(e),
        // Failed or cancelled part way: what it wrote where there was nothing goes at once.
        Err(e) => return Err(journal::undo_failed(target, &note, opts, e).await),
    };
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

async fn prepare(
    archive: &Path,
    resolve_base: ResolveBase<'_>,
    target: &StorageTargetRef,
    opts: &StorageRestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Prepared> {
    reporter.phase(Phase::Planning, None);
    if opts.concurrency == 0 {
        return Err(Error::invalid("concurrency must be at least 1"));
    }
    let main = {
        let (p, c) = (archive.to_path_buf(), cancel.clone());
        tokio::task::spawn_blocking(move || source::open_archive_doc(&p, &c))
            .await
            .map_err(|e| Error::internal(format!("reading {}: {e}", archive.display())))??
    };
    let (buckets, chosen) = select(&main, opts)?;
    let (archives, srcs) = source::locate_all(main, &chosen, resolve_base, cancel).await?;
    let items = chosen
        .iter()
        .zip(srcs)
        .map(|(&obj, src)| {
            let name = &archives[0].doc.objects[obj].bucket;
            let bucket = buckets
                .iter()
                .position(|b| &b.name == name)
                .expect("selected");
            Item { obj, bucket, src }
        })
        .collect();
    let sel = Selected {
        archives,
        buckets,
        items,
    };
    match target {
        StorageTargetRef::Store(store) => {
            store::plan(store.as_ref(), sel, opts, reporter, cancel).await
        }
        StorageTargetRef::Folder(dir) => folder::plan(dir, sel, opts, cancel).await,
    }
}

/// The selected buckets (with their target names) and the selected objects' indexes, by bucket
/// then key.
fn select(main: &ArchiveDoc, opts: &StorageRestoreOptions) -> Result<(Vec<SelBucket>, Vec<usize>)> {
    let doc = &main.doc;
    let mut names: BTreeSet<&str> = doc.buckets.iter().map(|b| b.name.as_str()).collect();
    names.extend(doc.objects.iter().map(|o| o.bucket.as_str()));
    let available = || names.iter().copied().collect::<Vec<_>>().join(", ");
    if let BucketSelection::Only(chosen) = &opts.buckets {
        for c in chosen {
            if !names.contains(c.as_str()) {
                return Err(Error::invalid(format!(
                    "backup {} has no bucket {c:?} (it has: {})",
                    main.manifest.backup_id,
                    available()
                )));
            }
        }
    }
    for (from, to) in &opts.bucket_map {
        if !names.contains(from.as_str()) {
            return Err(Error::invalid(format!(
                "cannot restore bucket {from:?} into {to:?}: backup {} has no bucket {from:?} (it has: {})",
                main.manifest.backup_id,
                available()
            )));
        }
        if !opts.buckets.includes(from) {
            return Err(Error::invalid(format!(
                "bucket {from:?} is mapped to {to:?} but not selected for the restore"
            )));
        }
        check_bucket_name(to)?;
    }
    let mut buckets: Vec<SelBucket> = Vec::new();
    let mut targets: BTreeMap<String, String> = BTreeMap::new();
    for name in names.iter().filter(|n| opts.buckets.includes(n)) {
        check_bucket_name(name)?;
        let target = opts
            .bucket_map
            .get(*name)
            .cloned()
            .unwrap_or(name.to_string());
        if let Some(other) = targets.insert(target.clone(), name.to_string()) {
            return Err(Error::invalid(format!(
                "buckets {other:?} and {name:?} would both be restored into {target:?}"
            ))
            .with_hint("map them to different buckets"));
        }
        let settings = doc
            .buckets
            .iter()
            .find(|b| b.name == *name)
            .and_then(|b| b.settings.clone());
        buckets.push(SelBucket {
            name: name.to_string(),
            target,
            settings,
        });
    }
    let mut chosen: Vec<usize> = (0..doc.objects.len())
        .filter(|&i| opts.buckets.includes(&doc.objects[i].bucket))
        .collect();
    chosen.sort_by(|&a, &b| {
        let (a, b) = (&doc.objects[a], &doc.objects[b]);
        (a.bucket.as_str(), a.key.as_str()).cmp(&(b.bucket.as_str(), b.key.as_str()))
    });
    if let Some(w) = chosen.windows(2).find(|w| {
        let (a, b) = (&doc.objects[w[0]], &doc.objects[w[1]]);
        a.bucket == b.bucket && a.key == b.key
    }) {
        let o = &doc.objects[w[0]];
        return Err(Error::integrity(format!(
            "{}: {} lists object {}/{} twice",
            main.path.display(),
            crate::storage::layout::STORAGE_DOC,
            o.bucket,
            o.key
        )));
    }
    Ok((buckets, chosen))
}

/// The note on settings S3 cannot set, when the backup recorded any.
fn settings_note(b: &SelBucket) -> Option<String> {
    let s = b.settings.as_ref()?;
    let mut parts = Vec::new();
    if let Some(p) = s.public {
        parts.push(if p { "public" } else { "private" }.to_string());
    }
    if let Some(l) = s.file_size_limit {
        parts.push(format!("file size limit {l} bytes"));
    }
    if let Some(m) = &s.allowed_mime_types {
        parts.push(format!("allowed MIME types {}", m.join(", ")));
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "bucket {}: {} cannot be set through S3; on Supabase they come back with the database component (storage.buckets)",
        b.name,
        parts.join(", ")
    ))
}

/// Builds the plan from the decisions.
fn build_plan(
    sel: &Selected,
    decisions: &[Decision],
    deletions: &[(usize, String, u64)],
    extra: &[u64],
    exists: &[bool],
    target: String,
    opts: &StorageRestoreOptions,
) -> StoragePlan {
    const SAMPLE: usize = 20;
    let mut buckets: Vec<BucketPlan> = sel
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| BucketPlan {
            bucket: b.name.clone(),
            target_bucket: b.target.clone(),
            create: !exists[i],
            extra: extra[i],
            settings: b.settings.clone(),
            settings_note: settings_note(b),
            ..BucketPlan::default()
        })
        .collect();
    for (item, d) in sel.items.iter().zip(decisions) {
        let e = sel.entry(item);
        let b = &mut buckets[item.bucket];
        b.objects += 1;
        b.bytes += e.size;
        match d {
            Decision::New | Decision::Overwrite => {
                b.upload += 1;
                b.upload_bytes += e.size;
                if *d == Decision::Overwrite {
                    b.overwrite += 1;
                    if b.overwrite_sample.len() < SAMPLE {
                        b.overwrite_sample.push(e.key.clone());
                    }
                }
            }
            Decision::Identical => b.identical += 1,
            Decision::Keep => b.keep_different += 1,
        }
    }
    for (bucket, key, size) in deletions {
        let b = &mut buckets[*bucket];
        b.delete += 1;
        b.delete_bytes += size;
        if b.delete_sample.len() < SAMPLE {
            b.delete_sample.push(key.clone());
        }
    }
    let main = &sel.archives[0];
    let mut warnings: Vec<String> = buckets
        .iter()
        .filter_map(|b| b.settings_note.clone())
        .collect();
    let vanished = main
        .doc
        .vanished
        .iter()
        .filter(|v| sel.buckets.iter().any(|b| b.name == v.bucket))
        .count();
    if vanished > 0 {
        warnings.push(format!(
            "{vanished} objects were deleted while backup {} was taken and are not in it",
            main.manifest.backup_id
        ));
    }
    let kept: u64 = buckets.iter().map(|b| b.keep_different).sum();
    if kept > 0 {
        warnings.push(format!(
            "{kept} existing files differ from the backup and are kept (choose overwrite to replace them)"
        ));
    }
    let sum = |f: fn(&BucketPlan) -> u64| buckets.iter().map(f).sum::<u64>();
    StoragePlan {
        archive: main.path.clone(),
        backup_id: main.manifest.backup_id.clone(),
        project: main.manifest.project.clone(),
        created_at: main.manifest.created_at.clone(),
        sources: sel
            .archives
            .iter()
            .map(|a| SourceArchive {
                backup_id: a.manifest.backup_id.clone(),
                path: a.path.clone(),
            })
            .collect(),
        target,
        mirror: opts.mirror,
        overwrite: opts.overwrite,
        objects: sum(|b| b.objects),
        bytes: sum(|b| b.bytes),
        upload: sum(|b| b.upload),
        upload_bytes: sum(|b| b.upload_bytes),
        overwrite_count: sum(|b| b.overwrite),
        identical: sum(|b| b.identical),
        keep_different: kept,
        delete: sum(|b| b.delete),
        delete_bytes: sum(|b| b.delete_bytes),
        buckets,
        blockers: Vec::new(),
        warnings,
    }
}

/// An empty report over `plan` (the executors fill it in).
fn empty_report(plan: StoragePlan) -> StorageRestoreReport {
    let buckets = plan
        .buckets
        .iter()
        .map(|b| BucketOutcome {
            bucket: b.bucket.clone(),
            target_bucket: b.target_bucket.clone(),
            ..BucketOutcome::default()
        })
        .collect();
    StorageRestoreReport {
        plan,
        created_buckets: Vec::new(),
        uploaded: 0,
        uploaded_bytes: 0,
        skipped: 0,
        skipped_bytes: 0,
        kept: 0,
        deleted: 0,
        deleted_bytes: 0,
        buckets,
        duration_ms: 0,
    }
}

/// Runs a blocking closure on the blocking pool.
async fn blocking<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("{what}: {e}")))?
}
