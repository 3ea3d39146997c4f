//! Reading files encrypted by `openssl enc -aes-256-cbc -salt` (what many seed-style backup
//! scripts do: `pg_dump … | gzip | openssl enc -aes-256-cbc -salt -pass …`).
//!
//! The file is `Salted__`, 8 bytes of salt, then AES-256-CBC ciphertext with PKCS#7 padding. The
//! key and IV come from the passphrase and the salt by one of:
//! - PBKDF2-HMAC-SHA256, 10,000 iterations (`-pbkdf2`, OpenSSL ≥ 1.1.1; `-iter` other than the
//!   default is not recognised);
//! - `EVP_BytesToKey` with SHA-256 (no `-pbkdf2`, OpenSSL ≥ 1.1.0's default digest);
//! - `EVP_BytesToKey` with MD5 (OpenSSL < 1.1.0, or `-md md5`).
//!
//! The file does not say which one was used, so each is tried on the first few KiB and the one
//! whose plaintext looks like a backup (gzip, zstd, a custom-format dump, or text) is taken.
//!
//! The format has **no authentication**: a wrong passphrase that happens to pass that test, a
//! flipped bit or a cut at a 16-byte boundary are not detected by the cipher (only a bad padding
//! at the very end is). Whoever reads the plaintext must check it (gzip CRCs, the dump's own
//! structure, an archive's checksums) before accepting it.

use crate::error::{Error, ErrorKind, Result};
use aes::cipher::{BlockDecryptMut, KeyIvInit};
use std::io::{self, Read};

/// The first 8 bytes of a salted `openssl enc` file.
pub const MAGIC: &[u8; 8] = b"Salted__";

/// `openssl enc -pbkdf2`'s default iteration count.
pub const PBKDF2_DEFAULT_ITERATIONS: u32 = 10_000;

/// How much of the ciphertext is decrypted to recognise the key derivation.
const PROBE: usize = 4096;

/// Ciphertext read at a time.
const CHUNK: usize = 64 * 1024;

const BLOCK: usize = 16;

type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// How the key and IV were derived from the passphrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    /// `-pbkdf2` (PBKDF2-HMAC-SHA256).
    Pbkdf2Sha256 { iterations: u32 },
    /// `EVP_BytesToKey` with SHA-256 (OpenSSL ≥ 1.1.0 without `-pbkdf2`).
    EvpSha256,
    /// `EVP_BytesToKey` with MD5 (OpenSSL < 1.1.0, or `-md md5`).
    EvpMd5,
}

impl Kdf {
    /// How `openssl enc` is told to use it (for notes and reports).
    pub fn describe(self) -> String {
        match self {
            Kdf::Pbkdf2Sha256 { iterations } => {
                format!("-pbkdf2 (PBKDF2-HMAC-SHA256, {iterations} iterations)")
            }
            Kdf::EvpSha256 => "-md sha256 (EVP_BytesToKey, OpenSSL 1.1 and later)".into(),
            Kdf::EvpMd5 => "-md md5 (EVP_BytesToKey, OpenSSL before 1.1)".into(),
        }
    }

    /// Tried in this order.
    pub const ALL: [Kdf; 3] = [
        Kdf::Pbkdf2Sha256 {
            iterations: PBKDF2_DEFAULT_ITERATIONS,
        },
        Kdf::EvpSha256,
        Kdf::EvpMd5,
    ];

    /// Key (32 bytes) and IV (16 bytes).
    fn derive(self, passphrase: &[u8], salt: &[u8; 8]) -> [u8; 48] {
        let mut out = [0u8; 48];
        match self {
            Kdf::Pbkdf2Sha256 { iterations } => ring::pbkdf2::derive(
                ring::pbkdf2::PBKDF2_HMAC_SHA256,
                std::num::NonZeroU32::new(iterations.max(1)).expect("non-zero"),
                salt,
                passphrase,
                &mut out,
            ),
            Kdf::EvpSha256 => evp_bytes_to_key(&mut out, passphrase, salt, |d| {
                ring::digest::digest(&ring::digest::SHA256, d)
                    .as_ref()
                    .to_vec()
            }),
            Kdf::EvpMd5 => evp_bytes_to_key(&mut out, passphrase, salt, |d| {
                use md5::Digest;
                md5::Md5::digest(d).to_vec()
            }),
        }
        out
    }
}

