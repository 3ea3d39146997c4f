//! Privileges (the backup's `ACL` entries) a restore leaves as the target has them, found by the
//! plan before anything runs: those the connecting role may not restore (when it is not a
//! superuser), and those that would hand out a power over the server without consent.
//!
//! - **On what the target's platform owns.** An entry about an object the backup does not create
//!   (a `pg_catalog` function such as `lo_export`, an extension's function, a platform schema)
//!   that the target has, owned by a role the connecting role cannot act for, and on which it
//!   holds no grant option: its `GRANT`/`REVOKE` would be refused ("permission denied for
//!   function lo_export") or grant nothing. The entry is left out, the target's privileges are
//!   kept as they are, and the object is listed with each statement left out
//!   (`platform_privileges`). This is a Supabase target restored as `postgres`: the platform's
//!   bootstrap role owns `pg_catalog`.
//! - **On the server's own catalog** (`pg_catalog`) of a target whose connecting role may grant
//!   on it (a superuser; the owner): restored like every other privilege of the backup, as the
//!   stock `pg_restore` restores them (Supabase's `REVOKE ALL ON FUNCTION
//!   pg_catalog.lo_export(oid, text) FROM postgres`, the regression database's `GRANT
//!   SELECT(rolname) ON pg_catalog.pg_authid`). One that gives a role a power over the server
//!   (`GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_file(text) TO PUBLIC`, a grant on
//!   `lo_export`: what the SQL gate calls "gives a role superuser or server powers") is restored
//!   only with `--allow-arbitrary-sql`; without it the entry is left out and listed, saying so.
//! - **Granted in another role's name.** pg_dump restores a privilege that a role other than the
//!   owner granted under `SET SESSION AUTHORIZATION grantor`, which only a superuser may do: it
//!   counts as an object of a role the connecting role cannot act for (a blocker; with
//!   `no_owner`, left out and listed).

use super::super::toc::{take_ident, FullToc, Item};
use super::{Decisions, TargetFacts};
use crate::error::Result;
use crate::postgres::conn::ConnSpec;
use sqlx::postgres::PgConnection;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};

/// The target's object an ACL entry is about: its owner, and whether the connecting role holds
/// a grant option on it (itself or through a role it has the privileges of).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AclObject {
    pub owner: String,
    pub grantable: bool,
}

/// `(kind, schema, name)` of the object an ACL entry is about, as the lookup wants them: the
/// function's signature as pg_dump writes it, other names unquoted. `None` for kinds not looked
/// up.
fn acl_object(it: &Item) -> Option<(&'static str, String, String)> {
    let (kind, name) = it.tag.split_once(' ')?;
    let plain = |name: &str| -> Option<String> {
        let (n, rest) = take_ident(name)?;
        rest.is_empty().then_some(n)
    };
    Some(match kind {
        "FUNCTION" | "PROCEDURE" | "AGGREGATE" => ("FUNCTION", it.schema.clone(), name.into()),
        "TABLE" | "SEQUENCE" => ("TABLE", it.schema.clone(), plain(name)?),
        "COLUMN" => ("TABLE", it.schema.clone(), take_ident(name)?.0),
        "TYPE" | "DOMAIN" => ("TYPE", it.schema.clone(), plain(name)?),
        "SCHEMA" => ("SCHEMA", String::new(), plain(name)?),
        "LANGUAGE" => ("LANGUAGE", String::new(), plain(name)?),
        _ => return None,
    })
}

/// The object of an ACL entry for people: `function pg_catalog.lo_export(oid, text)`.
pub(super) fn acl_label(it: &Item) -> String {
    let (kind, name) = it.tag.split_once(' ').unwrap_or(("", &it.tag));
    let kind = kind.to_lowercase();
    if it.schema == "-" || it.schema.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {}.{name}", it.schema)
    }
}

