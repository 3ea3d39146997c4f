//! `--key-stdin` of `offsite import` and `offsite restore`: the passphrase or key of an encrypted
//! file (an `AGE-SECRET-KEY-1…` identity file, a passphrase, an `openssl enc` passphrase), read
//! from standard input to its end (after the password's line when `--password-stdin` comes too).

use offsite_core::crypto::UserKey;
use offsite_core::{Error, Result};
use std::io::Read;

/// Most a key read from standard input may be (an identity file is a few hundred bytes).
const MAX_KEY: u64 = 64 * 1024;

/// Reads the key from what is left of standard input.
pub fn read_key_stdin() -> Result<UserKey> {
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_KEY + 1)
        .read_to_string(&mut text)
        .map_err(|e| Error::io("reading the key from stdin", e))?;
    if text.trim().is_empty() {
        return Err(
            Error::invalid("no key or passphrase on standard input").with_hint(
                "pipe it in: offsite … --key-stdin < key.txt (or printf %s \"$PASS\" | …)",
            ),
        );
    }
    UserKey::parse(&text)
}
