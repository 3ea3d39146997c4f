//! When each of a project's sources was last tested, and how it went (the Sources tab's "last
//! test"). Recorded here, by the engine, wherever a connection is tried: the Test buttons
//! (database, storage), saving a backup server or an artifact bucket (both are checked by
//! connecting before they are saved), a backup that read the database, the storage or the
//! Supabase project, and a remote backup or a pull that reached the server or the bucket.
//!
//! A Test button records its failure whatever it was; a job records a failure only when the
//! source refused or could not be reached (`connection`, `auth`): a cancelled or otherwise
//! failed job says nothing about the connection. Recording never fails what was tested: a
//! catalog error here only goes to the log.

use crate::catalog::{SourceKind, SourceTest};
use crate::engine::Engine;
use crate::error::{ErrorKind, Result};

/// How a try of a source is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tried {
    /// A Test button: any failure is the test's result.
    ByTest,
    /// A job that connected on its way: only a refused or unreachable source is a failed test.
    ByJob,
}

/// Whether `e` (from a job) says the source itself failed.
fn source_failed(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::Connection | ErrorKind::Auth)
}

/// Record the outcome `r` of trying `source` of project `project_id` (see the module).
pub(crate) async fn note<T>(
    engine: &Engine,
    project_id: &str,
    source: SourceKind,
    how: Tried,
    r: &Result<T>,
) {
    let outcome = match r {
        Ok(_) => Ok(()),
        Err(e) if how == Tried::ByTest || source_failed(e.kind()) => Err(e.message()),
        Err(_) => return,
    };
    if let Err(e) = engine
        .catalog
        .record_source_test(project_id, source, outcome)
        .await
    {
        tracing::warn!(%source, "recording a connection test: {e}");
    }
}

/// The last test of each source of `project` (by name) that was ever tested.
pub(crate) async fn list(engine: &Engine, project: &str) -> Result<Vec<SourceTest>> {
    let p = engine.catalog.project(project).await?;
    engine.catalog.source_tests(&p.id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refused_or_unreachable_source_fails_a_jobs_test() {
        let failing: Vec<_> = [
            ErrorKind::Connection,
            ErrorKind::Auth,
            ErrorKind::Cancelled,
            ErrorKind::Integrity,
            ErrorKind::DiskFull,
            ErrorKind::InvalidInput,
        ]
        .into_iter()
        .filter(|k| source_failed(*k))
        .collect();
        assert_eq!(failing, [ErrorKind::Connection, ErrorKind::Auth]);
    }
}
