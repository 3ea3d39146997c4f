//! Property-based fuzzing of every archive reader of untrusted bytes (proptest, see
//! `offsite_testkit::fuzz`): the reader and verifier over mutated valid archives and arbitrary
//! bytes, pax records, `metadata.json`, `storage.json`, the `.sha256` sidecar. Each must never
//! panic, never allocate without bound, and fail only with the coded errors a damaged or
//! foreign file gets.

use super::reader::read_manifest_entry;
use super::tarfmt::{self, parse_pax, Next, TarError, TarReader};
use super::*;
use crate::error::ErrorKind;
use crate::storage::layout::{BucketEntry, ObjectEntry, StorageDoc, STORAGE_DOC};
use crate::test_fixtures::*;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use std::io::Read;
use std::sync::OnceLock;
use tokio_util::sync::CancellationToken;

/// The kinds of error a damaged, foreign or crafted archive may end in (`invalid_input`: its
/// manifest lacks the component asked for, e.g. no `storage.json`).
fn expected_kind(k: ErrorKind) -> bool {
    matches!(
        k,
        ErrorKind::InvalidInput
            | ErrorKind::Integrity
            | ErrorKind::UnsupportedFormat
            | ErrorKind::UnsafePath
            | ErrorKind::NotFound
    )
}

fn storage_doc() -> StorageDoc {
    let object = |bucket: &str, key: &str, member: Option<&str>, body: &[u8]| ObjectEntry {
        bucket: bucket.into(),
        key: key.into(),
        member: member.map(str::to_string),
        size: body.len() as u64,
        etag: Some("\"d41d8cd98f00b204e9800998ecf8427e\"".into()),
        last_modified: Some("2026-11-20T10:00:00Z".into()),
        content_type: Some("image/png".into()),
        cache_control: None,
        metadata: [("k".to_string(), "v".to_string())].into(),
        sha256: sha(body),
    };
    StorageDoc {
        endpoint: Some("http://127.0.0.1:9000".into()),
        buckets: vec![BucketEntry {
            name: "avatars".into(),
            settings: None,
            objects: 2,
            bytes: 3,
        }],
        objects: vec![
            object("avatars", "a.png", Some("storage/avatars/a.png"), b"abc"),
            object("avatars", "../odd", None, b""),
        ],
        ..StorageDoc::default()
    }
}

/// A small valid archive written once by the writer: (the .tar.gz bytes, the tar inside).
fn valid() -> &'static (Vec<u8>, Vec<u8>) {
    static V: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    V.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
        w.add_bytes(DATABASE_MEMBER, data(3000, 7));
        w.add_bytes(
            GLOBALS_MEMBER,
            b"CREATE ROLE a;\nALTER ROLE a WITH LOGIN;\n".to_vec(),
        );
        w.add_bytes(STORAGE_DOC, serde_json::to_vec(&storage_doc()).unwrap());
        w.add_bytes("storage/avatars/a.png", b"abc".to_vec());
        let long = format!("storage/avatars/{}/b.png", "n".repeat(120));
        w.add_bytes(&long, b"".to_vec());
        let written = w
            .finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap();
        let gz = std::fs::read(&written.path).unwrap();
        let mut tar = Vec::new();
        flate2::bufread::MultiGzDecoder::new(&gz[..])
            .read_to_end(&mut tar)
            .unwrap();
        (gz, tar)
    })
}

