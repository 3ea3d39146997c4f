//! Who a drill's restore runs as. A backup's functions run while it is restored (a CHECK
//! constraint, a column default, a trigger, an index expression calls them as rows load) and
//! whenever the restored database is read. A backup can come from anywhere (an imported file, a
//! backup server, an artifact bucket), so its code must never run with rights on the machine
//! that restores it: a superuser can run programs (`COPY … TO PROGRAM`) and read and write the
//! server's files.
//!
//! So a drill never restores, and never reads, as a superuser. On the throwaway cluster, and on
//! a scratch server reached as a superuser, it creates a role of its own, `offsite_drill_<id>`:
//! LOGIN, not a superuser, no CREATEDB, no CREATEROLE, no REPLICATION, a member of no role (so
//! not of `pg_execute_server_program`, `pg_read_server_files`, `pg_write_server_files`), with a
//! random password used once. The drill's database is created owned by it; the restore runs
//! logged in as it (not `SET ROLE`, which the backup's code could `RESET`), with every object
//! owned by it (`--no-owner`). The roles the backup's objects, grants and policies name are
//! created bare (`NOLOGIN`, no attribute, no membership): never SUPERUSER, BYPASSRLS,
//! REPLICATION or a predefined role's membership from the backup's `globals.sql`. Afterwards
//! the database, those roles and the drill's role are dropped.
//!
//! A scratch server reached as a role that is not a superuser is used as that role when it
//! holds none of those rights; one that holds any (CREATEROLE, or membership in a predefined
//! role that runs programs or touches files) is refused before anything is changed.

use super::sandbox::Confinement;
use super::scratch::ScratchServer;
use super::{CheckStatus, DrillCheck};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::restore::quote_ident;
use crate::postgres::restore::DatabasePlan;
use sqlx::Connection;

pub use crate::postgres::restore::as_role::SERVER_ROLES;

/// What the drill's connection may do on the server it restores to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rights {
    pub role: String,
    pub superuser: bool,
    pub createrole: bool,
    pub bypassrls: bool,
    /// Of [`SERVER_ROLES`], those it is a member of.
    pub server_roles: Vec<String>,
    /// `server_version` ("15.18").
    pub version: String,
}

impl Rights {
    /// Whether code running as this role could run programs, touch the server's files, or make
    /// roles that outlive the drill.
    pub fn dangerous(&self) -> bool {
        self.superuser || self.createrole || !self.server_roles.is_empty()
    }
}

/// The rights of `server`'s connecting role.
pub(crate) async fn rights_of(
    conn: &mut sqlx::PgConnection,
    server: &ScratchServer,
) -> Result<Rights> {
    let (role, superuser, createrole, bypassrls, version): (String, bool, bool, bool, String) =
        sqlx::query_as(
            "SELECT rolname::text, rolsuper, rolcreaterole, rolbypassrls, \
             current_setting('server_version') FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| server.spec.map_sqlx(e))?;
    let server_roles: Vec<String> = sqlx::query_scalar(
        "SELECT rolname::text FROM pg_roles WHERE rolname = ANY($1) \
         AND pg_has_role(current_user, oid, 'MEMBER') ORDER BY 1",
    )
    .bind(SERVER_ROLES.to_vec())
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| server.spec.map_sqlx(e))?;
    Ok(Rights {
        role,
        superuser,
        createrole,
        bypassrls,
        server_roles,
        version,
    })
}

/// Who restores, and what the drill made that it must drop.
#[derive(Clone)]
pub(crate) struct Access {
    /// The connection that set the drill up (the URL's role, or the throwaway's superuser).
    pub admin: ScratchServer,
    /// The connection the backup's code runs under: the drill's own role, or the URL's role
    /// when it holds no dangerous right.
    pub restorer: ScratchServer,
    /// The restoring role, and whether the drill created it (then it is dropped afterwards).
    pub role: String,
    pub own_role: bool,
    /// The restoring role may not bypass row-level security (a table that forces it cannot be
    /// loaded or read back whole).
    pub bypassrls: bool,
    /// The server's version ("15.18").
    pub version: String,
    /// The backup's roles the drill created bare (dropped afterwards).
    pub created_roles: Vec<String>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("role", &self.role)
            .field("own_role", &self.own_role)
            .field("created_roles", &self.created_roles)
            .finish_non_exhaustive()
    }
}

/// The drill's own role's name (as its database's: `offsite_drill_<id>`).
pub fn drill_role_name(drill_id: &str) -> String {
    super::scratch::drill_database_name(drill_id)
}

