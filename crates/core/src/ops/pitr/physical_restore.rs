//! Restoring a physical chain to a time (docs/pitr.md "Physical capture"): the plan (the base,
//! the WAL files to replay, the last commit at or before TIME — read from the WAL with the
//! version's `pg_waldump`), then the base unpacked into a throwaway cluster (the drills' own),
//! the WAL put beside it (or handed to it as each file is checked: [`Staged::handover`]), and
//! PostgreSQL's own recovery run up to that commit (`recovery_target_lsn`, inclusive, or its
//! own `recovery_target_time`) and promoted; from there the database is dumped and
//! restored into the target like any restore, or the cluster is left as a new server's data
//! folder (`--to-data-dir`).

use super::handover::Handover;
use super::physical::PhysicalBase;
use super::restore::{PitrPlan, PitrRestored};
use crate::catalog::{PitrChain, Project};
use crate::drill::cluster::{choose_server_bins, discover_server_bins, ThrowawayCluster};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::ops::JobStart;
use crate::pitr::physical::{self, wal, Tools};
use crate::pitr::replay::Replayed;
use crate::pitr::window::{ChainFacts, Window};
use crate::pitr::{lsn_text, micros_text, segment};
use crate::restore::{DatabaseTo, RestoreRequest};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a recovery may take before the restore gives up.
const RECOVERY_LIMIT: Duration = Duration::from_secs(30 * 60);

