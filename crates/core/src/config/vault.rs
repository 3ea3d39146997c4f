//! Vault's root key: what lets `vault.secrets` decrypt in another project (docs/supabase.md,
//! "Vault").
//!
//! The Management API answers a project's root key at `GET /v1/projects/{ref}/pgsodium`
//! (`{"root_key": "<64 hex characters>"}`) and sets it with `PUT` on the same path, which makes
//! whatever the project encrypted with its old key unreadable. A backup fetches it only when its
//! archive is encrypted ([`FILE`], written by [`fetch_into`]); an unencrypted backup records that
//! it was not fetched, and why. A restore into a project whose key differs sets it there, when
//! asked ([`plan`], [`set`]), before the database (and its Vault rows) is restored.
//!
//! The key never reaches a diff, an error text, a log, the catalog or a report: [`RootKey`]'s
//! `Debug` hides it, plans and reports say only whether the keys are the same, and an error the
//! API answers is scrubbed of it.

use super::{ConfigMissing, ConfigSnapshot};
use crate::error::{Error, ErrorKind, Result};
use crate::sources::ApiClient;
use age::secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;

/// The snapshot file that holds the root key (`config/supabase/vault-root-key.json` in an
/// archive); only ever written into an encrypted archive.
pub const FILE: &str = "supabase/vault-root-key.json";

/// The API path, `{ref}` standing for the project ref.
const PATH: &str = "/v1/projects/{ref}/pgsodium";

/// Why an unencrypted backup has no root key (recorded in `supabase/missing.json`).
pub const NOT_IN_UNENCRYPTED: &str = "not fetched: the backup is not encrypted, and the Vault \
    root key goes only into encrypted backups (without it the Vault secrets decrypt only in \
    this project)";

fn path_for(project_ref: &str) -> String {
    PATH.replace("{ref}", project_ref)
}

/// A project's Vault root key: 32 bytes as 64 lowercase hex characters.
#[derive(Clone)]
pub struct RootKey(SecretString);

impl PartialEq for RootKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.expose_secret() == other.0.expose_secret()
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

impl RootKey {
    /// The key in `doc` (`{"root_key": "…"}`), checked: 64 hex characters. `what` names the
    /// document in the error, which never repeats the value.
    pub fn from_doc(doc: &Value, what: &str) -> Result<Self> {
        let key = doc.get("root_key").and_then(Value::as_str).ok_or_else(|| {
            Error::integrity(format!(
                "{what} holds no Vault root key (no \"root_key\" text)"
            ))
        })?;
        if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::integrity(format!(
                "{what} holds a Vault root key Offsite cannot use: it is not 64 hexadecimal \
                 characters (a key of pgsodium is 32 bytes written in hex)"
            )));
        }
        Ok(RootKey(SecretString::from(key.to_ascii_lowercase())))
    }

    /// The archived key of `snapshot`, when it holds one (`None`: not in the backup; a
    /// redacted value counts as not there).
    pub fn archived(snapshot: &ConfigSnapshot) -> Result<Option<Self>> {
        let Some(bytes) = snapshot.file(FILE) else {
            return Ok(None);
        };
        let doc: Value = serde_json::from_slice(bytes)
            .map_err(|_| Error::integrity(format!("the backup's {FILE} is not JSON")))?;
        if doc.get("root_key").and_then(Value::as_str) == Some(super::REDACTED) {
            return Ok(None);
        }
        Self::from_doc(&doc, &format!("the backup's {FILE}")).map(Some)
    }

    fn document(&self) -> Value {
        json!({ "root_key": self.0.expose_secret() })
    }

    /// `text` without the key in it.
    fn scrub(&self, text: &str) -> String {
        let key = self.0.expose_secret();
        text.replace(key, super::REDACTED)
            .replace(&key.to_ascii_uppercase(), super::REDACTED)
    }
}

/// Fetch the root key of `project_ref` into `snap` as [`FILE`] — only for an encrypted archive
/// (`!redact`); otherwise record that it was not fetched. A project whose API does not answer it
/// (404) is recorded as missing, like any feature it lacks.
pub(super) async fn fetch_into(
    api: &dyn ApiClient,
    project_ref: &str,
    redact: bool,
    snap: &mut ConfigSnapshot,
) -> Result<()> {
    if redact {
        snap.missing.push(ConfigMissing {
            what: FILE.to_string(),
            reason: NOT_IN_UNENCRYPTED.to_string(),
        });
        return Ok(());
    }
    let path = path_for(project_ref);
    match api.get_json(&path).await {
        Ok(doc) => {
            let key = RootKey::from_doc(&doc, &format!("GET {path}"))?;
            let bytes = serde_json::to_vec_pretty(&key.document())
                .map_err(|e| Error::internal(format!("encoding {FILE}: {e}")))?;
            snap.files.push((FILE.to_string(), bytes));
            Ok(())
        }
        // A token that may read the settings but not the key: the backup goes on without it,
        // and says so (the restore's plan repeats it).
        Err(e) if e.kind() == ErrorKind::Permission => {
            snap.missing.push(ConfigMissing {
                what: FILE.to_string(),
                reason: format!(
                    "not fetched: the access token may not read the Vault root key ({})",
                    e.message()
                ),
            });
            Ok(())
        }
        Err(e) => super::fetch_failed(snap, FILE, &path, e),
    }
}

/// What a restore does with the Vault root key of a project (a section of the configuration's
/// plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum VaultKeyState {
    /// The backup holds no root key (an unencrypted backup, or one made before Offsite fetched
    /// it, or a project whose API did not answer it).
    NotInBackup,
    /// The target project's key is the backup's: its Vault secrets decrypt there.
    Same,
    /// The target project has another key: the backup's Vault secrets decrypt there only once
    /// its key is set to the backup's.
    Differs,
    /// The target project's key could not be read (the plan says why).
    TargetUnknown,
}

