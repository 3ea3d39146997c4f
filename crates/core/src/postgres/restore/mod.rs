//! Restore: plan, then execute, then validate.
//!
//! The plan is computed without changing anything: what the target holds now, what the backup
//! will create or replace, which roles are missing, which pg_restore will run. The same plan
//! drives `offsite restore --dry-run` and the desktop wizard's review step.
//!
//! Execution streams `database.dump` from the archive into `pg_restore --single-transaction`, so
//! a failure rolls everything back. The last bytes of the stream are held back until the
//! member's SHA-256 has been checked: a corrupt archive is detected before pg_restore can commit.
//! A directory dump (format 2) restored by `pg_restore -j` cannot be one transaction: each
//! table's rows are checked as they stream to pg_restore, the end held back until the check
//! passed (a damaged member never commits), and a failure or a cancel drops what it created
//! ([`undo`]).
//! Replacing a non-empty database needs explicit consent and takes a safety backup first.

pub mod as_role;
mod dir;
mod execute;
mod extract_par;
mod member;
pub mod new_database;
mod parallel;
mod plain;
mod plan;
pub(crate) mod replace;
mod roles;
mod rows_order;
mod script;
mod select;
mod streamed;
pub(crate) mod tmp;
pub(crate) mod toc;
mod undo;
pub mod undo_grants;
mod validate;

pub use execute::execute;
pub(crate) use execute::feed_dump;
pub use plan::plan;
pub(crate) use roles::quote_literal;
pub use roles::RoleToCreate;
pub use script::{ManagedSchema, OwnedByOthers};
pub use select::{LeftOutKey, SelectWhat, Selection, SelectionPlan};
pub use validate::validate;

use crate::archive::Manifest;
use crate::error::Error;
use crate::postgres::conn::ConnSpec;
use crate::postgres::tools::PgTools;
use serde::Serialize;
use std::path::PathBuf;

/// Where to restore to.
#[derive(Clone)]
pub struct RestoreTarget {
    pub spec: ConnSpec,
    pub password: Option<String>,
}

/// Takes the safety backup of a target before anything in it is replaced. The restore only calls
/// it; the operation that runs the restore supplies it (a database-only archive of the target,
/// compressed and encrypted like the project's backups), so the restore does not compose
/// archives itself.
pub trait TakeSafetyBackup: Send + Sync {
    /// The written archive's path (complete and fsynced), or why none could be taken.
    fn take<'a>(
        &'a self,
        target: &'a RestoreTarget,
        cancel: &'a tokio_util::sync::CancellationToken,
    ) -> futures::future::BoxFuture<'a, crate::error::Result<PathBuf>>;
}

/// The safety backup a restore takes ([`RestoreOptions::safety`]).
#[derive(Clone)]
pub struct SafetyTaker(pub std::sync::Arc<dyn TakeSafetyBackup>);

impl std::fmt::Debug for SafetyTaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SafetyTaker")
    }
}

/// What undoing a restore into `target` would need if it is stopped part way, read now (before
/// it writes): the target's schemas and extensions. A restore to a time records it for its
/// replay, which is not one transaction whichever way its base was restored.
pub async fn undo_before(target: &RestoreTarget) -> crate::error::Result<ParallelUndo> {
    let before = undo::Before::read(&target.spec, target.password.as_deref()).await?;
    Ok(before.to_undo(&undo::session_name()))
}

/// What a restore is about to do to its target, handed to [`RecordJournal`] before it writes
/// anything (issue 63): if its process dies, the next start of Offsite reads it back to return
/// the target to how it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum JournalNote {
    /// `pg_restore -j` into a target that meets nothing of the backup (not one transaction):
    /// what it creates is dropped again ([`undo_interrupted`]).
    Parallel(ParallelUndo),
    /// One transaction: the server rolls it back when its session dies. `safety_backup`: the
    /// target as it was before a replace.
    OneTransaction { safety_backup: Option<PathBuf> },
}

