use super::super::*;
use crate::progress::{Phase, ProgressUpdate, Reporter};
use crate::test_fixtures::*;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[test]
fn writers_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<ArchiveWriter>();
    send::<SpoolWriter>();
    send::<SpooledMember>();
    send::<Written>();
}

#[test]
fn round_trip_spool_bytes_and_file() {
    let s = sample(3 * 1024 * 1024 + 12_345, 6);
    let w = &s.written;
    assert_eq!(
        names_in(s.dir.path()),
        vec![ARCHIVE.to_string(), format!("{ARCHIVE}.sha256")]
    );

    // Size, hash and sidecar describe the file on disk.
    assert_eq!(w.size, std::fs::metadata(s.path()).unwrap().len());
    assert_eq!(w.sha256, sha256_file(s.path()).unwrap());
    let sidecar = std::fs::read_to_string(sidecar_path(s.path())).unwrap();
    assert_eq!(sidecar, format!("{}  {ARCHIVE}\n", w.sha256));
    assert_eq!(
        read_sidecar(s.path()).unwrap().as_deref(),
        Some(w.sha256.as_str())
    );

    // The manifest lists every member in archive order, and round-trips.
    let listed: Vec<(&str, u64, &str)> = w
        .manifest
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.size, m.sha256.as_str()))
        .collect();
    let want: Vec<(&str, u64, String)> = s
        .members()
        .iter()
        .map(|(n, d)| (*n, d.len() as u64, sha(d)))
        .collect();
    assert_eq!(
        listed,
        want.iter()
            .map(|(n, l, h)| (*n, *l, h.as_str()))
            .collect::<Vec<_>>()
    );
    assert_eq!(w.manifest.components.get("database"), Some(&sha(&s.dump)));
    assert_eq!(w.manifest.components.get("globals"), Some(&sha(&s.globals)));
    assert_eq!(read_manifest(s.path()).unwrap(), w.manifest);

    let cancel = CancellationToken::new();
    let report = verify(s.path(), &quiet(), &cancel).unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.sidecar, SidecarStatus::Match);
    assert_eq!(report.file_sha256, w.sha256);
    assert_eq!(report.first_bad, None);
    assert_eq!(report.members.len(), 3);
    assert!(report
        .members
        .iter()
        .all(|m| m.ok && m.actual_sha256.as_deref() == Some(m.expected_sha256.as_str())));
    let content: u64 = s.members().iter().map(|(_, d)| d.len() as u64).sum();
    assert!(
        report.bytes_verified > content,
        "{} <= {content}",
        report.bytes_verified
    );

    for (name, bytes) in s.members() {
        let mut out = Vec::new();
        let n = copy_member(s.path(), name, &mut out, &quiet(), &cancel).unwrap();
        assert_eq!(n, bytes.len() as u64);
        assert!(out == bytes, "{name} differs");
    }

    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("x");
    let files = extract_all(s.path(), &dest, &cancel).unwrap();
    assert_eq!(files.len(), 4);
    assert_eq!(files[0], dest.join(MANIFEST_NAME));
    for (name, bytes) in s.members() {
        assert!(
            std::fs::read(dest.join(name)).unwrap() == bytes,
            "{name} differs"
        );
    }
}

#[test]
fn gnu_tar_gzip_and_sha256sum_read_the_archive() {
    let s = sample(2 * 1024 * 1024 + 777, 6);
    let dir = s.dir.path();
    tool(dir, "gzip", &["-t", ARCHIVE]);
    tool(
        dir,
        "sha256sum",
        &["--check", "--strict", &format!("{ARCHIVE}.sha256")],
    );

    let listing = tool(dir, "tar", &["-tzvf", ARCHIVE]);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 4, "{listing}");
    assert!(lines[0].ends_with(" metadata.json"), "{listing}");
    for (line, (name, bytes)) in lines[1..].iter().zip(s.members()) {
        assert!(line.starts_with("-rw-r--r--"), "{line}");
        assert!(line.contains(&format!(" {} ", bytes.len())), "{line}");
        assert!(line.ends_with(&format!(" {name}")), "{line}");
        assert!(
            line.contains("2026-11-21"),
            "mtime from the manifest: {line}"
        );
    }

    let out = tempfile::tempdir().unwrap();
    tool(out.path(), "tar", &["-xzf", s.path().to_str().unwrap()]);
    for (name, bytes) in s.members() {
        assert!(
            std::fs::read(out.path().join(name)).unwrap() == bytes,
            "{name} differs after GNU tar"
        );
    }
    let meta: Manifest =
        serde_json::from_slice(&std::fs::read(out.path().join(MANIFEST_NAME)).unwrap()).unwrap();
    assert_eq!(meta, s.written.manifest);

    // Level 0 (stored) archives are just as readable.
    let s0 = sample(100_000, 0);
    tool(s0.dir.path(), "gzip", &["-t", ARCHIVE]);
    tool(s0.dir.path(), "tar", &["-tzf", ARCHIVE]);
}

