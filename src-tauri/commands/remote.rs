//! A project's backup server (an Offsite agent, `offsite serve`): its certificate fingerprint
//! (trust on first use: shown for the user to compare before saving), set or remove it (the
//! token goes into the keychain and never comes out), a backup made on the server and brought
//! home; its artifact bucket (dumps made elsewhere, in an S3-compatible bucket: set or remove it,
//! the secret key into the keychain); and a pull of what the server and the bucket have that
//! this computer does not — both jobs.

use super::{err, CmdResult};
use crate::jobs::{spawn_job, JobRegistry, JobSubject};
use crate::Shell;
use offsite_core::catalog::{Components, JobKind};
use offsite_core::ops::{ArtifactsSettings, ServerSettings};
use offsite_core::transfer::Fingerprint;
use tauri::{AppHandle, Runtime, State};

/// `SHA256:AB:CD:…`, as `offsite serve` prints it (easier to compare by eye); the engine reads
/// this form back.
pub fn colon_form(fp: &Fingerprint) -> String {
    let hex: Vec<String> = fp.0.iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256:{}", hex.join(":"))
}

/// The fingerprint of the TLS certificate the server at `url` shows now (`SHA256:AB:CD:…`), for
/// the user to compare with the one `offsite serve` printed; `null` for a plain `http://` server.
#[tauri::command]
#[specta::specta]
pub async fn server_fingerprint(shell: State<'_, Shell>, url: String) -> CmdResult<Option<String>> {
    let fp = shell
        .engine()?
        .server_fingerprint(&url)
        .await
        .map_err(err)?;
    Ok(fp.as_ref().map(colon_form))
}

/// Set (or with `null` remove, with its token) the project's backup server. For `https` the
/// fingerprint must be the one the server shows now; the token (`null`: keep the stored one) is
/// checked against the server before anything is saved, then kept in the keychain.
#[tauri::command]
#[specta::specta]
pub async fn set_server(
    shell: State<'_, Shell>,
    project: String,
    settings: Option<ServerSettings>,
) -> CmdResult<Components> {
    let engine = shell.engine()?;
    engine.set_server(&project, settings).await.map_err(err)
}

/// Set (or with `null` remove, with its secret key) the project's artifact bucket. The keys are
/// checked by listing the bucket under the prefix before anything is saved; the secret
/// (`null`: keep the stored one) then goes into the keychain and is never returned.
#[tauri::command]
#[specta::specta]
pub async fn set_artifacts(
    shell: State<'_, Shell>,
    project: String,
    settings: Option<ArtifactsSettings>,
) -> CmdResult<Components> {
    let engine = shell.engine()?;
    engine.set_artifacts(&project, settings).await.map_err(err)
}

/// Start a backup of `project` on its backup server; returns the job id at once. Progress: the
/// server's, then the download's bytes; `job-finished` carries `result.backup`, the downloaded
/// archive, verified and registered. `backup_type` `null`: the project's default type.
#[tauri::command]
#[specta::specta]
pub fn start_remote_backup<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    project: String,
    backup_type: Option<String>,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: Some(project.clone()),
        label: project.clone(),
    };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Backup,
        subject,
        |start| async move {
            engine
                .remote_backup(&project, backup_type.as_deref(), None, start)
                .await
        },
    ))
}

/// Start pulling what `project`'s backup server and artifact bucket have that this computer does
/// not (as `offsite pull`: the server's finished backups, then the bucket's new artifacts, each
/// checked, verified and registered), as one job with its own progress; returns the job id at
/// once. `job-finished` carries
/// `result: { kind: "pull", server, downloaded, already_local, in_progress, artifacts }`.
#[tauri::command]
#[specta::specta]
pub fn start_pull<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    project: String,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: Some(project.clone()),
        label: project.clone(),
    };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Pull,
        subject,
        |start| async move { engine.pull(&project, start).await },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_shown_as_offsite_serve_prints_it_and_reads_back() {
        let fp = Fingerprint([0xab; 32]);
        let shown = colon_form(&fp);
        assert!(shown.starts_with("SHA256:AB:AB:"));
        assert_eq!(shown.len(), "SHA256:".len() + 32 * 3 - 1);
        assert_eq!(shown.parse::<Fingerprint>().unwrap(), fp);
    }
}
