//! Physical point-in-time capture (issue 46, docs/pitr.md "Physical capture"): where the role
//! may stream WAL (the REPLICATION attribute and a physical replication connection the server's
//! `pg_hba.conf` allows), PostgreSQL's own `pg_receivewal` reads a physical slot into a private
//! folder, each WAL file is sealed as a change segment (its bytes in 1 MiB records of the
//! segment format: checksummed, encrypted when the project encrypts), and `pg_basebackup` takes
//! the bases (tar format, the WAL they need inside), sealed the same way.
//!
//! The tools are those of the server's own major version (the WAL's format is the version's):
//! found as `pg_dump` is found ([`crate::postgres::tools`]), then required to match.
//!
//! The domain floor: given connections and folders, never the catalog.

pub mod wal;

use super::segment::checked::Checked;
use super::segment::{SegmentInfo, SegmentReader, SegmentWriter, ENCRYPTED_EXTENSION, EXTENSION};
use super::{lsn_text, parse_lsn};
use crate::crypto::{Encryption, UserKey};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::ConnSpec;
use crate::postgres::process;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Bytes per record of a sealed WAL file or base.
const CHUNK: usize = 1 << 20;
/// A pass's `pg_receivewal` is stopped after this long (it has what it received by then).
pub const RECEIVE_LIMIT: Duration = Duration::from_secs(50);

/// The client tools of one server major version: pg_receivewal, pg_basebackup, pg_waldump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    pub dir: PathBuf,
    pub major: u32,
}

const EXE: &str = crate::postgres::tool_places::Os::CURRENT.exe_suffix();

impl Tools {
    /// The tools of exactly `server_major` (the WAL's format is the version's own).
    pub fn find(server_major: u32, configured: Option<&Path>) -> Result<Tools> {
        let dirs = crate::postgres::tools::candidate_dirs(configured);
        let found = crate::postgres::tools::probe_dirs(
            dirs,
            "pg_receivewal",
            &["pg_basebackup", "pg_waldump"],
        );
        found
            .into_iter()
            .find(|(_, _, major, _)| *major == server_major)
            .map(|(dir, _, major, _)| Tools { dir, major })
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::ToolMissing,
                    format!(
                        "no pg_receivewal, pg_basebackup and pg_waldump of PostgreSQL \
                         {server_major} found (physical capture needs the server's own version)"
                    ),
                )
                .with_hint(format!(
                    "{}, or set the path with --pg-bin / OFFSITE_PG_BIN",
                    crate::postgres::tool_places::Os::CURRENT.client_hint(server_major)
                ))
            })
    }
    pub fn bin(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{EXE}"))
    }
}

/// The two captures (docs/pitr.md): `logical` (a publication and a pgoutput slot) and
/// `physical` (pg_receivewal on a physical slot, pg_basebackup bases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum CaptureMode {
    Logical,
    Physical,
}

impl CaptureMode {
    /// `logical` or `physical`; anything else is refused, saying which are known.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "logical" => Ok(CaptureMode::Logical),
            "physical" => Ok(CaptureMode::Physical),
            other => Err(Error::invalid(format!(
                "unknown capture mode {other:?}: logical or physical"
            ))),
        }
    }
    /// The name the catalog's chains and the configuration use.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::Logical => "logical",
            CaptureMode::Physical => "physical",
        }
    }
}

impl std::fmt::Display for CaptureMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which capture the server and the role allow, and why not the other.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Modes {
    /// `None`: logical capture is possible; else why not.
    pub logical: Option<String>,
    /// `None`: physical capture is possible; else why not.
    pub physical: Option<String>,
    /// The capture to offer first ([`Modes::recommend`]); `None` when neither is possible.
    pub recommended: Option<CaptureMode>,
}

