//! The data blocks of a custom-format archive (`pg_backup_custom.c`: `_readBlockHeader`,
//! `_PrintData`, `_LoadLOs`), decoded as they are read.

use super::source::{damaged, Source, MAX_CHUNK};
use super::{Compression, DumpReader};
use crate::error::{Error, Result};
use flate2::{Decompress, FlushDecompress, Status};
use std::io::{Read, Seek, SeekFrom};

const BLK_DATA: u8 = 1;
const BLK_BLOBS: u8 = 3;
const INFLATE_INPUT: usize = 64 << 10;

/// What a data block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// A TOC entry's data (for TABLE DATA: COPY text, see [`super::CopyRows`]).
    Data,
    /// Large objects: per object an oid ([`DumpReader::next_large_object`]) and its bytes.
    LargeObjects,
}

/// A data block's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockInfo {
    pub kind: BlockKind,
    pub dump_id: i32,
    /// Offset of the block's first byte (its type byte) within the dump.
    pub offset: u64,
}

/// Where the reader is among the blocks.
pub(super) enum State {
    /// Before a block header (or at the end).
    Between,
    /// Inside a data block's chunks.
    Data(Stream),
    /// Inside a blobs block, before an oid.
    LoNext,
    /// Inside one large object's chunks.
    LoData(Stream),
    /// Past the end of the archive.
    End,
}

/// One compressed (or not) stream of chunks.
pub(super) struct Stream {
    /// Bytes left in the current chunk.
    left: u64,
    /// The zero-length chunk was read.
    ended: bool,
    inflate: Option<Inflate>,
}

struct Inflate {
    z: Decompress,
    input: Vec<u8>,
    at: usize,
    len: usize,
    seen_input: bool,
    finished: bool,
}

impl Stream {
    fn new(compression: Compression) -> Self {
        Stream {
            left: 0,
            ended: false,
            inflate: matches!(compression, Compression::Gzip(_)).then(|| Inflate {
                z: Decompress::new(true),
                input: vec![0u8; INFLATE_INPUT],
                at: 0,
                len: 0,
                seen_input: false,
                finished: false,
            }),
        }
    }
}

/// Raw chunk bytes: up to `buf.len()`, 0 at the stream's end.
fn read_raw<R: Read>(src: &mut Source<R>, s: &mut Stream, buf: &mut [u8]) -> Result<usize> {
    while s.left == 0 {
        if s.ended {
            return Ok(0);
        }
        let len = src.int()?;
        if len == 0 {
            s.ended = true;
            return Ok(0);
        }
        if len < 0 || len as u64 > MAX_CHUNK {
            return Err(damaged(format!("a data chunk of {len} bytes")));
        }
        s.left = len as u64;
    }
    let want = buf.len().min(s.left.min(usize::MAX as u64) as usize);
    let n = src
        .read_some(&mut buf[..want])
        .map_err(|e| Error::io("reading the pg_dump archive", e))?;
    if n == 0 && want > 0 {
        return Err(damaged("it ends in the middle of a data block"));
    }
    s.left -= n as u64;
    Ok(n)
}

/// Skip the rest of a stream without decoding it.
fn skip_stream<R: Read>(src: &mut Source<R>, s: &mut Stream) -> Result<()> {
    loop {
        if s.left > 0 {
            src.skip(s.left)?;
            s.left = 0;
        }
        if s.ended {
            return Ok(());
        }
        let mut none = [0u8; 0];
        read_raw(src, s, &mut none)?;
    }
}

/// Decoded bytes: up to `buf.len()`, 0 at the stream's end.
fn read_decoded<R: Read>(src: &mut Source<R>, s: &mut Stream, buf: &mut [u8]) -> Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    let Some(mut z) = s.inflate.take() else {
        return read_raw(src, s, buf);
    };
    let result = inflate_into(src, s, &mut z, buf);
    s.inflate = Some(z);
    result
}

fn inflate_into<R: Read>(
    src: &mut Source<R>,
    s: &mut Stream,
    z: &mut Inflate,
    buf: &mut [u8],
) -> Result<usize> {
    loop {
        if z.finished {
            // Whatever follows the end of the zlib stream is ignored, as pg_restore does.
            skip_stream(src, s)?;
            return Ok(0);
        }
        if z.at == z.len {
            z.at = 0;
            z.len = read_raw(src, s, &mut z.input)?;
            if z.len == 0 {
                if z.seen_input {
                    return Err(damaged("a compressed data block ends early"));
                }
                // No data at all: an empty block.
                z.finished = true;
                return Ok(0);
            }
            z.seen_input = true;
        }
        let (in0, out0) = (z.z.total_in(), z.z.total_out());
        let status =
            z.z.decompress(&z.input[z.at..z.len], buf, FlushDecompress::None)
                .map_err(|e| damaged(format!("its compressed data does not inflate ({e})")))?;
        let consumed = (z.z.total_in() - in0) as usize;
        let produced = (z.z.total_out() - out0) as usize;
        z.at += consumed;
        if status == Status::StreamEnd {
            z.finished = true;
        }
        if produced > 0 {
            return Ok(produced);
        }
        if consumed == 0 && !z.finished && z.at < z.len {
            return Err(damaged("its compressed data does not inflate"));
        }
    }
}

