//! The canary: a new backup compared with the previous good backup of the same project and type.
//! A drop past the thresholds (the archive much smaller, a table that lost most or all of its
//! rows, a table, schema or column gone) makes the backup *suspicious*: the early warning for a
//! bad migration, a runaway delete, or ransomware that encrypted the server.
//!
//! Pure: two manifests and two sizes in, findings out. What is done with them (the catalog's
//! flag, the alert) is `ops::canary`'s.

use crate::archive::{Manifest, TableCount};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// When a drop is suspicious. Percentages of what the previous backup had, 1–100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CanaryThresholds {
    /// The archive is this much smaller (default 50: half the size or less).
    pub archive_drop_pct: u32,
    /// A table lost this share of its rows (default 90). A table that lost all of its rows is
    /// suspicious at any threshold.
    pub table_drop_pct: u32,
}

impl Default for CanaryThresholds {
    fn default() -> Self {
        CanaryThresholds {
            archive_drop_pct: 50,
            table_drop_pct: 90,
        }
    }
}

impl CanaryThresholds {
    /// Refuses a percentage outside 1–100.
    pub fn check(&self) -> crate::error::Result<()> {
        for (what, v) in [
            ("the archive threshold", self.archive_drop_pct),
            ("the table threshold", self.table_drop_pct),
        ] {
            if !(1..=100).contains(&v) {
                return Err(crate::error::Error::invalid(format!(
                    "{what} must be a percentage from 1 to 100, not {v}"
                )));
            }
        }
        Ok(())
    }
}

/// One side of the comparison: an archive's size and its manifest.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub size: u64,
    pub manifest: &'a Manifest,
}

/// What dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// The archive shrank past the threshold.
    ArchiveSmaller { before: u64, after: u64 },
    /// A table lost rows past the threshold (or all of them).
    RowsDropped {
        schema: String,
        table: String,
        before: u64,
        after: u64,
    },
    /// A table the previous backup held is not in this one.
    TableGone { schema: String, table: String },
    /// A schema whose tables the previous backup held has none in this one.
    SchemaGone { schema: String },
    /// A column of a table is gone (when both manifests record columns).
    ColumnGone {
        schema: String,
        table: String,
        column: String,
    },
}

impl Finding {
    /// The finding in words, as the backup list and the alert say it
    /// (`public.orders: 120,431 → 12 rows`).
    pub fn describe(&self) -> String {
        match self {
            Finding::ArchiveSmaller { before, after } => format!(
                "archive {} smaller: {} → {}",
                percent_less(*before, *after),
                crate::units::format_bytes(*before),
                crate::units::format_bytes(*after)
            ),
            Finding::RowsDropped {
                schema,
                table,
                before,
                after,
            } => format!(
                "{schema}.{table}: {} → {} rows",
                grouped(*before),
                grouped(*after)
            ),
            Finding::TableGone { schema, table } => format!("{schema}.{table}: table gone"),
            Finding::SchemaGone { schema } => format!("schema {schema} gone"),
            Finding::ColumnGone {
                schema,
                table,
                column,
            } => format!("{schema}.{table}: column {column} gone"),
        }
    }
}

fn percent_less(before: u64, after: u64) -> String {
    if before == 0 {
        return "0 %".into();
    }
    let pct = (before.saturating_sub(after) as f64 / before as f64) * 100.0;
    format!("{pct:.0} %")
}

/// `120431` → `120,431`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether `after` is at least `pct` % less than `before` (integers only: no rounding).
fn dropped(before: u64, after: u64, pct: u32) -> bool {
    after < before && u128::from(before - after) * 100 >= u128::from(before) * u128::from(pct)
}

fn key(t: &TableCount) -> (String, String) {
    (t.schema.clone(), t.table.clone())
}

/// What dropped from `previous` to `new` past `thresholds` (empty: nothing suspicious). Tables
/// are compared only when both manifests record row counts (an imported foreign dump has
/// none); a per-tenant archive is never compared (it holds one tenant's part).
pub fn compare(previous: Side<'_>, new: Side<'_>, thresholds: CanaryThresholds) -> Vec<Finding> {
    // What dropped in the tables first (the news), the archive's size last.
    let mut out = tables_dropped(previous.manifest, new.manifest, thresholds);
    if dropped(previous.size, new.size, thresholds.archive_drop_pct) {
        out.push(Finding::ArchiveSmaller {
            before: previous.size,
            after: new.size,
        });
    }
    out
}

