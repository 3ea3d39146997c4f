//! A project's backup server (an Offsite agent, `offsite serve`): set it (trust on first use of
//! its certificate), trigger a backup there and bring the archive home, and pull the server's
//! finished backups the catalog does not have yet.
//!
//! A downloaded archive goes through the one download path ([`crate::transfer`]: `.part` file,
//! resume, fresh signed URLs, size and SHA-256 checked), then through the import of an Offsite
//! archive already in the backup folder ([`super::import::import_into`]): verified member by
//! member, `.sha256` written, registered and marked verified. On any failure nothing is left:
//! no `.part`, no archive, no catalog entry.
//!
//! The token is in the keychain (`project:<name>:server-token`), or for headless runs in
//! `OFFSITE_SERVER_TOKEN`; never in the catalog, an error or a log.

use super::components::{non_empty, secret_of};
use super::import::import_into;
use super::remote_name;
use super::runner::{self, RunningJob};
use super::tested_sources::{note, Tried};
use crate::catalog::SourceKind;
use crate::catalog::{BackupRecord, Components, JobKind, Project, ServerComponent};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::import::{self, ImportKind};
use crate::ops::job::JobStart;
use crate::sources::agent::{download_cancelled, parse_server_url, AgentBackup, AgentClient};
use crate::transfer::Fingerprint;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// The environment variable a headless run may give the server token in.
pub use crate::secrets::SERVER_TOKEN_ENV;

/// The keychain key of a project's backup-server token: `project:<name>:server-token`.
pub fn project_server_token_key(project_name: &str) -> String {
    format!("project:{project_name}:server-token")
}

/// A backup server as the window and the CLI send it (the token is write-only).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ServerSettings {
    /// `https://HOST:PORT`.
    pub url: String,
    /// The project's id on the agent.
    pub project: String,
    /// Stored in the keychain; `null` keeps the stored one. Never returned.
    pub token: Option<String>,
    /// The certificate fingerprint the user compared (`SHA256:…`), required for `https`: the
    /// server must show exactly this certificate now (see [`server_fingerprint`]).
    pub fingerprint: Option<String>,
    /// Allow plain `http://` to a server on another machine (`--insecure-http`): the token and
    /// the backups cross the network unencrypted. Loopback needs no consent.
    #[serde(default)]
    pub insecure_http: bool,
}

/// The fingerprint of the certificate the server at `url` shows now (trust on first use: show
/// it, let the user compare it with the one `offsite serve` printed, then save it with
/// [`set_server`]). `None` for an `http://` server.
pub(crate) async fn server_fingerprint(url: &str) -> Result<Option<Fingerprint>> {
    let u = parse_server_url(url)?;
    if u.scheme() != "https" {
        return Ok(None);
    }
    crate::transfer::server_fingerprint(u.as_str(), Duration::from_secs(15))
        .await
        .map(Some)
}

/// Set (or with `None` remove) a project's backup server. For `https`, the fingerprint given
/// must be the one the server shows now (a mismatch names both); the token is checked against
/// the server (`GET …/backups`) before anything is saved.
pub(crate) async fn set_server(
    engine: &Engine,
    project: &str,
    settings: Option<ServerSettings>,
) -> Result<Components> {
    let p = engine.catalog.project(project).await?;
    let mut c = engine.catalog.components(&p.id).await?;
    let key = project_server_token_key(&p.name);
    let Some(s) = settings else {
        c.server = None;
        engine.catalog.set_components(&p.id, &c).await?;
        let _ = engine.secrets.delete(&key);
        return Ok(c);
    };
    let (server, given) = prepare(engine, &key, s).await?;
    if let Some(t) = given {
        engine.secrets.set(&key, &t)?;
    }
    c.server = Some(server);
    engine.catalog.set_components(&p.id, &c).await?;
    // Checked by connecting before it was saved: a passed test.
    note(engine, &p.id, SourceKind::Server, Tried::ByTest, &Ok(())).await;
    Ok(c)
}

