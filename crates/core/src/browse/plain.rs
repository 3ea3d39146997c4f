//! A plain SQL dump's tables (`database.sql`: an imported pg_dump plain file, a per-tenant
//! archive), read through the plain-SQL gate ([`crate::plainsql::Splitter`]: psql's rules,
//! meta-commands refused). A table's rows are the lines after its exact `COPY schema.table
//! (cols) FROM stdin;` up to its `\.`, handed to the same row reader as a custom or directory
//! dump's ([`TableRows`]). What stands in for a TOC is what pg_dump's `-- Name: …; Type: …;
//! Schema: …` headers say of the statement under each (table and type definitions, constraints:
//! column types and primary keys), bounded.
//!
//! The file is hostile: every line and statement is bounded by [`MAX_ROW`], the statements
//! kept by [`MAX_KEPT`] bytes, the tables by [`MAX_TABLES`].

use super::coltypes::Definitions;
use super::create_table::MAX_DEFN;
use super::tables::{Opened, TableRows};
use super::MAX_ROW;
use crate::archive::DATABASE_SQL_MEMBER;
use crate::error::{Error, ErrorKind, Result};
use crate::pgdump::{parse_copy_stmt, DataState, TocEntry};
use crate::plainsql::{entry_header, is_copy_from_stdin, EntryHeader, Piece, Splitter};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// The most bytes of definitions kept (beyond: types and keys are not shown, rows still read).
const MAX_KEPT: usize = 64 << 20;

/// The most tables with data one plain dump may list.
pub(super) const MAX_TABLES: usize = 1_000_000;

/// What the scan has seen.
#[derive(Default)]
struct State {
    header: Option<EntryHeader>,
    /// Definitions (TABLE, TYPE, CONSTRAINT; `defn`) and tables with data (TABLE DATA;
    /// `copy_stmt`), in the file's order.
    entries: Vec<TocEntry>,
    /// Per entry: rows and bytes of COPY data (zero for definitions).
    counts: Vec<(u64, u64)>,
    kept: usize,
    /// The TABLE DATA entry whose rows are being read.
    copy: Option<usize>,
    /// A COPY statement ended on the last line pushed: its entry.
    started: Option<usize>,
}

fn entry(desc: &str, tag: String, namespace: String) -> TocEntry {
    TocEntry {
        dump_id: 0,
        had_dumper: false,
        table_oid: 0,
        oid: 0,
        tag,
        desc: desc.to_string(),
        section: 0,
        defn: None,
        drop_stmt: None,
        copy_stmt: None,
        namespace: Some(namespace),
        tablespace: None,
        tableam: None,
        relkind: None,
        owner: None,
        dependencies: Vec::new(),
        data_state: DataState::NoData,
    }
}

impl State {
    fn piece(&mut self, p: Piece) -> Result<()> {
        match p {
            Piece::Between(b) => {
                if let Some(h) = entry_header(&b) {
                    self.header = Some(h);
                }
            }
            Piece::Statement(s) if is_copy_from_stdin(&s) => {
                self.header = None;
                let text = std::str::from_utf8(&s).map_err(|_| {
                    Error::new(
                        ErrorKind::UnsupportedFormat,
                        "a COPY statement of the SQL dump is not UTF-8",
                    )
                })?;
                let t = parse_copy_stmt(text.trim_end())?;
                if self.entries.len() >= MAX_TABLES {
                    return Err(Error::new(
                        ErrorKind::UnsupportedFormat,
                        format!("the SQL dump has more than {MAX_TABLES} COPY blocks"),
                    ));
                }
                let mut e = entry("TABLE DATA", t.table, t.schema);
                e.dump_id = i32::try_from(self.entries.len()).unwrap_or(i32::MAX);
                e.copy_stmt = Some(text.to_string());
                self.entries.push(e);
                self.counts.push((0, 0));
                self.copy = Some(self.entries.len() - 1);
                self.started = self.copy;
            }
            Piece::Statement(s) => {
                // The first statement under a header is its entry's definition.
                let Some(h) = self.header.take() else {
                    return Ok(());
                };
                let wanted = !h.data && matches!(h.desc.as_str(), "TABLE" | "TYPE" | "CONSTRAINT");
                if wanted
                    && s.len() <= MAX_DEFN
                    && self.kept + s.len() <= MAX_KEPT
                    && self.entries.len() < MAX_TABLES
                {
                    self.kept += s.len();
                    let mut e = entry(&h.desc, h.tag, h.schema);
                    e.defn = Some(String::from_utf8_lossy(&s).into_owned());
                    self.entries.push(e);
                    self.counts.push((0, 0));
                }
            }
            Piece::CopyData(l) => {
                if let Some(i) = self.copy {
                    if l == b"\\.\n" || l == b"\\.\r\n" || l == b"\\." {
                        self.copy = None;
                    } else {
                        self.counts[i].0 += 1;
                        self.counts[i].1 += l.len() as u64;
                    }
                }
            }
            Piece::Meta(_) => {}
        }
        Ok(())
    }
}

