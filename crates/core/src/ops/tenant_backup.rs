//! `offsite backup PROJECT --tenant NAME[=VALUE]`: one archive per tenant, split from the
//! project's newest good backup (docs/tenants.md). Each tenant's rows and the backup's schema
//! are written as a plain SQL dump by [`crate::recover::tenant_dump`] (which checks isolation),
//! packed as an ordinary archive under `<backup folder>/tenants/NAME/VALUE/` and registered
//! (the import's one way in: written under a temporary name, verified, then registered; on
//! failure nothing of that tenant is left).

use crate::archive::TenantMark;
use crate::catalog::{BackupOrigin, BackupRecord, JobKind};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::job::JobStart;
use crate::ops::runner::{self, RunningJob};
use crate::recover::{self, TenantDump, TenantRoot};
use serde::Serialize;

/// One tenant's archive.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantBackup {
    /// The root's key value.
    pub value: String,
    pub backup: BackupRecord,
    /// Its tables and rows, and the isolation check.
    pub dump: TenantDump,
}

/// A per-tenant backup job's outcome.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantBackupOutcome {
    pub job_id: String,
    /// The backup the tenants were split from.
    pub source_backup_id: Option<String>,
    pub tenant: String,
    pub backups: Vec<TenantBackup>,
}

impl Engine {
    /// Writes one archive per value of tenant `name`'s root key (or only `value`) from the
    /// project's newest good backup.
    pub async fn tenant_backup(
        &self,
        project: &str,
        name: &str,
        value: Option<String>,
        start: JobStart,
    ) -> Result<TenantBackupOutcome> {
        let p = self.catalog.project(project).await?;
        let tenant = self.catalog.tenant(&p.id, name).await?;
        let root = TenantRoot {
            schema: tenant.schema.clone(),
            table: tenant.table.clone(),
            key: tenant.key.clone(),
        };
        let source = crate::ops::resolve::resolve(
            self,
            &format!("{project}{}", crate::ops::resolve::LATEST_SUFFIX),
        )
        .await
        .map_err(|e| {
            e.with_hint("a tenant backup is split from the project's newest good backup: take one first (offsite backup PROJECT)")
        })?;
        let _unlocked = self.unlock_archive(&source.path, None).await?;
        let (pc, name_owned) = (p.clone(), name.to_string());
        let source_id = source.backup_id.clone();
        let writes = tenant.member_writes.clone();
        let (job_id, backups) = runner::run(
            self,
            JobKind::Backup,
            Some(&p),
            start,
            |b: &Vec<TenantBackup>| b.first().map(|b| b.backup.id.clone()),
            |job| async move {
                let whole_run = value.is_none();
                let values = match value {
                    Some(v) => vec![v],
                    None => {
                        let (a, r, c) = (source.path.clone(), root.clone(), job.cancel.clone());
                        tokio::task::spawn_blocking(move || recover::tenant_values(&a, &r, &c))
                            .await
                            .map_err(|e| Error::internal(format!("reading the tenants: {e}")))??
                    }
                };
                let mut out = Vec::new();
                let mut failed: Vec<(usize, Error)> = Vec::new();
                for (i, v) in values.iter().enumerate() {
                    // A cancel stops the run; one tenant's failure does not stop the others.
                    job.check_cancelled()
                        .map_err(|e| e.context(stopped_at(&name_owned, &values, &out, i)))?;
                    let from = (source.path.as_path(), source.backup_id.as_deref());
                    let which = (v.clone(), whole_run);
                    let tenant = (name_owned.as_str(), &root, writes.as_slice());
                    match one(self, &pc, tenant, from, which, &job).await {
                        Ok(b) => out.push(b),
                        Err(e) if e.kind() == crate::error::ErrorKind::Cancelled => {
                            return Err(e.context(stopped_at(&name_owned, &values, &out, i)))
                        }
                        // Each finished tenant is whole and stays registered; the run goes on.
                        Err(e) => failed.push((i, e)),
                    }
                }
                match failed.first() {
                    None => Ok(out),
                    Some((_, first)) => Err(Error::new(
                        first.kind(),
                        failures(&name_owned, &values, &out, &failed),
                    )
                    .with_hint(
                        "the tenants done are whole and registered; fix what the failed ones \
                         name, then back them up again: offsite backup PROJECT --tenant NAME=VALUE",
                    )),
                }
            },
        )
        .await?;
        Ok(TenantBackupOutcome {
            job_id,
            source_backup_id: source_id,
            tenant: name.to_string(),
            backups,
        })
    }
}

