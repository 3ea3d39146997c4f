//! The backup archive (format v1): writing, reading, verifying, safe extraction.
//!
//! An archive is a gzip-compressed tar file whose first member is `metadata.json` (the
//! [`Manifest`]), followed by the members it lists. Next to it, `<archive>.sha256` holds the
//! whole file's SHA-256 in `sha256sum` format.
//!
//! The gzip stream may consist of several concatenated gzip members (RFC 1952 §2.2): the writer
//! copies the already-compressed spool of a big member verbatim instead of compressing it a
//! second time. GNU gzip/tar read such files transparently; our readers use
//! [`flate2::bufread::MultiGzDecoder`].
//!
//! Layout of this module:
//! - [`writer`]: [`ArchiveWriter`], [`SpoolWriter`]
//! - [`reader`]: [`read_manifest`], [`verify`], [`copy_member`], [`extract_all`]
//! - `tarfmt`: tar header encoding and a small streaming tar parser (strict, no links)
//! - `pipeline`: the reader threads (file read + hash, member hashing) used by the reader

pub mod codec;
pub mod compression;
mod document;
pub mod fragment;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod hostile;
mod inplace;
pub mod manifest;
mod pardec;
mod pargz;
mod pipeline;
pub mod precompressed;
pub mod random_access;
pub mod reader;
mod scan;
pub(crate) mod seekgz;
mod seekzst;
pub mod storage_check;
pub mod storage_layout;
pub(crate) mod tarfmt;
pub mod writer;

pub use compression::Compression;
pub use document::{read_document, MAX_SMALL_DOC};
pub use fragment::{Fragment, FragmentWriter};
pub use manifest::*;
pub use precompressed::{Precompressed, PrecompressedWriter};
pub(crate) use reader::extract_matching;
pub use reader::{
    codec_of, copy_member, extract_all, is_encrypted, read_manifest, read_manifest_with, unlock,
    verify, verify_with, MemberCheck, SidecarStatus, Unlocked, VerifyReport,
};
pub use scan::for_each_member;
pub use writer::{ArchiveWriter, SpoolWriter, SpooledMember, Written};

use crate::error::{Error, ErrorKind, Result};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Size of the chunks everything is streamed in.
pub(crate) const CHUNK: usize = 1 << 20;

/// Prefix of every temporary file the writer creates next to the destination.
pub(crate) const TMP_PREFIX: &str = ".offsite-tmp-";

/// Largest `metadata.json` we accept when reading (the manifest is held in memory).
pub(crate) const MAX_MANIFEST_SIZE: u64 = 64 << 20;

/// `<archive>.sha256`, the checksum file next to an archive.
pub fn sidecar_path(archive: &Path) -> PathBuf {
    let mut s: OsString = archive.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// Whether the file at `path` is age-encrypted (its first bytes; an empty or short file is not).
pub fn is_encrypted_file(path: &Path) -> Result<bool> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut head = [0u8; 32];
    let n = pipeline::read_full(&mut f, &mut head)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    // An empty file named `.age` is a damaged encrypted archive (`integrity` when opened), not
    // some other format.
    let empty_age = n == 0 && path.extension().is_some_and(|e| e == "age");
    Ok(empty_age || crate::crypto::is_age(&head[..n]))
}

/// The lower-case hex SHA-256 of a file, read in 1 MiB chunks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        ctx.update(&buf[..n]);
    }
    Ok(hex::encode(ctx.finish().as_ref()))
}

