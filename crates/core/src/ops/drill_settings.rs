//! A project's drill settings (`drill::settings`): read, change (the scratch server's password
//! kept in the secret store, never in the catalog), and what a drill run without an explicit
//! target uses (`ops::drill`, scheduled drills).

use crate::catalog::{DrillSettingsRow, Project};
use crate::drill::scratch::ScratchServer;
use crate::drill::settings::{
    check_server_url, check_storage_sample, server_password_key, DrillSettings,
    DrillSettingsChange, TargetSetting,
};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::drill::DrillOptions;
use crate::secrets::{lookup, Lookup, SecretStore};

/// The drill settings of project `name`, as the front ends show them.
pub(crate) async fn get(engine: &Engine, name: &str) -> Result<DrillSettings> {
    let project = engine.catalog.project(name).await?;
    of(engine, &project).await
}

async fn of(engine: &Engine, project: &Project) -> Result<DrillSettings> {
    let row = engine.catalog.drill_settings(&project.id).await?;
    let server_password_saved = row.server_url.is_some()
        && matches!(
            lookup(engine.secrets.as_ref(), &server_password_key(&project.name))?,
            Lookup::Found(_)
        );
    Ok(DrillSettings {
        server_url: row.server_url,
        server_password_saved,
        storage_sample: row.storage_sample,
    })
}

/// Change the drill settings of project `name`; returns them as saved.
pub(crate) async fn set(
    engine: &Engine,
    name: &str,
    change: DrillSettingsChange,
) -> Result<DrillSettings> {
    let project = engine.catalog.project(name).await?;
    let mut row = engine.catalog.drill_settings(&project.id).await?;
    let old_server = row.server_url.clone();
    if let Some(target) = &change.target {
        row.server_url = match target {
            TargetSetting::Throwaway => None,
            TargetSetting::Server(url) => Some(check_server_url(url)?),
        };
    }
    if let Some(sample) = change.storage_sample {
        row.storage_sample = sample.map(check_storage_sample).transpose()?;
    }
    if change.server_password.is_some() && row.server_url.is_none() {
        return Err(Error::invalid(
            "a password is for a scratch server, and no scratch server is set for drills",
        )
        .with_hint(format!(
            "name the server too: offsite drill config {} --server URL --password-stdin",
            project.name
        )));
    }
    let key = server_password_key(&project.name);
    let secrets = engine.secrets.as_ref();
    // The password is saved before the catalog names its server, so a saved server never lacks
    // the password that was given for it.
    if let Some(pw) = change.server_password.as_deref().filter(|p| !p.is_empty()) {
        secrets.set(&key, pw)?;
    }
    engine.catalog.set_drill_settings(&project.id, &row).await?;
    // A password belongs to its server: none kept for a throwaway cluster or a new server
    // named without one (best effort: a read-only or unreachable store keeps nothing of ours).
    if change.server_password.is_none() && row.server_url != old_server {
        let _ = secrets.delete(&key);
    }
    of(engine, &project).await
}

/// Where a drill of `project` restores and how many storage objects it checks: the run's own
/// choice (`--throwaway`, `--server URL` with its password given or in the URL) or else the
/// saved settings. A run naming the saved server (same host, port and role) without a password
/// takes the saved password. The keychain is read only when a saved password is needed.
pub(crate) async fn for_run(
    engine: &Engine,
    project: &Project,
    opts: &DrillOptions,
) -> Result<(Option<ScratchServer>, Option<u32>)> {
    let row: DrillSettingsRow = engine.catalog.drill_settings(&project.id).await?;
    let saved = row
        .server_url
        .as_deref()
        .map(|url| ScratchServer::parse(url, None))
        .transpose()?;
    let server = if opts.throwaway {
        if opts.server.is_some() {
            return Err(Error::invalid(
                "a drill restores either into a throwaway cluster or into a scratch server, not both",
            ));
        }
        None
    } else if let Some(url) = &opts.server {
        let mut server = ScratchServer::parse(url, None)?;
        if let Some(pw) = &opts.server_password {
            server.password = Some(pw.clone());
        } else if server.password.is_none()
            && saved.as_ref().is_some_and(|s| same_server(s, &server))
        {
            server.password = saved_password(engine.secrets.as_ref(), &project.name)?;
        }
        Some(server)
    } else {
        match saved {
            Some(mut server) => {
                server.password = match &opts.server_password {
                    Some(pw) => Some(pw.clone()),
                    None => saved_password(engine.secrets.as_ref(), &project.name)?,
                };
                Some(server)
            }
            None if opts.server_password.is_some() => {
                return Err(Error::invalid(
                    "a password was given, but this drill restores into a throwaway cluster",
                )
                .with_hint("name the scratch server with --server URL"))
            }
            None => None,
        }
    };
    Ok((server, row.storage_sample))
}

fn same_server(a: &ScratchServer, b: &ScratchServer) -> bool {
    a.spec.host == b.spec.host && a.spec.port == b.spec.port && a.spec.user == b.spec.user
}

/// The saved scratch server's password: `None` when none is kept (the server may not ask for
/// one); an unreachable keychain is its error (its hint says what to do headless).
pub(crate) fn saved_password(secrets: &dyn SecretStore, project: &str) -> Result<Option<String>> {
    match lookup(secrets, &server_password_key(project))? {
        Lookup::Found(pw) => Ok(Some(pw)),
        Lookup::Missing => Ok(None),
        Lookup::Unavailable(e) => Err(e),
    }
}

/// A renamed project's drill server password moves to its new key.
pub(crate) fn rename_secret(secrets: &dyn SecretStore, old: &str, new: &str) -> Result<()> {
    let (from, to) = (server_password_key(old), server_password_key(new));
    if let Some(pw) = secrets.get(&from)? {
        secrets.set(&to, &pw)?;
        secrets.delete(&from)?;
    }
    Ok(())
}