/// At most ten values of `name` as `name=value, …` (`none` when empty).
fn listed<'a>(name: &str, vs: impl ExactSizeIterator<Item = &'a str>) -> String {
    let n = vs.len();
    let mut s: Vec<String> = vs.take(10).map(|v| format!("{name}={v}")).collect();
    if n > 10 {
        s.push(format!("and {} more", n - 10));
    }
    if s.is_empty() {
        "none".to_string()
    } else {
        s.join(", ")
    }
}

/// Where a cancelled `--tenant` run stopped: those done (whole, registered) and those not done.
fn stopped_at(name: &str, values: &[String], done: &[TenantBackup], at: usize) -> String {
    format!(
        "the run stopped at tenant {name}={} (done and registered: {}; not done: {})",
        values[at],
        listed(name, done.iter().map(|b| b.value.as_str())),
        listed(name, values[at..].iter().map(String::as_str))
    )
}

/// A `--tenant` run where some tenants failed: each failed one with why (at most ten), and the
/// ones done (whole, registered).
fn failures(
    name: &str,
    values: &[String],
    done: &[TenantBackup],
    failed: &[(usize, Error)],
) -> String {
    let mut why: Vec<String> = failed
        .iter()
        .take(10)
        .map(|(i, e)| format!("tenant {name}={} failed: {}", values[*i], e.message()))
        .collect();
    if failed.len() > 10 {
        why.push(format!("and {} more failed", failed.len() - 10));
    }
    format!(
        "{} of {} failed — {} (done and registered: {})",
        failed.len(),
        crate::words::count(values.len(), "tenant"),
        why.join("; "),
        listed(name, done.iter().map(|b| b.value.as_str()))
    )
}

/// One tenant value: its dump written and checked, then packed and registered.
async fn one(
    engine: &Engine,
    project: &crate::catalog::Project,
    (name, root, member_writes): (&str, &TenantRoot, &[recover::MemberWrite]),
    (source, source_id): (&std::path::Path, Option<&str>),
    (value, whole_run): (String, bool),
    job: &RunningJob,
) -> Result<TenantBackup> {
    let work = crate::private_fs::tempdir("offsite-tenant-sql-")
        .map_err(|e| Error::io("making a temporary folder for the tenant backup", e))?;
    let sql = work
        .path()
        .join(format!("{}.sql", recover::safe_value(&value)));
    let mut conn = engine.project_connection(&project.name).await?;
    let dump = recover::tenant_dump(
        &mut conn,
        source,
        root,
        member_writes,
        &value,
        &sql,
        &job.reporter,
        &job.cancel,
    )
    .await?;
    if dump.outside > 0 {
        return Err(recover::not_isolated(dump.outside));
    }
    if !dump.crossing.is_empty() {
        return Err(recover::crosses_tenants(&dump.crossing));
    }
    let mut inspected = super::import::inspect_for(engine, &sql, None, Vec::new(), job).await?;
    inspected.tenant_tables = dump
        .tables
        .iter()
        .map(|t| crate::archive::TableCount::counted(t.schema.clone(), t.name.clone(), t.rows))
        .collect();
    inspected.tenant = Some(TenantMark {
        name: name.to_string(),
        root: root.label(),
        key: root.key.clone(),
        value: value.clone(),
        source_backup_id: source_id.map(str::to_string),
        rows_checked: dump.rows_checked,
        outside: dump.outside,
        whole_run,
    });
    let dest = engine
        .backup_dir_of(project)
        .join(crate::ops::resolve::TENANTS_DIR)
        .join(name)
        .join(recover::safe_value(&value));
    let made = !dest.exists();
    crate::private_fs::create_dir_all(&dest)
        .map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
    let backup = super::import::import_into(
        engine,
        inspected,
        project,
        &dest,
        true,
        BackupOrigin::Imported,
        job,
    )
    .await;
    let backup = match backup {
        Ok(b) => b,
        Err(e) => {
            if made {
                // The tenant's own folder, empty again (the import removed what it wrote).
                let _ = std::fs::remove_dir(&dest);
            }
            return Err(e);
        }
    };
    Ok(TenantBackup {
        value,
        backup,
        dump,
    })
}
