//! Where copies of archives go: one small trait, [`Destination`], with a folder
//! ([`folder::FolderDestination`]), an S3-compatible bucket ([`s3::S3Destination`]) and an rclone
//! remote ([`rclone::RcloneDestination`]).
//!
//! The contract (checked by `offsite_testkit::conformance::destination` for every
//! implementation, bare and behind a fault injector wrapped in [`crate::retry::Retrying`]):
//! - `put` is atomic: the object appears whole under its name or not at all — written under a
//!   temporary name, fsynced, then renamed (a bucket: one PUT or a completed multipart upload).
//!   A failure midway (the body fails, the disk fills, the connection drops) leaves nothing
//!   visible and no temporary behind.
//! - `put` never replaces an existing object unless [`PutOptions::overwrite`]: otherwise
//!   `already_exists`.
//! - `list` shows finished objects only (never temporaries), sorted by name.
//! - `delete` of a missing object is `Ok(false)`, not an error (deleting is idempotent).
//! - Names are `/`-separated relative paths of non-empty segments, none `.` or `..`, no
//!   backslash or NUL; spaces and unicode are fine. Anything else is `invalid_input`.

mod check;
pub mod folder;
pub mod medium;
pub mod memory;
pub mod rclone;
mod rclone_run;
mod retrying;
pub mod s3;
pub mod s3_lock;
mod s3_upload;

use crate::error::{Error, Result};
use crate::sources::ByteStream;
use async_trait::async_trait;
use bytes::Bytes;
use serde::Serialize;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

pub use check::{CheckState, DestinationCheck};
pub use folder::FolderDestination;
pub use memory::MemoryDestination;
pub use rclone::{RcloneConfig, RcloneDestination};
pub use s3::{S3Destination, S3DestinationConfig};
pub use s3_lock::{LockMode, ObjectLock};

/// An object stored at a destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredObject {
    pub name: String,
    pub size: u64,
    /// SHA-256 of the content when the destination knows it without reading it back (hex).
    pub sha256: Option<String>,
    pub modified: Option<OffsetDateTime>,
}

/// How to put.
#[derive(Debug, Clone, Copy, Default)]
pub struct PutOptions {
    /// Replace an existing object of the same name (atomically: readers see the old or the new
    /// one, never a mix).
    pub overwrite: bool,
}

/// What to upload: re-openable, so a retry starts the upload over from the first byte.
#[async_trait]
pub trait PutBody: Send + Sync {
    /// A fresh stream of the whole content.
    async fn open(&self) -> Result<ByteStream>;
    /// Its size, when known in advance.
    fn size(&self) -> Option<u64>;
    /// Its SHA-256 (hex), when known in advance (an archive's `.sha256`): a bucket stores it as
    /// the object's metadata without reading the body twice, and the put fails with `integrity`
    /// when the bytes streamed do not match it.
    fn sha256(&self) -> Option<String> {
        None
    }
    /// The local file holding exactly these bytes, when there is one (a tool such as rclone
    /// can then read it itself instead of a copy spooled from the stream).
    fn local_path(&self) -> Option<&Path> {
        None
    }
}

/// A body whose SHA-256 is known in advance (see [`PutBody::sha256`]).
#[derive(Debug, Clone)]
pub struct HashedBody<B> {
    pub body: B,
    /// Lower-case hex.
    pub sha256: String,
}

impl<B> HashedBody<B> {
    pub fn new(body: B, sha256: impl Into<String>) -> Self {
        HashedBody {
            body,
            sha256: sha256.into().to_ascii_lowercase(),
        }
    }
}

#[async_trait]
impl<B: PutBody> PutBody for HashedBody<B> {
    async fn open(&self) -> Result<ByteStream> {
        self.body.open().await
    }
    fn size(&self) -> Option<u64> {
        self.body.size()
    }
    fn sha256(&self) -> Option<String> {
        Some(self.sha256.clone())
    }
    fn local_path(&self) -> Option<&Path> {
        self.body.local_path()
    }
}

/// A file on local disk, streamed in 1 MiB pieces.
#[derive(Debug, Clone)]
pub struct FileBody {
    pub path: PathBuf,
}

const FILE_CHUNK: usize = 1 << 20;

#[async_trait]
impl PutBody for FileBody {
    async fn open(&self) -> Result<ByteStream> {
        let path = self.path.clone();
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        Ok(file_stream(file, path))
    }
    fn size(&self) -> Option<u64> {
        std::fs::metadata(&self.path).ok().map(|m| m.len())
    }
    fn local_path(&self) -> Option<&Path> {
        Some(&self.path)
    }
}

