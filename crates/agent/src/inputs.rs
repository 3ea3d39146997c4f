//! What a backup of a configured project takes beside its database: the storage folder (its
//! first-level folders are buckets) and the configuration files (packed under
//! `config/files/<name>`; the values of `.env` files replaced by `<redacted>`, their keys kept
//! and listed in the manifest's redactions).

use crate::config::ProjectConfig;
use crate::error::{ApiError, ApiResult};
use offsite_core::archive::BackupType;
use offsite_core::backup::{ConfigInput, StorageInput};
use offsite_core::config::redact::REDACTED;
use offsite_core::sources::folder::FolderSource;
use offsite_core::storage::PullOptions;
use std::sync::Arc;

/// The storage and configuration inputs of a backup of `backup_type`.
pub fn for_type(
    p: &ProjectConfig,
    backup_type: BackupType,
) -> ApiResult<(Option<StorageInput>, Option<ConfigInput>)> {
    let want_storage = matches!(backup_type, BackupType::Full | BackupType::Storage);
    let want_config = matches!(backup_type, BackupType::Full | BackupType::Config);
    if backup_type == BackupType::Storage && p.storage_dir.is_none() {
        return Err(ApiError::bad_request("this project has no storage_dir")
            .with_hint("set storage_dir in the agent's configuration"));
    }
    if backup_type == BackupType::Config && p.config_files.is_empty() {
        return Err(ApiError::bad_request("this project has no config_files")
            .with_hint("list them in config_files in the agent's configuration"));
    }
    let storage = match (&p.storage_dir, want_storage) {
        (Some(dir), true) => Some(StorageInput {
            source: Arc::new(FolderSource::new(dir)),
            options: PullOptions {
                concurrency: 8,
                endpoint: Some(format!("file://{}", dir.display())),
                ..Default::default()
            },
        }),
        _ => None,
    };
    let config = if want_config && !p.config_files.is_empty() {
        Some(config_input(p)?)
    } else {
        None
    };
    Ok((storage, config))
}

/// Read the configuration files, redacting `.env` files.
pub fn config_input(p: &ProjectConfig) -> ApiResult<ConfigInput> {
    let mut files = Vec::new();
    let mut redactions = Vec::new();
    for path in &p.config_files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| ApiError::bad_request("a config file has no usable name"))?;
        let bytes = std::fs::read(path).map_err(|e| {
            ApiError::from(offsite_core::Error::io(
                format!("reading the config file {}", path.display()),
                e,
            ))
        })?;
        let member = format!("files/{name}");
        let bytes = if is_env_file(name) {
            let (text, keys) = redact_env(&String::from_utf8_lossy(&bytes));
            redactions.extend(keys.into_iter().map(|k| format!("{member}:{k}")));
            text.into_bytes()
        } else {
            bytes
        };
        files.push((member, bytes));
    }
    Ok(ConfigInput { files, redactions })
}

fn is_env_file(name: &str) -> bool {
    name == ".env" || name.starts_with(".env.") || name.ends_with(".env")
}

/// Replace every value of a dotenv file (`KEY=value`, `export KEY=value`) by `<redacted>`;
/// comments and blank lines stay. Returns the text and the keys whose values were replaced.
pub fn redact_env(text: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut keys = Vec::new();
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let trimmed = body.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            out.push_str(line);
            continue;
        }
        match body.split_once('=') {
            Some((key, value)) => {
                let k = key.trim().trim_start_matches("export ").trim().to_string();
                if value.trim().is_empty() {
                    out.push_str(line);
                } else {
                    out.push_str(key);
                    out.push('=');
                    out.push_str(REDACTED);
                    out.push_str(ending);
                    keys.push(k);
                }
            }
            None => out.push_str(line),
        }
    }
    (out, keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_redacted_keys_and_comments_kept() {
        let (text, keys) = redact_env(
            "# Supabase\nPOSTGRES_PASSWORD=hunter2\nexport JWT_SECRET=\"abc=def\"\n\nEMPTY=\nNOEQUALS\r\nANON_KEY=x",
        );
        assert_eq!(
            text,
            "# Supabase\nPOSTGRES_PASSWORD=<redacted>\nexport JWT_SECRET=<redacted>\n\nEMPTY=\nNOEQUALS\r\nANON_KEY=<redacted>"
        );
        assert_eq!(keys, vec!["POSTGRES_PASSWORD", "JWT_SECRET", "ANON_KEY"]);
        assert!(!text.contains("hunter2") && !text.contains("abc"));
    }
}
