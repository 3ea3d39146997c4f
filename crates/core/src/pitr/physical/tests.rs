use super::*;
use crate::pitr::segment::SegmentInfo;

fn info(start: u64, end: u64) -> SegmentInfo {
    SegmentInfo {
        start_lsn: start,
        first_commit_lsn: start,
        end_lsn: end,
        first_commit_at: 1,
        last_commit_at: 1,
        closed_at: 1,
        commits: 0,
        messages: 0,
        fingerprint: String::new(),
        sequences: Vec::new(),
    }
}

#[test]
fn a_partial_wal_file_is_sealed_to_its_last_page_and_comes_back_padded() {
    let dir = tempfile::tempdir().unwrap();
    let seg = 4 << 20;
    // Three pages of data (the last one partly), then zeros to the file's size, as
    // pg_receivewal leaves a partial file.
    let mut wal = vec![0u8; seg as usize];
    for (i, b) in wal.iter_mut().enumerate().take(2 * 8192 + 100) {
        *b = (i % 251) as u8 | 1;
    }
    let src = dir.path().join("000000010000000000000003.partial");
    std::fs::write(&src, &wal).unwrap();
    let used = used_len(&src, 8192).unwrap();
    assert_eq!(used, 3 * 8192);
    let sealed = dir.path().join("shop_wal.pitr");
    let start = 3 * seg;
    let (sha, size) = seal_file(&src, used, &info(start, start + used), &sealed, None).unwrap();
    assert!(size > used);
    crate::pitr::segment::verify(&sealed, Some(&sha)).unwrap();
    let back = dir.path().join("000000010000000000000003");
    unseal_wal(&sealed, &[], &back, seg, Some(&sha)).unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), wal);
    // A file larger than a WAL file is refused, not padded.
    let big = dir.path().join("big");
    unseal_wal(&sealed, &[], &big, 8192, None).unwrap_err();
    assert!(!big.exists());
}

#[test]
fn unsealing_checks_the_file_against_its_checksums_as_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let seg = 16 * 8192u64;
    let wal: Vec<u8> = (0..3 * 8192).map(|i| (i % 251) as u8 + 1).collect();
    let src = dir.path().join("000000010000000000000003.partial");
    std::fs::write(&src, &wal).unwrap();
    let sealed = dir.path().join("shop_wal.pitr");
    let (sha, _) = seal_file(
        &src,
        wal.len() as u64,
        &info(0, wal.len() as u64),
        &sealed,
        None,
    )
    .unwrap();
    let back = dir.path().join("000000010000000000000003");
    // Not the catalog's checksum: refused, nothing left behind.
    let other = "0".repeat(64);
    let e = unseal_wal(&sealed, &[], &back, seg, Some(&other)).unwrap_err();
    assert_eq!(e.kind(), crate::error::ErrorKind::Integrity, "{e}");
    assert!(!back.exists());
    // One byte of the WAL changed in the file (its framing still reads): the checksum says so.
    let mut bytes = std::fs::read(&sealed).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x20;
    std::fs::write(&sealed, &bytes).unwrap();
    let e = unseal_wal(&sealed, &[], &back, seg, None).unwrap_err();
    assert!(e.message().contains("checksum does not match"), "{e}");
    assert!(!back.exists());
    bytes[i] ^= 0x20;
    std::fs::write(&sealed, &bytes).unwrap();
    unseal_wal(&sealed, &[], &back, seg, Some(&sha)).unwrap();
    assert_eq!(&std::fs::read(&back).unwrap()[..wal.len()], &wal[..]);
    std::fs::remove_file(&back).unwrap();
    // No .sha256 beside it: refused before anything is written.
    std::fs::remove_file(crate::archive::sidecar_path(&sealed)).unwrap();
    let e = unseal_wal(&sealed, &[], &back, seg, None).unwrap_err();
    assert!(e.message().contains(".sha256 is missing"), "{e}");
    assert!(!back.exists());
}

#[test]
fn a_base_over_many_records_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..(3 * CHUNK + 17)).map(|i| (i % 7) as u8).collect();
    let src = dir.path().join("base.tar");
    std::fs::write(&src, &bytes).unwrap();
    let sealed = dir.path().join("shop_base.pitr");
    seal_file(&src, bytes.len() as u64, &info(0, 1), &sealed, None).unwrap();
    let mut back = Vec::new();
    Unsealed::open(&sealed, &[])
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, bytes);
    // Asking for more than the file holds fails: nothing half-sealed is left.
    let short = dir.path().join("short.pitr");
    seal_file(&src, bytes.len() as u64 + 1, &info(0, 1), &short, None).unwrap_err();
    assert!(!short.exists());
}

#[test]
fn base_lsns_come_from_pg_basebackups_words() {
    let err = "pg_basebackup: initiating base backup, waiting for checkpoint to complete\n\
               pg_basebackup: checkpoint completed\n\
               pg_basebackup: write-ahead log start point: 0/2000028 on timeline 1\n\
               pg_basebackup: write-ahead log end point: 0/2000100\n\
               pg_basebackup: base backup completed\n";
    let l = parse_base_lsns(err).unwrap();
    assert_eq!(
        (l.start_lsn, l.end_lsn, l.timeline),
        (0x200_0028, 0x200_0100, 1)
    );
    assert!(parse_base_lsns("pg_basebackup: base backup completed").is_err());
}

#[test]
fn a_base_read_ahead_by_its_hashing_thread_reads_back_whole_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    // Over the read-ahead's chunks (1 MiB, four kept ready) several times.
    let bytes: Vec<u8> = (0..(9 * CHUNK + 5)).map(|i| (i % 13) as u8).collect();
    let src = dir.path().join("base.tar");
    std::fs::write(&src, &bytes).unwrap();
    let sealed = dir.path().join("shop_base.pitr");
    let (sha, _) = seal_file(&src, bytes.len() as u64, &info(0, 1), &sealed, None).unwrap();
    let (mut r, checked) = Unsealed::open_checked_ahead(&sealed, &[], Some(&sha)).unwrap();
    let mut back = Vec::new();
    r.read_to_end(&mut back).unwrap();
    assert_eq!(back, bytes);
    checked.finish().unwrap();
    // Read only in part (a tar ends before its file): the rest is hashed by the check.
    let (mut r, checked) = Unsealed::open_checked_ahead(&sealed, &[], Some(&sha)).unwrap();
    let mut part = vec![0u8; 100];
    r.read_exact(&mut part).unwrap();
    checked.finish().unwrap();
    drop(r);
    // One byte changed near the end, after what is read: the check says so.
    let mut damaged = std::fs::read(&sealed).unwrap();
    let i = damaged.len() - 200;
    damaged[i] ^= 0x01;
    std::fs::write(&sealed, &damaged).unwrap();
    let (mut r, checked) = Unsealed::open_checked_ahead(&sealed, &[], Some(&sha)).unwrap();
    r.read_exact(&mut part).unwrap();
    let e = checked.finish().unwrap_err();
    assert!(e.message().contains("checksum does not match"), "{e}");
    // And read to its end.
    let (mut r, checked) = Unsealed::open_checked_ahead(&sealed, &[], None).unwrap();
    let _ = r.read_to_end(&mut Vec::new());
    let e = checked.finish().unwrap_err();
    assert!(e.message().contains("checksum does not match"), "{e}");
}