impl Modes {
    /// The capture to offer first: the logical one when possible (it needs no replication
    /// connection, its base is an ordinary backup of the project's database, and a restore
    /// needs no server programs of the source's version), else the physical one when possible.
    pub fn recommend(&mut self) {
        self.recommended = if self.logical.is_none() {
            Some(CaptureMode::Logical)
        } else if self.physical.is_none() {
            Some(CaptureMode::Physical)
        } else {
            None
        };
    }
    /// Why `mode` is not possible (`None`: it is).
    pub fn why_not(&self, mode: CaptureMode) -> Option<&str> {
        match mode {
            CaptureMode::Logical => self.logical.as_deref(),
            CaptureMode::Physical => self.physical.as_deref(),
        }
    }
}

/// What the role and the server's settings allow (the replication connection itself is
/// checked by [`replication_allowed`]).
pub async fn settings_allow(conn: &mut PgConnection, spec: &ConnSpec) -> Result<Modes> {
    let (replication, superuser, wal_level, senders, slots): (bool, bool, String, i32, i32) =
        sqlx::query_as(
            "SELECT r.rolreplication, r.rolsuper, current_setting('wal_level'), \
             current_setting('max_wal_senders')::int4, current_setting('max_replication_slots')::int4 \
             FROM pg_roles r WHERE r.rolname = current_user",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e).context("reading the replication settings"))?;
    let role = if replication || superuser {
        None
    } else {
        Some(format!(
            "the role {} has no REPLICATION attribute (ALTER ROLE {} REPLICATION)",
            spec.user, spec.user
        ))
    };
    let slots = (slots < 1)
        .then(|| "the server allows no replication slot (max_replication_slots = 0)".to_string());
    let logical = role.clone().or(slots.clone()).or_else(|| {
        (wal_level != "logical").then(|| {
            format!("the server's wal_level is {wal_level}, not logical (set wal_level = logical and restart)")
        })
    });
    let physical = role.or(slots).or_else(|| {
        if wal_level == "minimal" {
            Some("the server's wal_level is minimal (set wal_level = replica and restart)".into())
        } else if senders < 1 {
            Some("the server allows no WAL sender (max_wal_senders = 0)".into())
        } else {
            None
        }
    });
    let mut m = Modes {
        logical,
        physical,
        recommended: None,
    };
    m.recommend();
    Ok(m)
}

/// Whether the server accepts a physical replication connection from this role (its
/// `pg_hba.conf` must name `replication`; a hosted Supabase project refuses it): `None` when
/// it does, else why not. Blocking.
pub fn replication_allowed(
    tools: &Tools,
    spec: &ConnSpec,
    password: Option<&str>,
) -> Option<String> {
    let psql = tools.dir.join(format!("psql{EXE}"));
    let mut cmd = process::command(&psql, spec, password);
    cmd.args([
        "-X",
        "-A",
        "-t",
        "-w",
        "-d",
        "replication=true",
        "-c",
        "IDENTIFY_SYSTEM",
    ]);
    match cmd.output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "the server refuses a physical replication connection: {}",
            process::stderr_summary(&String::from_utf8_lossy(&o.stderr), password)
        )),
        Err(e) => Some(format!("could not run psql to check: {e}")),
    }
}

/// The server's WAL position now, its clock, its timeline and WAL file size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalNow {
    pub flush_lsn: u64,
    /// µs since the epoch, the server's clock.
    pub at: i64,
    pub timeline: u32,
    pub seg_size: u64,
}

pub async fn wal_now(conn: &mut PgConnection, spec: &ConnSpec) -> Result<WalNow> {
    let (lsn, at, file, seg): (String, i64, String, i64) = sqlx::query_as(
        "SELECT pg_current_wal_flush_lsn()::text, \
         (extract(epoch FROM clock_timestamp()) * 1000000)::int8, \
         pg_walfile_name(pg_current_wal_flush_lsn()), \
         (SELECT setting::int8 FROM pg_settings WHERE name = 'wal_segment_size')",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        spec.map_sqlx(e)
            .context("reading the server's WAL position")
    })?;
    let timeline = file
        .get(..8)
        .and_then(|t| u32::from_str_radix(t, 16).ok())
        .ok_or_else(|| Error::invalid(format!("not a WAL file name: {file:?}")))?;
    Ok(WalNow {
        flush_lsn: parse_lsn(&lsn)?,
        at,
        timeline,
        seg_size: u64::try_from(seg)
            .ok()
            .filter(|s| s.is_power_of_two())
            .ok_or_else(|| Error::invalid(format!("not a WAL segment size: {seg}")))?,
    })
}