/// Where the restore goes.
pub enum RestoreInto<'a> {
    /// A database (a URL or a project's name), through a dump of the recovered database.
    Database {
        to: &'a str,
        password: Option<String>,
    },
    /// The recovered cluster itself, as a new server's data folder.
    DataDir(&'a Path),
    /// The recovered database dumped into an Offsite archive in this (private) folder
    /// (`PROJECT@TIME`); its archive is returned.
    Archive(&'a Path),
}

/// What [`wal::stop_in`] found: where replay stops, and how many commits it applies.
type Listing = (Option<wal::CommitRecord>, u64);

/// The plan's WAL, unsealed into a private temporary folder, and where replay stops.
pub(crate) struct Staged {
    pub plan: PitrPlan,
    pub base: PhysicalBase,
    pub stop: Option<wal::CommitRecord>,
    /// `<tmp>/wal`: the WAL files, named as PostgreSQL names them.
    pub wal: PathBuf,
    /// `pg_waldump` reading the WAL's commits, under way (a restore unpacks the base
    /// meanwhile, or recovers: see `handover`); [`Staged::listed`] waits for it and fills in
    /// the stop.
    listing: Joined<Listing>,
    /// TIME.
    at: i64,
    /// For a restore: the base being unpacked (and checked) into `<tmp>/data` from the start
    /// of the staging, beside the WAL's unsealing and listing (or before them, when the WAL
    /// is handed over); [`fill`] waits for it.
    unpacking: Joined<()>,
    /// For a restore whose last WAL file holds a commit later than TIME (recovery's own time
    /// target then stops inside this WAL): the server starts once the base is unpacked, and
    /// the other WAL files are handed to it as they are checked (`listing` checks them in
    /// order, then lists them — on the core recovery leaves idle).
    handover: Option<Arc<Handover>>,
    _dir: tempfile::TempDir,
    _in_use: crate::tempfiles::FolderInUse,
}

/// What starting the WAL's listing needs.
struct Lister {
    tools: Tools,
    wal: PathBuf,
    timeline: u32,
    from: u64,
    at: i64,
    seg_size: u64,
}

impl Lister {
    fn start(self) -> Result<Joined<Listing>> {
        Joined::spawn("pg_waldump", move |_| self.list())
    }

    /// The listing. Blocking.
    fn list(&self) -> Result<Listing> {
        let t0 = std::time::Instant::now();
        let r = wal::stop_in(
            &self.tools,
            &self.wal,
            self.timeline,
            self.from,
            self.at,
            self.seg_size,
        );
        tracing::debug!(
            "physical restore: WAL listed by pg_waldump in {:?}",
            t0.elapsed()
        );
        r
    }
}

/// Unsealing the plan's WAL files into the staging folder, each checked against its checksums
/// (the `.sha256` and the catalog's) as it is read.
#[derive(Clone)]
struct Unsealer {
    keys: Vec<crate::crypto::UserKey>,
    dir: PathBuf,
    timeline: u32,
    seg_size: u64,
}

/// A WAL file of the plan: its sealed file, checksum (empty: none recorded) and start.
type WalFile = (String, String, u64);

impl Unsealer {
    /// Blocking. Returns the unsealed file's path.
    fn unseal(&self, (path, sha, start): &WalFile) -> Result<PathBuf> {
        let dest = self
            .dir
            .join(wal::file_name(self.timeline, *start, self.seg_size));
        let expected = (!sha.is_empty()).then_some(sha.as_str());
        physical::unseal_wal(Path::new(path), &self.keys, &dest, self.seg_size, expected)?;
        Ok(dest)
    }
}

impl Staged {
    /// Wait for the WAL's listing: the stop and the transactions applied set in the plan.
    /// Blocking.
    pub(crate) fn listed(&mut self) -> Result<()> {
        let Some(listed) = self.listing.wait() else {
            return Ok(());
        };
        let (stop, transactions) = listed?;
        self.stop = stop;
        self.plan.stop_commit_at = stop.map(|c| micros_text(c.at));
        self.plan.stop_commit_lsn = stop.map(|c| lsn_text(c.lsn));
        self.plan.transactions = transactions;
        Ok(())
    }

    /// The plan alone (a dry run): the base checked against its checksums too (a restore
    /// checks it as it unpacks it), the listing waited for. Blocking.
    pub(crate) fn into_plan(mut self) -> Result<PitrPlan> {
        segment::verify(Path::new(&self.base.path), Some(&self.base.sha256))
            .map_err(|e| e.context("the physical base"))?;
        self.listed()?;
        Ok(self.plan)
    }
}

/// A thread of the staging (the WAL's listing, the base's unpacking), waited for when dropped:
/// each reads or writes the temporary folder dropped after it ([`Staged`]'s fields drop in
/// order).
/// Dropped before its end, it is told to stop first (the unpacking stops at its next read).
struct Joined<T> {
    thread: Option<std::thread::JoinHandle<Result<T>>>,
    /// Its value, when [`failed`](Self::failed) found it ended well.
    value: Option<T>,
    stop: Arc<AtomicBool>,
}

impl<T> Joined<T> {
    fn spawn(
        name: &str,
        f: impl FnOnce(&AtomicBool) -> Result<T> + Send + 'static,
    ) -> Result<Joined<T>>
    where
        T: Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let told = stop.clone();
        let h = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || f(&told))
            .map_err(|e| Error::io(format!("starting the {name} thread"), e))?;
        Ok(Joined {
            thread: Some(h),
            value: None,
            stop,
        })
    }

    fn none() -> Joined<T> {
        Joined {
            thread: None,
            value: None,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Its error, once it has ended with one (not blocking; a value is kept for
    /// [`wait`](Self::wait)).
    fn failed(&mut self) -> Result<()> {
        if self.thread.as_ref().is_some_and(|h| h.is_finished()) {
            if let Some(r) = self.wait() {
                self.value = Some(r?);
            }
        }
        Ok(())
    }

    /// Whether it has ended well (as [`failed`](Self::failed) found).
    fn ended(&self) -> bool {
        self.value.is_some()
    }

    /// Its result (`None`: waited for before, or never started). Blocking.
    fn wait(&mut self) -> Option<Result<T>> {
        if let Some(v) = self.value.take() {
            return Some(Ok(v));
        }
        let h = self.thread.take()?;
        Some(
            h.join()
                .unwrap_or_else(|_| Err(Error::internal("a staging thread failed (a panic)"))),
        )
    }
}

impl<T> Drop for Joined<T> {
    fn drop(&mut self) {
        if let Some(h) = self.thread.take() {
            self.stop.store(true, Ordering::Relaxed);
            let _ = h.join();
        }
    }
}

/// Where recovery stops.
enum Target {
    /// Right after this commit (`recovery_target_lsn`, inclusive).
    Lsn(wal::CommitRecord),
    /// Before the first commit later than this time (`recovery_target_time`, inclusive):
    /// only when the WAL at hand is known to hold such a commit.
    Time(i64),
    /// At the base's end (no commit to replay).
    Immediate,
}

fn blocking_err(e: tokio::task::JoinError) -> Error {
    Error::internal(format!("a blocking task failed: {e}"))
}

/// Stage what restoring `chain` to `at` needs: the window's WAL up to the first file sealed
/// after `at` (and the next, for a record that runs on into it) unsealed, each checked against
/// its checksums as it is read (the base is checked as it is unpacked, or by
/// [`Staged::into_plan`]), and `pg_waldump` started on it to find the stop by recovery's own
/// rule ([`Staged::listed`]).
pub(crate) async fn stage(
    engine: &Engine,
    project: &Project,
    chain: &PitrChain,
    facts: &ChainFacts,
    window: Window,
    at: i64,
    unpack: bool,
) -> Result<Staged> {
    let base: PhysicalBase = serde_json::from_str(chain.base_snapshot.as_deref().unwrap_or(""))
        .map_err(|_| Error::integrity("a physical chain without its base"))?;
    // The WAL before the base's start is not replayed (the base's own is in its tar).
    let mut segs: Vec<_> = facts.segments[..window.segments]
        .iter()
        .filter(|s| s.end_lsn > base.lsns.start_lsn)
        .cloned()
        .collect();
    if let Some(i) = segs.iter().position(|s| s.closed_at > at) {
        segs.truncate(i + 2);
    }
    let t0 = std::time::Instant::now();
    let parent = engine.data_dir.join(super::at::AT_DIR);
    crate::private_fs::create_dir_all(&parent)
        .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    if let Err(e) = crate::tempfiles::sweep(&parent) {
        tracing::warn!("{e}");
    }
    let in_use = crate::tempfiles::in_use(&parent)?;
    let dir = crate::private_fs::tempdir_in(&parent, crate::tempfiles::TEMP_PREFIX)
        .map_err(|e| Error::io(format!("creating a folder in {}", parent.display()), e))?;
    let wal_dir = dir.path().join("wal");
    crate::private_fs::create_dir_all(&wal_dir)
        .map_err(|e| Error::io(format!("creating {}", wal_dir.display()), e))?;
    let keys = crate::ops::encryption::keys_of(engine, &project.name)?;
    // A restore unpacks the base from the start, beside the WAL's unsealing and listing.
    // Closed when the unpacking ends (either way): WAL handed over while recovering is
    // checked after it, leaving the unpacking (which recovery waits for) both cores.
    let (unpacked_tx, unpacked_rx) = std::sync::mpsc::channel::<()>();
    let unpacking = if unpack {
        let (to, b, k) = (dir.path().join("data"), base.clone(), keys.clone());
        Joined::spawn("unpacking the base", move |stop| {
            let _ended = unpacked_tx;
            crate::private_fs::create_dir_all(&to)
                .map_err(|e| Error::io(format!("creating {}", to.display()), e))?;
            unpack_base(&to, &b, &k, stop)
        })?
    } else {
        Joined::none()
    };
    let files: Vec<WalFile> = segs
        .iter()
        .map(|s| (s.path.clone(), s.sha256.clone(), s.start_lsn))
        .collect();
    let unsealer = Unsealer {
        keys,
        dir: wal_dir.clone(),
        timeline: base.lsns.timeline,
        seg_size: base.seg_size,
    };
    // Recovery's own time target can stop the restore when TIME is after the base (every
    // commit before the base's end is older than its time) and a later commit is in the WAL.
    let time_target_possible = unpack && at >= facts.base_at;
    let (configured, u, seg_size) = (engine.pg_bin(), unsealer.clone(), base.seg_size);
    let major = base.major;
    let (tools, later_known, last, rest) = tokio::task::spawn_blocking(move || {
        let tools = Tools::find(major, configured.as_deref())?;
        let mut rest = files;
        // The last file first: whether a commit later than TIME is in it.
        let (later_known, last) = match rest.last() {
            Some(last) if time_target_possible => {
                let unsealed = u.unseal(last)?;
                let start = last.2 - last.2 % seg_size;
                let later = wal::later_commit_in(&tools, &u.dir, u.timeline, start, at)?;
                rest.pop();
                (later, Some(unsealed))
            }
            _ => (false, None),
        };
        if !later_known {
            segment::par_each(rest.len(), |i| u.unseal(&rest[i]).map(drop))?;
            rest.clear();
        }
        Ok::<_, Error>((tools, later_known, last, rest))
    })
    .await
    .map_err(blocking_err)??;
    let lister = Lister {
        tools,
        wal: wal_dir.clone(),
        timeline: base.lsns.timeline,
        from: base.lsns.end_lsn,
        at,
        seg_size: base.seg_size,
    };
    // With a later commit known, the other files are checked (and handed to the server) in
    // order, then listed, while the base is unpacked and recovered; otherwise they are
    // checked now and listed while the base is unpacked (the plan, or a recovery that needs
    // the stop's LSN).
    let (listing, handover) = if later_known {
        let handover = Arc::new(Handover::default());
        // The last file, checked already, first.
        if let Some(last) = &last {
            handover.checked(last)?;
        }
        let h = handover.clone();
        let feeding = Joined::spawn("checking WAL", move |stop| {
            let _ = unpacked_rx.recv();
            for f in &rest {
                if stop.load(Ordering::Relaxed) {
                    return Err(Error::new(ErrorKind::Cancelled, "checking the WAL stopped"));
                }
                h.checked(&unsealer.unseal(f)?)?;
            }
            tracing::debug!(
                "physical restore: WAL checked and unsealed in {:?}",
                t0.elapsed()
            );
            lister.list()
        })?;
        (feeding, Some(handover))
    } else {
        tracing::debug!(
            "physical restore: WAL checked and unsealed in {:?}",
            t0.elapsed()
        );
        (lister.start()?, None)
    };
    let plan = PitrPlan {
        at: micros_text(at),
        window,
        base_backup_id: chain.base_backup_id.clone().unwrap_or_default(),
        base_path: base.path.clone(),
        base_at: micros_text(facts.base_at),
        segments: segs.iter().map(|s| s.path.clone()).collect(),
        // Set by [`Staged::listed`].
        stop_commit_at: None,
        stop_commit_lsn: None,
        transactions: 0,
        // The project database's unlogged tables when the chain began (recovery empties them).
        not_covered: serde_json::from_str::<super::StoredCoverage>(&chain.coverage)
            .map(|c| c.not_covered)
            .unwrap_or_default(),
        // Set by the caller, which fetched missing segments back from copies first.
        fetched: Vec::new(),
        snapshot: String::new(),
    };
    Ok(Staged {
        plan,
        base,
        stop: None,
        wal: wal_dir,
        listing,
        at,
        unpacking,
        handover,
        _dir: dir,
        _in_use: in_use,
    })
}

/// The server settings of the recovery (given as `-c` options; the base's own configuration
/// is set aside, and what runs commands or loads code is forced off, by
/// [`ThrowawayCluster::start_prepared`]): no connections until it is promoted, then recovery
/// up to the stop.
fn recovery_settings(target: Target, major: u32, durable: bool) -> Vec<(String, String)> {
    let mut s: Vec<(String, String)> = [
        ("hot_standby", "off"),
        ("recovery_target_timeline", "current"),
        ("recovery_target_action", "promote"),
        // How soon a standby looks in `pg_wal` again for the next file (handed over as it is
        // checked).
        ("wal_retrieve_retry_interval", "10ms"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if !durable {
        s.push(("fsync".into(), "off".into()));
    }
    match target {
        Target::Lsn(c) => {
            s.push(("recovery_target_lsn".into(), lsn_text(c.lsn)));
            s.push(("recovery_target_inclusive".into(), "on".into()));
        }
        Target::Time(at) => {
            // As the server's check of the setting reads it (it refuses RFC 3339's `T…Z`).
            let t = chrono::DateTime::from_timestamp_micros(at)
                .unwrap_or_default()
                .format("%Y-%m-%d %H:%M:%S%.6f+00");
            s.push(("recovery_target_time".into(), t.to_string()));
            s.push(("recovery_target_inclusive".into(), "on".into()));
            s.push(("wal_recycle".into(), "off".into()));
        }
        Target::Immediate => s.push(("recovery_target".into(), "immediate".into())),
    }
    if major < 15 {
        s.push(("stats_temp_directory".into(), "pg_stat_tmp".into()));
    }
    s
}

/// Fill a data folder: the base, unpacked (and checked) by [`stage`] into the staging folder,
/// moved into it (one rename on the same file system); the staged WAL put into `pg_wal` —
/// moved once `pg_waldump` has listed it, or handed over as it is checked (hard-linked: the
/// listing reads it after) when recovery stops by its time target —, and `standby.signal`
/// (recovery reads `pg_wal` only, and waits there for the next file: the confined server may
/// run no `restore_command`). `owner`: the server's user, when it runs as another. Returns
/// the recovery's settings for the stop. Blocking.
fn fill(
    data: &Path,
    owner: Option<(u32, u32)>,
    staged: &mut Staged,
    durable: bool,
) -> Result<Vec<(String, String)>> {
    let unpacked = match staged.unpacking.wait() {
        Some(r) => r.and_then(|()| {
            let from = staged._dir.path().join("data");
            let _ = std::fs::remove_dir(data);
            if std::fs::rename(&from, data).is_err() {
                crate::drill::cluster::copy_tree(&from, data).map_err(|e| {
                    Error::io(
                        format!("copying the unpacked base to {}", data.display()),
                        e,
                    )
                })?;
            }
            Ok(())
        }),
        None => Err(Error::internal(
            "a restore of a physical base staged for its plan only",
        )),
    };
    // Listed while the base was unpacked; waited for even when unpacking failed (it reads the
    // folder the WAL is moved from). Handed over, it is listed while recovering.
    let handover = staged.handover.clone();
    let listed = if handover.is_some() {
        Ok(())
    } else {
        staged.listed()
    };
    unpacked?;
    listed?;
    // Before anything is written into it: no link of the base is followed (a tablespace's is
    // re-pointed inside the throwaway folder), `pg_wal` is a real folder.
    let root = data.parent().unwrap_or(data);
    crate::drill::neutral::check_links(data, root)?;
    let pg_wal = data.join("pg_wal");
    crate::private_fs::create_dir_all(&pg_wal)
        .map_err(|e| Error::io(format!("creating {}", pg_wal.display()), e))?;
    if handover.is_none() {
        move_wal(&staged.wal, &pg_wal)?;
    }
    for gone in [
        "recovery.signal",
        "standby.signal",
        "postmaster.pid",
        "postmaster.opts",
    ] {
        let _ = std::fs::remove_file(data.join(gone));
    }
    crate::drill::neutral::write_new(&data.join("standby.signal"), &[])?;
    let target = if let Some(h) = handover {
        // The files checked so far handed over now (the server's user given them), the rest
        // as each is checked: the server, with `wal_recycle = off`, never writes into a WAL
        // file it replays, so the listing reads what was checked.
        h.open(&pg_wal, owner)?;
        tracing::debug!("physical restore: recovery stops by its time target");
        Target::Time(staged.at)
    } else {
        tracing::debug!("physical restore: recovery stops at the listed commit's LSN");
        match staged.stop {
            Some(c) => Target::Lsn(c),
            None => Target::Immediate,
        }
    };
    Ok(recovery_settings(target, staged.base.major, durable))
}

/// The staged WAL files (all checked and listed) moved into `pg_wal`. Blocking.
fn move_wal(staged: &Path, pg_wal: &Path) -> Result<()> {
    for e in std::fs::read_dir(staged).map_err(|e| Error::io("reading the staged WAL", e))? {
        let e = e.map_err(|e| Error::io("reading the staged WAL", e))?;
        let dest = pg_wal.join(e.file_name());
        let _ = std::fs::remove_file(&dest);
        if std::fs::rename(e.path(), &dest).is_err() {
            std::fs::copy(e.path(), &dest)
                .map_err(|err| Error::io(format!("copying WAL into {}", dest.display()), err))?;
        }
    }
    Ok(())
}

/// The base's `base.tar` unpacked into `data`, the sealed file checked against its checksums
/// (the `.sha256` and the catalog's) as it is read. Blocking.
fn unpack_base(
    data: &Path,
    base: &PhysicalBase,
    keys: &[crate::crypto::UserKey],
    stop: &AtomicBool,
) -> Result<()> {
    let t0 = std::time::Instant::now();
    let path = Path::new(&base.path);
    let (r, checked) = physical::Unsealed::open_checked_ahead(path, keys, Some(&base.sha256))
        .map_err(|e| e.context("the physical base"))?;
    let mut r = Stoppable { r, stop };
    let mut archive = tar::Archive::new(&mut r);
    archive.set_preserve_permissions(true);
    let unpacked = archive.unpack(data);
    if stop.load(Ordering::Relaxed) {
        return Err(Error::new(
            ErrorKind::Cancelled,
            "unpacking the physical base stopped",
        ));
    }
    // The rest of the sealed file (after the tar's end) read too, so that all of it is checked.
    let drained = std::io::copy(&mut r, &mut std::io::sink());
    checked
        .finish()
        .map_err(|e| e.context("the physical base"))?;
    unpacked.map_err(|e| Error::integrity(format!("unpacking the physical base: {e}")))?;
    drained.map_err(|e| Error::integrity(format!("reading the physical base: {e}")))?;
    tracing::debug!(
        "physical restore: base checked and unpacked in {:?}",
        t0.elapsed()
    );
    Ok(())
}

/// A reader that fails once `stop` is set.
struct Stoppable<'a, R> {
    r: R,
    stop: &'a AtomicBool,
}

impl<R: std::io::Read> std::io::Read for Stoppable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("stopped"));
        }
        self.r.read(buf)
    }
}

