//! Folders and files below a root, reached without following a symbolic link.
//!
//! A folder Offsite writes into may be writable by others (a NAS share, a synced folder, a USB
//! disk passed around): someone can replace `<root>/<project>` by a link to the laptop's own
//! backup folder, or a copy by a link to any file. A [`Folder`] is the root (the operator's
//! choice: it may itself be a link) followed by folders each opened from its parent's
//! descriptor with `O_NOFOLLOW` (`openat`); files are then stat'ed, opened, created, linked,
//! renamed and removed relative to that descriptor, never by a path that is resolved again. A
//! link met where a folder or a file should be is refused with `unsafe_path` naming it; a link
//! swapped in after the folder was opened is not reached (the descriptor holds the real
//! folder), and `unlinkat` removes a name, never what a link points to.
//!
//! On Windows (no `openat`), every component is checked with `symlink_metadata` before it is
//! used (it sees symbolic links and junctions): links found then are refused, but a folder
//! swapped for a link in between the check and the use is not noticed. A file is opened for
//! reading with `FILE_FLAG_OPEN_REPARSE_POINT` and refused when what was opened is a reparse
//! point, so a file swapped for a link at the last moment is not read through.

use crate::error::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What a caller needs of a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    pub len: u64,
    pub modified: Option<SystemTime>,
}

/// What is at a name in a [`Folder`] (the name itself, not what a link points to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Missing,
    File(FileMeta),
    Folder,
    Link,
    /// A FIFO, socket or device: never an object.
    Other,
}

/// The `unsafe_path` error for a link found at `path` where a folder or file should be.
pub fn link_refused(path: &Path, root: &Path) -> Error {
    Error::new(
        ErrorKind::UnsafePath,
        format!(
            "{} is a symbolic link: Offsite follows no link below {}",
            path.display(),
            root.display()
        ),
    )
    .with_hint(format!(
        "something replaced a folder or file there with a link (check who else can write to \
         {}); remove the link, then try again",
        root.display()
    ))
}

/// Whether an `O_NOFOLLOW` open failed because the name is a link (`ELOOP`).
pub fn is_link_error(e: &std::io::Error) -> bool {
    imp::is_link_error(e)
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::io(format!("{what} {}", path.display()), e)
}

/// A folder below (or at) a root, opened without following links below the root.
#[derive(Debug)]
pub struct Folder {
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
    root: PathBuf,
    path: PathBuf,
}

