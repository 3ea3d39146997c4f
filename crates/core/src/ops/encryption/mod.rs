//! A project's encryption: off, a passphrase (age scrypt) or an Offsite-generated X25519 key,
//! plus extra public recipients (key mode only), and the recovery-item confirmation that must
//! happen before the first encrypted backup.
//!
//! Secrets (the passphrase, the identity) live in the [`SecretStore`](crate::secrets) only. The
//! catalog keeps the mode, the public keys, whether the recovery key was confirmed and a small
//! test ciphertext that proves it (see `0008_encryption.sql`).
//!
//! age never mixes a passphrase with other recipients in one file, so a passphrase archive opens
//! with the passphrase alone; extra recipients (a paper recovery key, a colleague, a team key)
//! need key mode, where every archive is encrypted to the laptop's key and each extra recipient,
//! any one of which opens it alone.

use crate::catalog::{EncryptionRow, Project};
use crate::crypto::{self, parse_recipients, Encryption, UserKey};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::secrets::{project_encryption_identity_key, project_encryption_passphrase_key};
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

text_enum! {
    /// How a project's archives are encrypted.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum EncryptionMode as "encryption mode" {
        Off = "off",
        Passphrase = "passphrase",
        Key = "key",
    }
}

/// Catalog setting: the encryption mode a new project starts with (`off` when unset). A new
/// project with `passphrase` or `key` backs up only once its encryption was set up and
/// confirmed.
pub const DEFAULT_ENCRYPTION_SETTING: &str = "default_encryption";

/// A project's encryption, as shown (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EncryptionSettings {
    pub mode: EncryptionMode,
    /// Key mode: the laptop's `age1…` public key.
    pub public_key: Option<String>,
    /// Extra public recipients (`age1…`, `ssh-ed25519 …`, `ssh-rsa …`).
    pub recipients: Vec<String>,
    /// Whether the recovery key was entered back (always true when off).
    pub confirmed: bool,
}

/// A change of a project's encryption.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SetEncryption {
    pub mode: Option<EncryptionMode>,
    /// Passphrase mode: the passphrase (required).
    pub passphrase: Option<String>,
    /// Key mode: extra public recipients.
    #[serde(default)]
    pub recipients: Vec<String>,
}

impl fmt::Debug for SetEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetEncryption")
            .field("mode", &self.mode)
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "(redacted)"),
            )
            .field("recipients", &self.recipients)
            .finish()
    }
}

/// What [`set`] returns: the settings, and in key mode the recovery key (the new
/// `AGE-SECRET-KEY-1…` line) — shown once, here; the user saves or prints it, then enters it
/// back ([`confirm`]). `None` for a passphrase (the user chose it) and for off.
#[derive(Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EncryptionSetup {
    pub settings: EncryptionSettings,
    pub recovery_item: Option<String>,
}

impl fmt::Debug for EncryptionSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionSetup")
            .field("settings", &self.settings)
            .field(
                "recovery_item",
                &self.recovery_item.as_ref().map(|_| "(redacted)"),
            )
            .finish()
    }
}

/// The fixed text of the test ciphertext.
const CHECK_TEXT: &[u8] = b"offsite recovery check v1";

fn settings_of(row: Option<&EncryptionRow>) -> Result<EncryptionSettings> {
    let Some(row) = row else {
        return Ok(EncryptionSettings {
            mode: EncryptionMode::Off,
            public_key: None,
            recipients: Vec::new(),
            confirmed: true,
        });
    };
    let mode: EncryptionMode = row.mode.parse()?;
    Ok(EncryptionSettings {
        mode,
        public_key: row.public_key.clone(),
        recipients: row.recipients.clone(),
        confirmed: mode == EncryptionMode::Off || row.confirmed,
    })
}

/// The project's encryption settings.
pub(crate) async fn get(engine: &Engine, project: &str) -> Result<EncryptionSettings> {
    let p = engine.catalog.project(project).await?;
    settings_of(engine.catalog.encryption(&p.id).await?.as_ref())
}

/// A new project starts with the default mode, not set up (its backups are refused until it
/// is); with `off` (the default default) nothing is stored.
pub(crate) async fn apply_default(engine: &Engine, project: &Project) -> Result<()> {
    let mode = default_mode(engine).await?;
    if mode == EncryptionMode::Off {
        return Ok(());
    }
    let row = EncryptionRow {
        mode: mode.as_str().to_string(),
        public_key: None,
        recipients: Vec::new(),
        confirmed: false,
        check: None,
    };
    engine.catalog.set_encryption(&project.id, &row).await
}

