//! Matching two sides' rows as they are read (issue 45, item 5): each side is read on its own
//! thread into batches of projected rows; one matcher walks the two streams side by side.
//!
//! Two backups of one table (or a backup and the table now) hold their rows in nearly the same
//! order — the table's physical order, which only the changed rows leave. So the matcher first
//! compares the two heads: equal bytes are an unchanged row, and nothing is hashed or held.
//! Otherwise each head is looked up among the other side's unmatched rows (a hash table); a row
//! found there is matched, a row not found is held until its partner comes. The heads fall back
//! into step by themselves after an added, removed or moved row (a row found among the held
//! ones advances only its own side). Only the rows not yet matched are in memory, at most
//! [`PENDING_BUDGET`] bytes of them: past it they are all written to the hash partitions of
//! [`super::spill`] and the rest of the comparison continues; at the end the partitions are
//! matched as before. The order of the changed rows found depends only on the two sides' rows,
//! so pages are stable.

use super::spill::{self, Collector, Projection, Spill};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::PathBuf;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// About this many bytes of rows per batch handed from a reader to the matcher.
const BATCH_BYTES: usize = 256 << 10;
/// Batches queued per side (memory in flight: about `(QUEUE + 2) × BATCH_BYTES` a side).
pub const QUEUE: usize = 4;
/// Unmatched rows (keys and rows, with the table's overhead) held before they are spilled.
pub const PENDING_BUDGET: usize = 16 << 20;
/// Bytes a held row costs beyond its key and row (hash table slot, allocations).
const HELD_OVERHEAD: usize = 64;

/// Rows of one side, projected: `rows[i]` = (start, end of the row, end of its key); the key
/// follows its row in `data` (empty when the whole row is the key).
#[derive(Default)]
pub struct Batch {
    data: Vec<u8>,
    rows: Vec<(usize, usize, usize)>,
}

/// What a reader sends: rows, or the end (sent only when the side was read to its end).
pub enum Msg {
    Rows(Batch),
    End,
}

/// Turns one side's COPY lines into batches (on the side's reading thread).
pub struct Batcher {
    proj: Projection,
    /// The key's field indices in the line as read.
    key_fields: Option<Vec<usize>>,
    ranges: Vec<(usize, usize)>,
    batch: Batch,
    /// Batches the matcher is done with, to be filled again.
    spare: std::sync::mpsc::Receiver<Batch>,
    pub rows: u64,
    pub bytes: u64,
}

impl Batcher {
    pub fn new(proj: Projection, spare: std::sync::mpsc::Receiver<Batch>) -> Batcher {
        let key_fields = proj.key.as_ref().map(|k| {
            k.iter()
                .map(|&i| proj.pick.as_ref().map_or(i, |p| p[i]))
                .collect()
        });
        Batcher {
            proj,
            key_fields,
            ranges: Vec::new(),
            batch: Batch::default(),
            spare,
            rows: 0,
            bytes: 0,
        }
    }

    /// One line of COPY text (without `\n`); a full batch when there is one to send.
    pub fn push(&mut self, line: &[u8]) -> Result<Option<Batch>> {
        self.rows += 1;
        self.bytes += line.len() as u64 + 1;
        super::spill::split_fields(line, self.proj.fields, &mut self.ranges)?;
        if self.batch.data.capacity() == 0 {
            if let Ok(b) = self.spare.try_recv() {
                self.batch = b;
            } else {
                self.batch.data.reserve(BATCH_BYTES + BATCH_BYTES / 8);
            }
        }
        let b = &mut self.batch;
        let start = b.data.len();
        match &self.proj.pick {
            Some(pick) => spill::join_fields(line, &self.ranges, pick, &mut b.data),
            None => b.data.extend_from_slice(line),
        }
        let row_end = b.data.len();
        if let Some(k) = &self.key_fields {
            spill::join_fields(line, &self.ranges, k, &mut b.data);
        }
        b.rows.push((start, row_end, b.data.len()));
        Ok((b.data.len() >= BATCH_BYTES).then(|| std::mem::take(&mut self.batch)))
    }

    /// The last, partly filled batch.
    pub fn finish(&mut self) -> Option<Batch> {
        (!self.batch.rows.is_empty()).then(|| std::mem::take(&mut self.batch))
    }
}

/// A reading side as the matcher sees it: its current batch and row.
struct Stream {
    rx: mpsc::Receiver<Msg>,
    batch: Batch,
    at: usize,
    ended: bool,
    spare: std::sync::mpsc::Sender<Batch>,
}

