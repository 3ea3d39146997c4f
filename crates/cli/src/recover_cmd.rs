//! `offsite recover`: chosen rows of a backup, with the rows they need, into a live database
//! (one transaction, an undo file first); `offsite recover --undo ID` puts things back.

use crate::output::Out;
use crate::{read_password_stdin, warn_password_in_url};
use offsite_core::browse::ColumnEquals;
use offsite_core::ops::recover::RecoverRequest;
use offsite_core::recover::{
    KeyColumns, OnConflict, RecoverReport, RecoverRows, TriggerHandling, UndoReport,
};
use offsite_core::restore::DatabaseTo;
use offsite_core::{Engine, Error, ErrorKind, JobStart, Result};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct RecoverArgs {
    /// The archive: its path, a backup id, PROJECT:latest, or PROJECT@TIME (the database as it
    /// was then, from its point-in-time capture; TIME in RFC 3339).
    #[arg(required_unless_present = "undo")]
    archive: Option<PathBuf>,
    /// The table whose rows are recovered (SCHEMA.TABLE; quote a part with dots or capitals).
    #[arg(long, value_name = "SCHEMA.TABLE", required_unless_present = "undo")]
    table: Option<String>,
    /// Which rows: COLUMN=VALUE (several must all match).
    #[arg(long = "where", value_name = "COLUMN=VALUE")]
    where_: Vec<String>,
    /// Also every row that references them, transitively (a tenant's whole subtree).
    #[arg(long)]
    children: bool,
    /// The database: a postgres:// URL or a project's name.
    #[arg(long, value_name = "URL|PROJECT", required_unless_present = "undo")]
    to: Option<String>,
    /// A row the target has with other values: keep the target's (default) or overwrite it.
    #[arg(long, value_name = "keep|update", default_value = "keep")]
    on_conflict: String,
    /// The columns identifying the rows of a table without a primary or unique key: a,b (the
    /// recovered table) or SCHEMA.TABLE=a,b. Repeatable.
    #[arg(long, value_name = "[SCHEMA.TABLE=]COLUMNS")]
    key_columns: Vec<String>,
    /// Show the plan (counts per table, sample rows, the triggers that will not fire) and write
    /// nothing: the whole write runs in a transaction that is rolled back.
    #[arg(long)]
    dry_run: bool,
    /// Write with the target's user triggers firing: they may change or refuse the recovered
    /// rows. Without it they do not fire (or the recovery is refused, saying why).
    #[arg(long)]
    fire_triggers: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
    /// Undo the recovery with this id (its rows changed since are left and listed).
    #[arg(long, value_name = "ID", conflicts_with_all = ["table", "where_", "children", "dry_run", "fire_triggers"])]
    undo: Option<String>,
    /// Read the target's password from standard input (first line).
    #[arg(long)]
    password_stdin: bool,
    /// An encrypted archive's key, read from standard input (after the password's line).
    #[arg(long)]
    key_stdin: bool,
}

impl RecoverArgs {
    fn password(&self, url_like: bool) -> Result<Option<String>> {
        if self.password_stdin {
            return read_password_stdin().map(Some);
        }
        Ok(url_like
            .then(|| std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()))
            .flatten())
    }

    fn rows(&self) -> Result<RecoverRows> {
        Ok(RecoverRows {
            table: self.table.clone().unwrap_or_default(),
            filters: self
                .where_
                .iter()
                .map(|w| ColumnEquals::parse(w))
                .collect::<Result<_>>()?,
            children: self.children,
            on_conflict: self.on_conflict.parse::<OnConflict>()?,
            key_columns: self
                .key_columns
                .iter()
                .map(|k| KeyColumns::parse(k))
                .collect::<Result<_>>()?,
            fire_triggers: self.fire_triggers,
            keys: None,
        })
    }
}

