//! Undoing a parallel restore that failed or was cancelled (issue 42, item 3).
//!
//! `pg_restore -j N` cannot run in one transaction, so a directory dump (format 2) restored in
//! parallel into an empty target is made all-or-nothing another way: every member is checked
//! against the manifest before the first row is loaded (see [`super::parallel`]), and when the
//! restore fails or is cancelled, what it created is dropped again, in one transaction:
//!
//! - the backup's relations, routines, types, large objects, event triggers, publications and
//!   the objects dropped by name, found in the target by the replace's clean phase
//!   ([`super::replace::clean_phase`]): the plan proved none of them existed before (the parallel
//!   path runs only when the target meets nothing of the backup), so every one found is the
//!   restore's;
//! - the schemas and extensions of the backup that the target did not have before the restore
//!   (`DROP … CASCADE`), read just before it started;
//! - and what it changed without creating it — grants, owner and comment of a schema the target
//!   had, default privileges — set back as read just before it started ([`super::undo_grants`]).
//!
//! The restore's own sessions (pg_restore's workers, named by `application_name`) are ended
//! first, so that a server still building an index for a killed worker does not hold the drops.
//!
//! A drop the target refuses (someone else's object depending on one the restore made, an event
//! trigger, a lock held past a minute) does not fail the undo whole (issue 63, item 8): each drop
//! runs behind a savepoint, everything else is dropped and committed, and the error names each
//! refused drop with why, and the one command that finishes it.
//!
//! Restoring into a database of its own and renaming it at the end was the other way: it needs
//! the right to create databases, to rename the target (which nobody may be connected to) and
//! loses the target database's own settings, owner and grants. A hosted project (Supabase) allows
//! none of it, so Offsite drops what it created instead.

use super::quote_ident;
use super::replace;
use super::toc::FullToc;
use super::undo_grants::{self, Held};
use crate::error::{Error, Result};
use crate::postgres::conn::ConnSpec;
use sqlx::Connection;
use std::collections::BTreeSet;

/// The `application_name` of a restore's pg_restore sessions (unique per restore).
pub(super) fn session_name() -> String {
    format!(
        "offsite-restore-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// What the target held before the restore: its schemas and extensions, and the privileges a
/// restore can change without creating anything (`None` in a journal written before they were
/// read).
pub(super) struct Before {
    schemas: BTreeSet<String>,
    extensions: BTreeSet<String>,
    held: Option<Held>,
}

impl Before {
    /// As a journal records it (with the restore's `session`).
    pub(super) fn to_undo(&self, session: &str) -> super::ParallelUndo {
        super::ParallelUndo {
            schemas: self.schemas.iter().cloned().collect(),
            extensions: self.extensions.iter().cloned().collect(),
            session: session.to_string(),
            privileges: self.held.clone(),
        }
    }

    /// Back from a journal.
    pub(super) fn from_undo(undo: &super::ParallelUndo) -> Before {
        Before {
            schemas: undo.schemas.iter().cloned().collect(),
            extensions: undo.extensions.iter().cloned().collect(),
            held: undo.privileges.clone(),
        }
    }

    pub(super) async fn read(spec: &ConnSpec, password: Option<&str>) -> Result<Before> {
        let mut conn = spec.connect(password).await?;
        let schemas = sqlx::query_scalar::<_, String>("SELECT nspname::text FROM pg_namespace")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| spec.map_sqlx(e))?;
        let extensions = sqlx::query_scalar::<_, String>("SELECT extname::text FROM pg_extension")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| spec.map_sqlx(e))?;
        let held = Held::read(&mut conn, spec).await?;
        let _ = conn.close().await;
        Ok(Before {
            schemas: schemas.into_iter().collect(),
            extensions: extensions.into_iter().collect(),
            held: Some(held),
        })
    }
}

/// Drop what a failed or cancelled parallel restore of `toc` created in the target (which held
/// `before` and none of the backup's objects), in one transaction. `sessions`: the restore's
/// `application_name`, whose leftover sessions are ended first.
pub(super) async fn undo(
    spec: &ConnSpec,
    password: Option<&str>,
    toc: &FullToc,
    before: &Before,
    sessions: &str,
) -> Result<()> {
    let mut conn = spec.connect(password).await?;
    if let Err(e) = end_sessions(&mut conn, spec, sessions).await {
        // The drops then wait for those sessions' locks.
        tracing::warn!("restore: ending the failed restore's sessions: {e}");
    }
    let entries = replace::entries_of(toc, &BTreeSet::new());
    // The target held none of the backup's objects: whatever of them it has now, the restore made.
    let facts = super::script::read_facts(&mut conn, spec, toc).await?;
    let clean = replace::clean_phase(&mut conn, spec, &entries, &facts).await?;
    let mut statements = clean.drops;
    for item in &toc.items {
        match item.desc {
            "EXTENSION" if !before.extensions.contains(&item.tag) => statements.push(format!(
                "DROP EXTENSION IF EXISTS {} CASCADE;",
                quote_ident(&item.tag)
            )),
            "SCHEMA" if !before.schemas.contains(&item.tag) => statements.push(format!(
                "DROP SCHEMA IF EXISTS {} CASCADE;",
                quote_ident(&item.tag)
            )),
            _ => {}
        }
    }
    let mut left = drop_all_it_can(&mut conn, spec, &statements).await?;
    let mut all = statements.len();
    if let Some(held) = &before.held {
        let (changes, refused) = put_back(&mut conn, spec, held).await?;
        all += changes;
        left.extend(refused);
    }
    let _ = conn.close().await;
    if left.is_empty() {
        return Ok(());
    }
    Err(blocked(spec, all, &left))
}

