use super::*;
use std::io::{Cursor, Read, Write};

/// Writes archives as pg_dump's `WriteHead` / `WriteToc` / `_StartData` do.
pub(super) struct Builder {
    pub minor: u8,
    /// Before 1.15: the int level; from 1.15: the algorithm byte.
    pub compression: i64,
    pub out: Vec<u8>,
}

impl Builder {
    pub fn new(minor: u8, compression: i64) -> Self {
        Builder {
            minor,
            compression,
            out: Vec::new(),
        }
    }
    pub fn byte(&mut self, b: u8) {
        self.out.push(b);
    }
    pub fn int(&mut self, v: i64) {
        self.out.push((v < 0) as u8);
        self.out
            .extend_from_slice(&(v.unsigned_abs() as u32).to_le_bytes());
    }
    pub fn str(&mut self, s: Option<&str>) {
        match s {
            None => self.int(-1),
            Some(s) => {
                self.int(s.len() as i64);
                self.out.extend_from_slice(s.as_bytes());
            }
        }
    }
    pub fn header(&mut self) {
        self.out.extend_from_slice(b"PGDMP");
        self.out.extend_from_slice(&[1, self.minor, 0, 4, 8, 1]);
        if self.minor >= 15 {
            self.byte(self.compression as u8);
        } else {
            self.int(self.compression);
        }
        for v in [5, 4, 3, 24, 10, 126, 0] {
            self.int(v);
        }
        self.str(Some("app"));
        self.str(Some("15.18"));
        self.str(Some("15.18"));
    }
    /// A TOC entry with or without data.
    pub fn entry(&mut self, id: i64, desc: &str, tag: &str, copy: Option<&str>, data: bool) {
        self.int(id);
        self.int(data as i64);
        self.str(Some("1259"));
        self.str(Some("16384"));
        self.str(Some(tag));
        self.str(Some(desc));
        self.int(if data { 3 } else { 2 });
        self.str(Some(if desc == "ENCODING" {
            "SET client_encoding = 'UTF8';\n"
        } else {
            ""
        }));
        self.str(Some(""));
        self.str(copy);
        self.str(Some("public"));
        self.str(Some(""));
        if self.minor >= 14 {
            self.str(Some("heap"));
        }
        if self.minor >= 16 {
            self.int(b'r' as i64);
        }
        self.str(Some("postgres"));
        self.str(Some("false"));
        self.str(Some("7"));
        self.str(None);
        self.byte(if data { 1 } else { 3 });
        self.out.extend_from_slice(&[0; 8]);
    }
    /// Chunks of one stream (compressed when the archive is), then the end marker.
    pub fn chunks(&mut self, data: &[u8], chunk: usize) {
        let bytes = if self.compressed() {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(data).unwrap();
            z.finish().unwrap()
        } else {
            data.to_vec()
        };
        for c in bytes.chunks(chunk.max(1)) {
            self.int(c.len() as i64);
            self.out.extend_from_slice(c);
        }
        self.int(0);
    }
    fn compressed(&self) -> bool {
        if self.minor >= 15 {
            self.compression == 1
        } else {
            self.compression != 0
        }
    }
    pub fn data_block(&mut self, id: i64, data: &[u8], chunk: usize) -> u64 {
        let at = self.out.len() as u64;
        self.byte(1);
        self.int(id);
        self.chunks(data, chunk);
        at
    }
    pub fn blobs_block(&mut self, id: i64, blobs: &[(i64, &[u8])]) {
        self.byte(3);
        self.int(id);
        for (oid, data) in blobs {
            self.int(*oid);
            self.chunks(data, 5);
        }
        self.int(0);
    }
}

const ROWS: &[u8] = b"1\tone\n2\ttab\\there\n3\t\\N\n";

/// A small archive: an encoding entry, two tables' data, large objects.
pub(super) fn sample(minor: u8, compression: i64) -> (Vec<u8>, u64) {
    let mut b = Builder::new(minor, compression);
    b.header();
    b.int(4);
    b.entry(1, "ENCODING", "ENCODING", None, false);
    b.entry(
        2,
        "TABLE DATA",
        "t",
        Some("COPY public.t (id, \"Name\") FROM stdin;\n"),
        true,
    );
    b.entry(
        3,
        "TABLE DATA",
        "empty",
        Some("COPY public.empty  FROM stdin;\n"),
        true,
    );
    b.entry(4, "BLOBS", "BLOBS", None, true);
    let at = b.data_block(2, ROWS, 7);
    b.data_block(3, b"", 7);
    b.blobs_block(4, &[(16500, b"hello large object"), (16501, b"")]);
    (b.out, at)
}

