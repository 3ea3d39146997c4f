//! A restore that checks as it loads (issue 67, item 2): the rows of a directory dump reach
//! the target through checked pipes, so loading starts as soon as the pre-data section is in,
//! not after every member has been extracted to disk and checked.
//!
//! Each table's data file (`<dump id>.dat`) is a FIFO in the private dump folder instead of a
//! file. The data section is loaded by `jobs` serial `pg_restore --use-list` runs, each given one
//! bin of the tables (the largest first, spread so the bins hold about the same bytes, as
//! `pg_restore -j` hands out the largest first); one feeder thread per bin streams the members
//! of its bin, in the same order, from the archive into their FIFOs, hashing as it goes. The
//! last 256 KiB of every member are held back until its size and SHA-256 have been checked
//! against the manifest ([`super::execute::HoldBack`]): a `COPY` never sees the end of a damaged
//! member, so it never commits; the loaders are killed first and the pipes closed after.
//!
//! The rest of the data section (sequence values, large objects, a table data file stored
//! otherwise) comes from regular files extracted and checked while the pre-data section runs,
//! restored by one more `pg_restore --section=data --use-list` beside the bins. When the rows are
//! in, every FIFO is replaced by a file of the member's size that is never read (pg_restore
//! orders the post-data section's index builds by the sizes of the tables' data files) and
//! `pg_restore -j N --section=post-data` builds the indexes and constraints.
//!
//! A member no loader opened (pg_restore skipped its entry) is still read and checked; a failure
//! anywhere stops everything, and the caller drops what the run created ([`super::undo`]).
//! FIFOs are POSIX; elsewhere (Windows) nothing is streamed and the restore extracts first
//! ([`super::parallel`]).

use super::extract_par::{damaged, file_name};
use crate::archive::random_access::{ArchiveSeeker, MemberSpan};
use crate::archive::MemberEntry;
use crate::error::{Error, ErrorKind, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// Bytes of each member held back until it has been checked.
const HOLD_BACK: usize = 256 * 1024;

/// One streamed member: its manifest entry, where it is in the archive, its FIFO.
pub(super) struct Piped {
    pub entry: MemberEntry,
    span: MemberSpan,
    fifo: PathBuf,
    /// Its TOC entry (`<dump id>.dat`).
    dump_id: i32,
    /// Its table (schema, name).
    table: (String, String),
}

/// What a streamed restore does with each data member.
pub(super) struct Plan {
    /// The bins of streamed members, each in the order its loader reads them.
    pub bins: Vec<Vec<Piped>>,
    /// The other data members: extracted (and checked) to regular files first.
    pub extracted: Vec<MemberEntry>,
    /// The data-section entries no bin loads (sequence values, large objects, …).
    pub others: Vec<i32>,
}

/// The dump id of a table's data file name (`1234.dat`), if it is one.
fn data_file_id(file: &str) -> Option<i32> {
    let digits = file.strip_suffix(".dat")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|id: &i32| *id > 0)
}

/// Which members are streamed (every `TABLE DATA` entry of the data section whose data file
/// `<dump id>.dat` is a member; none where FIFOs do not exist), in `jobs` bins.
/// `data_members`/`spans`: every data member of the dump and where it is ([`super::extract_par`]);
/// `toc`: the dump's table of contents (read from its checked `toc.dat`).
pub(super) fn plan(
    archive_path: &Path,
    dump: &Path,
    data_members: Vec<MemberEntry>,
    spans: &HashMap<String, MemberSpan>,
    toc: &[crate::pgdump::TocEntry],
    (jobs, keep_order): (u32, bool),
) -> Result<Plan> {
    // Each TABLE DATA entry's table: a big table's ranges (issue 67) share one.
    let table_data: HashMap<i32, (String, String)> = toc
        .iter()
        .filter(|e| e.section == 3 && e.desc == "TABLE DATA")
        .map(|e| {
            (
                e.dump_id,
                (e.namespace.clone().unwrap_or_default(), e.tag.clone()),
            )
        })
        .collect();
    let mut streamed: Vec<Piped> = Vec::new();
    let mut extracted = Vec::new();
    for entry in data_members {
        let file = file_name(&entry.name)?;
        let id = data_file_id(file).filter(|id| table_data.contains_key(id));
        match id {
            Some(dump_id) if FIFOS => {
                let span = spans.get(&entry.name).cloned().ok_or_else(|| {
                    damaged(
                        archive_path,
                        format!("the file {} is missing from the archive", entry.name),
                    )
                })?;
                streamed.push(Piped {
                    fifo: dump.join(file),
                    entry,
                    span,
                    dump_id,
                    table: table_data[&dump_id].clone(),
                })
            }
            _ => extracted.push(entry),
        }
    }
    let loaded: std::collections::HashSet<i32> = streamed.iter().map(|p| p.dump_id).collect();
    let others = toc
        .iter()
        .filter(|e| e.section == 3 && !loaded.contains(&e.dump_id))
        .map(|e| e.dump_id)
        .collect();
    Ok(Plan {
        bins: bins(streamed, jobs, keep_order),
        extracted,
        others,
    })
}

