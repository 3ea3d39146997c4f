//! `offsite schedule | retention | prune | run-due | status | daemon`: schedules that run
//! themselves, headless (systemd timer, cron, Kubernetes CronJob) or next to the app; both share
//! the catalog, and a slot claimed by one is never run by the other.

use crate::keep_args::KeepArgs;
use crate::output::Out;
use clap::{ArgGroup, Args, Subcommand};
use offsite_core::catalog::ScheduleKind;
use offsite_core::ops::{
    DueListener, LoopOptions, PruneOptions, PruneOutcome, RetentionView, RunDueReport,
    ScheduleView, ScheduleWhat, SetSchedule,
};
use offsite_core::schedule::ScheduleSpec;
use offsite_core::{Engine, Error, JobStart, Result};
use serde_json::json;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// What `schedule set` says about who runs a schedule (nothing runs it by itself).
pub const WHO_RUNS: &str = "schedules run only while something runs them: the Offsite app (in the \
tray), `offsite run-due` from cron or a systemd timer, or `offsite daemon`";

/// Exit code of `status` when a project is overdue.
pub const OVERDUE: u8 = 6;

#[derive(Subcommand)]
pub enum ScheduleCmd {
    /// Set (replace) a project's backup schedule, or with --verify its verify schedule, or with
    /// --drill its restore drill schedule (monthly on the 1st at 04:00 unless a time is given).
    #[command(
        after_help = "Examples:\n  offsite schedule set shop --daily 02:30\n  offsite schedule set shop --weekly mon,thu 02:30 --tz Europe/Berlin\n  offsite schedule set shop --every 6h\n  offsite schedule set shop --daily 02:30 --tenant orgs --tenant-keep-last 6\n  offsite schedule set shop --verify --newest 3 --cron \"0 4 * * 0\"\n  offsite schedule set shop --drill --monthly 1 04:00"
    )]
    Set(SetArgs),
    /// Add a named backup schedule beside the project's others, with its own type, time,
    /// destinations, retention and selection (each default: the project's).
    #[command(
        after_help = "Examples:\n  offsite schedule add shop --name hourly --type database --every 1h --destinations laptop --keep-last 24\n  offsite schedule add shop --name monthly-cold --type full --monthly 1 03:00 --destinations cold --keep-monthly 12\n  offsite schedule add shop --name lean --daily 04:00 --exclude-table-data public.logs"
    )]
    Add(SetArgs),
    /// Remove a project's named backup schedule (its backups stay; the project's retention
    /// policy prunes them from then on).
    #[command(after_help = "Examples:\n  offsite schedule remove shop hourly")]
    Remove {
        /// The project (see `offsite project list`).
        project: String,
        /// The schedule's name (see `offsite schedule list PROJECT`).
        name: String,
    },
    /// List every schedule (or one project's) with its next runs, type, destinations and whose
    /// retention prunes its backups.
    #[command(
        after_help = "Examples:\n  offsite schedule list\n  offsite schedule list shop --json"
    )]
    List {
        /// Only this project's schedules.
        project: Option<String>,
    },
    /// Show a project's schedules with their next 5 runs.
    #[command(after_help = "Examples:\n  offsite schedule show shop")]
    Show {
        /// The project (see `offsite project list`).
        name: String,
    },
    /// Remove a project's backup schedule (or, with --verify, its verify schedule).
    #[command(
        after_help = "Examples:\n  offsite schedule clear shop\n  offsite schedule clear shop --verify"
    )]
    Clear {
        /// The project (see `offsite project list`).
        name: String,
        /// The verify schedule instead of the backup schedule.
        #[arg(long)]
        verify: bool,
        /// The drill schedule instead of the backup schedule.
        #[arg(long, conflicts_with = "verify")]
        drill: bool,
    },
    /// Pause a project's backup schedule (or its verify schedule).
    #[command(
        after_help = "Examples:\n  offsite schedule pause shop\n  offsite schedule pause shop --verify\n  offsite schedule pause shop --name hourly"
    )]
    Pause {
        /// The project (see `offsite project list`).
        name: String,
        /// The backup schedule of this name (default: `default`).
        #[arg(long = "name", value_name = "SCHEDULE", conflicts_with_all = ["verify", "drill"])]
        schedule: Option<String>,
        /// The verify schedule instead of the backup schedule.
        #[arg(long)]
        verify: bool,
        /// The drill schedule instead of the backup schedule.
        #[arg(long, conflicts_with = "verify")]
        drill: bool,
    },
    /// Resume a paused schedule.
    #[command(after_help = "Examples:\n  offsite schedule resume shop")]
    Resume {
        /// The project (see `offsite project list`).
        name: String,
        /// The backup schedule of this name (default: `default`).
        #[arg(long = "name", value_name = "SCHEDULE", conflicts_with_all = ["verify", "drill"])]
        schedule: Option<String>,
        /// The verify schedule instead of the backup schedule.
        #[arg(long)]
        verify: bool,
        /// The drill schedule instead of the backup schedule.
        #[arg(long, conflicts_with = "verify")]
        drill: bool,
    },
    /// How many due runs may run at once (1, the default, to 4; never two on one project).
    /// Without N: show it.
    #[command(
        after_help = "Examples:\n  offsite schedule concurrency\n  offsite schedule concurrency 2"
    )]
    Concurrency {
        /// Due runs at once, 1 to 4 (without it: show the setting).
        n: Option<u32>,
    },
}

