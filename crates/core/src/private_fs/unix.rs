//! Unix modes, set at creation.

use super::{OpenOptions, DIR_MODE, FILE_MODE};
use std::fs::File;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub(super) fn open(o: &OpenOptions, path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(o.read)
        .write(o.write)
        .create(o.create)
        .create_new(o.create_new)
        .truncate(o.truncate)
        .mode(FILE_MODE)
        .open(path)
}

fn dir_builder(recursive: bool) -> std::fs::DirBuilder {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(recursive).mode(DIR_MODE);
    b
}

pub(super) fn create_dir_all(path: &Path) -> io::Result<()> {
    dir_builder(true).create(path)
}

pub(super) fn create_dir(path: &Path) -> io::Result<()> {
    dir_builder(false).create(path)
}

pub(super) fn tempfile_in(dir: &Path, prefix: &str) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(FILE_MODE))
        .tempfile_in(dir)
}

pub(super) fn tempdir_in(dir: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(DIR_MODE))
        .tempdir_in(dir)
}

pub(super) fn tighten(path: &Path) -> io::Result<Option<String>> {
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
    Ok(Some(format!("mode {mode:04o}")))
}

pub(super) fn private_words(is_dir: bool) -> String {
    format!("mode {:04o}", if is_dir { DIR_MODE } else { FILE_MODE })
}

pub(super) fn open_private_file(path: &Path) -> io::Result<super::Opened> {
    use super::Opened;
    use std::os::unix::fs::OpenOptionsExt;
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let f = match opened {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(Opened::Link),
        Err(e) => return Err(e),
    };
    let md = f.metadata()?;
    if !md.is_file() {
        return Ok(Opened::NotFile);
    }
    if md.permissions().mode() & 0o077 != 0 {
        return Ok(Opened::NotPrivate);
    }
    Ok(Opened::File(f, md.len()))
}

pub(super) fn is_private(path: &Path) -> io::Result<bool> {
    let md = std::fs::symlink_metadata(path)?;
    Ok(md.permissions().mode() & 0o077 == 0)
}
