//! A directory dump (format 2) restored by `pg_restore` in parallel into a target the restore
//! meets nothing in, the archive's reading overlapped with the loading (issue 28, 3b; issue 67).
//!
//! `pg_restore -j N` restores the pre-data section (types, tables, functions: everything but the
//! rows, the indexes and the constraints) serially in its leader before it forks any worker, and
//! that section needs only `toc.dat`. So the restore runs in three parts over one private
//! temporary folder:
//!
//! 1. `toc.dat` is read by random access and checked against the manifest; then
//!    `pg_restore --section=pre-data` runs **while** the data members that are not streamed
//!    (large objects, sequence values' files: everything but the tables' `<dump id>.dat`) are
//!    extracted and checked, and a FIFO is made for each table's data file;
//! 2. once both have succeeded, the data section: the tables' rows streamed through their FIFOs
//!    to `N` serial `pg_restore --use-list` loaders, each member checked as it streams, its end
//!    held back until the check passed ([`super::streamed`]), beside one `pg_restore
//!    --section=data` for the rest of the section;
//! 3. `pg_restore -j N --section=post-data` (indexes, constraints, triggers and policies in
//!    parallel, dependencies respected).
//!
//! Every entry of the dump belongs to exactly one of the sections, so the parts restore exactly
//! what one `pg_restore -j N` does. Where FIFOs do not exist (Windows) every data member is
//! extracted and checked in part 1 and part 2 is `pg_restore -j N --section=data
//! --section=post-data`.
//!
//! Neither part is one transaction (`--single-transaction` cannot be combined with `-j`): a
//! failure of any (a data member that fails its checksum included) stops the others. A damaged
//! member's `COPY` never sees its end, so it never commits; rows of other tables may have, and
//! the caller drops what a failed or cancelled run created ([`super::undo`]), so the target is
//! left as it was. The temporary folder is removed on every path.

use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::ConnSpec;
use crate::postgres::process;
use crate::postgres::tools::PgTools;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Restore the directory dump of the archive at `archive_path` with `jobs` workers;
/// `no_owner`: every object owned by the connecting role (pg_restore's own `--no-owner`);
/// `session`: the `application_name` of pg_restore's sessions.
pub(super) fn run(
    tools: &PgTools,
    spec: &ConnSpec,
    password: Option<&str>,
    archive_path: &Path,
    (jobs, no_owner, session, keep_order): (u32, bool, &str, bool),
    cancel: &CancellationToken,
) -> Result<()> {
    run_in(
        &std::env::temp_dir(),
        tools,
        spec,
        password,
        archive_path,
        (jobs, no_owner, session, keep_order),
        cancel,
    )
}

pub(super) fn run_in(
    parent: &Path,
    tools: &PgTools,
    spec: &ConnSpec,
    password: Option<&str>,
    archive_path: &Path,
    (jobs, no_owner, session, keep_order): (u32, bool, &str, bool),
    cancel: &CancellationToken,
) -> Result<()> {
    let owner: Vec<String> = no_owner
        .then(|| "--no-owner".to_string())
        .into_iter()
        .collect();
    let at = Instant::now();
    let dump = super::dir::DumpDir::toc_only_in(parent, archive_path, cancel)?;
    // Each part stops the other on failure; the user's cancel stops both.
    let (stop_pre, stop_extract) = (cancel.child_token(), cancel.child_token());
    let pre = spawn(
        (tools, session),
        spec,
        password,
        dump.path(),
        &[&["--section=pre-data".to_string()][..], &owner].concat(),
        &stop_pre,
    )?;
    tracing::info!(
        "restore: pg_restore --section=pre-data started {} ms into the parallel restore",
        at.elapsed().as_millis()
    );
    let (pre_done, prepared) = std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let done = finish(pre, password, &stop_pre);
            if done.is_err() {
                stop_extract.cancel();
            }
            done
        });
        let prepared = prepare(archive_path, dump.path(), (jobs, keep_order), &stop_extract);
        if prepared.is_err() {
            stop_pre.cancel();
        }
        let pre_done = waiter
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (pre_done, prepared)
    });
    tracing::info!(
        "restore: pre-data restored and the members not streamed extracted {} ms into the \
         parallel restore",
        at.elapsed().as_millis()
    );
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    // The first cause: a part stopped by the other's failure reports only that it was stopped.
    let plan = match (pre_done, prepared) {
        (_, Err(e)) if e.kind() != ErrorKind::Cancelled => return Err(e),
        (Err(e), _) => return Err(e),
        (Ok(()), Err(e)) => return Err(e),
        (Ok(()), Ok(plan)) => plan,
    };
    let loads = (tools, session, spec, password, &owner[..]);
    // One `pg_restore -j N` over the sections named, to its end.
    let sections = |names: &[&str]| -> Result<()> {
        let mut args = vec![format!("--jobs={jobs}")];
        args.extend(names.iter().map(|n| format!("--section={n}")));
        args.extend(owner.iter().cloned());
        let child = spawn((tools, session), spec, password, dump.path(), &args, cancel)?;
        finish(child, password, cancel)
    };
    if plan.bins.is_empty() {
        // Nothing streamed (no FIFOs here): every member is on disk and checked.
        return sections(&["data", "post-data"]);
    }
    load_streamed(archive_path, dump.path(), &plan, loads, cancel)?;
    tracing::info!(
        "restore: the data section loaded and checked {} ms into the parallel restore",
        at.elapsed().as_millis()
    );
    plan.placeholders()?;
    sections(&["post-data"])?;
    drop(dump);
    Ok(())
}

