//! The plan: what the target holds, what the backup creates, replaces and leaves out, and what
//! stops the restore. Changes nothing.

use super::{
    join_err, plain, quote_ident, replace, roles, script, select, toc, BackupTable, DatabasePlan,
    Prepared, RestoreOptions, RestoreTarget, SelectWhat,
};
use crate::archive::{self, Manifest, DATABASE_MEMBER, DATABASE_SQL_MEMBER, GLOBALS_MEMBER};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::server_info;
use crate::postgres::tools;
use crate::progress::{Phase, Reporter};
use sqlx::{Connection, Row};
use std::collections::BTreeSet;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// Compute the plan. Changes nothing.
pub async fn plan(
    archive_path: &Path,
    target: &RestoreTarget,
    opts: &RestoreOptions,
    reporter: &Reporter,
) -> Result<Prepared> {
    reporter.phase(Phase::Planning, None);
    let read = read_all(archive_path, target, opts).await?;
    let (has_globals, role_plan, decisions) = decide(&read, opts)?;
    let Read {
        manifest,
        plain,
        directory,
        info,
        tools,
        toc,
        facts,
        seen,
        ..
    } = read;
    let arbitrary = arbitrary_that_runs(&toc, &decisions.skip);
    let TargetState {
        target_objects,
        existing,
        selected,
        clean,
        rows_only,
        dependents,
        clean_phase_runs,
    } = seen;
    let target_empty = existing.is_empty();
    let replacing = opts.replace && !target_empty;
    let found = dependents.as_ref().and_then(|d| d.as_ref().ok());
    let dropped: BTreeSet<String> = found.map(|d| d.keys.clone()).unwrap_or_default();
    let (will_replace, will_replace_tables, will_create, will_keep, platform_kept) =
        will_lists(clean, &dropped, selected.as_ref(), opts);
    let (mut blockers, mut warnings) = (Vec::new(), Vec::new());
    if !target_empty && !opts.replace {
        blockers.push(not_empty_blocker(&existing, selected.is_some(), target));
    }
    blockers.extend(rows_only.blockers.iter().cloned());
    if let Some(sel) = &selected {
        blockers.extend(sel.blockers.iter().cloned());
    }
    role_findings(
        &role_plan,
        has_globals,
        &facts,
        opts,
        &mut blockers,
        &mut warnings,
    );
    if let Some(w) = superuser_warning(&facts, opts) {
        warnings.insert(0, w);
    }
    blockers.extend(decisions.blockers.iter().cloned());
    warnings.extend(decisions.warnings.iter().cloned());
    if let Some(b) = arbitrary_sql_blocker(&arbitrary, opts.allow_arbitrary_sql) {
        blockers.insert(0, b);
    }
    replace_findings(
        &decisions,
        replacing,
        opts,
        (&will_keep, platform_kept),
        dependents.as_ref(),
        &mut blockers,
        &mut warnings,
    );
    backup_warnings(&manifest, plain, &toc, &tools, &mut warnings);
    // pg_restore -j (a directory dump restored as it is) cannot be one transaction; replacing, a
    // selection or Offsite's own SQL around the restore need one, and keep it single; so does
    // one worker (`--jobs 1`), which gains nothing from -j.
    let single = clean_phase_runs || decisions.needs_script() || selected.is_some();
    let one_transaction = one_transaction(&manifest, directory, single, opts, &mut warnings);
    let will_drop = dependents.as_ref().and_then(|d| d.as_ref().ok());
    let will_drop = will_drop.map(|d| d.described.clone()).unwrap_or_default();
    let what = opts.selection.what;
    let plan = DatabasePlan {
        archive: archive_path.to_path_buf(),
        backup_id: manifest.backup_id.clone(),
        project: manifest.project.clone(),
        created_at: manifest.created_at.clone(),
        source_server_version: manifest.versions.server.clone(),
        target: target.spec.to_url(),
        target_database: target.spec.database.clone(),
        target_server_version: info.version.clone(),
        pg_restore: restoring_tool(&tools, plain).0,
        pg_restore_version: restoring_tool(&tools, plain).1,
        target_empty,
        target_objects,
        existing: existing.into_iter().take(200).collect(),
        will_replace,
        will_replace_tables,
        will_create,
        will_keep,
        will_drop,
        missing_roles: role_plan.create.iter().map(|r| r.name.clone()).collect(),
        roles_to_create: role_plan.create.clone(),
        connecting_role: facts.user.clone(),
        connecting_superuser: facts.superuser,
        managed_schemas: decisions.managed.clone(),
        owned_by_others: decisions.owned_by_others.clone(),
        superuser_only: decisions.superuser_only.clone(),
        platform_privileges: decisions.platform_privileges.clone(),
        left_out: decisions.left_out.clone(),
        database_missing: false,
        may_create_database: false,
        creates_database: false,
        replace: opts.replace,
        safety_backup: replacing && !opts.no_safety_backup,
        create_roles: opts.create_roles,
        no_owner: opts.no_owner,
        selection: selected.as_ref().map(|s| s.plan.clone()),
        backup_tables: backup_tables(&toc),
        rows: rows_restored(&manifest, selected.as_ref(), what),
        rows_recorded: !manifest.tables.is_empty() || manifest.tables_note.is_none(),
        one_transaction,
        blockers,
        warnings,
        arbitrary_sql: arbitrary.first.clone(),
        arbitrary_sql_total: arbitrary.total,
        allow_arbitrary_sql: opts.allow_arbitrary_sql,
    };
    Ok(Prepared {
        plan,
        manifest,
        tools,
        toc,
        decisions,
        superuser: facts.superuser,
        selected,
        truncate: rows_only.truncate,
        triggers: (rows_only.trigger_off, rows_only.trigger_on),
        data_order: rows_only.order,
        clean_phase_runs,
        plain,
        directory,
    })
}

