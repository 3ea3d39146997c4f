//! What the target is like ([`TargetFacts`]), read before anything changes.

use super::super::toc::FullToc;
use super::{is_system_schema, privileges};
use crate::error::Result;
use crate::postgres::conn::ConnSpec;
use crate::postgres::restore::quote_ident;
use sqlx::postgres::PgConnection;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};

/// What the target is like, read before anything changes.
#[derive(Debug, Clone, Default)]
pub(crate) struct TargetFacts {
    pub user: String,
    pub superuser: bool,
    pub createrole: bool,
    /// Every role of the target, and whether the connecting role can act for it: is it, or holds
    /// its privileges (a member that inherits them). Membership alone is not enough: after
    /// `ALTER … OWNER TO role` the restore still has to fill the object.
    pub roles: BTreeMap<String, bool>,
    /// Schema → owner.
    pub schemas: BTreeMap<String, String>,
    /// Schemas treated as managed by others (see the module).
    pub managed: BTreeSet<String>,
    /// Objects of the managed schemas, by kind, as (schema, name) or (schema, "table name").
    pub relations: BTreeMap<(String, String), Relation>,
    pub routines: BTreeSet<(String, String)>,
    pub types: BTreeSet<(String, String)>,
    pub on_tables: BTreeSet<(&'static str, String, String)>,
    pub sequences_used: BTreeMap<(String, String), bool>,
    /// Foreign keys of tables of managed schemas: the table, the constraint's name and its
    /// definition (names qualified).
    pub fks: Vec<((String, String), String, String)>,
    pub publications: BTreeSet<String>,
    pub publication_tables: BTreeSet<(String, String, String)>,
    pub event_triggers: BTreeSet<String>,
    pub extensions: BTreeSet<String>,
    /// pg_cron is in the target and the connecting role may run its functions but not write
    /// `cron.job` (Supabase's `postgres`): the backup's jobs go in through the functions
    /// (`super::cron`).
    pub cron_by_functions: bool,
    /// The target's objects of the backup's privileges on objects it does not create, by the
    /// ACL entry's dump id (see [`privileges`]).
    pub acl_objects: BTreeMap<i32, privileges::AclObject>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Relation {
    pub owner: String,
    /// Rows it holds (counted up to 100,000), for tables.
    pub rows: u64,
    pub rls: bool,
    /// (name, generated) of its columns.
    pub columns: Vec<(String, bool)>,
}

impl TargetFacts {
    pub(crate) fn can_act_for(&self, role: &str, created: &BTreeSet<String>) -> bool {
        self.superuser
            || role.is_empty()
            || role == self.user
            || self.roles.get(role).copied().unwrap_or(false)
            || created.contains(role)
    }
}

/// Read what the decisions need from the target. `toc` says which schemas matter.
pub(crate) async fn read_facts(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    toc: &FullToc,
) -> Result<TargetFacts> {
    let mut f = read_server(conn, spec).await?;
    // For a superuser too: a privilege on the server's own catalog is restored only where the
    // target's server has that object.
    f.acl_objects = privileges::read_acl_objects(conn, spec, toc).await?;
    if f.superuser {
        return Ok(f);
    }
    let backup_schemas: BTreeSet<&str> = toc
        .items
        .iter()
        .map(|i| {
            if i.desc == "SCHEMA" {
                i.tag.as_str()
            } else {
                i.schema.as_str()
            }
        })
        .collect();
    f.managed = f
        .schemas
        .iter()
        .filter(|(s, owner)| {
            backup_schemas.contains(s.as_str())
                && **owner != f.user
                && s.as_str() != "public"
                && !is_system_schema(s)
        })
        .map(|(s, _)| s.clone())
        .collect();
    if f.managed.is_empty() {
        return Ok(f);
    }
    let managed: Vec<String> = f.managed.iter().cloned().collect();
    read_relations(conn, spec, &managed, &mut f).await?;
    read_managed_objects(conn, spec, &managed, &mut f).await?;
    Ok(f)
}

/// The connecting role, the roles it can act for, schemas, publications, event triggers,
/// extensions.
async fn read_server(conn: &mut PgConnection, spec: &ConnSpec) -> Result<TargetFacts> {
    let e = |e| spec.map_sqlx(e);
    let mut f = TargetFacts::default();
    let row = sqlx::query(
        "SELECT current_user::text, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(e)?;
    (f.user, f.superuser, f.createrole) = (row.get(0), row.get(1), row.get(2));
    for r in
        sqlx::query("SELECT rolname::text, pg_has_role(current_user, oid, 'USAGE') FROM pg_roles")
            .fetch_all(&mut *conn)
            .await
            .map_err(e)?
    {
        f.roles.insert(r.get(0), r.get(1));
    }
    for r in sqlx::query("SELECT nspname::text, pg_get_userbyid(nspowner)::text FROM pg_namespace")
        .fetch_all(&mut *conn)
        .await
        .map_err(e)?
    {
        f.schemas.insert(r.get(0), r.get(1));
    }
    f.publications = sqlx::query_scalar("SELECT pubname::text FROM pg_publication")
        .fetch_all(&mut *conn)
        .await
        .map_err(e)?
        .into_iter()
        .collect();
    for r in sqlx::query(
        "SELECT pubname::text, schemaname::text, tablename::text FROM pg_publication_tables",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(e)?
    {
        f.publication_tables.insert((r.get(0), r.get(1), r.get(2)));
    }
    f.event_triggers = sqlx::query_scalar("SELECT evtname::text FROM pg_event_trigger")
        .fetch_all(&mut *conn)
        .await
        .map_err(e)?
        .into_iter()
        .collect();
    f.extensions = sqlx::query_scalar("SELECT extname::text FROM pg_extension")
        .fetch_all(&mut *conn)
        .await
        .map_err(e)?
        .into_iter()
        .collect();
    f.cron_by_functions = sqlx::query_scalar(CRON_BY_FUNCTIONS)
        .fetch_one(&mut *conn)
        .await
        .map_err(e)?;
    Ok(f)
}

/// Whether the connecting role schedules pg_cron's jobs through its functions only (see
/// [`TargetFacts::cron_by_functions`]); false without pg_cron.
const CRON_BY_FUNCTIONS: &str = "
    SELECT coalesce((
      SELECT NOT has_table_privilege(c.oid, 'INSERT')
             AND has_function_privilege(to_regprocedure('cron.schedule(text,text,text)'), 'EXECUTE')
             AND has_function_privilege(to_regprocedure('cron.schedule(text,text)'), 'EXECUTE')
             AND has_function_privilege(
                   to_regprocedure('cron.alter_job(bigint,text,text,text,text,boolean)'), 'EXECUTE')
             AND has_function_privilege(to_regprocedure('cron.unschedule(bigint)'), 'EXECUTE')
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       -- Names are looked up only in a schema the role may use (a drill's role may not).
       WHERE n.nspname = 'cron' AND c.relname = 'job' AND has_schema_privilege(n.oid, 'USAGE')),
      false)";

/// The relations of the managed schemas (columns and rows of their tables), and whether their
/// sequences were used.
async fn read_relations(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    managed: &[String],
    f: &mut TargetFacts,
) -> Result<()> {
    let e = |e| spec.map_sqlx(e);
    for r in sqlx::query(
        "SELECT n.nspname::text, c.relname::text, pg_get_userbyid(c.relowner)::text, c.relrowsecurity,
                c.relkind::text, c.oid::int8
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = ANY($1) AND c.relkind IN ('r','p','v','m','f','S','i','I')",
    )
    .bind(managed)
    .fetch_all(&mut *conn)
    .await
    .map_err(e)?
    {
        let (s, n, kind): (String, String, String) = (r.get(0), r.get(1), r.get(4));
        let mut rel = Relation {
            owner: r.get(2),
            rls: r.get(3),
            ..Default::default()
        };
        if kind == "S" {
            f.sequences_used.insert((s.clone(), n.clone()), false);
        }
        if kind == "r" || kind == "p" {
            let oid: i64 = r.get(5);
            rel.columns = sqlx::query(
                "SELECT attname::text, attgenerated <> '' FROM pg_attribute
                  WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            )
            .bind(oid)
            .fetch_all(&mut *conn)
            .await
            .map_err(e)?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
            let count = format!(
                "SELECT count(*) FROM (SELECT 1 FROM {}.{} LIMIT 100000) x",
                quote_ident(&s),
                quote_ident(&n)
            );
            // A table the connecting role may not read counts as holding rows: it is kept.
            rel.rows = match sqlx::query_scalar::<_, i64>(&count).fetch_one(&mut *conn).await {
                Ok(n) => n as u64,
                Err(sqlx::Error::Database(_)) => u64::MAX,
                Err(err) => return Err(spec.map_sqlx(err)),
            };
        }
        f.relations.insert((s, n), rel);
    }
    let keys: Vec<(String, String)> = f.sequences_used.keys().cloned().collect();
    for (s, n) in keys {
        let q = format!(
            "SELECT is_called FROM {}.{}",
            quote_ident(&s),
            quote_ident(&n)
        );
        let used = sqlx::query_scalar::<_, bool>(&q)
            .fetch_one(&mut *conn)
            .await
            .unwrap_or(true);
        f.sequences_used.insert((s, n), used);
    }
    Ok(())
}

/// The routines, foreign keys, types and what hangs on tables (constraints, triggers, policies,
/// rules) of the managed schemas.
async fn read_managed_objects(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    managed: &[String],
    f: &mut TargetFacts,
) -> Result<()> {
    let e = |e| spec.map_sqlx(e);
    sqlx::query("SELECT pg_catalog.set_config('search_path', '', false)")
        .execute(&mut *conn)
        .await
        .map_err(e)?;
    for r in sqlx::query(
        "SELECT n.nspname::text, p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')'
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY($1)",
    )
    .bind(managed)
    .fetch_all(&mut *conn)
    .await
    .map_err(e)?
    {
        f.routines.insert((r.get(0), r.get(1)));
    }
    for r in sqlx::query(
        "SELECT cn.nspname::text, c.relname::text, o.conname::text, pg_get_constraintdef(o.oid)
           FROM pg_constraint o
           JOIN pg_class c ON c.oid = o.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
          WHERE o.contype = 'f' AND cn.nspname = ANY($1) ORDER BY 1, 2, 3",
    )
    .bind(managed)
    .fetch_all(&mut *conn)
    .await
    .map_err(e)?
    {
        f.fks.push(((r.get(0), r.get(1)), r.get(2), r.get(3)));
    }
    sqlx::query("SELECT pg_catalog.set_config('search_path', $1, false)")
        .bind(crate::postgres::conn::FIXED_SEARCH_PATH)
        .execute(&mut *conn)
        .await
        .map_err(e)?;
    for r in sqlx::query(
        "SELECT n.nspname::text, t.typname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE n.nspname = ANY($1)",
    )
    .bind(managed)
    .fetch_all(&mut *conn)
    .await
    .map_err(e)?
    {
        f.types.insert((r.get(0), r.get(1)));
    }
    for (kind, sql) in [
        ("CONSTRAINT", "SELECT n.nspname::text, c.relname || ' ' || o.conname FROM pg_constraint o JOIN pg_class c ON c.oid = o.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1)"),
        ("TRIGGER", "SELECT n.nspname::text, c.relname || ' ' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND n.nspname = ANY($1)"),
        ("POLICY", "SELECT n.nspname::text, c.relname || ' ' || p.polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1)"),
        ("RULE", "SELECT n.nspname::text, c.relname || ' ' || r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.rulename <> '_RETURN' AND n.nspname = ANY($1)"),
    ] {
        for r in sqlx::query(sql).bind(managed).fetch_all(&mut *conn).await.map_err(e)? {
            f.on_tables.insert((kind, r.get(0), r.get(1)));
        }
    }
    Ok(())
}
