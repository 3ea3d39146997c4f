//! `offsite pitr enable|run|status|disable PROJECT` and `offsite restore PROJECT --at TIME`:
//! point-in-time capture and restore (docs/pitr.md). The engine does the work; this prints it.

use crate::output::Out;
use clap::Subcommand;
use offsite_core::ops::pitr::keep::KeepCapturing;
use offsite_core::ops::pitr::restore::PitrPlan;
use offsite_core::ops::pitr::StoredCoverage;
use offsite_core::pitr::server::IdentityFull;
use offsite_core::pitr::{micros_text, parse_keep_within, parse_size, parse_time};
use offsite_core::{Engine, Result};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Subcommand)]
pub enum PitrCmd {
    /// Start capturing: a publication of the tables this role may publish, a logical slot, and
    /// a base backup taken after the slot (the role needs REPLICATION, not SUPERUSER).
    #[command(
        after_help = "Examples:\n  offsite pitr enable shop\n  offsite pitr enable shop --max-retained 512MiB\n  offsite pitr enable shop --mode physical\n  offsite pitr enable shop --replica-identity-full public.pgbench_history"
    )]
    Enable {
        /// The project.
        project: String,
        /// WAL the slot may hold on the server before the capture drops it (default 1GiB).
        #[arg(long, value_name = "SIZE")]
        max_retained: Option<String>,
        /// `logical` (a publication and a logical slot; no superuser) or `physical` (a physical
        /// slot read by pg_receivewal, pg_basebackup bases; needs a replication connection).
        /// `offsite project test PROJECT` says which the server allows.
        #[arg(long, value_name = "MODE", default_value = "logical", value_parser = ["logical", "physical"])]
        mode: String,
        /// Keep the windows that ended within this long (`36h`, `7d`, `2w`; s, min, h, d, w);
        /// older ones are removed after each segment and by `offsite prune`.
        #[arg(long, value_name = "DURATION")]
        keep_within: Option<String>,
        /// Set REPLICA IDENTITY FULL on these tables first (schema.table, comma-separated), or on
        /// every table not covered for want of one (`all-uncovered`), so their updates and
        /// deletes are captured. Each must exist and be owned by the project's role. When
        /// capture runs already, a new base starts with them.
        #[arg(long, value_name = "TABLES|all-uncovered")]
        replica_identity_full: Option<String>,
    },
    /// Remove the windows that ended longer ago than --keep-within (default: the setting given
    /// to enable): their segments and catalog rows. Never the newest window; bases stay (the
    /// project's retention decides on them).
    #[command(
        after_help = "Examples:\n  offsite pitr prune shop --keep-within 7d\n  offsite pitr prune shop --keep-within 36h --dry-run"
    )]
    Prune {
        /// The project.
        project: String,
        /// How long ended windows are kept (s, min, h, d, w, e.g. 7d or 1d12h).
        #[arg(long, value_name = "DURATION")]
        keep_within: Option<String>,
        /// Say what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Capture in the foreground: read the slot every --every seconds, write segments, advance
    /// the slot. Ctrl-C stops it; a killed capture resumes from the slot with no gap.
    #[command(after_help = "Examples:\n  offsite pitr run shop\n  offsite pitr run shop --once")]
    Run {
        /// The project.
        project: String,
        /// One pass, then exit.
        #[arg(long)]
        once: bool,
        /// Seconds between passes (default 5).
        #[arg(long, value_name = "SECONDS", default_value_t = 5)]
        every: u64,
    },
    /// The slot, its retained WAL and lag, the RPO now, the restorable windows, stray slots.
    #[command(
        after_help = "Examples:\n  offsite pitr status shop\n  offsite pitr status shop --json"
    )]
    Status {
        /// The project.
        project: String,
    },
    /// Check every change segment: its checksum (file, .sha256 and catalog), that it decrypts
    /// and reads through. Exit 1 naming each missing or damaged segment.
    #[command(
        after_help = "Examples:\n  offsite pitr verify shop\n  offsite pitr verify shop --json"
    )]
    Verify {
        /// The project.
        project: String,
    },
    /// Drop the slot and the publication (the captured windows stay restorable).
    #[command(after_help = "Examples:\n  offsite pitr disable shop")]
    Disable {
        /// The project.
        project: String,
    },
}