/// What undoing a parallel restore needs: the schemas and extensions the target had before it,
/// and the `application_name` of its pg_restore sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ParallelUndo {
    pub schemas: Vec<String>,
    pub extensions: Vec<String>,
    pub session: String,
    /// The privileges a restore can change without creating anything (grants, owner and
    /// comment of the schemas the target had, default privileges); absent in a journal written
    /// before Offsite read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileges: Option<undo_grants::Held>,
}

/// Records a restore's [`JournalNote`] where the next start finds it (the operation supplies
/// it: the catalog's journal of the job). A failure to record stops the restore before it writes.
pub trait RecordJournal: Send + Sync {
    fn record(&self, note: JournalNote)
        -> futures::future::BoxFuture<'_, crate::error::Result<()>>;
}

/// The journal a restore records in ([`RestoreOptions::journal`]).
#[derive(Clone)]
pub struct Journal(pub std::sync::Arc<dyn RecordJournal>);

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal")
    }
}

/// Drop what an interrupted parallel restore of the archive at `archive` (a directory dump)
/// created in `target`, which held none of the backup's objects and the schemas and extensions
/// of `undo` before it: the same undo as a failed one's ([`undo`]), its leftover sessions ended
/// first.
pub async fn undo_interrupted(
    pg_bin: Option<&std::path::Path>,
    target: &RestoreTarget,
    archive: &std::path::Path,
    undo: &ParallelUndo,
) -> crate::error::Result<()> {
    let (spec, pw) = (&target.spec, target.password.as_deref());
    let major = {
        let mut conn = spec.connect(pw).await?;
        let info = crate::postgres::conn::server_info(&mut conn, spec).await?;
        let _ = sqlx::Connection::close(conn).await;
        info.major()
    };
    let tools = crate::postgres::tools::find_for(major, pg_bin)?;
    let path = archive.to_path_buf();
    let toc = tokio::task::spawn_blocking(move || toc::read(&tools, &path, true))
        .await
        .map_err(join_err)??;
    let before = undo::Before::from_undo(undo);
    undo::undo(spec, pw, &toc, &before, &undo.session).await
}

