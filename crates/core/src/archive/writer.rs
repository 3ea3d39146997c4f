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
use super::manifest::ManifestOut;
use super::pargz::ParGz;
use super::tarfmt::{file_header, padding, ZEROS};
use super::{
    check_member_name, sidecar_path, sync_dir, Manifest, MemberEntry, CHUNK, DATABASE_MEMBER,
    FORMAT_VERSION, GLOBALS_MEMBER, MANIFEST_NAME, TMP_PREFIX,
};
use crate::error::{Error, ErrorKind, Result};
use crate::progress::{Phase, Reporter};
use serde::ser::{Serialize, SerializeSeq, Serializer};
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tempfile::TempPath;
use tokio_util::sync::CancellationToken;

/// Builds one archive in a destination folder. Nothing appears under the final name until
/// [`finish`](Self::finish) succeeds; temporary files (`.offsite-tmp-*`) are removed when the
/// writer is dropped or fails.
pub struct ArchiveWriter {
    dir: PathBuf,
    file_name: String,
    level: u32,
    members: Vec<Pending>,
    /// Whether a large fragment may become the archive (see `inplace`); off only in tests of
    /// the copy path.
    in_place: bool,
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
        if file_name.is_empty()
            || file_name.contains(['/', '\\', '\0'])
            || file_name.starts_with('.')
            || file_name.ends_with(".sha256")
        {
            return Err(Error::invalid(format!(
                "invalid archive file name {file_name:?}"
            )));
        }
        if level > 9 {
            return Err(Error::invalid(format!(
                "compression level must be 0-9, not {level}"
            )));
        }
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
            level,
            members: Vec::new(),
            in_place: true,
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
            gz: Some(ParGz::new(file, self.level)),
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
            self.level,
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
            ("globals", GLOBALS_MEMBER),
            ("storage", crate::storage::STORAGE_DOC),
        ];
        // The first member of each name, as `manifest.member` would find it.
        let mut found: [Option<String>; 4] = Default::default();
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
        manifest.format_version = FORMAT_VERSION;
        manifest.members.clear();
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
        let mut gz = ParGz::new(HashingWriter::new(tmp_file), self.level);
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
                let head = gz.finish().map_err(io_err)?;
                let Pending::Fragment(frag) = self.members.remove(i) else {
                    unreachable!("adoptable() picks a fragment")
                };
                let (hashed, path) =
                    splice_head(head, tmp_path, frag, block, reporter, cancel, &io_err)?;
                let mut gz = ParGz::new(hashed, self.level);
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
        let (file, size, sha256) = out.into_parts();
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

/// `metadata.json` as written (pretty JSON), through a buffer: `manifest` with the entries of
/// `pending` as its `members` (the same JSON as serializing the manifest with them filled in).
fn write_manifest(out: &mut dyn Write, manifest: &Manifest, pending: &[Pending]) -> Result<()> {
    let members = MembersOut {
        pending,
        failed: RefCell::new(None),
    };
    let mut buf = io::BufWriter::with_capacity(64 << 10, out);
    let written = serde_json::to_writer_pretty(&mut buf, &ManifestOut::new(manifest, &members));
    if let Some(e) = members.failed.take() {
        return Err(e);
    }
    written.map_err(|e| match e.io_error_kind() {
        Some(_) => Error::io("writing the manifest", io::Error::from(e)),
        None => Error::internal(format!("serializing the manifest: {e}")),
    })?;
    buf.flush()
        .map_err(|e| Error::io("writing the manifest", e))
}

/// The entries of the pending members in archive order, as a JSON array, read as they are
/// serialized (fragments' from their index files).
struct MembersOut<'a> {
    pending: &'a [Pending],
    /// The error reading an index (serde's error only carries a message).
    failed: RefCell<Option<Error>>,
}

impl MembersOut<'_> {
    fn fail<E: serde::ser::Error>(&self, e: Error) -> E {
        let msg = e.to_string();
        *self.failed.borrow_mut() = Some(e);
        E::custom(msg)
    }
}