/// An open file's content in 1 MiB pieces (`path` names it in errors).
pub(crate) fn file_stream(file: tokio::fs::File, path: PathBuf) -> ByteStream {
    use tokio::io::AsyncReadExt;
    let stream = futures::stream::try_unfold((file, path), |(mut file, path)| async move {
        let mut buf = vec![0u8; FILE_CHUNK];
        let n = file
            .read(&mut buf)
            .await
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some((Bytes::from(buf), (file, path))))
    });
    Box::pin(stream)
}

/// Bytes in memory (small objects, tests).
#[derive(Debug, Clone)]
pub struct BytesBody(pub Bytes);

#[async_trait]
impl PutBody for BytesBody {
    async fn open(&self) -> Result<ByteStream> {
        Ok(crate::sources::memory::chunked(self.0.clone()))
    }
    fn size(&self) -> Option<u64> {
        Some(self.0.len() as u64)
    }
}

/// A place archive copies go.
#[async_trait]
pub trait Destination: Send + Sync {
    /// Where it is, for messages (`folder /media/usb/offsite`, `s3://bucket/prefix`).
    fn location(&self) -> String;

    /// Store `body` under `name`, atomically (see the module's contract). Returns what was
    /// stored, with the SHA-256 computed while streaming.
    async fn put(&self, name: &str, body: &dyn PutBody, opts: PutOptions) -> Result<StoredObject>;

    /// The finished objects whose names start with `prefix`, sorted by name.
    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>>;

    /// One object's facts; `None` when it does not exist.
    async fn stat(&self, name: &str) -> Result<Option<StoredObject>>;

    /// The SHA-256 of a stored object's content (hex): known, or computed by reading it back.
    /// `not_found` when it does not exist.
    async fn sha256(&self, name: &str) -> Result<String>;

    /// Remove an object; `Ok(false)` when there was none.
    async fn delete(&self, name: &str) -> Result<bool>;

    /// A stream of a stored object's content (to fetch a copy back); `not_found` when it does
    /// not exist. Destinations that cannot be read back say so.
    async fn read(&self, name: &str) -> Result<ByteStream> {
        Err(Error::invalid(format!(
            "{name} cannot be read back from {}",
            self.location()
        )))
    }

    /// The SHA-256 of a stored object computed from its bytes, read back whole (the deep check
    /// of a copy). The default is [`Destination::sha256`], which for a folder reads the file;
    /// a bucket or remote that keeps the hash as metadata downloads the object instead.
    async fn deep_sha256(&self, name: &str) -> Result<String> {
        self.sha256(name).await
    }

    /// "Test destination": reachable and writable (a small probe object put and deleted), free
    /// space when the destination knows it, or `offline` (a removable drive not mounted: a
    /// state, not an error). Failures that say something is wrong (bad credentials, a missing
    /// bucket, an unreachable server) are errors with their codes.
    async fn check(&self) -> Result<DestinationCheck> {
        check::probe(self).await
    }
}

/// Put a local file (the usual case: an archive and its `.sha256`).
pub async fn put_file(
    dest: &dyn Destination,
    name: &str,
    path: &Path,
    opts: PutOptions,
) -> Result<StoredObject> {
    dest.put(
        name,
        &FileBody {
            path: path.to_path_buf(),
        },
        opts,
    )
    .await
}

/// Check a destination object name (see the module's contract).
pub fn check_name(name: &str) -> Result<()> {
    let bad = |why: &str| Error::invalid(format!("bad destination object name {name:?}: {why}"));
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if name.contains('\0') || name.contains('\\') {
        return Err(bad("NUL and backslash are not allowed"));
    }
    for seg in name.split('/') {
        match seg {
            "" => {
                return Err(bad(
                    "empty path segment (a leading, trailing or double '/')",
                ))
            }
            "." | ".." => return Err(bad("'.' and '..' segments are not allowed")),
            s if s.starts_with(TEMP_PREFIX) => {
                return Err(bad("names starting with .offsite-tmp- are reserved"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Temporary names start with this (swept at start by the scheduler, issue 9; never listed).
pub const TEMP_PREFIX: &str = ".offsite-tmp-";

pub use crate::digest::{sha256_hex, Sha256};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in [
            "a",
            "shop/x_20261121_database.tar.gz",
            "with space/ünïcødé ✓.tar.gz",
            ".hidden",
        ] {
            check_name(ok).unwrap();
        }
        for bad in [
            "",
            "/abs",
            "a//b",
            "a/",
            "../x",
            "a/./b",
            "a\\b",
            "nul\0",
            ".offsite-tmp-1",
            "d/.offsite-tmp-x",
        ] {
            let e = check_name(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad:?}");
        }
    }
}