/// Restore project `name`'s physical chain to `at` into `into`.
pub(crate) async fn run(
    engine: &Engine,
    project: &Project,
    staged: Staged,
    into: RestoreInto<'_>,
    cancel: &CancellationToken,
) -> Result<PitrRestored> {
    Ok(run_with(engine, project, staged, into, cancel).await?.0)
}

/// [`run`], and the archive written for [`RestoreInto::Archive`].
pub(crate) async fn run_with(
    engine: &Engine,
    project: &Project,
    staged: Staged,
    into: RestoreInto<'_>,
    cancel: &CancellationToken,
) -> Result<(PitrRestored, Option<crate::archive::Written>)> {
    if let RestoreInto::DataDir(p) = &into {
        if p.exists() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} exists: --to-data-dir takes a new folder", p.display()),
            ));
        }
    }
    let t0 = std::time::Instant::now();
    crate::ops::drill::sweep_clusters(engine).await;
    let durable = matches!(into, RestoreInto::DataDir(_));
    let id = format!("pt{}", uuid::Uuid::new_v4().simple());
    let (data_dir, pg_bin) = (engine.data_dir.clone(), engine.pg_bin());
    let at = staged.at;
    // Set when checking the WAL handed over while recovering failed (a damaged file).
    let fed_failed = Arc::new(AtomicBool::new(false));
    let fed = fed_failed.clone();
    // A cancel while the throwaway server recovers stops it and removes its folder (the
    // cluster is dropped on the error): nothing was written anywhere else yet.
    let stop = cancel.clone();
    let recovered = tokio::task::spawn_blocking(move || {
        recover(
            &data_dir,
            &id,
            pg_bin.as_deref(),
            staged,
            durable,
            &fed,
            &stop,
        )
    })
    .await
    .map_err(blocking_err)?;
    let (cluster, staged) = match recovered {
        Ok(r) => r,
        Err(_) if cancel.is_cancelled() => return Err(cancelled_recovering()),
        Err(e) if fed_failed.load(Ordering::Relaxed) => {
            return Err(as_planned(engine, project, at, e).await)
        }
        Err(e) => return Err(e),
    };
    tracing::debug!(
        "physical restore: recovered and promoted at {:?}",
        t0.elapsed()
    );
    // The listing that ran while recovering (after checking what was handed over): the
    // plan's stop and count.
    let listed = tokio::task::spawn_blocking(move || {
        let mut staged = staged;
        staged.listed().map(|()| staged)
    })
    .await
    .map_err(blocking_err)?;
    let staged = match listed {
        Ok(_) if cancel.is_cancelled() => {
            let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
            return Err(cancelled_recovering());
        }
        Ok(s) => s,
        Err(e) => {
            let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
            return Err(as_planned(engine, project, at, e).await);
        }
    };
    // Offsite's own sessions: none for a data folder (ready means promoted: the server
    // accepts no connection while it recovers); else as a role made to read with, once the
    // base's per-role and per-database settings are cleared (see `drill::neutral`).
    let source = engine.spec_of(project)?;
    let (cluster, spec) = match into {
        RestoreInto::DataDir(_) => {
            let spec = cluster.spec(&source.database);
            (cluster, spec)
        }
        _ => {
            let db = source.database.clone();
            let (cluster, role) = tokio::task::spawn_blocking(move || {
                let mut cluster = cluster;
                let role = cluster.reopen_for_reading(&db);
                (cluster, role)
            })
            .await
            .map_err(blocking_err)?;
            let mut spec = cluster.spec(&source.database);
            match role {
                Ok(role) => spec.user = role,
                Err(e) => {
                    let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
                    return Err(e);
                }
            }
            if let Err(e) = ended_recovery(&spec, cluster.root()).await {
                let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
                return Err(e);
            }
            (cluster, spec)
        }
    };
    let replayed = Replayed {
        commits: staged.plan.transactions,
        skipped: 0,
        changes: 0,
        last_commit: staged.stop.map(|c| (c.lsn, c.at)),
        round_trips: 0,
        folded: 0,
    };
    let mut archive = None;
    match into {
        RestoreInto::DataDir(dest) => {
            let dest = dest.to_path_buf();
            tokio::task::spawn_blocking(move || cluster.stop_into(&dest))
                .await
                .map_err(blocking_err)??;
            tracing::debug!("physical restore: stopped and moved at {:?}", t0.elapsed());
        }
        RestoreInto::Database { to, password } => {
            let moved = dump_and_restore(engine, project, &spec, to, password, cancel).await;
            let stopped = tokio::task::spawn_blocking(move || cluster.stop())
                .await
                .map_err(blocking_err)?;
            moved?;
            stopped?;
        }
        RestoreInto::Archive(dir) => {
            let written = dump(engine, project, &spec, dir, cancel).await;
            let stopped = tokio::task::spawn_blocking(move || cluster.stop())
                .await
                .map_err(blocking_err)?;
            archive = Some(written?);
            stopped?;
        }
    }
    let restored = PitrRestored {
        plan: staged.plan,
        replayed,
    };
    Ok((restored, archive))
}