#[derive(Args)]
#[command(group(ArgGroup::new("when").args(["every", "daily", "weekly", "monthly", "cron"])))]
pub struct SetArgs {
    /// The project (see `offsite project list`).
    name: String,
    /// The backup schedule's name (`schedule add`: required; `schedule set` without it edits
    /// the schedule named `default`).
    #[arg(long = "name", value_name = "SCHEDULE", conflicts_with_all = ["verify", "drill"])]
    schedule: Option<String>,
    /// Its type, destinations, retention and selection.
    #[command(flatten)]
    plan: crate::schedule_named_cmd::PlanArgs,
    /// Every N hours from midnight: 1h to 24h (6h runs at 00:00, 06:00, 12:00, 18:00).
    #[arg(long, value_name = "Nh")]
    every: Option<String>,
    /// Every day at HH:MM (24-hour clock).
    #[arg(long, value_name = "HH:MM")]
    daily: Option<String>,
    /// On the given days at HH:MM: --weekly mon,thu 02:30
    #[arg(long, num_args = 2, value_names = ["DAYS", "HH:MM"])]
    weekly: Option<Vec<String>>,
    /// On day D of each month at HH:MM (shorter months: their last day): --monthly 1 03:00
    #[arg(long, num_args = 2, value_names = ["D", "HH:MM"])]
    monthly: Option<Vec<String>>,
    /// A 5-field cron expression: "minute hour day-of-month month day-of-week".
    #[arg(long, value_name = "EXPR")]
    cron: Option<String>,
    /// Schedule verification of the project's backups instead of backups.
    #[arg(long)]
    verify: bool,
    /// Schedule restore drills of the project's newest good backup instead of backups (default
    /// time: --monthly 1 04:00).
    #[arg(long, conflicts_with = "verify")]
    drill: bool,
    /// After each backup, one archive per tenant of this tenant (`offsite backup NAME --tenant
    /// TENANT`; docs/tenants.md). Without it, a backup schedule names no tenant.
    #[arg(long, value_name = "TENANT", conflicts_with_all = ["verify", "drill"])]
    tenant: Option<String>,
    /// With --tenant: how many archives of each tenant are kept, here and at every destination
    /// (default: as it was, else 4). The project's retention never counts them.
    #[arg(long, value_name = "N", requires = "tenant")]
    tenant_keep_last: Option<u32>,
    /// With --verify: check only the newest N backups (default: all).
    #[arg(long, value_name = "N", requires = "verify")]
    newest: Option<u32>,
    /// The time zone of the times (IANA name such as Europe/Berlin; default: this computer's).
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
}

#[derive(Subcommand)]
pub enum RetentionCmd {
    /// Set (replace) a project's retention policy; no rule keeps everything.
    #[command(
        after_help = "Examples:\n  offsite retention set shop --keep-last 7\n  offsite retention set shop --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --tz UTC\n  offsite retention set shop --keep-within 30d"
    )]
    Set(RetentionArgs),
    /// Show a project's retention policy.
    #[command(
        after_help = "Examples:\n  offsite retention show shop\n  offsite retention show shop --json"
    )]
    Show {
        /// The project (see `offsite project list`).
        name: String,
    },
}