#[test]
fn empty_members() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
    let spool = w.spool(DATABASE_MEMBER).unwrap();
    w.add_spooled(spool.finish().unwrap());
    w.add_bytes("empty.txt", Vec::new());
    let written = w
        .finish(manifest(), &quiet(), &CancellationToken::new())
        .unwrap();
    let report = verify(&written.path, &quiet(), &CancellationToken::new()).unwrap();
    assert!(report.ok, "{report:#?}");
    let mut out = Vec::new();
    assert_eq!(
        copy_member(
            &written.path,
            DATABASE_MEMBER,
            &mut out,
            &quiet(),
            &CancellationToken::new()
        )
        .unwrap(),
        0
    );
    tool(dir.path(), "tar", &["-tzf", ARCHIVE]);
}

type CancelAt = Box<dyn Fn(&ProgressUpdate) -> bool + Send + Sync>;

/// An archive of a small member, a fragment of `entries` objects of ≈ 48 KiB (mostly
/// incompressible) and a member after it; `copy` takes the copy path.
fn with_fragment(dir: &std::path::Path, entries: usize, copy: bool) -> Written {
    let mut w = ArchiveWriter::create(dir, ARCHIVE, 3).unwrap();
    if copy {
        w.copy_fragments();
    }
    w.add_bytes(GLOBALS_MEMBER, b"CREATE ROLE app;\n".to_vec());
    let mut f = w.fragment("2026-11-23T10:00:00Z").unwrap();
    for i in 0..entries {
        let body = fragment_body(i);
        let name = format!("storage/b/dir {}/obj-{i}.bin", i % 7);
        f.append_bytes(&name, &body, &sha(&body)).unwrap();
    }
    w.add_fragment(f.finish().unwrap());
    w.add_bytes("config/after.json", b"{\"after\": true}".to_vec());
    w.finish(manifest(), &quiet(), &CancellationToken::new())
        .unwrap()
}

/// The bytes of object `i` of [`with_fragment`].
fn fragment_body(i: usize) -> Vec<u8> {
    data(40_000 + (i * 977) % 17_000, i as u64 + 1)
}

/// Offsets of Offsite's padding members (an empty gzip member with an `OP` extra field).
fn padding_members(bytes: &[u8]) -> Vec<usize> {
    let mut at = vec![0];
    at.extend(gzip_member_ends(bytes));
    at.pop();
    at.into_iter()
        .filter(|&o| bytes[o + 3] == 0x04 && &bytes[o + 12..o + 14] == b"OP")
        .collect()
}