impl Stream {
    /// Whether there is a current row (receiving the next batch when needed).
    fn ready(&mut self, cancel: &CancellationToken) -> Result<bool> {
        while self.at >= self.batch.rows.len() {
            if self.ended {
                return Ok(false);
            }
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            match self.rx.blocking_recv() {
                Some(Msg::Rows(b)) => {
                    let mut done = std::mem::replace(&mut self.batch, b);
                    done.data.clear();
                    done.rows.clear();
                    let _ = self.spare.send(done);
                    self.at = 0;
                }
                Some(Msg::End) => self.ended = true,
                // The reader stopped without its end: its own error says why.
                None => return Err(Error::internal("diff: a side stopped being read")),
            }
        }
        Ok(true)
    }

    /// The current row and its key (`ready` said there is one).
    fn head(&self, keyed: bool) -> (&[u8], &[u8]) {
        let (s, e, k) = self.batch.rows[self.at];
        let row = &self.batch.data[s..e];
        (row, if keyed { &self.batch.data[e..k] } else { row })
    }
}

/// Which side a held row is from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    From,
    To,
}

struct Held {
    side: Which,
    count: u32,
    /// The row (empty when the key is the whole row).
    row: Box<[u8]>,
}

/// The rows not matched yet, by key.
#[derive(Default)]
struct Pending {
    /// Hashed under keys no one who writes the rows knows ([`spill::Keyed`]): rows whose keys
    /// someone chose to collide cannot turn the lookups quadratic. (The same keys for every
    /// table: a spilled table's pages come in the same order each time.)
    map: HashMap<Box<[u8]>, Held, spill::Keyed>,
    bytes: usize,
}

/// The hasher a pending map uses (the tests check it is not a fixed one).
#[cfg(test)]
pub(super) fn pending_hasher() -> spill::Keyed {
    *Pending::default().map.hasher()
}

impl Pending {
    /// Takes one of `side`'s rows held under `key` (the row; the key when it is the row).
    fn take(&mut self, side: Which, key: &[u8]) -> Option<Box<[u8]>> {
        if self.map.is_empty() {
            return None;
        }
        let h = self.map.get_mut(key).filter(|h| h.side == side)?;
        h.count -= 1;
        if h.count > 0 {
            return Some(if h.row.is_empty() {
                key.into()
            } else {
                h.row.clone()
            });
        }
        let (k, h) = self.map.remove_entry(key).expect("held");
        self.bytes -= k.len() + h.row.len() + HELD_OVERHEAD;
        Some(if h.row.is_empty() { k } else { h.row })
    }

    /// Holds one of `side`'s rows (`row` empty when the key is the row).
    fn hold(&mut self, side: Which, key: &[u8], row: &[u8]) {
        if let Some(h) = self.map.get_mut(key) {
            debug_assert!(h.side == side, "the other side's row would have matched");
            h.count += 1;
            return;
        }
        self.bytes += key.len() + row.len() + HELD_OVERHEAD;
        self.map.insert(
            key.into(),
            Held {
                side,
                count: 1,
                row: row.into(),
            },
        );
    }
}

/// How to match one table's rows, and where to spill.
pub struct Plan {
    pub keyed: bool,
    /// Partitions if the unmatched rows must be spilled.
    pub parts: usize,
    /// The private folder of the spill files.
    pub dir: PathBuf,
    /// The spill files' name (unique in `dir`).
    pub name: String,
    pub budget: usize,
}

/// Both sides' rows, matched.
struct Matcher<'a, 'w> {
    plan: &'a Plan,
    out: &'a mut Collector<'w>,
    pending: Pending,
    spilled: Option<(Spill, Spill)>,
}

impl Matcher<'_, '_> {
    /// A matched pair (FROM's row, TO's row).
    fn pair(&mut self, before: &[u8], after: &[u8]) {
        if before == after {
            self.out.unchanged();
        } else {
            self.out.changed(before, after);
        }
    }

