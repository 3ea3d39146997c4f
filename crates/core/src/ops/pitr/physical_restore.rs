//! Restoring a physical chain to a time (docs/pitr.md "Physical capture"): the plan (the base,
//! the WAL files to replay, the last commit at or before TIME — read from the WAL with the
//! version's `pg_waldump`), then the base unpacked into a throwaway cluster (the drills' own),
//! the WAL put beside it, and PostgreSQL's own recovery run up to that commit
//! (`recovery_target_lsn`, inclusive) and promoted; from there the database is dumped and
//! restored into the target like any restore, or the cluster is left as a new server's data
//! folder (`--to-data-dir`).

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
    /// meanwhile, or recovers: see `later_known`); [`Staged::listed`] waits for it and fills in
    /// the stop.
    listing: Joined<Listing>,
    /// The listing left for later: for a restore whose last staged WAL file holds a commit
    /// later than TIME, recovery's own time target stops inside this WAL, so recovery starts
    /// without waiting for the listing, which runs while it recovers (on the core recovery
    /// leaves idle).
    lister: Option<Lister>,
    /// TIME.
    at: i64,
    /// For a restore: the base being unpacked (and checked) into `<tmp>/data` from the start
    /// of the staging, beside the WAL's unsealing and listing; [`fill`] waits for it.
    unpacking: Joined<()>,
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
        let t0 = std::time::Instant::now();
        Joined::spawn("pg_waldump", move |_| {
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
        })
    }
}

impl Staged {
    /// Start the listing if it was left for later.
    fn start_listing(&mut self) -> Result<()> {
        if let Some(l) = self.lister.take() {
            self.listing = l.start()?;
        }
        Ok(())
    }

