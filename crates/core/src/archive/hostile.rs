//! Hostile archives: members larger (or smaller) than the manifest says, gzip bombs, FIFOs and
//! devices, absurd tar and pax numbers. Each ends in a coded error (or a failed verify) before
//! the member is read, with nothing written and memory bounded.

use super::*;
use crate::error::ErrorKind;
use crate::test_fixtures::*;
use std::io::Write;
use std::path::Path;
use tokio_util::sync::CancellationToken;

const GIB: u64 = 1 << 30;

/// One tar header block (ustar) for `name` of `size` bytes with type flag `flag`.
fn header(name: &str, size: u64, flag: u8) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_entry_type(tar::EntryType::new(flag));
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_size(size);
    h.set_cksum();
    h.as_bytes().to_vec()
}

/// A whole entry: header, data, padding.
fn entry(name: &str, data: &[u8], flag: u8) -> Vec<u8> {
    let mut out = header(name, data.len() as u64, flag);
    out.extend_from_slice(data);
    out.resize(out.len() + tarfmt::padding(data.len() as u64), 0);
    out
}

/// The manifest entry listing `members` as (name, size, sha256).
fn manifest_entry(members: &[(&str, u64, String)]) -> Vec<u8> {
    let mut m = manifest();
    m.members = members
        .iter()
        .map(|(n, size, sha)| MemberEntry {
            name: n.to_string(),
            size: *size,
            sha256: sha.clone(),
        })
        .collect();
    entry(MANIFEST_NAME, &serde_json::to_vec(&m).unwrap(), b'0')
}

/// `head` (gzipped), then `zeros` bytes of zeros as repeated gzip members of 1 MiB each (a few
/// KB on disk), then `tail` and the end-of-archive marker.
fn bomb(head: &[u8], zeros: u64, tail: &[u8]) -> Vec<u8> {
    let mut out = gzip(head);
    let mib = gzip(&vec![0u8; 1 << 20]);
    assert_eq!(zeros % (1 << 20), 0);
    for _ in 0..zeros >> 20 {
        out.extend_from_slice(&mib);
    }
    let mut end = tail.to_vec();
    end.extend_from_slice(&[0u8; 1024]);
    out.extend(gzip(&end));
    out
}

/// A writer that counts what it is given.
#[derive(Default)]
struct Count(u64);
impl Write for Count {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn read_doc(p: &Path, member: &str) -> crate::Result<Vec<u8>> {
    read_document(p, member, MAX_SMALL_DOC, &CancellationToken::new())
}

/// `copy_member`: the error, and asserts nothing was handed on.
fn copy_err(p: &Path, member: &str) -> crate::Error {
    let mut out = Count::default();
    let e = copy_member(p, member, &mut out, &quiet(), &CancellationToken::new()).unwrap_err();
    assert_eq!(
        out.0, 0,
        "{member}: bytes were handed on before the error ({e})"
    );
    e
}

/// `extract_all` into a new folder: the error, and asserts nothing was left behind.
fn extract_err(p: &Path) -> crate::Error {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("dest");
    let e = extract_all(p, &dest, &CancellationToken::new()).unwrap_err();
    assert!(!dest.exists(), "extract_all left {:?}", names_in(&dest));
    e
}

fn assert_coded(e: &crate::Error, kind: ErrorKind, needle: &str) {
    assert_eq!(e.kind(), kind, "{e}");
    assert!(e.message().contains(needle), "{needle:?} not in {e}");
    assert!(e.hint().is_some(), "no hint: {e:?}");
}

#[test]
fn a_member_whose_size_is_not_the_manifests_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let small = b"CREATE ROLE a;\n".to_vec();
    let before = peak_rss();

    // The manifest says 15 bytes; the member is 3 GiB of zeros (3 MB on disk).
    let mut head = manifest_entry(&[(GLOBALS_MEMBER, small.len() as u64, sha(&small))]);
    head.extend(header(GLOBALS_MEMBER, 3 * GIB, b'0'));
    let p = put(dir.path(), "big.tar.gz", &bomb(&head, 3 * GIB, &[]));
    let e = read_doc(&p, GLOBALS_MEMBER).unwrap_err();
    assert_coded(&e, ErrorKind::Integrity, "the manifest says 15");
    assert_coded(
        &copy_err(&p, GLOBALS_MEMBER),
        ErrorKind::Integrity,
        "3221225472 bytes",
    );
    assert_coded(
        &extract_err(&p),
        ErrorKind::Integrity,
        "the manifest says 15",
    );

