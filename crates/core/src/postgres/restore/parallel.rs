//! A directory dump (format 2) restored into a target the restore meets nothing in, by
//! `pg_restore -j N`, with the archive's extraction overlapped (issue 28, 3b).
//!
//! `pg_restore -j N` restores the pre-data section (types, tables, functions: everything but the
//! rows, the indexes and the constraints) serially in its leader before it forks any worker, and
//! that section needs only `toc.dat`. So the restore runs in parts over one private temporary
//! folder:
//!
//! 1. `toc.dat` is read by random access and checked against the manifest; then
//!    `pg_restore --section=pre-data` runs **while** the data members are extracted and each is
//!    checked against the manifest's SHA-256;
//! 2. the largest table's data member (when it is at least [`STREAM_MIN`] and more than one job
//!    is asked for) is not extracted: as soon as the pre-data section is in, a pg_restore of its
//!    own loads it through a FIFO while it is decompressed and hashed ([`super::stream`]: the
//!    rows are committed only after the member matched its checksum), so the biggest load starts
//!    before the extraction of the others ends instead of after it;
//! 3. once the pre-data section is in and the other members are extracted (on N − 1 threads:
//!    the stream's feed is the N-th), `pg_restore -j N−1` (the streamed load holds the N-th
//!    connection) over the rest of the data and post-data entries (rows, large objects,
//!    sequences' values, then indexes, constraints, triggers and policies in parallel,
//!    dependencies respected);
//! 4. what depends on the streamed table alone (its indexes, constraints, triggers, policies,
//!    grants: the *early* list of [`super::split`]) by `pg_restore -j N` as soon as its rows are
//!    committed, beside part 3; and once everything else is done, what depends on it and on
//!    the rest too (foreign keys between it and other tables, materialized views' refreshes:
//!    the *late* list).
//!
//! Every entry of the dump belongs to exactly one of the parts, so the parts restore exactly
//! what one `pg_restore -j N` does, in an order its dependencies allow.
//!
//! No part is one transaction (`--single-transaction` cannot be combined with `-j`): a failure of
//! any (a data member that fails its checksum included) stops the others and leaves the target
//! partly restored (never a row of a member that failed its check, nor anything that depends on
//! a streamed table that failed its), as any failed parallel restore does; the error says so.
//! The temporary folder is removed on every path, and each pg_restore leads a process group
//! that a stop kills whole (`-j`'s workers with their leader).

use super::dir::DumpDir;
use super::split::{self, Pick};
use super::toc::FullToc;
use crate::archive::{self, random::ArchiveSeeker, Manifest};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::ConnSpec;
use crate::postgres::process;
use crate::postgres::tools::PgTools;
use crate::private_fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Condvar, Mutex};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// The smallest data member streamed into its pg_restore rather than extracted first.
pub(super) const STREAM_MIN: u64 = 1 << 20;

/// Where the restore runs: the pg_restore it starts, into which target, with `jobs` workers.
pub(super) struct Job<'a> {
    pub tools: &'a PgTools,
    pub spec: &'a ConnSpec,
    pub password: Option<&'a str>,
    pub jobs: u32,
}

/// Restore the directory dump of the archive at `archive_path` with `job.jobs` workers; `toc` is
/// the dump's table of contents (the plan's).
pub(super) fn run(
    job: &Job,
    archive_path: &Path,
    toc: &FullToc,
    cancel: &CancellationToken,
) -> Result<()> {
    run_in(
        &std::env::temp_dir(),
        job,
        archive_path,
        toc,
        STREAM_MIN,
        cancel,
    )
}