/// How a directory dump (format 2) is restored, and the temporary disk it needs.
fn directory_note(
    manifest: &Manifest,
    single: bool,
    one_worker: bool,
    jobs: Option<u32>,
) -> String {
    let disk = super::dir::dump_bytes(manifest);
    let how = if single {
        "in one transaction by one pg_restore (replacing, a selection or Offsite's own SQL \
         around the restore need a single transaction, which pg_restore cannot combine with -j)"
            .to_string()
    } else if one_worker {
        "in one transaction by one pg_restore (one worker: every member is checked first)"
            .to_string()
    } else {
        format!(
            "by pg_restore -j {} (data and indexes in parallel; not one transaction: every \
             member is checked before the first row is loaded, and on a failure or a cancel \
             what the restore created is dropped again)",
            super::dir::jobs(jobs)
        )
    };
    // A sentence a person reads first; the engine's words after "Details:" (the window shows
    // them behind a Details switch, the command line prints both).
    let size = crate::units::format_bytes(disk);
    let plain = if single || one_worker {
        format!(
            "The backup is unpacked into a temporary folder first (it needs {size} of free \
             disk, freed again afterwards), then restored in one transaction."
        )
    } else {
        format!(
            "The backup is unpacked into a temporary folder first (it needs {size} of free \
             disk, freed again afterwards), then restored by several workers at once: faster, but not one \
             transaction. Every part is checked before the first row is loaded, and on a failure \
             or a cancel what was created is dropped again."
        )
    };
    format!(
        "{plain}{DETAILS}this backup is a directory dump (archive format 2): it is extracted to a \
         private temporary folder ({disk} bytes of temporary disk, removed afterwards) and \
         restored {how}"
    )
}

/// Where a warning's plain sentence ends and its technical detail begins.
pub const DETAILS: &str = "\nDetails: ";

/// Whether the restore is one transaction: always but for a directory dump restored as it is by
/// several workers (`single`: replacing, a selection or Offsite's own SQL keep it one); a
/// directory dump's note says which.
fn one_transaction(
    manifest: &Manifest,
    directory: bool,
    single: bool,
    opts: &RestoreOptions,
    warnings: &mut Vec<String>,
) -> bool {
    let one_worker = super::dir::jobs(opts.jobs) == 1;
    if directory {
        warnings.push(directory_note(manifest, single, one_worker, opts.jobs));
    }
    !directory || single || one_worker
}