pub async fn pitr(
    engine: &Engine,
    cmd: PitrCmd,
    out: &Out,
    cancel: &CancellationToken,
) -> Result<u8> {
    match cmd {
        PitrCmd::Enable {
            project,
            max_retained,
            mode,
            keep_within,
            replica_identity_full,
        } => {
            let max = match max_retained {
                Some(s) => Some(parse_size(&s)?),
                None => None,
            };
            let keep = keep_within.as_deref().map(parse_keep_within).transpose()?;
            let e = match replica_identity_full {
                Some(which) if mode == "logical" => {
                    let which = IdentityFull::parse(&which)?;
                    engine
                        .pitr_enable_identity_full(&project, &which, max, keep)
                        .await?
                }
                Some(_) => {
                    return Err(offsite_core::Error::invalid(
                        "--replica-identity-full is for the logical capture (the physical one \
                         covers every table)",
                    ))
                }
                None => engine.pitr_enable_mode(&project, &mode, max, keep).await?,
            };
            if out.json() {
                out.emit(&e);
            } else {
                println!(
                    "capturing {project}: slot {}, base {} at {}",
                    e.slot, e.base_backup_id, e.base_at
                );
                show_coverage(&project, &e.coverage);
            }
        }
        PitrCmd::Run {
            project,
            once,
            every,
        } => {
            if once {
                let p = engine
                    .pitr_keep(&project, KeepCapturing::default(), cancel)
                    .await?;
                if out.json() {
                    out.emit(&p);
                } else {
                    let r = &p.run;
                    println!("{} segment(s), {} transaction(s)", r.segments, r.commits);
                    if r.objects_kept > 0 {
                        println!(
                            "{} of Storage kept ({})",
                            crate::words::count(r.objects_kept as usize, "object version"),
                            offsite_core::units::format_bytes(r.object_bytes)
                        );
                    }
                    if r.objects_missed > 0 {
                        println!(
                            "{} not kept: {}",
                            crate::words::count(r.objects_missed as usize, "object version"),
                            r.objects_missed_named.join("; ")
                        );
                    }
                    if let Some(why) = &r.dropped {
                        println!("{why}");
                    }
                    if let (Some(why), Some(e)) = (&p.new_base_why, &p.started) {
                        println!("{why}: new base {} at {}", e.base_backup_id, e.base_at);
                    }
                }
            } else {
                engine
                    .pitr_run(&project, Duration::from_secs(every.max(1)), cancel)
                    .await?;
            }
        }
        PitrCmd::Prune {
            project,
            keep_within,
            dry_run,
        } => return prune(engine, &project, keep_within.as_deref(), dry_run, out).await,
        PitrCmd::Verify { project } => return verify(engine, &project, out).await,
        PitrCmd::Status { project } => {
            let s = engine.pitr_status(&project).await?;
            if out.json() {
                out.emit(&s);
                return Ok(0);
            }
            println!(
                "capture: {}",
                if s.enabled { "enabled" } else { "not enabled" }
            );
            let size = |b: u64| offsite_core::units::format_bytes(b);
            if let Some(slot) = &s.slot {
                let limit = s.effective_max_retained.or(s.max_retained);
                println!(
                    "slot {}: {} held on the server, limit {} ({})",
                    slot.slot,
                    size(u64::try_from(slot.retained_bytes).unwrap_or(0)),
                    size(limit.unwrap_or_default()),
                    if slot.active {
                        "a capture is reading it"
                    } else {
                        "no capture is reading it: past the limit it is dropped"
                    }
                );
            }
            if let (Some(set), Some(eff), Some(free)) =
                (s.max_retained, s.effective_max_retained, s.free_bytes)
            {
                if eff < set {
                    println!(
                        "limit lowered to {} (set: {}): the server's disk has {} free (a slot \
                         may hold a quarter of it)",
                        size(eff),
                        size(set),
                        size(free)
                    );
                }
            }
            if let Some(rpo) = s.rpo_seconds {
                println!("RPO now: {rpo:.0} s");
            }
            if let Some(c) = &s.coverage {
                show_coverage(&project, c);
            }
            for w in &s.windows {
                match &w.broken_by {
                    Some(why) => println!("window {} → {} (ends: {why})", w.from_text, w.to_text),
                    None => println!("window {} → {}", w.from_text, w.to_text),
                }
            }
            for why in &s.ended {
                println!("ended: {why}");
            }
            for stray in &s.stray_slots {
                println!(
                    "stray slot {} (no project of this catalog owns it): {} held on the server; \
                     drop it with SELECT pg_drop_replication_slot('{}')",
                    stray.slot,
                    size(u64::try_from(stray.retained_bytes).unwrap_or(0)),
                    stray.slot
                );
            }
        }
        PitrCmd::Disable { project } => {
            let had = engine.pitr_disable(&project).await?;
            out.done(&if had {
                format!("dropped {project}'s slot and publication")
            } else {
                format!("{project} had no slot; its publication is gone")
            });
        }
    }
    Ok(0)
}

