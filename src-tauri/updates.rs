//! Signed updates: `tauri-plugin-updater` wired to the engine's rules (`offsite_core::ops::updates`:
//! a check at most once a day, none when turned off, an install only while no job runs).
//!
//! The update manifest comes from the endpoints in tauri.conf.json (`plugins.updater`); every
//! package it names is verified against the public key there (minisign, bound to the announced
//! version: `requireSignedVersion`) before it is installed. Test and development overrides:
//! `OFFSITE_UPDATE_ENDPOINT` (any build: a release build still refuses a plain-http endpoint)
//! and `OFFSITE_UPDATE_PUBKEY` (debug builds only, so a release build trusts only the key it was
//! built with).

use crate::Shell;
use offsite_core::ops::updates::{CheckDue, InstallGate};
use offsite_core::{Engine, Error, ErrorKind, ErrorPayload};
use serde::Serialize;
use std::sync::Mutex;
use std::time::Duration;
use tauri::{AppHandle, Manager, Runtime, Url};
use tauri_plugin_updater::{Update, UpdaterExt};
use tauri_specta::Event;

/// Test/development override of the manifest's address (`{{target}}`, `{{arch}}`,
/// `{{current_version}}` are filled in).
pub const ENDPOINT_ENV: &str = "OFFSITE_UPDATE_ENDPOINT";
/// Test/development override of the public key (base64 of the minisign `.pub` file, as
/// `tauri signer generate` writes it). Ignored by release builds.
pub const PUBKEY_ENV: &str = "OFFSITE_UPDATE_PUBKEY";
/// How often the background task asks the engine whether a check is due.
const TICK: Duration = Duration::from_secs(60 * 60);
/// The first automatic check waits this long after start (startup stays quick).
const FIRST_TICK: Duration = Duration::from_secs(60);
/// How often "install when idle" looks again whether the jobs have ended.
const IDLE_POLL: Duration = Duration::from_secs(5);
/// Every minisign public key `tauri signer generate` writes starts so (base64 of
/// "untrusted comment:"); anything else is the placeholder of a build without an update key.
const KEY_PREFIX: &str = "dW50cnVzdGVkIGNvbW1lbnQ6";

/// Where updates come from when not (only) from tauri.conf.json.
#[derive(Debug, Clone, Default)]
pub struct UpdateSource {
    pub endpoint: Option<Url>,
    pub pubkey: Option<String>,
}

impl UpdateSource {
    /// The overrides from the environment (see [`ENDPOINT_ENV`], [`PUBKEY_ENV`]); an endpoint
    /// that is not a URL is ignored with a warning.
    pub fn from_env() -> Self {
        let endpoint = std::env::var(ENDPOINT_ENV).ok().and_then(|v| {
            v.parse::<Url>()
                .map_err(|e| eprintln!("warning: {ENDPOINT_ENV} is not a URL ({e}); ignored"))
                .ok()
        });
        let pubkey = if cfg!(debug_assertions) {
            std::env::var(PUBKEY_ENV)
                .ok()
                .filter(|k| !k.trim().is_empty())
        } else {
            None
        };
        UpdateSource { endpoint, pubkey }
    }
}

/// What the updater is doing (shown beside "check for updates").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UpdateState {
    /// Nothing checked since the app started.
    Idle,
    /// This build has no update key (a development build or a build from source).
    NotConfigured,
    Checking,
    UpToDate,
    /// A newer version is offered: "Install and restart".
    Available {
        version: String,
        /// The release notes.
        notes: Option<String>,
        /// When it was published (RFC 3339).
        date: Option<String>,
    },
    /// Install was asked for while jobs run: it starts when they have ended.
    WaitingForJobs {
        version: String,
        running: u32,
    },
    /// Downloading, verifying and installing; the app restarts when done.
    Installing {
        version: String,
    },
    /// The last check or install failed. `version`: the update that could not be installed
    /// (it is still offered: "Install and restart" tries again).
    Failed {
        error: ErrorPayload,
        version: Option<String>,
    },
}

/// The updater's state and settings. Event name: `update-status` (sent on every change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, tauri_specta::Event)]
pub struct UpdateStatus {
    /// The running app's version.
    pub current_version: String,
    /// Automatic checks are on (Settings → Updates).
    pub check_for_updates: bool,
    /// When updates were last checked (RFC 3339), by this app or a previous run.
    pub last_check: Option<String>,
    pub state: UpdateState,
    /// Counts the state's changes since the app started. The window keeps the status with the
    /// highest: an answer computed before a change can arrive after the event that announced
    /// the change (an install's answer "installing" after its own "failed").
    pub revision: u32,
}

/// The updater of the app (managed state; registered with the plugin by [`crate::desktop`] and
/// by the tests).
pub struct Updates {
    source: UpdateSource,
    inner: Mutex<Inner>,
}

