//! Bounded-memory row matching: a hybrid hash join on row digests. Each row is reduced to its
//! key (the exact bytes of the key's fields) and a 128-bit digest of the compared row (SipHash
//! with keys drawn at random for this diff). Rows go to one of `P` partitions by a hash of the
//! key: FROM's partition 0 is held in memory as it is read and TO's rows of partition 0 are
//! matched against it as they arrive; the other partitions (only when the table does not fit
//! [`MEMORY_BUDGET`]) are written as `(key, digest)` records to private temporary files and
//! matched one at a time afterwards. The changed rows of a page (`--rows`) are then read again
//! by key ([`Fetch`]). See the module description of [`super`].

use super::{RowChange, RowChangeKind};
use crate::browse::{CopyRow, MAX_ROW, MAX_SHOWN_VALUE};
use crate::error::{Error, Result};
use hashbrown::HashTable;
use siphasher::sip128::{Hasher128, SipHasher13};
use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher, RandomState};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// About this many bytes of held rows (hash table and keys) at a time.
pub const MEMORY_BUDGET: u64 = 24 << 20;
/// At most this many partitions (open files per side while spilling).
pub const MAX_PARTS: usize = 256;
/// What one held row costs besides its key's bytes (entry, hash table slack).
pub const ROW_COST: u64 = 48;
/// Write buffer per partition file.
const WRITE_BUFFER: usize = 32 << 10;
/// Read buffer of a partition file.
const READ_BUFFER: usize = 256 << 10;

/// Partitions for a table whose rows would take about `held` bytes to hold (see
/// [`held_bytes`]).
pub fn parts_for(held: u64) -> usize {
    (held.div_ceil(MEMORY_BUDGET) as usize).clamp(1, MAX_PARTS)
}

/// What holding `rows` rows whose keys take `key_bytes` in all costs.
pub fn held_bytes(rows: u64, key_bytes: u64) -> u64 {
    rows.saturating_mul(ROW_COST).saturating_add(key_bytes)
}

/// Receives a table's COPY text, line by line (without `\n`).
pub trait Lines {
    fn line(&mut self, line: &[u8]) -> Result<()>;
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

/// Splits one side's lines into the compared row and its key, without allocating per row.
struct Shape {
    proj: Projection,
    /// The key's field indices in the line as read.
    key_fields: Option<Vec<usize>>,
    ranges: Vec<(usize, usize)>,
    row: Vec<u8>,
    key: Vec<u8>,
}

impl Shape {
    fn new(proj: Projection) -> Shape {
        let key_fields = proj.key.as_ref().map(|k| {
            k.iter()
                .map(|&i| proj.pick.as_ref().map_or(i, |p| p[i]))
                .collect()
        });
        Shape {
            proj,
            key_fields,
            ranges: Vec::new(),
            row: Vec::new(),
            key: Vec::new(),
        }
    }

    /// `(key, row)` of `line`; the key is the row itself when the table has no key.
    fn split<'a>(&'a mut self, line: &'a [u8]) -> Result<(&'a [u8], &'a [u8])> {
        self.ranges.clear();
        let mut start = 0;
        for i in memchr::memchr_iter(b'\t', line) {
            self.ranges.push((start, i));
            start = i + 1;
        }
        self.ranges.push((start, line.len()));
        if self.ranges.len() != self.proj.fields {
            return Err(Error::integrity(format!(
                "a row has {} fields where its table has {} columns",
                self.ranges.len(),
                self.proj.fields
            )));
        }
        if let Some(pick) = &self.proj.pick {
            join(line, &self.ranges, pick, &mut self.row);
        }
        let row: &[u8] = if self.proj.pick.is_some() {
            &self.row
        } else {
            line
        };
        let key: &[u8] = match self.key_fields.as_deref() {
            None => row,
            Some(&[one]) => {
                let (a, b) = self.ranges[one];
                &line[a..b]
            }
            Some(k) => {
                join(line, &self.ranges, k, &mut self.key);
                &self.key
            }
        };
        Ok((key, row))
    }
}

/// The fields `pick` of `line` joined by tabs into `out`.
fn join(line: &[u8], ranges: &[(usize, usize)], pick: &[usize], out: &mut Vec<u8>) {
    out.clear();
    for (n, &i) in pick.iter().enumerate() {
        if n > 0 {
            out.push(b'\t');
        }
        let (a, b) = ranges[i];
        out.extend_from_slice(&line[a..b]);
    }
}

fn io(what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(format!("diff: {what}"), e)
}

/// A held row: its key's place in [`Held::keys`], how many FROM rows have that key (whole
/// rows: duplicates) not yet matched, and the digest of the (first) row.
#[derive(Clone, Copy)]
struct Entry {
    at: u32,
    len: u32,
    count: u32,
    digest: u128,
}

