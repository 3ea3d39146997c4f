//! Streaming encryption and decryption (age's STREAM: 64 KiB chunks, each authenticated, so
//! memory stays flat and damage is detected at the chunk where it is).

use super::chunks::{self, ChunkWriter};
use super::keys::{Recipient, UserKey};
use super::passkey::{self, Salt};
use super::{is_age, AGE_MAGIC};
use crate::error::{Error, ErrorKind, Result};
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};

/// Whom an archive is encrypted to. age does not mix a passphrase with other recipients in one
/// file, so a passphrase archive opens with the passphrase only; extra recipients need key mode
/// (see docs/encryption.md).
#[derive(Clone)]
pub enum Encryption {
    /// age's scrypt passphrase recipient (what `age -p` makes), with the salt every file of
    /// this encryption gets: one key derivation for all of them (see `passkey`).
    Passphrase(UserKey, Salt),
    /// X25519 and SSH public keys; any one of their identities opens the file alone.
    Recipients(Vec<Recipient>),
}

impl fmt::Debug for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encryption::Passphrase(..) => f.write_str("Encryption::Passphrase(redacted)"),
            Encryption::Recipients(r) => f.debug_tuple("Encryption::Recipients").field(r).finish(),
        }
    }
}

impl Encryption {
    /// Encryption to `recipients` (at least one).
    pub fn to_recipients(recipients: Vec<Recipient>) -> Result<Encryption> {
        if recipients.is_empty() {
            return Err(Error::invalid("encryption needs at least one recipient"));
        }
        Ok(Encryption::Recipients(recipients))
    }

    /// Encryption with a passphrase (`key` must be one), under a random salt shared by the
    /// files this value encrypts. A project's archives use [`Self::with_project_passphrase`].
    pub fn with_passphrase(key: UserKey) -> Result<Encryption> {
        if !key.is_passphrase() {
            return Err(Error::invalid("a passphrase was expected, not an identity"));
        }
        Ok(Encryption::Passphrase(key, passkey::random_salt()))
    }

    /// Encryption with a project's passphrase: every file of the project, from any job, under
    /// the project's salt, so opening them all costs one key derivation (see `passkey`).
    pub fn with_project_passphrase(key: UserKey, project_id: &str) -> Result<Encryption> {
        if !key.is_passphrase() {
            return Err(Error::invalid("a passphrase was expected, not an identity"));
        }
        Ok(Encryption::Passphrase(
            key,
            passkey::project_salt(project_id),
        ))
    }

    /// What the manifest records: `["passphrase"]` or the recipients' public keys. Never a
    /// secret.
    pub fn describe(&self) -> Vec<String> {
        match self {
            Encryption::Passphrase(..) => vec!["passphrase".to_string()],
            Encryption::Recipients(r) => r.iter().map(|r| r.as_str().to_string()).collect(),
        }
    }

    /// Starts an age file on `out` (its header is written now); write the plaintext into the
    /// returned writer and [`EncryptWriter::finish`] it, or the file does not decrypt.
    pub fn wrap<W: Write>(&self, out: W) -> Result<EncryptWriter<W>> {
        let rs = match self {
            Encryption::Passphrase(key, salt) => {
                let (file_key, stanza) = passkey::stanza(key.secret(), salt)
                    .ok_or_else(|| Error::internal("deriving the passphrase key failed"))?;
                let header = chunks::header(&file_key, &[stanza]);
                let inner = ChunkWriter::start(out, &file_key, &header)
                    .map_err(|e| Error::io("writing the encrypted file's header", e))?;
                return Ok(EncryptWriter {
                    inner: Inner::Chunks(Box::new(inner)),
                });
            }
            Encryption::Recipients(rs) => rs,
        };
        let boxed = rs
            .iter()
            .map(Recipient::to_age)
            .collect::<Result<Vec<_>>>()?;
        let encryptor = age::Encryptor::with_recipients(
            boxed.iter().map(|r| r.as_ref() as &dyn age::Recipient),
        )
        .map_err(|e| Error::invalid(format!("cannot encrypt to these recipients: {e}")))?;
        let inner = encryptor
            .wrap_output(out)
            .map_err(|e| Error::io("writing the encrypted file's header", e))?;
        Ok(EncryptWriter {
            inner: Inner::Age(inner),
        })
    }
}

/// Encrypts what is written into it; [`finish`](Self::finish) writes the last chunk.
pub struct EncryptWriter<W: Write> {
    inner: Inner<W>,
}

enum Inner<W: Write> {
    /// The `age` crate's writer (recipients).
    Age(age::stream::StreamWriter<W>),
    /// Offsite's (a passphrase, the file key of `passkey`).
    Chunks(Box<ChunkWriter<W>>),
}

impl<W: Write> EncryptWriter<W> {
    /// Writes the final chunk and returns the underlying writer (not flushed or synced).
    pub fn finish(self) -> io::Result<W> {
        match self.inner {
            Inner::Age(w) => w.finish(),
            Inner::Chunks(w) => w.finish(),
        }
    }
}

impl<W: Write> Write for EncryptWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Age(w) => w.write(buf),
            Inner::Chunks(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Age(w) => w.flush(),
            Inner::Chunks(w) => w.flush(),
        }
    }
}

/// The plaintext of an age file, read as it is decrypted. A read error past the header is
/// damage (a chunk that fails authentication, or the file ends early); map it with
/// [`read_error`].
pub struct DecryptReader<R: Read> {
    inner: age::stream::StreamReader<BufReader<R>>,
}

