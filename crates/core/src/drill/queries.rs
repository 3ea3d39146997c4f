//! The project's own validation queries, run by a drill on its restored copy of the backup.
//!
//! Each query is the user's SQL, but it is still read before it runs: exactly one statement,
//! no psql backslash command (Offsite's psql-exact lexer, [`crate::plainsql`]), at most
//! [`MAX_SQL`] bytes. It runs as a cursor (`DECLARE … CURSOR FOR <query>`, so only a query —
//! `SELECT`, `VALUES`, `WITH … SELECT` — is accepted) inside a `READ ONLY` transaction with a
//! `statement_timeout`, always rolled back; at most two rows are fetched (one is expected), so
//! the result read is bounded whatever the query returns. The session reads times in UTC
//! (`TimeZone = 'UTC'`, `DateStyle = 'ISO, YMD'`); a `timestamp` without a zone is taken as UTC.
//!
//! Each query gives one [`DrillCheck`] with id `query:<check id>`, the expectation as expected
//! and the value found as actual. A `within` expectation measures freshness: the value is a
//! time, its age at the backup's time is compared with the window, and the largest such age
//! of the drill is its measured RPO (in hours).

use super::expect::Expectation;
use super::validation::ValidationCheck;
use super::{CheckStatus, DrillCheck};
use crate::error::{Error, ErrorKind, Result};
use sqlx::{Column, PgConnection, Row, TypeInfo};
use std::time::Duration;
use time::OffsetDateTime;

/// The longest validation query accepted.
pub const MAX_SQL: usize = 64 * 1024;

/// How long one validation query may run on the server.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

/// The most of a value a report shows.
const MAX_SHOWN: usize = 200;

/// The one statement `sql` holds, without its `;` — or why it is refused: more than one
/// statement, none, a psql backslash command, a transaction command, too long.
pub fn one_statement(sql: &str) -> Result<String> {
    let refuse = |why: &str| {
        Error::invalid(format!("the validation query {why}")).with_hint(
            "write one query that returns one value, e.g. \"select count(*) from auth.users\"; no psql commands, no second statement",
        )
    };
    if sql.len() > MAX_SQL {
        return Err(refuse(&format!("is longer than {} KiB", MAX_SQL / 1024)));
    }
    let (statements, failed) = crate::plainsql::report(sql.as_bytes());
    if let Some(l) = failed {
        return Err(refuse(&format!("cannot be run: it {}", l.message)));
    }
    let real: Vec<_> = statements.iter().filter(|s| s.real).collect();
    let stmt = match real.as_slice() {
        [] => return Err(refuse("is empty")),
        [one] => *one,
        _ => return Err(refuse("holds more than one statement")),
    };
    if stmt.in_comment || stmt.copy {
        return Err(refuse("ends inside a comment or starts COPY data"));
    }
    if crate::plainsql::tx_control(&stmt.text).is_some() {
        return Err(refuse("is a transaction command"));
    }
    let text = String::from_utf8_lossy(&stmt.text);
    let text = text.trim_end();
    let text = text.strip_suffix(';').unwrap_or(text).trim();
    if text.is_empty() {
        return Err(refuse("is empty"));
    }
    Ok(text.to_string())
}

/// Run every check on the restored database: one [`DrillCheck`] each, and the measured RPO in
/// hours (the largest age a `within` check found), when one gave it.
pub async fn run_validation(
    conn: &mut PgConnection,
    checks: &[ValidationCheck],
    backup_created_at: OffsetDateTime,
) -> (Vec<DrillCheck>, Option<f64>) {
    run_validation_with(conn, checks, backup_created_at, QUERY_TIMEOUT).await
}

/// [`run_validation`] with another per-query timeout.
pub async fn run_validation_with(
    conn: &mut PgConnection,
    checks: &[ValidationCheck],
    backup_created_at: OffsetDateTime,
    timeout: Duration,
) -> (Vec<DrillCheck>, Option<f64>) {
    let mut out = Vec::with_capacity(checks.len());
    let mut rpo: Option<f64> = None;
    let mut lost: Option<String> = None;
    for check in checks {
        let mut c = DrillCheck {
            id: format!("query:{}", check.id),
            title: check.display_title(),
            status: CheckStatus::Failed,
            expected: Some(check.expect.clone()),
            actual: None,
            detail: None,
        };
        if let Some(why) = &lost {
            c.status = CheckStatus::Skipped;
            c.detail = Some(why.clone());
            out.push(c);
            continue;
        }
        match run_one(conn, check, backup_created_at, timeout).await {
            Ok(found) => {
                c.status = found.status;
                c.actual = found.actual;
                c.detail = found.detail;
                if let Some(h) = found.age_hours {
                    rpo = Some(rpo.map_or(h, |r: f64| r.max(h)));
                }
            }
            Err(RunError::Failed(why)) => c.detail = Some(why),
            Err(RunError::ConnectionLost(why)) => {
                c.detail = Some(why.clone());
                lost = Some(format!("not run: the connection was lost ({why})"));
            }
        }
        out.push(c);
    }
    (out, rpo)
}