/// Why an unlogged table is not in a physical restore (the plan says it per table).
pub const UNLOGGED_EMPTY: &str =
    "unlogged: recovery leaves it empty (its rows are never written to the WAL)";

/// The unlogged tables of the connected database (`schema.table`): recovery from WAL resets
/// them, so a restore to a time brings them back empty.
pub async fn unlogged_tables(conn: &mut PgConnection, spec: &ConnSpec) -> Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT n.nspname::text || '.' || c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'u' \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e).context("listing the unlogged tables"))
}

/// Create the physical slot, reserving WAL at once; its restart LSN.
pub async fn create_slot(conn: &mut PgConnection, spec: &ConnSpec, slot: &str) -> Result<u64> {
    let lsn: String =
        sqlx::query_scalar("SELECT lsn::text FROM pg_create_physical_replication_slot($1, true)")
            .bind(slot)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| {
                spec.map_sqlx(e)
            .context("creating the physical slot")
            .with_hint(
                "the role needs the REPLICATION attribute and the server max_replication_slots > 0",
            )
            })?;
    parse_lsn(&lsn)
}

/// Run `pg_receivewal` on `slot` into `dir` until it has received past `upto` (it stops at
/// `--endpos`), every write flushed (`--synchronous`); stopped after [`RECEIVE_LIMIT`] with
/// what it has. Blocking.
pub fn receive(
    tools: &Tools,
    spec: &ConnSpec,
    password: Option<&str>,
    slot: &str,
    dir: &Path,
    upto: u64,
) -> Result<()> {
    let mut cmd = process::command(&tools.bin("pg_receivewal"), spec, password);
    cmd.arg("-D")
        .arg(dir)
        .args([
            "--slot",
            slot,
            "--no-loop",
            "--synchronous",
            "--no-password",
        ])
        .arg("--endpos")
        .arg(lsn_text(upto.saturating_sub(1)));
    run_bounded(cmd, "pg_receivewal", RECEIVE_LIMIT, password, true)
}

/// Run `cmd` to its end, killed after `limit` (then `Ok` when `partial_ok`).
fn run_bounded(
    cmd: Command,
    what: &str,
    limit: Duration,
    secret: Option<&str>,
    partial_ok: bool,
) -> Result<()> {
    let cancel = tokio_util::sync::CancellationToken::new();
    let (guard, _, _, stderr) = process::Guarded::spawn(cmd, what, &cancel)?;
    let timer = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            let end = std::time::Instant::now() + limit;
            while std::time::Instant::now() < end && !cancel.is_cancelled() {
                std::thread::sleep(Duration::from_millis(50));
            }
            cancel.cancel();
        })
    };
    let status = guard.wait();
    let timed_out = cancel.is_cancelled();
    cancel.cancel();
    let _ = timer.join();
    let status = status?;
    let stderr = stderr.finish();
    if status.success() || (timed_out && partial_ok) {
        return Ok(());
    }
    Err(process::tool_error(what, status, &stderr, secret))
}

/// What `pg_basebackup` said about the base: where its WAL starts and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseLsns {
    pub start_lsn: u64,
    pub end_lsn: u64,
    pub timeline: u32,
}

