//! The dump of a PostgreSQL database into an archive: one consistent snapshot →
//! `database.dump` (custom format), `globals.sql`, exact per-table row counts (see DESIGN.md).
//!
//! How it stays fast and safe:
//! - A REPEATABLE READ transaction exports its snapshot; `pg_dump --snapshot` dumps exactly that
//!   state while the same transaction counts every table's rows, concurrently.
//! - `pg_dump -Fc -Z0` (no compression in pg_dump, which is its slow part); the archive writer
//!   hashes and gzips the stream as it arrives, in parallel with pg_dump.
//! - With 2 or more workers (`--jobs`, default the cores capped by the server's headroom:
//!   [`jobs`]), `pg_dump -Fd -j N -Z0` in the same snapshot, each data file packed as it closes
//!   (archive format 2: [`dump_dir`]). A server that will not let a second session share the
//!   snapshot (a transaction pooler) gets one stream, and the manifest says why.
//!
//! Reached through [`crate::sources::PostgresSource`], the [`crate::sources::DatabaseSource`]
//! the backup and restore jobs use; the archive around it is [`crate::backup::compose`]'s.

use crate::archive::storage_layout::BucketSettings;
use crate::archive::{
    ArchiveWriter, ContentDigests, DumpFormat, DumpLayout, DumpSnapshot, SourceInfo, TableCount,
    Versions, DATABASE_MEMBER, GLOBALS_MEMBER,
};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::{server_info, ConnSpec, ServerInfo};
use crate::postgres::digest::{self, DigestTee, DumpDigests};
use crate::postgres::process;
use crate::postgres::tools::{self, PgTools};
use crate::postgres::{dump_dir, dump_split, dump_workers as jobs};
use crate::progress::{Phase, Reporter};
use crate::selection::BackupSelection;
use sqlx::{Connection, PgConnection, Row};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// What the database part of an archive adds to its manifest.
#[derive(Debug, Clone)]
pub struct DatabasePart {
    pub versions: Versions,
    pub source: SourceInfo,
    pub tables: Vec<TableCount>,
    pub roles: Vec<String>,
    pub globals_note: Option<String>,
    /// Size of `database.dump` (of every `database/…` file for a directory dump).
    pub dump_bytes: u64,
    /// What the per-table digests (in `tables`) were made under; `None` when not made.
    pub content: Option<ContentDigests>,
    /// How it was dumped (`Manifest.dump`): `None` for one custom-format stream with nothing to say.
    pub dump: Option<DumpLayout>,
    /// What a selective backup left out (`None`: the whole database).
    pub selection: Option<BackupSelection>,
    /// The objects a restore's parity report compares ([`crate::postgres::census`]), taken in the
    /// dump's snapshot.
    pub census: Option<crate::archive::Census>,
}

