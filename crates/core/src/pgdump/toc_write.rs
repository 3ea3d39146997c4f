//! Adding `TABLE DATA` entries to a directory dump's `toc.dat` (issue 67: a big table's rows
//! dumped in ranges, each range an entry of its own that `pg_restore` restores unchanged).
//!
//! The rewrite keeps every byte pg_dump wrote: the header verbatim, each entry verbatim, except
//! that a post-data entry depending on a split table also depends on each of its range entries
//! (so `pg_restore -j` builds an index or checks a foreign key only once every range is in). The
//! new entries are written as `WriteToc` (pg_backup_archiver.c) writes pg_dump's own `TABLE DATA`
//! entries (`dumpTableData` in pg_dump.c: no definition, drop statement, tablespace or access
//! method; the copy statement; the table's catalog ids, name, schema and owner), with the data
//! file name `<dump id>.dat` as `_WriteExtraToc` (pg_backup_directory.c) writes it, and placed
//! before the post-data section.

use super::source::{damaged, Source};
use super::{read_entry_spans, read_header, DepsSpan, Header, TocEntry, MAX_TOC_BYTES};
use super::{FORMAT_DIRECTORY, MAX_TOC_ENTRIES};
use crate::error::Result;
use std::collections::BTreeMap;

/// A `TABLE DATA` entry to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataEntry {
    pub dump_id: i32,
    /// The table's `TABLE` entry (its catalog ids, name, schema and owner are copied).
    pub table_id: i32,
    /// The entry's dependencies, the first of them the one `pg_restore` reads as its table's.
    pub dependencies: Vec<i32>,
    /// `COPY schema.table (columns) FROM stdin;\n`, as pg_dump writes it.
    pub copy_stmt: String,
}

/// A parsed `toc.dat`, with where each entry lies in its bytes.
pub struct TocRewrite {
    bytes: Vec<u8>,
    header: Header,
    /// Where the entry count starts (the header is everything before it).
    count_at: usize,
    entries: Vec<(TocEntry, std::ops::Range<usize>, DepsSpan)>,
}

