//! Diff: two backups, or a backup and a database as it is now, compared table by table (issue
//! 45). Per table: identical, changed, only in one side; for a table in both, its rows added,
//! removed, changed and unchanged by primary key (tables without one: whole rows as a
//! multiset), and its columns added, removed and retyped; on request, the changed rows
//! themselves, a page at a time.
//!
//! How it reads:
//! - Two backups whose manifests recorded equal digests of a table (SHA-256 of its COPY text),
//!   with equal columns and equal session settings, are identical without reading a row.
//! - Otherwise each side's rows are streamed as COPY text lines: from a backup straight out of
//!   its dump ([`crate::browse::read_table_lines`]), from a live database with `COPY … TO
//!   STDOUT` inside one `REPEATABLE READ READ ONLY` transaction, under the session settings the
//!   backup's digests were made under (so equal values are equal bytes).
//! - Both sides are read at once, each on its own thread, and their rows matched as they arrive
//!   ([`lockstep`]): the two streams are walked side by side in the dumps' order (a table's
//!   physical order, which only changed rows leave), equal rows at the two heads are unchanged
//!   without being hashed or kept, and only rows not yet matched are held.
//! - Memory stays bounded by hash partitioning ([`spill`]): past [`lockstep::PENDING_BUDGET`]
//!   of unmatched rows, they go to private temporary files, `P` partitions a side by a hash of
//!   the key, `P` chosen so a partition holds about [`spill::PART_BUDGET`] bytes (at most
//!   [`spill::MAX_PARTS`]); at the end one partition of FROM at a time is held in a hash table
//!   and the same partition of TO streamed past it. Peak memory is about the unmatched rows'
//!   budget or one partition; time and disk are at worst linear in the table's size. A table
//!   larger than `PART_BUDGET × MAX_PARTS` (4 GiB) holds proportionally larger partitions.

mod live;
mod lockstep;
mod names;
mod run;
mod spill;
pub use spill::set_hash_keys;
#[cfg(test)]
mod tests;

pub use names::{parse_table_name, TableName};
pub use run::{diff, Side};

use serde::{Deserialize, Serialize};

/// What to compare and what to show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DiffOptions {
    /// Only these tables (empty: every table of either side).
    #[serde(default)]
    pub tables: Vec<TableName>,
    /// List the changed rows of changed tables (a page of them: `offset`, `limit`).
    #[serde(default)]
    pub rows: bool,
    /// Changed rows skipped before the page (per table).
    #[serde(default)]
    pub offset: u64,
    /// Changed rows in a page (0: [`DEFAULT_ROW_PAGE`]; at most [`MAX_ROW_PAGE`]).
    #[serde(default)]
    pub limit: u32,
}

pub const DEFAULT_ROW_PAGE: u32 = 50;
pub const MAX_ROW_PAGE: u32 = 1000;

/// Two sides compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DiffReport {
    /// What FROM and TO are (a backup's id and time, or `PROJECT (live)`).
    pub from: String,
    pub to: String,
    /// One entry per table, sorted by schema and name.
    pub tables: Vec<TableDiff>,
    /// Bytes of table rows read from both sides (COPY text); tables with equal digests add none.
    pub bytes_read: u64,
    /// What the reader should know about the comparison as a whole.
    pub notes: Vec<String>,
}

/// How a table compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    Identical,
    Changed,
    OnlyInFrom,
    OnlyInTo,
}

/// How a table's rows were matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ComparedBy {
    /// The recorded digests are equal: no row was read.
    Digest,
    /// Rows matched by primary key.
    PrimaryKey,
    /// No primary key: whole rows compared as a multiset (a changed row counts as one removed
    /// and one added).
    WholeRow,
    /// In one side only: nothing to compare.
    NotCompared,
}

/// One table's comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TableDiff {
    pub schema: String,
    pub table: String,
    pub status: TableStatus,
    pub compared_by: ComparedBy,
    /// The key rows were matched by (empty unless `compared_by` is `primary_key`).
    pub key: Vec<String>,
    /// Rows in each side (a backup's recorded count, or the rows read).
    pub rows_from: Option<u64>,
    pub rows_to: Option<u64>,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub columns_added: Vec<DiffColumn>,
    pub columns_removed: Vec<DiffColumn>,
    pub columns_retyped: Vec<Retyped>,
    /// Bytes of this table's rows read (0 when the digests said identical).
    pub bytes_read: u64,
    /// With `rows`: a page of the changed rows (added, removed, changed), in a stable order.
    pub rows: Vec<RowChange>,
    pub rows_offset: u64,
    /// Whether more changed rows follow the page.
    pub rows_more: bool,
    pub note: Option<String>,
}

/// A column and its type (as `format_type` writes it; `None` when unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DiffColumn {
    pub name: String,
    pub data_type: Option<String>,
}

/// A column whose type differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Retyped {
    pub name: String,
    pub from: String,
    pub to: String,
}

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum RowChangeKind {
    Added,
    Removed,
    Changed,
}

/// One changed row: its key and, per column that differs, before → after (an added row has
/// every column with only `after`, a removed one only `before`). Values are COPY's text form,
/// `None` for NULL, cut to [`crate::browse::MAX_SHOWN_VALUE`] bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RowChange {
    pub kind: RowChangeKind,
    /// The key's values (column, value); empty for a table compared by whole rows.
    pub key: Vec<KeyValue>,
    pub columns: Vec<ValueChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct KeyValue {
    pub column: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ValueChange {
    pub column: String,
    pub before: Option<String>,
    pub after: Option<String>,
}