/// Dump the database at `spec` into `writer`: `database.dump` (pg_dump -Fc -Z0, spooled while
/// it runs) and `globals.sql`, with exact row counts taken in the dump's own snapshot.
/// `pg_bin`: the configured folder of pg_dump (`None`: search). `jobs`: pg_dump's workers
/// (`None`: the cores, capped by the server's headroom); with 2 or more (and a server that lets a
/// second session share the snapshot) the dump is pg_dump's directory format under `database/`
/// (archive format 2, see [`dump_dir`]), otherwise one custom-format stream (`database.dump`).
/// `selection`: a selective backup's schemas and tables (empty: the whole database); only the
/// tables whose rows it holds are counted.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn dump_into(
    writer: &mut ArchiveWriter,
    spec: &ConnSpec,
    password: Option<&str>,
    pg_bin: Option<&Path>,
    requested_jobs: Option<u32>,
    selection: &BackupSelection,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<DatabasePart> {
    let selection_args = selection.pg_dump_args()?;
    reporter.phase(Phase::Connecting, None);
    let mut conn = spec.connect(password).await?;
    let info = server_info(&mut conn, spec).await?;
    let tools = tools::find_for(info.major(), pg_bin)?;

    // One snapshot for the dump and the counts.
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    let xid_snapshot = xid_snapshot(&mut conn, spec, info.major()).await?;
    let mut tables = list_tables(&mut conn, spec).await?;
    tables.retain(|(schema, table, _)| selection.holds_data_of(schema, table));
    let roles = referenced_roles(&mut conn, spec).await?;
    let census = super::census::take(&mut conn, true).await;
    let inherited = inherited_settings(&mut conn, spec).await?;
    let (choice, shared) =
        choose_jobs(&mut conn, spec, password, &snapshot, requested_jobs).await?;
    // A big table is read in ranges by workers of its own.
    let split = plan_split(&mut conn, spec, &info, &tables, (choice.jobs, shared)).await?;

    reporter.phase(Phase::Dumping, Some(info.database_size));
    let dump_cancel = cancel.child_token();
    let task = DumpTask {
        tools: tools.clone(),
        spec: spec.clone(),
        password: password.map(str::to_string),
        snapshot: snapshot.clone(),
        shared,
        jobs: choice.jobs,
        args: selection_args,
        split,
    };
    let dump = task.start(writer, reporter, &dump_cancel)?;
    // Count rows in the same snapshot while pg_dump streams. Whichever fails first ends the
    // backup: a failed dump drops the counting (and its connection); a failed count stops the dump.
    let join = |r: std::result::Result<Result<Dumped>, tokio::task::JoinError>| {
        r.map_err(|e| Error::internal(format!("dump task failed: {e}")))
            .and_then(|r| r)
    };
    let (mut counts, dumped) = {
        let counting = count_rows(&mut conn, spec, &tables);
        tokio::pin!(counting, dump);
        tokio::select! {
            dumped = &mut dump => {
                let spooled = join(dumped)?;
                (counting.await?, spooled)
            }
            counts = &mut counting => {
                if counts.is_err() {
                    dump_cancel.cancel();
                }
                let dumped = join(dump.await);
                if cancel.is_cancelled() {
                    return Err(Error::cancelled());
                }
                // A counting failure stopped the dump: report the cause, not the induced cancel.
                let counts = counts?;
                (counts, dumped?)
            }
        }
    };
    // The snapshot is no longer needed.
    let _ = sqlx::query("COMMIT").execute(&mut conn).await;
    let _ = conn.close().await;
    let (content, dump_bytes, layout) = match dumped {
        Dumped::Custom(spooled, digests) => {
            if !shared {
                own_snapshot_counts(&mut counts, &digests);
            }
            let content = match digests {
                Some(digests) => Some(digest::attach(&mut counts, digests, inherited)?),
                None => None,
            };
            let dump_bytes = spooled.size();
            writer.add_spooled(spooled);
            let layout = choice.note.clone().map(|note| DumpLayout {
                format: DumpFormat::Custom,
                jobs: 1,
                note: Some(note),
                split: Vec::new(),
            });
            (content, dump_bytes, layout)
        }
        Dumped::Directory(dir) => {
            tracing::info!(
                "directory dump: {} bytes, {} data files packed while pg_dump ran",
                dir.bytes,
                dir.packed_early
            );
            let content = match dir.digests {
                Some(digests) => Some(digest::attach(&mut counts, digests, inherited)?),
                None => None,
            };
            for t in counts.iter_mut() {
                if let Some(m) = dir.members.get(&(t.schema.clone(), t.table.clone())) {
                    // The data is a member of its own, not a block of database.dump.
                    t.dump_member = Some(m.clone());
                    t.dump_offset = None;
                    t.dump_length = None;
                }
            }
            writer.add_fragment(dir.fragment);
            let layout = directory_layout(&choice, &dir.split);
            (content, dir.bytes, Some(layout))
        }
    };

    reporter.phase(Phase::Globals, None);
    let globals_note = match dump_globals(&tools, spec, password) {
        Ok(sql) => {
            writer.add_bytes(GLOBALS_MEMBER, sql.into_bytes());
            None
        }
        Err(e) => Some(format!("roles and grants were not saved: {}", e.message())),
    };
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    Ok(DatabasePart {
        versions: Versions {
            tool: crate::tool_version(),
            server: Some(info.version.clone()),
            pg_dump: Some(tools.version_line.clone()),
        },
        source: SourceInfo {
            // Only a snapshot pg_dump itself used is a meeting point.
            snapshot: shared.then_some(xid_snapshot),
            ..source_info(spec, &info)
        },
        tables: counts,
        roles,
        globals_note,
        dump_bytes,
        content,
        dump: layout,
        selection: (!selection.is_empty()).then(|| selection.clone()),
        census: Some(census),
    })
}

