//! The read pipeline shared by verify, copy_member and extract_all.
//!
//! ```text
//!  file thread                    calling thread                      hash thread
//!  read 1 MiB chunks ──chunks──▶  cut into members, inflated on        SHA-256 of member
//!  SHA-256 of the whole file      worker threads (`pardec`)            contents, per tag
//!  progress (archive bytes)       + tar parse + caller's body ──data──▶
//!                                 ◀──────── recycled buffers ─────────
//! ```
//!
//! A decrypting pipeline puts a [`ReadAhead`] thread in front (read + SHA-256 of the
//! ciphertext), and the file thread decrypts what it gives.
//!
//! Both channels are bounded, so memory stays at a few MiB whatever the archive size, and
//! buffers are recycled instead of reallocated. The members (gzip or zstd) are decompressed on
//! worker threads where that pays (per codec and cores, see `pardec`); the file's SHA-256 is
//! sequential by nature and stays on the file thread.

use super::pardec::ParDecompress;
use super::tarfmt::TarReader;
use super::CHUNK;
use crate::progress::Reporter;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use tokio_util::sync::CancellationToken;

/// A file read ahead by a thread of its own, in [`CHUNK`]s (buffers recycled), hashed and
/// counted there (and reported as progress): the raw stage of a decrypting pipeline, so reading
/// and hashing the ciphertext overlap with decrypting it (on the pipeline's file thread) and with
/// gunzip + tar (on the calling thread). Reads give the file's bytes; the thread's result
/// ([`FileRead`], the hash complete once the whole file was read) comes from
/// [`ReadAheadResult::join`] once this reader is dropped.
pub(crate) struct ReadAhead {
    chunks: ChunkReader,
}

/// The outcome of a [`ReadAhead`]'s thread.
pub(crate) struct ReadAheadResult {
    handle: std::thread::JoinHandle<io::Result<FileRead>>,
}

impl ReadAhead {
    pub fn spawn(
        file: impl Read + Send + 'static,
        hash: bool,
        reporter: Option<Reporter>,
        cancel: CancellationToken,
    ) -> (Self, ReadAheadResult) {
        let (tx, rx) = sync_channel(DEPTH);
        let (free_tx, free_rx) = channel();
        let handle = std::thread::spawn(move || {
            file_thread(file, tx, free_rx, hash, reporter.as_ref(), &cancel)
        });
        (
            ReadAhead {
                chunks: ChunkReader::new(rx, free_tx),
            },
            ReadAheadResult { handle },
        )
    }
}

impl ReadAheadResult {
    /// Waits for the thread: call it only once the [`ReadAhead`] is dropped (its thread stops at
    /// its next send when nobody reads any more).
    pub fn join(self) -> io::Result<FileRead> {
        self.handle
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.chunks.read(out)
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.chunks.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.chunks.consume(n)
    }
}

/// How many chunks may wait in each channel.
const DEPTH: usize = 4;

pub(crate) type FileMsg = io::Result<(Vec<u8>, usize)>;

/// The tar stream the caller's body works on.
pub(crate) type ArchiveStream = TarReader<ParDecompress<ChunkReader>>;

/// A [`BufRead`] over the chunks the file thread sends; hands back used buffers for reuse.
pub(crate) struct ChunkReader {
    rx: Receiver<FileMsg>,
    free: Sender<Vec<u8>>,
    cur: Vec<u8>,
    len: usize,
    pos: usize,
    eof: bool,
}

impl ChunkReader {
    fn new(rx: Receiver<FileMsg>, free: Sender<Vec<u8>>) -> Self {
        ChunkReader {
            rx,
            free,
            cur: Vec::new(),
            len: 0,
            pos: 0,
            eof: false,
        }
    }

    /// Consumes everything the file thread still sends (so it hashes the whole file).
    fn drain(&mut self) {
        while !self.eof {
            self.pos = self.len;
            if self.fill_buf().is_err() {
                break;
            }
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.len && !self.eof {
            if self.cur.capacity() > 0 {
                // The file thread may be gone already; then the buffer is simply freed.
                let _ = self.free.send(std::mem::take(&mut self.cur));
            }
            self.len = 0;
            self.pos = 0;
            match self.rx.recv() {
                Ok(Ok((buf, len))) => {
                    self.cur = buf;
                    self.len = len;
                }
                Ok(Err(e)) => {
                    self.eof = true;
                    return Err(e);
                }
                Err(_) => self.eof = true, // the file thread finished: end of file
            }
        }
        Ok(&self.cur[self.pos..self.len])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.len);
    }
}

/// What the file thread saw.
#[derive(Debug)]
pub(crate) struct FileRead {
    /// Whole-file SHA-256, when asked for and the whole file was read.
    pub sha256: Option<String>,
    /// Bytes of the file read.
    pub bytes: u64,
}

/// The marker error the file thread sends down the channel when cancelled.
fn cancelled_io() -> io::Error {
    io::Error::other("cancelled")
}

