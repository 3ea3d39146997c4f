//! Roles for a restore onto another server: what the archive's `globals.sql` (`pg_dumpall
//! --globals-only --no-role-passwords`) says about each role — its attributes, its settings and
//! its memberships — and the SQL that recreates the roles a backup needs on a server that lacks
//! them, without passwords and without what the connecting role may not give.

#[cfg(test)]
mod fuzz;
pub(super) mod parse;
#[cfg(test)]
mod real_dumpall;

use crate::error::{Error, ErrorKind, Result};
use crate::postgres::restore::quote_ident;
pub(crate) use parse::{parse_globals, quote_literal, Globals, Membership};
use serde::Serialize;
use std::collections::BTreeSet;

/// A role the restore creates, for the plan.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RoleToCreate {
    pub name: String,
    /// The attributes it is created with (`LOGIN`, `NOINHERIT`, `BYPASSRLS`, …).
    pub attributes: Vec<String>,
    /// Attributes of the original that the connecting role may not give (`SUPERUSER` unless it
    /// is a superuser itself; `REPLICATION` and `BYPASSRLS` likewise).
    pub left_out: Vec<String>,
    /// Roles it is made a member of.
    pub member_of: Vec<String>,
    /// Roles made members of it.
    pub members: Vec<String>,
    /// `ALTER ROLE … SET` settings replayed (where the connecting role may set them).
    pub settings: Vec<String>,
    /// It can log in but has no password: set one after the restore.
    pub needs_password: bool,
}

/// What recreating the missing roles does.
#[derive(Debug, Clone, Default)]
pub(crate) struct RolePlan {
    pub create: Vec<RoleToCreate>,
    /// SQL, in order: CREATE ROLE, GRANT, settings (each setting guarded: one the connecting
    /// role may not set is skipped with a warning instead of failing the restore).
    pub sql: Vec<String>,
}

/// The roles a backup needs: the roles its objects, grants and policies name (`named`), and —
/// as `globals.sql` says — every role those are granted to (`authenticator`, say), and so on.
/// Of them, those `existing` lacks are created with their attributes (minus what
/// `superuser` does not allow) and the memberships among the roles that will exist are granted.
/// Roles `globals.sql` does not know are created as plain `NOLOGIN` roles.
pub(crate) fn plan_roles(
    globals: Option<&Globals>,
    named: &[String],
    existing: &BTreeSet<String>,
    superuser: bool,
) -> Result<RolePlan> {
    let empty = Globals::default();
    let g = globals.unwrap_or(&empty);
    let mut wanted: BTreeSet<String> = named.iter().cloned().collect();
    loop {
        let more: Vec<String> = g
            .memberships
            .iter()
            .filter(|m| wanted.contains(&m.role) && !wanted.contains(&m.member))
            .map(|m| m.member.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        wanted.extend(more);
    }
    let missing: Vec<String> = wanted
        .into_iter()
        .filter(|r| !existing.contains(r))
        .collect();
    let created: BTreeSet<&String> = missing.iter().collect();
    let will_exist = |r: &String| existing.contains(r) || created.contains(r);

    if let Some((name, why)) = missing
        .iter()
        .find_map(|n| g.invalid.get(n).map(|why| (n, why)))
    {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "the backup's globals.sql describes role {} in a way Offsite does not recreate ({why})",
                quote_ident(name)
            ),
        )
        .with_hint(format!(
            "nothing was changed; read the backup's globals.sql, create role {} on the target yourself, then restore again",
            quote_ident(name)
        )));
    }
    let mut plan = RolePlan::default();
    let mut settings_sql = Vec::new();
    for name in &missing {
        let role = g.roles.get(name);
        let mut attributes = Vec::new();
        let mut left_out = Vec::new();
        match role {
            Some(r) => {
                for a in &r.attributes {
                    let restricted =
                        matches!(a.as_str(), "SUPERUSER" | "REPLICATION" | "BYPASSRLS");
                    if restricted && !superuser {
                        left_out.push(a.clone());
                    } else if !a.starts_with("NO") || a == "NOINHERIT" {
                        // The NO… defaults need not be said, except NOINHERIT.
                        attributes.push(a.clone());
                    }
                }
            }
            None => attributes.push("NOLOGIN".into()),
        }
        let mut sql = format!("CREATE ROLE {}", quote_ident(name));
        if !attributes.is_empty() {
            sql.push_str(" WITH ");
            sql.push_str(&attributes.join(" "));
        }
        sql.push(';');
        plan.sql.push(sql);
        let settings: Vec<String> = role.map(|r| r.settings.clone()).unwrap_or_default();
        for s in &settings {
            settings_sql.push(guarded(s));
        }
        plan.create.push(RoleToCreate {
            name: name.clone(),
            needs_password: attributes.iter().any(|a| a == "LOGIN"),
            attributes,
            left_out,
            member_of: Vec::new(),
            members: Vec::new(),
            settings,
        });
    }
    let mut grants: Vec<&Membership> = g
        .memberships
        .iter()
        .filter(|m| {
            (created.contains(&m.role) || created.contains(&m.member))
                && will_exist(&m.role)
                && will_exist(&m.member)
        })
        .collect();
    grants.sort();
    grants.dedup();
    for m in grants {
        plan.sql.push(format!(
            "GRANT {} TO {}{};",
            quote_ident(&m.role),
            quote_ident(&m.member),
            if m.admin { " WITH ADMIN OPTION" } else { "" }
        ));
        for c in plan.create.iter_mut() {
            if c.name == m.member {
                c.member_of.push(m.role.clone());
            }
            if c.name == m.role {
                c.members.push(m.member.clone());
            }
        }
    }
    plan.sql.extend(settings_sql);
    Ok(plan)
}

