//! Execution of a plan: the safety backup, then pg_restore (or psql) in one transaction fed
//! from the archive, then the row counts compared.

use super::{
    join_err, plain, replace, script, validate, DatabasePlan, DatabaseReport, Prepared,
    RestoreOptions, RestoreTarget, SelectWhat,
};
use crate::archive::{self, DATABASE_MEMBER, DATABASE_SQL_MEMBER};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::ConnSpec;
use crate::postgres::process;
use crate::postgres::session::Target;
use crate::postgres::tools::PgTools;
use crate::progress::{Phase, Reporter};
use sqlx::Connection;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Execute a plan computed by [`plan`] with the same options.
pub async fn execute(
    prepared: Prepared,
    target: &RestoreTarget,
    opts: &RestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<DatabaseReport> {
    let p = &prepared;
    let started = Instant::now();
    // Statements pg_dump never writes, without consent: refused before anything else.
    let arbitrary = super::plan::arbitrary_that_runs(&p.toc, &p.decisions.skip);
    if !arbitrary.is_empty() && !opts.allow_arbitrary_sql {
        return Err(arbitrary.refusal());
    }
    if let Some(refused) = refusal(&p.plan) {
        return Err(refused);
    }

    let safety_backup = if p.plan.safety_backup {
        reporter.phase(Phase::SafetyBackup, None);
        Some(take_safety_backup(target, opts, cancel).await?)
    } else {
        None
    };

    reporter.phase(
        Phase::Restoring,
        if p.directory {
            Some(super::dir::dump_bytes(&p.manifest))
        } else {
            p.manifest
                .member(if p.plain {
                    DATABASE_SQL_MEMBER
                } else {
                    DATABASE_MEMBER
                })
                .map(|m| m.size)
        },
    );
    // pg_restore -j: not one transaction, so a failure is undone by dropping what it created.
    let parallel = !p.plan.one_transaction;
    // A parallel restore that fails is undone: what the target held before it, read first.
    let before = if parallel {
        Some(super::undo::Before::read(&target.spec, target.password.as_deref()).await?)
    } else {
        None
    };
    let session = super::undo::session_name();
    // Recorded before anything is written: a process that dies from here on leaves it for the
    // next start (issue 63).
    if let Some(journal) = &opts.journal {
        let note = match &before {
            Some(b) => super::JournalNote::Parallel(b.to_undo(&session)),
            None => super::JournalNote::OneTransaction {
                safety_backup: safety_backup.clone(),
            },
        };
        journal.0.record(note).await?;
    }
    if let Err(e) = run_restore(p, target, opts, &session, reporter, cancel).await {
        let ended = Ended::after(before.as_ref(), target, &p.toc, &session).await;
        return Err(failure(
            e,
            safety_backup.as_deref(),
            &p.plan.connecting_role,
            ended,
        ));
    }
    let restored_at = Instant::now();

    reporter.phase(Phase::Validating, None);
    let expected = expected_tables(&p.manifest, &p.plan, p.selected.as_ref(), opts);
    let conns = super::dir::extract_threads(super::dir::jobs(opts.jobs));
    let tables = validate::validate_counts(target, &expected, p.directory, conns)
        .await
        .map_err(|e| {
            let hint = "the restore itself finished and was committed; only the row counts were \
                        not compared: check the target, or restore again";
            e.context("the restore finished, but its row counts could not be checked")
                .with_hint(hint)
        })?;
    tracing::info!(
        "restore: restoring {} ms, validating {} ms",
        (restored_at - started).as_millis(),
        restored_at.elapsed().as_millis()
    );
    let ok = tables.iter().all(|t| t.ok);
    let manifest = &prepared.manifest;
    let rows_recorded = !manifest.tables.is_empty() || manifest.tables_note.is_none();
    let rows_not_recorded = (!rows_recorded).then(|| {
        "Row counts were not recorded: this backup was imported from a database dump made \
         outside Offsite, so the restored rows were not compared with it."
            .to_string()
    });
    Ok(DatabaseReport {
        plan: prepared.plan,
        ok,
        rows_not_recorded,
        duration_ms: started.elapsed().as_millis() as u64,
        tables,
        safety_backup,
    })
}

/// The restore itself, the way the plan chose: a script in one transaction (plain SQL through
/// psql, or pg_restore's output with the clean phase and the selection around it), `pg_restore
/// -j` (not one transaction; `session` names its connections), or one `pg_restore
/// --single-transaction`.
async fn run_restore(
    p: &Prepared,
    target: &RestoreTarget,
    opts: &RestoreOptions,
    session: &str,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<()> {
    let parallel = !p.plan.one_transaction;
    let scripted =
        p.plain || p.clean_phase_runs || p.decisions.needs_script() || p.selected.is_some();
    debug_assert!(!parallel || (p.directory && !scripted));
    if !parallel && (scripted || p.directory) {
        return run_scripted(p, target, opts, reporter, cancel).await;
    }
    let (tools, spec, pw, path) = (
        p.tools.clone(),
        target.spec.clone(),
        target.password.clone(),
        p.plan.archive.clone(),
    );
    let (reporter, cancel) = (reporter.clone(), cancel.clone());
    // Every owner of the backup is one the connecting role takes the place of: pg_restore's
    // own --no-owner, so the plain (and parallel) path stays open.
    let no_owner = p.decisions.every_owner_dropped;
    if parallel {
        let jobs = super::dir::jobs(opts.jobs);
        let keep_order = opts.keep_heap_order;
        let session = session.to_string();
        tokio::task::spawn_blocking(move || {
            let how = (jobs, no_owner, session.as_str(), keep_order);
            super::parallel::run(&tools, &spec, pw.as_deref(), &path, how, &cancel)
        })
        .await
        .map_err(join_err)?
    } else {
        tokio::task::spawn_blocking(move || {
            run_pg_restore(
                &tools,
                &spec,
                pw.as_deref(),
                &path,
                no_owner,
                &reporter,
                &cancel,
            )
        })
        .await
        .map_err(join_err)?
    }
}

/// The restore as one script in one transaction: the clean phase as the target is now (when
/// replacing), then the entries through psql (plain SQL) or pg_restore's output (a custom or
/// directory dump, extracted and checked first).
async fn run_scripted(
    p: &Prepared,
    target: &RestoreTarget,
    opts: &RestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<()> {
    let (tools, spec, pw, path) = (
        p.tools.clone(),
        target.spec.clone(),
        target.password.clone(),
        p.plan.archive.clone(),
    );
    let (reporter, cancel) = (reporter.clone(), cancel.clone());
    let threads = super::dir::extract_threads(super::dir::jobs(opts.jobs));
    let mut skip = p.decisions.skip.clone();
    let mut script = script_of(
        &p.decisions,
        p.selected.as_ref(),
        opts,
        &p.truncate,
        &p.triggers,
    );
    if p.clean_phase_runs {
        // The clean phase as the target is now (the plan may be a while old).
        let clean =
            clean_phase_now(&spec, pw.as_deref(), &p.plan, &p.toc, p.selected.as_ref()).await?;
        for line in &clean.skip_lines {
            skip.entry(*line)
                .or_insert_with(|| "the target already has this schema".into());
        }
        script.before.extend(clean.drops.iter().cloned());
        if p.superuser {
            script.before.extend(clean.after.iter().cloned());
        }
    }
    if p.plain {
        let skip: BTreeSet<usize> = skip.keys().copied().collect();
        let allow_arbitrary = opts.allow_arbitrary_sql;
        return tokio::task::spawn_blocking(move || {
            plain::run(
                &Target {
                    tools: &tools,
                    spec: &spec,
                    password: pw.as_deref(),
                },
                &path,
                &script,
                skip,
                allow_arbitrary,
                &reporter,
                &cancel,
            )
        })
        .await
        .map_err(join_err)?;
    }
    let mut list = script::build_list(&p.toc.list, &skip);
    if !p.data_order.is_empty() {
        list = super::rows_order::reorder(&list, &p.toc, &p.data_order);
    }
    let directory = p.directory;
    tokio::task::spawn_blocking(move || {
        // A directory dump: extracted (and checked) first, then one transaction.
        let dump = if directory {
            Some(super::dir::DumpDir::extract(&path, threads, &cancel)?)
        } else {
            None
        };
        replace::run(
            &Target {
                tools: &tools,
                spec: &spec,
                password: pw.as_deref(),
            },
            &path,
            dump.as_ref().map(|d| d.path()),
            &script,
            &list,
            &reporter,
            &cancel,
        )
    })
    .await
    .map_err(join_err)?
}

/// The SQL run before and after the restored entries, in its transaction: the decisions'
/// preamble and postamble, the selection's, the rows-only truncation and trigger switches.
fn script_of(
    decisions: &script::Decisions,
    selected: Option<&super::select::Selected>,
    opts: &RestoreOptions,
    truncate: &[String],
    triggers: &(Vec<String>, Vec<String>),
) -> replace::Script {
    let mut script = replace::Script {
        before: decisions.preamble.clone(),
        after: decisions.postamble.clone(),
        drop_owner_of: decisions.drop_owner_of.clone(),
        copy_redirect: decisions.copy_redirect.clone(),
    };
    if let Some(sel) = selected {
        script.before.splice(0..0, sel.before.iter().cloned());
        script.after.extend(sel.after.iter().cloned());
    }
    if opts.replace {
        script.before.extend(truncate.iter().cloned());
    }
    script.before.extend(triggers.0.iter().cloned());
    script.after.extend(triggers.1.iter().cloned());
    script
}

/// The clean phase as the target is now, outside the managed schemas and within the selection.
async fn clean_phase_now(
    spec: &ConnSpec,
    password: Option<&str>,
    plan: &DatabasePlan,
    toc: &super::toc::FullToc,
    selected: Option<&super::select::Selected>,
) -> Result<replace::CleanPhase> {
    let mut conn = spec.connect(password).await?;
    let managed: BTreeSet<String> = plan
        .managed_schemas
        .iter()
        .map(|m| m.schema.clone())
        .collect();
    let mut outside = replace::entries_of(toc, &managed);
    if let Some(sel) = selected {
        outside.retain(|e| sel.include.contains(&e.line));
    }
    let facts = super::script::read_facts(&mut conn, spec, toc).await?;
    let clean = replace::clean_phase(&mut conn, spec, &outside, &facts).await?;
    let _ = conn.close().await;
    Ok(clean)
}

/// The row counts the restored tables must have: the backup's, less the managed tables whose
/// target rows were kept, within the selection (none for definitions only; renamed into the
/// side schema).
fn expected_tables(
    manifest: &crate::archive::Manifest,
    plan: &DatabasePlan,
    selected: Option<&super::select::Selected>,
    opts: &RestoreOptions,
) -> Vec<crate::archive::TableCount> {
    let mut expected = manifest.tables.clone();
    let kept: BTreeSet<String> = plan
        .managed_schemas
        .iter()
        .flat_map(|m| m.kept_rows.iter())
        .filter_map(|k| k.split(" (").next().map(str::to_string))
        .collect();
    expected.retain(|t| !kept.contains(&format!("{}.{}", t.schema, t.table)));
    if let Some(sel) = selected {
        expected.retain(|t| sel.tables.contains(&(t.schema.clone(), t.table.clone())));
        if opts.selection.what == SelectWhat::Schema {
            expected.clear();
        }
        if let Some(side) = &opts.selection.into_schema {
            for t in expected.iter_mut() {
                t.schema = side.clone();
            }
        }
    }
    expected
}

/// Why execution refuses a plan with blockers (the first blocker, and a hint by its kind).
pub(super) fn refusal(plan: &DatabasePlan) -> Option<Error> {
    let first = plan.blockers.first()?;
    let permission =
        (!plan.owned_by_others.is_empty() || !plan.superuser_only.is_empty()) && !plan.no_owner;
    let (kind, hint) = if permission {
        (
            ErrorKind::Permission,
            format!(
                "this is about the target's permissions: {} cannot create or own everything the backup holds; connect to the target as a superuser, or run again with --no-owner to restore those objects owned by {} (see the plan with --dry-run)",
                plan.connecting_role, plan.connecting_role
            ),
        )
    } else if !plan.target_empty && !plan.replace {
        (
            ErrorKind::NeedsConsent,
            "review with --dry-run, then run again with --replace (a safety backup is taken first)"
                .to_string(),
        )
    } else if !plan.missing_roles.is_empty() && !plan.create_roles {
        (
            ErrorKind::InvalidInput,
            "review the plan with --dry-run; create the missing roles, or run again with --create-roles".to_string(),
        )
    } else {
        (
            ErrorKind::InvalidInput,
            "nothing was changed; the plan (--dry-run) lists what stops the restore".to_string(),
        )
    };
    let message = if plan.blockers.len() > 1 {
        format!(
            "{first} (and {} more {}: see --dry-run)",
            plan.blockers.len() - 1,
            if plan.blockers.len() == 2 {
                "problem"
            } else {
                "problems"
            }
        )
    } else {
        first.clone()
    };
    Some(Error::new(kind, message).with_hint(hint))
}

/// A backup of the target as it is, before replacing anything in it: taken by what the
/// operation arranged ([`RestoreOptions::safety`]); without one, a replace is refused.
async fn take_safety_backup(
    target: &RestoreTarget,
    opts: &RestoreOptions,
    cancel: &CancellationToken,
) -> Result<PathBuf> {
    let Some(safety) = &opts.safety else {
        return Err(Error::new(
            ErrorKind::Internal,
            "no safety backup was arranged for this restore, so nothing was restored",
        )
        .with_hint("run again with --no-safety-backup to replace without one"));
    };
    safety
        .0
        .take(target, cancel)
        .await
        .map_err(|e| e.context("the safety backup of the target failed, so nothing was restored"))
}

/// How a failed restore left the target.
enum Ended {
    /// One transaction, rolled back.
    RolledBack,
    /// `pg_restore -j`, and what it created dropped again.
    Undone,
    /// `pg_restore -j`, and dropping what it created failed too.
    NotUndone(Error),
}

impl Ended {
    /// How a failed restore ended: rolled back (one transaction), or, for a parallel one (what
    /// the target held `before` it), undone by dropping what it created.
    async fn after(
        before: Option<&super::undo::Before>,
        target: &RestoreTarget,
        toc: &super::toc::FullToc,
        session: &str,
    ) -> Ended {
        let Some(before) = before else {
            return Ended::RolledBack;
        };
        let (spec, pw) = (&target.spec, target.password.as_deref());
        match super::undo::undo(spec, pw, toc, before, session).await {
            Ok(()) => Ended::Undone,
            Err(u) => Ended::NotUndone(u),
        }
    }

    /// The state the target is in, for the error's hint.
    fn state(&self) -> String {
        match self {
            Ended::RolledBack => {
                "the restore ran in one transaction and was rolled back, so the target is unchanged"
                    .to_string()
            }
            Ended::Undone => "the restore ran as pg_restore -j (not one transaction); what it had \
                 created in the target was dropped again, so the target is as it was before"
                .to_string(),
            Ended::NotUndone(u) if u.kind() == ErrorKind::Conflict => format!(
                "the restore ran as pg_restore -j (not one transaction); what it had created in \
                 the target was dropped again except what the target refused: {}; {}",
                u.message(),
                u.hint().unwrap_or_default()
            ),
            Ended::NotUndone(u) => format!(
                "the restore ran as pg_restore -j (not one transaction) and dropping what it had \
                 created failed too ({}), so the target is partly restored: drop and create the \
                 database again (or empty it) before restoring into it",
                u.message()
            ),
        }
    }
}

/// The error of a restore that failed or was cancelled: the state it left the target in
/// (`ended`) and where the safety backup is.
fn failure(e: Error, safety_backup: Option<&Path>, connecting_role: &str, ended: Ended) -> Error {
    let back = match safety_backup {
        Some(p) => format!(
            "; the safety backup of the target as it was is at {} (restore it with --replace \
             to go back to it)",
            p.display()
        ),
        None => String::new(),
    };
    if e.kind() == ErrorKind::Cancelled {
        return Error::cancelled().with_hint(format!("{}{back}", ended.state()));
    }
    let cause = if e.kind() == ErrorKind::Permission {
        format!(
            "The target refused a privilege {} lacks there: connect as a superuser, or run again with --no-owner to restore objects of roles it cannot act for as its own.",
            connecting_role
        )
    } else {
        // A sentence of its own: its first letter up.
        let h = e.hint().unwrap_or("");
        let mut c = h.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    };
    let hint = format!("{}{back}. {cause}", ended.state());
    Error::new(e.kind(), format!("restore failed: {}", e.message()))
        .with_hint(hint.trim().to_string())
}

fn run_pg_restore(
    tools: &PgTools,
    spec: &ConnSpec,
    password: Option<&str>,
    archive_path: &Path,
    no_owner: bool,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<()> {
    let mut cmd = process::command(&tools.pg_restore(), spec, password);
    cmd.args(["--single-transaction", "--exit-on-error", "--no-password"]);
    if no_owner {
        cmd.arg("--no-owner");
    }
    cmd.arg(format!("--dbname={}", spec.dbname_conninfo()));
    cmd.stdin(Stdio::piped()).stdout(Stdio::null());
    let (child, stdin, _, stderr) = process::Guarded::spawn(cmd, "pg_restore", cancel)?;
    let fed = feed_dump(
        archive_path,
        stdin.expect("stdin piped"),
        &child,
        reporter,
        cancel,
        false,
    );
    let status = child.wait()?;
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    let err_text = stderr.finish();
    match fed {
        Err(e) if e.kind() == ErrorKind::Io && !status.success() => {} // broken pipe: pg_restore failed first
        Err(e) => return Err(e),
        Ok(()) => {}
    }
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

/// Stream the archive's dump into pg_restore's `stdin`, its last bytes held back until the
/// member's checksum is verified; on any failure pg_restore is killed before the end of the
/// stream reaches it, so its transaction never commits.
///
/// `consumer_may_stop`: pg_restore reads a list that may not need the whole dump and may exit
/// before its end; the rest is still read and checked (the caller commits only then).
pub(crate) fn feed_dump(
    archive_path: &Path,
    stdin: std::process::ChildStdin,
    pg_restore: &process::Guarded,
    reporter: &Reporter,
    cancel: &CancellationToken,
    consumer_may_stop: bool,
) -> Result<()> {
    let mut held = HoldBack::new(stdin, 256 * 1024);
    held.consumer_may_stop = consumer_may_stop;
    let fed = archive::copy_member(archive_path, DATABASE_MEMBER, &mut held, reporter, cancel)
        .and_then(|_| {
            held.release()
                .map_err(|e| Error::io("feeding pg_restore", e))
        });
    if fed.is_err() {
        pg_restore.kill();
    }
    fed
}

/// A writer that keeps the last `keep` bytes back until [`HoldBack::release`], so the consumer
/// cannot see the end of the stream before the producer has checked it.
pub(super) struct HoldBack<W: Write> {
    inner: Option<W>,
    held: Vec<u8>,
    keep: usize,
    /// The consumer may stop reading before the end (pg_restore with a list that needs only the
    /// start of the dump): the rest is then read and checked but goes nowhere.
    pub(super) consumer_may_stop: bool,
    stopped: bool,
}

impl<W: Write> HoldBack<W> {
    pub(super) fn new(inner: W, keep: usize) -> Self {
        HoldBack {
            inner: Some(inner),
            held: Vec::with_capacity(keep * 2),
            keep,
            consumer_may_stop: false,
            stopped: false,
        }
    }
    /// Write the held bytes and close the stream.
    pub(super) fn release(&mut self) -> std::io::Result<()> {
        if let Some(mut w) = self.inner.take() {
            if !self.stopped {
                let r = w.write_all(&self.held).and_then(|_| w.flush());
                self.tolerate(r)?;
            }
            self.held.clear();
        }
        Ok(())
    }
    fn tolerate(&mut self, r: std::io::Result<()>) -> std::io::Result<()> {
        match r {
            Err(e) if self.consumer_may_stop && e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.stopped = true;
                Ok(())
            }
            r => r,
        }
    }
}

impl<W: Write> Write for HoldBack<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let w = self
            .inner
            .as_mut()
            .ok_or_else(|| std::io::Error::other("stream already released"))?;
        if self.stopped {
            return Ok(buf.len());
        }
        self.held.extend_from_slice(buf);
        if self.held.len() > 2 * self.keep {
            let cut = self.held.len() - self.keep;
            let r = w.write_all(&self.held[..cut]);
            self.tolerate(r)?;
            self.held.drain(..cut);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdback_keeps_the_tail_until_released() {
        let mut out = Vec::new();
        {
            let mut h = HoldBack::new(&mut out, 4);
            h.write_all(b"0123456789abcdef").unwrap();
            assert_eq!(h.held.len(), 4);
            h.release().unwrap();
            assert!(h.write(b"x").is_err());
        }
        assert_eq!(out, b"0123456789abcdef");
        let mut out = Vec::new();
        let mut h = HoldBack::new(&mut out, 1024);
        h.write_all(b"short").unwrap();
        drop(h);
        assert!(
            out.is_empty(),
            "nothing reaches the consumer before release"
        );
    }

    #[test]
    fn holdback_reads_on_when_the_consumer_may_stop() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut strict = HoldBack::new(Closed, 2);
        assert!(strict.write_all(b"0123456789").is_err());
        let mut h = HoldBack::new(Closed, 2);
        h.consumer_may_stop = true;
        h.write_all(b"0123456789").unwrap();
        h.write_all(b"more").unwrap();
        h.release().unwrap();
        assert!(h.stopped);
    }
}
