//! Writing an archive.
//!
//! ```text
//!  gzip member(s)  │ metadata.json hdr+data+pad │ small members │ hdr of database.dump │
//!  verbatim spool  │ gzip member(s) of database.dump's bytes, compressed while pg_dump ran │
//!  gzip member(s)  │ pad of database.dump │ following members │ 2 zero blocks (end)    │
//! ```
//!
//! tar needs a member's size before its bytes, so a member of unknown size is spooled: its bytes
//! are hashed and gzip-compressed as they arrive into a temporary file next to the destination.
//! At [`ArchiveWriter::finish`] the spool's compressed bytes are copied into the archive as they
//! are — concatenated gzip members are one valid gzip stream — so nothing is compressed twice.
//! A large fragment (a bucket's objects) is not copied at all where the filesystem allows: the
//! head is inserted in front of it in its own spool file, which becomes the archive (see
//! `inplace`).
//! Compression itself runs on all cores (see `pargz`). The archive is hashed while it is
//! written, so producing `<archive>.sha256` costs no second read.

use super::fragment::{Fragment, FragmentWriter};
use super::pargz::ParGz;
use super::tarfmt::{file_header, padding, ZEROS};
use super::{
    check_member_name, sidecar_path, sync_dir, Manifest, MemberEntry, CHUNK, DATABASE_MEMBER,
    GLOBALS_MEMBER, MANIFEST_NAME, TMP_PREFIX,
};
use crate::error::{Error, ErrorKind, Result};
use crate::progress::{Phase, Reporter};
use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tempfile::TempPath;
use tokio_util::sync::CancellationToken;

mod output;
mod sink;
mod spool;

use output::{splice_head, write_manifest, write_member, CountingWriter, GzSink};
use sink::ArchiveOut;
pub use spool::{SpoolWriter, SpooledMember};

/// Builds one archive in a destination folder. Nothing appears under the final name until
/// [`finish`](Self::finish) succeeds; temporary files (`.offsite-tmp-*`) are removed when the
/// writer is dropped or fails.
pub struct ArchiveWriter {
    dir: PathBuf,
    file_name: String,
    compression: super::Compression,
    members: Vec<Pending>,
    /// Whether a large fragment may become the archive (see `inplace`); off only in tests of
    /// the copy path.
    in_place: bool,
    /// Encrypt the archive (age) as it is written; see [`encrypt`](Self::encrypt).
    encryption: Option<crate::crypto::Encryption>,
    /// The folder's lock, shared: a sweep of leftovers keeps away while this writer works.
    _in_use: crate::tempfiles::FolderInUse,
}

enum Pending {
    Bytes {
        name: String,
        data: Vec<u8>,
        sha256: String,
    },
    File {
        name: String,
        path: PathBuf,
        size: u64,
        sha256: String,
    },
    Spooled(SpooledMember),
    /// Complete tar entries, compressed (see [`super::fragment`]).
    Fragment(Fragment),
}

impl Pending {
    /// Name, size and SHA-256 of a single member; `None` for a fragment (its entries are in its
    /// index, see [`Fragment::entries`]).
    fn single(&self) -> Option<(&str, u64, &str)> {
        match self {
            Pending::Bytes { name, data, sha256 } => Some((name, data.len() as u64, sha256)),
            Pending::File {
                name, size, sha256, ..
            } => Some((name, *size, sha256)),
            Pending::Spooled(m) => Some((&m.name, m.size, &m.sha256)),
            Pending::Fragment(_) => None,
        }
    }

    /// The manifest entry of a single member (`None` for a fragment).
    fn entry(&self) -> Option<MemberEntry> {
        self.single().map(|(name, size, sha256)| MemberEntry {
            name: name.to_string(),
            size,
            sha256: sha256.to_string(),
        })
    }

    /// Bytes the packing phase processes for this member (compressed size for a spool).
    fn packing_bytes(&self) -> u64 {
        match self {
            Pending::Bytes { data, .. } => data.len() as u64,
            Pending::File { size, .. } => *size,
            Pending::Spooled(m) => m.compressed_len,
            Pending::Fragment(f) => f.compressed_size(),
        }
    }
}

