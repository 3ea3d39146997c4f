//! Parallel gzip (or zstd) writer: input is cut into 1 MiB blocks, each compressed on a worker
//! thread into its own gzip member (or zstd frame), and a writer thread puts them in order into
//! the output.
//!
//! zstd: each block is one independent frame with its content size in the header and a
//! checksum at its end (what `seekgz` hops with and every reader checks). zstd's own
//! multithreading (`ZSTD_c_nbWorkers`) would make one frame of many jobs, which a reader cannot
//! enter in the middle; independent frames cost about 1 % of size at level 3 and let both the
//! writer and the readers (browse, verify) work frame by frame.
//!
//! Concatenated gzip members are one valid gzip file (RFC 1952 §2.2) that `gzip -d`, GNU tar and
//! [`flate2::bufread::MultiGzDecoder`] read as a single stream. Independent 1 MiB blocks cost
//! about 0.2 % of compression ratio and let compression use every core (pigz-style), which
//! matters because deflate at level 6 runs at well under 100 MB/s per core.
//!
//! [`ParGz::write_raw`] passes bytes through verbatim (an already-compressed spool), in order with
//! the compressed blocks. Memory is bounded: channels are bounded, buffers are recycled, and at
//! most [`max_in_flight`] pieces are on their way at once (the writer thread puts pieces in order
//! in memory, so without that bound raw pieces, read from a file far faster than a block
//! compresses, would pile up behind a block still being compressed: 20+ MiB when an archive's
//! multi-megabyte manifest was followed by a fragment's spool).

use super::CHUNK;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// A small stack of reusable 1 MiB buffers, shared by all threads of one [`ParGz`].
#[derive(Clone, Default)]
pub(crate) struct Pool(Arc<Mutex<Vec<Vec<u8>>>>);

impl Pool {
    const MAX: usize = 16;

    /// Room beyond a block for its compressed copy: a block that does not shrink comes out a
    /// little larger (stored deflate blocks, gzip header and trailer). Without it the output
    /// `Vec` doubles to 2 MiB, and the pool keeps those doubled buffers.
    const SLACK: usize = 64 * 1024;

    /// An empty buffer with at least [`CHUNK`] bytes (plus slack) of capacity.
    pub fn take(&self) -> Vec<u8> {
        let mut v = self.0.lock().unwrap().pop().unwrap_or_default();
        v.clear();
        v.reserve(CHUNK + Self::SLACK);
        v
    }

    pub fn give(&self, v: Vec<u8>) {
        let mut stack = self.0.lock().unwrap();
        if stack.len() < Self::MAX {
            stack.push(v);
        }
    }
}

/// What flows to the writer thread, tagged with its position in the output.
type Piece = (u64, Vec<u8>);

/// How far the writer thread got: pieces written, and whether it stopped.
#[derive(Default)]
struct Progress {
    state: Mutex<(u64, bool)>,
    changed: Condvar,
}

impl Progress {
    /// Waits until fewer than `limit` pieces before `seq` are unwritten (or the writer stopped:
    /// sending then fails and reports why).
    fn wait_for_room(&self, seq: u64, limit: u64) {
        let mut st = self.state.lock().unwrap();
        while !st.1 && seq >= st.0 + limit {
            st = self.changed.wait(st).unwrap();
        }
    }

    fn written(&self, count: u64) {
        self.state.lock().unwrap().0 = count;
        self.changed.notify_all();
    }

    #[cfg(test)]
    fn count(&self) -> u64 {
        self.state.lock().unwrap().0
    }
}

/// Marks the writer stopped however it ends (error or panic included).
struct Stopped(Arc<Progress>);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Ok(mut st) = self.0.state.lock() {
            st.1 = true;
        }
        self.0.changed.notify_all();
    }
}

/// Pieces (1 MiB each, plus their compressed copies) on their way at most: one being compressed
/// and one waiting per worker, 4 MiB on 2 cores. Every piece in flight is a megabyte of touched
/// memory, and a pipeline running at full speed (a large `storage.json` or `metadata.json` at
/// the end of a 100,000-object pull) keeps them all in use: with 4 per worker that was 8 MiB
/// more peak RSS for a large bucket than for a small one.
fn max_in_flight(workers: usize) -> u64 {
    2 * workers as u64
}

pub(crate) struct ParGz<W: Write + Send + 'static> {
    pool: Pool,
    /// The block being filled.
    block: Vec<u8>,
    /// Sequence number of the next piece.
    seq: u64,
    jobs: Option<SyncSender<Piece>>,
    out: Option<SyncSender<Piece>>,
    progress: Arc<Progress>,
    /// [`max_in_flight`].
    limit: u64,
    workers: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<io::Result<W>>>,
    /// Set once a thread failed; the error was already returned once.
    dead: bool,
}

