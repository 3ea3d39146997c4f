//! The parallel dump (archive format 2, issue 28): `pg_dump -Fd -j N -Z0 --snapshot=…` into a
//! private temporary folder beside the archive, each table's data file packed into the archive
//! (`database/<dump id>.dat`) while pg_dump writes it, then deleted.
//!
//! While pg_dump runs, each table data file that appears is followed as it grows (see
//! [`dump_tail`](super::dump_tail)): read to its current end, hashed (member SHA-256, per-table
//! digest) and compressed into a spool of independent pieces, read again when it has grown. When
//! it is complete its tar header (the size now known), the spool verbatim and the padding go into
//! the fragment. So the big table's hashing and compression overlap pg_dump's writing instead of
//! starting after it.
//!
//! The "complete" signal: in parallel mode `pg_dump --verbose` prints, in the leader, one line
//! `pg_dump: finished item <dump id> TABLE DATA <table>` per finished item, after the worker
//! closed the item's file and reported back (`mark_dump_job_done`, pg_backup_archiver.c). A file
//! that finished before it was followed is packed whole on its line (as before tailing). So the
//! temporary disk holds only the files in flight (at most one per worker, plus what finished
//! since the last line was read) and the compressed spools of those being followed — never a
//! second copy of the database. Honest limit: one table is one file, on disk in full until pg_dump
//! closes it (its bytes are only read, not released, while it grows).
//!
//! Everything else (`blobs.toc`, `blob_<oid>.dat`, data files of items without a line) goes in
//! once pg_dump has exited, and `toc.dat` last. The temporary folder is `.offsite-tmp-…` (mode
//! 0700, removed on every exit, with the spools in it; after a kill the sweep of the backup
//! folder removes it).

use crate::archive::{FragmentWriter, DATABASE_DIR_PREFIX, DATABASE_TOC_MEMBER};
use crate::error::{Error, Result};
use crate::pgdump::{self, COPY_TERMINATOR};
use crate::postgres::conn::ConnSpec;
use crate::postgres::digest::{self, DumpDigests, TableDigest};
use crate::postgres::dump_split::{self, Chains, SplitTable};
use crate::postgres::dump_tail::{TailDone, Tails};
use crate::postgres::process;
use crate::postgres::tools::PgTools;
use crate::progress::Reporter;
use crate::tempfiles::TEMP_PREFIX;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc::{channel, RecvTimeoutError, TryRecvError};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The file name pg_dump's directory format gives a toc.
pub const TOC_FILE: &str = "toc.dat";

/// What the directory dump packed.
#[derive(Debug)]
pub struct DirDumped {
    /// The members, in archive order (data files as they finished, `toc.dat` last).
    pub fragment: crate::archive::Fragment,
    /// Bytes of every file packed (uncompressed).
    pub bytes: u64,
    /// Files packed while pg_dump still ran (the rest went in after it exited).
    pub packed_early: u64,
    /// Table data files read while pg_dump was still writing them (see [`super::dump_tail`]).
    pub tailed: u64,
    /// The per-table digests (or why they could not be made; `None`: turned off for the bench).
    pub digests: Option<Result<DumpDigests>>,
    /// Each table's data member, by (schema, table) (not for a split table: several).
    pub members: BTreeMap<(String, String), String>,
    /// The tables read in ranges, and how many.
    pub split: Vec<(String, String, u32)>,
}

/// What packing a file learnt for the digests.
#[derive(Debug, Default)]
struct FileDigests {
    /// `<dump id>.dat`: SHA-256 and lines of the COPY text without pg_dump's terminator.
    tables: BTreeMap<u32, ([u8; 32], u64)>,
    /// `blob_<oid>.dat`: SHA-256 of the object's bytes.
    blobs: Vec<(u32, [u8; 32])>,
}

/// What a file of the dump is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Table(u32),
    Blob(u32),
    Other,
}

fn kind_of(file: &str) -> FileKind {
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    if let Some(id) = file.strip_suffix(".dat").and_then(number) {
        return FileKind::Table(id);
    }
    if let Some(oid) = file
        .strip_prefix("blob_")
        .and_then(|f| f.strip_suffix(".dat"))
        .and_then(number)
    {
        return FileKind::Blob(oid);
    }
    FileKind::Other
}

/// Whether a stderr line of `pg_dump --verbose -j N` says a table's data file is complete:
/// its dump id.
pub fn finished_table_data(line: &str) -> Option<u32> {
    let rest = line.split_once("finished item ")?.1;
    let (id, rest) = rest.split_once(' ')?;
    if !rest.starts_with("TABLE DATA ") || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    id.parse().ok()
}

