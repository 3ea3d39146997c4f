//! Encryption in the age format (<https://age-encryption.org/v1>), through the `age` crate, so
//! every encrypted archive opens with the `age` command-line tool (`age -d -i key.txt`) and
//! files made by `age -e` open here.
//!
//! - [`Recipient`] / [`parse_recipients`]: public keys (`age1…` X25519, `ssh-ed25519 …`,
//!   `ssh-rsa …`); a bad one is `invalid_input` naming which.
//! - [`UserKey`]: a passphrase or identities (`AGE-SECRET-KEY-1…`); never printable.
//! - [`Encryption::wrap`]: an encrypting `Write` (to recipients, or to a passphrase with scrypt;
//!   age never mixes the two in one file).
//! - [`decrypt`]: a decrypting `Read`; errors are `wrong_key`, `integrity` (empty, truncated,
//!   tampered: age authenticates every 64 KiB chunk, so damage is found where it is) or
//!   `unsupported_format` (not an age file). Map read errors with [`read_error`].
//! - [`is_age`]: sniffing the first bytes.
//!
//! Streaming: memory is a chunk or two, whatever the file's size.

mod chunks;
mod keys;
/// Reading `openssl enc -aes-256-cbc` files (imports from seed-style servers).
pub mod openssl;
/// Passphrase files at one key derivation per project and process (issue 67).
pub mod passkey;
mod stream;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_passkey;

pub use keys::{parse_recipients, Recipient, RecipientKind, UserKey};
pub use stream::{decrypt, read_error, wrong_key, DecryptReader, EncryptWriter, Encryption};

/// The first line of every (binary) age file.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1";

/// The suffix an encrypted archive's name gets (`<name>.tar.zst.age`, `<name>.tar.gz.age`).
pub const AGE_SUFFIX: &str = ".age";

/// Whether `first_bytes` (the start of a file) begin an age file: they start with
/// `age-encryption.org/v1` followed by a newline. Give at least 22 bytes.
pub fn is_age(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(AGE_MAGIC) && first_bytes.get(AGE_MAGIC.len()) == Some(&b'\n')
}
