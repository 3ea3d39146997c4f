//! The foreign keys of what a recovery (or its undo) wrote, checked by Offsite at the end of its
//! transaction. Under `session_replication_role = replica` ([`super::triggers`]) PostgreSQL's
//! own foreign-key triggers do not fire either: these queries stand in for them, restricted to
//! the rows written — a row written must find its parent; a row deleted (or a referenced
//! column overwritten) must leave no row pointing at nothing. A key that does not hold
//! refuses the write (the caller rolls back), naming the table, the key and how many rows.

use super::apply::db_error;
use super::schema::quote_ident;
use super::sql;
use crate::error::{Error, ErrorKind, Result};
use sqlx::{PgConnection, Row};
use std::collections::BTreeSet;

/// One table written, as the check sees it.
pub(super) struct Written<'a> {
    /// `"schema"."table"`.
    pub table: String,
    /// The temporary table holding the keys of the rows written (alias `w` in `present`).
    pub temp: String,
    pub key: &'a [String],
    /// Each key column's equality ([`super::schema::eq_ops`]).
    pub key_ops: &'a [String],
    /// Which rows of `temp` are in the table now, written (`w._offsite_act IN (…)`); `None`: none.
    pub present: Option<String>,
    /// A temporary table holding the rows deleted, whole.
    pub gone: Option<String>,
    /// Columns given other values in rows that stay.
    pub changed: Vec<String>,
}

struct ForeignKey {
    name: String,
    child: String,
    parent: String,
    child_cols: Vec<String>,
    parent_cols: Vec<String>,
    /// The key's own `parent = child` operators (`conpfeqop`), as its checks in PostgreSQL name
    /// them: `OPERATOR("schema".=)`.
    ops: Vec<String>,
    full: bool,
    from_here: bool,
    to_here: bool,
}

/// The foreign keys from and to `table` (or a table it is a partition of), as defined (not the
/// copies PostgreSQL keeps per partition).
async fn foreign_keys(conn: &mut PgConnection, table: &str) -> Result<Vec<ForeignKey>> {
    let cols = |rel: &str, keys: &str| {
        format!(
            "ARRAY(SELECT a.attname::text FROM pg_catalog.unnest({keys}) WITH ORDINALITY k(n, o) \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.n ORDER BY k.o)"
        )
    };
    let q = format!(
        "WITH RECURSIVE up(oid) AS (SELECT $1::regclass::oid UNION \
           SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.oid) \
         SELECT c.conname::text AS name, \
           (SELECT pg_catalog.format('%I.%I', n.nspname, r.relname) FROM pg_catalog.pg_class r \
             JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace WHERE r.oid = c.conrelid) AS child, \
           (SELECT pg_catalog.format('%I.%I', n.nspname, r.relname) FROM pg_catalog.pg_class r \
             JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace WHERE r.oid = c.confrelid) AS parent, \
           {} AS ccols, {} AS pcols, c.confmatchtype = 'f' AS full, \
           ARRAY(SELECT n.nspname::text FROM pg_catalog.unnest(c.conpfeqop) WITH ORDINALITY q(op, o) \
             JOIN pg_catalog.pg_operator p ON p.oid = q.op \
             JOIN pg_catalog.pg_namespace n ON n.oid = p.oprnamespace ORDER BY q.o) AS opns, \
           ARRAY(SELECT p.oprname::text FROM pg_catalog.unnest(c.conpfeqop) WITH ORDINALITY q(op, o) \
             JOIN pg_catalog.pg_operator p ON p.oid = q.op ORDER BY q.o) AS opnames, \
           c.conrelid IN (SELECT oid FROM up) AS from_here, c.confrelid IN (SELECT oid FROM up) AS to_here \
         FROM pg_catalog.pg_constraint c WHERE c.contype = 'f' AND c.conparentid = 0 \
           AND (c.conrelid IN (SELECT oid FROM up) OR c.confrelid IN (SELECT oid FROM up)) \
         ORDER BY c.conname",
        cols("c.conrelid", "c.conkey"),
        cols("c.confrelid", "c.confkey"),
    );
    let rows = sqlx::query(&q)
        .bind(table)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error("reading the target's foreign keys", e))?;
    Ok(rows
        .iter()
        .map(|r| ForeignKey {
            name: r.get("name"),
            child: r.get("child"),
            parent: r.get("parent"),
            child_cols: r.get("ccols"),
            parent_cols: r.get("pcols"),
            ops: {
                let ns: Vec<String> = r.get("opns");
                let names: Vec<String> = r.get("opnames");
                ns.iter()
                    .zip(&names)
                    .map(|(n, o)| {
                        if super::schema::is_operator_name(o) {
                            format!("OPERATOR({}.{o})", quote_ident(n))
                        } else {
                            sql::CATALOG_EQ.to_string()
                        }
                    })
                    .collect()
            },
            full: r.get("full"),
            from_here: r.get("from_here"),
            to_here: r.get("to_here"),
        })
        .collect())
}

