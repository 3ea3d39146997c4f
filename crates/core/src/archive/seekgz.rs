//! Random access into a stream of concatenated gzip members (an archive's bytes).
//!
//! Every member `pargz` writes carries, in its header's extra field (RFC 1952 §2.3.1.1), one
//! subfield `OS` ("Offsite size": LEN 4, the member's whole compressed length, u32 LE), the way
//! htslib's BGZF records its block sizes. GNU gzip, GNU tar and every other reader skip extra
//! fields. With it a reader hops from member to member reading only each header and its
//! 8-byte trailer (ISIZE: the member's uncompressed length), and starts inflating at the member
//! that holds the wanted byte: reaching the middle of a 1 GB archive costs a few hundred small
//! reads and at most one member (1 MiB) inflated in vain.
//!
//! A member without the subfield (an archive written before it, an imported foreign `.tar.gz`)
//! stops the hopping: from there the stream is inflated in order (the old cost, never more). An
//! empty member (the in-place writer's padding) is recognized by its fixed 10-byte body.
//!
//! zstd (see `seekzst`): every frame the writer makes declares its content size, and a frame's
//! compressed length is the sum of its blocks' (each block header gives its size), so the same
//! hopping works frame by frame, reading a 3-byte header per block (128 KiB of data at most);
//! skippable frames (the in-place padding) say their length. A frame without a content size
//! stops the hopping as a gzip member without a size does.
//!
//! Hostile input is bounded: a size field must leave room for a header and a trailer and end
//! inside the file, offsets only ever grow (no loop), header fields are read with caps, and
//! whatever is inflated goes through flate2's decoder, which checks each member's CRC-32 and
//! length, so a lying ISIZE or size field is found as damage, never as other bytes.

use super::codec::{Codec, Decompress, GZIP_MAGIC};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

/// The extra subfield of a member's header that holds the member's compressed length.
pub(crate) const SIZE_ID: [u8; 2] = *b"OS";

/// Forward distances up to this are inflated through instead of hopping.
const NEAR: u64 = 4 << 20;

/// Longest file name or comment accepted in a member header.
const MAX_HEADER_TEXT: usize = 64 * 1024;

/// Where a member starts: its first compressed byte and its first uncompressed byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Start {
    comp: u64,
    data: u64,
}

enum State<R: Read> {
    Idle(R),
    Reading(Box<Decompress<BufReader<R>>>),
    Failed,
}

