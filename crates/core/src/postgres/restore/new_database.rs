//! A restore into a database that does not exist yet: whether it exists, whether the connecting
//! role may create it, and creating it (empty, from `template1`, owned by the connecting role) —
//! or removing it again when the restore that created it fails.
//!
//! The plan of such a restore is read from `template1`: `CREATE DATABASE` copies it, so what the
//! plan sees there is exactly what the new database will hold.

use super::plan::DETAILS;
use super::{quote_ident, DatabasePlan, RestoreTarget};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::ConnSpec;
use sqlx::Connection;

/// The database `CREATE DATABASE` copies (its default): the plan of a new database is read there.
pub const TEMPLATE: &str = "template1";

/// Whether a target's database exists, as its server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Exists,
    /// It does not: `may_create` says whether the connecting role may create databases there
    /// (CREATEDB or a superuser).
    Missing {
        may_create: bool,
    },
}

/// Ask the target's server whether its database exists. Connects to it; when the server says
/// it does not exist (`3D000`), connects to `template1` as the same role to learn whether it may
/// create it. Any other failure (refused password, unreachable server) is the connection's error.
pub async fn presence(target: &RestoreTarget) -> Result<Presence> {
    let pw = target.password.as_deref();
    match target.spec.connect_raw(pw).await {
        Ok(conn) => {
            let _ = conn.close().await;
            Ok(Presence::Exists)
        }
        Err(e) if is_missing_database(&e) => {
            let template = target.spec.with_database(TEMPLATE);
            let mut conn = template.connect(pw).await.map_err(|e| {
                missing_error(&target.spec).with_hint(format!(
                    "Offsite reads what a new database would hold from {TEMPLATE}, and could not connect to it ({}); create the database first (createdb {}), or choose another",
                    e.message(),
                    target.spec.database
                ))
            })?;
            let may_create = may_create_databases(&mut conn, &template).await?;
            let _ = conn.close().await;
            Ok(Presence::Missing { may_create })
        }
        Err(e) => Err(target.spec.map_sqlx(e)),
    }
}

/// Whether the connected role may create databases (CREATEDB or a superuser).
async fn may_create_databases(conn: &mut sqlx::PgConnection, spec: &ConnSpec) -> Result<bool> {
    sqlx::query_scalar("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
        .fetch_one(conn)
        .await
        .map_err(|e| spec.map_sqlx(e))
}

/// A connection to the target's server outside the target's database and the template (which
/// CREATE DATABASE copies and must not be in use): `postgres`, else `template1`.
async fn admin_connection(target: &RestoreTarget) -> Result<sqlx::PgConnection> {
    let pw = target.password.as_deref();
    match target.spec.with_database("postgres").connect(pw).await {
        Ok(c) => Ok(c),
        Err(_) => target.spec.with_database(TEMPLATE).connect(pw).await,
    }
}

fn is_missing_database(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000"))
}

/// The target as the plan reads it when its database is missing: the same server and role,
/// `template1`.
pub fn template_of(target: &RestoreTarget) -> RestoreTarget {
    RestoreTarget {
        spec: target.spec.with_database(TEMPLATE),
        password: target.password.clone(),
    }
}

/// The database does not exist and the restore was not asked to create it.
pub fn missing_error(spec: &ConnSpec) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!(
            "the database {} does not exist on {} yet",
            spec.database,
            spec.location()
        ),
    )
    .with_hint(format!("create it (createdb {}), or let the restore of a backup create it empty: --create-database (in the app, “Create it as a new empty database”); or choose another database", spec.database))
}

/// What refuses a restore into a missing database, as the error the job ends with (`None`:
/// it goes ahead).
pub fn refusal(spec: &ConnSpec, presence: &Presence, create: bool) -> Option<Error> {
    match (presence, create) {
        (Presence::Exists, _) | (Presence::Missing { may_create: true }, true) => None,
        (Presence::Missing { .. }, false) => Some(missing_error(spec)),
        (Presence::Missing { may_create: false }, true) => Some(
            Error::new(ErrorKind::Permission, not_allowed(spec))
                .with_hint(format!("create the database {} as a role that may (createdb), give this role CREATEDB (ALTER ROLE … CREATEDB), or choose another database", spec.database)),
        ),
    }
}

