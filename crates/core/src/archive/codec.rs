//! The archive's compression, told by its first bytes, never by the file name: gzip members
//! (`1f 8b`, RFC 1952) or zstd frames (`28 b5 2f fd`, RFC 8878), a zstd stream possibly opening
//! with a skippable frame (`5? 2a 4d 18`, magic 0x184D2A50..=0x184D2A5F: the padding of an
//! archive finished in place), which `zstd -d` and GNU tar skip as our reader does.
//!
//! Hostile input: gzip's window is 32 KiB by its format; a zstd frame may ask for a window of
//! up to 2 GiB (3.75 TiB in theory), so the decoder refuses frames whose window exceeds
//! [`MAX_WINDOW_LOG`] (8 MiB; Offsite's frames hold 1 MiB of input each and need at most that).
//! A bomb's declared content size costs nothing by itself: output is streamed and every member
//! is bounded by the tar reader as for gzip. A truncated or damaged frame is a read error (the
//! readers' `integrity`), never a panic.

use std::io::{self, BufRead, Read};

/// Largest zstd window a reader accepts (2^23 = 8 MiB).
pub const MAX_WINDOW_LOG: u32 = 23;

/// The first bytes of a gzip member.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The first bytes of a zstd frame (0xFD2FB528, little-endian).
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A compression an archive's bytes can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Zstd,
}

/// Whether `b` starts a skippable zstd frame (magic 0x184D2A50..=0x184D2A5F, little-endian).
pub fn is_skippable(b: &[u8]) -> bool {
    b.len() >= 4 && b[0] & 0xf0 == 0x50 && b[1..4] == [0x2a, 0x4d, 0x18]
}

/// The compression `head` (a file's first bytes) starts with; `None` when neither.
pub fn sniff(head: &[u8]) -> Option<Codec> {
    if head.starts_with(&GZIP_MAGIC) {
        Some(Codec::Gzip)
    } else if head.starts_with(&ZSTD_MAGIC) || is_skippable(head) {
        Some(Codec::Zstd)
    } else {
        None
    }
}

/// A decompressing reader for either codec, chosen at the first read by the first bytes
/// (without consuming them): anything that is not zstd goes to the gzip decoder, whose error
/// then says the stream is not gzip, as before zstd existed. A failing first read is the
/// reader's error, and the choice waits for the next one. [`Decompress::into_inner`] gives the
/// source back.
pub enum Decompress<R: BufRead> {
    Pending(Option<R>),
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, R>>),
}

impl<R: BufRead> Decompress<R> {
    pub fn new(src: R) -> Self {
        Decompress::Pending(Some(src))
    }

    /// A decoder of `codec` whatever the first bytes are (a stream continued from the middle,
    /// whose damage must be reported as that codec's decoder reports it).
    pub fn with_codec(src: R, codec: Codec) -> Self {
        match codec {
            Codec::Gzip => Decompress::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(src))),
            Codec::Zstd => {
                let mut d = match zstd::stream::read::Decoder::with_buffer(src) {
                    Ok(d) => d,
                    // Only when zstd cannot allocate its context: nothing else to do.
                    Err(e) => panic!("creating a zstd decoder: {e}"),
                };
                // Setting a parameter in range does not fail.
                let _ = d.window_log_max(MAX_WINDOW_LOG);
                Decompress::Zstd(Box::new(d))
            }
        }
    }

    /// The codec, once the first read has chosen it.
    pub fn codec(&self) -> Option<Codec> {
        match self {
            Decompress::Pending(_) => None,
            Decompress::Gzip(_) => Some(Codec::Gzip),
            Decompress::Zstd(_) => Some(Codec::Zstd),
        }
    }

    /// The underlying reader (what was read ahead stays read).
    pub fn into_inner(self) -> R {
        match self {
            Decompress::Pending(src) => src.expect("a source until chosen"),
            Decompress::Gzip(g) => g.into_inner(),
            Decompress::Zstd(z) => z.finish(),
        }
    }

    fn choose(&mut self) -> io::Result<()> {
        let Decompress::Pending(slot) = self else {
            return Ok(());
        };
        let mut src = slot.take().expect("a source until chosen");
        let zstd = match src.fill_buf() {
            Ok(head) => sniff(head) == Some(Codec::Zstd),
            Err(e) => {
                *slot = Some(src);
                return Err(e);
            }
        };
        *self = if zstd {
            let mut d = zstd::stream::read::Decoder::with_buffer(src)?;
            d.window_log_max(MAX_WINDOW_LOG)?;
            Decompress::Zstd(Box::new(d))
        } else {
            Decompress::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(src)))
        };
        Ok(())
    }
}

impl<R: BufRead> Read for Decompress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.choose()?;
        match self {
            Decompress::Pending(_) => unreachable!("chosen above"),
            Decompress::Gzip(g) => g.read(buf),
            Decompress::Zstd(z) => z.read(buf),
        }
    }
}

/// A decompressing reader over `src`, whichever the codec (see [`Decompress`]).
pub fn decompress<R: BufRead>(src: R) -> Decompress<R> {
    Decompress::new(src)
}

/// One independent zstd frame of `data` (its content size in the header, a checksum at the
/// end), as the archive's writer makes one per 1 MiB of tar stream.
pub fn zstd_frame(data: &[u8], level: i32) -> io::Result<Vec<u8>> {
    let mut c = zstd::bulk::Compressor::new(level)?;
    c.include_checksum(true)?;
    c.include_contentsize(true)?;
    c.compress(data)
}

/// A skippable zstd frame of exactly `len` bytes (≥ 8: magic and length, then zeros): the
/// padding an in-place finish leaves at the head of a zstd archive.
pub fn skippable_frame(len: usize) -> Option<Vec<u8>> {
    let body = u32::try_from(len.checked_sub(8)?).ok()?;
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
    f.extend_from_slice(&body.to_le_bytes());
    f.resize(len, 0);
    Some(f)
}

/// `input` compressed as independent zstd frames of `chunk` bytes each, on every core
/// (`threads` at once), in order.
pub fn zstd_frames(input: &[u8], chunk: usize, level: i32, threads: usize) -> io::Result<Vec<u8>> {
    let pieces: Vec<&[u8]> = input.chunks(chunk.max(1)).collect();
    let mut out: Vec<io::Result<Vec<u8>>> = Vec::with_capacity(pieces.len());
    for group in pieces.chunks(threads.max(1)) {
        let done: Vec<io::Result<Vec<u8>>> = std::thread::scope(|s| {
            let handles: Vec<_> = group
                .iter()
                .map(|p| s.spawn(move || zstd_frame(p, level)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(io::Error::other("panicked")))
                })
                .collect()
        });
        out.extend(done);
    }
    let mut all = Vec::new();
    for f in out {
        all.extend_from_slice(&f?);
    }
    Ok(all)
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "codec_interop_tests.rs"]
mod interop_tests;
