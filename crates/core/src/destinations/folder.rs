//! A folder as a [`Destination`] (a USB disk, a NAS mount, a synced folder).
//!
//! `put` writes `<dir>/.offsite-tmp-<uuid>-<name>` beside the target, fsyncs it, then links it
//! into place without replacing anything (`link(2)` fails when the name exists) or, with
//! `overwrite`, renames over it; then fsyncs the folder. The temporary is removed on every
//! failure, and when the future is dropped midway (a cancelled job).
//!
//! `check` says `offline` when the folder is missing (a removable drive that is not mounted:
//! its mount point, or the folder on it, is gone), and otherwise probes it and reads the free
//! space of its file system (`statvfs`).

use super::{
    check_name, Destination, DestinationCheck, PutBody, PutOptions, Sha256, StoredObject,
    TEMP_PREFIX,
};
use crate::error::{Error, ErrorKind, Result};
use async_trait::async_trait;
use futures::StreamExt;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone)]
pub struct FolderDestination {
    root: PathBuf,
}

impl FolderDestination {
    /// A destination writing into `root` (created on the first put when missing).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FolderDestination { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, name: &str) -> Result<PathBuf> {
        check_name(name)?;
        Ok(self.root.join(name))
    }

    fn object_of(&self, name: String, meta: &std::fs::Metadata) -> StoredObject {
        StoredObject {
            name,
            size: meta.len(),
            sha256: None,
            modified: meta.modified().ok().map(OffsetDateTime::from),
        }
    }
}

/// Removes the temporary file unless disarmed (also when the put's future is dropped).
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::io(what, e)
}

#[async_trait]
impl Destination for FolderDestination {
    fn location(&self) -> String {
        format!("folder {}", self.root.display())
    }