fn read_all<R: Read>(r: &mut DumpReader<R>) -> Vec<u8> {
    let mut out = Vec::new();
    r.data().read_to_end(&mut out).unwrap();
    out
}

#[test]
fn reads_header_toc_and_blocks_of_every_version() {
    for (minor, compression) in [
        (12, 0),
        (13, -1),
        (14, 0),
        (14, 6),
        (15, 0),
        (15, 1),
        (16, 0),
        (16, 1),
    ] {
        let (bytes, at) = sample(minor, compression);
        let mut r = DumpReader::new(Cursor::new(&bytes)).unwrap();
        assert_eq!(r.header().version, (1, minor, 0));
        assert_eq!(r.header().dbname, "app");
        assert_eq!(r.header().created, [2026, 11, 24, 3, 4, 5]);
        assert_eq!(r.header().server_version.as_deref(), Some("15.18"));
        assert_eq!(r.toc().len(), 4);
        assert_eq!(r.encoding().as_deref(), Some("UTF8"));
        let t = &r.toc()[1];
        assert_eq!(
            (t.dump_id, t.desc.as_str(), t.had_dumper),
            (2, "TABLE DATA", true)
        );
        assert_eq!(t.dependencies, [7]);
        assert_eq!(t.tableam.as_deref(), (minor >= 14).then_some("heap"));
        assert_eq!(t.relkind, (minor >= 16).then_some(b'r' as i64));
        assert_eq!(r.toc()[0].data_state, DataState::NoData);

        let first = r.next_block().unwrap().unwrap();
        assert_eq!(
            (first.kind, first.dump_id, first.offset),
            (BlockKind::Data, 2, at)
        );
        assert_eq!(read_all(&mut r), ROWS, "1.{minor} Z{compression}");
        let empty = r.next_block().unwrap().unwrap();
        assert_eq!(empty.dump_id, 3);
        assert_eq!(read_all(&mut r), b"");
        let blobs = r.next_block().unwrap().unwrap();
        assert_eq!(blobs.kind, BlockKind::LargeObjects);
        assert_eq!(r.next_large_object().unwrap(), Some(16500));
        assert_eq!(read_all(&mut r), b"hello large object");
        assert_eq!(r.next_large_object().unwrap(), Some(16501));
        assert_eq!(read_all(&mut r), b"");
        assert_eq!(r.next_large_object().unwrap(), None);
        assert_eq!(r.next_block().unwrap(), None);
        assert_eq!(r.position(), bytes.len() as u64);
    }
}

#[test]
fn unread_blocks_are_skipped_and_a_block_is_found_by_its_offset() {
    let (bytes, at) = sample(14, 0);
    let mut r = DumpReader::new(Cursor::new(&bytes)).unwrap();
    let mut ids = Vec::new();
    while let Some(b) = r.next_block().unwrap() {
        ids.push(b.dump_id);
    }
    assert_eq!(ids, [2, 3, 4]);
    let info = r.seek_block(at).unwrap();
    assert_eq!(info.dump_id, 2);
    assert_eq!(read_all(&mut r), ROWS);
    assert!(r.seek_block(at + 1).is_err(), "not a block's start");
}

#[test]
fn lz4_and_zstd_data_are_named_and_refused() {
    for (algo, name) in [(2, "lz4"), (3, "zstd")] {
        let mut b = Builder::new(15, algo);
        b.header();
        b.int(1);
        b.entry(
            1,
            "TABLE DATA",
            "t",
            Some("COPY public.t (a) FROM stdin;\n"),
            true,
        );
        b.byte(1);
        b.int(1);
        b.int(3);
        b.out.extend_from_slice(b"xyz");
        b.int(0);
        let mut r = DumpReader::new(Cursor::new(&b.out)).expect("the TOC is readable");
        assert_eq!(r.toc().len(), 1);
        r.next_block().unwrap().unwrap();
        let err = io_error(r.data().read_to_end(&mut Vec::new()).unwrap_err(), "x");
        assert_eq!(err.kind(), ErrorKind::UnsupportedFormat);
        assert!(err.message().contains(name), "{}", err.message());
    }
}

