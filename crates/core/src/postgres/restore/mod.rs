//! Restore: plan, then execute, then validate.
//!
//! The plan is computed without changing anything: what the target holds now, what the backup
//! will create or replace, which roles are missing, which pg_restore will run. The same plan
//! drives `offsite restore --dry-run` and the desktop wizard's review step.
//!
//! Execution streams `database.dump` from the archive into `pg_restore --single-transaction`, so
//! a failure rolls everything back. The last bytes of the stream are held back until the
//! member's SHA-256 has been checked: a corrupt archive is detected before pg_restore can commit.
//! Replacing a non-empty database needs explicit consent and takes a safety backup first.

mod plain;
pub(crate) mod replace;
mod roles;
mod script;
mod select;
pub(crate) mod toc;

pub use roles::RoleToCreate;
pub use script::{ManagedSchema, OwnedByOthers};
pub use select::{SelectWhat, Selection, SelectionPlan};

use crate::archive::{
    self, Manifest, TableCount, DATABASE_MEMBER, DATABASE_SQL_MEMBER, GLOBALS_MEMBER,
};
use crate::backup;
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::{server_info, ConnSpec};
use crate::postgres::process;
use crate::postgres::session::Target;
use crate::postgres::tools::{self, PgTools};
use crate::progress::{Phase, Reporter};
use crate::sources::{DatabaseSource, DumpOptions, PostgresSource};
use serde::Serialize;
use sqlx::{Connection, Row};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Where to restore to.
#[derive(Clone)]
pub struct RestoreTarget {
    pub spec: ConnSpec,
    pub password: Option<String>,
}

/// What the user consented to.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Allow restoring into a database that is not empty (objects in the backup are dropped and
    /// recreated; others are kept).
    pub replace: bool,
    /// Skip the safety backup of a non-empty target.
    pub no_safety_backup: bool,
    /// Create the roles the backup needs that the target server lacks, from its globals.sql:
    /// attributes (SUPERUSER, REPLICATION and BYPASSRLS only when the connecting role is a
    /// superuser) and memberships, without passwords; in the restore's transaction.
    pub create_roles: bool,
    /// Objects owned by roles the connecting role cannot act for are restored owned by the
    /// connecting role; what cannot change owner (policies, triggers on such tables, event
    /// triggers that need a superuser) is left out, listed in the plan.
    pub no_owner: bool,
    /// Configured location of pg_restore.
    pub pg_bin: Option<PathBuf>,
    /// Where safety backups go.
    pub safety_dir: PathBuf,
    /// Restore only these schemas or tables (empty: the whole backup).
    pub selection: Selection,
    /// Run the statements of the backup's SQL that pg_dump never writes (`COPY … FROM
    /// PROGRAM`, `ALTER SYSTEM`, `DO` blocks, …: the plan's `arbitrary_sql`). Without it a
    /// backup holding any is refused (`arbitrary_sql`).
    pub allow_arbitrary_sql: bool,
    /// The time of the safety backup comes from it (the engine sets its own clock; `None`: the
    /// system clock).
    pub clock: Option<crate::clock::SharedClock>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RestorePlan {
    pub archive: PathBuf,
    pub backup_id: String,
    pub project: String,
    pub created_at: String,
    pub source_server_version: Option<String>,
    /// The target, without any password.
    pub target: String,
    pub target_database: String,
    pub target_server_version: String,
    pub pg_restore: String,
    pub pg_restore_version: String,
    pub target_empty: bool,
    /// What the target holds now (first 200).
    pub existing: Vec<String>,
    /// Tables (partitioned parents and partitions included), views and functions of the backup
    /// that exist in the target and will be dropped and recreated: `schema.table` for tables,
    /// `view schema.name`, `function schema.name(argument types)` and the like for the others.
    pub will_replace: Vec<String>,
    /// Tables, views and functions of the backup that the target lacks (named as above).
    pub will_create: Vec<String>,
    /// Tables, views and functions of the target that are not in the backup and stay as they are
    /// (named as above). What the replace drops because it depends on replaced objects is not
    /// here but in a warning.
    pub will_keep: Vec<String>,
    /// Objects of the target that are not in the backup but depend on objects it replaces, so
    /// replacing drops them too: a view over a replaced table, a partition added since the
    /// backup, a column default or trigger using a replaced function, a foreign key into a
    /// replaced table.
    pub will_drop: Vec<String>,
    /// Roles the backup needs that the target server lacks (the roles its objects, grants and
    /// policies name, and the roles those are granted to).
    pub missing_roles: Vec<String>,
    /// What `--create-roles` creates for them (from the backup's globals.sql).
    pub roles_to_create: Vec<RoleToCreate>,
    /// The role the restore connects as, and whether it is a superuser.
    pub connecting_role: String,
    pub connecting_superuser: bool,
    /// Schemas of the target that other roles own (a Supabase project's `auth`, `storage`, …):
    /// their objects are kept, the backup's rows loaded into their empty tables, the backup's
    /// objects they lack added.
    pub managed_schemas: Vec<ManagedSchema>,
    /// Objects owned by roles the connecting role cannot act for.
    pub owned_by_others: Vec<OwnedByOthers>,
    /// Objects only a superuser can create (event triggers).
    pub superuser_only: Vec<String>,
    /// What will not be restored, and why (chosen with `no_owner`).
    pub left_out: Vec<String>,
    pub replace: bool,
    pub safety_backup: bool,
    pub create_roles: bool,
    pub no_owner: bool,
    /// What of the backup is restored, when not all of it.
    pub selection: Option<SelectionPlan>,
    /// Every table of the backup, to choose from.
    pub backup_tables: Vec<BackupTable>,
    /// Total rows the backup recorded.
    pub rows: u64,
    /// Why execution would refuse, if it would.
    pub blockers: Vec<String>,
    pub warnings: Vec<String>,
    /// Statements of the backup's SQL that pg_dump never writes (the first 100): what each
    /// does on the database server, and its start. Restoring them needs
    /// `allow_arbitrary_sql`.
    pub arbitrary_sql: Vec<crate::plainsql::classify::ArbitrarySql>,
    /// How many such statements there are in all.
    pub arbitrary_sql_total: u64,
    pub allow_arbitrary_sql: bool,
}