/// pg_dump's workers for this backup (see [`jobs`]), said in the job's log. When a second
/// session cannot share `snapshot` (a transaction pooler refuses `SET TRANSACTION SNAPSHOT`, as
/// pg_dump's own `--snapshot` and its workers send it), the dump is one stream that takes its own
/// snapshot (`shared_snapshot` false).
async fn choose_jobs(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    password: Option<&str>,
    snapshot: &str,
    requested: Option<u32>,
) -> Result<(jobs::JobsChoice, bool)> {
    let headroom = jobs::headroom(conn, spec).await?;
    let requested = requested.or((!jobs::PARALLEL_BY_DEFAULT).then_some(1));
    let mut choice = jobs::workers(requested, jobs::cores(), headroom);
    let mut shared = true;
    if let Err(why) = jobs::snapshot_shareable(spec, password, snapshot).await {
        shared = false;
        let note = format!(
            "one stream instead of {}: a second session could not share the dump's \
             snapshot (a transaction pooler, such as Supabase's port 6543, refuses it; connect \
             on the direct port 5432 for a parallel dump); row counts are the dump's own: {why}",
            crate::words::plural(choice.jobs as u64, "worker")
        );
        choice.why = format!("{} → 1 (the snapshot cannot be shared)", choice.why);
        choice.jobs = 1;
        choice.note = Some(note);
    }
    tracing::info!("pg_dump: {}", choice.why);
    if let Some(note) = &choice.note {
        tracing::warn!("pg_dump: {note}");
    }
    Ok((choice, shared))
}

/// A dump that took its own snapshot (through a pooler): each table's rows are the lines its
/// COPY data holds, what was dumped (the separate count stands where no digest was made).
fn own_snapshot_counts(counts: &mut [TableCount], digests: &Option<Result<DumpDigests>>) {
    let Some(Ok(d)) = digests else { return };
    for t in counts.iter_mut() {
        if let Some(d) = d
            .tables
            .iter()
            .find(|d| d.schema == t.schema && d.table == t.table)
        {
            t.rows = d.lines;
        }
    }
}

/// The tables read in ranges by workers of their own ([`dump_split`]): only for a directory
/// dump (`jobs` ≥ 2) in a snapshot the workers can share.
async fn plan_split(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    info: &ServerInfo,
    tables: &[(String, String, String)],
    (jobs, shared): (u32, bool),
) -> Result<Vec<dump_split::SplitTable>> {
    if !shared || jobs < 2 {
        return Ok(Vec::new());
    }
    let split = dump_split::plan(conn, spec, info.major(), &info.encoding, tables, jobs).await?;
    for t in &split {
        tracing::info!(
            "{}: read in {} ranges by workers of its own",
            t.qualified,
            t.starts.len()
        );
    }
    Ok(split)
}

/// A directory dump's `Manifest.dump`.
fn directory_layout(choice: &jobs::JobsChoice, split: &[(String, String, u32)]) -> DumpLayout {
    DumpLayout {
        format: DumpFormat::Directory,
        jobs: choice.jobs,
        note: choice.note.clone(),
        split: split
            .iter()
            .map(|(schema, table, ranges)| crate::archive::SplitTableNote {
                schema: schema.clone(),
                table: table.clone(),
                ranges: *ranges,
            })
            .collect(),
    }
}

/// The dump, run on a blocking thread.
struct DumpTask {
    tools: PgTools,
    spec: ConnSpec,
    password: Option<String>,
    snapshot: String,
    /// Whether pg_dump may use `snapshot` (see [`choose_jobs`]).
    shared: bool,
    jobs: u32,
    /// A selective backup's arguments ([`BackupSelection::pg_dump_args`]).
    args: Vec<String>,
    /// The tables read in ranges ([`dump_split`]).
    split: Vec<dump_split::SplitTable>,
}