fn parse_err(bytes: &[u8]) -> Error {
    let mut r = match DumpReader::new(Cursor::new(bytes)) {
        Ok(r) => r,
        Err(e) => return e,
    };
    loop {
        match r.next_block() {
            Err(e) => return e,
            Ok(None) => panic!("a hostile archive was read to its end"),
            Ok(Some(b)) if b.kind == BlockKind::LargeObjects => loop {
                match r.next_large_object() {
                    Err(e) => return e,
                    Ok(None) => break,
                    Ok(Some(_)) => {
                        if let Err(e) = r.data().read_to_end(&mut Vec::new()) {
                            return io_error(e, "x");
                        }
                    }
                }
            },
            Ok(Some(_)) => {
                if let Err(e) = r.data().read_to_end(&mut Vec::new()) {
                    return io_error(e, "x");
                }
            }
        }
    }
}

#[test]
fn hostile_headers_are_refused_without_allocating() {
    let (good, _) = sample(14, 0);
    let header_len = {
        let mut b = Builder::new(14, 0);
        b.header();
        b.out.len()
    };
    let cases: Vec<(Vec<u8>, ErrorKind, &str)> = vec![
        (b"PGDMQ".to_vec(), ErrorKind::UnsupportedFormat, "PGDMP"),
        (b"PGD".to_vec(), ErrorKind::UnsupportedFormat, "PGDMP"),
        (
            {
                let mut v = good.clone();
                v[6] = 17;
                v
            },
            ErrorKind::UnsupportedFormat,
            "1.17",
        ),
        (
            {
                let mut v = good.clone();
                v[6] = 11;
                v
            },
            ErrorKind::UnsupportedFormat,
            "1.11",
        ),
        (
            {
                let mut v = good.clone();
                v[8] = 200;
                v
            },
            ErrorKind::Integrity,
            "integer size",
        ),
        (
            {
                let mut v = good.clone();
                v[9] = 0;
                v
            },
            ErrorKind::Integrity,
            "offset size",
        ),
        (
            {
                let mut v = good.clone();
                v[10] = 5;
                v
            },
            ErrorKind::UnsupportedFormat,
            "custom format",
        ),
        // TOC count of 2^31: refused before reading anything more.
        (
            {
                let mut v = good[..header_len].to_vec();
                v.extend_from_slice(&[0, 0, 0, 0, 0x80]);
                v
            },
            ErrorKind::Integrity,
            "TOC entries",
        ),
        // A TOC count larger than the entries there are.
        (
            {
                let mut v = good[..header_len].to_vec();
                v.extend_from_slice(&[0, 0xff, 0xff, 0x0f, 0]);
                v
            },
            ErrorKind::Integrity,
            "ends",
        ),
        (
            {
                let mut v = good[..header_len].to_vec();
                v.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 0xf0]);
                v
            },
            ErrorKind::Integrity,
            "dump id",
        ),
    ];
    for (bytes, kind, words) in cases {
        let err = parse_err(&bytes);
        assert_eq!(err.kind(), kind, "{}", err.message());
        assert!(
            err.message().contains(words),
            "{:?} lacks {words}",
            err.message()
        );
    }
}

#[test]
fn a_string_of_four_gigabytes_claimed_is_refused() {
    let mut b = Builder::new(14, 0);
    b.header();
    b.int(1);
    b.int(1);
    b.int(0);
    b.out.extend_from_slice(&[0, 0xff, 0xff, 0xff, 0x7f]);
    let err = parse_err(&b.out);
    assert_eq!(err.kind(), ErrorKind::Integrity);
    assert!(err.message().contains("string claims"), "{}", err.message());
    // Within the bound but not there: fails at the end of input, having allocated what it read.
    let mut b = Builder::new(14, 0);
    b.header();
    b.int(1);
    b.int(1);
    b.int(0);
    b.int((MAX_STRING - 1) as i64);
    b.out.extend_from_slice(b"short");
    assert!(parse_err(&b.out).message().contains("ends in the middle"));
}

#[test]
fn hostile_blocks_are_refused() {
    let (good, at) = sample(14, 0);
    let at = at as usize;
    let mut bad_type = good.clone();
    bad_type[at] = 2;
    let mut negative_chunk = good.clone();
    negative_chunk[at + 6] = 1; // the first chunk's sign byte
    let mut huge_chunk = good.clone();
    huge_chunk[at + 7..at + 11].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let truncated = good[..at + 14].to_vec();
    let mut zero_id = good.clone();
    zero_id[at + 2..at + 6].copy_from_slice(&[0; 4]);
    for (bytes, words) in [
        (bad_type, "block type"),
        (negative_chunk, "chunk"),
        (huge_chunk, "chunk"),
        (truncated, "ends"),
        (zero_id, "dump id"),
    ] {
        let err = parse_err(&bytes);
        assert_eq!(err.kind(), ErrorKind::Integrity, "{}", err.message());
        assert!(
            err.message().contains(words),
            "{:?} lacks {words}",
            err.message()
        );
    }
    // Compressed bytes that do not inflate.
    let mut b = Builder::new(14, -1);
    b.header();
    b.int(1);
    b.entry(1, "TABLE DATA", "t", None, true);
    b.byte(1);
    b.int(1);
    b.int(4);
    b.out.extend_from_slice(b"\xff\xff\xff\xff");
    b.int(0);
    assert!(parse_err(&b.out).message().contains("inflate"));
}