/// One partition of FROM, in memory.
struct Held {
    table: HashTable<Entry>,
    keys: Vec<u8>,
    state: RandomState,
}

enum Probe {
    Unchanged,
    Changed,
    Added,
}

impl Held {
    fn add(&mut self, key: &[u8], digest: u128) -> Result<()> {
        let Held { table, keys, state } = self;
        let h = state.hash_one(key);
        let at_key = |e: &Entry| &keys[e.at as usize..(e.at + e.len) as usize];
        if let Some(e) = table.find_mut(h, |e| at_key(e) == key) {
            e.count += 1;
            return Ok(());
        }
        let at = u32::try_from(keys.len())
            .ok()
            .filter(|at| at.checked_add(key.len() as u32).is_some())
            .ok_or_else(|| {
                Error::internal("diff: one partition's keys passed 4 GiB (the estimate was off)")
            })?;
        keys.extend_from_slice(key);
        let keys = &*keys;
        table.insert_unique(
            h,
            Entry {
                at,
                len: key.len() as u32,
                count: 1,
                digest,
            },
            |e| state.hash_one(&keys[e.at as usize..(e.at + e.len) as usize]),
        );
        Ok(())
    }

    fn probe(&mut self, key: &[u8], digest: u128) -> Probe {
        let Held { table, keys, state } = self;
        let h = state.hash_one(key);
        match table.find_mut(h, |e| &keys[e.at as usize..(e.at + e.len) as usize] == key) {
            Some(e) if e.count > 0 => {
                e.count -= 1;
                if e.digest == digest {
                    Probe::Unchanged
                } else {
                    Probe::Changed
                }
            }
            _ => Probe::Added,
        }
    }

    /// The rows left unmatched, by key, with their counts; the table is emptied.
    fn left(&mut self) -> Vec<(Vec<u8>, u32)> {
        let mut left: Vec<(Vec<u8>, u32)> = self
            .table
            .iter()
            .filter(|e| e.count > 0)
            .map(|e| {
                let k = &self.keys[e.at as usize..(e.at + e.len) as usize];
                (k.to_vec(), e.count)
            })
            .collect();
        left.sort_unstable();
        self.table.clear();
        self.keys.clear();
        left
    }
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
#[derive(Debug, Clone)]
pub struct RowWindow {
    pub offset: u64,
    pub limit: u64,
    /// The compared columns' names, in the compared order.
    pub columns: Vec<String>,
    /// Key field indices (into the compared row); `None`: whole rows.
    pub key: Option<Vec<usize>>,
}

/// A changed row of the page: its kind, key, and (once fetched) the row before and after.
#[derive(Debug, Clone)]
pub struct Picked {
    pub kind: RowChangeKind,
    pub key: Vec<u8>,
    pub before: Option<Vec<u8>>,
    pub after: Option<Vec<u8>>,
}

/// The page being filled, in the order changes are found.
struct Page {
    window: RowWindow,
    seen: u64,
    picked: Vec<Picked>,
    more: bool,
}

impl Page {
    fn keep(&mut self, kind: RowChangeKind, key: &[u8]) {
        self.seen += 1;
        if self.seen <= self.window.offset {
            return;
        }
        if self.picked.len() as u64 >= self.window.limit {
            self.more = true;
            return;
        }
        // Whole rows: the key is the row.
        let row = self.window.key.is_none().then(|| key.to_vec());
        self.picked.push(Picked {
            kind,
            key: key.to_vec(),
            before: row.clone().filter(|_| kind != RowChangeKind::Added),
            after: row.filter(|_| kind != RowChangeKind::Removed),
        });
    }
}

/// What [`Matcher::finish`] found.
pub struct Compared {
    pub counts: Counts,
    /// The page's changed rows (whole rows: with their values; by key: values still to fetch).
    pub picked: Vec<Picked>,
    pub more: bool,
}

/// One table's comparison: FROM's lines are fed, then TO's (see the module description).
pub struct Matcher {
    from: Shape,
    to: Shape,
    reading_to: bool,
    parts: usize,
    /// The current side's spill files (index 0 is held, never written).
    files: Vec<Option<BufWriter<File>>>,
    paths: [Vec<PathBuf>; 2],
    held: Held,
    seeds: (u64, u64),
    whole: bool,
    counts: Counts,
    page: Option<Page>,
    pub rows: [u64; 2],
    pub bytes: [u64; 2],
}

impl Matcher {
    /// A comparison in `parts` partitions, spilling to files `NAME-from-<i>`/`NAME-to-<i>` in
    /// the private folder `dir`; with `window`, the changed rows of that page are kept.
    pub fn new(
        dir: &Path,
        name: &str,
        parts: usize,
        from: Projection,
        to: Projection,
        window: Option<RowWindow>,
    ) -> Result<Matcher> {
        let parts = parts.clamp(1, MAX_PARTS);
        let paths = ["from", "to"].map(|side| {
            (0..parts)
                .map(|i| dir.join(format!("{name}-{side}-{i}")))
                .collect::<Vec<_>>()
        });
        let whole = from.key.is_none();
        let state = RandomState::new();
        let mut m = Matcher {
            from: Shape::new(from),
            to: Shape::new(to),
            reading_to: false,
            parts,
            files: Vec::new(),
            paths,
            held: Held {
                table: HashTable::new(),
                keys: Vec::new(),
                state: RandomState::new(),
            },
            seeds: (state.hash_one(1u8), state.hash_one(2u8)),
            whole,
            counts: Counts::default(),
            page: window.map(|window| Page {
                window,
                seen: 0,
                picked: Vec::new(),
                more: false,
            }),
            rows: [0; 2],
            bytes: [0; 2],
        };
        m.open_files(0)?;
        Ok(m)
    }