/// A seekable view of the uncompressed bytes of a gzip stream (see the module docs). `seek`
/// only supports [`SeekFrom::Start`] and [`SeekFrom::Current`] (the uncompressed length is not
/// known without reading everything).
pub(crate) struct SeekGz<R: Read + Seek> {
    state: State<R>,
    /// Compressed length of the stream.
    len: u64,
    /// Members whose start is known, in order; the first starts at 0.
    known: Vec<Start>,
    /// No more members can be found by hopping (the end, or a member without a size).
    done: bool,
    /// Uncompressed position of the next byte [`Read::read`] returns.
    pos: u64,
    /// Members hopped over (for tests and the benchmark).
    hops: u64,
    /// The codec of the first member looked at.
    codec: Option<Codec>,
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// What a member's header says.
pub(super) struct Header {
    /// Header length (up to the deflate data).
    pub(super) len: u64,
    /// The `OS` subfield: the whole member's length.
    pub(super) size: Option<u64>,
}

/// Reads a member header at the reader's position, with every field capped.
pub(super) fn read_header(r: &mut impl BufRead) -> io::Result<Header> {
    let mut fixed = [0u8; 10];
    r.read_exact(&mut fixed)?;
    if fixed[0] != 0x1f || fixed[1] != 0x8b || fixed[2] != 8 {
        return Err(invalid("not a gzip member where one should start"));
    }
    let flags = fixed[3];
    if flags & 0xe0 != 0 {
        return Err(invalid("a gzip member header has reserved flags set"));
    }
    let mut len = 10u64;
    let mut size = None;
    if flags & 0x04 != 0 {
        let mut x = [0u8; 2];
        r.read_exact(&mut x)?;
        let xlen = u16::from_le_bytes(x) as usize;
        let mut extra = vec![0u8; xlen];
        r.read_exact(&mut extra)?;
        len += 2 + xlen as u64;
        size = size_subfield(&extra)?;
    }
    for flag in [0x08u8, 0x10] {
        if flags & flag != 0 {
            let mut text = Vec::new();
            let n = r
                .take(MAX_HEADER_TEXT as u64 + 1)
                .read_until(0, &mut text)?;
            if text.last() != Some(&0) {
                return Err(invalid(if n > MAX_HEADER_TEXT {
                    "a gzip member's name or comment is too long"
                } else {
                    "a gzip member header is cut off"
                }));
            }
            len += n as u64;
        }
    }
    if flags & 0x02 != 0 {
        let mut crc = [0u8; 2];
        r.read_exact(&mut crc)?;
        len += 2;
    }
    Ok(Header { len, size })
}

/// The value of the `OS` subfield among the subfields of an extra field, if there is one.
fn size_subfield(mut extra: &[u8]) -> io::Result<Option<u64>> {
    let mut found = None;
    while !extra.is_empty() {
        if extra.len() < 4 {
            return Err(invalid("a gzip member's extra field is malformed"));
        }
        let n = u16::from_le_bytes([extra[2], extra[3]]) as usize;
        let Some(data) = extra.get(4..4 + n) else {
            return Err(invalid("a gzip member's extra subfield overruns the field"));
        };
        if extra[..2] == SIZE_ID {
            if n != 4 {
                return Err(invalid("a gzip member's size subfield is malformed"));
            }
            found = Some(u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as u64);
        }
        extra = &extra[4 + n..];
    }
    Ok(found)
}

/// The body of an empty member: a final fixed-Huffman block holding only end-of-block, CRC-32
/// and ISIZE of nothing.
pub(super) const EMPTY_BODY: [u8; 10] = [0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// The start after a member or frame of `comp_len` compressed and `data_len` uncompressed
/// bytes starting at `at` (a declared length that overflows is damage).
fn advance(at: Start, comp_len: u64, data_len: u64) -> io::Result<Start> {
    match (at.comp.checked_add(comp_len), at.data.checked_add(data_len)) {
        (Some(comp), Some(data)) => Ok(Start { comp, data }),
        _ => Err(invalid(format!(
            "the compressed piece at offset {} declares an impossible size",
            at.comp
        ))),
    }
}

impl<R: Read + Seek> SeekGz<R> {
    /// Over `inner` (positioned anywhere; its length is found by seeking to its end).
    pub fn new(mut inner: R) -> io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        Ok(SeekGz {
            state: State::Idle(inner),
            len,
            known: vec![Start { comp: 0, data: 0 }],
            done: len == 0,
            pos: 0,
            hops: 0,
            codec: None,
        })
    }

    /// Members hopped over so far.
    #[cfg(test)]
    pub fn hops(&self) -> u64 {
        self.hops
    }

    /// The current uncompressed position.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn take_inner(&mut self) -> io::Result<R> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Idle(r) => Ok(r),
            State::Reading(d) => Ok(d.into_inner().into_inner()),
            State::Failed => Err(io::Error::other("the archive reader already failed")),
        }
    }

    /// Where the member after the one starting at `at` starts, when its header says so (or it
    /// is empty); `None` when it has no size (hopping stops there).
    fn next_start(&mut self, src: &mut R, at: Start) -> io::Result<Option<Start>> {
        src.seek(SeekFrom::Start(at.comp))?;
        let mut head = BufReader::with_capacity(4096, &mut *src);
        let codec = if head.fill_buf()?.starts_with(&GZIP_MAGIC) {
            Codec::Gzip
        } else {
            Codec::Zstd
        };
        // One archive, one codec (the decoders of the other paths see to that too).
        if *self.codec.get_or_insert(codec) != codec {
            return Err(invalid(format!(
                "gzip members and zstd frames are mixed (offset {})",
                at.comp
            )));
        }
        if codec == Codec::Zstd {
            drop(head);
            let next = super::seekzst::next_frame(src, at.comp, self.len)?;
            return next
                .map(|(comp_len, data_len)| advance(at, comp_len, data_len))
                .transpose();
        }
        let header = read_header(&mut head)?;
        let (comp_len, data_len) = match header.size {
            Some(size) => {
                if size < header.len + 2 + 8 || size > self.len - at.comp {
                    return Err(invalid(format!(
                        "a gzip member's size field ({size} bytes at offset {}) is out of bounds",
                        at.comp
                    )));
                }
                drop(head);
                src.seek(SeekFrom::Start(at.comp + size - 4))?;
                let mut isize = [0u8; 4];
                src.read_exact(&mut isize)?;
                (size, u32::from_le_bytes(isize) as u64)
            }
            None => {
                let mut body = [0u8; 10];
                match head.read_exact(&mut body) {
                    Ok(()) if body == EMPTY_BODY => (header.len + 10, 0),
                    Ok(()) => return Ok(None),
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        };
        advance(at, comp_len, data_len).map(Some)
    }

    /// Learns member starts until one begins after `target` (or hopping cannot go on).
    fn discover(&mut self, src: &mut R, target: u64) -> io::Result<()> {
        while !self.done {
            let last = *self.known.last().expect("the first member is always known");
            if last.data > target {
                break;
            }
            match self.next_start(src, last)? {
                Some(next) if next.comp == self.len => self.done = true,
                Some(next) => {
                    self.hops += 1;
                    self.known.push(next);
                }
                None => self.done = true,
            }
        }
        Ok(())
    }

    /// Moves to uncompressed offset `target`.
    fn seek_to(&mut self, target: u64) -> io::Result<()> {
        if let State::Reading(_) = self.state {
            if target >= self.pos && target - self.pos <= NEAR {
                return self.discard(target - self.pos);
            }
        }
        let mut src = self.take_inner()?;
        self.discover(&mut src, target)?;
        // The last member starting at or before the target.
        let i = self.known.partition_point(|s| s.data <= target).max(1) - 1;
        let start = self.known[i];
        src.seek(SeekFrom::Start(start.comp))?;
        let dec = Decompress::new(BufReader::with_capacity(64 * 1024, src));
        self.state = State::Reading(Box::new(dec));
        self.pos = start.data;
        self.discard(target - start.data)
    }

    /// Reads and drops `n` bytes; the stream ending first is an error.
    fn discard(&mut self, mut n: u64) -> io::Result<()> {
        let mut scratch = vec![0u8; 64 * 1024];
        while n > 0 {
            let want = scratch.len().min(usize::try_from(n).unwrap_or(usize::MAX));
            let got = self.read(&mut scratch[..want])?;
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the archive ends before the offset asked for",
                ));
            }
            n -= got as u64;
        }
        Ok(())
    }
}

