//! zstd archives as the writer makes them (`Compression::Zstd`): independent frames that
//! declare their sizes, the in-place finish padded with a skippable frame, encryption; read by
//! GNU tar (`tar --zstd`), `zstd -dc | tar x`, `age -d`, and our verify, extraction and
//! random access.

use super::super::codec::{is_skippable, ZSTD_MAGIC};
use super::super::random_access::ArchiveSeeker;
use super::super::*;
use crate::crypto::{Encryption, Recipient};
use crate::test_fixtures::*;
use std::io::{Cursor, Read, Write};
use std::path::Path;
use tokio_util::sync::CancellationToken;

const ZST: &str = "shop_20261121_101500_full.tar.zst";

/// Every member of the archive (name, bytes), in order.
type Members = Vec<(String, Vec<u8>)>;

/// A zstd archive with a spool, small members and a fragment of 80 objects that is larger than
/// everything else (the in-place candidate), then one member after it.
fn write_zstd(
    dir: &Path,
    name: &str,
    in_place: bool,
    enc: Option<Encryption>,
) -> (Written, Members) {
    let mut w = ArchiveWriter::create_with(dir, name, Compression::Zstd(3)).unwrap();
    if !in_place {
        w.copy_fragments();
    }
    if let Some(e) = enc {
        w.encrypt(e).unwrap();
    }
    let mut members: Members = Vec::new();
    let dump = data(300_000, 7);
    let mut spool = w.spool(DATABASE_MEMBER).unwrap();
    spool.write_all(&dump).unwrap();
    w.add_spooled(spool.finish().unwrap());
    members.push((DATABASE_MEMBER.into(), dump));
    let globals = b"CREATE ROLE shop_app;\n".to_vec();
    w.add_bytes(GLOBALS_MEMBER, globals.clone());
    members.push((GLOBALS_MEMBER.into(), globals));
    let mut f = w.fragment("2026-11-21T10:15:00Z").unwrap();
    for i in 0..80 {
        let body = data(64 * 1024, i + 1);
        let name = format!("storage/b/{i}");
        f.append_bytes(&name, &body, &sha(&body)).unwrap();
        members.push((name, body));
    }
    w.add_fragment(f.finish().unwrap());
    w.add_bytes("config/last.json", b"{}".to_vec());
    members.push(("config/last.json".into(), b"{}".to_vec()));
    let written = w
        .finish(manifest(), &quiet(), &CancellationToken::new())
        .unwrap();
    (written, members)
}

/// (frames, skippable frames) of a zstd stream, hopping with the sizes the frames declare;
/// fails unless the hops land exactly on the end.
fn frames(bytes: &[u8]) -> (usize, usize) {
    let (mut at, mut n, mut skippable) = (0u64, 0, 0);
    let mut cur = Cursor::new(bytes);
    while at < bytes.len() as u64 {
        let (comp, _) = super::super::seekzst::next_frame(&mut cur, at, bytes.len() as u64)
            .unwrap()
            .expect("every frame declares its content size");
        if is_skippable(&bytes[at as usize..]) {
            skippable += 1;
        } else {
            n += 1;
        }
        at += comp;
    }
    assert_eq!(at, bytes.len() as u64);
    (n, skippable)
}

fn same_tree(a: &Path, b: &Path) {
    let out = std::process::Command::new("diff")
        .arg("-r")
        .arg(a)
        .arg(b)
        .output()
        .expect("diff");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn check_tree(dir: &Path, members: &Members) {
    for (name, body) in members {
        assert_eq!(&std::fs::read(dir.join(name)).unwrap(), body, "{name}");
    }
}

#[test]
fn zstd_archives_are_sized_frames_that_gnu_tar_zstd_and_our_readers_open() {
    for in_place in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (written, members) = write_zstd(dir.path(), ZST, in_place, None);
        let bytes = std::fs::read(&written.path).unwrap();
        assert!(bytes.starts_with(&ZSTD_MAGIC), "in place: {in_place}");
        assert_eq!(written.sha256, sha(&bytes));
        let (n, pads) = frames(&bytes);
        assert!(n >= 5, "{n} frames");
        // Finished in place: the head is padded to a whole block with one skippable frame.
        assert_eq!(pads, usize::from(in_place), "in place: {in_place}");

        let report = verify(&written.path, &quiet(), &CancellationToken::new()).unwrap();
        assert!(report.ok, "{:?}", report.problems);
        assert_eq!(
            read_manifest(&written.path).unwrap().members.len(),
            members.len()
        );
        let ours = dir.path().join("ours");
        extract_all(&written.path, &ours, &CancellationToken::new()).unwrap();
        check_tree(&ours, &members);

        let gnu = dir.path().join("gnu");
        std::fs::create_dir(&gnu).unwrap();
        tool(
            &gnu,
            "tar",
            &["--zstd", "-xf", written.path.to_str().unwrap()],
        );
        same_tree(&ours, &gnu);
        let piped = dir.path().join("piped");
        std::fs::create_dir(&piped).unwrap();
        let cmd = format!("zstd -dc '{}' | tar xf -", written.path.display());
        tool(&piped, "sh", &["-c", &cmd]);
        same_tree(&ours, &piped);

        // Random access (browse): one object found and read by hopping over frames.
        let mut s = ArchiveSeeker::open(&written.path).unwrap();
        let span = s
            .find("storage/b/61", &CancellationToken::new())
            .unwrap()
            .expect("the member is there");
        let mut got = Vec::new();
        s.member_reader(span).read_to_end(&mut got).unwrap();
        assert_eq!(got, data(64 * 1024, 62));
    }
}

