//! Passphrase files at one derivation per project (issue 67): the files are age's own format
//! (the crate's stock scrypt identity opens them), a project's files derive their key once,
//! files with salts of their own (age -p, earlier Offsite) still open, one derivation each.

use super::passkey::{derivations_with, project_salt, WORK_FACTOR};
use super::*;
use crate::error::ErrorKind;
use age::secrecy::SecretString;
use std::io::{Read, Write};

fn encrypt(enc: &Encryption, plain: &[u8]) -> Vec<u8> {
    let mut w = enc.wrap(Vec::new()).unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap()
}

fn decrypt_all(cipher: &[u8], keys: &[UserKey]) -> crate::error::Result<Vec<u8>> {
    let mut r = decrypt(cipher, keys)?;
    let mut out = Vec::new();
    r.read_to_end(&mut out)
        .map_err(|e| read_error("reading", e))?;
    Ok(out)
}

/// Decrypted by the `age` crate's own scrypt identity (no cache, no Offsite code).
fn stock_decrypt(cipher: &[u8], pass: &str) -> Vec<u8> {
    let d = age::Decryptor::new(cipher).unwrap();
    assert!(d.is_scrypt());
    let mut id = age::scrypt::Identity::new(SecretString::from(pass.to_string()));
    id.set_max_work_factor(22);
    let mut r = d
        .decrypt(std::iter::once(&id as &dyn age::Identity))
        .unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    out
}

#[test]
fn project_passphrase_files_are_stock_age_files_of_every_length() {
    let pass = "stock age opens project files";
    let enc =
        Encryption::with_project_passphrase(UserKey::passphrase(pass).unwrap(), "p-1").unwrap();
    // Around age's 64 KiB chunk: empty, short, exactly one chunk (the final chunk is full), one
    // byte over, several chunks.
    for len in [0usize, 1, 65_535, 65_536, 65_537, 131_072, 300_001] {
        let plain: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let cipher = encrypt(&enc, &plain);
        let text = String::from_utf8_lossy(&cipher[..80]);
        assert!(
            text.contains("-> scrypt ") && text.contains(&format!(" {WORK_FACTOR}\n")),
            "{text}"
        );
        assert_eq!(
            stock_decrypt(&cipher, pass),
            plain,
            "stock age, {len} bytes"
        );
        let key = UserKey::passphrase(pass).unwrap();
        assert_eq!(decrypt_all(&cipher, &[key]).unwrap(), plain, "{len} bytes");
    }
}

#[test]
fn a_projects_files_derive_the_key_once_and_others_once_each() {
    let pass = "one derivation for six segments";
    assert_eq!(derivations_with(pass), 0);
    let enc =
        Encryption::with_project_passphrase(UserKey::passphrase(pass).unwrap(), "p-2").unwrap();
    let files: Vec<Vec<u8>> = (0..6u8).map(|i| encrypt(&enc, &[i; 1000])).collect();
    // A second job (a new Encryption and new keys, as each job reads the keychain again).
    let again =
        Encryption::with_project_passphrase(UserKey::passphrase(pass).unwrap(), "p-2").unwrap();
    let seventh = encrypt(&again, b"seventh");
    for (i, f) in files.iter().enumerate() {
        let key = UserKey::passphrase(pass).unwrap();
        assert_eq!(decrypt_all(f, &[key]).unwrap(), vec![i as u8; 1000]);
    }
    assert_eq!(
        decrypt_all(&seventh, &[UserKey::passphrase(pass).unwrap()]).unwrap(),
        b"seventh"
    );
    assert_eq!(derivations_with(pass), 1, "seven files written and read");
    // Every file of the project carries the same stanza; payloads differ (own nonces).
    let head = |f: &[u8]| f[..f.windows(4).position(|w| w == b"--- ").unwrap()].to_vec();
    assert!(files.iter().all(|f| head(f) == head(&files[0])));
    assert_ne!(files[0][200..], files[1][200..]);
    // Another project: another salt, another derivation; never the same stanza.
    let other =
        Encryption::with_project_passphrase(UserKey::passphrase(pass).unwrap(), "p-3").unwrap();
    let o = encrypt(&other, b"x");
    assert_ne!(head(&o), head(&files[0]));
    assert_ne!(project_salt("p-2"), project_salt("p-3"));
    assert_eq!(derivations_with(pass), 2);

    // Files with salts of their own (what age -p and Offsite before this made): each opens,
    // at one derivation each (work factor 10 to keep the test short).
    let old: Vec<Vec<u8>> = (0..3u8)
        .map(|i| {
            let mut r = age::scrypt::Recipient::new(SecretString::from(pass.to_string()));
            r.set_work_factor(10);
            let e = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
                .unwrap();
            let mut out = Vec::new();
            let mut w = e.wrap_output(&mut out).unwrap();
            w.write_all(&[i; 10]).unwrap();
            w.finish().unwrap();
            out
        })
        .collect();
    for (i, f) in old.iter().enumerate() {
        let key = UserKey::passphrase(pass).unwrap();
        assert_eq!(decrypt_all(f, &[key]).unwrap(), vec![i as u8; 10]);
    }
    assert_eq!(derivations_with(pass), 5);
}

#[test]
fn project_files_refuse_a_wrong_passphrase_and_damage() {
    let pass = "the right one";
    let enc =
        Encryption::with_project_passphrase(UserKey::passphrase(pass).unwrap(), "p-4").unwrap();
    let plain: Vec<u8> = (0..200_000u32).map(|i| (i % 7) as u8).collect();
    let cipher = encrypt(&enc, &plain);
    let e = decrypt_all(&cipher, &[UserKey::passphrase("the wrong one").unwrap()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongKey);
    assert!(!e.to_string().contains("the right one"));
    // A flipped payload byte, a flipped MAC, a cut-off end: integrity, never plaintext.
    let mut flipped = cipher.clone();
    let at = flipped.len() - 1000;
    flipped[at] ^= 1;
    let e = decrypt_all(&flipped, &[UserKey::passphrase(pass).unwrap()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    let mac_at = cipher.windows(4).position(|w| w == b"--- ").unwrap() + 5;
    let mut bad_mac = cipher.clone();
    bad_mac[mac_at] = if bad_mac[mac_at] == b'A' { b'B' } else { b'A' };
    assert!(decrypt_all(&bad_mac, &[UserKey::passphrase(pass).unwrap()]).is_err());
    let cut = &cipher[..cipher.len() - 20];
    let e = decrypt_all(cut, &[UserKey::passphrase(pass).unwrap()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    // The secret never shows in how the encryption prints.
    assert!(!format!("{enc:?}").contains(pass));
}
