//! The file system under a [`super::folder::FolderSource`], never through a symbolic link.
//!
//! On Unix every folder below the root and every file is opened from its parent's descriptor
//! with `O_NOFOLLOW` (`openat`), so a link swapped into the tree after it was listed (a folder
//! replaced by a link to `/etc` between the listing and the read) is refused instead of
//! followed; files are opened non-blocking (a FIFO swapped in does not hang the read) and must
//! be regular files. The root itself is the operator's choice and may be a link.
//!
//! Elsewhere (no `openat`), paths are checked with `symlink_metadata` before they are opened:
//! links found then are refused, but a link swapped in between the check and the open is not
//! noticed.

use crate::error::{Error, ErrorKind, Result};
use std::path::Path;
use std::time::SystemTime;

/// What a listing needs of a file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Meta {
    pub len: u64,
    pub modified: Option<SystemTime>,
}

impl From<&std::fs::Metadata> for Meta {
    fn from(m: &std::fs::Metadata) -> Self {
        Meta {
            len: m.len(),
            modified: m.modified().ok(),
        }
    }
}

pub(super) fn io_error(path: &Path, e: std::io::Error) -> Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        return Error::new(
            ErrorKind::UnsafePath,
            format!(
                "{} is a symbolic link, or one of its folders is: links are not followed",
                path.display()
            ),
        )
        .with_hint("the storage folder changed while it was read; remove the link and run the backup again");
    }
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => Error::new(
            ErrorKind::Permission,
            format!("cannot read {}: {e}", path.display()),
        ),
        std::io::ErrorKind::NotFound => {
            Error::not_found(format!("{} is not there", path.display()))
        }
        _ => Error::io(format!("reading {}", path.display()), e),
    }
}

#[cfg(unix)]
mod imp {
    use super::*;
    use rustix::fs::{openat, statat, AtFlags, Dir, FileType, Mode, OFlags, CWD};
    use std::os::fd::OwnedFd;

