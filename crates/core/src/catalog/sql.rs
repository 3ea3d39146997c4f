//! The SQLite side of every table: row ids, integers as SQLite stores them, and sqlx errors as
//! catalog errors that say what failed.

use super::{CATALOG_FILE, DATA_DIR_ENV};
use crate::error::{Error, ErrorKind, Result};
use sqlx::migrate::MigrateError;
use sqlx::sqlite::SqliteQueryResult;

/// A fresh row id (UUID v4).
pub(super) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `v` as SQLite's INTEGER (a signed 64-bit number).
pub(super) fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::invalid(format!("{what} {v} is too large for the catalog")))
}

/// `Ok` when the statement changed at least one row, otherwise the error `missing` makes (the
/// row it was meant for is not there).
pub(super) fn changed_a_row(
    done: SqliteQueryResult,
    missing: impl FnOnce() -> Error,
) -> Result<()> {
    if done.rows_affected() == 0 {
        return Err(missing());
    }
    Ok(())
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

pub(super) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
}

/// A sqlx error as a catalog error, saying what failed (`op`).
pub(crate) fn db_error(op: &str, e: sqlx::Error) -> Error {
    const BUSY_HINT: &str = "another Offsite process (the app or the command line) is using the catalog; try again in a moment";
    match &e {
        sqlx::Error::Database(d) => {
            // SQLite's extended result code; its low byte is the primary code.
            let code = d.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
            let msg = format!("{op}: {}", d.message());
            match code & 0xff {
                5 | 6 => Error::new(ErrorKind::Catalog, format!("{op}: the catalog is busy"))
                    .with_hint(BUSY_HINT)
                    .retryable(true),
                13 => Error::new(ErrorKind::DiskFull, format!("{op}: the disk holding the catalog is full"))
                    .with_hint("free some space on the disk that holds Offsite's data folder, then try again"),
                8 | 14 => Error::new(ErrorKind::Catalog, msg).with_hint(format!(
                    "check that Offsite's data folder exists and is writable (or set {DATA_DIR_ENV} to another folder)"
                )),
                11 | 26 => Error::new(ErrorKind::Catalog, msg).with_hint(format!(
                    "the catalog file is damaged or not an Offsite catalog; move {CATALOG_FILE} out of the data folder to start a new one (backup files are not affected)"
                )),
                _ => Error::new(ErrorKind::Catalog, msg),
            }
        }
        sqlx::Error::PoolTimedOut => Error::new(
            ErrorKind::Catalog,
            format!("{op}: timed out waiting for the catalog"),
        )
        .with_hint(BUSY_HINT)
        .retryable(true),
        sqlx::Error::Io(io) if crate::error::is_disk_full(io) => {
            Error::io(op, std::io::Error::from_raw_os_error(28))
        }
        _ => Error::new(ErrorKind::Catalog, format!("{op}: {e}")),
    }
}

/// A failed migration as a catalog error.
pub(super) fn migrate_error(e: MigrateError) -> Error {
    match e {
        MigrateError::Execute(e) => db_error("updating the catalog's schema", e),
        MigrateError::ExecuteMigration(e, v) => {
            db_error(&format!("updating the catalog's schema to version {v}"), e)
        }
        other => Error::from(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::catalog;

    #[tokio::test]
    async fn sqlx_errors_become_catalog_errors_saying_what_failed() {
        let c = catalog().await;
        let e = sqlx::query("SELECT * FROM no_such_table")
            .execute(c.pool())
            .await
            .unwrap_err();
        let e = db_error("listing things", e);
        assert_eq!(e.kind(), ErrorKind::Catalog);
        assert!(e.message().starts_with("listing things: "), "{e}");
        assert!(e.message().contains("no_such_table"));
    }
}