/// The Vault section of a configuration plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VaultPlan {
    pub state: VaultKeyState,
    /// The restore sets the target project's root key to the backup's (asked for, and they
    /// differ).
    pub will_set: bool,
    /// What this means, in a sentence for the plan (never the key).
    pub note: String,
}

/// The Vault section of a restore's plan into `project` (`set`: the user asked to set the key).
/// Reads the target's key to compare; neither key leaves this function.
pub async fn plan(
    api: &dyn ApiClient,
    archived: &ConfigSnapshot,
    project: &str,
    project_ref: &str,
    set: bool,
) -> Result<VaultPlan> {
    let Some(ours) = RootKey::archived(archived)? else {
        let unencrypted = archived
            .file("supabase/missing.json")
            .is_some_and(|b| String::from_utf8_lossy(b).contains(FILE));
        let note = if unencrypted {
            format!(
                "This backup does not hold the Vault root key (it is not encrypted, and the key \
                 goes only into encrypted backups): Vault secrets restored into {project} will \
                 not decrypt there unless it is the project they came from. Encrypt the \
                 project's backups so that the next one carries the key, or copy the key \
                 yourself while the source project exists (Offsite's Supabase guide says how, \
                 under Vault)."
            )
        } else {
            format!(
                "This backup does not hold the Vault root key: Vault secrets restored into \
                 {project} decrypt there only if it is the project they came from."
            )
        };
        return Ok(VaultPlan {
            state: VaultKeyState::NotInBackup,
            will_set: false,
            note,
        });
    };
    let path = path_for(project_ref);
    let theirs = match api.get_json(&path).await {
        Ok(doc) => RootKey::from_doc(&doc, &format!("GET {path}"))?,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Permission) => {
            let why = if e.kind() == ErrorKind::NotFound {
                "the Management API does not answer it"
            } else {
                "the access token may not read it"
            };
            return Ok(VaultPlan {
                state: VaultKeyState::TargetUnknown,
                will_set: false,
                note: format!(
                    "Offsite cannot read {project}'s Vault root key ({why}): it cannot tell \
                     whether the backup's Vault secrets decrypt there, and cannot set the key."
                ),
            });
        }
        Err(e) => return Err(e.context(format!("reading {project}'s Vault root key"))),
    };
    Ok(if ours == theirs {
        VaultPlan {
            state: VaultKeyState::Same,
            will_set: false,
            note: format!(
                "{project} has the backup's Vault root key: its Vault secrets decrypt there."
            ),
        }
    } else if set {
        VaultPlan {
            state: VaultKeyState::Differs,
            will_set: true,
            note: format!(
                "Sets {project}'s Vault root key to the backup's before the database is \
                 restored, so that the backup's Vault secrets decrypt there. This replaces \
                 {project}'s own key: secrets it encrypted with it become unreadable."
            ),
        }
    } else {
        VaultPlan {
            state: VaultKeyState::Differs,
            will_set: false,
            note: format!(
                "{project} has another Vault root key than the backup's: the backup's Vault \
                 secrets will not decrypt there unless the key is set to the backup's (which \
                 replaces {project}'s own key; choose it to do so)."
            ),
        }
    })
}

/// Set `project_ref`'s root key to the one in `archived` (`PUT`). The error never holds the
/// key, even when the API's answer repeats it.
pub async fn set(api: &dyn ApiClient, project_ref: &str, archived: &ConfigSnapshot) -> Result<()> {
    let key = RootKey::archived(archived)?.ok_or_else(|| {
        Error::invalid("this backup does not hold the Vault root key: there is nothing to set")
    })?;
    let path = path_for(project_ref);
    match api.put_json(&path, &key.document()).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let mut out = Error::new(
                e.kind(),
                format!("setting the Vault root key: {}", key.scrub(e.message())),
            )
            .retryable(e.is_retryable());
            if let Some(h) = e.hint() {
                out = out.with_hint(key.scrub(h));
            }
            Err(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    #[test]
    fn keys_are_checked_and_never_shown() {
        let k = RootKey::from_doc(&json!({ "root_key": KEY.to_uppercase() }), "doc").unwrap();
        assert_eq!(k.document()["root_key"], KEY, "kept lowercase");
        assert!(!format!("{k:?}").contains(&KEY[..16]));
        for bad in [
            json!({}),
            json!({"root_key": 7}),
            json!({"root_key": "abc"}),
            json!({"root_key": format!("{}zz", &KEY[..62])}),
        ] {
            let e = RootKey::from_doc(&bad, "doc").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Integrity);
            assert!(!e.message().contains(&KEY[..16]), "{e}");
        }
        assert_eq!(
            k.scrub(&format!("bad {KEY} and {}", KEY.to_uppercase())),
            "bad <redacted> and <redacted>"
        );
    }

    #[test]
    fn a_redacted_or_absent_key_is_not_in_the_backup() {
        let snap = |files: Vec<(&str, &str)>| {
            ConfigSnapshot::from_files(
                "r",
                files
                    .into_iter()
                    .map(|(n, b)| (n.to_string(), b.as_bytes().to_vec()))
                    .collect(),
            )
        };
        assert!(RootKey::archived(&snap(vec![])).unwrap().is_none());
        let redacted = snap(vec![(FILE, r#"{"root_key":"<redacted>"}"#)]);
        assert!(RootKey::archived(&redacted).unwrap().is_none());
        let held = format!(r#"{{"root_key":"{KEY}"}}"#);
        assert!(RootKey::archived(&snap(vec![(FILE, &held)]))
            .unwrap()
            .is_some());
        assert!(RootKey::archived(&snap(vec![(FILE, "{")])).is_err());
    }
}
