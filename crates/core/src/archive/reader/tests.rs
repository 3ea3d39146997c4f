use super::super::*;
use crate::error::ErrorKind;
use crate::progress::{Phase, ProgressUpdate, Reporter};
use crate::test_fixtures::*;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn check(path: &Path) -> crate::Result<VerifyReport> {
    verify(path, &quiet(), &CancellationToken::new())
}

fn copy(path: &Path, member: &str) -> crate::Result<Vec<u8>> {
    let mut out = Vec::new();
    copy_member(path, member, &mut out, &quiet(), &CancellationToken::new()).map(|_| out)
}

/// Extracts into a fresh folder; on error asserts nothing was left behind.
fn extract(path: &Path) -> crate::Result<Vec<PathBuf>> {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("dest");
    let r = extract_all(path, &dest, &CancellationToken::new());
    if r.is_err() {
        assert!(
            !dest.exists(),
            "extract_all failed but left {:?}",
            names_in(&dest)
        );
        assert_eq!(names_in(out.path()), Vec::<String>::new());
    }
    r
}

fn bad_member<'a>(r: &'a VerifyReport, name: &str) -> &'a MemberCheck {
    r.members
        .iter()
        .find(|m| m.name == name && !m.ok)
        .unwrap_or_else(|| panic!("{name} not flagged: {r:#?}"))
}

#[test]
fn truncated_archives_are_never_ok() {
    let s = sample(2 << 20, 6);
    let bytes = std::fs::read(s.path()).unwrap();
    let len = bytes.len();
    let ends = gzip_member_ends(&bytes);
    assert!(
        ends.len() >= 4,
        "expected several concatenated gzip members: {ends:?}"
    );
    let mut cuts = vec![
        0,
        1,
        2,
        10,
        100,
        600,
        5000,
        len / 3,
        len / 2,
        len - 100,
        len - 9,
        len - 1,
    ];
    // Cuts exactly between gzip members decompress cleanly: only the tar layer can tell.
    cuts.extend(&ends[..ends.len() - 1]);
    let work = tempfile::tempdir().unwrap();
    for cut in cuts {
        for with_sidecar in [true, false] {
            let p = put(work.path(), ARCHIVE, &bytes[..cut]);
            if with_sidecar {
                std::fs::copy(sidecar_path(s.path()), sidecar_path(&p)).unwrap();
            } else {
                let _ = std::fs::remove_file(sidecar_path(&p));
            }
            match check(&p) {
                Ok(r) => {
                    assert!(!r.ok, "cut at {cut}/{len} passed verify: {r:#?}");
                    assert!(r.first_bad.is_some());
                }
                Err(e) => assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::UnsupportedFormat | ErrorKind::Integrity
                    ),
                    "cut at {cut}: {e}"
                ),
            }
            let e = extract(&p).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::UnsupportedFormat | ErrorKind::Integrity
                ),
                "cut at {cut}: {e}"
            );
        }
    }
    // Cut in the middle of database.dump: restore's copy fails, naming it.
    let p = put(work.path(), ARCHIVE, &bytes[..len / 2]);
    let e = copy(&p, DATABASE_MEMBER).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.message().contains(DATABASE_MEMBER), "{e}");
    let r = check(&p).unwrap();
    assert_eq!(r.first_bad.as_deref(), Some(DATABASE_MEMBER), "{r:#?}");
}

#[test]
fn a_damaged_manifest_is_reported_not_an_error() {
    // The tar stream ends inside metadata.json's data: an archive, but a damaged one.
    let meta = manifest_json(&[("a.txt", b"alpha")]);
    let mut tarred = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_path(MANIFEST_NAME).unwrap();
    h.set_size(meta.len() as u64);
    h.set_cksum();
    tarred.append(&h, &meta[..]).unwrap();
    let tarred = tarred.into_inner().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = put(dir.path(), ARCHIVE, &gzip(&tarred[..512 + meta.len() / 2]));
    let r = check(&p).unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad.as_deref(), Some(MANIFEST_NAME), "{r:#?}");
    assert_eq!(r.file_sha256, sha256_file(&p).unwrap());
    assert_eq!(read_manifest(&p).unwrap_err().kind(), ErrorKind::Integrity);
    assert_eq!(extract(&p).unwrap_err().kind(), ErrorKind::Integrity);
}

