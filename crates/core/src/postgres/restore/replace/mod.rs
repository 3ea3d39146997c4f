//! Replacing a non-empty database with a backup, where `pg_restore --clean` does not work.
//!
//! `pg_restore --clean` drops every entry of the backup's table of contents one by one, which
//! breaks on partitions (their inherited constraints and attached indexes cannot be dropped on
//! their own) and on objects that depend on each other. Offsite writes its own clean phase
//! instead: the backup's relations, routines, types, event triggers, publications, large
//! objects and the objects dropped by name alone (collations, operators, text search objects,
//! casts, foreign servers…) that exist in the target are dropped with `DROP … IF EXISTS … CASCADE` (everything
//! that hangs on them goes with them), existing schemas and extensions are kept (the backup's
//! `CREATE SCHEMA` of a schema that exists is left out of the restore list). The drops and
//! `pg_restore`'s SQL run in ONE transaction through psql, committed only after `pg_restore`
//! read the whole (checksum-verified) dump and psql ran every statement without error.
//!
//! What `CASCADE` takes along that is not in the backup (a view over a replaced table, a
//! partition added after the backup, a default using a replaced function) is found before
//! anything runs, by running the drops in a transaction that is rolled back, and listed in the
//! plan.

use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::ConnSpec;
use crate::postgres::process;
use crate::postgres::restore::quote_ident;
use crate::postgres::restore::script::TargetFacts;
use crate::postgres::session::{Input, Target, Transaction};
use crate::progress::Reporter;
use sqlx::postgres::PgConnection;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use tokio_util::sync::CancellationToken;

mod pump;
pub(crate) use pump::owner_suffixes;
use pump::{lex_refusal, pump_without_commit};

/// One entry of `pg_restore -l` that the clean phase or the plan cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TocEntry {
    /// TABLE, VIEW, MATERIALIZED VIEW, FOREIGN TABLE, SEQUENCE, FUNCTION, PROCEDURE, AGGREGATE,
    /// TYPE, DOMAIN, SCHEMA, EVENT TRIGGER, PUBLICATION, BLOB / LARGE OBJECT, and the kinds
    /// dropped by name alone ([`by_name`]).
    pub desc: &'static str,
    /// `-` when the object has no schema.
    pub schema: String,
    /// The name; for routines, `name(argument types)` as `format_type` writes them.
    pub tag: String,
    pub owner: String,
    /// The line of the list, to comment out.
    pub line: usize,
}

const KINDS: &[&str] = &[
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "TEXT SEARCH PARSER",
    "TEXT SEARCH TEMPLATE",
    "FOREIGN DATA WRAPPER",
    "OPERATOR CLASS",
    "OPERATOR FAMILY",
    "OPERATOR",
    "COLLATION",
    "CONVERSION",
    "STATISTICS",
    "SERVER",
    "CAST",
    "MATERIALIZED VIEW",
    "FOREIGN TABLE",
    "EVENT TRIGGER",
    "LARGE OBJECT",
    "TABLE",
    "VIEW",
    "SEQUENCE",
    "FUNCTION",
    "PROCEDURE",
    "AGGREGATE",
    "TYPE",
    "DOMAIN",
    "SCHEMA",
    "PUBLICATION",
    "BLOB",
    "TABLE DATA",
];

/// The entries of `toc` the clean phase cares about, outside the schemas `managed` (kept as the
/// target has them).
pub(crate) fn entries_of(
    toc: &crate::postgres::restore::toc::FullToc,
    managed: &BTreeSet<String>,
) -> Vec<TocEntry> {
    toc.items
        .iter()
        .filter(|i| {
            let schema = if i.desc == "SCHEMA" {
                &i.tag
            } else {
                &i.schema
            };
            !managed.contains(schema)
        })
        .filter_map(|i| {
            let desc = KINDS.iter().find(|k| **k == i.desc)?;
            Some(TocEntry {
                desc,
                schema: i.schema.clone(),
                tag: i.tag.clone(),
                owner: i.owner.clone(),
                line: i.line,
            })
        })
        .collect()
}