/// What a read of a recovered PostgreSQL `major` server says of the role it read as, when that
/// is not the rule's role made to read with: on 13 and older (no `pg_read_all_data`) the
/// single-user step makes it a superuser, since a role granted SELECT on every table would
/// carry those grants into the dump it takes (pg_dump writes each object's privileges as the
/// catalog holds them; docs/security.md). `None` on 14 and newer.
pub(crate) fn superuser_read(major: u32) -> Option<String> {
    (major <= 13).then(|| {
        format!(
            "read as a superuser of the throwaway server: PostgreSQL {major} has no \
             pg_read_all_data, and a role granted SELECT on every table instead would carry \
             those grants into the dump (docs/security.md); only the server's confinement \
             stood between the base's catalog and this machine while it was read"
        )
    })
}

/// An error unless the restored server has ended its recovery, and unless the database to read
/// is free of C functions whose library could have come with the base (see
/// [`crate::drill::neutral::base_library`]; `root`: the throwaway folder).
async fn ended_recovery(spec: &crate::postgres::conn::ConnSpec, root: &Path) -> Result<()> {
    let mut conn = spec.connect(None).await?;
    crate::drill::neutral::refuse_base_libraries(&mut conn, root).await?;
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_catalog.pg_is_in_recovery()")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    if in_recovery {
        return Err(Error::new(
            ErrorKind::ToolFailed,
            "the restored cluster is still in recovery",
        ));
    }
    Ok(())
}

