use super::*;
use crate::error::ErrorKind;
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

fn plaintext() -> Vec<u8> {
    (0..300_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect()
}

#[test]
fn recipients_parse_and_a_bad_one_is_named() {
    let (_, public) = UserKey::generate();
    let ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@rust";
    let rs = parse_recipients([public.as_str(), ssh, public.as_str()]).unwrap();
    assert_eq!(rs.len(), 2, "the duplicate is dropped");
    assert_eq!(rs[0].kind(), RecipientKind::X25519);
    assert_eq!(rs[1].kind(), RecipientKind::Ssh);
    let e = parse_recipients([public.as_str(), "age1notakey"]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("recipient 2"), "{e}");
    assert!(e.message().contains("age1notakey"), "{e}");
    let e = Recipient::parse("ecdsa-sha2-nistp256 AAAA").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // A secret key given as a recipient is refused without echoing it.
    let (key, _) = UserKey::generate();
    let e = Recipient::parse(key.expose_secret()).unwrap_err();
    assert!(!e.message().contains(&key.expose_secret()[15..]), "{e}");
}

#[test]
fn user_keys_are_never_printable() {
    let (key, _) = UserKey::generate();
    let secret = key.expose_secret().to_string();
    assert!(secret.starts_with("AGE-SECRET-KEY-1"));
    for shown in [format!("{key:?}"), format!("{key}")] {
        assert!(!shown.contains(&secret[16..]), "{shown}");
    }
    let pass = UserKey::parse("correct horse battery staple\n").unwrap();
    assert!(pass.is_passphrase());
    assert_eq!(pass.expose_secret(), "correct horse battery staple");
    assert!(!format!("{pass:?} {pass}").contains("horse"));
    let enc = Encryption::with_passphrase(pass).unwrap();
    assert!(!format!("{enc:?}").contains("horse"));
    assert_eq!(
        UserKey::parse("").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        UserKey::parse("\n").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // An identity file (comments, the line) parses as identities, with its public key.
    let file = format!("# created: now\n# public key: x\n{secret}\n");
    let parsed = UserKey::parse(&file).unwrap();
    assert!(!parsed.is_passphrase());
    assert_eq!(parsed.public_recipients(), key.public_recipients());
    let e = UserKey::parse("AGE-SECRET-KEY-1NOTAKEY").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(!e.message().contains("NOTAKEY"));
}

#[test]
fn recipients_round_trip_and_each_identity_opens_alone() {
    let (a, pa) = UserKey::generate();
    let (b, pb) = UserKey::generate();
    let (c, _) = UserKey::generate();
    let plain = plaintext();
    let enc = Encryption::to_recipients(vec![pa, pb]).unwrap();
    assert_eq!(enc.describe().len(), 2);
    let cipher = encrypt(&enc, &plain);
    assert!(is_age(&cipher));
    assert!(!is_age(&plain));
    assert_eq!(
        decrypt_all(&cipher, std::slice::from_ref(&a)).unwrap(),
        plain
    );
    assert_eq!(decrypt_all(&cipher, &[b]).unwrap(), plain);
    let e = decrypt_all(&cipher, &[c]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongKey);
    assert!(e.hint().unwrap().contains("nobody can recover"), "{e:?}");
    // Plain words first (which key, where to find it); the age terms only behind Details.
    assert!(e.hint().unwrap().contains("recovery key"), "{e:?}");
    for engine_word in ["AGE-SECRET-KEY", "public keys", "SSH", "recipient"] {
        assert!(!e.hint().unwrap().contains(engine_word), "{e:?}");
        assert!(!e.message().contains(engine_word), "{e:?}");
    }
    assert!(e.detail().unwrap().contains("AGE-SECRET-KEY-1"), "{e:?}");
    let e = decrypt_all(&cipher, &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongKey);
    let e = decrypt_all(&cipher, &[UserKey::passphrase("pw").unwrap()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongKey);
    // Several keys: any one that matches.
    let (d, _) = UserKey::generate();
    assert_eq!(decrypt_all(&cipher, &[d, a]).unwrap(), plain);
}

#[test]
fn passphrase_round_trip_and_wrong_passphrase() {
    let plain = b"hello, archive".repeat(10_000);
    let pass = UserKey::passphrase("open sesame").unwrap();
    let cipher = encrypt(&Encryption::with_passphrase(pass.clone()).unwrap(), &plain);
    assert!(!cipher.windows(11).any(|w| w == b"open sesame"));
    assert_eq!(decrypt_all(&cipher, &[pass]).unwrap(), plain);
    let e = decrypt_all(&cipher, &[UserKey::passphrase("open sesamE").unwrap()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongKey);
    assert!(e.hint().unwrap().contains("passphrase"), "{e:?}");
    let (k, _) = UserKey::generate();
    assert_eq!(
        decrypt_all(&cipher, &[k]).unwrap_err().kind(),
        ErrorKind::WrongKey
    );
    assert!(Encryption::with_passphrase(UserKey::generate().0).is_err());
    assert!(Encryption::to_recipients(vec![]).is_err());
}

#[test]
fn empty_truncated_tampered_and_foreign_files() {
    let (k, p) = UserKey::generate();
    let plain = plaintext();
    let cipher = encrypt(&Encryption::to_recipients(vec![p]).unwrap(), &plain);
    let keys = [k];
    assert_eq!(
        decrypt_all(b"", &keys).unwrap_err().kind(),
        ErrorKind::Integrity
    );
    assert_eq!(
        decrypt_all(b"\x1f\x8b\x08\x00 not age", &keys)
            .unwrap_err()
            .kind(),
        ErrorKind::UnsupportedFormat
    );
    // Cut inside the header, inside the payload, at a chunk boundary.
    for cut in [
        10,
        40,
        cipher.len() / 2,
        cipher.len() - 1,
        cipher.len() - 17,
    ] {
        let e = decrypt_all(&cipher[..cut], &keys).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "cut at {cut}: {e}");
    }
    // A flipped byte in the middle, and in the last chunk.
    for at in [cipher.len() / 2, cipher.len() - 5] {
        let mut bad = cipher.clone();
        bad[at] ^= 0x01;
        let e = decrypt_all(&bad, &keys).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "flip at {at}: {e}");
    }
    // Bytes appended after the last chunk.
    let mut longer = cipher.clone();
    longer.extend_from_slice(b"more");
    assert_eq!(
        decrypt_all(&longer, &keys).unwrap_err().kind(),
        ErrorKind::Integrity
    );
}
