use super::super::*;
use super::*;
use crate::crypto::{Encryption, UserKey};
use crate::test_fixtures::*;
use std::io::Write;

fn range(s: &mut ArchiveSeeker, span: &MemberSpan, at: u64, n: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut r = s.read_range(span, at, n)?;
    r.read_to_end(&mut out).unwrap();
    Ok(out)
}

#[test]
fn members_and_offsets_inside_them_are_reached_directly() {
    let sample = sample(7 << 20, 6);
    let cancel = CancellationToken::new();
    // Still an archive GNU tar and gzip read.
    let listed = tool(sample.dir.path(), "tar", &["-tzf", ARCHIVE]);
    assert!(listed.starts_with("metadata.json\n"), "{listed}");
    tool(sample.dir.path(), "gzip", &["-t", ARCHIVE]);
    let mut s = ArchiveSeeker::open(sample.path()).unwrap();
    for (name, bytes) in sample.members() {
        let span = s.find(name, &cancel).unwrap().expect(name);
        assert_eq!(span.size, bytes.len() as u64, "{name}");
        let at = bytes.len() as u64 / 2;
        assert_eq!(
            range(&mut s, &span, at, 1000.min(bytes.len() as u64 - at)).unwrap(),
            &bytes[at as usize..(at as usize + 1000).min(bytes.len())],
            "{name}"
        );
    }
    assert_eq!(s.find("nope", &cancel).unwrap(), None);
    let dump = s.find(DATABASE_MEMBER, &cancel).unwrap().unwrap();
    // The last bytes of the dump, then its first: hops, not a read from the start.
    let n = sample.dump.len() as u64;
    assert_eq!(
        range(&mut s, &dump, n - 5, 5).unwrap(),
        &sample.dump[n as usize - 5..]
    );
    assert_eq!(range(&mut s, &dump, 0, 5).unwrap(), &sample.dump[..5]);
    assert!(s.gz.hops() >= 6, "{}", s.gz.hops());
    // Outside the member: a clear error, nothing read.
    let e = range(&mut s, &dump, n - 5, 6).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Integrity);
    assert!(e.message().contains("outside member database.dump"), "{e}");
    assert!(range(&mut s, &dump, u64::MAX, 2).is_err());
}

#[test]
fn an_encrypted_archive_is_reached_through_the_seekable_decryptor() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = UserKey::generate();
    let name = "shop_20261123_100000_full.tar.gz.age";
    let mut w = ArchiveWriter::create(dir.path(), name, 3).unwrap();
    w.encrypt(Encryption::to_recipients(vec![public]).unwrap())
        .unwrap();
    let dump = data(5 << 20, 9);
    let mut spool = w.spool(DATABASE_MEMBER).unwrap();
    spool.write_all(&dump).unwrap();
    w.add_spooled(spool.finish().unwrap());
    let written = w
        .finish(manifest(), &quiet(), &CancellationToken::new())
        .unwrap();
    let cancel = CancellationToken::new();
    // Without the key: wrong_key, as every reader says.
    let e = ArchiveSeeker::open(&written.path).err().unwrap();
    assert_eq!(e.kind(), crate::ErrorKind::WrongKey);
    let _unlocked = unlock(&written.path, vec![key]);
    let mut s = ArchiveSeeker::open(&written.path).unwrap();
    let span = s.find(DATABASE_MEMBER, &cancel).unwrap().unwrap();
    let at = 4_500_000;
    assert_eq!(
        range(&mut s, &span, at, 100).unwrap(),
        &dump[at as usize..at as usize + 100]
    );
}

#[test]
fn a_damaged_or_cut_archive_gives_clear_errors() {
    let sample = sample(3 << 20, 6);
    let bytes = std::fs::read(sample.path()).unwrap();
    let cancel = CancellationToken::new();
    // Cut in the middle of the dump.
    let cut = put(sample.dir.path(), "cut.tar.gz", &bytes[..bytes.len() / 2]);
    let mut s = ArchiveSeeker::open(&cut).unwrap();
    let r = s.find(GLOBALS_MEMBER, &cancel);
    let e = r.unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Integrity, "{e}");
    // Not gzip at all.
    let junk = put(sample.dir.path(), "junk.tar.gz", &[7u8; 5000]);
    let mut s = ArchiveSeeker::open(&junk).unwrap();
    let e = s.find(DATABASE_MEMBER, &cancel).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Integrity, "{e}");
}

#[test]
fn ranges_are_read_as_one_text_without_their_inner_end_markers() {
    const END: &[u8] = b"\\.\n\n\n";
    let dir = tempfile::tempdir().unwrap();
    let mut w = ArchiveWriter::create(dir.path(), "ranges.tar.gz", 3).unwrap();
    // Big enough that a read ends inside the end marker of a range now and then.
    let part = |n: u32, rows: u32| -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..rows {
            out.extend_from_slice(format!("{n}\trow {i}\n").as_bytes());
        }
        out
    };
    let (a, b, c) = (part(1, 20_000), part(2, 1), part(3, 30_000));
    for (name, rows) in [
        ("database/5.dat", &a),
        ("database/6.dat", &b),
        ("database/7.dat", &c),
    ] {
        let mut bytes = rows.clone();
        bytes.extend_from_slice(END);
        w.add_bytes(name, bytes);
    }
    w.add_bytes("database/8.dat", a.clone());
    let written = w
        .finish(manifest(), &quiet(), &CancellationToken::new())
        .unwrap();
    let cancel = CancellationToken::new();
    let mut s = ArchiveSeeker::open(&written.path).unwrap();
    let span = |s: &mut ArchiveSeeker, n: &str| s.find(n, &cancel).unwrap().unwrap();
    let spans = vec![
        span(&mut s, "database/5.dat"),
        span(&mut s, "database/6.dat"),
        span(&mut s, "database/7.dat"),
    ];
    let mut got = Vec::new();
    s.joined_reader(spans, END).read_to_end(&mut got).unwrap();
    let mut want = [a.as_slice(), b.as_slice(), c.as_slice()].concat();
    want.extend_from_slice(END);
    assert_eq!(got, want, "the last range keeps its end marker");
    // A range that does not end with the marker is damage, never rows run together.
    let spans = vec![
        span(&mut s, "database/8.dat"),
        span(&mut s, "database/6.dat"),
    ];
    let e = s
        .joined_reader(spans, END)
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(e.to_string().contains("database/8.dat"), "{e}");
}
