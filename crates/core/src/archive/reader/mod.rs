//! Reading an archive: the manifest, full verification, streaming one member, safe extraction.
//!
//! Everything is strict: only regular files and directories with plain relative names are
//! accepted; links, devices, absolute paths and `..` are refused before anything is written.

use super::pipeline::{self, ArchiveStream, MemberHasher, Outcome};
use super::tarfmt::{Kind, Next, TarError, TarReader};
use super::{Manifest, FORMAT_VERSION, MANIFEST_NAME, MAX_MANIFEST_SIZE};
use crate::error::{Error, ErrorKind, Result};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use tokio_util::sync::CancellationToken;

mod ciphertext;
mod extract;
mod extract_some;
pub(crate) mod input;
mod verify;

pub use input::{is_encrypted, unlock, Unlocked};

pub(crate) use extract::copy_member_within;
pub use extract::{copy_member, extract_all};
pub(crate) use extract_some::extract_matching;
pub use verify::{verify, verify_with, MemberCheck, SidecarStatus, VerifyReport};

/// A file that is not an Offsite archive. A dump made elsewhere (pg_dump, psql SQL) is named,
/// with the import that makes it one.
fn not_archive(path: &Path, why: &str) -> Error {
    let import = format!(
        "`offsite import {} --project PROJECT` (the app: Import…)",
        path.display()
    );
    let (why, hint) = match crate::plainsql::scan::foreign_dump_kind(path) {
        Some(kind) => (
            format!("{why}: it is {kind}"),
            format!(
                "import it as a backup of a project first: {import}; then verify or restore \
                 that backup"
            ),
        ),
        None => (
            why.to_string(),
            format!(
                "choose a .tar.gz that Offsite made (a file named \
                 <project>_<date>_<type>.tar.gz); a dump made elsewhere (pg_dump, pg_dumpall, \
                 a project export) becomes one with {import}"
            ),
        ),
    };
    Error::new(
        ErrorKind::UnsupportedFormat,
        format!("not an Offsite archive: {}: {why}", path.display()),
    )
    .with_hint(hint)
}

pub(super) fn corrupt(path: &Path, what: &str, e: &TarError) -> Error {
    Error::integrity(format!("{}: {what}: {e}", path.display()))
        .with_hint("the archive is damaged; use another copy of this backup")
}

/// Opens an archive and checks the magic bytes (gzip or zstd, [`super::codec`]).
pub(super) fn open_archive(path: &Path) -> Result<File> {
    let mut f =
        File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut magic = [0u8; 4];
    let n = pipeline::read_full(&mut f, &mut magic)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if n == 0 {
        return Err(not_archive(path, "the file is empty"));
    }
    if super::codec::sniff(&magic[..n]).is_none() {
        return Err(not_archive(path, NOT_COMPRESSED_TAR));
    }
    f.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok(f)
}

const NOT_COMPRESSED_TAR: &str = "not a gzip- or zstd-compressed tar file";

/// An archive's (decrypted) bytes, as the readers take them.
pub(crate) type Opened = io::Chain<io::Cursor<Vec<u8>>, input::Input>;

/// Opens an archive for reading — an age-encrypted one decrypted with the keys [`unlock`]ed for
/// it — and checks the gzip magic bytes (of the plaintext). Returns whether it is encrypted.
pub(crate) fn open_input(path: &Path) -> Result<(Opened, bool)> {
    let mut input = input::Input::open(path)?;
    let encrypted = input.is_encrypted();
    let mut magic = [0u8; 4];
    let n = pipeline::read_full(&mut input, &mut magic)
        .map_err(|e| input::read_failure(path, encrypted, e))?;
    if n == 0 {
        return Err(not_archive(path, "the file is empty"));
    }
    if super::codec::sniff(&magic[..n]).is_none() {
        return Err(not_archive(path, NOT_COMPRESSED_TAR));
    }
    Ok((io::Cursor::new(magic[..n].to_vec()).chain(input), encrypted))
}

