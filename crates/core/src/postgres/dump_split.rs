//! A big table dumped by several workers (issue 67, item 1): `pg_dump -j` gives each table to
//! one worker, so one table holding most of the data kept the dump as slow as that one worker.
//!
//! A table of at least [`split_above`] bytes (heap), on a server that scans ranges of a heap
//! (`TID Range Scan`, PostgreSQL 14 and later), in a UTF-8 database, is left out of pg_dump's
//! data (`--exclude-table-data`, its definition stays) and read instead in ranges of its blocks
//! by connections of its own, each in the dump's exported snapshot (one consistent moment) with
//! pg_dump's own session settings: `COPY (SELECT <pg_dump's columns> FROM ONLY t WHERE ctid >=
//! '(a,0)' AND ctid < '(b,0)') TO STDOUT` — the same text pg_dump's `COPY t (…) TO stdout` gives
//! for those rows, in the same order. Each range is a data file `<dump id>.dat` and a `TABLE
//! DATA` entry of its own in `toc.dat` ([`crate::pgdump::TocRewrite`]), so `pg_restore` restores
//! the archive unchanged:
//! - the first range depends on the table, as pg_dump's entry would; the others on the first.
//!   In a parallel `pg_restore`, the first range's `COPY` follows a `TRUNCATE` of its table
//!   (pg_restore's speed-up for a table it created in the same run: `use_truncate` in
//!   pg_backup_archiver.c), so the others must start after it committed, never before;
//! - every post-data entry that depends on the table (indexes, constraints, triggers) also
//!   depends on every range, so `pg_restore -j` builds them only when all rows are in.
//!
//! The ranges' files are read in order as they grow ([`Chains`]), each compressed into a spool
//! of its own and hashed as a member, and all of them, in order, into one per-table digest: the
//! digest pg_dump's single file would have had (drills and diffs compare as before).

use super::conn::ConnSpec;
use super::dump_tail::{RowsDigest, ROUND};
use crate::archive::{FragmentWriter, Precompressed, PrecompressedWriter};
use crate::error::{Error, Result};
use crate::pgdump::COPY_TERMINATOR;
use crate::progress::Reporter;
use futures::TryStreamExt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use tokio_util::sync::CancellationToken;

/// Tables of at least this many bytes are split (unless [`SPLIT_ABOVE_ENV`] says otherwise).
pub const SPLIT_ABOVE: u64 = 256 << 20;
/// Environment override of [`SPLIT_ABOVE`] in bytes (tests and benchmarks; `0` turns splitting
/// off). Not a user setting.
pub const SPLIT_ABOVE_ENV: &str = "OFFSITE_SPLIT_TABLES_ABOVE";
/// The oldest server that scans a range of a heap's blocks (`TID Range Scan`).
pub const MIN_SERVER_MAJOR: u32 = 14;

/// The size from which a table is split (`None`: splitting is off).
pub fn split_above() -> Option<u64> {
    match std::env::var(SPLIT_ABOVE_ENV) {
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(0) => None,
            Ok(n) => Some(n),
            Err(_) => Some(SPLIT_ABOVE),
        },
        Err(_) => Some(SPLIT_ABOVE),
    }
}

/// One table read in ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitTable {
    pub schema: String,
    pub table: String,
    /// `schema.table`, quoted as pg_dump quotes it.
    pub qualified: String,
    /// The columns pg_dump's `COPY` names (not dropped, not generated), quoted, `, `-separated.
    pub columns: String,
    /// The block each range starts at (the last range runs to the end of the heap).
    pub starts: Vec<u64>,
}

impl SplitTable {
    /// The copy statement of the table's `TABLE DATA` entries, as pg_dump writes it.
    pub fn copy_stmt(&self) -> String {
        format!("COPY {} ({}) FROM stdin;\n", self.qualified, self.columns)
    }

