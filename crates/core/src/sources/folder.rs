//! A local folder as an object store: its first-level folders are buckets, the files below them
//! objects, keyed by their path relative to the bucket with `/` between the parts (self-hosted
//! Supabase's `volumes/storage`, read by the agent on the same host).
//!
//! Only regular files count: symbolic links are not followed (a link could point anywhere on
//! the host; on Unix not even one swapped in after the listing, see [`super::folder_fs`]),
//! hidden entries (`.name`) and names that are not UTF-8 are skipped. Keys asked for
//! are checked: no `..` or `.` parts, no empty parts, no absolute paths. The ETag is made from
//! the file's modification time and size (it changes when the file does).

use super::folder_fs::{io_error, is_bucket, open_file, walk, Meta};
use super::{
    BucketInfo, ByteStream, GetRequest, ListRequest, ObjectBody, ObjectInfo, ObjectPage,
    ObjectSource,
};
use crate::error::{Error, ErrorKind, Result};
use async_trait::async_trait;
use bytes::Bytes;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Bodies are read in pieces of this size.
const CHUNK: usize = 256 * 1024;

/// A folder of buckets.
#[derive(Debug, Clone)]
pub struct FolderSource {
    root: PathBuf,
}

impl FolderSource {
    /// The buckets in `root`'s first-level folders.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FolderSource { root: root.into() }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn bucket_dir(&self, bucket: &str) -> Result<PathBuf> {
        if bucket.is_empty()
            || bucket.contains(['/', '\\', '\0'])
            || bucket == "."
            || bucket == ".."
            || bucket.starts_with('.')
        {
            return Err(Error::new(
                ErrorKind::UnsafePath,
                format!("{bucket:?} is not a bucket name"),
            ));
        }
        if is_bucket(&self.root, bucket)? {
            Ok(self.root.join(bucket))
        } else {
            Err(no_bucket(bucket))
        }
    }

    /// The parts of a key, checked: no `..` or `.` parts, no empty parts, no absolute paths.
    fn key_parts<'k>(&self, bucket: &str, key: &'k str) -> Result<Vec<&'k str>> {
        self.bucket_dir(bucket)?;
        let parts: Vec<&str> = key.split('/').collect();
        if key.is_empty()
            || key.contains(['\\', '\0'])
            || parts
                .iter()
                .any(|p| p.is_empty() || *p == "." || *p == "..")
        {
            return Err(Error::new(
                ErrorKind::UnsafePath,
                format!("{key:?} is not a key this folder can hold"),
            ));
        }
        Ok(parts)
    }
}

fn no_bucket(bucket: &str) -> Error {
    Error::not_found(format!("no bucket named {bucket:?}"))
}

fn etag(m: &Meta) -> String {
    let nanos = m
        .modified
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:x}-{:x}", m.len)
}

fn info(key: String, m: &Meta) -> ObjectInfo {
    ObjectInfo {
        etag: Some(etag(m)),
        last_modified: m.modified.map(OffsetDateTime::from),
        ..ObjectInfo::listed(key, m.len)
    }
}

fn read_stream(file: std::fs::File, left: u64) -> ByteStream {
    use std::io::Read;
    // The state: the file and the bytes still to send (`None` after an error).
    Box::pin(futures::stream::unfold(
        Some((file, left)),
        |state| async move {
            let (mut file, left) = state?;
            if left == 0 {
                return None;
            }
            let want = (left as usize).min(CHUNK);
            let res = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; want];
                let n = file.read(&mut buf)?;
                buf.truncate(n);
                Ok::<_, std::io::Error>((file, buf))
            })
            .await;
            match res {
                Ok(Ok((_, buf))) if buf.is_empty() => Some((
                    Err(Error::new(
                        ErrorKind::Conflict,
                        "the file became shorter while it was read",
                    )),
                    None,
                )),
                Ok(Ok((file, buf))) => {
                    let left = left - buf.len() as u64;
                    Some((Ok(Bytes::from(buf)), Some((file, left))))
                }
                Ok(Err(e)) => Some((Err(Error::io("reading a storage file", e)), None)),
                Err(e) => Some((Err(Error::internal(format!("reader task: {e}"))), None)),
            }
        },
    ))
}

#[async_trait]
impl ObjectSource for FolderSource {
    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for entry in std::fs::read_dir(&root).map_err(|e| io_error(&root, e))? {
                let entry = entry.map_err(|e| io_error(&root, e))?;
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let m = entry.metadata().map_err(|e| io_error(&entry.path(), e))?;
                if m.is_dir() && !name.starts_with('.') {
                    out.push(BucketInfo {
                        name,
                        created: m.created().ok().map(OffsetDateTime::from),
                    });
                }
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
        .await
        .map_err(|e| Error::internal(format!("listing task: {e}")))?
    }

