//! Decompressing an archive's stream on every core: the readers' (verify, extraction) sibling of
//! `pargz`.
//!
//! The writer's gzip members say their length (subfield `OS`, see `seekgz`) and its zstd frames
//! are walked block by block (see `seekzst`), so (on machines with cores to spare, see
//! [`worker_count`]) the calling thread cuts the compressed stream into whole members as it
//! reads it (a copy, no inflating), worker threads decompress up to [`in_flight`] members at
//! once, and the output is handed out in order. The file's SHA-256 is still computed as it is
//! read, by the pipeline's file thread, beside the workers.
//!
//! Results and errors are those of the sequential decoder ([`Decompress`]), byte for byte: at
//! the first member that cannot be cut (no size: an imported foreign `.tar.gz`; a zstd frame
//! without a content size; anything malformed, truncated or too large) or that a worker fails
//! to decompress exactly (damage, a bad checksum, a length that lies), the members from there
//! on, still held compressed, and the rest of the stream go to a sequential decoder of the same
//! codec, which finds whatever the sequential path always found. Memory stays bounded: a member
//! is parallelized only when it is at most [`MAX_PIECE`] compressed and declares at most
//! [`MAX_PIECE`] of output, and at most [`in_flight`] are on their way.

use super::codec::{
    is_skippable, sniff, Codec, Decompress, GZIP_MAGIC, MAX_WINDOW_LOG, ZSTD_MAGIC,
};
use super::seekgz::{read_header, EMPTY_BODY};
use std::collections::BTreeMap;
use std::io::{self, BufRead, Chain, Cursor, Read};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The largest member (compressed, and declared uncompressed) decompressed by a worker: the
/// writer's hold 1 MiB of input (a little more compressed when it does not shrink). With
/// [`in_flight`] that bounds what is held to 2 × 2 MiB per worker, whatever the archive says.
const MAX_PIECE: u64 = 2 << 20;

/// The sequential decoder's source: the members read ahead (still compressed), then the rest.
type Rest<R> = Chain<Cursor<Vec<u8>>, R>;

/// One member, compressed, with what it declares it holds.
struct Piece {
    seq: u64,
    bytes: Vec<u8>,
    /// Declared uncompressed length.
    out: u64,
}

/// A member decompressed (or not: `None`), with its compressed bytes back.
type Done = (Piece, Option<Vec<u8>>);

/// A decompressing reader over `src` (see the module docs).
pub(crate) struct ParDecompress<R: BufRead> {
    mode: Mode<R>,
}

enum Mode<R: BufRead> {
    Parallel(Box<Par<R>>),
    Sequential(Box<Decompress<Rest<R>>>),
    /// The first read of the source failed: its error, said at the first read (a reader such
    /// as the pipeline's says an error once and then ends, so it must not be dropped here).
    Failed(Option<io::Error>, R),
    /// Only while switching.
    Gone,
}

struct Par<R> {
    src: R,
    codec: Codec,
    jobs: Option<SyncSender<Piece>>,
    results: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    /// Sequence number of the next member cut, and of the next one handed out.
    next_cut: u64,
    next_out: u64,
    /// Results that came before their turn.
    early: BTreeMap<u64, Done>,
    /// The member being handed out, and how far.
    cur: Vec<u8>,
    pos: usize,
    /// The source ended cleanly at a member boundary.
    ended: bool,
    /// A member could not be cut: its bytes read so far (the sequential decoder takes over there).
    stuck: Option<Vec<u8>>,
}

/// Members on their way at most (each up to a few MiB compressed plus its output).
fn in_flight(workers: usize) -> u64 {
    2 * workers as u64
}

/// Decompression threads for `codec` on `cores` cores. Measured in release on 2 cores (1.29 GiB
/// of data, docs/benchmarks.md "Verify on 2 cores"):
/// - gzip: inflating on the calling thread (1.43 of the pipeline's 2.15 CPU-s per GiB) bounds
///   the pipeline; with 2 workers verify is 1.28× as fast, so 2 from 2 cores, then the cores
///   beyond the file and hash threads, at most 4.
/// - zstd: the calling thread is nearly balanced with the hash thread already; 2 workers (one
///   context each) were 5–10 % faster on a quiet machine and 4 % slower beside one busy process,
///   for a few % more CPU: none below 4 cores, then the cores beyond two, at most 4.
pub(super) fn worker_count(codec: Codec, cores: usize) -> usize {
    match codec {
        Codec::Gzip if cores >= 2 => cores.saturating_sub(2).clamp(2, 4),
        Codec::Zstd if cores >= 4 => (cores - 2).min(4),
        _ => 0,
    }
}

