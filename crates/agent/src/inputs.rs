//! What a backup of a configured project takes beside its database: the storage folder (its
//! first-level folders are buckets) and the configuration files (packed under
//! `config/files/<name>`; the values of `.env` files and the `environment:` values of Compose
//! files replaced by `<redacted>` (see [`crate::redact`]), their keys kept and listed in the
//! manifest's redactions).

use crate::config::ProjectConfig;
pub use crate::redact::{redact_compose, redact_env};
use offsite_core::archive::BackupType;
use offsite_core::backup::{ConfigInput, StorageInput};
use offsite_core::ops::{BackupInputs, ProvidedInputs};
use offsite_core::retry::{RetryPolicy, Retrying};
use offsite_core::sources::folder::FolderSource;
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::storage::BucketSelection;
use offsite_core::storage::PullOptions;
use offsite_core::{Error, Result};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// The engine's [`BackupInputs`] on the agent: the configured folders and files of each
/// project, for API-triggered and scheduled backups alike (a scheduled backup takes the type
/// set with the schedule, else `FULL`).
pub struct AgentInputs {
    projects: BTreeMap<String, ProjectConfig>,
    /// The type of each project's scheduled backups.
    pub(crate) scheduled: RwLock<BTreeMap<String, BackupType>>,
}

impl AgentInputs {
    pub fn new(projects: BTreeMap<String, ProjectConfig>) -> Self {
        AgentInputs {
            projects,
            scheduled: RwLock::new(BTreeMap::new()),
        }
    }
}

impl BackupInputs for AgentInputs {
    fn inputs(
        &self,
        project: &str,
        backup_type: Option<BackupType>,
    ) -> Result<Option<ProvidedInputs>> {
        let Some(p) = self.projects.get(project) else {
            return Ok(None);
        };
        let backup_type = backup_type
            .or_else(|| {
                self.scheduled
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(project)
                    .copied()
            })
            .unwrap_or(BackupType::Full);
        let (storage, config) = for_type(p, backup_type)?;
        Ok(Some(ProvidedInputs {
            backup_type,
            storage,
            config,
        }))
    }

    fn storage(&self, project: &str) -> Result<Option<Option<StorageInput>>> {
        match self.projects.get(project) {
            Some(p) => Ok(Some(storage_input(p)?)),
            None => Ok(None),
        }
    }
}

/// The storage and configuration inputs of a backup of `backup_type`.
pub fn for_type(
    p: &ProjectConfig,
    backup_type: BackupType,
) -> Result<(Option<StorageInput>, Option<ConfigInput>)> {
    if backup_type == BackupType::Incremental {
        return Err(Error::invalid(
            "the agent makes FULL, DATABASE, STORAGE and CONFIG backups",
        ));
    }
    let want_storage = matches!(backup_type, BackupType::Full | BackupType::Storage);
    let want_config = matches!(backup_type, BackupType::Full | BackupType::Config);
    if backup_type == BackupType::Storage && p.storage_dir.is_none() && p.s3.is_none() {
        return Err(Error::invalid("this project has no storage")
            .with_hint("set storage_dir or [projects.<id>.s3] in the agent's configuration"));
    }
    if backup_type == BackupType::Config && p.config_files.is_empty() {
        return Err(Error::invalid("this project has no config_files")
            .with_hint("list them in config_files in the agent's configuration"));
    }
    let storage = if want_storage {
        storage_input(p)?
    } else {
        None
    };
    let config = if want_config && !p.config_files.is_empty() {
        Some(config_input(p)?)
    } else {
        None
    };
    Ok((storage, config))
}

