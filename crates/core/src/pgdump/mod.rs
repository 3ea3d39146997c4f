//! A streaming reader of `pg_dump -Fc` archives (the custom format of pg_dump 10 to 17, archive
//! versions 1.12 to 1.16), as `src/bin/pg_dump/pg_backup_archiver.c` and `pg_backup_custom.c`
//! write them:
//!
//! - the header: `PGDMP`, version bytes, int and offset sizes, the format byte (1: custom), the
//!   compression (an int level before 1.15, an algorithm byte from 1.15 on), the dump's time,
//!   the database name and the server's and pg_dump's versions;
//! - the TOC: one [`TocEntry`] per object;
//! - then the data blocks in file order: a block type (`BLK_DATA` = 1, `BLK_BLOBS` = 3), the
//!   entry's dump id, and chunks (`int length` + bytes) ending with a zero length; a blobs
//!   block holds, per large object, its oid and its chunks, and ends with oid 0.
//!
//! Uncompressed and zlib-compressed data are decoded; lz4 and zstd are named and refused when
//! data is read. Everything is hostile: lengths and counts are bounded, allocations grow only
//! with bytes actually read, and a damaged archive is an `integrity` error, never a panic.

mod block;
mod copy_stmt;
mod copy_text;
#[cfg(test)]
mod fuzz;
mod source;
#[cfg(test)]
mod tests;
mod toc_write;

pub use block::{io_error, BlockData, BlockInfo, BlockKind};
pub use copy_stmt::{parse_copy_stmt, CopyTarget};
pub use copy_text::{CopyRows, COPY_TERMINATOR};
pub use source::{DataState, MAX_CHUNK, MAX_STRING};
pub use toc_write::{DataEntry, TocRewrite};

use crate::error::{Error, ErrorKind, Result};
use source::{damaged, Source};
use std::io::Read;

/// The oldest archive version read (pg_dump 9.0 and later write 1.12 or newer).
pub const MIN_VERSION: (u8, u8) = (1, 12);
/// The newest archive version read (pg_dump 17).
pub const MAX_VERSION: (u8, u8) = (1, 16);
/// At most this many TOC entries.
pub const MAX_TOC_ENTRIES: i64 = 2_000_000;
/// At most this many dependencies per entry.
pub const MAX_DEPENDENCIES: usize = 1_000_000;
/// At most this many bytes of TOC strings in all.
pub const MAX_TOC_BYTES: u64 = 512 << 20;

/// How the archive's data blocks are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    /// zlib (pg_dump's default), with the level when the header records it (before 1.15).
    Gzip(Option<i64>),
    Lz4,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip(_) => "gzip",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// The archive's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// (major, minor, revision), e.g. (1, 14, 0) from pg_dump 12 to 15.
    pub version: (u8, u8, u8),
    pub int_size: u8,
    pub off_size: u8,
    pub compression: Compression,
    /// When the dump was made, as the dumping machine's local time: year, month (1-12), day,
    /// hour, minute, second.
    pub created: [i64; 6],
    pub dbname: String,
    /// "15.18", as the server reported it.
    pub server_version: Option<String>,
    /// "15.18", pg_dump's own.
    pub pg_dump_version: Option<String>,
}

impl Header {
    fn at_least(&self, minor: u8) -> bool {
        (self.version.0, self.version.1) >= (1, minor)
    }
}

/// One entry of the table of contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TocEntry {
    pub dump_id: i32,
    /// The entry has a data block (pg_dump's `hadDumper`).
    pub had_dumper: bool,
    pub table_oid: u32,
    pub oid: u32,
    /// The object's name ("orders"; for TABLE DATA the table's name).
    pub tag: String,
    /// "TABLE", "TABLE DATA", "BLOBS", "ENCODING", …
    pub desc: String,
    /// 1 none, 2 pre-data, 3 data, 4 post-data.
    pub section: i64,
    pub defn: Option<String>,
    pub drop_stmt: Option<String>,
    /// For TABLE DATA: `COPY schema.table (cols) FROM stdin;` (see [`parse_copy_stmt`]).
    pub copy_stmt: Option<String>,
    pub namespace: Option<String>,
    pub tablespace: Option<String>,
    /// Version 1.14 and later.
    pub tableam: Option<String>,
    /// Version 1.16 and later: the relation's `relkind` (as a character code).
    pub relkind: Option<i64>,
    pub owner: Option<String>,
    pub dependencies: Vec<i32>,
    pub data_state: DataState,
}

/// Reads an archive's header and TOC, then its data blocks in file order.
pub struct DumpReader<R> {
    src: Source<R>,
    header: Header,
    toc: Vec<TocEntry>,
    state: block::State,
}

impl<R> std::fmt::Debug for DumpReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpReader")
            .field("header", &self.header)
            .field("entries", &self.toc.len())
            .field("pos", &self.src.pos)
            .finish()
    }
}

