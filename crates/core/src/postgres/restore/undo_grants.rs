//! What a parallel restore changes on what the target already had, and putting it back
//! (issue 63, item 8): the undo of a failed or interrupted `pg_restore -j` ([`super::undo`])
//! drops what the restore created, but a backup also changes objects it does not create — the
//! grants on a schema the target had (`GRANT USAGE ON SCHEMA public TO …`), that schema's owner
//! and comment, and default privileges (`ALTER DEFAULT PRIVILEGES … GRANT SELECT ON TABLES …`).
//! Those are read before the restore writes ([`Held::read`], kept in the job's journal) and,
//! on undo, every difference is reversed: what the restore granted is revoked, what it revoked
//! is granted again, owner and comment set back. Then the target is read again: anything that
//! still differs (a grant made by another role, which this session cannot revoke) is said,
//! never passed over.
//!
//! Privileges come from the server as `aclexplode` rows; the privilege words are checked against
//! PostgreSQL's own list before they are written into a statement, and names are quoted.

use super::quote_ident;
use super::roles::parse::quote_literal;
use crate::error::Result;
use crate::postgres::conn::ConnSpec;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What a privilege is on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum On {
    /// A schema the target had.
    Schema { schema: String },
    /// The default privileges of `role` for objects of kind `objects` (`pg_default_acl`'s
    /// letter) created in `schema` (`None`: everywhere).
    Defaults {
        role: String,
        schema: Option<String>,
        objects: String,
    },
}

/// One privilege held: `grantee` (`""`: PUBLIC) has `privilege` on `on`, with or without the
/// grant option.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Grant {
    #[serde(flatten)]
    pub on: On,
    pub grantee: String,
    pub privilege: String,
    pub grantable: bool,
}

/// A schema's owner and comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaFacts {
    pub schema: String,
    pub owner: String,
    pub comment: Option<String>,
}

/// What the target held before the restore, of what a restore can change without creating it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub grants: Vec<Grant>,
    /// The default-privilege entries (role, schema, kind) that existed: where a global one did
    /// not, PostgreSQL's built-in defaults applied.
    pub default_keys: Vec<On>,
    pub schemas: Vec<SchemaFacts>,
}

const SCHEMA_GRANTS: &str = "SELECT n.nspname::text, coalesce(g.rolname::text, ''), \
    a.privilege_type::text, a.is_grantable \
    FROM pg_namespace n \
    CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a \
    LEFT JOIN pg_roles g ON g.oid = a.grantee \
    WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'";

const DEFAULT_ENTRIES: &str = "SELECT r.rolname::text, n.nspname::text, d.defaclobjtype::text, \
    d.defaclacl::text[] FROM pg_default_acl d JOIN pg_roles r ON r.oid = d.defaclrole \
    LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace";

const DEFAULT_GRANTS: &str = "SELECT r.rolname::text, n.nspname::text, d.defaclobjtype::text, \
    coalesce(g.rolname::text, ''), a.privilege_type::text, a.is_grantable \
    FROM pg_default_acl d JOIN pg_roles r ON r.oid = d.defaclrole \
    LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace \
    CROSS JOIN LATERAL aclexplode(d.defaclacl) a \
    LEFT JOIN pg_roles g ON g.oid = a.grantee";

const SCHEMA_FACTS: &str = "SELECT n.nspname::text, pg_get_userbyid(n.nspowner)::text, \
    obj_description(n.oid, 'pg_namespace') FROM pg_namespace n \
    WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'";

/// PostgreSQL's built-in default privileges of `role` for `objects` (what applies where no
/// global entry exists): `acldefault` takes the kinds in lower case but for types.
const BUILT_IN: &str = "SELECT coalesce(g.rolname::text, ''), a.privilege_type::text, \
    a.is_grantable FROM aclexplode(acldefault($1::\"char\", \
    (SELECT oid FROM pg_roles WHERE rolname = $2))) a LEFT JOIN pg_roles g ON g.oid = a.grantee";

