//! The bytes of an archive as every reader sees them: the file, or — for an age-encrypted archive
//! (`<name>.tar.gz.age`, ours or made by `age -e`) — its plaintext, decrypted as it streams with
//! the keys [`unlock`]ed for that file.
//!
//! Readers stay path-based (the manifest, verify, one member, extraction): a job that holds a
//! key unlocks the archive for as long as it runs ([`Unlocked`] removes the key when dropped),
//! and nothing else sees the key. An encrypted archive is read to its very end by every reader
//! that accepts it, so age's authentication of its last chunk runs before anything read from it
//! is used (a restore commits only after that).

use crate::crypto::{self, UserKey};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The keys unlocked per archive (canonical path), with how many holders each has.
type Registry = HashMap<PathBuf, Vec<(u64, Vec<UserKey>)>>;

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
}

fn key_of(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Keys unlocked for one archive until this is dropped.
pub struct Unlocked {
    path: PathBuf,
    id: u64,
}

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unlocked")
            .field("path", &self.path)
            .finish()
    }
}

/// Lets the readers of the archive at `path` decrypt it with `keys` (any of them may open it)
/// until the returned guard is dropped. Empty `keys` unlock nothing.
pub fn unlock(path: &Path, keys: Vec<UserKey>) -> Unlocked {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = key_of(path);
    if !keys.is_empty() {
        let mut r = registry().lock().unwrap_or_else(|p| p.into_inner());
        r.entry(path.clone()).or_default().push((id, keys));
    }
    Unlocked { path, id }
}

impl Drop for Unlocked {
    fn drop(&mut self) {
        let mut r = registry().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = r.get_mut(&self.path) {
            v.retain(|(id, _)| *id != self.id);
            if v.is_empty() {
                r.remove(&self.path);
            }
        }
    }
}

/// Every key unlocked for `path`.
pub(super) fn keys_for(path: &Path) -> Vec<UserKey> {
    let r = registry().lock().unwrap_or_else(|p| p.into_inner());
    r.get(&key_of(path))
        .map(|v| v.iter().flat_map(|(_, k)| k.iter().cloned()).collect())
        .unwrap_or_default()
}

/// Whether the file at `path` is age-encrypted (by its first bytes).
pub fn is_encrypted(path: &Path) -> bool {
    let mut head = [0u8; 32];
    match File::open(path) {
        Ok(mut f) => {
            let n = super::pipeline::read_full(&mut f, &mut head).unwrap_or(0);
            crypto::is_age(&head[..n])
        }
        Err(_) => false,
    }
}

/// An archive's bytes: the file, or its decrypted plaintext.
pub(crate) enum Input {
    Plain(File),
    Age(Box<crypto::DecryptReader<BufReader<File>>>),
}

impl Input {
    /// Opens `path`; an age file is opened with the keys unlocked for it (none:
    /// [`crate::error::ErrorKind::WrongKey`] saying a key is needed).
    pub(crate) fn open(path: &Path) -> Result<Input> {
        let mut file =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let mut head = [0u8; 32];
        let n = super::pipeline::read_full(&mut file, &mut head)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if !crypto::is_age(&head[..n]) {
            return Ok(Input::Plain(file));
        }
        let keys = keys_for(path);
        let reader =
            crypto::decrypt(BufReader::with_capacity(1 << 16, file), &keys).map_err(|e| {
                Error::new(e.kind(), format!("{}: {}", path.display(), e.message())).with_hint(
                    e.hint()
                        .unwrap_or("use another copy of this backup")
                        .to_string(),
                )
            })?;
        Ok(Input::Age(Box::new(reader)))
    }

    pub(crate) fn is_encrypted(&self) -> bool {
        matches!(self, Input::Age(_))
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Plain(f) => f.read(buf),
            Input::Age(r) => r.read(buf),
        }
    }
}

impl io::Seek for Input {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        match self {
            Input::Plain(f) => f.seek(pos),
            Input::Age(r) => r.seek(pos),
        }
    }
}

/// A read error of an archive's bytes: the decryption's damage (`integrity`) for an encrypted
/// one, else an I/O error.
pub(crate) fn read_failure(path: &Path, encrypted: bool, e: io::Error) -> Error {
    let what = format!("reading {}", path.display());
    if encrypted {
        return crypto::read_error(what, e);
    }
    match e.kind() {
        // A decoder refusing the bytes, or a cut: the archive is damaged, not the disk.
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof => {
            Error::integrity(format!("{what}: {e}"))
                .with_hint("the archive is damaged or cut off; use another copy of this backup")
        }
        _ => Error::io(what, e),
    }
}