    async fn put(&self, name: &str, body: &dyn PutBody, opts: PutOptions) -> Result<StoredObject> {
        let target = self.path_of(name)?;
        let exists_error = || {
            Error::new(
                ErrorKind::AlreadyExists,
                format!("{name} already exists in {}", self.location()),
            )
            .with_hint("choose another name, or allow replacing it")
        };
        if !opts.overwrite && tokio::fs::symlink_metadata(&target).await.is_ok() {
            return Err(exists_error());
        }
        let dir = target
            .parent()
            .expect("joined path has a parent")
            .to_path_buf();
        crate::private_fs::create_dir_all_async(&dir)
            .await
            .map_err(io(format!("creating {}", dir.display())))?;
        let base = target
            .file_name()
            .expect("checked names end in a segment")
            .to_string_lossy();
        let tmp = dir.join(format!(
            "{TEMP_PREFIX}{}-{base}",
            uuid::Uuid::new_v4().simple()
        ));
        let _in_use = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || crate::tempfiles::in_use(&dir))
                .await
                .map_err(|e| Error::internal(format!("locking a folder: {e}")))??
        };
        let guard = TempGuard(Some(tmp.clone()));

        let writing = format!("writing {}", target.display());
        let mut file = crate::private_fs::tokio_open_options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .await
            .map_err(io(&writing))?;
        let mut stream = body.open().await?;
        let mut sha = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            file.write_all(&chunk).await.map_err(io(&writing))?;
            sha.update(&chunk);
            size += chunk.len() as u64;
        }
        file.flush().await.map_err(io(&writing))?;
        file.sync_all().await.map_err(io(&writing))?;
        drop(file);

        let (tmp2, target2, overwrite) = (tmp.clone(), target.clone(), opts.overwrite);
        let placed = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if overwrite {
                std::fs::rename(&tmp2, &target2)?;
            } else {
                // link(2) never replaces: an object that appeared meanwhile is kept.
                std::fs::hard_link(&tmp2, &target2)?;
                std::fs::remove_file(&tmp2)?;
            }
            std::fs::File::open(target2.parent().expect("has a parent"))?.sync_all()
        })
        .await
        .map_err(|e| Error::internal(format!("placing task failed: {e}")))?;
        match placed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists_error()),
            Err(e) => return Err(Error::io(&writing, e)),
        }
        drop(guard); // the temporary is gone (renamed or unlinked); removing it again is harmless
        let meta = tokio::fs::metadata(&target).await.map_err(io(&writing))?;
        let mut stored = self.object_of(name.to_string(), &meta);
        stored.size = size;
        stored.sha256 = Some(sha.hex());
        Ok(stored)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>> {
        let (root, prefix) = (self.root.clone(), prefix.to_string());
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let mut stack = vec![(root.clone(), String::new())];
            while let Some((dir, rel)) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir == root => {
                        return Ok(Vec::new())
                    }
                    Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
                };
                for entry in entries {
                    let entry = entry.map_err(io(format!("listing {}", dir.display())))?;
                    let Ok(file_name) = entry.file_name().into_string() else {
                        continue; // not a name this destination could have written
                    };
                    if file_name.starts_with(TEMP_PREFIX)
                        || file_name == crate::tempfiles::LOCK_NAME
                    {
                        continue;
                    }
                    let name = if rel.is_empty() {
                        file_name
                    } else {
                        format!("{rel}/{file_name}")
                    };
                    let meta = entry
                        .metadata()
                        .map_err(io(format!("reading {}", entry.path().display())))?;
                    if meta.is_dir() {
                        stack.push((entry.path(), name));
                    } else if meta.is_file() && name.starts_with(&prefix) {
                        out.push(this.object_of(name, &meta));
                    }
                }
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
        .await
        .map_err(|e| Error::internal(format!("listing task failed: {e}")))?
    }

    async fn stat(&self, name: &str) -> Result<Option<StoredObject>> {
        let path = self.path_of(name)?;
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => Ok(Some(self.object_of(name.to_string(), &meta))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    async fn sha256(&self, name: &str) -> Result<String> {
        let path = self.path_of(name)?;
        tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let what = format!("reading {}", path.display());
            let mut f = std::fs::File::open(&path).map_err(io(&what))?;
            let mut sha = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut buf).map_err(io(&what))?;
                if n == 0 {
                    return Ok(sha.hex());
                }
                sha.update(&buf[..n]);
            }
        })
        .await
        .map_err(|e| Error::internal(format!("hashing task failed: {e}")))?
    }

    async fn read(&self, name: &str) -> Result<crate::sources::ByteStream> {
        let path = self.path_of(name)?;
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(Error::not_found(format!(
                    "{name} is not in {}",
                    self.location()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::not_found(format!(
                    "{name} is not in {}",
                    self.location()
                )))
            }
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        }
        super::PutBody::open(&super::FileBody { path }).await
    }

    async fn check(&self) -> Result<DestinationCheck> {
        match tokio::fs::metadata(&self.root).await {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::invalid(format!(
                    "{} is not a folder",
                    self.root.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(DestinationCheck::offline(format!(
                    "{} is not there: if it is on a removable drive, connect and mount it",
                    self.root.display()
                )))
            }
            Err(e) => return Err(Error::io(format!("reading {}", self.root.display()), e)),
        }
        let mut c = super::check::probe(self).await?;
        if let Some((free, total)) = free_space(&self.root) {
            c.free_bytes = Some(free);
            c.total_bytes = Some(total);
        }
        Ok(c)
    }

    async fn delete(&self, name: &str) -> Result<bool> {
        let path = self.path_of(name)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(format!("deleting {}", path.display()), e)),
        }
    }
}

/// Free bytes (for an unprivileged writer) and the size of the file system holding `dir`.
#[cfg(unix)]
fn free_space(dir: &Path) -> Option<(u64, u64)> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some((
        st.f_bavail.saturating_mul(st.f_frsize),
        st.f_blocks.saturating_mul(st.f_frsize),
    ))
}

#[cfg(not(unix))]
fn free_space(_dir: &Path) -> Option<(u64, u64)> {
    None
}