const LOOKUP: &str = "
SELECT e.i, o.owner, o.grantable
  FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[]) AS e(i, kind, nsp, name)
 CROSS JOIN LATERAL (
   SELECT pg_get_userbyid(p.proowner)::text AS owner,
          has_function_privilege(p.oid, 'EXECUTE WITH GRANT OPTION') AS grantable
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE e.kind = 'FUNCTION' AND n.nspname = e.nsp
      AND format('%s(%s)', quote_ident(p.proname), pg_get_function_identity_arguments(p.oid)) = e.name
   UNION ALL
   SELECT pg_get_userbyid(c.relowner)::text,
          CASE WHEN c.relkind = 'S'
               THEN has_sequence_privilege(c.oid, 'USAGE WITH GRANT OPTION, SELECT WITH GRANT OPTION, UPDATE WITH GRANT OPTION')
               ELSE has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION, INSERT WITH GRANT OPTION, UPDATE WITH GRANT OPTION, DELETE WITH GRANT OPTION, TRUNCATE WITH GRANT OPTION, REFERENCES WITH GRANT OPTION, TRIGGER WITH GRANT OPTION')
                    OR has_any_column_privilege(c.oid, 'SELECT WITH GRANT OPTION, INSERT WITH GRANT OPTION, UPDATE WITH GRANT OPTION, REFERENCES WITH GRANT OPTION')
          END
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE e.kind = 'TABLE' AND n.nspname = e.nsp AND c.relname = e.name
   UNION ALL
   SELECT pg_get_userbyid(t.typowner)::text, has_type_privilege(t.oid, 'USAGE WITH GRANT OPTION')
     FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE e.kind = 'TYPE' AND n.nspname = e.nsp AND t.typname = e.name
   UNION ALL
   SELECT pg_get_userbyid(nspowner)::text,
          has_schema_privilege(oid, 'USAGE WITH GRANT OPTION, CREATE WITH GRANT OPTION')
     FROM pg_namespace WHERE e.kind = 'SCHEMA' AND nspname = e.name
   UNION ALL
   SELECT pg_get_userbyid(lanowner)::text, has_language_privilege(oid, 'USAGE WITH GRANT OPTION')
     FROM pg_language WHERE e.kind = 'LANGUAGE' AND lanname = e.name
 ) o";

/// The target's objects of the backup's ACL entries about objects the backup does not create,
/// by the entry's dump id. Function signatures are compared as pg_dump writes them (types
/// qualified unless in `pg_catalog`).
pub(super) async fn read_acl_objects(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    toc: &FullToc,
) -> Result<BTreeMap<i32, AclObject>> {
    let e = |e| spec.map_sqlx(e);
    let ids: BTreeSet<i32> = toc.items.iter().map(|i| i.id).collect();
    let (mut id, mut kind, mut nsp, mut name) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for it in &toc.items {
        if it.desc != "ACL" || it.deps.iter().any(|d| ids.contains(d)) {
            continue;
        }
        if let Some((k, s, n)) = acl_object(it) {
            id.push(it.id);
            kind.push(k.to_string());
            nsp.push(s);
            name.push(n);
        }
    }
    let mut out = BTreeMap::new();
    if id.is_empty() {
        return Ok(out);
    }
    let path: String = sqlx::query_scalar("SELECT pg_catalog.current_setting('search_path')")
        .fetch_one(&mut *conn)
        .await
        .map_err(e)?;
    sqlx::query("SELECT pg_catalog.set_config('search_path', '', false)")
        .execute(&mut *conn)
        .await
        .map_err(e)?;
    let rows = sqlx::query(LOOKUP)
        .bind(&id)
        .bind(&kind)
        .bind(&nsp)
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .map_err(e);
    sqlx::query("SELECT pg_catalog.set_config('search_path', $1, false)")
        .bind(&path)
        .execute(&mut *conn)
        .await
        .map_err(e)?;
    for r in rows? {
        out.insert(
            r.get::<i32, _>(0),
            AclObject {
                owner: r.get(1),
                grantable: r.get(2),
            },
        );
    }
    Ok(out)
}