fn run_in(
    parent: &Path,
    job: &Job,
    archive_path: &Path,
    toc: &FullToc,
    stream_min: u64,
    cancel: &CancellationToken,
) -> Result<()> {
    let at = Instant::now();
    let dump = DumpDir::toc_only_in(parent, archive_path, cancel)?;
    let manifest = archive::read_manifest(archive_path)?;
    let picked = (job.jobs > 1)
        .then(|| split::pick(&manifest, toc, stream_min))
        .flatten();
    if let Some(pick) = picked {
        let r = streamed(job, archive_path, &manifest, &dump, toc, &pick, at, cancel);
        drop(dump);
        return r;
    }
    let Job {
        tools,
        spec,
        password,
        jobs,
    } = *job;
    // Each part stops the other on failure; the user's cancel stops both.
    let (stop_pre, stop_extract) = (cancel.child_token(), cancel.child_token());
    let pre = spawn(
        tools,
        spec,
        password,
        dump.path(),
        &["--section=pre-data".to_string()],
        &stop_pre,
    )?;
    tracing::info!(
        "restore: pg_restore --section=pre-data started {} ms into the parallel restore",
        at.elapsed().as_millis()
    );
    let (pre_done, extracted) = std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let done = finish(pre, password, &stop_pre);
            if done.is_err() {
                stop_extract.cancel();
            }
            done
        });
        let extracted = dump.extract_data(
            archive_path,
            super::dir::extract_threads(jobs),
            &stop_extract,
        );
        if extracted.is_err() {
            stop_pre.cancel();
        }
        let pre_done = waiter
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (pre_done, extracted)
    });
    tracing::info!(
        "restore: pre-data restored and the data extracted {} ms into the parallel restore",
        at.elapsed().as_millis()
    );
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    // The first cause: a part stopped by the other's failure reports only that it was stopped.
    match (pre_done, extracted) {
        (_, Err(e)) if e.kind() != ErrorKind::Cancelled => return Err(e),
        (Err(e), _) => return Err(e),
        (Ok(()), Err(e)) => return Err(e),
        (Ok(()), Ok(())) => {}
    }
    let data = spawn(
        tools,
        spec,
        password,
        dump.path(),
        &[
            format!("--jobs={jobs}"),
            "--section=data".to_string(),
            "--section=post-data".to_string(),
        ],
        cancel,
    )?;
    finish(data, password, cancel)?;
    drop(dump);
    Ok(())
}

/// `pg_restore` of the directory dump at `dir` into the target, with `args` (a section, workers,
/// a list), leading a process group of its own (killed whole on `cancel`).
fn spawn(
    tools: &PgTools,
    spec: &ConnSpec,
    password: Option<&str>,
    dir: &Path,
    args: &[String],
    cancel: &CancellationToken,
) -> Result<(process::Guarded, process::StderrTail)> {
    let mut cmd = process::command(&tools.pg_restore(), spec, password);
    cmd.args(["--exit-on-error", "--no-password"])
        .args(args)
        .arg(format!("--dbname={}", spec.dbname_conninfo()))
        .arg(dir);
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    let (child, _, _, stderr) = process::Guarded::spawn_group(cmd, "pg_restore", cancel)?;
    Ok((child, stderr))
}