/// Number of compression threads: one per core, at most 4.
fn worker_count() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}

/// What the workers make of a block.
#[derive(Clone, Copy)]
enum Mode {
    Gzip(Compression),
    Zstd(i32),
}

impl<W: Write + Send + 'static> ParGz<W> {
    /// gzip members at `level` (0–9).
    #[cfg(test)]
    pub fn new(out: W, level: u32) -> Self {
        Self::with(out, super::Compression::Gzip(level))
    }

    /// Members or frames of the given compression.
    pub fn with(out: W, compression: super::Compression) -> Self {
        let mode = match compression {
            super::Compression::Gzip(level) => Mode::Gzip(Compression::new(level.min(9))),
            super::Compression::Zstd(level) => Mode::Zstd(level),
        };
        let n = worker_count();
        let pool = Pool::default();
        let (jobs_tx, jobs_rx) = sync_channel::<Piece>(n);
        let (out_tx, out_rx) = sync_channel::<Piece>(2 * n);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let workers = (0..n)
            .map(|_| {
                let (rx, tx, pool) = (jobs_rx.clone(), out_tx.clone(), pool.clone());
                std::thread::spawn(move || match mode {
                    Mode::Gzip(level) => compress_worker(rx, tx, pool, level),
                    Mode::Zstd(level) => zstd_worker(rx, tx, pool, level),
                })
            })
            .collect();
        let progress = Arc::new(Progress::default());
        let writer = {
            let (pool, progress) = (pool.clone(), progress.clone());
            std::thread::spawn(move || write_worker(out, out_rx, pool, progress))
        };
        ParGz {
            block: pool.take(),
            pool,
            seq: 0,
            jobs: Some(jobs_tx),
            out: Some(out_tx),
            progress,
            limit: max_in_flight(n),
            workers,
            writer: Some(writer),
            dead: false,
        }
    }

    /// Compresses `data` (buffered into blocks).
    pub fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = (CHUNK - self.block.len()).min(data.len());
            self.block.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.block.len() == CHUNK {
                self.send_block()?;
            }
        }
        Ok(())
    }

    /// Ends the current gzip member: the block filled so far is compressed on its own.
    pub fn end_member(&mut self) -> io::Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        self.send_block()
    }

    /// Writes `buf[..len]` to the output verbatim, after everything written before. Take the
    /// buffer from [`pool`](Self::pool) to avoid allocations.
    pub fn write_raw(&mut self, mut buf: Vec<u8>, len: usize) -> io::Result<()> {
        self.end_member()?;
        buf.truncate(len);
        let seq = self.next_seq();
        let sent = self
            .out
            .as_ref()
            .is_some_and(|tx| tx.send((seq, buf)).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.failure())
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The next piece's sequence number, once there is room for it.
    fn next_seq(&mut self) -> u64 {
        let s = self.seq;
        self.progress.wait_for_room(s, self.limit);
        self.seq += 1;
        s
    }

    /// Pieces sent and not written yet.
    #[cfg(test)]
    fn in_flight(&self) -> u64 {
        self.seq - self.progress.count()
    }

    fn send_block(&mut self) -> io::Result<()> {
        let block = std::mem::replace(&mut self.block, self.pool.take());
        let seq = self.next_seq();
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|tx| tx.send((seq, block)).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.failure())
        }
    }

    /// A thread stopped: stop all of them and return the writer's error (which keeps its OS
    /// error code, so ENOSPC is still recognisable).
    fn failure(&mut self) -> io::Error {
        if self.dead {
            return io::Error::other("the compressed output failed earlier");
        }
        self.dead = true;
        match self.shutdown() {
            Some(Err(e)) => e,
            _ => io::Error::other("a compression thread stopped unexpectedly"),
        }
    }

    /// Closes the channels and joins every thread; the writer's result when it was joined.
    fn shutdown(&mut self) -> Option<io::Result<W>> {
        self.jobs = None;
        self.out = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        self.writer.take().map(|w| {
            w.join()
                .unwrap_or_else(|_| Err(io::Error::other("compression writer panicked")))
        })
    }

    /// Compresses what is left, waits for everything to be written and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.end_member()?;
        match self.shutdown() {
            Some(r) => r,
            None => Err(io::Error::other("the compressed output failed earlier")),
        }
    }
}

impl<W: Write + Send + 'static> Drop for ParGz<W> {
    fn drop(&mut self) {
        // Abandoned (error or cancel): let the threads finish what they hold and exit.
        self.shutdown();
    }
}