/// What the restore does: the roles it would create (`has_globals`: the backup holds its
/// globals) and what it does entry by entry, from what [`read_all`] read.
fn decide(r: &Read, opts: &RestoreOptions) -> Result<(bool, roles::RolePlan, script::Decisions)> {
    let globals = r.globals.as_deref().map(roles::parse_globals);
    let target_roles: BTreeSet<String> = r.facts.roles.keys().cloned().collect();
    let role_plan = roles::plan_roles(
        globals.as_ref(),
        &r.manifest.roles,
        &target_roles,
        r.facts.superuser,
    )?;
    let empty_roles = roles::RolePlan::default();
    let created = if opts.create_roles {
        &role_plan
    } else {
        &empty_roles
    };
    let mut decisions = script::decide(
        &r.toc,
        &r.facts,
        created,
        opts.no_owner,
        r.seen.clean_phase_runs,
        &r.seen.clean.keep,
        r.seen.selected.as_ref().map(|s| &s.include),
    );
    if !opts.allow_arbitrary_sql {
        script::leave_out_catalog_powers(&r.toc, &mut decisions);
    }
    // A plain SQL dump's statements are not pg_restore's: its COPY is not redirected (the
    // target's refusal of `COPY cron.job` is then the restore's error, as before).
    if !r.plain {
        script::cron::decide(
            &r.toc,
            &r.facts,
            r.seen.clean_phase_runs,
            r.manifest.source.database.as_deref(),
            &mut decisions,
        );
    }
    Ok((globals.is_some(), role_plan, decisions))
}

/// What a plan reads before it decides: the archive's manifest and globals, the target server
/// and the tools that fit it, the backup's table of contents, and the target's facts and state.
struct Read {
    manifest: Manifest,
    globals: Option<String>,
    plain: bool,
    directory: bool,
    info: crate::postgres::conn::ServerInfo,
    tools: tools::PgTools,
    toc: toc::FullToc,
    facts: script::TargetFacts,
    seen: TargetState,
}

async fn read_all(
    archive_path: &Path,
    target: &RestoreTarget,
    opts: &RestoreOptions,
) -> Result<Read> {
    // Where the time before pg_restore goes (issue 28, 3b): each step's duration in the log.
    let mut clock = std::time::Instant::now();
    let mut lap = |step: &str| {
        let ms = clock.elapsed().as_millis() as u64;
        clock = std::time::Instant::now();
        format!("{step} {ms} ms")
    };
    let (manifest, globals, plain) = read_archive(archive_path, opts).await?;
    let directory = super::dir::is_directory(&manifest);
    let mut laps = vec![lap("manifest and globals")];
    let mut conn = target.spec.connect(target.password.as_deref()).await?;
    let info = server_info(&mut conn, &target.spec).await?;
    let tools = tools::find_for(info.major(), opts.pg_bin.as_deref())?;
    laps.push(lap("connect and tools"));
    let toc = read_toc(&tools, archive_path, plain, directory).await?;
    laps.push(lap("table of contents"));
    let facts = script::read_facts(&mut conn, &target.spec, &toc).await?;
    laps.push(lap("target facts"));
    let seen = TargetState::read(&mut conn, target, opts, &toc, &facts).await?;
    let _ = conn.close().await;
    laps.push(lap("target state"));
    tracing::info!("restore plan: {}", laps.join(", "));
    Ok(Read {
        manifest,
        globals,
        plain,
        directory,
        info,
        tools,
        toc,
        facts,
        seen,
    })
}

/// What the target holds that the restore meets: the objects the backup would replace (all of
/// them, or the selected ones), the selection resolved against the target's names, what the
/// clean phase drops and what depends on it.
struct TargetState {
    /// How many objects the target holds at all (`existing` before the selection narrows it).
    target_objects: u64,
    existing: Vec<String>,
    selected: Option<select::Selected>,
    clean: replace::CleanPhase,
    rows_only: RowsOnly,
    dependents: Option<std::result::Result<replace::Dependents, String>>,
    clean_phase_runs: bool,
}

