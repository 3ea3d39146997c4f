//! What the capture does on the source server: the publication of the tables this role may
//! publish, the logical slot, the slot's state, and the facts recorded with each segment
//! (a fingerprint of the published tables' columns, the sequences' values).
//!
//! Needs a role with REPLICATION (for the slot) that owns the tables it publishes and may
//! create in the database (for the publication): Supabase's `postgres` role, not a superuser.

use super::segment::SequenceValue;
use super::{parse_lsn, Names, NAME_PREFIX};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::ConnSpec;
use crate::postgres::restore::quote_ident;
use sqlx::PgConnection;

/// Which tables the publication covers, and why the others are not.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Coverage {
    /// `schema.table`
    pub covered: Vec<String>,
    /// (`schema.table`, why not)
    pub not_covered: Vec<(String, String)>,
}

const TABLES: &str = "\
SELECT n.nspname::text, c.relname::text,
  CASE WHEN NOT pg_has_role(c.relowner, 'USAGE')
         THEN 'not owned by this role (a publication lists only tables its role owns)'
       WHEN c.relpersistence = 'u' THEN 'unlogged (its changes are not written to the WAL)'
       WHEN c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (
              SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))
         THEN 'no replica identity (updates and deletes cannot be captured: add a primary key \
or ALTER TABLE … REPLICA IDENTITY FULL)'
  END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2";

/// The tables of the database and whether this role can capture each.
pub async fn coverage(conn: &mut PgConnection, spec: &ConnSpec) -> Result<(Coverage, Vec<String>)> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(TABLES)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    let mut c = Coverage::default();
    let mut quoted = Vec::new();
    for (schema, table, why) in rows {
        let name = format!("{schema}.{table}");
        match why {
            Some(why) => c.not_covered.push((name, why)),
            None => {
                quoted.push(format!("{}.{}", quote_ident(&schema), quote_ident(&table)));
                c.covered.push(name);
            }
        }
    }
    Ok((c, quoted))
}

/// Create the publication, then the slot (so the slot decodes with the publication in place).
/// Returns what is covered and the slot's consistent point.
pub async fn enable(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    names: &Names,
) -> Result<(Coverage, u64)> {
    if slot_state(conn, spec, &names.slot).await?.is_some() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("the server already has the slot {}", names.slot),
        )
        .with_hint("`offsite pitr disable` removes it first"));
    }
    let (coverage, quoted) = coverage(conn, spec).await?;
    let _ = sqlx::query(&format!(
        "DROP PUBLICATION IF EXISTS {}",
        quote_ident(&names.publication)
    ))
    .execute(&mut *conn)
    .await;
    let mut create = format!("CREATE PUBLICATION {}", quote_ident(&names.publication));
    if !quoted.is_empty() {
        create.push_str(" FOR TABLE ");
        create.push_str(&quoted.join(", "));
    }
    sqlx::query(&create)
        .execute(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e).context("creating the publication"))?;
    let lsn: String = sqlx::query_scalar(
        "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')",
    )
    .bind(&names.slot)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        spec.map_sqlx(e)
            .context("creating the logical slot")
            .with_hint("the role needs the REPLICATION attribute and the server wal_level=logical")
    })?;
    Ok((coverage, parse_lsn(&lsn)?))
}

/// Drop the slot and the publication (each only if there). Returns whether the slot was there.
pub async fn disable(conn: &mut PgConnection, spec: &ConnSpec, names: &Names) -> Result<bool> {
    let had = drop_slot(conn, spec, &names.slot).await?;
    sqlx::query(&format!(
        "DROP PUBLICATION IF EXISTS {}",
        quote_ident(&names.publication)
    ))
    .execute(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e).context("dropping the publication"))?;
    Ok(had)
}

pub async fn drop_slot(conn: &mut PgConnection, spec: &ConnSpec, slot: &str) -> Result<bool> {
    let dropped: Option<String> = sqlx::query_scalar(
        "SELECT slot_name::text FROM pg_replication_slots WHERE slot_name = $1 \
         AND pg_drop_replication_slot(slot_name) IS NOT NULL",
    )
    .bind(slot)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e).context("dropping the slot"))?;
    Ok(dropped.is_some())
}

/// A slot's position and the WAL it holds on the server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SlotState {
    pub slot: String,
    pub confirmed_flush: u64,
    /// `pg_current_wal_lsn() - restart_lsn`: WAL the server keeps for this slot.
    pub retained_bytes: i64,
    pub active: bool,
}

const SLOTS: &str = "SELECT slot_name::text, coalesce(confirmed_flush_lsn::text, '0/0'), \
    coalesce((pg_current_wal_lsn() - restart_lsn)::bigint, 0), active \
    FROM pg_replication_slots WHERE (database = current_database() OR slot_type = 'physical') AND ";

pub async fn slot_state(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    slot: &str,
) -> Result<Option<SlotState>> {
    let mut all = slots(conn, spec, "slot_name = $1", slot).await?;
    Ok(all.pop())
}

/// Every slot named like Offsite's in this database (strays are those no project owns).
pub async fn offsite_slots(conn: &mut PgConnection, spec: &ConnSpec) -> Result<Vec<SlotState>> {
    let like = format!("{}%", NAME_PREFIX.replace('_', "\\_"));
    slots(conn, spec, "slot_name LIKE $1", &like).await
}

async fn slots(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    cond: &str,
    arg: &str,
) -> Result<Vec<SlotState>> {
    let rows: Vec<(String, String, i64, bool)> =
        sqlx::query_as(&format!("{SLOTS}{cond} ORDER BY 1"))
            .bind(arg)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| spec.map_sqlx(e))?;
    rows.into_iter()
        .map(|(slot, lsn, retained_bytes, active)| {
            Ok(SlotState {
                slot,
                confirmed_flush: parse_lsn(&lsn)?,
                retained_bytes,
                active,
            })
        })
        .collect()
}

/// Digest of the published tables' columns (names, types, order): a change means DDL.
pub async fn fingerprint(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    publication: &str,
) -> Result<String> {
    sqlx::query_scalar(
        "SELECT md5(coalesce(string_agg(format('%I.%I.%I:%s:%s', p.schemaname, p.tablename, \
         a.attname, format_type(a.atttypid, a.atttypmod), a.attnum), ',' ORDER BY p.schemaname, \
         p.tablename, a.attnum), '')) \
         FROM pg_publication_tables p \
         JOIN pg_namespace n ON n.nspname = p.schemaname \
         JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         WHERE p.pubname = $1",
    )
    .bind(publication)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e).context("reading the tables' columns"))
}

/// The current values of the sequences this role can read, outside the system schemas.
pub async fn sequences(conn: &mut PgConnection, spec: &ConnSpec) -> Result<Vec<SequenceValue>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT s.schemaname::text, s.sequencename::text, s.last_value FROM pg_sequences s \
         WHERE s.last_value IS NOT NULL AND s.schemaname NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e).context("reading the sequences"))?;
    Ok(rows
        .into_iter()
        .map(|(schema, name, value)| SequenceValue {
            schema,
            name,
            value,
        })
        .collect())
}