/// One change to a byte string; positions are taken modulo its length.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(u32, u8),
    Set(u32, u8),
    Truncate(u32),
    Insert(u32, Vec<u8>),
    Remove(u32, u16),
    /// Overwrite a header field of the `n`th header-looking block: (block, field, text).
    Field(u32, u8, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let numbers = prop_oneof![
        Just(b"77777777777\0".to_vec()),
        Just(b"99999999999\0".to_vec()),
        Just(b"-1".to_vec()),
        Just(vec![0xff; 12]),
        Just(vec![0x80, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff]),
        Just(b"\0".to_vec()),
        proptest::collection::vec(b'0'..=b'7', 0..12),
        proptest::collection::vec(any::<u8>(), 0..12),
    ];
    prop_oneof![
        (any::<u32>(), 1u8..).prop_map(|(p, m)| Mutation::Flip(p, m)),
        (any::<u32>(), any::<u8>()).prop_map(|(p, v)| Mutation::Set(p, v)),
        any::<u32>().prop_map(Mutation::Truncate),
        (any::<u32>(), proptest::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(p, v)| Mutation::Insert(p, v)),
        (any::<u32>(), 1u16..2048).prop_map(|(p, n)| Mutation::Remove(p, n)),
        (any::<u32>(), 0u8..6, numbers).prop_map(|(b, f, v)| Mutation::Field(b, f, v)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let at = |p: u32, len: usize| p as usize % len;
    match m {
        Mutation::Flip(p, mask) => {
            let i = at(*p, bytes.len());
            bytes[i] ^= mask;
        }
        Mutation::Set(p, v) => {
            let i = at(*p, bytes.len());
            bytes[i] = *v;
        }
        Mutation::Truncate(p) => bytes.truncate(at(*p, bytes.len())),
        Mutation::Insert(p, v) => {
            let i = at(*p, bytes.len() + 1);
            bytes.splice(i..i, v.iter().copied());
        }
        Mutation::Remove(p, n) => {
            let i = at(*p, bytes.len());
            let end = (i + *n as usize).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Field(b, f, v) => {
            let headers: Vec<usize> = (0..bytes.len() / 512)
                .map(|i| i * 512)
                .filter(|&o| &bytes[o + 257..o + 262] == b"ustar")
                .collect();
            if headers.is_empty() {
                return;
            }
            let o = headers[at(*b, headers.len())];
            let (start, len) =
                [(0, 100), (100, 8), (124, 12), (136, 12), (148, 8), (156, 1)][*f as usize % 6];
            let field = &mut bytes[o + start..o + start + len];
            field.fill(0);
            let n = v.len().min(len);
            field[..n].copy_from_slice(&v[..n]);
        }
    }
}

/// Recomputes the checksum of every block that looks like a tar header, so mutations reach
/// past the checksum check.
fn fix_checksums(tar: &mut [u8]) {
    for o in (0..tar.len() / 512).map(|i| i * 512) {
        let block = &mut tar[o..o + 512];
        if &block[257..262] != b"ustar" {
            continue;
        }
        block[148..156].fill(b' ');
        let sum: u32 = block.iter().map(|&b| b as u32).sum();
        let text = format!("{sum:06o}\0 ");
        block[148..156].copy_from_slice(text.as_bytes());
    }
}

#[derive(Debug, Clone)]
enum ArchiveInput {
    /// Mutations of the tar inside, recompressed (checksums fixed up or not).
    Tar(Vec<Mutation>, bool),
    /// Mutations of the compressed bytes.
    Gz(Vec<Mutation>),
    /// Arbitrary bytes, with the gzip magic or not.
    Raw(Vec<u8>, bool),
}

fn archive_input() -> impl Strategy<Value = ArchiveInput> {
    prop_oneof![
        6 => (proptest::collection::vec(mutation(), 1..4), any::<bool>())
            .prop_map(|(m, fix)| ArchiveInput::Tar(m, fix)),
        3 => proptest::collection::vec(mutation(), 1..4).prop_map(ArchiveInput::Gz),
        1 => (proptest::collection::vec(any::<u8>(), 0..2048), any::<bool>())
            .prop_map(|(b, magic)| ArchiveInput::Raw(b, magic)),
    ]
}

fn archive_bytes(input: &ArchiveInput) -> Vec<u8> {
    let (gz, tar) = valid();
    match input {
        ArchiveInput::Tar(ms, fix) => {
            let mut t = tar.clone();
            for m in ms {
                apply(&mut t, m);
            }
            if *fix {
                fix_checksums(&mut t);
            }
            gzip(&t)
        }
        ArchiveInput::Gz(ms) => {
            let mut g = gz.clone();
            for m in ms {
                apply(&mut g, m);
            }
            g
        }
        ArchiveInput::Raw(b, magic) => {
            let mut out = if *magic { vec![0x1f, 0x8b] } else { Vec::new() };
            out.extend_from_slice(b);
            out
        }
    }
}

/// Every reader over one archive: verify, the bounded document read, copy, extraction.
fn read_every_way(dir: &std::path::Path, bytes: &[u8]) -> Result<(), TestCaseError> {
    let p = dir.join(ARCHIVE);
    std::fs::write(&p, bytes).unwrap();
    let cancel = CancellationToken::new();
    let ok = |r: crate::Result<()>, what: &str| -> Result<(), TestCaseError> {
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                prop_assert!(expected_kind(e.kind()), "{what}: {:?}: {e}", e.kind());
                prop_assert!(
                    e.hint().is_some() || e.kind() == ErrorKind::NotFound,
                    "{what}: no hint: {e:?}"
                );
                Ok(())
            }
        }
    };
    ok(verify(&p, &quiet(), &cancel).map(|_| ()), "verify")?;
    ok(read_manifest(&p).map(|_| ()), "read_manifest")?;
    ok(
        read_document(&p, GLOBALS_MEMBER, MAX_SMALL_DOC, &cancel).map(|_| ()),
        "read_document",
    )?;
    ok(
        crate::storage::restore::source::open_archive_doc(&p, &cancel).map(|_| ()),
        "open_archive_doc",
    )?;
    let dest = dir.join("out");
    let r = extract_all(&p, &dest, &cancel).map(|_| ());
    if r.is_err() {
        prop_assert!(!dest.exists(), "a failed extraction left files behind");
    } else {
        std::fs::remove_dir_all(&dest).unwrap();
    }
    ok(r, "extract_all")
}

#[test]
fn fuzz_archive_reader() {
    let dir = tempfile::tempdir().unwrap();
    // The unmodified archive reads.
    read_every_way(dir.path(), &valid().0).unwrap();
    assert!(
        verify(
            &dir.path().join(ARCHIVE),
            &quiet(),
            &CancellationToken::new()
        )
        .unwrap()
        .ok
    );
    let before = peak_rss();
    let mut runner = TestRunner::new(offsite_testkit::fuzz::config());
    runner
        .run(&archive_input(), |input| {
            read_every_way(dir.path(), &archive_bytes(&input))
        })
        .unwrap();
    let grew = peak_rss().saturating_sub(before);
    assert!(grew < 512 << 20, "peak memory grew by {grew} bytes");
}

/// Records `<len> key=value\n`, each with its length off by `delta`.
fn pax_input() -> impl Strategy<Value = (Vec<u8>, bool)> {
    let record = (
        -3i8..=3,
        prop_oneof![
            Just(b"path".to_vec()),
            Just(b"linkpath".to_vec()),
            Just(b"size".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..8)
        ],
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            "[0-9]{0,25}".prop_map(String::into_bytes),
            Just(b"2147483648".to_vec()),
        ],
    );
    prop_oneof![
        proptest::collection::vec(record, 0..5).prop_map(|recs| {
            let mut out = Vec::new();
            let mut exact = true;
            for (delta, k, v) in recs {
                let body_len = 1 + k.len() + 1 + v.len() + 1;
                let mut len = body_len + 1;
                while format!("{len}").len() + body_len != len {
                    len += 1;
                }
                exact &= delta == 0 && !k.contains(&b'=');
                let claimed = (len as i64 + delta as i64).max(0);
                out.extend_from_slice(format!("{claimed} ").as_bytes());
                out.extend_from_slice(&k);
                out.push(b'=');
                out.extend_from_slice(&v);
                out.push(b'\n');
            }
            (out, exact)
        }),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| (b, false)),
        Just((b"2147483648 path=globals.sql\n".to_vec(), false)),
    ]
}

