//! A folder as a [`Destination`] (a USB disk, a NAS mount, a synced folder).
//!
//! `put` writes `<dir>/.offsite-tmp-<uuid>-<name>` beside the target, fsyncs it, then links it
//! into place without replacing anything (`link(2)` fails when the name exists) or, with
//! `overwrite`, renames over it; then fsyncs the folder. The temporary is removed on every
//! failure, and when the future is dropped midway (a cancelled job).
//!
//! No link below the root is followed ([`crate::nofollow`]): every folder under it is opened
//! from its parent's descriptor with `O_NOFOLLOW`, and every file is stat'ed, read, written and
//! removed relative to its folder's descriptor. A link where a folder or an object should be
//! (`<root>/<project>` swapped for a link to the laptop's own backup folder, a copy replaced by
//! a link to any file) is refused with `unsafe_path` naming it: `stat` and `sha256` never
//! report what a link points to as a stored copy, and `delete` never removes through one. The
//! root itself is the operator's choice and may be a link.
//!
//! `check` says `offline` when the folder is missing (a removable drive that is not mounted:
//! its mount point, or the folder on it, is gone), and otherwise probes it and reads the free
//! space of its file system (`statvfs`).

use super::{
    check_name, Destination, DestinationCheck, PutBody, PutOptions, Sha256, StoredObject,
    TEMP_PREFIX,
};
use crate::error::{Error, ErrorKind, Result};
use crate::nofollow::{Entry, FileMeta, Folder};
use async_trait::async_trait;
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone)]
pub struct FolderDestination {
    root: PathBuf,
}

/// `a/b/name` as (`["a", "b"]`, `"name"`), after checking the name.
fn split(name: &str) -> Result<(Vec<String>, String)> {
    check_name(name)?;
    let mut parts: Vec<String> = name.split('/').map(str::to_string).collect();
    let base = parts.pop().expect("a checked name has a segment");
    Ok((parts, base))
}

/// Run blocking file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("{what} task failed: {e}")))?
}

impl FolderDestination {
    /// A destination writing into `root` (created on the first put when missing).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FolderDestination { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder holding `name` (opened without following a link below the root) and the
    /// name's last segment; `None` when a folder on the way is missing and not `create`.
    async fn folder_of(&self, name: &str, create: bool) -> Result<(Option<Arc<Folder>>, String)> {
        let (dirs, base) = split(name)?;
        let root = self.root.clone();
        let folder = blocking("opening a folder", move || {
            let parts: Vec<&str> = dirs.iter().map(String::as_str).collect();
            Folder::open(&root, &parts, create)
        })
        .await?;
        Ok((folder.map(Arc::new), base))
    }

    fn object_of(&self, name: String, meta: FileMeta) -> StoredObject {
        StoredObject {
            name,
            size: meta.len,
            sha256: None,
            modified: meta.modified.map(OffsetDateTime::from),
        }
    }

    /// The regular file `name`, opened for reading without following a link; `not_found`
    /// when there is none.
    async fn open_object(&self, name: &str) -> Result<(std::fs::File, PathBuf)> {
        let missing = || Error::not_found(format!("{name} is not in {}", self.location()));
        let (Some(folder), base) = self.folder_of(name, false).await? else {
            return Err(missing());
        };
        let path = folder.join(&base);
        match blocking("opening a file", move || folder.open_read(&base)).await? {
            Some(file) => Ok((file, path)),
            None => Err(missing()),
        }
    }
}