    /// The statement that reads range `part`.
    pub fn range_query(&self, part: usize) -> String {
        let from = self.starts[part];
        let upper = match self.starts.get(part + 1) {
            Some(to) => format!(" AND ctid < '({to},0)'::pg_catalog.tid"),
            None => String::new(),
        };
        format!(
            "COPY (SELECT {} FROM ONLY {} WHERE ctid >= '({from},0)'::pg_catalog.tid{upper}) TO STDOUT",
            self.columns, self.qualified
        )
    }

    /// pg_dump's argument that leaves the table's rows out of its own dump.
    pub fn exclude_arg(&self) -> String {
        format!(
            "--exclude-table-data={}",
            crate::selection::table_pattern(&crate::selection::TableName {
                schema: self.schema.clone(),
                table: self.table.clone(),
            })
        )
    }
}

/// How many ranges a table of `bytes` is read in, by `jobs` workers (at least 2, at most two
/// per worker, about half the threshold each).
pub fn parts_for(bytes: u64, above: u64, jobs: u32) -> usize {
    let per = (above / 2).max(1);
    ((bytes / per) as usize).clamp(2, 2 * jobs.max(1) as usize)
}

/// The block starts of `parts` equal ranges of `blocks` blocks.
pub fn starts(blocks: u64, parts: usize) -> Vec<u64> {
    let parts = parts.max(1) as u64;
    (0..parts).map(|i| i * blocks / parts).collect()
}

/// The tables to split, read in the dump's snapshot (`conn` is in its transaction): among
/// `tables` (schema, name) whose rows the backup holds, those of at least [`split_above`] bytes.
/// None below PostgreSQL 14, outside UTF-8 databases, or with fewer than 2 workers.
pub async fn plan(
    conn: &mut sqlx::PgConnection,
    spec: &ConnSpec,
    major: u32,
    encoding: &str,
    tables: &[(String, String, String)],
    jobs: u32,
) -> Result<Vec<SplitTable>> {
    let Some(above) = split_above() else {
        return Ok(Vec::new());
    };
    if jobs < 2 || major < MIN_SERVER_MAJOR || !encoding.eq_ignore_ascii_case("UTF8") {
        return Ok(Vec::new());
    }
    // The sizes need each table's lock: a table someone holds exclusively must not keep the
    // backup (and its cancel) waiting here — pg_dump waits for it on its own terms. Asked
    // behind a savepoint with a short lock timeout, rolled back after (the timeout with it).
    let sql = |e| spec.map_sqlx(e);
    sqlx::query("SAVEPOINT offsite_split_plan")
        .execute(&mut *conn)
        .await
        .map_err(sql)?;
    sqlx::query("SET LOCAL lock_timeout = '200ms'")
        .execute(&mut *conn)
        .await
        .map_err(sql)?;
    let sized = sizes(conn, above).await;
    sqlx::query("ROLLBACK TO SAVEPOINT offsite_split_plan")
        .execute(&mut *conn)
        .await
        .map_err(sql)?;
    let rows = match sized {
        Ok(rows) => rows,
        Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("55P03") => {
            tracing::info!("a table is locked by another session: no table is read in ranges");
            return Ok(Vec::new());
        }
        Err(e) => return Err(spec.map_sqlx(e)),
    };
    let mut out = Vec::new();
    for (schema, table, qualified, columns, bytes, block) in rows {
        let held = tables.iter().any(|(s, t, _)| *s == schema && *t == table);
        let Some(columns) = columns.filter(|_| held) else {
            continue;
        };
        let (bytes, block) = (bytes.max(0) as u64, block.max(1) as u64);
        let parts = parts_for(bytes, above, jobs);
        out.push(SplitTable {
            schema,
            table,
            qualified,
            columns,
            starts: starts(bytes / block, parts),
        });
    }
    Ok(out)
}

/// The ordinary tables of at least `above` bytes: schema, name, quoted name, pg_dump's column
/// list, size, block size.
#[allow(clippy::type_complexity)]
async fn sizes(
    conn: &mut sqlx::PgConnection,
    above: u64,
) -> std::result::Result<Vec<(String, String, String, Option<String>, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, format('%I.%I', n.nspname, c.relname), \
                (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) \
                   FROM pg_catalog.pg_attribute a \
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
                    AND a.attgenerated = ''), \
                pg_catalog.pg_relation_size(c.oid), current_setting('block_size')::bigint \
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
          WHERE c.relkind = 'r' AND pg_catalog.pg_relation_size(c.oid) >= $1 \
          ORDER BY 5 DESC, 1, 2",
    )
    .bind(above.min(i64::MAX as u64) as i64)
    .fetch_all(&mut *conn)
    .await
}