#[derive(Args)]
pub struct RetentionArgs {
    /// The project (see `offsite project list`).
    name: String,
    #[command(flatten)]
    keep: KeepArgs,
    /// The time zone periods are counted in (default: this computer's).
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
}

fn kind(verify: bool, drill: bool) -> ScheduleKind {
    if verify {
        ScheduleKind::Verify
    } else if drill {
        ScheduleKind::Drill
    } else {
        ScheduleKind::Backup
    }
}

/// A drill schedule's time when none is given: monthly, on the 1st at 04:00.
const DEFAULT_DRILL: (&str, &str) = ("1", "04:00");

fn has_spec(a: &SetArgs) -> bool {
    a.every.is_some()
        || a.daily.is_some()
        || a.weekly.is_some()
        || a.monthly.is_some()
        || a.cron.is_some()
}

/// `schedule add` (`add`), or `schedule set` with --name or a plan flag: a named backup schedule.
async fn set_named(engine: &Engine, a: SetArgs, add: bool) -> Result<ScheduleView> {
    let name = match (&a.schedule, add) {
        (Some(n), _) => n.clone(),
        (None, true) => {
            return Err(Error::invalid("a new schedule needs a name")
                .with_hint("give --name hourly (or another name)"))
        }
        (None, false) => offsite_core::catalog::DEFAULT_SCHEDULE.to_string(),
    };
    if a.verify || a.drill {
        return Err(Error::invalid("only backup schedules have names and plans"));
    }
    let spec = if has_spec(&a) {
        Some(spec_of(&a)?)
    } else {
        None
    };
    let req = a.plan.request(a.name, name, spec, a.tz, a.tenant)?;
    if add {
        engine.add_named_schedule(req).await
    } else {
        engine.set_named_schedule(req).await
    }
}

fn spec_of(a: &SetArgs) -> Result<ScheduleSpec> {
    let pair = |v: &Vec<String>| (v[0].clone(), v[1].clone());
    if let Some(n) = &a.every {
        ScheduleSpec::every(n)
    } else if let Some(t) = &a.daily {
        ScheduleSpec::daily(t)
    } else if let Some(v) = &a.weekly {
        let (d, t) = pair(v);
        ScheduleSpec::weekly(&d, &t)
    } else if let Some(v) = &a.monthly {
        let (d, t) = pair(v);
        ScheduleSpec::monthly(&d, &t)
    } else if let Some(c) = &a.cron {
        ScheduleSpec::cron(c)
    } else if a.drill {
        ScheduleSpec::monthly(DEFAULT_DRILL.0, DEFAULT_DRILL.1)
    } else {
        Err(Error::invalid("no schedule given")
            .with_hint("give one of --every, --daily, --weekly, --monthly or --cron"))
    }
}

