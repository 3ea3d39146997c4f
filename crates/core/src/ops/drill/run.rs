//! The drill's body, inside its job ([`crate::ops::drill`] runs it): verify the archive, start
//! the target (a throwaway cluster or a database on the scratch server), restore the whole
//! backup into it with the one restore (`create_roles`), prove its content, run the project's
//! validation queries, check the storage objects and configuration documents, measure the RTO
//! and the sizes, and fill a [`DrillReport`]. The target is dropped/stopped whatever happens.

use crate::archive::{Manifest, VerifyReport};
use crate::catalog::{BackupRecord, Project};
use crate::drill::cluster::{choose_server_bins, discover_server_bins, ThrowawayCluster};
use crate::drill::confine::{self, Access};
use crate::drill::scratch::{drill_database_name, ScratchServer};
use crate::drill::{CheckStatus, DrillCheck, DrillReport, DrillTargetInfo, RanBy, REPORT_FORMAT};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::ops::runner::RunningJob;
use crate::postgres::conn::ConnSpec;
use crate::postgres::conn::ProjectConnection;
use crate::restore::{DatabaseOptions, DatabaseReport, DatabaseTo, RestoreRequest};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What one drill works on.
pub(crate) struct DrillJob<'a> {
    pub engine: &'a Engine,
    pub drill_id: String,
    pub project: Project,
    pub backup: BackupRecord,
    /// A scratch server the user named; `None`: a throwaway cluster.
    pub server: Option<ScratchServer>,
    /// How many storage objects to check one by one, chosen at random; `None`: every object.
    pub storage_sample: Option<u32>,
}

/// Where the drill restores, while it lives.
struct Target {
    /// Who set it up and who restores ([`confine`]): the backup's code only ever runs as
    /// `access.restorer`.
    access: Access,
    database: String,
    info: DrillTargetInfo,
    cluster: Option<ThrowawayCluster>,
}

impl Target {
    /// The drill database, as the restoring role.
    fn spec(&self) -> ConnSpec {
        self.access.restorer.spec_of(&self.database)
    }

    fn password(&self) -> Option<&str> {
        self.access.restorer.password.as_deref()
    }
}

/// Run the drill; `Err` only when it could not be run at all (no server binaries, a scratch
/// server refused, cancelled): a backup that does not prove out is a report with failed checks.
pub(crate) async fn execute(d: &DrillJob<'_>, job: &RunningJob) -> Result<DrillReport> {
    let started_at = d.engine.clock.now();
    let archive = PathBuf::from(&d.backup.path);
    let mut checks = Vec::new();
    // A keychain that cannot be reached leaves the ciphertext check (and a failed check).
    let keys = crate::ops::encryption::keys_of(d.engine, &d.project.name).unwrap_or_default();
    let verified = verify(d, &archive, &keys, job).await?;
    let manifest = verified.manifest.clone();
    checks.push(verify_check(&verified, &d.backup));
    job.check_cancelled()?;
    let source_major = manifest
        .as_ref()
        .and_then(|m| m.versions.server.as_deref())
        .and_then(crate::postgres::tools::parse_version)
        .map(|(major, _)| major);
    let mut target = None;
    let mut rto = 0.0;
    let mut rpo_hours = None;
    let mut db_bytes = None;
    let mut pg_restore = None;
    if checks[0].status == CheckStatus::Passed {
        let t = start_target(d, source_major.unwrap_or(0)).await?;
        let target = target.insert(t);
        let outcome = prove(d, &archive, manifest.as_ref(), target, job).await;
        // Stopped/dropped whatever the outcome.
        let cleaned = stop_target(target).await;
        let proved = outcome?;
        cleaned?;
        checks.extend(proved.checks);
        rto = proved.rto_seconds;
        rpo_hours = proved.rpo_hours;
        db_bytes = proved.database_bytes;
        pg_restore = proved.pg_restore;
    } else {
        checks.push(skipped(
            "restore",
            "Restore of the whole backup",
            "the archive did not verify",
        ));
    }
    if let Some(m) = &manifest {
        checks.extend(
            crate::drill::storage_config::checks(
                &archive,
                m,
                &verified,
                keys.clone(),
                d.storage_sample,
            )
            .await,
        );
    }
    let verdict = DrillReport::verdict_of(&checks);
    let target_info = target.map(|t| t.info).unwrap_or_else(|| DrillTargetInfo {
        kind: if d.server.is_some() {
            "server"
        } else {
            "throwaway"
        }
        .into(),
        server_version: String::new(),
        location: "not started".into(),
    });
    Ok(DrillReport {
        format: REPORT_FORMAT,
        drill_id: d.drill_id.clone(),
        project: d.project.name.clone(),
        backup_id: d.backup.id.clone(),
        archive_name: archive
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        archive_sha256: verified.file_sha256.clone(),
        backup_created_at: d.backup.created_at.clone(),
        started_at: crate::catalog::format_timestamp(started_at),
        finished_at: crate::catalog::format_timestamp(d.engine.clock.now()),
        source_server_version: manifest.as_ref().and_then(|m| m.versions.server.clone()),
        target: target_info,
        checks,
        verdict,
        rto_seconds: rto,
        archive_bytes: d.backup.size,
        restored_database_bytes: db_bytes,
        rpo_hours,
        ran_by: ran_by(pg_restore),
    })
}

