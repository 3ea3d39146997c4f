use super::*;
use crate::archive::{ArchiveWriter, Compression};
use crate::test_fixtures::{data, manifest, quiet};

/// A directory dump's members of many sizes (several spanning 1 MiB frames), the toc, and a
/// storage object behind them.
fn members() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, len) in [3_500_000usize, 1, 0, 700_000, 2_100_000, 40, 1_048_576]
        .into_iter()
        .enumerate()
    {
        out.push((
            format!("database/{}.dat", 3001 + i),
            data(len, i as u64 + 7),
        ));
    }
    out.push((
        "database/blobs.toc".into(),
        b"16403 blob_16403.dat\n".to_vec(),
    ));
    out.push(("database/blob_16403.dat".into(), data(90_000, 99)));
    out
}

fn archive(dir: &Path, compression: Compression, extra: &[(&str, Vec<u8>)]) -> std::path::PathBuf {
    let name = match compression {
        Compression::Zstd(_) => "shop.tar.zst",
        _ => "shop.tar.gz",
    };
    let mut w = ArchiveWriter::create_with(dir, name, compression).unwrap();
    for (n, b) in members() {
        w.add_bytes(&n, b);
    }
    for (n, b) in extra {
        w.add_bytes(n, b.clone());
    }
    w.add_bytes(DATABASE_TOC_MEMBER, b"PGDMP the toc".to_vec());
    w.add_bytes("storage/b/object.txt", b"not the database's".to_vec());
    w.finish(manifest(), &quiet(), &CancellationToken::new())
        .unwrap()
        .path
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn run(path: &Path, dest: &Path, threads: usize, cancel: &CancellationToken) -> Result<u64> {
    let manifest = archive::read_manifest(path).unwrap();
    extract_data(path, &manifest, dest, threads, cancel)
}

#[test]
fn every_data_member_is_extracted_whole_on_several_threads_for_both_codecs() {
    for compression in [Compression::Zstd(3), Compression::Gzip(3)] {
        for threads in [1, 2, 3] {
            let (src, dest) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let path = archive(src.path(), compression, &[]);
            let n = run(&path, dest.path(), threads, &CancellationToken::new()).unwrap();
            let want = members();
            assert_eq!(n, want.iter().map(|(_, b)| b.len() as u64).sum::<u64>());
            let mut names: Vec<String> = want
                .iter()
                .map(|(n, _)| n.trim_start_matches("database/").to_string())
                .collect();
            names.sort();
            // The data files only: not the toc (read before), not the storage object.
            assert_eq!(listing(dest.path()), names, "{compression:?} {threads}");
            for (name, bytes) in &want {
                let file = dest.path().join(name.trim_start_matches("database/"));
                assert_eq!(&std::fs::read(&file).unwrap(), bytes, "{name}");
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
                    assert_eq!(mode & 0o777, 0o600, "{name}");
                }
            }
        }
    }
}