fn compress_worker(
    jobs: Arc<Mutex<Receiver<Piece>>>,
    out: SyncSender<Piece>,
    pool: Pool,
    level: Compression,
) {
    loop {
        // Holding the lock only while waiting for the next job; released before compressing.
        let job = jobs.lock().unwrap().recv();
        let Ok((seq, block)) = job else { return };
        let level = if level.level() > 0 && incompressible(&block) {
            Compression::none()
        } else {
            level
        };
        let mut enc = sized_member(pool.take(), level);
        // Writing into a Vec cannot fail.
        let mut compressed = enc
            .write_all(&block)
            .and_then(|_| enc.finish())
            .expect("compressing into memory");
        set_member_size(&mut compressed);
        pool.give(block);
        if out.send((seq, compressed)).is_err() {
            return; // the writer failed
        }
    }
}

/// [`compress_worker`]'s zstd sibling: one frame per block (content size, checksum), made by a
/// compressor each worker keeps (its tables are reused from block to block).
fn zstd_worker(jobs: Arc<Mutex<Receiver<Piece>>>, out: SyncSender<Piece>, pool: Pool, level: i32) {
    let made = zstd::bulk::Compressor::new(level).and_then(|mut c| {
        c.include_checksum(true)?;
        c.include_contentsize(true)?;
        Ok(c)
    });
    // Without a compressor the worker exits; the writer then reports the missing block.
    let Ok(mut comp) = made else { return };
    loop {
        let job = jobs.lock().unwrap().recv();
        let Ok((seq, block)) = job else { return };
        let mut frame = pool.take();
        frame.reserve(zstd::zstd_safe::compress_bound(block.len()));
        if comp.compress_to_buffer(&block, &mut frame).is_err() {
            return;
        }
        pool.give(block);
        if out.send((seq, frame)).is_err() {
            return;
        }
    }
}

/// A gzip member encoder whose header carries the extra subfield `OS` (see
/// [`super::seekgz::SIZE_ID`]) with room for the member's size, filled in by
/// [`set_member_size`] once it is known. A reader hops from member to member with it.
fn sized_member(out: Vec<u8>, level: Compression) -> GzEncoder<Vec<u8>> {
    let mut extra = super::seekgz::SIZE_ID.to_vec();
    extra.extend_from_slice(&4u16.to_le_bytes());
    extra.extend_from_slice(&[0; 4]);
    flate2::GzBuilder::new().extra(extra).write(out, level)
}

/// Writes the whole member's length into the `OS` subfield of a member made by
/// [`sized_member`] (header: 10 bytes, XLEN, then SI1 SI2 LEN and the value at 16..20).
fn set_member_size(member: &mut [u8]) {
    debug_assert_eq!(&member[12..14], &super::seekgz::SIZE_ID);
    let len = u32::try_from(member.len()).expect("a gzip member of a 1 MiB block");
    member[16..20].copy_from_slice(&len.to_le_bytes());
}

/// How much of a block is test-compressed (1/64 of a block: the test costs little next to
/// compressing; text, JSON or SQL shrink well within 16 KiB).
const SAMPLE: usize = 16 * 1024;

/// Whether deflating `block` would not pay: its first 16 KiB shrink by less than 3 % at level 1.
/// Such blocks (already-compressed images, archives, encrypted or random bytes, common in storage
/// buckets) are stored (deflate level 0: a copy plus the CRC) instead of being compressed for
/// nothing — gzip on incompressible data was most of a storage pull's CPU time.
fn incompressible(block: &[u8]) -> bool {
    if block.len() < 4096 {
        return false;
    }
    let sample = &block[..block.len().min(SAMPLE)];
    let mut enc = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(sample.len() + 1024),
        Compression::fast(),
    );
    match enc.write_all(sample).and_then(|_| enc.finish()) {
        Ok(out) => out.len() * 100 >= sample.len() * 97,
        Err(_) => false,
    }
}