/// A plain dump read line by line through the gate.
struct Scan {
    splitter: Splitter,
    state: State,
}

impl Scan {
    fn new() -> Self {
        Scan {
            splitter: Splitter::new(),
            state: State::default(),
        }
    }

    /// Feeds one line (with its `\n`, if it has one).
    fn push(&mut self, line: &[u8]) -> Result<()> {
        let state = &mut self.state;
        let r = self.splitter.push(line, &mut |p| state.piece(p));
        self.check(r)?;
        if self.splitter.pending() > MAX_ROW {
            return Err(too_long());
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let state = &mut self.state;
        let r = self.splitter.finish(&mut |p| state.piece(p));
        if !self.check(r)? {
            return Err(Error::new(
                ErrorKind::UnsupportedFormat,
                "the SQL dump ends inside a statement, a quote or COPY data",
            ));
        }
        Ok(())
    }

    /// The gate's refusal in its own words.
    fn check<T>(&self, r: Result<T>) -> Result<T> {
        r.map_err(|e| match self.splitter.failure() {
            Some(l) => l.to_error("its rows were not read"),
            None => e,
        })
    }
}

fn too_long() -> Error {
    Error::new(
        ErrorKind::UnsupportedFormat,
        format!(
            "a line or statement of the SQL dump is larger than {} MiB; it is not read here",
            MAX_ROW >> 20
        ),
    )
}

/// The next line (with its `\n`) into `line`; `false` at the end.
fn read_line(r: &mut impl BufRead, line: &mut Vec<u8>) -> Result<bool> {
    line.clear();
    let n = r
        .take(MAX_ROW as u64 + 1)
        .read_until(b'\n', line)
        .map_err(|e| crate::pgdump::io_error(e, "reading the SQL dump"))?;
    if n > MAX_ROW && line.last() != Some(&b'\n') {
        return Err(too_long());
    }
    Ok(n > 0)
}

fn sql_reader<'a>(
    path: &Path,
    o: &'a mut Opened,
    cancel: &CancellationToken,
) -> Result<BufReader<crate::archive::random_access::MemberReader<'a>>> {
    let span = o.seeker.find(DATABASE_SQL_MEMBER, cancel)?.ok_or_else(|| {
        Error::integrity(format!(
            "{}: the manifest lists {DATABASE_SQL_MEMBER} but the archive has no such member",
            path.display()
        ))
    })?;
    Ok(BufReader::with_capacity(
        256 << 10,
        o.seeker.member_reader(span),
    ))
}

/// A plain dump's entries, and per entry its rows and bytes of COPY data.
pub(super) type PlainToc = (Vec<TocEntry>, Vec<(u64, u64)>);

/// What a plain dump holds: its definitions and tables with data (entries), and per entry
/// its rows and bytes of COPY data. Reads the whole dump once.
pub(super) fn plain_toc(
    path: &Path,
    o: &mut Opened,
    cancel: &CancellationToken,
) -> Result<PlainToc> {
    let mut r = sql_reader(path, o, cancel)?;
    let mut scan = Scan::new();
    scan_until(&mut r, &mut scan, cancel, |_| None::<()>)?;
    scan.finish()?;
    Ok((scan.state.entries, scan.state.counts))
}

