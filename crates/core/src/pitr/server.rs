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
use std::collections::HashMap;

/// Which tables the publication covers, and why the others are not.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Coverage {
    /// `schema.table`
    pub covered: Vec<String>,
    /// (`schema.table`, why not); also large objects, when the database has any.
    pub not_covered: Vec<(String, String)>,
    /// The not-covered tables that `REPLICA IDENTITY FULL` would make covered: this role owns
    /// them, they are logged, they have no replica identity.
    pub no_replica_identity: Vec<String>,
}

/// Why a table without a replica identity is not covered, and the next step.
pub const NO_IDENTITY: &str = "no replica identity (its updates and deletes could not be \
captured): `offsite pitr enable PROJECT --replica-identity-full TABLE` sets REPLICA IDENTITY \
FULL on it, or add a primary key";

/// What `not_covered` names large objects by.
pub const LARGE_OBJECTS: &str = "large objects (pg_largeobject)";

/// Every ordinary table outside the system schemas and extensions: schema, name, owned by this
/// role, unlogged, without a replica identity.
const TABLES: &str = "\
SELECT n.nspname::text, c.relname::text, pg_has_role(c.relowner, 'USAGE'),
  c.relpersistence = 'u',
  c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (
     SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2";

/// One table as [`TABLES`] lists it.
#[derive(Debug)]
struct Table {
    schema: String,
    name: String,
    owned: bool,
    unlogged: bool,
    no_identity: bool,
}

impl Table {
    fn full_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
    fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
    /// Why the capture cannot cover it (`None`: it can).
    fn why_not(&self) -> Option<&'static str> {
        if !self.owned {
            Some("not owned by this role (a publication lists only tables its role owns)")
        } else if self.unlogged {
            Some("unlogged (its changes are not written to the WAL)")
        } else if self.no_identity {
            Some(NO_IDENTITY)
        } else {
            None
        }
    }
}

async fn tables(conn: &mut PgConnection, spec: &ConnSpec) -> Result<Vec<Table>> {
    let rows: Vec<(String, String, bool, bool, bool)> = sqlx::query_as(TABLES)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    Ok(rows
        .into_iter()
        .map(|(schema, name, owned, unlogged, no_identity)| Table {
            schema,
            name,
            owned,
            unlogged,
            no_identity,
        })
        .collect())
}

/// The tables of the database and whether this role can capture each (and the covered ones
/// quoted for the publication); large objects, when there are any, as not covered.
pub async fn coverage(conn: &mut PgConnection, spec: &ConnSpec) -> Result<(Coverage, Vec<String>)> {
    let mut c = Coverage::default();
    let mut quoted = Vec::new();
    for t in tables(conn, spec).await? {
        match t.why_not() {
            Some(why) => {
                if why == NO_IDENTITY {
                    c.no_replica_identity.push(t.full_name());
                }
                c.not_covered.push((t.full_name(), why.to_string()));
            }
            None => {
                quoted.push(t.quoted());
                c.covered.push(t.full_name());
            }
        }
    }
    // pg_largeobject_metadata is readable by every role (pg_largeobject is not).
    let large: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_largeobject_metadata")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e).context("counting the large objects"))?;
    if large > 0 {
        c.not_covered.push((
            LARGE_OBJECTS.to_string(),
            format!(
                "{large} large object(s): logical replication does not carry them (restored as \
                 in the base)"
            ),
        ));
    }
    Ok((c, quoted))
}

/// Which tables `pitr enable --replica-identity-full` sets `REPLICA IDENTITY FULL` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityFull {
    /// These, by name (`schema.table`, or `table` in `public`).
    Tables(Vec<String>),
    /// Every table not covered for want of a replica identity that this role can alter.
    AllUncovered,
}

impl IdentityFull {
    /// `all-uncovered`, or a comma-separated list of tables.
    pub fn parse(s: &str) -> Result<IdentityFull> {
        if s.trim() == "all-uncovered" {
            return Ok(IdentityFull::AllUncovered);
        }
        let names: Vec<String> = s
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            return Err(Error::invalid(
                "--replica-identity-full needs tables (schema.table, comma-separated) or \
                 all-uncovered",
            ));
        }
        Ok(IdentityFull::Tables(names))
    }
}