/// OpenSSL's `EVP_BytesToKey` with one iteration: D_i = H(D_{i-1} ‖ passphrase ‖ salt).
fn evp_bytes_to_key(
    out: &mut [u8; 48],
    passphrase: &[u8],
    salt: &[u8; 8],
    hash: impl Fn(&[u8]) -> Vec<u8>,
) {
    let mut filled = 0;
    let mut prev: Vec<u8> = Vec::new();
    while filled < out.len() {
        let mut input = Vec::with_capacity(prev.len() + passphrase.len() + salt.len());
        input.extend_from_slice(&prev);
        input.extend_from_slice(passphrase);
        input.extend_from_slice(salt);
        prev = hash(&input);
        let n = prev.len().min(out.len() - filled);
        out[filled..filled + n].copy_from_slice(&prev[..n]);
        filled += n;
    }
}

/// Whether `head` (the file's first bytes) starts like a salted `openssl enc` file.
pub fn is_openssl(head: &[u8]) -> bool {
    head.len() >= MAGIC.len() && &head[..MAGIC.len()] == MAGIC
}

/// The error for a passphrase that opens nothing recognisable.
pub fn wrong_passphrase() -> Error {
    Error::new(
        ErrorKind::WrongKey,
        "the passphrase does not decrypt this openssl-encrypted file",
    )
    .with_hint(
        "give the passphrase the file was encrypted with (openssl enc -aes-256-cbc, with or without -pbkdf2; -iter other than 10000 is not supported)",
    )
}

/// Whether decrypted bytes start like something Offsite imports: gzip, zstd, a custom-format
/// dump, or text (a plain SQL dump). Random bytes (a wrong key) fail this with overwhelming
/// probability.
fn plausible(plain: &[u8]) -> bool {
    if plain.starts_with(&[0x1f, 0x8b, 0x08])
        || plain.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || plain.starts_with(b"PGDMP")
    {
        return true;
    }
    // Text: long enough to tell it from noise, and all of it text-like (UTF-8 bytes allowed).
    let n = plain.len().min(1024);
    n >= 16
        && plain[..n]
            .iter()
            .all(|c| c.is_ascii_graphic() || c.is_ascii_whitespace() || *c >= 0x80)
}

/// Strips PKCS#7 padding from the last block; `None` when it is not valid padding.
fn unpad(last: &[u8]) -> Option<usize> {
    let p = *last.last()? as usize;
    if p == 0 || p > BLOCK || p > last.len() {
        return None;
    }
    last[last.len() - p..]
        .iter()
        .all(|&b| b as usize == p)
        .then_some(last.len() - p)
}

/// Decrypts `data` (a multiple of 16 bytes) in place.
fn decrypt_in_place(dec: &mut Aes256CbcDec, data: &mut [u8]) {
    for block in data.chunks_exact_mut(BLOCK) {
        dec.decrypt_block_mut(aes::Block::from_mut_slice(block));
    }
}

fn decryptor(kdf: Kdf, passphrase: &[u8], salt: &[u8; 8]) -> Aes256CbcDec {
    let km = kdf.derive(passphrase, salt);
    Aes256CbcDec::new_from_slices(&km[..32], &km[32..]).expect("key and iv lengths")
}

