//! A scratch server the user names (a container, a dev server): the drill creates its own
//! database `offsite_drill_<id>` there, restores into it, checks it and drops it. A server where
//! that database already exists, or whose role cannot create databases, is refused before
//! anything is changed. The URL's password is used to connect and nowhere else: what reports,
//! the catalog and logs see is [`ScratchServer::location`] (host, port, database).

use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::{ConnSpec, TlsMode};
use sqlx::Connection;

/// The database name a drill `drill_id` restores into.
pub fn drill_database_name(drill_id: &str) -> String {
    let id: String = drill_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(40)
        .collect::<String>()
        .to_ascii_lowercase();
    format!("offsite_drill_{id}")
}

/// A server a drill creates its database on (the throwaway cluster's, or a scratch server).
#[derive(Clone)]
pub struct ScratchServer {
    /// The maintenance connection (the URL's database, `postgres` when it names none).
    pub spec: ConnSpec,
    pub password: Option<String>,
}

impl std::fmt::Debug for ScratchServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScratchServer")
            .field("spec", &self.spec)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ScratchServer {
    /// The server of a URL (`postgres://USER[:PASSWORD]@HOST:PORT/DB`).
    pub fn parse(url: &str, tls: Option<TlsMode>) -> Result<ScratchServer> {
        let (mut spec, password) = ConnSpec::parse_url(url)?;
        if let Some(t) = tls {
            spec.tls = t;
        }
        spec.validate()?;
        Ok(ScratchServer { spec, password })
    }

    /// Where the drill's database is, for reports: `host:port/db` (no user, no password).
    pub fn location(&self, database: &str) -> String {
        if self.spec.is_socket() {
            format!("private socket/{database}")
        } else {
            format!("{}/{database}", self.spec.location())
        }
    }

    /// The drill database's connection.
    pub fn spec_of(&self, database: &str) -> ConnSpec {
        self.spec.with_database(database)
    }

    /// Refuse a server where `database` exists or the role cannot create databases; then
    /// create it. Returns the server's version ("15.18").
    pub async fn create(&self, database: &str) -> Result<String> {
        let mut conn = self.spec.connect(self.password.as_deref()).await?;
        let (can_create, version): (bool, String) = sqlx::query_as(
            "SELECT rolcreatedb OR rolsuper, current_setting('server_version') \
             FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(|e| self.spec.map_sqlx(e))?;
        if !can_create {
            return Err(Error::new(
                ErrorKind::Permission,
                format!(
                    "the role {} on {} cannot create databases: a drill creates its own database there",
                    self.spec.user,
                    self.spec.location()
                ),
            )
            .with_hint("connect as a role with CREATEDB (ALTER ROLE … CREATEDB), or drill into Offsite's throwaway cluster (leave out --server)"));
        }
        self.refuse_existing(&mut conn, database).await?;
        sqlx::query(&format!("CREATE DATABASE {}", quote_ident(database)))
            .execute(&mut conn)
            .await
            .map_err(|e| self.spec.map_sqlx(e))?;
        let _ = conn.close().await;
        Ok(version)
    }

    /// Refuse a server where `database` already exists (a drill only restores into a database
    /// it creates).
    pub(crate) async fn refuse_existing(
        &self,
        conn: &mut sqlx::PgConnection,
        database: &str,
    ) -> Result<()> {
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(database)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|e| self.spec.map_sqlx(e))?;
        if exists.is_some() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "the database {database} already exists on {}: a drill only restores into a database it creates",
                    self.spec.location()
                ),
            )
            .with_hint("drop it if it is a leftover of an earlier drill, or name another server"));
        }
        Ok(())
    }

    /// Drop the drill's database (its connections ended first).
    pub async fn drop_database(&self, database: &str) -> Result<()> {
        let mut conn = self.spec.connect(self.password.as_deref()).await?;
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(database)
        .execute(&mut conn)
        .await;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {}",
            quote_ident(database)
        ))
        .execute(&mut conn)
        .await
        .map_err(|e| self.spec.map_sqlx(e))?;
        let _ = conn.close().await;
        Ok(())
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_safe_and_short() {
        let n = drill_database_name("0f8e-41aa-\"; drop");
        assert_eq!(n, "offsite_drill_0f8e41aadrop");
        let n = drill_database_name(&"a".repeat(200));
        assert!(n.len() <= 63, "{n}");
    }

    #[test]
    fn the_password_stays_out_of_debug_and_location() {
        let s =
            ScratchServer::parse("postgres://u:s3cret@db.example.com:5433/postgres", None).unwrap();
        assert!(!format!("{s:?}").contains("s3cret"));
        assert_eq!(s.location("x"), "db.example.com:5433/x");
    }
}