/// The `GRANT`/`REVOKE` statements of an ACL entry, each on one line (at most 8, then `…`).
fn statements(sql: &str) -> String {
    let all: Vec<String> = sql
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("GRANT ") || l.starts_with("REVOKE "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let mut shown: Vec<String> = all.iter().take(8).cloned().collect();
    if all.len() > 8 {
        shown.push(format!("… {} more", all.len() - 8));
    }
    shown.join(" ")
}

/// Leave out the privileges of the target's objects the connecting role may not grant on,
/// keeping the target's; list each with its statements.
pub(super) fn keep_platform_privileges(toc: &FullToc, f: &TargetFacts, d: &mut Decisions) {
    for it in &toc.items {
        if it.desc != "ACL" || d.skip.contains_key(&it.line) {
            continue;
        }
        let catalog = it.schema == "pg_catalog";
        let obj = f.acl_objects.get(&it.id);
        let (why, listed) = match obj {
            // Not the target's: the backup creates it.
            None if !catalog => continue,
            None => (
                "the target's server has no such object".to_string(),
                "not on the target's server".to_string(),
            ),
            Some(o) if f.superuser || f.can_act_for(&o.owner, &BTreeSet::new()) => continue,
            // A grant option lets it grant to others, never to itself ("grant options cannot be
            // granted back to your own grantor": what the platform gave it is the target's).
            Some(o) if o.grantable && !grants_to(&it.sql, &f.user) => continue,
            Some(o) if o.grantable => (
                format!(
                    "{} owns it; what it grants {} is the target's to give",
                    o.owner, f.user
                ),
                format!("owner {}", o.owner),
            ),
            Some(o) => (
                format!("{} owns it; {} may not grant on it", o.owner, f.user),
                format!("owner {}", o.owner),
            ),
        };
        let what = acl_label(it);
        d.skip.insert(
            it.line,
            format!("privileges on {what}: kept as the target has them ({why})"),
        );
        d.platform_privileges.push(format!(
            "{what} ({listed}): kept as the target has them, left out: {}",
            statements(&it.sql)
        ));
    }
}

/// Without consent to statements pg_dump never writes: leave out the privileges on the server's
/// own catalog the restore would otherwise restore that give a role a power over the server
/// (the SQL gate's "gives a role superuser or server powers": a grant on `lo_export`,
/// `pg_read_file`), keeping the target's; list each with why and its statements.
pub(crate) fn leave_out_catalog_powers(toc: &FullToc, d: &mut Decisions) {
    for it in &toc.items {
        if it.desc != "ACL" || it.schema != "pg_catalog" || d.skip.contains_key(&it.line) {
            continue;
        }
        let powers = crate::plainsql::classify::Findings::of_script(
            it.sql.as_bytes(),
            crate::plainsql::classify::Classifier::for_pg_restore(),
        );
        let Some(first) = powers.first.first() else {
            continue;
        };
        let (what, why) = (acl_label(it), first.kind.describe());
        d.skip.insert(
            it.line,
            format!(
                "privileges on {what}: kept as the target has them (the backup's {why}; \
                 --allow-arbitrary-sql restores them)"
            ),
        );
        d.platform_privileges.push(format!(
            "{what} (the server's own catalog; the backup's {why}: restored only with \
             --allow-arbitrary-sql), left out: {}",
            statements(&it.sql)
        ));
    }
}

/// Whether one of an ACL entry's `GRANT … TO a, b [WITH GRANT OPTION];` names `user` as a
/// grantee (names as pg_dump writes them, quoted when they must be).
fn grants_to(sql: &str, user: &str) -> bool {
    sql.lines().map(str::trim).any(|l| {
        let Some(rest) = l.strip_prefix("GRANT ") else {
            return false;
        };
        let Some((_, grantees)) = rest.rsplit_once(" TO ") else {
            return false;
        };
        let mut list = grantees
            .trim_end_matches(';')
            .trim_end_matches(" WITH GRANT OPTION")
            .trim();
        while let Some((name, after)) = take_ident(list) {
            if name == user {
                return true;
            }
            match after.trim_start().strip_prefix(',') {
                Some(more) => list = more.trim_start(),
                None => break,
            }
        }
        false
    })
}

/// The first role other than `user` an ACL entry's SQL grants in the name of
/// (`SET SESSION AUTHORIZATION role;`).
pub(super) fn foreign_grantor(sql: &str, user: &str) -> Option<String> {
    sql.lines()
        .filter_map(|l| l.trim().strip_prefix("SET SESSION AUTHORIZATION "))
        .filter_map(|r| take_ident(r.trim_end_matches(';').trim()).map(|(n, _)| n))
        .find(|r| r != user)
}

#[cfg(test)]
mod tests {
    use super::super::super::toc::parse_line;
    use super::*;

    #[test]
    fn acl_entries_name_their_objects() {
        let it = parse_line(
            "4000; 0 0 ACL pg_catalog FUNCTION lo_export(oid, text) supabase_admin",
            0,
        )
        .unwrap();
        assert_eq!(
            acl_object(&it),
            Some((
                "FUNCTION",
                "pg_catalog".to_string(),
                "lo_export(oid, text)".to_string()
            ))
        );
        assert_eq!(acl_label(&it), "function pg_catalog.lo_export(oid, text)");
        let it = parse_line("4001; 0 0 ACL public COLUMN \"Odd\".c postgres", 1).unwrap();
        assert_eq!(
            acl_object(&it),
            Some(("TABLE", "public".to_string(), "Odd".to_string()))
        );
        let it = parse_line("4002; 0 0 ACL - SCHEMA graphql_public supabase_admin", 2).unwrap();
        assert_eq!(
            acl_object(&it),
            Some(("SCHEMA", String::new(), "graphql_public".to_string()))
        );
        assert_eq!(acl_label(&it), "schema graphql_public");
    }

    #[test]
    fn grants_in_another_roles_name_are_found() {
        let sql = "GRANT ALL ON TABLE public.notes TO postgres;\nSET SESSION AUTHORIZATION \"fn admin\";\nGRANT SELECT ON TABLE public.notes TO authenticated;\nRESET SESSION AUTHORIZATION;\n";
        assert_eq!(
            foreign_grantor(sql, "postgres"),
            Some("fn admin".to_string())
        );
        assert_eq!(
            foreign_grantor("SET SESSION AUTHORIZATION postgres;\n", "postgres"),
            None
        );
        assert_eq!(
            foreign_grantor("GRANT ALL ON TABLE t TO x;", "postgres"),
            None
        );
    }

    #[test]
    fn grants_to_the_connecting_role_itself_are_found() {
        let sql = "REVOKE ALL ON FUNCTION cron.alter_job(job_id bigint) FROM PUBLIC;\nGRANT ALL ON FUNCTION cron.alter_job(job_id bigint) TO postgres WITH GRANT OPTION;\n";
        assert!(grants_to(sql, "postgres"));
        assert!(!grants_to(sql, "authenticated"));
        let sql = "GRANT SELECT ON TABLE cron.job TO anon, \"Odd, Role\", postgres;\n";
        assert!(
            grants_to(sql, "postgres") && grants_to(sql, "Odd, Role") && grants_to(sql, "anon")
        );
        // A role named in the privilege list or the object, not as a grantee, is not one.
        assert!(!grants_to(
            "GRANT ALL ON TABLE public.postgres TO anon;\n",
            "postgres"
        ));
        assert!(!grants_to(
            "REVOKE ALL ON TABLE t FROM postgres;\n",
            "postgres"
        ));
    }
}