/// The project's object store (its folder, or S3) with the buckets it backs up; `None` when it
/// has none.
pub fn storage_input(p: &ProjectConfig) -> Result<Option<StorageInput>> {
    Ok(match (&p.storage_dir, &p.s3) {
        (Some(dir), _) => Some(StorageInput {
            source: Arc::new(FolderSource::new(dir)),
            options: PullOptions {
                concurrency: 8,
                endpoint: Some(format!("file://{}", dir.display())),
                ..Default::default()
            },
        }),
        (None, Some(s3)) => {
            let cfg = S3Config {
                endpoint: Some(s3.endpoint.clone()),
                region: s3.region.clone().unwrap_or_else(|| "us-east-1".into()),
                access_key_id: s3.access_key_id.clone(),
                secret_access_key: s3.secret()?,
                path_style: s3.path_style.unwrap_or(true),
            };
            let store = S3Store::new(&cfg)?;
            Some(StorageInput {
                source: Arc::new(Retrying::new(store, RetryPolicy::default())),
                options: PullOptions {
                    buckets: if s3.buckets.is_empty() {
                        BucketSelection::All
                    } else {
                        BucketSelection::Only(s3.buckets.clone())
                    },
                    endpoint: Some(cfg.location()),
                    ..Default::default()
                },
            })
        }
        (None, None) => None,
    })
}

/// Read the configuration files, redacting `.env` files.
pub fn config_input(p: &ProjectConfig) -> Result<ConfigInput> {
    let mut files = Vec::new();
    let mut redactions = Vec::new();
    for path in &p.config_files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::invalid("a config file has no usable name"))?;
        let bytes = std::fs::read(path)
            .map_err(|e| Error::io(format!("reading the config file {}", path.display()), e))?;
        let member = format!("files/{name}");
        let redacted = if is_env_file(name) {
            Some(redact_env(&String::from_utf8_lossy(&bytes)))
        } else if is_compose_file(name) {
            Some(redact_compose(&String::from_utf8_lossy(&bytes)))
        } else {
            None
        };
        let bytes = match redacted {
            Some((text, keys)) => {
                redactions.extend(keys.into_iter().map(|k| format!("{member}:{k}")));
                text.into_bytes()
            }
            None => bytes,
        };
        files.push((member, bytes));
    }
    Ok(ConfigInput { files, redactions })
}

fn is_env_file(name: &str) -> bool {
    name == ".env" || name.starts_with(".env.") || name.ends_with(".env")
}

/// `docker-compose.yml`, `compose.yaml`, `docker-compose.prod.yml`…
fn is_compose_file(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("compose") && (n.ends_with(".yml") || n.ends_with(".yaml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the agent packs: the Compose file's `environment:` values and a multi-line `.env`
    /// value are redacted (before, the Compose file went in as it was and the `.env` value's
    /// later lines survived); other files go in unchanged.
    #[test]
    fn packed_config_files_have_no_environment_values() {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let compose = w(
            "docker-compose.yml",
            "services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: compose-map-secret\n  auth:\n    environment:\n      - JWT_SECRET=compose-list-secret\n",
        );
        let env = w(
            ".env",
            "KEY=\"-----BEGIN KEY-----\nenv-line-secret==\n-----END KEY-----\"\n",
        );
        let other = w("kong.yml", "environment:\n  LEFT: as-is\n");
        let p = ProjectConfig {
            database_url: "postgres://u@h/db".into(),
            password_env: None,
            password_file: None,
            storage_dir: None,
            config_files: vec![compose, env, other],
            s3: None,
            retention: None,
            pitr: None,
        };
        let input = config_input(&p).unwrap();
        let all: String = input
            .files
            .iter()
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .collect();
        for secret in [
            "compose-map-secret",
            "compose-list-secret",
            "env-line-secret",
        ] {
            assert!(!all.contains(secret), "{secret} was packed:\n{all}");
        }
        assert!(all.contains("LEFT: as-is"), "not a Compose file: unchanged");
        assert_eq!(
            input.redactions,
            vec![
                "files/docker-compose.yml:POSTGRES_PASSWORD",
                "files/docker-compose.yml:JWT_SECRET",
                "files/.env:KEY"
            ]
        );
    }
}
