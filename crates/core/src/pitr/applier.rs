//! The replay's batch applier in the target session: the replay's own statements (identifiers
//! quoted by the replay, never a value) run with their row parameters, in order, many in one
//! round trip, each with a plan kept for the session.
//!
//! Measured (docs/benchmarks.md, pgbench, 2 cores): a statement a round trip spent most of the
//! replay waiting for answers; a batch run by PL/pgSQL's `EXECUTE` made the target's backend the
//! bottleneck instead (each statement parsed and planned again: ≈ 89 µs an update, 68 of them
//! planning). So each distinct statement becomes a temporary PL/pgSQL function of its own whose
//! body is that statement — PL/pgSQL keeps its plan (generic: `plan_cache_mode` is set for the
//! session) — and the batch calls those functions (≈ 27 µs an update). The replay bench went
//! from 7,058 changes/s (a statement a round trip) to 10,835 (batches by `EXECUTE`) to 26,004.
//!
//! Everything is temporary (`pg_temp`): nothing is left in the target when the session ends. A
//! statement's text reaches `CREATE FUNCTION` only as a parameter quoted by the server itself
//! (`format('%L')`), never spliced into SQL text here. A role that may not make temporary
//! functions gets none of this: the replay then sends a statement a round trip.

use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::ConnSpec;
use sqlx::PgConnection;
use std::collections::HashMap;

/// The session's functions: `offsite_define` makes a statement's function (its body passed as
/// a parameter and quoted by the server); `offsite_apply` runs a batch: by function where the
/// statement has one, else the statement's text by `EXECUTE`.
const SETUP: [&str; 3] = [
    "SET plan_cache_mode = force_generic_plan",
    "CREATE FUNCTION pg_temp.offsite_define(name text, body text) RETURNS void \
     LANGUAGE plpgsql AS $f$ BEGIN \
     EXECUTE pg_catalog.format('CREATE FUNCTION pg_temp.%I(jsonb, jsonb) RETURNS void LANGUAGE plpgsql AS %L', \
     name, '#variable_conflict use_column' || pg_catalog.chr(10) || 'BEGIN ' || body || '; END'); END $f$",
    "CREATE FUNCTION pg_temp.offsite_apply(fns text[], stmts text[], a1 jsonb[], a2 jsonb[]) \
     RETURNS void LANGUAGE plpgsql AS $f$ BEGIN \
     FOR i IN 1 .. coalesce(pg_catalog.array_length(fns, 1), 0) LOOP \
     IF fns[i] <> '' THEN EXECUTE pg_catalog.format('SELECT pg_temp.%I($1, $2)', fns[i]) USING a1[i], a2[i]; \
     ELSE EXECUTE stmts[i] USING a1[i], a2[i]; END IF; END LOOP; END $f$",
];

/// Statements, or bytes of their parameters, held before a batch is sent.
const PENDING_MAX: usize = 128;
const PENDING_MAX_BYTES: usize = 4 << 20;
/// Distinct statements given a function of their own; later ones run by `EXECUTE`.
const FUNCTIONS_MAX: usize = 1000;

/// The applier of one target session.
#[derive(Debug, Default)]
pub(crate) struct Applier {
    /// Statement text → its function's name (made in a committed target transaction).
    functions: HashMap<String, String>,
    /// Defined in the target's open transaction, not yet committed.
    uncommitted: Vec<String>,
    /// Functions made so far (names are never used twice).
    made: usize,
    pending: Vec<(String, Vec<serde_json::Value>)>,
    pending_bytes: usize,
}

impl Applier {
    /// Make the session's functions; `None` when the role may not (nothing is left made).
    pub(crate) async fn set_up(conn: &mut PgConnection) -> Option<Applier> {
        for (i, sql) in SETUP.iter().enumerate() {
            if sqlx::query(sql).execute(&mut *conn).await.is_err() {
                if i > 0 {
                    let _ = sqlx::query("RESET plan_cache_mode")
                        .execute(&mut *conn)
                        .await;
                }
                return None;
            }
        }
        Some(Applier::default())
    }