impl TargetState {
    async fn read(
        conn: &mut sqlx::PgConnection,
        target: &RestoreTarget,
        opts: &RestoreOptions,
        toc: &toc::FullToc,
        facts: &script::TargetFacts,
    ) -> Result<TargetState> {
        let backup_schemas: Vec<String> = toc
            .items
            .iter()
            .filter(|i| i.desc == "SCHEMA")
            .map(|i| i.tag.clone())
            .collect();
        let managed: Vec<String> = facts.managed.iter().cloned().collect();
        let mut existing: Vec<String> = sqlx::query(EXISTING_OBJECTS)
            .bind(&managed)
            .bind(&backup_schemas)
            .bind(facts.superuser)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| target.spec.map_sqlx(e))?
            .into_iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
        let target_objects = existing.len() as u64;
        let selected = if opts.selection.is_whole() {
            None
        } else {
            let names = select::read_names(conn, &target.spec).await?;
            Some(select::select(toc, &opts.selection, &names)?)
        };
        let what = opts.selection.what;
        let side = opts.selection.into_schema.is_some();
        // Outside the managed schemas (and within the selection), what replacing drops and
        // recreates.
        let mut outside: Vec<replace::TocEntry> = replace::entries_of(toc, &facts.managed);
        if let Some(sel) = &selected {
            outside.retain(|e| sel.include.contains(&e.line));
        }
        let clean = replace::clean_phase(conn, &target.spec, &outside, facts).await?;
        let mut rows_only = RowsOnly::default();
        if let Some(sel) = &selected {
            // Only the selected objects count: those the target has are replaced.
            existing = if side {
                Vec::new()
            } else if what == SelectWhat::Data {
                rows_only = RowsOnly::read(conn, &target.spec, sel).await?;
                rows_only.with_rows.clone()
            } else {
                clean.replaced.clone()
            };
        }
        let replacing = opts.replace && !existing.is_empty();
        let clean_phase_runs = replacing && !side && what != SelectWhat::Data;
        let dependents = if clean_phase_runs {
            Some(replace::dropped_dependents(conn, &target.spec, &clean).await?)
        } else {
            None
        };
        Ok(TargetState {
            target_objects,
            existing,
            selected,
            clean,
            rows_only,
            dependents,
            clean_phase_runs,
        })
    }
}