    /// One step on the two heads: which of them it used up.
    fn step(&mut self, f: Option<(&[u8], &[u8])>, t: Option<(&[u8], &[u8])>) -> (bool, bool) {
        let keyed = self.plan.keyed;
        match (f, t) {
            (Some((fr, fk)), Some((tr, tk))) => {
                if fr == tr {
                    self.out.unchanged();
                    return (true, true);
                }
                if let Some(after) = self.pending.take(Which::To, fk) {
                    self.pair(fr, &after);
                    return (true, false);
                }
                if let Some(before) = self.pending.take(Which::From, tk) {
                    self.pair(&before, tr);
                    return (false, true);
                }
                if keyed && fk == tk {
                    self.out.changed(fr, tr);
                    return (true, true);
                }
                self.hold(Which::From, fk, fr);
                self.hold(Which::To, tk, tr);
                (true, true)
            }
            (Some((fr, fk)), None) => {
                match self.pending.take(Which::To, fk) {
                    Some(after) => self.pair(fr, &after),
                    None => self.hold(Which::From, fk, fr),
                }
                (true, false)
            }
            (None, Some((tr, tk))) => {
                match self.pending.take(Which::From, tk) {
                    Some(before) => self.pair(&before, tr),
                    None => self.hold(Which::To, tk, tr),
                }
                (false, true)
            }
            (None, None) => (false, false),
        }
    }

    fn hold(&mut self, side: Which, key: &[u8], row: &[u8]) {
        let row = if self.plan.keyed { row } else { &[][..] };
        self.pending.hold(side, key, row);
    }

    /// Past the budget: every held row goes to the partitions.
    fn spill_if_over(&mut self) -> Result<()> {
        if self.pending.bytes <= self.plan.budget {
            return Ok(());
        }
        self.spill_all()
    }

    fn spill_all(&mut self) -> Result<()> {
        if self.spilled.is_none() {
            let new = |which: &str| {
                Spill::new(
                    &self.plan.dir,
                    &format!("{}-{which}", self.plan.name),
                    self.plan.parts,
                    Projection::default(),
                )
            };
            self.spilled = Some((new("from")?, new("to")?));
        }
        let (sf, st) = self.spilled.as_mut().expect("made above");
        for (key, h) in std::mem::take(&mut self.pending.map) {
            let s = if h.side == Which::From {
                &mut *sf
            } else {
                &mut *st
            };
            for _ in 0..h.count {
                s.push_record(&key, &h.row)?;
            }
        }
        self.pending.bytes = 0;
        Ok(())
    }

    /// After both ends: the rows left over are added or removed (or, when some were spilled,
    /// matched partition by partition).
    fn finish(mut self, cancel: &CancellationToken) -> Result<()> {
        if self.spilled.is_some() {
            self.spill_all()?;
            let (sf, st) = self.spilled.take().expect("spilled");
            let (sf, st) = (sf.finish()?, st.finish()?);
            let r = spill::compare_into(&sf, &st, self.out, cancel);
            sf.remove();
            st.remove();
            return r;
        }
        let mut left: Vec<(Box<[u8]>, Held)> = self.pending.map.drain().collect();
        left.sort_by(|a, b| (a.1.side == Which::From, &a.0).cmp(&(b.1.side == Which::From, &b.0)));
        for (key, h) in left {
            let row: &[u8] = if h.row.is_empty() { &key } else { &h.row };
            for _ in 0..h.count {
                match h.side {
                    Which::To => self.out.added(row),
                    Which::From => self.out.removed(row),
                }
            }
        }
        Ok(())
    }
}

/// The two channels' receiving ends and the batches' way back, for [`run`].
pub struct Ends {
    pub rx: mpsc::Receiver<Msg>,
    pub spare: std::sync::mpsc::Sender<Batch>,
}

/// A side's channel: the reader's end (a [`Batcher`] and the sender) and the matcher's.
pub fn channel(proj: Projection) -> (Batcher, mpsc::Sender<Msg>, Ends) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let (spare_tx, spare_rx) = std::sync::mpsc::channel();
    (
        Batcher::new(proj, spare_rx),
        tx,
        Ends {
            rx,
            spare: spare_tx,
        },
    )
}

/// Matches FROM's rows with TO's as they arrive (blocking: run it on a blocking thread).
pub fn run(
    from: Ends,
    to: Ends,
    plan: &Plan,
    out: &mut Collector<'_>,
    cancel: &CancellationToken,
) -> Result<()> {
    let stream = |e: Ends| Stream {
        rx: e.rx,
        batch: Batch::default(),
        at: 0,
        ended: false,
        spare: e.spare,
    };
    let (mut f, mut t) = (stream(from), stream(to));
    let mut m = Matcher {
        plan,
        out,
        pending: Pending::default(),
        spilled: None,
    };
    loop {
        let (fr, tr) = (f.ready(cancel)?, t.ready(cancel)?);
        if !fr && !tr {
            break;
        }
        let (fa, ta) = m.step(
            fr.then(|| f.head(plan.keyed)),
            tr.then(|| t.head(plan.keyed)),
        );
        f.at += usize::from(fa);
        t.at += usize::from(ta);
        m.spill_if_over()?;
    }
    m.finish(cancel)
}