#[test]
fn fuzz_archive_pax_records() {
    let mut runner = TestRunner::new(offsite_testkit::fuzz::config());
    runner
        .run(&pax_input(), |(data, exact)| {
            match parse_pax(&data) {
                Ok(recs) => {
                    let used: usize = recs.iter().map(|(k, v)| k.len() + v.len() + 3).sum();
                    prop_assert!(used <= data.len());
                }
                Err(_) => prop_assert!(!exact, "well-formed records refused: {data:?}"),
            }
            // As an extended header before a file entry: an entry or a header error, no more.
            let mut tar = tarfmt::file_header("PaxHeaders/x", data.len() as u64, 0);
            tar[156] = b'x';
            let mut h = tar::Header::new_gnu();
            h.as_mut_bytes().copy_from_slice(&tar[..512]);
            h.set_cksum();
            let mut bytes = h.as_bytes().to_vec();
            bytes.extend_from_slice(&data);
            bytes.resize(bytes.len() + tarfmt::padding(data.len() as u64), 0);
            bytes.extend(tarfmt::file_header("x.txt", 3, 0));
            bytes.extend_from_slice(b"abc");
            bytes.resize(bytes.len() + tarfmt::padding(3), 0);
            bytes.extend_from_slice(&[0u8; 1024]);
            let mut r = TarReader::new(&bytes[..]);
            match r.next() {
                Ok(Next::Entry(e)) => {
                    let mut buf = vec![0u8; 4096];
                    let n = r.fill(&mut buf);
                    prop_assert!(n.is_ok() || e.size != 3, "{e:?} {n:?}");
                }
                Ok(other) => prop_assert!(false, "{other:?}"),
                Err(TarError::BadHeader(_) | TarError::Truncated) => {}
                Err(e) => prop_assert!(false, "{e}"),
            }
            Ok(())
        })
        .unwrap();
}

