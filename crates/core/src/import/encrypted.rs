//! Encrypted imports: a file encrypted by `openssl enc -aes-256-cbc -salt` is decrypted, as it
//! streams, into a private temporary folder (mode 0700, removed when the import ends, failed or
//! not), and the plaintext is recognised and imported like any other file. The file the user gave
//! is never changed.
//!
//! `openssl enc` has no authentication, so the plaintext is checked before anything is accepted:
//! the padding at the end, the content's own structure (a gzip stream's CRCs, a custom-format
//! dump read through by `pg_restore`, an Offsite archive's checksums when it is verified), and
//! the preview says that tampering cannot be ruled out.

use super::{inspect_full_with, unsupported, ImportKind, ImportPreview, Inspected};
use crate::crypto::openssl::{self as openssl, OpensslReader};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::tools;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// The note every import of an `openssl enc` file carries.
pub const OPENSSL_UNAUTHENTICATED: &str = "this file was encrypted with openssl enc (AES-256-CBC), which has no authentication: a wrong passphrase or a damaged file is caught by checking the decrypted content (padding, gzip checksums, the dump's structure, an archive's checksums), but deliberate tampering cannot be ruled out";

/// The decrypted copy of an encrypted import; its folder is removed when this is dropped.
pub(crate) struct Decrypted {
    // Dropped in this order: the folder, then the lock that keeps the sweep away from it.
    _dir: tempfile::TempDir,
    _in_use: Option<crate::tempfiles::FolderInUse>,
    pub path: PathBuf,
    /// Decrypted from an age file (authenticated), not `openssl enc`.
    pub age: bool,
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field("path", &self.path)
            .finish()
    }
}

/// A key is needed and none was given.
fn key_required(path: &Path, what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "{} is encrypted ({what}): give its passphrase or key to import it",
            display_name(path)
        ),
    )
    .with_hint("pass the passphrase or key (the CLI reads it with --key-stdin)")
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Decrypts `input` into a new private temporary folder (`.offsite-tmp-decrypt-…`, in `work`
/// when given: a folder the start-up sweep cleans after a killed run; else the system's
/// temporary folder) as `name`; nothing is left on failure.
pub(crate) fn decrypt_to_temp(
    input: &mut dyn Read,
    name: &str,
    work: Option<&Path>,
    cancel: &CancellationToken,
    read_error: &dyn Fn(std::io::Error) -> Error,
) -> Result<Decrypted> {
    let prefix = format!("{}decrypt-", crate::tempfiles::TEMP_PREFIX);
    let (dir, in_use) = match work {
        Some(w) => {
            crate::private_fs::create_dir_all(w)
                .map_err(|e| Error::io(format!("creating {}", w.display()), e))?;
            let in_use = crate::tempfiles::in_use(w)?;
            let dir = crate::private_fs::tempdir_in(w, &prefix).map_err(|e| {
                Error::io(format!("creating a temporary folder in {}", w.display()), e)
            })?;
            (dir, Some(in_use))
        }
        None => (
            crate::private_fs::tempdir(&prefix)
                .map_err(|e| Error::io("creating a temporary folder", e))?,
            None,
        ),
    };
    let path = dir.path().join(name);
    let mut out = crate::private_fs::create_new(&path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(e)),
        };
        out.write_all(&buf[..n])
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    }
    out.flush()
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok(Decrypted {
        _dir: dir,
        _in_use: in_use,
        path,
        age: false,
    })
}

/// Recognises and describes an `openssl enc` file, decrypted with the first of `keys` (their
/// text is the passphrase) that opens it.
pub(crate) fn inspect_openssl(
    path: &Path,
    size: u64,
    pg_bin: Option<&Path>,
    keys: &[crate::crypto::UserKey],
    work: Option<&Path>,
    cancel: &CancellationToken,
) -> Result<Inspected> {
    if keys.is_empty() {
        return Err(key_required(path, "openssl enc"));
    }
    // The first key (the one given comes first) whose derivation yields a backup.
    let mut opened = Err(openssl::wrong_passphrase());
    for key in keys {
        let file =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        opened = OpensslReader::new(
            BufReader::with_capacity(1 << 16, file),
            key.expose_secret().as_bytes(),
        )
        .map_err(|e| match e.kind() {
            ErrorKind::UnsupportedFormat => unsupported(path, "a damaged openssl enc file"),
            _ => e,
        });
        if !matches!(&opened, Err(e) if e.kind() == ErrorKind::WrongKey) {
            break;
        }
    }
    let mut reader = opened?;
    let kdf = reader.kdf();
    let read_error = |e: std::io::Error| {
        match e.kind() {
        std::io::ErrorKind::InvalidData => openssl::wrong_passphrase().with_hint(
            "the end of the file does not decrypt: the passphrase is wrong or the file is damaged or cut off",
        ),
        _ => Error::integrity(format!("{}: {e}", display_name(path)))
            .with_hint("the file is damaged or was cut off; use another copy"),
    }
    };
    let plain = decrypt_to_temp(&mut reader, &plain_name(path), work, cancel, &read_error)?;
    let mut inspected = inspect_full_with(&plain.path, pg_bin, &[], None, cancel).map_err(|e| {
        match e.kind() {
            // The padding was right but the content is not a backup: a wrong passphrase whose
            // first bytes happened to look right, or a damaged file.
            ErrorKind::UnsupportedFormat | ErrorKind::Integrity => openssl::wrong_passphrase()
                .with_hint(format!(
                    "the decrypted content is not a readable backup ({}): the passphrase is wrong or the file is damaged",
                    e.message()
                )),
            _ => e,
        }
    })?;
    if inspected.preview.kind == ImportKind::PgDump {
        read_whole_dump(&plain.path, pg_bin)?;
    }
    inspected.preview.path = path.to_path_buf();
    inspected.preview.size = size;
    inspected.preview.notes.push(format!(
        "decrypted with openssl enc -aes-256-cbc, key derived by {}",
        kdf.describe()
    ));
    inspected
        .preview
        .notes
        .push(OPENSSL_UNAUTHENTICATED.to_string());
    inspected.plaintext = Some(plain);
    Ok(inspected)
}

