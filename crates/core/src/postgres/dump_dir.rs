//! The parallel dump (archive format 2, issue 28): `pg_dump -Fd -j N -Z0 --snapshot=…` into a
//! private temporary folder beside the archive, each table's data file packed into the archive
//! (`database/<dump id>.dat`) as soon as pg_dump has closed it, then deleted.
//!
//! The "closed" signal: in parallel mode `pg_dump --verbose` prints, in the leader, one line
//! `pg_dump: finished item <dump id> TABLE DATA <table>` per finished item, after the worker
//! closed the item's file and reported back (`mark_dump_job_done`, pg_backup_archiver.c). So the
//! temporary disk holds only the files in flight (at most one per worker, plus what finished
//! since the last line was read) — never a second copy of the database. Honest limit: one table
//! is one file, on disk in full until pg_dump closes it.
//!
//! Everything else (`blobs.toc`, `blob_<oid>.dat`, data files of items without a line) goes in
//! once pg_dump has exited, and `toc.dat` last. The temporary folder is `.offsite-tmp-…` (mode
//! 0700, removed on every exit; after a kill the sweep of the backup folder removes it).

use crate::archive::{FragmentWriter, DATABASE_DIR_PREFIX, DATABASE_TOC_MEMBER};
use crate::error::{Error, Result};
use crate::postgres::conn::ConnSpec;
use crate::postgres::process;
use crate::postgres::tools::PgTools;
use crate::progress::Reporter;
use crate::tempfiles::TEMP_PREFIX;
use std::io::Read;
use std::path::Path;
use std::sync::mpsc::{channel, RecvTimeoutError};
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
/// into `fragment`; temporary files go in `dir` (the archive's folder).
#[allow(clippy::too_many_arguments)]
pub fn run(
    tools: &PgTools,
    spec: &ConnSpec,
    password: Option<&str>,
    snapshot: Option<&str>,
    jobs: u32,
    dir: &Path,
    mut fragment: FragmentWriter,
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
    .arg("--file")
    .arg(&out)
    // As the custom dump: timestamptz as UTC whatever the server's default.
    .env("PGTZ", "UTC");
    if let Some(snapshot) = snapshot {
        cmd.arg(format!("--snapshot={snapshot}"));
    }
    let (tx, rx) = channel();
    let (child, _, _, stderr) =
        process::Guarded::spawn_with_lines(cmd, "pg_dump", cancel, Some(tx))?;
    let mut packer = Packer {
        fragment: &mut fragment,
        reporter,
        bytes: 0,
        early: 0,
    };
    let pumped: Result<()> = (|| loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                if let Some(id) = finished_table_data(&line) {
                    let file = format!("{id}.dat");
                    let path = out.join(&file);
                    if path.is_file() {
                        packer.pack(&path, &file)?;
                        packer.early += 1;
                    }
                }
            }
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
        return Err(process::tool_error("pg_dump", status, &err_text, password));
    }
    packer.pack_rest(&out)?;
    let (bytes, early) = (packer.bytes, packer.early);
    let fragment = fragment.finish()?;
    drop(tmp);
    Ok(DirDumped {
        fragment,
        bytes,
        packed_early: early,
    })
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
    bytes: u64,
    early: u64,
}

impl Packer<'_> {
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
        self.fragment
            .start(&format!("{DATABASE_DIR_PREFIX}{file}"), size)?;
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let mut buf = vec![0u8; 1 << 20];
        let mut r = (&mut f).take(size);
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(what(), e)),
            };
            ctx.update(&buf[..n]);
            self.fragment.write(&buf[..n])?;
            self.reporter.advance(n as u64);
        }
        self.fragment.end(&hex::encode(ctx.finish().as_ref()))?;
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