/// The result of [`ArchiveWriter::finish`].
#[derive(Debug, Clone)]
pub struct Written {
    /// The final archive path.
    pub path: PathBuf,
    /// Archive size in bytes.
    pub size: u64,
    /// SHA-256 of the archive file (also in `<archive>.sha256`).
    pub sha256: String,
    /// The manifest as written (`format_version` and `components` filled in), except that
    /// `members` lists only the members added singly (bytes, files, spools), in archive order:
    /// the entries of fragments (a bucket's objects, one per object) are written into
    /// `metadata.json` from their temporary index and never held in memory, so memory stays flat
    /// with the object count. [`read_manifest`](super::read_manifest) of the archive has them all.
    pub manifest: Manifest,
}

fn invalid_name(name: &str, why: &str) -> Error {
    Error::invalid(format!("invalid archive member name {name:?}: {why}"))
}

pub(super) fn check_name(name: &str) -> Result<()> {
    check_member_name(name, false).map_err(|why| invalid_name(name, &why))?;
    if name == MANIFEST_NAME {
        return Err(invalid_name(name, "reserved for the manifest"));
    }
    Ok(())
}

pub(super) fn temp_in(dir: &Path) -> Result<(File, TempPath)> {
    let t = crate::private_fs::tempfile_in(dir, TMP_PREFIX)
        .map_err(|e| Error::io(format!("creating a temporary file in {}", dir.display()), e))?;
    Ok(t.into_parts())
}

impl ArchiveWriter {
    /// Prepares an archive named `file_name` in `dest_dir` (which must exist), compressed at
    /// gzip `level` 0–9. Fails with [`ErrorKind::AlreadyExists`] if the final file exists.
    pub fn create(dest_dir: &Path, file_name: &str, level: u32) -> Result<Self> {
        Self::create_with(dest_dir, file_name, super::Compression::Gzip(level))
    }

    /// [`create`](Self::create) with any [`Compression`](super::Compression): gzip members or
    /// zstd frames (the name should then end in `.tar.zst`, `.tar.zst.age` when encrypted).
    pub fn create_with(
        dest_dir: &Path,
        file_name: &str,
        compression: super::Compression,
    ) -> Result<Self> {
        if file_name.is_empty()
            || file_name.contains(['/', '\\', '\0'])
            || file_name.starts_with('.')
            || file_name.ends_with(".sha256")
        {
            return Err(Error::invalid(format!(
                "invalid archive file name {file_name:?}"
            )));
        }
        compression.check()?;
        let md = std::fs::metadata(dest_dir)
            .map_err(|e| Error::io(format!("destination folder {}", dest_dir.display()), e))?;
        if !md.is_dir() {
            return Err(Error::invalid(format!(
                "{} is not a folder",
                dest_dir.display()
            )));
        }
        let final_path = dest_dir.join(file_name);
        if final_path.symlink_metadata().is_ok() {
            return Err(already_exists(&final_path));
        }
        Ok(ArchiveWriter {
            _in_use: crate::tempfiles::in_use(dest_dir)?,
            dir: dest_dir.to_path_buf(),
            file_name: file_name.to_string(),
            compression,
            members: Vec::new(),
            in_place: true,
            encryption: None,
        })
    }

    /// A writer for one member of unknown size. Its bytes are hashed, counted and compressed as
    /// they arrive into a temporary spool file in the destination folder; call
    /// [`SpoolWriter::finish`] and pass the result to [`add_spooled`](Self::add_spooled).
    pub fn spool(&self, member_name: &str) -> Result<SpoolWriter> {
        check_name(member_name)?;
        let (file, path) = temp_in(&self.dir)?;
        Ok(SpoolWriter {
            name: member_name.to_string(),
            gz: Some(ParGz::with(file, self.compression)),
            path: Some(path),
            ctx: ring::digest::Context::new(&ring::digest::SHA256),
            count: 0,
        })
    }

    pub fn add_spooled(&mut self, m: SpooledMember) {
        self.members.push(Pending::Spooled(m));
    }

    /// A writer of complete tar entries (many members, e.g. a bucket's objects) compressed into
    /// a temporary spool as they are written; pass the finished [`Fragment`] to
    /// [`add_fragment`](Self::add_fragment). `created_at` is the manifest's (members' mtime).
    pub fn fragment(&self, created_at: &str) -> Result<FragmentWriter> {
        let (file, path) = temp_in(&self.dir)?;
        let index = temp_in(&self.dir)?;
        Ok(FragmentWriter::new(
            file,
            path,
            index,
            self.compression,
            mtime_of(created_at),
        ))
    }

    /// Adds the members of a finished fragment, at this position. Their names were checked as
    /// they were written; [`finish`](Self::finish) refuses one that is also a member added
    /// singly. A fragment's names must be unique among all fragments' (a bucket's objects are,
    /// by construction): checking that would hold every name in memory.
    pub fn add_fragment(&mut self, f: Fragment) {
        self.members.push(Pending::Fragment(f));
    }