/// `metadata.json` bytes: the valid one mutated, or with a JSON value swapped.
fn manifest_input() -> impl Strategy<Value = Vec<u8>> {
    let valid_json = || {
        let (_, tar) = valid();
        let size = tarfmt::parse_num(&tar[124..136]).unwrap() as usize;
        tar[512..512 + size].to_vec()
    };
    let values = prop_oneof![
        Just("18446744073709551616".to_string()),
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just("null".to_string()),
        Just("\"\\u0000\"".to_string()),
        Just(
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
                .to_string()
        ),
        Just("{\"name\":\"../x\",\"size\":7516192768,\"sha256\":\"\"}".to_string()),
        "[ -~]{0,20}",
    ];
    prop_oneof![
        proptest::collection::vec(mutation(), 1..4).prop_map(move |ms| {
            let mut b = valid_json();
            for m in &ms {
                apply(&mut b, m);
            }
            b
        }),
        (any::<u32>(), values).prop_map(move |(p, v)| {
            // Replace the value after the p-th ':' (a crude but JSON-shaped change).
            let text = String::from_utf8(valid_json()).unwrap();
            let colons: Vec<usize> = text.match_indices(':').map(|(i, _)| i).collect();
            let i = colons[p as usize % colons.len()] + 1;
            let end = text[i..]
                .find([',', '}', ']'])
                .map_or(text.len(), |e| i + e);
            format!("{}{v}{}", &text[..i], &text[end..]).into_bytes()
        }),
        proptest::collection::vec(any::<u8>(), 0..512),
    ]
}