#[test]
fn a_large_fragment_becomes_the_archive_and_reads_as_the_copy_would() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let in_place = with_fragment(a.path(), 120, false);
    let copied = with_fragment(b.path(), 120, true);
    for (what, w, dir) in [("in place", &in_place, &a), ("copied", &copied, &b)] {
        // Nothing else is left: no spool, no index, no head file.
        assert_eq!(
            names_in(dir.path()),
            vec![ARCHIVE.to_string(), format!("{ARCHIVE}.sha256")],
            "{what}"
        );
        assert_eq!(w.size, std::fs::metadata(&w.path).unwrap().len(), "{what}");
        // The sidecar is what sha256sum says of the file.
        let sums = tool(dir.path(), "sha256sum", &[ARCHIVE]);
        assert_eq!(sums, format!("{}  {ARCHIVE}\n", w.sha256), "{what}");
        tool(
            dir.path(),
            "sha256sum",
            &["-c", &format!("{ARCHIVE}.sha256")],
        );
        tool(dir.path(), "gzip", &["-t", ARCHIVE]);
        let report = verify(&w.path, &quiet(), &CancellationToken::new()).unwrap();
        assert!(report.ok, "{what}: {report:#?}");
        assert_eq!(report.members.len(), 122, "{what}");
    }
    // The in-place archive holds one padding member, where its head ends on a block
    // boundary; the copied one none.
    let bytes = std::fs::read(&in_place.path).unwrap();
    let pads = padding_members(&bytes);
    assert_eq!(pads.len(), 1, "in place: {pads:?}");
    let pad_end = gzip_member_ends(&bytes)
        .into_iter()
        .find(|&e| e > pads[0])
        .unwrap();
    assert_eq!(pad_end % 4096, 0, "the head ends at {pad_end}");
    assert_eq!(
        padding_members(&std::fs::read(&copied.path).unwrap()),
        Vec::<usize>::new()
    );
    assert!(in_place.size > copied.size && in_place.size < copied.size + 4096 + 26);
    // Both are the same tar stream, byte for byte: GNU tar lists and extracts the same.
    let tar_of = |p: &std::path::Path| {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(p).unwrap())
            .read_to_end(&mut out)
            .unwrap();
        out
    };
    assert!(tar_of(&in_place.path) == tar_of(&copied.path));
    let listing = tool(a.path(), "tar", &["-tzf", ARCHIVE]);
    let names: Vec<&str> = listing.lines().collect();
    assert_eq!(names.len(), 123);
    assert_eq!(names[0], MANIFEST_NAME);
    assert_eq!(names[1], GLOBALS_MEMBER);
    assert_eq!(names[122], "config/after.json");
    let out = tempfile::tempdir().unwrap();
    tool(
        out.path(),
        "tar",
        &["-xzf", in_place.path.to_str().unwrap()],
    );
    let got = std::fs::read(out.path().join("storage/b/dir 5/obj-5.bin")).unwrap();
    assert!(got == fragment_body(5));
    assert_eq!(read_manifest(&in_place.path).unwrap().members.len(), 122);
}

#[test]
fn a_small_fragment_is_copied() {
    let dir = tempfile::tempdir().unwrap();
    let w = with_fragment(dir.path(), 3, false);
    assert_eq!(
        padding_members(&std::fs::read(&w.path).unwrap()),
        Vec::<usize>::new()
    );
    assert!(
        verify(&w.path, &quiet(), &CancellationToken::new())
            .unwrap()
            .ok
    );
}

/// Writes an archive with an 8 MiB spool (`fragment`: an 8 MiB fragment, finished in
/// place); `cancel_at` decides from progress when to cancel.
fn finish_with(dir: &std::path::Path, cancel_at: CancelAt) -> crate::Error {
    finish_with_fragment(dir, cancel_at, false)
}

fn finish_with_fragment(
    dir: &std::path::Path,
    cancel_at: CancelAt,
    fragment: bool,
) -> crate::Error {
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let sink = move |u: &ProgressUpdate| {
        if cancel_at(u) {
            token.cancel();
        }
    };
    let reporter = Reporter::with_interval(Arc::new(sink), "t", Duration::ZERO);
    let mut w = ArchiveWriter::create(dir, ARCHIVE, 1).unwrap();
    if fragment {
        let mut f = w.fragment("2026-11-23T10:00:00Z").unwrap();
        for i in 0..64 {
            let body = data(128 * 1024, i + 1);
            f.append_bytes(&format!("storage/b/{i}"), &body, &sha(&body))
                .unwrap();
        }
        w.add_fragment(f.finish().unwrap());
    } else {
        let mut spool = w.spool(DATABASE_MEMBER).unwrap();
        spool.write_all(&data(8 << 20, 5)).unwrap();
        w.add_spooled(spool.finish().unwrap());
    }
    w.add_bytes(GLOBALS_MEMBER, b"x".to_vec());
    w.finish(manifest(), &reporter, &cancel).unwrap_err()
}

#[test]
fn cancel_mid_finish_leaves_nothing() {
    let cases: [(&str, CancelAt); 3] = [
        ("at once", Box::new(|_| true)),
        (
            "while packing",
            Box::new(|u| u.phase == Phase::Packing && u.bytes_done > (2 << 20)),
        ),
        ("while syncing", Box::new(|u| u.phase == Phase::Syncing)),
    ];
    for (when, cancel_at) in cases {
        let dir = tempfile::tempdir().unwrap();
        let e = finish_with(dir.path(), cancel_at);
        assert_eq!(e.kind(), ErrorKind::Cancelled, "{when}: {e}");
        assert_eq!(names_in(dir.path()), Vec::<String>::new(), "{when}");
    }
}