type Row6 = (String, Option<String>, String, String, String, bool);

impl Held {
    /// Read from the target now.
    pub(super) async fn read(conn: &mut sqlx::PgConnection, spec: &ConnSpec) -> Result<Held> {
        let map = |e| spec.map_sqlx(e);
        let mut grants: Vec<Grant> =
            sqlx::query_as::<_, (String, String, String, bool)>(SCHEMA_GRANTS)
                .fetch_all(&mut *conn)
                .await
                .map_err(map)?
                .into_iter()
                .map(|(schema, grantee, privilege, grantable)| Grant {
                    on: On::Schema { schema },
                    grantee,
                    privilege,
                    grantable,
                })
                .collect();
        let defaults: Vec<Row6> = sqlx::query_as(DEFAULT_GRANTS)
            .fetch_all(&mut *conn)
            .await
            .map_err(map)?;
        for (role, schema, objects, grantee, privilege, grantable) in defaults {
            grants.push(Grant {
                on: On::Defaults {
                    role,
                    schema,
                    objects,
                },
                grantee,
                privilege,
                grantable,
            });
        }
        let default_keys =
            sqlx::query_as::<_, (String, Option<String>, String, Vec<String>)>(DEFAULT_ENTRIES)
                .fetch_all(&mut *conn)
                .await
                .map_err(map)?
                .into_iter()
                .map(|(role, schema, objects, _)| On::Defaults {
                    role,
                    schema,
                    objects,
                })
                .collect();
        let schemas = sqlx::query_as::<_, (String, String, Option<String>)>(SCHEMA_FACTS)
            .fetch_all(&mut *conn)
            .await
            .map_err(map)?
            .into_iter()
            .map(|(schema, owner, comment)| SchemaFacts {
                schema,
                owner,
                comment,
            })
            .collect();
        grants.sort();
        Ok(Held {
            grants,
            default_keys,
            schemas,
        })
    }
}

/// The statements that take the target from `now` back to `before`, for the schemas the target
/// had before and still has (one the restore created is dropped whole by the undo).
pub(super) async fn statements_back(
    conn: &mut sqlx::PgConnection,
    spec: &ConnSpec,
    before: &Held,
    now: &Held,
) -> Result<Vec<String>> {
    let had: BTreeSet<&str> = before.schemas.iter().map(|s| s.schema.as_str()).collect();
    let kept = |on: &On| match on {
        On::Schema { schema } => had.contains(schema.as_str()),
        On::Defaults { schema, .. } => schema.as_deref().is_none_or(|s| had.contains(s)),
    };
    let mut out = Vec::new();
    // Owners and comments first: a grant on a schema is made as its owner.
    for b in &before.schemas {
        let Some(n) = now.schemas.iter().find(|n| n.schema == b.schema) else {
            continue;
        };
        let schema = quote_ident(&b.schema);
        if n.owner != b.owner {
            out.push(format!(
                "ALTER SCHEMA {schema} OWNER TO {};",
                quote_ident(&b.owner)
            ));
        }
        if n.comment != b.comment {
            let comment = b.comment.as_deref().map_or("NULL".into(), quote_literal);
            out.push(format!("COMMENT ON SCHEMA {schema} IS {comment};"));
        }
    }
    // A global default entry that exists on one side only stands for the built-in defaults on
    // the other.
    let (mut before, mut now) = (before.clone(), now.clone());
    with_built_in(conn, spec, &mut before, &mut now).await?;
    let (before_set, now_set) = (effective(&before), effective(&now));
    let keys: BTreeSet<&(On, String, String)> = before_set.keys().chain(now_set.keys()).collect();
    let (mut revokes, mut grants) = (Vec::new(), Vec::new());
    for key @ (on, grantee, privilege) in keys {
        if !kept(on) || !PRIVILEGES.contains(&privilege.as_str()) {
            continue;
        }
        let Some(target) = object(on) else { continue };
        let who = if grantee.is_empty() {
            "PUBLIC".to_string()
        } else {
            quote_ident(grantee)
        };
        let (prefix, what) = target;
        match (before_set.get(key), now_set.get(key)) {
            (None, Some(_)) => revokes.push(format!(
                "{prefix}REVOKE {privilege} ON {what} FROM {who} CASCADE;"
            )),
            (Some(false), Some(true)) => revokes.push(format!(
                "{prefix}REVOKE GRANT OPTION FOR {privilege} ON {what} FROM {who} CASCADE;"
            )),
            (Some(option), None) | (Some(option @ true), Some(false)) => grants.push(format!(
                "{prefix}GRANT {privilege} ON {what} TO {who}{};",
                if *option { " WITH GRANT OPTION" } else { "" }
            )),
            _ => {}
        }
    }
    out.extend(revokes);
    out.extend(grants);
    Ok(out)
}