/// The backup server `s` describes, checked against the server (its certificate, the project
/// id and the token), and the token to store (`None`: the one under `key` or in the
/// environment is used); nothing is written.
pub(crate) async fn prepare(
    engine: &Engine,
    key: &str,
    s: ServerSettings,
) -> Result<(ServerComponent, Option<String>)> {
    let url = parse_server_url(&s.url)?;
    crate::sources::agent::check_plain_http(&url, s.insecure_http)?;
    let fingerprint = match url.scheme() {
        "https" => {
            let given: Fingerprint = non_empty(s.fingerprint)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NeedsConsent,
                        "the server's certificate fingerprint was not confirmed",
                    )
                    .with_hint("compare the fingerprint the server shows with the one `offsite serve` printed, then pass it with --trust-fingerprint SHA256:…")
                })?
                .parse()?;
            let shown = server_fingerprint(url.as_str()).await?;
            if shown != Some(given) {
                let m = crate::transfer::FingerprintMismatch {
                    expected: given,
                    got: shown.unwrap_or(Fingerprint([0; 32])),
                };
                return Err(m.to_error());
            }
            Some(given)
        }
        _ => None,
    };
    let given = non_empty(s.token);
    let token = match given.clone() {
        Some(t) => t,
        None => {
            secret_of(engine, key, SERVER_TOKEN_ENV, "backup server token")?.ok_or_else(|| {
                Error::new(ErrorKind::Secrets, "the backup server's token is missing").with_hint(
                    "create one on the server (`offsite serve token create --project ID`) and \
                     give it once (--token-stdin, or OFFSITE_SERVER_TOKEN)",
                )
            })?
        }
    };
    let server = ServerComponent {
        url: url.to_string(),
        project: s.project.trim().to_string(),
        fingerprint: fingerprint.map(|f| f.to_string()),
        insecure_http: s.insecure_http && url.scheme() == "http",
    };
    // The server, the project id and the token work together, or nothing is saved. Asked once:
    // someone is waiting for the answer, and a wrong address should fail at once.
    let mut client = AgentClient::new(
        &server.url,
        &server.project,
        &token,
        fingerprint,
        server.insecure_http,
    )?;
    client.api_retry.max_attempts = 1;
    client.backups().await?;
    Ok((server, given))
}

/// The agent client of a project (its server, pinned fingerprint and token).
pub(crate) async fn client_of(engine: &Engine, project: &Project) -> Result<AgentClient> {
    let c = engine.catalog.components(&project.id).await?;
    let s = c.server.ok_or_else(|| {
        Error::invalid(format!("project {} has no backup server", project.name)).with_hint(
            "add one: offsite project components NAME --server https://HOST:PORT --server-project ID --token-stdin",
        )
    })?;
    client_for(engine, project, &s)
}

fn client_for(engine: &Engine, project: &Project, s: &ServerComponent) -> Result<AgentClient> {
    let key = project_server_token_key(&project.name);
    let token = secret_of(engine, &key, SERVER_TOKEN_ENV, "backup server token")?.ok_or_else(
        || {
            Error::new(ErrorKind::Secrets, "the backup server's token is missing").with_hint(
                "give it again: offsite project components NAME --server URL --server-project ID --token-stdin (or set OFFSITE_SERVER_TOKEN)",
            )
        },
    )?;
    let fp = s.fingerprint.as_deref().map(str::parse).transpose()?;
    let mut client = AgentClient::new(&s.url, &s.project, &token, fp, s.insecure_http)?;
    if let Some(ms) = std::env::var(POLL_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        client.poll_interval = Duration::from_millis(ms.max(50));
    }
    Ok(client)
}

/// How often the status of a remote backup is asked for, in milliseconds (default 1000).
pub const POLL_ENV: &str = "OFFSITE_SERVER_POLL_MS";

/// What `backup --remote` made.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RemoteBackupOutcome {
    pub job_id: String,
    /// The backup's id on the server.
    pub server_backup_id: String,
    pub backup: BackupRecord,
}