pub async fn schedule(engine: &Engine, cmd: ScheduleCmd, out: &Out) -> Result<u8> {
    match cmd {
        ScheduleCmd::Add(a) => {
            let v = set_named(engine, a, true).await?;
            print_set(out, &v);
        }
        ScheduleCmd::Set(a) if a.schedule.is_some() || a.plan.given() => {
            let v = set_named(engine, a, false).await?;
            print_set(out, &v);
        }
        ScheduleCmd::Remove { project, name } => {
            let had = engine.remove_named_schedule(&project, &name).await?;
            let message = if had {
                format!("removed the schedule {name} of {project} (its backups stay)")
            } else {
                format!("{project} had no schedule named {name}")
            };
            if out.json() {
                out.emit(&json!({ "ok": true, "removed": had, "message": message }));
            } else {
                println!("{message}");
            }
        }
        ScheduleCmd::Set(a) => {
            let spec = spec_of(&a)?;
            let what = if a.verify {
                ScheduleWhat::Verify { newest: a.newest }
            } else if a.drill {
                ScheduleWhat::Drill
            } else {
                ScheduleWhat::Backup
            };
            let req = SetSchedule {
                project: a.name,
                spec,
                what,
                time_zone: a.tz,
            };
            let v = engine
                .set_schedule_with_tenant_keep(req, a.tenant.as_deref(), a.tenant_keep_last)
                .await?;
            print_set(out, &v);
        }
        ScheduleCmd::List { project } => {
            schedules(out, &engine.schedules(project.as_deref()).await?)
        }
        ScheduleCmd::Show { name } => schedules(out, &engine.schedules(Some(&name)).await?),
        ScheduleCmd::Clear {
            name,
            verify,
            drill,
        } => {
            let k = kind(verify, drill);
            let had = engine.clear_schedule(&name, k).await?;
            let message = if had {
                format!("removed the {} schedule of {name}", k.as_str())
            } else {
                format!("{name} had no {} schedule", k.as_str())
            };
            if out.json() {
                out.emit(&json!({ "ok": true, "cleared": had, "message": message }));
            } else {
                println!("{message}");
            }
        }
        ScheduleCmd::Pause {
            name,
            schedule,
            verify,
            drill,
        } => return pause(engine, &name, schedule, kind(verify, drill), true, out).await,
        ScheduleCmd::Resume {
            name,
            schedule,
            verify,
            drill,
        } => return pause(engine, &name, schedule, kind(verify, drill), false, out).await,
        ScheduleCmd::Concurrency { n } => {
            if let Some(n) = n {
                engine.set_schedule_concurrency(n).await?;
            }
            let now = engine.schedule_concurrency().await;
            if out.json() {
                out.emit(&json!({ "concurrency": now }));
            } else {
                println!("due runs at once: {now}");
            }
        }
    }
    Ok(0)
}

/// What `schedule set`/`add` print: the schedule, its next run, who runs schedules.
fn print_set(out: &Out, v: &ScheduleView) {
    let next = v.next_runs.first().cloned();
    if out.json() {
        out.emit(&json!({ "schedule": v, "next_run": next, "note": WHO_RUNS }));
    } else {
        print_schedule(v);
        match next {
            Some(at) => println!("next run: {at}"),
            None => println!("next run: none"),
        }
        println!("note: {WHO_RUNS}");
    }
}

async fn pause(
    engine: &Engine,
    name: &str,
    schedule: Option<String>,
    k: ScheduleKind,
    paused: bool,
    out: &Out,
) -> Result<u8> {
    let label = match &schedule {
        Some(s) => {
            engine.pause_named_schedule(name, s, paused).await?;
            format!("schedule {s}")
        }
        None => {
            engine.pause_schedule(name, k, paused).await?;
            format!("{} schedule", k.as_str())
        }
    };
    out.done(&format!(
        "{} the {label} of {name}",
        if paused { "paused" } else { "resumed" },
    ));
    Ok(0)
}

fn schedules(out: &Out, vs: &[ScheduleView]) {
    if out.json() {
        out.emit(&json!({ "schedules": vs }));
    } else if vs.is_empty() {
        println!("no schedules yet: add one with `offsite schedule set NAME --daily 02:30`");
    } else {
        for v in vs {
            print_schedule(v);
        }
    }
}

fn print_schedule(v: &ScheduleView) {
    let what = match (v.kind, v.verify_newest) {
        (ScheduleKind::Verify, Some(n)) => format!("verify newest {n}"),
        (ScheduleKind::Verify, None) => "verify all".to_string(),
        (ScheduleKind::Backup, _) if v.name != offsite_core::catalog::DEFAULT_SCHEDULE => {
            format!("backup {}", v.name)
        }
        (ScheduleKind::Backup | ScheduleKind::Drill, _) => v.kind.to_string(),
    };
    println!(
        "{:<20} {:<18} {} ({}){}",
        v.project,
        what,
        v.spec,
        v.time_zone,
        if v.paused { "  PAUSED" } else { "" }
    );
    if let Some(t) = &v.tenant {
        println!(
            "    then: one archive per tenant of {t} (each tenant keeps its last {})",
            v.tenant_keep_last
                .unwrap_or(offsite_core::ops::prune::TENANT_KEEP_LAST)
        );
    }
    if v.kind == ScheduleKind::Backup {
        let kind = v
            .backup_type
            .map_or("the project's type".to_string(), |t| t.to_string());
        let dests = match &v.destinations {
            Some(d) => d.join(", "),
            None => "every destination".to_string(),
        };
        let retention = match v.retention_from.as_str() {
            "schedule" => format!("its own ({})", v.retention_rules),
            _ => format!("the project's ({})", v.retention_rules),
        };
        let selection = if v.selection.is_some() {
            "its own"
        } else {
            "the project's"
        };
        println!(
            "    type: {kind} · copies to: {dests} · retention: {retention} · selection: {selection}"
        );
    }
    for r in &v.next_runs {
        println!("    next: {r}");
    }
}