/// The target is not empty and `--replace` was not given.
fn not_empty_blocker(existing: &[String], selected: bool, target: &RestoreTarget) -> String {
    if selected {
        format!(
            "the target already has {} of the selected objects ({}): replace them, or choose \
             another database{DETAILS}on the command line, --replace",
            existing.len(),
            existing
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!(
            "the target database {} is not empty ({} objects): replace what it holds, or \
             choose another database{DETAILS}on the command line, --replace",
            target.spec.database,
            existing.len()
        )
    }
}

/// What is left out, what replacing keeps, and what it drops along with what it replaces.
fn replace_findings(
    decisions: &script::Decisions,
    replacing: bool,
    opts: &RestoreOptions,
    // What replacing keeps of the target, the backup's own objects (the platform's) first: their
    // number.
    (will_keep, platform_kept): (&[String], usize),
    dependents: Option<&std::result::Result<replace::Dependents, String>>,
    blockers: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    if !decisions.left_out.is_empty() {
        warnings.push(format!(
            "{} will not be restored: {}",
            crate::words::count(decisions.left_out.len(), "object"),
            decisions.left_out.join("; ")
        ));
    }
    if replacing && opts.no_safety_backup {
        warnings.push(
            "no safety backup will be taken: replaced objects cannot be recovered by Offsite"
                .into(),
        );
    }
    // The backup's objects kept as the target has them come first (see `will_lists`).
    let (platform, others) = will_keep.split_at(platform_kept.min(will_keep.len()));
    if replacing && !platform.is_empty() {
        warnings.push(format!(
            "{} of the backup {} kept as the target has {}, not replaced: {}",
            crate::words::count(platform.len(), "object"),
            if platform.len() == 1 { "is" } else { "are" },
            if platform.len() == 1 { "it" } else { "them" },
            platform.join("; ")
        ));
    }
    if replacing && !others.is_empty() {
        warnings.push(format!(
            "{} in the target {} not in the backup and will be kept",
            match others.len() {
                1 => "1 table, view or function".to_string(),
                n => format!("{n} tables, views or functions"),
            },
            if others.len() == 1 { "is" } else { "are" }
        ));
    }
    match dependents {
        Some(Ok(gone)) if !gone.described.is_empty() => warnings.push(format!(
            "{} in the target {} not in the backup but {} on objects it replaces, and will be dropped with them: {}",
            crate::words::count(gone.described.len(), "object"),
            if gone.described.len() == 1 { "is" } else { "are" },
            if gone.described.len() == 1 { "depends" } else { "depend" },
            gone.described.join("; ")
        )),
        Some(Err(why)) => blockers.push(format!(
            "dropping the objects the backup replaces fails in the target: {why}"
        )),
        _ => {}
    }
}

/// The tool that restores (psql for a plain SQL dump, else pg_restore): its path and version.
fn restoring_tool(tools: &crate::postgres::tools::PgTools, plain: bool) -> (String, String) {
    let (path, name) = if plain {
        (tools.psql(), "psql")
    } else {
        (tools.pg_restore(), "pg_restore")
    };
    (
        path.display().to_string(),
        tools.version_line.replacen("pg_dump", name, 1),
    )
}

/// The backup's tables, as the plan lists them.
fn backup_tables(toc: &toc::FullToc) -> Vec<BackupTable> {
    toc.items
        .iter()
        .filter(|i| i.desc == "TABLE")
        .map(|i| BackupTable {
            schema: i.schema.clone(),
            table: i.tag.clone(),
        })
        .collect()
}

/// How many rows the restore loads (of the selected tables; none for definitions only).
fn rows_restored(
    manifest: &Manifest,
    selected: Option<&select::Selected>,
    what: SelectWhat,
) -> u64 {
    match selected {
        None => manifest.tables.iter().map(|t| t.rows).sum(),
        Some(_) if what == SelectWhat::Schema => 0,
        Some(s) => manifest
            .tables
            .iter()
            .filter(|t| s.tables.contains(&(t.schema.clone(), t.table.clone())))
            .map(|t| t.rows)
            .sum(),
    }
}

/// What the restore replaces (and how many of those are tables), creates and keeps of the
/// target's tables, views and functions (what the clean phase's `CASCADE` takes along,
/// `dropped`, is not kept), as the selection changes them.
fn will_lists(
    clean: replace::CleanPhase,
    dropped: &BTreeSet<String>,
    selected: Option<&select::Selected>,
    opts: &RestoreOptions,
) -> (Vec<String>, u64, Vec<String>, Vec<String>, usize) {
    let replace::CleanPhase {
        replaced: mut will_replace,
        replaced_tables,
        created: mut will_create,
        kept,
        platform,
        ..
    } = clean;
    // What CASCADE takes along is not kept: the warning lists it. The backup's objects the
    // target keeps as it has them (the platform's) come first, each with why.
    let platform_kept = platform.len();
    let mut will_keep: Vec<String> = platform
        .into_iter()
        .chain(kept.into_iter().filter(|(key, _)| !dropped.contains(key)))
        .map(|(_, label)| label)
        .collect();
    if let Some(sel) = selected {
        if let Some(side) = &opts.selection.into_schema {
            // Everything is new, under the side schema; nothing of the target is touched.
            let from = sel.from_schema.clone().unwrap_or_default();
            will_create = will_create
                .into_iter()
                .chain(will_replace.drain(..))
                .map(|l| l.replacen(&format!("{from}."), &format!("{side}."), 1))
                .collect();
            will_create.sort();
            will_keep.clear();
        } else if opts.selection.what == SelectWhat::Data {
            // Rows only: no definition is created or replaced.
            will_create.clear();
            will_replace.clear();
            will_keep.clear();
        }
    }
    let platform_kept = platform_kept.min(will_keep.len());
    // A selection into a side schema, or of rows only, replaces nothing (emptied above).
    let tables = replaced_tables * u64::from(!will_replace.is_empty());
    (will_replace, tables, will_create, will_keep, platform_kept)
}

/// The archive's manifest and globals.sql, and whether its database is plain SQL; an archive
/// without a database, or a selection of a plain SQL dump, is refused.
async fn read_archive(
    archive_path: &Path,
    opts: &RestoreOptions,
) -> Result<(Manifest, Option<String>, bool)> {
    let (manifest, globals) = {
        let p = archive_path.to_path_buf();
        tokio::task::spawn_blocking(move || -> Result<(Manifest, Option<String>)> {
            let m = archive::read_manifest(&p)?;
            let globals = if let Some(entry) = m.member(GLOBALS_MEMBER) {
                // Behind the whole database in the archive: reached by random access (3b).
                let mut buf = Vec::new();
                super::member::copy_checked(
                    &p,
                    entry,
                    archive::MAX_SMALL_DOC,
                    &mut buf,
                    &CancellationToken::new(),
                )?;
                Some(String::from_utf8_lossy(&buf).into_owned())
            } else {
                None
            };
            Ok((m, globals))
        })
        .await
        .map_err(join_err)??
    };
    let directory = super::dir::is_directory(&manifest);
    let plain = manifest.member(DATABASE_MEMBER).is_none()
        && !directory
        && manifest.member(DATABASE_SQL_MEMBER).is_some();
    if manifest.member(DATABASE_MEMBER).is_none() && !plain && !directory {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            "this archive holds no database.dump",
        )
        .with_hint("choose a database or full backup"));
    }
    if plain && !opts.selection.is_whole() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "this backup is a plain SQL dump: choosing schemas or tables to restore is not available for it",
        )
        .with_hint("restore the whole backup (without a selection)"));
    }
    Ok((manifest, globals, plain))
}

