use super::*;
use crate::crypto::{Encryption, UserKey};
use crate::error::ErrorKind;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

fn info() -> SegmentInfo {
    SegmentInfo {
        start_lsn: 1,
        first_commit_lsn: 2,
        end_lsn: 3,
        first_commit_at: 4,
        last_commit_at: 5,
        closed_at: 6,
        commits: 1,
        messages: 2,
        fingerprint: "f".into(),
        sequences: vec![SequenceValue {
            schema: "public".into(),
            name: "s".into(),
            value: 9,
        }],
    }
}

fn write(dir: &Path) -> PathBuf {
    let mut w = SegmentWriter::create(dir).unwrap();
    w.message(10, 7, b"Bxyz").unwrap();
    let cut = w.position();
    w.message(11, 7, b"Cabc").unwrap();
    let committed = w.position();
    w.message(12, 8, b"half a transaction").unwrap();
    w.truncate(committed).unwrap();
    assert!(w.position() > cut);
    let p = dir.join("a.pitr");
    w.finish(&info(), &p, None).unwrap();
    p
}

#[test]
fn segment_round_trips_and_checks_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path());
    verify(&p, None).unwrap();
    let mut r = SegmentReader::open(&p, &[]).unwrap();
    let a = r.next_record().unwrap().unwrap();
    let b = r.next_record().unwrap().unwrap();
    assert_eq!((a.lsn, a.xid, a.data.as_slice()), (10, 7, &b"Bxyz"[..]));
    assert_eq!((b.lsn, b.data.as_slice()), (11, &b"Cabc"[..]));
    assert!(r.next_record().unwrap().is_none());
    assert_eq!(r.info(), Some(&info()));
    // Closed before the file is changed and removed: on Windows a removed file still open
    // stays in its folder (delete pending) until the last handle closes.
    drop(r);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // One byte changed: the checksum says so.
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&p, &bytes).unwrap();
    assert_eq!(verify(&p, None).unwrap_err().kind(), ErrorKind::Integrity);
    std::fs::remove_file(&p).unwrap();
    assert!(verify(&p, None).unwrap_err().message().contains("missing"));
}

/// An encrypted segment: age on disk (no message text readable), its checksum of the
/// ciphertext, read back with the key only, and a flipped byte caught.
#[test]
fn encrypted_segment_is_sealed_and_reads_back_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (key, recipient) = UserKey::generate();
    let enc = Encryption::to_recipients(vec![recipient]).unwrap();
    let mut w = SegmentWriter::create(dir.path()).unwrap();
    w.message(10, 7, b"Bsecret row text").unwrap();
    w.message(11, 7, b"Cabc").unwrap();
    let p = dir.path().join("a.pitr.age");
    let sha = w.finish(&info(), &p, Some(&enc)).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    assert!(crate::crypto::is_age(&bytes));
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("secret row") && !text.contains("OFFSITE-PITR"));
    verify(&p, Some(&sha)).unwrap();
    // Only the segment is left: the plaintext's temporary file is gone.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let mut r = SegmentReader::open(&p, std::slice::from_ref(&key)).unwrap();
    assert_eq!(r.next_record().unwrap().unwrap().data, b"Bsecret row text");
    assert_eq!(r.next_record().unwrap().unwrap().lsn, 11);
    assert!(r.next_record().unwrap().is_none());
    assert_eq!(r.info(), Some(&info()));
    assert_eq!(
        SegmentReader::open(&p, &[]).err().unwrap().kind(),
        ErrorKind::WrongKey
    );
    let (other, _) = UserKey::generate();
    assert_eq!(
        read_info(&p, &[other]).unwrap_err().kind(),
        ErrorKind::WrongKey
    );
    let mut bad = bytes.clone();
    let n = bad.len();
    bad[n - 20] ^= 1;
    std::fs::write(&p, &bad).unwrap();
    assert_eq!(
        read_info(&p, &[key]).unwrap_err().kind(),
        ErrorKind::Integrity
    );
}

#[test]
fn fuzz_pitr_segment_reader() {
    let dir = tempfile::tempdir().unwrap();
    let valid = std::fs::read(write(dir.path())).unwrap();
    let target = dir.path().join("f.pitr");
    let mut runner = TestRunner::new(offsite_testkit::fuzz::config());
    let input = (
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        proptest::option::of(any::<usize>()),
    );
    runner
        .run(&input, |(flips, cut)| {
            let mut b = valid.clone();
            for (at, byte) in flips {
                let n = b.len();
                b[at % n] = byte;
            }
            if let Some(c) = cut {
                b.truncate(c % (b.len() + 1));
            }
            std::fs::write(&target, &b).unwrap();
            if let Err(e) = read_info(&target, &[]) {
                prop_assert_eq!(e.kind(), ErrorKind::Integrity, "{}", e);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn par_each_runs_every_index_and_returns_the_first_failure_in_order() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let ran = AtomicUsize::new(0);
    let r = par_each(50, |i| {
        ran.fetch_add(1, Ordering::SeqCst);
        if i == 7 || i == 30 {
            Err(crate::error::Error::invalid(format!("failed {i}")))
        } else {
            Ok(())
        }
    });
    assert_eq!(ran.load(Ordering::SeqCst), 50);
    assert!(r.unwrap_err().message().contains("failed 7"));
    assert!(par_each(0, |_| Ok(())).is_ok());
}