#[test]
fn flipped_bytes_are_detected() {
    let s = sample(2 << 20, 6);
    let good = std::fs::read(s.path()).unwrap();
    let len = good.len();
    let ends = gzip_member_ends(&good);
    let work = tempfile::tempdir().unwrap();
    let sidecar_name = format!("{ARCHIVE}.sha256");
    for pos in [
        len / 2,
        len / 3,
        2 * len / 3,
        4,
        20,
        ends[0] - 3,
        ends[1] - 6,
        len - 5,
        len - 30,
    ] {
        let mut bytes = good.clone();
        bytes[pos] ^= 0x10;
        let p = put(work.path(), ARCHIVE, &bytes);
        std::fs::copy(sidecar_path(s.path()), sidecar_path(&p)).unwrap();
        match check(&p) {
            Ok(r) => {
                assert!(!r.ok, "flip at {pos}/{len} passed: {r:#?}");
                let first = r.first_bad.clone().unwrap();
                assert!(
                    first == sidecar_name
                        || r.members.iter().any(|m| m.name == first && !m.ok)
                        || first == ARCHIVE,
                    "flip at {pos}: first_bad {first}"
                );
                assert!(matches!(r.sidecar, SidecarStatus::Mismatch { .. }));
            }
            // A flip in metadata.json's compressed bytes can make it unreadable JSON.
            Err(e) => assert!(pos < ends[0], "flip at {pos}: {e}"),
        }
    }

    // In the middle (database.dump's data), the member itself is named, sidecar or not.
    let mut bytes = good.clone();
    bytes[len / 2] ^= 0x01;
    let p = put(work.path(), ARCHIVE, &bytes);
    let _ = std::fs::remove_file(sidecar_path(&p));
    let r = check(&p).unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad.as_deref(), Some(DATABASE_MEMBER), "{r:#?}");
    assert_eq!(
        bad_member(&r, DATABASE_MEMBER).problem_kind,
        Some(ErrorKind::Integrity)
    );
    assert_eq!(
        copy(&p, DATABASE_MEMBER).unwrap_err().kind(),
        ErrorKind::Integrity
    );
    assert!(extract(&p).is_err());

    // A flip in a gzip header's timestamp does not change any content: only the sidecar sees it.
    let mut bytes = good.clone();
    bytes[4] ^= 0x01;
    let p = put(work.path(), ARCHIVE, &bytes);
    std::fs::copy(sidecar_path(s.path()), sidecar_path(&p)).unwrap();
    let r = check(&p).unwrap();
    assert_eq!(
        r.first_bad.as_deref(),
        Some(sidecar_name.as_str()),
        "{r:#?}"
    );
    assert!(r.members.iter().all(|m| m.ok));
}

#[test]
fn missing_member_is_named() {
    let (a, b) = (&b"alpha"[..], &b"bravo"[..]);
    let dir = tempfile::tempdir().unwrap();
    let p = put(
        dir.path(),
        ARCHIVE,
        &tgz(&[
            Ent::File(MANIFEST_NAME, &manifest_json(&[("a.txt", a), ("b.txt", b)])),
            Ent::File("a.txt", a),
        ]),
    );
    let r = check(&p).unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad.as_deref(), Some("b.txt"), "{r:#?}");
    assert!(bad_member(&r, "b.txt")
        .problem
        .as_deref()
        .unwrap()
        .contains("missing"));
    assert_eq!(r.sidecar, SidecarStatus::Missing);
    assert!(r.members.iter().find(|m| m.name == "a.txt").unwrap().ok);

    let e = copy(&p, "b.txt").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert!(e.message().contains("b.txt"));
    assert_eq!(copy(&p, "a.txt").unwrap(), a);
    let e = extract(&p).unwrap_err();
    assert!(e.message().contains("b.txt"), "{e}");
}