/// Set the drill up on `admin`'s server: refuse a server where `database` exists, a role that
/// cannot create databases, or a non-superuser role holding a dangerous right; create the
/// drill's role (when `admin` is a superuser) and `database` owned by the restoring role.
pub(crate) async fn prepare(
    admin: &ScratchServer,
    database: &str,
    drill_id: &str,
) -> Result<Access> {
    let mut conn = admin.spec.connect(admin.password.as_deref()).await?;
    let rights = rights_of(&mut conn, admin).await?;
    if !rights.superuser && rights.dangerous() {
        let _ = conn.close().await;
        return Err(refused(admin, &rights));
    }
    admin.refuse_existing(&mut conn, database).await?;
    if !rights.superuser {
        let _ = conn.close().await;
        admin.create(database).await?;
        return Ok(Access {
            admin: admin.clone(),
            restorer: admin.clone(),
            role: rights.role,
            own_role: false,
            bypassrls: rights.bypassrls,
            version: rights.version,
            created_roles: Vec::new(),
        });
    }
    let role = drill_role_name(drill_id);
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_roles WHERE rolname = $1")
        .bind(&role)
        .fetch_optional(&mut conn)
        .await
        .map_err(|e| admin.spec.map_sqlx(e))?;
    if exists.is_some() {
        let _ = conn.close().await;
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "the role {role} already exists on {}: a drill only restores as a role it creates",
                admin.spec.location()
            ),
        )
        .with_hint(
            "drop it if it is a leftover of an earlier drill (DROP ROLE …), or name another server",
        ));
    }
    let (create_role, password) = crate::postgres::restore::as_role::login_role_sql(&role, true);
    sqlx::query(&create_role)
        .execute(&mut conn)
        .await
        .map_err(|e| admin.spec.map_sqlx(e))?;
    let created = sqlx::query(&format!(
        "CREATE DATABASE {} OWNER {}",
        quote_ident(database),
        quote_ident(&role)
    ))
    .execute(&mut conn)
    .await;
    if let Err(e) = created {
        let _ = sqlx::query(&format!("DROP ROLE IF EXISTS {}", quote_ident(&role)))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
        return Err(admin.spec.map_sqlx(e));
    }
    let _ = conn.close().await;
    let mut spec = admin.spec.clone();
    spec.user = role.clone();
    Ok(Access {
        admin: admin.clone(),
        restorer: ScratchServer {
            spec,
            password: Some(password),
        },
        role,
        own_role: true,
        bypassrls: true,
        version: rights.version,
        created_roles: Vec::new(),
    })
}

fn refused(admin: &ScratchServer, r: &Rights) -> Error {
    let mut what = Vec::new();
    if r.createrole {
        what.push("CREATEROLE".to_string());
    }
    if !r.server_roles.is_empty() {
        what.push(format!("membership in {}", r.server_roles.join(", ")));
    }
    Error::new(
        ErrorKind::Permission,
        format!(
            "the role {} on {} holds {}: the backup's code would run with it during the drill (run programs, touch the server's files, or make roles that outlive the drill)",
            r.role,
            admin.spec.location(),
            what.join(" and ")
        ),
    )
    .with_hint("connect as a superuser (the drill then restores as a role of its own that holds none of these rights, dropped afterwards), or as a role with CREATEDB and none of these rights; or drill into Offsite's throwaway cluster (leave out --server)")
}

/// Create the backup's roles the restore needs that the server lacks, bare: `NOLOGIN`, no
/// attribute, no membership, no setting. Returns those it created.
pub(crate) async fn create_bare_roles(access: &mut Access, names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let admin = &access.admin;
    let mut conn = admin.spec.connect(admin.password.as_deref()).await?;
    for name in names {
        if SERVER_ROLES.contains(&name.as_str()) || name.starts_with("pg_") {
            continue;
        }
        let r = sqlx::query(&format!("CREATE ROLE {} NOLOGIN", quote_ident(name)))
            .execute(&mut conn)
            .await;
        match r {
            Ok(_) => access.created_roles.push(name.clone()),
            // Created meanwhile by someone else: it is theirs, left as it is.
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42710") => {}
            Err(e) => {
                let _ = conn.close().await;
                return Err(admin.spec.map_sqlx(e));
            }
        }
    }
    let _ = conn.close().await;
    Ok(())
}