/// Removes the temporary file unless disarmed (also when the put's future is dropped).
struct TempGuard(Option<(Arc<Folder>, String)>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some((folder, name)) = self.0.take() {
            folder.remove_quietly(&name);
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
        let exists_error = || {
            Error::new(
                ErrorKind::AlreadyExists,
                format!("{name} already exists in {}", self.location()),
            )
            .with_hint("choose another name, or allow replacing it")
        };
        let (folder, base) = self.folder_of(name, true).await?;
        let folder = folder.expect("created when missing");
        let target = folder.join(&base);
        let writing = format!("writing {}", target.display());
        let tmp = format!("{TEMP_PREFIX}{}-{base}", uuid::Uuid::new_v4().simple());
        // What is there (a link is never written through, nor replaced: it was planted), the
        // folder's lock, and the temporary file: all relative to the folder's descriptor.
        let (_in_use, file) = {
            let (folder, base, tmp, writing) =
                (folder.clone(), base.clone(), tmp.clone(), writing.clone());
            let overwrite = opts.overwrite;
            blocking("preparing a copy", move || {
                match folder.entry(&base)? {
                    Entry::Missing => {}
                    Entry::Link => return Err(folder.refuse_link(&base)),
                    Entry::File(_) if overwrite => {}
                    _ => return Ok(None),
                }
                let lock = crate::tempfiles::in_use_in(&folder)?;
                let file = folder.create_new(&tmp).map_err(io(&writing))?;
                Ok(Some((lock, file)))
            })
            .await?
            .ok_or_else(exists_error)?
        };
        let guard = TempGuard(Some((folder.clone(), tmp.clone())));
        let mut file = tokio::fs::File::from_std(file);
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

        let (f2, tmp2, base2, overwrite) =
            (folder.clone(), tmp.clone(), base.clone(), opts.overwrite);
        let placed = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if overwrite {
                f2.rename(&tmp2, &base2)?;
            } else {
                // link(2) never replaces: an object that appeared meanwhile is kept.
                f2.link(&tmp2, &base2)?;
                f2.remove_quietly(&tmp2);
            }
            f2.sync()
        })
        .await
        .map_err(|e| Error::internal(format!("placing task failed: {e}")))?;
        match placed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists_error()),
            Err(e) => return Err(Error::io(&writing, e)),
        }
        drop(guard); // the temporary is gone (renamed or unlinked); removing it again is harmless
        let meta = match folder.entry(&base)? {
            Entry::File(meta) => meta,
            Entry::Link => return Err(folder.refuse_link(&base)),
            _ => return Err(Error::not_found(format!("{} vanished", target.display()))),
        };
        let mut stored = self.object_of(name.to_string(), meta);
        stored.size = size;
        stored.sha256 = Some(sha.hex());
        Ok(stored)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>> {
        let (root, prefix) = (self.root.clone(), prefix.to_string());
        let this = self.clone();
        blocking("listing", move || {
            let Some(top) = Folder::open(&root, &[], false)? else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            let mut stack = vec![(top, String::new())];
            while let Some((dir, rel)) = stack.pop() {
                for file_name in dir.names()? {
                    if file_name.starts_with(TEMP_PREFIX)
                        || file_name == crate::tempfiles::LOCK_NAME
                    {
                        continue;
                    }
                    let name = if rel.is_empty() {
                        file_name.clone()
                    } else {
                        format!("{rel}/{file_name}")
                    };
                    match dir.entry(&file_name)? {
                        Entry::Folder => {
                            if let Some(sub) = dir.sub(&file_name, false)? {
                                stack.push((sub, name));
                            }
                        }
                        Entry::File(meta) if name.starts_with(&prefix) => {
                            out.push(this.object_of(name, meta))
                        }
                        Entry::Link => tracing::warn!(
                            link = %dir.join(&file_name).display(),
                            "a symbolic link in a destination folder is not followed"
                        ),
                        _ => {} // gone since, devices, FIFOs, sockets: not objects
                    }
                }
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
        .await
    }

    async fn stat(&self, name: &str) -> Result<Option<StoredObject>> {
        let (Some(folder), base) = self.folder_of(name, false).await? else {
            return Ok(None);
        };
        match folder.entry(&base)? {
            Entry::File(meta) => Ok(Some(self.object_of(name.to_string(), meta))),
            // A copy is a regular file inside the root, never what a link points to.
            Entry::Link => Err(folder.refuse_link(&base)),
            _ => Ok(None),
        }
    }

    async fn sha256(&self, name: &str) -> Result<String> {
        let (mut f, path) = self.open_object(name).await?;
        blocking("hashing", move || {
            use std::io::Read;
            let what = format!("reading {}", path.display());
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
    }

    async fn read(&self, name: &str) -> Result<crate::sources::ByteStream> {
        let (file, path) = self.open_object(name).await?;
        Ok(super::file_stream(tokio::fs::File::from_std(file), path))
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
        let (Some(folder), base) = self.folder_of(name, false).await? else {
            return Ok(false);
        };
        // Refuses a link (kept as it is): retention never deletes through one.
        blocking("deleting", move || folder.remove_file(&base)).await
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::destinations::BytesBody;
    use std::os::unix::fs::symlink;

    fn body(b: &'static [u8]) -> BytesBody {
        BytesBody(bytes::Bytes::from_static(b))
    }

    #[tokio::test]
    async fn no_link_below_the_root_is_followed() {
        let d = tempfile::tempdir().unwrap();
        let (root, local) = (d.path().join("nas"), d.path().join("local"));
        std::fs::create_dir_all(root.join("shop")).unwrap();
        std::fs::create_dir_all(&local).unwrap();
        std::fs::write(local.join("a.tar.zst"), b"local archive").unwrap();
        let dest = FolderDestination::new(&root);

        // A copy that is a link: never stat'ed, hashed, read, replaced or deleted through.
        symlink(local.join("a.tar.zst"), root.join("shop/a.tar.zst")).unwrap();
        for e in [
            dest.stat("shop/a.tar.zst").await.unwrap_err(),
            dest.sha256("shop/a.tar.zst").await.unwrap_err(),
            dest.read("shop/a.tar.zst").await.err().unwrap(),
            dest.delete("shop/a.tar.zst").await.unwrap_err(),
            dest.put(
                "shop/a.tar.zst",
                &body(b"x"),
                PutOptions { overwrite: true },
            )
            .await
            .unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::UnsafePath, "{e}");
            assert!(e.message().contains("shop/a.tar.zst"), "{e}");
        }
        assert!(std::fs::symlink_metadata(root.join("shop/a.tar.zst"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::read(local.join("a.tar.zst")).unwrap(),
            b"local archive"
        );
        assert!(dest.list("").await.unwrap().is_empty());

        // The project folder swapped for a link: every operation below it is refused.
        std::fs::remove_dir_all(root.join("shop")).unwrap();
        symlink(&local, root.join("shop")).unwrap();
        for e in [
            dest.stat("shop/a.tar.zst").await.unwrap_err(),
            dest.delete("shop/a.tar.zst").await.unwrap_err(),
            dest.put("shop/b.tar.zst", &body(b"x"), PutOptions::default())
                .await
                .unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::UnsafePath, "{e}");
            assert!(
                e.message()
                    .contains(&root.join("shop").display().to_string()),
                "{e}"
            );
        }
        assert!(!local.join("b.tar.zst").exists());
        assert_eq!(std::fs::read_dir(&local).unwrap().count(), 1);

        // A FIFO where a copy should be: not an object, never opened (no hang), not replaced.
        std::fs::remove_file(root.join("shop")).unwrap();
        std::fs::create_dir(root.join("shop")).unwrap();
        let fifo = root.join("shop/f.tar.zst");
        {
            use std::os::unix::ffi::OsStrExt;
            let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
            // SAFETY: a NUL-terminated path; mkfifo(3) exists on every Unix (mknodat with
            // S_IFIFO does not on macOS).
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        }
        assert!(dest.stat("shop/f.tar.zst").await.unwrap().is_none());
        let e = dest.sha256("shop/f.tar.zst").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        let e = dest
            .put("shop/f.tar.zst", &body(b"x"), PutOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");

        // And a real copy still works.
        let stored = dest
            .put("shop/c.tar.zst", &body(b"copy"), PutOptions::default())
            .await
            .unwrap();
        assert_eq!(stored.size, 4);
        assert_eq!(dest.stat("shop/c.tar.zst").await.unwrap().unwrap().size, 4);
        assert!(dest.delete("shop/c.tar.zst").await.unwrap());
    }
}
