//! What a restore does entry by entry when the target is not a blank database on a server the
//! connecting role commands: another server without the backup's roles, a fresh Supabase project
//! whose platform already made `auth`, `storage` and the rest, a connecting role that is not a
//! superuser. Decided over the backup's whole table of contents and what the target holds
//! ([`TargetFacts`]), and shown in the plan before anything runs.
//!
//! - **Schemas managed by others.** When the connecting role is not a superuser, a schema the
//!   target already has and that another role owns (Supabase's `auth`, `storage`, …) is the
//!   platform's: its objects are kept as they are; the backup's rows go into its existing tables
//!   when those are empty (the backup's columns must all exist there; extra target columns get
//!   their defaults), parents before children; the backup's objects it lacks (a policy on
//!   `storage.objects`, a trigger on `auth.users`, a table of the user's own) are added.
//! - **Owners.** An object owned by a role the connecting role cannot act for (not itself, not a
//!   role it is a member of, not a role this restore creates) is a blocker, unless the user chose
//!   to restore such objects owned by the connecting role (`no_owner`); then what cannot change
//!   owner (a policy, a trigger, default privileges) is left out, listed.
//! - **Superuser only.** An event trigger the target lacks needs a superuser; with `no_owner` it
//!   is left out, listed; otherwise a blocker.
//! - **Already there.** A publication, event trigger or extension comment the target has is kept.

pub(crate) mod cron;
mod facts;
mod managed;
mod privileges;

#[cfg(test)]
use facts::Relation;
pub(crate) use facts::{read_facts, TargetFacts};
pub(crate) use privileges::leave_out_catalog_powers;

use super::plan::DETAILS;
use super::roles::RolePlan;
use super::toc::{FullToc, Item};
use crate::postgres::restore::quote_ident;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A schema of the target that another role owns, as the restore treats it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ManagedSchema {
    pub schema: String,
    pub owner: String,
    /// Tables whose rows the backup loads into the target's existing (empty) table.
    pub load_rows: Vec<String>,
    /// Tables the target already holds rows in: kept as they are, the backup's rows not loaded.
    pub kept_rows: Vec<String>,
    /// The backup's objects the target lacks, added (a policy, a trigger, a table).
    pub added: Vec<String>,
    /// How many of the backup's objects the target already has (kept as the target has them).
    pub kept_objects: u64,
    /// Differences between the backup's and the target's tables that the load handles.
    pub notes: Vec<String>,
}

/// Objects owned by a role the connecting role cannot act for.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OwnedByOthers {
    pub role: String,
    pub objects: Vec<String>,
}

/// What the restore does, entry by entry, and what the plan says about it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Decisions {
    /// List lines (0-based) left out of the restore, with why.
    pub skip: BTreeMap<usize, String>,
    /// Roles whose `ALTER … OWNER TO role;` statements are dropped: their objects stay owned by
    /// the connecting role.
    pub drop_owner_of: BTreeSet<String>,
    /// `drop_owner_of` names every owner in the backup other than the connecting role itself:
    /// pg_restore's own `--no-owner` does the same, without the script.
    pub every_owner_dropped: bool,
    /// SQL run first, in the restore's transaction (roles, temporary memberships).
    pub preamble: Vec<String>,
    /// SQL run last, before COMMIT (temporary memberships revoked).
    pub postamble: Vec<String>,
    pub managed: Vec<ManagedSchema>,
    pub owned_by_others: Vec<OwnedByOthers>,
    pub superuser_only: Vec<String>,
    /// Objects of the target whose privileges are kept as the target has them (see
    /// [`privileges`]).
    pub platform_privileges: Vec<String>,
    pub left_out: Vec<String>,
    pub blockers: Vec<String>,
    pub warnings: Vec<String>,
    /// Statement starts of pg_restore's SQL replaced: the `COPY` of a table whose rows are
    /// loaded elsewhere ([`cron`]).
    pub copy_redirect: Vec<(String, String)>,
}