#[test]
fn wrong_extra_and_duplicate_members_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let meta = manifest_json(&[("a.txt", b"alpha"), ("b.txt", b"bravo")]);

    // Same size, different content.
    let p = put(
        dir.path(),
        "wrong.tar.gz",
        &tgz(&[
            Ent::File(MANIFEST_NAME, &meta),
            Ent::File("a.txt", b"alphA"),
            Ent::File("b.txt", b"bravo"),
        ]),
    );
    let r = check(&p).unwrap();
    assert_eq!(r.first_bad.as_deref(), Some("a.txt"), "{r:#?}");
    let m = bad_member(&r, "a.txt");
    assert_eq!(m.actual_sha256.as_deref(), Some(sha(b"alphA").as_str()));
    assert!(m.problem.as_deref().unwrap().contains("SHA-256"));
    let e = copy(&p, "a.txt").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert!(e.message().contains("a.txt"), "{e}");
    assert_eq!(copy(&p, "b.txt").unwrap(), b"bravo");
    assert!(extract(&p).unwrap_err().message().contains("a.txt"));

    // Different size.
    let p = put(
        dir.path(),
        "short.tar.gz",
        &tgz(&[
            Ent::File(MANIFEST_NAME, &meta),
            Ent::File("a.txt", b"alp"),
            Ent::File("b.txt", b"bravo"),
        ]),
    );
    let r = check(&p).unwrap();
    assert_eq!(r.first_bad.as_deref(), Some("a.txt"));
    assert_eq!(bad_member(&r, "a.txt").actual_size, 3);

    // A member the manifest does not list.
    let p = put(
        dir.path(),
        "extra.tar.gz",
        &tgz(&[
            Ent::File(MANIFEST_NAME, &meta),
            Ent::File("a.txt", b"alpha"),
            Ent::File("z.txt", b"zulu"),
            Ent::File("b.txt", b"bravo"),
        ]),
    );
    let r = check(&p).unwrap();
    assert_eq!(r.first_bad.as_deref(), Some("z.txt"), "{r:#?}");
    assert!(bad_member(&r, "z.txt")
        .problem
        .as_deref()
        .unwrap()
        .contains("not listed"));
    assert!(extract(&p).unwrap_err().message().contains("z.txt"));

    // Twice the same member.
    let p = put(
        dir.path(),
        "dup.tar.gz",
        &tgz(&[
            Ent::File(MANIFEST_NAME, &meta),
            Ent::File("a.txt", b"alpha"),
            Ent::File("b.txt", b"bravo"),
            Ent::File("a.txt", b"alpha"),
        ]),
    );
    let r = check(&p).unwrap();
    assert_eq!(r.first_bad.as_deref(), Some("a.txt"), "{r:#?}");
    assert!(bad_member(&r, "a.txt")
        .problem
        .as_deref()
        .unwrap()
        .contains("more than once"));
    assert!(extract(&p).is_err());
}

#[test]
fn malformed_or_future_manifests_are_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let mut future: serde_json::Value = serde_json::from_slice(&manifest_json(&[])).unwrap();
    future["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
    future["something_new"] = serde_json::json!({"x": 1});
    future.as_object_mut().unwrap().remove("project");
    let mut unversioned: serde_json::Value = serde_json::from_slice(&manifest_json(&[])).unwrap();
    unversioned
        .as_object_mut()
        .unwrap()
        .remove("format_version");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "malformed",
            tgz(&[Ent::File(MANIFEST_NAME, b"{\"format_version\": 1, ")]),
            "JSON",
        ),
        (
            "wrong schema",
            tgz(&[Ent::File(MANIFEST_NAME, b"{\"format_version\": 1}")]),
            "malformed",
        ),
        (
            "future",
            tgz(&[Ent::File(MANIFEST_NAME, future.to_string().as_bytes())]),
            "reads format 3 and older",
        ),
        (
            "unversioned",
            tgz(&[Ent::File(MANIFEST_NAME, unversioned.to_string().as_bytes())]),
            "format_version",
        ),
        (
            "manifest not first",
            tgz(&[
                Ent::File("a.txt", b"a"),
                Ent::File(MANIFEST_NAME, &manifest_json(&[("a.txt", b"a")])),
            ]),
            "first member",
        ),
        (
            "manifest is a folder",
            tgz(&[Ent::Dir(MANIFEST_NAME)]),
            "first member",
        ),
    ];
    for (what, bytes, needle) in cases {
        let p = put(dir.path(), "a.tar.gz", &bytes);
        let e = read_manifest(&p).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat, "{what}: {e}");
        assert!(e.message().contains(needle), "{what}: {e}");
        assert_eq!(
            check(&p).unwrap_err().kind(),
            ErrorKind::UnsupportedFormat,
            "{what}"
        );
        assert_eq!(
            copy(&p, "a.txt").unwrap_err().kind(),
            ErrorKind::UnsupportedFormat,
            "{what}"
        );
        assert_eq!(
            extract(&p).unwrap_err().kind(),
            ErrorKind::UnsupportedFormat,
            "{what}"
        );
        if what == "future" {
            assert!(e.hint().unwrap().contains("upgrade Offsite"), "{e:?}");
        }
    }
}