/// `members` spread over at most `jobs` bins, the largest first into the bin holding the
/// fewest bytes; each bin in the order of its members' sizes, largest first. A big table's
/// ranges are members of their own, loaded in parallel; with `keep_order` they are one unit
/// instead, in their order on one loader (so the table's heap holds the backup's order).
fn bins(members: Vec<Piped>, jobs: u32, keep_order: bool) -> Vec<Vec<Piped>> {
    let mut units: Vec<Vec<Piped>> = Vec::new();
    for m in members {
        match units
            .iter_mut()
            .find(|u| keep_order && u[0].table == m.table)
        {
            Some(u) => u.push(m),
            None => units.push(vec![m]),
        }
    }
    for u in units.iter_mut() {
        u.sort_by_key(|m| m.dump_id);
    }
    let size = |u: &Vec<Piped>| u.iter().map(|m| m.entry.size).sum::<u64>();
    units.sort_by(|a, b| {
        size(b)
            .cmp(&size(a))
            .then_with(|| a[0].dump_id.cmp(&b[0].dump_id))
    });
    let n = (jobs.max(1) as usize).min(units.len());
    let mut out: Vec<(u64, Vec<Piped>)> = (0..n).map(|_| (0, Vec::new())).collect();
    for u in units {
        let lightest = out
            .iter_mut()
            .min_by_key(|(bytes, _)| *bytes)
            .expect("at least one bin");
        lightest.0 += size(&u);
        lightest.1.extend(u);
    }
    out.into_iter().map(|(_, bin)| bin).collect()
}

/// FIFOs exist here (POSIX).
const FIFOS: bool = cfg!(unix);

/// Make the FIFO of every streamed member (owner-only) in the private dump folder.
pub(super) fn make_fifos(plan: &Plan) -> Result<()> {
    for p in plan.bins.iter().flatten() {
        mkfifo(&p.fifo).map_err(|e| Error::io(format!("creating {}", p.fifo.display()), e))?;
    }
    Ok(())
}

#[cfg(unix)]
fn mkfifo(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid NUL-terminated path that lives across the call.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn mkfifo(_path: &Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Open the FIFO `path` for reading without waiting for a writer: a feeder blocked in opening
/// it for writing goes on.
#[cfg(unix)]
fn open_reader(path: &Path) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()
}

#[cfg(not(unix))]
fn open_reader(_path: &Path) -> Option<std::fs::File> {
    None
}

/// Where each member's FIFO stands: no feeder has reached it, a feeder is opening it, the loaders
/// are gone before a feeder reached it, a feeder has it open.
const IDLE: u8 = 0;
const OPENING: u8 = 1;
const SKIPPED: u8 = 2;
const OPEN: u8 = 3;

/// The feeders' shared state while the data section loads.
pub(super) struct Feeding<'a> {
    archive_path: &'a Path,
    plan: &'a Plan,
    states: HashMap<i32, AtomicU8>,
    /// Every loader has exited: nothing reads the FIFOs any more.
    gone: AtomicBool,
    /// The write ends of members that failed, kept open until the loaders are gone (closing
    /// one would end a `COPY` that must not end).
    held: Mutex<Vec<Box<dyn std::any::Any + Send>>>,
    /// Read ends opened to wake feeders blocked in opening a FIFO nobody else will open.
    wakers: Mutex<Vec<std::fs::File>>,
}

impl<'a> Feeding<'a> {
    pub(super) fn new(archive_path: &'a Path, plan: &'a Plan) -> Self {
        let states = plan
            .bins
            .iter()
            .flatten()
            .map(|p| (p.dump_id, AtomicU8::new(IDLE)))
            .collect();
        Feeding {
            archive_path,
            plan,
            states,
            gone: AtomicBool::new(false),
            held: Mutex::new(Vec::new()),
            wakers: Mutex::new(Vec::new()),
        }
    }