/// What replacing does in the target, computed from the target's catalogs.
#[derive(Debug, Default, Clone)]
pub(crate) struct CleanPhase {
    /// `DROP … IF EXISTS … CASCADE` statements (and `lo_unlink`), in order.
    pub drops: Vec<String>,
    /// `ALTER SCHEMA … OWNER TO …` for schemas kept because they exist.
    pub after: Vec<String>,
    /// List lines (0-based) to leave out of the restore: `CREATE SCHEMA` of existing schemas.
    pub skip_lines: BTreeSet<usize>,
    /// Catalog keys (`pg_class:OID`, …) of the objects dropped on purpose.
    pub direct: BTreeSet<String>,
    /// The backup's relations and routines for people, by whether the target has them.
    pub replaced: Vec<String>,
    /// How many of `replaced` are tables (partitioned parents and partitions included).
    pub replaced_tables: u64,
    pub created: Vec<String>,
    /// The target's relations and routines that are not in the backup, with their catalog keys.
    pub kept: Vec<(String, String)>,
    /// The backup's objects the target already has and keeps as it has them (see
    /// [`Keep`]), with their catalog keys and, for people, why.
    pub platform: Vec<(String, String)>,
    /// The same objects as the backup's list names them: (kind, schema, name). Their entries
    /// (and their comments and privileges) are left out of the restore.
    pub keep: BTreeSet<(&'static str, String, String)>,
}

/// Which of the target's objects a replace keeps although the backup has them, when the
/// connecting role is not a superuser: those owned by a role it cannot act for (the platform's,
/// such as Supabase's `extensions.grant_pg_graphql_access()` owned by `supabase_admin` in a
/// schema `postgres` owns: dropping it is allowed there, recreating it as its owner is not), and
/// the routines the target's event triggers run (dropping one takes the trigger along, and only
/// a superuser can create an event trigger).
pub(crate) struct Keep<'a> {
    facts: &'a TargetFacts,
    /// (schema, name as the list writes it) of the routines the target's event triggers run.
    event_routines: BTreeSet<(String, String)>,
}

impl<'a> Keep<'a> {
    /// Why `f` is kept, or `None` when the replace drops it.
    fn why(&self, f: &Found) -> Option<String> {
        if self.facts.superuser {
            return None;
        }
        if !self.facts.can_act_for(&f.owner, &BTreeSet::new()) {
            return Some(format!(
                "the platform's: owned by {}, which {} cannot act for",
                f.owner, self.facts.user
            ));
        }
        self.event_routines
            .contains(&(f.schema.clone(), f.name.clone()))
            .then(|| {
                "an event trigger of the target runs it, and only a superuser can create one"
                    .to_string()
            })
    }
}

fn label(desc: &str, schema: &str, name: &str) -> String {
    match desc {
        "TABLE" => format!("{schema}.{name}"),
        d => format!("{} {schema}.{name}", d.to_lowercase()),
    }
}

fn relkind_desc(k: &str) -> &'static str {
    match k {
        "v" => "VIEW",
        "m" => "MATERIALIZED VIEW",
        "f" => "FOREIGN TABLE",
        "S" => "SEQUENCE",
        _ => "TABLE",
    }
}

fn prokind_desc(k: &str) -> &'static str {
    match k {
        "p" => "PROCEDURE",
        "a" => "AGGREGATE",
        _ => "FUNCTION",
    }
}

/// A relation or routine of the target.
struct Found {
    schema: String,
    /// As the backup's list names it (routines with their argument types).
    name: String,
    desc: &'static str,
    /// Qualified and quoted, for DROP.
    drop_name: String,
    key: String,
    owner: String,
}

/// The target's objects `sql` lists: schema, name, kind (`desc_of` names it), the name for DROP,
/// the catalog key.
async fn fetch_found(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    sql: &str,
    desc_of: fn(&str) -> &'static str,
) -> Result<Vec<Found>> {
    Ok(sqlx::query(sql)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?
        .into_iter()
        .map(|r| Found {
            schema: r.get(0),
            name: r.get(1),
            desc: desc_of(&r.get::<String, _>(2)),
            drop_name: r.get(3),
            key: r.get(4),
            owner: r.get(5),
        })
        .collect())
}