impl Decisions {
    /// Whether the restore must go through the script path (psql, one transaction) rather than
    /// a plain `pg_restore`.
    pub fn needs_script(&self) -> bool {
        !(self.skip.is_empty()
            && (self.drop_owner_of.is_empty() || self.every_owner_dropped)
            && self.preamble.is_empty()
            && self.copy_redirect.is_empty())
    }
}

/// What the first pass over the entries gathers for the later ones.
#[derive(Default)]
pub(super) struct Pass {
    /// Entries of managed schemas kept as the target has them (their dependents, such as
    /// comments and privileges, are kept too).
    pub kept_ids: BTreeSet<i32>,
    /// Rows loaded into managed tables: (list line, table).
    pub loads: Vec<(usize, (String, String))>,
    /// The owner that matters for an entry: the target's table for what hangs on an existing one.
    pub effective_owner: HashMap<usize, String>,
}

/// Kinds whose owner can be the connecting role instead (their `ALTER … OWNER TO` is dropped).
fn re_ownable(desc: &str) -> bool {
    matches!(
        desc,
        "TABLE"
            | "VIEW"
            | "MATERIALIZED VIEW"
            | "FOREIGN TABLE"
            | "SEQUENCE"
            | "FUNCTION"
            | "PROCEDURE"
            | "AGGREGATE"
            | "TYPE"
            | "DOMAIN"
            | "SCHEMA"
            | "COLLATION"
            | "CONVERSION"
            | "TEXT SEARCH CONFIGURATION"
            | "TEXT SEARCH DICTIONARY"
            | "OPERATOR"
            | "OPERATOR CLASS"
            | "OPERATOR FAMILY"
            | "STATISTICS"
            | "LARGE OBJECT"
            | "BLOB"
            | "BLOB METADATA"
            | "PUBLICATION"
            | "SERVER"
            | "FOREIGN DATA WRAPPER"
            | "EVENT TRIGGER"
    )
}

/// Kinds that hang on a table and take its owner.
fn hangs_on_table(desc: &str) -> bool {
    matches!(
        desc,
        "INDEX"
            | "CONSTRAINT"
            | "FK CONSTRAINT"
            | "CHECK CONSTRAINT"
            | "TRIGGER"
            | "POLICY"
            | "ROW SECURITY"
            | "RULE"
    )
}

/// Kinds that exist only through their owner's act and carry no owner of their own.
fn not_owned(desc: &str) -> bool {
    matches!(
        desc,
        "TABLE DATA"
            | "SEQUENCE SET"
            | "SEQUENCE OWNED BY"
            | "COMMENT"
            | "ACL"
            | "SECURITY LABEL"
            | "DEFAULT"
            | "EXTENSION"
            | "SEARCHPATH"
            | "STDSTRINGS"
            | "ENCODING"
            | "DATABASE"
            | "DATABASE PROPERTIES"
            | "TABLE ATTACH"
            | "INDEX ATTACH"
            | "PUBLICATION TABLE"
            | "PUBLICATION TABLES IN SCHEMA"
            | "BLOBS"
            | "LARGE OBJECTS"
            | "SHELL TYPE"
    )
}