/// What a range's worker tells the packer.
#[derive(Debug)]
pub(super) enum PartEvent {
    /// Table `.0`'s range `.1` is complete in its file.
    Done(usize, usize),
    Failed(Error),
}

/// The file of range `part` of table `table` in `dir`.
pub(super) fn part_path(dir: &Path, table: usize, part: usize) -> PathBuf {
    dir.join(format!("t{table}-r{part}.copy"))
}

/// The session pg_dump's `setup_connection` makes (pg_dump.c), so the text is the same.
const SESSION: &[&str] = &[
    "SET DATESTYLE = ISO",
    "SET INTERVALSTYLE = POSTGRES",
    "SET extra_float_digits TO 3",
    "SET statement_timeout = 0",
    "SET lock_timeout = 0",
    "SET idle_in_transaction_session_timeout = 0",
    "SET row_security = off",
    // As pg_dump's environment gets it (PGTZ=UTC: see dump_dir).
    "SET TimeZone = 'UTC'",
    "SELECT pg_catalog.set_config('search_path', '', false)",
];

/// Read every range of `tables` in `snapshot`, each on a task of its own, into its file in
/// `dir`; each sends [`PartEvent::Done`] when its file is complete, or the reason it failed.
pub(super) fn start(
    spec: &ConnSpec,
    password: Option<&str>,
    snapshot: &str,
    tables: &[SplitTable],
    dir: &Path,
    tx: Sender<PartEvent>,
    cancel: &CancellationToken,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    if !snapshot.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(Error::internal(format!(
            "the server named the moment of the dump unexpectedly: {snapshot:?}"
        )));
    }
    let rt = tokio::runtime::Handle::current();
    let mut handles = Vec::new();
    for (t, table) in tables.iter().enumerate() {
        for part in 0..table.starts.len() {
            let (spec, password) = (spec.clone(), password.map(str::to_string));
            let query = table.range_query(part);
            let lock = format!(
                "LOCK TABLE ONLY {} IN ACCESS SHARE MODE NOWAIT",
                table.qualified
            );
            let name = table.qualified.clone();
            let set = format!("SET TRANSACTION SNAPSHOT '{snapshot}'");
            let path = part_path(dir, t, part);
            let (tx, cancel) = (tx.clone(), cancel.clone());
            handles.push(rt.spawn(async move {
                let run = dump_part(
                    &spec,
                    password.as_deref(),
                    [&set, &lock],
                    &query,
                    &path,
                    &name,
                );
                let event = tokio::select! {
                    r = run => match r {
                        Ok(()) => PartEvent::Done(t, part),
                        Err(e) => PartEvent::Failed(e),
                    },
                    _ = cancel.cancelled() => PartEvent::Failed(Error::cancelled()),
                };
                let _ = tx.send(event);
            }));
        }
    }
    Ok(handles)
}