/// The compression of an archive's (decrypted) bytes, told by its first bytes.
pub fn codec_of(path: &Path) -> Result<super::codec::Codec> {
    let (opened, _) = open_input(path)?;
    let head = opened.into_inner().0.into_inner();
    super::codec::sniff(&head).ok_or_else(|| not_archive(path, NOT_COMPRESSED_TAR))
}

/// Reads the first entry, which must be `metadata.json`, and parses it. Errors are
/// [`ErrorKind::UnsupportedFormat`] when this is not an Offsite archive (of a version we read)
/// and [`ErrorKind::Integrity`] when it is damaged. Returns the raw JSON too.
pub(super) fn read_manifest_entry<R: Read>(
    tar: &mut TarReader<R>,
    path: &Path,
) -> Result<(Manifest, Vec<u8>)> {
    let header = match tar.next() {
        Ok(Next::Entry(h)) => h,
        Ok(Next::End | Next::Eof) => return Err(not_archive(path, "it contains no files")),
        Err(TarError::BadHeader(why)) => return Err(not_archive(path, &why)),
        // Less than one header block: whatever this is, it is not an archive.
        Err(TarError::Truncated) => return Err(not_archive(path, "not a tar archive (too short)")),
        Err(e @ TarError::Stream(_)) => return Err(corrupt(path, "reading metadata.json", &e)),
    };
    if header.name != MANIFEST_NAME || header.kind != Kind::File {
        return Err(not_archive(
            path,
            &format!("the first member is {:?}, not {MANIFEST_NAME}", header.name),
        ));
    }
    if header.size > MAX_MANIFEST_SIZE {
        return Err(not_archive(
            path,
            &format!("{MANIFEST_NAME} is {} bytes, too large", header.size),
        ));
    }
    let mut raw = vec![0u8; header.size as usize];
    tar.fill(&mut raw)
        .map_err(|e| corrupt(path, "reading metadata.json", &e))?;

    // Check the version before the schema: a newer format may not parse as ours. Only the
    // version is picked out (the rest is skipped, not built): a `serde_json::Value` of a
    // manifest that lists 100,000 objects would take ~1 KB per member.
    #[derive(serde::Deserialize)]
    struct Head {
        format_version: Option<serde_json::Value>,
    }
    let invalid = |e: serde_json::Error| {
        not_archive(path, &format!("{MANIFEST_NAME} is not valid JSON ({e})"))
    };
    let is_object = raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let version = if is_object {
        serde_json::from_slice::<Head>(&raw)
            .map_err(invalid)?
            .format_version
    } else {
        serde_json::from_slice::<serde::de::IgnoredAny>(&raw).map_err(invalid)?;
        None
    };
    let version = version
        .and_then(|v| v.as_u64())
        .ok_or_else(|| not_archive(path, &format!("{MANIFEST_NAME} has no format_version")))?;
    if version > FORMAT_VERSION as u64 {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "{} uses archive format {version}; this Offsite reads format {FORMAT_VERSION} and older",
                path.display()
            ),
        )
        .with_hint("upgrade Offsite to read this archive"));
    }
    let manifest: Manifest = serde_json::from_slice(&raw)
        .map_err(|e| not_archive(path, &format!("{MANIFEST_NAME} is malformed ({e})")))?;
    Ok((manifest, raw))
}

/// Reads the manifest (`metadata.json`, the first member) without reading further. An encrypted
/// (`.age`) archive is decrypted with the keys [`unlock`]ed for it; without one that opens it:
/// `wrong_key` (its manifest is inside the ciphertext; see [`read_manifest_with`]).
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    read_manifest_with(path, &[])
}