/// The backup's whole table of contents (from pg_restore, or the plain SQL's headers).
async fn read_toc(
    tools: &tools::PgTools,
    archive_path: &Path,
    plain: bool,
    directory: bool,
) -> Result<toc::FullToc> {
    let toc = {
        let (tools, p) = (tools.clone(), archive_path.to_path_buf());
        tokio::task::spawn_blocking(move || {
            if plain {
                plain::read_toc(&p)
            } else {
                toc::read(&tools, &p, directory)
            }
        })
        .await
        .map_err(join_err)??
    };
    Ok(toc)
}

/// Restoring rows only into the selected tables: those that hold rows (emptied first), their
/// enabled triggers (disabled for the load), and the tables the target lacks (blockers).
#[derive(Default)]
struct RowsOnly {
    with_rows: Vec<String>,
    truncate: Vec<String>,
    trigger_off: Vec<String>,
    trigger_on: Vec<String>,
    blockers: Vec<String>,
    /// The tables the target has, parents first (`rows_order`).
    order: Vec<(String, String)>,
}

impl RowsOnly {
    async fn read(
        conn: &mut sqlx::PgConnection,
        spec: &crate::postgres::conn::ConnSpec,
        sel: &select::Selected,
    ) -> Result<RowsOnly> {
        let mut r = RowsOnly::default();
        let mut present = Vec::new();
        for (s, t) in &sel.tables {
            let q = format!(
                "SELECT EXISTS (SELECT 1 FROM {}.{})",
                quote_ident(s),
                quote_ident(t)
            );
            match sqlx::query_scalar::<_, bool>(&q).fetch_one(&mut *conn).await {
                Ok(has_rows) => {
                    present.push((s.clone(), t.clone()));
                    let table = format!("{}.{}", quote_ident(s), quote_ident(t));
                    if has_rows {
                        r.with_rows.push(format!("{s}.{t}"));
                        r.truncate.push(table.clone());
                    }
                    // Loading rows is not a change the table's own triggers should see.
                    let triggers: Vec<String> = sqlx::query_scalar(
                        "SELECT tgname::text FROM pg_trigger
                          WHERE tgrelid = $1::regclass AND NOT tgisinternal AND tgenabled = 'O'",
                    )
                    .bind(&table)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(|e| spec.map_sqlx(e))?;
                    for tg in triggers {
                        r.trigger_off.push(format!("ALTER TABLE {table} DISABLE TRIGGER {};", quote_ident(&tg)));
                        r.trigger_on.push(format!("ALTER TABLE {table} ENABLE TRIGGER {};", quote_ident(&tg)));
                    }
                }
                Err(sqlx::Error::Database(_)) => r.blockers.push(format!(
                    "rows only go into existing tables: the target lacks {s}.{t} (restore its definition too)"
                )),
                Err(e) => return Err(spec.map_sqlx(e)),
            }
        }
        // One statement: a table another selected one references can only be emptied with it.
        if !r.truncate.is_empty() {
            r.truncate = vec![format!("TRUNCATE TABLE {};", r.truncate.join(", "))];
        }
        r.order = super::rows_order::read(conn, spec, &present).await?;
        Ok(r)
    }
}