/// The error of a restore to a time cancelled while its throwaway server recovered.
fn cancelled_recovering() -> Error {
    Error::new(
        ErrorKind::Cancelled,
        "cancelled while the throwaway server recovered the base to the time asked for: the \
         server was stopped and its folder removed; nothing was written to the target",
    )
    .with_hint("run the restore again when ready")
}

/// The throwaway cluster started on the staged base and recovered to the stop (WAL handed
/// over while recovering, when it is: see [`Staged::handover`]); `fed_failed` set when
/// checking that WAL failed; `cancel`: a cancel ends the recovery, the server stopped and its
/// folder removed. Blocking.
fn recover(
    data_dir: &Path,
    id: &str,
    pg_bin: Option<&Path>,
    mut staged: Staged,
    durable: bool,
    fed_failed: &AtomicBool,
    cancel: &CancellationToken,
) -> Result<(ThrowawayCluster, Staged)> {
    let major = staged.base.major;
    let bins = choose_server_bins(&discover_server_bins(pg_bin), major)?;
    if bins.major != major {
        return Err(Error::new(
            ErrorKind::ToolMissing,
            format!(
                "no PostgreSQL {major} server binaries found (a physical base is restored \
                 by its own version)"
            ),
        )
        .with_hint(crate::drill::cluster::server_install_hint(major)));
    }
    // WAL handed over while recovering: checked (then listed) beside it; a damaged file
    // ends the recovery and removes the cluster.
    let handover = staged.handover.clone();
    let mut promoted = handover.is_none();
    let mut feeding = match handover {
        Some(_) => std::mem::replace(&mut staged.listing, Joined::none()),
        None => Joined::none(),
    };
    let started = ThrowawayCluster::start_prepared(
        data_dir,
        id,
        bins,
        |data, owner| fill(data, owner, &mut staged, durable),
        RECOVERY_LIMIT,
        |server| {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            feeding
                .failed()
                .inspect_err(|_| fed_failed.store(true, Ordering::Relaxed))?;
            // Every file handed over (and listed): a recovery still waiting for WAL now
            // would wait for ever. Told to end once it runs out, it stops at its target
            // as before, or fails saying it did not reach it.
            if !promoted && feeding.ended() {
                promoted = server.promote()?;
            }
            Ok(())
        },
    );
    if let Some(h) = handover {
        let handed = h.close();
        tracing::debug!("physical restore: {handed} WAL files handed over while recovering");
        staged.listing = feeding;
    }
    Ok((started?, staged))
}