impl<R: Read> DumpReader<R> {
    /// Read the header and the whole TOC (the reader then stands at the first data block).
    pub fn new(inner: R) -> Result<Self> {
        let mut src = Source::new(inner);
        let header = read_header(&mut src, FORMAT_CUSTOM)?;
        let toc = read_toc(&mut src, &header, FORMAT_CUSTOM)?;
        Ok(DumpReader {
            src,
            header,
            toc,
            state: block::State::Between,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn toc(&self) -> &[TocEntry] {
        &self.toc
    }

    /// The TOC entry of a dump id.
    pub fn entry(&self, dump_id: i32) -> Option<&TocEntry> {
        self.toc.iter().find(|e| e.dump_id == dump_id)
    }

    /// Bytes of the dump consumed so far: after a block's data was read to its end, the
    /// offset where the block ends.
    pub fn position(&self) -> u64 {
        self.src.pos
    }

    /// The encoding the dump's text is in (its `ENCODING` entry: `SET client_encoding = 'UTF8';`).
    pub fn encoding(&self) -> Option<String> {
        toc_encoding(&self.toc)
    }

    /// Whether data blocks can be decoded: an `unsupported_format` error naming the
    /// compression when they cannot (lz4, zstd).
    pub fn data_readable(&self) -> Result<()> {
        match self.header.compression {
            Compression::None | Compression::Gzip(_) => Ok(()),
            other => Err(Error::new(
                ErrorKind::UnsupportedFormat,
                format!(
                    "the dump's data is {}-compressed, which Offsite cannot read; \
                     a dump made with --compress=0 or gzip can be read",
                    other.name()
                ),
            )),
        }
    }
}

/// pg_dump's format codes (`ArchiveFormat`, pg_backup.h). A directory dump's `toc.dat` records
/// `archTar` (3), not `archDirectory` (5): "the directory is compatible with 'tar', so there's no
/// point having a different format code for it" (pg_backup_directory.c, `_CloseArchive`).
const FORMAT_CUSTOM: u8 = 1;
const FORMAT_DIRECTORY: u8 = 3;

/// The header and TOC of a directory-format dump's `toc.dat` (`pg_dump -Fd`): the same as the
/// custom format's, with format code 3 (tar's) and, per entry, the name of its data file instead of an
/// offset. An entry with a data file has [`DataState::NotSet`] (its data is `<dump id>.dat`, or
/// `blobs.toc` for large objects), one without has [`DataState::NoData`]. Bounded as
/// [`DumpReader::new`].
pub fn read_directory_toc<R: Read>(inner: R) -> Result<(Header, Vec<TocEntry>)> {
    let mut src = Source::new(inner);
    let header = read_header(&mut src, FORMAT_DIRECTORY)?;
    let toc = read_toc(&mut src, &header, FORMAT_DIRECTORY)?;
    Ok((header, toc))
}

/// The encoding a TOC names (its `ENCODING` entry: `SET client_encoding = 'UTF8';`).
pub fn toc_encoding(toc: &[TocEntry]) -> Option<String> {
    let defn = toc.iter().find(|e| e.desc == "ENCODING")?.defn.as_deref()?;
    let start = defn.find('\'')? + 1;
    let len = defn[start..].find('\'')?;
    let name = &defn[start..start + len];
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        .then(|| name.to_string())
}

fn read_header<R: Read>(src: &mut Source<R>, want_format: u8) -> Result<Header> {
    let mut magic = [0u8; 5];
    src.exact(&mut magic).map_err(|_| not_custom())?;
    if &magic != b"PGDMP" {
        return Err(not_custom());
    }
    let major = src.byte()?;
    let minor = src.byte()?;
    let rev = if major > 1 || (major == 1 && minor > 0) {
        src.byte()?
    } else {
        0
    };
    if (major, minor) < MIN_VERSION || (major, minor) > MAX_VERSION {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "pg_dump archive version {major}.{minor} is not supported (versions {}.{} to {}.{}: \
                 pg_dump 9.0 to 17)",
                MIN_VERSION.0, MIN_VERSION.1, MAX_VERSION.0, MAX_VERSION.1
            ),
        ));
    }
    let int_size = src.byte()?;
    let off_size = src.byte()?;
    if !(4..=8).contains(&int_size) || !(4..=16).contains(&off_size) {
        return Err(damaged(format!(
            "integer size {int_size} / offset size {off_size}"
        )));
    }
    src.int_size = int_size as usize;
    src.off_size = off_size as usize;
    let format = src.byte()?;
    if format != want_format {
        let want = if want_format == FORMAT_DIRECTORY {
            "directory"
        } else {
            "custom"
        };
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!("the pg_dump archive is not in the {want} format (format code {format})"),
        ));
    }
    let mut header = Header {
        version: (major, minor, rev),
        int_size,
        off_size,
        compression: Compression::None,
        created: [0; 6],
        dbname: String::new(),
        server_version: None,
        pg_dump_version: None,
    };
    header.compression = if header.at_least(15) {
        match src.byte()? {
            0 => Compression::None,
            1 => Compression::Gzip(None),
            2 => Compression::Lz4,
            3 => Compression::Zstd,
            other => return Err(damaged(format!("unknown compression algorithm {other}"))),
        }
    } else {
        match src.int()? {
            0 => Compression::None,
            level @ (-1 | 1..=9) => Compression::Gzip(Some(level)),
            other => return Err(damaged(format!("compression level {other}"))),
        }
    };
    // tm_sec, tm_min, tm_hour, tm_mday, tm_mon, tm_year, tm_isdst
    let mut tm = [0i64; 7];
    for v in tm.iter_mut() {
        *v = src.int()?;
    }
    header.created = [tm[5] + 1900, tm[4] + 1, tm[3], tm[2], tm[1], tm[0]];
    header.dbname = src.string()?.unwrap_or_default();
    header.server_version = src.string()?;
    header.pg_dump_version = src.string()?;
    Ok(header)
}