/// Reads `file` to its end in [`CHUNK`]s (buffers recycled through `free`) and sends them down
/// `tx`; with `hash`, the SHA-256 of everything read. Stops early, sending the cancel marker, when
/// `cancel` fires, and quietly when nobody listens.
pub(crate) fn file_thread(
    mut file: impl Read,
    tx: SyncSender<FileMsg>,
    free: Receiver<Vec<u8>>,
    hash: bool,
    reporter: Option<&Reporter>,
    cancel: &CancellationToken,
) -> io::Result<FileRead> {
    let mut ctx = hash.then(|| ring::digest::Context::new(&ring::digest::SHA256));
    let mut bytes = 0u64;
    loop {
        if cancel.is_cancelled() {
            let _ = tx.send(Err(cancelled_io()));
            return Err(cancelled_io());
        }
        let mut buf = free.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
        let n = match read_full(&mut file, &mut buf) {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                return Err(e);
            }
        };
        if n == 0 {
            break;
        }
        if let Some(ctx) = ctx.as_mut() {
            ctx.update(&buf[..n]);
        }
        bytes += n as u64;
        if let Some(r) = reporter {
            r.advance(n as u64);
        }
        if tx.send(Ok((buf, n))).is_err() {
            // The consumer stopped early; the whole-file hash is incomplete.
            return Ok(FileRead {
                sha256: None,
                bytes,
            });
        }
        if n < CHUNK {
            break; // read_full only returns a short count at end of file
        }
    }
    Ok(FileRead {
        sha256: ctx.map(|c| hex::encode(c.finish().as_ref())),
        bytes,
    })
}

/// Reads until `buf` is full or end of file.
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

enum HashMsg {
    Data(Vec<u8>, usize),
    /// Ends the current member; its digest is stored under this tag.
    End(usize),
}

/// Feeds member contents to the hash thread. Get a buffer with [`buffer`](Self::buffer), fill
/// it, pass it to [`update`](Self::update); call [`end`](Self::end) after each member.
pub(crate) struct MemberHasher {
    tx: SyncSender<HashMsg>,
    free: Receiver<Vec<u8>>,
}

impl MemberHasher {
    /// A buffer of [`CHUNK`] bytes (recycled when possible).
    pub fn buffer(&self) -> Vec<u8> {
        self.free.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK])
    }
    pub fn update(&self, buf: Vec<u8>, len: usize) {
        let _ = self.tx.send(HashMsg::Data(buf, len));
    }
    pub fn end(&self, tag: usize) {
        let _ = self.tx.send(HashMsg::End(tag));
    }
}

fn hash_thread(rx: Receiver<HashMsg>, free: Sender<Vec<u8>>) -> HashMap<usize, String> {
    let mut out = HashMap::new();
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for msg in rx {
        match msg {
            HashMsg::Data(buf, len) => {
                ctx.update(&buf[..len]);
                let _ = free.send(buf);
            }
            HashMsg::End(tag) => {
                let done =
                    std::mem::replace(&mut ctx, ring::digest::Context::new(&ring::digest::SHA256));
                out.insert(tag, hex::encode(done.finish().as_ref()));
            }
        }
    }
    out
}

pub(crate) struct Outcome<T> {
    pub value: T,
    /// The file thread's result (an error when reading failed or it was cancelled).
    pub file: io::Result<FileRead>,
    /// Member digests by the tags passed to [`MemberHasher::end`].
    pub hashes: HashMap<usize, String>,
}

/// Runs `body` on the calling thread over the archive's tar stream, with the file thread and the
/// hash thread around it. With `whole_file` the file thread hashes the file and, once `body`
/// returns `Ok`, the rest of the file is read anyway so that hash is complete; otherwise reading
/// stops as soon as `body` returns. Progress (archive bytes read) goes to `reporter`.
pub(crate) fn run<T, E>(
    file: File,
    whole_file: bool,
    reporter: Option<&Reporter>,
    cancel: &CancellationToken,
    body: impl FnOnce(&mut ArchiveStream, &MemberHasher) -> Result<T, E>,
) -> Outcome<Result<T, E>> {
    run_reader(file, whole_file, whole_file, reporter, cancel, body)
}

/// [`run`] over any reader of the compressed archive (a decrypting one: the ciphertext's hash
/// and progress are then the caller's, see [`ReadAhead`]): `hash` hashes what the reader gives,
/// `drain` reads it to its end once `body` returns `Ok`.
pub(crate) fn run_reader<T, E>(
    file: impl Read + Send,
    hash: bool,
    drain: bool,
    reporter: Option<&Reporter>,
    cancel: &CancellationToken,
    body: impl FnOnce(&mut ArchiveStream, &MemberHasher) -> Result<T, E>,
) -> Outcome<Result<T, E>> {
    let whole_file = drain;
    std::thread::scope(|s| {
        let (file_tx, file_rx) = sync_channel(DEPTH);
        let (file_free_tx, file_free_rx) = channel();
        let file_handle =
            s.spawn(move || file_thread(file, file_tx, file_free_rx, hash, reporter, cancel));
        let (hash_tx, hash_rx) = sync_channel(DEPTH);
        let (hash_free_tx, hash_free_rx) = channel();
        let hash_handle = s.spawn(move || hash_thread(hash_rx, hash_free_tx));

        let hasher = MemberHasher {
            tx: hash_tx,
            free: hash_free_rx,
        };
        let mut stream =
            TarReader::new(ParDecompress::new(ChunkReader::new(file_rx, file_free_tx)));
        let value = body(&mut stream, &hasher);
        drop(hasher);
        let mut chunks = stream.into_inner().into_inner();
        if whole_file && value.is_ok() {
            chunks.drain();
        }
        drop(chunks); // the file thread stops at its next send

        let file = file_handle
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let hashes = hash_handle
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        Outcome {
            value,
            file,
            hashes,
        }
    })
}
