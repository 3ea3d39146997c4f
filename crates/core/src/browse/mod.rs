//! A look inside a backup without restoring it and without a database server: the tables of its
//! `database.dump` (row counts, sizes, columns, pages of rows with a filter, a CSV export equal
//! to `COPY … TO STDOUT WITH (FORMAT csv, HEADER)` of the source) and its storage objects (list,
//! preview, save one).
//!
//! Everything is read through [`ArchiveSeeker`](crate::archive::random_access::ArchiveSeeker): the
//! dump's data blocks are reached without inflating what is in front of them, and a table is
//! streamed row by row (never held), so memory stays bounded however large it is. See
//! docs/browse.md.

mod coltypes;
mod copytext;
mod create_table;
#[cfg(test)]
mod create_table_tests;
mod lines;
mod objects;
mod plain;
mod stream;
mod tables;
#[cfg(test)]
mod tests;

pub use copytext::CopyRow;
pub use lines::{primary_keys, read_table_lines, PrimaryKeys};
pub use objects::{list_objects, object_preview, save_object};
pub use stream::{escape_field, for_each_row_line, raw_fields};
pub use tables::{dump_toc, export_table_csv, list_tables, rows_page};

use crate::storage::BucketEntry;
use serde::{Deserialize, Serialize};

/// What a backup's database holds, table by table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BrowseTables {
    pub backup_id: String,
    pub project: String,
    /// RFC 3339.
    pub created_at: String,
    /// Whether table data can be read from this backup (false: `note` says why).
    pub readable: bool,
    /// Why the tables' data cannot be read (a plain SQL dump, an unsupported compression, no
    /// database in this backup).
    pub note: Option<String>,
    /// Schemas that hold tables, sorted.
    pub schemas: Vec<String>,
    /// Tables with data in the dump, in dump order.
    pub tables: Vec<TableInfo>,
    /// A selective backup: what it left out (a table kept without its rows is not listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub selection: Option<crate::selection::BackupSelection>,
}

/// One table of a backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TableInfo {
    pub schema: String,
    pub name: String,
    /// Exact row count recorded at backup time (absent for imported dumps).
    pub rows: Option<u64>,
    /// Bytes of the table's data in the dump (COPY text), when recorded.
    pub data_bytes: Option<u64>,
    /// Column names (from the dump's COPY statement).
    pub columns: Vec<String>,
    /// Each column's type as the dump's `CREATE TABLE` statement gives it (`numeric(10,2)[]`,
    /// `timestamp with time zone`, …), in the order of `columns`; `None` when it cannot be read
    /// from there (display only: never executed).
    #[serde(default)]
    pub column_types: Vec<Option<String>>,
    /// Why some column types are not shown.
    #[serde(default)]
    pub types_note: Option<String>,
    /// Whether its rows can be read here.
    pub readable: bool,
}

/// A page of a table's rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RowPage {
    pub schema: String,
    pub table: String,
    /// Column names, in the order of each row's values.
    pub columns: Vec<String>,
    /// Each column's type (as in [`TableInfo::column_types`]), in the order of `columns`.
    #[serde(default)]
    pub column_types: Vec<Option<String>>,
    /// Why some column types are not shown.
    #[serde(default)]
    pub types_note: Option<String>,
    /// Each value as text (COPY's text form: what `psql` shows), `None` for NULL. A value longer
    /// than [`MAX_SHOWN_VALUE`] bytes is cut (see `cut_values`).
    pub rows: Vec<Vec<Option<String>>>,
    /// Matching rows skipped before this page.
    pub offset: u64,
    /// Whether more matching rows follow.
    pub more: bool,
    /// Rows read to make this page (all rows up to its end, matching or not).
    pub scanned: u64,
    /// The table's row count recorded at backup time.
    pub total_rows: Option<u64>,
    /// Whether some value of this page was cut to [`MAX_SHOWN_VALUE`] bytes.
    pub cut_values: bool,
    /// The columns that name a row (the dump's primary key): what a recovery of chosen rows
    /// is given ([`crate::recover::RowKeys`]). Empty: the dump declares no key for this table
    /// (or a plain SQL dump, which declares keys after the data), and rows are chosen by a filter.
    #[serde(default)]
    pub key: Vec<String>,
    /// Per row of `rows`, its `key` values whole (never cut), `None` for a row with a NULL in
    /// them; empty when `key` is.
    #[serde(default)]
    pub row_keys: Vec<Option<Vec<String>>>,
}

