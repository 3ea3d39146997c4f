//! A project's backup server (an Offsite agent): the `--server` flags of `project add` and
//! `project components`, `offsite backup NAME --remote` and `offsite pull NAME`.

use crate::output::Out;
use clap::Args;
use offsite_core::ops::BackupOutcome;
use offsite_core::ops::ServerSettings;
use offsite_core::{Engine, Error, ErrorKind, JobStart, Result};
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};

/// A project's backup server, as flags.
#[derive(Args, Debug, Default, Clone)]
pub struct ServerArgs {
    /// The project's backup server: an Offsite agent (`offsite serve`) at https://HOST:PORT.
    /// `backup NAME --remote` makes backups there; `pull NAME` downloads them.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// The project's id on the server (a project name in the agent's config file).
    #[arg(long, value_name = "ID", requires = "server")]
    pub server_project: Option<String>,
    /// Read the server's token (`offsite serve token create` on the server) from standard input
    /// (the last line, after the password, S3 secret and Supabase token). Without it:
    /// $OFFSITE_SERVER_TOKEN. Kept in the keychain.
    #[arg(long, requires = "server")]
    pub token_stdin: bool,
    /// Trust the server's certificate with this fingerprint (as `offsite serve` printed it)
    /// without asking. Without it, the fingerprint is shown and asked about on a terminal.
    #[arg(long, value_name = "SHA256:…", requires = "server")]
    pub trust_fingerprint: Option<String>,
    /// Allow a plain http:// server on another machine. Without it such a server is refused:
    /// its token and the backups would cross the network unencrypted. Only when something else
    /// encrypts the way (a VPN, an SSH tunnel); http to localhost needs no flag.
    #[arg(long, requires = "server")]
    pub insecure_http: bool,
}

impl ServerArgs {
    pub fn stdin_lines(&self) -> usize {
        usize::from(self.token_stdin)
    }

    /// Set the project's server (after its other components; `token` is the stdin line).
    pub async fn apply(&self, engine: &Engine, project: &str, token: Option<String>) -> Result<()> {
        if let Some(settings) = self.settings(engine, token).await? {
            engine.set_server(project, Some(settings)).await?;
        }
        Ok(())
    }

    /// The server the flags name (its fingerprint confirmed on a terminal), `None` without
    /// `--server`; `token` is the stdin line.
    pub async fn settings(
        &self,
        engine: &Engine,
        token: Option<String>,
    ) -> Result<Option<ServerSettings>> {
        let Some(url) = &self.server else {
            return Ok(None);
        };
        let server_project = self.server_project.clone().ok_or_else(|| {
            Error::invalid("--server needs --server-project ID")
                .with_hint("the project's name in the agent's config file (`[projects.ID]`)")
        })?;
        // Refused before anything is asked or sent (the token included).
        offsite_core::sources::agent::check_plain_http(
            &offsite_core::sources::agent::parse_server_url(url)?,
            self.insecure_http,
        )?;
        let fingerprint = match &self.trust_fingerprint {
            Some(f) => Some(f.clone()),
            None => match engine.server_fingerprint(url).await? {
                None => {
                    eprintln!(
                        "warning: {url} is plain HTTP: the token and the backups cross the network unencrypted"
                    );
                    None
                }
                Some(shown) => Some(confirm_fingerprint(url, &colon_form(&shown))?),
            },
        };
        Ok(Some(ServerSettings {
            url: url.clone(),
            project: server_project,
            token,
            fingerprint,
            insecure_http: self.insecure_http,
        }))
    }
}

/// `SHA256:AB:CD:…`, as `offsite serve` prints it (easier to compare by eye).
fn colon_form(fp: &offsite_core::transfer::Fingerprint) -> String {
    let hex: Vec<String> = fp.0.iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256:{}", hex.join(":"))
}

/// Trust on first use: show the fingerprint; on a terminal ask, otherwise refuse naming it.
fn confirm_fingerprint(url: &str, shown: &str) -> Result<String> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let refuse = || {
        Error::new(
            ErrorKind::NeedsConsent,
            format!("the server {url} shows the certificate fingerprint {shown}, which is not confirmed"),
        )
        .with_hint(format!(
            "compare it with the fingerprint `offsite serve` printed on the server; if they are \
             the same, run again with --trust-fingerprint {shown}"
        ))
    };
    if !interactive {
        return Err(refuse());
    }
    eprintln!("The server {url} shows the TLS certificate fingerprint");
    eprintln!("  {shown}");
    eprint!("Is it the one `offsite serve` printed on the server? Trust it [y/N]: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok();
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(shown.to_string())
    } else {
        Err(refuse())
    }
}

/// `offsite backup NAME --remote`.
pub async fn backup(
    engine: &Engine,
    name: &str,
    backup_type: Option<&str>,
    selection: Option<offsite_core::selection::BackupSelection>,
    out: &Out,
    job: JobStart,
) -> Result<u8> {
    let o = engine
        .remote_backup(name, backup_type, selection, job)
        .await?;
    // The canary compared it as it was registered here.
    let suspicious = engine
        .backup_marks(name)
        .await?
        .remove(&o.backup.id)
        .map(|m| m.suspicious)
        .unwrap_or_default();
    out.backup(&BackupOutcome {
        job_id: o.job_id,
        backup: o.backup,
        copies: Vec::new(),
        suspicious,
    });
    Ok(0)
}

/// `offsite pull NAME`: the backup server's new backups, then the artifact bucket's new files.
pub async fn pull(engine: &Engine, name: &str, out: &Out, job: JobStart) -> Result<u8> {
    let all = engine.pull(name, job).await?;
    let o = all.server.unwrap_or_default();
    let a = all.artifacts.unwrap_or_default();
    if out.json() {
        out.emit(&json!({
            "downloaded": o.downloaded,
            "already_local": o.already_local,
            "in_progress": o.in_progress,
            "imported": a.imported,
            "already_imported": a.already_imported,
            "pitr": o.pitr,
        }));
        return Ok(0);
    }
    for b in o.downloaded.iter().chain(&a.imported) {
        println!("{}", b.path);
    }
    let mut summary = format!(
        "{} downloaded and verified, {} already here",
        crate::words::count(o.downloaded.len(), "new backup"),
        o.already_local
    );
    if o.in_progress > 0 {
        summary.push_str(&format!(
            ", {} still being made on the server",
            o.in_progress
        ));
    }
    if a.imported.len() + a.already_imported as usize > 0 {
        summary.push_str(&format!(
            "; {} imported, {} imported before",
            crate::words::count(a.imported.len(), "artifact"),
            a.already_imported
        ));
    }
    if o.pitr.chains > 0 {
        summary.push_str(&format!(
            "; point in time: {} of {} downloaded",
            crate::words::count(o.pitr.segments as usize, "new change segment"),
            crate::words::count(o.pitr.chains as usize, "chain")
        ));
        if o.pitr.objects > 0 {
            summary.push_str(&format!(
                ", and {} of the Storage objects its capture kept ({})",
                crate::words::count(o.pitr.objects as usize, "file"),
                offsite_core::units::format_bytes(o.pitr.object_bytes)
            ));
        }
        if o.pitr.objects_refused > 0 {
            summary.push_str(&format!(
                " ({} of the server's kept Storage objects left out: see the log)",
                o.pitr.objects_refused
            ));
        }
    }
    eprintln!("{summary}");
    Ok(0)
}
