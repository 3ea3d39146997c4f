//! A fold's effects applied to the target ([`super::fold`]): per table, the rows go by `COPY`
//! into temporary tables made from the table's own columns (so each value is read by its
//! column's input function, as a subscriber reads it), then one `DELETE … USING`, one
//! `UPDATE … FROM` and one `INSERT … SELECT` join them to the table by its key — all behind a
//! savepoint. Identifiers are quoted and the temporary tables' names are the replay's own
//! (`pg_temp.offsite_fold_rows_N`, `…_keys_N`); no value is ever part of the SQL text.
//!
//! The temporary tables are made in the target transaction with `ON COMMIT DROP`: nothing is
//! left when it ends, committed or not.

use super::applier::replay_failed;
use super::fold::{copy_line, Fold, TableFold};
use crate::error::Result;
use crate::pgoutput::{Relation, Value};
use crate::postgres::conn::ConnSpec;
use crate::postgres::restore::quote_ident;
use sqlx::{Executor, PgConnection};
use std::collections::HashMap;

/// The temporary tables made in the target's open transaction, by relation.
#[derive(Debug, Default)]
pub(crate) struct Temps {
    made: HashMap<u32, (Relation, u64)>,
    next: u64,
}

impl Temps {
    /// The target transaction ended (committed or rolled back): its temporary tables are gone.
    pub(crate) fn ended(&mut self) {
        self.made.clear();
    }
}

/// How applying a fold went.
pub(crate) enum Applied {
    Done,
    /// The target refused the set-based statements (a unique value moved between rows, a
    /// foreign key checked in between, a change it refuses in any order): rolled back to the
    /// savepoint, the held changes are to be applied one by one — which gives the sequence's
    /// own result, or its own error, the one a user is shown.
    Refused,
    /// The temporary tables could not be made (a role without `TEMP`): rolled back to the
    /// savepoint; the replay goes change by change from now on.
    Unavailable,
}

const SAVEPOINT: &str = "offsite_fold";

/// Whether the changes to `table` (quoted) may be folded: not when the target table has a
/// trigger that fires during a replay (`ENABLE ALWAYS` or `ENABLE REPLICA`: folded, it would
/// fire once per key instead of once per change) or a rule (which rewrites each statement).
/// `false` when it cannot be learnt.
pub(crate) async fn may_fold(conn: &mut PgConnection, table: &str) -> bool {
    sqlx::query_scalar::<_, bool>(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = c.oid \
           AND NOT tgisinternal AND tgenabled IN ('A', 'R')) \
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite WHERE ev_class = c.oid) \
         FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)",
    )
    .bind(table)
    .fetch_optional(&mut *conn)
    .await
    .ok()
    .flatten()
    .unwrap_or(false)
}