fn write_worker<W: Write>(
    mut out: W,
    rx: Receiver<Piece>,
    pool: Pool,
    progress: Arc<Progress>,
) -> io::Result<W> {
    let _stopped = Stopped(progress.clone());
    let mut next = 0u64;
    // At most `max_in_flight` pieces (the producer waits for room).
    let mut pending: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    for (seq, data) in rx {
        pending.insert(seq, data);
        let before = next;
        while let Some(data) = pending.remove(&next) {
            out.write_all(&data)?;
            pool.give(data);
            next += 1;
        }
        if next != before {
            progress.written(next);
        }
    }
    if !pending.is_empty() {
        return Err(io::Error::other(
            "a compression thread stopped before finishing its block",
        ));
    }
    out.flush()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn blocks_and_raw_pieces_come_out_in_order() {
        // 3.5 blocks of text, then a raw (already compressed) piece, then more text.
        let text: Vec<u8> = (0..(CHUNK * 7 / 2))
            .map(|i| b"abcdefghij"[i % 10] ^ (i / 4093) as u8)
            .collect();
        let mut raw = GzEncoder::new(Vec::new(), Compression::new(1));
        raw.write_all(b"RAW PIECE").unwrap();
        let raw = raw.finish().unwrap();

        let mut gz = ParGz::new(Vec::new(), 6);
        gz.write_all(&text).unwrap();
        let mut buf = gz.pool().take();
        buf.extend_from_slice(&raw);
        let len = buf.len();
        gz.write_raw(buf, len).unwrap();
        gz.write_all(b"tail").unwrap();
        let out = gz.finish().unwrap();

        let got = gunzip(&out);
        let mut want = text.clone();
        want.extend_from_slice(b"RAW PIECE");
        want.extend_from_slice(b"tail");
        assert!(got == want, "decompressed output differs");
    }

    /// A slow disk.
    struct Slow(Vec<u8>);
    impl Write for Slow {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            std::thread::sleep(std::time::Duration::from_millis(2));
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The whole of a multi-member gzip stream, decompressed.
    fn gunzip(out: &[u8]) -> Vec<u8> {
        let mut got = Vec::new();
        flate2::bufread::MultiGzDecoder::new(out)
            .read_to_end(&mut got)
            .unwrap();
        got
    }

    #[test]
    fn raw_pieces_do_not_pile_up_behind_a_block_being_compressed() {
        // Blocks to compress (slow at level 9), then raw pieces far faster than the disk.
        let text: Vec<u8> = (0..(CHUNK * 3))
            .map(|i| b"abcdefghij"[i % 10] ^ (i / 4093) as u8)
            .collect();
        let mut gz = ParGz::new(Slow(Vec::new()), 9);
        let limit = gz.limit;
        gz.write_all(&text).unwrap();
        let mut raw = GzEncoder::new(Vec::new(), Compression::new(1));
        raw.write_all(b"RAW").unwrap();
        let raw = raw.finish().unwrap();
        let mut most = 0;
        for _ in 0..64 {
            let mut buf = gz.pool().take();
            buf.extend_from_slice(&raw);
            let len = buf.len();
            gz.write_raw(buf, len).unwrap();
            most = most.max(gz.in_flight());
        }
        assert!(most <= limit, "{most} pieces in flight, limit {limit}");
        let got = gunzip(&gz.finish().unwrap().0);
        let mut want = text;
        for _ in 0..64 {
            want.extend_from_slice(b"RAW");
        }
        assert!(got == want, "decompressed output differs");
    }

    /// A writer that fails like a full disk after some bytes.
    struct Full(usize);
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 < buf.len() {
                return Err(io::Error::from_raw_os_error(28));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writer_error_surfaces_with_its_os_code() {
        let mut gz = ParGz::new(Full(1000), 0);
        let data = vec![1u8; CHUNK];
        let mut err = None;
        for _ in 0..64 {
            if let Err(e) = gz.write_all(&data) {
                err = Some(e);
                break;
            }
        }
        let err = match err {
            Some(e) => e,
            None => gz.finish().err().expect("must fail"),
        };
        assert!(crate::error::is_disk_full(&err), "{err:?}");
    }

    #[test]
    fn incompressible_blocks_are_stored_and_compressible_ones_still_shrink() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let random: Vec<u8> = (0..CHUNK)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let text: Vec<u8> = b"INSERT INTO t VALUES (1, 'hello world');\n"
            .iter()
            .copied()
            .cycle()
            .take(CHUNK)
            .collect();
        // A random 1 KiB block repeated: high byte entropy, yet deflate finds the repeats.
        let repeated: Vec<u8> = random[..1024].iter().copied().cycle().take(CHUNK).collect();
        assert!(incompressible(&random));
        // The stored copy of an incompressible block fits a pool buffer as it is (no doubling).
        let pool = Pool::default();
        let mut enc = GzEncoder::new(pool.take(), Compression::none());
        let cap = enc.get_ref().capacity();
        enc.write_all(&random).unwrap();
        assert_eq!(enc.finish().unwrap().capacity(), cap);
        assert!(!incompressible(&text));
        assert!(!incompressible(&repeated));
        for (data, max_ratio) in [(&random, 1.01), (&text, 0.05), (&repeated, 0.05)] {
            let mut gz = ParGz::new(Vec::new(), 6);
            gz.write_all(data).unwrap();
            let out = gz.finish().unwrap();
            assert!(
                (out.len() as f64) < data.len() as f64 * max_ratio,
                "{} of {}",
                out.len(),
                data.len()
            );
            assert!(gunzip(&out) == *data, "round trip");
        }
    }
}