/// Trigger a backup of `project` on its server (`backup_type`: full, database, storage or
/// config; default: the project's default type, else full; `selection`: the run's own, else
/// the project's, for database and full backups), follow its progress, download, verify and
/// register the archive — one job.
pub(crate) async fn backup(
    engine: &Engine,
    project: &str,
    backup_type: Option<&str>,
    selection: Option<crate::selection::BackupSelection>,
    start: JobStart,
) -> Result<RemoteBackupOutcome> {
    let p = engine.catalog.project(project).await?;
    let comps = engine.catalog.components(&p.id).await?;
    let t = match backup_type.or(comps.default_type.as_deref()) {
        Some(t) => super::parse_backup_type(t)?,
        None => crate::archive::BackupType::Full,
    };
    if t == crate::archive::BackupType::Incremental {
        return Err(Error::invalid(
            "a backup server makes full, database, storage or config backups",
        ));
    }
    let selection = server_selection(engine, &p, t, selection).await?;
    let client = client_of(engine, &p).await?;
    let (pr, cr, asked) = (&p, &client, selection.as_ref());
    let (job_id, (server_id, backup)) = runner::run(
        engine,
        JobKind::Backup,
        Some(&p),
        start,
        |(_, b): &(String, BackupRecord)| Some(b.id.clone()),
        |job| async move {
            let recipients = super::encrypted_read::agent_recipients(engine, pr).await?;
            let created = cr.start_backup(t.as_str(), &recipients, asked).await;
            note(engine, &pr.id, SourceKind::Server, Tried::ByJob, &created).await;
            let created = created?;
            let done = cr
                .wait(&created.backup_id, &job.reporter, &job.cancel)
                .await?;
            // The server made it: a cancel from here on leaves it there (and says so).
            let record = fetch(engine, pr, cr, &done, asked, &job)
                .await
                .map_err(|e| {
                    if e.kind() == ErrorKind::Cancelled {
                        download_cancelled(&created.backup_id, &cr.server())
                    } else {
                        e
                    }
                })?;
            Ok((created.backup_id, record))
        },
    )
    .await?;
    Ok(RemoteBackupOutcome {
        job_id,
        server_backup_id: server_id,
        backup,
    })
}

/// What the backup server's part of a pull did.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PullOutcome {
    /// The archives downloaded and registered (each by the pull's job).
    pub downloaded: Vec<BackupRecord>,
    /// Completed backups on the server the catalog already had.
    pub already_local: u32,
    /// Backups still being made on the server (fetched by a later pull).
    pub in_progress: u32,
    /// The server's point-in-time capture brought here (chains, new segments).
    pub pitr: super::pitr::pull::PitrPulled,
}

/// Download the server's completed backups of `project` that the catalog does not have (by
/// their SHA-256), oldest first, each verified and registered, inside the pull's `job`. Stops at
/// the first failure (what was registered stays).
async fn pull_server(
    engine: &Engine,
    project: &Project,
    client: &AgentClient,
    job: &RunningJob,
) -> Result<PullOutcome> {
    let mut out = PullOutcome::default();
    let listed = client.backups().await;
    note(
        engine,
        &project.id,
        SourceKind::Server,
        Tried::ByJob,
        &listed,
    )
    .await;
    let listed = listed?;
    let local: std::collections::HashSet<String> = engine
        .catalog
        .backups(&project.id)
        .await?
        .into_iter()
        .map(|b| b.sha256.to_ascii_lowercase())
        .collect();
    let mut todo = Vec::new();
    for b in listed.into_iter().rev() {
        if b.status == "CREATING" {
            out.in_progress += 1;
        } else if !b.is_completed() {
            continue;
        } else if b
            .sha256
            .as_deref()
            .is_some_and(|s| local.contains(&s.to_ascii_lowercase()))
        {
            out.already_local += 1;
        } else {
            todo.push(b);
        }
    }
    for b in todo {
        job.check_cancelled()?;
        out.downloaded
            .push(fetch(engine, project, client, &b, None, job).await?);
    }
    // Then its point-in-time capture: the chains whose base is here, their new segments.
    out.pitr = super::pitr::pull::pull(engine, project, client, job).await?;
    Ok(out)
}

