//! Signed download URLs: `/files/{backup_id}/{file_name}?expires=UNIX&token=ID&signature=HEX`,
//! where the signature is HMAC-SHA256 over the id of the token that asked for the URL, the
//! backup id, the file name and the expiry, with a key made at first start (`url-signing.key` in
//! the data folder, mode 0600). A URL is bound to one token, one file and one expiry; changing
//! any breaks the signature, and the file route refuses it once its token is revoked.

use crate::files::write_atomic;
use offsite_core::{Error, Result};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use std::path::Path;

/// The key file in the data folder.
pub const KEY_FILE: &str = "url-signing.key";

/// Why a signed URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureProblem {
    /// The signature does not match (forged or altered).
    Invalid,
    /// Signed, but past its expiry.
    Expired,
}

/// Signs and checks download URLs.
pub struct UrlSigner {
    key: hmac::Key,
}

fn message(token_id: &str, backup_id: &str, file_name: &str, expires: i64) -> Vec<u8> {
    // Length-prefixed: no choice of parts can produce another's message.
    let mut m = b"offsite-download-v2".to_vec();
    for part in [token_id, backup_id, file_name] {
        m.extend_from_slice(&(part.len() as u64).to_be_bytes());
        m.extend_from_slice(part.as_bytes());
    }
    m.extend_from_slice(&expires.to_be_bytes());
    m
}

impl UrlSigner {
    /// The data folder's key, made (32 random bytes, mode 0600) when there is none.
    pub fn load_or_create(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(KEY_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) if b.len() == 32 => b,
            Ok(_) => {
                return Err(Error::invalid(format!(
                    "{} is not a 32-byte key",
                    path.display()
                ))
                .with_hint("remove it: a new key is made at the next start (existing download URLs stop working)"))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut b = vec![0u8; 32];
                SystemRandom::new()
                    .fill(&mut b)
                    .map_err(|_| Error::internal("no random numbers from the system"))?;
                write_atomic(&path, &b, true)?;
                b
            }
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        Ok(UrlSigner {
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
        })
    }

    /// The signature (hex) of a URL for `file_name` of `backup_id` asked for with the token
    /// `token_id`, valid until `expires`.
    pub fn sign(&self, token_id: &str, backup_id: &str, file_name: &str, expires: i64) -> String {
        hex::encode(
            hmac::sign(&self.key, &message(token_id, backup_id, file_name, expires)).as_ref(),
        )
    }

    /// Check a signature (in constant time), then the expiry against `now` (Unix seconds).
    pub fn check(
        &self,
        token_id: &str,
        backup_id: &str,
        file_name: &str,
        expires: i64,
        signature: &str,
        now: i64,
    ) -> std::result::Result<(), SignatureProblem> {
        let sig = hex::decode(signature).map_err(|_| SignatureProblem::Invalid)?;
        hmac::verify(
            &self.key,
            &message(token_id, backup_id, file_name, expires),
            &sig,
        )
        .map_err(|_| SignatureProblem::Invalid)?;
        if now >= expires {
            return Err(SignatureProblem::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_file_and_expiry_and_the_key_persists() {
        let dir = tempfile::tempdir().unwrap();
        let s = UrlSigner::load_or_create(dir.path()).unwrap();
        let sig = s.sign("t1", "b1", "a.tar.gz", 1000);
        assert_eq!(s.check("t1", "b1", "a.tar.gz", 1000, &sig, 999), Ok(()));
        assert_eq!(
            s.check("t1", "b1", "a.tar.gz", 1000, &sig, 1000),
            Err(SignatureProblem::Expired)
        );
        assert_eq!(
            s.check("t1", "b1", "a.tar.gz", 2000, &sig, 999),
            Err(SignatureProblem::Invalid),
            "a longer expiry is not signed"
        );
        assert_eq!(
            s.check("t1", "b2", "a.tar.gz", 1000, &sig, 999),
            Err(SignatureProblem::Invalid)
        );
        assert_eq!(
            s.check("t2", "b1", "a.tar.gz", 1000, &sig, 999),
            Err(SignatureProblem::Invalid),
            "another token's URL"
        );
        assert_eq!(
            s.check("t1", "b1", "a.tar.gz", 1000, "zz", 999),
            Err(SignatureProblem::Invalid)
        );
        // The same key after a restart.
        let again = UrlSigner::load_or_create(dir.path()).unwrap();
        assert_eq!(again.sign("t1", "b1", "a.tar.gz", 1000), sig);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Another data folder, another key.
        let other = tempfile::tempdir().unwrap();
        let s2 = UrlSigner::load_or_create(other.path()).unwrap();
        assert_eq!(
            s2.check("t1", "b1", "a.tar.gz", 1000, &sig, 999),
            Err(SignatureProblem::Invalid)
        );
    }
}
