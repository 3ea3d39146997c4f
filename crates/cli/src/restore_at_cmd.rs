//! `offsite restore PROJECT --at TIME --components …`: the project's components as they were at
//! TIME (docs/pitr.md, "The whole project at a time"). The same component flags as a restore of
//! a backup make the request; the engine plans it (a section per component, each naming the
//! point it comes from and how far that is from TIME) and restores it.

use crate::output::Out;
use crate::restore_cmd::{print_config_plan, print_storage_plan, Part, RestoreArgs};
use offsite_core::ops::pitr::whole::{AtSection, ProjectAtPlan, ProjectAtReport, ProjectAtRequest};
use offsite_core::pitr::{micros_text, parse_time};
use offsite_core::{Engine, Error, ErrorKind, Result};
use tokio_util::sync::CancellationToken;

/// `database,storage,config` or `all` (every component the project has).
async fn parts_at(engine: &Engine, project: &str, given: &str) -> Result<Vec<Part>> {
    let mut out = Vec::new();
    for p in given.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let part = match p {
            "all" => {
                let c = engine.components(project).await?;
                out.push(Part::Database);
                if c.storage.is_some() {
                    out.push(Part::Storage);
                }
                if c.supabase.is_some() {
                    out.push(Part::Config);
                }
                continue;
            }
            "database" | "db" => Part::Database,
            "storage" => Part::Storage,
            "config" | "configuration" => Part::Config,
            other => {
                return Err(Error::invalid(format!("unknown component {other:?}"))
                    .with_hint("use database, storage, config (comma-separated) or all"))
            }
        };
        if !out.contains(&part) {
            out.push(part);
        }
    }
    Ok(out)
}

/// `--storage-rows-from`: a saved project, or a URL (its password, when it has none, from
/// PGPASSWORD).
fn rows_from(text: &str) -> offsite_core::restore::DatabaseTo {
    use offsite_core::restore::DatabaseTo;
    crate::warn_password_in_url("--storage-rows-from", text);
    let mut to = DatabaseTo::url_or_project(text, None);
    if let DatabaseTo::Connection {
        password,
        connection: offsite_core::ProjectConnection::Url(url),
        ..
    } = &mut to
    {
        if matches!(
            offsite_core::postgres::conn::ConnSpec::parse_url(url),
            Ok((_, None))
        ) {
            *password = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty());
        }
    }
    to
}

/// The request: the project, the time, and each component's target as `restore` takes it.
pub async fn restore_at(
    engine: &Engine,
    args: &RestoreArgs,
    at: &str,
    out: &Out,
    cancel: &CancellationToken,
) -> Result<u8> {
    let project = args.archive.to_string_lossy().into_owned();
    let at = parse_time(at)?;
    let parts = parts_at(
        engine,
        &project,
        args.components.as_deref().unwrap_or("database"),
    )
    .await?;
    let req = args.request(&parts)?;
    let req = ProjectAtRequest {
        project,
        at,
        database: req.database.map(|d| d.to),
        storage: req.storage,
        config: req.config,
        storage_rows_from: args.storage_rows_from.as_deref().map(rows_from),
    };
    let plan = engine.plan_restore_at(&req).await?;
    let blockers = plan.blockers();
    if args.dry_run {
        show_plan(out, &plan);
        return Ok(if blockers.is_empty() {
            0
        } else {
            crate::exit::USAGE
        });
    }
    if !out.json() {
        show_plan(out, &plan);
    }
    let deletes: u64 = plan
        .storage
        .as_ref()
        .and_then(|s| s.plan.as_ref())
        .filter(|p| p.mirror)
        .map_or(0, |p| p.buckets.iter().map(|b| b.delete).sum());
    if deletes > 0 && !args.yes {
        return Err(Error::new(
            ErrorKind::NeedsConsent,
            format!(
                "mirror mode would delete {} in the target",
                crate::words::plural(deletes, "object")
            ),
        )
        .with_hint("review with --dry-run, then pass --yes to confirm"));
    }
    let report = engine.restore_at(req, cancel).await?;
    crate::output::committed(crate::pitr_cmd::RESTORE_COMPLETE);
    show_report(out, &report);
    Ok(0)
}

fn section<P>(s: &AtSection<P>) {
    println!("  {}", s.said);
    for b in &s.blockers {
        println!("  BLOCKED: {b}");
    }
}

fn show_plan(out: &Out, p: &ProjectAtPlan) {
    if out.json() {
        out.emit(p);
        return;
    }
    println!("restore {} as at {}", p.project, p.at);
    if let Some(d) = &p.database {
        section(d);
        if let Some(plan) = &d.plan {
            println!(
                "    {} change segment(s); window {} → {}",
                plan.segments.len(),
                plan.window.from_text,
                plan.window.to_text
            );
            for (t, why) in &plan.not_covered {
                println!("    not covered (as in the base): {t}: {why}");
            }
        }
    }
    if let Some(s) = &p.storage {
        section(s);
        if let Some(plan) = &s.plan {
            print_storage_plan(plan);
        }
    }
    if let Some(c) = &p.config {
        section(c);
        if let Some(plan) = &c.plan {
            print_config_plan(plan);
        }
    }
}

fn show_report(out: &Out, r: &ProjectAtReport) {
    if out.json() {
        out.emit(r);
        return;
    }
    if let Some(d) = &r.database {
        println!(
            "database restored as at {}: {} transaction(s), {} change(s) replayed{}",
            r.plan.at,
            d.replayed.commits,
            d.replayed.changes,
            d.replayed
                .last_commit
                .map(|(_, t)| format!(", last commit {}", micros_text(t)))
                .unwrap_or_default()
        );
    }
    if let Some(s) = &r.storage {
        println!(
            "storage restored: {} uploaded ({} bytes), {} identical skipped, {} kept, {} deleted",
            s.uploaded, s.uploaded_bytes, s.skipped, s.kept, s.deleted
        );
    }
    if let Some(at) = &r.storage_at {
        println!("{}", at.describe());
    }
    if let Some(c) = &r.config {
        println!(
            "configuration: {} written back, {} skipped",
            crate::words::count(c.applied.applied.len(), "setting"),
            c.applied.skipped.len()
        );
    } else if r.plan.config.is_some() {
        println!("configuration: nothing written (choose settings with --config-settings, functions with --functions)");
    }
}
