//! One bucket's listing for a pull: pages in the order the pull records them.
//!
//! A plain ListObjectsV2 loop is one request at a time, and stores that keep objects as files
//! (MinIO's and s3s-fs's folders, Supabase Storage's file backend) sort the whole bucket for
//! every page. When the bucket's top level has a few folders (`/`-delimited common prefixes:
//! `avatars/`, `<user id>/`, …), each folder is listed on its own, up to [`LISTERS`] at once,
//! and their pages are handed on folder by folder, in ascending order:
//!
//! ```text
//!  probe: delimiter "/"  ──▶ top-level objects (one page) ──▶ first
//!                        └─▶ folders a/ b/ c/ …  ──▶ listed in parallel, handed on a/ then b/ …
//! ```
//!
//! Each folder is listed with the delimiter too, as long as it holds no subfolder: a store that
//! keeps objects as files then reads that one folder per page instead of walking the whole
//! bucket (s3s-fs does; for S3 the pages are the same). At a folder's first subfolder, the rest
//! of it is listed plainly, after the last key handed on (`start-after`).
//!
//! Many folders (more than [`MAX_FOLDERS`]), a top level that needs more than one page, or a
//! store that ignores the delimiter: the plain loop. Memory stays bounded: each folder's lister
//! holds at most two pages it has not handed on.

use crate::error::{Error, Result};
use crate::sources::listing_guard::ListingGuard;
use crate::sources::{ListRequest, ObjectInfo, ObjectSource};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Folders listed at once.
pub const LISTERS: usize = 4;
/// More top-level folders than this: one plain listing (a request per tiny folder would cost
/// more than it saves).
pub const MAX_FOLDERS: usize = 64;
const DELIMITER: &str = "/";

/// A page of objects, in the order they are recorded.
#[derive(Debug)]
pub struct ListedPage {
    pub objects: Vec<ObjectInfo>,
    /// Every later key is greater than every key of this page (false for the top-level page of a
    /// folder-by-folder listing: the folders' keys sort before some top-level keys).
    pub ascending_from_here: bool,
}

/// The pages of one bucket, produced in the background.
pub struct BucketListing {
    rx: mpsc::Receiver<Result<ListedPage>>,
    _task: AbortOnDrop,
}