pub async fn recover(engine: &Engine, args: RecoverArgs, out: &Out, job: JobStart) -> Result<u8> {
    if let Some(id) = &args.undo {
        let password = args.password(true)?;
        let o = engine.recover_undo(id, password, job).await?;
        crate::output::committed("the undo is complete");
        print_undo(out, &o.report);
        return Ok(0);
    }
    let to = args.to.clone().unwrap_or_default();
    warn_password_in_url("--to", &to);
    let mut target = DatabaseTo::url_or_project(&to, None);
    if let DatabaseTo::Connection { password, .. } = &mut target {
        *password = args.password(true)?;
    }
    let key = if args.key_stdin {
        Some(crate::key_stdin::read_key_stdin()?)
    } else {
        None
    };
    let given = args.archive.clone().unwrap_or_default();
    // `PROJECT@TIME`: the state at that time, in a temporary archive held until the end.
    let at = crate::archive_arg::at_state(engine, &given, out, &job.cancel).await?;
    let out = &match &at {
        Some(s) => out.with_at(&s.state),
        None => out.clone(),
    };
    let archive = match &at {
        Some(s) => s.path.clone(),
        None => crate::archive_arg::resolve(engine, &given, out).await?.path,
    };
    let mut req = RecoverRequest {
        archive: archive.display().to_string(),
        rows: args.rows()?,
        to: target,
        dry_run: true,
    };
    if args.yes && !args.dry_run {
        // Confirmed ahead: one pass, its report says what was written.
        req.dry_run = false;
        let done = engine.recover(req, key, job).await?;
        crate::output::committed(RECOVERY_COMPLETE);
        print_report(out, &done.report);
        return Ok(0);
    }
    let plan = engine
        .recover(req.clone(), key.clone(), JobStart::default())
        .await?
        .report;
    if args.dry_run {
        print_report(out, &plan);
        return Ok(0);
    }
    let writes: u64 = plan.tables.iter().map(|t| t.insert + t.update).sum();
    if writes == 0 {
        print_report(out, &plan);
        if !out.json() {
            println!("nothing to write: the target has every row");
        }
        return Ok(0);
    }
    if !args.yes {
        if out.json() || !std::io::stdin().is_terminal() {
            return Err(Error::new(
                ErrorKind::NeedsConsent,
                format!("recovering would write {writes} rows into {}", plan.target),
            )
            .with_hint("review with --dry-run, then pass --yes to confirm"));
        }
        print_report(out, &plan);
        eprint!(
            "Type \"recover\" to write these rows into {}: ",
            plan.target
        );
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).ok();
        if answer.trim() != "recover" {
            return Err(Error::new(
                ErrorKind::NeedsConsent,
                "not confirmed; nothing was changed",
            ));
        }
    }
    req.dry_run = false;
    let done = engine.recover(req, key, job).await?;
    crate::output::committed(RECOVERY_COMPLETE);
    print_report(out, &done.report);
    Ok(0)
}

/// What a Ctrl-C that comes after a recovery's commit is told (see [`crate::output::committed`]).
const RECOVERY_COMPLETE: &str = "the recovery is complete";

fn print_report(out: &Out, r: &RecoverReport) {
    if out.json() {
        out.emit(r);
        return;
    }
    println!(
        "{} {} into {}",
        if r.dry_run {
            "Plan: recovering"
        } else {
            "Recovered"
        },
        r.archive,
        r.target
    );
    println!(
        "  {:<32} {:>7} {:>8} {:>7} {:>10} {:>9} {:>8}",
        "table", "role", "insert", "update", "unchanged", "conflict", "present"
    );
    for t in &r.tables {
        let role = format!("{:?}", t.role).to_lowercase();
        println!(
            "  {:<32} {:>7} {:>8} {:>7} {:>10} {:>9} {:>8}",
            crate::shown::table(&t.schema, &t.table),
            role,
            t.insert,
            t.update,
            t.unchanged,
            t.conflict,
            t.parents_present
        );
        if !t.triggers.is_empty() && t.insert + t.update > 0 {
            let fired = r.trigger_handling == TriggerHandling::Fired;
            println!(
                "      {}:",
                if fired {
                    "triggers that fire (--fire-triggers)"
                } else {
                    "triggers that do not fire"
                }
            );
            for n in &t.trigger_notes {
                let does = if n.effects.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", n.effects.join(", "))
                };
                println!(
                    "        {} ({}, {}){}",
                    crate::shown::ident(&n.name),
                    n.fires,
                    crate::shown::text(&n.function),
                    crate::shown::text(&does)
                );
            }
        }
        if r.dry_run {
            for row in &t.sample {
                let shown: Vec<String> = t
                    .columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| format!("{}={}", crate::shown::ident(c), crate::shown::value(v)))
                    .collect();
                let line = shown.join("  ");
                let cut: String = line.chars().take(150).collect();
                let more = if cut.len() < line.len() { "…" } else { "" };
                println!("      {cut}{more}");
            }
        }
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
    println!(
        "  triggers: {}; foreign keys checked: {} (all hold)",
        trigger_words(r.trigger_handling),
        r.foreign_keys_checked
    );
    if let Some(id) = &r.undo_id {
        println!("undo with: offsite recover --undo {id}");
    }
}

fn trigger_words(h: TriggerHandling) -> &'static str {
    match h {
        TriggerHandling::ReplicaRole => "not fired (session_replication_role = replica)",
        TriggerHandling::Disabled => {
            "not fired (disabled in the transaction, enabled again before it committed)"
        }
        TriggerHandling::Fired => "fired (--fire-triggers)",
    }
}

fn print_undo(out: &Out, r: &UndoReport) {
    if out.json() {
        out.emit(r);
        return;
    }
    println!("Undid recovery {} in {}", r.id, r.target);
    println!(
        "  triggers: {}; foreign keys checked: {} (all hold)",
        trigger_words(r.trigger_handling),
        r.foreign_keys_checked
    );
    for t in &r.tables {
        println!(
            "  {}: {} deleted, {} given their old values back, {} changed since (left)",
            crate::shown::table(&t.schema, &t.table),
            t.deleted,
            t.restored,
            t.changed_since
        );
        if !t.changed_keys.is_empty() {
            println!(
                "      changed since: {}",
                crate::shown::text(&t.changed_keys.join(" "))
            );
        }
    }
}
