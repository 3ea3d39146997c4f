//! Taking a database's [`Census`]: the same queries on a backup's source (in the dump's
//! snapshot) and on a restore's target, so that the two compare item by item
//! ([`crate::parity`]).
//!
//! Each part is one query answering `(name, definition)` rows; an item is the name and the first
//! 16 hex characters of the definition's SHA-256 (a webhook's trigger carries its headers, a cron
//! job its command: never kept as text). A part whose objects do not exist (no pg_cron, no pgmq)
//! is left out; one the role may not read is recorded as unread, never a failure: the census
//! must not stop a backup.

use crate::archive::Census;
use sqlx::{PgConnection, Row};
use std::collections::BTreeMap;

/// One part's query: `exists` (a boolean; `None`: always there) and the `(name, definition)`
/// rows.
struct Query {
    part: &'static str,
    exists: Option<&'static str>,
    sql: String,
}

/// Triggers with their table, and the schema of the function they run; not those on the system
/// catalogs (a superuser can put one there, pg_dump never carries it: no restore has it).
const TRIGGERS: &str = "FROM pg_catalog.pg_trigger t \
    JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid \
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
    JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid \
    JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace \
    WHERE NOT t.tgisinternal \
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
    AND n.nspname NOT LIKE 'pg\\_%'";

/// Row-level security policies, `(name, definition)`, of the schemas `filter` keeps.
fn policies(filter: &str) -> String {
    format!(
        "SELECT 'policy ' || schemaname || '.' || tablename || ': ' || policyname, \
         concat_ws(' ', permissive, roles::text, cmd, qual, with_check) \
         FROM pg_catalog.pg_policies WHERE ({filter}) \
         AND schemaname NOT IN ('pg_catalog', 'information_schema') \
         AND schemaname NOT LIKE 'pg\\_%'"
    )
}

fn queries() -> Vec<Query> {
    vec![
        Query {
            part: "publications",
            exists: None,
            sql: "SELECT p.pubname || coalesce(': ' || t.schemaname || '.' || t.tablename, ''), \
                  concat_ws(',', p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, \
                  p.pubtruncate) \
                  FROM pg_catalog.pg_publication p \
                  LEFT JOIN pg_catalog.pg_publication_tables t ON t.pubname = p.pubname"
                .into(),
        },
        // A job's schedule, command, role, name and whether it is active; not the node and
        // database it runs in (a restore may give the database another name).
        Query {
            part: "pg-cron",
            exists: Some("SELECT to_regclass('cron.job') IS NOT NULL"),
            sql: "SELECT coalesce(j.jobname, '(unnamed) ' || left(md5(j.command), 8)), \
                  (to_jsonb(j) - 'jobid' - 'nodename' - 'nodeport' - 'database')::text \
                  FROM cron.job j"
                .into(),
        },
        Query {
            part: "pgmq",
            exists: Some("SELECT to_regclass('pgmq.meta') IS NOT NULL"),
            sql: "SELECT m.queue_name::text, (to_jsonb(m) - 'created_at')::text FROM pgmq.meta m"
                .into(),
        },
        // Database webhooks: the triggers that call supabase_functions (their rows in
        // supabase_functions.hooks are compared as a table).
        Query {
            part: "webhooks",
            exists: None,
            sql: format!(
                "SELECT 'trigger ' || n.nspname || '.' || c.relname || ': ' || t.tgname, \
                 pg_catalog.pg_get_triggerdef(t.oid) {TRIGGERS} \
                 AND pn.nspname = 'supabase_functions'"
            ),
        },
        // Storage's policies (who may read and write which bucket's objects).
        Query {
            part: "storage-schema",
            exists: None,
            sql: policies("schemaname = 'storage'"),
        },
        Query {
            part: "functions-triggers-policies",
            exists: None,
            sql: format!(
                "{} UNION ALL \
                 SELECT 'trigger ' || n.nspname || '.' || c.relname || ': ' || t.tgname, \
                 pg_catalog.pg_get_triggerdef(t.oid) {TRIGGERS} \
                 AND pn.nspname <> 'supabase_functions'",
                policies("schemaname <> 'storage'")
            ),
        },
    ]
}

/// An item: the name and the start of its definition's digest.
pub(crate) fn item(name: &str, definition: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, definition.as_bytes());
    format!("{name}  sha256:{}", &hex::encode(d.as_ref())[..16])
}

/// The census of the database `conn` is connected to. `in_transaction`: each query runs under a
/// savepoint, so that one the role may not run leaves the transaction (the dump's snapshot)
/// usable.
pub async fn take(conn: &mut PgConnection, in_transaction: bool) -> Census {
    let mut census = Census::default();
    for q in queries() {
        match run(conn, &q, in_transaction).await {
            Ok(Some(items)) => {
                census.parts.insert(q.part.to_string(), items);
            }
            Ok(None) => {}
            Err(why) => {
                census.unread.insert(q.part.to_string(), why);
            }
        }
    }
    census
}

async fn run(
    conn: &mut PgConnection,
    q: &Query,
    in_transaction: bool,
) -> std::result::Result<Option<Vec<String>>, String> {
    if in_transaction {
        // Plain SQL: the dump's transaction was begun with a plain BEGIN, which sqlx's own
        // transaction depth does not know of.
        exec(conn, "SAVEPOINT offsite_census").await?;
        let out = query(conn, q).await;
        let end = if out.is_ok() {
            "RELEASE SAVEPOINT offsite_census"
        } else {
            "ROLLBACK TO SAVEPOINT offsite_census"
        };
        exec(conn, end).await?;
        return out;
    }
    query(conn, q).await
}

async fn exec(conn: &mut PgConnection, sql: &str) -> std::result::Result<(), String> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn query(
    conn: &mut PgConnection,
    q: &Query,
) -> std::result::Result<Option<Vec<String>>, String> {
    if let Some(exists) = q.exists {
        let there: bool = sqlx::query_scalar(exists)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
        if !there {
            return Ok(None);
        }
    }
    let rows = sqlx::query(&q.sql)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| e.to_string())?;
    let mut items: Vec<String> = rows
        .iter()
        .map(|r| {
            let name: Option<String> = r.try_get(0).unwrap_or_default();
            let def: Option<String> = r.try_get(1).unwrap_or_default();
            item(&name.unwrap_or_default(), &def.unwrap_or_default())
        })
        .collect();
    items.sort();
    Ok(Some(items))
}

/// Items by name (the name is everything before the digest).
pub(crate) fn by_name(items: &[String]) -> BTreeMap<&str, &str> {
    items
        .iter()
        .map(|i| match i.rsplit_once("  sha256:") {
            Some((name, digest)) => (name, digest),
            None => (i.as_str(), ""),
        })
        .collect()
}
