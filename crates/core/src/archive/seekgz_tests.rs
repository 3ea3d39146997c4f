use super::*;
use crate::archive::pargz::ParGz;
use flate2::bufread::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::{Cursor, Write};

/// Compressible but position-dependent bytes (every offset is recognizable).
fn data(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    let mut i = 0u64;
    while v.len() < len {
        v.extend_from_slice(format!("line {i:09} {}\n", i % 97).as_bytes());
        i += 1;
    }
    v.truncate(len);
    v
}

/// `data` through `pargz`, with a raw (already compressed, sized) piece and an empty padding
/// member in the middle, like an archive holding a spool.
fn pargz_stream(data: &[u8]) -> Vec<u8> {
    let mut gz = ParGz::new(Vec::new(), 6);
    let (a, rest) = data.split_at(data.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    gz.write_all(a).unwrap();
    // A spool: its own ParGz output, copied verbatim.
    let mut spool = ParGz::new(Vec::new(), 1);
    spool.write_all(b).unwrap();
    let spool = spool.finish().unwrap();
    let len = spool.len();
    gz.write_raw(spool, len).unwrap();
    let pad = crate::archive::inplace::padding_member(100);
    let len = pad.len();
    gz.write_raw(pad, len).unwrap();
    gz.write_all(c).unwrap();
    gz.finish().unwrap()
}

fn read_at<R: Read + Seek>(r: &mut SeekGz<R>, at: u64, n: usize) -> io::Result<Vec<u8>> {
    r.seek(SeekFrom::Start(at))?;
    let mut out = vec![0u8; n];
    r.read_exact(&mut out)?;
    Ok(out)
}

#[test]
fn members_carry_their_size_and_seeks_hop_to_the_right_bytes() {
    let src = data(9 << 20);
    let stream = pargz_stream(&src);
    // Still one plain gzip stream.
    let mut all = Vec::new();
    MultiGzDecoder::new(&stream[..])
        .read_to_end(&mut all)
        .unwrap();
    assert_eq!(all, src);
    // Every member's header has the subfield with its own length.
    let mut r = SeekGz::new(Cursor::new(stream.clone())).unwrap();
    for at in [8 << 20, 123, 5_000_001, 3 << 20, (9 << 20) - 10, 0] {
        assert_eq!(
            read_at(&mut r, at, 10).unwrap(),
            &src[at as usize..at as usize + 10],
            "at {at}"
        );
    }
    // It hopped (9 MiB of data is 9+ members) instead of inflating from the start.
    assert!(r.hops() >= 8, "hops: {}", r.hops());
    // Reading on across member boundaries.
    r.seek(SeekFrom::Start(1_000_000)).unwrap();
    let mut long = vec![0u8; 3 << 20];
    r.read_exact(&mut long).unwrap();
    assert_eq!(long, &src[1_000_000..1_000_000 + (3 << 20)]);
    // Past the end: an error, not a hang.
    assert!(read_at(&mut r, 10 << 20, 1).is_err());
}

#[test]
fn gzip_and_gnu_tools_read_members_with_the_size_field() {
    let src = data(3 << 20);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.gz");
    std::fs::write(&p, pargz_stream(&src)).unwrap();
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(&p)
        .output()
        .expect("gzip must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, src);
}

#[test]
fn members_without_the_size_field_are_read_in_order() {
    let src = data(3 << 20);
    let mut stream = Vec::new();
    for part in src.chunks(700_000) {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(part).unwrap();
        stream.extend(e.finish().unwrap());
    }
    let mut r = SeekGz::new(Cursor::new(stream)).unwrap();
    for at in [2_500_000u64, 10, 1_400_000] {
        assert_eq!(
            read_at(&mut r, at, 100).unwrap(),
            &src[at as usize..at as usize + 100]
        );
    }
    assert_eq!(r.hops(), 0);
}

/// The offset of the size value in the first member of `stream` (the writer's layout).
const SIZE_AT: usize = 16;

fn first_member_len(stream: &[u8]) -> usize {
    u32::from_le_bytes(stream[SIZE_AT..SIZE_AT + 4].try_into().unwrap()) as usize
}

#[test]
fn hostile_size_fields_are_errors_not_loops_or_reads_outside() {
    let src = data(3 << 20);
    let good = pargz_stream(&src);
    let far = 2 << 20;
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Damage)> = vec![
        (
            "beyond the file",
            Box::new(|s| s[SIZE_AT..SIZE_AT + 4].copy_from_slice(&u32::MAX.to_le_bytes())),
        ),
        (
            "zero",
            Box::new(|s| s[SIZE_AT..SIZE_AT + 4].copy_from_slice(&0u32.to_le_bytes())),
        ),
        (
            "into the middle of the next member",
            Box::new(|s| {
                let n = first_member_len(s) as u32 + 100;
                s[SIZE_AT..SIZE_AT + 4].copy_from_slice(&n.to_le_bytes())
            }),
        ),
        (
            "a subfield longer than the extra field",
            Box::new(|s| s[14] = 200),
        ),
        (
            "a lying ISIZE",
            Box::new(|s| {
                let end = first_member_len(s);
                s[end - 4..end].copy_from_slice(&(3u32 << 20).to_le_bytes())
            }),
        ),
    ];
    for (what, damage) in cases {
        let mut bad = good.clone();
        damage(&mut bad);
        let mut r = SeekGz::new(Cursor::new(bad)).unwrap();
        let got = read_at(&mut r, far, 10);
        match what {
            // Hopping trusts a size that lands inside another member only as far as it reads
            // a header there: what comes out is the right bytes (inflated in order from an
            // earlier member) or an error, never other bytes.
            "into the middle of the next member" => {
                assert!(
                    got.as_ref()
                        .map_or(true, |b| b[..] == src[far as usize..][..10]),
                    "{what}"
                );
                let end = src.len() as u64 - 10;
                let got = read_at(&mut r, end, 10);
                assert!(
                    got.as_ref().map_or(true, |b| b[..] == src[end as usize..]),
                    "{what}"
                );
                continue;
            }
            "a lying ISIZE" => {
                got.expect_err(what);
            }
            _ => assert_eq!(
                got.expect_err(what).kind(),
                io::ErrorKind::InvalidData,
                "{what}"
            ),
        }
        // A failed reader stays failed.
        assert!(read_at(&mut r, 0, 1).is_err(), "{what}");
    }
}

#[test]
fn capped_header_text_and_truncation() {
    // A member whose file name never ends.
    let mut m = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 255];
    m.extend(std::iter::repeat_n(b'a', 100_000));
    let mut r = SeekGz::new(Cursor::new(m)).unwrap();
    // Inflating it from the start fails (flate2), and hopping past it does too.
    assert!(read_at(&mut r, 5, 1).is_err());
    let bytes: Vec<u8> = [0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 255]
        .into_iter()
        .chain(std::iter::repeat_n(b'a', 100_000))
        .collect();
    let mut head = BufReader::new(&bytes[..]);
    assert_eq!(
        read_header(&mut head).err().map(|e| e.kind()),
        Some(io::ErrorKind::InvalidData)
    );
    // A stream cut inside a member: an error at the cut.
    let src = data(2 << 20);
    let mut s = pargz_stream(&src);
    s.truncate(s.len() - 1000);
    let mut r = SeekGz::new(Cursor::new(s)).unwrap();
    r.seek(SeekFrom::Start(0)).unwrap();
    let mut all = Vec::new();
    assert!(r.read_to_end(&mut all).is_err());
}
