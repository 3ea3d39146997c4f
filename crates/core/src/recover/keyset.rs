//! Key sets that stay within a memory bound, whatever the tenant's size (issue 45, item 5).
//!
//! A recovery's selection ([`super::select`]) keeps sets of 128-bit key digests: the keys of
//! the rows it chose (which children are matched against), the keys parents must have, the
//! keys seen, and a table's references to itself not yet matched. Each set holds its newest
//! keys in a hash set in memory; when that holds [`PER_SET`] keys, or when all the sets of
//! one recovery together hold [`IN_MEMORY`] keys and this one holds at least [`MIN_SPILL`],
//! they are written, sorted, to a **run**: a file of 16-byte keys in the recovery's private
//! temporary folder, found again with one read of a 4 KiB block (a "fence", the block's first
//! key, is kept in memory per block: 1/256 of the keys). Runs of similar size are merged
//! (two at a time, so a set has about log₂(keys / `PER_SET`) runs). One Bloom filter of
//! [`BLOOM_BYTES`], shared by every set of the recovery and made at the first spill, keeps
//! most lookups of keys not in a set (most rows of a large table belong to other tenants)
//! from reading a run: its false positives grow with the keys spilled (≈ 1.5 % at 3 million,
//! ≈ 20 % at 10 million), which costs time (one block read each), never memory.
//!
//! Memory is then bounded: at most [`IN_MEMORY`] keys plus [`MIN_SPILL`] per set in hash sets,
//! the Bloom filter, and 1/16 byte of fences per spilled key.

use super::select::Key;
use crate::error::{Error, Result};
use std::cell::RefCell;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Keys one set holds in memory at most (a hash set of 2^17 buckets, ≈ 2.2 MB).
pub const PER_SET: usize = 114_688;
/// Keys all the sets of one recovery hold in memory before the growing one spills.
pub const IN_MEMORY: usize = 4 * PER_SET;
/// A set spills because of the others only once it holds this many keys itself.
pub const MIN_SPILL: usize = 4096;
/// The shared Bloom filter (2^25 bits, three probes per key).
pub const BLOOM_BYTES: usize = 4 << 20;
const BLOOM_PROBES: u64 = 3;
/// Keys per block of a run (one read finds a key).
const BLOCK_KEYS: usize = 256;

/// A smaller bound for this process (0: the default). Tests use it to force the spill path.
static BOUND: AtomicUsize = AtomicUsize::new(0);
/// Runs written by this process (tests check the spill path was taken).
static RUNS: AtomicU64 = AtomicU64::new(0);

/// Makes every key set of later recoveries spill past `keys` keys in memory (per set and in
/// all); 0 restores the defaults. For tests of the spill path.
#[doc(hidden)]
pub fn set_keys_in_memory(keys: usize) {
    BOUND.store(keys, Ordering::SeqCst);
}

/// How many runs of keys this process has written to disk.
#[doc(hidden)]
pub fn key_runs_written() -> u64 {
    RUNS.load(Ordering::SeqCst)
}

/// What the sets of one recovery share: the memory bound, the Bloom filter, the folder.
pub(super) struct Shared {
    dir: PathBuf,
    per_set: usize,
    in_memory_max: usize,
    min_spill: usize,
    held: usize,
    files: u64,
    bloom: Vec<u64>,
    sets: u64,
}

pub(super) type Pool = Rc<RefCell<Shared>>;

/// The shared state of one recovery's key sets, spilling into `dir` (private, removed by the
/// caller).
pub(super) fn pool(dir: &Path) -> Pool {
    let bound = BOUND.load(Ordering::SeqCst);
    let (per_set, in_memory_max, min_spill) = if bound == 0 {
        (PER_SET, IN_MEMORY, MIN_SPILL)
    } else {
        (bound, bound, 1)
    };
    Rc::new(RefCell::new(Shared {
        dir: dir.to_path_buf(),
        per_set,
        in_memory_max,
        min_spill,
        held: 0,
        files: 0,
        bloom: Vec::new(),
        sets: 0,
    }))
}