/// [`read_manifest`], decrypting an encrypted archive with any of `keys` (and those [`unlock`]ed
/// for it), only as far as the manifest. Without a key that opens it: `wrong_key`, saying whether
/// a passphrase or which kind of key it needs; a damaged or empty one: `integrity`.
pub fn read_manifest_with(path: &Path, keys: &[crate::crypto::UserKey]) -> Result<Manifest> {
    if super::is_encrypted_file(path)? {
        let mut all = keys.to_vec();
        all.extend(input::keys_for(path));
        let file =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let plain =
            crate::crypto::decrypt(file, &all).map_err(|e| encrypted_error(path, &all, e))?;
        let gz = super::codec::decompress(BufReader::with_capacity(64 * 1024, plain));
        return read_manifest_entry(&mut TarReader::new(gz), path).map(|(m, _)| m);
    }
    let file = open_archive(path)?;
    let gz = super::codec::decompress(BufReader::with_capacity(64 * 1024, file));
    read_manifest_entry(&mut TarReader::new(gz), path).map(|(m, _)| m)
}

/// Names the file in an error opening an encrypted archive; without a key, says that the
/// manifest is inside the ciphertext and how to give the key.
fn encrypted_error(path: &Path, keys: &[crate::crypto::UserKey], e: Error) -> Error {
    let hint = e.hint().unwrap_or_default().to_string();
    if e.kind() == ErrorKind::WrongKey && keys.is_empty() {
        return Error::new(
            ErrorKind::WrongKey,
            format!(
                "{} is encrypted (age) and no key was given: its manifest is inside the \
                 ciphertext",
                path.display()
            ),
        )
        .with_hint(format!(
            "{hint}. Give it with --key-stdin (the app opens a project's own archives with \
             the project's key from the keychain; another key needs the command line for now)"
        ));
    }
    let err = Error::new(e.kind(), format!("{}: {}", path.display(), e.message()));
    if hint.is_empty() {
        err
    } else {
        err.with_hint(hint)
    }
}

/// After the pipeline ran: a cancel or a read error of the file itself wins over whatever the
/// body concluded (the body saw those only as a broken stream).
fn pipeline_failure<T>(
    path: &Path,
    outcome: &Outcome<T>,
    cancel: &CancellationToken,
) -> Option<Error> {
    if cancel.is_cancelled() {
        return Some(Error::cancelled());
    }
    match &outcome.file {
        Err(e) => Some(Error::io(
            format!("reading {}", path.display()),
            io::Error::new(e.kind(), e.to_string()),
        )),
        Ok(_) => None,
    }
}

/// [`pipeline_failure`] of an archive opened with [`open_input`]: a decryption failure (damage
/// or an early end of the ciphertext) is an integrity error.
fn input_failure<T>(
    path: &Path,
    outcome: &Outcome<T>,
    cancel: &CancellationToken,
    encrypted: bool,
) -> Option<Error> {
    if cancel.is_cancelled() {
        return Some(Error::cancelled());
    }
    match &outcome.file {
        Err(e) => Some(input::read_failure(
            path,
            encrypted,
            io::Error::new(e.kind(), e.to_string()),
        )),
        Ok(_) => None,
    }
}

/// Receives member bytes as they stream by (restore's pipe, an extracted file).
type Sink<'a> = &'a mut dyn FnMut(&[u8]) -> Result<()>;

/// Streams a member's data to the hash thread, and to `sink` first if given. Returns the bytes
/// read; on a stream error, the bytes read before it and the error.
fn stream_member(
    tar: &mut ArchiveStream,
    hasher: &MemberHasher,
    mut sink: Option<Sink>,
    cancel: &CancellationToken,
) -> Result<std::result::Result<u64, (u64, TarError)>> {
    let mut total = 0u64;
    while tar.remaining() > 0 {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let mut buf = hasher.buffer();
        match tar.fill(&mut buf) {
            Ok(n) => {
                if let Some(sink) = sink.as_mut() {
                    sink(&buf[..n])?;
                }
                hasher.update(buf, n);
                total += n as u64;
            }
            Err(e) => return Ok(Err((total, e))),
        }
    }
    Ok(Ok(total))
}

#[cfg(test)]
mod tests;