/// Opens `schema.table`'s rows in a plain dump (read through the gate up to its COPY
/// statement) and calls `f` with them.
pub(super) fn with_plain_table<T>(
    path: &Path,
    o: &mut Opened,
    schema: &str,
    table: &str,
    cancel: &CancellationToken,
    f: &mut dyn FnMut(&mut TableRows<'_>) -> Result<T>,
) -> Result<T> {
    let total_rows = o.manifest.table(schema, table).map(|c| c.rows);
    let mut r = sql_reader(path, o, cancel)?;
    let mut scan = Scan::new();
    let found = scan_until(&mut r, &mut scan, cancel, |scan| {
        let i = scan.state.started.take()?;
        let e = &scan.state.entries[i];
        (e.namespace.as_deref() == Some(schema) && e.tag == table).then_some(i)
    })?;
    if let Some(i) = found {
        let e = &scan.state.entries[i];
        let columns = e
            .copy_stmt
            .as_deref()
            .map(|s| parse_copy_stmt(s.trim_end()))
            .transpose()?
            .map(|t| t.columns)
            .unwrap_or_default();
        let types = Definitions::new(&scan.state.entries).column_types(schema, table, &columns);
        let mut rows = TableRows {
            columns,
            types,
            total_rows,
            // A plain dump declares its keys after the data: not known here.
            key: Vec::new(),
            lines: Box::new(r),
        };
        return f(&mut rows);
    }
    scan.finish()?;
    Err(super::tables::no_table(path, schema, table))
}

/// Feeds the dump's lines through the gate until `stop` (asked after each line) gives a value,
/// or the dump ends (`None`). Checks for cancelling every 4,096 lines.
fn scan_until<T>(
    r: &mut impl BufRead,
    scan: &mut Scan,
    cancel: &CancellationToken,
    mut stop: impl FnMut(&mut Scan) -> Option<T>,
) -> Result<Option<T>> {
    let (mut line, mut n) = (Vec::new(), 0u64);
    while read_line(r, &mut line)? {
        n += 1;
        if n.is_multiple_of(4096) && cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        scan.push(&line)?;
        if let Some(t) = stop(scan) {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Result<State> {
        let mut s = Scan::new();
        for line in text.split_inclusive('\n') {
            s.push(line.as_bytes())?;
        }
        s.finish()?;
        Ok(s.state)
    }

    const DUMP: &str = "--\n-- Name: t; Type: TABLE; Schema: public; Owner: me\n--\n\n\
CREATE TABLE public.t (\n    id integer NOT NULL,\n    body text\n);\n\n\
CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $$\nCOPY public.x (a) FROM stdin;\n1\n\\.\n$$;\n\n\
--\n-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: me\n--\n\n\
COPY public.t (id, body) FROM stdin;\n1\ta\n2\t\\N\n\\.\n\n\
--\n-- Name: t t_pkey; Type: CONSTRAINT; Schema: public; Owner: me\n--\n\n\
ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n";

    #[test]
    fn tables_definitions_and_counts_come_from_the_gate_not_from_look_alikes() {
        let s = scan(DUMP).unwrap();
        let data: Vec<_> = s
            .entries
            .iter()
            .zip(&s.counts)
            .filter(|(e, _)| e.desc == "TABLE DATA")
            .map(|(e, c)| (e.tag.as_str(), *c))
            .collect();
        // The COPY inside the function's dollar quotes is not a table.
        assert_eq!(data, [("t", (2, 9))]);
        let descs: Vec<&str> = s.entries.iter().map(|e| e.desc.as_str()).collect();
        assert_eq!(descs, ["TABLE", "TABLE DATA", "CONSTRAINT"]);
        let defs = Definitions::new(&s.entries);
        let types = defs.column_types("public", "t", &["id".into(), "body".into()]);
        assert_eq!(types.types, [Some("integer".into()), Some("text".into())]);
    }

    #[test]
    fn hostile_plain_dumps_are_refused() {
        for (bad, why) in [
            ("\\! touch /tmp/x\n", "psql command"),
            (
                "COPY public.t (id) FROM stdin; SELECT 1;\n1\n\\.\n",
                "more on the line",
            ),
            ("COPY public.t (id) FROM stdin;\n1\n", "ends inside"),
            ("COPY t (id) FROM stdin;\n1\n\\.\n", "schema-qualified"),
            ("SELECT 'unterminated\n", "ends inside"),
        ] {
            let e = scan(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} was read"));
            assert!(e.message().contains(why), "{bad:?}: {}", e.message());
        }
    }
}