#[test]
fn cancel_while_a_fragment_is_finished_in_place_leaves_nothing() {
    let cases: [(&str, CancelAt); 3] = [
        ("at once", Box::new(|_| true)),
        (
            // The head (a few KiB) is in front of the fragment by then: its bytes are
            // being hashed.
            "while hashing the fragment",
            Box::new(|u| u.phase == Phase::Packing && u.bytes_done > (2 << 20)),
        ),
        ("while syncing", Box::new(|u| u.phase == Phase::Syncing)),
    ];
    for (when, cancel_at) in cases {
        let dir = tempfile::tempdir().unwrap();
        let e = finish_with_fragment(dir.path(), cancel_at, true);
        assert_eq!(e.kind(), ErrorKind::Cancelled, "{when}: {e}");
        assert_eq!(names_in(dir.path()), Vec::<String>::new(), "{when}");
    }
    // A late failure (the sidecar's name is taken) removes the archive made in place.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(format!("{ARCHIVE}.sha256"))).unwrap();
    let e = finish_with_fragment(dir.path(), Box::new(|_| false), true);
    assert_ne!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert_eq!(names_in(dir.path()), vec![format!("{ARCHIVE}.sha256")]);
}

#[test]
fn late_failure_removes_the_archive() {
    // The sidecar cannot be renamed over a folder: the archive was already in place.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(format!("{ARCHIVE}.sha256"))).unwrap();
    let e = finish_with(dir.path(), Box::new(|_| false));
    assert_ne!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert_eq!(names_in(dir.path()), vec![format!("{ARCHIVE}.sha256")]);
    assert!(dir.path().join(format!("{ARCHIVE}.sha256")).is_dir());
}

#[test]
fn dropped_writers_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = tempfile::tempdir().unwrap();
    let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
    let mut done = w.spool("a.dump").unwrap();
    done.write_all(&data(3 << 20, 3)).unwrap();
    w.add_spooled(done.finish().unwrap());
    let mut half = w.spool(DATABASE_MEMBER).unwrap();
    half.write_all(&data(3 << 20, 4)).unwrap();
    w.add_file("f", &put(inputs.path(), "f", b"abc")).unwrap();
    assert!(names_in(dir.path())
        .iter()
        .all(|n| n.starts_with(TMP_PREFIX)));
    assert_eq!(names_in(dir.path()).len(), 2, "two spools");
    drop(half);
    drop(w);
    assert_eq!(names_in(dir.path()), Vec::<String>::new());
}

#[test]
fn existing_archive_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), ARCHIVE, b"precious");
    let e = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);

    // Appears between create and finish.
    let other = format!("other_{ARCHIVE}");
    let mut w = ArchiveWriter::create(dir.path(), &other, 6).unwrap();
    w.add_bytes("a", b"a".to_vec());
    put(dir.path(), &other, b"precious too");
    let e = w
        .finish(manifest(), &quiet(), &CancellationToken::new())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(
        std::fs::read(dir.path().join(&other)).unwrap(),
        b"precious too"
    );
    assert_eq!(names_in(dir.path()), vec![other, ARCHIVE.to_string()]);

    let missing = dir.path().join("nope");
    assert_eq!(
        ArchiveWriter::create(&missing, ARCHIVE, 6)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        ArchiveWriter::create(dir.path(), "a/b.tar.gz", 6)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        ArchiveWriter::create(dir.path(), "b.tar.gz", 10)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn a_file_changed_after_add_file_fails_finish() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = tempfile::tempdir().unwrap();
    let f = put(inputs.path(), "obj", &data(100_000, 9));
    let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
    w.add_file("storage/b/obj", &f).unwrap();
    let mut changed = data(100_000, 9);
    changed[50_000] ^= 1;
    std::fs::write(&f, &changed).unwrap();
    let e = w
        .finish(manifest(), &quiet(), &CancellationToken::new())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.message().contains("storage/b/obj"), "{e}");
    assert_eq!(names_in(dir.path()), Vec::<String>::new());
}

#[test]
fn invalid_member_names_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = tempfile::tempdir().unwrap();
    let f = put(inputs.path(), "f", b"x");
    let w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
    assert_eq!(w.spool("../x").unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(
        w.spool(MANIFEST_NAME).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let mut w = w;
    assert_eq!(
        w.add_file("/etc/x", &f).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    for bad in [
        vec!["a/../b"],
        vec!["ok", "ok"],
        vec![MANIFEST_NAME],
        vec!["a\\b"],
    ] {
        let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
        for name in &bad {
            w.add_bytes(name, b"x".to_vec());
        }
        let e = w
            .finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
    assert_eq!(names_in(dir.path()), Vec::<String>::new());
}