impl<R: BufRead> ParDecompress<R> {
    pub fn new(mut src: R) -> Self {
        let codec = match src.fill_buf().map(sniff) {
            Ok(codec) => codec,
            Err(e) => {
                // A decoder below that refuses its input ("corrupt deflate stream") found
                // damage, as the decoders here say it.
                let e = match e.kind() {
                    io::ErrorKind::InvalidInput => {
                        io::Error::new(io::ErrorKind::InvalidData, e.to_string())
                    }
                    _ => e,
                };
                return ParDecompress {
                    mode: Mode::Failed(Some(e), src),
                };
            }
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // The crate's own tests always use 2 workers, so every reader test runs the parallel path.
        let n = match codec {
            Some(_) if cfg!(test) => 2,
            Some(c) => worker_count(c, cores),
            None => 0,
        };
        let (Some(codec), true) = (codec, n > 0) else {
            // Not ours to cut (or a failing first read), or no core to spare: the sequential
            // decoder, which also says what the stream is when it is neither codec.
            return ParDecompress {
                mode: Mode::Sequential(Box::new(Decompress::new(
                    Cursor::new(Vec::new()).chain(src),
                ))),
            };
        };
        let (jobs_tx, jobs_rx) = sync_channel::<Piece>(n);
        let (done_tx, done_rx) = channel::<Done>();
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let workers = (0..n)
            .map(|_| {
                let (rx, tx) = (jobs_rx.clone(), done_tx.clone());
                std::thread::spawn(move || worker(rx, tx, codec))
            })
            .collect();
        ParDecompress {
            mode: Mode::Parallel(Box::new(Par {
                src,
                codec,
                jobs: Some(jobs_tx),
                results: done_rx,
                workers,
                next_cut: 0,
                next_out: 0,
                early: BTreeMap::new(),
                cur: Vec::new(),
                pos: 0,
                ended: false,
                stuck: None,
            })),
        }
    }

    /// Whether every member so far was decompressed by the workers (for tests).
    #[cfg(test)]
    pub fn parallel(&self) -> bool {
        matches!(self.mode, Mode::Parallel(_))
    }

    /// The source (what was read ahead stays read).
    pub fn into_inner(mut self) -> R {
        match std::mem::replace(&mut self.mode, Mode::Gone) {
            Mode::Parallel(p) => (*p).shutdown(),
            Mode::Sequential(d) => d.into_inner().into_inner().1,
            Mode::Failed(_, src) => src,
            Mode::Gone => unreachable!("never left gone"),
        }
    }

    /// From the member `failed` (or the one that could not be cut) on, sequentially.
    fn fall_back(&mut self, failed: Option<Piece>) {
        let Mode::Parallel(mut p) = std::mem::replace(&mut self.mode, Mode::Gone) else {
            unreachable!("falling back from parallel");
        };
        let mut held = Vec::new();
        if let Some(f) = failed {
            held.extend_from_slice(&f.bytes);
        }
        // Every member cut after it, in order, then the one that could not be cut.
        while p.next_out < p.next_cut {
            let (piece, _) = p.take_next();
            held.extend_from_slice(&piece.bytes);
        }
        if let Some(stuck) = p.stuck.take() {
            held.extend_from_slice(&stuck);
        }
        let codec = p.codec;
        let src = (*p).shutdown();
        self.mode = Mode::Sequential(Box::new(Decompress::with_codec(
            Cursor::new(held).chain(src),
            codec,
        )));
    }
}

impl<R: BufRead> Par<R> {
    /// The result of member `next_out` (waiting for it), which moves on to the next.
    fn take_next(&mut self) -> Done {
        let done = loop {
            if let Some(d) = self.early.remove(&self.next_out) {
                break d;
            }
            match self.results.recv() {
                Ok(d) if d.0.seq == self.next_out => break d,
                Ok(d) => {
                    self.early.insert(d.0.seq, d);
                }
                // A worker died (it cannot: it only decompresses into memory): nothing to say.
                Err(_) => {
                    let piece = Piece {
                        seq: self.next_out,
                        bytes: Vec::new(),
                        out: 0,
                    };
                    break (piece, None);
                }
            }
        };
        self.next_out += 1;
        done
    }

    /// Cuts members and hands them to the workers until enough are on their way, the source
    /// ends, or a member cannot be cut.
    fn feed(&mut self) -> io::Result<()> {
        let limit = in_flight(self.workers.len());
        while !self.ended && self.stuck.is_none() && self.next_cut - self.next_out < limit {
            let (bytes, out, whole) = cut(&mut self.src, self.codec)?;
            if !whole {
                if bytes.is_empty() && self.src.fill_buf()?.is_empty() {
                    self.ended = true;
                } else {
                    self.stuck = Some(bytes);
                }
                break;
            }
            let piece = Piece {
                seq: self.next_cut,
                bytes,
                out,
            };
            self.next_cut += 1;
            let sent = self.jobs.as_ref().is_some_and(|j| j.send(piece).is_ok());
            if !sent {
                return Err(io::Error::other("a decompression thread stopped"));
            }
        }
        Ok(())
    }

