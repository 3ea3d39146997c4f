//! Files and folders only their owner can read, whatever the umask.
//!
//! Everything Offsite writes holds a project's data or what leads to it: archives, `.part`
//! downloads, `.sha256` sidecars, extracted members, temporary files and the catalog. On Unix
//! every such file is created with mode 0600 and every folder Offsite creates with 0700 — set at
//! creation (`OpenOptions::mode`, `DirBuilder::mode`), never by a chmod after the bytes are in,
//! so no other local user can open them even for a moment. Every writer in the engine goes
//! through this module. [`tighten`] fixes a data folder or catalog left looser by an older
//! version (at start-up).
//!
//! On other platforms these are the plain `std` calls (the folder's ACL decides).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// The mode of every file Offsite creates (Unix).
pub const FILE_MODE: u32 = 0o600;
/// The mode of every folder Offsite creates (Unix).
pub const DIR_MODE: u32 = 0o700;

/// `OpenOptions` whose created file gets [`FILE_MODE`]; the caller adds write/create/….
pub fn open_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(FILE_MODE);
    }
    o
}

/// The same as [`open_options`], for tokio.
pub fn tokio_open_options() -> tokio::fs::OpenOptions {
    let mut o = tokio::fs::OpenOptions::new();
    #[cfg(unix)]
    o.mode(FILE_MODE);
    o
}

/// Creates `path` for writing, failing if it exists (mode [`FILE_MODE`]).
pub fn create_new(path: &Path) -> io::Result<File> {
    open_options().write(true).create_new(true).open(path)
}

fn dir_builder(recursive: bool) -> std::fs::DirBuilder {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(recursive);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(DIR_MODE);
    }
    b
}

/// `create_dir_all` where every folder it creates gets [`DIR_MODE`] (existing ones are left as
/// they are).
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    dir_builder(true).create(path)
}

/// `create_dir` with [`DIR_MODE`].
pub fn create_dir(path: &Path) -> io::Result<()> {
    dir_builder(false).create(path)
}

/// [`create_dir_all`] off the async runtime's threads.
pub async fn create_dir_all_async(path: &Path) -> io::Result<()> {
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || create_dir_all(&p))
        .await
        .map_err(io::Error::other)?
}

/// A named temporary file in `dir` whose name starts with `prefix` ([`FILE_MODE`]).
pub fn tempfile_in(dir: &Path, prefix: &str) -> io::Result<tempfile::NamedTempFile> {
    let mut b = tempfile::Builder::new();
    b.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(FILE_MODE));
    }
    b.tempfile_in(dir)
}

/// Write `bytes` to `path` as a whole or not at all: a private temporary file beside it
/// ([`FILE_MODE`]), fsynced, renamed over `path` (so an existing readable file does not keep
/// its mode, and a failure leaves the old file as it was).
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

/// A named temporary file in the system's temporary folder ([`FILE_MODE`]).
pub fn tempfile(prefix: &str) -> io::Result<tempfile::NamedTempFile> {
    tempfile_in(&std::env::temp_dir(), prefix)
}

/// A temporary folder in `dir` whose name starts with `prefix` ([`DIR_MODE`]; tempfile's own
/// default is 0777 less the umask).
pub fn tempdir_in(dir: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    let mut b = tempfile::Builder::new();
    b.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(DIR_MODE));
    }
    b.tempdir_in(dir)
}

/// A temporary folder in the system's temporary folder ([`DIR_MODE`]).
pub fn tempdir(prefix: &str) -> io::Result<tempfile::TempDir> {
    tempdir_in(&std::env::temp_dir(), prefix)
}

/// Takes the group's and others' permissions away from `path` (a file or a folder, not
/// following a symbolic link) when it has any; returns the old mode when it changed something.
/// Only for what Offsite itself made (the data folder, the catalog), at start-up.
pub fn tighten(path: &Path) -> io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let md = std::fs::symlink_metadata(path)?;
        if md.file_type().is_symlink() {
            return Ok(None);
        }
        let mode = md.permissions().mode() & 0o7777;
        if mode & 0o077 == 0 {
            return Ok(None);
        }
        let new = if md.is_dir() { DIR_MODE } else { FILE_MODE };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(new))?;
        Ok(Some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(None)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn created_files_and_folders_are_private() {
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("a/b/c");
        create_dir_all(&deep).unwrap();
        for p in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&d.path().join(p)), DIR_MODE, "{p}");
        }
        create_dir(&d.path().join("e")).unwrap();
        assert_eq!(mode(&d.path().join("e")), DIR_MODE);
        create_new(&deep.join("f")).unwrap();
        assert_eq!(mode(&deep.join("f")), FILE_MODE);
        let t = tempfile_in(d.path(), ".x-").unwrap();
        assert_eq!(mode(t.path()), FILE_MODE);
        let td = tempdir_in(d.path(), ".y-").unwrap();
        assert_eq!(mode(td.path()), DIR_MODE);
    }

    #[test]
    fn tighten_removes_group_and_other_bits_and_reports_the_old_mode() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(tighten(&f).unwrap(), Some(0o644));
        assert_eq!(mode(&f), FILE_MODE);
        assert_eq!(tighten(&f).unwrap(), None);
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(tighten(d.path()).unwrap(), Some(0o755));
        assert_eq!(mode(d.path()), DIR_MODE);
    }
}