/// A streaming decryptor of an `openssl enc -aes-256-cbc -salt` file: reads the header, finds the
/// key derivation, then yields the plaintext. Memory is bounded (64 KiB of ciphertext at a time).
///
/// Errors while reading: `UnexpectedEof` when the ciphertext is not a whole number of blocks (the
/// file is cut), `InvalidData` when the final padding is wrong (a wrong passphrase or a damaged
/// end). A cut at a block boundary usually shows as bad padding, but not always: check the
/// plaintext.
pub struct OpensslReader<R> {
    inner: R,
    dec: Aes256CbcDec,
    kdf: Kdf,
    /// Ciphertext not yet decrypted (the last block is held back until the end is known).
    pending: Vec<u8>,
    /// Decrypted, not yet returned.
    out: Vec<u8>,
    out_pos: usize,
    done: bool,
}

impl<R: Read> OpensslReader<R> {
    /// Reads the header and the first few KiB of `inner`, and finds the key derivation whose
    /// plaintext looks like a backup. Fails with [`ErrorKind::WrongKey`] when none does, and
    /// [`ErrorKind::UnsupportedFormat`] when it is not a salted openssl file.
    pub fn new(mut inner: R, passphrase: &[u8]) -> Result<Self> {
        let mut header = [0u8; 16];
        let n = read_full(&mut inner, &mut header).map_err(|e| Error::io("reading", e))?;
        if n < 16 || !is_openssl(&header) {
            return Err(Error::new(
                ErrorKind::UnsupportedFormat,
                "not a salted openssl enc file (no Salted__ header)",
            ));
        }
        let salt: [u8; 8] = header[8..16].try_into().expect("8 bytes");
        let mut pending = vec![0u8; PROBE + BLOCK];
        let got = read_full(&mut inner, &mut pending).map_err(|e| Error::io("reading", e))?;
        pending.truncate(got);
        let whole = got < PROBE + BLOCK;
        if got == 0 || whole && got % BLOCK != 0 {
            return Err(Error::integrity(
                "the openssl-encrypted file is truncated (its ciphertext is not a whole number of blocks)",
            )
            .with_hint("the file is damaged or was cut off; use another copy"));
        }
        let probe_len = (got / BLOCK) * BLOCK;
        for kdf in Kdf::ALL {
            let mut dec = decryptor(kdf, passphrase, &salt);
            let mut probe = pending[..probe_len].to_vec();
            decrypt_in_place(&mut dec, &mut probe);
            let plain = if whole {
                match unpad(&probe[probe_len - BLOCK..]) {
                    Some(k) => &probe[..probe_len - BLOCK + k],
                    None => continue,
                }
            } else {
                &probe[..]
            };
            if plausible(plain) {
                return Ok(OpensslReader {
                    inner,
                    dec: decryptor(kdf, passphrase, &salt),
                    kdf,
                    pending,
                    out: Vec::with_capacity(CHUNK + BLOCK),
                    out_pos: 0,
                    done: false,
                });
            }
        }
        Err(wrong_passphrase())
    }

    /// The key derivation that was recognised.
    pub fn kdf(&self) -> Kdf {
        self.kdf
    }

    /// Refills `out` with the next decrypted bytes; false at the end.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.out_pos = 0;
        while !self.done && self.out.is_empty() {
            let start = self.pending.len();
            self.pending.resize(start + CHUNK, 0);
            let n = read_full(&mut self.inner, &mut self.pending[start..])?;
            self.pending.truncate(start + n);
            let eof = n < CHUNK;
            if eof {
                self.done = true;
                if self.pending.is_empty() || !self.pending.len().is_multiple_of(BLOCK) {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the openssl-encrypted file is truncated",
                    ));
                }
                let mut all = std::mem::take(&mut self.pending);
                decrypt_in_place(&mut self.dec, &mut all);
                let keep = unpad(&all[all.len() - BLOCK..]).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "bad padding at the end of the openssl-encrypted file (a wrong passphrase, or the file is damaged or cut off)",
                    )
                })?;
                all.truncate(all.len() - BLOCK + keep);
                self.out = all;
            } else {
                // Everything but the last whole block (it may hold the padding).
                let whole = (self.pending.len() / BLOCK) * BLOCK;
                let ready = whole - BLOCK;
                self.out.extend_from_slice(&self.pending[..ready]);
                self.pending.drain(..ready);
                decrypt_in_place(&mut self.dec, &mut self.out);
            }
        }
        Ok(!self.out.is_empty())
    }
}

