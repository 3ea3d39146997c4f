//! Writing an age v1 file (<https://c2sp.org/age>) whose file key and stanza Offsite chose
//! (the passphrase files of [`super::passkey`]): the header with its MAC, the payload nonce and
//! the payload in STREAM chunks. The `age` crate writes only files whose file key it drew
//! itself; what it does is followed here step by step (and every file is read back by the crate
//! and by the `age` command in tests):
//!
//! - header: `age-encryption.org/v1`, one line `-> tag args…` per stanza and its body in
//!   base64 (no padding) in lines of 64 columns, the last one shorter (possibly empty), then
//!   `---` and, after a space, HMAC-SHA-256 of everything before that space under
//!   `HKDF-SHA-256(salt = "", ikm = file key, info = "header")`, in base64;
//! - 16 random bytes (the nonce); payload key `HKDF-SHA-256(salt = nonce, ikm = file key,
//!   info = "payload")`;
//! - the plaintext in chunks of 64 KiB, each sealed with ChaCha20-Poly1305 under the payload
//!   key with the nonce `counter (11 bytes, big-endian) ‖ last (1 byte: 1 for the final
//!   chunk)`; only the final chunk may be shorter, and it is empty only if the whole plaintext
//!   is.

use age::secrecy::ExposeSecret;
use age_core::format::{FileKey, Stanza};
use age_core::primitives::hkdf;
use base64::prelude::{Engine as _, BASE64_STANDARD_NO_PAD};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use std::io::{self, Write};

const CHUNK: usize = 64 << 10;
const TAG_LEN: usize = 16;

/// The header of an age file holding `stanzas`, MAC included.
pub(super) fn header(file_key: &FileKey, stanzas: &[Stanza]) -> Vec<u8> {
    let mut h = b"age-encryption.org/v1\n".to_vec();
    for s in stanzas {
        h.extend_from_slice(b"->");
        for a in std::iter::once(&s.tag).chain(&s.args) {
            h.push(b' ');
            h.extend_from_slice(a.as_bytes());
        }
        h.push(b'\n');
        let body = BASE64_STANDARD_NO_PAD.encode(&s.body);
        let mut rest = body.as_bytes();
        while rest.len() >= 64 {
            h.extend_from_slice(&rest[..64]);
            h.push(b'\n');
            rest = &rest[64..];
        }
        h.extend_from_slice(rest);
        h.push(b'\n');
    }
    h.extend_from_slice(b"---");
    let mac_key = hkdf(&[], b"header", file_key.expose_secret());
    let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &mac_key), &h);
    h.push(b' ');
    h.extend_from_slice(BASE64_STANDARD_NO_PAD.encode(tag.as_ref()).as_bytes());
    h.push(b'\n');
    h
}

/// Encrypts what is written into it as age's payload; [`finish`](Self::finish) seals the final
/// chunk (without it the file does not decrypt: its end is authenticated).
pub struct ChunkWriter<W: Write> {
    out: Option<W>,
    key: LessSafeKey,
    counter: u64,
    buf: Vec<u8>,
}

impl<W: Write> ChunkWriter<W> {
    /// Writes `header`, a fresh nonce, and returns the writer of the payload.
    pub(super) fn start(mut out: W, file_key: &FileKey, header: &[u8]) -> io::Result<Self> {
        let mut nonce = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
            .map_err(|_| io::Error::other("the system's random source failed"))?;
        let payload_key = hkdf(&nonce, b"payload", file_key.expose_secret());
        let key = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &payload_key)
                .map_err(|_| io::Error::other("ChaCha20-Poly1305 key"))?,
        );
        out.write_all(header)?;
        out.write_all(&nonce)?;
        Ok(ChunkWriter {
            out: Some(out),
            key,
            counter: 0,
            buf: Vec::with_capacity(CHUNK + TAG_LEN),
        })
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        let mut n = [0u8; 12];
        n[3..11].copy_from_slice(&self.counter.to_be_bytes());
        n[11] = u8::from(last);
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(n), Aad::empty(), &mut self.buf)
            .map_err(|_| io::Error::other("sealing a chunk"))?;
        self.out
            .as_mut()
            .ok_or_else(|| io::Error::other("the file was finished"))?
            .write_all(&self.buf)?;
        self.buf.clear();
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| io::Error::other("the file is too long for age's chunk counter"))?;
        Ok(())
    }

    /// Seals the final chunk and returns the underlying writer (not flushed or synced).
    pub fn finish(mut self) -> io::Result<W> {
        self.seal(true)?;
        self.out
            .take()
            .ok_or_else(|| io::Error::other("the file was finished"))
    }
}

impl<W: Write> Write for ChunkWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        // A full chunk is sealed only once more data follows: the final chunk may be full.
        if self.buf.len() == CHUNK {
            self.seal(false)?;
        }
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.out.as_mut() {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

impl<W: Write> Drop for ChunkWriter<W> {
    fn drop(&mut self) {
        // Plaintext waiting in the buffer is wiped.
        age::secrecy::zeroize::Zeroize::zeroize(&mut self.buf);
    }
}