#[test]
fn files_that_are_not_archives_are_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("one byte", vec![0x1f]),
        ("random", data(100_000, 77)),
        ("text", b"SELECT 1;\n-- a plain SQL file\n".repeat(100)),
        ("gzip of text", gzip(&b"hello world\n".repeat(200))),
        ("short gzip", gzip(b"hi")),
        ("gzip of nothing", gzip(b"")),
        ("gzip of zeros", gzip(&[0u8; 4096])),
    ];
    for (what, bytes) in cases {
        let p = put(dir.path(), "x.tar.gz", &bytes);
        let e = read_manifest(&p).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat, "{what}: {e}");
        assert!(
            e.message().starts_with("not an Offsite archive: "),
            "{what}: {e}"
        );
        assert_eq!(
            check(&p).unwrap_err().kind(),
            ErrorKind::UnsupportedFormat,
            "{what}"
        );
        assert_eq!(
            copy(&p, "x").unwrap_err().kind(),
            ErrorKind::UnsupportedFormat,
            "{what}"
        );
        assert_eq!(
            extract(&p).unwrap_err().kind(),
            ErrorKind::UnsupportedFormat,
            "{what}"
        );
    }
    let e = check(&dir.path().join("nope.tar.gz")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[test]
fn unsafe_members_are_refused_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    // `/`-separated on every OS (on Windows `C:/…/abs-x`: refused for its drive prefix; a
    // backslash name is refused on its own, archive::tests::member_names).
    let abs = format!("{}/abs-x", root.path().display()).replace('\\', "/");
    let etc_x_existed = Path::new("/etc/x").exists();
    let ok = &b"fine"[..];
    let meta = manifest_json(&[("ok.txt", ok)]);
    let evils: Vec<(&str, Ent)> = vec![
        ("../x", Ent::File("../x", b"evil")),
        ("a/../../x", Ent::File("a/../../x", b"evil")),
        (abs.as_str(), Ent::File(&abs, b"evil")),
        ("/etc/x", Ent::File("/etc/x", b"evil")),
        ("link", Ent::Symlink("link", "/etc/passwd")),
        ("hard", Ent::Hardlink("hard", "../../x")),
    ];
    for (name, evil) in evils {
        for evil_first in [false, true] {
            let entries = if evil_first {
                vec![
                    Ent::File(MANIFEST_NAME, &meta),
                    clone_ent(&evil),
                    Ent::File("ok.txt", ok),
                ]
            } else {
                vec![
                    Ent::File(MANIFEST_NAME, &meta),
                    Ent::File("ok.txt", ok),
                    clone_ent(&evil),
                ]
            };
            let archives = root.path().join("archives");
            std::fs::create_dir_all(&archives).unwrap();
            let p = put(&archives, "evil.tar.gz", &tgz(&entries));

            let r = check(&p).unwrap();
            assert!(!r.ok, "{name}");
            assert_eq!(r.first_bad.as_deref(), Some(name), "{r:#?}");
            assert_eq!(
                bad_member(&r, name).problem_kind,
                Some(ErrorKind::UnsafePath)
            );
            assert!(
                r.members.iter().find(|m| m.name == "ok.txt").unwrap().ok,
                "{r:#?}"
            );

            // Extraction into an existing empty folder two levels down.
            let dest = root.path().join("work").join("dest");
            std::fs::create_dir_all(&dest).unwrap();
            let e = extract_all(&p, &dest, &CancellationToken::new()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsafePath, "{name}: {e}");
            assert!(e.message().contains(name), "{name}: {e}");
            assert_eq!(
                names_in(&dest),
                Vec::<String>::new(),
                "{name}: left files in dest"
            );
            assert_eq!(
                names_in(&root.path().join("work")),
                vec!["dest".to_string()],
                "{name}"
            );
            assert_eq!(
                names_in(root.path()),
                vec!["archives".to_string(), "work".to_string()],
                "{name}"
            );
            assert_eq!(
                names_in(&archives),
                vec!["evil.tar.gz".to_string()],
                "{name}"
            );
            assert_eq!(Path::new("/etc/x").exists(), etc_x_existed);

            // Reading ok.txt only fails when the unsafe member comes before it.
            match copy(&p, "ok.txt") {
                Ok(b) => assert!(!evil_first && b == ok, "{name}"),
                Err(e) => assert!(
                    evil_first && e.kind() == ErrorKind::UnsafePath,
                    "{name}: {e}"
                ),
            }
        }
    }
    let s = sample(1000, 6);
    for bad in ["../x", "/etc/passwd", "a/./b"] {
        assert_eq!(
            copy(s.path(), bad).unwrap_err().kind(),
            ErrorKind::UnsafePath,
            "{bad}"
        );
    }
    assert_eq!(
        copy(s.path(), "nope.txt").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

fn clone_ent<'a>(e: &Ent<'a>) -> Ent<'a> {
    match e {
        Ent::File(n, d) => Ent::File(n, d),
        Ent::Dir(n) => Ent::Dir(n),
        Ent::Symlink(n, t) => Ent::Symlink(n, t),
        Ent::Hardlink(n, t) => Ent::Hardlink(n, t),
    }
}