    /// Stops the workers; the source.
    fn shutdown(mut self) -> R {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        self.src
    }
}

impl<R: BufRead> Read for ParDecompress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let p = match &mut self.mode {
                Mode::Sequential(d) => return d.read(buf),
                Mode::Failed(e, _) => {
                    return Err(e
                        .take()
                        .unwrap_or_else(|| io::Error::other("the decompressor already failed")))
                }
                Mode::Gone => return Err(io::Error::other("the decompressor already failed")),
                Mode::Parallel(p) => p,
            };
            if p.pos < p.cur.len() {
                let n = buf.len().min(p.cur.len() - p.pos);
                buf[..n].copy_from_slice(&p.cur[p.pos..p.pos + n]);
                p.pos += n;
                return Ok(n);
            }
            p.feed()?;
            if p.next_out == p.next_cut {
                if p.stuck.is_none() {
                    return Ok(0); // the end, at a member boundary
                }
                self.fall_back(None);
                continue;
            }
            match p.take_next() {
                (_, Some(out)) => {
                    p.cur = out;
                    p.pos = 0;
                }
                (piece, None) => self.fall_back(Some(piece)),
            }
        }
    }
}

impl<R: BufRead> Drop for ParDecompress<R> {
    fn drop(&mut self) {
        if let Mode::Parallel(p) = &mut self.mode {
            p.jobs = None; // the workers exit once their job is done
        }
    }
}

fn worker(jobs: Arc<Mutex<Receiver<Piece>>>, done: std::sync::mpsc::Sender<Done>, codec: Codec) {
    // One zstd context per worker, reused for every frame (a new streaming decoder per 1 MiB
    // frame cost 60 % more CPU than the sequential decoder: its context, its buffers, a copy).
    let mut zstd = match codec {
        Codec::Zstd => zstd_context(),
        Codec::Gzip => None,
    };
    loop {
        let job = jobs.lock().unwrap().recv();
        let Ok(piece) = job else { return };
        let out = decompress_one(&piece, codec, zstd.as_mut());
        if done.send((piece, out)).is_err() {
            return;
        }
    }
}

/// A zstd decompression context limited like the sequential decoder's (`None`: zstd could not
/// allocate one, and every frame goes to the sequential decoder).
fn zstd_context() -> Option<zstd::bulk::Decompressor<'static>> {
    let mut d = zstd::bulk::Decompressor::new().ok()?;
    d.window_log_max(MAX_WINDOW_LOG).ok()?;
    Some(d)
}

/// The member's bytes, when it decompresses exactly to what it declares with nothing left over
/// (checksums checked by the decoders); `None` for anything else.
fn decompress_one(
    piece: &Piece,
    codec: Codec,
    zstd: Option<&mut zstd::bulk::Decompressor<'static>>,
) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(piece.out as usize);
    match codec {
        Codec::Gzip => {
            let mut d = flate2::bufread::GzDecoder::new(&piece.bytes[..]);
            (&mut d).take(piece.out + 1).read_to_end(&mut out).ok()?;
            if !d.into_inner().is_empty() {
                return None;
            }
        }
        Codec::Zstd if is_skippable(&piece.bytes) => {}
        Codec::Zstd => {
            // The cut member is exactly one frame; decoded in one call into `out`, which holds
            // what it declares and not a byte more (more is an error), its checksum checked.
            zstd?
                .decompress_to_buffer(&piece.bytes[..], &mut out)
                .ok()?;
        }
    }
    (out.len() as u64 == piece.out).then_some(out)
}

/// Records what is read through it.
struct Recording<'a, R> {
    src: &'a mut R,
    bytes: Vec<u8>,
}

impl<R: BufRead> Read for Recording<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Recording<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.src.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        let avail = self.src.fill_buf().expect("consuming what was filled");
        self.bytes.extend_from_slice(&avail[..n]);
        self.src.consume(n);
    }
}

/// Reads `n` more bytes into the recording; false when the stream ends first.
fn take_exact<R: BufRead>(r: &mut Recording<'_, R>, n: u64) -> io::Result<bool> {
    let want = r.bytes.len() as u64 + n;
    while (r.bytes.len() as u64) < want {
        let left = want - r.bytes.len() as u64;
        let avail = r.fill_buf()?.len() as u64;
        if avail == 0 {
            return Ok(false);
        }
        r.consume(avail.min(left) as usize);
    }
    Ok(true)
}