/// Drop the `found` objects the backup (its entries of kinds `descs`) holds, keep the others, and
/// list them as replaced, kept, or (the backup's that the target lacks) created, where `listed`.
fn sort_out(
    cp: &mut CleanPhase,
    toc: &[TocEntry],
    descs: &[&str],
    found: Vec<Found>,
    keep: &Keep<'_>,
    listed: impl Fn(&str) -> bool,
) {
    let backup = want(toc, descs);
    let mut in_target = BTreeSet::new();
    for f in found {
        let named = (f.schema.clone(), f.name.clone());
        let shown = label(f.desc, &f.schema, &f.name);
        let kept = backup.contains(&named).then(|| keep.why(&f)).flatten();
        if let Some(why) = kept {
            cp.platform.push((f.key, format!("{shown} ({why})")));
            cp.keep.insert((f.desc, f.schema, f.name));
        } else if backup.contains(&named) {
            cp.drops.push(format!(
                "DROP {} IF EXISTS {} CASCADE;",
                f.desc, f.drop_name
            ));
            cp.direct.insert(f.key);
            if listed(f.desc) {
                cp.replaced_tables += u64::from(f.desc == "TABLE");
                cp.replaced.push(shown);
            }
        } else if listed(f.desc) {
            cp.kept.push((f.key, shown));
        }
        in_target.insert(named);
    }
    for e in toc
        .iter()
        .filter(|e| descs.contains(&e.desc) && listed(e.desc))
    {
        if !in_target.contains(&(e.schema.clone(), e.tag.clone())) {
            cp.created.push(label(e.desc, &e.schema, &e.tag));
        }
    }
}

/// `DROP … IF EXISTS … CASCADE` of an entry whose kind is dropped by its name alone: collations,
/// conversions, text search objects, operators and their classes and families, extended
/// statistics, casts, foreign data wrappers and servers.
fn by_name(e: &TocEntry) -> Option<String> {
    let qualified = |name: &str| {
        if e.schema == "-" {
            quote_ident(name)
        } else {
            format!("{}.{}", quote_ident(&e.schema), quote_ident(name))
        }
    };
    let what = match e.desc {
        "COLLATION"
        | "CONVERSION"
        | "STATISTICS"
        | "TEXT SEARCH CONFIGURATION"
        | "TEXT SEARCH DICTIONARY"
        | "TEXT SEARCH PARSER"
        | "TEXT SEARCH TEMPLATE"
        | "FOREIGN DATA WRAPPER"
        | "SERVER" => qualified(&e.tag),
        // "name USING method"
        "OPERATOR CLASS" | "OPERATOR FAMILY" => {
            let (name, method) = e.tag.split_once(" USING ")?;
            format!("{} USING {}", qualified(name), quote_ident(method))
        }
        // "===(integer, integer)": operator names are never quoted.
        "OPERATOR" => {
            let (name, args) = e.tag.split_once('(')?;
            format!("{}.{name} ({args}", quote_ident(&e.schema))
        }
        // "CAST (integer AS public.t)"
        "CAST" => e.tag.strip_prefix("CAST ")?.to_string(),
        _ => return None,
    };
    Some(format!("DROP {} IF EXISTS {what} CASCADE;", e.desc))
}

fn want(toc: &[TocEntry], descs: &[&str]) -> BTreeSet<(String, String)> {
    toc.iter()
        .filter(|e| descs.contains(&e.desc))
        .map(|e| (e.schema.clone(), e.tag.clone()))
        .collect()
}

const USER_NS: &str =
    "n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_%'";