/// Apply `fold`'s effects behind a savepoint; `trips` counts the round trips.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    fold: &Fold,
    temps: &mut Temps,
    trips: &mut u64,
) -> Result<Applied> {
    // The tables' temporary tables, made (or made again for a new description) in the
    // savepoint's first round trip.
    let mut sql = format!("SAVEPOINT {SAVEPOINT};");
    let mut new = Vec::new();
    let mut names = Vec::with_capacity(fold.tables.len());
    for t in &fold.tables {
        let n = match temps.made.get(&t.relation.oid) {
            Some((r, n)) if *r == t.relation => *n,
            _ => {
                temps.next += 1;
                let n = temps.next;
                sql.push_str(&create_temps(t, n));
                new.push((t.relation.clone(), n));
                n
            }
        };
        names.push(n);
    }
    *trips += 1;
    if let Err(e) = conn.execute(sqlx::raw_sql(&sql)).await {
        // The savepoint itself is made by the first statement: roll back to it when it is.
        let _ = conn
            .execute(sqlx::raw_sql(&format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}")))
            .await;
        return match e.as_database_error() {
            Some(_) => Ok(Applied::Unavailable),
            None => Err(replay_failed(spec, e)),
        };
    }
    match run(conn, fold, &names, trips).await {
        Ok(()) => {
            for (r, n) in new {
                temps.made.insert(r.oid, (r, n));
            }
            Ok(Applied::Done)
        }
        Err(e) => {
            *trips += 1;
            conn.execute(sqlx::raw_sql(&format!(
                "ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}"
            )))
            .await
            .map_err(|e2| replay_failed(spec, e2))?;
            match e.as_database_error() {
                Some(_) => Ok(Applied::Refused),
                None => Err(replay_failed(spec, e)),
            }
        }
    }
}

/// The rows to `COPY` and the statements, then the savepoint released.
async fn run(
    conn: &mut PgConnection,
    fold: &Fold,
    names: &[u64],
    trips: &mut u64,
) -> std::result::Result<(), sqlx::Error> {
    let mut statements = String::new();
    for (t, &n) in fold.tables.iter().zip(names) {
        let fx = t.effects();
        if !fx.deletes.is_empty() {
            let mut data = Vec::new();
            for k in &fx.deletes {
                copy_line(&mut data, None, 0, k.iter());
            }
            copy(
                conn,
                &format!("COPY pg_temp.offsite_fold_keys_{n} FROM STDIN"),
                &data,
            )
            .await?;
            *trips += 1;
            statements.push_str(&delete(t, n));
        }
        if !fx.updates.is_empty() || !fx.inserts.is_empty() {
            // Updates by the columns they set (a partial row leaves its unchanged ones out):
            // a group number each, and an UPDATE each.
            let mut groups: Vec<Vec<bool>> = Vec::new();
            let mut data = Vec::new();
            for r in &fx.updates {
                let sent: Vec<bool> = r.iter().map(|v| *v != Value::Unchanged).collect();
                let g = match groups.iter().position(|s| *s == sent) {
                    Some(g) => g,
                    None => {
                        groups.push(sent);
                        groups.len() - 1
                    }
                };
                copy_line(&mut data, Some(b'u'), g, r.iter());
            }
            for r in &fx.inserts {
                copy_line(&mut data, Some(b'i'), 0, r.iter());
            }
            copy(
                conn,
                &format!("COPY pg_temp.offsite_fold_rows_{n} FROM STDIN"),
                &data,
            )
            .await?;
            *trips += 1;
            for (g, sent) in groups.iter().enumerate() {
                statements.push_str(&update(t, n, g, sent));
            }
            if !fx.inserts.is_empty() {
                statements.push_str(&insert(t, n));
            }
        }
        statements.push_str(&format!(
            "TRUNCATE pg_temp.offsite_fold_rows_{n}, pg_temp.offsite_fold_keys_{n};"
        ));
    }
    // A join to a table of a few thousand keys by its key: an index probe per key (the
    // planner, with no statistics on the temporary tables, may guess a hash join over a
    // scan of the whole table instead).
    *trips += 1;
    conn.execute(sqlx::raw_sql(&format!(
        "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; {statements} \
         RESET enable_hashjoin; RESET enable_mergejoin; RELEASE SAVEPOINT {SAVEPOINT}"
    )))
    .await?;
    Ok(())
}

async fn copy(conn: &mut PgConnection, statement: &str, data: &[u8]) -> sqlx::Result<()> {
    let mut c = conn.copy_in_raw(statement).await?;
    for chunk in data.chunks(1 << 20) {
        c.send(chunk).await?;
    }
    c.finish().await?;
    Ok(())
}

fn table(r: &Relation) -> String {
    format!("{}.{}", quote_ident(&r.namespace), quote_ident(&r.name))
}

/// The temporary tables of one table: its rows (`op`, an update's group `g`, then a column
/// `fI` for each of its columns, of that column's type) and its keys (`fI` for each key
/// column).
fn create_temps(t: &TableFold, n: u64) -> String {
    let r = &t.relation;
    let cols = |idx: &mut dyn Iterator<Item = usize>| {
        idx.map(|i| format!("t.{} AS f{i}", quote_ident(&r.columns[i].name)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let all = cols(&mut (0..r.columns.len()));
    let key = cols(&mut t.key.iter().copied());
    let from = table(r);
    format!(
        "CREATE TEMP TABLE pg_temp.offsite_fold_rows_{n} ON COMMIT DROP AS \
         SELECT NULL::pg_catalog.\"char\" AS op, NULL::pg_catalog.int4 AS g, {all} \
         FROM {from} t WITH NO DATA; \
         CREATE TEMP TABLE pg_temp.offsite_fold_keys_{n} ON COMMIT DROP AS \
         SELECT {key} FROM {from} t WITH NO DATA;"
    )
}

fn key_match(t: &TableFold, alias: &str) -> String {
    t.key
        .iter()
        .map(|&i| {
            format!(
                "o.{} = {alias}.f{i}",
                quote_ident(&t.relation.columns[i].name)
            )
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn delete(t: &TableFold, n: u64) -> String {
    format!(
        "DELETE FROM {} o USING pg_temp.offsite_fold_keys_{n} k WHERE {};",
        table(&t.relation),
        key_match(t, "k")
    )
}

/// The rows of group `g`: every column but the key's (equal by the join) and those `sent`
/// leaves out, set from the row; nothing when that leaves none.
fn update(t: &TableFold, n: u64, g: usize, sent: &[bool]) -> String {
    let r = &t.relation;
    let set: Vec<String> = (0..r.columns.len())
        .filter(|&i| !t.key.contains(&i) && sent.get(i) == Some(&true))
        .map(|i| format!("{} = r.f{i}", quote_ident(&r.columns[i].name)))
        .collect();
    if set.is_empty() {
        return String::new();
    }
    format!(
        "UPDATE {} o SET {} FROM pg_temp.offsite_fold_rows_{n} r WHERE r.op = 'u' AND r.g = {g} AND {};",
        table(r),
        set.join(", "),
        key_match(t, "r")
    )
}

/// The rows inserted as they were, identity columns too (`OVERRIDING SYSTEM VALUE`).
fn insert(t: &TableFold, n: u64) -> String {
    let r = &t.relation;
    let cols: Vec<String> = r.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let from: Vec<String> = (0..r.columns.len()).map(|i| format!("f{i}")).collect();
    format!(
        "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM pg_temp.offsite_fold_rows_{n} WHERE op = 'i';",
        table(r),
        cols.join(", "),
        from.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgoutput::{Column, Message};

    #[test]
    fn statements_quote_every_name_and_hold_no_value() {
        let r = Relation {
            oid: 1,
            namespace: "we\"ird".into(),
            name: "t'; DROP TABLE x; --".into(),
            replica_identity: b'd',
            columns: vec![
                Column {
                    key: true,
                    name: "i\"d".into(),
                    type_oid: 23,
                    type_modifier: -1,
                },
                Column {
                    key: false,
                    name: "secret value".into(),
                    type_oid: 25,
                    type_modifier: -1,
                },
            ],
        };
        let mut f = Fold::default();
        f.push(
            &r,
            Message::Insert {
                relation: 1,
                new: vec![Value::Text(b"1".to_vec()), Value::Text(b"hunter2".to_vec())],
            },
        )
        .unwrap();
        let t = &f.tables[0];
        let all = format!(
            "{}{}{}{}",
            create_temps(t, 3),
            delete(t, 3),
            update(t, 3, 0, &[true, true]),
            insert(t, 3)
        );
        assert!(!all.contains("hunter2"), "{all}");
        assert!(
            all.contains("\"we\"\"ird\".\"t'; DROP TABLE x; --\""),
            "{all}"
        );
        assert!(all.contains("o.\"i\"\"d\" = k.f0"), "{all}");
        assert!(all.contains("\"secret value\" = r.f1"), "{all}");
        assert!(
            all.contains("SET \"secret value\" = r.f1 FROM"),
            "only the rest is set, not the key: {all}"
        );
    }
}