/// The mode new projects start with.
pub(crate) async fn default_mode(engine: &Engine) -> Result<EncryptionMode> {
    Ok(default_choice(engine).await?.mode)
}

/// The encryption new projects start with, and whether the user chose it (issue 44: the
/// first-run welcome asks once, and only until it was answered there or in Settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DefaultEncryption {
    /// The mode new projects start with (`off` until chosen).
    pub mode: EncryptionMode,
    /// Whether the user answered the question (the welcome or Settings saved a mode). Until
    /// then new projects are not encrypted and the app asks, once.
    pub chosen: bool,
}

/// The mode new projects start with, and whether it was chosen: chosen once the setting was
/// saved at all (whatever the answer, "off" included).
pub(crate) async fn default_choice(engine: &Engine) -> Result<DefaultEncryption> {
    match engine.catalog.setting(DEFAULT_ENCRYPTION_SETTING).await? {
        None => Ok(DefaultEncryption {
            mode: EncryptionMode::Off,
            chosen: false,
        }),
        Some(word) => Ok(DefaultEncryption {
            mode: word.parse()?,
            chosen: true,
        }),
    }
}

fn encrypt_check(enc: &Encryption) -> Result<Vec<u8>> {
    let mut w = enc.wrap(Vec::new())?;
    w.write_all(CHECK_TEXT)
        .map_err(|e| Error::internal(format!("encrypting the check: {e}")))?;
    w.finish()
        .map_err(|e| Error::internal(format!("encrypting the check: {e}")))
}

/// Set (or change, or turn off) a project's encryption. Key mode generates a new X25519 key:
/// its identity goes to the keychain (in front of earlier ones, which older archives need) and
/// its line is returned once as the recovery key. Passphrase mode stores the passphrase. Either
/// must be confirmed ([`confirm`]) before the next backup.
pub(crate) async fn set(
    engine: &Engine,
    project: &str,
    req: SetEncryption,
) -> Result<EncryptionSetup> {
    let p = engine.catalog.project(project).await?;
    let mode = req
        .mode
        .ok_or_else(|| Error::invalid("choose an encryption mode: off, passphrase or key"))?;
    let recipients = parse_recipients(&req.recipients)?;
    if mode != EncryptionMode::Passphrase && req.passphrase.is_some() {
        return Err(Error::invalid(format!(
            "a passphrase was given, but the mode is {mode}"
        )));
    }
    let mut recovery_item = None;
    let row = match mode {
        EncryptionMode::Off => EncryptionRow {
            mode: mode.as_str().into(),
            public_key: None,
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
            confirmed: true,
            check: None,
        },
        EncryptionMode::Passphrase => {
            if !recipients.is_empty() {
                return Err(Error::invalid(
                    "extra recipients need key mode: an age file encrypted with a passphrase opens \
                     with that passphrase only",
                )
                .with_hint(
                    "use key mode (--generate-key) with --recipient, or drop the recipients",
                ));
            }
            let pass = req
                .passphrase
                .as_deref()
                .ok_or_else(|| Error::invalid("passphrase mode needs a passphrase"))?;
            let key = UserKey::passphrase(pass)?;
            // The check is one of the project's passphrase files: the key derived to write
            // it is the one its backups use (kept for this process).
            let enc = Encryption::with_project_passphrase(key.clone(), &p.id)?;
            let check = tokio::task::spawn_blocking(move || encrypt_check(&enc))
                .await
                .map_err(|e| Error::internal(format!("encrypting the check: {e}")))??;
            engine.secrets.set(
                &project_encryption_passphrase_key(&p.name),
                key.expose_secret(),
            )?;
            EncryptionRow {
                mode: mode.as_str().into(),
                public_key: None,
                recipients: Vec::new(),
                confirmed: false,
                check: Some(check),
            }
        }
        EncryptionMode::Key => {
            let (key, public) = UserKey::generate();
            let check = encrypt_check(&Encryption::to_recipients(vec![public.clone()])?)?;
            let id_key = project_encryption_identity_key(&p.name);
            // Earlier identities stay (after the new one): older archives need them.
            let stored = match engine.secrets.get(&id_key)? {
                Some(old) if !old.trim().is_empty() => {
                    format!("{}\n{}", key.expose_secret(), old.trim())
                }
                _ => key.expose_secret().to_string(),
            };
            // Headless (the environment store, read-only): nothing is kept here. A backup needs
            // only the public key (in the catalog); restores read the identity from the
            // environment ($OFFSITE_PASSWORD_…_ENCRYPTION_IDENTITY, or a 0600 file its `_FILE`
            // variable names), where the user puts the recovery key printed now.
            if engine.secrets.name() != crate::secrets::SecretStore::name(&crate::secrets::EnvStore)
            {
                engine.secrets.set(&id_key, &stored)?;
            }
            recovery_item = Some(key.expose_secret().to_string());
            EncryptionRow {
                mode: mode.as_str().into(),
                public_key: Some(public.to_string()),
                recipients: recipients.iter().map(|r| r.to_string()).collect(),
                confirmed: false,
                check: Some(check),
            }
        }
    };
    engine.catalog.set_encryption(&p.id, &row).await?;
    Ok(EncryptionSetup {
        settings: settings_of(Some(&row))?,
        recovery_item,
    })
}