    /// Copies every fragment into the archive, as on filesystems that cannot insert ranges
    /// (tests of that path).
    #[doc(hidden)]
    pub fn copy_fragments(&mut self) {
        self.in_place = false;
    }

    /// Encrypt the archive with `enc` as it is written (the file name must end in `.age`): the
    /// compressed tar stream goes through age into the temporary file, so the archive file only
    /// ever holds ciphertext, and its size, SHA-256 and `.sha256` are the ciphertext's. The
    /// manifest (inside, encrypted) records the recipients (or "passphrase"), never a secret.
    pub fn encrypt(&mut self, enc: crate::crypto::Encryption) -> Result<()> {
        if !self.file_name.ends_with(crate::crypto::AGE_SUFFIX) {
            return Err(Error::invalid(format!(
                "an encrypted archive's name ends in .age, not {:?}",
                self.file_name
            )));
        }
        self.in_place = false;
        self.encryption = Some(enc);
        Ok(())
    }

    /// The folder the archive is written to (temporary files of callers belong here too).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A small member held in memory (globals.sql, storage.json, ...). The name is checked by
    /// [`finish`](Self::finish).
    pub fn add_bytes(&mut self, member_name: &str, bytes: Vec<u8>) {
        let sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref());
        self.members.push(Pending::Bytes {
            name: member_name.to_string(),
            data: bytes,
            sha256,
        });
    }

    /// An existing file. It is hashed now (the manifest, which comes first in the archive, needs
    /// its size and digest) and hashed again while it is appended by `finish`, which fails with
    /// [`ErrorKind::Integrity`] if the file changed in between.
    pub fn add_file(&mut self, member_name: &str, path: &Path) -> Result<()> {
        check_name(member_name)?;
        let mut file =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let md = file
            .metadata()
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if !md.is_file() {
            return Err(Error::invalid(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let mut size = 0u64;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = super::pipeline::read_full(&mut file, &mut buf)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            if n == 0 {
                break;
            }
            ctx.update(&buf[..n]);
            size += n as u64;
        }
        self.members.push(Pending::File {
            name: member_name.to_string(),
            path: path.to_path_buf(),
            size,
            sha256: hex::encode(ctx.finish().as_ref()),
        });
        Ok(())
    }

    /// Writes the archive: `metadata.json` first (listing every member in archive order, with
    /// `format_version` and `components` set; `manifest.members` is ignored), then the members.
    /// The returned [`Written::manifest`] lists the single members only (see there). It is
    /// written under a temporary
    /// name, synced, renamed to the final name (never replacing an existing file), then
    /// `<archive>.sha256` is written the same way and the folder is synced. Checks `cancel`
    /// between chunks. Reports [`Phase::Packing`] then [`Phase::Syncing`] (the caller finishes
    /// the reporter). On any failure nothing of this archive remains in the folder.
    pub fn finish(
        mut self,
        manifest: Manifest,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<Written> {
        let mut cleanup = Cleanup(Vec::new());
        let written = self.write_all(manifest, reporter, cancel, &mut cleanup)?;
        cleanup.0.clear(); // success: keep everything
        Ok(written)
    }

    /// Checks the names and fills in `components` from the members' checksums, in one pass over
    /// every entry (fragments' read back from their index).
    fn validate(&self, manifest: &mut Manifest) -> Result<()> {
        let mut single = HashSet::new();
        for (name, ..) in self.members.iter().filter_map(Pending::single) {
            check_name(name)?;
            if !single.insert(name) {
                return Err(invalid_name(name, "added twice"));
            }
        }
        let components = [
            ("database", DATABASE_MEMBER),
            ("database", super::DATABASE_SQL_MEMBER),
            ("database", super::DATABASE_TOC_MEMBER),
            ("globals", GLOBALS_MEMBER),
            ("storage", crate::archive::storage_layout::STORAGE_DOC),
        ];
        // The first member of each name, as `manifest.member` would find it.
        let mut found: [Option<String>; 5] = Default::default();
        let mut note = |name: &str, sha256: &str| {
            if let Some(i) = components.iter().position(|(_, m)| *m == name) {
                found[i].get_or_insert_with(|| sha256.to_string());
            }
        };
        for m in &self.members {
            match m {
                Pending::Fragment(f) => {
                    for e in f.entries()? {
                        let e = e?;
                        if single.contains(e.name.as_str()) {
                            return Err(invalid_name(&e.name, "added twice"));
                        }
                        note(&e.name, &e.sha256);
                    }
                }
                other => {
                    let (name, _, sha256) = other.single().expect("not a fragment");
                    note(name, sha256);
                }
            }
        }
        for ((component, _), sha) in components.iter().zip(found) {
            if let Some(sha) = sha {
                manifest
                    .components
                    .entry(component.to_string())
                    .or_insert(sha);
            }
        }
        Ok(())
    }

    fn write_all(
        &mut self,
        mut manifest: Manifest,
        reporter: &Reporter,
        cancel: &CancellationToken,
        cleanup: &mut Cleanup,
    ) -> Result<Written> {
        manifest.format_version = manifest.needed_format();
        manifest.members.clear();
        manifest.encryption =
            self.encryption
                .as_ref()
                .map(|e| super::manifest::ArchiveEncryption {
                    format: "age".into(),
                    recipients: e.describe(),
                });
        self.validate(&mut manifest)?;
        let final_path = self.dir.join(&self.file_name);
        if final_path.symlink_metadata().is_ok() {
            return Err(already_exists(&final_path));
        }

        // Streamed twice (its size first, for the tar header), never held whole, and its
        // member list is read from the pending members as it is written (fragments' entries
        // from their index): with many storage objects it is megabytes.
        let meta_len = {
            let mut counter = CountingWriter(0);
            write_manifest(&mut counter, &manifest, &self.members)?;
            counter.0
        };
        let mtime = mtime_of(&manifest.created_at);

        // `tmp_path` is declared before `gz` so that on error the file is closed before the
        // temporary name is removed.
        let (tmp_file, tmp_path) = temp_in(&self.dir)?;
        let mut gz = ParGz::with(
            ArchiveOut::new(tmp_file, self.encryption.as_ref())?,
            self.compression,
        );
        let io_err = |e: io::Error| Error::io(format!("writing {}", final_path.display()), e);

        let total = meta_len + self.members.iter().map(Pending::packing_bytes).sum::<u64>();
        reporter.phase(Phase::Packing, Some(total));

        gz.write_all(&file_header(MANIFEST_NAME, meta_len, mtime))
            .map_err(io_err)?;
        let mut into_gz = GzSink {
            gz: &mut gz,
            written: 0,
        };
        write_manifest(&mut into_gz, &manifest, &self.members)?;
        if into_gz.written != meta_len {
            return Err(Error::internal(format!(
                "the manifest serialized to {} bytes, then {meta_len}",
                into_gz.written
            )));
        }
        gz.write_all(&ZEROS[..padding(meta_len)]).map_err(io_err)?;
        reporter.advance(meta_len);

        // The archive either is the head file with every member copied into it, or (a large
        // fragment, a filesystem that inserts ranges) the fragment's spool with the head
        // inserted in front of it (see `inplace`).
        let adopt = self.adoptable(meta_len);
        let head_end = adopt.map_or(self.members.len(), |(i, _)| i);
        for m in &mut self.members[..head_end] {
            write_member(&mut gz, m, mtime, reporter, cancel, &io_err)?;
        }
        let (out, tmp_path) = match adopt {
            None => {
                gz.write_all(&ZEROS).map_err(io_err)?; // end-of-archive marker
                if cancel.is_cancelled() {
                    return Err(Error::cancelled());
                }
                (gz.finish().map_err(io_err)?, tmp_path)
            }
            Some((i, block)) => {
                let head = gz.finish().map_err(io_err)?.into_plain()?;
                let Pending::Fragment(frag) = self.members.remove(i) else {
                    unreachable!("adoptable() picks a fragment")
                };
                let pad = (self.compression.codec(), block);
                let (hashed, path) =
                    splice_head(head, tmp_path, frag, pad, reporter, cancel, &io_err)?;
                let mut gz = ParGz::with(ArchiveOut::Plain(hashed), self.compression);
                for m in &mut self.members[i..] {
                    write_member(&mut gz, m, mtime, reporter, cancel, &io_err)?;
                }
                gz.write_all(&ZEROS).map_err(io_err)?; // end-of-archive marker
                if cancel.is_cancelled() {
                    return Err(Error::cancelled());
                }
                (gz.finish().map_err(io_err)?, path)
            }
        };

        reporter.phase(Phase::Syncing, None);
        let (file, size, sha256) = out.finish().map_err(io_err)?.into_parts();
        file.sync_all()
            .map_err(|e| Error::io(format!("syncing {}", final_path.display()), e))?;
        drop(file);
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        persist_noclobber(tmp_path, &final_path)?;
        cleanup.0.push(final_path.clone());

        // "<hex>  <name>\n", exactly what `sha256sum <name>` prints.
        let sidecar = sidecar_path(&final_path);
        let (mut sfile, spath) = temp_in(&self.dir)?;
        let serr = |e| Error::io(format!("writing {}", sidecar.display()), e);
        sfile
            .write_all(format!("{sha256}  {}\n", self.file_name).as_bytes())
            .map_err(serr)?;
        sfile.sync_all().map_err(serr)?;
        drop(sfile);
        spath.persist(&sidecar).map_err(|e| serr(e.error))?;
        cleanup.0.push(sidecar);
        sync_dir(&self.dir)?;

        // The members added singly (fragments' entries stay in the archive only).
        manifest.members = self.members.iter().filter_map(Pending::entry).collect();
        Ok(Written {
            path: final_path,
            size,
            sha256,
            manifest,
        })
    }
}

impl fmt::Debug for ArchiveWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArchiveWriter")
            .field("dir", &self.dir)
            .field("file_name", &self.file_name)
            .field(
                "members",
                &self
                    .members
                    .iter()
                    .map(|m| match m.single() {
                        Some((name, ..)) => name.to_string(),
                        None => format!(
                            "(fragment of {})",
                            match m {
                                Pending::Fragment(f) => f.len(),
                                _ => 0,
                            }
                        ),
                    })
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn already_exists(path: &Path) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        format!("{} already exists", path.display()),
    )
    .with_hint("choose another destination folder or wait a second so the timestamped name differs")
}

/// The tar mtime of every member: the manifest's `created_at` (now if it does not parse).
pub(super) fn mtime_of(created_at: &str) -> u64 {
    time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc().unix_timestamp())
        .max(0) as u64
}