/// The tables captured, those not (and why), and the next step for those a replica identity
/// would make covered.
fn show_coverage(project: &str, c: &StoredCoverage) {
    println!("covered ({}): {}", c.covered.len(), c.covered.join(", "));
    for (t, why) in &c.not_covered {
        println!("not covered: {t}: {why}");
    }
    if !c.no_replica_identity.is_empty() {
        println!(
            "next step: offsite pitr enable {project} --replica-identity-full {} (sets REPLICA \
             IDENTITY FULL: their updates and deletes are captured; a new base starts)",
            c.no_replica_identity.join(",")
        );
    }
}

/// Where `restore --at` goes: `--to` (a URL or a project), or a physical capture's recovered
/// cluster as a data folder (`--to-data-dir`).
pub struct AtInto<'a> {
    pub to: Option<&'a str>,
    pub data_dir: Option<&'a std::path::Path>,
    /// `--as-role ROLE [--no-owner]`: the base restored and the changes replayed as ROLE.
    pub as_role: Option<offsite_core::ops::pitr::restore::AsRole<'a>>,
    /// The target's password (`--password-stdin`).
    pub password: Option<String>,
    /// `--create-database`: a `--to` database that does not exist yet is created empty first
    /// (removed again if the restore fails).
    pub create_database: bool,
}

/// `offsite restore PROJECT --at TIME --to TARGET|--to-data-dir PATH [--dry-run]`.
pub async fn restore_at(
    engine: &Engine,
    project: &str,
    at: &str,
    into: AtInto<'_>,
    dry_run: bool,
    out: &Out,
    cancel: &CancellationToken,
) -> Result<u8> {
    let AtInto {
        to,
        data_dir,
        as_role,
        password,
        create_database,
    } = into;
    if create_database && data_dir.is_some() {
        return Err(offsite_core::Error::invalid(
            "--create-database creates a database for --to: --to-data-dir makes a new server's folder",
        ));
    }
    if as_role.is_some() && data_dir.is_some() {
        return Err(offsite_core::Error::invalid(
            "--as-role restores into a database (--to): a data folder has no roles to act as",
        ));
    }
    let at = parse_time(at)?;
    if dry_run {
        let plan = engine.pitr_plan(project, at).await?;
        show_plan(out, &plan);
        return Ok(0);
    }
    // The restore makes its plan itself (a physical one unseals and reads the WAL: making it
    // twice doubled a restore's own time); it is shown with what was done.
    let r = match (to, data_dir) {
        (_, Some(dir)) => {
            engine
                .pitr_restore_data_dir(project, at, dir, cancel)
                .await?
        }
        (Some(to), None) if create_database => {
            let to = offsite_core::restore::DatabaseTo::url_or_project(to, password);
            engine
                .pitr_restore_to(project, at, &to, true, cancel)
                .await?
        }
        (Some(to), None) => {
            engine
                .pitr_restore_as(project, at, to, password, as_role, cancel)
                .await?
        }
        (None, None) => {
            return Err(offsite_core::Error::invalid(
                "--to (or, for a physical capture, --to-data-dir) is needed to restore",
            ))
        }
    };
    crate::output::committed(RESTORE_COMPLETE);
    if out.json() {
        out.emit(&r);
    } else {
        show_plan(out, &r.plan);
        if let Some(dir) = data_dir {
            println!(
                "recovered {project} as at {} into the data folder {} (start a server on it: its \
                 configuration is Offsite's neutral one; the source's is beside it as \
                 postgresql.conf.from-backup and postgresql.auto.conf.from-backup, never used — \
                 review them before copying anything back)",
                micros_text(at),
                dir.display()
            );
        }
        println!(
            "restored {project} as at {}: {} transaction(s), {} change(s) replayed{}",
            micros_text(at),
            r.replayed.commits,
            r.replayed.changes,
            r.replayed
                .last_commit
                .map(|(_, t)| format!(", last commit {}", micros_text(t)))
                .unwrap_or_default()
        );
    }
    Ok(0)
}