#[test]
fn a_damaged_member_is_an_integrity_error_for_both_codecs() {
    for compression in [Compression::Zstd(3), Compression::Gzip(3)] {
        let src = tempfile::tempdir().unwrap();
        let path = archive(src.path(), compression, &[]);
        // A byte flipped a third of the way in: inside the largest member's compressed data.
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.len() / 3;
        bytes[at] ^= 0x55;
        std::fs::write(&path, bytes).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let e = run(&path, dest.path(), 2, &CancellationToken::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{compression:?}: {e}");
    }
}

#[test]
fn a_member_whose_bytes_differ_from_the_manifest_is_refused() {
    let src = tempfile::tempdir().unwrap();
    let path = archive(src.path(), Compression::Zstd(3), &[]);
    let mut manifest = archive::read_manifest(&path).unwrap();
    let m = manifest
        .members
        .iter_mut()
        .find(|m| m.name == "database/3005.dat")
        .unwrap();
    m.sha256 = "0".repeat(64);
    let dest = tempfile::tempdir().unwrap();
    let e = extract_data(&path, &manifest, dest.path(), 2, &CancellationToken::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.message().contains("3005.dat"), "{e}");
}

#[test]
fn a_member_the_manifest_lists_but_the_archive_lacks_is_missing() {
    let src = tempfile::tempdir().unwrap();
    let path = archive(src.path(), Compression::Zstd(3), &[]);
    let mut manifest = archive::read_manifest(&path).unwrap();
    manifest.members.push(MemberEntry {
        name: "database/9999.dat".into(),
        size: 5,
        sha256: "0".repeat(64),
    });
    let dest = tempfile::tempdir().unwrap();
    let e = extract_data(&path, &manifest, dest.path(), 2, &CancellationToken::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.message().contains("9999.dat is missing"), "{e}");
    assert!(
        listing(dest.path()).is_empty(),
        "nothing is written before the walk"
    );
}

#[test]
fn a_member_listed_twice_or_with_another_size_is_damage() {
    let src = tempfile::tempdir().unwrap();
    let path = archive(src.path(), Compression::Zstd(3), &[]);
    let base = archive::read_manifest(&path).unwrap();
    let mut twice = base.clone();
    let dup = twice.members[1].clone();
    twice.members.push(dup);
    let dest = tempfile::tempdir().unwrap();
    let e = extract_data(&path, &twice, dest.path(), 2, &CancellationToken::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    let mut resized = base.clone();
    let m = resized
        .members
        .iter_mut()
        .find(|m| m.name == "database/3001.dat")
        .unwrap();
    m.size += 1;
    let e = extract_data(&path, &resized, dest.path(), 2, &CancellationToken::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.message().contains("3001.dat"), "{e}");
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn a_name_that_is_not_a_plain_file_under_database_is_refused_before_writing() {
    for bad in [
        "database/../escape.dat",
        "database/sub/3001.dat",
        "database/..",
        "database/a b.dat",
    ] {
        assert_eq!(
            file_name(bad).unwrap_err().kind(),
            ErrorKind::UnsafePath,
            "{bad}"
        );
    }
    assert_eq!(file_name("database/3001.dat").unwrap(), "3001.dat");
    assert_eq!(
        file_name("database/blob_16403.dat").unwrap(),
        "blob_16403.dat"
    );
    // In a manifest: refused before anything is read or written.
    let src = tempfile::tempdir().unwrap();
    let path = archive(src.path(), Compression::Zstd(3), &[]);
    let mut manifest = archive::read_manifest(&path).unwrap();
    manifest.members.push(MemberEntry {
        name: "database/../../outside.dat".into(),
        size: 1,
        sha256: "0".repeat(64),
    });
    let dest = tempfile::tempdir().unwrap();
    let e = extract_data(&path, &manifest, dest.path(), 2, &CancellationToken::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsafePath, "{e}");
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn a_cancelled_extraction_is_cancelled_and_an_existing_file_is_not_overwritten() {
    let src = tempfile::tempdir().unwrap();
    let path = archive(src.path(), Compression::Zstd(3), &[]);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let dest = tempfile::tempdir().unwrap();
    let e = run(&path, dest.path(), 2, &cancel).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    // A file already there (a planted link or leftover) stops the extraction, untouched.
    std::fs::write(dest.path().join("3001.dat"), b"planted").unwrap();
    let e = run(&path, dest.path(), 2, &CancellationToken::new()).unwrap_err();
    assert!(e.message().contains("3001.dat"), "{e}");
    assert_eq!(
        std::fs::read(dest.path().join("3001.dat")).unwrap(),
        b"planted"
    );
}

#[test]
fn an_encrypted_archive_is_extracted_on_several_threads_with_its_key_only() {
    use crate::crypto::{Encryption, UserKey};
    let src = tempfile::tempdir().unwrap();
    let (key, public) = UserKey::generate();
    let mut w =
        ArchiveWriter::create_with(src.path(), "shop.tar.zst.age", Compression::Zstd(3)).unwrap();
    w.encrypt(Encryption::to_recipients(vec![public]).unwrap())
        .unwrap();
    for (n, b) in members() {
        w.add_bytes(&n, b);
    }
    w.add_bytes(DATABASE_TOC_MEMBER, b"PGDMP the toc".to_vec());
    let path = w
        .finish(manifest(), &quiet(), &CancellationToken::new())
        .unwrap()
        .path;
    let unlocked = archive::unlock(&path, vec![key.clone()]);
    let manifest = archive::read_manifest(&path).unwrap();
    drop(unlocked);
    // Without the key: wrong_key, nothing written.
    let dest = tempfile::tempdir().unwrap();
    let e = extract_data(&path, &manifest, dest.path(), 2, &CancellationToken::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongKey, "{e}");
    assert!(listing(dest.path()).is_empty());
    // With it: every member, whole, on two threads each with its own decryptor.
    let _unlocked = archive::unlock(&path, vec![key]);
    extract_data(&path, &manifest, dest.path(), 2, &CancellationToken::new()).unwrap();
    for (name, bytes) in members() {
        let file = dest.path().join(name.trim_start_matches("database/"));
        assert_eq!(std::fs::read(&file).unwrap(), bytes, "{name}");
    }
}