    /// Wait for the WAL's listing: the stop and the transactions applied set in the plan.
    /// Blocking.
    pub(crate) fn listed(&mut self) -> Result<()> {
        self.start_listing()?;
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
            stop,
        })
    }

    fn none() -> Joined<T> {
        Joined {
            thread: None,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Its result (`None`: waited for before, or never started). Blocking.
    fn wait(&mut self) -> Option<Result<T>> {
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
    let unpacking = if unpack {
        let (to, b, k) = (dir.path().join("data"), base.clone(), keys.clone());
        Joined::spawn("unpacking the base", move |stop| {
            crate::private_fs::create_dir_all(&to)
                .map_err(|e| Error::io(format!("creating {}", to.display()), e))?;
            unpack_base(&to, &b, &k, stop)
        })?
    } else {
        Joined::none()
    };
    let (configured, b, w) = (engine.pg_bin(), base.clone(), wal_dir.clone());
    let files: Vec<(String, String, u64)> = segs
        .iter()
        .map(|s| (s.path.clone(), s.sha256.clone(), s.start_lsn))
        .collect();
    // Recovery's own time target can stop the restore when TIME is after the base (every
    // commit before the base's end is older than its time) and a later commit is in the WAL.
    let time_target_possible = unpack && at >= facts.base_at;
    let (tools, later_known) = tokio::task::spawn_blocking(move || {
        let tools = Tools::find(b.major, configured.as_deref())?;
        segment::par_each(files.len(), |i| {
            let (path, sha, start) = &files[i];
            let name = wal::file_name(b.lsns.timeline, *start, b.seg_size);
            let expected = (!sha.is_empty()).then_some(sha.as_str());
            physical::unseal_wal(Path::new(path), &keys, &w.join(name), b.seg_size, expected)
        })?;
        let later_known = match files.last() {
            Some((_, _, last)) if time_target_possible => {
                let start = last - last % b.seg_size;
                wal::later_commit_in(&tools, &w, b.lsns.timeline, start, at)?
            }
            _ => false,
        };
        Ok::<_, Error>((tools, later_known))
    })
    .await
    .map_err(blocking_err)??;
    tracing::debug!(
        "physical restore: WAL checked and unsealed in {:?}",
        t0.elapsed()
    );
    let (w, timeline, from, seg_size) = (
        wal_dir.clone(),
        base.lsns.timeline,
        base.lsns.end_lsn,
        base.seg_size,
    );
    let lister = Lister {
        tools,
        wal: w,
        timeline,
        from,
        at,
        seg_size,
    };
    // Listed now (the plan, or a recovery that needs the stop's LSN), or while recovering.
    let (listing, lister) = if later_known {
        (Joined::none(), Some(lister))
    } else {
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
        lister,
        at,
        unpacking,
        _dir: dir,
        _in_use: in_use,
    })
}

/// The server settings of the recovery (given as `-c` options: the data folder keeps the
/// source's own configuration): nothing of the source's that reaches outside the private
/// folder (TCP, TLS, archiving, preloaded libraries, a primary), no connections until it is
/// promoted, then recovery up to the stop.
fn recovery_settings(target: Target, major: u32, durable: bool) -> Vec<(String, String)> {
    let mut s: Vec<(String, String)> = [
        ("shared_preload_libraries", ""),
        ("ssl", "off"),
        ("archive_mode", "off"),
        ("archive_command", ""),
        ("restore_command", ""),
        ("primary_conninfo", ""),
        ("primary_slot_name", ""),
        ("hot_standby", "off"),
        ("logging_collector", "off"),
        ("log_destination", "stderr"),
        ("external_pid_file", ""),
        ("unix_socket_group", ""),
        ("recovery_target_timeline", "current"),
        ("recovery_target_action", "promote"),
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
/// moved once `pg_waldump` has listed it, or hard-linked when it is listed while recovering —
/// and `standby.signal` (recovery reads `pg_wal` only: the confined server may run no
/// `restore_command`). Returns the recovery's settings for the stop. Blocking.
fn fill(data: &Path, staged: &mut Staged, durable: bool) -> Result<Vec<(String, String)>> {
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
    // folder the WAL is moved from). With a later commit known, it is listed while recovering.
    let later = staged.lister.is_some();
    let listed = if later { Ok(()) } else { staged.listed() };
    unpacked?;
    listed?;
    let pg_wal = data.join("pg_wal");
    crate::private_fs::create_dir_all(&pg_wal)
        .map_err(|e| Error::io(format!("creating {}", pg_wal.display()), e))?;
    for e in std::fs::read_dir(&staged.wal).map_err(|e| Error::io("reading the staged WAL", e))? {
        let e = e.map_err(|e| Error::io("reading the staged WAL", e))?;
        let dest = pg_wal.join(e.file_name());
        let _ = std::fs::remove_file(&dest);
        // Linked when the listing still reads the staged names (the server, with
        // `wal_recycle = off`, never writes into a WAL file it replays: nothing it does changes
        // what the listing reads); moved otherwise.
        let placed = if later {
            std::fs::hard_link(e.path(), &dest)
        } else {
            std::fs::rename(e.path(), &dest)
        };
        if placed.is_err() {
            std::fs::copy(e.path(), &dest)
                .map_err(|err| Error::io(format!("copying WAL into {}", dest.display()), err))?;
        }
    }
    for gone in ["recovery.signal", "postmaster.pid", "postmaster.opts"] {
        let _ = std::fs::remove_file(data.join(gone));
    }
    std::fs::write(data.join("standby.signal"), "")
        .map_err(|e| Error::io("writing standby.signal", e))?;
    let target = if later {
        staged.start_listing()?;
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
    let (r, checked) = physical::Unsealed::open_checked(path, keys, Some(&base.sha256))
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
    let (cluster, staged) = tokio::task::spawn_blocking(move || {
        let mut staged = staged;
        let major = staged.base.major;
        let bins = choose_server_bins(&discover_server_bins(pg_bin.as_deref()), major)?;
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
        let cluster = ThrowawayCluster::start_prepared(
            &data_dir,
            &id,
            bins,
            |data| fill(data, &mut staged, durable),
            RECOVERY_LIMIT,
        )?;
        Ok((cluster, staged))
    })
    .await
    .map_err(blocking_err)??;
    tracing::debug!(
        "physical restore: recovered and promoted at {:?}",
        t0.elapsed()
    );
    // The listing that ran while recovering: the plan's stop and count.
    let staged = tokio::task::spawn_blocking(move || {
        let mut staged = staged;
        staged.listed().map(|()| staged)
    })
    .await
    .map_err(blocking_err)??;
    let source = engine.spec_of(project)?;
    let mut spec = cluster.spec(&source.database);
    spec.user = source.user.clone();
    let done = async {
        let mut conn = spec.connect(None).await?;
        let (in_recovery, superuser): (bool, String) = sqlx::query_as(
            "SELECT pg_is_in_recovery(), (SELECT rolname::text FROM pg_roles WHERE oid = 10)",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
        if in_recovery {
            return Err(Error::new(
                ErrorKind::ToolFailed,
                "the restored cluster is still in recovery",
            ));
        }
        Ok(superuser)
    }
    .await;
    let superuser = match done {
        Ok(s) => s,
        Err(e) => {
            let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
            return Err(e);
        }
    };
    let replayed = Replayed {
        commits: staged.plan.transactions,
        skipped: 0,
        changes: 0,
        last_commit: staged.stop.map(|c| (c.lsn, c.at)),
        round_trips: 0,
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
            spec.user = superuser;
            let moved = dump_and_restore(engine, project, &spec, to, password, cancel).await;
            let stopped = tokio::task::spawn_blocking(move || cluster.stop())
                .await
                .map_err(blocking_err)?;
            moved?;
            stopped?;
        }
        RestoreInto::Archive(dir) => {
            spec.user = superuser;
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

/// The recovered database dumped (as the cluster's superuser) into an archive in a private
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

/// The recovered database dumped (as the cluster's superuser) into an archive in `dir`.
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
