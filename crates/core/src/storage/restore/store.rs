//! Restoring into an S3-compatible store ([`ObjectTarget`]).

use super::source::{self, Hashing};
use super::{
    blocking, build_plan, empty_report, Decision, Prepared, Selected, StorageRestoreOptions,
    StorageRestoreReport,
};
use crate::archive::TMP_PREFIX;
use crate::error::{Error, ErrorKind, Result};
use crate::progress::Reporter;
use crate::sources::{GetRequest, ListRequest, ObjectTarget, PutBody, PutRequest};
use crate::storage::layout::ObjectEntry;
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Listing page size.
const PAGE: usize = 1000;

/// An ETag without quotes, lower-case.
fn norm_etag(e: &str) -> String {
    e.trim().trim_matches('"').to_ascii_lowercase()
}

/// A single-part upload's ETag: the body's MD5 (32 hex digits).
fn is_plain_md5(etag: &str) -> bool {
    etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What comparing an archived object with the target's says before any bytes are read.
enum Compare {
    Decided(Decision),
    /// Compare the MD5 of the archived bytes with this ETag.
    Md5(String),
    /// Download the target's object and compare its SHA-256.
    Fetch,
}

fn compare(e: &ObjectEntry, size: u64, etag: Option<&str>) -> Compare {
    if size != e.size {
        return Compare::Decided(Decision::Overwrite);
    }
    if size == 0 {
        return Compare::Decided(Decision::Identical);
    }
    let theirs = etag.map(norm_etag);
    if theirs.is_some() && theirs == e.etag.as_deref().map(norm_etag) {
        return Compare::Decided(Decision::Identical);
    }
    match theirs {
        Some(t) if is_plain_md5(&t) => Compare::Md5(t),
        _ => Compare::Fetch,
    }
}

/// Lists the target and decides every object (see the module of [`super`] for "identical").
pub(super) async fn plan(
    store: &dyn ObjectTarget,
    sel: Selected,
    opts: &StorageRestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Prepared> {
    let policy = &opts.retry;
    let existing: HashSet<String> = policy
        .run("listing buckets", reporter, cancel, || store.list_buckets())
        .await?
        .into_iter()
        .map(|b| b.name)
        .collect();
    let exists: Vec<bool> = sel
        .buckets
        .iter()
        .map(|b| existing.contains(&b.target))
        .collect();
    let mut decisions = vec![Decision::New; sel.items.len()];
    let mut deletions: Vec<(usize, String, u64)> = Vec::new();
    let mut extra = vec![0u64; sel.buckets.len()];
    let mut need_md5: Vec<(usize, String)> = Vec::new();
    let mut need_fetch: Vec<usize> = Vec::new();

    let mut start = 0usize;
    for (bi, b) in sel.buckets.iter().enumerate() {
        let end = start
            + sel.items[start..]
                .iter()
                .take_while(|it| it.bucket == bi)
                .count();
        if exists[bi] {
            let mut i = start;
            let mut continuation: Option<String> = None;
            let mut last: Option<String> = None;
            let mut tokens = crate::sources::listing_guard::ListingGuard::default();
            loop {
                if cancel.is_cancelled() {
                    return Err(Error::cancelled());
                }
                let req = ListRequest {
                    prefix: None,
                    continuation: continuation.clone(),
                    page_size: Some(PAGE),
                    delimiter: None,
                    start_after: None,
                };
                let what = format!("listing objects of {}", b.target);
                let page = policy
                    .run(&what, reporter, cancel, || {
                        store.list_objects(&b.target, &req)
                    })
                    .await?;
                // (Keys are checked below, with this merge's own error.)
                tokens.token(&b.target, page.next.as_deref())?;
                for t in page.objects {
                    // The merge below relies on ascending keys; a store that lists otherwise
                    // would make restored objects look extra (and mirror mode delete them).
                    if last.as_deref().is_some_and(|l| l >= t.key.as_str()) {
                        return Err(Error::new(
                            ErrorKind::Conflict,
                            format!(
                                "bucket {} listed key {:?} after {:?}: not in ascending order",
                                b.target,
                                t.key,
                                last.unwrap_or_default()
                            ),
                        ));
                    }
                    while i < end && sel.entry(&sel.items[i]).key < t.key {
                        i += 1; // the target lacks it: New
                    }
                    if i < end && sel.entry(&sel.items[i]).key == t.key {
                        match compare(sel.entry(&sel.items[i]), t.size, t.etag.as_deref()) {
                            Compare::Decided(d) => decisions[i] = d,
                            Compare::Md5(etag) => need_md5.push((i, etag)),
                            Compare::Fetch => need_fetch.push(i),
                        }
                        i += 1;
                    } else {
                        extra[bi] += 1;
                        if opts.mirror {
                            deletions.push((bi, t.key.clone(), t.size));
                        }
                    }
                    last = Some(t.key);
                }
                match page.next {
                    Some(next) => continuation = Some(next),
                    None => break,
                }
            }
        }
        start = end;
    }

    // Target objects whose ETag is not comparable: download and hash them.
    for (i, d) in fetch_and_compare(store, &sel, need_fetch, opts, reporter, cancel).await? {
        decisions[i] = d;
    }

    // Plain-MD5 ETags: the MD5 of the archived bytes (read, and checked, from the archives).
    if !need_md5.is_empty() {
        let wanted: HashMap<usize, String> = need_md5.into_iter().collect();
        let items: Vec<usize> = wanted.keys().copied().collect();
        let md5s = archive_md5s(&sel, &items, cancel).await?;
        for (i, etag) in wanted {
            decisions[i] = if md5s.get(&i) == Some(&etag) {
                Decision::Identical
            } else {
                Decision::Overwrite
            };
        }
    }

    let plan = build_plan(
        &sel,
        &decisions,
        &deletions,
        &extra,
        &exists,
        "object store".to_string(),
        opts,
    );
    Ok(Prepared {
        plan,
        sel,
        decisions,
        deletions,
        exists,
    })
}

/// The decision for each target object in `need_fetch` (indexes into `sel.items`) whose ETag
/// says nothing: downloaded and hashed, compared with the archived object.
async fn fetch_and_compare(
    store: &dyn ObjectTarget,
    sel: &Selected,
    need_fetch: Vec<usize>,
    opts: &StorageRestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Vec<(usize, Decision)>> {
    let policy = &opts.retry;
    let fetched: Vec<(usize, Result<bool>)> = futures::stream::iter(need_fetch)
        .map(|i| {
            let item = &sel.items[i];
            let e = sel.entry(item);
            let bucket = sel.buckets[item.bucket].target.as_str();
            async move {
                let what = format!("reading {bucket}/{} to compare it", e.key);
                let r = policy
                    .run(&what, reporter, cancel, || async move {
                        let body = store
                            .get_object(bucket, &e.key, &GetRequest::default())
                            .await?;
                        let mut stream = body.stream;
                        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
                        let mut n = 0u64;
                        while let Some(chunk) = stream.next().await {
                            let chunk = chunk?;
                            ctx.update(&chunk);
                            n += chunk.len() as u64;
                        }
                        Ok(n == e.size && hex::encode(ctx.finish().as_ref()) == e.sha256)
                    })
                    .await;
                (i, r)
            }
        })
        .buffer_unordered(opts.concurrency)
        .collect()
        .await;
    let mut out = Vec::with_capacity(fetched.len());
    for (i, same) in fetched {
        out.push((
            i,
            match same {
                Ok(true) => Decision::Identical,
                Ok(false) => Decision::Overwrite,
                // Gone since it was listed: it will simply be uploaded.
                Err(e) if e.kind() == ErrorKind::NotFound => Decision::New,
                Err(e) => return Err(e),
            },
        ));
    }
    Ok(out)
}

/// The MD5 of the archived bytes of `items` (indexes into `sel.items`), each checked against
/// its SHA-256.
async fn archive_md5s(
    sel: &Selected,
    items: &[usize],
    cancel: &CancellationToken,
) -> Result<HashMap<usize, String>> {
    let mut out = HashMap::new();
    for (a, archive) in sel.archives.iter().enumerate() {
        let wanted: HashMap<String, usize> = items
            .iter()
            .filter(|&&i| sel.items[i].src.archive == a)
            .map(|&i| (sel.items[i].src.member.clone(), i))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let entries: HashMap<usize, ObjectEntry> = wanted
            .values()
            .map(|&i| (i, sel.entry(&sel.items[i]).clone()))
            .collect();
        let (path, cancel) = (archive.path.clone(), cancel.clone());
        let found = blocking("reading the archive", move || {
            let mut found = HashMap::new();
            source::scan_members(&path, &wanted, &cancel, |i, r| {
                let mut h = Hashing::new(r, true);
                std::io::copy(&mut h, &mut std::io::sink())
                    .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
                let (n, sha, md5) = h.finish();
                let e = &entries[&i];
                if n != e.size || sha != e.sha256 {
                    return Err(source::mismatch(&path, e, n, &sha));
                }
                found.insert(i, md5.expect("asked for"));
                Ok(())
            })?;
            Ok(found)
        })
        .await?;
        out.extend(found);
    }
    Ok(out)
}

/// A verified body, ready to upload.
struct Ready {
    item: usize,
    body: PutBody,
    /// Removes the temporary file when dropped (after the upload).
    _temp: Option<tempfile::TempPath>,
}

/// Counters of what was written, for the error message of a failed restore.
fn written_so_far(report: &StorageRestoreReport) -> String {
    let mut s = format!(
        "{} objects ({}) were uploaded before the restore stopped",
        report.uploaded,
        crate::units::format_bytes(report.uploaded_bytes)
    );
    if !report.created_buckets.is_empty() {
        s.push_str(&format!(
            ", buckets created: {}",
            report.created_buckets.join(", ")
        ));
    }
    s.push_str("; nothing was deleted");
    s
}

/// Carries out the plan.
pub(super) async fn execute(
    store: Arc<dyn ObjectTarget>,
    p: Prepared,
    opts: &StorageRestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
    deleting: &mut bool,
) -> Result<StorageRestoreReport> {
    let policy = &opts.retry;
    let Prepared {
        plan,
        sel,
        decisions,
        deletions,
        exists,
    } = p;
    let mut report = empty_report(plan);

    for (bi, b) in sel.buckets.iter().enumerate() {
        if exists[bi] {
            continue;
        }
        let what = format!("creating bucket {}", b.target);
        let created = policy
            .run(&what, reporter, cancel, || store.create_bucket(&b.target))
            .await
            .map_err(|e| {
                let msg = format!("{what}: {}; {}", e.message(), written_so_far(&report));
                Error::new(e.kind(), msg)
            })?;
        if created {
            report.created_buckets.push(b.target.clone());
            report.buckets[bi].created = true;
        }
    }

    for (i, d) in decisions.iter().enumerate() {
        let item = &sel.items[i];
        match d {
            Decision::Identical => {
                report.skipped += 1;
                report.skipped_bytes += sel.entry(item).size;
                report.buckets[item.bucket].skipped += 1;
            }
            Decision::Keep => {
                report.kept += 1;
                report.buckets[item.bucket].kept += 1;
            }
            Decision::New | Decision::Overwrite => {}
        }
    }

    for a in 0..sel.archives.len() {
        let wanted: HashMap<String, usize> = (0..sel.items.len())
            .filter(|&i| {
                matches!(decisions[i], Decision::New | Decision::Overwrite)
                    && sel.items[i].src.archive == a
            })
            .map(|i| (sel.items[i].src.member.clone(), i))
            .collect();
        if !wanted.is_empty() {
            upload_from(&store, &sel, a, wanted, opts, reporter, cancel, &mut report).await?;
        }
    }

    // Mirror mode, after everything was uploaded.
    if let (false, Some(j)) = (deletions.is_empty(), &opts.journal) {
        j.0.deleting().await?;
    }
    // From here on a failure leaves every object written (nothing is undone).
    *deleting = !deletions.is_empty();
    // Owned items: a closure over borrowed ones makes the job's future lose `Send`.
    let deleted: Vec<(usize, u64, Result<()>)> = futures::stream::iter(deletions.clone())
        .map(|(bi, key, size)| {
            let bucket = sel.buckets[bi].target.clone();
            let store = &store;
            async move {
                let what = format!("deleting {bucket}/{key}");
                let r = policy
                    .run(&what, reporter, cancel, || {
                        store.delete_object(&bucket, &key)
                    })
                    .await;
                (bi, size, r)
            }
        })
        .buffer_unordered(opts.concurrency)
        .collect()
        .await;
    let mut failed = None;
    for (bi, size, r) in deleted {
        match r {
            Ok(()) => {
                report.deleted += 1;
                report.deleted_bytes += size;
                report.buckets[bi].deleted += 1;
            }
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    if let Some(e) = failed {
        return Err(Error::new(
            e.kind(),
            format!(
                "{}; every object was restored ({} uploaded, {} identical skipped) and {} of {} extra objects were deleted",
                e.message(),
                report.uploaded,
                report.skipped,
                report.deleted,
                deletions.len()
            ),
        )
        .with_hint("run the restore again to delete the rest"));
    }
    Ok(report)
}

/// Uploads the objects whose bytes are in archive `a`: one thread reads the archive and checks
/// every member, at most `concurrency` uploads run at a time.
#[allow(clippy::too_many_arguments)]
async fn upload_from(
    store: &Arc<dyn ObjectTarget>,
    sel: &Selected,
    a: usize,
    wanted: HashMap<String, usize>,
    opts: &StorageRestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
    report: &mut StorageRestoreReport,
) -> Result<()> {
    let entries: HashMap<usize, ObjectEntry> = wanted
        .values()
        .map(|&i| (i, sel.entry(&sel.items[i]).clone()))
        .collect();
    let expected = entries.len();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Ready>>(opts.concurrency);
    let producer = {
        let path = sel.archives[a].path.clone();
        let stop = cancel.child_token();
        let limit = opts.memory_limit;
        let temp_dir = opts.temp_dir.clone().unwrap_or_else(std::env::temp_dir);
        let tx = tx.clone();
        let stop2 = stop.clone();
        let handle = tokio::task::spawn_blocking(move || {
            let r = source::scan_members(&path, &wanted, &stop, |i, r| {
                let ready = read_verified(&path, i, &entries[&i], r, limit, &temp_dir, &stop)?;
                tx.blocking_send(Ok(ready)).map_err(|_| Error::cancelled())
            });
            if let Err(e) = r {
                let _ = tx.blocking_send(Err(e));
            }
        });
        (handle, stop2)
    };
    drop(tx);

    let mut done = 0usize;
    let mut inflight = FuturesUnordered::new();
    let mut failure: Option<Error> = None;
    let mut open = true;
    loop {
        tokio::select! {
            biased;
            Some((i, r)) = inflight.next(), if !inflight.is_empty() => {
                let item = &sel.items[i];
                match r {
                    Ok(()) => {
                        done += 1;
                        let size = sel.entry(item).size;
                        report.uploaded += 1;
                        report.uploaded_bytes += size;
                        report.buckets[item.bucket].uploaded += 1;
                        report.buckets[item.bucket].uploaded_bytes += size;
                        reporter.advance(size);
                    }
                    Err(e) => {
                        failure.get_or_insert(e);
                        open = false;
                    }
                }
            }
            msg = rx.recv(), if open && inflight.len() < opts.concurrency => match msg {
                Some(Ok(ready)) => inflight.push(put_one(store.as_ref(), sel, ready, opts, reporter, cancel)),
                Some(Err(e)) => {
                    failure.get_or_insert(e);
                    open = false;
                }
                None => open = false,
            },
            _ = cancel.cancelled(), if open => {
                failure.get_or_insert(Error::cancelled());
                open = false;
            }
            else => break,
        }
    }
    // Stop the reader (it may wait to hand over the next body) and wait for it.
    producer.1.cancel();
    drop(rx);
    if let Err(e) = producer.0.await {
        failure.get_or_insert(Error::internal(format!("reading the archive: {e}")));
    }
    if failure.is_none() && done != expected {
        failure = Some(Error::internal(format!(
            "{done} of {expected} objects were read from the archive"
        )));
    }
    match failure {
        None => Ok(()),
        Some(e) if e.kind() == ErrorKind::Cancelled => Err(e),
        Some(e) => {
            let msg = format!("{}; {}", e.message(), written_so_far(report));
            // The hint (the restore to run again) comes with the undo that follows.
            let mut out = Error::new(e.kind(), msg);
            if let Some(h) = e.hint() {
                out = out.with_hint(h);
            }
            Err(out)
        }
    }
}

/// Reads one member into memory or a temporary file, checking size and SHA-256 against
/// `storage.json` before handing it over.
fn read_verified(
    archive: &std::path::Path,
    item: usize,
    e: &ObjectEntry,
    r: &mut dyn Read,
    limit: u64,
    temp_dir: &std::path::Path,
    cancel: &CancellationToken,
) -> Result<Ready> {
    let mut h = Hashing::new(r, false);
    let mut buf = vec![0u8; 256 * 1024];
    let read_err = |e: std::io::Error| Error::io(format!("reading {}", archive.display()), e);
    let (body, temp) = if e.size <= limit {
        let mut data = Vec::with_capacity(e.size as usize);
        h.read_to_end(&mut data).map_err(read_err)?;
        (PutBody::Bytes(Bytes::from(data)), None)
    } else {
        let tmp = crate::private_fs::tempfile_in(temp_dir, TMP_PREFIX).map_err(|e| {
            Error::io(
                format!("creating a temporary file in {}", temp_dir.display()),
                e,
            )
        })?;
        let (mut file, path) = tmp.into_parts();
        loop {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            let n = h.read(&mut buf).map_err(read_err)?;
            if n == 0 {
                break;
            }
            file.write_all(&buf[..n])
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        }
        file.flush()
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        let p: PathBuf = path.to_path_buf();
        (PutBody::File(p), Some(path))
    };
    let (n, sha, _) = h.finish();
    if n != e.size || sha != e.sha256 {
        return Err(source::mismatch(archive, e, n, &sha));
    }
    Ok(Ready {
        item,
        body,
        _temp: temp,
    })
}

/// Uploads one verified body (with retries) and checks the size the store reports.
async fn put_one(
    store: &dyn ObjectTarget,
    sel: &Selected,
    ready: Ready,
    opts: &StorageRestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> (usize, Result<()>) {
    let item = &sel.items[ready.item];
    let e = sel.entry(item);
    let bucket = sel.buckets[item.bucket].target.as_str();
    let req = PutRequest {
        content_type: e.content_type.clone(),
        cache_control: e.cache_control.clone(),
        metadata: e.metadata.clone(),
    };
    let what = format!("uploading {bucket}/{}", e.key);
    let r = opts
        .retry
        .run(&what, reporter, cancel, || {
            store.put_object(bucket, &e.key, ready.body.clone(), &req)
        })
        .await
        .map_err(|err| Error::new(err.kind(), format!("{what}: {}", err.message())))
        .and_then(|info| {
            if info.size == e.size {
                Ok(())
            } else {
                Err(Error::integrity(format!(
                    "{what}: the store kept {} bytes of {}",
                    info.size, e.size
                )))
            }
        });
    (ready.item, r)
}
