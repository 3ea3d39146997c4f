//! The target's user triggers while a recovery (or its undo) writes: they do not fire, so the
//! rows written are the backup's (or the undo file's) exactly — a trigger setting `created_at`
//! to now, or `created_by` from the session (NULL for Offsite), would rewrite them; one
//! refusing a row would refuse the recovery.
//!
//! Inside the write's transaction, in this order:
//! 1. `SET LOCAL session_replication_role = replica` where the role may (a superuser, or on
//!    PostgreSQL 15 a role granted `SET` on that parameter): triggers enabled as `ORIGIN` (the
//!    default) do not fire; those enabled `ALWAYS` or `REPLICA` would, so they are disabled by
//!    name as in 2. This stops the foreign keys' own triggers too: the caller checks the
//!    written rows' foreign keys itself ([`super::fkcheck`]).
//! 2. else `ALTER TABLE … DISABLE TRIGGER name` for each enabled user trigger of each table
//!    written (the table's owner may), enabled again with its own mode before the commit. The
//!    change is the transaction's: no other session ever sees the triggers off, and a rollback
//!    undoes it; the table is locked against other writers (`SHARE ROW EXCLUSIVE`) until the end.
//! 3. else the write is refused, saying why and naming `--fire-triggers`, the one way to write
//!    with the triggers firing.
//!
//! A dry run goes through the same steps inside the transaction it rolls back: it refuses what
//! the real run would refuse.

use super::apply::{db_error, exec};
use super::schema::quote_ident;
use crate::error::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row};

/// How the target's user triggers were kept from firing (or not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum TriggerHandling {
    /// `session_replication_role = replica` for the transaction (and any trigger enabled
    /// `ALWAYS`/`REPLICA` on a written table disabled by name); foreign keys checked by Offsite.
    #[default]
    ReplicaRole,
    /// Each enabled user trigger of a written table disabled by name inside the transaction, and
    /// enabled again before it commits.
    Disabled,
    /// `--fire-triggers`: the target's triggers fired on the written rows.
    Fired,
}

/// One user trigger of a table, as a plan shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TriggerNote {
    pub name: String,
    /// `BEFORE INSERT OR UPDATE, FOR EACH ROW`.
    pub fires: String,
    /// Its function (`schema.name`).
    pub function: String,
    /// What it would have done, where its PL/pgSQL or SQL source says so plainly ("sets
    /// created_at", "may refuse the row"); empty when that is not known.
    pub effects: Vec<String>,
}

/// The enabled user triggers of table `oid`, described.
pub(super) async fn notes(conn: &mut PgConnection, oid: u32) -> Result<Vec<TriggerNote>> {
    let rows = sqlx::query(
        "SELECT t.tgname::text AS name, t.tgtype::int4 AS ty, \
         format('%I.%I', n.nspname, p.proname) AS func, \
         CASE WHEN l.lanname IN ('plpgsql', 'sql') THEN p.prosrc ELSE NULL END AS src \
         FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid \
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
         WHERE t.tgrelid = $1::int8::oid AND NOT t.tgisinternal AND t.tgenabled <> 'D' \
         ORDER BY t.tgname",
    )
    .bind(i64::from(oid))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| db_error("reading the target's triggers", e))?;
    Ok(rows
        .iter()
        .map(|r| {
            let src: Option<String> = r.get("src");
            TriggerNote {
                name: r.get("name"),
                fires: fires(r.get::<i32, _>("ty")),
                function: r.get("func"),
                effects: src.as_deref().map(effects).unwrap_or_default(),
            }
        })
        .collect())
}

/// `tgtype`'s bits in words (PostgreSQL's `pg_trigger.h`).
fn fires(ty: i32) -> String {
    let when = if ty & (1 << 6) != 0 {
        "INSTEAD OF"
    } else if ty & (1 << 1) != 0 {
        "BEFORE"
    } else {
        "AFTER"
    };
    let events: Vec<&str> = [
        (1 << 2, "INSERT"),
        (1 << 4, "UPDATE"),
        (1 << 3, "DELETE"),
        (1 << 5, "TRUNCATE"),
    ]
    .iter()
    .filter(|(bit, _)| ty & bit != 0)
    .map(|(_, e)| *e)
    .collect();
    let each = if ty & 1 != 0 { "ROW" } else { "STATEMENT" };
    format!("{when} {}, FOR EACH {each}", events.join(" OR "))
}