enum RunError {
    /// This query failed; the next can run.
    Failed(String),
    /// The connection cannot be used any more.
    ConnectionLost(String),
}

struct Found {
    status: CheckStatus,
    actual: Option<String>,
    detail: Option<String>,
    age_hours: Option<f64>,
}

fn server_error(e: sqlx::Error) -> RunError {
    match e {
        sqlx::Error::Database(d) => RunError::Failed(format!("the query failed: {}", d.message())),
        other => RunError::ConnectionLost(other.to_string()),
    }
}

async fn run_one(
    conn: &mut PgConnection,
    check: &ValidationCheck,
    backup_at: OffsetDateTime,
    timeout: Duration,
) -> std::result::Result<Found, RunError> {
    let expect: Expectation = check
        .expect
        .parse()
        .map_err(|e: Error| RunError::Failed(e.message().to_string()))?;
    let stmt = one_statement(&check.sql).map_err(|e| RunError::Failed(e.message().to_string()))?;
    let ms = timeout.as_millis().max(1);
    let begin = format!(
        "BEGIN READ ONLY; {}; SET LOCAL statement_timeout = {ms}; SET LOCAL lock_timeout = {ms}; \
         SET LOCAL idle_in_transaction_session_timeout = 0; SET LOCAL TimeZone = 'UTC'; \
         SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'",
        // The project's own query names its tables as the project does: in the database's
        // own path, not the one every session of Offsite's starts with.
        crate::postgres::conn::USERS_SEARCH_PATH
    );
    // A second bound on the client side, in case the server's timeout is changed by the query.
    let guard = timeout + Duration::from_secs(10);
    let rows = tokio::time::timeout(guard, async {
        sqlx::Executor::execute(&mut *conn, begin.as_str())
            .await
            .map_err(server_error)?;
        let declare = format!("DECLARE offsite_validation NO SCROLL CURSOR FOR {stmt}\n");
        let declared = sqlx::Executor::execute(&mut *conn, declare.as_str()).await;
        let rows = match declared {
            Ok(_) => sqlx::Executor::fetch_all(&mut *conn, "FETCH 2 FROM offsite_validation")
                .await
                .map_err(server_error),
            Err(e) => Err(server_error(e)),
        };
        sqlx::Executor::execute(&mut *conn, "ROLLBACK")
            .await
            .map_err(|e| RunError::ConnectionLost(e.to_string()))?;
        rows
    })
    .await
    .map_err(|_| {
        RunError::ConnectionLost(format!("the query ran longer than {} s", guard.as_secs()))
    })??;
    let value = match rows.as_slice() {
        [] => {
            return Err(RunError::Failed(
                "the query returned no row (one is expected)".into(),
            ))
        }
        [row] if row.columns().len() == 1 => {
            let ty = row.column(0).type_info().name().to_string();
            let v: Option<String> = row
                .try_get_unchecked(0)
                .map_err(|e| RunError::Failed(format!("its value could not be read: {e}")))?;
            (v, ty)
        }
        [row] => {
            return Err(RunError::Failed(format!(
                "the query returned {} columns (one is expected)",
                row.columns().len()
            )))
        }
        _ => {
            return Err(RunError::Failed(
                "the query returned more than one row (one is expected)".into(),
            ))
        }
    };
    Ok(evaluate(&expect, value.0.as_deref(), &value.1, backup_at))
}

fn shown(v: &str) -> String {
    let mut s: String = v.chars().take(MAX_SHOWN).collect();
    if v.chars().count() > MAX_SHOWN {
        s.push('…');
    }
    s
}

fn passed_if(ok: bool, actual: String, detail: Option<String>) -> Found {
    Found {
        status: if ok {
            CheckStatus::Passed
        } else {
            CheckStatus::Failed
        },
        actual: Some(actual),
        detail: if ok { None } else { detail },
        age_hours: None,
    }
}