/// `pg_basebackup` in tar format with the WAL it needs (`-X fetch`) into `dir` (empty). Its
/// `base.tar` and the LSNs it reported. Blocking.
pub fn base_backup(
    tools: &Tools,
    spec: &ConnSpec,
    password: Option<&str>,
    dir: &Path,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<(PathBuf, BaseLsns)> {
    let mut cmd = process::command(&tools.bin("pg_basebackup"), spec, password);
    cmd.arg("-D")
        .arg(dir)
        .args([
            "-F",
            "tar",
            "-X",
            "fetch",
            "-c",
            "fast",
            "-v",
            "--no-password",
        ])
        .args(["--label", "offsite point-in-time base"]);
    let (guard, _, _, stderr) = process::Guarded::spawn(cmd, "pg_basebackup", cancel)?;
    let status = guard.wait()?;
    let stderr = stderr.finish();
    if !status.success() {
        return Err(process::tool_error(
            "pg_basebackup",
            status,
            &stderr,
            password,
        ));
    }
    let lsns = parse_base_lsns(&stderr)?;
    // Tablespaces outside the data folder would be tars of their own: not covered.
    let extra: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tar") && n != "base.tar")
        .collect();
    if !extra.is_empty() {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "the server has tablespaces outside its data folder ({}): physical capture \
                 takes the data folder only",
                extra.join(", ")
            ),
        )
        .with_hint("use the logical capture (offsite pitr enable PROJECT)"));
    }
    Ok((dir.join("base.tar"), lsns))
}

/// `write-ahead log start point: 0/2000028 on timeline 1` and `… end point: 0/2000100`.
pub fn parse_base_lsns(stderr: &str) -> Result<BaseLsns> {
    let mut start = None;
    let mut end = None;
    let mut timeline = 1;
    for line in stderr.lines() {
        if let Some(rest) = line.split("write-ahead log start point: ").nth(1) {
            let mut w = rest.split_whitespace();
            start = w.next().map(parse_lsn).transpose()?;
            if let Some(t) = w.nth(2).and_then(|t| t.parse().ok()) {
                timeline = t;
            }
        } else if let Some(rest) = line.split("write-ahead log end point: ").nth(1) {
            end = rest.split_whitespace().next().map(parse_lsn).transpose()?;
        }
    }
    match (start, end) {
        (Some(start_lsn), Some(end_lsn)) if end_lsn >= start_lsn => Ok(BaseLsns {
            start_lsn,
            end_lsn,
            timeline,
        }),
        _ => Err(Error::new(
            ErrorKind::ToolFailed,
            "pg_basebackup did not say where its WAL starts and ends",
        )),
    }
}

/// The file name of a sealed WAL file or base: `<stem>_<what>.wal[.age]`-like, sortable.
pub fn sealed_name(stem: &str, what: &str, encrypted: bool) -> String {
    let ext = if encrypted {
        ENCRYPTED_EXTENSION
    } else {
        EXTENSION
    };
    format!("{stem}_{what}.{ext}")
}

/// Seal `bytes_of` (a file's first `len` bytes) into a segment at `path`: 1 MiB records whose
/// LSN field is `start_lsn` plus their offset, the trailer `info`; checksummed and encrypted as
/// any segment. Returns (sha256, size on disk). Blocking.
pub fn seal_file(
    source: &Path,
    len: u64,
    info: &SegmentInfo,
    path: &Path,
    encryption: Option<&Encryption>,
) -> Result<(String, u64)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut w = SegmentWriter::create(dir)?;
    let f = std::fs::File::open(source)
        .map_err(|e| Error::io(format!("opening {}", source.display()), e))?;
    let mut r = std::io::BufReader::new(f).take(len);
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    loop {
        let mut n = 0;
        while n < CHUNK {
            let got = r
                .read(&mut buf[n..])
                .map_err(|e| Error::io(format!("reading {}", source.display()), e))?;
            if got == 0 {
                break;
            }
            n += got;
        }
        if n == 0 {
            break;
        }
        w.message(info.start_lsn + offset, 0, &buf[..n])?;
        offset += n as u64;
    }
    if offset != len {
        return Err(Error::io(
            format!("reading {}", source.display()),
            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "shorter than expected"),
        ));
    }
    let sha = w.finish(info, path, encryption)?;
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
        .len();
    Ok((sha, size))
}