/// Decide. `replace`: the user's schemas are replaced (the clean phase handles them; here only
/// the managed schemas, what the clean phase keeps (`kept`: kind, schema and name of the
/// backup's objects it leaves as the target has them) and the owners matter). `roles`: what
/// `--create-roles` creates (empty when the user did not choose it).
pub(crate) fn decide(
    toc: &FullToc,
    f: &TargetFacts,
    roles: &RolePlan,
    no_owner: bool,
    replace: bool,
    kept: &BTreeSet<(&'static str, String, String)>,
    only: Option<&BTreeSet<usize>>,
) -> Decisions {
    let mut d = Decisions::default();
    if let Some(only) = only {
        for it in &toc.items {
            if !only.contains(&it.line) {
                d.skip.insert(it.line, "not selected".into());
            }
        }
    }
    let created: BTreeSet<String> = roles.create.iter().map(|r| r.name.clone()).collect();
    d.preamble.extend(roles.sql.iter().cloned());

    let mut managed: BTreeMap<String, ManagedSchema> = f
        .managed
        .iter()
        .map(|s| {
            (
                s.clone(),
                ManagedSchema {
                    schema: s.clone(),
                    owner: f.schemas.get(s).cloned().unwrap_or_default(),
                    ..Default::default()
                },
            )
        })
        .collect();
    let mut p = Pass::default();

    for (i, it) in toc.items.iter().enumerate() {
        if d.skip.contains_key(&it.line) {
            continue;
        }
        let schema_of_entry = if it.desc == "SCHEMA" {
            it.tag.as_str()
        } else {
            it.schema.as_str()
        };
        let about_schema = matches!(it.desc, "COMMENT" | "ACL" | "SECURITY LABEL")
            && it.schema == "-"
            && it
                .tag
                .strip_prefix("SCHEMA ")
                .is_some_and(|s| f.managed.contains(s));
        if let Some(m) = managed.get_mut(schema_of_entry).filter(|_| !about_schema) {
            managed::entry(toc, f, i, it, m, &mut d, &mut p);
            continue;
        }
        if about_schema {
            d.skip.insert(
                it.line,
                format!("{}: kept as the target has it", it.label()),
            );
            continue;
        }
        if replace {
            // The clean phase drops and recreates what the backup holds outside managed schemas,
            // except what it keeps as the target has it.
            kept_by_clean_phase(it, f, kept, &mut d, &mut p);
            continue;
        }
        already_there(it, f, &created, &mut d, &mut p);
    }

    privileges::keep_platform_privileges(toc, f, &mut d);
    owners(toc, f, &created, no_owner, &p, &mut d);
    memberships_and_loads(toc, f, roles, &p, &mut d);
    d.managed = managed.into_values().collect();
    d
}

/// Outside the managed schemas, when replacing: the objects the clean phase keeps (the
/// platform's, see `replace::Keep`) and, for a connecting role that is not a superuser, the
/// target's event triggers are left out with their comments and privileges.
fn kept_by_clean_phase(
    it: &Item,
    f: &TargetFacts,
    kept: &BTreeSet<(&'static str, String, String)>,
    d: &mut Decisions,
    p: &mut Pass,
) {
    let keeps = match it.desc {
        "EVENT TRIGGER" => !f.superuser && f.event_triggers.contains(&it.tag),
        desc => kept
            .iter()
            .any(|(k, s, n)| *k == desc && *s == it.schema && *n == it.tag),
    };
    if keeps {
        p.kept_ids.insert(it.id);
        d.skip.insert(
            it.line,
            format!("{}: kept as the target has it", it.label()),
        );
    } else if matches!(it.desc, "COMMENT" | "ACL" | "SECURITY LABEL")
        && (it.deps.iter().any(|dep| p.kept_ids.contains(dep))
            || (!f.superuser && on_extension_there(it, f)))
    {
        d.skip.insert(
            it.line,
            format!("{}: kept as the target has it", it.label()),
        );
    }
}

/// A comment (or label) on an extension the target already has: only the extension's owner may
/// change it there (a replace keeps the target's extensions; pg_cron's comment on Supabase).
fn on_extension_there(it: &Item, f: &TargetFacts) -> bool {
    it.tag
        .strip_prefix("EXTENSION ")
        .and_then(|x| super::toc::take_ident(x))
        .is_some_and(|(x, _)| f.extensions.contains(&x))
}

/// Outside the managed schemas, when not replacing: what the target already has is kept.
fn already_there(
    it: &Item,
    f: &TargetFacts,
    created: &BTreeSet<String>,
    d: &mut Decisions,
    p: &mut Pass,
) {
    match it.desc {
        "PUBLICATION" if f.publications.contains(&it.tag) => {
            p.kept_ids.insert(it.id);
            d.skip.insert(
                it.line,
                format!("publication {}: the target already has it", it.tag),
            );
        }
        "PUBLICATION TABLE" => {
            if let Some((publ, table)) = it.tag.split_once(' ') {
                if f.publication_tables.contains(&(
                    publ.to_string(),
                    it.schema.clone(),
                    table.to_string(),
                )) {
                    d.skip.insert(
                        it.line,
                        format!("{}.{table} is already in publication {publ}", it.schema),
                    );
                }
            }
        }
        "EVENT TRIGGER" if f.event_triggers.contains(&it.tag) => {
            p.kept_ids.insert(it.id);
            d.skip.insert(
                it.line,
                format!("event trigger {}: the target already has it", it.tag),
            );
        }
        "COMMENT" | "ACL" | "SECURITY LABEL"
            if it.deps.iter().any(|dep| p.kept_ids.contains(dep)) || on_extension_there(it, f) =>
        {
            d.skip.insert(
                it.line,
                format!("{}: kept as the target has it", it.label()),
            );
        }
        "SCHEMA" if f.schemas.contains_key(&it.tag) => {
            d.skip.insert(
                it.line,
                format!("schema {}: the target already has it", it.tag),
            );
            if !it.owner.is_empty()
                && f.schemas.get(&it.tag) != Some(&it.owner)
                && f.can_act_for(&it.owner, created)
                && (f.superuser || f.schemas.get(&it.tag) == Some(&f.user))
            {
                d.postamble.push(format!(
                    "ALTER SCHEMA {} OWNER TO {};",
                    quote_ident(&it.tag),
                    quote_ident(&it.owner)
                ));
            }
        }
        _ => {}
    }
}

/// Superuser-only objects, and objects (or grants) of roles the connecting role cannot act for:
/// blockers, or with `no_owner` restored as its own or left out.
fn owners(
    toc: &FullToc,
    f: &TargetFacts,
    created: &BTreeSet<String>,
    no_owner: bool,
    p: &Pass,
    d: &mut Decisions,
) {
    // Superuser-only objects and owners.
    let mut others: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, it) in toc.items.iter().enumerate() {
        if d.skip.contains_key(&it.line) {
            continue;
        }
        if it.desc == "EVENT TRIGGER" && !f.superuser {
            d.superuser_only.push(it.label());
            if no_owner {
                d.skip.insert(
                    it.line,
                    format!("{}: only a superuser can create it", it.label()),
                );
                d.left_out.push(format!(
                    "{} (only a role with administrator rights can create it)",
                    it.label()
                ));
                skip_dependents(toc, it.id, d);
            }
            continue;
        }
        if it.desc == "ACL" && !f.superuser {
            if let Some(grantor) = privileges::foreign_grantor(&it.sql, &f.user) {
                let what = format!(
                    "privileges on {} granted by {grantor}",
                    privileges::acl_label(it)
                );
                if no_owner {
                    d.skip.insert(
                        it.line,
                        format!("{what}: only a superuser can grant in another role's name"),
                    );
                    d.left_out.push(format!(
                        "{what} (only a superuser can grant in another role's name)"
                    ));
                }
                others.entry(grantor).or_default().push(what);
                continue;
            }
        }
        if not_owned(it.desc) {
            continue;
        }
        if it.desc == "DEFAULT ACL" && !f.can_act_for(&it.owner, created) {
            // Only a member of the role may change its default privileges: the platform's
            // (Supabase's `supabase_admin` in `extensions`) stay as the target has them.
            let what = format!(
                "default privileges of {} in {} for {}",
                it.owner,
                if it.schema == "-" {
                    "the database".to_string()
                } else {
                    format!("schema {}", it.schema)
                },
                it.tag
                    .strip_prefix("DEFAULT PRIVILEGES FOR ")
                    .unwrap_or(&it.tag)
                    .to_lowercase()
            );
            d.skip
                .insert(it.line, format!("{what}: kept as the target has them"));
            d.platform_privileges.push(format!(
                "{what} (kept as the target has them: {} cannot act for {})",
                f.user, it.owner
            ));
            continue;
        }
        let owner = p.effective_owner.get(&i).unwrap_or(&it.owner);
        if f.can_act_for(owner, created) {
            continue;
        }
        others.entry(owner.clone()).or_default().push(it.label());
        if no_owner {
            // What hangs on an object this restore creates (an index, a constraint, a trigger,
            // a policy on a table of the backup) is created by the connecting role, which owns
            // that object under `no_owner`: nothing to leave out. Only what hangs on an object
            // the target already has keeps needing its owner.
            let on_created = hangs_on_table(it.desc) && !p.effective_owner.contains_key(&i);
            if re_ownable(it.desc) || on_created {
                d.drop_owner_of.insert(owner.clone());
            } else {
                d.skip.insert(
                    it.line,
                    format!(
                        "{}: needs role {owner}, which {} cannot act for",
                        it.label(),
                        f.user
                    ),
                );
                d.left_out.push(format!(
                    "{} (it belongs to {owner}; {} cannot act for that role)",
                    it.label(),
                    f.user
                ));
                skip_dependents(toc, it.id, d);
            }
        }
    }
    d.every_owner_dropped = no_owner
        && !d.drop_owner_of.is_empty()
        && toc.items.iter().all(|it| {
            it.owner.is_empty() || it.owner == f.user || d.drop_owner_of.contains(&it.owner)
        });
    d.owned_by_others = others
        .into_iter()
        .map(|(role, objects)| OwnedByOthers { role, objects })
        .collect();
    if !d.owned_by_others.is_empty() && !no_owner {
        let list: Vec<String> = d
            .owned_by_others
            .iter()
            .map(|o| format!("{} ({})", o.role, shorten(&o.objects)))
            .collect();
        d.blockers.push(format!(
            "{} cannot act for the {} owning some of the backup's objects: {}; connect as a role with administrator rights, or restore them owned by {} (what cannot change owner, such as policies and triggers on such a role's tables, is then left out and listed){DETAILS}a superuser may act for every role; on the command line, --no-owner restores them owned by {}",
            f.user,
            if list.len() == 1 { "role" } else { "roles" },
            list.join("; "),
            f.user,
            f.user
        ));
    }
    if !d.superuser_only.is_empty() && !no_owner {
        d.blockers.push(format!(
            "only a role with administrator rights can create {}; connect as one, or leave them out{DETAILS}only a superuser may; on the command line, --no-owner leaves them out",
            d.superuser_only.join(", ")
        ));
    }
}

/// Memberships held for the transaction (roles this restore creates), and the foreign keys of
/// managed tables that take rows, dropped for the load and added back.
fn memberships_and_loads(
    toc: &FullToc,
    f: &TargetFacts,
    roles: &RolePlan,
    p: &Pass,
    d: &mut Decisions,
) {
    // Roles this restore creates are acted for through a membership held for the transaction.
    if !f.superuser {
        let owners: BTreeSet<&str> = toc
            .items
            .iter()
            .filter(|it| !d.skip.contains_key(&it.line))
            .map(|it| it.owner.as_str())
            .collect();
        for r in &roles.create {
            if owners.contains(r.name.as_str()) {
                d.preamble
                    .push(format!("GRANT {} TO CURRENT_USER;", quote_ident(&r.name)));
                d.postamble.push(format!(
                    "REVOKE {} FROM CURRENT_USER;",
                    quote_ident(&r.name)
                ));
            }
        }
    }

    // Rows go into managed tables in the dump's order (a streamed dump cannot be read out of
    // order), so their foreign keys are dropped for the load and added back — checked — at the
    // end of the same transaction.
    let loaded: BTreeSet<&(String, String)> = p.loads.iter().map(|(_, k)| k).collect();
    for ((s, t), name, def) in &f.fks {
        if loaded.contains(&(s.clone(), t.clone())) {
            let table = format!("{}.{}", quote_ident(s), quote_ident(t));
            d.preamble.push(format!(
                "ALTER TABLE {table} DROP CONSTRAINT {};",
                quote_ident(name)
            ));
            d.postamble.push(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {} {def};",
                quote_ident(name)
            ));
        }
    }
}