    // The manifest says 7 GiB; the member is 15 bytes.
    let mut bytes = manifest_entry(&[(GLOBALS_MEMBER, 7 * GIB, sha(&small))]);
    bytes.extend(entry(GLOBALS_MEMBER, &small, b'0'));
    bytes.extend_from_slice(&[0u8; 1024]);
    let p = put(dir.path(), "liar.tar.gz", &gzip(&bytes));
    let e = read_doc(&p, GLOBALS_MEMBER).unwrap_err();
    assert_coded(
        &e,
        ErrorKind::Integrity,
        "7516192768 bytes according to the manifest",
    );
    assert_coded(
        &copy_err(&p, GLOBALS_MEMBER),
        ErrorKind::Integrity,
        "the manifest says 7516192768",
    );
    assert_coded(
        &extract_err(&p),
        ErrorKind::Integrity,
        "the manifest says 7516192768",
    );
    let r = verify(&p, &quiet(), &CancellationToken::new()).unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad.as_deref(), Some(GLOBALS_MEMBER));

    let grew = peak_rss().saturating_sub(before);
    assert!(grew < 512 << 20, "peak memory grew by {grew} bytes");
}

#[test]
fn a_gzip_bomb_member_is_refused_before_it_is_read_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let before = peak_rss();
    let zero_sha = "0".repeat(64);
    // Truthful manifests, members far larger than any document Offsite reads into memory:
    // 3 GiB of zeros each, a few MB on disk.
    for (member, cap) in [
        (GLOBALS_MEMBER, MAX_SMALL_DOC),
        ("config/auth.json", MAX_SMALL_DOC),
        (
            crate::storage::STORAGE_DOC,
            crate::storage::check::MAX_DOC_SIZE,
        ),
    ] {
        let mut head = manifest_entry(&[(member, 3 * GIB, zero_sha.clone())]);
        head.extend(header(member, 3 * GIB, b'0'));
        let p = put(dir.path(), "bomb.tar.gz", &bomb(&head, 3 * GIB, &[]));
        let e = read_document(&p, member, cap, &CancellationToken::new()).unwrap_err();
        assert_coded(
            &e,
            ErrorKind::Integrity,
            &format!("reads at most {cap} bytes"),
        );
    }

    // Where the engine reads them: the restore plan's globals.sql (before it connects: the
    // target here is a closed port), a storage restore's storage.json.
    let mut head = manifest_entry(&[(GLOBALS_MEMBER, 3 * GIB, zero_sha.clone())]);
    head.extend(header(GLOBALS_MEMBER, 3 * GIB, b'0'));
    let p = put(dir.path(), "bomb.tar.gz", &bomb(&head, 3 * GIB, &[]));
    let (spec, _) =
        crate::postgres::conn::ConnSpec::parse_url("postgres://x@127.0.0.1:1/db").unwrap();
    let target = crate::postgres::restore::RestoreTarget {
        spec,
        password: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = rt
        .block_on(crate::postgres::restore::plan(
            &p,
            &target,
            &Default::default(),
            &quiet(),
        ))
        .map(|_| ())
        .unwrap_err();
    assert_coded(&e, ErrorKind::Integrity, GLOBALS_MEMBER);

    let doc = crate::storage::STORAGE_DOC;
    let mut head = manifest_entry(&[(doc, 3 * GIB, zero_sha)]);
    head.extend(header(doc, 3 * GIB, b'0'));
    let p = put(dir.path(), "bomb.tar.gz", &bomb(&head, 3 * GIB, &[]));
    let e = crate::storage::restore::source::open_archive_doc(&p, &CancellationToken::new())
        .unwrap_err();
    assert_coded(&e, ErrorKind::Integrity, doc);

    let grew = peak_rss().saturating_sub(before);
    assert!(grew < 512 << 20, "peak memory grew by {grew} bytes");
}

#[test]
fn fifos_and_devices_are_refused_at_verify_restore_and_extraction() {
    let dir = tempfile::tempdir().unwrap();
    let globals = b"CREATE ROLE a;\n".to_vec();
    for (flag, what) in [
        (b'6', "FIFO"),
        (b'3', "character device"),
        (b'4', "block device"),
    ] {
        let mut bytes = manifest_entry(&[(GLOBALS_MEMBER, globals.len() as u64, sha(&globals))]);
        bytes.extend(entry("dev", b"", flag));
        bytes.extend(entry(GLOBALS_MEMBER, &globals, b'0'));
        bytes.extend_from_slice(&[0u8; 1024]);
        let p = put(dir.path(), "dev.tar.gz", &gzip(&bytes));

        let r = verify(&p, &quiet(), &CancellationToken::new()).unwrap();
        assert!(!r.ok, "{what}");
        assert_eq!(r.first_bad.as_deref(), Some("dev"), "{what}: {r:#?}");
        let dev = r.members.iter().find(|m| m.name == "dev").unwrap();
        assert_eq!(dev.problem_kind, Some(ErrorKind::UnsafePath), "{what}");
        assert!(dev
            .problem
            .as_deref()
            .unwrap()
            .contains("unsupported entry type"));

        // What a restore reads (globals.sql, database.dump) and extraction.
        let e = read_doc(&p, GLOBALS_MEMBER).unwrap_err();
        assert_coded(&e, ErrorKind::UnsafePath, "dev");
        assert_coded(&copy_err(&p, GLOBALS_MEMBER), ErrorKind::UnsafePath, "dev");
        assert_coded(&extract_err(&p), ErrorKind::UnsafePath, "dev");
    }
}