    /// Feed bin `bin`'s members into their FIFOs in order, each checked; `stop` ends it early.
    pub(super) fn feed(&self, bin: usize, stop: &CancellationToken) -> Result<()> {
        let mut seeker = ArchiveSeeker::open(self.archive_path)?;
        for p in &self.plan.bins[bin] {
            if stop.is_cancelled() {
                return Err(Error::cancelled());
            }
            self.feed_one(&mut seeker, p, stop)?;
        }
        Ok(())
    }

    fn feed_one(
        &self,
        seeker: &mut ArchiveSeeker,
        p: &Piped,
        stop: &CancellationToken,
    ) -> Result<()> {
        let state = &self.states[&p.dump_id];
        let claimed = state
            .compare_exchange(IDLE, OPENING, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        let pipe = if claimed {
            // Blocks until a loader opens it for reading (or the loaders are gone, see wake).
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&p.fifo)
                .map_err(|e| Error::io(format!("opening {}", p.fifo.display()), e))?;
            state.store(OPEN, Ordering::SeqCst);
            (!self.gone.load(Ordering::SeqCst)).then_some(f)
        } else {
            None
        };
        let Some(pipe) = pipe else {
            // No loader read it: still checked (a failed run needs no more checks).
            if stop.is_cancelled() {
                return Err(Error::cancelled());
            }
            let mut sink = std::io::sink();
            super::member::copy_span_checked(seeker, p.span.clone(), &p.entry, &mut sink, stop)?;
            return Ok(());
        };
        let mut out = super::execute::HoldBack::new(pipe, HOLD_BACK);
        // A loader that stops reading (it failed) does not stop the check of what it read.
        out.consumer_may_stop = true;
        let fed =
            super::member::copy_span_checked(seeker, p.span.clone(), &p.entry, &mut out, stop)
                .and_then(|_| {
                    out.release()
                        .map_err(|e| Error::io(format!("feeding {}", p.entry.name), e))
                });
        if fed.is_err() {
            // Not closed before the loaders are gone: the end of this COPY must never come.
            self.held
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Box::new(out));
        }
        fed.map(|_| ())
    }

    /// Every loader has exited: wake the feeders that wait for one to open their FIFO. A
    /// feeder that has not reached its FIFO yet skips it ([`SKIPPED`]); one in the middle of
    /// opening it is given a reader of ours to open against (kept until the feeders are done).
    pub(super) fn loaders_gone(&self) {
        self.gone.store(true, Ordering::SeqCst);
        for p in self.plan.bins.iter().flatten() {
            let state = &self.states[&p.dump_id];
            if state
                .compare_exchange(IDLE, SKIPPED, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                continue;
            }
            if state.load(Ordering::SeqCst) == OPENING {
                if let Some(r) = open_reader(&p.fifo) {
                    self.wakers
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(r);
                }
            }
        }
    }
}

/// The TOC ids of `bin` as a `pg_restore --use-list` file.
pub(super) fn list_of(ids: impl Iterator<Item = i32>) -> String {
    ids.map(|id| format!("{id}\n")).collect()
}

impl Plan {
    pub(super) fn bin_ids(&self, bin: usize) -> impl Iterator<Item = i32> + '_ {
        self.bins[bin].iter().map(|p| p.dump_id)
    }

    /// Replace every FIFO by a file of its member's size that is never read: what pg_restore's
    /// post-data section sizes its index builds by.
    pub(super) fn placeholders(&self) -> Result<()> {
        for p in self.bins.iter().flatten() {
            let io = |e| Error::io(format!("replacing {}", p.fifo.display()), e);
            std::fs::remove_file(&p.fifo).map_err(io)?;
            let f = crate::private_fs::create_new(&p.fifo).map_err(io)?;
            f.set_len(p.entry.size).map_err(io)?;
        }
        Ok(())
    }
}

