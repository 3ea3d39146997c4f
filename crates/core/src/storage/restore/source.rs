//! The archive side of a storage restore: `storage.json` of the chosen backup and of the base
//! backups an incremental one refers to, where each object's bytes are, and one sequential pass
//! over an archive that hands over the wanted members with their SHA-256 checked.

use crate::archive::{self, check_member_name, Manifest};
use crate::error::{Error, ErrorKind, Result};
use crate::storage::layout::{ObjectEntry, StorageDoc, STORAGE_DOC, STORAGE_PREFIX};
use md5::Digest;
use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// How many base backups an incremental chain may have (a loop in the catalog must not hang).
const MAX_CHAIN: usize = 64;

/// One archive with its storage document.
#[derive(Debug)]
pub(crate) struct ArchiveDoc {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub doc: StorageDoc,
}

/// Reads the manifest and `storage.json` of `path` (checked against the manifest).
pub(crate) fn open_archive_doc(path: &Path, cancel: &CancellationToken) -> Result<ArchiveDoc> {
    let manifest = archive::read_manifest(path)?;
    if manifest.member(STORAGE_DOC).is_none() {
        return Err(Error::invalid(format!(
            "{} (backup {}) has no storage component ({STORAGE_DOC} is missing)",
            path.display(),
            manifest.backup_id
        ))
        .with_hint("choose a full or storage backup"));
    }
    let raw = archive::read_document(
        path,
        STORAGE_DOC,
        crate::storage::check::MAX_DOC_SIZE,
        cancel,
    )?;
    let doc: StorageDoc = serde_json::from_slice(&raw).map_err(|e| {
        Error::new(
            ErrorKind::UnsupportedFormat,
            format!("{}: {STORAGE_DOC} is malformed ({e})", path.display()),
        )
    })?;
    Ok(ArchiveDoc {
        path: path.to_path_buf(),
        manifest,
        doc,
    })
}

/// Where an object's bytes are: which archive of the chain (0: the chosen one) and which member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Src {
    pub archive: usize,
    pub member: String,
}

/// Finds where the bytes of the chosen archive's objects `selected` (indexes into its
/// `doc.objects`) are, loading base backups through `resolve_base` as far as needed, before
/// anything is written. Returns the archives of the chain (the chosen one first) and one
/// [`Src`] per selected object. A base without a copy is a `not_found` error naming it.
pub(super) async fn locate_all(
    main: ArchiveDoc,
    selected: &[usize],
    resolve_base: &(dyn Fn(&str) -> Option<PathBuf> + Send + Sync),
    cancel: &CancellationToken,
) -> Result<(Vec<ArchiveDoc>, Vec<Src>)> {
    let mut srcs: Vec<Option<Src>> = vec![None; selected.len()];
    // (position in `selected`, the entry in the archive being looked at)
    let mut pending: Vec<(usize, ObjectEntry)> = Vec::new();
    for (pos, &i) in selected.iter().enumerate() {
        let entry = &main.doc.objects[i];
        match &entry.member {
            Some(member) => {
                check_member(&main, entry, member)?;
                srcs[pos] = Some(Src {
                    archive: 0,
                    member: member.clone(),
                });
            }
            None => pending.push((pos, entry.clone())),
        }
    }
    let mut archives = vec![main];
    while !pending.is_empty() {
        let this = archives
            .last()
            .expect("the chain starts with the chosen archive");
        let Some(base_id) = this.doc.base_backup_id.clone() else {
            return Err(Error::integrity(format!(
                "{}: {STORAGE_DOC} lists objects without archive members but names no base backup",
                this.path.display()
            )));
        };
        if archives.len() > MAX_CHAIN {
            return Err(Error::integrity(format!(
                "backup {} has a chain of more than {MAX_CHAIN} base backups",
                archives[0].manifest.backup_id
            )));
        }
        let Some(path) = resolve_base(&base_id) else {
            return Err(Error::not_found(format!(
                "backup {} is incremental: its unchanged objects are in backup {base_id}, which has no copy here",
                this.manifest.backup_id
            ))
            .with_hint(format!(
                "bring a copy of backup {base_id} back (or restore a full backup instead); nothing was written"
            )));
        };
        let base = {
            let cancel = cancel.clone();
            tokio::task::spawn_blocking(move || open_archive_doc(&path, &cancel))
                .await
                .map_err(|e| Error::internal(format!("reading a base backup: {e}")))??
        };
        if base.manifest.backup_id != base_id {
            return Err(Error::integrity(format!(
                "{} was given as backup {base_id} but is backup {}",
                base.path.display(),
                base.manifest.backup_id
            )));
        }
        let index: HashMap<(&str, &str), usize> = base
            .doc
            .objects
            .iter()
            .enumerate()
            .map(|(n, o)| ((o.bucket.as_str(), o.key.as_str()), n))
            .collect();
        let at = archives.len();
        let mut still = Vec::new();
        for (pos, entry) in pending {
            let Some(&n) = index.get(&(entry.bucket.as_str(), entry.key.as_str())) else {
                return Err(Error::integrity(format!(
                    "object {}/{} has no bytes in backup {} nor in its base backup {base_id}",
                    entry.bucket, entry.key, archives[0].manifest.backup_id
                )));
            };
            let found = &base.doc.objects[n];
            if found.sha256 != entry.sha256 || found.size != entry.size {
                return Err(Error::integrity(format!(
                    "object {}/{}: base backup {base_id} holds other content than backup {} records",
                    entry.bucket, entry.key, archives[0].manifest.backup_id
                )));
            }
            match &found.member {
                Some(member) => {
                    check_member(&base, found, member)?;
                    srcs[pos] = Some(Src {
                        archive: at,
                        member: member.clone(),
                    });
                }
                None => still.push((pos, found.clone())),
            }
        }
        pending = still;
        archives.push(base);
    }
    let srcs = srcs
        .into_iter()
        .map(|s| s.expect("every selected object was located"))
        .collect();
    Ok((archives, srcs))
}