/// An archive whose second entry is `evil` (raw header blocks and data) and whose third is a
/// listed member, `globals.sql`.
fn with_evil(dir: &Path, evil: &[u8]) -> std::path::PathBuf {
    let globals = b"CREATE ROLE a;\n".to_vec();
    let mut bytes = manifest_entry(&[(GLOBALS_MEMBER, globals.len() as u64, sha(&globals))]);
    bytes.extend_from_slice(evil);
    bytes.extend(entry(GLOBALS_MEMBER, &globals, b'0'));
    bytes.extend_from_slice(&[0u8; 1024]);
    put(dir, "evil.tar.gz", &gzip(&bytes))
}

/// A well-formed pax record `<len> key=value\n`.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    format!("{len}{body}").into_bytes()
}

#[test]
fn absurd_pax_records_and_header_numbers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pax = |records: &[u8]| {
        let mut e = entry("PaxHeaders/x", records, b'x');
        e.extend(entry("x.txt", b"", b'0'));
        e
    };
    let raw_size = |field: &[u8]| {
        let mut h = header("x.txt", 0, b'0');
        h[124..136].copy_from_slice(field);
        let mut t = tar::Header::new_old();
        t.as_mut_bytes().copy_from_slice(&h[..512]);
        t.set_cksum();
        t.as_bytes().to_vec()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "a 2 GiB pax record length",
            pax(b"2147483648 path=globals.sql\n"),
        ),
        (
            "a pax length beyond u64",
            pax(b"99999999999999999999999 path=x\n"),
        ),
        ("a pax length of zero", pax(b"0 path=x\n")),
        ("a pax record without '='", pax(b"11 pathxyz\n")),
        (
            "a pax size beyond u64",
            pax(&pax_record("size", "99999999999999999999999")),
        ),
        (
            "a pax size of 3 GiB for an empty entry",
            pax(&pax_record("size", "3221225472")),
        ),
        ("a negative pax size", pax(b"11 size=-1\n")),
        (
            "a pax header of 8 GiB",
            header("PaxHeaders/x", 8 * GIB, b'x'),
        ),
        (
            "a GNU long name of 2 GiB",
            header("././@LongLink", 2 * GIB, b'L'),
        ),
        ("a negative base-256 size", raw_size(&[0xff; 12])),
        ("a size that is not octal", raw_size(b"99999999999\0")),
    ];
    for (what, evil) in cases {
        let p = with_evil(dir.path(), &evil);
        let r = verify(&p, &quiet(), &CancellationToken::new()).unwrap();
        assert!(!r.ok, "{what}");
        assert!(
            r.problems
                .iter()
                .any(|m| m.contains("invalid tar header") || m.contains("truncated")),
            "{what}: {:?}",
            r.problems
        );
        let e = read_doc(&p, GLOBALS_MEMBER).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{what}: {e}");
        assert!(e.hint().is_some());
        assert_eq!(
            copy_err(&p, GLOBALS_MEMBER).kind(),
            ErrorKind::Integrity,
            "{what}"
        );
        assert_eq!(extract_err(&p).kind(), ErrorKind::Integrity, "{what}");
    }
}

#[test]
fn a_gzip_bomb_sql_gz_import_ends_in_an_error_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let head = b"--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE public.t (\n";
    let max = 16 << 20;
    // One endless line, and one endless statement of empty lines: 256 MiB each, in a few KB.
    for (what, unit) in [("line", b' '), ("statement", b'\n')] {
        let mut bytes = gzip(head);
        let mib = gzip(&vec![unit; 1 << 20]);
        for _ in 0..256 {
            bytes.extend_from_slice(&mib);
        }
        let p = put(dir.path(), "bomb.sql.gz", &bytes);
        let before = peak_rss();
        let e = crate::plainsql::scan::scan_within(&p, &CancellationToken::new(), max).unwrap_err();
        let grew = peak_rss().saturating_sub(before);
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat, "{what}: {e}");
        assert!(
            e.message().contains("longer than 16777216 bytes"),
            "{what}: {e}"
        );
        assert!(e.hint().is_some());
        assert!(grew < 128 << 20, "{what}: peak memory grew by {grew} bytes");
    }
}

#[test]
fn a_gzip_bomb_tarball_import_ends_in_an_error_with_bounded_memory() {
    // A project-export tarball whose GNU long-name (and pax) entry claims 4 GiB, of zeros that
    // take a few KB: the import's tar walk used to read such an entry into memory whole.
    let dir = tempfile::tempdir().unwrap();
    for flag in [b'L', b'x'] {
        let mut head = entry("./", b"", b'5');
        head.extend(header("././@LongLink", 4 * GIB, flag));
        let p = put(dir.path(), "export.tar.gz", &bomb(&head, 4 * GIB, &[]));
        let before = peak_rss();
        let e = crate::import::inspect(&p, None).unwrap_err();
        let grew = peak_rss().saturating_sub(before);
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat, "{e}");
        assert!(e.hint().is_some(), "{e:?}");
        assert!(grew < 256 << 20, "peak memory grew by {grew} bytes");
    }
}