/// Which data members are streamed and which extracted ([`super::streamed`]); the FIFOs made and
/// the others extracted and checked, into the dump folder `dump` (holding the checked `toc.dat`).
fn prepare(
    archive_path: &Path,
    dump: &Path,
    (jobs, keep_order): (u32, bool),
    cancel: &CancellationToken,
) -> Result<super::streamed::Plan> {
    let manifest = crate::archive::read_manifest(archive_path)?;
    let members = super::extract_par::wanted(archive_path, &manifest)?;
    let spans = super::extract_par::spans(archive_path, &manifest, &members, cancel)?;
    let toc_path = dump.join("toc.dat");
    let toc_file = std::fs::File::open(&toc_path)
        .map_err(|e| Error::io(format!("reading {}", toc_path.display()), e))?;
    let (_, toc) = crate::pgdump::read_directory_toc(std::io::BufReader::new(toc_file))?;
    let plan = super::streamed::plan(
        archive_path,
        dump,
        members,
        &spans,
        &toc,
        (jobs, keep_order),
    )?;
    super::streamed::make_fifos(&plan)?;
    let threads = super::dir::extract_threads(jobs);
    super::extract_par::extract_found(
        archive_path,
        &plan.extracted,
        &spans,
        dump,
        threads,
        cancel,
    )?;
    Ok(plan)
}

/// What starts a loader: the tools, the sessions' name, the target, its password, `--no-owner`.
type Loads<'a> = (
    &'a PgTools,
    &'a str,
    &'a ConnSpec,
    Option<&'a str>,
    &'a [String],
);

/// The data section: one serial `pg_restore --use-list` per bin of streamed members, each fed by
/// its feeder, and one for the rest of the section; a failure of any stops all of them.
fn load_streamed(
    archive_path: &Path,
    dump: &Path,
    plan: &super::streamed::Plan,
    (tools, session, spec, password, owner): Loads<'_>,
    cancel: &CancellationToken,
) -> Result<()> {
    use super::streamed::{first_cause, list_of, Feeding};
    let lists = tempfile::TempDir::new_in(dump.parent().unwrap_or(dump))
        .map_err(|e| Error::io("creating the restore's lists", e))?;
    let mut list_files = Vec::new();
    let mut ids: Vec<Vec<i32>> = (0..plan.bins.len())
        .map(|b| plan.bin_ids(b).collect())
        .collect();
    if !plan.others.is_empty() {
        ids.push(plan.others.clone());
    }
    for (i, bin) in ids.iter().enumerate() {
        let path = lists.path().join(format!("list{i}"));
        let mut f = crate::private_fs::create_new(&path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        std::io::Write::write_all(&mut f, list_of(bin.iter().copied()).as_bytes())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        list_files.push(path);
    }
    let stop = cancel.child_token();
    let feeding = Feeding::new(archive_path, plan);
    let (loaded, fed) = std::thread::scope(|s| {
        let feeders: Vec<_> = (0..plan.bins.len())
            .map(|bin| {
                let (feeding, stop) = (&feeding, &stop);
                s.spawn(move || {
                    let r = feeding.feed(bin, stop);
                    if r.is_err() {
                        stop.cancel();
                    }
                    r
                })
            })
            .collect();
        let loaders: Vec<_> = list_files
            .iter()
            .map(|list| {
                let stop = &stop;
                s.spawn(move || {
                    let args = [
                        "--section=data".to_string(),
                        format!("--use-list={}", list.display()),
                    ];
                    let r = spawn(
                        (tools, session),
                        spec,
                        password,
                        dump,
                        &[&args[..], owner].concat(),
                        stop,
                    )
                    .and_then(|child| finish(child, password, stop));
                    if r.is_err() {
                        stop.cancel();
                    }
                    r
                })
            })
            .collect();
        let join = |h: std::thread::ScopedJoinHandle<'_, Result<()>>| {
            h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        };
        let loaded: Vec<Result<()>> = loaders.into_iter().map(join).collect();
        feeding.loaders_gone();
        let fed: Vec<Result<()>> = feeders.into_iter().map(join).collect();
        (loaded, fed)
    });
    drop(feeding);
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    first_cause(loaded, fed)
}

/// `pg_restore` of the directory dump at `dir` into the target, with `args` (a section, workers).
fn spawn(
    (tools, session): (&PgTools, &str),
    spec: &ConnSpec,
    password: Option<&str>,
    dir: &Path,
    args: &[String],
    cancel: &CancellationToken,
) -> Result<(process::Guarded, process::StderrTail)> {
    let mut cmd = process::command(&tools.pg_restore(), spec, password);
    // Named, so that the sessions a killed pg_restore leaves can be ended (see super::undo).
    cmd.env("PGAPPNAME", session);
    cmd.args(["--exit-on-error", "--no-password"])
        .args(args)
        .arg(format!("--dbname={}", spec.dbname_conninfo()))
        .arg(dir);
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    let (child, _, _, stderr) = process::Guarded::spawn(cmd, "pg_restore", cancel)?;
    Ok((child, stderr))
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