struct Inner {
    state: UpdateState,
    /// Bumped on every change of `state` (see [`UpdateStatus::revision`]).
    revision: u32,
    /// The update last offered (what "Install and restart" installs).
    offered: Option<Update>,
}

impl Updates {
    pub fn new(source: UpdateSource) -> Self {
        Updates {
            source,
            inner: Mutex::new(Inner {
                state: UpdateState::Idle,
                revision: 0,
                offered: None,
            }),
        }
    }

    /// The update last offered, if any.
    pub fn offered(&self) -> Option<Update> {
        self.lock().offered.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    fn set(&mut self, state: UpdateState) {
        self.state = state;
        self.revision = self.revision.wrapping_add(1);
    }
}

fn engine<R: Runtime>(app: &AppHandle<R>) -> Result<Engine, ErrorPayload> {
    app.state::<Shell>().engine().cloned()
}

/// The status as the UI shows it.
pub async fn status<R: Runtime>(app: &AppHandle<R>) -> Result<UpdateStatus, ErrorPayload> {
    let (check_for_updates, last) = engine(app)?
        .update_policy()
        .await
        .map_err(|e| ErrorPayload::from(&e))?;
    let (state, revision) = {
        let updates = app.state::<Updates>();
        let inner = updates.lock();
        (inner.state.clone(), inner.revision)
    };
    Ok(UpdateStatus {
        current_version: app.package_info().version.to_string(),
        check_for_updates,
        last_check: last.map(offsite_core::catalog::format_timestamp),
        state,
        revision,
    })
}

/// Set the state and tell the window.
async fn set_state<R: Runtime>(app: &AppHandle<R>, state: UpdateState) {
    app.state::<Updates>().lock().set(state);
    match status(app).await {
        Ok(s) => {
            let _ = s.emit(app);
        }
        Err(e) => eprintln!(
            "warning: the update status could not be read: {}",
            e.message
        ),
    }
}

/// The public key in use: the override, else tauri.conf.json's.
fn pubkey<R: Runtime>(app: &AppHandle<R>) -> Option<String> {
    let source = &app.state::<Updates>().source;
    source.pubkey.clone().or_else(|| {
        app.config()
            .plugins
            .0
            .get("updater")
            .and_then(|u| u.get("pubkey"))
            .and_then(|k| k.as_str())
            .map(str::to_string)
    })
}

fn updater<R: Runtime>(
    app: &AppHandle<R>,
) -> Result<tauri_plugin_updater::Updater, tauri_plugin_updater::Error> {
    let source = app.state::<Updates>().source.clone();
    let mut builder = app.updater_builder().timeout(Duration::from_secs(60));
    if let Some(url) = source.endpoint {
        builder = builder.endpoints(vec![url])?;
    }
    if let Some(key) = source.pubkey {
        builder = builder.pubkey(key);
    }
    builder.build()
}

/// Check for an update: `manual` ("Check now") checks whatever the rules say; otherwise only
/// when the engine says a check is due. Returns the status after it.
pub async fn check<R: Runtime>(
    app: &AppHandle<R>,
    manual: bool,
) -> Result<UpdateStatus, ErrorPayload> {
    let engine = engine(app)?;
    let payload = |e: Error| ErrorPayload::from(&e);
    if !pubkey(app).is_some_and(|k| k.starts_with(KEY_PREFIX)) {
        set_state(app, UpdateState::NotConfigured).await;
        return status(app).await;
    }
    let busy = matches!(
        app.state::<Updates>().lock().state,
        UpdateState::Checking | UpdateState::Installing { .. } | UpdateState::WaitingForJobs { .. }
    );
    if busy || (!manual && engine.update_check_due().await.map_err(payload)? != CheckDue::Due) {
        return status(app).await;
    }
    // Saved before asking: a server that is down is asked again tomorrow, not every hour.
    engine.record_update_check().await.map_err(payload)?;
    set_state(app, UpdateState::Checking).await;
    let found = match updater(app) {
        Ok(u) => u.check().await,
        Err(e) => Err(e),
    };
    let state = match found {
        Ok(Some(update)) => {
            let state = offer(&update);
            app.state::<Updates>().lock().offered = Some(update);
            state
        }
        Ok(None) => UpdateState::UpToDate,
        Err(e) => UpdateState::Failed {
            error: ErrorPayload::from(&update_error(e)),
            version: None,
        },
    };
    set_state(app, state).await;
    status(app).await
}

fn offer(update: &Update) -> UpdateState {
    UpdateState::Available {
        version: update.version.clone(),
        notes: update.body.clone(),
        date: update.date.map(offsite_core::catalog::format_timestamp),
    }
}

/// Download the offered package and verify its signature (the plugin's `download`: the bytes
/// are returned only when they match the key and the announced version).
pub async fn download_verified(update: &Update) -> Result<Vec<u8>, Error> {
    update
        .download(|_, _| {}, || {})
        .await
        .map_err(update_error)
}

/// "Install and restart": now when no job runs, else when the last one has ended ("install
/// when idle"). Returns at once with the status; the rest runs in the background.
pub async fn install<R: Runtime>(app: &AppHandle<R>) -> Result<UpdateStatus, ErrorPayload> {
    let Some(update) = app.state::<Updates>().lock().offered.clone() else {
        return Err(ErrorPayload::from(
            &Error::new(ErrorKind::NotFound, "no update is offered")
                .with_hint("check for updates first"),
        ));
    };
    // Claimed in one step: a second "Install" while one waits or runs starts nothing.
    let claimed = {
        let updates = app.state::<Updates>();
        let mut inner = updates.lock();
        let under_way = matches!(
            inner.state,
            UpdateState::Installing { .. } | UpdateState::WaitingForJobs { .. }
        );
        if !under_way {
            let version = update.version.clone();
            inner.set(UpdateState::Installing { version });
        }
        !under_way
    };
    if !claimed {
        return status(app).await;
    }
    let version = Some(update.version.clone());
    let gate = match engine(app) {
        Ok(engine) => match engine.update_install_gate().await {
            Ok(gate) => Ok((engine, gate)),
            Err(e) => Err(ErrorPayload::from(&e)),
        },
        Err(e) => Err(e),
    };
    let engine = match gate {
        Ok((engine, InstallGate::Now)) => engine,
        Ok((engine, InstallGate::WaitForJobs { running })) => {
            let version = update.version.clone();
            set_state(app, UpdateState::WaitingForJobs { version, running }).await;
            engine
        }
        Err(error) => {
            set_state(app, UpdateState::Failed { error, version }).await;
            return status(app).await;
        }
    };
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        // A failed install keeps the offer: "Install and restart" can be tried again.
        if let Err(error) = install_when_idle(&handle, &engine, &update).await {
            let version = Some(update.version.clone());
            set_state(&handle, UpdateState::Failed { error, version }).await;
        }
    });
    status(app).await
}

