//! Hopping over one zstd frame (RFC 8878) without decompressing it: `seekgz`'s zstd sibling.
//!
//! A frame is a header (magic, descriptor, optional window byte, dictionary id and content
//! size), blocks (each with a 3-byte header: last-block flag, type, size) and an optional 4-byte
//! checksum. The frame's compressed length is the sum of those; its uncompressed length is the
//! declared content size, which the writer always records (`pargz`). A skippable frame
//! (0x184D2A5?, the in-place padding) is its 8-byte header plus the length it declares, and
//! holds no data.
//!
//! Hostile input: every length is checked against the end of the file before it is used, a
//! block is at most 128 KiB (the format's maximum), offsets only grow, and nothing is allocated
//! by a declared size. A content size that lies is found by the decoder (libzstd checks the
//! decoded length against it and each frame's checksum), never trusted to read other bytes.

use super::codec::{is_skippable, ZSTD_MAGIC};
use std::io::{self, Read, Seek, SeekFrom};

/// The largest block the format allows (RFC 8878 §3.1.1.2.4).
const MAX_BLOCK: u64 = 128 * 1024;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// The compressed and uncompressed length of the frame starting at `at` (a stream of `len`
/// bytes); `None` when the frame does not declare its content size (hopping stops there and the
/// stream is decompressed in order from the frame before).
pub(crate) fn next_frame<R: Read + Seek>(
    src: &mut R,
    at: u64,
    len: u64,
) -> io::Result<Option<(u64, u64)>> {
    let left = len.saturating_sub(at);
    let mut magic = [0u8; 8];
    let n = read_upto(src, at, &mut magic)?;
    if is_skippable(&magic[..n]) {
        if n < 8 {
            return Err(invalid(format!(
                "a skippable zstd frame at offset {at} is cut off"
            )));
        }
        let size = 8 + u64::from(u32::from_le_bytes([magic[4], magic[5], magic[6], magic[7]]));
        if size > left {
            return Err(invalid(format!(
                "a skippable zstd frame at offset {at} runs past the end of the archive"
            )));
        }
        return Ok(Some((size, 0)));
    }
    if !magic[..n].starts_with(&ZSTD_MAGIC) {
        return Err(invalid(format!(
            "no gzip member or zstd frame starts at offset {at}"
        )));
    }
    let mut head = [0u8; 18]; // magic, descriptor, window, dictionary id (4), content size (8)
    let got = read_upto(src, at, &mut head)?;
    let cut = || invalid(format!("the zstd frame header at offset {at} is cut off"));
    let fhd = *head.get(4).ok_or_else(cut)?;
    if fhd & 0x08 != 0 {
        return Err(invalid(format!(
            "the zstd frame at offset {at} has a reserved bit set"
        )));
    }
    let single_segment = fhd & 0x20 != 0;
    let checksum = fhd & 0x04 != 0;
    let dict_len = [0usize, 1, 2, 4][(fhd & 3) as usize];
    let fcs_len = match fhd >> 6 {
        0 if single_segment => 1,
        0 => 0,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let fcs_at = 5 + usize::from(!single_segment) + dict_len;
    let header_len = fcs_at + fcs_len;
    if got < header_len {
        return Err(cut());
    }
    if fcs_len == 0 {
        return Ok(None);
    }
    let mut raw = [0u8; 8];
    raw[..fcs_len].copy_from_slice(&head[fcs_at..header_len]);
    let mut content = u64::from_le_bytes(raw);
    if fcs_len == 2 {
        content += 256;
    }
    let mut off = header_len as u64;
    loop {
        if off + 3 > left {
            return Err(invalid(format!(
                "the zstd frame at offset {at} is cut off (a block header is missing)"
            )));
        }
        let mut bh = [0u8; 4];
        read_upto(src, at + off, &mut bh[..3])?;
        let b = u32::from_le_bytes(bh);
        let last = b & 1 != 0;
        let size = u64::from(b >> 3);
        let body = match (b >> 1) & 3 {
            0 | 2 => size, // raw, compressed
            1 => 1,        // RLE: one byte repeated `size` times
            _ => {
                return Err(invalid(format!(
                    "the zstd frame at offset {at} has a block of the reserved type"
                )))
            }
        };
        if size > MAX_BLOCK {
            return Err(invalid(format!(
                "the zstd frame at offset {at} has a block larger than 128 KiB"
            )));
        }
        off += 3 + body;
        if last {
            break;
        }
    }
    if checksum {
        off += 4;
    }
    if off > left {
        return Err(invalid(format!(
            "the zstd frame at offset {at} is cut off (it runs past the end of the archive)"
        )));
    }
    Ok(Some((off, content)))
}

/// Reads up to `buf.len()` bytes at `at` (fewer only at the end of the stream).
fn read_upto<R: Read + Seek>(src: &mut R, at: u64, buf: &mut [u8]) -> io::Result<usize> {
    src.seek(SeekFrom::Start(at))?;
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
#[path = "seekzst_tests.rs"]
pub(crate) mod tests;
