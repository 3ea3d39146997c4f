//! Bounded-memory row matching: each side's rows go to `P` private temporary files by a hash of
//! their key; then partition by partition, FROM's rows are held in a hash table and TO's
//! streamed past it. See the module description of [`super`].

use super::{RowChange, RowChangeKind};
use crate::browse::{CopyRow, MAX_ROW, MAX_SHOWN_VALUE};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// About this many bytes of rows per partition (what one partition holds in memory).
pub const PART_BUDGET: u64 = 16 << 20;
/// At most this many partitions (open files per side while spilling).
pub const MAX_PARTS: usize = 256;
/// Write buffer per partition file.
const WRITE_BUFFER: usize = 8 << 10;

/// Partitions for a table of about `bytes` bytes of rows on its larger side.
pub fn parts_for(bytes: u64) -> usize {
    (bytes.div_ceil(PART_BUDGET) as usize).clamp(1, MAX_PARTS)
}

/// How a side's line becomes the compared row and its key.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    /// Field indices of the compared columns, in the compared order (`None`: the line as is).
    pub pick: Option<Vec<usize>>,
    /// Field indices (into the picked row) of the key (`None`: the whole row is the key).
    pub key: Option<Vec<usize>>,
    /// Fields a line must have.
    pub fields: usize,
}

/// One side's rows, being written to partitions: records ([`Spill::push_record`], what the
/// diff spills) or, in the partition tests, lines projected here.
pub struct Spill {
    files: Vec<BufWriter<File>>,
    paths: Vec<PathBuf>,
    #[cfg_attr(not(test), allow(dead_code))]
    proj: Projection,
    /// The key's field indices in the line as read.
    #[cfg_attr(not(test), allow(dead_code))]
    key_fields: Option<Vec<usize>>,
    pub rows: u64,
    #[cfg_attr(not(test), allow(dead_code))]
    ranges: Vec<(usize, usize)>,
    #[cfg_attr(not(test), allow(dead_code))]
    row: Vec<u8>,
    #[cfg_attr(not(test), allow(dead_code))]
    key: Vec<u8>,
}

/// A side's rows, written.
pub struct Spilled {
    paths: Vec<PathBuf>,
}

fn io(what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(format!("diff: {what}"), e)
}

impl Spill {
    /// Partition files `NAME-<i>` in the private folder `dir`.
    pub fn new(dir: &Path, name: &str, parts: usize, proj: Projection) -> Result<Spill> {
        let mut files = Vec::with_capacity(parts);
        let mut paths = Vec::with_capacity(parts);
        for i in 0..parts {
            let path = dir.join(format!("{name}-{i}"));
            let f = crate::private_fs::create_new(&path).map_err(io("a temporary file"))?;
            files.push(BufWriter::with_capacity(WRITE_BUFFER, f));
            paths.push(path);
        }
        let key_fields = proj.key.as_ref().map(|k| {
            k.iter()
                .map(|&i| proj.pick.as_ref().map_or(i, |p| p[i]))
                .collect()
        });
        Ok(Spill {
            files,
            paths,
            key_fields,
            proj,
            rows: 0,
            ranges: Vec::new(),
            row: Vec::new(),
            key: Vec::new(),
        })
    }

    /// One line of COPY text (without `\n`).
    #[cfg(test)]
    pub fn push(&mut self, line: &[u8]) -> Result<()> {
        self.rows += 1;
        split_fields(line, self.proj.fields, &mut self.ranges)?;
        if let Some(pick) = &self.proj.pick {
            self.row.clear();
            join_fields(line, &self.ranges, pick, &mut self.row);
        }
        if let Some(k) = &self.key_fields {
            self.key.clear();
            join_fields(line, &self.ranges, k, &mut self.key);
        }
        let row: &[u8] = if self.proj.pick.is_some() {
            &self.row
        } else {
            line
        };
        let (key, value): (&[u8], &[u8]) = match &self.key_fields {
            None => (row, &[]),
            Some(_) => (&self.key, row),
        };
        write_record(&mut self.files, key, value)
    }

    /// One record as it is: `key` and its row (`value` empty when the key is the row).
    pub fn push_record(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.rows += 1;
        write_record(&mut self.files, key, value)
    }

    pub fn finish(self) -> Result<Spilled> {
        for mut f in self.files {
            f.flush().map_err(io("writing a temporary file"))?;
        }
        Ok(Spilled { paths: self.paths })
    }
}

