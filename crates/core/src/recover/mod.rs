//! Recovering chosen rows from a backup into a live database, with the rows they need (see
//! docs/recover.md): the rows of one table that match `COLUMN=VALUE` filters, every row they
//! reference that the target lacks (parents, transitively) and, when asked, every row that
//! references them (children, transitively: a tenant's subtree).
//!
//! The rows come straight from the backup's dump: each table's COPY data is streamed and
//! filtered by key (a semi-join along the foreign keys, table by table, until nothing new is
//! found), never restored whole first ([`select`]). The chosen rows are copied into temporary
//! tables of the target as COPY data (values never become SQL text), compared there with the
//! target's rows by key, and written in one transaction ([`apply`]) after an undo file of
//! every target row the recovery changes ([`undo`]).

mod apply;
mod chosen;
mod fkcheck;
mod keyset;
mod member_writes;
mod order;
mod schema;
mod select;
mod sql;
mod tenant;
mod tenant_dump;
mod triggers;
mod undo;

#[doc(hidden)]
pub use keyset::{key_runs_written, set_keys_in_memory};
pub use member_writes::{parse_member_write, MemberWrite};
pub use schema::parse_table_name;
pub use tenant::{check_member_writes, check_root, shape, TenantRoot, TenantShape, TenantTable};
pub use tenant_dump::{
    crosses_tenants, not_isolated, safe_value, tenant_dump, tenant_values, TenantDump,
    TenantDumpTable, MAX_TENANT_VALUES,
};
pub use triggers::{TriggerHandling, TriggerNote};
pub use undo::{
    read_header, register_left_undo, remove_left_undo, undo, undo_file_name, UndoHeader,
    UndoReport, UndoTable,
};

use crate::browse::ColumnEquals;
use crate::error::{Error, Result};
use crate::progress::Reporter;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// What to do with a row the target has with other values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// Keep the target's row (the default).
    #[default]
    Keep,
    /// Overwrite it with the backup's.
    Update,
}

impl std::str::FromStr for OnConflict {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "keep" => Ok(OnConflict::Keep),
            "update" => Ok(OnConflict::Update),
            _ => Err(Error::invalid(format!(
                "--on-conflict {s:?}: use keep or update"
            ))),
        }
    }
}

/// The columns that identify a row of a table without a primary or unique key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct KeyColumns {
    /// `SCHEMA.TABLE` (as [`parse_table_name`] reads it); `None`: the recovered table.
    pub table: Option<String>,
    pub columns: Vec<String>,
}

impl KeyColumns {
    /// `a,b` (the recovered table) or `SCHEMA.TABLE=a,b`.
    pub fn parse(s: &str) -> Result<KeyColumns> {
        let (table, cols) = match s.rsplit_once('=') {
            Some((t, c)) => (Some(t.trim().to_string()), c),
            None => (None, s),
        };
        let columns: Vec<String> = cols
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        if columns.is_empty() {
            return Err(Error::invalid(format!(
                "--key-columns {s:?} names no column"
            )));
        }
        Ok(KeyColumns { table, columns })
    }
}

/// Rows named one by one, by the values of columns that identify them: what the app sends for
/// rows chosen with checkboxes (Browse gives each row's key, [`crate::browse::RowPage::row_keys`];
/// Diff each changed row's, [`crate::diff::RowChange::key`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RowKeys {
    /// The identifying columns (the table's primary key as the dump declares it).
    pub columns: Vec<String>,
    /// One entry per chosen row: its values of `columns`, in their order, as text.
    pub values: Vec<Vec<String>>,
}

/// The most rows [`RowKeys`] may name (more are chosen with a filter).
pub const MAX_CHOSEN_ROWS: usize = 10_000;

/// The longest value [`RowKeys`] may give (a key is an index entry: far shorter).
pub const MAX_KEY_VALUE: usize = 64 << 10;

/// What to recover (the archive and the target are given beside it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RecoverRows {
    /// `SCHEMA.TABLE`.
    pub table: String,
    /// Every filter must match (`COLUMN=VALUE`, compared as the column's type reads it).
    pub filters: Vec<ColumnEquals>,
    /// Only these rows (and every filter must match them too): rows chosen one by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub keys: Option<RowKeys>,
    /// The rows that reference the chosen ones too, transitively.
    #[serde(default)]
    pub children: bool,
    #[serde(default)]
    pub on_conflict: OnConflict,
    #[serde(default)]
    pub key_columns: Vec<KeyColumns>,
    /// Write with the target's user triggers firing (`--fire-triggers`): they may change or
    /// refuse the rows written. Without it they do not fire (docs/recover.md), or the recovery
    /// is refused when this role cannot keep them from firing.
    #[serde(default)]
    pub fire_triggers: bool,
}

/// Why a table takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum TableRole {
    /// The table the filters choose rows of.
    Chosen,
    /// Rows referencing chosen rows (`--children`).
    Child,
    /// Rows the chosen ones reference: inserted only when the target lacks them.
    Parent,
}