/// The member is a storage member the manifest lists with the object's size and SHA-256.
fn check_member(a: &ArchiveDoc, entry: &ObjectEntry, member: &str) -> Result<()> {
    let bad = |why: String| {
        Error::integrity(format!(
            "{}: object {}/{}: {why}",
            a.path.display(),
            entry.bucket,
            entry.key
        ))
        .with_hint("the archive is damaged or was not written by Offsite; use another copy")
    };
    if !member.starts_with(STORAGE_PREFIX) || check_member_name(member, false).is_err() {
        return Err(bad(format!(
            "member name {member:?} is not a storage member"
        )));
    }
    // An object's bytes are in its own bucket's folder: never another bucket's object.
    let own = format!("{STORAGE_PREFIX}{}/", entry.bucket);
    if !member.starts_with(&own) {
        return Err(bad(format!(
            "member {member:?} is outside its bucket's folder {own:?}"
        )));
    }
    match a.manifest.member(member) {
        None => Err(bad(format!("member {member} is not in the manifest"))),
        Some(m) if m.size != entry.size || m.sha256 != entry.sha256 => Err(bad(format!(
            "member {member} ({} bytes, SHA-256 {}) differs from {STORAGE_DOC} ({} bytes, SHA-256 {})",
            m.size, m.sha256, entry.size, entry.sha256
        ))),
        Some(_) => Ok(()),
    }
}

/// Hashes what is read through it: SHA-256 always, MD5 when asked.
pub(super) struct Hashing<R> {
    inner: R,
    sha: ring::digest::Context,
    md5: Option<md5::Md5>,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R, md5: bool) -> Self {
        Hashing {
            inner,
            sha: ring::digest::Context::new(&ring::digest::SHA256),
            md5: md5.then(md5::Md5::new),
            bytes: 0,
        }
    }

    /// (bytes, SHA-256 hex, MD5 hex when asked).
    pub fn finish(self) -> (u64, String, Option<String>) {
        (
            self.bytes,
            hex::encode(self.sha.finish().as_ref()),
            self.md5.map(|m| hex::encode(m.finalize())),
        )
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        if let Some(m) = self.md5.as_mut() {
            m.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The error when a member's bytes are not what `storage.json` recorded.
pub(super) fn mismatch(archive: &Path, obj: &ObjectEntry, bytes: u64, sha: &str) -> Error {
    Error::integrity(format!(
        "{}: object {}/{} is damaged in the archive ({bytes} bytes, SHA-256 {sha}; recorded {} bytes, {})",
        archive.display(),
        obj.bucket,
        obj.key,
        obj.size,
        obj.sha256
    ))
    .with_hint("the archive is damaged; use another copy of this backup (the damaged object was not restored)")
}

/// Reads `path` from start to end once and calls `each(tag, reader)` for every member named in
/// `wanted` (member → tag), in archive order; `each` must read its reader to the end. Fails
/// with [`ErrorKind::Integrity`] when a wanted member is missing, appears twice, or the archive
/// is damaged; checks `cancel` between members.
pub(super) fn scan_members(
    path: &Path,
    wanted: &HashMap<String, usize>,
    cancel: &CancellationToken,
    mut each: impl FnMut(usize, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    let damaged = |what: String| {
        Error::integrity(format!("{}: {what}", path.display()))
            .with_hint("the archive is damaged; use another copy of this backup")
    };
    // An age-encrypted archive is decrypted as it streams (its key unlocked by the restore).
    let (file, _) = crate::archive::reader::open_input(path)?;
    let gz = crate::archive::codec::decompress(BufReader::with_capacity(1 << 20, file));
    let mut tar = tar::Archive::new(gz);
    let entries = tar
        .entries()
        .map_err(|e| damaged(format!("reading the archive: {e}")))?;
    let mut seen: HashSet<usize> = HashSet::new();
    for entry in entries {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        if seen.len() == wanted.len() {
            break; // everything wanted was read: no need to decompress the rest
        }
        let mut entry = entry.map_err(|e| damaged(format!("reading the archive: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(&tag) = wanted.get(&name) else {
            continue;
        };
        if !seen.insert(tag) {
            return Err(damaged(format!("member {name} appears twice")));
        }
        let mut reader = ErrMapped {
            inner: &mut entry,
            err: None,
        };
        let r = each(tag, &mut reader);
        if let Some(e) = reader.err {
            // The archive's own read failed: that is the cause, whatever `each` made of it.
            if let Err(inner) = &r {
                if inner.kind() == ErrorKind::Cancelled {
                    return r;
                }
            }
            return Err(damaged(format!("reading {name}: {e}")));
        }
        r?;
    }
    if let Some(missing) = wanted
        .iter()
        .find(|(_, tag)| !seen.contains(tag))
        .map(|(name, _)| name)
    {
        return Err(damaged(format!(
            "member {missing} is missing from the archive"
        )));
    }
    Ok(())
}

/// Remembers a read error of the archive itself (told apart from the consumer's own errors).
struct ErrMapped<'a, R> {
    inner: &'a mut R,
    err: Option<String>,
}

impl<R: Read> Read for ErrMapped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            self.err.get_or_insert_with(|| e.to_string());
        })
    }
}