impl DumpTask {
    /// 2 or more workers: the directory dump into a fragment of `writer`; else one custom-format
    /// stream into a spool.
    fn start(
        self,
        writer: &ArchiveWriter,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<tokio::task::JoinHandle<Result<Dumped>>> {
        let (reporter, cancel) = (reporter.clone(), cancel.clone());
        let t = self;
        if t.jobs >= 2 {
            let fragment = writer.fragment("")?;
            let dir = writer.dir().to_path_buf();
            Ok(tokio::task::spawn_blocking(move || {
                dump_dir::run(
                    &t.tools,
                    &t.spec,
                    t.password.as_deref(),
                    Some(&t.snapshot),
                    t.jobs,
                    &t.args,
                    &t.split,
                    &dir,
                    fragment,
                    &reporter,
                    &cancel,
                )
                .map(Dumped::Directory)
            }))
        } else {
            let spool = writer.spool(DATABASE_MEMBER)?;
            Ok(tokio::task::spawn_blocking(move || {
                run_pg_dump(
                    &t.tools,
                    &t.spec,
                    t.password.as_deref(),
                    t.shared.then_some(t.snapshot.as_str()),
                    &t.args,
                    spool,
                    &reporter,
                    &cancel,
                )
                .map(|(spooled, digests)| Dumped::Custom(spooled, digests))
            }))
        }
    }
}

/// What the dump task produced.
enum Dumped {
    /// `database.dump` and, unless turned off, its digests (or why they could not be made).
    Custom(crate::archive::SpooledMember, Option<Result<DumpDigests>>),
    /// `database/…` members.
    Directory(dump_dir::DirDumped),
}

/// The settings pg_dump's session inherits that shape COPY text ([`digest::INHERITED_SETTINGS`]).
async fn inherited_settings(
    conn: &mut PgConnection,
    spec: &ConnSpec,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for name in digest::INHERITED_SETTINGS {
        let value: String = sqlx::query_scalar("SELECT current_setting($1)")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| spec.map_sqlx(e))?;
        out.push((name.to_string(), value));
    }
    Ok(out)
}

/// The spooled dump and, unless turned off, its digests (or why they could not be made).
type Pumped = (crate::archive::SpooledMember, Option<Result<DumpDigests>>);

fn source_info(spec: &ConnSpec, info: &ServerInfo) -> SourceInfo {
    SourceInfo {
        host: Some(spec.host.clone()),
        port: Some(spec.port),
        database: Some(spec.database.clone()),
        database_size: Some(info.database_size),
        encoding: Some(info.encoding.clone()),
        snapshot: None,
    }
}