#[test]
fn copy_statements_parse_with_quoted_names() {
    let t = parse_copy_stmt("COPY public.t (id, \"Name\", \"a \"\"b\"\"\", x$1) FROM stdin;\n")
        .unwrap();
    assert_eq!((t.schema.as_str(), t.table.as_str()), ("public", "t"));
    assert_eq!(t.columns, ["id", "Name", "a \"b\"", "x$1"]);
    let t = parse_copy_stmt("COPY \"My Schema\".\"Odd.Table\"  FROM stdin;\n").unwrap();
    assert_eq!(
        (t.schema.as_str(), t.table.as_str()),
        ("My Schema", "Odd.Table")
    );
    assert!(t.columns.is_empty());
    for bad in [
        "COPY t (a) FROM stdin;",
        "COPY public.t (a) FROM stdin; DROP TABLE x;",
        "COPY public.t (a) FROM '/etc/passwd';",
        "COPY public.t (a, ) FROM stdin;",
        "COPY public.\"unterminated FROM stdin;",
        "COPY public.\"\" (a) FROM stdin;",
        "SELECT 1",
        "",
    ] {
        let err = parse_copy_stmt(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsupportedFormat, "{bad}");
    }
}

/// A directory dump's toc.dat: the custom header with format code 3 (tar's), and per entry the data
/// file's name (`ReadStr`) instead of the offset flag and offset.
fn directory_toc(file_names: &[Option<&str>]) -> Vec<u8> {
    let mut b = Builder::new(14, 0);
    b.header();
    b.out[10] = 3;
    b.int(file_names.len() as i64);
    for (i, name) in file_names.iter().enumerate() {
        let data = name.is_some();
        let (desc, copy) = if data {
            ("TABLE DATA", Some("COPY public.t (id, v) FROM stdin;\n"))
        } else {
            ("ENCODING", None)
        };
        b.entry(i as i64 + 1, desc, "t", copy, data);
        // entry() ended with the custom format's offset flag and 8 offset bytes.
        b.out.truncate(b.out.len() - 9);
        b.str(Some(name.unwrap_or("")));
    }
    b.out
}

#[test]
fn a_directory_toc_names_its_entries_and_their_data_files() {
    let bytes = directory_toc(&[None, Some("2.dat")]);
    let (header, toc) = read_directory_toc(&bytes[..]).unwrap();
    assert_eq!(header.dbname, "app");
    assert_eq!(toc.len(), 2);
    assert_eq!(toc[0].data_state, DataState::NoData);
    assert_eq!(toc[1].desc, "TABLE DATA");
    assert_eq!(toc[1].data_state, DataState::NotSet);
    assert_eq!(toc_encoding(&toc).as_deref(), Some("UTF8"));
    // The custom-format reader refuses it, and this reader refuses a custom archive.
    assert_eq!(
        DumpReader::new(&bytes[..]).unwrap_err().kind(),
        ErrorKind::UnsupportedFormat
    );
    let mut custom = Builder::new(14, 0);
    custom.header();
    custom.int(0);
    assert_eq!(
        read_directory_toc(&custom.out[..]).unwrap_err().kind(),
        ErrorKind::UnsupportedFormat
    );
}

#[test]
fn a_hostile_directory_toc_is_an_error_never_a_panic() {
    for name in ["../etc/passwd", "a/b.dat", ".hidden"] {
        let bytes = directory_toc(&[Some(name)]);
        assert_eq!(
            read_directory_toc(&bytes[..]).unwrap_err().kind(),
            ErrorKind::Integrity,
            "{name}"
        );
    }
    let bytes = directory_toc(&[None, Some("2.dat")]);
    for cut in 0..bytes.len() {
        assert!(read_directory_toc(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    // Every byte flipped: an error or a TOC, never a panic.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0xff;
        let _ = read_directory_toc(&b[..]);
    }
}