impl<R: Read> Read for DecryptReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

/// Random access into the plaintext (age's STREAM chunks are authenticated one by one; each
/// chunk read is checked).
impl<R: Read + io::Seek> io::Seek for DecryptReader<R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// The hint of a [`ErrorKind::WrongKey`] error for a file encrypted with a passphrase or not:
/// which key is missing and where a person finds it, in plain words (issue 44).
pub fn wrong_key_hint(scrypt: bool) -> &'static str {
    if scrypt {
        "Enter the passphrase chosen when encryption was set up for this project; without it \
         nobody can recover the data."
    } else {
        "Enter the project's recovery key: it was shown once when encryption was set up, to be \
         kept in a password manager or on paper. Without it nobody can recover the data."
    }
}

/// The technical part of a [`ErrorKind::WrongKey`] error, for "Details" (a terminal user who
/// holds several keys needs it; the app's sentence does not).
pub fn wrong_key_detail(scrypt: bool) -> &'static str {
    if scrypt {
        "age file encrypted with a passphrase (scrypt recipient)"
    } else {
        "age file encrypted to public keys (X25519 or SSH recipients): the matching \
         AGE-SECRET-KEY-1… line, or the SSH private key of one of them, opens it"
    }
}

/// A [`ErrorKind::WrongKey`] error: no key given, or none that opens the file.
pub fn wrong_key(message: impl Into<String>, scrypt: bool) -> Error {
    Error::new(ErrorKind::WrongKey, message)
        .with_hint(wrong_key_hint(scrypt))
        .with_detail(wrong_key_detail(scrypt))
}

/// Opens the age file `input` with any of `keys`: reads and checks its header now.
/// Errors: not an age file → `unsupported_format`; empty, cut off in the header or a damaged
/// header → `integrity`; no key, or none that opens it → `wrong_key`.
pub fn decrypt<R: Read>(input: R, keys: &[UserKey]) -> Result<DecryptReader<R>> {
    let mut input = BufReader::with_capacity(64 << 10, input);
    let head = input
        .fill_buf()
        .map_err(|e| Error::io("reading the encrypted file", e))?;
    if head.is_empty() {
        return Err(Error::integrity("the encrypted file is empty")
            .with_hint("an empty file holds no archive; use another copy of the backup"));
    }
    if head.len() <= AGE_MAGIC.len() && AGE_MAGIC.starts_with(head) {
        return Err(
            Error::integrity("the encrypted file ends inside its header (truncated)")
                .with_hint("use another copy of the backup"),
        );
    }
    if !is_age(head) {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            "the file is not an age-encrypted file (it does not start with age-encryption.org/v1)",
        ));
    }
    let decryptor = age::Decryptor::new_buffered(input).map_err(header_error)?;
    let scrypt = decryptor.is_scrypt();
    if keys.is_empty() {
        return Err(wrong_key(
            "the archive is encrypted and no key was given",
            scrypt,
        ));
    }
    let mut ids: Vec<Box<dyn age::Identity>> = Vec::new();
    for k in keys {
        // A passphrase only opens scrypt files, and age refuses to try one on others.
        if k.is_passphrase() == scrypt {
            ids.extend(k.identities()?);
        }
    }
    if ids.is_empty() {
        let given = if scrypt {
            "only keys were given"
        } else {
            "only a passphrase was given"
        };
        return Err(wrong_key(
            format!("the key does not open this archive ({given})"),
            scrypt,
        ));
    }
    let inner = decryptor
        .decrypt(ids.iter().map(|i| i.as_ref()))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys
            | age::DecryptError::DecryptionFailed
            | age::DecryptError::KeyDecryptionFailed => wrong_key(
                if scrypt {
                    "the passphrase does not open this archive"
                } else {
                    "the key given does not open this archive"
                },
                scrypt,
            ),
            other => header_error(other),
        })?;
    Ok(DecryptReader { inner })
}

fn header_error(e: age::DecryptError) -> Error {
    match e {
        age::DecryptError::UnknownFormat => Error::new(
            ErrorKind::UnsupportedFormat,
            "the file uses an age format version this Offsite cannot read",
        ),
        age::DecryptError::ExcessiveWork { required, .. } => Error::new(
            ErrorKind::UnsupportedFormat,
            format!("the passphrase's work factor (2^{required}) is more than this machine allows"),
        ),
        age::DecryptError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            Error::integrity("the encrypted file ends inside its header (truncated)")
                .with_hint("use another copy of the backup")
        }
        age::DecryptError::Io(e) => Error::io("reading the encrypted file's header", e),
        other => Error::integrity(format!("the encrypted file's header is damaged: {other}"))
            .with_hint("use another copy of the backup"),
    }
}

/// Maps an error read from a [`DecryptReader`] (or anything reading through one): damage or an
/// early end of the ciphertext is `integrity`; other I/O errors as usual.
pub fn read_error(what: impl fmt::Display, e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::InvalidData => Error::integrity(format!(
            "{what}: the encrypted data is damaged (a chunk failed authentication: tampered with or damaged)"
        ))
        .with_hint("nothing from this file is used; use another copy of the backup"),
        io::ErrorKind::UnexpectedEof => Error::integrity(format!(
            "{what}: the encrypted file ends early (truncated)"
        ))
        .with_hint("nothing from this file is used; use another copy of the backup"),
        _ => Error::io(what, e),
    }
}