/// A superuser restore of a backup from elsewhere, said in plain words: its functions run during
/// the restore (CHECK constraints, generated columns, domains while rows load) with the
/// connecting role's rights, which for a superuser include running programs and reading and
/// writing the server's files.
fn superuser_warning(facts: &script::TargetFacts, opts: &RestoreOptions) -> Option<String> {
    let origin = opts.untrusted_origin.as_deref()?;
    facts.superuser.then(|| {
        format!(
            "this backup {origin}, and {} is a superuser: the functions the backup defines run during the restore with a superuser's rights, which can run programs and read or write files on the database server; restore as a less privileged role (--as-role ROLE) unless you trust where the backup came from",
            facts.user
        )
    })
}

/// What the roles the backup needs stop, or warn of.
fn role_findings(
    role_plan: &roles::RolePlan,
    has_globals: bool,
    facts: &script::TargetFacts,
    opts: &RestoreOptions,
    blockers: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let missing_roles: Vec<String> = role_plan.create.iter().map(|r| r.name.clone()).collect();
    if !missing_roles.is_empty() && !opts.create_roles {
        blockers.push(format!(
            "the target server lacks roles the backup uses: {}; let the restore create them as \
             the backup describes them, or create them on the server first{DETAILS}on the \
             command line, --create-roles creates them; the backup's globals.sql lists them",
            missing_roles.join(", ")
        ));
    }
    if !missing_roles.is_empty() && opts.create_roles && !facts.superuser && !facts.createrole {
        blockers.push(format!(
            "{} may not create roles (it is neither a superuser nor has CREATEROLE); connect as a role that may, or create {} first",
            facts.user,
            missing_roles.join(", ")
        ));
    }
    if !missing_roles.is_empty() && !has_globals {
        warnings.push(
            "this backup holds no globals.sql: missing roles are created as plain NOLOGIN roles, without their attributes and memberships"
                .into(),
        );
    }
    let need_password: Vec<&str> = role_plan
        .create
        .iter()
        .filter(|r| r.needs_password)
        .map(|r| r.name.as_str())
        .collect();
    if opts.create_roles && !need_password.is_empty() {
        warnings.push(format!(
            "{} {} can log in but {} created without a password (backups never hold password hashes): set one after the restore, e.g. ALTER ROLE {} PASSWORD '…' (or \\password {} in psql)",
            if need_password.len() == 1 { "role" } else { "roles" },
            need_password.join(", "),
            if need_password.len() == 1 { "is" } else { "are" },
            quote_ident(need_password[0]),
            need_password[0]
        ));
    }
    let left_out_attrs: Vec<String> = role_plan
        .create
        .iter()
        .filter(|r| !r.left_out.is_empty())
        .map(|r| format!("{} without {}", r.name, r.left_out.join(", ")))
        .collect();
    if opts.create_roles && !left_out_attrs.is_empty() {
        warnings.push(format!(
            "{} is not a superuser, so some roles are created without attributes only a superuser can give: {}",
            facts.user,
            left_out_attrs.join("; ")
        ));
    }
}

/// Warnings about the backup itself: no row counts, a plain SQL dump, an older pg_restore.
fn backup_warnings(
    manifest: &Manifest,
    plain: bool,
    toc: &toc::FullToc,
    tools: &tools::PgTools,
    warnings: &mut Vec<String>,
) {
    if let Some(summary) = manifest.selection.as_ref().and_then(|s| s.summary()) {
        warnings.push(format!(
            "this is a {summary}: what it left out is not restored{DETAILS}tables kept without \
             their data are created empty; their row counts are not checked"
        ));
    }
    if manifest.tables.is_empty() && manifest.tables_note.is_some() {
        warnings.push(
            "row counts were not recorded in this backup (a database dump made outside Offsite): \
             the restored rows cannot be compared with them"
                .into(),
        );
    }
    if plain && toc.items.is_empty() {
        warnings.push(
            "the SQL dump has no pg_dump entry headers (-- Name: …; Type: …): the plan cannot say what it creates or replaces, and --replace drops nothing first"
                .into(),
        );
    }
    if plain {
        warnings.push(
            "this backup is a plain SQL dump: it is restored through psql in one transaction (the dump's own BEGIN/COMMIT left out); pg_dump recorded no dependencies between its objects, so what the plan says about them is less certain"
                .into(),
        );
    }
    if tools.major < manifest_dump_major(manifest).unwrap_or(0) {
        warnings.push(format!(
            "pg_restore {} is older than the pg_dump that wrote this backup; restoring may fail",
            tools.version()
        ));
    }
}

