//! PostgreSQL as a [`DatabaseSource`]: `pg_dump` / `pg_restore` / a live connection, behind the
//! trait; how the backup and restore jobs reach a database. The work itself is
//! [`crate::postgres::dump`] and [`restore::plan`] / [`restore::execute`]; this type only holds
//! where the server is, its password and which client tools to use.

use super::{DatabaseInfo, DatabaseSource};
use crate::archive::storage_layout::BucketSettings;
use crate::archive::ArchiveWriter;
use crate::error::Result;
use crate::postgres::conn::{server_info, unreadable_objects, ConnSpec};
use crate::postgres::dump::{self, DatabasePart};
use crate::postgres::restore::{self, DatabasePlan, DatabaseReport, RestoreOptions, RestoreTarget};
use crate::postgres::tools;
use crate::progress::Reporter;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// A PostgreSQL database: where it is, its password (kept out of `Debug`), and the configured
/// folder of pg_dump/pg_restore (`None`: search).
#[derive(Clone)]
pub struct PostgresSource {
    spec: ConnSpec,
    password: Option<String>,
    pg_bin: Option<PathBuf>,
    /// pg_dump's workers for a backup (`None`: the cores, capped by the server's headroom).
    jobs: Option<u32>,
    /// A selective backup's schemas and tables (empty: the whole database).
    selection: crate::selection::BackupSelection,
}

impl std::fmt::Debug for PostgresSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSource")
            .field("location", &self.spec.to_url())
            .field("pg_bin", &self.pg_bin)
            .finish_non_exhaustive()
    }
}

impl PostgresSource {
    pub fn new(spec: ConnSpec, password: Option<String>, pg_bin: Option<PathBuf>) -> Self {
        PostgresSource {
            spec,
            password,
            pg_bin,
            jobs: None,
            selection: Default::default(),
        }
    }

    /// What its backups hold, when not the whole database.
    pub fn with_selection(mut self, selection: crate::selection::BackupSelection) -> Self {
        self.selection = selection;
        self
    }

    /// pg_dump's workers for a backup (`None`: the default; see [`crate::postgres::dump_workers`]).
    pub fn with_jobs(mut self, jobs: Option<u32>) -> Self {
        self.jobs = jobs;
        self
    }

    /// The database a restore job writes into.
    pub fn for_restore(target: &RestoreTarget, opts: &RestoreOptions) -> Self {
        Self::new(
            target.spec.clone(),
            target.password.clone(),
            opts.pg_bin.clone(),
        )
    }

    pub fn spec(&self) -> &ConnSpec {
        &self.spec
    }

    fn target(&self) -> RestoreTarget {
        RestoreTarget {
            spec: self.spec.clone(),
            password: self.password.clone(),
        }
    }

    /// The restore options with this source's pg_bin when they name none.
    fn restore_options(&self, opts: &RestoreOptions) -> RestoreOptions {
        let mut opts = opts.clone();
        if opts.pg_bin.is_none() {
            opts.pg_bin = self.pg_bin.clone();
        }
        opts
    }
}

#[async_trait]
impl DatabaseSource for PostgresSource {
    fn location(&self) -> String {
        self.spec.to_url()
    }

    /// "Test connection": the server's version and size, the role, what it cannot read, and the
    /// pg_dump that would be used (or why none fits).
    async fn describe(&self) -> Result<DatabaseInfo> {
        let spec = &self.spec;
        let mut conn = spec.connect(self.password.as_deref()).await?;
        let info = server_info(&mut conn, spec).await?;
        let unreadable = unreadable_objects(&mut conn, spec).await?;
        let (pg_dump, pg_dump_problem) = match tools::find_for(info.major(), self.pg_bin.as_deref())
        {
            Ok(t) => (Some(t), None),
            Err(e) => (
                None,
                Some(format!(
                    "{} ({})",
                    e.message(),
                    e.hint().unwrap_or_default()
                )),
            ),
        };
        Ok(DatabaseInfo {
            server_version: info.version,
            database_size: info.database_size,
            user: info.current_user,
            superuser: info.superuser,
            can_dump: unreadable.is_empty() && pg_dump.is_some(),
            unreadable,
            pg_dump,
            pg_dump_problem,
        })
    }

    async fn dump_into(
        &self,
        writer: &mut ArchiveWriter,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<DatabasePart> {
        dump::dump_into(
            writer,
            &self.spec,
            self.password.as_deref(),
            self.pg_bin.as_deref(),
            self.jobs,
            &self.selection,
            reporter,
            cancel,
        )
        .await
    }

    async fn bucket_settings(&self) -> Result<BTreeMap<String, BucketSettings>> {
        dump::bucket_settings(&self.spec, self.password.as_deref()).await
    }

    async fn plan_restore(
        &self,
        archive: &Path,
        opts: &RestoreOptions,
        reporter: &Reporter,
    ) -> Result<DatabasePlan> {
        let opts = self.restore_options(opts);
        Ok(restore::plan(archive, &self.target(), &opts, reporter)
            .await?
            .plan)
    }

    async fn restore(
        &self,
        archive: &Path,
        opts: &RestoreOptions,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<DatabaseReport> {
        let opts = self.restore_options(opts);
        let target = self.target();
        let prepared = restore::plan(archive, &target, &opts, reporter).await?;
        restore::execute(prepared, &target, &opts, reporter, cancel).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let (spec, _) = ConnSpec::parse_url("postgres://u@h:5432/d").unwrap();
        let s = PostgresSource::new(spec, Some("s3cr3t-pw".into()), None);
        let shown = format!("{s:?} {}", s.location());
        assert!(!shown.contains("s3cr3t-pw"), "{shown}");
        assert!(shown.contains("postgres://u@h:5432/d"), "{shown}");
    }
}
