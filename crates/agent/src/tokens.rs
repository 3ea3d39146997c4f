//! API tokens: `offsite serve token create|list|revoke`.
//!
//! A token is `offsite_<id>_<secret>` (the id is 12 hex digits, the secret 64). Only its SHA-256
//! is stored, in `tokens.json` in the data folder (mode 0600, replaced atomically); the token
//! itself is shown once, when it is made. The server reads the file on every request, so a
//! revocation by `token revoke` (another process) takes effect at once.

use crate::files::write_atomic;
use offsite_core::{Error, ErrorKind, Result};
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file in the data folder.
pub const TOKENS_FILE: &str = "tokens.json";
const PREFIX: &str = "offsite_";

/// A token as stored (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Public id (shown in lists and the audit log).
    pub id: String,
    /// SHA-256 of the whole token, hex.
    pub sha256: String,
    /// Only these projects (`None`: all).
    #[serde(default)]
    pub projects: Option<Vec<String>>,
    /// Only reads (lists, status, downloads); no backups, deletes or schedules.
    #[serde(default)]
    pub read_only: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; a revoked token is refused.
    #[serde(default)]
    pub revoked_at: Option<String>,
    /// A metrics token: it may read `GET /metrics` and nothing else (and `/metrics` takes no
    /// other token), so a scrape configuration never holds a token that can act.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub metrics: bool,
}

impl TokenRecord {
    /// Whether this token may act on `project` (reads; `write` also needs a read-write token).
    pub fn allows(&self, project: &str, write: bool) -> bool {
        if self.metrics {
            return false;
        }
        let project_ok = self
            .projects
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p == project));
        project_ok && (!write || !self.read_only)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    tokens: Vec<TokenRecord>,
}

/// The token file of a data folder.
#[derive(Debug, Clone)]
pub struct TokenStore {
    path: PathBuf,
}

fn sha256_hex(s: &str) -> String {
    hex::encode(digest(&SHA256, s.as_bytes()))
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn random_hex(n: usize) -> Result<String> {
    let mut b = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| Error::internal("no random numbers from the system"))?;
    Ok(hex::encode(b))
}

impl TokenStore {
    /// The store in `data_dir` (the file is made by the first `create`).
    pub fn new(data_dir: &Path) -> Self {
        TokenStore {
            path: data_dir.join(TOKENS_FILE),
        }
    }

    fn read(&self) -> Result<TokenFile> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::new(
                    ErrorKind::Integrity,
                    format!("{} is damaged: {e}", self.path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
            Err(e) => Err(Error::io(format!("reading {}", self.path.display()), e)),
        }
    }

    fn write(&self, f: &TokenFile) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(f).map_err(|e| Error::internal(e.to_string()))?;
        write_atomic(&self.path, &bytes, true)
    }

    /// Make a token; returns its record and the token (shown once, never stored).
    pub fn create(
        &self,
        projects: Option<Vec<String>>,
        read_only: bool,
    ) -> Result<(TokenRecord, String)> {
        self.create_token(projects, read_only, false)
    }

    /// Make a metrics token (it reads `GET /metrics` only); returns its record and the token.
    pub fn create_metrics(&self) -> Result<(TokenRecord, String)> {
        self.create_token(None, true, true)
    }

    fn create_token(
        &self,
        projects: Option<Vec<String>>,
        read_only: bool,
        metrics: bool,
    ) -> Result<(TokenRecord, String)> {
        let mut f = self.read()?;
        let id = random_hex(6)?;
        let token = format!("{PREFIX}{id}_{}", random_hex(32)?);
        let record = TokenRecord {
            id,
            sha256: sha256_hex(&token),
            projects: projects.filter(|p| !p.is_empty()),
            read_only,
            created_at: now_rfc3339(),
            revoked_at: None,
            metrics,
        };
        f.tokens.push(record.clone());
        self.write(&f)?;
        Ok((record, token))
    }

    /// Every token ever made (revoked ones too), oldest first.
    pub fn list(&self) -> Result<Vec<TokenRecord>> {
        Ok(self.read()?.tokens)
    }

    /// Revoke a token by id (`not_found` when there is none; revoking twice is fine).
    pub fn revoke(&self, id: &str) -> Result<TokenRecord> {
        let mut f = self.read()?;
        let t = f
            .tokens
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or_else(|| Error::not_found(format!("no token with id {id:?}")))?;
        if t.revoked_at.is_none() {
            t.revoked_at = Some(now_rfc3339());
        }
        let t = t.clone();
        self.write(&f)?;
        Ok(t)
    }

    /// Whether the token with this id exists and is not revoked.
    pub fn is_live(&self, id: &str) -> Result<bool> {
        Ok(self
            .read()?
            .tokens
            .iter()
            .any(|t| t.id == id && t.revoked_at.is_none()))
    }

    /// The live (not revoked) token record `token` belongs to, or `None`.
    pub fn authenticate(&self, token: &str) -> Result<Option<TokenRecord>> {
        let Some(rest) = token.strip_prefix(PREFIX) else {
            return Ok(None);
        };
        let Some((id, _)) = rest.split_once('_') else {
            return Ok(None);
        };
        let hash = sha256_hex(token);
        Ok(self.read()?.tokens.into_iter().find(|t| {
            t.id == id && t.revoked_at.is_none() && same(t.sha256.as_bytes(), hash.as_bytes())
        }))
    }
}

/// Compare without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_and_revocable() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let (rec, token) = store.create(Some(vec!["shop".into()]), true).unwrap();
        assert!(token.starts_with("offsite_") && token.len() > 70);
        let file = std::fs::read_to_string(dir.path().join(TOKENS_FILE)).unwrap();
        assert!(
            !file.contains(&token[20..]),
            "the token itself is never stored"
        );
        assert!(file.contains(&rec.sha256));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKENS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let found = store.authenticate(&token).unwrap().unwrap();
        assert_eq!(found.id, rec.id);
        assert!(found.allows("shop", false));
        assert!(!found.allows("shop", true), "read-only");
        assert!(!found.allows("other", false), "another project");
        // One changed character, a foreign prefix, nothing: refused.
        let mut wrong = token.clone();
        wrong.pop();
        wrong.push('x');
        assert!(store.authenticate(&wrong).unwrap().is_none());
        assert!(store.authenticate("Bearer").unwrap().is_none());
        let (other, other_token) = store.create(None, false).unwrap();
        assert!(other.allows("anything", true));
        assert!(store.is_live(&rec.id).unwrap());
        store.revoke(&rec.id).unwrap();
        assert!(store.authenticate(&token).unwrap().is_none());
        assert!(!store.is_live(&rec.id).unwrap());
        assert!(!store.is_live("nope").unwrap());
        assert!(store.authenticate(&other_token).unwrap().is_some());
        assert_eq!(store.list().unwrap().len(), 2);
        assert_eq!(
            store.revoke("nope").unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}