impl BucketListing {
    /// Starts listing `bucket` (`page_size`: the store's default when `None`).
    pub fn start(source: Arc<dyn ObjectSource>, bucket: String, page_size: Option<usize>) -> Self {
        let (tx, rx) = mpsc::channel(2);
        let task = tokio::spawn(async move {
            if let Err(e) = produce(&source, &bucket, page_size, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        BucketListing {
            rx,
            _task: AbortOnDrop(task),
        }
    }

    /// The next page; `None` at the end. After an error, nothing more comes.
    pub async fn next(&mut self) -> Option<Result<ListedPage>> {
        self.rx.recv().await
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

type Tx = mpsc::Sender<Result<ListedPage>>;

async fn produce(
    source: &Arc<dyn ObjectSource>,
    bucket: &str,
    page_size: Option<usize>,
    tx: &Tx,
) -> Result<()> {
    let probe = ListRequest {
        delimiter: Some(DELIMITER.into()),
        page_size,
        ..Default::default()
    };
    let page = source.list_objects(bucket, &probe).await?;
    let mut guard = ListingGuard::default();
    guard.page(
        bucket,
        page.objects.iter().map(|o| o.key.as_str()),
        page.next.as_deref(),
    )?;
    let ignored_delimiter = page.objects.iter().any(|o| o.key.contains(DELIMITER));
    if ignored_delimiter {
        // The store listed everything: this is the plain listing's first page.
        let next = page.next;
        if !send(tx, page.objects, true).await {
            return Ok(());
        }
        return match next {
            Some(n) => {
                pages(source, bucket, None, Some(n), guard, page_size, |p| {
                    send(tx, p, true)
                })
                .await
            }
            None => Ok(()),
        };
    }
    let folders = page.prefixes.len();
    if page.next.is_none() && folders == 0 {
        send(tx, page.objects, true).await;
        return Ok(());
    }
    if page.next.is_some() || folders > MAX_FOLDERS {
        return pages(source, bucket, None, None, plain(), page_size, |p| {
            send(tx, p, true)
        })
        .await;
    }
    if !send(tx, page.objects, false).await {
        return Ok(());
    }
    by_folder(source, bucket, page.prefixes, page_size, tx).await
}

/// Hands `objects` on; `false` when nobody listens any more.
async fn send(tx: &Tx, objects: Vec<ObjectInfo>, ascending_from_here: bool) -> bool {
    tx.send(Ok(ListedPage {
        objects,
        ascending_from_here,
    }))
    .await
    .is_ok()
}

/// A plain listing from the start (no delimiter).
fn plain() -> Option<ListingGuard> {
    None
}

/// The pages under `prefix` from `continuation`; `each` gets every page that has objects and
/// returns `false` to stop. `plain_after`: a plain listing continuing what `ListingGuard` saw
/// (`None`: from scratch); a delimited one is a folder's (`Some(folder)` in `prefix`).
/// Every page passes a [`ListingGuard`]: no token twice, keys strictly ascending.
///
/// `delimited` (one top-level folder, keys ascending): listed with the delimiter first, so a
/// store that keeps objects as files (s3s-fs, a folder-backed server) reads this one folder
/// instead of walking the whole bucket for every page; S3 answers the same pages either way. At
/// the first subfolder, the objects before it are handed on and the rest is listed plainly
/// after the last key handed on (`start-after`: one request more, keys still ascending).
async fn pages<F, Fut>(
    source: &Arc<dyn ObjectSource>,
    bucket: &str,
    prefix: Option<&str>,
    mut continuation: Option<String>,
    plain_after: impl Into<Delimited>,
    page_size: Option<usize>,
    mut each: F,
) -> Result<()>
where
    F: FnMut(Vec<ObjectInfo>) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let (delimited, mut guard) = match plain_after.into() {
        Delimited::Yes => (true, ListingGuard::default()),
        Delimited::No(g) => (false, g.unwrap_or_default()),
    };
    let mut delimiter = delimited.then(|| DELIMITER.to_string());
    let mut start_after: Option<String> = None;
    let mut last: Option<String> = None;
    loop {
        let token = continuation.take();
        let req = ListRequest {
            prefix: prefix.map(str::to_string),
            // S3 ignores `start-after` once it continues a listing.
            start_after: start_after.clone().filter(|_| token.is_none()),
            continuation: token,
            page_size,
            delimiter: delimiter.clone(),
        };
        let mut page = source.list_objects(bucket, &req).await?;
        check_prefix(bucket, prefix, &page.objects)?;
        if let Some(a) = &start_after {
            // A store that ignores `start-after` lists those keys again: handed on already.
            page.objects.retain(|o| o.key.as_str() > a.as_str());
        }
        let subfolder = page.prefixes.iter().min().cloned();
        if let Some(sub) = &subfolder {
            page.objects.retain(|o| &o.key < sub);
        }
        guard.page(
            bucket,
            page.objects.iter().map(|o| o.key.as_str()),
            page.next
                .as_deref()
                .filter(|_| subfolder.is_none() || delimiter.is_none()),
        )?;
        if let Some(o) = page.objects.last() {
            last = Some(o.key.clone());
        }
        if !page.objects.is_empty() && !each(page.objects).await {
            return Ok(());
        }
        if delimiter.is_some() && subfolder.is_some() {
            delimiter = None;
            start_after = last.clone();
            // A new listing (its own tokens), still after the last key handed on.
            guard = ListingGuard::after(guard.last().map(str::to_string));
            continue;
        }
        match page.next {
            Some(n) => continuation = Some(n),
            None => return Ok(()),
        }
    }
}

/// How [`pages`] lists: with the delimiter (a folder), or plainly (continuing a guard).
enum Delimited {
    Yes,
    No(Option<ListingGuard>),
}

impl From<ListingGuard> for Delimited {
    fn from(g: ListingGuard) -> Self {
        Delimited::No(Some(g))
    }
}

impl From<Option<ListingGuard>> for Delimited {
    fn from(g: Option<ListingGuard>) -> Self {
        Delimited::No(g)
    }
}

fn check_prefix(bucket: &str, prefix: Option<&str>, objects: &[ObjectInfo]) -> Result<()> {
    let Some(p) = prefix else { return Ok(()) };
    match objects.iter().find(|o| !o.key.starts_with(p)) {
        Some(o) => Err(Error::integrity(format!(
            "listing bucket {bucket:?} under {p:?}, the store answered key {:?}",
            o.key
        ))
        .with_hint("the store does not filter listings by prefix; report this")),
        None => Ok(()),
    }
}

/// Lists each folder on its own, [`LISTERS`] at once, handing their pages on in folder order.
async fn by_folder(
    source: &Arc<dyn ObjectSource>,
    bucket: &str,
    folders: Vec<String>,
    page_size: Option<usize>,
    tx: &Tx,
) -> Result<()> {
    let spawn = |folder: String| {
        let (ftx, frx) = mpsc::channel::<Result<Vec<ObjectInfo>>>(2);
        let (source, bucket) = (source.clone(), bucket.to_string());
        let task = tokio::spawn(async move {
            let r = pages(
                &source,
                &bucket,
                Some(&folder),
                None,
                Delimited::Yes,
                page_size,
                |p| {
                    let ftx = ftx.clone();
                    async move { ftx.send(Ok(p)).await.is_ok() }
                },
            )
            .await;
            if let Err(e) = r {
                let _ = ftx.send(Err(e)).await;
            }
        });
        (AbortOnDrop(task), frx)
    };
    let mut waiting: VecDeque<String> = folders.into();
    let mut running = VecDeque::new();
    while running.len() < LISTERS {
        match waiting.pop_front() {
            Some(f) => running.push_back(spawn(f)),
            None => break,
        }
    }
    while let Some((task, mut rx)) = running.pop_front() {
        while let Some(page) = rx.recv().await {
            let page = page?;
            if !send(tx, page, true).await {
                return Ok(());
            }
        }
        drop(task);
        if let Some(f) = waiting.pop_front() {
            running.push_back(spawn(f));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::memory::MemoryObjectSource;

    async fn keys_of(src: Arc<dyn ObjectSource>, page_size: usize) -> Vec<(String, bool)> {
        let mut l = BucketListing::start(src, "b".into(), Some(page_size));
        let mut out = Vec::new();
        while let Some(p) = l.next().await {
            let p = p.unwrap();
            for o in p.objects {
                out.push((o.key, p.ascending_from_here));
            }
        }
        out
    }

    fn store(keys: &[&str]) -> Arc<MemoryObjectSource> {
        let s = MemoryObjectSource::new();
        s.create_bucket("b");
        for k in keys {
            s.insert("b", k, k.as_bytes().to_vec(), None);
        }
        Arc::new(s)
    }

    #[tokio::test]
    async fn folders_are_listed_one_by_one_top_level_first() {
        let mut keys = vec!["z", "a", "a!", "/lead"];
        let many: Vec<String> = (0..50)
            .flat_map(|i| {
                ["a/", "b/x/", "c/"]
                    .into_iter()
                    .map(move |p| format!("{p}{i:03}"))
            })
            .collect();
        keys.extend(many.iter().map(String::as_str));
        let src = store(&keys);
        let got = keys_of(src.clone(), 7).await;
        let names: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        // Top level first (ascending), then each folder in order, each ascending.
        let mut top: Vec<&str> = keys.iter().copied().filter(|k| !k.contains('/')).collect();
        top.sort();
        let mut want = top.clone();
        for f in ["/", "a/", "b/", "c/"] {
            let mut under: Vec<&str> = keys.iter().copied().filter(|k| k.starts_with(f)).collect();
            under.sort();
            want.extend(under);
        }
        assert_eq!(names, want);
        assert!(got[..top.len()].iter().all(|(_, asc)| !asc));
        assert!(got[top.len()..].iter().all(|(_, asc)| *asc));
        // Probe + 4 folders (150 keys in pages of 7 plus the one under "/").
        assert!(src.list_count() >= 5);
    }

    /// Forwards to a memory store, logging each listing request; optionally ignores
    /// `start-after` as some stores do.
    struct Logged {
        inner: Arc<MemoryObjectSource>,
        log: std::sync::Mutex<Vec<ListRequest>>,
        ignore_start_after: bool,
    }

    #[async_trait::async_trait]
    impl ObjectSource for Logged {
        async fn list_buckets(&self) -> Result<Vec<crate::sources::BucketInfo>> {
            self.inner.list_buckets().await
        }
        async fn list_objects(
            &self,
            bucket: &str,
            req: &ListRequest,
        ) -> Result<crate::sources::ObjectPage> {
            self.log.lock().unwrap().push(req.clone());
            let mut req = req.clone();
            if self.ignore_start_after {
                req.start_after = None;
            }
            self.inner.list_objects(bucket, &req).await
        }
        async fn get_object(
            &self,
            bucket: &str,
            key: &str,
            req: &crate::sources::GetRequest,
        ) -> Result<crate::sources::ObjectBody> {
            self.inner.get_object(bucket, key, req).await
        }
    }

    fn logged(keys: &[String], ignore_start_after: bool) -> Arc<Logged> {
        Arc::new(Logged {
            inner: store(&keys.iter().map(String::as_str).collect::<Vec<_>>()),
            log: Default::default(),
            ignore_start_after,
        })
    }

    #[tokio::test]
    async fn a_flat_folder_is_listed_with_the_delimiter_only() {
        // Stores that keep objects as files read one folder for a delimited listing, the whole
        // bucket for a plain one: flat folders never need the plain one.
        let keys: Vec<String> = (0..40)
            .map(|i| format!("{}/k{i:03}", ["p", "q"][i % 2]))
            .collect();
        let src = logged(&keys, false);
        let got = keys_of(src.clone(), 7).await;
        let names: Vec<String> = got.into_iter().map(|(k, _)| k).collect();
        let mut want = keys.clone();
        want.sort();
        assert_eq!(names, want);
        let log = src.log.lock().unwrap();
        // The probe, then 20 keys per folder in pages of 7: 3 requests each.
        assert_eq!(log.len(), 1 + 2 * 3, "{log:?}");
        assert!(log.iter().all(|r| r.delimiter.as_deref() == Some("/")));
        assert!(log.iter().all(|r| r.start_after.is_none()));
    }

    #[tokio::test]
    async fn subfolders_switch_to_a_plain_listing_after_the_last_key_handed_on() {
        // Objects and subfolders interleave in key order ("a/b.txt" < "a/b/…" < "a/c");
        // every key comes once, ascending, also from a store that ignores `start-after`.
        let mut keys: Vec<String> = ["a/b.txt", "a/b/x", "a/b/y", "a/c", "a/d/e/f", "a/z", "b/1"]
            .into_iter()
            .map(String::from)
            .collect();
        keys.extend((0..30).map(|i| format!("a/a{i:02}")));
        keys.extend((0..30).map(|i| format!("a/c{i:02}")));
        let mut want = keys.clone();
        want.sort();
        for ignore_start_after in [false, true] {
            let src = logged(&keys, ignore_start_after);
            let got = keys_of(src.clone(), 4).await;
            let names: Vec<String> = got.iter().map(|(k, _)| k.clone()).collect();
            assert_eq!(names, want, "ignore_start_after: {ignore_start_after}");
            assert!(got.iter().all(|(_, asc)| *asc));
            let log = src.log.lock().unwrap();
            let switched: Vec<&ListRequest> =
                log.iter().filter(|r| r.start_after.is_some()).collect();
            // Folder a/ switched once, after the keys before its first subfolder ("a/a29",
            // "a/b.txt"): the first page with a subfolder; b/ never did.
            assert_eq!(switched.len(), 1, "{log:?}");
            assert_eq!(switched[0].prefix.as_deref(), Some("a/"));
            assert!(switched[0].delimiter.is_none());
            assert!(switched[0]
                .start_after
                .as_deref()
                .unwrap()
                .starts_with("a/"));
        }
    }

    #[tokio::test]
    async fn a_flat_bucket_or_many_folders_is_one_plain_listing() {
        let flat: Vec<String> = (0..30).map(|i| format!("k{i:02}")).collect();
        let src = store(&flat.iter().map(String::as_str).collect::<Vec<_>>());
        let got = keys_of(src, 7).await;
        assert_eq!(got.len(), 30);
        assert!(got.iter().all(|(_, asc)| *asc));
        let names: Vec<String> = got.into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, flat);

        let folders: Vec<String> = (0..(MAX_FOLDERS + 1))
            .map(|i| format!("f{i:03}/x"))
            .collect();
        let src = store(&folders.iter().map(String::as_str).collect::<Vec<_>>());
        let got = keys_of(src.clone(), 1000).await;
        let names: Vec<String> = got.into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, folders);
        // The probe, then one plain page: no request per folder.
        assert_eq!(src.list_count(), 2);
    }
}