/// Compute the clean phase of replacing the target's objects with the backup's `toc`, as the
/// connecting role `facts` describes can do it (see [`Keep`]).
pub(crate) async fn clean_phase(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    toc: &[TocEntry],
    facts: &TargetFacts,
) -> Result<CleanPhase> {
    // Routine signatures as pg_dump writes them: types qualified, as with its empty search_path.
    sqlx::query("SELECT pg_catalog.set_config('search_path', '', false)")
        .execute(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    let event_routines: BTreeSet<(String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')'
           FROM pg_event_trigger e JOIN pg_proc p ON p.oid = e.evtfoid
           JOIN pg_namespace n ON n.oid = p.pronamespace",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?
    .into_iter()
    .collect();
    let keep = Keep {
        facts,
        event_routines,
    };
    let mut cp = CleanPhase::default();
    drop_relations(conn, spec, toc, &keep, &mut cp).await?;
    empty_extension_tables(conn, spec, toc, facts, &mut cp).await?;
    drop_routines(conn, spec, toc, &keep, &mut cp).await?;
    drop_types(conn, spec, toc, &keep, &mut cp).await?;
    // Kinds whose DROP … IF EXISTS needs only the list's name.
    for e in toc {
        if let Some(sql) = by_name(e) {
            cp.drops.push(sql);
        }
    }
    drop_global_objects(conn, spec, toc, facts, &mut cp).await?;
    drop_blobs(toc, &mut cp);
    keep_schemas(conn, spec, toc, &mut cp).await?;
    sqlx::query("SELECT pg_catalog.set_config('search_path', $1, false)")
        .bind(crate::postgres::conn::FIXED_SEARCH_PATH)
        .execute(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    Ok(cp)
}

/// The target's relations the backup has (sequences go with their tables, unlisted).
async fn drop_relations(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    toc: &[TocEntry],
    keep: &Keep<'_>,
    cp: &mut CleanPhase,
) -> Result<()> {
    let rel_descs = [
        "TABLE",
        "VIEW",
        "MATERIALIZED VIEW",
        "FOREIGN TABLE",
        "SEQUENCE",
    ];
    let found = fetch_found(
        conn,
        spec,
        &format!(
            "SELECT n.nspname::text, c.relname::text, c.relkind::text,
                    format('%I.%I', n.nspname, c.relname), 'pg_class:' || c.oid,
                    pg_get_userbyid(c.relowner)::text
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r','p','v','m','f','S') AND {USER_NS}
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                 AND d.objid = c.oid AND d.deptype = 'e')
              ORDER BY 1, 2"
        ),
        relkind_desc,
    )
    .await?;
    // Sequences are not listed: they go with their tables.
    sort_out(cp, toc, &rel_descs, found, keep, |d| d != "SEQUENCE");
    Ok(())
}

/// The rows of the extensions' configuration tables the backup has data for (pg_cron's
/// `cron.job`): the extension is kept, and its table with it, so the backup's rows would meet the
/// target's (a duplicate key, or two of every job). The rows pg_dump would dump — the extension's
/// own filter condition, read from the target's catalog — are deleted first, in the same
/// transaction. Where the connecting role may not write `cron.job` but may run pg_cron's
/// functions, its own jobs are unscheduled instead, at the end (`script::cron`).
async fn empty_extension_tables(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    toc: &[TocEntry],
    facts: &TargetFacts,
    cp: &mut CleanPhase,
) -> Result<()> {
    let data = want(toc, &["TABLE DATA"]);
    if data.is_empty() {
        return Ok(());
    }
    let tables: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, x.extname::text,
                coalesce(x.extcondition[s.i], '')
           FROM pg_catalog.pg_extension x
          CROSS JOIN LATERAL pg_catalog.generate_subscripts(x.extconfig, 1) AS s(i)
           JOIN pg_catalog.pg_class c ON c.oid = x.extconfig[s.i]
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p')
          ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?;
    for (schema, table, extension, condition) in tables {
        if !data.contains(&(schema.clone(), table.clone())) {
            continue;
        }
        if facts.cron_by_functions && schema == "cron" && table == "job" {
            cp.replaced.push(format!(
                "the pg_cron jobs that run as {} (unscheduled through pg_cron's functions)",
                facts.user
            ));
            continue;
        }
        cp.drops.push(format!(
            "DELETE FROM {}.{} {condition};",
            quote_ident(&schema),
            quote_ident(&table)
        ));
        cp.replaced.push(format!(
            "the rows of {schema}.{table} (a table of extension {extension})"
        ));
    }
    Ok(())
}

/// The target's routines the backup has.
async fn drop_routines(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    toc: &[TocEntry],
    keep: &Keep<'_>,
    cp: &mut CleanPhase,
) -> Result<()> {
    let found = fetch_found(
        conn,
        spec,
        &format!(
            "SELECT n.nspname::text, p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')',
                    p.prokind::text, p.oid::regprocedure::text, 'pg_proc:' || p.oid,
                    pg_get_userbyid(p.proowner)::text
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE {USER_NS}
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                 AND d.objid = p.oid AND d.deptype = 'e')
              ORDER BY 1, 2"
        ),
        prokind_desc,
    )
    .await?;
    sort_out(
        cp,
        toc,
        &["FUNCTION", "PROCEDURE", "AGGREGATE"],
        found,
        keep,
        |_| true,
    );
    Ok(())
}

/// The target's types and domains the backup has (not the row types of tables, not arrays, not multiranges).
async fn drop_types(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    toc: &[TocEntry],
    keep: &Keep<'_>,
    cp: &mut CleanPhase,
) -> Result<()> {
    let backup_types = want(toc, &["TYPE", "DOMAIN"]);
    let rows = sqlx::query(&format!(
        "SELECT n.nspname::text, t.typname::text, t.typtype::text, t.oid::int8,
                pg_get_userbyid(t.typowner)::text
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           LEFT JOIN pg_class c ON c.oid = t.typrelid
          WHERE {USER_NS} AND t.typtype IN ('b','c','d','e','r') AND t.typcategory <> 'A'
            AND (t.typrelid = 0 OR c.relkind = 'c')
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                             AND d.objid = t.oid AND d.deptype = 'e')"
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?;
    for r in rows {
        let (s, n, k, oid): (String, String, String, i64) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        if backup_types.contains(&(s.clone(), n.clone())) {
            let what = if k == "d" { "DOMAIN" } else { "TYPE" };
            let found = Found {
                schema: s.clone(),
                name: n.clone(),
                desc: what,
                drop_name: String::new(),
                key: format!("pg_type:{oid}"),
                owner: r.get(4),
            };
            if let Some(why) = keep.why(&found) {
                let shown = label(what, &s, &n);
                cp.platform.push((found.key, format!("{shown} ({why})")));
                cp.keep.insert((what, s, n));
                continue;
            }
            cp.drops.push(format!(
                "DROP {what} IF EXISTS {}.{} CASCADE;",
                quote_ident(&s),
                quote_ident(&n)
            ));
            cp.direct.insert(format!("pg_type:{oid}"));
        }
    }
    Ok(())
}

/// The target's event triggers and publications the backup has.
async fn drop_global_objects(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    toc: &[TocEntry],
    facts: &TargetFacts,
    cp: &mut CleanPhase,
) -> Result<()> {
    for (desc, sql, stmt) in [
        (
            "EVENT TRIGGER",
            "SELECT evtname::text FROM pg_event_trigger",
            "DROP EVENT TRIGGER IF EXISTS {} CASCADE;",
        ),
        (
            "PUBLICATION",
            "SELECT pubname::text FROM pg_publication",
            "DROP PUBLICATION IF EXISTS {} CASCADE;",
        ),
    ] {
        let wanted = want(toc, &[desc]);
        if wanted.is_empty() {
            continue;
        }
        // Only a superuser can create an event trigger: the target's stay as they are (the
        // restore leaves the backup's entry out, see `script::decide`).
        if desc == "EVENT TRIGGER" && !facts.superuser {
            continue;
        }
        let names: Vec<String> = sqlx::query_scalar(sql)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| spec.map_sqlx(e))?;
        for n in names {
            if wanted.contains(&("-".to_string(), n.clone())) {
                cp.drops.push(stmt.replace("{}", &quote_ident(&n)));
            }
        }
    }
    Ok(())
}

/// The backup's large objects, unlinked where the target has them.
fn drop_blobs(toc: &[TocEntry], cp: &mut CleanPhase) {
    let blobs: Vec<u32> = toc
        .iter()
        .filter(|e| matches!(e.desc, "BLOB" | "LARGE OBJECT"))
        .filter_map(|e| e.tag.parse().ok())
        .collect();
    if !blobs.is_empty() {
        let list = blobs
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        cp.drops.push(format!(
            "SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid IN ({list});"
        ));
    }
}

/// Schemas that exist are kept: their CREATE SCHEMA is left out, their owner set.
async fn keep_schemas(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    toc: &[TocEntry],
    cp: &mut CleanPhase,
) -> Result<()> {
    let schemas: BTreeSet<String> = sqlx::query_scalar("SELECT nspname::text FROM pg_namespace")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?
        .into_iter()
        .collect();
    for e in toc.iter().filter(|e| e.desc == "SCHEMA") {
        if schemas.contains(&e.tag) {
            cp.skip_lines.insert(e.line);
            if !e.owner.is_empty() {
                cp.after.push(format!(
                    "ALTER SCHEMA {} OWNER TO {};",
                    quote_ident(&e.tag),
                    quote_ident(&e.owner)
                ));
            }
        }
    }
    Ok(())
}

/// Every object of the target that a drop could take along: key, description, and the key of
/// the object it belongs to (a column's, constraint's, trigger's, index's table; an owned
/// sequence's table).
const OBJECTS: &str = "
SELECT 'pg_class:' || c.oid, pg_describe_object('pg_class'::regclass, c.oid, 0),
       (SELECT CASE WHEN d.refclassid = 'pg_constraint'::regclass THEN 'pg_constraint:' ELSE 'pg_class:' END
               || d.refobjid
          FROM pg_depend d
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
           AND d.refclassid IN ('pg_class'::regclass, 'pg_constraint'::regclass)
           AND (d.deptype = 'i' OR (d.deptype = 'a' AND c.relkind IN ('S','i','I')))
         ORDER BY d.deptype DESC LIMIT 1)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r','p','v','m','S','f','i','I') AND USER_NS
UNION ALL
SELECT 'pg_attribute:' || a.attrelid || ':' || a.attnum, pg_describe_object('pg_class'::regclass, a.attrelid, a.attnum),
       'pg_class:' || a.attrelid
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r','p','v','m','f') AND USER_NS
UNION ALL
SELECT 'pg_constraint:' || o.oid, pg_describe_object('pg_constraint'::regclass, o.oid, 0),
       CASE WHEN o.conrelid <> 0 THEN 'pg_class:' || o.conrelid ELSE 'pg_type:' || o.contypid END
  FROM pg_constraint o JOIN pg_namespace n ON n.oid = o.connamespace WHERE USER_NS
UNION ALL
SELECT 'pg_trigger:' || t.oid, pg_describe_object('pg_trigger'::regclass, t.oid, 0), 'pg_class:' || t.tgrelid
  FROM pg_trigger t WHERE NOT t.tgisinternal
UNION ALL
SELECT 'pg_policy:' || p.oid, pg_describe_object('pg_policy'::regclass, p.oid, 0), 'pg_class:' || p.polrelid
  FROM pg_policy p
UNION ALL
SELECT 'pg_attrdef:' || d.oid, pg_describe_object('pg_attrdef'::regclass, d.oid, 0), 'pg_class:' || d.adrelid
  FROM pg_attrdef d
UNION ALL
SELECT 'pg_rewrite:' || r.oid, pg_describe_object('pg_rewrite'::regclass, r.oid, 0), 'pg_class:' || r.ev_class
  FROM pg_rewrite r WHERE r.rulename <> '_RETURN'
UNION ALL
SELECT 'pg_proc:' || p.oid, pg_describe_object('pg_proc'::regclass, p.oid, 0), NULL
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE USER_NS
UNION ALL
SELECT 'pg_type:' || t.oid, pg_describe_object('pg_type'::regclass, t.oid, 0), NULL
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace LEFT JOIN pg_class c ON c.oid = t.typrelid
 WHERE USER_NS AND t.typtype IN ('b','c','d','e','r') AND t.typcategory <> 'A' AND (t.typrelid = 0 OR c.relkind = 'c')";

async fn objects(
    conn: &mut PgConnection,
    spec: &ConnSpec,
) -> Result<BTreeMap<String, (String, Option<String>)>> {
    Ok(sqlx::query(&OBJECTS.replace("USER_NS", USER_NS))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?
        .into_iter()
        .map(|r| {
            (
                r.get::<String, _>(0),
                (r.get::<String, _>(1), r.get::<Option<String>, _>(2)),
            )
        })
        .collect())
}

/// What the clean phase's `CASCADE` takes along.
#[derive(Debug, Default)]
pub(crate) struct Dependents {
    /// For people: each object, not the parts of objects listed.
    pub described: Vec<String>,
    /// Catalog keys of everything that goes.
    pub keys: BTreeSet<String>,
}

/// The objects not in the backup that the clean phase's `CASCADE` would drop, found by running
/// the drops in a transaction that is rolled back. `Err` when the drops themselves fail (the
/// replace would fail the same way).
pub(crate) async fn dropped_dependents(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    cp: &CleanPhase,
) -> Result<std::result::Result<Dependents, String>> {
    if cp.drops.is_empty() {
        return Ok(Ok(Dependents::default()));
    }
    // Descriptions qualified with their schema.
    for s in [
        "BEGIN",
        "SET LOCAL lock_timeout = '10s'",
        "SET LOCAL search_path = ''",
    ] {
        sqlx::query(s)
            .execute(&mut *conn)
            .await
            .map_err(|e| spec.map_sqlx(e))?;
    }
    let result = simulate(conn, spec, cp).await;
    let rolled_back = sqlx::query("ROLLBACK")
        .execute(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e));
    let result = result?;
    rolled_back?;
    Ok(result)
}