/// The catalog's schemas: never a platform's schema of user objects.
fn is_system_schema(s: &str) -> bool {
    s == "information_schema" || s.starts_with("pg_")
}

/// Leave out the comments, privileges and labels of a left-out entry too.
fn skip_dependents(toc: &FullToc, id: i32, d: &mut Decisions) {
    for it in &toc.items {
        if matches!(it.desc, "COMMENT" | "ACL" | "SECURITY LABEL") && it.deps.contains(&id) {
            d.skip.insert(
                it.line,
                format!("{}: goes with what it is about", it.label()),
            );
        }
    }
}

/// `CREATE [UNIQUE] INDEX name ON [ONLY] schema.table …` → (schema, table), unquoted.
pub(crate) fn index_table(sql: &str) -> Option<(String, String)> {
    let at = sql.find(" ON ")?;
    let rest = sql[at + 4..].trim_start();
    let rest = rest.strip_prefix("ONLY ").unwrap_or(rest);
    let (schema, rest) = super::toc::take_ident(rest)?;
    let rest = rest.strip_prefix('.')?;
    let (table, _) = super::toc::take_ident(rest)?;
    Some((schema, table))
}

fn shorten(items: &[String]) -> String {
    if items.len() <= 3 {
        items.join(", ")
    } else {
        format!("{}, and {} more", items[..3].join(", "), items.len() - 3)
    }
}