impl ForeignKey {
    /// Rows of alias `c` (the child) this key does not let be.
    fn broken(&self) -> String {
        let all_set = self
            .child_cols
            .iter()
            .map(|x| format!("c.{} IS NOT NULL", quote_ident(x)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let matches = self
            .child_cols
            .iter()
            .zip(&self.parent_cols)
            .enumerate()
            .map(|(i, (cc, pc))| {
                let op = self
                    .ops
                    .get(i)
                    .map(String::as_str)
                    .unwrap_or(sql::CATALOG_EQ);
                format!("p.{} {op} c.{}", quote_ident(pc), quote_ident(cc))
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let orphan = format!(
            "(({all_set}) AND NOT EXISTS (SELECT 1 FROM {} p WHERE {matches}))",
            self.parent
        );
        if self.full {
            let none_set = self
                .child_cols
                .iter()
                .map(|x| format!("c.{} IS NULL", quote_ident(x)))
                .collect::<Vec<_>>()
                .join(" AND ");
            format!("({orphan} OR (NOT ({all_set}) AND NOT ({none_set})))")
        } else {
            orphan
        }
    }
}

/// Checks the foreign keys of every table in `written`; `Ok(n)`: the `n` keys checked all hold.
/// Else a `conflict` naming each key that does not, and its rows; `hint` says what to do.
pub(super) async fn check(
    conn: &mut PgConnection,
    written: &[Written<'_>],
    what: &str,
    hint: &str,
) -> Result<u64> {
    let mut checked = BTreeSet::new();
    let mut broken = BTreeSet::new();
    for w in written {
        for fk in foreign_keys(conn, &w.table).await? {
            let mut queries = Vec::new();
            if let (true, Some(present)) = (fk.from_here, &w.present) {
                queries.push(format!(
                    "SELECT pg_catalog.count(*) FROM {} c JOIN {} w ON {} WHERE ({present}) AND {}",
                    w.table,
                    w.temp,
                    sql::key_eq("c", "w", w.key, w.key_ops),
                    fk.broken()
                ));
            }
            if let (true, Some(gone)) = (fk.to_here, &w.gone) {
                let on = fk
                    .child_cols
                    .iter()
                    .zip(&fk.parent_cols)
                    .enumerate()
                    .map(|(i, (cc, pc))| {
                        let op = fk.ops.get(i).map(String::as_str).unwrap_or(sql::CATALOG_EQ);
                        format!("g.{} {op} c.{}", quote_ident(pc), quote_ident(cc))
                    })
                    .collect::<Vec<_>>()
                    .join(" AND ");
                queries.push(format!(
                    "SELECT pg_catalog.count(*) FROM {} c WHERE EXISTS (SELECT 1 FROM {gone} g WHERE {on}) AND {}",
                    fk.child,
                    fk.broken()
                ));
            }
            if fk.to_here && fk.parent_cols.iter().any(|c| w.changed.contains(c)) {
                queries.push(format!(
                    "SELECT pg_catalog.count(*) FROM {} c WHERE {}",
                    fk.child,
                    fk.broken()
                ));
            }
            if queries.is_empty() {
                continue;
            }
            checked.insert(fk.name.clone() + " " + &fk.child);
            for q in queries {
                let n: i64 = sqlx::query_scalar(&q)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(|e| db_error("checking the foreign keys", e))?;
                if n > 0 {
                    broken.insert(format!(
                        "{}: {n} row{} whose {} ({}) finds no row of {}",
                        fk.child,
                        if n == 1 { "" } else { "s" },
                        quote_ident(&fk.name),
                        fk.child_cols.join(", "),
                        fk.parent
                    ));
                }
            }
        }
    }
    if broken.is_empty() {
        return Ok(checked.len() as u64);
    }
    Err(Error::new(
        ErrorKind::Conflict,
        format!(
            "{what} would leave foreign keys that do not hold — {}; nothing was changed",
            broken.into_iter().collect::<Vec<_>>().join("; ")
        ),
    )
    .with_hint(hint.to_string()))
}