#[test]
fn fuzz_archive_manifest_json() {
    let path = std::path::Path::new("fuzz.tar.gz");
    let mut runner = TestRunner::new(offsite_testkit::fuzz::config());
    runner
        .run(&manifest_input(), |json| {
            let mut bytes = tarfmt::file_header(MANIFEST_NAME, json.len() as u64, 0);
            bytes.extend_from_slice(&json);
            bytes.resize(bytes.len() + tarfmt::padding(json.len() as u64), 0);
            bytes.extend_from_slice(&[0u8; 1024]);
            match read_manifest_entry(&mut TarReader::new(&bytes[..]), path) {
                Ok((m, raw)) => {
                    prop_assert_eq!(raw, json);
                    prop_assert!(m.format_version <= FORMAT_VERSION);
                }
                Err(e) => prop_assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::UnsupportedFormat | ErrorKind::Integrity
                    ),
                    "{:?}: {e}",
                    e.kind()
                ),
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn fuzz_storage_json() {
    let valid_json = serde_json::to_vec(&storage_doc()).unwrap();
    let manifest = {
        let mut m = manifest();
        m.members = vec![MemberEntry {
            name: "storage/avatars/a.png".into(),
            size: 3,
            sha256: sha(b"abc"),
        }];
        m
    };
    let input = prop_oneof![
        proptest::collection::vec(mutation(), 1..4).prop_map(move |ms| {
            let mut b = valid_json.clone();
            for m in &ms {
                apply(&mut b, m);
            }
            b
        }),
        proptest::collection::vec(any::<u8>(), 0..512),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::new(offsite_testkit::fuzz::config());
    runner
        .run(&input, |doc| {
            // verify's check: a list of sentences, never a panic.
            let problems = crate::storage::check::check_doc(&doc, &manifest);
            prop_assert!(problems.len() <= 101);
            // A storage restore's read of it, from an archive.
            let mut tar = Vec::new();
            let mut listed = manifest.clone();
            listed.members.push(MemberEntry {
                name: STORAGE_DOC.into(),
                size: doc.len() as u64,
                sha256: sha(&doc),
            });
            let m = serde_json::to_vec(&listed).unwrap();
            for (name, data) in [
                (MANIFEST_NAME, &m[..]),
                (STORAGE_DOC, &doc[..]),
                ("storage/avatars/a.png", b"abc"),
            ] {
                tar.extend(tarfmt::file_header(name, data.len() as u64, 0));
                tar.extend_from_slice(data);
                tar.resize(tar.len() + tarfmt::padding(data.len() as u64), 0);
            }
            tar.extend_from_slice(&[0u8; 1024]);
            let p = put(dir.path(), "s.tar.gz", &gzip(&tar));
            match crate::storage::restore::source::open_archive_doc(&p, &CancellationToken::new()) {
                Ok(a) => prop_assert!(
                    serde_json::from_slice::<StorageDoc>(&doc).is_ok()
                        && a.doc.objects.len() < 1000
                ),
                Err(e) => prop_assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::UnsupportedFormat | ErrorKind::Integrity
                    ),
                    "{:?}: {e}",
                    e.kind()
                ),
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn fuzz_sha256_file() {
    let digest = "[0-9a-fA-F]{64}";
    let input = prop_oneof![
        (
            digest,
            "[ \t*\\\\]{0,3}",
            "[ -~]{0,20}",
            "(\n|\r\n|)",
            "[ -~\n]{0,40}"
        )
            .prop_map(|(h, sep, name, eol, rest)| (
                format!("{h}{sep}{name}{eol}{rest}").into_bytes(),
                Some(h)
            )),
        ("\\\\?", digest, "[ -~]{0,5}")
            .prop_map(|(bs, h, tail)| (format!("{bs}{h}{tail}").into_bytes(), None)),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| (b, None)),
    ];
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join(ARCHIVE);
    let mut runner = TestRunner::new(offsite_testkit::fuzz::config());
    runner
        .run(&input, |(bytes, digest)| {
            let text = String::from_utf8_lossy(&bytes);
            let parsed = parse_sidecar(&text);
            if let Some(h) = &parsed {
                prop_assert!(
                    h.len() == 64
                        && h.bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                );
                let first = text.lines().next().unwrap().trim_start();
                let first = first.strip_prefix('\\').unwrap_or(first);
                prop_assert!(first.to_ascii_lowercase().starts_with(h.as_str()));
            }
            if let Some(d) = &digest {
                let sep_ok = bytes
                    .get(64)
                    .is_none_or(|b| *b == b' ' || *b == b'\t' || *b == b'\n' || *b == b'\r');
                if sep_ok {
                    prop_assert_eq!(parsed.clone(), Some(d.to_ascii_lowercase()), "{:?}", text);
                }
            }
            std::fs::write(sidecar_path(&archive), &bytes).unwrap();
            match read_sidecar(&archive) {
                Ok(Some(h)) => prop_assert_eq!(Some(h), parsed),
                Ok(None) => prop_assert!(false, "the sidecar exists"),
                Err(e) => {
                    prop_assert_eq!(e.kind(), ErrorKind::Integrity, "{}", e);
                    prop_assert!(parsed.is_none());
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_sidecar_that_is_not_utf8_is_an_integrity_error() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join(ARCHIVE);
    std::fs::write(sidecar_path(&archive), b"\xff\xfe not a checksum").unwrap();
    let e = read_sidecar(&archive).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.hint().is_some());
}

/// Found by `fuzz_archive_reader`: extraction's integrity errors (a member not listed, listed
/// twice, missing) had no hint.
#[test]
fn extraction_integrity_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let ok = &b"fine"[..];
    let meta = manifest_json(&[("ok.txt", ok)]);
    for (what, entries) in [
        (
            "not listed",
            vec![
                Ent::File(MANIFEST_NAME, &meta),
                Ent::File("ok.txt", ok),
                Ent::File("other.txt", ok),
            ],
        ),
        (
            "twice",
            vec![
                Ent::File(MANIFEST_NAME, &meta),
                Ent::File("ok.txt", ok),
                Ent::File("ok.txt", ok),
            ],
        ),
        ("missing", vec![Ent::File(MANIFEST_NAME, &meta)]),
    ] {
        let p = put(dir.path(), "x.tar.gz", &tgz(&entries));
        let dest = dir.path().join("out");
        let e = extract_all(&p, &dest, &CancellationToken::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{what}: {e}");
        assert!(e.hint().is_some(), "{what}: {e:?}");
        assert!(!dest.exists());
    }
    let p = put(
        dir.path(),
        "x.tar.gz",
        &tgz(&[Ent::File(MANIFEST_NAME, &meta)]),
    );
    let e = copy_member(
        &p,
        "ok.txt",
        &mut Vec::new(),
        &quiet(),
        &CancellationToken::new(),
    )
    .unwrap_err();
    assert!(e.hint().is_some(), "{e:?}");
}