    /// Whether no statement is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Hold a statement; the batch is sent when it is full (`trips` counts the round trips).
    pub(crate) async fn push(
        &mut self,
        conn: &mut PgConnection,
        spec: &ConnSpec,
        sql: String,
        args: Vec<serde_json::Value>,
        trips: &mut u64,
    ) -> Result<()> {
        self.pending_bytes += args.iter().map(json_size).sum::<usize>();
        self.pending.push((sql, args));
        if self.pending.len() >= PENDING_MAX || self.pending_bytes >= PENDING_MAX_BYTES {
            self.flush(conn, spec, trips).await?;
        }
        Ok(())
    }

    /// Send what is held: first a function for each statement new to the session (while there
    /// is room), then the batch, in order, in one round trip.
    pub(crate) async fn flush(
        &mut self,
        conn: &mut PgConnection,
        spec: &ConnSpec,
        trips: &mut u64,
    ) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let held = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let mut fns = Vec::with_capacity(held.len());
        let mut stmts = Vec::with_capacity(held.len());
        let mut a1 = Vec::with_capacity(held.len());
        let mut a2 = Vec::with_capacity(held.len());
        for (sql, args) in held {
            let name = self.function_of(conn, spec, &sql, trips).await?;
            let mut args = args.into_iter();
            stmts.push(if name.is_empty() { sql } else { String::new() });
            fns.push(name);
            a1.push(sqlx::types::Json(args.next().unwrap_or_default()));
            a2.push(sqlx::types::Json(args.next().unwrap_or_default()));
        }
        *trips += 1;
        sqlx::query("SELECT pg_temp.offsite_apply($1, $2, $3, $4)")
            .bind(fns)
            .bind(stmts)
            .bind(a1)
            .bind(a2)
            .execute(&mut *conn)
            .await
            .map_err(|e| replay_failed(spec, e))?;
        Ok(())
    }

    /// The function that runs `sql` (made now if it is new and there is room), or "" (run it
    /// by `EXECUTE`).
    async fn function_of(
        &mut self,
        conn: &mut PgConnection,
        spec: &ConnSpec,
        sql: &str,
        trips: &mut u64,
    ) -> Result<String> {
        if let Some(name) = self.functions.get(sql) {
            return Ok(name.clone());
        }
        if self.functions.len() >= FUNCTIONS_MAX {
            return Ok(String::new());
        }
        self.made += 1;
        let name = format!("offsite_s{}", self.made);
        *trips += 1;
        sqlx::query("SELECT pg_temp.offsite_define($1, $2)")
            .bind(&name)
            .bind(sql)
            .execute(&mut *conn)
            .await
            .map_err(|e| replay_failed(spec, e))?;
        self.functions.insert(sql.to_string(), name.clone());
        self.uncommitted.push(sql.to_string());
        Ok(name)
    }

    /// The target's transaction committed: the functions made in it stay.
    pub(crate) fn committed(&mut self) {
        self.uncommitted.clear();
    }

    /// The target's transaction rolled back: what was held is dropped, and so are the
    /// functions made in it (the rollback took them).
    pub(crate) fn rolled_back(&mut self) {
        self.pending.clear();
        self.pending_bytes = 0;
        for sql in self.uncommitted.drain(..) {
            self.functions.remove(&sql);
        }
    }
}

/// A statement the target refused, or a connection lost, while replaying.
pub(crate) fn replay_failed(spec: &ConnSpec, e: sqlx::Error) -> Error {
    Error::new(
        ErrorKind::ValidationFailed,
        format!(
            "replaying a captured change failed: {}",
            spec.map_sqlx(e).message()
        ),
    )
}

/// About how many bytes a parameter takes (its text's length; the parts of objects and arrays).
fn json_size(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::String(s) => s.len() + 2,
        serde_json::Value::Array(a) => a.iter().map(json_size).sum::<usize>() + 2,
        serde_json::Value::Object(m) => {
            m.iter()
                .map(|(k, v)| k.len() + 3 + json_size(v))
                .sum::<usize>()
                + 2
        }
        _ => 8,
    }
}
