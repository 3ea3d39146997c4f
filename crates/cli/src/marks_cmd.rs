//! `offsite pin|unpin BACKUP`, `offsite delete BACKUP`, `offsite canary PROJECT` and
//! `offsite backups PROJECT --stats` (issue 47): each one engine call, its result shown.

use crate::output::Out;
use clap::Args;
use offsite_core::backup::canary::CanaryThresholds;
use offsite_core::ops::delete_backup::DeleteBackupOptions;
use offsite_core::ops::stats::BackupStats;
use offsite_core::units::format_bytes;
use offsite_core::{Engine, Error, ErrorKind, Result};
use serde_json::json;
use std::io::{BufRead, IsTerminal};

#[derive(Args)]
#[command(
    after_help = "Examples:\n  offsite delete 3f2a9c1e\n  offsite delete 3f2a9c1e --everywhere --yes"
)]
pub struct DeleteArgs {
    /// The backup: its id (or a unique start of one, see `offsite backups NAME`), or
    /// PROJECT:latest.
    pub backup: String,
    /// Also delete its copies at every destination (default: they stay, and so does its entry).
    #[arg(long)]
    pub everywhere: bool,
    /// Do not ask (needed when not at a terminal, and with --json).
    #[arg(long)]
    pub yes: bool,
    /// Delete even the only good copy of the project's newest good backup.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args)]
#[command(
    after_help = "Examples:\n  offsite canary shop\n  offsite canary shop --archive-drop 40 --table-drop 80\n  offsite canary shop --defaults"
)]
pub struct CanaryArgs {
    /// The project (see `offsite project list`).
    pub name: String,
    /// A backup this much smaller than the previous good one (in %) is suspicious (default 50).
    #[arg(long, value_name = "PCT", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub archive_drop: Option<u32>,
    /// A table that lost this share of its rows (in %) makes the backup suspicious (default
    /// 90); a table that lost all of them, or is gone, always does.
    #[arg(long, value_name = "PCT", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub table_drop: Option<u32>,
    /// Back to the defaults.
    #[arg(long, conflicts_with_all = ["archive_drop", "table_drop"])]
    pub defaults: bool,
}

/// The catalog id of the backup `given` names.
async fn backup_id(engine: &Engine, given: &str) -> Result<String> {
    engine
        .resolve_archive(given)
        .await?
        .backup_id
        .ok_or_else(|| {
            Error::not_found(format!("{given} is not a backup in the catalog"))
                .with_hint("name it by the id `offsite backups NAME` shows, or PROJECT:latest")
        })
}

pub async fn pin(engine: &Engine, given: &str, pinned: bool, out: &Out) -> Result<u8> {
    let id = backup_id(engine, given).await?;
    let marks = engine.pin_backup(&id, pinned).await?;
    if out.json() {
        out.emit(&json!({ "backup_id": id, "pinned": marks.pinned }));
    } else if pinned {
        println!("pinned {id}: every retention keeps it (`offsite unpin {id}` to let it go)");
    } else {
        println!("unpinned {id}: retention decides again");
    }
    Ok(0)
}

pub async fn delete(engine: &Engine, args: DeleteArgs, out: &Out) -> Result<u8> {
    let id = backup_id(engine, &args.backup).await?;
    let record = engine.backup_record(&id).await?;
    let where_ = if args.everywhere {
        "here and at every destination"
    } else {
        "here"
    };
    if !args.yes {
        if out.json() || !std::io::stdin().is_terminal() {
            return Err(Error::new(
                ErrorKind::NeedsConsent,
                format!(
                    "deleting backup {id} ({}) {where_} needs confirming",
                    record.created_at
                ),
            )
            .with_hint("pass --yes to confirm"));
        }
        eprint!(
            "Delete backup {id} of {} ({}) {where_}? Type \"delete\": ",
            record.created_at,
            format_bytes(record.size)
        );
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).ok();
        if answer.trim() != "delete" {
            return Err(Error::new(
                ErrorKind::NeedsConsent,
                "not confirmed; nothing was deleted",
            ));
        }
    }
    let done = engine
        .delete_backup_everywhere(DeleteBackupOptions {
            backup_id: id.clone(),
            everywhere: args.everywhere,
            force: args.force,
        })
        .await?;
    if out.json() {
        out.emit(&done);
        return Ok(0);
    }
    match (done.file_deleted, done.removed_from_catalog) {
        (true, _) => println!("deleted {}", done.path),
        (false, _) => println!("{} was already gone", done.path),
    }
    for c in &done.copies_deleted {
        println!("deleted the copy at {}: {}", c.destination, c.location);
    }
    for c in &done.copies_locked {
        println!(
            "kept the copy at {}: {} is {} (it stays listed; the destination's retention removes it after that date, or `offsite delete {id} --everywhere` then)",
            c.destination, c.location, c.note
        );
    }
    if !done.copies_kept.is_empty() && done.copies_locked.is_empty() {
        println!(
            "its copies stay at {} (listed as missing here; `offsite delete {id} --everywhere` removes them)",
            done.copies_kept.join(", ")
        );
    }
    Ok(0)
}

pub async fn canary(engine: &Engine, args: CanaryArgs, out: &Out) -> Result<u8> {
    let now = engine.canary_thresholds(&args.name).await?;
    let t = if args.defaults {
        engine.set_canary_thresholds(&args.name, None).await?
    } else if args.archive_drop.is_some() || args.table_drop.is_some() {
        let t = CanaryThresholds {
            archive_drop_pct: args.archive_drop.unwrap_or(now.archive_drop_pct),
            table_drop_pct: args.table_drop.unwrap_or(now.table_drop_pct),
        };
        engine.set_canary_thresholds(&args.name, Some(t)).await?
    } else {
        now
    };
    if out.json() {
        out.emit(&t);
    } else {
        println!(
            "{}: a backup is suspicious when its archive is {} % smaller than the previous good one, \
             or a table lost {} % of its rows (or all of them), or a table or schema is gone",
            args.name, t.archive_drop_pct, t.table_drop_pct
        );
    }
    Ok(0)
}

pub fn print_stats(out: &Out, s: &BackupStats) {
    if out.json() {
        out.emit(s);
        return;
    }
    println!(
        "{}: {} backups, {}",
        s.project,
        s.count,
        format_bytes(s.total_bytes)
    );
    for t in &s.by_type {
        println!(
            "  {:<12} {:>5}  {:>10}",
            t.backup_type.to_string(),
            t.count,
            format_bytes(t.bytes)
        );
    }
    if let (Some(o), Some(n)) = (&s.oldest, &s.newest) {
        println!("oldest {o} · newest {n}");
    }
    if let Some(g) = s.growth_per_week_bytes {
        let sign = if g < 0 { "-" } else { "+" };
        println!("growth: {sign}{} per week", format_bytes(g.unsigned_abs()));
    }
    if s.suspicious > 0 || s.pinned > 0 {
        println!("{} suspicious · {} pinned", s.suspicious, s.pinned);
    }
    for d in &s.destinations {
        println!(
            "  {:<16} {:>5} copies  {:>10}",
            d.destination,
            d.copies,
            format_bytes(d.bytes)
        );
    }
}