pub async fn retention(engine: &Engine, cmd: RetentionCmd, out: &Out) -> Result<u8> {
    let v = match cmd {
        RetentionCmd::Set(a) => {
            let policy = a.keep.policy()?;
            engine
                .set_retention(&a.name, policy, a.tz.as_deref())
                .await?
        }
        RetentionCmd::Show { name } => engine.retention(&name).await?,
    };
    print_retention(out, &v);
    Ok(0)
}

fn print_retention(out: &Out, v: &RetentionView) {
    if out.json() {
        out.emit(&json!({ "retention": v }));
    } else {
        println!("{}: {} (periods in {})", v.project, v.rules, v.time_zone);
    }
}

pub async fn prune(
    engine: &Engine,
    name: String,
    dry_run: bool,
    out: &Out,
    job: JobStart,
) -> Result<u8> {
    let o = engine
        .prune(
            PruneOptions {
                project: name,
                dry_run,
                schedule: None,
            },
            job,
        )
        .await?;
    print_prune(out, &o);
    Ok(if o.skipped.is_empty() { 0 } else { 1 })
}

fn print_prune(out: &Out, o: &PruneOutcome) {
    if out.json() {
        out.emit(o);
        return;
    }
    println!("{}: {} (periods in {})", o.project, o.policy, o.time_zone);
    for k in &o.kept {
        println!(
            "keep    {}  {}  {}",
            k.created_at,
            k.id,
            k.reasons.join(", ")
        );
    }
    let verb = if o.dry_run { "would remove" } else { "removed" };
    for r in &o.removed {
        println!("{verb:<7} {}  {}  {}", r.created_at, r.id, r.path);
        // Only this archive: a copy locked at a destination stays until its date.
        for l in &r.locked {
            println!("        ({})", l.note);
        }
    }
    for s in &o.skipped {
        println!("left    {}  {}: {}", s.id, s.path, s.error.message);
    }
}

pub async fn run_due(engine: &Engine, out: &Out, metrics_file: Option<&Path>) -> Result<u8> {
    // Leftovers of a killed run go first (never a running job's files).
    if let Err(e) = engine.sweep_temp_files().await {
        eprintln!("warning: sweeping temporary files: {e}");
    }
    let report = engine.run_due().await;
    // Notifications: overdue transitions, then what is due (a failure here fails no backup).
    if let Err(e) = engine.notify_check().await {
        eprintln!("warning: delivering notifications: {e}");
    }
    write_metrics(engine, metrics_file).await;
    let report = report?;
    print_run_due(out, &report);
    Ok(if report.failed() { 1 } else { 0 })
}

/// `--metrics-file`: every project's metrics after a pass; a failure to write is a warning
/// (the backups ran; a stale file shows in node_exporter's `node_textfile_mtime_seconds`).
async fn write_metrics(engine: &Engine, metrics_file: Option<&Path>) {
    if let Some(path) = metrics_file {
        if let Err(e) = engine.write_metrics_file(path).await {
            eprintln!("warning: {e}");
        }
    }
}

fn print_run_due(out: &Out, r: &RunDueReport) {
    if out.json() {
        out.emit(r);
        return;
    }
    if r.runs.is_empty() {
        println!("nothing is due");
    }
    for run in &r.runs {
        let detail = match (&run.skipped, &run.error) {
            (Some(why), _) => why.clone(),
            (_, Some(e)) => match &run.retry_at {
                Some(at) => format!("{} (tried again at {at})", e.message),
                None => e.message.clone(),
            },
            _ => run.backup_id.clone().unwrap_or_default(),
        };
        println!(
            "{:<20} {:<7} {} {:<9} {:<9} {}",
            run.project,
            run.kind,
            run.slot,
            run.trigger.as_str(),
            run.state,
            detail
        );
        for p in &run.pruned_backups {
            println!(
                "{:<20} removed backup {} of {} ({}): {}",
                run.project, p.id, p.created_at, p.path, p.reason
            );
        }
    }
}

