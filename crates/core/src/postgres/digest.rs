//! Per-table digests of a dump as it streams (issue 26): pg_dump's output is teed, chunk by
//! chunk, to a thread that parses it ([`crate::pgdump`]) and hashes each table's COPY rows
//! (SHA-256, exact bytes, without pg_dump's `\.` terminator), counts their lines and notes where
//! the block lies in `database.dump`; large objects get one digest over all of them.
//!
//! Memory is bounded by the channel (at most [`IN_FLIGHT`] chunks of pg_dump's output) and the
//! parser's own buffers. A parser failure never fails the backup: the digests are then left out
//! and the manifest says why.

use crate::archive::LargeObjectsDigest;
use crate::error::{Error, Result};
use crate::pgdump::{self, BlockKind, CopyRows, DumpReader};
use ring::digest::{Context, SHA256};
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Chunks of pg_dump output queued for the parser at most (each up to the pump's 1 MiB buffer).
pub const IN_FLIGHT: usize = 8;

/// Environment switch for the backup bench only: `1` turns the digest tee off (to measure its
/// cost). Not a user setting.
pub const BENCH_SWITCH: &str = "OFFSITE_BENCH_NO_TABLE_DIGESTS";

/// One TABLE DATA block's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    /// The TOC entry's namespace and tag (the table's schema and name, unquoted).
    pub schema: String,
    pub table: String,
    /// The COPY column list (unquoted).
    pub columns: Vec<String>,
    /// Hex SHA-256 of the rows as pg_dump streamed them.
    pub sha256: String,
    /// Lines of COPY text (one per row).
    pub lines: u64,
    /// Where the block starts in `database.dump` and how long it is.
    pub offset: u64,
    pub length: u64,
}

/// Everything the tee found in one dump.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpDigests {
    pub tables: Vec<TableDigest>,
    pub large_objects: Option<LargeObjectsDigest>,
    /// The dump's encoding (its ENCODING entry).
    pub encoding: Option<String>,
}

/// The tee: [`DigestTee::feed`] every chunk of the dump, then [`DigestTee::finish`].
pub struct DigestTee {
    tx: Option<SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<Result<DumpDigests>>>,
}