    async fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ObjectPage> {
        self.bucket_dir(bucket)?;
        let (root, bucket) = (self.root.clone(), bucket.to_string());
        let prefix = req.prefix.clone().unwrap_or_default();
        let after = req.continuation.clone().or_else(|| req.start_after.clone());
        let page_size = req.page_size.unwrap_or(1000).max(1);
        tokio::task::spawn_blocking(move || {
            let all = walk(&root, &bucket, &prefix)?;
            let mut page: Vec<ObjectInfo> = all
                .into_iter()
                .filter(|(k, _)| after.as_deref().is_none_or(|a| k.as_bytes() > a.as_bytes()))
                .take(page_size + 1)
                .map(|(k, m)| info(k, &m))
                .collect();
            let next = if page.len() > page_size {
                page.truncate(page_size);
                page.last().map(|o| o.key.clone())
            } else {
                None
            };
            // The delimiter is not applied: every key is listed (the pull's listing notices).
            Ok(ObjectPage {
                objects: page,
                prefixes: Vec::new(),
                next,
            })
        })
        .await
        .map_err(|e| Error::internal(format!("listing task: {e}")))?
    }

    async fn get_object(&self, bucket: &str, key: &str, req: &GetRequest) -> Result<ObjectBody> {
        let parts: Vec<String> = self
            .key_parts(bucket, key)?
            .into_iter()
            .map(str::to_string)
            .collect();
        let root = self.root.clone();
        let path = parts.iter().fold(root.join(bucket), |p, part| p.join(part));
        let key = key.to_string();
        let req = req.clone();
        let bucket = bucket.to_string();
        tokio::task::spawn_blocking(move || {
            use std::io::{Seek, SeekFrom};
            let missing = || Error::not_found(format!("no object {key:?} in bucket {bucket:?}"));
            // Never through a link, not even one swapped in after the listing.
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            let mut file = open_file(&root, &bucket, &parts)?.ok_or_else(missing)?;
            let m = Meta::from(&file.metadata().map_err(|e| io_error(&path, e))?);
            let info = info(key.clone(), &m);
            if let Some(want) = &req.if_match {
                if Some(want) != info.etag.as_ref() {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!("object {key:?} in bucket {bucket:?} changed"),
                    ));
                }
            }
            let range = match req.range {
                Some(r) => r.resolve(m.len)?,
                None => 0..m.len,
            };
            file.seek(SeekFrom::Start(range.start))
                .map_err(|e| io_error(&path, e))?;
            let stream = read_stream(file, range.end - range.start);
            Ok(ObjectBody {
                info,
                range,
                stream,
            })
        })
        .await
        .map_err(|e| Error::internal(format!("reader task: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{collect, ByteRange};

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let w = |p: &str, b: &[u8]| {
            let path = d.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b).unwrap();
        };
        w("avatars/a.png", b"AAAA");
        w("avatars/dir/b.txt", b"hello world");
        w("avatars/dir/deeper/c", b"");
        w("avatars/.hidden", b"x");
        w("docs/readme.md", b"# docs");
        w("docs/big.bin", &vec![7u8; CHUNK * 2 + 5]);
        w("loose-file", b"not a bucket");
        d
    }

    #[tokio::test]
    async fn buckets_objects_pages_and_ranges() {
        let d = tree();
        let s = FolderSource::new(d.path());
        let names: Vec<_> = s
            .list_buckets()
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(names, vec!["avatars", "docs"]);
        let big = s
            .get_object("docs", "big.bin", &GetRequest::default())
            .await
            .unwrap();
        assert_eq!(collect(big.stream).await.unwrap().len(), CHUNK * 2 + 5);
        let page = s
            .list_objects("avatars", &ListRequest::default())
            .await
            .unwrap();
        let keys: Vec<_> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, vec!["a.png", "dir/b.txt", "dir/deeper/c"]);
        assert!(page.next.is_none());
        assert!(page.objects.iter().all(|o| o.etag.is_some()));
        // Paging and prefixes.
        let first = s
            .list_objects(
                "avatars",
                &ListRequest {
                    page_size: Some(2),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(first.objects.len(), 2);
        let second = s
            .list_objects(
                "avatars",
                &ListRequest {
                    page_size: Some(2),
                    continuation: first.next.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(second.objects[0].key, "dir/deeper/c");
        let dir = s
            .list_objects(
                "avatars",
                &ListRequest {
                    prefix: Some("dir/d".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(dir.objects.len(), 1);
        // Bodies, ranges, If-Match.
        let body = s
            .get_object("avatars", "dir/b.txt", &GetRequest::default())
            .await
            .unwrap();
        let etag = body.info.etag.clone();
        assert_eq!(collect(body.stream).await.unwrap(), b"hello world");
        let part = s
            .get_object(
                "avatars",
                "dir/b.txt",
                &GetRequest {
                    range: Some(ByteRange {
                        start: 6,
                        end: Some(11),
                    }),
                    if_match: etag,
                },
            )
            .await
            .unwrap();
        assert_eq!(part.range, 6..11);
        assert_eq!(collect(part.stream).await.unwrap(), b"world");
        let e = s
            .get_object(
                "avatars",
                "a.png",
                &GetRequest {
                    if_match: Some("other".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
    }

    #[tokio::test]
    async fn unsafe_names_links_and_missing_things_are_refused() {
        let d = tree();
        let s = FolderSource::new(d.path());
        for (bucket, key) in [
            ("avatars", "../docs/readme.md"),
            ("avatars", "/etc/passwd"),
            ("avatars", "dir//b.txt"),
            ("avatars", "./a.png"),
            ("..", "etc/passwd"),
            ("a/b", "c"),
        ] {
            let e = s
                .get_object(bucket, key, &GetRequest::default())
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsafePath, "{bucket} {key}");
        }
        let e = s
            .get_object("avatars", "nope", &GetRequest::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = s
            .list_objects("nobucket", &ListRequest::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/hostname", d.path().join("avatars/link")).unwrap();
            let keys: Vec<_> = s
                .list_objects("avatars", &ListRequest::default())
                .await
                .unwrap()
                .objects
                .into_iter()
                .map(|o| o.key)
                .collect();
            assert!(!keys.contains(&"link".to_string()));
            let e = s
                .get_object("avatars", "link", &GetRequest::default())
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsafePath, "{e}");
            // A bucket that is a link is no bucket.
            std::os::unix::fs::symlink("/etc", d.path().join("etc-link")).unwrap();
            let names: Vec<_> = s
                .list_buckets()
                .await
                .unwrap()
                .into_iter()
                .map(|b| b.name)
                .collect();
            assert!(!names.contains(&"etc-link".to_string()));
            let e = s
                .get_object("etc-link", "hostname", &GetRequest::default())
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        }
    }

    /// A folder of a bucket swapped for a link to `/etc` between the listing and the read (and
    /// a bucket swapped the same way): the read is refused, nothing of `/etc` comes out.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_link_swapped_in_after_the_listing_is_not_followed() {
        let d = tree();
        let w = |p: &str, b: &[u8]| std::fs::write(d.path().join(p), b).unwrap();
        w("avatars/dir/passwd", b"not the real one");
        let s = FolderSource::new(d.path());
        let listed: Vec<_> = s
            .list_objects("avatars", &ListRequest::default())
            .await
            .unwrap()
            .objects
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert!(listed.contains(&"dir/passwd".to_string()), "{listed:?}");
        // The swap: avatars/dir becomes a link to /etc.
        std::fs::rename(d.path().join("avatars/dir"), d.path().join("avatars/.old")).unwrap();
        std::os::unix::fs::symlink("/etc", d.path().join("avatars/dir")).unwrap();
        assert!(
            d.path().join("avatars/dir/passwd").is_file(),
            "/etc/passwd exists"
        );
        let e = s
            .get_object("avatars", "dir/passwd", &GetRequest::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsafePath, "{e}");
        assert!(e.hint().is_some());
        // Listing again does not enter the link either.
        let again = s
            .list_objects("avatars", &ListRequest::default())
            .await
            .unwrap();
        assert!(again.objects.iter().all(|o| !o.key.starts_with("dir/")));
        // The bucket itself swapped.
        std::fs::rename(d.path().join("docs"), d.path().join(".docs-old")).unwrap();
        std::os::unix::fs::symlink("/etc", d.path().join("docs")).unwrap();
        for e in [
            s.get_object("docs", "passwd", &GetRequest::default())
                .await
                .unwrap_err(),
            s.list_objects("docs", &ListRequest::default())
                .await
                .unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        }
        // A FIFO in place of a file is no object (and does not hang the read).
        let fifo = d.path().join("avatars/a.png");
        std::fs::remove_file(&fifo).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = s
            .get_object("avatars", "a.png", &GetRequest::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    }
}
