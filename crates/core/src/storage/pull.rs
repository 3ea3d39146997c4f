//! Pulling a project's buckets into an archive being written.
//!
//! ```text
//!  listing (pages) ──▶ decide per object ──▶ downloads (N in flight, SHA-256 while streaming)
//!        │                 │ unchanged (incremental): facts only      │ body in memory (small)
//!        │                 │ unchanged (full): copied from the        │ or a temp file (large)
//!        │                 │   previous archive afterwards             ▼
//!        │                 ▼                                    one writer thread: tar entries
//!        └────────▶ storage.json spool, in listing order          into a fragment (pargz)
//! ```
//!
//! The listing comes folder by folder, several folders at once ([`super::listing`]).
//!
//! Memory stays flat with the number of objects: the listing is read a page at a time, at most
//! `concurrency` downloads run, bodies held in memory share a fixed budget, `storage.json` is
//! written to a temporary file as entries complete (in listing order), and the archive's
//! members go to one compressed fragment whose member list (one entry per object, for the
//! manifest) waits in a temporary file too. What grows with the object count is, with a previous
//! backup, its `StorageDoc` and the index of it. Freed heap pages are given back after each
//! listing page and before packing ([`crate::allocator::release_free_memory`]): glibc would keep
//! them resident, and the peak would creep up with the run's length.
//!
//! A vanished object (gone between listing and download) is recorded, not a failure. A body
//! whose length differs from the listing (after [`Retrying`](crate::retry::Retrying) resumed any
//! cut) is an [`ErrorKind::Integrity`](crate::ErrorKind::Integrity) error.

use super::changed::{after_head, compare, BucketRules, Verdict};
use super::layout::{
    check_bucket_name, member_name, BucketEntry, BucketSelection, BucketSettings, ObjectEntry,
    StorageDoc, VanishedObject, STORAGE_DOC,
};
use crate::archive::{ArchiveWriter, FragmentWriter};
use crate::error::{Error, ErrorKind, Result};
use crate::progress::{Phase, Reporter};
use crate::sources::{GetRequest, ObjectInfo, ObjectSource};
use futures::StreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Downloads in flight by default.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Bodies up to this size are held in memory; larger ones go to a temporary file.
pub const MEMORY_BODY_LIMIT: u64 = 4 << 20;
/// Bytes of bodies held in memory at once, across all downloads (≥ [`MEMORY_BODY_LIMIT`]).
const MEMORY_BUDGET: u64 = 32 << 20;

/// The previous backup with a storage component: unchanged objects are taken from it.
#[derive(Debug, Clone)]
pub struct PreviousStorage {
    /// Its backup id (an incremental archive's `base_backup_id`).
    pub backup_id: String,
    /// Its archive (read once, sequentially, to copy unchanged objects into a full archive).
    pub archive: PathBuf,
    /// Its `storage.json`.
    pub doc: StorageDoc,
    /// When it began (its manifest's `created_at`, RFC 3339): objects listed without ETags
    /// whose last-modified is this second or later are checked with a HEAD.
    pub created_at: Option<String>,
}

/// What to pull, and how.
#[derive(Debug, Clone)]
pub struct PullOptions {
    pub buckets: BucketSelection,
    /// Downloads in flight (default [`DEFAULT_CONCURRENCY`]).
    pub concurrency: usize,
    /// Listing page size (the store's default when `None`).
    pub page_size: Option<usize>,
    /// Settings recorded per bucket in `storage.json` (Supabase's `storage.buckets` rows).
    pub bucket_settings: BTreeMap<String, BucketSettings>,
    /// Where the objects come from, for `storage.json` (never with credentials).
    pub endpoint: Option<String>,
    /// The previous backup's storage: unchanged objects are not downloaded again.
    pub previous: Option<PreviousStorage>,
    /// Only changed objects' bytes go into the archive (needs `previous`): unchanged ones are
    /// listed with `member: None`, deletions since the base in `deleted`.
    pub incremental: bool,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            buckets: BucketSelection::All,
            concurrency: DEFAULT_CONCURRENCY,
            page_size: None,
            bucket_settings: BTreeMap::new(),
            endpoint: None,
            previous: None,
            incremental: false,
        }
    }
}

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PullSummary {
    pub buckets: u64,
    /// Objects listed in `storage.json` (vanished ones excluded).
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    pub downloaded_objects: u64,
    pub downloaded_bytes: u64,
    /// Objects taken from the previous backup (copied, or referenced by an incremental).
    pub reused_objects: u64,
    pub vanished: Vec<VanishedObject>,
    /// Incremental: objects of the base that are gone.
    #[serde(default)]
    pub deleted: u64,
    /// With a previous backup: per bucket, the rules that told changed objects from unchanged
    /// ones (also in the job's log).
    #[serde(skip)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub change_rules: Vec<BucketRules>,
}