/// The schema of pg_dump's `CREATE EXTENSION IF NOT EXISTS name WITH SCHEMA schema;` (the
/// backup's text: parsed here, never passed on as it is), unquoted; `None` when it says none or
/// says it in any other way.
pub(crate) fn extension_schema(sql: &str) -> Option<String> {
    let rest = sql.split_once(" WITH SCHEMA ")?.1;
    let rest = rest.split_once(';')?.0.trim();
    if let Some(inner) = rest.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        // Inside, a quote appears only doubled.
        if inner.replace("\"\"", "").contains('"') {
            return None;
        }
        return Some(inner.replace("\"\"", "\""));
    }
    let plain = rest
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    plain.then(|| rest.to_string())
}

/// Create, as the setting-up superuser and before anything of the backup is restored, the
/// extensions the backup uses that only a superuser may create (trusted ones the drill's role
/// creates itself, as the restore says): this machine's extension scripts, run in a database
/// still empty of the backup's objects. Their schema is created for them (owned by the
/// superuser, usable by the drill's role), so the restore keeps it as a schema another role owns.
pub(crate) async fn create_untrusted_extensions(
    access: &Access,
    database: &str,
    wanted: &[(String, Option<String>)],
) -> Result<()> {
    if !access.own_role || wanted.is_empty() {
        return Ok(());
    }
    let admin = &access.admin;
    let spec = admin.spec_of(database);
    let mut conn = spec.connect(admin.password.as_deref()).await?;
    let mut result = Ok(());
    for (name, schema) in wanted {
        let trusted: Option<bool> = sqlx::query_scalar(
            "SELECT bool_or(v.trusted) FROM pg_available_extension_versions v \
             JOIN pg_available_extensions a ON a.name = v.name AND a.default_version = v.version \
             WHERE v.name = $1",
        )
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
        if trusted != Some(false) {
            continue;
        }
        let schema = schema.clone().unwrap_or_else(|| "public".into());
        let (s, r) = (quote_ident(&schema), quote_ident(&access.role));
        let mut sql = Vec::new();
        if schema != "public" && schema != "pg_catalog" {
            sql.push(format!("CREATE SCHEMA IF NOT EXISTS {s}"));
            sql.push(format!("GRANT USAGE, CREATE ON SCHEMA {s} TO {r}"));
        }
        sql.push(format!(
            "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {s}",
            quote_ident(name)
        ));
        for q in sql {
            if let Err(e) = sqlx::query(&q).execute(&mut conn).await {
                result = Err(spec.map_sqlx(e));
                break;
            }
        }
    }
    let _ = conn.close().await;
    result
}

/// Drop the drill's database, the backup's roles it created and its own role.
pub(crate) async fn tear_down(access: &Access, database: &str) -> Result<()> {
    access.admin.drop_database(database).await?;
    let mut roles: Vec<&String> = access.created_roles.iter().collect();
    if access.own_role {
        roles.push(&access.role);
    }
    if roles.is_empty() {
        return Ok(());
    }
    let admin = &access.admin;
    let mut conn = admin.spec.connect(admin.password.as_deref()).await?;
    let mut failed = Vec::new();
    for role in roles {
        // Sessions the role may still have elsewhere on the server end first.
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE usename = $1 AND pid <> pg_backend_pid()",
        )
        .bind(role)
        .execute(&mut conn)
        .await;
        if let Err(e) = sqlx::query(&format!("DROP ROLE IF EXISTS {}", quote_ident(role)))
            .execute(&mut conn)
            .await
        {
            failed.push(format!("{role}: {}", admin.spec.map_sqlx(e).message()));
        }
    }
    let _ = conn.close().await;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::ToolFailed,
            format!(
                "the drill could not drop the roles it created on {}: {}",
                admin.spec.location(),
                failed.join("; ")
            ),
        )
        .with_hint("drop them on that server (DROP OWNED BY …; DROP ROLE …)"))
    }
}

/// Who restored a drill's backup, for the report.
pub struct Restorer<'a> {
    /// The restoring role.
    pub role: &'a str,
    /// The drill created it (and drops it afterwards).
    pub own_role: bool,
    /// It may bypass row-level security.
    pub bypassrls: bool,
    /// The backup's roles the drill created bare.
    pub created_roles: &'a [String],
}

