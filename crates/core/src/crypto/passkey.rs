//! Passphrase files at one key derivation per job, not one per file (issue 67, item 5).
//!
//! age's passphrase recipient (`scrypt`) wraps a file's key with `K = scrypt(passphrase, salt,
//! 2^N)`: ≈ 1 s of CPU and 2^N KiB of memory (256 MiB at N = 18, 512 MiB at 19), per file when
//! every file has a salt of its own, as `age -p` makes them. Offsite writes its passphrase files
//! so that `K` is the same for all the files of one project:
//!
//! - the salt is the project's ([`project_salt`]: SHA-256 of the project's random id), the work
//!   factor fixed ([`WORK_FACTOR`]: 18, what `age -p` uses);
//! - the file key is derived from `K` (HKDF-SHA-256, salt = the salt, info
//!   [`FILE_KEY_INFO`]), so the stanza `-> scrypt <salt> 18` + `encrypt[K](file key)` is the
//!   same bytes in every file of the project (the same key, nonce and plaintext: no nonce is
//!   ever reused for another plaintext). Each file's payload is still keyed by its own random
//!   16-byte nonce (age's payload key is HKDF(nonce, file key)), as in any age file.
//!
//! Such a file is an ordinary age passphrase file: `age -d` asks for the passphrase and opens
//! it. Reading, the derived `K` is kept for the process ([`derive`]: a small cache keyed by the
//! passphrase, salt and work factor), so a restore over many segments derives once, and a
//! capture daemon once (not once per pass). Files with salts of their own (made by `age -p`,
//! or by Offsite before this) still open: one derivation each, as before.
//!
//! Derivations run one at a time (a lock), so two jobs of one process never hold two scrypt
//! buffers at once and a key wanted by two readers is derived once.

use age::secrecy::zeroize::Zeroize;
use age::secrecy::{ExposeSecret, SecretBox, SecretString};
use age::{DecryptError, Identity};
use age_core::format::{FileKey, Stanza, FILE_KEY_BYTES};
use age_core::primitives::{aead_decrypt, aead_encrypt, hkdf};
use base64::prelude::{Engine as _, BASE64_STANDARD_NO_PAD};
use ring::digest::{digest, SHA256};
use std::sync::Mutex;

/// The work factor (log2 N) of the files Offsite writes with a passphrase: `age -p`'s.
pub const WORK_FACTOR: u8 = 18;
/// The highest work factor a passphrase file may ask for (2^22: ≈ 4 GiB, a few seconds):
/// beyond it a file is refused, not tried.
pub const MAX_WORK_FACTOR: u8 = 22;
/// HKDF info of the file key derived from `K` (see the module's text).
pub const FILE_KEY_INFO: &[u8] = b"offsite.dev/age-scrypt-file-key/v1";

const SALT_LABEL: &[u8] = b"age-encryption.org/v1/scrypt";
const SALT_LEN: usize = 16;
const TAG: &str = "scrypt";
/// Derived keys kept per process (a project's, plus a few of other salts).
const CACHE_LEN: usize = 8;

/// A salt of age's scrypt stanza.
pub type Salt = [u8; SALT_LEN];

struct Derived {
    pass: SecretString,
    salt: Salt,
    log_n: u8,
    key: SecretBox<[u8; 32]>,
}

/// The derived keys of this process, newest last.
static CACHE: Mutex<Vec<Derived>> = Mutex::new(Vec::new());
/// Held while a derivation runs: one at a time.
static DERIVING: Mutex<()> = Mutex::new(());
/// How many derivations ran per passphrase (the probe of [`derivations_with`]).
static RUNS: Mutex<Vec<(SecretString, u64)>> = Mutex::new(Vec::new());
const RUNS_LEN: usize = 64;

/// The salt of a project's passphrase files: the first 16 bytes of SHA-256 of
/// `offsite.dev/age-scrypt-salt/v1\0` and the project's id (a random UUID, so no two projects
/// anywhere share it, and a guess at a passphrase is worth one project only).
pub fn project_salt(project_id: &str) -> Salt {
    let mut input = b"offsite.dev/age-scrypt-salt/v1\0".to_vec();
    input.extend_from_slice(project_id.as_bytes());
    let d = digest(&SHA256, &input);
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&d.as_ref()[..SALT_LEN]);
    salt
}