    const DIR: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);

    fn err(path: &Path, e: rustix::io::Errno) -> Error {
        io_error(path, std::io::Error::from(e))
    }

    /// `root/parts…` as a folder descriptor, every part opened without following links.
    fn open_dir(root: &Path, parts: &[&str]) -> Result<OwnedFd> {
        let mut fd = openat(
            CWD,
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| err(root, e))?;
        let mut path = root.to_path_buf();
        for part in parts {
            path.push(part);
            fd = match openat(&fd, *part, DIR, Mode::empty()) {
                Ok(sub) => sub,
                // O_DIRECTORY | O_NOFOLLOW on a link: ENOTDIR (Linux) or ELOOP.
                Err(rustix::io::Errno::NOTDIR) => return Err(not_a_folder(&fd, part, &path)),
                Err(e) => return Err(err(&path, e)),
            };
        }
        Ok(fd)
    }

    /// Why `part` of `parent` could not be opened as a folder: a link (refused) or a file.
    fn not_a_folder(parent: &OwnedFd, part: &str, path: &Path) -> Error {
        match statat(parent, part, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode as _) == FileType::Symlink => {
                err(path, rustix::io::Errno::LOOP)
            }
            _ => Error::not_found(format!("{} is not a folder", path.display())),
        }
    }

    /// Whether `root/bucket` is a folder (not a link to one).
    pub(in crate::sources) fn is_bucket(root: &Path, bucket: &str) -> Result<bool> {
        match statat(open_dir(root, &[])?, bucket, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(FileType::from_raw_mode(st.st_mode as _) == FileType::Directory),
            Err(rustix::io::Errno::NOENT) => Ok(false),
            Err(e) => Err(err(&root.join(bucket), e)),
        }
    }

    /// The regular file `root/bucket/parts…`, opened without following any link; `None` when
    /// there is none (or it is not a regular file).
    pub(in crate::sources) fn open_file(
        root: &Path,
        bucket: &str,
        parts: &[&str],
    ) -> Result<Option<std::fs::File>> {
        let Some((name, folders)) = parts.split_last() else {
            return Ok(None);
        };
        let mut dirs = vec![bucket];
        dirs.extend_from_slice(folders);
        let path = dirs
            .iter()
            .fold(root.to_path_buf(), |p, d| p.join(d))
            .join(name);
        let dir = match open_dir(root, &dirs) {
            Ok(d) => d,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let fd = match openat(
            &dir,
            *name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(e) => return Err(err(&path, e)),
        };
        let file = std::fs::File::from(fd);
        let m = file.metadata().map_err(|e| io_error(&path, e))?;
        Ok(m.is_file().then_some(file))
    }

    /// Every regular file below `root/bucket` (not following links), as (key, meta); only
    /// folders that can hold a key with `prefix` are entered.
    pub(in crate::sources) fn walk(
        root: &Path,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Meta)>> {
        let mut out = Vec::new();
        let top = open_dir(root, &[bucket])?;
        let mut stack = vec![(top, root.join(bucket), String::new())];
        while let Some((fd, path, rel)) = stack.pop() {
            let dir = Dir::read_from(&fd).map_err(|e| err(&path, e))?;
            for entry in dir {
                let entry = entry.map_err(|e| err(&path, e))?;
                let Ok(name) = entry.file_name().to_str() else {
                    tracing::warn!(folder = %path.display(), "skipping a file name that is not UTF-8");
                    continue;
                };
                if name.starts_with('.') {
                    continue;
                }
                let key = if rel.is_empty() {
                    name.to_string()
                } else {
                    format!("{rel}/{name}")
                };
                if !(key.starts_with(prefix) || prefix.starts_with(&format!("{key}/"))) {
                    continue;
                }
                let st = match statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => st,
                    Err(rustix::io::Errno::NOENT) => continue, // gone since
                    Err(e) => return Err(err(&path.join(name), e)),
                };
                match FileType::from_raw_mode(st.st_mode as _) {
                    FileType::Directory => {
                        let sub = match openat(&fd, name, DIR, Mode::empty()) {
                            Ok(sub) => sub,
                            Err(rustix::io::Errno::NOENT) => continue,
                            Err(e) => return Err(err(&path.join(name), e)),
                        };
                        stack.push((sub, path.join(name), key));
                    }
                    FileType::RegularFile if key.starts_with(prefix) => {
                        let modified = u64::try_from(st.st_mtime as i64).ok().map(|s| {
                            SystemTime::UNIX_EPOCH
                                + std::time::Duration::new(s, st.st_mtime_nsec as u32)
                        });
                        out.push((
                            key,
                            Meta {
                                len: st.st_size as u64,
                                modified,
                            },
                        ));
                    }
                    _ => {} // links, devices, FIFOs, sockets: not objects
                }
            }
        }
        out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(out)
    }
}

#[cfg(not(unix))]
mod imp {
    //! The honest fallback: checked by path before opening (see the module's text).
    use super::*;

    pub(in crate::sources) fn is_bucket(root: &Path, bucket: &str) -> Result<bool> {
        let dir = root.join(bucket);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) => Ok(m.is_dir()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(&dir, e)),
        }
    }

    pub(in crate::sources) fn open_file(
        root: &Path,
        bucket: &str,
        parts: &[&str],
    ) -> Result<Option<std::fs::File>> {
        let mut path = root.join(bucket);
        for p in parts {
            path.push(p);
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Error::new(
                        ErrorKind::UnsafePath,
                        format!(
                            "{} is a symbolic link: links are not followed",
                            path.display()
                        ),
                    ))
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io_error(&path, e)),
            }
        }
        let file = std::fs::File::open(&path).map_err(|e| io_error(&path, e))?;
        let m = file.metadata().map_err(|e| io_error(&path, e))?;
        Ok(m.is_file().then_some(file))
    }

    pub(in crate::sources) fn walk(
        root: &Path,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Meta)>> {
        let mut out = Vec::new();
        let mut stack = vec![(root.join(bucket), String::new())];
        while let Some((d, rel)) = stack.pop() {
            let entries = std::fs::read_dir(&d).map_err(|e| io_error(&d, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io_error(&d, e))?;
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if name.starts_with('.') {
                    continue;
                }
                let key = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                if !(key.starts_with(prefix) || prefix.starts_with(&format!("{key}/"))) {
                    continue;
                }
                let m = entry.metadata().map_err(|e| io_error(&entry.path(), e))?;
                if m.is_dir() {
                    stack.push((entry.path(), key));
                } else if m.is_file() && key.starts_with(prefix) {
                    out.push((key, Meta::from(&m)));
                }
            }
        }
        out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(out)
    }
}

pub(super) use imp::{is_bucket, open_file, walk};