impl std::fmt::Debug for TocRewrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TocRewrite")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl TocRewrite {
    /// Parse a directory dump's `toc.dat` (bounded as [`super::read_directory_toc`]).
    pub fn parse(bytes: Vec<u8>) -> Result<Self> {
        let mut src = Source::new(bytes.as_slice());
        let header = read_header(&mut src, FORMAT_DIRECTORY)?;
        let count_at = src.pos as usize;
        let count = src.int()?;
        if !(0..=MAX_TOC_ENTRIES).contains(&count) {
            return Err(damaged(format!("{count} TOC entries")));
        }
        let start = src.pos;
        let mut entries = Vec::new();
        for _ in 0..count {
            let at = src.pos as usize;
            let (entry, deps) = read_entry_spans(&mut src, &header, FORMAT_DIRECTORY)?;
            entries.push((entry, at..src.pos as usize, deps));
            if src.pos - start > MAX_TOC_BYTES {
                return Err(damaged("its table of contents is larger than 512 MiB"));
            }
        }
        if (src.pos as usize) != bytes.len() {
            return Err(damaged(
                "something follows the last entry of its table of contents",
            ));
        }
        Ok(TocRewrite {
            bytes,
            header,
            count_at,
            entries,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn entries(&self) -> impl Iterator<Item = &TocEntry> {
        self.entries.iter().map(|(e, _, _)| e)
    }

    /// The highest dump id of the entries (new ones go above it).
    pub fn max_dump_id(&self) -> i32 {
        self.entries().map(|e| e.dump_id).max().unwrap_or(0)
    }

    /// The `TABLE` entry of `schema.table`.
    pub fn table_entry(&self, schema: &str, table: &str) -> Option<&TocEntry> {
        self.entries()
            .find(|e| e.desc == "TABLE" && e.tag == table && e.namespace.as_deref() == Some(schema))
    }

    /// The TOC with `added` before the post-data section, and every post-data entry that
    /// depends on a table of `extra_deps` (by its `TABLE` entry's dump id) also depending on
    /// the ids listed for it.
    pub fn write(
        &self,
        added: &[DataEntry],
        extra_deps: &BTreeMap<i32, Vec<i32>>,
    ) -> Result<Vec<u8>> {
        let by_id: BTreeMap<i32, &TocEntry> = self.entries().map(|e| (e.dump_id, e)).collect();
        let mut new_entries = Vec::with_capacity(added.len());
        for a in added {
            if by_id.contains_key(&a.dump_id) {
                return Err(crate::error::Error::internal(format!(
                    "dump id {} is already in the table of contents",
                    a.dump_id
                )));
            }
            let table = by_id
                .get(&a.table_id)
                .filter(|t| t.desc == "TABLE")
                .ok_or_else(|| {
                    crate::error::Error::internal(format!("no TABLE entry {}", a.table_id))
                })?;
            new_entries.push(self.data_entry(a, table));
        }
        let at = self
            .entries()
            .position(|e| e.section == 4)
            .or_else(|| {
                self.entries
                    .iter()
                    .rposition(|(e, _, _)| e.section == 3)
                    .map(|i| i + 1)
            })
            .unwrap_or(self.entries.len());
        let mut out =
            Vec::with_capacity(self.bytes.len() + new_entries.iter().map(Vec::len).sum::<usize>());
        out.extend_from_slice(&self.bytes[..self.count_at]);
        self.put_int(&mut out, (self.entries.len() + new_entries.len()) as i64);
        for (i, (entry, span, deps)) in self.entries.iter().enumerate() {
            if i == at {
                for e in &new_entries {
                    out.extend_from_slice(e);
                }
            }
            let extra: Vec<i32> = if entry.section == 4 {
                entry
                    .dependencies
                    .iter()
                    .filter_map(|d| extra_deps.get(d))
                    .flatten()
                    .copied()
                    .filter(|d| !entry.dependencies.contains(d))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            };
            if extra.is_empty() {
                out.extend_from_slice(&self.bytes[span.clone()]);
                continue;
            }
            // The dependency list ends with a NULL string (a sign byte, then the int's bytes).
            let null_at = deps.end as usize - (1 + self.header.int_size as usize);
            out.extend_from_slice(&self.bytes[span.start..null_at]);
            for d in extra {
                self.put_str(&mut out, Some(&d.to_string()));
            }
            out.extend_from_slice(&self.bytes[null_at..span.end]);
        }
        if at == self.entries.len() {
            for e in &new_entries {
                out.extend_from_slice(e);
            }
        }
        Ok(out)
    }

    fn data_entry(&self, a: &DataEntry, table: &TocEntry) -> Vec<u8> {
        let mut out = Vec::new();
        self.put_int(&mut out, a.dump_id as i64);
        self.put_int(&mut out, 1); // hadDumper
        self.put_str(&mut out, Some(&table.table_oid.to_string()));
        self.put_str(&mut out, Some(&table.oid.to_string()));
        self.put_str(&mut out, Some(&table.tag));
        self.put_str(&mut out, Some("TABLE DATA"));
        self.put_int(&mut out, 3); // SECTION_DATA
        self.put_str(&mut out, None); // defn
        self.put_str(&mut out, None); // dropStmt
        self.put_str(&mut out, Some(&a.copy_stmt));
        self.put_str(&mut out, table.namespace.as_deref());
        self.put_str(&mut out, None); // tablespace
        if self.header.at_least(14) {
            self.put_str(&mut out, None); // tableam
        }
        if self.header.at_least(16) {
            self.put_int(&mut out, 0); // relkind: not set for TABLE DATA
        }
        self.put_str(&mut out, table.owner.as_deref());
        self.put_str(&mut out, Some("false"));
        for d in &a.dependencies {
            self.put_str(&mut out, Some(&d.to_string()));
        }
        self.put_str(&mut out, None);
        self.put_str(&mut out, Some(&format!("{}.dat", a.dump_id)));
        out
    }

    /// `WriteInt`: a sign byte, then the header's int size in bytes, least significant first.
    fn put_int(&self, out: &mut Vec<u8>, v: i64) {
        out.push(u8::from(v < 0));
        let abs = v.unsigned_abs();
        for i in 0..self.header.int_size as usize {
            out.push(if i < 8 { (abs >> (8 * i)) as u8 } else { 0 });
        }
    }

    /// `WriteStr`: the length (-1: NULL), then the bytes.
    fn put_str(&self, out: &mut Vec<u8>, s: Option<&str>) {
        match s {
            Some(s) => {
                self.put_int(out, s.len() as i64);
                out.extend_from_slice(s.as_bytes());
            }
            None => self.put_int(out, -1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toc.dat of format 1.14 with int size 4: ENCODING, TABLE t (id 2), TABLE DATA (id 3),
    /// an INDEX on t (id 4, post-data).
    pub(crate) fn sample() -> Vec<u8> {
        let header = Header {
            version: (1, 14, 0),
            int_size: 4,
            off_size: 8,
            compression: super::super::Compression::None,
            created: [2026, 1, 1, 0, 0, 0],
            dbname: String::new(),
            server_version: None,
            pg_dump_version: None,
        };
        let w = TocRewrite {
            bytes: Vec::new(),
            header,
            count_at: 0,
            entries: Vec::new(),
        };
        let mut out = b"PGDMP".to_vec();
        out.extend_from_slice(&[1, 14, 0, 4, 8, 3]);
        w.put_int(&mut out, 0); // compression
        for v in [0, 0, 0, 1, 0, 126, 0] {
            w.put_int(&mut out, v);
        }
        w.put_str(&mut out, Some("db"));
        w.put_str(&mut out, Some("15.18"));
        w.put_str(&mut out, Some("15.18"));
        w.put_int(&mut out, 4);
        let entry = |out: &mut Vec<u8>,
                     id: i64,
                     desc: &str,
                     section: i64,
                     deps: &[&str],
                     file: Option<&str>| {
            w.put_int(out, id);
            w.put_int(out, i64::from(file.is_some()));
            w.put_str(out, Some("1259"));
            w.put_str(out, Some("16384"));
            w.put_str(out, Some("t"));
            w.put_str(out, Some(desc));
            w.put_int(out, section);
            w.put_str(out, Some("CREATE …;\n"));
            w.put_str(out, Some(""));
            w.put_str(
                out,
                (desc == "TABLE DATA").then_some("COPY public.t (a) FROM stdin;\n"),
            );
            w.put_str(out, Some("public"));
            w.put_str(out, Some(""));
            w.put_str(out, Some("heap"));
            w.put_str(out, Some("owner"));
            w.put_str(out, Some("false"));
            for d in deps {
                w.put_str(out, Some(d));
            }
            w.put_str(out, None);
            w.put_str(out, file);
        };
        entry(&mut out, 1, "ENCODING", 1, &[], None);
        entry(&mut out, 2, "TABLE", 2, &[], None);
        entry(&mut out, 3, "TABLE DATA", 3, &["2"], Some("3.dat"));
        entry(&mut out, 4, "INDEX", 4, &["2", "1"], None);
        out
    }

    #[test]
    fn nothing_added_is_the_same_bytes() {
        let bytes = sample();
        let toc = TocRewrite::parse(bytes.clone()).unwrap();
        assert_eq!(toc.max_dump_id(), 4);
        assert_eq!(toc.write(&[], &BTreeMap::new()).unwrap(), bytes);
    }

    #[test]
    fn ranges_are_added_before_post_data_and_post_data_waits_for_them() {
        let toc = TocRewrite::parse(sample()).unwrap();
        let added = vec![
            DataEntry {
                dump_id: 5,
                table_id: 2,
                dependencies: vec![2],
                copy_stmt: "COPY public.t (a) FROM stdin;\n".into(),
            },
            DataEntry {
                dump_id: 6,
                table_id: 2,
                dependencies: vec![5, 2],
                copy_stmt: "COPY public.t (a) FROM stdin;\n".into(),
            },
        ];
        let extra = BTreeMap::from([(2, vec![5, 6])]);
        let bytes = toc.write(&added, &extra).unwrap();
        let (_, entries) = super::super::read_directory_toc(bytes.as_slice()).unwrap();
        let ids: Vec<i32> = entries.iter().map(|e| e.dump_id).collect();
        assert_eq!(ids, [1, 2, 3, 5, 6, 4]);
        let five = &entries[3];
        assert_eq!(five.desc, "TABLE DATA");
        assert_eq!(five.tag, "t");
        assert_eq!(five.namespace.as_deref(), Some("public"));
        assert_eq!(five.owner.as_deref(), Some("owner"));
        assert_eq!((five.table_oid, five.oid), (1259, 16384));
        assert_eq!(
            five.copy_stmt.as_deref(),
            Some("COPY public.t (a) FROM stdin;\n")
        );
        assert_eq!(five.defn, None);
        assert_eq!(five.data_state, super::super::DataState::NotSet);
        assert_eq!(entries[4].dependencies, [5, 2]);
        assert_eq!(entries[5].dependencies, [2, 1, 5, 6]);
        // The entries pg_dump wrote are otherwise untouched.
        let again = TocRewrite::parse(bytes).unwrap();
        assert_eq!(again.entries().next(), toc.entries().next());
    }

    #[test]
    fn a_dump_id_already_taken_or_no_table_is_refused() {
        let toc = TocRewrite::parse(sample()).unwrap();
        let e = |dump_id, table_id| DataEntry {
            dump_id,
            table_id,
            dependencies: vec![table_id],
            copy_stmt: String::new(),
        };
        assert!(toc.write(&[e(4, 2)], &BTreeMap::new()).is_err());
        assert!(toc.write(&[e(9, 3)], &BTreeMap::new()).is_err());
    }

    #[test]
    fn trailing_bytes_are_damage() {
        let mut bytes = sample();
        bytes.push(0);
        assert!(TocRewrite::parse(bytes).is_err());
    }
}