/// The tables' findings (none when either side records no row counts).
fn tables_dropped(p: &Manifest, n: &Manifest, thresholds: CanaryThresholds) -> Vec<Finding> {
    let mut out = Vec::new();
    if p.tables.is_empty() || n.tables_note.is_some() || p.tables_note.is_some() {
        return out;
    }
    let now: BTreeMap<(String, String), &TableCount> =
        n.tables.iter().map(|t| (key(t), t)).collect();
    let schemas_now: BTreeSet<&str> = n.tables.iter().map(|t| t.schema.as_str()).collect();
    let mut gone_schemas = BTreeSet::new();
    for t in &p.tables {
        if !schemas_now.contains(t.schema.as_str()) {
            gone_schemas.insert(t.schema.clone());
            continue;
        }
        let Some(after) = now.get(&key(t)) else {
            out.push(Finding::TableGone {
                schema: t.schema.clone(),
                table: t.table.clone(),
            });
            continue;
        };
        let all_gone = t.rows > 0 && after.rows == 0;
        if all_gone || dropped(t.rows, after.rows, thresholds.table_drop_pct) {
            out.push(Finding::RowsDropped {
                schema: t.schema.clone(),
                table: t.table.clone(),
                before: t.rows,
                after: after.rows,
            });
        }
        if let (Some(before), Some(cols)) = (&t.columns, &after.columns) {
            for c in before.iter().filter(|c| !cols.contains(c)) {
                out.push(Finding::ColumnGone {
                    schema: t.schema.clone(),
                    table: t.table.clone(),
                    column: c.clone(),
                });
            }
        }
    }
    out.extend(
        gone_schemas
            .into_iter()
            .map(|schema| Finding::SchemaGone { schema }),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(tables: &[(&str, &str, u64, &[&str])]) -> Manifest {
        let tables: Vec<serde_json::Value> = tables
            .iter()
            .map(|(s, t, rows, cols)| {
                serde_json::json!({"schema": s, "table": t, "rows": rows, "columns": cols})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "format_version": 1, "backup_id": "b", "project": "p", "type": "database",
            "created_at": "2026-11-20T00:00:00Z",
            "versions": {"tool": "t", "server": null, "pg_dump": null},
            "members": [], "tables": tables,
        }))
        .unwrap()
    }

    fn side(size: u64, m: &Manifest) -> Side<'_> {
        Side { size, manifest: m }
    }

    #[test]
    fn a_table_losing_most_rows_is_named_with_both_counts_and_churn_is_not() {
        let before = manifest(&[
            ("public", "orders", 120_431, &["id", "total"]),
            ("public", "users", 1000, &["id"]),
        ]);
        let after = manifest(&[
            ("public", "orders", 12, &["id", "total"]),
            ("public", "users", 970, &["id"]),
        ]);
        let f = compare(side(1000, &before), side(900, &after), Default::default());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].describe(), "public.orders: 120,431 → 12 rows");
        // A normal day: a few percent changed, the archive about the same.
        let churn = manifest(&[
            ("public", "orders", 118_000, &["id", "total"]),
            ("public", "users", 1010, &["id"]),
        ]);
        assert!(compare(side(1000, &before), side(990, &churn), Default::default()).is_empty());
    }

    #[test]
    fn gone_tables_schemas_columns_emptied_tables_and_a_halved_archive_are_found() {
        let before = manifest(&[
            ("public", "a", 10, &["id", "secret"]),
            ("public", "b", 5, &["id"]),
            ("audit", "log", 3, &["id"]),
            ("public", "tiny", 1, &["id"]),
        ]);
        let after = manifest(&[("public", "a", 10, &["id"]), ("public", "tiny", 0, &["id"])]);
        let f: Vec<String> = compare(side(1000, &before), side(500, &after), Default::default())
            .iter()
            .map(Finding::describe)
            .collect();
        assert_eq!(
            f,
            vec![
                "public.a: column secret gone",
                "public.b: table gone",
                "public.tiny: 1 → 0 rows",
                "schema audit gone",
                "archive 50 % smaller: 1000 B → 500 B",
            ]
        );
        // 49 % smaller is not past 50 %.
        assert!(compare(side(1000, &after), side(510, &after), Default::default()).is_empty());
        // A stricter project threshold.
        let t = CanaryThresholds {
            archive_drop_pct: 40,
            table_drop_pct: 10,
        };
        assert_eq!(compare(side(1000, &after), side(600, &after), t).len(), 1);
        assert!(CanaryThresholds {
            archive_drop_pct: 0,
            table_drop_pct: 90
        }
        .check()
        .is_err());
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(120_431), "120,431");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