impl Spilled {
    /// Deletes the partition files (the private folder they are in goes at the end anyway).
    pub fn remove(&self) {
        for p in &self.paths {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The keys of the diff's hashes: an installation's own (see [`set_hash_keys`]), else drawn at
/// random once per process.
static HASH_KEYS: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();

/// Key the diff's hashes (the spill partitions, the table of pending rows) with `keys`, secret
/// and kept by the installation (the engine sets them from its data folder when it opens), so
/// that a table's pages come in the same order from one run to the next. The first call wins.
pub fn set_hash_keys(keys: (u64, u64)) {
    let _ = HASH_KEYS.set(keys);
}

/// The diff's hasher: SipHash-1-3 under keys no one who writes the rows knows, so no one can
/// choose keys that all land in one partition (breaking the memory bound) or one bucket.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keyed;

impl BuildHasher for Keyed {
    type Hasher = siphasher::sip::SipHasher13;
    fn build_hasher(&self) -> Self::Hasher {
        let (k0, k1) = *HASH_KEYS.get_or_init(|| {
            let s = std::hash::RandomState::new();
            (s.hash_one(0u8), s.hash_one(1u8))
        });
        siphasher::sip::SipHasher13::new_with_keys(k0, k1)
    }
}

/// The partition of `key` among `parts` (both sides of a diff partition alike).
pub fn partition_of(key: &[u8], parts: usize) -> usize {
    (Keyed.hash_one(key) % parts.max(1) as u64) as usize
}

/// Writes one record to its partition (by a hash of `key`).
fn write_record(files: &mut [BufWriter<File>], key: &[u8], value: &[u8]) -> Result<()> {
    let part = partition_of(key, files.len());
    let f = &mut files[part];
    let w = io("writing a temporary file");
    f.write_all(&(key.len() as u32).to_le_bytes()).map_err(&w)?;
    f.write_all(key).map_err(&w)?;
    f.write_all(&(value.len() as u32).to_le_bytes())
        .map_err(&w)?;
    f.write_all(value).map_err(&w)
}

/// The fields `pick` of `line` joined by tabs, appended to `out`.
pub fn join_fields(line: &[u8], ranges: &[(usize, usize)], pick: &[usize], out: &mut Vec<u8>) {
    for (n, &i) in pick.iter().enumerate() {
        if n > 0 {
            out.push(b'\t');
        }
        let (a, b) = ranges[i];
        out.extend_from_slice(&line[a..b]);
    }
}

/// One record of a partition file: (key, row); the row is empty when the key is the row.
fn read_record(r: &mut impl Read) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io("reading a temporary file")(e)),
    }
    let key = read_part(r, len)?;
    r.read_exact(&mut len)
        .map_err(io("reading a temporary file"))?;
    let value = read_part(r, len)?;
    Ok(Some((key, value)))
}

fn read_part(r: &mut impl Read, len: [u8; 4]) -> Result<Vec<u8>> {
    let n = u32::from_le_bytes(len) as usize;
    if n > MAX_ROW {
        return Err(Error::internal("diff: a temporary file is damaged"));
    }
    let mut v = vec![0u8; n];
    r.read_exact(&mut v)
        .map_err(io("reading a temporary file"))?;
    Ok(v)
}

/// The counts of one table's comparison.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub unchanged: u64,
}

/// Which changed rows to keep, and what they are shown with.
pub struct RowWindow {
    pub offset: u64,
    pub limit: u64,
    /// The compared columns' names, in the compared order.
    pub columns: Vec<String>,
    /// Key field indices (into the compared row); `None`: whole rows.
    pub key: Option<Vec<usize>>,
}

/// What [`compare`] found.
pub struct Compared {
    pub counts: Counts,
    pub rows: Vec<RowChange>,
    pub more: bool,
}

/// The counts and the page of changed rows of one table, as its rows are matched (whatever
/// matches them: [`compare_into`], or [`super::lockstep`]).
pub struct Collector<'w> {
    window: Option<&'w RowWindow>,
    seen: u64,
    pub out: Compared,
}