/// What a pull did: the backup server's part and the artifact bucket's, each `None` when the
/// project has no such thing.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PullAllOutcome {
    /// The pull's job (one job of kind pull, whatever it downloaded).
    pub job_id: String,
    pub server: Option<PullOutcome>,
    pub artifacts: Option<super::artifacts::ArtifactPullOutcome>,
}

/// `offsite pull` and the window's "Pull new", as ONE job of kind pull: the backup server's new
/// backups, then the artifact bucket's new files ([`super::artifacts::pull_in`]), each
/// downloaded, checked, verified and registered under the pull's job id, with the pull's
/// progress. Refused before the job starts (naming both) when the project has neither; stops at
/// the first failure (what was registered stays, and the job fails).
pub(crate) async fn pull(
    engine: &Engine,
    project: &str,
    start: JobStart,
) -> Result<PullAllOutcome> {
    let p = engine.catalog.project(project).await?;
    let comps = engine.catalog.components(&p.id).await?;
    if comps.server.is_none() && comps.artifacts.is_none() {
        return Err(Error::invalid(format!(
            "project {} has no backup server and no artifact bucket",
            p.name
        ))
        .with_hint(
            "add one: in the window's Backup server or Artifact bucket section, or with offsite project components NAME --server https://HOST:PORT --server-project ID, or --artifacts s3://BUCKET/PREFIX --s3-endpoint URL --s3-key-id ID",
        ));
    }
    let client = match &comps.server {
        Some(s) => Some(client_for(engine, &p, s)?),
        None => None,
    };
    let bucket = match &comps.artifacts {
        Some(_) => Some(super::artifacts::bucket_of(engine, &p).await?),
        None => None,
    };
    let pr = &p;
    let (job_id, (server, artifacts)) = runner::run(
        engine,
        JobKind::Pull,
        Some(&p),
        start,
        |(s, a): &(
            Option<PullOutcome>,
            Option<super::artifacts::ArtifactPullOutcome>,
        )| {
            // The newest backup the pull registered.
            let from_bucket = a.as_ref().and_then(|a| a.imported.last());
            let from_server = s.as_ref().and_then(|s| s.downloaded.last());
            from_bucket.or(from_server).map(|b| b.id.clone())
        },
        |job| async move {
            let server = match &client {
                Some(c) => Some(pull_server(engine, pr, c, &job).await?),
                None => None,
            };
            let artifacts = match &bucket {
                Some(b) => Some(super::artifacts::pull_in(engine, pr, b, &job).await?),
                None => None,
            };
            Ok((server, artifacts))
        },
    )
    .await?;
    Ok(PullAllOutcome {
        job_id,
        server,
        artifacts,
    })
}

/// Download a completed backup into the project's backup folder, verify and register it; on
/// failure remove what was written. A backup the server names no file for is downloaded as
/// `remote_<id>` and named by its bytes (`.tar.zst`, `.tar.gz`, `.age` appended when encrypted,
/// see [`super::remote_name`]) before it is inspected.
async fn fetch(
    engine: &Engine,
    project: &Project,
    client: &AgentClient,
    b: &AgentBackup,
    asked: Option<&crate::selection::BackupSelection>,
    job: &RunningJob,
) -> Result<BackupRecord> {
    let dir = engine.backup_dir_of(project);
    let dir_existed = dir.is_dir();
    crate::private_fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let given = remote_name::given(b);
    let downloaded = dir.join(given.clone().unwrap_or_else(|| remote_name::stem(b)));
    // The file this pull put in the folder (renamed once its bytes named it), removed on
    // failure; never a file that was there before.
    let mut placed: Option<std::path::PathBuf> = None;
    let r = async {
        download(client, b, &downloaded, job).await?;
        placed = Some(downloaded.clone());
        job.check_cancelled()?;
        if given.is_none() {
            let keys = super::encryption::keys_of(engine, &project.name).unwrap_or_default();
            let d = downloaded.clone();
            let named =
                tokio::task::spawn_blocking(move || remote_name::named_by_content(&d, keys))
                    .await
                    .map_err(|e| Error::internal(format!("naming task failed: {e}")))??;
            placed = Some(named);
        }
        let archive = placed.clone().unwrap_or_else(|| downloaded.clone());
        fetch_into(engine, project, client, &archive, asked, job).await
    }
    .await;
    if r.is_err() {
        if let Some(p) = &placed {
            let _ = std::fs::remove_file(p);
        }
        if !dir_existed {
            let _ = std::fs::remove_dir(&dir); // only when empty
        }
    }
    r
}