/// What a trigger function's source says it does, read plainly: the columns of `NEW` it
/// assigns, a `RAISE EXCEPTION`, a `RETURN NULL` (a row skipped), writes to other tables. Not a
/// parser: what it cannot tell it leaves out.
pub(super) fn effects(src: &str) -> Vec<String> {
    let low = src.to_ascii_lowercase();
    let b = low.as_bytes();
    let mut set: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(at) = low[i..].find("new.") {
        let start = i + at;
        i = start + 4;
        if start > 0 && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_') {
            continue;
        }
        let (col, end) = ident(src, i);
        let Some(col) = col else { continue };
        let rest = low[end..].trim_start();
        let assigns = rest.starts_with(":=")
            || (rest.starts_with('=') && !rest.starts_with("==") && statement_start(&low[..start]));
        if assigns && !set.contains(&col) && set.len() < 16 {
            set.push(col);
        }
    }
    let mut out: Vec<String> = set.into_iter().map(|c| format!("sets {c}")).collect();
    let words: Vec<&str> = low
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let has = |a: &str, b: &str| words.windows(2).any(|w| w[0] == a && w[1] == b);
    if has("raise", "exception") {
        out.push("may refuse the row".into());
    }
    if has("return", "null") {
        out.push("may skip the row".into());
    }
    if has("insert", "into")
        || has("delete", "from")
        || words.windows(3).any(|w| w[0] == "update" && w[2] == "set")
    {
        out.push("writes other rows".into());
    }
    out
}

/// The identifier at byte `i` of `src` (bare or quoted), and where it ends.
fn ident(src: &str, i: usize) -> (Option<String>, usize) {
    let b = src.as_bytes();
    if b.get(i) == Some(&b'"') {
        let mut j = i + 1;
        let mut s = String::new();
        while j < b.len() {
            if b[j] == b'"' {
                if b.get(j + 1) == Some(&b'"') {
                    s.push('"');
                    j += 2;
                    continue;
                }
                return ((!s.is_empty() && s.len() <= 63).then_some(s), j + 1);
            }
            let c = src[j..].chars().next().unwrap_or('"');
            s.push(c);
            j += c.len_utf8();
        }
        return (None, j);
    }
    let mut j = i;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$') {
        j += 1;
    }
    let s = src[i..j].to_ascii_lowercase();
    ((!s.is_empty() && s.len() <= 63).then_some(s), j)
}

/// Whether the text before a `NEW.x =` ends a statement (so `=` assigns, not compares).
fn statement_start(before: &str) -> bool {
    let t = before.trim_end();
    if t.is_empty() || t.ends_with(';') || t.ends_with("$$") {
        return true;
    }
    let last = t
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    matches!(last, "begin" | "then" | "else" | "loop")
}

/// A table the write touches: `"schema"."table"`.
pub(super) struct Quieted {
    pub handling: TriggerHandling,
    /// Triggers disabled by name (`table`, `name`, their `tgenabled`), to enable again.
    disabled: Vec<(String, String, String)>,
}

