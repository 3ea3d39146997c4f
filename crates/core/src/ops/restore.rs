//! The restore job: plan (changes nothing), then execute the plan and validate the row counts,
//! as one job. Also where a restore target comes from: a saved project, or a connection.

use crate::catalog::JobKind;
use crate::engine::Engine;
use crate::error::Result;
use crate::ops::job::JobStart;
use crate::ops::projects::ProjectConnection;
use crate::ops::runner;
use crate::postgres::conn::TlsMode;
use crate::postgres::restore::{RestoreOptions, RestorePlan, RestoreReport, RestoreTarget};
use crate::progress::Reporter;
use crate::sources::{DatabaseSource, PostgresSource};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What to restore where, with the user's consent ([`RestoreOptions`]).
#[derive(Clone)]
pub struct RestoreRequest {
    pub archive: PathBuf,
    pub target: RestoreTarget,
    /// `pg_bin`, `safety_dir` and `clock` left empty are filled in by the engine.
    pub options: RestoreOptions,
}

impl RestoreRequest {
    /// Restore `archive` into `target` with the default options (an empty target only).
    pub fn new(archive: impl Into<PathBuf>, target: RestoreTarget) -> Self {
        RestoreRequest {
            archive: archive.into(),
            target,
            options: RestoreOptions::default(),
        }
    }
    /// The same request with these options.
    pub fn options(mut self, options: RestoreOptions) -> Self {
        self.options = options;
        self
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RestoreOutcome {
    pub job_id: String,
    pub report: RestoreReport,
}

/// Where to restore to: a saved project, or a connection (with its password). The same request
/// from the window, the command line (`--to URL|PROJECT`) and the agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum RestoreTo {
    Project(String),
    Connection {
        connection: ProjectConnection,
        tls: Option<TlsMode>,
        password: Option<String>,
    },
}

impl RestoreTo {
    /// The command line's `--to`: a URL (anything with `://`) or a project's name; `password`
    /// (when given) wins over one in the URL and is ignored for a project (its own is used).
    pub fn url_or_project(to: &str, password: Option<String>) -> RestoreTo {
        if to.contains("://") {
            RestoreTo::Connection {
                connection: ProjectConnection::Url(to.to_string()),
                tls: None,
                password,
            }
        } else {
            RestoreTo::Project(to.to_string())
        }
    }

    /// The target for people: the project's name, or "DATABASE on HOST".
    pub fn label(&self) -> String {
        match self {
            RestoreTo::Project(name) => name.clone(),
            RestoreTo::Connection { connection, .. } => connection.label(),
        }
    }
}

/// The connection and password of a restore target.
pub(crate) async fn target(engine: &Engine, to: RestoreTo) -> Result<RestoreTarget> {
    match to {
        RestoreTo::Project(name) => {
            let project = engine.catalog.project(&name).await?;
            Ok(RestoreTarget {
                spec: engine.spec_of(&project)?,
                password: engine.password_of(&project).await?,
            })
        }
        RestoreTo::Connection {
            connection,
            tls,
            password,
        } => {
            let (spec, url_password) = connection.parse(tls)?;
            Ok(RestoreTarget {
                spec,
                password: password.filter(|p| !p.is_empty()).or(url_password),
            })
        }
    }
}

/// The restore plan (changes nothing).
pub(crate) async fn plan(engine: &Engine, req: &RestoreRequest) -> Result<RestorePlan> {
    let opts = options(engine, &req.options);
    PostgresSource::for_restore(&req.target, &opts)
        .plan_restore(&req.archive, &opts, &Reporter::silent())
        .await
}

/// Plan and execute a restore as one job (holding the lock of the project the archive belongs
/// to, when the catalog knows it).
pub(crate) async fn run(
    engine: &Engine,
    req: RestoreRequest,
    start: JobStart,
) -> Result<RestoreOutcome> {
    let opts = &options(engine, &req.options);
    let (archive, target) = (&req.archive, &req.target);
    let project = runner::owner_of_archive(engine, archive)
        .await?
        .map(|(_, p)| p);
    let (job_id, report) = runner::run(
        engine,
        JobKind::Restore,
        project.as_ref(),
        start,
        |_| None,
        |job| async move {
            PostgresSource::for_restore(target, opts)
                .restore(archive, opts, &job.reporter, &job.cancel)
                .await
        },
    )
    .await?;
    Ok(RestoreOutcome { job_id, report })
}

/// The options with the engine's pg_dump folder, safety-backup folder and clock.
fn options(engine: &Engine, opts: &RestoreOptions) -> RestoreOptions {
    let mut o = opts.clone();
    if o.pg_bin.is_none() {
        o.pg_bin = engine.pg_bin();
    }
    if o.safety_dir.as_os_str().is_empty() {
        o.safety_dir = engine.data_dir.join("safety-backups");
    }
    if o.clock.is_none() {
        o.clock = Some(engine.clock.clone());
    }
    o
}