/// The archive of `b` downloaded to `target`, which must not exist.
async fn download(
    client: &AgentClient,
    b: &AgentBackup,
    target: &Path,
    job: &RunningJob,
) -> Result<()> {
    if target.symlink_metadata().is_ok() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("{} already exists", target.display()),
        )
        .with_hint("a file of that name is already in the project's backup folder"));
    }
    let source = client.archive(&b.backup_id);
    client
        .downloader()
        .download(&source, target, &job.reporter, &job.cancel)
        .await
        .map(|_| ())
}

/// What a server backup of type `t` is asked to hold: the run's own selection, else the
/// project's (`None`: the whole database, or a storage or config backup).
async fn server_selection(
    engine: &Engine,
    project: &Project,
    t: crate::archive::BackupType,
    given: Option<crate::selection::BackupSelection>,
) -> Result<Option<crate::selection::BackupSelection>> {
    use crate::archive::BackupType;
    if !matches!(t, BackupType::Database | BackupType::Full) {
        return match given.filter(|s| *s != Default::default()) {
            Some(_) => Err(Error::invalid(
                "a selection of schemas and tables applies to database and full backups",
            )),
            None => Ok(None),
        };
    }
    let s = super::backup::selection_for(engine, project, given).await?;
    Ok((s != Default::default()).then_some(s))
}

/// The downloaded archive at `target` inspected (an encrypted one opened with the project's
/// keys), verified and registered where it is.
async fn fetch_into(
    engine: &Engine,
    project: &Project,
    client: &AgentClient,
    target: &Path,
    asked: Option<&crate::selection::BackupSelection>,
    job: &RunningJob,
) -> Result<BackupRecord> {
    let inspected = {
        // An archive the agent encrypted to the project's recipients opens with its keys.
        let keys = super::encryption::keys_of(engine, &project.name).unwrap_or_default();
        let (t, bin, work, cancel) = (
            target.to_path_buf(),
            engine.pg_bin(),
            engine.decrypt_dir(),
            job.cancel.clone(),
        );
        tokio::task::spawn_blocking(move || {
            import::inspect_full_with(&t, bin.as_deref(), &keys, Some(&work), &cancel)
        })
        .await
        .map_err(|e| Error::internal(format!("inspect task failed: {e}")))??
    };
    if inspected.preview.kind != ImportKind::OffsiteArchive {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "the server {} sent a file that is not an Offsite archive",
                client.server()
            ),
        ));
    }
    if let Some(asked) = asked {
        let held = crate::archive::read_manifest(inspected.read_path())?.selection;
        if held.as_ref() != Some(asked) {
            return Err(Error::integrity(format!(
                "the server {} made a backup of the whole database although a selection of \
                 schemas and tables was asked: it runs an Offsite that does not know selections",
                client.server()
            ))
            .with_hint("update Offsite on the server, or back the project up from this computer; nothing was registered"));
        }
    }
    let dir = target
        .parent()
        .ok_or_else(|| Error::internal("the archive has no folder"))?;
    import_into(
        engine,
        inspected,
        project,
        dir,
        true,
        crate::catalog::BackupOrigin::Server,
        job,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_key_is_the_projects() {
        assert_eq!(
            project_server_token_key("shop"),
            "project:shop:server-token"
        );
    }
}