/// What the user consented to.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Allow restoring into a database that is not empty (objects in the backup are dropped and
    /// recreated; others are kept).
    pub replace: bool,
    /// Skip the safety backup of a non-empty target.
    pub no_safety_backup: bool,
    /// Create the roles the backup needs that the target server lacks, from its globals.sql:
    /// attributes (SUPERUSER, REPLICATION and BYPASSRLS only when the connecting role is a
    /// superuser) and memberships, without passwords; in the restore's transaction.
    pub create_roles: bool,
    /// Objects owned by roles the connecting role cannot act for are restored owned by the
    /// connecting role; what cannot change owner (policies, triggers on such tables, event
    /// triggers that need a superuser) is left out, listed in the plan.
    pub no_owner: bool,
    /// Configured location of pg_restore.
    pub pg_bin: Option<PathBuf>,
    /// Takes the safety backup before a replace (the operation arranges it: where, compressed
    /// and encrypted how; `None`: a replace that needs one is refused).
    pub safety: Option<SafetyTaker>,
    /// Restore only these schemas or tables (empty: the whole backup).
    pub selection: Selection,
    /// Run the statements of the backup's SQL that pg_dump never writes (`COPY … FROM
    /// PROGRAM`, `ALTER SYSTEM`, `DO` blocks, …: the plan's `arbitrary_sql`). Without it a
    /// backup holding any is refused (`arbitrary_sql`).
    pub allow_arbitrary_sql: bool,
    /// pg_restore's workers for a directory dump (format 2) restored into an empty target
    /// (`None`: the machine's cores).
    pub jobs: Option<u32>,
    /// A big table's ranges loaded in order on one connection ([`crate::restore::DatabaseOptions::keep_heap_order`]).
    pub keep_heap_order: bool,
    /// Where the backup came from, when not from this computer's own backups ("was imported
    /// from a file"): a superuser restore of it is warned about, since its functions run with
    /// the connecting role's rights.
    pub untrusted_origin: Option<String>,
    /// Where the restore records what it is about to do before it writes (the job's journal;
    /// `None`: nowhere, as in a drill's throwaway cluster).
    pub journal: Option<Journal>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DatabasePlan {
    pub archive: PathBuf,
    pub backup_id: String,
    pub project: String,
    pub created_at: String,
    pub source_server_version: Option<String>,
    /// The target, without any password.
    pub target: String,
    pub target_database: String,
    pub target_server_version: String,
    /// The tool that restores (psql for a plain SQL dump, else pg_restore): its path and its
    /// version line (`psql (PostgreSQL) 16.4`).
    pub pg_restore: String,
    pub pg_restore_version: String,
    /// The restore meets nothing in the target: none of what it creates exists there (with a
    /// selection: none of the selected objects; with `into_schema`: nothing, it all goes into
    /// a new schema). See `target_objects` for what the target holds at all.
    pub target_empty: bool,
    /// How many objects the target database holds (schemas, tables, views, functions, types
    /// and the like, outside the schemas other roles own), whether or not the restore touches
    /// them.
    #[cfg_attr(feature = "specta", specta(optional))]
    pub target_objects: u64,
    /// What of the target the restore meets (first 200).
    pub existing: Vec<String>,
    /// Tables (partitioned parents and partitions included), views and functions of the backup
    /// that exist in the target and will be dropped and recreated: `schema.table` for tables,
    /// `view schema.name`, `function schema.name(argument types)` and the like for the others.
    pub will_replace: Vec<String>,
    /// How many of `will_replace` are tables (partitioned parents and partitions included):
    /// what the review's warning counts ("Replaces 2 tables in app on db.example.com").
    pub will_replace_tables: u64,
    /// Tables, views and functions of the backup that the target lacks (named as above).
    pub will_create: Vec<String>,
    /// Tables, views and functions of the target that are not in the backup and stay as they are
    /// (named as above). What the replace drops because it depends on replaced objects is not
    /// here but in a warning.
    pub will_keep: Vec<String>,
    /// Objects of the target that are not in the backup but depend on objects it replaces, so
    /// replacing drops them too: a view over a replaced table, a partition added since the
    /// backup, a column default or trigger using a replaced function, a foreign key into a
    /// replaced table.
    pub will_drop: Vec<String>,
    /// Roles the backup needs that the target server lacks (the roles its objects, grants and
    /// policies name, and the roles those are granted to).
    pub missing_roles: Vec<String>,
    /// What `--create-roles` creates for them (from the backup's globals.sql).
    pub roles_to_create: Vec<RoleToCreate>,
    /// The role the restore connects as, and whether it is a superuser.
    pub connecting_role: String,
    pub connecting_superuser: bool,
    /// Schemas of the target that other roles own (a Supabase project's `auth`, `storage`, …):
    /// their objects are kept, the backup's rows loaded into their empty tables, the backup's
    /// objects they lack added.
    pub managed_schemas: Vec<ManagedSchema>,
    /// Objects owned by roles the connecting role cannot act for.
    pub owned_by_others: Vec<OwnedByOthers>,
    /// Objects only a superuser can create (event triggers).
    pub superuser_only: Vec<String>,
    /// Objects the target's platform owns (a `pg_catalog` function, an extension's function, a
    /// platform schema) whose privileges the backup sets and the connecting role may not grant
    /// (it neither acts for the owner nor holds the grant option), and objects of the server's
    /// own catalog (`pg_catalog`) whose privileges in the backup give a role a power over the
    /// server, without `allow_arbitrary_sql`: their privileges are kept as the target has them,
    /// each listed with why and the statements left out. `function pg_catalog.lo_export(oid,
    /// text) (owner supabase_admin): kept as the target has them, left out: REVOKE …`.
    #[serde(default)]
    pub platform_privileges: Vec<String>,
    /// What will not be restored, and why (chosen with `no_owner`).
    pub left_out: Vec<String>,
    /// The target database does not exist yet: the plan was read from `template1`, which a new
    /// database is a copy of (see `may_create_database`, `creates_database`).
    #[serde(default)]
    pub database_missing: bool,
    /// Whether the connecting role may create databases on the target's server (read when the
    /// database is missing).
    #[serde(default)]
    pub may_create_database: bool,
    /// The restore creates the target database first, empty (asked for, and it is missing).
    #[serde(default)]
    pub creates_database: bool,
    pub replace: bool,
    pub safety_backup: bool,
    pub create_roles: bool,
    pub no_owner: bool,
    /// What of the backup is restored, when not all of it.
    pub selection: Option<SelectionPlan>,
    /// Every table of the backup, to choose from.
    pub backup_tables: Vec<BackupTable>,
    /// Total rows the backup recorded.
    pub rows: u64,
    /// Whether the backup recorded its row counts, so `rows` is what the restore loads; an
    /// imported pg_dump or SQL file did not (`rows` is then 0, and unknown).
    #[cfg_attr(feature = "specta", specta(optional))]
    pub rows_recorded: bool,
    /// Whether the restore runs in one transaction, so that a failure or a cancel is rolled
    /// back. `false` when a directory dump (format 2) is restored by `pg_restore -j` into a
    /// target it meets nothing in: every member is checked before the first row is loaded, and
    /// a failure or a cancel drops what the restore created (the warnings say so too).
    pub one_transaction: bool,
    /// Why execution would refuse, if it would.
    pub blockers: Vec<String>,
    pub warnings: Vec<String>,
    /// Statements of the backup's SQL that pg_dump never writes (the first 100): what each
    /// does on the database server, and its start. Restoring them needs
    /// `allow_arbitrary_sql`.
    pub arbitrary_sql: Vec<crate::plainsql::classify::ArbitrarySql>,
    /// How many such statements there are in all.
    pub arbitrary_sql_total: u64,
    pub allow_arbitrary_sql: bool,
}