async fn dump_part(
    spec: &ConnSpec,
    password: Option<&str>,
    [set_snapshot, lock]: [&str; 2],
    query: &str,
    path: &Path,
    table: &str,
) -> Result<()> {
    let mut conn = spec.connect(password).await?;
    let sql = |e| spec.map_sqlx(e);
    for s in SESSION {
        sqlx::query(s).execute(&mut conn).await.map_err(sql)?;
    }
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut conn)
        .await
        .map_err(sql)?;
    sqlx::query(set_snapshot)
        .execute(&mut conn)
        .await
        .map_err(sql)?;
    // As pg_dump's own workers: a lock not granted at once means another session asked for an
    // exclusive one after the dump began (waiting would wait for the dump itself to end).
    sqlx::query(lock).execute(&mut conn).await.map_err(|e| {
        let e = spec.map_sqlx(e);
        if e.message().contains("could not obtain lock") {
            e.with_hint(format!(
                "another session asked for an exclusive lock on {table} after the backup began \
                 (ALTER TABLE, VACUUM FULL, …); run the backup again once it is done"
            ))
        } else {
            e
        }
    })?;
    let what = || format!("writing {}", path.display());
    let mut file = std::io::BufWriter::with_capacity(
        1 << 20,
        File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io(what(), e))?,
    );
    let mut rows = conn.copy_out_raw(query).await.map_err(sql)?;
    while let Some(bytes) = rows.try_next().await.map_err(sql)? {
        file.write_all(&bytes).map_err(|e| Error::io(what(), e))?;
    }
    drop(rows);
    file.write_all(COPY_TERMINATOR)
        .map_err(|e| Error::io(what(), e))?;
    file.into_inner()
        .map_err(|e| Error::io(what(), e.into_error()))?
        .sync_data()
        .ok();
    let _ = sqlx::query("COMMIT").execute(&mut conn).await;
    let _ = sqlx::Connection::close(conn).await;
    Ok(())
}

/// A table's ranges read (in order), and the SHA-256 and lines of all their rows.
pub(super) type TableRanges = (Vec<PartDone>, ([u8; 32], u64));

/// One range read to its end: its spool and member digest.
pub(super) struct PartDone {
    pub spool: Precompressed,
    pub sha256: String,
    pub size: u64,
}

/// The range files being read.
struct Open {
    file: File,
    spool: PrecompressedWriter,
    member: ring::digest::Context,
}

/// One split table's ranges, read in order.
struct Chain {
    parts: usize,
    /// The range being read.
    next: usize,
    complete: Vec<bool>,
    open: Option<Open>,
    rows: Option<RowsDigest>,
    done: Vec<PartDone>,
    /// SHA-256 and lines of all ranges' rows, once the last is read.
    digest: Option<([u8; 32], u64)>,
}

/// Every split table's ranges, followed as their workers write them.
pub(super) struct Chains {
    dir: PathBuf,
    spool_dir: PathBuf,
    chains: Vec<Chain>,
    rx: Receiver<PartEvent>,
    buf: Vec<u8>,
    cancel: CancellationToken,
    /// Every worker has ended.
    disconnected: bool,
}

impl Chains {
    pub fn new(
        tables: &[SplitTable],
        dir: &Path,
        spool_dir: &Path,
        rx: Receiver<PartEvent>,
        cancel: &CancellationToken,
    ) -> Self {
        let chains = tables
            .iter()
            .map(|t| Chain {
                parts: t.starts.len(),
                next: 0,
                complete: vec![false; t.starts.len()],
                open: None,
                rows: Some(RowsDigest::new()),
                done: Vec::new(),
                digest: None,
            })
            .collect();
        Chains {
            dir: dir.to_path_buf(),
            spool_dir: spool_dir.to_path_buf(),
            chains,
            rx,
            buf: vec![0u8; crate::archive::CHUNK],
            cancel: cancel.clone(),
            disconnected: false,
        }
    }

    /// Whether every range of every table has been read.
    pub fn finished(&self) -> bool {
        self.chains.iter().all(|c| c.next >= c.parts)
    }