/// The user enters the recovery key back: it must decrypt the project's test ciphertext
/// (wrong → `wrong_key`, nothing changes). Then encrypted backups may run.
pub(crate) async fn confirm(
    engine: &Engine,
    project: &str,
    item: &str,
) -> Result<EncryptionSettings> {
    let p = engine.catalog.project(project).await?;
    let Some(row) = engine.catalog.encryption(&p.id).await? else {
        return Err(Error::invalid(format!(
            "project {project:?} is not encrypted: nothing to confirm"
        )));
    };
    let mode: EncryptionMode = row.mode.parse()?;
    let Some(check) = row.check else {
        return Err(Error::invalid(format!(
            "project {project:?} has no encryption set up: nothing to confirm"
        ))
        .with_hint(format!(
            "set it up first: offsite encryption set {project} --generate-key"
        )));
    };
    let scrypt = mode == EncryptionMode::Passphrase;
    let not_it = || {
        crypto::wrong_key(
            if scrypt {
                "That is not this project's passphrase."
            } else {
                "That is not this project's recovery key."
            },
            scrypt,
        )
    };
    let key = if scrypt {
        let pass = item.strip_suffix('\n').unwrap_or(item);
        UserKey::passphrase(pass.strip_suffix('\r').unwrap_or(pass)).map_err(|_| not_it())?
    } else {
        UserKey::parse(item).map_err(|_| not_it())?
    };
    let opened = tokio::task::spawn_blocking(move || -> Result<bool> {
        let mut r = crypto::decrypt(&check[..], &[key])?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)
            .map_err(|e| crypto::read_error("the recovery check", e))?;
        Ok(out == CHECK_TEXT)
    })
    .await
    .map_err(|e| Error::internal(format!("checking the recovery key: {e}")))?;
    match opened {
        Ok(true) => {}
        Ok(false) => return Err(not_it()),
        Err(e) if e.kind() == ErrorKind::WrongKey => return Err(not_it()),
        Err(e) => return Err(e),
    }
    engine.catalog.confirm_encryption(&p.id).await?;
    get(engine, project).await
}