/// One table of a recovery: what the backup gives and what happens to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TableRecovery {
    pub schema: String,
    pub table: String,
    pub role: TableRole,
    /// The foreign keys that led here from the chosen table (`tasks.project_id → projects`…).
    pub path: Vec<String>,
    /// Rows taken from the backup.
    pub rows: u64,
    /// Missing from the target: inserted.
    pub insert: u64,
    /// Different in the target: overwritten (`--on-conflict update`).
    pub update: u64,
    /// Equal in the target: left.
    pub unchanged: u64,
    /// Different in the target: kept (`--on-conflict keep`).
    pub conflict: u64,
    /// Rows needed only as parents that the target already has: left as they are.
    pub parents_present: u64,
    /// The target's enabled user triggers on this table: they do not fire on the recovery's
    /// writes unless `fire_triggers` (see the report's `trigger_handling`).
    pub triggers: Vec<String>,
    /// Those triggers described: when they fire, their function, what they would have done.
    #[serde(default)]
    pub trigger_notes: Vec<TriggerNote>,
    /// Columns of `sample`.
    pub columns: Vec<String>,
    /// A few rows that will be inserted or updated (values as text, `None` for NULL).
    pub sample: Vec<Vec<Option<String>>>,
}

/// A recovery's plan (`dry_run`) or its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RecoverReport {
    pub archive: String,
    /// The target, for people (no password).
    pub target: String,
    pub dry_run: bool,
    pub tables: Vec<TableRecovery>,
    /// The undo file's id (`offsite recover --undo ID`), when rows were written.
    pub undo_id: Option<String>,
    /// Things worth knowing (tables of the target the backup has no data for…).
    pub notes: Vec<String>,
    /// Rows read from the backup's dump (all rows of the tables read, every pass).
    pub rows_read: u64,
    pub duration_ms: u64,
    /// How the target's user triggers were kept from firing, or that they fired.
    #[serde(default)]
    pub trigger_handling: TriggerHandling,
    /// Foreign keys of the written tables checked at the end (all held: else nothing is written).
    #[serde(default)]
    pub foreign_keys_checked: u64,
}

/// Everything a recovery needs besides the connection.
pub struct RecoverInput<'a> {
    pub archive: &'a Path,
    pub target_label: String,
    /// What `--undo` reconnects with: a project's name or a URL without its password.
    pub target_ref: String,
    pub rows: &'a RecoverRows,
    pub dry_run: bool,
    /// Where undo files go (created 0700).
    pub undo_dir: PathBuf,
    /// The undo file's id, and when it was made (RFC 3339).
    pub undo_id: String,
    pub created_at: String,
    pub reporter: &'a Reporter,
    pub cancel: &'a CancellationToken,
    /// Told the recovery's transaction id before it writes anything (the job's journal: if the
    /// process dies, the next start asks the server whether that transaction committed).
    pub journal: Option<&'a dyn RecordTxid>,
}

/// Records a recovery's transaction id where the next start finds it (issue 63). A failure
/// stops the recovery before it writes.
pub trait RecordTxid: Send + Sync {
    fn record(&self, txid: i64) -> futures::future::BoxFuture<'_, Result<()>>;
}

/// Plans the recovery of `input.rows` from the archive into the database behind `conn`, and
/// (unless `dry_run`) carries it out in one transaction with an undo file written first.
pub async fn recover(conn: &mut PgConnection, input: RecoverInput<'_>) -> Result<RecoverReport> {
    let started = std::time::Instant::now();
    apply::session_settings(conn).await?;
    let schema = schema::Schema::read(conn).await?;
    let (archive, cancel) = (input.archive.to_path_buf(), input.cancel.clone());
    let listed = tokio::task::spawn_blocking(move || crate::browse::list_tables(&archive, &cancel))
        .await
        .map_err(|e| Error::internal(format!("the recovery's reader failed: {e}")))??;
    if !listed.readable {
        return Err(Error::new(
            crate::error::ErrorKind::UnsupportedFormat,
            format!(
                "rows cannot be read from this backup: {}",
                listed.note.unwrap_or_default()
            ),
        ));
    }
    let in_dump = listed
        .tables
        .iter()
        .map(|t| (t.schema.clone(), t.name.clone()))
        .collect();
    let graph = select::Graph::build(&schema, input.rows, &in_dump)?;
    let filters = chosen::normalize(conn, &schema, &graph, input.rows).await?;
    let order = order::insert_order(&schema, &graph)?;
    let spool_dir = crate::private_fs::tempdir("offsite-recover-")
        .map_err(|e| Error::io("making a temporary folder for the recovery", e))?;
    let (archive, dir) = (input.archive.to_path_buf(), spool_dir.path().to_path_buf());
    let (cancel, sel_graph) = (input.cancel.clone(), graph.clone());
    let reporter = input.reporter.clone();
    let selection = tokio::task::spawn_blocking(move || {
        select::select(&archive, &sel_graph, &filters, &dir, &reporter, &cancel)
    })
    .await
    .map_err(|e| Error::internal(format!("the recovery's reader failed: {e}")))??;
    input
        .reporter
        .phase(crate::progress::Phase::Restoring, None);
    let mut report = apply::apply(conn, &schema, &graph, &order, &selection, &input).await?;
    report.rows_read = selection.rows_read;
    report.notes.extend(graph.notes.iter().cloned());
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}