/// A sealed file's bytes, read back in order (every record's offset checked: nothing missing,
/// nothing twice), as one reader.
pub struct Unsealed {
    r: SegmentReader,
    start: u64,
    next: u64,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Unsealed {
    pub fn open(path: &Path, keys: &[UserKey]) -> Result<Unsealed> {
        Ok(Self::of(SegmentReader::open(path, keys)?))
    }
    /// [`open`](Self::open), the file checked against its checksums as it is read: call
    /// [`Checked::finish`] once this reader returned its end.
    pub fn open_checked(
        path: &Path,
        keys: &[UserKey],
        expected: Option<&str>,
    ) -> Result<(Unsealed, Checked)> {
        let (r, checked) = SegmentReader::open_checked(path, keys, expected)?;
        Ok((Self::of(r), checked))
    }
    /// [`open_checked`](Self::open_checked), hashing on a thread of its own beside the reads.
    pub fn open_checked_ahead(
        path: &Path,
        keys: &[UserKey],
        expected: Option<&str>,
    ) -> Result<(Unsealed, Checked)> {
        let (r, checked) = SegmentReader::open_checked_ahead(path, keys, expected)?;
        Ok((Self::of(r), checked))
    }
    fn of(r: SegmentReader) -> Unsealed {
        Unsealed {
            r,
            start: u64::MAX,
            next: 0,
            buf: Vec::new(),
            pos: 0,
            done: false,
        }
    }
    /// The trailer (after the last byte was read).
    pub fn info(&self) -> Option<&SegmentInfo> {
        self.r.info()
    }
    fn fill(&mut self) -> Result<()> {
        match self.r.next_record()? {
            None => {
                self.done = true;
                let info = self
                    .r
                    .info()
                    .ok_or_else(|| Error::integrity("a sealed file without its trailer"))?;
                if self.start != u64::MAX && info.start_lsn != self.start {
                    return Err(Error::integrity(
                        "a sealed file's records do not match its trailer",
                    ));
                }
            }
            Some(rec) => {
                if self.start == u64::MAX {
                    self.start = rec.lsn;
                    self.next = rec.lsn;
                }
                if rec.lsn != self.next {
                    return Err(Error::integrity("a sealed file's records are out of order"));
                }
                self.next += rec.data.len() as u64;
                self.buf = rec.data;
                self.pos = 0;
            }
        }
        Ok(())
    }
}

impl Read for Unsealed {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() && !self.done {
            self.fill()
                .map_err(|e| std::io::Error::other(e.message().to_string()))?;
        }
        if self.done && self.pos >= self.buf.len() {
            return Ok(0);
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Write a sealed WAL file back as the WAL file `dest` (padded with zeros to `seg_size`, as
/// PostgreSQL's own partial files are), checked against its `.sha256` (and `expected`, the
/// catalog's) as it is read: a damaged file is an `integrity` error and `dest` is removed.
/// Blocking.
pub fn unseal_wal(
    path: &Path,
    keys: &[UserKey],
    dest: &Path,
    seg_size: u64,
    expected: Option<&str>,
) -> Result<()> {
    let (mut r, checked) = Unsealed::open_checked(path, keys, expected)?;
    let mut out = crate::private_fs::create_new(dest)
        .map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
    let written = (|| {
        let n = std::io::copy(&mut (&mut r).take(seg_size + 1), &mut out)
            .map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
        if n > seg_size {
            return Err(Error::integrity(format!(
                "change segment {}: larger than a WAL file",
                path.display()
            )));
        }
        out.set_len(seg_size)
            .map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
        checked.finish()
    })();
    if written.is_err() {
        drop(out);
        let _ = std::fs::remove_file(dest);
    }
    written
}

/// How many leading bytes of the WAL file at `path` hold data: up to the end of its last page
/// that is not all zeros (`pg_receivewal` pads a partial file with zeros; every written WAL
/// page starts with a non-zero header). Blocking.
pub fn used_len(path: &Path, page: usize) -> Result<u64> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut buf = vec![0u8; page];
    let (mut off, mut used) = (0u64, 0u64);
    loop {
        let mut n = 0;
        while n < page {
            let got = f
                .read(&mut buf[n..])
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            if got == 0 {
                break;
            }
            n += got;
        }
        if n == 0 {
            return Ok(used);
        }
        off += n as u64;
        if buf[..n].iter().any(|&b| b != 0) {
            used = off;
        }
    }
}

#[cfg(test)]
mod tests;