/// The project's recovery key from the keychain: the identity file (key mode; the current key
/// first, then earlier ones) or the passphrase. A removed project's kept key (see
/// [`super::keys`]) is exported the same way, by its name.
pub(crate) async fn export_key(engine: &Engine, project: &str) -> Result<String> {
    let (name, row) = match engine.catalog.project(project).await {
        Ok(p) => {
            let row = engine.catalog.encryption(&p.id).await?;
            (p.name, row)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            match engine.catalog.orphaned_key(project).await? {
                Some(kept) => (kept.name, Some(kept.settings)),
                None => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    let settings = settings_of(row.as_ref())?;
    let key = match settings.mode {
        EncryptionMode::Passphrase => project_encryption_passphrase_key(&name),
        EncryptionMode::Key => project_encryption_identity_key(&name),
        // Turned off: the keys kept for older archives, if any.
        EncryptionMode::Off => {
            for key in [
                project_encryption_identity_key(&name),
                project_encryption_passphrase_key(&name),
            ] {
                if let Some(item) = engine.secrets.get(&key)? {
                    return Ok(item);
                }
            }
            return Err(Error::invalid(format!(
                "project {project:?} is not encrypted"
            )));
        }
    };
    engine
        .secrets
        .get(&key)?
        .ok_or_else(|| missing_secret(project))
}

/// Saves the recovery key to `path` (a file the user chose): written to a private temporary
/// file beside it (mode 0600), fsynced, then renamed over `path`, so a file that already existed
/// there (possibly readable by others) is replaced, not rewritten with its old permissions.
pub(crate) async fn save_recovery_item(engine: &Engine, project: &str, path: &Path) -> Result<()> {
    let item = export_key(engine, project).await?;
    crate::private_fs::write_atomic(path, format!("{}\n", item.trim_end()).as_bytes())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

fn missing_secret(project: &str) -> Error {
    Error::new(
        ErrorKind::Secrets,
        format!("the encryption key of project {project:?} is not in the keychain"),
    )
    .with_hint(format!(
        "set encryption up again (offsite encryption set {project} …); archives made before open \
         only with the recovery key saved then"
    ))
}

/// How the next backup of `project` is encrypted (`None`: not encrypted). Encryption that is on
/// but not confirmed (or not set up) refuses with `needs_consent`.
pub(crate) async fn for_backup(engine: &Engine, project: &Project) -> Result<Option<Encryption>> {
    let Some(row) = engine.catalog.encryption(&project.id).await? else {
        return Ok(None);
    };
    let mode: EncryptionMode = row.mode.parse()?;
    let name = &project.name;
    if mode == EncryptionMode::Off {
        return Ok(None);
    }
    if row.check.is_none() {
        return Err(Error::new(
            ErrorKind::NeedsConsent,
            // A pause waiting for the user, said as one (issue 44): the app shows it amber.
            format!("backups of {name} are paused until encryption is set up ({mode})"),
        )
        .with_hint(format!(
            "set it up: offsite encryption set {name} --generate-key (or --passphrase-stdin), save \
             the recovery key, then offsite encryption confirm {name}"
        )));
    }
    if !row.confirmed {
        return Err(Error::new(
            ErrorKind::NeedsConsent,
            format!("backups of {name} are paused until you confirm the recovery key"),
        )
        .with_hint(format!(
            "enter the recovery key back first (offsite encryption confirm {name}, or the app's \
             encryption settings): without it nobody can recover the data"
        )));
    }
    match mode {
        EncryptionMode::Off => Ok(None),
        EncryptionMode::Passphrase => {
            let pass = engine
                .secrets
                .get(&project_encryption_passphrase_key(name))?
                .ok_or_else(|| missing_secret(name))?;
            Ok(Some(Encryption::with_project_passphrase(
                UserKey::passphrase(&pass)?,
                &project.id,
            )?))
        }
        EncryptionMode::Key => {
            let mut all = Vec::new();
            all.extend(row.public_key.iter().cloned());
            all.extend(row.recipients.iter().cloned());
            Ok(Some(Encryption::to_recipients(parse_recipients(&all)?)?))
        }
    }
}

/// Every key of `project` the keychain holds (its identities and its passphrase), to open its
/// archives. Empty when it has none.
pub(crate) fn keys_of(engine: &Engine, project: &str) -> Result<Vec<UserKey>> {
    let mut keys = Vec::new();
    if let Some(ids) = engine
        .secrets
        .get(&project_encryption_identity_key(project))?
    {
        if let Ok(k) = UserKey::parse(&ids) {
            keys.push(k);
        }
    }
    if let Some(pass) = engine
        .secrets
        .get(&project_encryption_passphrase_key(project))?
    {
        if let Ok(k) = UserKey::passphrase(&pass) {
            keys.push(k);
        }
    }
    Ok(keys)
}

/// Moves a renamed project's encryption secrets to its new name (copied first, then the old
/// entries removed, so they are never lost).
pub(crate) fn rename_secrets(
    secrets: &dyn crate::secrets::SecretStore,
    old: &str,
    new: &str,
) -> Result<()> {
    for key_of in [
        project_encryption_identity_key,
        project_encryption_passphrase_key,
    ] {
        if let Some(v) = secrets.get(&key_of(old))? {
            secrets.set(&key_of(new), &v)?;
            secrets.delete(&key_of(old))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