/// Compare the value (text as the server sent it, `None` for NULL; `ty` its type name) with
/// the expectation.
fn evaluate(
    expect: &Expectation,
    value: Option<&str>,
    ty: &str,
    backup_at: OffsetDateTime,
) -> Found {
    let Some(v) = value else {
        let ok = *expect == Expectation::IsNull;
        return passed_if(ok, "NULL".into(), Some("the query returned NULL".into()));
    };
    let actual = shown(v);
    match expect {
        Expectation::IsNull => passed_if(false, actual, Some("the value is not NULL".into())),
        Expectation::IsNotNull => passed_if(true, actual, None),
        Expectation::IsTrue | Expectation::IsFalse => match v {
            "t" | "true" => passed_if(*expect == Expectation::IsTrue, actual, None),
            "f" | "false" => passed_if(*expect == Expectation::IsFalse, actual, None),
            _ => passed_if(
                false,
                actual,
                Some(format!("the value is a {ty}, not a boolean")),
            ),
        },
        Expectation::Compare(cmp, n) => match as_number(v) {
            Some(x) => passed_if(cmp.holds(x, n.value), actual, None),
            None => passed_if(
                false,
                actual,
                Some(format!("the value is a {ty}, not a number")),
            ),
        },
        Expectation::Between(a, b) => match as_number(v) {
            Some(x) => passed_if(a.value <= x && x <= b.value, actual, None),
            None => passed_if(
                false,
                actual,
                Some(format!("the value is a {ty}, not a number")),
            ),
        },
        Expectation::Within(w) => {
            let Some(t) = as_time(v) else {
                return passed_if(
                    false,
                    actual,
                    Some(format!(
                        "the value is a {ty}, not a time (timestamptz, timestamp or date)"
                    )),
                );
            };
            let age = backup_at - t;
            let hours = age.as_seconds_f64() / 3600.0;
            let when = crate::clock::format_timestamp(t);
            let actual = if hours >= 0.0 {
                format!("{when} ({hours:.1} h before the backup)")
            } else {
                format!("{when} ({:.1} h after the backup)", -hours)
            };
            let mut f = passed_if(
                age.whole_seconds() <= w.seconds(),
                actual,
                Some(format!(
                    "the newest value is {hours:.1} h older than the backup; at most {}{} was expected",
                    w.amount, w.unit
                )),
            );
            f.age_hours = Some(hours.max(0.0));
            f
        }
    }
}