async fn verify(
    d: &DrillJob<'_>,
    archive: &Path,
    keys: &[crate::crypto::UserKey],
    job: &RunningJob,
) -> Result<VerifyReport> {
    if !archive.is_file() {
        return Err(Error::not_found(format!(
            "the archive of backup {} is not on this computer ({})",
            d.backup.id,
            archive.display()
        ))
        .with_hint("fetch it back (offsite fetch-copy) or drill another backup (--backup ID)"));
    }
    crate::ops::verify::verify_file_with(archive, keys, &job.reporter, &job.cancel).await
}

fn verify_check(v: &VerifyReport, backup: &BackupRecord) -> DrillCheck {
    let mut problems = v.problems.clone();
    if v.file_sha256 != backup.sha256 {
        problems.push(format!(
            "the archive's SHA-256 differs from the one recorded when it was made ({})",
            backup.sha256
        ));
    }
    if let Some(why) = &v.contents_not_checked {
        problems.push(format!("its contents could not be checked: {why}"));
    }
    let members = v.members.len();
    DrillCheck {
        id: "verify".into(),
        title: "The archive verifies".into(),
        status: if v.ok && problems.is_empty() {
            CheckStatus::Passed
        } else {
            CheckStatus::Failed
        },
        expected: Some(format!(
            "sha256 {}, every file in the archive matches its SHA-256",
            backup.sha256
        )),
        actual: Some(format!(
            "sha256 {}, {} of {members} files in the archive match",
            v.file_sha256,
            v.members.iter().filter(|m| m.ok).count()
        )),
        detail: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

pub(crate) fn skipped(id: &str, title: &str, why: &str) -> DrillCheck {
    DrillCheck {
        id: id.into(),
        title: title.into(),
        status: CheckStatus::Skipped,
        expected: None,
        actual: None,
        detail: Some(format!("not run: {why}")),
    }
}

/// Start the throwaway cluster (or reach the scratch server) and create the drill's database.
async fn start_target(d: &DrillJob<'_>, source_major: u32) -> Result<Target> {
    let database = drill_database_name(&d.drill_id);
    if let Some(server) = &d.server {
        let access = confine::prepare(server, &database, &d.drill_id).await?;
        return Ok(Target {
            info: DrillTargetInfo {
                kind: "server".into(),
                server_version: format!("PostgreSQL {}", access.version),
                location: server.location(&database),
            },
            access,
            database,
            cluster: None,
        });
    }
    let (data_dir, id, pg_bin) = (
        d.engine.data_dir.clone(),
        d.drill_id.clone(),
        d.engine.pg_bin(),
    );
    let cluster = tokio::task::spawn_blocking(move || {
        let bins = choose_server_bins(&discover_server_bins(pg_bin.as_deref()), source_major)?;
        ThrowawayCluster::start(&data_dir, &id, bins)
    })
    .await
    .map_err(|e| Error::internal(format!("starting the drill's cluster failed: {e}")))??;
    let admin = ScratchServer {
        spec: cluster.spec("postgres"),
        password: None,
    };
    let access = match confine::prepare(&admin, &database, &d.drill_id).await {
        Ok(a) => a,
        Err(e) => {
            let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
            return Err(e);
        }
    };
    Ok(Target {
        info: DrillTargetInfo {
            kind: "throwaway".into(),
            server_version: format!("PostgreSQL {}", access.version),
            location: "private socket".into(),
        },
        access,
        database,
        cluster: Some(cluster),
    })
}

/// Drop the drill's database (scratch server) or stop and remove the throwaway cluster.
async fn stop_target(t: &mut Target) -> Result<()> {
    match t.cluster.take() {
        Some(c) => tokio::task::spawn_blocking(move || c.stop())
            .await
            .map_err(|e| Error::internal(format!("stopping the drill's cluster failed: {e}")))?,
        None => confine::tear_down(&t.access, &t.database).await,
    }
}

/// What the restore and the checks on the restored database found.
struct Proved {
    checks: Vec<DrillCheck>,
    rto_seconds: f64,
    rpo_hours: Option<f64>,
    database_bytes: Option<u64>,
    pg_restore: Option<String>,
}

/// Restore into the target and check the restored database.
async fn prove(
    d: &DrillJob<'_>,
    archive: &Path,
    manifest: Option<&Manifest>,
    target: &mut Target,
    job: &RunningJob,
) -> Result<Proved> {
    let spec = target.spec();
    if let Some(m) = manifest {
        let wanted = missing_extensions(d, archive, m, target).await?;
        if wanted.iter().any(|(name, _)| name == "pg_cron") {
            preload_pg_cron(target).await?;
        }
        confine::create_untrusted_extensions(&target.access, &target.database, &wanted).await?;
    }
    // A locale the backup's session had (`lc_monetary`) that this server lacks: said when the
    // restore fails (money values are written in that locale's format).
    let locales = missing_locales(target, manifest).await;
    let t0 = Instant::now();
    // Every object owned by the restoring role (`no_owner`); the roles the backup names are
    // created bare beforehand by the drill itself, never from the backup's globals.sql.
    let req = RestoreRequest::new(
        archive,
        DatabaseTo::Connection {
            connection: ProjectConnection::Url(spec.to_url()),
            tls: Some(spec.tls),
            password: target.access.restorer.password.clone(),
        },
    )
    .options(DatabaseOptions {
        no_owner: true,
        // Each table's heap in the backup's order: the content check compares digests in it.
        keep_heap_order: true,
        ..Default::default()
    });
    let restored = match bare_roles(d, &req, target).await {
        Ok(()) => crate::ops::restore::run_within(d.engine, req, job).await,
        Err(e) => Err(e),
    };
    let restored = match restored {
        Err(e) if e.kind() == ErrorKind::Cancelled => return Err(e),
        r => r,
    };
    let mut checks = vec![restore_check(
        restored.as_ref().map(|r| r.database.as_ref()),
        &locales,
    )];
    let (db, parity) = match restored {
        Ok(r) => (r.database, r.parity),
        Err(_) => (None, None),
    };
    checks.extend(parity.iter().flat_map(parity_checks));
    checks.extend(confine::checks(
        &target.access,
        target.cluster.as_ref().map(|c| c.confinement()),
        db.as_ref().map(|r| &r.plan),
    ));
    let pg_restore = db.as_ref().map(|r| r.plan.pg_restore_version.clone());
    let mut database_bytes = None;
    let mut rpo_hours = None;
    if db.is_some() {
        job.check_cancelled()?;
        let mut conn = spec.connect(target.password()).await?;
        // Every table's rows against what was backed up (row count + SHA-256 of its COPY
        // rows, read back under the digests' session settings).
        if let Some(m) = manifest {
            checks.extend(crate::drill::content::check_tables(&mut conn, m, &job.cancel).await?);
        }
        // The project's own validation queries (and the RPO a `within` check measures), on a
        // fresh session: the content checks set pg_dump's settings (an empty search_path among
        // them), and the user's queries are written for an ordinary session.
        let queries = d.engine.catalog.validation_checks(&d.project.id).await?;
        if !queries.is_empty() {
            drop(conn);
            conn = spec.connect(target.password()).await?;
            let made = crate::catalog::parse_timestamp(&d.backup.created_at)?;
            let (found, rpo) =
                crate::drill::queries::run_validation(&mut conn, &queries, made).await;
            checks.extend(found);
            rpo_hours = rpo;
        }
        database_bytes = sqlx::query_scalar::<_, i64>(
            "SELECT pg_catalog.pg_database_size(pg_catalog.current_database())",
        )
        .fetch_one(&mut conn)
        .await
        .ok()
        .map(|b| b.max(0) as u64);
        drop(conn);
    } else {
        checks.push(skipped(
            "tables",
            "Tables: rows and content",
            "the restore failed",
        ));
    }
    // Whole milliseconds: the report is stored as JSON, and a value of a few decimals reads
    // back as the same number (nanosecond digits did not always: the stored report differed).
    let rto_seconds = t0.elapsed().as_millis() as f64 / 1000.0;
    let target = d.engine.catalog.targets(&d.project.id).await?.rto_seconds;
    checks.push(crate::drill::rto_check(rto_seconds, target));
    Ok(Proved {
        checks,
        rto_seconds,
        rpo_hours,
        database_bytes,
        pg_restore,
    })
}

/// The parity report's object parts (publications, policies, triggers, cron jobs, queues) as
/// checks: the same census the backup took, on the scratch copy. Its row parts are left out: the
/// table checks compare every table's rows already. A part whose extension the drill's server
/// lacks (pg_cron, pgmq) cannot be compared there: said, not failed.
fn parity_checks(report: &crate::parity::ParityReport) -> Vec<DrillCheck> {
    use crate::parity::{Evidence, PartVerdict};
    report
        .parts
        .iter()
        .filter(|p| p.evidence == Evidence::Objects)
        .map(|p| {
            let status = match p.verdict {
                PartVerdict::Equal => CheckStatus::Passed,
                PartVerdict::Differs if !p.absent_in_target => CheckStatus::Failed,
                _ => CheckStatus::NotComparable,
            };
            let mut detail = p.note.clone();
            if p.absent_in_target {
                detail = Some(format!(
                    "{}: this drill's server cannot hold them",
                    p.note
                        .as_deref()
                        .unwrap_or("the drill's server has none of them")
                ));
            }
            DrillCheck {
                id: format!("parity:{}", p.part),
                title: format!("{}: as the backup's census recorded them", p.name),
                status,
                expected: Some(p.compared.clone()),
                actual: Some(if p.differences.is_empty() {
                    "the same".to_string()
                } else {
                    p.differences.join("; ")
                }),
                detail,
            }
        })
        .collect()
}

/// Create bare (see [`confine::create_bare_roles`]) the roles the restore's plan says the target
/// lacks.
async fn bare_roles(d: &DrillJob<'_>, req: &RestoreRequest, target: &mut Target) -> Result<()> {
    let plan = crate::ops::restore::plan(d.engine, req).await?;
    let missing = plan.database.map(|p| p.missing_roles).unwrap_or_default();
    confine::create_bare_roles(&mut target.access, &missing).await
}

/// The backup's `lc_*` settings (as its digests recorded them) the drill's server refuses,
/// as "lc_monetary = 'de_DE.UTF-8'": a locale this machine lacks.
async fn missing_locales(target: &Target, manifest: Option<&Manifest>) -> Vec<String> {
    let Some(content) = manifest.and_then(|m| m.content.as_ref()) else {
        return Vec::new();
    };
    let wanted: Vec<(&String, &String)> = content
        .settings
        .iter()
        .filter(|(k, v)| k.starts_with("lc_") && crate::drill::content::admit_setting(k, v).is_ok())
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let Ok(mut conn) = target.spec().connect(target.password()).await else {
        return Vec::new();
    };
    if crate::postgres::conn::pin_search_path(&mut conn)
        .await
        .is_err()
    {
        return Vec::new();
    }
    let mut missing = Vec::new();
    for (name, value) in wanted {
        let set = sqlx::query("SELECT pg_catalog.set_config($1, $2, false)")
            .bind(name)
            .bind(value)
            .execute(&mut conn)
            .await;
        if set.is_err() {
            missing.push(format!("{name} = '{value}'"));
        }
    }
    missing
}

fn restore_check(
    r: std::result::Result<Option<&DatabaseReport>, &Error>,
    missing_locales: &[String],
) -> DrillCheck {
    let mut c = restore_outcome(r);
    if c.status == CheckStatus::Failed && !missing_locales.is_empty() {
        let why = format!(
            "the backup was made under {}, a locale the drill's server lacks: values written in \
             its format (money) cannot be loaded there; install that locale on the drill's \
             machine (Debian: enable it in /etc/locale.gen, run locale-gen) or drill into a \
             scratch server that has it",
            missing_locales.join(", ")
        );
        c.detail = Some(match c.detail.take() {
            Some(d) => format!("{d}; {why}"),
            None => why,
        });
    }
    c
}

fn restore_outcome(r: std::result::Result<Option<&DatabaseReport>, &Error>) -> DrillCheck {
    let mut c = DrillCheck {
        id: "restore".into(),
        title:
            "Restore of the whole backup (as a role that cannot run programs or touch server files)"
                .into(),
        status: CheckStatus::Failed,
        expected: Some(
            "the restore completes; every table holds the rows recorded at backup".into(),
        ),
        actual: None,
        detail: None,
    };
    match r {
        Ok(Some(db)) => {
            let good = db.tables.iter().filter(|t| t.ok).count();
            c.actual = Some(format!(
                "restored; {good} of {} tables hold the recorded row counts",
                db.tables.len()
            ));
            let bad: Vec<String> = db
                .tables
                .iter()
                .filter(|t| !t.ok)
                .map(|t| {
                    format!(
                        "{}.{}: {} rows expected, {} found",
                        t.schema,
                        t.table,
                        t.expected,
                        t.actual.map(|a| a.to_string()).unwrap_or("none".into())
                    )
                })
                .collect();
            if db.ok {
                c.status = CheckStatus::Passed;
                c.detail = db.rows_not_recorded.clone();
            } else {
                c.detail = Some(bad.join("; "));
            }
        }
        Ok(None) => c.actual = Some("the backup has no database".into()),
        Err(e) => {
            c.actual = Some("the restore failed".into());
            c.detail = Some(format!("{} ({})", e.message(), e.code()));
        }
    }
    c
}

/// The extensions a backup's database creates, with the schema each goes in (from its
/// pg_dump table of contents; the archive opened with `project`'s keys).
pub(crate) async fn extensions_of(
    engine: &Engine,
    project: &str,
    archive: &Path,
    manifest: &Manifest,
) -> Result<Vec<(String, Option<String>)>> {
    let directory = manifest
        .member(crate::archive::DATABASE_TOC_MEMBER)
        .is_some();
    if manifest.member(crate::archive::DATABASE_MEMBER).is_none() && !directory {
        return Ok(Vec::new());
    }
    let (a, pg_bin) = (archive.to_path_buf(), engine.pg_bin());
    let keys = crate::ops::encryption::keys_of(engine, project).unwrap_or_default();
    type Wanted = Vec<(String, Option<String>)>;
    tokio::task::spawn_blocking(move || -> Result<Wanted> {
        let _unlocked = crate::archive::unlock(&a, keys);
        let tools = crate::postgres::tools::newest(pg_bin.as_deref())?;
        let toc = crate::postgres::restore::toc::read(&tools, &a, directory)?;
        Ok(toc
            .items
            .iter()
            .filter(|i| i.desc == "EXTENSION")
            .map(|i| (i.tag.clone(), confine::extension_schema(&i.sql)))
            .collect())
    })
    .await
    .map_err(|e| Error::internal(format!("reading the backup's contents failed: {e}")))?
}

/// A throwaway cluster restarted with pg_cron preloaded for the drill's database (a backup with
/// pg_cron's jobs cannot be restored otherwise); a scratch server is the user's, as it is.
async fn preload_pg_cron(target: &mut Target) -> Result<()> {
    let Some(mut cluster) = target.cluster.take() else {
        return Ok(());
    };
    let database = target.database.clone();
    let (cluster, done) = tokio::task::spawn_blocking(move || {
        let done = cluster.preload_pg_cron(&database);
        (cluster, done)
    })
    .await
    .map_err(|e| Error::internal(format!("restarting the drill's cluster failed: {e}")))?;
    target.cluster = Some(cluster);
    done
}

/// Refuse a target that lacks an extension the backup creates (a clear error naming it, before
/// anything is restored).
async fn missing_extensions(
    d: &DrillJob<'_>,
    archive: &Path,
    manifest: &Manifest,
    target: &Target,
) -> Result<Vec<(String, Option<String>)>> {
    let wanted = extensions_of(d.engine, &d.project.name, archive, manifest).await?;
    if wanted.is_empty() {
        return Ok(wanted);
    }
    let spec = target.spec();
    let mut conn = spec.connect(target.password()).await?;
    let available: Vec<String> =
        sqlx::query_scalar("SELECT name::text FROM pg_catalog.pg_available_extensions")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| spec.map_sqlx(e))?;
    let missing: Vec<String> = wanted
        .iter()
        .map(|(name, _)| name.clone())
        .filter(|w| !available.contains(w))
        .collect();
    if missing.is_empty() {
        return Ok(wanted);
    }
    Err(Error::new(
        ErrorKind::ToolMissing,
        format!(
            "the drill's server ({}) lacks the extension{} the backup uses: {}",
            target.info.server_version,
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        ),
    )
    .with_hint(format!(
        "install {} for the drill's PostgreSQL (e.g. Debian: the postgresql-N-<extension> package), or drill into a scratch server that has it (--server URL)",
        missing.join(", ")
    )))
}

fn ran_by(pg_restore: Option<String>) -> RanBy {
    RanBy {
        hostname: hostname(),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        offsite_version: format!("offsite {}", env!("CARGO_PKG_VERSION")),
        pg_restore,
    }
}

fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length.
        if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "unknown".into())
}