impl Serialize for MembersOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for p in self.pending {
            match p {
                Pending::Fragment(f) => {
                    for e in f.entries().map_err(|e| self.fail(e))? {
                        seq.serialize_element(&e.map_err(|e| self.fail(e))?)?;
                    }
                }
                other => seq.serialize_element(&other.entry().expect("not a fragment"))?,
            }
        }
        seq.end()
    }
}

/// Counts bytes, keeps none.
struct CountingWriter(u64);

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes into the archive's compressor, counting.
struct GzSink<'a> {
    gz: &'a mut ParGz<HashingWriter>,
    written: u64,
}

impl Write for GzSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.gz.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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

/// One pending member into the archive's compressor: tar header, bytes, padding (a fragment's
/// or a spool's compressed bytes verbatim).
fn write_member(
    gz: &mut ParGz<HashingWriter>,
    m: &mut Pending,
    mtime: u64,
    reporter: &Reporter,
    cancel: &CancellationToken,
    io_err: &dyn Fn(io::Error) -> Error,
) -> Result<()> {
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    if let Pending::Fragment(f) = m {
        // Whole tar entries, compressed already: copied verbatim.
        let copied = copy_spool(gz, f.file_mut(), reporter, cancel, io_err)?;
        if copied != f.compressed_size() {
            return Err(Error::internal(format!(
                "a fragment spool is {copied} bytes, expected {}",
                f.compressed_size()
            )));
        }
        return Ok(());
    }
    let entry = m.entry().expect("not a fragment");
    gz.write_all(&file_header(&entry.name, entry.size, mtime))
        .map_err(io_err)?;
    match m {
        Pending::Fragment(_) => unreachable!("handled above"),
        Pending::Bytes { data, .. } => {
            gz.write_all(data).map_err(io_err)?;
            reporter.advance(data.len() as u64);
        }
        Pending::File {
            path, size, sha256, ..
        } => {
            append_file(
                gz,
                path,
                *size,
                sha256,
                &entry.name,
                reporter,
                cancel,
                io_err,
            )?;
        }
        Pending::Spooled(s) => {
            // The spool is complete gzip member(s): end ours, copy it verbatim.
            let copied = copy_spool(gz, &mut s.file, reporter, cancel, io_err)?;
            if copied != s.compressed_len {
                return Err(Error::internal(format!(
                    "spool of {} is {copied} bytes, expected {}",
                    s.name, s.compressed_len
                )));
            }
        }
    }
    gz.write_all(&ZEROS[..padding(entry.size)]).map_err(io_err)
}

