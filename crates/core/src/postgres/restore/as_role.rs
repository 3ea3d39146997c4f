//! `restore --as-role ROLE`: restore through a superuser's connection, but let the backup's code
//! run only with ROLE's rights.
//!
//! `SET ROLE` alone is not enough: the backup's functions run in the restore's sessions and can
//! `RESET ROLE` (or `SET SESSION AUTHORIZATION`) back to the superuser who logged in. So the
//! restore logs in as a role of its own, `offsite_restore_<random>`: LOGIN with a random password
//! used once, a member of ROLE and of nothing else, whose sessions start as ROLE (`ALTER ROLE …
//! SET role`). Objects are created owned by ROLE; a `RESET ROLE` lands on the temporary role,
//! which holds ROLE's rights and no other. The temporary role is dropped afterwards, whatever the
//! outcome (what it came to own is handed to ROLE first).
//!
//! ROLE must exist and hold none of the rights that let code run programs or touch the server's
//! files: not a superuser, no CREATEROLE, a member of none of [`SERVER_ROLES`].

use super::{quote_ident, RestoreTarget};
use crate::error::{Error, ErrorKind, Result};
use sqlx::Connection;

/// The predefined roles that let a role run programs or read and write the server's files.
pub const SERVER_ROLES: [&str; 3] = [
    "pg_execute_server_program",
    "pg_read_server_files",
    "pg_write_server_files",
];

/// The temporary login role of one restore.
#[derive(Clone)]
pub struct TempRole {
    pub name: String,
    pub role: String,
}

impl std::fmt::Debug for TempRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempRole")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish()
    }
}

/// Refuse a ROLE that is missing or holds a dangerous right, or a connection that may not
/// create the temporary role. Changes nothing.
pub async fn check(target: &RestoreTarget, role: &str) -> Result<()> {
    let spec = &target.spec;
    let mut conn = spec.connect(target.password.as_deref()).await?;
    let r = check_on(&mut conn, target, role).await;
    let _ = conn.close().await;
    r
}

async fn check_on(conn: &mut sqlx::PgConnection, target: &RestoreTarget, role: &str) -> Result<()> {
    let spec = &target.spec;
    let me: (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| spec.map_sqlx(e))?;
    if !me.0 && !me.1 {
        return Err(Error::new(
            ErrorKind::Permission,
            format!(
                "--as-role {role}: {} may not create the login role the restore runs as (it is neither a superuser nor has CREATEROLE)",
                spec.user
            ),
        )
        .with_hint(format!(
            "connect as a superuser, or connect as {role} itself and leave out --as-role"
        )));
    }
    let found: Option<(bool, bool)> =
        sqlx::query_as("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = $1")
            .bind(role)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| spec.map_sqlx(e))?;
    let Some((superuser, createrole)) = found else {
        return Err(Error::not_found(format!(
            "--as-role {role}: the target server has no role {role}"
        ))
        .with_hint("create it first (CREATE ROLE … NOLOGIN), give it the target database or schema, then restore again"));
    };
    let members: Vec<String> = sqlx::query_scalar(
        "SELECT p.rolname::text FROM pg_roles p, pg_roles r WHERE r.rolname = $1 \
         AND p.rolname = ANY($2) AND pg_has_role(r.oid, p.oid, 'MEMBER') ORDER BY 1",
    )
    .bind(role)
    .bind(SERVER_ROLES.to_vec())
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?;
    let mut rights = Vec::new();
    if superuser {
        rights.push("SUPERUSER".to_string());
    }
    if createrole {
        rights.push("CREATEROLE".to_string());
    }
    if !members.is_empty() {
        rights.push(format!("membership in {}", members.join(", ")));
    }
    if !rights.is_empty() {
        return Err(Error::new(
            ErrorKind::Permission,
            format!(
                "--as-role {role}: {role} holds {}, so the backup's code could run programs or touch the server's files as it",
                rights.join(" and ")
            ),
        )
        .with_hint("name a role without these rights (one that owns the target database is enough)"));
    }
    Ok(())
}

