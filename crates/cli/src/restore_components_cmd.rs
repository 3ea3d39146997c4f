//! `offsite restore … --components storage,config`: the storage and configuration parts of a
//! restore (the database part is `restore` in main.rs).

use crate::output::Out;
use offsite_core::archive::{self, read_manifest};
use offsite_core::ops::{StorageRestoreRequest, StorageRestoreTo};
use offsite_core::storage::{BucketSelection, StoragePlan};
use offsite_core::{Engine, Error, ErrorKind, JobStart, Result};
use serde_json::json;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

/// The parts of a backup a restore can put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Database,
    Storage,
    Config,
}

/// `database,storage,config` (or `all`); `None` → what the archive has, the database first.
pub fn parts(given: Option<&str>, archive: &Path) -> Result<Vec<Part>> {
    let manifest = read_manifest(archive)?;
    let has_db = manifest.member(archive::DATABASE_MEMBER).is_some()
        || manifest.member(archive::DATABASE_SQL_MEMBER).is_some();
    let has_storage = manifest.member("storage.json").is_some();
    let has_config = manifest
        .members
        .iter()
        .any(|m| m.name.starts_with("config/"));
    let Some(given) = given else {
        // As before: the database alone, unless the backup has none.
        return Ok(if has_db {
            vec![Part::Database]
        } else if has_storage {
            vec![Part::Storage]
        } else if has_config {
            vec![Part::Config]
        } else {
            vec![Part::Database]
        });
    };
    let mut out = Vec::new();
    for p in given.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (part, present) = match p {
            "all" => {
                if has_db {
                    out.push(Part::Database)
                }
                if has_storage {
                    out.push(Part::Storage)
                }
                if has_config {
                    out.push(Part::Config)
                }
                continue;
            }
            "database" | "db" => (Part::Database, has_db),
            "storage" => (Part::Storage, has_storage),
            "config" | "configuration" => (Part::Config, has_config),
            other => {
                return Err(Error::invalid(format!("unknown component {other:?}"))
                    .with_hint("use database, storage, config (comma-separated) or all"))
            }
        };
        if !present {
            return Err(Error::invalid(format!(
                "this backup ({}) has no {p} component",
                manifest.backup_type.as_str()
            ))
            .with_hint("see what it holds with `offsite inspect ARCHIVE`"));
        }
        if !out.contains(&part) {
            out.push(part);
        }
    }
    Ok(out)
}