/// Puts the finished head (every member before `frag`, hashed as it was written into
/// `head_path`) in front of the fragment's compressed bytes inside the fragment's own spool
/// file, padded to whole `block`s (see `inplace`). Returns the spool as the archive's writer,
/// positioned at its end with the hash of everything so far, and its temporary name (the
/// archive's, until it is renamed).
///
/// The fragment's bytes are hashed first, while they are still in the page cache: inserting a
/// range drops the file's cached pages, and reading 1.45 GB back from disk took 3.9 s where the
/// cache serves it in about one. Inserting also writes back what is still dirty; the fragment
/// was written back as it was written (`writeback`), so little is.
fn splice_head(
    mut head: HashingWriter,
    head_path: TempPath,
    frag: Fragment,
    block: u64,
    reporter: &Reporter,
    cancel: &CancellationToken,
    io_err: &dyn Fn(io::Error) -> Error,
) -> Result<(HashingWriter, TempPath)> {
    use super::inplace::{insert_range, padding_for, padding_member};
    use super::pipeline::file_thread;
    let (mut file, path, compressed_len) = frag.into_spool();
    let pad = padding_member(padding_for(head.count, block));
    head.write_all(&pad).map_err(io_err)?;
    let head_len = head.count;

    // The fragment's bytes, hashed after the head's. The read pipeline's file thread copies them
    // out of the page cache while this one hashes: one after the other, the copy and the hash
    // were about a second of a 1.45 GB pull's packing, with the other core idle.
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("reading the archive", e))?;
    let got = std::thread::scope(|s| -> Result<u64> {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        let (free_tx, free_rx) = std::sync::mpsc::channel();
        let spool = io::Read::take(&mut file, compressed_len);
        s.spawn(move || file_thread(spool, tx, free_rx, false, Some(reporter), cancel));
        let mut got = 0u64;
        // Dropping `rx` on an early return stops the file thread at its next send.
        for msg in rx {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            let (buf, n) = msg.map_err(|e| Error::io("reading the archive", e))?;
            head.hash_only(&buf[..n]);
            got += n as u64;
            let _ = free_tx.send(buf);
        }
        Ok(got)
    })?;
    if got != compressed_len {
        return Err(Error::internal("the fragment's spool ended early"));
    }
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }

    // The head into a hole in front of them.
    insert_range(&file, head_len).map_err(io_err)?;
    head.file
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("reading the archive's head", e))?;
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let at = io::copy(&mut head.file, &mut file).map_err(io_err)?;
    if at != head_len {
        return Err(Error::internal(format!(
            "the archive's head is {at} bytes, expected {head_len}"
        )));
    }
    let (_, count, ctx) = head.into_raw();
    drop(head_path);
    file.seek(SeekFrom::End(0))
        .map_err(|e| Error::io("writing the archive", e))?;
    Ok((HashingWriter { file, ctx, count }, path))
}

#[allow(clippy::too_many_arguments)]
fn append_file(
    gz: &mut ParGz<HashingWriter>,
    path: &Path,
    size: u64,
    sha256: &str,
    name: &str,
    reporter: &Reporter,
    cancel: &CancellationToken,
    io_err: &dyn Fn(io::Error) -> Error,
) -> Result<()> {
    let changed = || {
        Error::integrity(format!(
            "{} ({name}) changed while it was being archived",
            path.display()
        ))
        .with_hint("run the backup again")
    };
    let mut file =
        File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; CHUNK];
    let mut left = size;
    while left > 0 {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = super::pipeline::read_full(&mut file, &mut buf[..want])
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            return Err(changed()); // shrank
        }
        ctx.update(&buf[..n]);
        gz.write_all(&buf[..n]).map_err(io_err)?;
        reporter.advance(n as u64);
        left -= n as u64;
    }
    if hex::encode(ctx.finish().as_ref()) != sha256 {
        return Err(changed());
    }
    Ok(())
}

fn copy_spool(
    gz: &mut ParGz<HashingWriter>,
    spool: &mut File,
    reporter: &Reporter,
    cancel: &CancellationToken,
    io_err: &dyn Fn(io::Error) -> Error,
) -> Result<u64> {
    spool
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("reading a spool file", e))?;
    let mut copied = 0u64;
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let mut buf = gz.pool().take();
        buf.resize(CHUNK, 0);
        let n = super::pipeline::read_full(spool, &mut buf)
            .map_err(|e| Error::io("reading a spool file", e))?;
        if n == 0 {
            gz.pool().give(buf);
            return Ok(copied);
        }
        gz.write_raw(buf, n).map_err(io_err)?;
        copied += n as u64;
        reporter.advance(n as u64);
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

/// Receives one member of unknown size (pg_dump's output): bytes are SHA-256-hashed and counted
/// on the calling thread and compressed on worker threads into a spool file. Dropping it without
/// [`finish`](Self::finish) removes the spool.
pub struct SpoolWriter {
    name: String,
    // Declared before `path`: the file is closed before the spool is deleted.
    gz: Option<ParGz<File>>,
    path: Option<TempPath>,
    ctx: ring::digest::Context,
    count: u64,
}

impl SpoolWriter {
    /// Bytes received so far (uncompressed).
    pub fn bytes_written(&self) -> u64 {
        self.count
    }

    pub fn member_name(&self) -> &str {
        &self.name
    }