/// Run the directory dump with `jobs` workers in `snapshot` (`None`: pg_dump's own) and pack it
/// into `fragment`; temporary files go in `dir` (the archive's folder). `selection_args`: a
/// selective backup's ([`crate::selection::Selection::pg_dump_args`]; empty: everything).
#[allow(clippy::too_many_arguments)]
pub fn run(
    tools: &PgTools,
    spec: &ConnSpec,
    password: Option<&str>,
    snapshot: Option<&str>,
    jobs: u32,
    selection_args: &[String],
    split: &[SplitTable],
    dir: &Path,
    fragment: FragmentWriter,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<DirDumped> {
    let tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempdir_in(dir)
        .map_err(|e| {
            Error::io(
                format!("creating a temporary folder in {}", dir.display()),
                e,
            )
        })?;
    private(tmp.path())?;
    let out = tmp.path().join("database");
    let mut cmd = process::command(&tools.pg_dump(), spec, password);
    cmd.args([
        "--format=directory",
        "--compress=0",
        "--verbose",
        "--no-password",
    ])
    .arg(format!("--jobs={jobs}"))
    .args(selection_args)
    .arg("--file")
    .arg(&out)
    // As the custom dump: timestamptz as UTC whatever the server's default.
    .env("PGTZ", "UTC");
    if let Some(snapshot) = snapshot {
        cmd.arg(format!("--snapshot={snapshot}"));
    }
    for t in split {
        cmd.arg(t.exclude_arg());
    }
    // The big tables' ranges, read by workers of their own in the same snapshot.
    let ranges = tmp.path().join("ranges");
    std::fs::create_dir(&ranges)
        .map_err(|e| Error::io(format!("creating {}", ranges.display()), e))?;
    let split_cancel = cancel.child_token();
    let (part_tx, part_rx) = channel();
    let workers = match (split.is_empty(), snapshot) {
        (true, _) => Vec::new(),
        (false, Some(snapshot)) => dump_split::start(
            spec,
            password,
            snapshot,
            split,
            &ranges,
            part_tx,
            &split_cancel,
        )?,
        (false, None) => {
            return Err(Error::internal(
                "a table read in parts needs the moment the dump was taken in",
            ))
        }
    };
    let mut chains = Chains::new(split, &ranges, tmp.path(), part_rx, &split_cancel);
    let result = run_dump(
        cmd,
        &mut chains,
        password,
        split,
        dir,
        &out,
        tmp.path(),
        jobs,
        fragment,
        reporter,
        cancel,
    );
    if result.is_err() {
        split_cancel.cancel();
    }
    // No worker writes into the folder once it is removed.
    if !workers.is_empty() {
        let rt = tokio::runtime::Handle::current();
        for w in workers {
            let _ = rt.block_on(w);
        }
    }
    drop(chains);
    drop(tmp);
    result
}

/// [`run`] once the temporary folder and the ranges' workers are there.
#[allow(clippy::too_many_arguments)]
fn run_dump(
    cmd: std::process::Command,
    chains: &mut Chains,
    password: Option<&str>,
    split: &[SplitTable],
    dir: &Path,
    out: &Path,
    tmp: &Path,
    jobs: u32,
    mut fragment: FragmentWriter,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<DirDumped> {
    let (tx, rx) = channel();
    let (child, _, _, stderr) =
        process::Guarded::spawn_with_lines(cmd, "pg_dump", cancel, Some(tx))?;
    let mut packer = Packer {
        fragment: &mut fragment,
        reporter,
        cancel,
        bytes: 0,
        early: 0,
        files: FileDigests::default(),
    };
    // Declared after `tmp`: dropped (spools closed) before the folder is removed.
    // One file in flight per worker.
    // While a big table's ranges are read (one range file followed at a time), one file fewer
    // of pg_dump's: as many compression spools in flight as without ranges.
    let followed = (jobs as usize)
        .saturating_sub(usize::from(!split.is_empty()))
        .max(1);
    let mut tails = Tails::new(tmp, followed).cancelled_by(cancel);
    let pumped: Result<()> = (|| loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        loop {
            match rx.try_recv() {
                Ok(line) => packer.on_line(&line, out, &mut tails)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Ok(()),
            }
        }
        let table_id = |name: &str| match kind_of(name) {
            FileKind::Table(id) => Some(id),
            _ => None,
        };
        tails.discover(out, packer.fragment, table_id)?;
        let ranges_read = chains.pump(packer.fragment, reporter)?;
        if tails.pump(reporter)? + ranges_read > 0 {
            continue;
        }
        // Nothing grew: wait for a line (or a little while).
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(line) => packer.on_line(&line, out, &mut tails)?,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
    })();
    if pumped.is_err() {
        child.kill();
    }
    let status = child.wait()?;
    let err_text = stderr.finish();
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    pumped?;
    if !status.success() {
        // pg_dump itself writes the directory dump: its full disk is the backup folder's.
        if err_text.contains("No space left on device") {
            return Err(Error::io(
                format!("pg_dump writing into {}", dir.display()),
                std::io::Error::from(std::io::ErrorKind::StorageFull),
            ));
        }
        return Err(process::tool_error("pg_dump", status, &err_text, password));
    }
    // The TOC names each data file's table; read it before it is packed (and deleted).
    // pg_dump exited: the files still followed are complete.
    for id in tails.ids() {
        if let Some(done) = tails.finish(id, reporter)? {
            packer.splice(id, done)?;
        }
    }
    let tailed = tails.opened;
    drop(tails);
    // pg_dump is done; the ranges' workers may not be.
    while !chains.finished() {
        if chains.pump(packer.fragment, reporter)? == 0 {
            if chains.silent() {
                return Err(Error::internal(
                    "a worker reading a range of a big table ended without finishing it",
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let split_digests = if split.is_empty() {
        Vec::new()
    } else {
        add_ranges(chains.take_done(), split, out, &mut packer)?
    };
    let toc = read_toc(&out.join(TOC_FILE));
    packer.pack_rest(out)?;
    let (bytes, early, files) = (packer.bytes, packer.early, packer.files);
    let fragment = fragment.finish()?;
    let bench = std::env::var_os(digest::BENCH_SWITCH).is_some_and(|v| v == "1");
    let (digests, members) = match toc {
        Ok(toc) => {
            let (mut d, m) = digests_of(&toc, files);
            d.tables.extend(split_digests);
            (Some(Ok(d)), m)
        }
        Err(e) => (Some(Err(e)), BTreeMap::new()),
    };
    Ok(DirDumped {
        fragment,
        bytes,
        packed_early: early,
        tailed,
        digests: if bench { None } else { digests },
        members,
        split: split
            .iter()
            .map(|t| (t.schema.clone(), t.table.clone(), t.starts.len() as u32))
            .collect(),
    })
}

/// The split tables' ranges into the archive (`database/<dump id>.dat`, dump ids after
/// pg_dump's) and their entries into `toc.dat` ([`pgdump::TocRewrite`]); each table's digest.
fn add_ranges(
    done: Vec<dump_split::TableRanges>,
    split: &[SplitTable],
    out: &Path,
    packer: &mut Packer<'_>,
) -> Result<Vec<TableDigest>> {
    let path = out.join(TOC_FILE);
    let bytes =
        std::fs::read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let toc = pgdump::TocRewrite::parse(bytes)?;
    let mut next_id = toc.max_dump_id();
    let (mut added, mut extra, mut digests) = (Vec::new(), BTreeMap::new(), Vec::new());
    for (table, (parts, (sha, lines))) in split.iter().zip(done) {
        let table_id = toc
            .table_entry(&table.schema, &table.table)
            .map(|e| e.dump_id)
            .ok_or_else(|| {
                Error::internal(format!(
                    "pg_dump's table of contents has no TABLE entry for {}",
                    table.qualified
                ))
            })?;
        let mut ids = Vec::new();
        for part in parts {
            next_id += 1;
            let id = next_id;
            let name = format!("{DATABASE_DIR_PREFIX}{id}.dat");
            packer
                .fragment
                .append_precompressed(&name, part.spool, &part.sha256)?;
            packer.bytes += part.size;
            added.push(pgdump::DataEntry {
                dump_id: id,
                table_id,
                // The first range is the table's data for pg_restore; the others wait for it.
                dependencies: match ids.first() {
                    None => vec![table_id],
                    Some(&first) => vec![first, table_id],
                },
                copy_stmt: table.copy_stmt(),
            });
            ids.push(id);
        }
        extra.insert(table_id, ids);
        let columns = pgdump::parse_copy_stmt(&table.copy_stmt())?.columns;
        digests.push(TableDigest {
            schema: table.schema.clone(),
            table: table.table.clone(),
            columns,
            sha256: hex::encode(sha),
            lines,
            offset: 0,
            length: 0,
        });
    }
    let rewritten = toc.write(&added, &extra)?;
    std::fs::write(&path, rewritten)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok(digests)
}

/// The directory dump's TOC (bounded as the custom format's: see [`pgdump`]).
fn read_toc(path: &Path) -> Result<Vec<pgdump::TocEntry>> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let (_, toc) = pgdump::read_directory_toc(std::io::BufReader::new(f))?;
    Ok(toc)
}

/// Digests of a directory dump: each TABLE DATA entry's file, named by the TOC; the large
/// objects as for the custom format. Also each table's member.
fn digests_of(
    toc: &[pgdump::TocEntry],
    files: FileDigests,
) -> (DumpDigests, BTreeMap<(String, String), String>) {
    let mut out = DumpDigests {
        encoding: pgdump::toc_encoding(toc),
        ..DumpDigests::default()
    };
    let mut members = BTreeMap::new();
    for entry in toc.iter().filter(|e| e.desc == "TABLE DATA") {
        let Ok(id) = u32::try_from(entry.dump_id) else {
            continue;
        };
        let Some((sha, lines)) = files.tables.get(&id) else {
            continue;
        };
        let columns = match entry.copy_stmt.as_deref().map(pgdump::parse_copy_stmt) {
            Some(Ok(t)) => t.columns,
            _ => continue,
        };
        let key = (
            entry.namespace.clone().unwrap_or_default(),
            entry.tag.clone(),
        );
        members.insert(key.clone(), format!("{DATABASE_DIR_PREFIX}{id}.dat"));
        out.tables.push(TableDigest {
            schema: key.0,
            table: key.1,
            columns,
            sha256: hex::encode(sha),
            lines: *lines,
            offset: 0,
            length: 0,
        });
    }
    if !files.blobs.is_empty() {
        out.large_objects = Some(digest::large_objects_digest(files.blobs));
    }
    (out, members)
}

#[cfg(unix)]
fn private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(format!("protecting {}", path.display()), e))
}

#[cfg(not(unix))]
fn private(_path: &Path) -> Result<()> {
    Ok(())
}

struct Packer<'a> {
    fragment: &'a mut FragmentWriter,
    reporter: &'a Reporter,
    /// A file of hundreds of MB is not packed to its end once the backup is cancelled.
    cancel: &'a CancellationToken,
    bytes: u64,
    early: u64,
    files: FileDigests,
}

/// The bytes of a table's file that are its COPY text: all but pg_dump's terminator at the end.
fn rows_len(f: &mut std::fs::File, size: u64) -> std::io::Result<u64> {
    let t = COPY_TERMINATOR.len() as u64;
    if size < t {
        return Ok(size);
    }
    f.seek(SeekFrom::Start(size - t))?;
    let mut tail = [0u8; 8];
    let tail = &mut tail[..COPY_TERMINATOR.len()];
    f.read_exact(tail)?;
    f.seek(SeekFrom::Start(0))?;
    Ok(if tail == COPY_TERMINATOR {
        size - t
    } else {
        size
    })
}

impl Packer<'_> {
    /// A stderr line of pg_dump: a finished table data file goes in (spliced from its spool
    /// when it was followed, else packed whole).
    fn on_line(&mut self, line: &str, out: &Path, tails: &mut Tails) -> Result<()> {
        let Some(id) = finished_table_data(line) else {
            return Ok(());
        };
        if tails.has(id) {
            if let Some(done) = tails.finish(id, self.reporter)? {
                self.splice(id, done)?;
                self.early += 1;
            }
            return Ok(());
        }
        let file = format!("{id}.dat");
        let path = out.join(&file);
        if path.is_file() {
            self.pack(&path, &file)?;
            self.early += 1;
        }
        Ok(())
    }

    /// A followed table data file, read to its end, into the fragment from its spool.
    fn splice(&mut self, id: u32, done: TailDone) -> Result<()> {
        let name = format!("{DATABASE_DIR_PREFIX}{id}.dat");
        self.fragment
            .append_precompressed(&name, done.spool, &done.sha256)?;
        self.files.tables.insert(id, done.rows);
        self.bytes += done.size;
        Ok(())
    }

    /// One complete file of the dump into the archive as `database/<file>`, then deleted.
    fn pack(&mut self, path: &Path, file: &str) -> Result<()> {
        let what = || format!("reading {}", path.display());
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(what(), e))?;
        let md = f.metadata().map_err(|e| Error::io(what(), e))?;
        if !md.is_file() {
            return Err(Error::invalid(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        let size = md.len();
        let kind = kind_of(file);
        let rows = match kind {
            FileKind::Table(_) => rows_len(&mut f, size).map_err(|e| Error::io(what(), e))?,
            _ => size,
        };
        // The rows' digest (a table's COPY text, a large object's bytes) beside the member's.
        let mut rows_ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let (mut seen, mut lines) = (0u64, 0u64);
        self.fragment
            .start(&format!("{DATABASE_DIR_PREFIX}{file}"), size)?;
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let mut buf = vec![0u8; 1 << 20];
        let mut r = (&mut f).take(size);
        loop {
            if self.cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(what(), e)),
            };
            ctx.update(&buf[..n]);
            if kind != FileKind::Other {
                let upto = (rows.saturating_sub(seen)).min(n as u64) as usize;
                rows_ctx.update(&buf[..upto]);
                lines += memchr::memchr_iter(b'\n', &buf[..upto]).count() as u64;
                seen += n as u64;
            }
            self.fragment.write(&buf[..n])?;
            self.reporter.advance(n as u64);
        }
        self.fragment.end(&hex::encode(ctx.finish().as_ref()))?;
        let rows_sha: [u8; 32] = rows_ctx
            .finish()
            .as_ref()
            .try_into()
            .expect("SHA-256 is 32 bytes");
        match kind {
            FileKind::Table(id) => {
                self.files.tables.insert(id, (rows_sha, lines));
            }
            FileKind::Blob(oid) => self.files.blobs.push((oid, rows_sha)),
            FileKind::Other => {}
        }
        drop(f);
        std::fs::remove_file(path)
            .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
        self.bytes += size;
        Ok(())
    }

    /// What is left once pg_dump exited, by name, then `toc.dat`.
    fn pack_rest(&mut self, out: &Path) -> Result<()> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(out)
            .map_err(|e| Error::io(format!("reading {}", out.display()), e))?
        {
            let entry = entry.map_err(|e| Error::io(format!("reading {}", out.display()), e))?;
            let name = entry
                .file_name()
                .into_string()
                .map_err(|n| Error::invalid(format!("pg_dump wrote an unexpected file {n:?}")))?;
            if name != TOC_FILE {
                names.push(name);
            }
        }
        names.sort();
        for name in names {
            self.pack(&out.join(&name), &name)?;
        }
        let toc = out.join(TOC_FILE);
        if !toc.is_file() {
            return Err(Error::internal("pg_dump wrote no toc.dat"));
        }
        debug_assert_eq!(
            format!("{DATABASE_DIR_PREFIX}{TOC_FILE}"),
            DATABASE_TOC_MEMBER
        );
        self.pack(&toc, TOC_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_known_by_their_names() {
        assert_eq!(kind_of("3421.dat"), FileKind::Table(3421));
        assert_eq!(kind_of("blob_16400.dat"), FileKind::Blob(16400));
        assert_eq!(kind_of("blobs.toc"), FileKind::Other);
        assert_eq!(kind_of("toc.dat"), FileKind::Other);
        assert_eq!(kind_of(".dat"), FileKind::Other);
        assert_eq!(kind_of("99999999999.dat"), FileKind::Other);
        assert_eq!(kind_of("3421.dat.gz"), FileKind::Other);
    }

    #[test]
    fn a_table_file_is_hashed_without_pg_dumps_terminator() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("1.dat");
        std::fs::write(&p, b"1\ta\n2\tb\n\\.\n\n\n").unwrap();
        let mut f = std::fs::File::open(&p).unwrap();
        assert_eq!(rows_len(&mut f, 13).unwrap(), 8);
        std::fs::write(&p, b"1\ta\n").unwrap();
        let mut f = std::fs::File::open(&p).unwrap();
        assert_eq!(rows_len(&mut f, 4).unwrap(), 4);
    }

    #[test]
    fn finished_lines_name_table_data_only() {
        assert_eq!(
            finished_table_data("pg_dump: finished item 3421 TABLE DATA orders"),
            Some(3421)
        );
        assert_eq!(
            finished_table_data("pg_dump: finished item 12 TABLE DATA a b c"),
            Some(12)
        );
        assert_eq!(
            finished_table_data("pg_dump: finished item 3500 BLOBS BLOBS"),
            None
        );
        assert_eq!(
            finished_table_data("pg_dump: dumping contents of table \"public.orders\""),
            None
        );
        assert_eq!(
            finished_table_data("pg_dump: finished item x TABLE DATA t"),
            None
        );
        assert_eq!(
            finished_table_data("pg_dump: finished item 99999999999 TABLE DATA t"),
            None
        );
        assert_eq!(
            finished_table_data("pg_dump: finished item ../1 TABLE DATA t"),
            None
        );
    }
}

#[cfg(all(test, unix))] // a fake pg_dump as a shell script
#[path = "dump_dir_tests.rs"]
mod growth_tests;
