//! Roles for a restore onto another server: what the archive's `globals.sql` (`pg_dumpall
//! --globals-only --no-role-passwords`) says about each role — its attributes, its settings and
//! its memberships — and the SQL that recreates the roles a backup needs on a server that lacks
//! them, without passwords and without what the connecting role may not give.

use super::toc::take_ident;
use crate::restore::quote_ident;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A role as `globals.sql` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GlobalRole {
    /// The attribute words of its `ALTER ROLE … WITH`, e.g. `NOSUPERUSER`, `LOGIN`,
    /// `CONNECTION LIMIT 5`, `VALID UNTIL '…'`.
    pub attributes: Vec<String>,
    /// Its `ALTER ROLE … SET …;` statements, as written.
    pub settings: Vec<String>,
}

impl GlobalRole {
    #[cfg(test)]
    pub fn has(&self, attr: &str) -> bool {
        self.attributes.iter().any(|a| a == attr)
    }
}

/// `GRANT role TO member`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Membership {
    pub role: String,
    pub member: String,
    pub admin: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Globals {
    pub roles: BTreeMap<String, GlobalRole>,
    pub memberships: Vec<Membership>,
}

/// Parse `pg_dumpall --globals-only` output. Lines it does not know are ignored.
pub(crate) fn parse_globals(sql: &str) -> Globals {
    let mut g = Globals::default();
    for line in sql.lines() {
        if let Some(rest) = line.strip_prefix("CREATE ROLE ") {
            if let Some((name, _)) = take_ident(rest) {
                g.roles.entry(name).or_default();
            }
        } else if let Some(rest) = line.strip_prefix("ALTER ROLE ") {
            let Some((name, rest)) = take_ident(rest) else {
                continue;
            };
            if let Some(attrs) = rest.strip_prefix(" WITH ") {
                g.roles.entry(name).or_default().attributes =
                    split_attributes(attrs.trim_end_matches(';'));
            } else if rest.starts_with(" SET ") || rest.starts_with(" IN DATABASE ") {
                g.roles
                    .entry(name)
                    .or_default()
                    .settings
                    .push(line.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("GRANT ") {
            let Some((role, rest)) = take_ident(rest) else {
                continue;
            };
            let Some(rest) = rest.strip_prefix(" TO ") else {
                continue;
            };
            let Some((member, rest)) = take_ident(rest) else {
                continue;
            };
            g.memberships.push(Membership {
                role,
                member,
                admin: rest.contains("WITH ADMIN OPTION") || rest.contains("ADMIN TRUE"),
            });
        }
    }
    g
}

/// `NOSUPERUSER INHERIT CONNECTION LIMIT 5 VALID UNTIL 'x y'` → its attributes.
fn split_attributes(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut words = s.split(' ').filter(|w| !w.is_empty()).peekable();
    while let Some(w) = words.next() {
        match w {
            "CONNECTION" => {
                let limit = words.nth(1).unwrap_or("-1");
                out.push(format!("CONNECTION LIMIT {limit}"));
            }
            "VALID" => {
                words.next(); // UNTIL
                let mut v = String::new();
                for w in words.by_ref() {
                    if !v.is_empty() {
                        v.push(' ');
                    }
                    v.push_str(w);
                    if v.len() > 1 && v.ends_with('\'') {
                        break;
                    }
                }
                out.push(format!("VALID UNTIL {v}"));
            }
            "PASSWORD" => {
                words.next();
            }
            w => out.push(w.to_string()),
        }
    }
    out
}

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
) -> RolePlan {
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
    plan
}

/// Run `stmt`, turning a failure into a warning (a setting the connecting role may not set).
fn guarded(stmt: &str) -> String {
    let mut tag = String::from("offsite");
    while stmt.contains(&format!("${tag}$")) {
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
            vec!["ALTER ROLE authenticator SET statement_timeout TO '8s';"]
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
        );
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
            .starts_with("DO $offsite$ BEGIN EXECUTE $offsiteq$ALTER ROLE authenticator SET"));
    }

    #[test]
    fn a_non_superuser_leaves_out_what_it_may_not_give() {
        let g = parse_globals(GLOBALS);
        let p = plan_roles(
            Some(&g),
            &["We ird".into(), "admin".into()],
            &BTreeSet::new(),
            false,
        );
        let weird = p.create.iter().find(|c| c.name == "We ird").unwrap();
        assert_eq!(weird.left_out, vec!["BYPASSRLS"]);
        let admin = p.create.iter().find(|c| c.name == "admin").unwrap();
        assert_eq!(admin.left_out, vec!["SUPERUSER"]);
        assert!(!p
            .sql
            .iter()
            .any(|s| s.contains("SUPERUSER") && !s.contains("NOSUPERUSER")));
    }
}