pub async fn status(engine: &Engine, name: Option<String>, out: &Out) -> Result<u8> {
    let (projects, health) = engine.status_and_health(name.as_deref()).await?;
    let (summary, worst) = offsite_core::health::summary(&health);
    let (needs_you, needs_you_line) = offsite_core::health::needs_you(&health);
    if out.json() {
        // Each project's schedule status, with its health (the dashboard's row) beside it.
        let by_name: std::collections::HashMap<&str, &offsite_core::health::ProjectHealth> =
            health.iter().map(|h| (h.project.as_str(), h)).collect();
        let mut list: Vec<serde_json::Value> = Vec::with_capacity(projects.len());
        for p in &projects {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            // Its backup statistics (`offsite backups NAME --stats`), computed by the engine.
            let stats = engine.backup_stats(&p.name).await?;
            if let Some(obj) = v.as_object_mut() {
                if let Some(h) = by_name.get(p.name.as_str()) {
                    obj.insert("health".into(), serde_json::to_value(h).unwrap_or_default());
                }
                obj.insert(
                    "stats".into(),
                    serde_json::to_value(&stats).unwrap_or_default(),
                );
                // Its per-tenant archives, per tenant (those no longer in the database said).
                let tenants = engine.tenant_archives(&p.name).await?;
                obj.insert(
                    "tenants".into(),
                    serde_json::to_value(&tenants).unwrap_or_default(),
                );
            }
            list.push(v);
        }
        out.emit(&json!({
            "summary": summary,
            "worst": worst,
            "needs_you": needs_you,
            "needs_you_line": needs_you_line,
            "projects": list,
        }));
    } else {
        println!("{summary} · {needs_you_line}");
        for h in &health {
            print_health(h);
            print_tenants(&engine.tenant_archives(&h.project).await?);
        }
    }
    Ok(if projects.iter().any(|p| p.overdue) {
        OVERDUE
    } else {
        0
    })
}

/// A project's per-tenant archives: one line per tenant name, and one per tenant no longer in
/// the database (its last archives stay until removed by hand).
fn print_tenants(list: &[offsite_core::ops::tenants::TenantArchives]) {
    let mut names: Vec<&str> = list.iter().map(|t| t.tenant.as_str()).collect();
    names.dedup();
    for name in names {
        let of: Vec<_> = list.iter().filter(|t| t.tenant == name).collect();
        let archives: u32 = of.iter().map(|t| t.archives).sum();
        println!(
            "  tenant archives of {name}: {} tenants, {archives} archives (each keeps its last {})",
            of.len(),
            of[0].keep_last
        );
        for t in of.iter().filter(|t| t.not_in_run_of.is_some()) {
            println!(
                "    {}={}: not in the database at the run of {}; its last archive ({}, {}) \
                 stays until you remove it: offsite delete {}",
                crate::shown::text(&t.tenant),
                crate::shown::text(&t.value),
                t.not_in_run_of.as_deref().unwrap_or_default(),
                t.newest_id,
                t.newest_at,
                t.newest_id
            );
        }
    }
}

/// The mark of a checklist item's state.
fn check_mark(state: offsite_core::health::CheckState) -> &'static str {
    use offsite_core::health::CheckState as S;
    match state {
        S::Done => "✓",
        S::Gap => "✗",
        S::Paused => "⏸",
        S::Waiting => "…",
        S::Off => "–",
    }
}