/// The first cause among the loaders' and feeders' results: a damaged member first (a loader
/// that failed on its bytes only reports what the server said), then a loader's error, then a
/// feeder's; `cancelled` only when that is all there is.
pub(super) fn first_cause(loaders: Vec<Result<()>>, feeders: Vec<Result<()>>) -> Result<()> {
    let real = |r: &Result<()>| matches!(r, Err(e) if e.kind() != ErrorKind::Cancelled);
    let integrity = |r: &Result<()>| matches!(r, Err(e) if e.kind() == ErrorKind::Integrity);
    let mut all: Vec<Result<()>> = Vec::new();
    let (mut fi, mut fo): (Vec<_>, Vec<_>) = feeders.into_iter().partition(integrity);
    all.append(&mut fi);
    let (mut lr, mut lo): (Vec<_>, Vec<_>) = loaders.into_iter().partition(real);
    all.append(&mut lr);
    let (mut fr, mut fc): (Vec<_>, Vec<_>) = fo.drain(..).partition(real);
    all.append(&mut fr);
    all.append(&mut lo);
    all.append(&mut fc);
    all.into_iter().find(|r| r.is_err()).unwrap_or(Ok(()))
}

#[cfg(all(test, unix))]
#[path = "streamed_tests.rs"]
mod real_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_dump_id_files_are_table_data() {
        assert_eq!(data_file_id("3001.dat"), Some(3001));
        for not in [
            "blobs.toc",
            "blob_16400.dat",
            "3001.dat.gz",
            ".dat",
            "0.dat",
            "-1.dat",
            "x1.dat",
            "99999999999.dat",
        ] {
            assert_eq!(data_file_id(not), None, "{not}");
        }
    }

    fn piped(id: i32, size: u64) -> Piped {
        Piped {
            entry: MemberEntry {
                name: format!("database/{id}.dat"),
                size,
                sha256: String::new(),
            },
            span: MemberSpan {
                name: format!("database/{id}.dat"),
                data: 0,
                size,
            },
            fifo: PathBuf::from(format!("{id}.dat")),
            dump_id: id,
            table: ("public".into(), format!("t{id}")),
        }
    }

    /// A big table's range (issue 67): `table`'s.
    fn range(id: i32, size: u64, table: &str) -> Piped {
        Piped {
            table: ("public".into(), table.into()),
            ..piped(id, size)
        }
    }

    #[test]
    fn bins_take_the_largest_first_and_hold_about_the_same_bytes() {
        let members = vec![
            piped(1, 10),
            piped(2, 700),
            piped(3, 300),
            piped(4, 200),
            piped(5, 250),
        ];
        let b = bins(members, 2, false);
        let ids: Vec<Vec<i32>> = b
            .iter()
            .map(|bin| bin.iter().map(|p| p.dump_id).collect())
            .collect();
        assert_eq!(ids, vec![vec![2, 1], vec![3, 5, 4]]);
        assert_eq!(bins(vec![piped(1, 5)], 4, false).len(), 1);
        assert!(bins(Vec::new(), 2, false).is_empty());
    }

    #[test]
    fn a_big_tables_ranges_load_in_parallel_or_in_their_order_on_one_loader() {
        let members = || {
            vec![
                piped(1, 50),
                range(7, 300, "big"),
                range(8, 320, "big"),
                range(9, 310, "big"),
                piped(2, 40),
            ]
        };
        let ids = |b: Vec<Vec<Piped>>| -> Vec<Vec<i32>> {
            b.iter()
                .map(|bin| bin.iter().map(|p| p.dump_id).collect())
                .collect()
        };
        assert_eq!(
            ids(bins(members(), 2, false)),
            vec![vec![8, 1, 2], vec![9, 7]]
        );
        assert_eq!(
            ids(bins(members(), 2, true)),
            vec![vec![7, 8, 9], vec![1, 2]]
        );
    }

    #[test]
    fn a_damaged_member_is_the_cause_before_what_the_loader_said() {
        let integrity = || Err(Error::integrity("member database/1.dat does not match"));
        let tool = || {
            Err(Error::new(
                ErrorKind::ToolFailed,
                "pg_restore failed: invalid input",
            ))
        };
        let cancelled = || Err(Error::cancelled());
        let kind = |r: Result<()>| r.unwrap_err().kind();
        assert_eq!(
            kind(first_cause(
                vec![tool(), cancelled()],
                vec![Ok(()), integrity()]
            )),
            ErrorKind::Integrity
        );
        assert_eq!(
            kind(first_cause(vec![cancelled(), tool()], vec![cancelled()])),
            ErrorKind::ToolFailed
        );
        assert_eq!(
            kind(first_cause(vec![cancelled()], vec![cancelled()])),
            ErrorKind::Cancelled
        );
        assert!(first_cause(vec![Ok(())], vec![Ok(())]).is_ok());
    }
}
