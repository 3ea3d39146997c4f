//! The writer's encrypted output: ciphertext only, its hash in the sidecar, the same archive
//! inside; a large fragment is copied (never finished in place); cancel leaves nothing.

use super::super::*;
use crate::crypto::{Encryption, UserKey};
use crate::progress::{Phase, ProgressUpdate, Reporter};
use crate::test_fixtures::*;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const AGE_ARCHIVE: &str = "shop_20261123_100000_full.tar.gz.age";

fn encrypted(
    dir: &std::path::Path,
    enc: Encryption,
    cancel: &CancellationToken,
    reporter: &Reporter,
) -> crate::Result<Written> {
    let mut w = ArchiveWriter::create(dir, AGE_ARCHIVE, 3).unwrap();
    w.encrypt(enc).unwrap();
    let mut spool = w.spool(DATABASE_MEMBER).unwrap();
    spool.write_all(&data(3 << 20, 7)).unwrap();
    w.add_spooled(spool.finish().unwrap());
    let mut f = w.fragment("2026-11-23T10:00:00Z").unwrap();
    for i in 0..80 {
        let body = data(64 * 1024, i + 1);
        f.append_bytes(&format!("storage/b/{i}"), &body, &sha(&body))
            .unwrap();
    }
    w.add_fragment(f.finish().unwrap());
    w.finish(manifest(), reporter, cancel)
}

#[test]
fn an_encrypted_archive_is_ciphertext_whose_plaintext_is_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = UserKey::generate();
    let (other, other_public) = UserKey::generate();
    let enc = Encryption::to_recipients(vec![public.clone(), other_public]).unwrap();
    let written = encrypted(dir.path(), enc, &CancellationToken::new(), &quiet()).unwrap();
    assert_eq!(
        names_in(dir.path()),
        vec![AGE_ARCHIVE.to_string(), format!("{AGE_ARCHIVE}.sha256")]
    );
    let bytes = std::fs::read(&written.path).unwrap();
    assert!(crate::crypto::is_age(&bytes));
    assert_eq!(written.size, bytes.len() as u64);
    assert_eq!(written.sha256, sha256_file(&written.path).unwrap());
    assert_eq!(
        read_sidecar(&written.path).unwrap().as_deref(),
        Some(written.sha256.as_str())
    );
    let recorded = written.manifest.encryption.as_ref().unwrap();
    assert_eq!(recorded.recipients.len(), 2);
    assert_eq!(recorded.recipients[0], public.to_string());

    // Either key alone gives a gzip'd tar that GNU tar lists, manifest first.
    for k in [key, other] {
        let mut plain = Vec::new();
        crate::crypto::decrypt(&bytes[..], &[k])
            .unwrap()
            .read_to_end(&mut plain)
            .unwrap();
        let gz = dir.path().join("plain.tar.gz");
        std::fs::write(&gz, &plain).unwrap();
        let out = std::process::Command::new("tar")
            .arg("tzf")
            .arg(&gz)
            .output()
            .unwrap();
        assert!(out.status.success());
        let names = String::from_utf8(out.stdout).unwrap();
        assert!(
            names.starts_with("metadata.json\ndatabase.dump\n"),
            "{names}"
        );
        assert_eq!(
            names
                .lines()
                .filter(|n| n.starts_with("storage/b/"))
                .count(),
            80
        );
        std::fs::remove_file(&gz).unwrap();
    }
    // verify: every member with the key; the ciphertext only without.
    let report = verify(&written.path, &quiet(), &CancellationToken::new()).unwrap();
    assert!(report.ok && report.contents_not_checked.is_some());
    assert!(report.members.is_empty());
}

#[test]
fn an_encrypted_name_is_required_and_cancel_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, public) = UserKey::generate();
    let enc = Encryption::to_recipients(vec![public]).unwrap();
    let mut plain_named = ArchiveWriter::create(dir.path(), ARCHIVE, 1).unwrap();
    assert_eq!(
        plain_named.encrypt(enc.clone()).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    drop(plain_named);
    type CancelAt = Box<dyn Fn(&ProgressUpdate) -> bool + Send + Sync>;
    let cases: [(&str, CancelAt); 2] = [
        (
            "while packing",
            Box::new(|u| u.phase == Phase::Packing && u.bytes_done > (1 << 20)),
        ),
        ("while syncing", Box::new(|u| u.phase == Phase::Syncing)),
    ];
    for (when, cancel_at) in cases {
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let sink = move |u: &ProgressUpdate| {
            if cancel_at(u) {
                token.cancel();
            }
        };
        let reporter = Reporter::with_interval(Arc::new(sink), "t", Duration::ZERO);
        let e = encrypted(dir.path(), enc.clone(), &cancel, &reporter).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled, "{when}: {e}");
        assert_eq!(names_in(dir.path()), Vec::<String>::new(), "{when}");
    }
}

/// `read_manifest` of an encrypted archive: `wrong_key` without a key (saying it is encrypted),
/// the manifest with one, `integrity` for a damaged or an empty `.age` file (an empty plain
/// `.tar.gz` stays "not an archive").
#[test]
fn the_manifest_of_an_encrypted_archive_needs_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = UserKey::generate();
    let enc = Encryption::to_recipients(vec![public]).unwrap();
    let written = encrypted(dir.path(), enc, &CancellationToken::new(), &quiet()).unwrap();
    let e = read_manifest(&written.path).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::WrongKey, "{e}");
    assert!(e.message().contains("encrypted"), "{e}");
    let m = read_manifest_with(&written.path, std::slice::from_ref(&key)).unwrap();
    assert_eq!(m.backup_id, written.manifest.backup_id);
    let (stranger, _) = UserKey::generate();
    let e = read_manifest_with(&written.path, &[stranger]).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::WrongKey, "{e}");

    let mut bytes = std::fs::read(&written.path).unwrap();
    bytes.truncate(400); // past the header, inside the first chunk
    std::fs::write(&written.path, &bytes).unwrap();
    let e = read_manifest_with(&written.path, std::slice::from_ref(&key)).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Integrity, "{e}");

    std::fs::write(&written.path, b"").unwrap();
    let e = read_manifest_with(&written.path, std::slice::from_ref(&key)).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Integrity, "{e}");
    let e = verify_with(&written.path, &[key], &quiet(), &CancellationToken::new()).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Integrity, "{e}");
    assert!(e.message().contains("empty"), "{e}");
    let plain = dir.path().join("empty.tar.gz");
    std::fs::write(&plain, b"").unwrap();
    let e = read_manifest(&plain).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::UnsupportedFormat, "{e}");
}
