//! Keys: public [`Recipient`]s an archive is encrypted to, and the secret [`UserKey`] that opens
//! one (a passphrase, or `AGE-SECRET-KEY-1…` identity lines / an unencrypted SSH private key).

use crate::error::{Error, Result};
use age::secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::str::FromStr;

/// The longest recipient or key text accepted (an `ssh-rsa` 4096-bit public key is ~750 bytes;
/// a file of identities is a few lines).
const MAX_RECIPIENT_LEN: usize = 16 << 10;
const MAX_KEY_LEN: usize = 64 << 10;

/// What kind of public key a [`Recipient`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientKind {
    /// An age X25519 public key (`age1…`).
    X25519,
    /// An SSH public key (`ssh-ed25519 …`, `ssh-rsa …`).
    Ssh,
}

/// A public key an archive is encrypted to. Public: it may be shown, logged and stored (the
/// catalog, the manifest). Kept as the text it was parsed from (trimmed), so it round-trips.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient {
    text: String,
    kind: RecipientKind,
}

impl Recipient {
    /// Parses one `age1…` or `ssh-ed25519 …` / `ssh-rsa …` public key.
    pub fn parse(text: &str) -> Result<Recipient> {
        let text = text.trim();
        let bad = |why: &str| {
            let shown: String = text.chars().take(60).collect();
            Error::invalid(format!("recipient {shown:?} is not usable: {why}")).with_hint(
                "give an age public key (age1…, from `age-keygen -y key.txt`) or an SSH public key \
                 line (ssh-ed25519 … or ssh-rsa …, e.g. the contents of ~/.ssh/id_ed25519.pub)",
            )
        };
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        if text.len() > MAX_RECIPIENT_LEN {
            return Err(bad("it is too long"));
        }
        if text.starts_with("age1") {
            age::x25519::Recipient::from_str(text).map_err(|_| bad("not a valid age1… key"))?;
            return Ok(Recipient {
                text: text.to_string(),
                kind: RecipientKind::X25519,
            });
        }
        if text.starts_with("ssh-") {
            match age::ssh::Recipient::from_str(text) {
                Ok(_) => {
                    return Ok(Recipient {
                        text: text.to_string(),
                        kind: RecipientKind::Ssh,
                    })
                }
                Err(age::ssh::ParseRecipientKeyError::RsaModulusTooSmall) => {
                    return Err(bad("the RSA key is smaller than 2048 bits"))
                }
                Err(age::ssh::ParseRecipientKeyError::Unsupported(t)) => {
                    return Err(bad(&format!(
                        "{t} keys are not supported (ssh-ed25519 and ssh-rsa are)"
                    )))
                }
                Err(_) => return Err(bad("not a valid SSH public key")),
            }
        }
        if text.starts_with("AGE-SECRET-KEY-") {
            // Never echo a secret back, not even its beginning.
            return Err(Error::invalid(
                "a recipient is an AGE-SECRET-KEY-1… line: that is a secret key, not a public one",
            )
            .with_hint("give its public key instead: `age-keygen -y key.txt` prints it"));
        }
        Err(bad("it is neither an age1… key nor an SSH public key"))
    }