impl<R: Read> Read for OpensslReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.out_pos >= self.out.len() && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockEncryptMut;

    type Enc = cbc::Encryptor<aes::Aes256>;

    /// What `openssl enc -aes-256-cbc -salt` writes (the interop tests use the real CLI).
    fn encrypt(plain: &[u8], pass: &[u8], kdf: Kdf) -> Vec<u8> {
        let salt = *b"12345678";
        let km = kdf.derive(pass, &salt);
        let mut enc = Enc::new_from_slices(&km[..32], &km[32..]).unwrap();
        let mut data = plain.to_vec();
        let p = BLOCK - data.len() % BLOCK;
        data.extend(std::iter::repeat_n(p as u8, p));
        for b in data.chunks_exact_mut(BLOCK) {
            enc.encrypt_block_mut(aes::Block::from_mut_slice(b));
        }
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&salt);
        out.extend_from_slice(&data);
        out
    }

    fn text(n: usize) -> Vec<u8> {
        (0..n).map(|i| b"SELECT 1;\n"[i % 10]).collect()
    }

    #[test]
    fn every_derivation_and_size_round_trips() {
        for kdf in Kdf::ALL {
            for n in [
                16, 17, 31, 32, 4095, 4096, 4111, 4112, 4113, 70_000, 200_003,
            ] {
                let plain = text(n);
                let file = encrypt(&plain, b"pw", kdf);
                let mut r = OpensslReader::new(&file[..], b"pw").unwrap();
                assert_eq!(r.kdf(), kdf);
                let mut got = Vec::new();
                r.read_to_end(&mut got).unwrap();
                assert!(got == plain, "{kdf:?} {n}: {} bytes", got.len());
            }
        }
    }

    #[test]
    fn wrong_passphrase_truncation_and_bad_padding() {
        let plain = text(100_000);
        let file = encrypt(&plain, b"right", Kdf::EvpSha256);
        let e = OpensslReader::new(&file[..], b"wrong").err().unwrap();
        assert_eq!(e.kind(), ErrorKind::WrongKey);
        // Cut mid-block: refused while reading.
        let mut r = OpensslReader::new(&file[..file.len() - 5], b"right").unwrap();
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        // Last byte flipped: bad padding.
        let mut bad = file.clone();
        *bad.last_mut().unwrap() ^= 1;
        let mut r = OpensslReader::new(&bad[..], b"right").unwrap();
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // No header.
        let e = OpensslReader::new(&plain[..], b"right").err().unwrap();
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat);
    }

    #[test]
    fn derivations_match_openssl() {
        // `openssl enc -aes-256-cbc [-md md5 | -md sha256 | -pbkdf2] -S 3132333435363738
        // -pass pass:pw -P` (OpenSSL 3.0).
        for (kdf, key, iv) in [
            (
                Kdf::EvpMd5,
                "B55A2901D68927617F9C2F962AD9302BD0DC8B99FC2C9678CB2AF0C6246CBDB1",
                "FAF51D5B5BA9D900ACF04DE4A73D767A",
            ),
            (
                Kdf::EvpSha256,
                "8D1BCC720731778BA30C865D8ECD4A8BF3BB1E77959579FA9E1CEED56CEC7D97",
                "426FCB1084F2AED891AAFB427248EC25",
            ),
            (
                Kdf::ALL[0],
                "7C2D08D2FD9E4DECE2C37373C77E4A0C41F557EF04B032FA2E3DD87D0956ECF8",
                "651F9B711B659FC8F8D1E5F371F98B1D",
            ),
        ] {
            let km = kdf.derive(b"pw", b"12345678");
            assert_eq!(hex::encode_upper(&km[..32]), key, "{kdf:?}");
            assert_eq!(hex::encode_upper(&km[32..]), iv, "{kdf:?}");
        }
    }
}