    fn open_files(&mut self, side: usize) -> Result<()> {
        self.files.clear();
        for (i, path) in self.paths[side].iter().enumerate() {
            self.files.push(if i == 0 {
                None
            } else {
                let f = crate::private_fs::create_new(path).map_err(io("a temporary file"))?;
                Some(BufWriter::with_capacity(WRITE_BUFFER, f))
            });
        }
        Ok(())
    }

    fn flush_files(&mut self) -> Result<()> {
        for f in self.files.iter_mut().flatten() {
            f.flush().map_err(io("writing a temporary file"))?;
        }
        self.files.clear();
        Ok(())
    }

    /// FROM's lines are all fed: TO's come next.
    pub fn from_done(&mut self) -> Result<()> {
        self.flush_files()?;
        self.reading_to = true;
        self.open_files(1)
    }

    fn digest(seeds: (u64, u64), whole: bool, row: &[u8]) -> u128 {
        if whole {
            return 0; // the key is the row
        }
        let mut h = SipHasher13::new_with_keys(seeds.0, seeds.1);
        h.write(row);
        h.finish128().as_u128()
    }

    fn matched(&mut self, key: &[u8], digest: u128) {
        matched(&mut self.held, &mut self.counts, &mut self.page, key, digest);
    }

    fn removed(&mut self) {
        for (key, count) in self.held.left() {
            self.counts.removed += u64::from(count);
            if let Some(p) = &mut self.page {
                for _ in 0..count {
                    p.keep(RowChangeKind::Removed, &key);
                }
            }
        }
    }

    /// Matches the spilled partitions and returns the counts and the page.
    pub fn finish(mut self, cancel: &CancellationToken) -> Result<Compared> {
        self.flush_files()?;
        self.removed();
        let mut key = Vec::new();
        for p in 1..self.parts {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            let mut r = open_part(&self.paths[0][p])?;
            while let Some(d) = read_record(&mut r, &mut key, self.whole)? {
                self.held.add(&key, d)?;
            }
            let mut r = open_part(&self.paths[1][p])?;
            while let Some(d) = read_record(&mut r, &mut key, self.whole)? {
                self.matched(&key, d);
            }
            self.removed();
            for side in &self.paths {
                let _ = std::fs::remove_file(&side[p]);
            }
        }
        let page = self.page.take();
        Ok(Compared {
            counts: self.counts,
            more: page.as_ref().is_some_and(|p| p.more),
            picked: page.map(|p| p.picked).unwrap_or_default(),
        })
    }
}

impl Lines for Matcher {
    fn line(&mut self, line: &[u8]) -> Result<()> {
        let side = usize::from(self.reading_to);
        self.rows[side] += 1;
        self.bytes[side] += line.len() as u64 + 1;
        let (seeds, whole, parts) = (self.seeds, self.whole, self.parts as u64);
        let shape = if self.reading_to {
            &mut self.to
        } else {
            &mut self.from
        };
        let (key, row) = shape.split(line)?;
        let digest = Matcher::digest(seeds, whole, row);
        let part = if parts == 1 {
            0
        } else {
            let mut h = DefaultHasher::new();
            key.hash(&mut h);
            (h.finish() % parts) as usize
        };
        if part == 0 {
            return if self.reading_to {
                matched(&mut self.held, &mut self.counts, &mut self.page, key, digest);
                Ok(())
            } else {
                self.held.add(key, digest)
            };
        }
        let f = self.files[part]
            .as_mut()
            .expect("spilled partitions have files");
        let w = io("writing a temporary file");
        f.write_all(&(key.len() as u32).to_le_bytes()).map_err(&w)?;
        f.write_all(key).map_err(&w)?;
        if !whole {
            f.write_all(&digest.to_le_bytes()).map_err(&w)?;
        }
        Ok(())
    }
}

/// One TO row matched against the held partition.
fn matched(
    held: &mut Held,
    counts: &mut Counts,
    page: &mut Option<Page>,
    key: &[u8],
    digest: u128,
) {
    let kind = match held.probe(key, digest) {
        Probe::Unchanged => {
            counts.unchanged += 1;
            return;
        }
        Probe::Changed => {
            counts.changed += 1;
            RowChangeKind::Changed
        }
        Probe::Added => {
            counts.added += 1;
            RowChangeKind::Added
        }
    };
    if let Some(p) = page {
        p.keep(kind, key);
    }
}

fn open_part(path: &Path) -> Result<BufReader<File>> {
    let f = File::open(path).map_err(io("reading a temporary file"))?;
    Ok(BufReader::with_capacity(READ_BUFFER, f))
}

/// One record of a partition file into `key`; returns its digest (0 for whole rows), or
/// `None` at the end.
fn read_record(r: &mut impl Read, key: &mut Vec<u8>, whole: bool) -> Result<Option<u128>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io("reading a temporary file")(e)),
    }
    let n = u32::from_le_bytes(len) as usize;
    if n > MAX_ROW {
        return Err(Error::internal("diff: a temporary file is damaged"));
    }
    key.resize(n, 0);
    r.read_exact(key).map_err(io("reading a temporary file"))?;
    if whole {
        return Ok(Some(0));
    }
    let mut d = [0u8; 16];
    r.read_exact(&mut d)
        .map_err(io("reading a temporary file"))?;
    Ok(Some(u128::from_le_bytes(d)))
}