/// Wait for no job, download and verify, look again (a job may have started meanwhile),
/// install, restart.
async fn install_when_idle<R: Runtime>(
    app: &AppHandle<R>,
    engine: &Engine,
    update: &Update,
) -> Result<(), ErrorPayload> {
    let payload = |e: Error| ErrorPayload::from(&e);
    let version = update.version.clone();
    wait_for_idle(app, engine, &version).await?;
    set_state(
        app,
        UpdateState::Installing {
            version: version.clone(),
        },
    )
    .await;
    let bytes = download_verified(update).await.map_err(payload)?;
    wait_for_idle(app, engine, &version).await?;
    set_state(app, UpdateState::Installing { version }).await;
    update
        .install(&bytes)
        .map_err(|e| payload(update_error(e)))?;
    app.restart();
}

async fn wait_for_idle<R: Runtime>(
    app: &AppHandle<R>,
    engine: &Engine,
    version: &str,
) -> Result<(), ErrorPayload> {
    loop {
        match engine
            .update_install_gate()
            .await
            .map_err(|e| ErrorPayload::from(&e))?
        {
            InstallGate::Now => return Ok(()),
            InstallGate::WaitForJobs { running } => {
                let version = version.to_string();
                let waiting = UpdateState::WaitingForJobs { version, running };
                if app.state::<Updates>().lock().state != waiting {
                    set_state(app, waiting).await;
                }
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }
}

/// The automatic checks for the app's lifetime: every hour the engine is asked whether one is
/// due (at most once a day, never when turned off).
pub fn spawn_checks<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(FIRST_TICK).await;
        loop {
            if let Err(e) = check(&app, false).await {
                eprintln!("warning: update check: {}", e.message);
            }
            tokio::time::sleep(TICK).await;
        }
    });
}

/// The plugin's error as the engine's: a bad signature is an integrity error.
pub fn update_error(e: tauri_plugin_updater::Error) -> Error {
    use tauri_plugin_updater::Error as U;
    match e {
        U::Minisign(_)
        | U::Base64(_)
        | U::SignatureUtf8(_)
        | U::SignedVersionMismatch { .. }
        | U::MissingSignedVersion => Error::new(
            ErrorKind::Integrity,
            format!("the update's signature is not valid, so it was not installed ({e})"),
        )
        .with_hint(
            "the update server may be misconfigured or the download tampered with; try again \
             later, or download Offsite from its website",
        ),
        U::Reqwest(_) | U::Network(_) => Error::new(
            ErrorKind::Connection,
            format!("could not reach the update server: {e}"),
        )
        .with_hint("check the network; Offsite tries again tomorrow"),
        other => Error::new(ErrorKind::Io, format!("updating failed: {other}")),
    }
}