/// [`refusal`] as the plan's blocker: its message and what to do, in words every front end
/// shows, the command line's flag and tool after [`DETAILS`] (`None`: nothing stops it).
fn blocker(spec: &ConnSpec, presence: &Presence, create: bool) -> Option<String> {
    let e = refusal(spec, presence, create)?;
    Some(match (presence, e.hint()) {
        (Presence::Missing { .. }, _) if !create => format!(
            "{}: let the restore create it as a new empty database, or choose another \
             database{DETAILS}on the command line, --create-database creates it; createdb {} \
             creates it by hand",
            e.message(),
            spec.database
        ),
        (_, Some(h)) => format!("{}: {h}", e.message()),
        (_, None) => e.message().to_string(),
    })
}

/// The plan of a restore into a missing database (read from `template1`): named after the
/// database asked for, marked missing, with what stops it.
pub fn mark_plan(
    plan: &mut DatabasePlan,
    target: &RestoreTarget,
    presence: &Presence,
    create: bool,
) {
    let Presence::Missing { may_create } = *presence else {
        return;
    };
    plan.target = target.spec.to_url();
    plan.target_database = target.spec.database.clone();
    plan.database_missing = true;
    plan.may_create_database = may_create;
    plan.creates_database = create && may_create;
    if let Some(b) = blocker(&target.spec, presence, create) {
        plan.blockers.insert(0, b);
    }
}

fn not_allowed(spec: &ConnSpec) -> String {
    format!(
        "the role {} may not create databases on {}",
        spec.user,
        spec.location()
    )
}

/// Create the target's database, empty (a copy of `template1`), owned by the connecting role
/// (the caller checked [`presence`] first; a role without the right is the server's
/// `permission`). A database of that name made meanwhile is "already exists".
pub async fn create(target: &RestoreTarget) -> Result<()> {
    let mut conn = admin_connection(target).await?;
    let created = sqlx::query(&format!(
        "CREATE DATABASE {}",
        quote_ident(&target.spec.database)
    ))
    .execute(&mut conn)
    .await;
    let _ = conn.close().await;
    match created {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42P04") => Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "the database {} was created on {} by someone else meanwhile",
                target.spec.database,
                target.spec.location()
            ),
        )
        .with_hint("check the target again: the plan is read anew")),
        Err(e) => Err(target.spec.map_sqlx(e)),
    }
}

/// `e`, the failure of a restore into a database created for it, once that database is removed
/// again (saying so, or what was left when it could not be).
pub async fn removed_after(target: &RestoreTarget, e: Error) -> Error {
    match remove_created(target).await {
        None => e.also(format!(
            "the new database {} was removed again",
            target.spec.database
        )),
        Some(left) => e.also(left),
    }
}

/// Remove a database this restore created, after the restore failed: nothing of a failed
/// restore stays behind. Returns what to tell the user when it could not be removed.
pub async fn remove_created(target: &RestoreTarget) -> Option<String> {
    let removed = match admin_connection(target).await {
        Ok(mut conn) => {
            // WITH (FORCE) (PostgreSQL 13+): a worker of the failed restore still closing.
            let version: i32 =
                sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap_or(0);
            let force = if version >= 130000 {
                " WITH (FORCE)"
            } else {
                ""
            };
            let r = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {}{force}",
                quote_ident(&target.spec.database)
            ))
            .execute(&mut conn)
            .await
            .map(|_| ());
            let _ = conn.close().await;
            r.map_err(|e| target.spec.map_sqlx(e).message().to_string())
        }
        Err(e) => Err(e.message().to_string()),
    };
    removed.err().map(|why| {
        format!(
            "the new database {} on {} could not be removed again ({why}): drop it (dropdb {}) before trying again",
            target.spec.database,
            target.spec.location(),
            target.spec.database
        )
    })
}