#[test]
fn an_encrypted_zstd_archive_opens_with_age_then_tar() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.txt");
    tool(dir.path(), "age-keygen", &["-o", key.to_str().unwrap()]);
    let identity = std::fs::read_to_string(&key).unwrap();
    let public = identity
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap();
    let enc = Encryption::to_recipients(vec![Recipient::parse(public).unwrap()]).unwrap();
    let name = format!("{ZST}.age");
    let (written, members) = write_zstd(dir.path(), &name, true, Some(enc));
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let cmd = format!(
        "age -d -i '{}' '{}' | tar --zstd -xf -",
        key.display(),
        written.path.display()
    );
    tool(&out, "sh", &["-c", &cmd]);
    check_tree(&out, &members);
    let secret = identity
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    let k = crate::crypto::UserKey::parse(secret).unwrap();
    let report = verify_with(&written.path, &[k], &quiet(), &CancellationToken::new()).unwrap();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.members.len(), members.len());
}

/// Where each frame of a zstd stream starts.
fn frame_starts(bytes: &[u8]) -> Vec<usize> {
    let (mut at, mut starts) = (0u64, Vec::new());
    let mut cur = Cursor::new(bytes);
    while at < bytes.len() as u64 {
        starts.push(at as usize);
        let (comp, _) = super::super::seekzst::next_frame(&mut cur, at, bytes.len() as u64)
            .unwrap()
            .unwrap();
        at += comp;
    }
    starts
}

#[test]
fn damaged_zstd_frames_are_integrity_findings_naming_the_member() {
    let dir = tempfile::tempdir().unwrap();
    let (written, members) = write_zstd(dir.path(), ZST, false, None);
    let good = std::fs::read(&written.path).unwrap();
    let starts = frame_starts(&good);
    let mid = starts[starts.len() / 2];
    let next = starts[starts.len() / 2 + 1];
    let last = *starts.last().unwrap();

    let mut bad_checksum = good.clone();
    bad_checksum[next - 1] ^= 0xff;
    let truncated = good[..good.len() - 3].to_vec();
    // A middle frame declaring 2^62 bytes (its 4-byte content size made an 8-byte one).
    let fhd = good[mid + 4];
    assert_eq!(fhd >> 6, 2, "a 1 MiB frame has a 4-byte content size");
    let fcs_at = mid + 5 + usize::from(fhd & 0x20 == 0);
    let mut huge = good[..mid].to_vec();
    huge.extend_from_slice(&good[mid..fcs_at]);
    huge[mid + 4] = (fhd & 0x3f) | 0xc0;
    huge.extend_from_slice(&(1u64 << 62).to_le_bytes());
    huge.extend_from_slice(&good[fcs_at + 4..]);
    // The last frame's blocks cut off, the checksum kept.
    let mut short_last = good[..last + 12].to_vec();
    short_last.extend_from_slice(&good[good.len() - 4..]);

    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    for (what, bytes) in [
        ("bad checksum", bad_checksum),
        ("truncated", truncated),
        ("huge content size", huge),
        ("last frame cut short", short_last),
    ] {
        std::fs::write(&written.path, &bytes).unwrap();
        let report = verify(&written.path, &quiet(), &CancellationToken::new()).unwrap();
        assert!(!report.ok, "{what}: verified");
        let first = report.first_bad.clone().unwrap_or_default();
        let archive_name = written.path.file_name().unwrap().to_string_lossy();
        assert!(
            names.contains(&first.as_str()) || first == archive_name,
            "{what}: first bad {first:?}"
        );
        assert!(!report.problems.is_empty(), "{what}");
        // Extraction refuses it as damage, and browsing does not panic.
        let out = dir.path().join(format!("x-{}", what.replace(' ', "-")));
        let e = extract_all(&written.path, &out, &CancellationToken::new()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Integrity, "{what}: {e}");
        if let Ok(mut s) = ArchiveSeeker::open(&written.path) {
            if let Ok(Some(span)) = s.find("config/last.json", &CancellationToken::new()) {
                let _ = s.member_reader(span).read_to_end(&mut Vec::new());
            }
        }
    }
}