/// A WAL file found damaged as it was checked while recovering: said as the plan says it —
/// every segment checked, the window ending before it, TIME refused naming the nearest
/// restorable times — when the plan refuses TIME; else `e` itself.
async fn as_planned(engine: &Engine, project: &Project, at: i64, e: Error) -> Error {
    tracing::info!("physical restore: {e}; planning again from every segment's checksum");
    match super::restore::plan(engine, &project.name, at).await {
        Err(refused) => refused,
        Ok(_) => e,
    }
}

/// The recovered database dumped (as the reading role) into an archive in a private
/// temporary folder, then restored into `to` like any restore.
async fn dump_and_restore(
    engine: &Engine,
    project: &Project,
    spec: &crate::postgres::conn::ConnSpec,
    to: &str,
    password: Option<String>,
    cancel: &CancellationToken,
) -> Result<()> {
    let parent = engine.data_dir.join(super::at::AT_DIR);
    let _in_use = crate::tempfiles::in_use(&parent)?;
    let dir = crate::private_fs::tempdir_in(&parent, crate::tempfiles::TEMP_PREFIX)
        .map_err(|e| Error::io(format!("creating a folder in {}", parent.display()), e))?;
    let written = dump(engine, project, spec, dir.path(), cancel).await?;
    engine
        .restore(
            RestoreRequest::new(
                written.path.display().to_string(),
                DatabaseTo::url_or_project(to, password),
            ),
            JobStart {
                cancel: cancel.clone(),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

/// The recovered database dumped (as the reading role) into an archive in `dir`.
async fn dump(
    engine: &Engine,
    project: &Project,
    spec: &crate::postgres::conn::ConnSpec,
    dir: &Path,
    cancel: &CancellationToken,
) -> Result<crate::archive::Written> {
    let source = crate::sources::PostgresSource::new(spec.clone(), None, engine.pg_bin());
    let request = crate::backup::compose::ComposeRequest {
        project: project.name.clone(),
        dest_dir: dir.to_path_buf(),
        compression: crate::ops::backup::default_compression(engine)
            .await
            .unwrap_or_default(),
        backup_id: uuid::Uuid::new_v4().to_string(),
        created_at: engine.clock.now(),
        backup_type: crate::archive::BackupType::Database,
        database: Some(crate::backup::compose::DatabaseInput {
            source: Arc::new(source),
        }),
        storage: None,
        config: None,
    };
    let reporter = crate::progress::Reporter::silent();
    crate::backup::compose::compose_encrypted(request, None, &reporter, cancel).await
}