/// Cuts the next member off `src`: (its bytes, its declared output, whether it is whole and
/// ours to decompress). Not whole: the bytes read so far (nothing at a clean end).
fn cut<R: BufRead>(src: &mut R, codec: Codec) -> io::Result<(Vec<u8>, u64, bool)> {
    let mut r = Recording {
        src,
        bytes: Vec::new(),
    };
    let head = r.fill_buf()?;
    let whole = match codec {
        Codec::Gzip if head.starts_with(&GZIP_MAGIC) => cut_gzip(&mut r)?,
        Codec::Zstd if head.starts_with(&ZSTD_MAGIC) => cut_zstd(&mut r)?,
        Codec::Zstd if head.len() >= 8 && is_skippable(head) => {
            let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as u64;
            (len + 8 <= MAX_PIECE && take_exact(&mut r, len + 8)?).then_some(0)
        }
        _ => None,
    };
    Ok(match whole {
        Some(out) => (r.bytes, out, true),
        None => (r.bytes, 0, false),
    })
}

fn cut_gzip<R: BufRead>(r: &mut Recording<'_, R>) -> io::Result<Option<u64>> {
    let Ok(header) = read_header(r) else {
        return Ok(None);
    };
    match header.size {
        Some(size) if size >= header.len + 10 && size <= MAX_PIECE => {
            if !take_exact(r, size - header.len)? {
                return Ok(None);
            }
            let b = &r.bytes;
            let isize = u32::from_le_bytes([
                b[b.len() - 4],
                b[b.len() - 3],
                b[b.len() - 2],
                b[b.len() - 1],
            ]);
            Ok((u64::from(isize) <= MAX_PIECE).then_some(u64::from(isize)))
        }
        Some(_) => Ok(None),
        None => {
            if !take_exact(r, 10)? {
                return Ok(None);
            }
            Ok((r.bytes[r.bytes.len() - 10..] == EMPTY_BODY).then_some(0))
        }
    }
}

fn cut_zstd<R: BufRead>(r: &mut Recording<'_, R>) -> io::Result<Option<u64>> {
    if !take_exact(r, 5)? {
        return Ok(None);
    }
    let fhd = r.bytes[4];
    let single = fhd & 0x20 != 0;
    let dict = [0u64, 1, 2, 4][(fhd & 3) as usize];
    let fcs = match fhd >> 6 {
        0 if single => 1,
        0 => return Ok(None), // no content size
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let fcs_at = 5 + u64::from(!single) + dict;
    if fhd & 0x08 != 0 || !take_exact(r, fcs_at - 5 + fcs)? {
        return Ok(None);
    }
    let mut raw = [0u8; 8];
    raw[..fcs as usize].copy_from_slice(&r.bytes[fcs_at as usize..]);
    let out = u64::from_le_bytes(raw) + if fcs == 2 { 256 } else { 0 };
    if out > MAX_PIECE {
        return Ok(None);
    }
    loop {
        if !take_exact(r, 3)? {
            return Ok(None);
        }
        let b = &r.bytes[r.bytes.len() - 3..];
        let h = u32::from_le_bytes([b[0], b[1], b[2], 0]);
        let size = u64::from(h >> 3);
        let body = match (h >> 1) & 3 {
            0 | 2 => size,
            1 => 1,
            _ => return Ok(None),
        };
        if size > 128 * 1024 || r.bytes.len() as u64 + body > MAX_PIECE || !take_exact(r, body)? {
            return Ok(None);
        }
        if h & 1 != 0 {
            break;
        }
    }
    if fhd & 0x04 != 0 && !take_exact(r, 4)? {
        return Ok(None);
    }
    Ok(Some(out))
}

#[cfg(test)]
#[path = "pardec_tests.rs"]
mod tests;

#[cfg(test)]
mod failed_first_read {
    use super::ParDecompress;
    use std::io::{self, BufRead, Read};

    /// A source that fails its first read once and then ends, as the pipeline's reader does.
    struct FailsOnce(bool);
    impl Read for FailsOnce {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            unreachable!()
        }
    }
    impl BufRead for FailsOnce {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            if std::mem::replace(&mut self.0, false) {
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "decryption failed",
                ))
            } else {
                Ok(&[])
            }
        }
        fn consume(&mut self, _: usize) {}
    }

    #[test]
    fn a_failing_first_read_is_said_not_taken_for_the_end() {
        let mut d = ParDecompress::new(FailsOnce(true));
        let e = d.read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("decryption failed"), "{e}");
    }
}