impl<R: Read + Seek> Read for SeekGz<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let State::Idle(_) = self.state {
            self.seek_to(self.pos)?;
        }
        let State::Reading(dec) = &mut self.state else {
            return Err(io::Error::other("the archive reader already failed"));
        };
        match dec.read(buf) {
            Ok(n) => {
                self.pos += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.state = State::Failed;
                Err(damage(e, self.codec))
            }
        }
    }
}

/// A zstd decoder's complaint (kind `Other`: a bad checksum, a lying size, a frame asking
/// for too much memory) is damage to the archive, as flate2's `InvalidData` is for gzip.
fn damage(e: io::Error, codec: Option<Codec>) -> io::Error {
    if codec == Some(Codec::Zstd) && e.kind() == io::ErrorKind::Other && e.raw_os_error().is_none()
    {
        invalid(format!("zstd: {e}"))
    } else {
        e
    }
}

impl<R: Read + Seek> Seek for SeekGz<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => n,
            SeekFrom::Current(d) => self
                .pos
                .checked_add_signed(d)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before 0"))?,
            SeekFrom::End(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "the end of a gzip stream is not known without reading it",
                ))
            }
        };
        if let Err(e) = self.seek_to(target) {
            self.state = State::Failed;
            return Err(e);
        }
        Ok(self.pos)
    }
}

#[cfg(test)]
#[path = "seekgz_tests.rs"]
mod tests;