/// A random salt (for a passphrase file that belongs to no project).
pub fn random_salt() -> Salt {
    let mut salt = [0u8; SALT_LEN];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
        .expect("the system's random source");
    salt
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn cached(pass: &SecretString, salt: &Salt, log_n: u8) -> Option<SecretBox<[u8; 32]>> {
    lock(&CACHE)
        .iter()
        .find(|d| {
            d.salt == *salt && d.log_n == log_n && d.pass.expose_secret() == pass.expose_secret()
        })
        .map(|d| SecretBox::new(Box::new(*d.key.expose_secret())))
}

/// `K = scrypt(passphrase, "age-encryption.org/v1/scrypt" ‖ salt, 2^log_n, r = 8, p = 1)`, from
/// this process's cache when it was derived before. `None`: `log_n` is out of range.
pub(super) fn derive(pass: &SecretString, salt: &Salt, log_n: u8) -> Option<SecretBox<[u8; 32]>> {
    if let Some(k) = cached(pass, salt, log_n) {
        return Some(k);
    }
    let _one_at_a_time = lock(&DERIVING);
    if let Some(k) = cached(pass, salt, log_n) {
        return Some(k);
    }
    let params = scrypt::Params::new(log_n, 8, 1, 32).ok()?;
    let mut inner_salt = SALT_LABEL.to_vec();
    inner_salt.extend_from_slice(salt);
    let mut key = Box::new([0u8; 32]);
    scrypt::scrypt(
        pass.expose_secret().as_bytes(),
        &inner_salt,
        &params,
        &mut key[..],
    )
    .ok()?;
    let key = SecretBox::new(key);
    count_run(pass);
    tracing::info!(
        work_factor = log_n,
        "derived a passphrase key (scrypt); kept for this process"
    );
    let mut cache = lock(&CACHE);
    if cache.len() >= CACHE_LEN {
        cache.remove(0);
    }
    cache.push(Derived {
        pass: pass.clone(),
        salt: *salt,
        log_n,
        key: SecretBox::new(Box::new(*key.expose_secret())),
    });
    Some(key)
}

fn count_run(pass: &SecretString) {
    let mut runs = lock(&RUNS);
    if let Some(r) = runs
        .iter_mut()
        .find(|(p, _)| p.expose_secret() == pass.expose_secret())
    {
        r.1 += 1;
        return;
    }
    if runs.len() >= RUNS_LEN {
        runs.remove(0);
    }
    runs.push((pass.clone(), 1));
}

/// How many scrypt derivations this process ran with `passphrase` (a probe for tests and
/// benchmarks: "one derivation per job" is counted, not timed).
pub fn derivations_with(passphrase: &str) -> u64 {
    lock(&RUNS)
        .iter()
        .find(|(p, _)| p.expose_secret() == passphrase)
        .map_or(0, |r| r.1)
}

/// The file key and the scrypt stanza of a passphrase file with `salt` (see the module's
/// text): the same for every file with this passphrase and salt. `None`: the derivation
/// failed (cannot happen at [`WORK_FACTOR`]).
pub(super) fn stanza(pass: &SecretString, salt: &Salt) -> Option<(FileKey, Stanza)> {
    let k = derive(pass, salt, WORK_FACTOR)?;
    let mut fk = hkdf(salt, FILE_KEY_INFO, k.expose_secret());
    let file_key = FileKey::init_with_mut(|f| f.copy_from_slice(&fk[..FILE_KEY_BYTES]));
    fk.zeroize();
    let body = aead_encrypt(k.expose_secret(), file_key.expose_secret());
    Some((
        file_key,
        Stanza {
            tag: TAG.to_string(),
            args: vec![BASE64_STANDARD_NO_PAD.encode(salt), WORK_FACTOR.to_string()],
            body,
        },
    ))
}

/// age's passphrase identity with the process's cache of derived keys: any scrypt stanza (a
/// salt of its own or a project's) opens with one derivation per salt and work factor.
pub(super) struct CachedScrypt {
    pub(super) pass: SecretString,
}

/// A canonical decimal work factor (`0` < n ≤ 63, no leading zero), as age requires.
fn work_factor_arg(arg: &str) -> Option<u8> {
    if arg.is_empty() || arg.len() > 2 || arg.starts_with('0') {
        return None;
    }
    if !arg.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    arg.parse().ok().filter(|n| *n < 64)
}

fn salt_arg(arg: &str) -> Option<Salt> {
    let bytes = BASE64_STANDARD_NO_PAD.decode(arg).ok()?;
    let salt: Salt = bytes.try_into().ok()?;
    // Canonical only: the one text of these 16 bytes.
    (BASE64_STANDARD_NO_PAD.encode(salt) == arg).then_some(salt)
}

impl Identity for CachedScrypt {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, DecryptError>> {
        if stanza.tag != TAG {
            return None;
        }
        let (salt, log_n) = match &stanza.args[..] {
            [salt, log_n] => match (salt_arg(salt), work_factor_arg(log_n)) {
                (Some(s), Some(n)) => (s, n),
                _ => return Some(Err(DecryptError::InvalidHeader)),
            },
            _ => return Some(Err(DecryptError::InvalidHeader)),
        };
        if stanza.body.len() != FILE_KEY_BYTES + 16 {
            return Some(Err(DecryptError::InvalidHeader));
        }
        if log_n > MAX_WORK_FACTOR {
            return Some(Err(DecryptError::ExcessiveWork {
                required: log_n,
                target: WORK_FACTOR,
            }));
        }
        let Some(k) = derive(&self.pass, &salt, log_n) else {
            return Some(Err(DecryptError::ExcessiveWork {
                required: log_n,
                target: WORK_FACTOR,
            }));
        };
        Some(
            aead_decrypt(k.expose_secret(), FILE_KEY_BYTES, &stanza.body)
                .map(|mut pt| {
                    let fk = FileKey::init_with_mut(|f| f.copy_from_slice(&pt));
                    pt.zeroize();
                    fk
                })
                .map_err(|_| DecryptError::DecryptionFailed),
        )
    }
}