/// Where the storage goes: `--storage-to DIR|PROJECT`, else the `--to` project.
pub fn storage_target(storage_to: Option<&str>, to: Option<&str>) -> Result<StorageRestoreTo> {
    let pick = storage_to.or(to).ok_or_else(|| {
        Error::invalid("a storage restore needs a target").with_hint(
            "--storage-to DIR (files) or --storage-to PROJECT (its bucket store), or --to PROJECT",
        )
    })?;
    let looks_like_path = pick.starts_with('/') || pick.starts_with('.') || pick.contains('/');
    Ok(if looks_like_path {
        StorageRestoreTo::Folder(PathBuf::from(pick))
    } else {
        StorageRestoreTo::Project(pick.to_string())
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn restore_storage(
    engine: &Engine,
    archive: &Path,
    to: StorageRestoreTo,
    buckets: Option<&str>,
    mirror: bool,
    overwrite: bool,
    dry_run: bool,
    yes: bool,
    out: &Out,
    job: JobStart,
) -> Result<u8> {
    let req = StorageRestoreRequest {
        archive: archive.to_path_buf(),
        to,
        buckets: match buckets {
            Some(b) => BucketSelection::parse(b)?,
            None => BucketSelection::All,
        },
        bucket_map: Default::default(),
        mirror,
        overwrite,
    };
    let plan = engine.plan_storage_restore(&req).await?;
    if dry_run || !out.json() {
        print_plan(out, &plan); // with --json the report below carries the plan
    }
    if dry_run {
        return Ok(if plan.blockers.is_empty() { 0 } else { 5 });
    }
    if !plan.blockers.is_empty() {
        return Err(Error::new(
            ErrorKind::NeedsConsent,
            format!(
                "the storage restore cannot go ahead: {}",
                plan.blockers.join("; ")
            ),
        ));
    }
    let deletes: u64 = plan.buckets.iter().map(|b| b.delete).sum();
    if mirror && deletes > 0 && !yes {
        if out.json() || !std::io::stdin().is_terminal() {
            return Err(Error::new(
                ErrorKind::NeedsConsent,
                format!("mirror mode would delete {deletes} object(s) in the target"),
            )
            .with_hint("review with --dry-run, then pass --yes to confirm"));
        }
        eprint!("Mirror mode deletes {deletes} object(s) the backup does not have. Type \"mirror\" to go ahead: ");
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).ok();
        if answer.trim() != "mirror" {
            return Err(Error::new(
                ErrorKind::NeedsConsent,
                "not confirmed; nothing was changed",
            ));
        }
    }
    let outcome = engine.restore_storage(req, job).await?;
    let r = &outcome.report;
    if out.json() {
        out.emit(&json!({ "job_id": outcome.job_id, "storage": r }));
    } else {
        println!(
            "storage restored: {} uploaded ({} bytes), {} identical skipped, {} kept, {} deleted; buckets created: {}",
            r.uploaded,
            r.uploaded_bytes,
            r.skipped,
            r.kept,
            r.deleted,
            if r.created_buckets.is_empty() { "none".to_string() } else { r.created_buckets.join(", ") }
        );
    }
    Ok(0)
}

fn print_plan(out: &Out, p: &StoragePlan) {
    if out.json() {
        out.emit(&json!({ "storage_plan": p }));
        return;
    }
    println!(
        "storage: backup {} of {} → {}",
        p.backup_id, p.project, p.target
    );
    for b in &p.buckets {
        println!(
            "  {:<24} {}{} to upload ({} bytes), {} overwrite different content, {} identical skipped{}",
            b.target_bucket,
            if b.create { "(new bucket) " } else { "" },
            b.upload,
            b.upload_bytes,
            b.overwrite,
            b.identical,
            if p.mirror { format!(", {} deleted (mirror)", b.delete) } else { String::new() }
        );
    }
    for w in &p.warnings {
        println!("  note: {w}");
    }
    for b in &p.blockers {
        println!("  BLOCKED: {b}");
    }
}

pub async fn restore_config(
    engine: &Engine,
    archive: &Path,
    project: Option<&str>,
    settings: Option<&str>,
    dry_run: bool,
    out: &Out,
) -> Result<u8> {
    let project = project.ok_or_else(|| {
        Error::invalid("a configuration restore needs the project to write to")
            .with_hint("--to PROJECT (a saved project with a Supabase ref and token)")
    })?;
    let plan = engine.plan_config_restore(archive, project).await?;
    if out.json() && (dry_run || settings.is_none()) {
        out.emit(&json!({ "config_plan": plan }));
    } else if !out.json() {
        println!(
            "configuration: {} setting(s) differ from project {}",
            plan.diffs.len(),
            plan.project_ref
        );
        for d in &plan.diffs {
            let show = |v: &Option<serde_json::Value>| {
                let s = v
                    .as_ref()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "(none)".into());
                if s.len() > 40 {
                    format!(
                        "{}…",
                        &s[..s.char_indices().nth(39).map(|(i, _)| i).unwrap_or(s.len())]
                    )
                } else {
                    s
                }
            };
            println!(
                "  {}:{:<32} backup {:<42} now {:<42}{}",
                d.file,
                d.setting,
                show(&d.archived),
                show(&d.current),
                if d.redacted {
                    " (redacted: not written)"
                } else if !d.writable {
                    " (cannot be written back)"
                } else {
                    ""
                }
            );
        }
    }
    let Some(settings) = settings else {
        if !dry_run && !plan.diffs.is_empty() && !out.json() {
            println!("nothing written: choose settings with --config-settings FILE:SETTING,… (or --config-settings all-writable)");
        }
        return Ok(0);
    };
    if dry_run {
        return Ok(0);
    }
    let chosen: Vec<String> = if settings.trim() == "all-writable" {
        plan.diffs
            .iter()
            .filter(|d| d.writable && !d.redacted)
            .map(|d| format!("{}:{}", d.file, d.setting))
            .collect()
    } else {
        settings
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let report = engine.apply_config(archive, project, &chosen).await?;
    if out.json() {
        out.emit(&json!({ "config_applied": report }));
    } else {
        println!(
            "configuration: {} setting(s) written back, {} skipped",
            report.applied.len(),
            report.skipped.len()
        );
    }
    Ok(0)
}