/// A downloaded body on its way to the archive.
enum Body {
    Memory(Vec<u8>),
    File(TempPath),
}

struct ToWrite {
    member: String,
    size: u64,
    sha256: String,
    body: Body,
    /// The share of the memory budget this body holds (given back once written).
    _permit: Option<OwnedSemaphorePermit>,
}

/// How one listed object ended.
enum Done {
    Entry(ObjectEntry),
    Vanished(VanishedObject),
}

/// Pull the selected buckets of `source` into `writer`: `storage.json` and one member per
/// object (`storage/<bucket>/<key>`, see [`super::layout`]): `storage.json` as a spooled
/// member, the objects as one fragment added to the writer. `created_at` is the manifest's (RFC 3339; tar mtimes). Reports
/// [`Phase::Downloading`] in object bytes. On error or cancel, nothing is added and every
/// temporary file is removed (the caller drops the writer).
///
/// `source` should be wrapped in [`Retrying`](crate::retry::Retrying) (and
/// [`RateLimited`](crate::retry::RateLimited) where the store asks for it): this function
/// retries nothing itself, and a cut body is resumed by the wrapper.
pub async fn pull_into(
    source: Arc<dyn ObjectSource>,
    writer: &mut ArchiveWriter,
    created_at: &str,
    opts: &PullOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<PullSummary> {
    if opts.incremental && opts.previous.is_none() {
        return Err(Error::invalid(
            "an incremental storage backup needs a previous backup with storage",
        )
        .with_hint("run a full or storage backup first"));
    }
    reporter.phase(Phase::Downloading, None);
    let buckets = select_buckets(source.as_ref(), &opts.buckets).await?;

    let mut state = PullState::new(writer, opts)?;
    let (tx, rx) = mpsc::channel::<ToWrite>(opts.concurrency.max(1));
    let frag = writer.fragment(created_at)?;
    let writing = {
        let cancel = cancel.clone();
        tokio::task::spawn_blocking(move || write_bodies(frag, rx, &cancel))
    };
    let listed = state
        .list_and_download(&source, &buckets, tx, reporter, cancel)
        .await;
    // The writer's own failure (a full disk) explains a download's "writer stopped" best.
    let written = writing
        .await
        .map_err(|e| Error::internal(format!("archive writer task failed: {e}")));
    let mut frag = match (listed, written) {
        (Err(e), Ok(Err(w))) if e.kind() == ErrorKind::Internal => return Err(w),
        (Err(e), _) => return Err(e),
        (Ok(()), w) => w??,
    };
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    crate::allocator::release_free_memory();

    // Full archive over a previous one: copy the unchanged objects' bytes from it.
    if !state.copies.is_empty() {
        let prev = opts
            .previous
            .as_ref()
            .expect("copies need a previous backup");
        let copies = std::mem::take(&mut state.copies);
        let (archive, cancel2) = (prev.archive.clone(), cancel.clone());
        let reporter2 = reporter.clone();
        frag = tokio::task::spawn_blocking(move || {
            copy_from_previous(frag, &archive, copies, &reporter2, &cancel2)
        })
        .await
        .map_err(|e| Error::internal(format!("copy task failed: {e}")))??;
    }
    let objects = frag.finish()?;

    let (doc_path, summary) = state.finish_doc(opts)?;
    // A member of its own (not a fragment): the manifest `finish` returns lists it.
    let mut doc = writer.spool(STORAGE_DOC)?;
    let mut f = std::fs::File::open(&doc_path)
        .map_err(|e| Error::io("reading the storage.json spool", e))?;
    std::io::copy(&mut f, &mut doc).map_err(|e| Error::io("copying storage.json", e))?;
    drop(f);
    drop(doc_path);
    writer.add_spooled(doc.finish()?);
    writer.add_fragment(objects);
    reporter.report_now();
    Ok(summary)
}

/// The buckets to pull, by name, sorted.
async fn select_buckets(source: &dyn ObjectSource, sel: &BucketSelection) -> Result<Vec<String>> {
    let listed: Vec<String> = source
        .list_buckets()
        .await?
        .into_iter()
        .map(|b| b.name)
        .collect();
    let mut names: Vec<String> = match sel {
        BucketSelection::All => listed,
        BucketSelection::Only(want) => {
            for w in want {
                if !listed.contains(w) {
                    return Err(Error::not_found(format!("there is no bucket named {w:?}"))
                        .with_hint("check the project's bucket selection"));
                }
            }
            want.clone()
        }
    };
    names.sort();
    names.dedup();
    for n in &names {
        check_bucket_name(n)?;
    }
    Ok(names)
}

/// An unchanged object to copy from the previous archive.
struct Copy {
    member: String,
    size: u64,
    sha256: String,
}

/// `storage.json` as it is written: `{"objects":[…` streamed, the rest at the end (JSON object
/// keys in any order parse the same).
struct DocSpool {
    out: BufWriter<std::fs::File>,
    path: TempPath,
    first: bool,
}

struct PullState<'p> {
    doc: DocSpool,
    buckets: Vec<BucketEntry>,
    summary: PullSummary,
    /// Listed objects not yet written to `storage.json`, by listing position.
    ready: BTreeMap<u64, (usize, Done)>,
    next_out: u64,
    next_seq: u64,
    /// Previous objects by (bucket, key) → index, and which of them were seen again.
    previous: HashMap<(&'p str, &'p str), usize>,
    prev_seen: Vec<bool>,
    prev_doc: Option<&'p StorageDoc>,
    /// When the previous backup began.
    prev_since: Option<time::OffsetDateTime>,
    /// The current bucket's comparisons with the previous backup.
    rules: BucketRules,
    /// Previous member name → what to copy it as (full archives over a previous one).
    copies: HashMap<String, Copy>,
    incremental: bool,
    /// Member names of this bucket's objects so far (a key under another key's name, `a` then
    /// `a/b`, cannot be a file below a file: it gets an encoded name).
    files: std::collections::HashSet<String>,
    budget: Arc<Semaphore>,
    concurrency: usize,
    page_size: Option<usize>,
    tmp_dir: PathBuf,
}