impl Folder {
    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The root it was opened from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path/name`, for messages.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The refusal of a link at `name` in this folder.
    pub fn refuse_link(&self, name: &str) -> Error {
        link_refused(&self.join(name), &self.root)
    }

    /// Open `name` as a file for reading: `None` when missing or not a regular file; a link
    /// is refused.
    pub fn open_read(&self, name: &str) -> Result<Option<std::fs::File>> {
        match self.entry(name)? {
            Entry::File(_) => {}
            Entry::Link => return Err(self.refuse_link(name)),
            _ => return Ok(None),
        }
        let file = match imp::open_read(self, name) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if imp::is_link_error(&e) => return Err(self.refuse_link(name)),
            Err(e) => return Err(io_err(&self.join(name), "reading", e)),
        };
        let m = file
            .metadata()
            .map_err(|e| io_err(&self.join(name), "reading", e))?;
        Ok(m.is_file().then_some(file))
    }

    /// Remove the file `name`: `Ok(false)` when there is none. A link is refused (and kept),
    /// as is anything that is not a regular file.
    pub fn remove_file(&self, name: &str) -> Result<bool> {
        match self.entry(name)? {
            Entry::Missing => return Ok(false),
            Entry::File(_) => {}
            Entry::Link => return Err(self.refuse_link(name)),
            Entry::Folder | Entry::Other => {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "{} is not a file; it was not deleted",
                        self.join(name).display()
                    ),
                )
                .with_hint("move it away if it should not be there"))
            }
        }
        match imp::unlink(self, name) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err(&self.join(name), "deleting", e)),
        }
    }

    /// Remove `name` whatever it is (not a folder), ignoring errors: a temporary of our own.
    pub fn remove_quietly(&self, name: &str) {
        let _ = imp::unlink(self, name);
    }
}

#[cfg(unix)]
mod imp {
    use super::*;
    use rustix::fs::{openat, statat, AtFlags, FileType, Mode, OFlags, CWD};

    const DIR: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);

    pub(super) fn is_link_error(e: &std::io::Error) -> bool {
        e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
    }

    fn std_err(e: rustix::io::Errno) -> std::io::Error {
        std::io::Error::from(e)
    }

    impl Folder {
        /// `root/parts…`: the root as named (it may be a link: the operator's choice), then
        /// each part opened without following a link. With `create`, missing folders are made
        /// (mode 0700); without, `None` when one is missing. A link, or a file where a folder
        /// should be, is an error naming it.
        pub fn open(root: &Path, parts: &[&str], create: bool) -> Result<Option<Folder>> {
            let fd = match openat(
                CWD,
                root,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(rustix::io::Errno::NOENT) if !create => return Ok(None),
                Err(rustix::io::Errno::NOENT) => {
                    crate::private_fs::create_dir_all(root)
                        .map_err(|e| io_err(root, "creating", e))?;
                    openat(
                        CWD,
                        root,
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(|e| io_err(root, "opening", std_err(e)))?
                }
                Err(e) => return Err(io_err(root, "opening", std_err(e))),
            };
            let mut folder = Folder {
                fd,
                root: root.to_path_buf(),
                path: root.to_path_buf(),
            };
            for part in parts {
                folder = match folder.sub(part, create)? {
                    Some(f) => f,
                    None => return Ok(None),
                };
            }
            Ok(Some(folder))
        }

        /// The folder `name` in this one, opened without following a link.
        pub fn sub(&self, name: &str, create: bool) -> Result<Option<Folder>> {
            let path = self.join(name);
            let fd = match openat(&self.fd, name, DIR, Mode::empty()) {
                Ok(fd) => fd,
                Err(rustix::io::Errno::NOENT) if !create => return Ok(None),
                Err(rustix::io::Errno::NOENT) => {
                    let mode = Mode::from_raw_mode(crate::private_fs::DIR_MODE as _);
                    match rustix::fs::mkdirat(&self.fd, name, mode) {
                        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                        Err(e) => return Err(io_err(&path, "creating", std_err(e))),
                    }
                    match openat(&self.fd, name, DIR, Mode::empty()) {
                        Ok(fd) => fd,
                        Err(e) => return Err(self.not_a_folder(name, e)),
                    }
                }
                Err(e) => return Err(self.not_a_folder(name, e)),
            };
            Ok(Some(Folder {
                fd,
                root: self.root.clone(),
                path,
            }))
        }

        /// Why `name` could not be opened as a folder: a link (refused) or something else.
        fn not_a_folder(&self, name: &str, e: rustix::io::Errno) -> Error {
            let path = self.join(name);
            match self.entry(name) {
                Ok(Entry::Link) => self.refuse_link(name),
                Ok(Entry::File(_)) | Ok(Entry::Other) => Error::new(
                    ErrorKind::Conflict,
                    format!("{} is not a folder", path.display()),
                )
                .with_hint("move that file away, then try again"),
                _ => io_err(&path, "opening", std_err(e)),
            }
        }

        /// What is at `name` (not following a link).
        pub fn entry(&self, name: &str) -> Result<Entry> {
            let st = match statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(rustix::io::Errno::NOENT) => return Ok(Entry::Missing),
                Err(e) => return Err(io_err(&self.join(name), "reading", std_err(e))),
            };
            Ok(match FileType::from_raw_mode(st.st_mode as _) {
                FileType::RegularFile => {
                    let modified = u64::try_from(st.st_mtime as i64).ok().map(|s| {
                        SystemTime::UNIX_EPOCH
                            + std::time::Duration::new(s, st.st_mtime_nsec as u32)
                    });
                    Entry::File(FileMeta {
                        len: st.st_size as u64,
                        modified,
                    })
                }
                FileType::Directory => Entry::Folder,
                FileType::Symlink => Entry::Link,
                _ => Entry::Other,
            })
        }

        /// The names in this folder (not `.` and `..`; names that are not UTF-8 are skipped).
        pub fn names(&self) -> Result<Vec<String>> {
            let dir = rustix::fs::Dir::read_from(&self.fd)
                .map_err(|e| io_err(&self.path, "listing", std_err(e)))?;
            let mut out = Vec::new();
            for entry in dir {
                let entry = entry.map_err(|e| io_err(&self.path, "listing", std_err(e)))?;
                let Ok(name) = entry.file_name().to_str() else {
                    continue;
                };
                if name != "." && name != ".." {
                    out.push(name.to_string());
                }
            }
            Ok(out)
        }

        /// Create `name` for writing (mode 0600), failing when anything is there (a link too).
        pub fn create_new(&self, name: &str) -> std::io::Result<std::fs::File> {
            let flags = OFlags::WRONLY
                | OFlags::CREATE
                | OFlags::EXCL
                | OFlags::NOFOLLOW
                | OFlags::CLOEXEC
                | OFlags::NOCTTY;
            let mode = Mode::from_raw_mode(crate::private_fs::FILE_MODE as _);
            openat(&self.fd, name, flags, mode)
                .map(std::fs::File::from)
                .map_err(std_err)
        }

        /// Open (creating) the lock file `name` for the folder lock.
        pub fn open_lock(&self, name: &str) -> std::io::Result<std::fs::File> {
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let mode = Mode::from_raw_mode(crate::private_fs::FILE_MODE as _);
            openat(&self.fd, name, flags, mode)
                .map(std::fs::File::from)
                .map_err(std_err)
        }

        /// Give `from` the second name `to` in this folder; fails when `to` exists.
        pub fn link(&self, from: &str, to: &str) -> std::io::Result<()> {
            rustix::fs::linkat(&self.fd, from, &self.fd, to, AtFlags::empty()).map_err(std_err)
        }

        /// Rename `from` to `to` in this folder (replacing the name `to`, never through it).
        pub fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
            rustix::fs::renameat(&self.fd, from, &self.fd, to).map_err(std_err)
        }

        /// Flush the folder's entries to disk.
        pub fn sync(&self) -> std::io::Result<()> {
            rustix::fs::fsync(&self.fd).map_err(std_err)
        }
    }

    pub(super) fn open_read(f: &Folder, name: &str) -> std::io::Result<std::fs::File> {
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
        let fd = openat(&f.fd, name, flags, Mode::empty()).map_err(std_err)?;
        // Reads block as usual once it is known to be a regular file.
        let file = std::fs::File::from(fd);
        let flags = rustix::fs::fcntl_getfl(&file).map_err(std_err)?;
        rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK).map_err(std_err)?;
        Ok(file)
    }

    pub(super) fn unlink(f: &Folder, name: &str) -> std::io::Result<()> {
        rustix::fs::unlinkat(&f.fd, name, AtFlags::empty()).map_err(std_err)
    }
}

#[cfg(windows)]
mod imp {
    //! Windows: every component checked by path before it is used; files opened without
    //! following a reparse point.
    use super::*;

    /// The error an open that met a reparse point gives (`ERROR_STOPPED_ON_SYMLINK`).
    const STOPPED_ON_LINK: i32 = 681;

    pub(super) fn is_link_error(e: &std::io::Error) -> bool {
        e.raw_os_error() == Some(STOPPED_ON_LINK)
    }

    impl Folder {
        pub fn open(root: &Path, parts: &[&str], create: bool) -> Result<Option<Folder>> {
            match std::fs::metadata(root) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!("{} is not a folder", root.display()),
                    ))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => return Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    crate::private_fs::create_dir_all(root)
                        .map_err(|e| io_err(root, "creating", e))?
                }
                Err(e) => return Err(io_err(root, "opening", e)),
            }
            let mut folder = Folder {
                root: root.to_path_buf(),
                path: root.to_path_buf(),
            };
            for part in parts {
                folder = match folder.sub(part, create)? {
                    Some(f) => f,
                    None => return Ok(None),
                };
            }
            Ok(Some(folder))
        }

        pub fn sub(&self, name: &str, create: bool) -> Result<Option<Folder>> {
            let path = self.join(name);
            match self.entry(name)? {
                Entry::Folder => {}
                Entry::Missing if !create => return Ok(None),
                Entry::Missing => match crate::private_fs::create_dir(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return self.sub(name, false)
                    }
                    Err(e) => return Err(io_err(&path, "creating", e)),
                },
                Entry::Link => return Err(self.refuse_link(name)),
                Entry::File(_) | Entry::Other => {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!("{} is not a folder", path.display()),
                    )
                    .with_hint("move that file away, then try again"))
                }
            }
            Ok(Some(Folder {
                root: self.root.clone(),
                path,
            }))
        }

        pub fn entry(&self, name: &str) -> Result<Entry> {
            let path = self.join(name);
            let m = match std::fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Entry::Missing),
                Err(e) => return Err(io_err(&path, "reading", e)),
            };
            let t = m.file_type();
            Ok(if t.is_symlink() {
                Entry::Link
            } else if t.is_dir() {
                Entry::Folder
            } else if t.is_file() {
                Entry::File(FileMeta {
                    len: m.len(),
                    modified: m.modified().ok(),
                })
            } else {
                Entry::Other
            })
        }

        pub fn names(&self) -> Result<Vec<String>> {
            let mut out = Vec::new();
            for entry in
                std::fs::read_dir(&self.path).map_err(|e| io_err(&self.path, "listing", e))?
            {
                let entry = entry.map_err(|e| io_err(&self.path, "listing", e))?;
                if let Ok(name) = entry.file_name().into_string() {
                    out.push(name);
                }
            }
            Ok(out)
        }

        pub fn create_new(&self, name: &str) -> std::io::Result<std::fs::File> {
            crate::private_fs::create_new(&self.join(name))
        }

        pub fn open_lock(&self, name: &str) -> std::io::Result<std::fs::File> {
            crate::private_fs::open_options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(self.join(name))
        }

        pub fn link(&self, from: &str, to: &str) -> std::io::Result<()> {
            std::fs::hard_link(self.join(from), self.join(to))
        }

        pub fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
            std::fs::rename(self.join(from), self.join(to))
        }

        pub fn sync(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    pub(super) fn open_read(f: &Folder, name: &str) -> std::io::Result<std::fs::File> {
        use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
        use windows_sys::Win32::Storage::FileSystem::{
            FILE_ATTRIBUTE_REPARSE_POINT, FILE_FLAG_OPEN_REPARSE_POINT,
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
            .open(f.join(name))?;
        if file.metadata()?.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
            return Err(std::io::Error::from_raw_os_error(STOPPED_ON_LINK));
        }
        Ok(file)
    }

    pub(super) fn unlink(f: &Folder, name: &str) -> std::io::Result<()> {
        std::fs::remove_file(f.join(name))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_below_the_root_are_refused_and_never_followed() {
        let d = tempfile::tempdir().unwrap();
        let (root, elsewhere) = (d.path().join("root"), d.path().join("elsewhere"));
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("precious"), b"keep me").unwrap();
        symlink(&elsewhere, root.join("p")).unwrap();
        symlink(elsewhere.join("precious"), root.join("real").join("copy")).unwrap();

        // A link where a folder should be: refused, naming it, with or without create.
        for create in [false, true] {
            let e = Folder::open(&root, &["p"], create).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsafePath);
            assert!(
                e.message().contains(&root.join("p").display().to_string()),
                "{e}"
            );
        }
        // A link where a file should be: refused for reading and deleting, and kept.
        let real = Folder::open(&root, &["real"], false).unwrap().unwrap();
        assert_eq!(real.entry("copy").unwrap(), Entry::Link);
        assert_eq!(
            real.open_read("copy").unwrap_err().kind(),
            ErrorKind::UnsafePath
        );
        assert_eq!(
            real.remove_file("copy").unwrap_err().kind(),
            ErrorKind::UnsafePath
        );
        assert!(real.create_new("copy").is_err());
        assert!(std::fs::symlink_metadata(root.join("real/copy")).is_ok());
        assert_eq!(
            std::fs::read(elsewhere.join("precious")).unwrap(),
            b"keep me"
        );

        // A folder swapped for a link after it was opened: the descriptor holds the real one.
        std::fs::write(root.join("real/file"), b"x").unwrap();
        std::fs::rename(root.join("real"), d.path().join("moved")).unwrap();
        symlink(&elsewhere, root.join("real")).unwrap();
        std::fs::write(elsewhere.join("file"), b"other").unwrap();
        assert!(real.remove_file("file").unwrap());
        assert!(!d.path().join("moved/file").exists());
        assert!(elsewhere.join("file").exists());

        // The root itself may be a link (the operator's choice); missing parts are made 0700.
        let via = d.path().join("via");
        symlink(&root, &via).unwrap();
        let made = Folder::open(&via, &["new", "deeper"], true)
            .unwrap()
            .unwrap();
        assert!(root.join("new/deeper").is_dir());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(made.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, crate::private_fs::DIR_MODE);
        assert!(Folder::open(&root, &["absent"], false).unwrap().is_none());
    }
}
