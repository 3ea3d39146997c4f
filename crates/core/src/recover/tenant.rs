//! Tenants: a root table and its key column, and the tables a tenant's rows live in, reached
//! from the root through foreign keys exactly as `recover --children` reaches them
//! ([`Graph::reach`](super::select::Graph::reach): one walk for both).

use super::order::insert_order;
use super::schema::{parse_table_name, quote_ident, Schema};
use super::select::Graph;
use super::TableRole;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use std::collections::HashSet;

/// A tenant root as the database spells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantRoot {
    pub schema: String,
    pub table: String,
    pub key: String,
}

impl TenantRoot {
    /// `"schema"."table"` (quoted, so a name with dots reads unambiguously).
    pub fn label(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }
}

/// One table of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantTable {
    pub schema: String,
    pub table: String,
    /// The foreign keys from the root to it (`tasks(project_id) → projects(id)`…); empty for
    /// the root.
    pub path: Vec<String>,
}

/// Where a tenant's rows are: the tables reached from its root, the tables they reference
/// (whose referenced rows a tenant backup carries too) and the tables not reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantShape {
    pub root: TenantRoot,
    /// The root and every table referencing a reached one, transitively (breadth first).
    pub reached: Vec<TenantTable>,
    /// Tables the reached ones reference that are not reached themselves: only the rows the
    /// tenant's rows point at are the tenant's.
    pub referenced: Vec<TenantTable>,
    /// Every other table (`schema.table`).
    pub not_reached: Vec<String>,
}

/// Checks `table`/`key` against the database: the table exists, the column exists and is its
/// primary key or a unique NOT NULL column on its own.
pub async fn check_root(conn: &mut PgConnection, table: &str, key: &str) -> Result<TenantRoot> {
    let (s, t) = parse_table_name(table)?;
    let schema = Schema::read(conn).await?;
    root_in(&schema, &s, &t, key)?;
    let usable: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
         JOIN pg_catalog.pg_class r ON r.oid = c.conrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace \
         WHERE n.nspname = $1 AND r.relname = $2 AND c.contype IN ('p', 'u') \
         AND pg_catalog.cardinality(c.conkey) = 1 AND a.attname = $3 AND a.attnotnull)",
    )
    .bind(&s)
    .bind(&t)
    .bind(key)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        Error::new(
            crate::error::ErrorKind::ToolFailed,
            format!("reading keys: {e}"),
        )
    })?;
    let root = TenantRoot {
        schema: s,
        table: t,
        key: key.to_string(),
    };
    if !usable {
        let tb = &schema.tables[&schema.find(&root.schema, &root.table).expect("found")];
        return Err(Error::invalid(format!(
            "column {} of {} is not a key: a tenant root's key is its primary key or a unique \
             NOT NULL column on its own",
            quote_ident(key),
            root.label()
        ))
        .with_hint(match &tb.key {
            Some(k) => format!("its key is ({})", k.join(", ")),
            None => "add a primary key or a unique constraint on the column".to_string(),
        }));
    }
    Ok(root)
}

fn root_in(schema: &Schema, s: &str, t: &str, key: &str) -> Result<u32> {
    let label = format!("{}.{}", quote_ident(s), quote_ident(t));
    let oid = schema.find(s, t).ok_or_else(|| {
        Error::not_found(format!("the project's database has no table {label}"))
            .with_hint("name it as SCHEMA.TABLE; quote a part with dots or capitals")
    })?;
    let tb = &schema.tables[&oid];
    if tb.key.is_none() {
        return Err(Error::invalid(format!(
            "table {label} has no primary key or unique key: it cannot be a tenant root"
        ))
        .with_hint("a tenant root is a table whose rows are told apart by a key column"));
    }
    if tb.column(key).is_none() {
        let names: Vec<&str> = tb.columns.iter().map(|c| c.name.as_str()).collect();
        return Err(Error::invalid(format!(
            "{label} has no column {} (its columns: {})",
            quote_ident(key),
            names.join(", ")
        )));
    }
    Ok(oid)
}

/// Checks each of `given` (`SCHEMA.TABLE(COLUMN, …)`) against the database: the referencing
/// side of a foreign key of a table the tenant rooted at `root` reaches (see
/// [`super::member_writes`]).
pub async fn check_member_writes(
    conn: &mut PgConnection,
    root: &TenantRoot,
    given: &[String],
) -> Result<Vec<super::MemberWrite>> {
    if given.is_empty() {
        return Ok(Vec::new());
    }
    let schema = Schema::read(conn).await?;
    let oid = root_in(&schema, &root.schema, &root.table, &root.key)?;
    let all: HashSet<(String, String)> = schema
        .tables
        .values()
        .map(|t| (t.schema.clone(), t.name.clone()))
        .collect();
    let g = Graph::reach(&schema, oid, true, &all);
    super::member_writes::check(&schema, &g, given)
}

/// The tables of the tenant rooted at `root` (see [`TenantShape`]). Fails when the tables form
/// a cycle of foreign keys no row can be inserted into first (naming it).
pub async fn shape(conn: &mut PgConnection, root: &TenantRoot) -> Result<TenantShape> {
    let schema = Schema::read(conn).await?;
    let oid = root_in(&schema, &root.schema, &root.table, &root.key)?;
    let all: HashSet<(String, String)> = schema
        .tables
        .values()
        .map(|t| (t.schema.clone(), t.name.clone()))
        .collect();
    let g = Graph::reach(&schema, oid, true, &all);
    insert_order(&schema, &g)?;
    let mut reached = Vec::new();
    let mut referenced = Vec::new();
    for n in &g.nodes {
        let t = TenantTable {
            schema: n.schema.clone(),
            table: n.name.clone(),
            path: n.path.clone(),
        };
        match n.role {
            TableRole::Parent => referenced.push(t),
            _ => reached.push(t),
        }
    }
    let inside: HashSet<u32> = g.nodes.iter().map(|n| n.oid).collect();
    let mut not_reached: Vec<String> = schema
        .tables
        .iter()
        .filter(|(o, _)| !inside.contains(o))
        .map(|(_, t)| t.label())
        .collect();
    not_reached.sort();
    Ok(TenantShape {
        root: root.clone(),
        reached,
        referenced,
        not_reached,
    })
}