/// Renames without ever replacing an existing file (where the filesystem cannot do that
/// atomically, e.g. no hard links on exFAT, it checks first).
fn persist_noclobber(tmp: TempPath, dest: &Path) -> Result<()> {
    match tmp.persist_noclobber(dest) {
        Ok(()) => Ok(()),
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Err(already_exists(dest)),
        Err(e) => {
            if dest.symlink_metadata().is_ok() {
                return Err(already_exists(dest));
            }
            e.path
                .persist(dest)
                .map_err(|e| Error::io(format!("renaming to {}", dest.display()), e.error))
        }
    }
}

impl ArchiveWriter {
    /// The fragment the archive is finished inside (see `inplace`), with the filesystem's block
    /// size: the last fragment, when it is at least [`CHUNK`] and larger than everything that
    /// would be copied around it, and the folder's filesystem can insert ranges.
    fn adoptable(&mut self, meta_len: u64) -> Option<(usize, u64)> {
        let i = self
            .members
            .iter()
            .rposition(|m| matches!(m, Pending::Fragment(_)))?;
        let size = self.members[i].packing_bytes();
        let around = meta_len
            + self
                .members
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, m)| m.packing_bytes())
                .sum::<u64>();
        if !self.in_place || size < CHUNK as u64 || size < around {
            return None;
        }
        let Pending::Fragment(f) = &mut self.members[i] else {
            unreachable!("found as a fragment")
        };
        let block = super::inplace::insert_block(&self.dir, f.file_mut())?;
        Some((i, block))
    }
}

/// Removes the listed paths when dropped (the archive's final files on a late failure).
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Hashes and counts everything written to the archive file.
struct HashingWriter {
    file: File,
    ctx: ring::digest::Context,
    count: u64,
}

impl HashingWriter {
    fn new(file: File) -> Self {
        HashingWriter {
            file,
            ctx: ring::digest::Context::new(&ring::digest::SHA256),
            count: 0,
        }
    }
    /// Counts and hashes bytes that are in the file already.
    fn hash_only(&mut self, buf: &[u8]) {
        self.ctx.update(buf);
        self.count += buf.len() as u64;
    }
    fn into_raw(self) -> (File, u64, ring::digest::Context) {
        (self.file, self.count, self.ctx)
    }
    fn into_parts(self) -> (File, u64, String) {
        (
            self.file,
            self.count,
            hex::encode(self.ctx.finish().as_ref()),
        )
    }
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.ctx.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_age;
#[cfg(test)]
mod tests_zstd;