/// The report's check that the backup's code ran without rights: in plain words (issue 64 item
/// 4: no "superuser", no "Landlock", no paths), the technical account (the server roles it is
/// no member of, how the OS confined the server, the roles created bare) in its detail, what
/// the app shows under Details. `place`: the throwaway server's confinement, or the scratch
/// server's location.
pub fn confined_check(who: &Restorer<'_>, place: Result<&Confinement, &str>) -> DrillCheck {
    let own = if who.own_role {
        " (the drill's own role, removed afterwards)"
    } else {
        ""
    };
    let (plain_place, mut detail) = match place {
        Ok(c) => (c.plain(), c.describe()),
        Err(location) => (
            format!("on the scratch server {location}"),
            format!("on the scratch server {location}"),
        ),
    };
    detail.push_str(&format!(
        "; the role is not a superuser, cannot create roles and holds none of the server's roles {}",
        SERVER_ROLES.join(", ")
    ));
    if !who.bypassrls {
        detail.push_str("; it may not bypass row-level security");
    }
    if !who.created_roles.is_empty() {
        detail.push_str(&format!(
            "; the backup's roles were created bare (no login, no attribute, no membership) and removed afterwards: {}",
            who.created_roles.join(", ")
        ));
    }
    DrillCheck {
        id: "confined".into(),
        title: "The backup's code ran without rights on this computer".into(),
        status: CheckStatus::Passed,
        expected: Some(
            "restored and read as a role without administrator rights, that cannot create roles or act for the server's own roles".into(),
        ),
        actual: Some(format!(
            "restored and read as {}{own}; {plain_place}",
            who.role
        )),
        detail: Some(detail),
    }
}

/// What the report says of who the backup's code ran as, and of what was left out because it
/// needs rights a drill never gives (event triggers, objects only a superuser may create).
pub(crate) fn checks(
    access: &Access,
    confinement: Option<&Confinement>,
    plan: Option<&DatabasePlan>,
) -> Vec<DrillCheck> {
    let scratch = access.admin.spec.location();
    let mut out = vec![confined_check(
        &Restorer {
            role: &access.role,
            own_role: access.own_role,
            bypassrls: access.bypassrls,
            created_roles: &access.created_roles,
        },
        confinement.ok_or(scratch.as_str()),
    )];
    if let Some(p) = plan {
        let mut left: Vec<String> = p.superuser_only.clone();
        left.extend(p.left_out.iter().cloned());
        if !left.is_empty() {
            out.push(DrillCheck {
                id: "left_out".into(),
                title: "Objects the drill did not restore: they need rights it never gives".into(),
                status: CheckStatus::NotComparable,
                expected: None,
                actual: Some(format!("{} left out", left.len())),
                detail: Some(format!(
                    "a drill restores without administrator rights on the server, so these were not restored or checked: {}",
                    left.join("; ")
                )),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rights() -> Rights {
        Rights {
            role: "r".into(),
            superuser: false,
            createrole: false,
            bypassrls: false,
            server_roles: vec![],
            version: "15.18".into(),
        }
    }

    #[test]
    fn a_role_that_can_run_programs_or_make_roles_is_dangerous() {
        assert!(!rights().dangerous());
        assert!(Rights {
            superuser: true,
            ..rights()
        }
        .dangerous());
        assert!(Rights {
            createrole: true,
            ..rights()
        }
        .dangerous());
        let member = Rights {
            server_roles: vec!["pg_execute_server_program".into()],
            ..rights()
        };
        assert!(member.dangerous());
        let server = ScratchServer::parse("postgres://u:pw@h:5432/postgres", None).unwrap();
        let e = refused(&server, &member);
        assert_eq!(e.kind(), ErrorKind::Permission);
        assert!(
            e.message().contains("pg_execute_server_program"),
            "{}",
            e.message()
        );
        assert!(!e.message().contains("pw"));
    }

    #[test]
    fn extension_schemas_are_parsed_not_passed_on() {
        let s = |sql: &str| extension_schema(sql);
        assert_eq!(
            s("CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;\n").as_deref(),
            Some("extensions")
        );
        assert_eq!(
            s("CREATE EXTENSION IF NOT EXISTS x WITH SCHEMA \"My \"\"S\"\"\";").as_deref(),
            Some("My \"S\"")
        );
        assert_eq!(
            s("CREATE EXTENSION IF NOT EXISTS x WITH SCHEMA public; DROP TABLE t;"),
            Some("public".into())
        );
        assert_eq!(
            s("CREATE EXTENSION IF NOT EXISTS x WITH SCHEMA a; b;"),
            Some("a".into())
        );
        assert_eq!(s("CREATE EXTENSION x WITH SCHEMA pg_temp--\n;"), None);
        assert_eq!(s("CREATE EXTENSION x WITH SCHEMA \"a\"b\";"), None);
        assert_eq!(s("CREATE EXTENSION x;"), None);
    }

    #[test]
    fn the_drills_role_is_named_like_its_database() {
        assert_eq!(drill_role_name("ab-12"), "offsite_drill_ab12");
    }
}