/// What a Ctrl-C that comes after a restore's commit is told (see [`crate::output::committed`]).
pub const RESTORE_COMPLETE: &str = "the restore is complete";

fn show_plan(out: &Out, p: &PitrPlan) {
    if out.json() {
        out.emit(p);
        return;
    }
    println!("restore to {}", p.at);
    println!("  base: {} (taken {})", p.base_backup_id, p.base_at);
    println!("  change segments: {}", p.segments.len());
    for f in &p.fetched {
        println!(
            "  fetched back from {} (missing or damaged here): {}",
            f.destination, f.path
        );
    }
    match (&p.stop_commit_at, &p.stop_commit_lsn) {
        (Some(t), Some(l)) => println!(
            "  stops after the commit at {t} (LSN {l}); {} transaction(s) to replay",
            p.transactions
        ),
        _ => println!("  no transaction to replay: the base as taken"),
    }
    println!("  window: {} → {}", p.window.from_text, p.window.to_text);
    for (t, why) in &p.not_covered {
        println!("  not covered (as in the base): {t}: {why}");
    }
}

async fn prune(
    engine: &Engine,
    project: &str,
    keep_within: Option<&str>,
    dry_run: bool,
    out: &Out,
) -> Result<u8> {
    let keep = keep_within.map(parse_keep_within).transpose()?;
    let p = engine.pitr_prune(project, keep, dry_run).await?;
    if out.json() {
        out.emit(&p);
        return Ok(0);
    }
    let verb = if p.dry_run { "would remove" } else { "removed" };
    for r in &p.removed {
        println!(
            "{verb} window {} → {} ({} segment(s); base {} stays)",
            r.window.from_text, r.window.to_text, r.segments, r.base_backup_id
        );
    }
    if p.removed.is_empty() {
        println!(
            "nothing to remove: every older window ended within the last {} s",
            p.keep_within
        );
    }
    for f in &p.left_files {
        println!("could not delete {f}");
    }
    for c in &p.copies_removed {
        println!("removed its copy at {c}");
    }
    for c in &p.copies_locked {
        println!("kept its copy at {c}: deleted by the first `offsite sync` after that date");
    }
    Ok(0)
}

/// Exit 1 when a segment is missing or damaged.
async fn verify(engine: &Engine, project: &str, out: &Out) -> Result<u8> {
    let v = engine.pitr_verify(project).await?;
    if out.json() {
        out.emit(&v);
    } else {
        for s in &v.segments {
            match &s.problem {
                None => println!("ok       {}", s.path),
                Some(why) => println!("DAMAGED  {}: {why}", s.path),
            }
        }
        println!(
            "{} segment(s) checked, {} missing or damaged",
            v.segments.len(),
            v.damaged
        );
        for c in &v.copies {
            let at = format!("{}:{}", c.destination, c.location);
            let why = c.problem.as_deref().unwrap_or_default();
            match (c.ok, c.state) {
                (true, _) => println!("ok       copy {at}"),
                (false, offsite_core::catalog::CopyState::Pending) => {
                    println!("pending  copy {at}: {why}")
                }
                (false, _) => println!("DAMAGED  copy {at}: {why}"),
            }
        }
        if !v.copies.is_empty() {
            println!(
                "{} copy(ies) checked, {} missing or damaged",
                v.copies.len(),
                v.copies_damaged
            );
        }
        for o in &v.objects_damaged {
            println!("DAMAGED  kept object {o}");
        }
        if v.objects_checked > 0 {
            println!(
                "{} kept Storage object version(s) checked, {} missing or damaged",
                v.objects_checked, v.objects_damaged_count
            );
        }
    }
    Ok(u8::from(
        v.damaged > 0 || v.copies_damaged > 0 || v.objects_damaged_count > 0,
    ))
}