/// The Bloom filter's bit positions for `key` of set `id`.
fn probes(id: u64, key: Key) -> impl Iterator<Item = u64> {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let a = mix(key as u64 ^ id.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let b = mix((key >> 64) as u64 ^ a) | 1;
    let bits = (BLOOM_BYTES * 8) as u64;
    (0..BLOOM_PROBES).map(move |i| a.wrapping_add(i.wrapping_mul(b)) % bits)
}

/// A sorted file of keys, with the first key of each block in memory.
struct Run {
    path: PathBuf,
    file: File,
    keys: u64,
    fences: Vec<Key>,
}

impl Run {
    fn contains(&mut self, key: Key) -> Result<bool> {
        let b = self.fences.partition_point(|f| *f <= key);
        if b == 0 {
            return Ok(false);
        }
        let block = (b - 1) as u64;
        let n = (self.keys - block * BLOCK_KEYS as u64).min(BLOCK_KEYS as u64) as usize;
        let mut buf = [0u8; BLOCK_KEYS * 16];
        let io = |e| Error::io("reading the recovery's key sets", e);
        self.file
            .seek(SeekFrom::Start(block * (BLOCK_KEYS as u64) * 16))
            .map_err(io)?;
        self.file.read_exact(&mut buf[..n * 16]).map_err(io)?;
        let at = |i: usize| Key::from_le_bytes(buf[i * 16..i * 16 + 16].try_into().expect("16"));
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match at(mid).cmp(&key) {
                std::cmp::Ordering::Equal => return Ok(true),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Ok(false)
    }
}

/// Writes sorted `keys` as a run.
fn write_run(pool: &Pool, keys: impl Iterator<Item = Key>) -> Result<Run> {
    let path = {
        let mut p = pool.borrow_mut();
        p.files += 1;
        p.dir.join(format!("keys-{}.run", p.files))
    };
    let io = |e| Error::io("writing the recovery's key sets", e);
    let f = crate::private_fs::create_new(&path).map_err(io)?;
    let mut w = BufWriter::with_capacity(64 << 10, f);
    let (mut n, mut fences) = (0u64, Vec::new());
    for k in keys {
        if n.is_multiple_of(BLOCK_KEYS as u64) {
            fences.push(k);
        }
        w.write_all(&k.to_le_bytes()).map_err(io)?;
        n += 1;
    }
    w.flush().map_err(io)?;
    drop(w);
    // Written through a write-only handle: looked up through a reading one.
    let file = File::open(&path).map_err(io)?;
    RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(Run {
        path,
        file,
        keys: n,
        fences,
    })
}

/// The keys of a run, in order.
fn read_run(r: &Run) -> Result<impl Iterator<Item = Result<Key>>> {
    let f = File::open(&r.path).map_err(|e| Error::io("reading the recovery's key sets", e))?;
    let mut rd = BufReader::with_capacity(64 << 10, f);
    let mut left = r.keys;
    Ok(std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        let mut b = [0u8; 16];
        Some(
            rd.read_exact(&mut b)
                .map(|()| Key::from_le_bytes(b))
                .map_err(|e| Error::io("reading the recovery's key sets", e)),
        )
    }))
}

/// A set of keys bounded in memory (see the module description).
pub(super) struct KeySet {
    pool: Pool,
    id: u64,
    mem: HashSet<Key>,
    runs: Vec<Run>,
    len: u64,
}