fn as_number(v: &str) -> Option<f64> {
    let v = v.trim();
    // Text as the server writes numbers: digits, sign, point, exponent. Not "NaN"/"Infinity".
    if v.is_empty()
        || !v
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    v.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// A time as the server writes it with `DateStyle = ISO` and `TimeZone = UTC`:
/// `2024-05-01 10:00:00.123456+00`, `2024-05-01 10:00:00` (taken as UTC), `2024-05-01`.
fn as_time(v: &str) -> Option<OffsetDateTime> {
    let v = v.trim();
    let (date, rest) = v.split_once(' ').unwrap_or((v, ""));
    let mut d = date.split('-');
    let (y, m, dd) = (d.next()?, d.next()?, d.next()?);
    if d.next().is_some() || y.len() != 4 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = time::Date::from_calendar_date(y.parse().ok()?, month, dd.parse().ok()?).ok()?;
    if rest.is_empty() {
        return Some(date.midnight().assume_utc());
    }
    // The offset: the last '+' or '-' in the time part.
    let (clock, offset) = match rest.rfind(['+', '-']) {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut p = hms.split(':');
    let (h, mi, s) = (p.next()?, p.next()?, p.next()?);
    if p.next().is_some() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    let t = time::Time::from_hms_nano(h.parse().ok()?, mi.parse().ok()?, s.parse().ok()?, nanos)
        .ok()?;
    let mut at = time::PrimitiveDateTime::new(date, t).assume_utc();
    if let Some(o) = offset {
        let sign: i64 = if o.starts_with('-') { -1 } else { 1 };
        let mut parts = o[1..].split(':');
        let oh: i64 = parts.next()?.parse().ok()?;
        let om: i64 = parts.next().map(str::parse).transpose().ok()?.unwrap_or(0);
        let os: i64 = parts.next().map(str::parse).transpose().ok()?.unwrap_or(0);
        at -= time::Duration::seconds(sign * (oh * 3600 + om * 60 + os));
    }
    Some(at)
}

/// Check a query and an expectation before they are saved (`offsite check add`): the query is
/// one statement, the expectation reads; the canonical expectation and the statement come back.
pub fn parse_check(sql: &str, expect: &str) -> Result<(String, String)> {
    let canonical = expect.parse::<Expectation>()?.to_string();
    one_statement(sql)?;
    if sql.contains('\0') {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "the validation query holds a NUL byte",
        ));
    }
    Ok((sql.trim().to_string(), canonical))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn one_statement_only_and_no_psql_commands() {
        assert_eq!(one_statement("select 1;").unwrap(), "select 1");
        assert_eq!(
            one_statement("-- users\nselect count(*)\n  from auth.users ;  \n").unwrap(),
            "select count(*)\n  from auth.users"
        );
        assert_eq!(one_statement("select ';' as x").unwrap(), "select ';' as x");
        for bad in [
            "",
            "  -- only a comment\n",
            "select 1; select 2",
            "select 1; drop table users;",
            "\\! rm -rf /",
            "select 1 \\g",
            "commit",
            "begin",
            "select /* open",
        ] {
            let e = one_statement(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(
                e.message().starts_with("the validation query"),
                "{bad}: {e}"
            );
        }
        assert!(one_statement(&format!("select '{}'", "x".repeat(MAX_SQL))).is_err());
    }

    #[test]
    fn times_are_read_as_the_server_writes_them_in_utc() {
        assert_eq!(
            as_time("2024-05-01 10:00:00.5+00"),
            Some(datetime!(2024-05-01 10:00:00.5 UTC))
        );
        assert_eq!(
            as_time("2024-05-01 10:00:00"),
            Some(datetime!(2024-05-01 10:00 UTC))
        );
        assert_eq!(
            as_time("2024-05-01 12:30:00+02:30"),
            Some(datetime!(2024-05-01 10:00 UTC))
        );
        assert_eq!(as_time("2024-05-01"), Some(datetime!(2024-05-01 0:00 UTC)));
        for bad in [
            "infinity",
            "1000",
            "2024-13-01",
            "0099-01-01 BC",
            "2024-05-01 10:00",
        ] {
            assert_eq!(as_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn values_are_compared_with_the_expectation() {
        let at = datetime!(2024-05-02 10:00 UTC);
        let e = |s: &str| s.parse::<Expectation>().unwrap();
        let ok = |f: Found| f.status == CheckStatus::Passed;
        assert!(ok(evaluate(&e(">= 1000"), Some("1204"), "INT8", at)));
        assert!(!ok(evaluate(&e(">= 1000"), Some("999"), "INT8", at)));
        assert!(ok(evaluate(
            &e("between 1 and 2"),
            Some("1.5"),
            "NUMERIC",
            at
        )));
        assert!(!ok(evaluate(&e("= 1"), Some("NaN"), "NUMERIC", at)));
        assert!(!ok(evaluate(&e("= 1"), Some("one"), "TEXT", at)));
        assert!(!ok(evaluate(&e(">= 1"), None, "INT8", at)));
        assert!(ok(evaluate(&e("is null"), None, "INT8", at)));
        assert!(ok(evaluate(&e("is true"), Some("t"), "BOOL", at)));
        assert!(!ok(evaluate(&e("is true"), Some("f"), "BOOL", at)));
        let fresh = evaluate(
            &e("within 26h"),
            Some("2024-05-01 22:00:00+00"),
            "TIMESTAMPTZ",
            at,
        );
        assert_eq!(fresh.age_hours, Some(12.0));
        assert!(ok(fresh));
        let stale = evaluate(
            &e("within 26h"),
            Some("2024-04-30 10:00:00+00"),
            "TIMESTAMPTZ",
            at,
        );
        assert_eq!(stale.age_hours, Some(48.0));
        assert!(stale.detail.as_deref().unwrap().contains("48.0 h older"));
        assert!(!ok(stale));
        assert!(!ok(evaluate(&e("within 1d"), Some("17"), "INT4", at)));
    }

    #[test]
    fn a_check_is_refused_when_its_expectation_or_sql_does_not_read() {
        assert_eq!(
            parse_check(" select 1 ", ">=1").unwrap(),
            ("select 1".to_string(), ">= 1".to_string())
        );
        assert!(parse_check("select 1", "about 5").is_err());
        assert!(parse_check("select 1; select 2", ">= 1").is_err());
    }
}