impl<'w> Collector<'w> {
    /// With `window`, keeps that page of the changed rows, in the order they are reported.
    pub fn new(window: Option<&'w RowWindow>) -> Collector<'w> {
        Collector {
            window,
            seen: 0,
            out: Compared {
                counts: Counts::default(),
                rows: Vec::new(),
                more: false,
            },
        }
    }

    pub fn unchanged(&mut self) {
        self.out.counts.unchanged += 1;
    }

    /// A row whose key both sides have, with different values (the compared rows).
    pub fn changed(&mut self, before: &[u8], after: &[u8]) {
        self.out.counts.changed += 1;
        self.keep(RowChangeKind::Changed, Some(before), Some(after));
    }

    pub fn added(&mut self, row: &[u8]) {
        self.out.counts.added += 1;
        self.keep(RowChangeKind::Added, None, Some(row));
    }

    pub fn removed(&mut self, row: &[u8]) {
        self.out.counts.removed += 1;
        self.keep(RowChangeKind::Removed, Some(row), None);
    }

    fn keep(&mut self, kind: RowChangeKind, before: Option<&[u8]>, after: Option<&[u8]>) {
        let Some(w) = self.window else { return };
        self.seen += 1;
        if self.seen <= w.offset {
            return;
        }
        if self.out.rows.len() as u64 >= w.limit {
            self.out.more = true;
            return;
        }
        self.out.rows.push(row_change(w, kind, before, after));
    }
}

/// A COPY text row's fields as byte ranges into `ranges` (cleared first); a row whose field count
/// is not the table's is refused. Shared by the lockstep reader and the partitions.
pub(super) fn split_fields(
    line: &[u8],
    fields: usize,
    ranges: &mut Vec<(usize, usize)>,
) -> Result<()> {
    ranges.clear();
    let mut start = 0;
    for i in memchr::memchr_iter(b'\t', line) {
        ranges.push((start, i));
        start = i + 1;
    }
    ranges.push((start, line.len()));
    if ranges.len() != fields {
        return Err(Error::integrity(format!(
            "a row has {} fields where its table has {fields} columns",
            ranges.len()
        )));
    }
    Ok(())
}

struct Held {
    row: Vec<u8>,
    count: u32,
}

/// Matches FROM's and TO's partitions; with `window`, keeps that page of the changed rows
/// (per partition: TO's changes in TO's order, then FROM's removed rows by key).
#[cfg(test)]
pub fn compare(
    from: &Spilled,
    to: &Spilled,
    window: Option<&RowWindow>,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<Compared> {
    let mut c = Collector::new(window);
    compare_into(from, to, &mut c, cancel)?;
    Ok(c.out)
}

/// [`compare`], reporting to `out`.
pub fn compare_into(
    from: &Spilled,
    to: &Spilled,
    out: &mut Collector<'_>,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<()> {
    for (fp, tp) in from.paths.iter().zip(&to.paths) {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let mut held: HashMap<Vec<u8>, Held> = HashMap::new();
        let mut r = BufReader::with_capacity(64 << 10, File::open(fp).map_err(io("a file"))?);
        while let Some((key, row)) = read_record(&mut r)? {
            held.entry(key)
                .and_modify(|h| h.count += 1)
                .or_insert(Held { row, count: 1 });
        }
        let mut r = BufReader::with_capacity(64 << 10, File::open(tp).map_err(io("a file"))?);
        while let Some((key, row)) = read_record(&mut r)? {
            match held.get_mut(&key) {
                Some(h) if h.count > 0 => {
                    h.count -= 1;
                    if h.row == row {
                        out.unchanged();
                    } else {
                        out.changed(whole(&key, &h.row), whole(&key, &row));
                    }
                }
                _ => out.added(whole(&key, &row)),
            }
        }
        let mut left: Vec<(Vec<u8>, Held)> =
            held.into_iter().filter(|(_, h)| h.count > 0).collect();
        left.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, h) in left {
            for _ in 0..h.count {
                out.removed(whole(&key, &h.row));
            }
        }
    }
    Ok(())
}

/// The compared row: the value, or the key when the key is the whole row.
fn whole<'a>(key: &'a [u8], row: &'a [u8]) -> &'a [u8] {
    if row.is_empty() && !key.is_empty() {
        key
    } else {
        row
    }
}

fn shown(f: Option<&[u8]>) -> Option<String> {
    f.map(|b| {
        if b.len() > MAX_SHOWN_VALUE {
            let mut s = String::from_utf8_lossy(&b[..MAX_SHOWN_VALUE]).into_owned();
            s.push('…');
            s
        } else {
            String::from_utf8_lossy(b).into_owned()
        }
    })
}

fn row_change(
    w: &RowWindow,
    kind: RowChangeKind,
    before: Option<&[u8]>,
    after: Option<&[u8]>,
) -> RowChange {
    let decode = |line: Option<&[u8]>| {
        line.map(|l| {
            let mut r = CopyRow::default();
            r.decode(l);
            r
        })
    };
    let (b, a) = (decode(before), decode(after));
    let either = a.as_ref().or(b.as_ref()).expect("one side is given");
    let key = w
        .key
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|&i| super::KeyValue {
            column: w.columns.get(i).cloned().unwrap_or_default(),
            value: shown(either.field(i)),
        })
        .collect();
    let mut columns = Vec::new();
    for (i, name) in w.columns.iter().enumerate() {
        let (bv, av) = (
            b.as_ref().and_then(|r| r.field(i)),
            a.as_ref().and_then(|r| r.field(i)),
        );
        if kind == RowChangeKind::Changed && bv == av {
            continue;
        }
        columns.push(super::ValueChange {
            column: name.clone(),
            before: shown(bv),
            after: shown(av),
        });
    }
    RowChange { kind, key, columns }
}