fn not_custom() -> Error {
    Error::new(
        ErrorKind::UnsupportedFormat,
        "not a pg_dump custom-format archive (it does not start with PGDMP)",
    )
}

fn read_toc<R: Read>(src: &mut Source<R>, header: &Header, format: u8) -> Result<Vec<TocEntry>> {
    let count = src.int()?;
    if !(0..=MAX_TOC_ENTRIES).contains(&count) {
        return Err(damaged(format!("{count} TOC entries")));
    }
    let start = src.pos;
    let mut toc = Vec::new();
    for _ in 0..count {
        toc.push(read_entry(src, header, format)?);
        if src.pos - start > MAX_TOC_BYTES {
            return Err(damaged("its table of contents is larger than 512 MiB"));
        }
    }
    Ok(toc)
}

fn read_entry<R: Read>(src: &mut Source<R>, header: &Header, format: u8) -> Result<TocEntry> {
    read_entry_spans(src, header, format).map(|(e, _)| e)
}

/// Where, in the bytes read, an entry's dependency list starts and where it ends (after its
/// terminating NULL string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DepsSpan {
    pub start: u64,
    pub end: u64,
}

fn read_entry_spans<R: Read>(
    src: &mut Source<R>,
    header: &Header,
    format: u8,
) -> Result<(TocEntry, DepsSpan)> {
    let dump_id = src.int()?;
    if dump_id <= 0 || dump_id > i32::MAX as i64 {
        return Err(damaged(format!("dump id {dump_id}")));
    }
    let had_dumper = src.int()? != 0;
    let oid = |s: Option<String>| -> Result<u32> {
        let s = s.unwrap_or_default();
        s.parse::<u32>()
            .map_err(|_| damaged(format!("an oid {:?}", truncate(&s))))
    };
    let table_oid = oid(src.string()?)?;
    let object_oid = oid(src.string()?)?;
    let tag = src.string()?.unwrap_or_default();
    let desc = src.string()?.unwrap_or_default();
    let section = src.int()?;
    let defn = src.string()?;
    let drop_stmt = src.string()?;
    let copy_stmt = src.string()?;
    let namespace = src.string()?;
    let tablespace = src.string()?;
    let tableam = if header.at_least(14) {
        src.string()?
    } else {
        None
    };
    let relkind = if header.at_least(16) {
        Some(src.int()?)
    } else {
        None
    };
    let owner = src.string()?;
    let _with_oids = src.string()?;
    let deps_start = src.pos;
    let mut dependencies = Vec::new();
    while let Some(dep) = src.string()? {
        if dependencies.len() >= MAX_DEPENDENCIES {
            return Err(damaged("a TOC entry has too many dependencies"));
        }
        let dep = dep
            .trim()
            .parse::<i32>()
            .map_err(|_| damaged(format!("a dependency {:?}", truncate(&dep))))?;
        dependencies.push(dep);
    }
    let deps = DepsSpan {
        start: deps_start,
        end: src.pos,
    };
    let data_state = if format == FORMAT_DIRECTORY {
        match src.string()? {
            Some(file) if !file.is_empty() => {
                if file.contains(['/', '\\', '\0']) || file.starts_with('.') {
                    return Err(damaged(format!("a data file name {:?}", truncate(&file))));
                }
                DataState::NotSet
            }
            _ => DataState::NoData,
        }
    } else {
        src.offset()?
    };
    let entry = TocEntry {
        dump_id: dump_id as i32,
        had_dumper,
        table_oid,
        oid: object_oid,
        tag,
        desc,
        section,
        defn,
        drop_stmt,
        copy_stmt,
        namespace,
        tablespace,
        tableam,
        relkind,
        owner,
        dependencies,
        data_state,
    };
    Ok((entry, deps))
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}