/// One project as the dashboard shows it: state and reason, the checklist (next step first,
/// the same items as the app's card), then the facts, then the fix.
fn print_health(h: &offsite_core::health::ProjectHealth) {
    println!();
    println!(
        "{}  ({})  {}: {}",
        h.project, h.subtitle, h.health_label, h.reason
    );
    println!("  {}", h.checklist.line);
    for i in &h.checklist.items {
        let fix = i
            .fix_label
            .as_deref()
            .map(|f| format!(" (fix: {f})"))
            .unwrap_or_default();
        println!("  {} {}: {}{fix}", check_mark(i.state), i.label, i.why);
    }
    let copies: Vec<String> = h
        .copies
        .iter()
        .map(|c| {
            let mark = format!("{} {}", c.place, if c.ok { "✓" } else { "✗" });
            // A place on the same disk as another is not one more copy: the engine says why.
            match (&c.same_medium_as, &c.note) {
                (_, Some(note)) => format!("{mark} ({note})"),
                (Some(other), None) => format!("{mark} (same medium as {other})"),
                (None, None) => mark,
            }
        })
        .collect();
    let schedule = match (&h.schedule, h.paused, &h.next_run) {
        (None, _, _) => "no schedule".to_string(),
        (Some(s), true, _) => format!("{s} (paused)"),
        (Some(s), false, Some(n)) => format!("{s}, next {n}"),
        (Some(s), false, None) => s.clone(),
    };
    let last_run = match &h.last_run {
        Some(r) if r.succeeded => format!("succeeded {}", r.finished_at),
        Some(r) => format!(
            "failed {} ({})",
            r.finished_at,
            r.error_code.as_deref().unwrap_or("error")
        ),
        None => "none yet".into(),
    };
    println!("  schedule: {schedule} · last run: {last_run}");
    // Where point-in-time capture runs, the newest restorable moment is later than the backup.
    if let Some(at) = h
        .recovery_point
        .as_deref()
        .filter(|&at| Some(at) != h.last_good.as_deref())
    {
        println!("  recovery point: {at} (point-in-time capture)");
    }
    if !copies.is_empty() {
        println!("  copies: {}", copies.join(", "));
    }
    if let Some(p) = h.problems.first() {
        match fix_commands(p.fix, &h.project) {
            Some(cmds) => println!("  fix: {} ({cmds})", p.fix_label),
            None => println!("  fix: {}", p.fix_label),
        }
    }
}

/// The commands that do a Fix about point-in-time capture here: start it (or start it again),
/// or turn it off.
fn fix_commands(fix: offsite_core::health::FixAction, project: &str) -> Option<String> {
    use offsite_core::health::FixAction as F;
    let p = crate::shown::text(project);
    match fix {
        F::CaptureNow => Some(format!(
            "offsite pitr run {p}, or turn it off: offsite pitr disable {p}"
        )),
        F::RestartCapture => Some(format!(
            "offsite pitr enable {p}, or turn it off: offsite pitr disable {p}"
        )),
        _ => None,
    }
}

/// Run schedules in the foreground until Ctrl-C / SIGTERM: the engine's one schedule loop (due
/// times from the wall clock, a check at least every 60 seconds, so a sleep of the machine only
/// delays the check), printing what each check ran.
pub async fn daemon(
    engine: &Engine,
    out: &Out,
    cancel: CancellationToken,
    metrics_file: Option<&Path>,
) -> Result<u8> {
    if let Err(e) = engine.sweep_temp_files().await {
        eprintln!("warning: sweeping temporary files: {e}");
    }
    #[cfg(unix)]
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                term.recv().await;
                cancel.cancel();
            }
        });
    }
    // Point-in-time capture of the projects that enabled it, beside the schedules.
    let capture_cancel = cancel.clone();
    let capture = engine.pitr_run_all(std::time::Duration::from_secs(5), &capture_cancel);
    let printer = Printer { out, metrics_file };
    let schedules = async {
        engine
            .run_schedules(&printer, LoopOptions::default(), cancel)
            .await;
        // However the schedules' loop ends, the capture ends with it.
        capture_cancel.cancel();
    };
    tokio::join!(capture, schedules);
    Ok(0)
}

/// `offsite daemon`'s announcements: each check that ran something, on standard output.
struct Printer<'a> {
    out: &'a Out,
    metrics_file: Option<&'a Path>,
}

impl DueListener for Printer<'_> {
    async fn checked(&self, engine: &Engine, report: &Result<RunDueReport>) {
        write_metrics(engine, self.metrics_file).await;
        match report {
            // JSON Lines: one compact document per check that ran something.
            Ok(report) if !report.runs.is_empty() && self.out.json() => {
                println!("{}", serde_json::to_string(report).unwrap_or_default())
            }
            Ok(report) if !report.runs.is_empty() => print_run_due(self.out, report),
            Ok(_) => {}
            Err(e) => self.out.error(e),
        }
    }
}