    /// Completes the spool. Errors keep their cause (a full disk is [`ErrorKind::DiskFull`]).
    pub fn finish(mut self) -> Result<SpooledMember> {
        let gz = self
            .gz
            .take()
            .ok_or_else(|| Error::internal("spool already finished"))?;
        let what = || format!("writing the spool of {}", self.name);
        let mut file = gz.finish().map_err(|e| Error::io(what(), e))?;
        let compressed_len = file.stream_position().map_err(|e| Error::io(what(), e))?;
        let path = self
            .path
            .take()
            .ok_or_else(|| Error::internal("spool already finished"))?;
        Ok(SpooledMember {
            name: std::mem::take(&mut self.name),
            size: self.count,
            sha256: hex::encode(self.ctx.clone().finish().as_ref()),
            compressed_len,
            file,
            path,
        })
    }
}

impl Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let gz = self
            .gz
            .as_mut()
            .ok_or_else(|| io::Error::other("spool already finished"))?;
        gz.write_all(buf)?;
        self.ctx.update(buf);
        self.count += buf.len() as u64;
        Ok(buf.len())
    }

    /// Data is flushed by [`finish`](Self::finish); flushing earlier would only cut blocks short.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for SpoolWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpoolWriter")
            .field("name", &self.name)
            .field("bytes", &self.count)
            .finish()
    }
}

/// A completed spool, ready for [`ArchiveWriter::add_spooled`]. Dropping it removes the spool.
pub struct SpooledMember {
    name: String,
    size: u64,
    sha256: String,
    compressed_len: u64,
    file: File,
    #[allow(dead_code)] // held so the spool is deleted on drop (after `file` is closed)
    path: TempPath,
}

impl SpooledMember {
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Uncompressed size.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Lower-case hex SHA-256 of the uncompressed bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
    /// Size of the compressed spool.
    pub fn compressed_size(&self) -> u64 {
        self.compressed_len
    }
}