/// The second read of a page's changed rows (by key): each side's row for the keys asked.
pub struct Fetch {
    from: Shape,
    to: Shape,
    reading_to: bool,
    wanted: HashMap<Vec<u8>, (Option<Vec<u8>>, Option<Vec<u8>>)>,
    pub bytes: u64,
}

impl Fetch {
    /// Whether `picked` needs it (rows matched by key: only their keys are known).
    pub fn new(from: Projection, to: Projection, picked: &[Picked]) -> Option<Fetch> {
        if from.key.is_none() || picked.is_empty() {
            return None;
        }
        Some(Fetch {
            from: Shape::new(from),
            to: Shape::new(to),
            reading_to: false,
            wanted: picked
                .iter()
                .map(|p| (p.key.clone(), (None, None)))
                .collect(),
            bytes: 0,
        })
    }

    pub fn from_done(&mut self) {
        self.reading_to = true;
    }

    /// Fills in the rows of `picked`.
    pub fn fill(self, picked: &mut [Picked]) {
        for p in picked {
            if let Some((b, a)) = self.wanted.get(&p.key) {
                if p.kind != RowChangeKind::Added {
                    p.before.clone_from(b);
                }
                if p.kind != RowChangeKind::Removed {
                    p.after.clone_from(a);
                }
            }
        }
    }
}

impl Lines for Fetch {
    fn line(&mut self, line: &[u8]) -> Result<()> {
        self.bytes += line.len() as u64 + 1;
        let shape = if self.reading_to {
            &mut self.to
        } else {
            &mut self.from
        };
        let (key, row) = shape.split(line)?;
        if let Some((b, a)) = self.wanted.get_mut(key) {
            let slot = if self.reading_to { a } else { b };
            if slot.is_none() {
                *slot = Some(row.to_vec());
            }
        }
        Ok(())
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

/// A page's changed row as shown: its key, and per changed column the value before → after.
pub fn row_change(w: &RowWindow, p: &Picked) -> RowChange {
    let decode = |line: Option<&Vec<u8>>| {
        line.map(|l| {
            let mut r = CopyRow::default();
            r.decode(l);
            r
        })
    };
    let (b, a) = (decode(p.before.as_ref()), decode(p.after.as_ref()));
    let key = w
        .key
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|&i| super::KeyValue {
            column: w.columns.get(i).cloned().unwrap_or_default(),
            value: shown(a.as_ref().or(b.as_ref()).and_then(|r| r.field(i))),
        })
        .collect();
    let mut columns = Vec::new();
    for (i, name) in w.columns.iter().enumerate() {
        let (bv, av) = (
            b.as_ref().and_then(|r| r.field(i)),
            a.as_ref().and_then(|r| r.field(i)),
        );
        if p.kind == RowChangeKind::Changed && bv == av {
            continue;
        }
        columns.push(super::ValueChange {
            column: name.clone(),
            before: shown(bv),
            after: shown(av),
        });
    }
    RowChange {
        kind: p.kind,
        key,
        columns,
    }
}