/// The plan's blocker for statements pg_dump never writes, without consent to them.
/// The statements pg_dump never writes among the entries that will run: an entry the plan leaves
/// out (a privilege on what the target's platform owns, kept as the target has it) never reaches
/// the server, so it asks for no consent.
pub(super) fn arbitrary_that_runs(
    toc: &super::toc::FullToc,
    skip: &std::collections::BTreeMap<usize, String>,
) -> crate::plainsql::classify::Findings {
    use crate::plainsql::classify::{Classifier, Findings};
    if toc.arbitrary.total == 0 || skip.is_empty() {
        return toc.arbitrary.clone();
    }
    let mut kept = String::new();
    for item in toc.items.iter().filter(|i| !skip.contains_key(&i.line)) {
        kept.push_str(&item.sql);
        kept.push('\n');
    }
    let mut found = toc.arbitrary_outside.clone();
    let within = Findings::of_script(kept.as_bytes(), Classifier::for_pg_restore());
    found.total += within.total;
    for f in within.first {
        if found.first.len() < Findings::KEEP {
            found.first.push(f);
        }
    }
    found
}

fn arbitrary_sql_blocker(
    found: &crate::plainsql::classify::Findings,
    allowed: bool,
) -> Option<String> {
    if found.is_empty() || allowed {
        return None;
    }
    Some(format!(
        "the backup's SQL holds {} pg_dump never writes (listed above): restoring {} needs --allow-arbitrary-sql",
        crate::words::plural(found.total, "statement"),
        if found.total == 1 { "it" } else { "them" }
    ))
}

fn manifest_dump_major(m: &Manifest) -> Option<u32> {
    m.versions
        .pg_dump
        .as_deref()
        .and_then(tools::parse_version)
        .map(|(major, _)| major)
}

/// Everything in a database that makes it "not empty": not the empty `public` schema, not
/// extensions and their members, not the schemas managed by others (`$1`), not a schema the
/// backup has too (`$2`: it is kept) — but every object in it; and, when the connecting role is
/// not a superuser (`$3` false), nothing owned by a role it cannot act for (the platform's).
const EXISTING_OBJECTS: &str = "
WITH ns AS (
  SELECT oid, nspname, nspowner FROM pg_namespace
   WHERE nspname NOT IN ('pg_catalog','information_schema') AND nspname NOT LIKE 'pg\\_%'
     AND nspname <> ALL($1::text[])
), ext AS (
  SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
)
SELECT d FROM (
  SELECT 'schema ' || quote_ident(nspname) AS d FROM ns
   WHERE nspname <> 'public' AND nspname <> ALL($2::text[])
     AND ($3 OR pg_has_role(nspowner, 'MEMBER'))
     AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_namespace'::regclass AND objid = ns.oid)
  UNION ALL
  SELECT CASE c.relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view '
                        WHEN 'f' THEN 'foreign table ' ELSE 'table ' END || format('%I.%I', n.nspname, c.relname)
    FROM pg_class c JOIN ns n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r','p','v','m','S','f') AND ($3 OR pg_has_role(c.relowner, 'MEMBER'))
     AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_class'::regclass AND objid = c.oid)
  UNION ALL
  SELECT 'function ' || format('%I.%I', n.nspname, p.proname) FROM pg_proc p JOIN ns n ON n.oid = p.pronamespace
   WHERE ($3 OR pg_has_role(p.proowner, 'MEMBER'))
     AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_proc'::regclass AND objid = p.oid)
  UNION ALL
  SELECT 'type ' || format('%I.%I', n.nspname, t.typname) FROM pg_type t JOIN ns n ON n.oid = t.typnamespace
   WHERE t.typtype IN ('e','d') AND ($3 OR pg_has_role(t.typowner, 'MEMBER'))
     AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_type'::regclass AND objid = t.oid)
  UNION ALL
  SELECT 'large object ' || oid::text FROM pg_largeobject_metadata
   WHERE ($3 OR pg_has_role(lomowner, 'MEMBER'))
) x ORDER BY 1 LIMIT 1000";