/// Set `REPLICA IDENTITY FULL` on the tables `which` names, each checked first to be an
/// existing table this role owns, logged and without a replica identity: nothing is altered
/// unless every name is. The statement is built from the catalog's own names, quoted — never
/// from the text given. Returns the tables altered (`schema.table`).
pub async fn set_identity_full(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    which: &IdentityFull,
) -> Result<Vec<String>> {
    let all = tables(conn, spec).await?;
    let chosen: Vec<&Table> = match which {
        IdentityFull::AllUncovered => all
            .iter()
            .filter(|t| t.why_not() == Some(NO_IDENTITY))
            .collect(),
        IdentityFull::Tables(names) => {
            let mut chosen = Vec::new();
            for n in names {
                let t = pick(&all, n)?;
                if !chosen.iter().any(|c: &&Table| std::ptr::eq(*c, t)) {
                    chosen.push(t);
                }
            }
            chosen
        }
    };
    if chosen.is_empty() {
        return Err(Error::not_found(
            "no table lacks a replica identity: every table this role owns is covered already",
        ));
    }
    // The statement takes the table's strongest lock: it waits for the transactions using
    // the table, but not for long.
    sqlx::query("SET lock_timeout = '10s'")
        .execute(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    let mut done = Vec::new();
    for t in chosen {
        sqlx::query(&format!("ALTER TABLE {} REPLICA IDENTITY FULL", t.quoted()))
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                spec.map_sqlx(e).context(format!(
                    "setting REPLICA IDENTITY FULL on {}",
                    t.full_name()
                ))
            })?;
        done.push(t.full_name());
    }
    Ok(done)
}

/// The table `name` names, if `REPLICA IDENTITY FULL` would make it covered; otherwise why not.
fn pick<'a>(all: &'a [Table], name: &str) -> Result<&'a Table> {
    let mut found: Vec<&Table> = all.iter().filter(|t| t.full_name() == name).collect();
    if found.is_empty() && !name.contains('.') {
        found = all
            .iter()
            .filter(|t| t.schema == "public" && t.name == name)
            .collect();
    }
    let t = match found.as_slice() {
        [t] => *t,
        [] => {
            return Err(
                Error::not_found(format!("no table named {name:?} in the database")).with_hint(
                    "name an existing table as schema.table (`offsite pitr status` lists the \
                        tables not covered)",
                ),
            )
        }
        _ => {
            return Err(Error::invalid(format!(
                "{name:?} names more than one table (a dot in a schema or table name)"
            )))
        }
    };
    if !t.owned {
        return Err(Error::new(
            ErrorKind::Permission,
            format!(
                "{} is not owned by this role: ALTER TABLE … REPLICA IDENTITY FULL needs the \
                 table's owner",
                t.full_name()
            ),
        )
        .with_hint(
            "ask the table's owner to run ALTER TABLE … REPLICA IDENTITY FULL, or connect \
                    the project as that owner",
        ));
    }
    if t.unlogged {
        return Err(Error::invalid(format!(
            "{} is unlogged: its changes are not written to the WAL, a replica identity would \
             not make them captured",
            t.full_name()
        )));
    }
    if !t.no_identity {
        return Err(Error::invalid(format!(
            "{} has a replica identity already: it is covered",
            t.full_name()
        )));
    }
    Ok(t)
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

/// Drop the replication slot named `slot`, and only it; false when there is none. One round
/// trip (the disk limit drops the slot while the WAL grows).
///
/// The drop is in the select list, evaluated only for the rows the `WHERE` kept: never a
/// condition of the filter. PostgreSQL orders a filter's conditions by their cost, not as
/// written: `WHERE slot_name = $1 AND pg_drop_replication_slot(slot_name) IS NOT NULL` called
/// the drop for every slot first, dropping every inactive slot on the server, other tools' too.
pub async fn drop_slot(conn: &mut PgConnection, spec: &ConnSpec, slot: &str) -> Result<bool> {
    let done = sqlx::query(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
         WHERE slot_name = $1::name",
    )
    .bind(slot)
    .execute(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e).context("dropping the slot"))?;
    Ok(done.rows_affected() > 0)
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

/// The version mark of [`fingerprint`]: a chain whose base has another (an older Offsite's,
/// over the columns alone) ends where the wider check starts, saying so.
pub const FINGERPRINT_V: &str = "v2:";

/// Digest of the published tables' definitions: their columns (names, types, order, NOT NULL,
/// defaults), replica identity, constraints, indexes and the labels of enum types among their
/// columns — what a restore's base must have for the changes after it to mean what they meant.
/// A change means DDL.
pub async fn fingerprint(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    publication: &str,
) -> Result<String> {
    sqlx::query_scalar(
        "WITH t AS (SELECT c.oid, format('%I.%I', p.schemaname, p.tablename) AS name, c.relreplident \
           FROM pg_publication_tables p \
           JOIN pg_namespace n ON n.nspname = p.schemaname \
           JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename \
           WHERE p.pubname = $1), \
         col AS (SELECT t.name, a.* , pg_get_expr(d.adbin, d.adrelid) AS def FROM t \
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped \
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum) \
         SELECT $2 || md5( \
           coalesce((SELECT string_agg(format('%s.%I:%s:%s:%s:%s', name, attname, \
             format_type(atttypid, atttypmod), attnum, attnotnull, coalesce(def, '')), ',' \
             ORDER BY name, attnum) FROM col), '') \
           || '|' || coalesce((SELECT string_agg(name || ':' || relreplident::text, ',' ORDER BY name) FROM t), '') \
           || '|' || coalesce((SELECT string_agg(t.name || ':' || co.conname || ':' || \
             pg_get_constraintdef(co.oid), ',' ORDER BY t.name, co.conname) \
             FROM t JOIN pg_constraint co ON co.conrelid = t.oid), '') \
           || '|' || coalesce((SELECT string_agg(pg_get_indexdef(i.indexrelid) || ':' || i.indisreplident::text, ',' \
             ORDER BY pg_get_indexdef(i.indexrelid)) FROM t JOIN pg_index i ON i.indrelid = t.oid), '') \
           || '|' || coalesce((SELECT string_agg(format('%s:%s', e.enumtypid::regtype, e.enumlabel), ',' \
             ORDER BY e.enumtypid, e.enumsortorder) FROM pg_enum e \
             WHERE e.enumtypid IN (SELECT atttypid FROM col)), ''))",
    )
    .bind(publication)
    .bind(FINGERPRINT_V)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e).context("reading the tables' definitions"))
}

