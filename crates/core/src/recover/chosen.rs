//! Which rows of the chosen table a recovery starts from, as the request names them: `COLUMN=VALUE`
//! filters that must all match, and rows named one by one by their key ([`RowKeys`]: rows ticked
//! in Browse or Diff). Each value is read as its column's type in the target (a bound parameter,
//! never SQL text) and written as COPY text, so it compares byte for byte with the dump's rows.

use super::schema::{Schema, Table};
use super::select::{digest, Graph, Key};
use super::{RecoverRows, RowKeys, MAX_CHOSEN_ROWS, MAX_KEY_VALUE};
use crate::browse::escape_field;
use crate::error::{Error, Result};
use sqlx::PgConnection;
use std::collections::HashSet;
use std::sync::Arc;

/// A filter with its value as the target's type writes it, escaped as COPY text.
#[derive(Debug, Clone)]
pub(super) struct Filter {
    pub column: String,
    pub value: Vec<u8>,
}

/// Rows named one by one: their columns, and the digest of each row's values (as COPY text).
#[derive(Debug, Clone)]
pub(super) struct ChosenKeys {
    pub columns: Vec<String>,
    pub set: Arc<HashSet<Key>>,
}

/// The chosen table's rows: every filter matches and, with `keys`, the row is one of them.
#[derive(Debug, Clone, Default)]
pub(super) struct Chosen {
    pub filters: Vec<Filter>,
    pub keys: Option<ChosenKeys>,
}

/// Checks the filters' and keys' columns against the chosen table and reads each value as the
/// column's type (in the target, as a bound parameter): a wrong-typed value is refused here.
pub(super) async fn normalize(
    conn: &mut PgConnection,
    schema: &Schema,
    graph: &Graph,
    rows: &RecoverRows,
) -> Result<Chosen> {
    let tb = &schema.tables[&graph.nodes[0].oid];
    if rows.filters.is_empty() && rows.keys.is_none() {
        return Err(
            Error::invalid("name the rows to recover with --where COLUMN=VALUE")
                .with_hint("e.g. --where id=42 (several --where must all match)"),
        );
    }
    let mut filters = Vec::new();
    for f in &rows.filters {
        let type_sql = &column(tb, &f.column)?.type_sql;
        // The type comes from the target's catalog (format_type quotes it); the value is a
        // bound parameter.
        let q = format!("SELECT CAST(CAST($1 AS text) AS {type_sql})::text");
        let v: Option<String> = sqlx::query_scalar(&q)
            .bind(&f.value)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| {
                Error::invalid(format!(
                    "--where {}={:?}: not a value of column {} ({type_sql}): {}",
                    f.column,
                    f.value,
                    f.column,
                    db_message(&e)
                ))
            })?;
        let mut value = Vec::new();
        escape_field(v.unwrap_or_default().as_bytes(), &mut value);
        filters.push(Filter {
            column: f.column.clone(),
            value,
        });
    }
    let keys = match &rows.keys {
        Some(k) => Some(normalize_keys(conn, tb, k).await?),
        None => None,
    };
    Ok(Chosen { filters, keys })
}

fn column<'a>(tb: &'a Table, name: &str) -> Result<&'a super::schema::Column> {
    tb.column(name).ok_or_else(|| {
        let names: Vec<&str> = tb.columns.iter().map(|c| c.name.as_str()).collect();
        Error::invalid(format!(
            "{} has no column {:?} (its columns: {})",
            tb.label(),
            name,
            names.join(", ")
        ))
    })
}

fn db_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_string(),
        other => other.to_string(),
    }
}

/// Checks the shape of rows named by key (bounded: at most [`MAX_CHOSEN_ROWS`] rows, values of
/// at most [`MAX_KEY_VALUE`] bytes, one value per column), before anything is sent anywhere.
pub(super) fn check_keys(k: &RowKeys) -> Result<()> {
    if k.columns.is_empty() {
        return Err(Error::invalid("the chosen rows name no key column"));
    }
    let distinct: HashSet<&String> = k.columns.iter().collect();
    if distinct.len() != k.columns.len() {
        return Err(Error::invalid(format!(
            "the chosen rows' key names a column twice ({})",
            k.columns.join(", ")
        )));
    }
    if k.values.is_empty() {
        return Err(Error::invalid("no rows are chosen")
            .with_hint("tick the rows to recover, or name them with --where COLUMN=VALUE"));
    }
    if k.values.len() > MAX_CHOSEN_ROWS {
        return Err(Error::invalid(format!(
            "{} rows are chosen one by one; at most {MAX_CHOSEN_ROWS} can be",
            k.values.len()
        ))
        .with_hint("choose that many rows with a filter (--where COLUMN=VALUE) instead"));
    }
    for v in &k.values {
        if v.len() != k.columns.len() {
            return Err(Error::invalid(format!(
                "a chosen row gives {} values where the key has {}",
                v.len(),
                k.columns.len()
            )));
        }
        if v.iter().any(|x| x.len() > MAX_KEY_VALUE) {
            return Err(Error::invalid(
                "a chosen row's key value is too long to name a row",
            ));
        }
    }
    Ok(())
}

/// Rows named by key: each column's values read as its type in the target (one query per
/// column, the values an array parameter), then each row's digest as the dump's rows make it.
async fn normalize_keys(conn: &mut PgConnection, tb: &Table, k: &RowKeys) -> Result<ChosenKeys> {
    check_keys(k)?;
    let mut escaped: Vec<Vec<Vec<u8>>> = vec![Vec::with_capacity(k.columns.len()); k.values.len()];
    for (c, name) in k.columns.iter().enumerate() {
        let type_sql = &column(tb, name)?.type_sql;
        let given: Vec<&str> = k.values.iter().map(|v| v[c].as_str()).collect();
        let q = format!(
            "SELECT CAST(v AS {type_sql})::text FROM unnest(CAST($1 AS text[])) \
             WITH ORDINALITY AS u(v, n) ORDER BY n"
        );
        let read: Vec<Option<String>> = sqlx::query_scalar(&q)
            .bind(&given)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| {
                Error::invalid(format!(
                    "a chosen row's {name}: not a value of column {name} ({type_sql}): {}",
                    db_message(&e)
                ))
            })?;
        if read.len() != given.len() {
            return Err(Error::internal(
                "the target read back another number of key values",
            ));
        }
        for (row, v) in escaped.iter_mut().zip(read) {
            let mut out = Vec::new();
            escape_field(v.unwrap_or_default().as_bytes(), &mut out);
            row.push(out);
        }
    }
    let set = escaped
        .iter()
        .filter_map(|row| digest(row.iter().map(|f| Some(f.as_slice()))))
        .collect();
    Ok(ChosenKeys {
        columns: k.columns.clone(),
        set: Arc::new(set),
    })
}
