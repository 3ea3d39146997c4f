//! The parallel decompressor gives what the sequential one gives: the same bytes, and on damage
//! the same bytes before the same error.

use super::*;
use crate::archive::codec::skippable_frame;
use crate::archive::inplace::padding_member;
use crate::archive::pargz::ParGz;
use crate::archive::Compression;

/// Compressible but position-dependent bytes.
fn data(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    let mut i = 0u64;
    while v.len() < len {
        v.extend_from_slice(format!("row {i:09} {}\n", i % 89).as_bytes());
        i += 1;
    }
    v.truncate(len);
    v
}

/// `data` as the writer lays it out: blocks, a spool copied verbatim, the in-place padding.
fn stream(data: &[u8], c: Compression) -> Vec<u8> {
    let mut w = ParGz::with(Vec::new(), c);
    let (a, rest) = data.split_at(data.len() / 3);
    let (b, tail) = rest.split_at(rest.len() / 2);
    w.write_all(a).unwrap();
    let mut spool = ParGz::with(Vec::new(), c);
    spool.write_all(b).unwrap();
    let spool = spool.finish().unwrap();
    let n = spool.len();
    w.write_raw(spool, n).unwrap();
    let pad = match c {
        Compression::Gzip(_) => padding_member(600),
        Compression::Zstd(_) => skippable_frame(600).unwrap(),
    };
    w.write_raw(pad, 600).unwrap();
    w.write_all(tail).unwrap();
    w.finish().unwrap()
}

/// What a reader gives until its first error: (bytes, the error's text).
fn drain(mut r: impl Read) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 100_000];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return (out, None),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (out, Some(format!("{:?}: {e}", e.kind()))),
        }
    }
}

#[test]
fn members_are_decompressed_in_parallel_and_in_order() {
    let src = data(7 << 20);
    for c in [Compression::Gzip(6), Compression::Zstd(3)] {
        let s = stream(&src, c);
        let mut d = ParDecompress::new(&s[..]);
        let (got, err) = drain(&mut d);
        assert_eq!(err, None, "{c}");
        assert!(got == src, "{c}: output differs");
        // Every member, the spool's and the padding included, was cut and decompressed by
        // the workers.
        assert!(d.parallel(), "{c}: fell back to the sequential decoder");
    }
}

#[test]
fn foreign_streams_are_read_sequentially_as_before() {
    let src = data(3 << 20);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    std::io::Write::write_all(&mut e, &src).unwrap();
    let gz = e.finish().unwrap();
    let zst = crate::archive::seekzst::tests::unsized_frame(&src);
    for s in [gz, zst] {
        let mut d = ParDecompress::new(&s[..]);
        let (got, err) = drain(&mut d);
        assert_eq!(err, None);
        assert!(got == src);
        assert!(!d.parallel());
    }
}

#[test]
fn damage_gives_the_sequential_decoders_bytes_and_error() {
    let src = data(5 << 20);
    for c in [Compression::Gzip(6), Compression::Zstd(3)] {
        let good = stream(&src, c);
        let n = good.len();
        let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
        for at in [n / 5, n / 2, n - 5, n - 1, 2, 20] {
            let mut b = good.clone();
            b[at] ^= 0x5a;
            cases.push((format!("byte {at} flipped"), b));
        }
        for cut in [1, 7, n / 3, n / 2 + 11] {
            cases.push((format!("cut by {cut}"), good[..n - cut].to_vec()));
        }
        let mut garbage = good.clone();
        garbage.extend_from_slice(b"trailing garbage");
        cases.push(("trailing garbage".into(), garbage));
        for (what, bytes) in cases {
            let seq = drain(Decompress::new(&bytes[..]));
            let par = drain(ParDecompress::new(&bytes[..]));
            assert_eq!(par.1, seq.1, "{c}, {what}: errors differ");
            assert!(
                par.0 == seq.0,
                "{c}, {what}: {} bytes before the error, sequentially {}",
                par.0.len(),
                seq.0.len()
            );
        }
    }
}

#[test]
fn workers_per_codec_and_cores() {
    // gzip: inflating bounds the pipeline even on 2 cores; zstd: only from 4 (see worker_count).
    assert_eq!(worker_count(Codec::Gzip, 1), 0);
    assert_eq!(worker_count(Codec::Gzip, 2), 2);
    assert_eq!(worker_count(Codec::Gzip, 3), 2);
    assert_eq!(worker_count(Codec::Gzip, 5), 3);
    assert_eq!(worker_count(Codec::Gzip, 64), 4);
    assert_eq!(worker_count(Codec::Zstd, 2), 0);
    assert_eq!(worker_count(Codec::Zstd, 3), 0);
    assert_eq!(worker_count(Codec::Zstd, 4), 2);
    assert_eq!(worker_count(Codec::Zstd, 64), 4);
}