/// Parts 1–4 of the module's comment, the largest table's member `pick` streamed.
#[allow(clippy::too_many_arguments)]
fn streamed(
    job: &Job,
    archive_path: &Path,
    manifest: &Manifest,
    dump: &DumpDir,
    toc: &FullToc,
    pick: &Pick,
    at: Instant,
    cancel: &CancellationToken,
) -> Result<()> {
    let Job {
        tools,
        spec,
        password,
        jobs,
    } = *job;
    let file = pick
        .member
        .name
        .strip_prefix(archive::DATABASE_DIR_PREFIX)
        .unwrap_or(&pick.member.name);
    let fifo = dump.path().join(file);
    super::stream::make_fifo(&fifo)?;
    let streamed_list = write_list(dump, "streamed.list", &format!("{}\n", pick.line))?;
    // Any part's failure stops the others; the user's cancel stops all.
    let stop = cancel.child_token();
    let pre = spawn(
        tools,
        spec,
        password,
        dump.path(),
        &["--section=pre-data".to_string()],
        &stop,
    )?;
    let pre_in: Latch<bool> = Latch::default();
    let lists_in: Latch<Option<split::Lists>> = Latch::default();
    let stop_on = |r: Result<()>| {
        if r.is_err() {
            stop.cancel();
        }
        r
    };
    // The streamed table's load takes one of the `jobs` connections (and its feed one of the
    // threads) while the others extract and restore the rest: `jobs` in all, as `-j` would.
    let others = jobs.saturating_sub(1).max(1);
    // `-j workers` over a list, in the target, stopped with the rest.
    let restore_list = |name: &str, lines: &str, workers: u32| -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let list = write_list(dump, name, lines)?;
        let args = [
            format!("--jobs={workers}"),
            format!("--use-list={}", list.display()),
        ];
        finish(
            spawn(tools, spec, password, dump.path(), &args, &stop)?,
            password,
            &stop,
        )
    };
    let (stream_r, extract_r, pre_r, lists_r, main_r) = std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let r = stop_on(finish(pre, password, &stop));
            pre_in.set(r.is_ok());
            r
        });
        let lister = s.spawn(|| {
            let after_pre = stop_on(
                super::toc::run_pg_restore(
                    tools,
                    archive_path,
                    Some(dump.path()),
                    &["--list", "--section=data", "--section=post-data"],
                    "pg_restore --list",
                )
                .map(|l| lists_in.set(Some(split::lists(&l, toc, pick.id)))),
            );
            lists_in.set(None);
            after_pre
        });
        let streamer = s.spawn(|| {
            stop_on((|| {
                let mut seeker = ArchiveSeeker::open(archive_path)?;
                let span = seeker.find(&pick.member.name, &stop)?.ok_or_else(|| {
                    Error::integrity(format!(
                        "{}: member {} is listed in the manifest but missing from the archive",
                        archive_path.display(),
                        pick.member.name
                    ))
                    .with_hint("the archive is damaged; use another copy of this backup")
                })?;
                if !pre_in.wait() {
                    return Err(Error::cancelled());
                }
                let arg = format!("--use-list={}", streamed_list.display());
                let reader = spawn(tools, spec, password, dump.path(), &[arg], &stop)?;
                tracing::info!(
                    "restore: streaming {} ({} bytes) into its own pg_restore {} ms into the parallel restore",
                    pick.member.name,
                    pick.member.size,
                    at.elapsed().as_millis()
                );
                super::stream::feed(
                    &mut seeker,
                    span,
                    &pick.member,
                    &fifo,
                    reader,
                    "pg_restore",
                    password,
                    &stop,
                )?;
                tracing::info!(
                    "restore: the streamed table loaded {} ms into the parallel restore",
                    at.elapsed().as_millis()
                );
                // Its own indexes and constraints, beside what the -j part still restores.
                let lists = lists_in.wait().ok_or_else(Error::cancelled)?;
                restore_list("early.list", &lists.early, jobs)?;
                tracing::info!(
                    "restore: what depends only on the streamed table restored {} ms into the parallel restore",
                    at.elapsed().as_millis()
                );
                Ok(())
            })())
        });
        let extract_r = stop_on(
            super::extract_par::extract_data(
                archive_path,
                manifest,
                dump.path(),
                super::dir::extract_threads(others),
                &[pick.member.name.as_str()],
                &stop,
            )
            .map(|_| ()),
        );
        tracing::info!(
            "restore: the other data members extracted {} ms into the parallel restore",
            at.elapsed().as_millis()
        );
        let pre_r = join(waiter);
        let lists = lists_in.wait();
        let main_r = match (&extract_r, &pre_r, &lists) {
            (Ok(()), Ok(()), Some(l)) if !stop.is_cancelled() => {
                let r = stop_on(restore_list("main.list", &l.main, others));
                tracing::info!(
                    "restore: the -j part restored {} ms into the parallel restore",
                    at.elapsed().as_millis()
                );
                r
            }
            _ => Err(Error::cancelled()),
        };
        (join(streamer), extract_r, pre_r, join(lister), main_r)
    });
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    first_cause([stream_r, extract_r, pre_r, lists_r, main_r])?;
    // 4. What depends on both the streamed table and the rest.
    if let Some(lists) = lists_in.wait() {
        restore_list("late.list", &lists.late, jobs)?;
    }
    Ok(())
}

/// The first failure that is not only "stopped because another part failed".
fn first_cause<const N: usize>(results: [Result<()>; N]) -> Result<()> {
    let mut stopped = None;
    for r in results {
        match r {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Cancelled => stopped = Some(e),
            Err(e) => return Err(e),
        }
    }
    stopped.map_or(Ok(()), Err)
}

fn join<T>(h: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// A `pg_restore --use-list` file in the restore's private folder, beside the dump.
fn write_list(dump: &DumpDir, name: &str, lines: &str) -> Result<PathBuf> {
    let path = dump.root().join(name);
    let mut f = private_fs::create_new(&path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    f.write_all(lines.as_bytes())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok(path)
}

/// A value set once (the first `set` wins) and waited for by other threads.
struct Latch<T> {
    value: Mutex<Option<T>>,
    changed: Condvar,
}

impl<T> Default for Latch<T> {
    fn default() -> Self {
        Latch {
            value: Mutex::new(None),
            changed: Condvar::new(),
        }
    }
}

impl<T: Clone> Latch<T> {
    fn set(&self, v: T) {
        let mut slot = self.value.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(v);
        }
        self.changed.notify_all();
    }

    fn wait(&self) -> T {
        let mut v = self.value.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(v) = &*v {
                return v.clone();
            }
            v = self.changed.wait(v).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Wait for a pg_restore: its error (the server's first), or `cancelled` when it was stopped.
fn finish(
    (child, stderr): (process::Guarded, process::StderrTail),
    password: Option<&str>,
    stopped: &CancellationToken,
) -> Result<()> {
    let status = child.wait()?;
    if stopped.is_cancelled() {
        return Err(Error::cancelled());
    }
    let err_text = stderr.finish();
    if !status.success() {
        return Err(process::tool_error(
            "pg_restore",
            status,
            &err_text,
            password,
        ));
    }
    Ok(())
}