impl fmt::Debug for SpooledMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpooledMember")
            .field("name", &self.name)
            .field("size", &self.size)
            .field("sha256", &self.sha256)
            .field("compressed_size", &self.compressed_len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;
    use crate::progress::{Phase, ProgressUpdate, Reporter};
    use std::io::Write;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    #[test]
    fn writers_can_move_between_threads() {
        fn send<T: Send>() {}
        send::<ArchiveWriter>();
        send::<SpoolWriter>();
        send::<SpooledMember>();
        send::<Written>();
    }

    #[test]
    fn round_trip_spool_bytes_and_file() {
        let s = sample(3 * 1024 * 1024 + 12_345, 6);
        let w = &s.written;
        assert_eq!(
            names_in(s.dir.path()),
            vec![ARCHIVE.to_string(), format!("{ARCHIVE}.sha256")]
        );

        // Size, hash and sidecar describe the file on disk.
        assert_eq!(w.size, std::fs::metadata(s.path()).unwrap().len());
        assert_eq!(w.sha256, sha256_file(s.path()).unwrap());
        let sidecar = std::fs::read_to_string(sidecar_path(s.path())).unwrap();
        assert_eq!(sidecar, format!("{}  {ARCHIVE}\n", w.sha256));
        assert_eq!(
            read_sidecar(s.path()).unwrap().as_deref(),
            Some(w.sha256.as_str())
        );

        // The manifest lists every member in archive order, and round-trips.
        let listed: Vec<(&str, u64, &str)> = w
            .manifest
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.size, m.sha256.as_str()))
            .collect();
        let want: Vec<(&str, u64, String)> = s
            .members()
            .iter()
            .map(|(n, d)| (*n, d.len() as u64, sha(d)))
            .collect();
        assert_eq!(
            listed,
            want.iter()
                .map(|(n, l, h)| (*n, *l, h.as_str()))
                .collect::<Vec<_>>()
        );
        assert_eq!(w.manifest.components.get("database"), Some(&sha(&s.dump)));
        assert_eq!(w.manifest.components.get("globals"), Some(&sha(&s.globals)));
        assert_eq!(read_manifest(s.path()).unwrap(), w.manifest);

        let cancel = CancellationToken::new();
        let report = verify(s.path(), &quiet(), &cancel).unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.sidecar, SidecarStatus::Match);
        assert_eq!(report.file_sha256, w.sha256);
        assert_eq!(report.first_bad, None);
        assert_eq!(report.members.len(), 3);
        assert!(report
            .members
            .iter()
            .all(|m| m.ok && m.actual_sha256.as_deref() == Some(m.expected_sha256.as_str())));
        let content: u64 = s.members().iter().map(|(_, d)| d.len() as u64).sum();
        assert!(
            report.bytes_verified > content,
            "{} <= {content}",
            report.bytes_verified
        );

        for (name, bytes) in s.members() {
            let mut out = Vec::new();
            let n = copy_member(s.path(), name, &mut out, &quiet(), &cancel).unwrap();
            assert_eq!(n, bytes.len() as u64);
            assert!(out == bytes, "{name} differs");
        }

        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("x");
        let files = extract_all(s.path(), &dest, &cancel).unwrap();
        assert_eq!(files.len(), 4);
        assert_eq!(files[0], dest.join(MANIFEST_NAME));
        for (name, bytes) in s.members() {
            assert!(
                std::fs::read(dest.join(name)).unwrap() == bytes,
                "{name} differs"
            );
        }
    }

    #[test]
    fn gnu_tar_gzip_and_sha256sum_read_the_archive() {
        let s = sample(2 * 1024 * 1024 + 777, 6);
        let dir = s.dir.path();
        tool(dir, "gzip", &["-t", ARCHIVE]);
        tool(
            dir,
            "sha256sum",
            &["--check", "--strict", &format!("{ARCHIVE}.sha256")],
        );

        let listing = tool(dir, "tar", &["-tzvf", ARCHIVE]);
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines.len(), 4, "{listing}");
        assert!(lines[0].ends_with(" metadata.json"), "{listing}");
        for (line, (name, bytes)) in lines[1..].iter().zip(s.members()) {
            assert!(line.starts_with("-rw-r--r--"), "{line}");
            assert!(line.contains(&format!(" {} ", bytes.len())), "{line}");
            assert!(line.ends_with(&format!(" {name}")), "{line}");
            assert!(
                line.contains("2026-11-21"),
                "mtime from the manifest: {line}"
            );
        }

        let out = tempfile::tempdir().unwrap();
        tool(out.path(), "tar", &["-xzf", s.path().to_str().unwrap()]);
        for (name, bytes) in s.members() {
            assert!(
                std::fs::read(out.path().join(name)).unwrap() == bytes,
                "{name} differs after GNU tar"
            );
        }
        let meta: Manifest =
            serde_json::from_slice(&std::fs::read(out.path().join(MANIFEST_NAME)).unwrap())
                .unwrap();
        assert_eq!(meta, s.written.manifest);

        // Level 0 (stored) archives are just as readable.
        let s0 = sample(100_000, 0);
        tool(s0.dir.path(), "gzip", &["-t", ARCHIVE]);
        tool(s0.dir.path(), "tar", &["-tzf", ARCHIVE]);
    }

    #[test]
    fn empty_members() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
        let spool = w.spool(DATABASE_MEMBER).unwrap();
        w.add_spooled(spool.finish().unwrap());
        w.add_bytes("empty.txt", Vec::new());
        let written = w
            .finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap();
        let report = verify(&written.path, &quiet(), &CancellationToken::new()).unwrap();
        assert!(report.ok, "{report:#?}");
        let mut out = Vec::new();
        assert_eq!(
            copy_member(
                &written.path,
                DATABASE_MEMBER,
                &mut out,
                &quiet(),
                &CancellationToken::new()
            )
            .unwrap(),
            0
        );
        tool(dir.path(), "tar", &["-tzf", ARCHIVE]);
    }

    type CancelAt = Box<dyn Fn(&ProgressUpdate) -> bool + Send + Sync>;

    /// An archive of a small member, a fragment of `entries` objects of ≈ 48 KiB (mostly
    /// incompressible) and a member after it; `copy` takes the copy path.
    fn with_fragment(dir: &std::path::Path, entries: usize, copy: bool) -> Written {
        let mut w = ArchiveWriter::create(dir, ARCHIVE, 3).unwrap();
        if copy {
            w.copy_fragments();
        }
        w.add_bytes(GLOBALS_MEMBER, b"CREATE ROLE app;\n".to_vec());
        let mut f = w.fragment("2026-11-23T10:00:00Z").unwrap();
        for i in 0..entries {
            let body = fragment_body(i);
            let name = format!("storage/b/dir {}/obj-{i}.bin", i % 7);
            f.append_bytes(&name, &body, &sha(&body)).unwrap();
        }
        w.add_fragment(f.finish().unwrap());
        w.add_bytes("config/after.json", b"{\"after\": true}".to_vec());
        w.finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap()
    }

    /// The bytes of object `i` of [`with_fragment`].
    fn fragment_body(i: usize) -> Vec<u8> {
        data(40_000 + (i * 977) % 17_000, i as u64 + 1)
    }

    /// Offsets of Offsite's padding members (an empty gzip member with an `OP` extra field).
    fn padding_members(bytes: &[u8]) -> Vec<usize> {
        let mut at = vec![0];
        at.extend(gzip_member_ends(bytes));
        at.pop();
        at.into_iter()
            .filter(|&o| bytes[o + 3] == 0x04 && &bytes[o + 12..o + 14] == b"OP")
            .collect()
    }

    #[test]
    fn a_large_fragment_becomes_the_archive_and_reads_as_the_copy_would() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let in_place = with_fragment(a.path(), 120, false);
        let copied = with_fragment(b.path(), 120, true);
        for (what, w, dir) in [("in place", &in_place, &a), ("copied", &copied, &b)] {
            // Nothing else is left: no spool, no index, no head file.
            assert_eq!(
                names_in(dir.path()),
                vec![ARCHIVE.to_string(), format!("{ARCHIVE}.sha256")],
                "{what}"
            );
            assert_eq!(w.size, std::fs::metadata(&w.path).unwrap().len(), "{what}");
            // The sidecar is what sha256sum says of the file.
            let sums = tool(dir.path(), "sha256sum", &[ARCHIVE]);
            assert_eq!(sums, format!("{}  {ARCHIVE}\n", w.sha256), "{what}");
            tool(
                dir.path(),
                "sha256sum",
                &["-c", &format!("{ARCHIVE}.sha256")],
            );
            tool(dir.path(), "gzip", &["-t", ARCHIVE]);
            let report = verify(&w.path, &quiet(), &CancellationToken::new()).unwrap();
            assert!(report.ok, "{what}: {report:#?}");
            assert_eq!(report.members.len(), 122, "{what}");
        }
        // The in-place archive holds one padding member, where its head ends on a block
        // boundary; the copied one none.
        let bytes = std::fs::read(&in_place.path).unwrap();
        let pads = padding_members(&bytes);
        assert_eq!(pads.len(), 1, "in place: {pads:?}");
        let pad_end = gzip_member_ends(&bytes)
            .into_iter()
            .find(|&e| e > pads[0])
            .unwrap();
        assert_eq!(pad_end % 4096, 0, "the head ends at {pad_end}");
        assert_eq!(
            padding_members(&std::fs::read(&copied.path).unwrap()),
            Vec::<usize>::new()
        );
        assert!(in_place.size > copied.size && in_place.size < copied.size + 4096 + 26);
        // Both are the same tar stream, byte for byte: GNU tar lists and extracts the same.
        let tar_of = |p: &std::path::Path| {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(std::fs::File::open(p).unwrap())
                .read_to_end(&mut out)
                .unwrap();
            out
        };
        assert!(tar_of(&in_place.path) == tar_of(&copied.path));
        let listing = tool(a.path(), "tar", &["-tzf", ARCHIVE]);
        let names: Vec<&str> = listing.lines().collect();
        assert_eq!(names.len(), 123);
        assert_eq!(names[0], MANIFEST_NAME);
        assert_eq!(names[1], GLOBALS_MEMBER);
        assert_eq!(names[122], "config/after.json");
        let out = tempfile::tempdir().unwrap();
        tool(
            out.path(),
            "tar",
            &["-xzf", in_place.path.to_str().unwrap()],
        );
        let got = std::fs::read(out.path().join("storage/b/dir 5/obj-5.bin")).unwrap();
        assert!(got == fragment_body(5));
        assert_eq!(read_manifest(&in_place.path).unwrap().members.len(), 122);
    }

    #[test]
    fn a_small_fragment_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        let w = with_fragment(dir.path(), 3, false);
        assert_eq!(
            padding_members(&std::fs::read(&w.path).unwrap()),
            Vec::<usize>::new()
        );
        assert!(
            verify(&w.path, &quiet(), &CancellationToken::new())
                .unwrap()
                .ok
        );
    }

    /// Writes an archive with an 8 MiB spool (`fragment`: an 8 MiB fragment, finished in
    /// place); `cancel_at` decides from progress when to cancel.
    fn finish_with(dir: &std::path::Path, cancel_at: CancelAt) -> crate::Error {
        finish_with_fragment(dir, cancel_at, false)
    }

    fn finish_with_fragment(
        dir: &std::path::Path,
        cancel_at: CancelAt,
        fragment: bool,
    ) -> crate::Error {
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let sink = move |u: &ProgressUpdate| {
            if cancel_at(u) {
                token.cancel();
            }
        };
        let reporter = Reporter::with_interval(Arc::new(sink), "t", Duration::ZERO);
        let mut w = ArchiveWriter::create(dir, ARCHIVE, 1).unwrap();
        if fragment {
            let mut f = w.fragment("2026-11-23T10:00:00Z").unwrap();
            for i in 0..64 {
                let body = data(128 * 1024, i + 1);
                f.append_bytes(&format!("storage/b/{i}"), &body, &sha(&body))
                    .unwrap();
            }
            w.add_fragment(f.finish().unwrap());
        } else {
            let mut spool = w.spool(DATABASE_MEMBER).unwrap();
            spool.write_all(&data(8 << 20, 5)).unwrap();
            w.add_spooled(spool.finish().unwrap());
        }
        w.add_bytes(GLOBALS_MEMBER, b"x".to_vec());
        w.finish(manifest(), &reporter, &cancel).unwrap_err()
    }

    #[test]
    fn cancel_mid_finish_leaves_nothing() {
        let cases: [(&str, CancelAt); 3] = [
            ("at once", Box::new(|_| true)),
            (
                "while packing",
                Box::new(|u| u.phase == Phase::Packing && u.bytes_done > (2 << 20)),
            ),
            ("while syncing", Box::new(|u| u.phase == Phase::Syncing)),
        ];
        for (when, cancel_at) in cases {
            let dir = tempfile::tempdir().unwrap();
            let e = finish_with(dir.path(), cancel_at);
            assert_eq!(e.kind(), ErrorKind::Cancelled, "{when}: {e}");
            assert_eq!(names_in(dir.path()), Vec::<String>::new(), "{when}");
        }
    }

    #[test]
    fn cancel_while_a_fragment_is_finished_in_place_leaves_nothing() {
        let cases: [(&str, CancelAt); 3] = [
            ("at once", Box::new(|_| true)),
            (
                // The head (a few KiB) is in front of the fragment by then: its bytes are
                // being hashed.
                "while hashing the fragment",
                Box::new(|u| u.phase == Phase::Packing && u.bytes_done > (2 << 20)),
            ),
            ("while syncing", Box::new(|u| u.phase == Phase::Syncing)),
        ];
        for (when, cancel_at) in cases {
            let dir = tempfile::tempdir().unwrap();
            let e = finish_with_fragment(dir.path(), cancel_at, true);
            assert_eq!(e.kind(), ErrorKind::Cancelled, "{when}: {e}");
            assert_eq!(names_in(dir.path()), Vec::<String>::new(), "{when}");
        }
        // A late failure (the sidecar's name is taken) removes the archive made in place.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(format!("{ARCHIVE}.sha256"))).unwrap();
        let e = finish_with_fragment(dir.path(), Box::new(|_| false), true);
        assert_ne!(e.kind(), ErrorKind::Cancelled, "{e}");
        assert_eq!(names_in(dir.path()), vec![format!("{ARCHIVE}.sha256")]);
    }

    #[test]
    fn late_failure_removes_the_archive() {
        // The sidecar cannot be renamed over a folder: the archive was already in place.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(format!("{ARCHIVE}.sha256"))).unwrap();
        let e = finish_with(dir.path(), Box::new(|_| false));
        assert_ne!(e.kind(), ErrorKind::Cancelled, "{e}");
        assert_eq!(names_in(dir.path()), vec![format!("{ARCHIVE}.sha256")]);
        assert!(dir.path().join(format!("{ARCHIVE}.sha256")).is_dir());
    }

    #[test]
    fn dropped_writers_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = tempfile::tempdir().unwrap();
        let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
        let mut done = w.spool("a.dump").unwrap();
        done.write_all(&data(3 << 20, 3)).unwrap();
        w.add_spooled(done.finish().unwrap());
        let mut half = w.spool(DATABASE_MEMBER).unwrap();
        half.write_all(&data(3 << 20, 4)).unwrap();
        w.add_file("f", &put(inputs.path(), "f", b"abc")).unwrap();
        assert!(names_in(dir.path())
            .iter()
            .all(|n| n.starts_with(TMP_PREFIX)));
        assert_eq!(names_in(dir.path()).len(), 2, "two spools");
        drop(half);
        drop(w);
        assert_eq!(names_in(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn existing_archive_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        put(dir.path(), ARCHIVE, b"precious");
        let e = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);

        // Appears between create and finish.
        let other = format!("other_{ARCHIVE}");
        let mut w = ArchiveWriter::create(dir.path(), &other, 6).unwrap();
        w.add_bytes("a", b"a".to_vec());
        put(dir.path(), &other, b"precious too");
        let e = w
            .finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(
            std::fs::read(dir.path().join(&other)).unwrap(),
            b"precious too"
        );
        assert_eq!(names_in(dir.path()), vec![other, ARCHIVE.to_string()]);

        let missing = dir.path().join("nope");
        assert_eq!(
            ArchiveWriter::create(&missing, ARCHIVE, 6)
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            ArchiveWriter::create(dir.path(), "a/b.tar.gz", 6)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            ArchiveWriter::create(dir.path(), "b.tar.gz", 10)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn a_file_changed_after_add_file_fails_finish() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = tempfile::tempdir().unwrap();
        let f = put(inputs.path(), "obj", &data(100_000, 9));
        let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
        w.add_file("storage/b/obj", &f).unwrap();
        let mut changed = data(100_000, 9);
        changed[50_000] ^= 1;
        std::fs::write(&f, &changed).unwrap();
        let e = w
            .finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        assert!(e.message().contains("storage/b/obj"), "{e}");
        assert_eq!(names_in(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn invalid_member_names_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = tempfile::tempdir().unwrap();
        let f = put(inputs.path(), "f", b"x");
        let w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
        assert_eq!(w.spool("../x").unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(
            w.spool(MANIFEST_NAME).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let mut w = w;
        assert_eq!(
            w.add_file("/etc/x", &f).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        for bad in [
            vec!["a/../b"],
            vec!["ok", "ok"],
            vec![MANIFEST_NAME],
            vec!["a\\b"],
        ] {
            let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
            for name in &bad {
                w.add_bytes(name, b"x".to_vec());
            }
            let e = w
                .finish(manifest(), &quiet(), &CancellationToken::new())
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        assert_eq!(names_in(dir.path()), Vec::<String>::new());
    }
}