#[test]
fn directories_are_extracted_but_not_members() {
    let dir = tempfile::tempdir().unwrap();
    let meta = manifest_json(&[("config/a.json", b"{}")]);
    let p = put(
        dir.path(),
        ARCHIVE,
        &tgz(&[
            Ent::File(MANIFEST_NAME, &meta),
            Ent::Dir("config/"),
            Ent::Dir("empty/"),
            Ent::File("config/a.json", b"{}"),
        ]),
    );
    assert!(check(&p).unwrap().ok);
    let out = tempfile::tempdir().unwrap();
    let files = extract_all(&p, &out.path().join("d"), &CancellationToken::new()).unwrap();
    assert_eq!(files.len(), 2);
    assert!(out.path().join("d/empty").is_dir());
    assert_eq!(
        std::fs::read(out.path().join("d/config/a.json")).unwrap(),
        b"{}"
    );
}

#[test]
fn extract_all_needs_an_empty_folder() {
    let s = sample(10_000, 6);
    let out = tempfile::tempdir().unwrap();
    put(out.path(), "keep.txt", b"mine");
    let e = extract_all(s.path(), out.path(), &CancellationToken::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(names_in(out.path()), vec!["keep.txt".to_string()]);
    let e = extract_all(
        s.path(),
        &out.path().join("keep.txt"),
        &CancellationToken::new(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // An existing empty folder is fine.
    let empty = out.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(
        extract_all(s.path(), &empty, &CancellationToken::new())
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn sidecar_missing_wrong_or_malformed() {
    let s = sample(100_000, 6);
    let side = sidecar_path(s.path());
    let sidecar_name = format!("{ARCHIVE}.sha256");

    std::fs::write(&side, format!("{}  {ARCHIVE}\n", "0".repeat(64))).unwrap();
    let r = check(s.path()).unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad.as_deref(), Some(sidecar_name.as_str()));
    assert_eq!(
        r.sidecar,
        SidecarStatus::Mismatch {
            expected: "0".repeat(64)
        }
    );
    assert!(r.members.iter().all(|m| m.ok));

    std::fs::write(&side, "not a checksum\n").unwrap();
    let r = check(s.path()).unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad.as_deref(), Some(sidecar_name.as_str()));

    std::fs::remove_file(&side).unwrap();
    let r = check(s.path()).unwrap();
    assert!(r.ok, "{r:#?}");
    assert_eq!(r.sidecar, SidecarStatus::Missing);
    assert_eq!(r.file_sha256, s.written.sha256);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["sidecar"]["status"], "missing");
}

#[test]
fn data_after_the_archive_is_detected() {
    let s = sample(100_000, 6);
    let good = std::fs::read(s.path()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut tarred_extra = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_path("smuggled.txt").unwrap();
    h.set_size(4);
    h.set_cksum();
    tarred_extra.append(&h, &b"evil"[..]).unwrap();
    for (what, tail) in [
        ("garbage", b"garbage".to_vec()),
        ("hidden member", gzip(&tarred_extra.into_inner().unwrap())),
    ] {
        let mut bytes = good.clone();
        bytes.extend_from_slice(&tail);
        let p = put(work.path(), ARCHIVE, &bytes);
        let r = check(&p).unwrap();
        assert!(!r.ok, "{what}");
        assert_eq!(r.first_bad.as_deref(), Some(ARCHIVE), "{what}: {r:#?}");
        assert!(r.members.iter().all(|m| m.ok), "{what}");
        assert!(extract(&p).is_err(), "{what}");
    }
}

#[test]
fn verify_reports_progress_in_archive_bytes() {
    let s = sample(3 << 20, 6);
    let seen = Arc::new(Mutex::new(Vec::<ProgressUpdate>::new()));
    let sink = {
        let seen = seen.clone();
        move |u: &ProgressUpdate| seen.lock().unwrap().push(u.clone())
    };
    let reporter = Reporter::with_interval(Arc::new(sink), "v", Duration::ZERO);
    assert!(
        verify(s.path(), &reporter, &CancellationToken::new())
            .unwrap()
            .ok
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].phase, Phase::Verifying);
    assert_eq!(seen[0].bytes_total, Some(s.written.size));
    assert_eq!(seen.last().unwrap().bytes_done, s.written.size);
    assert!(seen.len() >= 3, "{}", seen.len());
}

#[test]
fn cancel_stops_reading() {
    let s = sample(3 << 20, 6);
    let cancel = CancellationToken::new();
    cancel.cancel();
    assert_eq!(
        verify(s.path(), &quiet(), &cancel).unwrap_err().kind(),
        ErrorKind::Cancelled
    );
    let mut out = Vec::new();
    let e = copy_member(s.path(), DATABASE_MEMBER, &mut out, &quiet(), &cancel).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    let work = tempfile::tempdir().unwrap();
    let e = extract_all(s.path(), &work.path().join("d"), &cancel).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert_eq!(names_in(work.path()), Vec::<String>::new());
}

#[test]
fn archives_written_by_gnu_tar_are_read() {
    // GNU tar's own encodings of long names: GNU long-name entries, pax headers, ustar prefix.
    let long = format!("storage/bucket/{}/object.bin", "deep".repeat(30));
    let content = data(50_000, 4);
    let small = b"small".to_vec();
    for format in ["gnu", "pax", "ustar"] {
        let work = tempfile::tempdir().unwrap();
        let src = work.path().join("src");
        std::fs::create_dir_all(src.join(Path::new(&long).parent().unwrap())).unwrap();
        std::fs::write(src.join(&long), &content).unwrap();
        std::fs::write(src.join("b.txt"), &small).unwrap();
        std::fs::write(
            src.join(MANIFEST_NAME),
            manifest_json(&[(&long, &content), ("b.txt", &small)]),
        )
        .unwrap();
        let archive = work.path().join("gnu.tar.gz");
        let a = archive.to_str().unwrap();
        tool(
            &src,
            "tar",
            &[
                &format!("--format={format}"),
                "-czf",
                a,
                MANIFEST_NAME,
                &long,
                "b.txt",
            ],
        );
        let r = check(&archive).unwrap();
        assert!(r.ok, "{format}: {r:#?}");
        assert_eq!(copy(&archive, &long).unwrap(), content, "{format}");
    }
}