/// The open transaction's snapshot as 64-bit ids, and the server's clock after taking it.
async fn xid_snapshot(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    major: u32,
) -> Result<DumpSnapshot> {
    let sql = if major >= 13 {
        "SELECT pg_current_snapshot()::text, \
         to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    } else {
        "SELECT txid_current_snapshot()::text, \
         to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    };
    let (xids, taken_at): (String, String) = sqlx::query_as(sql)
        .fetch_one(conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    Ok(DumpSnapshot { xids, taken_at })
}

/// Tables whose data pg_dump writes: ordinary tables outside the system schemas that are not
/// members of an extension.
async fn list_tables(
    conn: &mut PgConnection,
    spec: &ConnSpec,
) -> Result<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT n.nspname::text, c.relname::text, format('%I.%I', n.nspname, c.relname)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND c.relpersistence <> 't'
            AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
            AND NOT EXISTS (SELECT 1 FROM pg_depend d
                             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
          ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Roles that own the database's objects or are granted privileges or policies on them.
async fn referenced_roles(conn: &mut PgConnection, spec: &ConnSpec) -> Result<Vec<String>> {
    sqlx::query_scalar(
        "WITH user_ns AS (
           SELECT oid, nspowner, nspacl FROM pg_namespace
            WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%')
         SELECT rolname::text FROM pg_roles WHERE oid IN (
           SELECT nspowner FROM user_ns
           UNION SELECT (aclexplode(nspacl)).grantee FROM user_ns WHERE nspacl IS NOT NULL
           UNION SELECT relowner FROM pg_class WHERE relnamespace IN (SELECT oid FROM user_ns)
           UNION SELECT (aclexplode(relacl)).grantee FROM pg_class
                  WHERE relacl IS NOT NULL AND relnamespace IN (SELECT oid FROM user_ns)
           UNION SELECT proowner FROM pg_proc WHERE pronamespace IN (SELECT oid FROM user_ns)
           UNION SELECT (aclexplode(proacl)).grantee FROM pg_proc
                  WHERE proacl IS NOT NULL AND pronamespace IN (SELECT oid FROM user_ns)
           UNION SELECT typowner FROM pg_type WHERE typnamespace IN (SELECT oid FROM user_ns)
           UNION SELECT unnest(polroles) FROM pg_policy
           UNION SELECT lomowner FROM pg_largeobject_metadata
           UNION SELECT defaclrole FROM pg_default_acl)
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))
}

/// Exact row counts (run inside the snapshot transaction, or against a restored database): a
/// table's own rows (`ONLY`: an inheritance parent's children have their own counts), the rows
/// its COPY, and so its digest, holds.
async fn count_rows(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    tables: &[(String, String, String)],
) -> Result<Vec<TableCount>> {
    let mut out = Vec::with_capacity(tables.len());
    for (schema, table, qualified) in tables {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM ONLY {qualified}"))
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| {
                spec.map_sqlx(e)
                    .context(format!("counting rows of {qualified}"))
            })?;
        out.push(TableCount::counted(schema, table, rows as u64));
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn run_pg_dump(
    tools: &PgTools,
    spec: &ConnSpec,
    password: Option<&str>,
    snapshot: Option<&str>,
    selection_args: &[String],
    mut spool: crate::archive::SpoolWriter,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Pumped> {
    let mut cmd = process::command(&tools.pg_dump(), spec, password);
    cmd.args(["--format=custom", "--compress=0", "--no-password"]);
    cmd.args(selection_args);
    if let Some(snapshot) = snapshot {
        cmd.arg(format!("--snapshot={snapshot}"));
    }
    // timestamptz as UTC whatever the server's default (libpq sends it as the TimeZone
    // startup parameter, which poolers accept): the table digests record it.
    cmd.env("PGTZ", "UTC");
    let mut tee = DigestTee::start();
    let (child, _, stdout, stderr) = process::Guarded::spawn(cmd, "pg_dump", cancel)?;
    let mut stdout = stdout.expect("stdout piped");
    let mut buf = vec![0u8; 1 << 20];
    let pumped: Result<()> = (|| loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = match stdout.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("reading pg_dump output", e)),
        };
        spool
            .write_all(&buf[..n])
            .map_err(|e| Error::io("writing the dump", e))?;
        if let Some(tee) = &mut tee {
            tee.feed(&buf[..n]);
        }
        reporter.advance(n as u64);
    })();
    if pumped.is_err() {
        child.kill();
    }
    drop(stdout);
    let status = child.wait()?;
    let err_text = stderr.finish();
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    pumped?;
    if !status.success() {
        return Err(process::tool_error("pg_dump", status, &err_text, password));
    }
    let spooled = spool.finish()?;
    Ok((spooled, tee.map(DigestTee::finish)))
}

/// `pg_dumpall --globals-only --no-role-passwords`: roles and grants, readable without
/// superuser and without any password hashes.
fn dump_globals(tools: &PgTools, spec: &ConnSpec, password: Option<&str>) -> Result<String> {
    let mut cmd = process::command(&tools.pg_dumpall(), spec, password);
    cmd.args([
        "--globals-only",
        "--no-role-passwords",
        "--no-password",
        "-l",
        &spec.dbname_conninfo(),
    ]);
    let out = cmd
        .output()
        .map_err(|e| Error::io("starting pg_dumpall", e))?;
    if !out.status.success() {
        return Err(process::tool_error(
            "pg_dumpall",
            out.status,
            &String::from_utf8_lossy(&out.stderr),
            password,
        ));
    }
    String::from_utf8(out.stdout)
        .map_err(|_| Error::new(ErrorKind::ToolFailed, "pg_dumpall wrote invalid UTF-8"))
}

/// Bucket settings from the database's `storage.buckets` (Supabase), by bucket id; empty when
/// the database has no such table.
pub(crate) async fn bucket_settings(
    spec: &ConnSpec,
    password: Option<&str>,
) -> Result<BTreeMap<String, BucketSettings>> {
    let mut conn = spec.connect(password).await?;
    let read = read_bucket_settings(&mut conn, spec).await;
    let _ = conn.close().await;
    read
}

async fn read_bucket_settings(
    conn: &mut PgConnection,
    spec: &ConnSpec,
) -> Result<BTreeMap<String, BucketSettings>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('storage.buckets') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    if !exists {
        return Ok(BTreeMap::new());
    }
    /// id, public, file_size_limit, allowed_mime_types.
    type BucketRow = (String, Option<bool>, Option<i64>, Option<Vec<String>>);
    let rows: Vec<BucketRow> = sqlx::query_as(
        "SELECT id::text, public, file_size_limit::bigint, allowed_mime_types::text[] \
             FROM storage.buckets",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?;
    Ok(rows
        .into_iter()
        .map(|(id, public, limit, mimes)| {
            let settings = BucketSettings {
                public,
                file_size_limit: limit.map(|l| l.max(0) as u64),
                allowed_mime_types: mimes,
            };
            (id, settings)
        })
        .collect())
}
