//! Random access into zstd streams as the writer lays them out, and hostile frames.

use super::super::seekgz::SeekGz;
use crate::archive::codec::{skippable_frame, zstd_frame};
use crate::archive::pargz::ParGz;
use crate::archive::Compression;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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

/// `data` through the zstd writer, with a spool (its own frames, copied verbatim) and a
/// skippable padding frame in the middle, like an archive finished in place.
fn zstd_stream(data: &[u8]) -> Vec<u8> {
    let mut z = ParGz::with(Vec::new(), Compression::Zstd(3));
    let (a, rest) = data.split_at(data.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    z.write_all(a).unwrap();
    let mut spool = ParGz::with(Vec::new(), Compression::Zstd(1));
    spool.write_all(b).unwrap();
    let spool = spool.finish().unwrap();
    let len = spool.len();
    z.write_raw(spool, len).unwrap();
    let pad = skippable_frame(4000).unwrap();
    z.write_raw(pad, 4000).unwrap();
    z.write_all(c).unwrap();
    z.finish().unwrap()
}

/// Counts the bytes read from the underlying stream.
struct Counted {
    inner: Cursor<Vec<u8>>,
    read: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Seek for Counted {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.inner.seek(to)
    }
}

fn read_at<R: Read + Seek>(r: &mut SeekGz<R>, at: u64, n: usize) -> io::Result<Vec<u8>> {
    r.seek(SeekFrom::Start(at))?;
    let mut out = vec![0u8; n];
    r.read_exact(&mut out)?;
    Ok(out)
}

#[test]
fn zstd_frames_declare_their_size_and_seeks_hop_to_the_right_bytes() {
    let src = data(9 << 20);
    let stream = zstd_stream(&src);
    // One plain zstd stream for the zstd library.
    assert_eq!(zstd::stream::decode_all(&stream[..]).unwrap(), src);
    let read = Arc::new(AtomicU64::new(0));
    let counted = Counted {
        inner: Cursor::new(stream.clone()),
        read: read.clone(),
    };
    let mut r = SeekGz::new(counted).unwrap();
    let end = (9 << 20) - 10;
    assert_eq!(read_at(&mut r, end, 10).unwrap(), &src[end as usize..]);
    // Reaching the last bytes hopped over every frame (9 MiB: 9+ frames) and read a fraction
    // of the stream: block headers and the last frame, not everything in front of it.
    assert!(r.hops() >= 8, "hops: {}", r.hops());
    let first = read.load(Ordering::Relaxed);
    assert!(
        first * 4 < stream.len() as u64,
        "read {first} of {} bytes to reach the end",
        stream.len()
    );
    for at in [123u64, 5_000_001, 3 << 20, 8 << 20, 0] {
        assert_eq!(
            read_at(&mut r, at, 10).unwrap(),
            &src[at as usize..at as usize + 10],
            "at {at}"
        );
    }
    // Across frame boundaries, the spool and the padding.
    r.seek(SeekFrom::Start(1_000_000)).unwrap();
    let mut long = vec![0u8; 6 << 20];
    r.read_exact(&mut long).unwrap();
    assert_eq!(long, &src[1_000_000..1_000_000 + (6 << 20)]);
    assert!(read_at(&mut r, 10 << 20, 1).is_err());
}

#[test]
fn frames_without_a_content_size_are_read_in_order() {
    let src = data(3 << 20);
    // Two frames without a content size (a foreign stream): hopping stops at the first,
    // reading still works (in order).
    let (a, b) = src.split_at(1 << 20);
    let stream = [unsized_frame(a), unsized_frame(b)].concat();
    let mut r = SeekGz::new(Cursor::new(stream)).unwrap();
    assert_eq!(
        read_at(&mut r, 5 << 19, 100).unwrap(),
        &src[5 << 19..(5 << 19) + 100]
    );
    assert_eq!(r.hops(), 0);
}

/// One zstd frame of `data` without its content size in the header.
pub(crate) fn unsized_frame(data: &[u8]) -> Vec<u8> {
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.include_contentsize(false).unwrap();
    std::io::Write::write_all(&mut e, data).unwrap();
    let f = e.finish().unwrap();
    assert_eq!(f[4] & 0xe0, 0, "a frame without a content size");
    f
}

/// One frame of `data`, as the writer makes it.
fn frame(data: &[u8]) -> Vec<u8> {
    zstd_frame(data, 3).unwrap()
}

#[test]
fn hostile_frames_are_errors_never_panics_or_huge_allocations() {
    let src = data(2 << 20);
    let (a, b) = src.split_at(1 << 20);
    let (fa, fb) = (frame(a), frame(b));
    let whole = [fa.clone(), fb.clone()].concat();
    let expect_err = |bytes: Vec<u8>, at: u64, what: &str| {
        let mut r = SeekGz::new(Cursor::new(bytes)).unwrap();
        let got = read_at(&mut r, at, 1000);
        assert!(got.is_err(), "{what}: read succeeded");
        let e = got.unwrap_err();
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ),
            "{what}: {e:?}"
        );
    };

    // A first frame that declares a huge content size (8-byte field: 2^62): the hop over it
    // lands far past the data, then the decoder finds the lie.
    let mut huge = fa.clone();
    let fhd = huge[4];
    assert_eq!(fhd >> 6, 2, "a 1 MiB frame has a 4-byte content size");
    // Rewrite the header with an 8-byte content size.
    let single = fhd & 0x20 != 0;
    let fcs_at = 5 + usize::from(!single);
    let mut h = huge[..fcs_at].to_vec();
    h[4] = (fhd & 0x3f) | 0xc0;
    h.extend_from_slice(&(1u64 << 62).to_le_bytes());
    h.extend_from_slice(&huge[fcs_at + 4..]);
    huge = h;
    expect_err(
        [huge.clone(), fb.clone()].concat(),
        1 << 20,
        "huge size, hop",
    );
    let mut r = SeekGz::new(Cursor::new([huge, fb.clone()].concat())).unwrap();
    let mut sink = Vec::new();
    let e = r
        .seek(SeekFrom::Start(10))
        .and_then(|_| r.read_to_end(&mut sink))
        .expect_err("huge size, read: accepted");
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e:?}");
    assert!(
        sink.len() <= 2 << 20,
        "{} bytes out of a lying frame",
        sink.len()
    );

    // The last frame cut short, at several places.
    for cut in [1usize, 3, 100, fb.len() / 2, fb.len() - 1] {
        let mut t = whole.clone();
        t.truncate(whole.len() - cut);
        expect_err(t, (1 << 20) + 10, &format!("truncated by {cut}"));
    }

    // A wrong checksum (the last 4 bytes of the second frame).
    let mut bad = whole.clone();
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    let mut r = SeekGz::new(Cursor::new(bad)).unwrap();
    r.seek(SeekFrom::Start(1 << 20)).unwrap();
    let mut all = Vec::new();
    let e = r
        .read_to_end(&mut all)
        .expect_err("a bad checksum went unnoticed");
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e:?}");

    // A block size beyond the format's maximum, and a reserved block type.
    // The first block header: after magic, descriptor, window byte (unless single-segment)
    // and the 4-byte content size.
    let body_at = 5 + usize::from(fa[4] & 0x20 == 0) + 4;
    for (what, patch) in [
        ("oversized block", [0xf8u8, 0xff, 0xff]),
        ("reserved block type", [0x06u8, 0x00, 0x00]),
    ] {
        let mut t = whole.clone();
        t[body_at..body_at + 3].copy_from_slice(&patch);
        expect_err(t, (1 << 20) + 10, what);
    }

    // A skippable frame that runs past the end.
    let mut s = skippable_frame(16).unwrap();
    s[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    expect_err([fa, s].concat(), (1 << 20) + 10, "skippable past the end");
}
