use super::super::random_access::ArchiveSeeker;
use super::super::*;
use crate::test_fixtures::*;
use std::io::Read;
use tokio_util::sync::CancellationToken;

/// Entries spliced from pre-compressed spools among ordinary ones, for `compression`: the
/// archive is byte-identical through GNU tar, the archive's own readers (verify, random
/// access), and its manifest lists the right SHA-256.
fn spliced_entries_read_back(compression: Compression, file_name: &str, tar_flags: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let spools = tempfile::tempdir().unwrap();
    let mut w = ArchiveWriter::create_with(dir.path(), file_name, compression).unwrap();
    w.add_bytes("first.txt", b"before".to_vec());
    let m = manifest();
    let mut f = w.fragment(&m.created_at).unwrap();
    assert_eq!(f.compression(), compression);
    // Sizes around the 1 MiB pieces and the 512-byte tar blocks; several written at once.
    let bodies: Vec<(String, Vec<u8>)> = [
        (0usize, 1u64),
        (513, 2),
        (CHUNK, 3),
        (3 * CHUNK + 7, 4),
        (100, 5),
    ]
    .iter()
    .map(|&(len, seed)| (format!("database/{seed}.dat"), data(len, seed)))
    .collect();
    let mut writers: Vec<PrecompressedWriter> = bodies
        .iter()
        .map(|_| f.precompressed(spools.path()).unwrap())
        .collect();
    // Interleaved, in uneven pieces, as files that grow at the same time.
    let mut at = vec![0usize; bodies.len()];
    let mut step = 1usize;
    while at.iter().zip(&bodies).any(|(a, (_, b))| *a < b.len()) {
        for (i, (_, body)) in bodies.iter().enumerate() {
            let n = (step * 7919 % 300_000).min(body.len() - at[i]);
            writers[i].write(&body[at[i]..at[i] + n]).unwrap();
            at[i] += n;
            step += 1;
        }
    }
    f.append_bytes("database/plain.txt", b"between", &sha(b"between"))
        .unwrap();
    for ((name, body), pw) in bodies.iter().zip(writers) {
        assert_eq!(pw.size(), body.len() as u64);
        let done = pw.finish().unwrap();
        assert_eq!(done.size(), body.len() as u64);
        f.append_precompressed(name, done, &sha(body)).unwrap();
    }
    // The spools are gone once spliced.
    assert_eq!(names_in(spools.path()), Vec::<String>::new());
    f.append_bytes("database/toc.dat", b"toc", &sha(b"toc"))
        .unwrap();
    w.add_fragment(f.finish().unwrap());
    let written = w.finish(m, &quiet(), &CancellationToken::new()).unwrap();

    let mut want: Vec<(String, Vec<u8>)> = vec![("first.txt".into(), b"before".to_vec())];
    want.push(("database/plain.txt".into(), b"between".to_vec()));
    want.extend(bodies.iter().cloned());
    want.push(("database/toc.dat".into(), b"toc".to_vec()));

    // The manifest lists every entry, in order, with the SHA-256 of its bytes.
    let read = read_manifest(&written.path).unwrap();
    let listed: Vec<(String, u64, String)> = read
        .members
        .iter()
        .map(|e| (e.name.clone(), e.size, e.sha256.clone()))
        .collect();
    let expected: Vec<(String, u64, String)> = want
        .iter()
        .map(|(n, b)| (n.clone(), b.len() as u64, sha(b)))
        .collect();
    assert!(listed == expected, "{listed:?}");
    let report = verify(&written.path, &quiet(), &CancellationToken::new()).unwrap();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.members.len(), want.len());

    // GNU tar.
    let out = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("tar")
        .args(tar_flags)
        .arg(&written.path)
        .arg("-C")
        .arg(out.path())
        .status()
        .unwrap();
    assert!(st.success());
    for (name, body) in &want {
        assert!(
            std::fs::read(out.path().join(name)).unwrap() == *body,
            "{name} differs"
        );
    }

    // Random access (seekgz / seekzst): whole members and ranges inside them.
    let cancel = CancellationToken::new();
    let mut s = ArchiveSeeker::open(&written.path).unwrap();
    for (name, body) in want.iter().rev() {
        let span = s.find(name, &cancel).unwrap().expect(name);
        assert_eq!(span.size, body.len() as u64, "{name}");
        let mut whole = Vec::new();
        s.member_reader(span.clone())
            .read_to_end(&mut whole)
            .unwrap();
        assert!(whole == *body, "{name} differs");
        if body.len() > 10 {
            let at = body.len() as u64 - 10;
            let mut tail = Vec::new();
            s.read_range(&span, at, 10)
                .unwrap()
                .read_to_end(&mut tail)
                .unwrap();
            assert_eq!(tail, &body[body.len() - 10..], "{name}");
        }
    }
    assert_eq!(
        names_in(dir.path()),
        [file_name.to_string(), format!("{file_name}.sha256")]
    );
}

#[test]
fn entries_spliced_from_gzip_spools_read_back_identical() {
    spliced_entries_read_back(Compression::Gzip(6), ARCHIVE, &["-xzf"]);
}

#[test]
fn entries_spliced_from_zstd_spools_read_back_identical() {
    spliced_entries_read_back(Compression::Zstd(3), "shop.tar.zst", &["--zstd", "-xf"]);
}

#[test]
fn a_spool_of_another_compression_or_size_is_refused_and_nothing_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
    let mut f = w.fragment("").unwrap();
    let mut z = PrecompressedWriter::new(dir.path(), Compression::Zstd(3)).unwrap();
    z.write(b"zstd bytes").unwrap();
    let e = f
        .append_precompressed("a", z.finish().unwrap(), &sha(b"zstd bytes"))
        .unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Internal);
    // An abandoned writer removes its spool.
    let mut p = f.precompressed(dir.path()).unwrap();
    p.write(&data(3 * CHUNK, 9)).unwrap();
    drop(p);
    drop(f);
    drop(w);
    assert_eq!(names_in(dir.path()), Vec::<String>::new());
}