/// The SHA-256 recorded in `<archive>.sha256` (lower-case hex), `None` when there is no such
/// file. `path` is the archive's path. A file that is not in `sha256sum` format is an
/// [`ErrorKind::Integrity`] error.
pub fn read_sidecar(path: &Path) -> Result<Option<String>> {
    let sidecar = sidecar_path(path);
    let mut raw = Vec::new();
    match std::fs::File::open(&sidecar) {
        Ok(f) => {
            // A checksum line is ~100 bytes; never read a huge file into memory.
            f.take(64 * 1024)
                .read_to_end(&mut raw)
                .map_err(|e| Error::io(format!("reading {}", sidecar.display()), e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("opening {}", sidecar.display()), e)),
    }
    // Not UTF-8 is not a checksum file either (an integrity finding, not an I/O error).
    let text = String::from_utf8_lossy(&raw);
    parse_sidecar(&text).map(Some).ok_or_else(|| {
        Error::integrity(format!(
            "{} is not a sha256sum checksum file",
            sidecar.display()
        ))
        .with_hint("recreate it with `sha256sum <archive> > <archive>.sha256`, or delete it")
    })
}

/// Parses the first line of a `sha256sum` output: `<64 hex>  <name>` (or ` *<name>`, or a
/// leading `\` for escaped names).
pub(crate) fn parse_sidecar(text: &str) -> Option<String> {
    let line = text.lines().next()?.trim_start();
    let line = line.strip_prefix('\\').unwrap_or(line);
    let hex = line.get(..64)?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // After the digest: end of line or a separator (space / tab), never more hex.
    match line.as_bytes().get(64) {
        None | Some(b' ') | Some(b'\t') => Some(hex.to_ascii_lowercase()),
        _ => None,
    }
}

/// Checks that a member name is a plain relative path that stays inside the extraction folder
/// on every OS: `/`-separated, non-empty components, no `.`/`..`, no absolute path or drive
/// prefix, no backslash or NUL. A trailing `/` is allowed only when `dir` is true.
/// Returns a human reason when the name is unsafe.
pub(crate) fn check_member_name(name: &str, dir: bool) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.len() > 4096 {
        return Err("name longer than 4096 bytes".into());
    }
    if name.contains('\0') || name.contains('\\') {
        return Err("name contains a NUL or backslash".into());
    }
    if name.starts_with('/') {
        return Err("absolute path".into());
    }
    let trimmed = if dir {
        name.strip_suffix('/').unwrap_or(name)
    } else {
        name
    };
    for (i, comp) in trimmed.split('/').enumerate() {
        match comp {
            "" => return Err("empty path component".into()),
            "." | ".." => return Err(format!("path component {comp:?}")),
            // "C:" / "C:foo" is a drive-relative path on Windows.
            c if i == 0
                && c.len() >= 2
                && c.as_bytes()[1] == b':'
                && c.as_bytes()[0].is_ascii_alphabetic() =>
            {
                return Err("drive prefix".into())
            }
            _ => {}
        }
    }
    // Belt and braces: what the host OS would make of it.
    if Path::new(trimmed)
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err("not a plain relative path".into());
    }
    Ok(())
}

/// An [`ErrorKind::UnsafePath`] error naming the member.
pub(crate) fn unsafe_member(name: &str, why: &str) -> Error {
    Error::new(ErrorKind::UnsafePath, format!("archive member {name:?} is unsafe: {why}"))
        .with_hint("this archive was not written by Offsite or has been tampered with; do not extract it with other tools")
}

/// Makes directory entries durable (after a rename). A no-op where unsupported.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let d = std::fs::File::open(dir)
            .map_err(|e| Error::io(format!("opening {}", dir.display()), e))?;
        d.sync_all()
            .map_err(|e| Error::io(format!("syncing {}", dir.display()), e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        for ok in [
            "database.dump",
            "storage/bucket/a b/c.png",
            "config/x.json",
            "a..b",
            ".hidden",
        ] {
            assert_eq!(check_member_name(ok, false), Ok(()), "{ok}");
        }
        assert_eq!(check_member_name("storage/", true), Ok(()));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "./a",
            "a\\..\\b",
            "C:x",
            "c:/x",
            "a\0b",
            "..",
            "storage/",
        ] {
            assert!(check_member_name(bad, false).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn sidecar_parsing() {
        let h = "a".repeat(64);
        assert_eq!(parse_sidecar(&format!("{h}  x.tar.gz\n")), Some(h.clone()));
        assert_eq!(
            parse_sidecar(&format!("{}  x.tar.gz\n", h.to_uppercase())),
            Some(h.clone())
        );
        assert_eq!(parse_sidecar(&format!("{h} *x.tar.gz")), Some(h.clone()));
        assert_eq!(parse_sidecar(&h), Some(h.clone()));
        assert_eq!(parse_sidecar(&format!("{h}a  x")), None);
        assert_eq!(parse_sidecar("hello world"), None);
        assert_eq!(parse_sidecar(""), None);
    }

    #[test]
    fn sha256_file_and_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.bin");
        std::fs::write(&p, b"abc").unwrap();
        let h = sha256_file(&p).unwrap();
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(read_sidecar(&p).unwrap(), None);
        std::fs::write(sidecar_path(&p), format!("{h}  f.bin\n")).unwrap();
        assert_eq!(read_sidecar(&p).unwrap(), Some(h));
        std::fs::write(sidecar_path(&p), "garbage\n").unwrap();
        assert_eq!(read_sidecar(&p).unwrap_err().kind(), ErrorKind::Integrity);
        assert_eq!(
            sha256_file(&dir.path().join("nope")).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}