impl DigestTee {
    /// Start the parsing thread (`None` when the bench switch turned digests off).
    pub fn start() -> Option<Self> {
        if std::env::var_os(BENCH_SWITCH).is_some_and(|v| v == "1") {
            return None;
        }
        let (tx, rx) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let thread = std::thread::Builder::new()
            .name("dump-digests".into())
            .spawn(move || digest_dump(ChannelReader::new(rx)))
            .ok()?;
        Some(DigestTee {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Pass a chunk on (blocks while the parser is [`IN_FLIGHT`] chunks behind). After the
    /// parser stopped (an error), chunks are dropped.
    pub fn feed(&mut self, bytes: &[u8]) {
        if let Some(tx) = &self.tx {
            if tx.send(bytes.to_vec()).is_err() {
                self.tx = None;
            }
        }
    }

    /// The end of the dump: the digests, or why there are none.
    pub fn finish(mut self) -> Result<DumpDigests> {
        self.tx = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::internal("the dump digest thread panicked")),
            None => Err(Error::internal("the dump digest thread is gone")),
        }
    }
}

impl Drop for DigestTee {
    fn drop(&mut self) {
        // Closing the channel ends the parser (it sees the end of its input).
        self.tx = None;
    }
}

/// Parse a whole dump from `input`, hashing every table's rows and the large objects.
pub fn digest_dump<R: Read>(input: R) -> Result<DumpDigests> {
    let mut reader = DumpReader::new(input)?;
    reader.data_readable()?;
    let mut out = DumpDigests {
        encoding: reader.encoding(),
        ..DumpDigests::default()
    };
    let mut objects: Vec<(u32, [u8; 32])> = Vec::new();
    let mut buf = vec![0u8; 256 << 10];
    while let Some(block) = reader.next_block()? {
        match block.kind {
            BlockKind::LargeObjects => {
                while let Some(oid) = reader.next_large_object()? {
                    let (sha, _) = hash_stream(reader.data(), &mut buf)?;
                    objects.push((oid, sha));
                }
            }
            BlockKind::Data => {
                let Some(entry) = reader.entry(block.dump_id) else {
                    continue;
                };
                if entry.desc != "TABLE DATA" {
                    continue;
                }
                let columns = match entry.copy_stmt.as_deref().map(pgdump::parse_copy_stmt) {
                    Some(Ok(t)) => t.columns,
                    _ => continue,
                };
                let (schema, table) = (
                    entry.namespace.clone().unwrap_or_default(),
                    entry.tag.clone(),
                );
                let (sha, lines) = hash_stream(CopyRows::new(reader.data()), &mut buf)?;
                out.tables.push(TableDigest {
                    schema,
                    table,
                    columns,
                    sha256: hex::encode(sha),
                    lines,
                    offset: block.offset,
                    length: reader.position() - block.offset,
                });
            }
        }
    }
    if !objects.is_empty() {
        out.large_objects = Some(large_objects_digest(objects));
    }
    Ok(out)
}

/// SHA-256 and newline count of a stream.
fn hash_stream(mut r: impl Read, buf: &mut [u8]) -> Result<([u8; 32], u64)> {
    let mut ctx = Context::new(&SHA256);
    let mut lines = 0u64;
    loop {
        let n = match r.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(pgdump::io_error(e, "reading the dump")),
        };
        ctx.update(&buf[..n]);
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
    let mut sha = [0u8; 32];
    sha.copy_from_slice(ctx.finish().as_ref());
    Ok((sha, lines))
}

/// The digest of a database's large objects: SHA-256 over one line per object, in ascending
/// oid order, `<oid> <hex sha256 of its bytes>\n` (the same whatever order a dump holds them in).
pub fn large_objects_digest(mut objects: Vec<(u32, [u8; 32])>) -> LargeObjectsDigest {
    objects.sort_unstable_by_key(|(oid, _)| *oid);
    let mut ctx = Context::new(&SHA256);
    for (oid, sha) in &objects {
        ctx.update(format!("{oid} {}\n", hex::encode(sha)).as_bytes());
    }
    LargeObjectsDigest {
        count: objects.len() as u64,
        sha256: hex::encode(ctx.finish().as_ref()),
    }
}

/// A `Read` over the chunks the pump sends.
struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl ChannelReader {
    fn new(rx: Receiver<Vec<u8>>) -> Self {
        ChannelReader {
            rx,
            current: Vec::new(),
            at: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Settings pg_dump fixes itself in its session (`setup_connection`) or Offsite fixes for it
/// (`PGTZ`), with the values they have there.
const FIXED_SETTINGS: [(&str, &str); 5] = [
    ("DateStyle", "ISO"),
    ("IntervalStyle", "postgres"),
    ("extra_float_digits", "3"),
    ("TimeZone", "UTC"),
    ("search_path", ""),
];

/// Settings pg_dump leaves at the role's / database's / server's default, read in a session of
/// the same role on the same database (the counting one).
pub const INHERITED_SETTINGS: [&str; 2] = ["bytea_output", "lc_monetary"];

/// The manifest's record of the digests: the settings, the large objects, or why there are
/// no digests; and each counted table's digest. A table whose dump holds another number of
/// rows than its exact count in the same snapshot fails the backup (see [`attach`]).
pub fn attach(
    tables: &mut [crate::archive::TableCount],
    digests: Result<DumpDigests>,
    inherited: Vec<(String, String)>,
) -> Result<crate::archive::ContentDigests> {
    let digests = match digests {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("table digests were not made: {}", e.message());
            return Ok(crate::archive::ContentDigests {
                note: Some(format!(
                    "table digests were not made ({}); drills compare row counts only",
                    e.message()
                )),
                ..Default::default()
            });
        }
    };
    for d in digests.tables {
        let Some(t) = tables
            .iter_mut()
            .find(|t| t.schema == d.schema && t.table == d.table)
        else {
            // Data of a table that is not counted (an extension's configuration table).
            continue;
        };
        if d.lines != t.rows {
            return Err(Error::integrity(format!(
                "the dump of {}.{} holds {} rows but the table had {} in the same snapshot; \
                 the backup is not consistent and was not kept",
                d.schema, d.table, d.lines, t.rows
            )));
        }
        t.sha256 = Some(d.sha256);
        t.lines = Some(d.lines);
        t.columns = Some(d.columns);
        t.dump_offset = Some(d.offset);
        t.dump_length = Some(d.length);
    }
    let mut settings: std::collections::BTreeMap<String, String> = FIXED_SETTINGS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    settings.extend(inherited);
    if let Some(enc) = digests.encoding {
        settings.insert("client_encoding".into(), enc);
    }
    Ok(crate::archive::ContentDigests {
        settings,
        large_objects: digests.large_objects,
        note: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::TableCount;
    use crate::error::ErrorKind;

    fn digest(table: &str, lines: u64) -> TableDigest {
        TableDigest {
            schema: "public".into(),
            table: table.into(),
            columns: vec!["a".into()],
            sha256: "ab".repeat(32),
            lines,
            offset: 100,
            length: 20,
        }
    }

    #[test]
    fn digests_attach_to_their_tables_and_a_disagreeing_count_fails_the_backup() {
        let mut tables = vec![
            TableCount::counted("public", "a", 2),
            TableCount::counted("public", "b", 0),
        ];
        let found = DumpDigests {
            tables: vec![digest("a", 2), digest("ext_config", 9)],
            large_objects: None,
            encoding: Some("UTF8".into()),
        };
        let inherited = vec![("bytea_output".to_string(), "hex".to_string())];
        let content = attach(&mut tables, Ok(found.clone()), inherited.clone()).unwrap();
        assert_eq!(tables[0].sha256.as_deref(), Some("ab".repeat(32).as_str()));
        assert_eq!(
            (tables[0].lines, tables[0].dump_offset),
            (Some(2), Some(100))
        );
        assert_eq!(tables[1], TableCount::counted("public", "b", 0));
        assert_eq!(content.settings["TimeZone"], "UTC");
        assert_eq!(content.settings["client_encoding"], "UTF8");
        assert_eq!(content.settings["bytea_output"], "hex");

        let mut tables = vec![TableCount::counted("public", "a", 3)];
        let err = attach(&mut tables, Ok(found), inherited.clone()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Integrity);
        assert!(
            err.message().contains("public.a holds 2 rows"),
            "{}",
            err.message()
        );

        // A dump the parser cannot read: the backup goes on, without digests, saying why.
        let mut tables = vec![TableCount::counted("public", "a", 3)];
        let content = attach(&mut tables, Err(Error::integrity("x")), inherited).unwrap();
        assert!(content.note.unwrap().contains("not made"));
        assert_eq!(tables[0].sha256, None);
    }

    #[test]
    fn the_large_objects_digest_does_not_depend_on_dump_order() {
        let a = (5u32, [1u8; 32]);
        let b = (7u32, [2u8; 32]);
        assert_eq!(
            large_objects_digest(vec![a, b]),
            large_objects_digest(vec![b, a])
        );
        assert_ne!(
            large_objects_digest(vec![a, b]).sha256,
            large_objects_digest(vec![(5, [2u8; 32]), (7, [1u8; 32])]).sha256
        );
    }
}