impl<'p> PullState<'p> {
    fn new(writer: &ArchiveWriter, opts: &'p PullOptions) -> Result<Self> {
        let (file, path) = crate::private_fs::tempfile_in(writer.dir(), crate::archive::TMP_PREFIX)
            .map_err(|e| Error::io("creating a temporary file", e))?
            .into_parts();
        let mut out = BufWriter::new(file);
        out.write_all(b"{\"objects\":[")
            .map_err(|e| Error::io("writing the storage.json spool", e))?;
        let prev_doc = opts.previous.as_ref().map(|p| &p.doc);
        let previous = prev_doc
            .map(|d| {
                d.objects
                    .iter()
                    .enumerate()
                    .map(|(i, o)| ((o.bucket.as_str(), o.key.as_str()), i))
                    .collect()
            })
            .unwrap_or_default();
        Ok(PullState {
            doc: DocSpool {
                out,
                path,
                first: true,
            },
            buckets: Vec::new(),
            summary: PullSummary::default(),
            ready: BTreeMap::new(),
            next_out: 0,
            next_seq: 0,
            previous,
            prev_seen: vec![false; prev_doc.map_or(0, |d| d.objects.len())],
            prev_doc,
            prev_since: opts
                .previous
                .as_ref()
                .and_then(|p| p.created_at.as_deref())
                .and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                }),
            rules: BucketRules::default(),
            copies: HashMap::new(),
            incremental: opts.incremental,
            files: std::collections::HashSet::new(),
            budget: Arc::new(Semaphore::new(MEMORY_BUDGET as usize)),
            concurrency: opts.concurrency.max(1),
            page_size: opts.page_size,
            tmp_dir: writer.dir().to_path_buf(),
        })
    }

    async fn list_and_download(
        &mut self,
        source: &Arc<dyn ObjectSource>,
        buckets: &[String],
        tx: mpsc::Sender<ToWrite>,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let mut tasks: JoinSet<(u64, usize, Result<Done>)> = JoinSet::new();
        let result = self
            .list_all(source, buckets, &tx, &mut tasks, reporter, cancel)
            .await;
        if result.is_err() {
            tasks.shutdown().await;
            return result;
        }
        while let Some(j) = tasks.join_next().await {
            self.finished(j)?;
        }
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        Ok(())
    }

    async fn list_all(
        &mut self,
        source: &Arc<dyn ObjectSource>,
        buckets: &[String],
        tx: &mpsc::Sender<ToWrite>,
        tasks: &mut JoinSet<(u64, usize, Result<Done>)>,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<()> {
        for bucket in buckets {
            let bi = self.buckets.len();
            self.buckets.push(BucketEntry {
                name: bucket.clone(),
                settings: None,
                objects: 0,
                bytes: 0,
            });
            self.files.clear();
            self.rules = BucketRules::new(bucket);
            let mut listing = super::listing::BucketListing::start(
                source.clone(),
                bucket.clone(),
                self.page_size,
            );
            loop {
                let page = tokio::select! {
                    p = listing.next() => p,
                    _ = cancel.cancelled() => return Err(Error::cancelled()),
                };
                let Some(page) = page else { break };
                let page = page?;
                let last = page.objects.last().map(|o| o.key.clone());
                for info in page.objects {
                    let seq = self.next_seq;
                    self.next_seq += 1;
                    let member = self.member_for(bucket, &info.key);
                    if let Some(done) = self.reuse(source, bucket, &info, &member).await? {
                        self.ready.insert(seq, (bi, done));
                        continue;
                    }
                    while tasks.len() >= self.concurrency {
                        let j = tasks.join_next().await.expect("tasks are running");
                        self.finished(j)?;
                    }
                    let job = Download {
                        source: source.clone(),
                        bucket: bucket.clone(),
                        info,
                        member,
                        tx: tx.clone(),
                        budget: self.budget.clone(),
                        tmp_dir: self.tmp_dir.clone(),
                        reporter: reporter.clone(),
                        cancel: cancel.clone(),
                    };
                    tasks.spawn(async move { (seq, bi, job.run().await) });
                }
                self.flush()?;
                if let (true, Some(last)) = (page.ascending_from_here, last) {
                    self.forget_files_before(bucket, &last);
                }
                crate::allocator::release_free_memory();
            }
            if self.prev_doc.is_some() {
                let rules = std::mem::take(&mut self.rules);
                tracing::info!(target: "offsite::storage", "{}", rules.describe());
                self.summary.change_rules.push(rules);
            }
        }
        Ok(())
    }

    /// Keys come in ascending order from here on: a file whose folder (`f/`) sorts wholly
    /// before `key` can no longer be anyone's folder, so it is forgotten (memory stays flat).
    fn forget_files_before(&mut self, bucket: &str, key: &str) {
        let (plain, _) = member_name(bucket, key);
        self.files.retain(|f| {
            let mut after_folder = String::with_capacity(f.len() + 1);
            after_folder.push_str(f);
            after_folder.push('0'); // the first string after every "f/…"
            after_folder.as_str() > plain.as_str()
        });
    }

    /// The member for `key`: [`member_name`], or the encoded name when a folder of the plain
    /// name is already an object's file (keys come in ascending order, so `a` precedes `a/b`).
    fn member_for(&mut self, bucket: &str, key: &str) -> String {
        let (plain, encoded) = member_name(bucket, key);
        let under_a_file = !encoded
            && plain
                .match_indices('/')
                .any(|(i, _)| self.files.contains(&plain[..i]));
        let member = if under_a_file {
            let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
            format!(
                "{}{bucket}/{}/{}",
                super::STORAGE_PREFIX,
                super::layout::ENCODED_DIR,
                hex::encode(digest)
            )
        } else {
            plain
        };
        if !encoded && !under_a_file {
            // Encoded names are never a plain key's folder.
            self.files.insert(member.clone());
        }
        member
    }

    /// The object's entry when its bytes need no download (unchanged since the previous
    /// backup); schedules a copy for full archives.
    /// ([`super::changed`] says how; an ambiguous one costs a HEAD.)
    async fn reuse(
        &mut self,
        source: &Arc<dyn ObjectSource>,
        bucket: &str,
        info: &ObjectInfo,
        member: &str,
    ) -> Result<Option<Done>> {
        let Some(doc) = self.prev_doc else {
            return Ok(None);
        };
        let Some(&i) = self.previous.get(&(bucket, info.key.as_str())) else {
            return Ok(None);
        };
        self.prev_seen[i] = true;
        let prev = &doc.objects[i];
        let mut verdict = compare(prev, info, self.prev_since);
        if verdict == Verdict::Ambiguous {
            let head = match source.stat_object(bucket, &info.key).await {
                Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
                r => r.ok().flatten(),
            };
            verdict = after_head(prev, head.as_ref());
        }
        self.rules.count(verdict);
        if !matches!(verdict, Verdict::Unchanged(_)) {
            return Ok(None);
        }
        Ok(self.reused(prev, info, member))
    }

    fn reused(&mut self, prev: &ObjectEntry, info: &ObjectInfo, member: &str) -> Option<Done> {
        let mut entry = prev.clone();
        if info.last_modified.is_some() {
            entry.last_modified = info.last_modified.and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
        }
        if self.incremental {
            entry.member = None;
        } else {
            // Bytes only in an older base: download them again.
            let from = prev.member.clone()?;
            let member = member.to_string();
            self.copies.insert(
                from,
                Copy {
                    member: member.clone(),
                    size: prev.size,
                    sha256: prev.sha256.clone(),
                },
            );
            entry.member = Some(member);
        }
        self.summary.reused_objects += 1;
        Some(Done::Entry(entry))
    }

    fn finished(
        &mut self,
        j: std::result::Result<(u64, usize, Result<Done>), tokio::task::JoinError>,
    ) -> Result<()> {
        let (seq, bi, done) =
            j.map_err(|e| Error::internal(format!("download task failed: {e}")))?;
        let done = done?;
        if let Done::Entry(e) = &done {
            self.summary.downloaded_objects += 1;
            self.summary.downloaded_bytes += e.size;
        }
        self.ready.insert(seq, (bi, done));
        self.flush()
    }

    /// Writes the entries that are next in listing order to the `storage.json` spool.
    fn flush(&mut self) -> Result<()> {
        while let Some((bi, done)) = self.ready.remove(&self.next_out) {
            self.next_out += 1;
            match done {
                Done::Vanished(v) => self.summary.vanished.push(v),
                Done::Entry(e) => {
                    let b = &mut self.buckets[bi];
                    b.objects += 1;
                    b.bytes += e.size;
                    self.summary.objects += 1;
                    self.summary.bytes += e.size;
                    let err = |e| Error::io("writing the storage.json spool", e);
                    if !self.doc.first {
                        self.doc.out.write_all(b",\n").map_err(err)?;
                    }
                    self.doc.first = false;
                    serde_json::to_writer(&mut self.doc.out, &e).map_err(|e| {
                        Error::io("writing the storage.json spool", std::io::Error::other(e))
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Completes `storage.json`; returns its spool and the summary.
    fn finish_doc(mut self, opts: &PullOptions) -> Result<(TempPath, PullSummary)> {
        if !self.ready.is_empty() {
            return Err(Error::internal("storage.json entries left unwritten"));
        }
        let deleted: Vec<VanishedObject> = match (self.incremental, self.prev_doc) {
            (true, Some(doc)) => doc
                .objects
                .iter()
                .zip(&self.prev_seen)
                // Only buckets pulled now: an unselected bucket is not a deletion.
                .filter(|(o, seen)| !**seen && self.buckets.iter().any(|b| b.name == o.bucket))
                .map(|(o, _)| VanishedObject {
                    bucket: o.bucket.clone(),
                    key: o.key.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        for b in &mut self.buckets {
            b.settings = opts.bucket_settings.get(&b.name).cloned();
        }
        self.summary.buckets = self.buckets.len() as u64;
        self.summary.deleted = deleted.len() as u64;
        #[derive(Serialize)]
        struct Rest<'a> {
            endpoint: &'a Option<String>,
            buckets: &'a [BucketEntry],
            vanished: &'a [VanishedObject],
            #[serde(skip_serializing_if = "Option::is_none")]
            base_backup_id: Option<&'a str>,
            deleted: &'a [VanishedObject],
        }
        let rest = Rest {
            endpoint: &opts.endpoint,
            buckets: &self.buckets,
            vanished: &self.summary.vanished,
            base_backup_id: opts
                .previous
                .as_ref()
                .filter(|_| opts.incremental)
                .map(|p| p.backup_id.as_str()),
            deleted: &deleted,
        };
        let rest = serde_json::to_string(&rest)
            .map_err(|e| Error::internal(format!("serializing storage.json: {e}")))?;
        let err = |e| Error::io("writing the storage.json spool", e);
        // `rest` is `{...}`: splice its fields after the objects array.
        self.doc.out.write_all(b"],").map_err(err)?;
        self.doc.out.write_all(&rest.as_bytes()[1..]).map_err(err)?;
        self.doc.out.flush().map_err(err)?;
        let file = self
            .doc
            .out
            .into_inner()
            .map_err(|e| Error::io("writing the storage.json spool", e.into_error()))?;
        drop(file);
        Ok((self.doc.path, self.summary))
    }
}

/// One object's download.
struct Download {
    source: Arc<dyn ObjectSource>,
    bucket: String,
    info: ObjectInfo,
    member: String,
    tx: mpsc::Sender<ToWrite>,
    budget: Arc<Semaphore>,
    tmp_dir: PathBuf,
    reporter: Reporter,
    cancel: CancellationToken,
}

impl Download {
    async fn run(self) -> Result<Done> {
        let vanished = || {
            Done::Vanished(VanishedObject {
                bucket: self.bucket.clone(),
                key: self.info.key.clone(),
            })
        };
        // An object replaced while a resumed download ran (If-Match failed) is fetched again.
        let mut tries = 0;
        loop {
            tries += 1;
            match self.fetch().await {
                Ok(Some(done)) => return Ok(done),
                Ok(None) => return Ok(vanished()),
                Err(e) if e.kind() == ErrorKind::Conflict && tries < 3 => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// `None` when the object is gone.
    async fn fetch(&self) -> Result<Option<Done>> {
        let (bucket, key) = (&self.bucket, &self.info.key);
        let in_memory = self.info.size <= MEMORY_BODY_LIMIT;
        let permit = if in_memory {
            let n = self.info.size.max(1) as u32;
            Some(
                self.budget
                    .clone()
                    .acquire_many_owned(n)
                    .await
                    .map_err(|_| Error::internal("memory budget closed"))?,
            )
        } else {
            None
        };
        let req = GetRequest::default();
        let got = tokio::select! {
            g = self.source.get_object(bucket, key, &req) => g,
            _ = self.cancel.cancelled() => return Err(Error::cancelled()),
        };
        let body = match got {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // Replaced between listing and download: the new version is what we get, whole.
        let replaced = matches!((&self.info.etag, &body.info.etag), (Some(a), Some(b)) if a != b);
        let expected = if replaced {
            body.info.size
        } else {
            self.info.size
        };
        let info = body.info.clone();
        let mut stream = body.stream;
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let mut got_bytes = 0u64;
        let mut mem: Vec<u8> = Vec::new();
        let mut file: Option<(tokio::fs::File, TempPath)> = None;
        if in_memory && !replaced {
            mem.reserve_exact(expected as usize);
        } else {
            let (f, p) = crate::private_fs::tempfile_in(&self.tmp_dir, crate::archive::TMP_PREFIX)
                .map_err(|e| Error::io("creating a temporary file", e))?
                .into_parts();
            file = Some((tokio::fs::File::from_std(f), p));
        }
        loop {
            let chunk = tokio::select! {
                c = stream.next() => c,
                _ = self.cancel.cancelled() => return Err(Error::cancelled()),
            };
            let chunk = match chunk {
                None => break,
                Some(Ok(c)) => c,
                Some(Err(e)) if e.kind() == ErrorKind::NotFound => return Ok(None),
                Some(Err(e)) => return Err(e.context(format!("downloading {bucket}/{key}"))),
            };
            got_bytes += chunk.len() as u64;
            if got_bytes > expected {
                break;
            }
            ctx.update(&chunk);
            match &mut file {
                Some((f, _)) => f
                    .write_all(&chunk)
                    .await
                    .map_err(|e| Error::io("writing a temporary file", e))?,
                None => mem.extend_from_slice(&chunk),
            }
        }
        if got_bytes != expected {
            return Err(Error::integrity(format!(
                "{bucket}/{key}: received {got_bytes} bytes, the store lists {expected}"
            ))
            .with_hint("run the backup again; if it persists, the store serves a damaged object"));
        }
        let body = match file {
            Some((mut f, p)) => {
                f.flush()
                    .await
                    .map_err(|e| Error::io("writing a temporary file", e))?;
                drop(f);
                Body::File(p)
            }
            None => Body::Memory(mem),
        };
        let sha256 = hex::encode(ctx.finish().as_ref());
        let member = self.member.clone();
        let fmt_time = |t: Option<time::OffsetDateTime>| {
            t.and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
        };
        let entry = ObjectEntry {
            bucket: bucket.clone(),
            key: key.clone(),
            member: Some(member.clone()),
            size: expected,
            etag: info.etag.clone().or_else(|| self.info.etag.clone()),
            last_modified: fmt_time(info.last_modified.or(self.info.last_modified)),
            content_type: info
                .content_type
                .clone()
                .or_else(|| self.info.content_type.clone()),
            cache_control: info.cache_control.clone(),
            metadata: info.metadata.clone(),
            sha256: sha256.clone(),
        };
        self.tx
            .send(ToWrite {
                member,
                size: expected,
                sha256,
                body,
                _permit: permit,
            })
            .await
            .map_err(|_| Error::internal("the archive writer stopped"))?;
        self.reporter.advance(expected);
        Ok(Some(Done::Entry(entry)))
    }
}

/// The writer thread: bodies into the fragment as they come.
fn write_bodies(
    mut frag: FragmentWriter,
    mut rx: mpsc::Receiver<ToWrite>,
    cancel: &CancellationToken,
) -> Result<FragmentWriter> {
    while let Some(w) = rx.blocking_recv() {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        match &w.body {
            Body::Memory(data) => frag.append_bytes(&w.member, data, &w.sha256)?,
            Body::File(path) => {
                let mut f = std::fs::File::open(path)
                    .map_err(|e| Error::io("reading a downloaded object", e))?;
                frag.append_reader(&w.member, w.size, &w.sha256, &mut f)?;
            }
        }
    }
    Ok(frag)
}

/// Copies the unchanged objects from the previous archive (one sequential read), checking each
/// one's SHA-256 before it goes into the new archive.
fn copy_from_previous(
    mut frag: FragmentWriter,
    archive: &std::path::Path,
    mut copies: HashMap<String, Copy>,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<FragmentWriter> {
    let damaged = |what: String| {
        Error::integrity(what).with_hint(
            "the previous backup is damaged: verify it, and run this backup without reusing it",
        )
    };
    let mut spool: Option<TempPath> = None;
    let dir = archive.parent().map(PathBuf::from).unwrap_or_default();
    crate::archive::for_each_member(archive, cancel, &mut |_| Ok(()), &mut |name, size, r| {
        let Some(c) = copies.remove(name) else {
            return Ok(());
        };
        if size != c.size {
            return Err(damaged(format!(
                "{}: {name} is {size} bytes, storage.json says {}",
                archive.display(),
                c.size
            )));
        }
        // Checked before it is written: read into memory or a temporary file, hashing.
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let read_err = |e| Error::io(format!("reading {name} from {}", archive.display()), e);
        let body = if size <= MEMORY_BODY_LIMIT {
            let mut data = Vec::with_capacity(size as usize);
            r.read_to_end(&mut data).map_err(read_err)?;
            ctx.update(&data);
            Body::Memory(data)
        } else {
            let (mut f, p) = crate::private_fs::tempfile_in(&dir, crate::archive::TMP_PREFIX)
                .map_err(|e| Error::io("creating a temporary file", e))?
                .into_parts();
            let mut buf = vec![0u8; crate::archive::CHUNK];
            loop {
                let n = r.read(&mut buf).map_err(read_err)?;
                if n == 0 {
                    break;
                }
                ctx.update(&buf[..n]);
                f.write_all(&buf[..n])
                    .map_err(|e| Error::io("writing a temporary file", e))?;
            }
            Body::File(p)
        };
        if hex::encode(ctx.finish().as_ref()) != c.sha256 {
            return Err(damaged(format!(
                "{}: {name} does not match its SHA-256",
                archive.display()
            )));
        }
        match body {
            Body::Memory(data) => frag.append_bytes(&c.member, &data, &c.sha256)?,
            Body::File(p) => {
                let mut f = std::fs::File::open(&p)
                    .map_err(|e| Error::io("reading a temporary file", e))?;
                frag.append_reader(&c.member, c.size, &c.sha256, &mut f)?;
                spool = Some(p); // removed when replaced or at the end
            }
        }
        reporter.advance(size);
        Ok(())
    })?;
    drop(spool);
    if let Some(name) = copies.keys().next() {
        return Err(damaged(format!(
            "{}: {name} is listed in its storage.json but missing",
            archive.display()
        )));
    }
    Ok(frag)
}
