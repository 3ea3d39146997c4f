//! The running agent: its engine (own data folder, no keychain), configuration, tokens, URL
//! signer, audit log and the backups it is making.

use crate::audit::AuditLog;
use crate::config::AgentConfig;
use crate::files::create_private_dir;
use crate::inputs::AgentInputs;
use crate::signing::UrlSigner;
use crate::tokens::TokenStore;
use offsite_core::secrets::MemoryStore;
use offsite_core::{
    AddProject, Engine, EngineConfig, ErrorKind, ProjectConnection, Result, UpdateProject,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// A backup the agent started (kept while the agent runs, for its type and live progress).
#[derive(Debug)]
pub struct Running {
    pub id: String,
    pub project: String,
    /// `FULL`, `DATABASE`, `STORAGE` or `CONFIG`.
    pub backup_type: String,
    pub progress: AtomicU8,
    /// RFC 3339.
    pub created_at: String,
    /// Cancels this backup (a child of the agent's shutdown token): the engine stops it, removes
    /// what it wrote and records the job as cancelled.
    pub cancel: CancellationToken,
    /// Cancelled once the backup has ended (whatever its outcome) and left `current`.
    pub ended: CancellationToken,
    /// The engine's last report: the step it is on and its bytes (`None` before the first).
    live: Mutex<Option<LiveStep>>,
    /// Why the engine refused the backup before its job was recorded (another job holds the
    /// project, …): its error code and message. A backup answered `202` is then reported
    /// `FAILED` with this, never as unknown.
    refused: Mutex<Option<(String, String)>>,
}

/// The step a running backup is on, as the engine last reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStep {
    /// The engine's phase code (`dumping`, `downloading`, `packing`, …).
    pub phase: String,
    /// Bytes done in this step.
    pub bytes_done: u64,
    /// The step's total bytes, when known.
    pub bytes_total: Option<u64>,
}

impl Running {
    pub fn new(
        id: String,
        project: String,
        backup_type: String,
        created_at: String,
        cancel: CancellationToken,
    ) -> Self {
        Running {
            id,
            project,
            backup_type,
            progress: AtomicU8::new(0),
            created_at,
            cancel,
            ended: CancellationToken::new(),
            live: Mutex::new(None),
            refused: Mutex::new(None),
        }
    }

    /// Progress 0–100 (never goes back).
    pub fn progress(&self) -> u8 {
        self.progress.load(Ordering::Relaxed)
    }
    pub(crate) fn advance(&self, pct: u8) {
        self.progress.fetch_max(pct.min(99), Ordering::Relaxed);
    }

    /// The step the engine last reported.
    pub fn live(&self) -> Option<LiveStep> {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub(crate) fn set_live(&self, step: LiveStep) {
        *self.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(step);
    }

    /// Why the engine refused it before recording its job (code, message), if it did.
    pub fn refused(&self) -> Option<(String, String)> {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    pub(crate) fn set_refused(&self, code: &str, message: &str) {
        *self.refused.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((code.to_string(), message.to_string()));
    }
}

/// Everything a request handler needs.
pub struct Agent {
    pub engine: Engine,
    pub config: AgentConfig,
    pub tokens: TokenStore,
    pub signer: UrlSigner,
    pub audit: AuditLog,
    /// Failed authentications per client (429 after too many).
    pub throttle: crate::throttle::Throttle,
    /// The projects' folders and files, and the types of their scheduled backups.
    pub inputs: Arc<AgentInputs>,
    /// Whether the agent serves TLS (download URLs use `https`).
    pub tls: bool,
    /// The backup each project is making now (one at a time), by project id.
    pub(crate) current: Mutex<HashMap<String, Arc<Running>>>,
    /// Every backup started since the agent started, by backup id.
    pub(crate) started: Mutex<HashMap<String, Arc<Running>>>,
    /// Cancelled when the agent stops: running backups stop and remove what they wrote.
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl Agent {
    /// Open the data folder (creating it), the engine in `data_dir/engine` with an in-memory
    /// secret store, and bring the engine's projects in line with the configuration (database
    /// URL and password).
    pub async fn open(config: AgentConfig, tls: bool) -> Result<Arc<Agent>> {
        Self::open_with_clock(config, tls, None).await
    }

    /// [`Agent::open`] with another clock for the engine (tests move it to make schedules due).
    pub async fn open_with_clock(
        config: AgentConfig,
        tls: bool,
        clock: Option<offsite_core::clock::SharedClock>,
    ) -> Result<Arc<Agent>> {
        create_private_dir(&config.data_dir)?;
        let secrets = Arc::new(MemoryStore::new());
        let inputs = Arc::new(AgentInputs::new(config.projects.clone()));
        crate::schedule::load_types(&config.data_dir, &inputs)?;
        let mut engine_config = EngineConfig::new(secrets)
            .data_dir(config.engine_dir())
            .pg_bin(config.pg_bin.clone())
            .inputs(inputs.clone());
        if let Some(clock) = clock {
            engine_config = engine_config.clock(clock);
        }
        let engine = Engine::open(engine_config).await?;
        for (id, p) in &config.projects {
            let password = p.password()?;
            match engine.project(id).await {
                Ok(_) => {
                    engine
                        .update_project(
                            id,
                            UpdateProject {
                                connection: Some(ProjectConnection::Url(p.database_url.clone())),
                                password,
                                ..Default::default()
                            },
                        )
                        .await?;
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    engine
                        .add_project(AddProject {
                            password,
                            ..AddProject::url(id.clone(), p.database_url.clone())
                        })
                        .await?;
                }
                Err(e) => return Err(e),
            }
            // agent.toml's retention wins at every start (the API may not change it then).
            if let Some(policy) = &p.retention {
                engine.set_retention(id, policy.clone(), None).await?;
            }
        }
        let signer = UrlSigner::load_or_create(&config.data_dir)?;
        let (audit_max, audit_keep) = config.audit_rotation();
        let audit = AuditLog::open_with(&config.data_dir, audit_max, audit_keep)?;
        let throttle = crate::throttle::Throttle::new(config.auth_failures_per_minute());
        Ok(Arc::new(Agent {
            engine,
            tokens: TokenStore::new(&config.data_dir),
            signer,
            audit,
            throttle,
            inputs,
            tls,
            config,
            current: Mutex::new(HashMap::new()),
            started: Mutex::new(HashMap::new()),
            shutdown: tokio_util::sync::CancellationToken::new(),
        }))
    }

    /// How many backups are being made now.
    pub fn running_count(&self) -> usize {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The backup `project` is making now, if any.
    pub fn running(&self, project: &str) -> Option<Arc<Running>> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(project)
            .cloned()
    }

    /// A backup this agent started (since it started).
    pub fn started(&self, backup_id: &str) -> Option<Arc<Running>> {
        self.started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(backup_id)
            .cloned()
    }
}