impl<R: Read> DumpReader<R> {
    /// The next data block's header, in file order (the rest of the previous block is skipped);
    /// `None` at the end of the archive.
    pub fn next_block(&mut self) -> Result<Option<BlockInfo>> {
        self.finish_block()?;
        if matches!(self.state, State::End) {
            return Ok(None);
        }
        let offset = self.src.pos;
        let Some(kind) = self.src.try_byte()? else {
            self.state = State::End;
            return Ok(None);
        };
        let kind = match kind {
            BLK_DATA => BlockKind::Data,
            BLK_BLOBS => BlockKind::LargeObjects,
            other => return Err(damaged(format!("unknown block type {other} at {offset}"))),
        };
        let dump_id = self.src.int()?;
        if dump_id <= 0 || dump_id > i32::MAX as i64 {
            return Err(damaged(format!("a block of dump id {dump_id}")));
        }
        self.state = match kind {
            BlockKind::Data => State::Data(Stream::new(self.header.compression)),
            BlockKind::LargeObjects => State::LoNext,
        };
        Ok(Some(BlockInfo {
            kind,
            dump_id: dump_id as i32,
            offset,
        }))
    }

    /// Skip what is left of the current block (afterwards [`Self::position`] is its end).
    pub fn finish_block(&mut self) -> Result<()> {
        loop {
            match &mut self.state {
                State::Between | State::End => return Ok(()),
                State::Data(s) => {
                    skip_stream(&mut self.src, s)?;
                    self.state = State::Between;
                }
                State::LoData(s) => {
                    skip_stream(&mut self.src, s)?;
                    self.state = State::LoNext;
                }
                State::LoNext => {
                    if self.next_large_object()?.is_none() {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// In a blobs block: the next large object's oid (its bytes are then read with
    /// [`Self::data`]); `None` after the last one (the block has ended).
    pub fn next_large_object(&mut self) -> Result<Option<u32>> {
        if let State::LoData(s) = &mut self.state {
            skip_stream(&mut self.src, s)?;
            self.state = State::LoNext;
        }
        if !matches!(self.state, State::LoNext) {
            return Err(Error::internal("not inside a large-objects block"));
        }
        let oid = self.src.int()?;
        if oid == 0 {
            self.state = State::Between;
            return Ok(None);
        }
        let oid = u32::try_from(oid).map_err(|_| damaged(format!("a large object oid {oid}")))?;
        self.state = State::LoData(Stream::new(self.header.compression));
        Ok(Some(oid))
    }

    /// The decoded bytes of the current data block (or large object), as a reader: COPY text
    /// for TABLE DATA. Errors are `std::io::Error`s carrying the engine's error
    /// ([`io_error`] gets it back).
    pub fn data(&mut self) -> BlockData<'_, R> {
        BlockData { reader: self }
    }

    fn read_data(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.data_readable()?;
        let s = match &mut self.state {
            State::Data(s) | State::LoData(s) => s,
            _ => return Ok(0),
        };
        let n = read_decoded(&mut self.src, s, buf)?;
        if n == 0 && !buf.is_empty() {
            self.state = match self.state {
                State::LoData(_) => State::LoNext,
                _ => State::Between,
            };
        }
        Ok(n)
    }
}

impl<R: Read + Seek> DumpReader<R> {
    /// Start reading at the data block that begins at `offset` (a block's
    /// [`BlockInfo::offset`], e.g. as a manifest recorded it); returns its header.
    pub fn seek_block(&mut self, offset: u64) -> Result<BlockInfo> {
        self.src
            .inner
            .seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io("seeking in the pg_dump archive", e))?;
        self.src.pos = offset;
        self.state = State::Between;
        self.next_block()?
            .ok_or_else(|| damaged(format!("no data block at offset {offset}")))
    }
}

/// The decoded bytes of one data block or large object.
pub struct BlockData<'a, R> {
    reader: &'a mut DumpReader<R>,
}

impl<R: Read> Read for BlockData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read_data(buf).map_err(std::io::Error::other)
    }
}

/// The engine's error inside an I/O error from [`BlockData`] (else an I/O error).
pub fn io_error(e: std::io::Error, what: &str) -> Error {
    if !e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return Error::io(what, e);
    }
    match e.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(inner)) => *inner,
        _ => Error::internal(format!("{what}: an error of another kind")),
    }
}
