//! Files and folders only their owner can read, whatever the umask or the folder's ACL.
//!
//! Everything Offsite writes holds a project's data or what leads to it: archives, `.part`
//! downloads, `.sha256` sidecars, extracted members, temporary files and the catalog. Every
//! writer in the engine goes through this module; [`tighten`] fixes a data folder or catalog
//! left looser by an older version (at start-up), [`is_private`] reads the protection back.
//!
//! - Unix: every file is created with mode 0600 and every folder Offsite creates with 0700 — set
//!   at creation (`OpenOptions::mode`, `DirBuilder::mode`), never by a chmod after the bytes are
//!   in, so no other local user can open them even for a moment.
//! - Windows: every file and folder Offsite creates gets, at creation (`CreateFileW` /
//!   `CreateDirectoryW` with a security descriptor), a protected DACL with one entry: full
//!   access for the user Offsite runs as (inherited by what is created inside a folder). Nothing
//!   is inherited from the parent folder, so a share's "Everyone" entry does not reach it.
//!   [`is_private`] reads the DACL back: private means every entry that grants anything names
//!   that user. Administrators and SYSTEM can still read it (they can take ownership of any
//!   file): an ACL protects against other ordinary users, as a Unix mode does.

use std::fs::File;
use std::io;
use std::path::Path;

#[cfg(unix)]
#[path = "unix.rs"]
mod imp;
#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

/// The mode of every file Offsite creates (Unix).
pub const FILE_MODE: u32 = 0o600;
/// The mode of every folder Offsite creates (Unix).
pub const DIR_MODE: u32 = 0o700;

/// How a file is opened; a file it creates is private ([`FILE_MODE`] on Unix, the owner-only
/// ACL on Windows). The same builder as `std::fs::OpenOptions`.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    create: bool,
    create_new: bool,
    truncate: bool,
}

impl OpenOptions {
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.create_new = on;
        self
    }
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.truncate = on;
        self
    }
    /// Open `path` (creating it private when asked to create).
    pub fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        imp::open(self, path.as_ref())
    }
}

/// [`OpenOptions`] for tokio: `open` runs on a blocking thread.
#[derive(Debug, Clone, Default)]
pub struct TokioOpenOptions(OpenOptions);

impl TokioOpenOptions {
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.0.read(on);
        self
    }
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.0.write(on);
        self
    }
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.0.create(on);
        self
    }
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.0.create_new(on);
        self
    }
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.0.truncate(on);
        self
    }
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<tokio::fs::File> {
        let (o, p) = (self.0.clone(), path.as_ref().to_path_buf());
        let file = tokio::task::spawn_blocking(move || o.open(&p))
            .await
            .map_err(io::Error::other)??;
        Ok(tokio::fs::File::from_std(file))
    }
}

/// Options whose created file is private; the caller adds write/create/….
pub fn open_options() -> OpenOptions {
    OpenOptions::default()
}

/// The same as [`open_options`], for tokio.
pub fn tokio_open_options() -> TokioOpenOptions {
    TokioOpenOptions::default()
}

/// Creates `path` for writing, failing if it exists (private).
pub fn create_new(path: &Path) -> io::Result<File> {
    open_options().write(true).create_new(true).open(path)
}

/// `create_dir_all` where every folder it creates is private (existing ones are left as they
/// are).
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    imp::create_dir_all(path)
}

/// `create_dir`, private.
pub fn create_dir(path: &Path) -> io::Result<()> {
    imp::create_dir(path)
}

/// [`create_dir_all`] off the async runtime's threads.
pub async fn create_dir_all_async(path: &Path) -> io::Result<()> {
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || create_dir_all(&p))
        .await
        .map_err(io::Error::other)?
}

/// A named temporary file in `dir` whose name starts with `prefix` (private).
pub fn tempfile_in(dir: &Path, prefix: &str) -> io::Result<tempfile::NamedTempFile> {
    imp::tempfile_in(dir, prefix)
}

/// Write `bytes` to `path` as a whole or not at all: a private temporary file beside it,
/// fsynced, renamed over `path` (so an existing readable file does not keep its permissions,
/// and a failure leaves the old file as it was).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile_in(dir, ".offsite-tmp-")?;
    tmp.as_file_mut().write_all(bytes)?;
    tmp.as_file_mut().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A named temporary file in the system's temporary folder (private).
pub fn tempfile(prefix: &str) -> io::Result<tempfile::NamedTempFile> {
    tempfile_in(&std::env::temp_dir(), prefix)
}

/// A temporary folder in `dir` whose name starts with `prefix` (private; tempfile's own default
/// is 0777 less the umask on Unix, the parent's inherited ACL on Windows).
pub fn tempdir_in(dir: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    imp::tempdir_in(dir, prefix)
}

/// A temporary folder in the system's temporary folder (private).
pub fn tempdir(prefix: &str) -> io::Result<tempfile::TempDir> {
    tempdir_in(&std::env::temp_dir(), prefix)
}

/// Makes `path` (a file or a folder, not following a symbolic link) private when others have
/// any access to it; returns what it was (`mode 0644`; on Windows the ACL in SDDL) when it
/// changed something. Only for what Offsite itself made (the data folder, the catalog), at
/// start-up.
pub fn tighten(path: &Path) -> io::Result<Option<String>> {
    imp::tighten(path)
}

/// What a private file or folder has, in words (`mode 0600`, `an owner-only ACL`).
pub fn private_words(is_dir: bool) -> String {
    imp::private_words(is_dir)
}

/// Whether only the owner can reach `path` (not following a link), read back from the file
/// system: no group/other bits on Unix; on Windows a DACL whose every granting entry names the
/// user Offsite runs as.
pub fn is_private(path: &Path) -> io::Result<bool> {
    imp::is_private(path)
}

/// What [`open_private_file`] found at a path.
#[derive(Debug)]
pub enum Opened {
    /// A regular file only its owner may reach, open for reading, and its length.
    File(File, u64),
    /// A link (symbolic link; on Windows any reparse point): not followed.
    Link,
    /// Not a regular file (a folder, a FIFO, a device).
    NotFile,
    /// Others may reach it (group or other bits on Unix; on Windows a DACL granting others).
    NotPrivate,
}

/// Opens `path` for reading once, without following a link at its last component (and, on
/// Unix, without waiting on a FIFO), then checks what was opened — the handle, never the path
/// again: a link swapped in between a check and the open cannot be followed.
pub fn open_private_file(path: &Path) -> io::Result<Opened> {
    imp::open_private_file(path)
}

#[cfg(test)]
mod tests;