/// The name of the temporary login role of job `job_id` (`offsite_restore_` and the job id's
/// letters and digits): known from the job alone, so the next start of Offsite can drop the
/// role a killed job left ([`drop_left`]).
pub fn temp_name(job_id: &str) -> String {
    let id: String = job_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(40)
        .collect();
    format!("offsite_restore_{id}")
}

/// Check ROLE, create the temporary login role `name` ([`temp_name`]), and return the target
/// to restore through.
pub async fn begin(
    target: &RestoreTarget,
    role: &str,
    name: &str,
) -> Result<(RestoreTarget, TempRole)> {
    let spec = &target.spec;
    let mut conn = spec.connect(target.password.as_deref()).await?;
    check_on(&mut conn, target, role).await?;
    let name = name.to_string();
    let (create, password) = login_role_sql(&name, false);
    let (n, r) = (quote_ident(&name), quote_ident(role));
    for sql in [
        create,
        format!("GRANT {r} TO {n}"),
        format!("ALTER ROLE {n} SET role = {}", quote_literal(role)),
    ] {
        if let Err(e) = sqlx::query(&sql).execute(&mut conn).await {
            let _ = sqlx::query(&format!("DROP ROLE IF EXISTS {n}"))
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
            return Err(spec.map_sqlx(e));
        }
    }
    let _ = conn.close().await;
    let mut as_spec = spec.clone();
    as_spec.user = name.clone();
    Ok((
        RestoreTarget {
            spec: as_spec,
            password: Some(password),
        },
        TempRole {
            name,
            role: role.to_string(),
        },
    ))
}

/// The temporary role `name` a killed job left on the target's server, dropped as [`end`]
/// drops it (nothing to do when there is none).
pub async fn drop_left(target: &RestoreTarget, name: &str, role: &str) -> Result<()> {
    let spec = &target.spec;
    let mut conn = spec.connect(target.password.as_deref()).await?;
    let left: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1")
            .bind(name)
            .fetch_optional(&mut conn)
            .await
            .map_err(|e| spec.map_sqlx(e))?;
    let _ = conn.close().await;
    if left.is_none() {
        return Ok(());
    }
    let temp = TempRole {
        name: name.to_string(),
        role: role.to_string(),
    };
    end(target, &temp).await
}

/// Drop the temporary role (its sessions ended, what it owns in the target database handed to
/// ROLE first).
pub async fn end(target: &RestoreTarget, temp: &TempRole) -> Result<()> {
    let spec = &target.spec;
    let mut conn = spec.connect(target.password.as_deref()).await?;
    let (n, r) = (quote_ident(&temp.name), quote_ident(&temp.role));
    let _ = sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&temp.name)
    .execute(&mut conn)
    .await;
    let mut result = Ok(());
    for sql in [
        format!("REASSIGN OWNED BY {n} TO {r}"),
        format!("DROP OWNED BY {n}"),
        format!("DROP ROLE IF EXISTS {n}"),
    ] {
        if let Err(e) = sqlx::query(&sql).execute(&mut conn).await {
            result = Err(Error::new(
                ErrorKind::ToolFailed,
                format!(
                    "the restore could not drop its temporary role {}: {}",
                    temp.name,
                    spec.map_sqlx(e).message()
                ),
            )
            .with_hint(format!(
                "drop it on the target: REASSIGN OWNED BY {n} TO {r}; DROP OWNED BY {n}; DROP ROLE {n}"
            )));
        }
    }
    let _ = conn.close().await;
    result
}

/// The `CREATE ROLE` of a one-use login role that holds no right (not a superuser, no
/// CREATEDB, CREATEROLE or REPLICATION; BYPASSRLS only when asked), and its random password: 32
/// hex digits, a literal with nothing to quote (CREATE ROLE takes no parameters), used for this
/// run's connections only and dropped with the role.
pub(crate) fn login_role_sql(name: &str, bypassrls: bool) -> (String, String) {
    let password = uuid::Uuid::new_v4().simple().to_string();
    let rls = if bypassrls {
        "BYPASSRLS"
    } else {
        "NOBYPASSRLS"
    };
    (
        format!(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION {rls} INHERIT PASSWORD '{password}'",
            quote_ident(name)
        ),
        password,
    )
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(quote_literal("o'brien"), "'o''brien'");
    }
}