async fn simulate(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    cp: &CleanPhase,
) -> Result<std::result::Result<Dependents, String>> {
    let before = objects(conn, spec).await?;
    for drop in &cp.drops {
        match sqlx::query(drop).execute(&mut *conn).await {
            // Another session (a running backup's pg_dump) holds the objects: busy, not a problem
            // of the backup or the request.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                return Err(Error::new(ErrorKind::Busy, format!("the target is busy: {}", e.message()))
                    .with_hint("another session (a backup of the target, perhaps) holds locks on the objects the restore replaces; try again when it has finished"));
            }
            Err(sqlx::Error::Database(e)) => return Ok(Err(e.message().to_string())),
            Err(e) => return Err(spec.map_sqlx(e)),
            Ok(_) => {}
        }
    }
    let after = objects(conn, spec).await?;
    let keys: BTreeSet<String> = before
        .keys()
        .filter(|k| !after.contains_key(*k) && !cp.direct.contains(*k))
        .cloned()
        .collect();
    let mut described: Vec<String> = before
        .iter()
        .filter(|(k, _)| keys.contains(*k))
        .filter(|(_, (_, owner))| owner.as_ref().is_none_or(|o| after.contains_key(o)))
        .map(|(_, (d, _))| d.clone())
        .collect();
    described.sort();
    described.dedup();
    Ok(Ok(Dependents { described, keys }))
}