/// Keeps the user triggers of `tables` from firing for the rest of the open transaction (see
/// the module's text), or refuses; `fire`: `--fire-triggers`, nothing done. `what` names the
/// write for the refusal ("recovering", "undoing the recovery").
pub(super) async fn quiet(
    conn: &mut PgConnection,
    tables: &[String],
    fire: bool,
    what: &str,
) -> Result<Quieted> {
    let mut q = Quieted {
        handling: TriggerHandling::Fired,
        disabled: Vec::new(),
    };
    if fire {
        return Ok(q);
    }
    exec(conn, "preparing the triggers", "SAVEPOINT offsite_replica").await?;
    let replica = exec(
        conn,
        "setting session_replication_role",
        "SET LOCAL session_replication_role = replica",
    )
    .await;
    let (handling, which) = match replica {
        Ok(_) => {
            exec(
                conn,
                "preparing the triggers",
                "RELEASE SAVEPOINT offsite_replica",
            )
            .await?;
            // ALWAYS and REPLICA triggers fire under the replica role: they go by name.
            (TriggerHandling::ReplicaRole, "t.tgenabled IN ('A', 'R')")
        }
        Err(_) => {
            exec(
                conn,
                "preparing the triggers",
                "ROLLBACK TO SAVEPOINT offsite_replica; RELEASE SAVEPOINT offsite_replica",
            )
            .await?;
            (TriggerHandling::Disabled, "t.tgenabled <> 'D'")
        }
    };
    q.handling = handling;
    for table in tables {
        let names: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT t.tgname::text, t.tgenabled::text FROM pg_catalog.pg_trigger t \
             WHERE t.tgrelid = $1::regclass AND NOT t.tgisinternal AND {which} ORDER BY 1"
        ))
        .bind(table)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error("reading the target's triggers", e))?;
        for (name, mode) in names {
            let sql = format!("ALTER TABLE {table} DISABLE TRIGGER {}", quote_ident(&name));
            exec(conn, "preparing the triggers", "SAVEPOINT offsite_disable").await?;
            if let Err(e) = exec(conn, "disabling a trigger", &sql).await {
                let _ = exec(
                    conn,
                    "preparing the triggers",
                    "ROLLBACK TO SAVEPOINT offsite_disable",
                )
                .await;
                return Err(refusal(conn, table, &name, what, e).await);
            }
            exec(
                conn,
                "preparing the triggers",
                "RELEASE SAVEPOINT offsite_disable",
            )
            .await?;
            q.disabled.push((table.clone(), name, mode));
        }
    }
    Ok(q)
}

async fn refusal(conn: &mut PgConnection, table: &str, name: &str, what: &str, e: Error) -> Error {
    let role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|_| "this role".into());
    Error::new(
        ErrorKind::Permission,
        format!(
            "{what} would let the target's trigger {} on {table} fire and change or refuse the \
             rows written; role {} may neither set session_replication_role nor disable that \
             trigger ({}); nothing was written",
            quote_ident(name),
            quote_ident(&role),
            e.message()
        ),
    )
    .with_hint(
        "connect as the table's owner or a superuser (or, on PostgreSQL 15 and later, GRANT SET ON \
         PARAMETER session_replication_role to this role); or pass --fire-triggers to write with \
         the target's triggers firing (the rows written may then differ from the backup's)",
    )
}

impl Quieted {
    /// The triggers disabled by name enabled again, each with its own mode, before the commit.
    pub async fn restore(&self, conn: &mut PgConnection) -> Result<()> {
        if self.disabled.is_empty() {
            return Ok(());
        }
        // A table with trigger events still pending (a deferred foreign key's checks, queued for
        // the commit) cannot be altered: they run now, as the commit would run them.
        exec(
            conn,
            "checking the deferred constraints",
            "SET CONSTRAINTS ALL IMMEDIATE",
        )
        .await?;
        for (table, name, mode) in &self.disabled {
            let how = match mode.as_str() {
                "A" => "ENABLE ALWAYS TRIGGER",
                "R" => "ENABLE REPLICA TRIGGER",
                _ => "ENABLE TRIGGER",
            };
            exec(
                conn,
                "enabling a trigger again",
                &format!("ALTER TABLE {table} {how} {}", quote_ident(name)),
            )
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_functions_source_says_what_it_sets() {
        let src = "BEGIN NEW.created_at := now(); NEW.updated_at = now();\n\
                   IF NEW.title = '' THEN RAISE EXCEPTION 'empty'; END IF;\n\
                   new.\"Created By\" := current_setting('request.jwt.claim.sub', true); RETURN NEW; END";
        assert_eq!(
            effects(src),
            vec![
                "sets created_at",
                "sets updated_at",
                "sets Created By",
                "may refuse the row"
            ]
        );
        assert_eq!(
            effects("BEGIN INSERT INTO audit VALUES (NEW.id); RETURN NULL; END"),
            vec!["may skip the row", "writes other rows"]
        );
        assert!(effects("BEGIN RETURN NEW; END").is_empty());
        assert!(effects("SELECT renew.x = 1").is_empty());
    }

    #[test]
    fn trigger_types_read_as_sql() {
        assert_eq!(
            fires(1 | 2 | 4 | 16),
            "BEFORE INSERT OR UPDATE, FOR EACH ROW"
        );
        assert_eq!(fires(8), "AFTER DELETE, FOR EACH STATEMENT");
    }
}