/// The list pg_restore reads, skipped lines commented out.
pub(crate) fn build_list(list: &str, skip: &BTreeMap<usize, String>) -> String {
    let mut out = String::with_capacity(list.len() + 64);
    for (i, line) in list.lines().enumerate() {
        if skip.contains_key(&i) {
            out.push(';');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::roles::{parse_globals, plan_roles};
    use super::super::toc::parse_line;
    use super::*;

    fn toc(lines: &[&str]) -> FullToc {
        let list = lines.join("\n");
        let items = lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| parse_line(l, i))
            .collect();
        FullToc {
            list,
            items,
            ..Default::default()
        }
    }

    fn supabase_target() -> TargetFacts {
        let mut f = TargetFacts {
            user: "postgres".into(),
            ..Default::default()
        };
        for (r, member) in [
            ("postgres", true),
            ("supabase_admin", false),
            ("supabase_auth_admin", true),
            ("service_role", false),
        ] {
            f.roles.insert(r.into(), member);
        }
        f.schemas
            .insert("auth".into(), "supabase_auth_admin".into());
        f.schemas
            .insert("public".into(), "pg_database_owner".into());
        f.managed.insert("auth".into());
        f.relations.insert(
            ("auth".into(), "users".into()),
            Relation {
                owner: "supabase_auth_admin".into(),
                rows: 0,
                rls: false,
                columns: vec![
                    ("id".into(), false),
                    ("email".into(), false),
                    ("is_sso_user".into(), false),
                ],
            },
        );
        f.relations.insert(
            ("auth".into(), "schema_migrations".into()),
            Relation {
                owner: "supabase_auth_admin".into(),
                rows: 2,
                ..Default::default()
            },
        );
        f.relations.insert(
            ("auth".into(), "refresh_tokens".into()),
            Relation {
                owner: "supabase_auth_admin".into(),
                columns: vec![("id".into(), false), ("user_id".into(), false)],
                ..Default::default()
            },
        );
        f.fks.push((
            ("auth".into(), "refresh_tokens".into()),
            "refresh_tokens_user_id_fkey".into(),
            "FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE".into(),
        ));
        f.routines.insert(("auth".into(), "uid()".into()));
        f.publications.insert("supabase_realtime".into());
        f
    }

    #[test]
    fn a_fresh_supabase_project_keeps_the_platform_and_takes_the_users_objects() {
        let mut t = toc(&[
            "10; 2615 1 SCHEMA - auth supabase_auth_admin",
            "11; 1255 2 FUNCTION auth uid() supabase_auth_admin",
            "12; 1259 3 TABLE auth users supabase_auth_admin",
            "13; 1259 4 TABLE auth refresh_tokens supabase_auth_admin",
            "14; 1259 5 TABLE auth schema_migrations supabase_auth_admin",
            "15; 0 0 COMMENT auth TABLE users supabase_auth_admin",
            "16; 0 3 TABLE DATA auth refresh_tokens supabase_auth_admin",
            "17; 0 3 TABLE DATA auth schema_migrations supabase_auth_admin",
            "18; 0 3 TABLE DATA auth users supabase_auth_admin",
            "19; 2620 6 TRIGGER auth users on_auth_user_created supabase_auth_admin",
            "20; 6104 7 PUBLICATION - supabase_realtime postgres",
            "21; 3466 8 EVENT TRIGGER - ddl_watch postgres",
            "22; 2613 9 LARGE OBJECT - 4242 service_role",
            "23; 1259 10 TABLE public profiles postgres",
        ]);
        t.items[2].sql =
            "CREATE TABLE auth.users (\n    id uuid NOT NULL,\n    email text\n);\n".into();
        t.items[3].sql =
            "CREATE TABLE auth.refresh_tokens (\n    id bigint NOT NULL,\n    user_id uuid\n);\n"
                .into();
        t.items[5].deps = vec![12];
        let f = supabase_target();
        let d = decide(
            &t,
            &f,
            &RolePlan::default(),
            false,
            false,
            &BTreeSet::new(),
            None,
        );
        let skipped: Vec<usize> = d.skip.keys().copied().collect();
        // schema, uid(), the three tables, the comment, the migrations' rows, the publication.
        assert_eq!(skipped, vec![0, 1, 2, 3, 4, 5, 7, 10], "{:#?}", d.skip);
        let m = &d.managed[0];
        assert_eq!(m.load_rows, vec!["auth.refresh_tokens", "auth.users"]);
        assert_eq!(m.kept_rows.len(), 1);
        assert!(m.kept_rows[0].starts_with("auth.schema_migrations (the target holds 2 rows)"));
        assert_eq!(m.added, vec!["trigger on_auth_user_created on auth.users"]);
        assert!(m.notes[0].contains("is_sso_user"), "{:?}", m.notes);
        // The tokens' foreign key is dropped for the load, added back (checked) at the end.
        assert_eq!(d.preamble, vec!["ALTER TABLE \"auth\".\"refresh_tokens\" DROP CONSTRAINT \"refresh_tokens_user_id_fkey\";"]);
        assert_eq!(d.postamble, vec!["ALTER TABLE \"auth\".\"refresh_tokens\" ADD CONSTRAINT \"refresh_tokens_user_id_fkey\" FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE;"]);
        // The event trigger needs a superuser; the large object belongs to service_role.
        assert_eq!(d.superuser_only, vec!["event trigger ddl_watch"]);
        assert_eq!(
            d.owned_by_others,
            vec![OwnedByOthers {
                role: "service_role".into(),
                objects: vec!["large object 4242".into()]
            }]
        );
        assert_eq!(d.blockers.len(), 2, "{:?}", d.blockers);

        // With --no-owner: the event trigger is left out, the large object becomes postgres's.
        let d = decide(
            &t,
            &f,
            &RolePlan::default(),
            true,
            false,
            &BTreeSet::new(),
            None,
        );
        assert!(d.blockers.is_empty(), "{:?}", d.blockers);
        assert!(d.skip.contains_key(&11));
        assert!(!d.skip.contains_key(&12));
        assert_eq!(
            d.drop_owner_of,
            BTreeSet::from(["service_role".to_string()])
        );
        assert_eq!(
            d.left_out,
            vec!["event trigger ddl_watch (only a role with administrator rights can create it)"]
        );

        let list = build_list(&t.list, &d.skip);
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(
            lines[6],
            "16; 0 3 TABLE DATA auth refresh_tokens supabase_auth_admin"
        );
        assert_eq!(
            lines[7],
            ";17; 0 3 TABLE DATA auth schema_migrations supabase_auth_admin"
        );
        assert_eq!(lines.len(), t.list.lines().count());
    }

    #[test]
    fn a_restore_that_takes_every_owner_uses_pg_restores_own_no_owner_not_the_script() {
        let t = toc(&[
            "5; 2615 2200 SCHEMA - app src",
            "12; 1259 3 TABLE app t src",
            "13; 1259 4 INDEX app t_idx src",
            "18; 0 3 TABLE DATA app t src",
        ]);
        let f = TargetFacts {
            user: "offsite_drill_x".into(),
            ..Default::default()
        };
        let d = decide(
            &t,
            &f,
            &RolePlan::default(),
            true,
            false,
            &BTreeSet::new(),
            None,
        );
        assert!(
            d.skip.is_empty(),
            "the index comes with its table: {:?}",
            d.skip
        );
        assert!(d.every_owner_dropped);
        assert!(!d.needs_script(), "{d:?}");
        // Without --no-owner it is a blocker; with an owner kept it is the script.
        let d = decide(
            &t,
            &f,
            &RolePlan::default(),
            false,
            false,
            &BTreeSet::new(),
            None,
        );
        assert!(!d.every_owner_dropped && !d.blockers.is_empty());
        let mut kept = f.clone();
        kept.roles.insert("src".into(), true);
        let t2 = toc(&["12; 1259 3 TABLE app t src", "14; 1259 5 TABLE app u other"]);
        let d = decide(
            &t2,
            &kept,
            &RolePlan::default(),
            true,
            false,
            &BTreeSet::new(),
            None,
        );
        assert!(!d.every_owner_dropped && d.needs_script(), "{d:?}");
    }

    #[test]
    fn a_backup_column_the_target_lacks_blocks() {
        let mut t = toc(&[
            "12; 1259 3 TABLE auth users x",
            "18; 0 3 TABLE DATA auth users x",
        ]);
        t.items[0].sql =
            "CREATE TABLE auth.users (\n    id uuid NOT NULL,\n    legacy_col text\n);\n".into();
        let d = decide(
            &t,
            &supabase_target(),
            &RolePlan::default(),
            true,
            false,
            &BTreeSet::new(),
            None,
        );
        assert_eq!(d.blockers.len(), 1);
        assert!(d.blockers[0].contains("legacy_col"), "{:?}", d.blockers);
    }

    #[test]
    fn created_roles_are_acted_for_through_a_membership_held_for_the_transaction() {
        let g = parse_globals("CREATE ROLE app;\nALTER ROLE app WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;\n");
        let mut f = supabase_target();
        f.managed.clear();
        let roles = plan_roles(
            Some(&g),
            &["app".into()],
            &f.roles.keys().cloned().collect(),
            false,
        )
        .unwrap();
        let t = toc(&["23; 1259 10 TABLE public things app"]);
        let d = decide(&t, &f, &roles, false, false, &BTreeSet::new(), None);
        assert!(d.blockers.is_empty(), "{:?}", d.blockers);
        assert_eq!(
            d.preamble,
            vec![
                "CREATE ROLE \"app\" WITH INHERIT;",
                "GRANT \"app\" TO CURRENT_USER;"
            ]
        );
        assert_eq!(d.postamble, vec!["REVOKE \"app\" FROM CURRENT_USER;"]);
    }

    #[test]
    fn index_tables_are_read_from_their_sql() {
        assert_eq!(
            index_table("CREATE UNIQUE INDEX bucketid_objname ON storage.objects USING btree (bucket_id, name);"),
            Some(("storage".into(), "objects".into()))
        );
        assert_eq!(
            index_table("CREATE INDEX i ON ONLY public.\"Odd\" USING btree (a);"),
            Some(("public".into(), "Odd".into()))
        );
    }
}