    /// The key as text (`age1…`, `ssh-ed25519 AAAA… comment`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> RecipientKind {
        self.kind
    }

    /// The age recipient (parsed again: it was checked by [`Recipient::parse`]).
    pub(super) fn to_age(&self) -> Result<Box<dyn age::Recipient + Send>> {
        Ok(match self.kind {
            RecipientKind::X25519 => Box::new(
                age::x25519::Recipient::from_str(&self.text)
                    .map_err(|_| Error::internal("a checked age1… recipient did not parse"))?,
            ),
            RecipientKind::Ssh => Box::new(
                age::ssh::Recipient::from_str(&self.text)
                    .map_err(|_| Error::internal("a checked SSH recipient did not parse"))?,
            ),
        })
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({})", self.text)
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses every recipient; the first bad one is an `invalid_input` error naming it (its
/// position and beginning). Duplicates are dropped (the first kept).
pub fn parse_recipients<I, S>(texts: I) -> Result<Vec<Recipient>>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<Recipient> = Vec::new();
    for (i, t) in texts.into_iter().enumerate() {
        let r =
            Recipient::parse(t.as_ref()).map_err(|e| e.context(format!("recipient {}", i + 1)))?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// What opens an encrypted archive: a passphrase, or one or more identities
/// (`AGE-SECRET-KEY-1…` lines, or an unencrypted SSH private key). Never printable: `Debug` and
/// `Display` say only which kind it is.
#[derive(Clone)]
pub struct UserKey {
    secret: SecretString,
    kind: KeyKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Passphrase,
    Identities,
}

impl UserKey {
    /// Reads what a user entered or pasted: text holding `AGE-SECRET-KEY-1…` lines (an age
    /// identity file: comments and blank lines allowed) or an SSH private key is identities;
    /// anything else is a passphrase (with one trailing newline removed, as `printf`/`echo`
    /// piped into `--key-stdin` leaves it). Empty is refused.
    pub fn parse(text: &str) -> Result<UserKey> {
        if text.len() > MAX_KEY_LEN {
            return Err(Error::invalid(
                "the key or passphrase is too long (over 64 KiB)",
            ));
        }
        let looks_like_identity = text.lines().any(|l| {
            l.trim_start().starts_with("AGE-SECRET-KEY-") || l.contains("PRIVATE KEY-----")
        });
        if looks_like_identity {
            let key = UserKey {
                secret: SecretString::from(text.trim().to_string()),
                kind: KeyKind::Identities,
            };
            key.identities()?; // parses, or says why not (without the secret)
            return Ok(key);
        }
        let pass = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(text);
        UserKey::passphrase(pass)
    }

    /// A passphrase, as given (not trimmed). Empty is refused.
    pub fn passphrase(pass: &str) -> Result<UserKey> {
        if pass.is_empty() {
            return Err(Error::invalid("the passphrase is empty"));
        }
        Ok(UserKey {
            secret: SecretString::from(pass.to_string()),
            kind: KeyKind::Passphrase,
        })
    }

    /// A new X25519 identity (what `age-keygen` makes) and its public key.
    pub fn generate() -> (UserKey, Recipient) {
        let id = age::x25519::Identity::generate();
        let public = id.to_public().to_string();
        let key = UserKey {
            secret: id.to_string(),
            kind: KeyKind::Identities,
        };
        (
            key,
            Recipient {
                text: public,
                kind: RecipientKind::X25519,
            },
        )
    }

    pub fn is_passphrase(&self) -> bool {
        self.kind == KeyKind::Passphrase
    }

    /// The secret itself: for the keychain, and for showing the recovery key once. Never log
    /// it, never put it into an error.
    pub fn expose_secret(&self) -> &str {
        self.secret.expose_secret()
    }

    /// The secret, for deriving a passphrase key (never shown).
    pub(super) fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// The public keys of the X25519 identities (empty for a passphrase or SSH keys).
    pub fn public_recipients(&self) -> Vec<Recipient> {
        if self.is_passphrase() {
            return Vec::new();
        }
        self.expose_secret()
            .lines()
            .filter_map(|l| age::x25519::Identity::from_str(l.trim()).ok())
            .map(|id| Recipient {
                text: id.to_public().to_string(),
                kind: RecipientKind::X25519,
            })
            .collect()
    }

    /// The age identities this key stands for.
    pub(super) fn identities(&self) -> Result<Vec<Box<dyn age::Identity>>> {
        let refused = || {
            Error::invalid("the key is not a usable age identity").with_hint(
                "give the AGE-SECRET-KEY-1… line exactly as it was shown (or the age identity \
                 file), or an SSH private key without a passphrase",
            )
        };
        match self.kind {
            // age's scrypt identity with this process's derived keys (one derivation per salt,
            // see `passkey`); work factors up to 22 (a few seconds) are accepted, more refused.
            KeyKind::Passphrase => Ok(vec![Box::new(super::passkey::CachedScrypt {
                pass: self.secret.clone(),
            })]),
            KeyKind::Identities => {
                let file = age::IdentityFile::from_buffer(self.expose_secret().as_bytes())
                    .map_err(|_| refused())?;
                let ids = file.into_identities().map_err(|_| refused())?;
                if ids.is_empty() {
                    return Err(refused());
                }
                Ok(ids)
            }
        }
    }
}

impl fmt::Debug for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            KeyKind::Passphrase => "UserKey(passphrase, redacted)",
            KeyKind::Identities => "UserKey(identity, redacted)",
        })
    }
}