/// A value longer than this is shown cut (the CSV export has it whole).
pub const MAX_SHOWN_VALUE: usize = 4096;

/// The longest row read (a table row of COPY text); longer is refused, not held.
pub const MAX_ROW: usize = 256 << 20;

/// Which rows a page shows. Both parts are optional; a row must match every part given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RowFilter {
    /// Rows where some value contains this text (case-insensitive).
    #[serde(default)]
    pub contains: Option<String>,
    /// Rows where this column's value is exactly this text (never a NULL).
    #[serde(default)]
    pub column_equals: Option<ColumnEquals>,
}

/// `column = value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ColumnEquals {
    pub column: String,
    pub value: String,
}

impl ColumnEquals {
    /// `COLUMN=VALUE` (spaces around the column name are dropped; the value is kept as given).
    /// The column may be double-quoted as SQL writes it (`"createdAt"=…`, `"a""b"=…`, `"x=y"=…`),
    /// which is how a name holding `=` is given.
    pub fn parse(s: &str) -> crate::Result<Self> {
        if let Some(quoted) = s.trim_start().strip_prefix('"') {
            return Self::parse_quoted(s, quoted);
        }
        let Some((column, value)) = s.split_once('=') else {
            return Err(crate::Error::invalid(format!("{s:?} is not COLUMN=VALUE")));
        };
        let column = column.trim();
        if column.is_empty() {
            return Err(crate::Error::invalid(format!("{s:?} names no column")));
        }
        Ok(ColumnEquals {
            column: column.to_string(),
            value: value.to_string(),
        })
    }

    /// After the opening quote: the name up to the closing one (`""` is a quote), then `=`.
    fn parse_quoted(s: &str, rest: &str) -> crate::Result<Self> {
        let mut column = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '"' {
                column.push(c);
                continue;
            }
            if rest[i + 1..].starts_with('"') {
                column.push('"');
                chars.next();
                continue;
            }
            let Some(value) = rest[i + 1..].trim_start().strip_prefix('=') else {
                return Err(crate::Error::invalid(format!(
                    "{s:?} is not COLUMN=VALUE (after the quoted column comes `=`)"
                )));
            };
            if column.is_empty() {
                return Err(crate::Error::invalid(format!("{s:?} names no column")));
            }
            return Ok(ColumnEquals {
                column,
                value: value.to_string(),
            });
        }
        Err(crate::Error::invalid(format!(
            "{s:?}: the column's quote is not closed"
        )))
    }
}

/// A table written as CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CsvExport {
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
}

/// Which storage objects to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObjectQuery {
    /// Only this bucket.
    #[serde(default)]
    pub bucket: Option<String>,
    /// Only keys starting with this.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Only objects whose `bucket/key` contains this text (case-insensitive).
    #[serde(default)]
    pub search: Option<String>,
    #[serde(default)]
    pub offset: u64,
    /// At most this many (0: 100; at most [`MAX_OBJECT_PAGE`]).
    #[serde(default)]
    pub limit: u32,
}

/// The most objects one page lists (a larger `limit` is cut to this; page on with `offset`).
pub const MAX_OBJECT_PAGE: u32 = 1000;

/// A page of a backup's storage objects (from its `storage.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObjectPage {
    pub buckets: Vec<BucketEntry>,
    pub objects: Vec<ObjectInfo>,
    /// Objects matching the query.
    pub total: u64,
    pub offset: u64,
    pub more: bool,
}

/// One storage object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObjectInfo {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    pub content_type: Option<String>,
    pub last_modified: Option<String>,
    pub sha256: String,
    /// False when the bytes are in the base backup (an incremental backup's unchanged object).
    pub in_archive: bool,
    /// What a preview would show.
    pub preview: PreviewKind,
}

/// How an object can be previewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum PreviewKind {
    Image,
    Text,
    None,
}

/// An object's preview: the first bytes of a text, or a whole (small) image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObjectPreview {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    pub content_type: Option<String>,
    pub kind: PreviewKind,
    /// `kind` text: the first bytes as text (invalid UTF-8 replaced).
    pub text: Option<String>,
    /// `kind` image: the bytes, base64 (standard alphabet, padded).
    pub image_base64: Option<String>,
    /// Whether `text` is only the start of the object.
    pub truncated: bool,
    /// Why there is nothing to show (`kind` none): too large, not text or image, …
    pub note: Option<String>,
}

/// Largest preview asked for.
pub const MAX_PREVIEW: u64 = 8 << 20;

/// An object saved to a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SavedObject {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}