/// A table of the backup.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupTable {
    pub schema: String,
    pub table: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TableCheck {
    pub schema: String,
    pub table: String,
    pub expected: u64,
    pub actual: Option<u64>,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RestoreReport {
    pub plan: RestorePlan,
    /// All tables hold the rows the manifest recorded (vacuously true when none were recorded:
    /// see `rows_not_recorded`).
    pub ok: bool,
    /// Set when the backup recorded no row counts (an imported pg_dump file): says that nothing
    /// was compared, so the restore is not validated. Absent when the counts were compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub rows_not_recorded: Option<String>,
    pub duration_ms: u64,
    pub tables: Vec<TableCheck>,
    pub safety_backup: Option<PathBuf>,
}

/// A computed plan with what executing it needs.
pub struct Prepared {
    pub plan: RestorePlan,
    pub(crate) manifest: Manifest,
    pub(crate) tools: PgTools,
    pub(crate) toc: toc::FullToc,
    pub(crate) decisions: script::Decisions,
    pub(crate) superuser: bool,
    pub(crate) selected: Option<select::Selected>,
    /// Rows only, replacing: the selected tables that hold rows, emptied first.
    pub(crate) truncate: Vec<String>,
    /// Rows only: the tables' enabled triggers, disabled for the load and enabled after.
    pub(crate) triggers: (Vec<String>, Vec<String>),
    pub(crate) clean_phase_runs: bool,
    /// The backup's database is plain SQL (`database.sql`), restored through psql.
    pub(crate) plain: bool,
}

/// Compute the plan. Changes nothing.
pub async fn plan(
    archive_path: &Path,
    target: &RestoreTarget,
    opts: &RestoreOptions,
    reporter: &Reporter,
) -> Result<Prepared> {
    reporter.phase(Phase::Planning, None);
    let (manifest, globals) = {
        let p = archive_path.to_path_buf();
        tokio::task::spawn_blocking(move || -> Result<(Manifest, Option<String>)> {
            let m = archive::read_manifest(&p)?;
            let globals = if m.member(GLOBALS_MEMBER).is_some() {
                let buf = archive::read_document(
                    &p,
                    GLOBALS_MEMBER,
                    archive::MAX_SMALL_DOC,
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
    let plain = manifest.member(DATABASE_MEMBER).is_none()
        && manifest.member(DATABASE_SQL_MEMBER).is_some();
    if manifest.member(DATABASE_MEMBER).is_none() && !plain {
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
    let mut conn = target.spec.connect(target.password.as_deref()).await?;
    let info = server_info(&mut conn, &target.spec).await?;
    let tools = tools::find_for(info.major(), opts.pg_bin.as_deref())?;
    let toc = {
        let (tools, p) = (tools.clone(), archive_path.to_path_buf());
        tokio::task::spawn_blocking(move || {
            if plain {
                plain::read_toc(&p)
            } else {
                toc::read(&tools, &p)
            }
        })
        .await
        .map_err(join_err)??
    };
    let facts = script::read_facts(&mut conn, &target.spec, &toc).await?;
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
        .fetch_all(&mut conn)
        .await
        .map_err(|e| target.spec.map_sqlx(e))?
        .into_iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    let selected = if opts.selection.is_whole() {
        None
    } else {
        let names = select::read_names(&mut conn, &target.spec).await?;
        Some(select::select(&toc, &opts.selection, &names)?)
    };
    let what = opts.selection.what;
    let side = opts.selection.into_schema.is_some();
    // Outside the managed schemas (and within the selection), what replacing drops and
    // recreates.
    let mut outside: Vec<replace::TocEntry> = replace::entries_of(&toc, &facts.managed);
    if let Some(sel) = &selected {
        outside.retain(|e| sel.include.contains(&e.line));
    }
    let clean = replace::clean_phase(&mut conn, &target.spec, &outside).await?;
    let mut sel_blockers = Vec::new();
    let mut truncate = Vec::new();
    let (mut trigger_off, mut trigger_on) = (Vec::new(), Vec::new());
    if let Some(sel) = &selected {
        // Only the selected objects count: those the target has are replaced.
        existing = if side {
            Vec::new()
        } else if what == SelectWhat::Data {
            let mut with_rows = Vec::new();
            for (s, t) in &sel.tables {
                let q = format!(
                    "SELECT EXISTS (SELECT 1 FROM {}.{})",
                    quote_ident(s),
                    quote_ident(t)
                );
                match sqlx::query_scalar::<_, bool>(&q).fetch_one(&mut conn).await {
                    Ok(has_rows) => {
                        let table = format!("{}.{}", quote_ident(s), quote_ident(t));
                        if has_rows {
                            with_rows.push(format!("{s}.{t}"));
                            truncate.push(format!("TRUNCATE TABLE {table};"));
                        }
                        // Loading rows is not a change the table's own triggers should see.
                        let triggers: Vec<String> = sqlx::query_scalar(
                            "SELECT tgname::text FROM pg_trigger
                              WHERE tgrelid = $1::regclass AND NOT tgisinternal AND tgenabled = 'O'",
                        )
                        .bind(&table)
                        .fetch_all(&mut conn)
                        .await
                        .map_err(|e| target.spec.map_sqlx(e))?;
                        for tg in triggers {
                            trigger_off.push(format!("ALTER TABLE {table} DISABLE TRIGGER {};", quote_ident(&tg)));
                            trigger_on.push(format!("ALTER TABLE {table} ENABLE TRIGGER {};", quote_ident(&tg)));
                        }
                    }
                    Err(sqlx::Error::Database(_)) => sel_blockers.push(format!(
                        "rows only go into existing tables: the target lacks {s}.{t} (restore its definition too)"
                    )),
                    Err(e) => return Err(target.spec.map_sqlx(e)),
                }
            }
            with_rows
        } else {
            clean.replaced.clone()
        };
    }
    let target_empty = existing.is_empty();
    let replacing = opts.replace && !target_empty;
    let clean_phase_runs = replacing && !side && what != SelectWhat::Data;
    let dependents = if clean_phase_runs {
        Some(replace::dropped_dependents(&mut conn, &target.spec, &clean).await?)
    } else {
        None
    };
    let _ = conn.close().await;

    let globals = globals.as_deref().map(roles::parse_globals);
    let target_roles: BTreeSet<String> = facts.roles.keys().cloned().collect();
    let role_plan = roles::plan_roles(
        globals.as_ref(),
        &manifest.roles,
        &target_roles,
        facts.superuser,
    )?;
    let empty_roles = roles::RolePlan::default();
    let decisions = script::decide(
        &toc,
        &facts,
        if opts.create_roles {
            &role_plan
        } else {
            &empty_roles
        },
        opts.no_owner,
        clean_phase_runs,
        selected.as_ref().map(|s| &s.include),
    );

    let dropped = match &dependents {
        Some(Ok(d)) => d.keys.clone(),
        _ => BTreeSet::new(),
    };
    let replace::CleanPhase {
        replaced: mut will_replace,
        created: mut will_create,
        kept,
        ..
    } = clean;
    // What CASCADE takes along is not kept: the warning lists it.
    let mut will_keep: Vec<String> = kept
        .into_iter()
        .filter(|(key, _)| !dropped.contains(key))
        .map(|(_, label)| label)
        .collect();
    if let Some(sel) = &selected {
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
        } else if what == SelectWhat::Data {
            // Rows only: no definition is created or replaced.
            will_create.clear();
            will_replace.clear();
            will_keep.clear();
        }
    }

    let missing_roles: Vec<String> = role_plan.create.iter().map(|r| r.name.clone()).collect();
    let safety_backup = replacing && !opts.no_safety_backup;
    let mut blockers = Vec::new();
    let mut warnings = Vec::new();
    if !target_empty && !opts.replace {
        blockers.push(if selected.is_some() {
            format!(
                "the target already has {} of the selected objects ({}); restoring them needs --replace",
                existing.len(),
                existing.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            )
        } else {
            format!(
                "the target database {} is not empty ({} objects); restoring into it needs --replace",
                target.spec.database,
                existing.len()
            )
        });
    }
    blockers.extend(sel_blockers);
    if let Some(sel) = &selected {
        blockers.extend(sel.blockers.iter().cloned());
    }
    if !missing_roles.is_empty() && !opts.create_roles {
        blockers.push(format!(
            "the target server lacks roles the backup uses: {}; create them (see globals.sql) or pass --create-roles",
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
    if !missing_roles.is_empty() && globals.is_none() {
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
            "role(s) {} can log in but are created without a password (backups never hold password hashes): set one after the restore, e.g. ALTER ROLE {} PASSWORD '…' (or \\password {} in psql)",
            need_password.join(", "),
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
    blockers.extend(decisions.blockers.iter().cloned());
    warnings.extend(decisions.warnings.iter().cloned());
    if let Some(b) = arbitrary_sql_blocker(&toc.arbitrary, opts.allow_arbitrary_sql) {
        blockers.insert(0, b);
    }
    if !decisions.left_out.is_empty() {
        warnings.push(format!(
            "{} object(s) will not be restored: {}",
            decisions.left_out.len(),
            decisions.left_out.join("; ")
        ));
    }
    if replacing && opts.no_safety_backup {
        warnings.push(
            "no safety backup will be taken: replaced objects cannot be recovered by Offsite"
                .into(),
        );
    }
    if replacing && !will_keep.is_empty() {
        warnings.push(format!(
            "{} table(s), view(s) or function(s) in the target are not in the backup and will be kept",
            will_keep.len()
        ));
    }
    let will_drop = match &dependents {
        Some(Ok(d)) => d.described.clone(),
        _ => Vec::new(),
    };
    match dependents {
        Some(Ok(gone)) if !gone.described.is_empty() => warnings.push(format!(
            "{} object(s) in the target are not in the backup but depend on objects it replaces, and will be dropped with them: {}",
            gone.described.len(),
            gone.described.join("; ")
        )),
        Some(Err(why)) => blockers.push(format!(
            "dropping the objects the backup replaces fails in the target: {why}"
        )),
        _ => {}
    }
    if manifest.tables.is_empty() && manifest.tables_note.is_some() {
        warnings.push(
            "row counts were not recorded in this backup: the restore cannot be validated by comparing them"
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
    if tools.major < manifest_dump_major(&manifest).unwrap_or(0) {
        warnings.push(format!(
            "pg_restore {} is older than the pg_dump that wrote this backup; restoring may fail",
            tools.version()
        ));
    }
    let plan = RestorePlan {
        archive: archive_path.to_path_buf(),
        backup_id: manifest.backup_id.clone(),
        project: manifest.project.clone(),
        created_at: manifest.created_at.clone(),
        source_server_version: manifest.versions.server.clone(),
        target: target.spec.to_url(),
        target_database: target.spec.database.clone(),
        target_server_version: info.version.clone(),
        pg_restore: if plain {
            tools.psql().display().to_string()
        } else {
            tools.pg_restore().display().to_string()
        },
        pg_restore_version: tools.version_line.replacen(
            "pg_dump",
            if plain { "psql" } else { "pg_restore" },
            1,
        ),
        target_empty,
        existing: existing.into_iter().take(200).collect(),
        will_replace,
        will_create,
        will_keep,
        will_drop,
        missing_roles,
        roles_to_create: role_plan.create.clone(),
        connecting_role: facts.user.clone(),
        connecting_superuser: facts.superuser,
        managed_schemas: decisions.managed.clone(),
        owned_by_others: decisions.owned_by_others.clone(),
        superuser_only: decisions.superuser_only.clone(),
        left_out: decisions.left_out.clone(),
        replace: opts.replace,
        safety_backup,
        create_roles: opts.create_roles,
        no_owner: opts.no_owner,
        selection: selected.as_ref().map(|s| s.plan.clone()),
        backup_tables: toc
            .items
            .iter()
            .filter(|i| i.desc == "TABLE")
            .map(|i| BackupTable {
                schema: i.schema.clone(),
                table: i.tag.clone(),
            })
            .collect(),
        rows: match &selected {
            None => manifest.tables.iter().map(|t| t.rows).sum(),
            Some(_) if what == SelectWhat::Schema => 0,
            Some(s) => manifest
                .tables
                .iter()
                .filter(|t| s.tables.contains(&(t.schema.clone(), t.table.clone())))
                .map(|t| t.rows)
                .sum(),
        },
        blockers,
        warnings,
        arbitrary_sql: toc.arbitrary.first.clone(),
        arbitrary_sql_total: toc.arbitrary.total,
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
        truncate,
        triggers: (trigger_off, trigger_on),
        clean_phase_runs,
        plain,
    })
}

/// The plan's blocker for statements pg_dump never writes, without consent to them.
fn arbitrary_sql_blocker(
    found: &crate::plainsql::classify::Findings,
    allowed: bool,
) -> Option<String> {
    if found.is_empty() || allowed {
        return None;
    }
    Some(format!(
        "the backup's SQL holds {} statement(s) pg_dump never writes (listed above): restoring them needs --allow-arbitrary-sql",
        found.total
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

/// Execute a plan computed by [`plan`] with the same options.
pub async fn execute(
    prepared: Prepared,
    target: &RestoreTarget,
    opts: &RestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<RestoreReport> {
    let Prepared {
        plan,
        manifest,
        tools,
        toc,
        decisions,
        superuser,
        selected,
        truncate,
        triggers,
        clean_phase_runs,
        plain,
    } = prepared;
    let started = Instant::now();
    // Statements pg_dump never writes, without consent: refused before anything else.
    if !toc.arbitrary.is_empty() && !opts.allow_arbitrary_sql {
        return Err(toc.arbitrary.refusal());
    }
    if let Some(first) = plan.blockers.first() {
        let permission =
            (!plan.owned_by_others.is_empty() || !plan.superuser_only.is_empty()) && !opts.no_owner;
        let (kind, hint) = if permission {
            (
                ErrorKind::Permission,
                format!(
                    "this is about the target's permissions: {} cannot create or own everything the backup holds; connect to the target as a superuser, or run again with --no-owner to restore those objects owned by {} (see the plan with --dry-run)",
                    plan.connecting_role, plan.connecting_role
                ),
            )
        } else if !plan.target_empty && !opts.replace {
            (
                ErrorKind::NeedsConsent,
                "review with --dry-run, then run again with --replace (a safety backup is taken first)".to_string(),
            )
        } else if !plan.missing_roles.is_empty() && !plan.create_roles {
            (
                ErrorKind::InvalidInput,
                "review the plan with --dry-run; create the missing roles, or run again with --create-roles".to_string(),
            )
        } else {
            (
                ErrorKind::InvalidInput,
                "nothing was changed; the plan (--dry-run) lists what stops the restore"
                    .to_string(),
            )
        };
        let message = if plan.blockers.len() > 1 {
            format!(
                "{first} (and {} more problem(s): see --dry-run)",
                plan.blockers.len() - 1
            )
        } else {
            first.clone()
        };
        return Err(Error::new(kind, message).with_hint(hint));
    }

    let safety_backup = if plan.safety_backup {
        reporter.phase(Phase::SafetyBackup, None);
        let source = PostgresSource::new(
            target.spec.clone(),
            target.password.clone(),
            opts.pg_bin.clone(),
        );
        let dump_opts = DumpOptions {
            project: format!("safety-{}", sanitize(&target.spec.database)),
            dest_dir: opts.safety_dir.clone(),
            compression_level: backup::DEFAULT_COMPRESSION_LEVEL,
            backup_id: uuid::Uuid::new_v4().to_string(),
            created_at: opts
                .clock
                .as_ref()
                .map_or_else(time::OffsetDateTime::now_utc, |c| c.now()),
        };
        let written = source
            .dump(&dump_opts, &Reporter::silent(), cancel)
            .await
            .map_err(|e| {
                e.context("the safety backup of the target failed, so nothing was restored")
            })?;
        Some(written.path)
    } else {
        None
    };

    reporter.phase(
        Phase::Restoring,
        manifest
            .member(if plain {
                DATABASE_SQL_MEMBER
            } else {
                DATABASE_MEMBER
            })
            .map(|m| m.size),
    );
    let replacing = clean_phase_runs;
    let restore_result = {
        let (tools, spec, pw, path) = (
            tools.clone(),
            target.spec.clone(),
            target.password.clone(),
            plan.archive.clone(),
        );
        let (reporter, cancel) = (reporter.clone(), cancel.clone());
        if plain || replacing || decisions.needs_script() || selected.is_some() {
            let mut skip = decisions.skip.clone();
            let mut script = replace::Script {
                before: decisions.preamble.clone(),
                after: decisions.postamble.clone(),
                drop_owner_of: decisions.drop_owner_of.clone(),
            };
            if let Some(sel) = &selected {
                script.before.splice(0..0, sel.before.iter().cloned());
                script.after.extend(sel.after.iter().cloned());
            }
            if opts.replace {
                script.before.extend(truncate.iter().cloned());
            }
            script.before.extend(triggers.0.iter().cloned());
            script.after.extend(triggers.1.iter().cloned());
            if replacing {
                // The clean phase as the target is now (the plan may be a while old).
                let mut conn = spec.connect(pw.as_deref()).await?;
                let managed: BTreeSet<String> = plan
                    .managed_schemas
                    .iter()
                    .map(|m| m.schema.clone())
                    .collect();
                let mut outside = replace::entries_of(&toc, &managed);
                if let Some(sel) = &selected {
                    outside.retain(|e| sel.include.contains(&e.line));
                }
                let clean = replace::clean_phase(&mut conn, &spec, &outside).await?;
                let _ = conn.close().await;
                for line in &clean.skip_lines {
                    skip.entry(*line)
                        .or_insert_with(|| "the target already has this schema".into());
                }
                script.before.extend(clean.drops.iter().cloned());
                if superuser {
                    script.before.extend(clean.after.iter().cloned());
                }
            }
            if plain {
                let skip: BTreeSet<usize> = skip.keys().copied().collect();
                let allow_arbitrary = opts.allow_arbitrary_sql;
                tokio::task::spawn_blocking(move || {
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
                .map_err(join_err)?
            } else {
                let list = script::build_list(&toc.list, &skip);
                tokio::task::spawn_blocking(move || {
                    replace::run(
                        &Target {
                            tools: &tools,
                            spec: &spec,
                            password: pw.as_deref(),
                        },
                        &path,
                        &script,
                        &list,
                        &reporter,
                        &cancel,
                    )
                })
                .await
                .map_err(join_err)?
            }
        } else {
            tokio::task::spawn_blocking(move || {
                run_pg_restore(&tools, &spec, pw.as_deref(), &path, &reporter, &cancel)
            })
            .await
            .map_err(join_err)?
        }
    };
    if let Err(e) = restore_result {
        if e.kind() == ErrorKind::Cancelled {
            return Err(Error::cancelled()
                .with_hint("the restore was rolled back; the target is unchanged"));
        }
        let back = match &safety_backup {
            Some(p) => format!("; the safety backup is at {}", p.display()),
            None => String::new(),
        };
        let cause = if e.kind() == ErrorKind::Permission {
            format!(
                "The target refused a privilege {} lacks there: connect as a superuser, or run again with --no-owner to restore objects of roles it cannot act for as its own.",
                plan.connecting_role
            )
        } else {
            e.hint().unwrap_or("").to_string()
        };
        let hint = format!(
            "the restore ran in one transaction and was rolled back, so the target is unchanged{back}. {cause}"
        );
        return Err(
            Error::new(e.kind(), format!("restore failed: {}", e.message()))
                .with_hint(hint.trim().to_string()),
        );
    }

    reporter.phase(Phase::Validating, None);
    let mut expected = manifest.tables.clone();
    // Managed tables whose target rows were kept are not compared.
    let kept: BTreeSet<String> = plan
        .managed_schemas
        .iter()
        .flat_map(|m| m.kept_rows.iter())
        .filter_map(|k| k.split(" (").next().map(str::to_string))
        .collect();
    expected.retain(|t| !kept.contains(&format!("{}.{}", t.schema, t.table)));
    if let Some(sel) = &selected {
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
    let tables = validate(target, &expected).await?;
    let ok = tables.iter().all(|t| t.ok);
    let rows_recorded = !manifest.tables.is_empty() || manifest.tables_note.is_none();
    let rows_not_recorded = (!rows_recorded).then(|| {
        "row counts not recorded: this backup holds no row counts to compare, so the restored data was not validated".to_string()
    });
    Ok(RestoreReport {
        plan,
        ok,
        rows_not_recorded,
        duration_ms: started.elapsed().as_millis() as u64,
        tables,
        safety_backup,
    })
}

/// Compare row counts in the target with those the manifest recorded.
pub async fn validate(target: &RestoreTarget, expected: &[TableCount]) -> Result<Vec<TableCheck>> {
    let mut conn = target.spec.connect(target.password.as_deref()).await?;
    let mut out = Vec::with_capacity(expected.len());
    for t in expected {
        let q = format!(
            "SELECT count(*) FROM {}.{}",
            quote_ident(&t.schema),
            quote_ident(&t.table)
        );
        let actual = match sqlx::query_scalar::<_, i64>(&q).fetch_one(&mut conn).await {
            Ok(n) => Some(n as u64),
            Err(sqlx::Error::Database(_)) => None, // missing table
            Err(e) => return Err(target.spec.map_sqlx(e)),
        };
        out.push(TableCheck {
            schema: t.schema.clone(),
            table: t.table.clone(),
            expected: t.rows,
            actual,
            ok: actual == Some(t.rows),
        });
    }
    let _ = conn.close().await;
    Ok(out)
}

fn run_pg_restore(
    tools: &PgTools,
    spec: &ConnSpec,
    password: Option<&str>,
    archive_path: &Path,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<()> {
    let mut cmd = process::command(&tools.pg_restore(), spec, password);
    cmd.args(["--single-transaction", "--exit-on-error", "--no-password"])
        .arg(format!("--dbname={}", spec.dbname_conninfo()));
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
struct HoldBack<W: Write> {
    inner: Option<W>,
    held: Vec<u8>,
    keep: usize,
    /// The consumer may stop reading before the end (pg_restore with a list that needs only the
    /// start of the dump): the rest is then read and checked but goes nowhere.
    consumer_may_stop: bool,
    stopped: bool,
}

impl<W: Write> HoldBack<W> {
    fn new(inner: W, keep: usize) -> Self {
        HoldBack {
            inner: Some(inner),
            held: Vec::with_capacity(keep * 2),
            keep,
            consumer_may_stop: false,
            stopped: false,
        }
    }
    /// Write the held bytes and close the stream.
    fn release(&mut self) -> std::io::Result<()> {
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

pub(crate) fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn join_err(e: tokio::task::JoinError) -> Error {
    Error::internal(format!("worker task failed: {e}"))
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

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