/// A table of the backup.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupTable {
    pub schema: String,
    pub table: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TableCheck {
    pub schema: String,
    pub table: String,
    pub expected: u64,
    pub actual: Option<u64>,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DatabaseReport {
    pub plan: DatabasePlan,
    /// All tables hold the rows the manifest recorded (vacuously true when none were recorded:
    /// see `rows_not_recorded`).
    pub ok: bool,
    /// Set when the backup recorded no row counts (an imported pg_dump file): says that nothing
    /// was compared, so the restore is not validated. Absent when the counts were compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub rows_not_recorded: Option<String>,
    pub duration_ms: u64,
    pub tables: Vec<TableCheck>,
    pub safety_backup: Option<PathBuf>,
}

/// A computed plan with what executing it needs.
pub struct Prepared {
    pub plan: DatabasePlan,
    pub(crate) manifest: Manifest,
    pub(crate) tools: PgTools,
    pub(crate) toc: toc::FullToc,
    pub(crate) decisions: script::Decisions,
    pub(crate) superuser: bool,
    pub(crate) selected: Option<select::Selected>,
    /// Rows only, replacing: the selected tables that hold rows, emptied first.
    pub(crate) truncate: Vec<String>,
    /// Rows only: the tables' enabled triggers, disabled for the load and enabled after.
    pub(crate) triggers: (Vec<String>, Vec<String>),
    /// Rows only: the selected tables in the order the target's foreign keys load them.
    pub(crate) data_order: Vec<(String, String)>,
    pub(crate) clean_phase_runs: bool,
    /// The backup's database is plain SQL (`database.sql`), restored through psql.
    pub(crate) plain: bool,
    /// The backup's database is a directory dump (format 2, `database/`).
    pub(crate) directory: bool,
}

pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn join_err(e: tokio::task::JoinError) -> Error {
    Error::internal(format!("worker task failed: {e}"))
}

impl DatabasePlan {
    /// The error a restore of this plan is refused with, before it changes anything (`None`:
    /// it goes ahead). `--dry-run` of a refused plan exits with the code of this error.
    pub fn refusal(&self) -> Option<Error> {
        if self.arbitrary_sql_total > 0 && !self.allow_arbitrary_sql {
            let found = crate::plainsql::classify::Findings {
                first: self.arbitrary_sql.clone(),
                total: self.arbitrary_sql_total,
            };
            return Some(found.refusal());
        }
        execute::refusal(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