/// The SQL around pg_restore's in the one transaction of a scripted restore.
#[derive(Debug, Clone, Default)]
pub(crate) struct Script {
    /// Run first (roles, the clean phase's drops, schema owners).
    pub before: Vec<String>,
    /// Run last, before `COMMIT` (temporary memberships revoked, schema owners).
    pub after: Vec<String>,
    /// Roles whose `ALTER … OWNER TO role;` statements are left out of pg_restore's SQL.
    pub drop_owner_of: BTreeSet<String>,
    /// Statement starts of pg_restore's SQL replaced (see [`pump_without_commit`]).
    pub copy_redirect: Vec<(String, String)>,
}

/// Run a scripted restore: `BEGIN`, `script.before`, `pg_restore`'s SQL for `list`,
/// `script.after`, then `COMMIT` only when all of it succeeded and the dump's checksum was
/// verified. `dir`: a directory dump (format 2) already extracted and checked, read from there
/// instead of the archive's `database.dump`.
pub(crate) fn run(
    to: &Target<'_>,
    archive_path: &Path,
    dir: Option<&Path>,
    script: &Script,
    list: &str,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<()> {
    // Named after this process, like the restore's folders: swept once a kill left it.
    let mut list_file = crate::private_fs::tempfile(&format!("{}list-", super::tmp::own_prefix()))
        .map_err(|e| Error::io("writing the restore list", e))?;
    list_file
        .write_all(list.as_bytes())
        .and_then(|_| list_file.flush())
        .map_err(|e| Error::io("writing the restore list", e))?;

    // Offsite's own SQL around pg_restore's, checked by the lexer; the session opens under
    // Offsite's `\restrict` key where psql has it.
    let (session, mut psql_in) = Transaction::open(to, &script.before, &script.after, cancel)?;

    let password = to.password;
    let mut restore = process::command(&to.tools.pg_restore(), to.spec, password);
    restore
        .args(["--single-transaction", "--file=-"])
        .arg(format!("--use-list={}", list_file.path().display()));
    match dir {
        Some(dir) => restore.arg(dir).stdin(Stdio::null()),
        None => restore.stdin(Stdio::piped()),
    };
    let (restore, restore_in, restore_out, restore_err) =
        process::Guarded::spawn(restore, "pg_restore", cancel)?;

    let owner_lines = owner_suffixes(&script.drop_owner_of);
    let redirect = script.copy_redirect.clone();
    let pump = {
        let out = restore_out.expect("stdout piped");
        std::thread::spawn(move || -> (std::io::Result<()>, Input) {
            let r = psql_in
                .start()
                .and_then(|_| pump_without_commit(out, &mut psql_in, &owner_lines, &redirect));
            (r, psql_in)
        })
    };
    let fed = match restore_in {
        Some(stdin) => crate::postgres::restore::feed_dump(
            archive_path,
            stdin,
            &restore,
            reporter,
            cancel,
            true,
        ),
        None => Ok(()),
    };
    let restore_status = restore.wait()?;
    let (pumped, psql_in) = pump
        .join()
        .map_err(|_| Error::internal("the restore's SQL pump panicked"))?;
    let all_good =
        fed.is_ok() && restore_status.success() && pumped.is_ok() && !cancel.is_cancelled();
    let psql = session.finish(psql_in, all_good, cancel)?;
    let restore_text = restore_err.finish();
    let psql_error = || psql.error(password);
    // The cause first: SQL the lexer refused; a damaged archive; then psql stopping on its own
    // (its stdin closed under the pump: an SQL error), which breaks pg_restore's output and the
    // feed in turn; then pg_restore; then the rest.
    if let Some(e) = pumped.as_ref().err().and_then(lex_refusal) {
        return Err(e);
    }
    match fed {
        Err(e) if e.kind() != ErrorKind::Io => return Err(e),
        _ if !psql.status.success() && (all_good || pumped.is_err()) => return Err(psql_error()),
        _ if !restore_status.success() => {
            return Err(process::tool_error(
                "pg_restore",
                restore_status,
                &restore_text,
                password,
            ))
        }
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    if let Err(e) = pumped {
        return Err(Error::io("feeding psql", e));
    }
    if !psql.status.success() {
        return Err(psql_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_by_name() {
        let e = |desc, schema: &str, tag: &str| TocEntry {
            desc,
            schema: schema.into(),
            tag: tag.into(),
            owner: String::new(),
            line: 0,
        };
        let cases = [
            (
                e("COLLATION", "public", "case_insensitive"),
                "DROP COLLATION IF EXISTS \"public\".\"case_insensitive\" CASCADE;",
            ),
            (
                e("OPERATOR CLASS", "public", "my_ops USING btree"),
                "DROP OPERATOR CLASS IF EXISTS \"public\".\"my_ops\" USING \"btree\" CASCADE;",
            ),
            (
                e("OPERATOR", "public", "===(integer, integer)"),
                "DROP OPERATOR IF EXISTS \"public\".=== (integer, integer) CASCADE;",
            ),
            (
                e("CAST", "-", "CAST (integer AS public.t)"),
                "DROP CAST IF EXISTS (integer AS public.t) CASCADE;",
            ),
            (
                e("SERVER", "-", "remote"),
                "DROP SERVER IF EXISTS \"remote\" CASCADE;",
            ),
        ];
        for (entry, sql) in cases {
            assert_eq!(by_name(&entry).as_deref(), Some(sql));
        }
        assert_eq!(by_name(&e("TABLE", "public", "t")), None);
    }
}