/// Every privilege in force: (what on, grantee, privilege) → grant option.
fn effective(held: &Held) -> BTreeMap<(On, String, String), bool> {
    held.grants
        .iter()
        .map(|g| {
            (
                (g.on.clone(), g.grantee.clone(), g.privilege.clone()),
                g.grantable,
            )
        })
        .collect()
}

/// The built-in defaults of the global entries that exist in one of `a`, `b` but not the other,
/// added to the side that lacks them.
async fn with_built_in(
    conn: &mut sqlx::PgConnection,
    spec: &ConnSpec,
    a: &mut Held,
    b: &mut Held,
) -> Result<()> {
    let global = |h: &Held| -> BTreeSet<On> {
        h.default_keys
            .iter()
            .filter(|k| matches!(k, On::Defaults { schema: None, .. }))
            .cloned()
            .collect()
    };
    let (in_a, in_b) = (global(a), global(b));
    for (lacks, missing) in [
        (&mut *a, in_b.difference(&in_a)),
        (&mut *b, in_a.difference(&in_b)),
    ] {
        for key in missing {
            let On::Defaults { role, objects, .. } = key else {
                continue;
            };
            let kind = match objects.as_str() {
                "S" => "s",
                "T" => "T",
                "r" | "f" | "n" | "L" => objects.as_str(),
                _ => continue,
            };
            let rows: Vec<(String, String, bool)> = sqlx::query_as(BUILT_IN)
                .bind(kind)
                .bind(role)
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| spec.map_sqlx(e))?;
            for (grantee, privilege, grantable) in rows {
                lacks.grants.push(Grant {
                    on: key.clone(),
                    grantee,
                    privilege,
                    grantable,
                });
            }
        }
    }
    Ok(())
}

/// The privileges PostgreSQL names (`aclexplode`'s words): nothing else is written into a
/// statement.
const PRIVILEGES: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "CREATE",
    "CONNECT",
    "TEMPORARY",
    "EXECUTE",
    "USAGE",
    "SET",
    "ALTER SYSTEM",
    "MAINTAIN",
];

/// The statement's prefix and its `ON …` object for privileges on `on`; `None` for a kind this
/// version does not know.
fn object(on: &On) -> Option<(String, String)> {
    match on {
        On::Schema { schema } => Some((String::new(), format!("SCHEMA {}", quote_ident(schema)))),
        On::Defaults {
            role,
            schema,
            objects,
        } => {
            let kind = match objects.as_str() {
                "r" => "TABLES",
                "S" => "SEQUENCES",
                "f" => "FUNCTIONS",
                "T" => "TYPES",
                "n" if schema.is_none() => "SCHEMAS",
                "L" if schema.is_none() => "LARGE OBJECTS",
                _ => return None,
            };
            let within = schema
                .as_deref()
                .map(|s| format!(" IN SCHEMA {}", quote_ident(s)))
                .unwrap_or_default();
            Some((
                format!(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {}{within} ",
                    quote_ident(role)
                ),
                kind.to_string(),
            ))
        }
    }
}