    /// Takes the workers' news, then reads a round of each table's current range; the bytes
    /// read. A worker's failure is this one's.
    pub fn pump(&mut self, fragment: &FragmentWriter, reporter: &Reporter) -> Result<u64> {
        loop {
            match self.rx.try_recv() {
                Ok(PartEvent::Done(t, p)) => {
                    if let Some(c) = self.chains.get_mut(t).and_then(|c| c.complete.get_mut(p)) {
                        *c = true;
                    }
                }
                Ok(PartEvent::Failed(e)) => return Err(e),
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    self.disconnected = true;
                    break;
                }
            }
        }
        let mut got = 0;
        for t in 0..self.chains.len() {
            got += self.pump_chain(t, fragment, reporter)?;
        }
        Ok(got)
    }

    fn pump_chain(
        &mut self,
        t: usize,
        fragment: &FragmentWriter,
        reporter: &Reporter,
    ) -> Result<u64> {
        let mut got = 0u64;
        loop {
            let chain = &mut self.chains[t];
            if chain.next >= chain.parts {
                return Ok(got);
            }
            let path = part_path(&self.dir, t, chain.next);
            if chain.open.is_none() {
                let file = match File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(got),
                    Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
                };
                chain.open = Some(Open {
                    file,
                    spool: fragment.precompressed(&self.spool_dir)?,
                    member: ring::digest::Context::new(&ring::digest::SHA256),
                });
            }
            // Whether the worker had finished before this read: then the read reaches the end.
            let complete = chain.complete[chain.next];
            let open = chain.open.as_mut().expect("opened above");
            let rows = chain.rows.as_mut().expect("until the last range");
            let mut round = 0u64;
            let at_end = loop {
                if self.cancel.is_cancelled() {
                    return Err(Error::cancelled());
                }
                if !complete && round >= ROUND {
                    break false;
                }
                let n = match open.file.read(&mut self.buf) {
                    Ok(0) => break true,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
                };
                let data = &self.buf[..n];
                open.member.update(data);
                rows.update(data);
                open.spool.write(data)?;
                reporter.advance(n as u64);
                round += n as u64;
            };
            got += round;
            if !(complete && at_end) {
                return Ok(got);
            }
            let Open {
                file,
                spool,
                member,
            } = chain.open.take().expect("opened above");
            drop(file);
            std::fs::remove_file(&path)
                .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
            rows.end_part();
            let size = spool.size();
            chain.done.push(PartDone {
                spool: spool.finish()?,
                sha256: hex::encode(member.finish().as_ref()),
                size,
            });
            chain.next += 1;
            if chain.next == chain.parts {
                chain.digest = chain.rows.take().map(RowsDigest::finish);
            }
        }
    }

    /// Whether every worker has ended (none will say more) though a range is not read yet.
    pub fn silent(&self) -> bool {
        self.disconnected && !self.finished()
    }

    /// Each table's ranges (in order) and its rows' digest, once [`Chains::finished`].
    pub fn take_done(&mut self) -> Vec<TableRanges> {
        self.chains
            .iter_mut()
            .map(|c| {
                (
                    std::mem::take(&mut c.done),
                    c.digest.take().unwrap_or(([0; 32], 0)),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_heap_in_order() {
        assert_eq!(starts(100, 4), [0, 25, 50, 75]);
        assert_eq!(starts(3, 2), [0, 1]);
        assert_eq!(parts_for(300 << 20, 256 << 20, 2), 2);
        assert_eq!(parts_for(1 << 30, 256 << 20, 2), 4);
        assert_eq!(parts_for(8 << 30, 256 << 20, 8), 16);
        assert_eq!(parts_for(1, 256 << 20, 1), 2);
    }

    #[test]
    fn each_range_reads_its_blocks_and_the_last_runs_to_the_end() {
        let t = SplitTable {
            schema: "public".into(),
            table: "Big".into(),
            qualified: "public.\"Big\"".into(),
            columns: "id, \"Note\"".into(),
            starts: vec![0, 50],
        };
        assert_eq!(
            t.range_query(0),
            "COPY (SELECT id, \"Note\" FROM ONLY public.\"Big\" WHERE ctid >= '(0,0)'::pg_catalog.tid \
             AND ctid < '(50,0)'::pg_catalog.tid) TO STDOUT"
        );
        assert_eq!(
            t.range_query(1),
            "COPY (SELECT id, \"Note\" FROM ONLY public.\"Big\" WHERE ctid >= '(50,0)'::pg_catalog.tid) TO STDOUT"
        );
        assert_eq!(
            t.copy_stmt(),
            "COPY public.\"Big\" (id, \"Note\") FROM stdin;\n"
        );
        assert_eq!(t.exclude_arg(), "--exclude-table-data=\"public\".\"Big\"");
    }
}