impl KeySet {
    pub fn new(pool: &Pool) -> KeySet {
        let id = {
            let mut p = pool.borrow_mut();
            p.sets += 1;
            p.sets
        };
        KeySet {
            pool: pool.clone(),
            id,
            mem: HashSet::new(),
            runs: Vec::new(),
            len: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn contains(&mut self, key: Key) -> Result<bool> {
        if self.mem.contains(&key) {
            return Ok(true);
        }
        if self.runs.is_empty() {
            return Ok(false);
        }
        {
            let p = self.pool.borrow();
            if !probes(self.id, key).all(|b| p.bloom[(b / 64) as usize] & (1 << (b % 64)) != 0) {
                return Ok(false);
            }
        }
        for r in self.runs.iter_mut().rev() {
            if r.contains(key)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Adds `key`; whether it was new.
    pub fn insert(&mut self, key: Key) -> Result<bool> {
        if self.contains(key)? {
            return Ok(false);
        }
        self.mem.insert(key);
        self.len += 1;
        let spill = {
            let mut p = self.pool.borrow_mut();
            p.held += 1;
            self.mem.len() >= p.per_set
                || (p.held >= p.in_memory_max && self.mem.len() >= p.min_spill)
        };
        if spill {
            self.spill()?;
        }
        Ok(true)
    }

    /// Writes the keys in memory to a new run, then merges runs of similar size.
    fn spill(&mut self) -> Result<()> {
        let mut keys: Vec<Key> = self.mem.drain().collect();
        self.mem
            .shrink_to(self.pool.borrow().per_set.min(MIN_SPILL));
        keys.sort_unstable();
        {
            let mut p = self.pool.borrow_mut();
            p.held -= keys.len();
            if p.bloom.is_empty() {
                p.bloom = vec![0u64; BLOOM_BYTES / 8];
            }
            for &k in &keys {
                for b in probes(self.id, k) {
                    p.bloom[(b / 64) as usize] |= 1 << (b % 64);
                }
            }
        }
        let run = write_run(&self.pool, keys.into_iter())?;
        self.runs.push(run);
        while self.runs.len() >= 2 {
            let n = self.runs.len();
            if self.runs[n - 2].keys > 2 * self.runs[n - 1].keys {
                break;
            }
            let (b, a) = (self.runs.pop().expect("two"), self.runs.pop().expect("two"));
            let merged = merge(&self.pool, &a, &b)?;
            let _ = std::fs::remove_file(&a.path);
            let _ = std::fs::remove_file(&b.path);
            self.runs.push(merged);
        }
        Ok(())
    }

    /// Empties the set (its runs' files are removed; the Bloom filter keeps their bits, which
    /// only costs a block read now and then).
    pub fn clear(&mut self) {
        self.pool.borrow_mut().held -= self.mem.len();
        self.mem.clear();
        for r in self.runs.drain(..) {
            let _ = std::fs::remove_file(&r.path);
        }
        self.len = 0;
    }
}

impl Drop for KeySet {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Two runs merged into one.
fn merge(pool: &Pool, a: &Run, b: &Run) -> Result<Run> {
    let (mut x, mut y) = (read_run(a)?.peekable(), read_run(b)?.peekable());
    let mut err = None;
    let merged = std::iter::from_fn(|| {
        let next = match (x.peek(), y.peek()) {
            (None, None) => return None,
            (Some(Ok(p)), Some(Ok(q))) => {
                if p <= q {
                    x.next()
                } else {
                    y.next()
                }
            }
            (Some(_), None) | (Some(Err(_)), _) => x.next(),
            _ => y.next(),
        };
        match next {
            Some(Ok(k)) => Some(k),
            Some(Err(e)) => {
                err = Some(e);
                None
            }
            None => None,
        }
    });
    let run = write_run(pool, merged)?;
    match err {
        Some(e) => Err(e),
        None => Ok(run),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spilling_set_answers_as_a_hash_set_does() {
        let dir = tempfile::tempdir().unwrap();
        for bound in [3, 50, 1000] {
            BOUND.store(0, Ordering::SeqCst);
            let p = pool(dir.path());
            {
                let mut s = p.borrow_mut();
                (s.per_set, s.in_memory_max, s.min_spill) = (bound, bound * 2, 1);
            }
            let (mut a, mut b) = (KeySet::new(&p), KeySet::new(&p));
            let (mut ha, mut hb) = (HashSet::new(), HashSet::new());
            let mut rng = fastrand::Rng::with_seed(7);
            for _ in 0..20_000 {
                let k = Key::from(rng.u32(0..5000)) * 0x1_0000_0001_0000_0001;
                if rng.bool() {
                    assert_eq!(a.insert(k).unwrap(), ha.insert(k));
                    assert_eq!(b.contains(k).unwrap(), hb.contains(&k));
                } else {
                    assert_eq!(b.insert(k).unwrap(), hb.insert(k));
                    assert_eq!(a.contains(k).unwrap(), ha.contains(&k));
                }
            }
            assert_eq!(a.len, ha.len() as u64);
            assert!(bound > 1000 || !a.runs.is_empty());
            // Runs stay few: merged by size.
            assert!(a.runs.len() <= 16, "{} runs", a.runs.len());
            a.clear();
            ha.clear();
            assert!(a.is_empty());
            assert!(!a
                .contains(Key::from(1u32) * 0x1_0000_0001_0000_0001)
                .unwrap());
            assert_eq!(a.insert(5).unwrap(), ha.insert(5));
            drop((a, b));
            // Every run's file is gone with its set.
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }
    }
}