/// Recognises and describes an age-encrypted file (an Offsite `.tar.gz.age`, or anything
/// `age -e` encrypted: a pg_dump file, a plain SQL dump, an export tarball), decrypted with `keys`.
/// age authenticates every chunk and its end: a damaged, cut-off or tampered file fails here,
/// before anything is imported.
pub(crate) fn inspect_age(
    path: &Path,
    size: u64,
    pg_bin: Option<&Path>,
    keys: &[crate::crypto::UserKey],
    work: Option<&Path>,
    cancel: &CancellationToken,
) -> Result<Inspected> {
    if keys.is_empty() {
        return Err(key_required(path, "age"));
    }
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut reader = crate::crypto::decrypt(BufReader::with_capacity(1 << 16, file), keys)?;
    let read_error = |e: std::io::Error| crate::crypto::read_error(display_name(path), e);
    let mut plain = decrypt_to_temp(&mut reader, &plain_name(path), work, cancel, &read_error)?;
    plain.age = true;
    let mut inspected = inspect_full_with(&plain.path, pg_bin, &[], None, cancel)?;
    inspected.preview.path = path.to_path_buf();
    inspected.preview.size = size;
    inspected.preview.notes.push(
        "decrypted with age (authenticated: the whole file was checked as it was decrypted)"
            .to_string(),
    );
    inspected.plaintext = Some(plain);
    Ok(inspected)
}

/// The decrypted file's name: the given name without `.enc`/`.aes`/`.age`, so what is inside
/// (`.sql.gz`, `.dump`, `.tar.gz`) is named as it was.
fn plain_name(path: &Path) -> String {
    let name = display_name(path);
    let stem = [".enc", ".aes", ".aes256", ".openssl", ".age"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(&name);
    // A name that is only an extension (".enc") or odd characters: a fixed name.
    if stem.is_empty() || stem.contains('/') || stem.starts_with('.') {
        "decrypted".to_string()
    } else {
        stem.to_string()
    }
}

/// Reads a custom-format dump through (`pg_restore --file=/dev/null`: every entry and data block
/// is parsed), so a decrypted dump that is damaged or cut off is refused before it is imported.
pub(crate) fn read_whole_dump(dump: &Path, pg_bin: Option<&Path>) -> Result<()> {
    let tools = tools::newest(pg_bin)?;
    let out = std::process::Command::new(tools.pg_restore())
        .arg("--file=/dev/null")
        .arg(dump)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("starting pg_restore", e))?;
    if !out.status.success() {
        let detail =
            crate::postgres::process::stderr_summary(&String::from_utf8_lossy(&out.stderr), None);
        return Err(Error::integrity(format!(
            "the decrypted dump is damaged: pg_restore cannot read it through: {detail}"
        ))
        .with_hint(
            "the file is damaged or was cut off (or the key is wrong); nothing was imported",
        ));
    }
    Ok(())
}

impl Inspected {
    /// Whether this is an age-encrypted file (its ciphertext is what an Offsite archive's import
    /// keeps).
    pub(crate) fn is_age(&self) -> bool {
        self.plaintext.as_ref().is_some_and(|p| p.age)
    }

    /// Where the import reads the file: the decrypted copy of an encrypted file, or the file.
    pub(crate) fn read_path(&self) -> &Path {
        match &self.plaintext {
            Some(p) => &p.path,
            None => &self.preview.path,
        }
    }
}

/// [`super::inspect`] of a file that may be encrypted, with its passphrase or key.
pub fn inspect_with_key(
    path: &Path,
    pg_bin: Option<&Path>,
    key: Option<&crate::crypto::UserKey>,
) -> Result<ImportPreview> {
    let keys = key.map(std::slice::from_ref).unwrap_or(&[]);
    super::inspect_full_with(path, pg_bin, keys, None, &CancellationToken::new()).map(|i| i.preview)
}