/// Run `stmt`, turning a failure into a warning (a setting the connecting role may not set).
fn guarded(stmt: &str) -> String {
    // Neither the outer quote (`$tag$`) nor the inner one (`$tagq$`) may occur in `stmt`.
    let mut tag = String::from("offsite");
    while stmt.contains(&format!("${tag}$")) || stmt.contains(&format!("${tag}q$")) {
        tag.push('_');
    }
    format!(
        "DO ${tag}$ BEGIN EXECUTE ${tag}q${stmt}${tag}q$; EXCEPTION WHEN OTHERS THEN RAISE WARNING 'offsite: % (%)', SQLERRM, ${tag}q${stmt}${tag}q$; END ${tag}$;"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLOBALS: &str = r#"
CREATE ROLE "We ird";
ALTER ROLE "We ird" WITH NOSUPERUSER INHERIT CREATEROLE NOCREATEDB NOLOGIN NOREPLICATION BYPASSRLS CONNECTION LIMIT 5 VALID UNTIL '2030-01-01 00:00:00+00';
CREATE ROLE anon;
ALTER ROLE anon WITH NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE authenticator;
ALTER ROLE authenticator WITH NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE admin;
ALTER ROLE admin WITH SUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;
ALTER ROLE authenticator SET statement_timeout TO '8s';
GRANT anon TO authenticator GRANTED BY postgres;
GRANT authenticator TO admin WITH ADMIN OPTION GRANTED BY postgres;
GRANT anon TO postgres GRANTED BY postgres;
"#;

    #[test]
    fn reads_attributes_settings_and_memberships() {
        let g = parse_globals(GLOBALS);
        let weird = &g.roles["We ird"];
        assert!(weird.has("BYPASSRLS") && weird.has("CREATEROLE"));
        assert!(weird.has("CONNECTION LIMIT 5"));
        assert!(
            weird.has("VALID UNTIL '2030-01-01 00:00:00+00'"),
            "{weird:?}"
        );
        assert_eq!(
            g.roles["authenticator"].settings,
            vec!["ALTER ROLE \"authenticator\" SET \"statement_timeout\" TO '8s';"]
        );
        assert_eq!(g.memberships.len(), 3);
        assert!(g.memberships[1].admin && !g.memberships[0].admin);
    }

    #[test]
    fn creates_what_is_named_and_what_it_is_granted_to() {
        let g = parse_globals(GLOBALS);
        let existing: BTreeSet<String> = ["postgres".to_string()].into();
        let p = plan_roles(
            Some(&g),
            &["anon".into(), "We ird".into(), "ghost".into()],
            &existing,
            true,
        )
        .unwrap();
        let names: Vec<&str> = p.create.iter().map(|c| c.name.as_str()).collect();
        // authenticator because anon is granted to it, admin because authenticator is.
        assert_eq!(
            names,
            vec!["We ird", "admin", "anon", "authenticator", "ghost"]
        );
        let auth = p.create.iter().find(|c| c.name == "authenticator").unwrap();
        assert_eq!(auth.attributes, vec!["NOINHERIT", "LOGIN"]);
        assert!(auth.needs_password);
        assert_eq!(auth.member_of, vec!["anon"]);
        assert_eq!(
            p.create
                .iter()
                .find(|c| c.name == "ghost")
                .unwrap()
                .attributes,
            vec!["NOLOGIN"]
        );
        assert!(
            p.sql
                .contains(&"CREATE ROLE \"admin\" WITH SUPERUSER INHERIT LOGIN;".to_string()),
            "{:?}",
            p.sql
        );
        assert!(p
            .sql
            .contains(&"GRANT \"authenticator\" TO \"admin\" WITH ADMIN OPTION;".to_string()));
        // Both existed: postgres's membership is not touched.
        assert!(
            p.sql.iter().any(|s| s == "GRANT \"anon\" TO \"postgres\";"),
            "anon is created, postgres exists"
        );
        assert!(p
            .sql
            .last()
            .unwrap()
            .starts_with("DO $offsite$ BEGIN EXECUTE $offsiteq$ALTER ROLE \"authenticator\" SET"));
    }

    #[test]
    fn a_non_superuser_leaves_out_what_it_may_not_give() {
        let g = parse_globals(GLOBALS);
        let p = plan_roles(
            Some(&g),
            &["We ird".into(), "admin".into()],
            &BTreeSet::new(),
            false,
        )
        .unwrap();
        let weird = p.create.iter().find(|c| c.name == "We ird").unwrap();
        assert_eq!(weird.left_out, vec!["BYPASSRLS"]);
        let admin = p.create.iter().find(|c| c.name == "admin").unwrap();
        assert_eq!(admin.left_out, vec!["SUPERUSER"]);
        assert!(!p
            .sql
            .iter()
            .any(|s| s.contains("SUPERUSER") && !s.contains("NOSUPERUSER")));
    }

    /// The preamble's statements for `globals` when `evil` is to be created.
    fn plan_for(globals: &str) -> crate::Result<RolePlan> {
        let g = parse_globals(globals);
        plan_roles(Some(&g), &["evil".into()], &BTreeSet::new(), true)
    }

    #[test]
    fn hostile_role_statements_refuse_the_plan_naming_the_role() {
        let head = "CREATE ROLE evil;\n";
        let attrs = "ALTER ROLE evil WITH NOSUPERUSER INHERIT LOGIN;\n";
        let hostile = [
            // psql meta-commands after the attributes, in them, after a statement end.
            format!("{head}ALTER ROLE evil WITH LOGIN \\! touch /tmp/offsite-pwned;\n"),
            format!("{head}ALTER ROLE evil WITH LOGIN\\! touch /tmp/offsite-pwned;\n"),
            format!("{head}ALTER ROLE evil WITH LOGIN; \\! touch /tmp/offsite-pwned\n"),
            // A second statement on the line.
            format!("{head}ALTER ROLE evil WITH LOGIN; DROP DATABASE postgres;\n"),
            format!("{head}ALTER ROLE evil WITH LOGIN; DROP TABLE t; --\n"),
            // Unknown words, and words that are not attributes.
            format!("{head}ALTER ROLE evil WITH LOGIN IN ROLE pg_execute_server_program;\n"),
            format!("{head}ALTER ROLE evil WITH SYSID 10;\n"),
            format!("{head}ALTER ROLE evil WITH login;\n"),
            // Quote-breaking VALID UNTIL, connection limits that are not numbers.
            format!("{head}ALTER ROLE evil WITH VALID UNTIL 'infinity'' \\! touch /tmp/x --';\n"),
            format!("{head}ALTER ROLE evil WITH VALID UNTIL 'infinity' \\! touch /tmp/x;\n"),
            format!("{head}ALTER ROLE evil WITH VALID UNTIL 'never\n\\! touch /tmp/x\n';\n"),
            format!("{head}ALTER ROLE evil WITH CONNECTION LIMIT 5; \\! id\n"),
            format!("{head}ALTER ROLE evil WITH CONNECTION LIMIT 1e9;\n"),
            format!("{head}ALTER ROLE evil WITH CONNECTION LIMIT 99999999999;\n"),
            // Settings: a second statement, a meta-command, an odd name, an unquoted value,
            // an unclosed value, E'' strings.
            format!("{head}{attrs}ALTER ROLE evil SET search_path TO 'public'; \\! id\n"),
            format!("{head}{attrs}ALTER ROLE evil SET search_path TO 'public' \\! id;\n"),
            format!("{head}{attrs}ALTER ROLE evil SET \"x; \\! id\" TO 'a';\n"),
            format!("{head}{attrs}ALTER ROLE evil SET search_path TO public;\n"),
            format!("{head}{attrs}ALTER ROLE evil SET search_path TO 'public;\n"),
            format!("{head}{attrs}ALTER ROLE evil SET work_mem TO E'\\x27; \\\\! id';\n"),
            format!("{head}{attrs}ALTER ROLE evil IN DATABASE x; \\! id\n"),
            format!("{head}{attrs}ALTER ROLE evil RESET ALL; \\! id\n").replace("RESET", "SET"),
            // Memberships of the role: anything after the member but the options pg_dumpall
            // writes.
            format!("{head}{attrs}CREATE ROLE anon;\nGRANT anon TO evil \\! id;\n"),
            format!("{head}{attrs}CREATE ROLE anon;\nGRANT anon TO evil; \\! id\n"),
            format!("{head}{attrs}CREATE ROLE anon;\nGRANT anon TO evil WITH ADMIN OPTION; DROP TABLE t;\n"),
            format!("{head}{attrs}CREATE ROLE anon;\nGRANT anon TO evil GRANTED BY postgres \\! id;\n"),
            // A role name with a control character.
            "CREATE ROLE \"evil\";\nALTER ROLE \"evil\" WITH LOGIN;\nGRANT \"a\nb\" TO evil;\n".to_string(),
        ];
        for text in &hostile {
            let e = plan_for(text).expect_err(text);
            assert_eq!(e.kind(), ErrorKind::UnsupportedFormat, "{text}: {e}");
            assert_eq!(e.code(), "unsupported_format");
            assert!(e.message().contains("\"evil\""), "{text}: {e}");
            assert!(e.hint().is_some_and(|h| h.contains("create role")), "{e:?}");
        }
    }

    #[test]
    fn a_hostile_line_about_a_role_not_created_is_never_used() {
        // `other` exists on the target: its statements are not used, so they do not matter.
        let text = "CREATE ROLE evil;\nALTER ROLE evil WITH LOGIN;\nCREATE ROLE other;\nALTER ROLE other WITH LOGIN \\! id;\n";
        let p = plan_for(text).unwrap();
        assert_eq!(p.sql, vec!["CREATE ROLE \"evil\" WITH LOGIN;"]);
        // Lines of kinds Offsite does not use never reach psql.
        let text = "\\! id\nCREATE ROLE evil;\nSELECT 1; \\! id\nALTER ROLE evil WITH LOGIN;\nGRANT SET ON PARAMETER work_mem TO evil;\n\\restrict abc\n";
        let p = plan_for(text).unwrap();
        assert_eq!(p.sql, vec!["CREATE ROLE \"evil\" WITH LOGIN;"]);
    }

    #[test]
    fn what_pg_dumpall_writes_is_written_again_by_offsite() {
        let text = "CREATE ROLE evil;
ALTER ROLE evil WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT -1 VALID UNTIL 'infinity';
CREATE ROLE anon;
ALTER ROLE anon WITH NOLOGIN;
ALTER ROLE evil SET search_path TO '$user', 'public', 'extensions';
ALTER ROLE evil SET application_name TO 'it''s \\ odd';
ALTER ROLE evil IN DATABASE \"my db\" SET \"pgrst.db_schemas\" TO 'public, storage';
ALTER ROLE evil SET log_line_prefix TO 'two
lines';
GRANT anon TO evil WITH INHERIT TRUE GRANTED BY postgres;
GRANT evil TO anon WITH ADMIN OPTION, INHERIT FALSE, SET TRUE GRANTED BY \"postgres\";
";
        let g = parse_globals(text);
        assert!(g.invalid.is_empty(), "{:?}", g.invalid);
        let evil = &g.roles["evil"];
        assert!(evil.has("CONNECTION LIMIT -1") && evil.has("VALID UNTIL 'infinity'"));
        assert_eq!(
            evil.settings,
            vec![
                "ALTER ROLE \"evil\" SET \"search_path\" TO '$user', 'public', 'extensions';",
                "ALTER ROLE \"evil\" SET \"application_name\" TO E'it''s \\\\ odd';",
                "ALTER ROLE \"evil\" IN DATABASE \"my db\" SET \"pgrst.db_schemas\" TO 'public, storage';",
                "ALTER ROLE \"evil\" SET \"log_line_prefix\" TO 'two\nlines';",
            ]
        );
        assert_eq!(
            g.memberships,
            vec![
                Membership {
                    role: "anon".into(),
                    member: "evil".into(),
                    admin: false
                },
                Membership {
                    role: "evil".into(),
                    member: "anon".into(),
                    admin: true
                },
            ]
        );
    }

    #[test]
    fn a_setting_holding_the_quote_tags_stays_quoted() {
        for value in [
            "$offsiteq$; CREATE TABLE pwned(); $offsiteq$",
            "$offsite$ x $offsite_q$",
        ] {
            let stmt = format!("ALTER ROLE \"evil\" SET \"application_name\" TO '{value}';");
            let sql = guarded(&stmt);
            // The statement sits between two equal dollar quotes whose tag it does not contain.
            let start = sql.find("EXECUTE $").unwrap() + "EXECUTE ".len();
            let tag_len = sql[start + 1..].find('$').unwrap() + 2;
            let tag = &sql[start..start + tag_len];
            assert!(!stmt.contains(tag), "{tag} in {stmt}");
            let body = &sql[start + tag_len..];
            assert_eq!(&body[..stmt.len()], stmt);
            assert!(body[stmt.len()..].starts_with(tag), "{sql}");
            // ...and the outer quote's tag is not in it either.
            let outer = &sql["DO ".len()..sql.find(" BEGIN").unwrap()];
            assert!(!stmt.contains(outer), "{outer} in {stmt}");
        }
    }
}