/// The current values of the sequences of the tables `publication` lists (a sequence a
/// published table owns, `serial`/identity, or one a published table's column default calls:
/// see [`sequence_tables`]), outside the system schemas: what a replay may set.
pub async fn sequences(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    publication: &str,
) -> Result<Vec<SequenceValue>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT s.schemaname::text, s.sequencename::text, s.last_value FROM pg_catalog.pg_sequences s \
         WHERE s.last_value IS NOT NULL AND s.schemaname NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e).context("reading the sequences"))?;
    let published: std::collections::HashSet<String> = sqlx::query_as::<_, (String, String)>(
        "SELECT schemaname::text, tablename::text FROM pg_catalog.pg_publication_tables \
         WHERE pubname = $1",
    )
    .bind(publication)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e).context("reading the published tables"))?
    .into_iter()
    .map(|(s, t)| format!("{s}.{t}"))
    .collect();
    let tables = sequence_tables(conn, spec).await?;
    Ok(rows
        .into_iter()
        .filter(|(s, n, _)| {
            tables
                .get(&(s.clone(), n.clone()))
                .is_some_and(|ts| ts.iter().any(|t| published.contains(t)))
        })
        .map(|(schema, name, value)| SequenceValue {
            schema,
            name,
            value,
        })
        .collect())
}

/// Per sequence (`(schema, name)`), the tables (`schema.table`, as a chain's coverage names
/// them) it belongs with: the table that owns it (`serial`, identity, `OWNED BY`) and every
/// table with a column default that calls it. Read from the catalog only.
pub async fn sequence_tables(
    conn: &mut PgConnection,
    spec: &ConnSpec,
) -> Result<HashMap<(String, String), Vec<String>>> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT sn.nspname::text, s.relname::text, tn.nspname::text, t.relname::text \
         FROM pg_catalog.pg_depend d \
         JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S' \
         JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace \
         JOIN pg_catalog.pg_class t ON t.oid = d.refobjid \
         JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
         AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i') \
         UNION ALL \
         SELECT sn.nspname::text, s.relname::text, tn.nspname::text, t.relname::text \
         FROM pg_catalog.pg_depend d \
         JOIN pg_catalog.pg_attrdef ad ON ad.oid = d.objid \
         JOIN pg_catalog.pg_class s ON s.oid = d.refobjid AND s.relkind = 'S' \
         JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace \
         JOIN pg_catalog.pg_class t ON t.oid = ad.adrelid \
         JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
         WHERE d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass \
         AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| {
        spec.map_sqlx(e)
            .context("reading which tables the sequences belong with")
    })?;
    let mut out: HashMap<(String, String), Vec<String>> = HashMap::new();
    for (s, n, ts, t) in rows {
        out.entry((s, n)).or_default().push(format!("{ts}.{t}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_identity_full_takes_names_or_all_uncovered() {
        assert_eq!(
            IdentityFull::parse(" all-uncovered ").unwrap(),
            IdentityFull::AllUncovered
        );
        assert_eq!(
            IdentityFull::parse("public.a, b ,").unwrap(),
            IdentityFull::Tables(vec!["public.a".into(), "b".into()])
        );
        assert!(IdentityFull::parse(" , ").is_err());
        let t = |schema: &str, name: &str, owned, unlogged, no_identity| Table {
            schema: schema.into(),
            name: name.into(),
            owned,
            unlogged,
            no_identity,
        };
        let all = [
            t("public", "h", true, false, true),
            t("public", "k", true, false, false),
            t("public", "u", true, true, true),
            t("public", "o", false, false, true),
            t("x\"; DROP", "h", true, false, true),
        ];
        assert_eq!(pick(&all, "h").unwrap().full_name(), "public.h");
        assert_eq!(
            pick(&all, "x\"; DROP.h").unwrap().quoted(),
            "\"x\"\"; DROP\".\"h\""
        );
        assert_eq!(
            pick(&all, "public.k").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            pick(&all, "public.u").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            pick(&all, "public.o").unwrap_err().kind(),
            ErrorKind::Permission
        );
        assert_eq!(
            pick(&all, "public.h; DROP TABLE k").unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}
