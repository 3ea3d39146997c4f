use super::*;

fn sample(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + i / 977) % 251) as u8).collect()
}

fn read_all(src: &[u8]) -> io::Result<(Codec, Vec<u8>)> {
    let mut d = decompress(io::BufReader::new(src));
    assert_eq!(d.codec(), None, "chosen at the first read");
    let mut out = Vec::new();
    d.read_to_end(&mut out)?;
    Ok((d.codec().expect("chosen"), out))
}

#[test]
fn the_codec_is_told_by_magic_bytes() {
    assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Some(Codec::Gzip));
    assert_eq!(sniff(&ZSTD_MAGIC), Some(Codec::Zstd));
    for m in 0x50..=0x5f {
        assert_eq!(sniff(&[m, 0x2a, 0x4d, 0x18]), Some(Codec::Zstd), "{m:x}");
    }
    assert_eq!(sniff(&[0x60, 0x2a, 0x4d, 0x18]), None);
    assert_eq!(sniff(b"ustar"), None);
    assert_eq!(sniff(&[]), None);
}

#[test]
fn independent_frames_with_skippable_padding_read_as_one_stream() {
    let data = sample(3 * 1024 * 1024 + 12345);
    let frames = zstd_frames(&data, 1 << 20, 3, 2).unwrap();
    let mut padded = skippable_frame(4096).unwrap();
    assert_eq!(padded.len(), 4096);
    padded.extend_from_slice(&frames);
    for stream in [&frames, &padded] {
        let (codec, out) = read_all(stream).unwrap();
        assert_eq!(codec, Codec::Zstd);
        assert!(out == data, "round trip");
    }
    // Each frame alone decodes to its 1 MiB (random access and parallel decompression).
    let first = zstd::stream::decode_all(&frames[..]).unwrap();
    assert!(first == data);
    assert!(skippable_frame(7).is_none());
}

#[test]
fn the_zstd_binary_reads_our_frames_and_padding() {
    let data = sample(2 * 1024 * 1024);
    let mut stream = skippable_frame(512).unwrap();
    stream.extend_from_slice(&zstd_frames(&data, 1 << 20, 3, 2).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.zst");
    std::fs::write(&p, &stream).unwrap();
    let out = std::process::Command::new("zstd")
        .arg("-dc")
        .arg(&p)
        .output()
        .expect("the zstd binary (.ci/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == data);
}

#[test]
fn gzip_still_reads() {
    use std::io::Write;
    let data = sample(100_000);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&data).unwrap();
    let gz = gz.finish().unwrap();
    let (codec, out) = read_all(&gz).unwrap();
    assert_eq!(codec, Codec::Gzip);
    assert!(out == data);
}

#[test]
fn a_huge_window_is_refused_and_a_truncated_frame_is_an_error() {
    use zstd::stream::raw::CParameter;
    // A frame that asks for a 128 MiB window (no content size: the window descriptor stays).
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    enc.set_parameter(CParameter::WindowLog(27)).unwrap();
    enc.include_contentsize(false).unwrap();
    io::Write::write_all(&mut enc, &sample(4 << 20)).unwrap();
    let bomb = enc.finish().unwrap();
    let e = read_all(&bomb).unwrap_err();
    assert!(!e.to_string().is_empty());
    // A whole frame of ours, cut anywhere: an error, never a panic or a short success.
    let data = sample(300_000);
    let frame = zstd_frame(&data, 3).unwrap();
    for cut in [5, 13, frame.len() / 2, frame.len() - 1] {
        assert!(read_all(&frame[..cut]).is_err(), "cut at {cut}");
    }
    // A byte flipped in the body: the checksum (or the decoder) says so.
    let mut bad = frame.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    assert!(read_all(&bad).map(|(_, o)| o != data).unwrap_or(true));
}
