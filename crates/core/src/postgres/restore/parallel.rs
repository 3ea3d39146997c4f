//! A directory dump (format 2) restored into a target the restore meets nothing in, by
//! `pg_restore -j N`, with the archive's extraction overlapped (issue 28, 3b).
//!
//! `pg_restore -j N` restores the pre-data section (types, tables, functions: everything but the
//! rows, the indexes and the constraints) serially in its leader before it forks any worker, and
//! that section needs only `toc.dat`. So the restore runs in two parts over one private temporary
//! folder:
//!
//! 1. `toc.dat` is read by random access and checked against the manifest; then
//!    `pg_restore --section=pre-data` runs **while** the data members are extracted and each is
//!    checked against the manifest's SHA-256;
//! 2. once both have succeeded, `pg_restore -j N --section=data --section=post-data` (rows, large
//!    objects, sequences' values, then indexes, constraints, triggers and policies in parallel,
//!    dependencies respected).
//!
//! Every entry of the dump belongs to exactly one of the sections, so the two parts restore
//! exactly what one `pg_restore -j N` does, in the order its leader would.
//!
//! Neither part is one transaction (`--single-transaction` cannot be combined with `-j`): a
//! failure of either (a data member that fails its checksum included) stops the other. No row
//! is loaded before every member has been checked (the data part starts only then), and the
//! caller drops what a failed or cancelled run created ([`super::undo`]), so the target is left
//! as it was. The temporary folder is removed on every path.

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
    (jobs, no_owner, session): (u32, bool, &str),
    cancel: &CancellationToken,
) -> Result<()> {
    run_in(
        &std::env::temp_dir(),
        tools,
        spec,
        password,
        archive_path,
        (jobs, no_owner, session),
        cancel,
    )
}

fn run_in(
    parent: &Path,
    tools: &PgTools,
    spec: &ConnSpec,
    password: Option<&str>,
    archive_path: &Path,
    (jobs, no_owner, session): (u32, bool, &str),
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
        (tools, session),
        spec,
        password,
        dump.path(),
        &[
            &[
                format!("--jobs={jobs}"),
                "--section=data".to_string(),
                "--section=post-data".to_string(),
            ][..],
            &owner,
        ]
        .concat(),
        cancel,
    )?;
    finish(data, password, cancel)?;
    drop(dump);
    Ok(())
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