/// Set back what the restore changed on what the target had (`before`): each change behind a
/// savepoint, then the target read again — a statement the server took without effect (a grant
/// made by another role is not this session's to revoke) is said with the refused ones.
/// Returns how many changes it made and those left, with why.
async fn put_back(
    conn: &mut sqlx::PgConnection,
    spec: &ConnSpec,
    before: &Held,
) -> Result<(usize, Vec<(String, String)>)> {
    let now = Held::read(conn, spec).await?;
    let back = undo_grants::statements_back(conn, spec, before, &now).await?;
    if back.is_empty() {
        return Ok((0, Vec::new()));
    }
    let mut left = drop_all_it_can(conn, spec, &back).await?;
    let again = Held::read(conn, spec).await?;
    for sql in undo_grants::statements_back(conn, spec, before, &again).await? {
        if !left.iter().any(|(l, _)| *l == sql) {
            left.push((
                sql,
                "it ran but changed nothing: another role granted it, and only that role (or one \
                 with administrator rights) can take it back"
                    .to_string(),
            ));
        }
    }
    Ok((back.len(), left))
}

/// Run every statement in one transaction, each behind a savepoint: a statement the target
/// refuses (a dependent object of someone else's, an event trigger, a lock held too long) is
/// rolled back alone and the others still run — then the refused ones once more (what blocked
/// one may have gone with a later one). Returns those still refused, with why.
async fn drop_all_it_can(
    conn: &mut sqlx::PgConnection,
    spec: &ConnSpec,
    statements: &[String],
) -> Result<Vec<(String, String)>> {
    let mut tx = conn.begin().await.map_err(|e| spec.map_sqlx(e))?;
    // A drop waiting on another session's lock is said, not waited on for ever.
    sqlx::query("SET LOCAL lock_timeout = '60s'")
        .execute(&mut *tx)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    let mut pending: Vec<String> = statements.to_vec();
    let mut left = Vec::new();
    for _round in 0..2 {
        left.clear();
        for sql in &pending {
            sqlx::query("SAVEPOINT offsite_undo")
                .execute(&mut *tx)
                .await
                .map_err(|e| spec.map_sqlx(e))?;
            match sqlx::query(sql).execute(&mut *tx).await {
                Ok(_) => {}
                Err(e) => {
                    let why = spec.map_sqlx(e).message().to_string();
                    sqlx::query("ROLLBACK TO SAVEPOINT offsite_undo")
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| spec.map_sqlx(e))?;
                    left.push((sql.clone(), why));
                }
            }
            sqlx::query("RELEASE SAVEPOINT offsite_undo")
                .execute(&mut *tx)
                .await
                .map_err(|e| spec.map_sqlx(e))?;
        }
        if left.is_empty() || left.len() == pending.len() {
            break;
        }
        pending = left.iter().map(|(s, _)| s.clone()).collect();
    }
    tx.commit().await.map_err(|e| spec.map_sqlx(e))?;
    Ok(left)
}

/// The error of an undo that dropped all it could but `left`: each statement and why it was
/// refused, and the one command that finishes it once what blocks it is gone.
fn blocked(spec: &ConnSpec, all: usize, left: &[(String, String)]) -> Error {
    let list: Vec<String> = left
        .iter()
        .map(|(sql, why)| format!("`{}` ({why})", sql.trim_end_matches(';')))
        .collect();
    let sql: Vec<&str> = left.iter().map(|(s, _)| s.as_str()).collect();
    Error::new(
        crate::error::ErrorKind::Conflict,
        format!(
            "{} of the {all} drops and changes back were done; the target refused {}: {}",
            all - left.len(),
            left.len(),
            list.join("; ")
        ),
    )
    .with_hint(format!(
        "once what refused it is gone, finish with: psql {} -c {}",
        shell_word(&spec.to_url()),
        shell_word(&sql.join(" "))
    ))
}

/// `s` as one word of a shell command (single-quoted when it needs it).
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@=+,%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// End the sessions named `name` (a killed pg_restore's server sessions, which may still be
/// running a statement), and wait until they are gone.
async fn end_sessions(conn: &mut sqlx::PgConnection, spec: &ConnSpec, name: &str) -> Result<()> {
    const LEFT: &str = "SELECT count(*) FROM pg_stat_activity \
        WHERE application_name = $1 AND pid <> pg_backend_pid()";
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .execute(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?;
    for _ in 0..100 {
        let left: i64 = sqlx::query_scalar(LEFT)
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| spec.map_sqlx(e))?;
        if left == 0 {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(Error::internal(
        "the restore's pg_restore sessions did not end within 5 seconds",
    ))
}
