//! Wrapping a dump into an archive: a pg_dump file, a project export's dump (from a folder or a
//! tarball) or a plain SQL dump becomes an ordinary Offsite archive of type database, with the
//! dump header's versions and no row counts. A project export's storage objects and
//! configuration documents go in too, laid out as a full backup's (type full).

use super::export::pack_parts;
use super::{
    copy_with, read_tar_member, walk_tar, DumpHeader, DumpSource, ImportPreview, Inspected,
    MAX_GLOBALS, PLAIN_TABLES_NOT_RECORDED, TABLES_NOT_RECORDED,
};
use crate::archive::{
    ArchiveWriter, BackupType, Manifest, SourceInfo, Versions, Written, DATABASE_MEMBER,
    DATABASE_SQL_MEMBER, FORMAT_VERSION, GLOBALS_MEMBER,
};
use crate::error::{Error, Result};
use crate::plainsql::scan as plain_scan;
use crate::progress::{Phase, Reporter};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// Packs the dump of `inspected` (a pg_dump file or an export) into a new Offsite archive of
/// `project` in `dest_dir`, compressed with `compression` (`.tar.zst` or `.tar.gz`):
/// `database.dump`, `globals.sql` when the export has one, and a manifest of type database with
/// the dump header's versions and no row counts (see [`TABLES_NOT_RECORDED`]), made at the
/// dump's own time (`now` when it has none). On failure nothing of it is left in `dest_dir`.
pub(crate) fn wrap_dump(
    inspected: &Inspected,
    project: &str,
    dest_dir: &Path,
    compression: crate::archive::Compression,
    now: OffsetDateTime,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Written> {
    let preview = &inspected.preview;
    let header = preview.dump.clone().unwrap_or_default();
    let created = header
        .created_at
        .as_deref()
        .and_then(|s| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
        .unwrap_or(now);
    let backup_type = preview.backup_type;
    let mut writer = new_writer(project, dest_dir, compression, created, backup_type)?;
    // Reading the dump in (the writer then reports its own packing).
    let plain = matches!(inspected.dump, Some(DumpSource::Plain { .. }));
    // A plain SQL file counts its (uncompressed) SQL, read through the splitter.
    reporter.phase(
        Phase::Packing,
        Some(match &preview.plain {
            Some(p) if plain => p.sql_bytes,
            _ => preview.size,
        }),
    );
    let mut spool = writer.spool(if plain {
        DATABASE_SQL_MEMBER
    } else {
        DATABASE_MEMBER
    })?;
    let (globals, roles) = match inspected.dump.as_ref() {
        Some(DumpSource::Plain { connects, file }) => {
            let from = file.as_deref().unwrap_or(inspected.read_path());
            let (g, roles) = spool_plain(inspected, from, *connects, &mut spool, reporter, cancel)?;
            // An export's roles file, when the SQL itself brings none.
            match g {
                Some(g) => (Some(g), roles),
                None => (export_globals(inspected, cancel)?, roles),
            }
        }
        Some(DumpSource::File(p)) => (
            spool_file(inspected, p, &mut spool, reporter, cancel)?,
            Vec::new(),
        ),
        Some(DumpSource::Tar { dump, globals }) => (
            spool_tar(
                inspected,
                dump,
                globals.as_deref(),
                &mut spool,
                reporter,
                cancel,
            )?,
            Vec::new(),
        ),
        None => return Err(Error::internal("not a dump to wrap")),
    };
    let spooled = spool.finish()?;
    writer.add_spooled(spooled);
    let has_globals = globals.is_some();
    if let Some(g) = globals {
        writer.add_bytes(GLOBALS_MEMBER, g);
    }
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    let packed = match &inspected.export {
        Some(layout) if backup_type == BackupType::Full => {
            let at = created
                .format(&time::format_description::well_known::Rfc3339)
                .expect("rfc3339");
            Some(pack_parts(
                layout,
                inspected.read_path(),
                &mut writer,
                &at,
                reporter,
                cancel,
            )?)
        }
        _ => None,
    };
    let mut manifest = manifest_of(
        project,
        preview,
        &header,
        created,
        roles,
        has_globals,
        plain,
    );
    manifest.tenant = inspected.tenant.clone();
    if !inspected.tenant_tables.is_empty() {
        manifest.tables = inspected.tenant_tables.clone();
        manifest.tables_note = None;
    }
    if let Some(p) = packed {
        manifest.backup_type = backup_type;
        if let Some((counts, count)) = p.storage {
            manifest.storage = Some(counts);
            manifest.counts.insert("storage".into(), count);
        }
        if !p.config.is_empty() {
            // The new archive is written in the clear (encrypted afterwards when the project
            // encrypts): its configuration is redacted, as in every unencrypted archive.
            let cfg = crate::backup::ConfigInput {
                files: p.config,
                redactions: Vec::new(),
            };
            crate::backup::add_config(&mut writer, &mut manifest, cfg, false);
        }
    }
    writer.finish(manifest, reporter, cancel)
}

/// A writer for a new archive named for `project` at `created` (a second later while a file of
/// that name exists).
fn new_writer(
    project: &str,
    dest_dir: &Path,
    compression: crate::archive::Compression,
    created: OffsetDateTime,
    backup_type: BackupType,
) -> Result<ArchiveWriter> {
    let mut at = created;
    loop {
        let name = crate::backup::archive_file_name_for(project, at, backup_type, compression);
        if !dest_dir.join(&name).exists() {
            return ArchiveWriter::create_with(dest_dir, &name, compression);
        }
        at += time::Duration::seconds(1);
    }
}

/// A plain SQL dump's one database into `spool`; the roles of a pg_dumpall file as
/// `globals.sql` (without passwords) and their names.
fn spool_plain(
    inspected: &Inspected,
    from: &Path,
    connects: bool,
    spool: &mut impl Write,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<(Option<Vec<u8>>, Vec<String>)> {
    let preview = &inspected.preview;
    let database = match (connects, inspected.database.as_deref()) {
        (false, _) => None,
        (true, Some(d)) => Some(d),
        (true, None) => {
            return Err(plain_scan::choose_database_error(
                preview
                    .plain
                    .as_ref()
                    .map(|p| p.databases.as_slice())
                    .unwrap_or(&[]),
                None,
            ))
        }
    };
    let mut g = Vec::new();
    let ex = plain_scan::extract(
        from,
        database,
        spool,
        Some(&mut g),
        &mut |n| reporter.advance(n),
        cancel,
    )?;
    let globals = (!g.is_empty()).then(|| {
        let mut text = b"--\n-- Roles (from a pg_dumpall file, without passwords)\n--\n\n".to_vec();
        text.extend_from_slice(&g);
        text
    });
    Ok((globals, ex.roles))
}

/// The roles file of an export whose dump is plain SQL: from its folder, or its tarball.
fn export_globals(inspected: &Inspected, cancel: &CancellationToken) -> Result<Option<Vec<u8>>> {
    if let Some(g) = &inspected.globals_file {
        let md =
            std::fs::metadata(g).map_err(|e| Error::io(format!("reading {}", g.display()), e))?;
        if md.len() > MAX_GLOBALS {
            return Err(Error::invalid(format!(
                "{} is larger than 64 MiB",
                g.display()
            )));
        }
        return std::fs::read(g)
            .map(Some)
            .map_err(|e| Error::io(format!("reading {}", g.display()), e));
    }
    match inspected.export.as_ref().and_then(|l| l.globals.as_deref()) {
        Some(member) => read_tar_member(inspected.read_path(), member, cancel),
        None => Ok(None),
    }
}

/// A pg_dump file (or an export folder's `database.dump`) into `spool`; the folder's
/// `globals.sql`, if any.
fn spool_file(
    inspected: &Inspected,
    p: &Path,
    spool: &mut impl Write,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Option<Vec<u8>>> {
    let mut f = File::open(p).map_err(|e| Error::io(format!("opening {}", p.display()), e))?;
    copy_with(&mut f, spool, cancel, Some(reporter), DATABASE_MEMBER)?;
    let Some(g) = &inspected.globals_file else {
        return Ok(None);
    };
    let md = std::fs::metadata(g).map_err(|e| Error::io(format!("reading {}", g.display()), e))?;
    if md.len() > MAX_GLOBALS {
        return Err(Error::invalid(format!(
            "{} is larger than 64 MiB",
            g.display()
        )));
    }
    Ok(Some(std::fs::read(g).map_err(|e| {
        Error::io(format!("reading {}", g.display()), e)
    })?))
}

/// An export tarball's dump into `spool`; its roles file (`globals`), if any.
fn spool_tar(
    inspected: &Inspected,
    member: &str,
    globals: Option<&str>,
    spool: &mut impl Write,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Option<Vec<u8>>> {
    let preview = &inspected.preview;
    let mut found = false;
    walk_tar(inspected.read_path(), cancel, |f, r| {
        if f.name != member || found {
            return Ok(());
        }
        found = true;
        copy_with(r, spool, cancel, Some(reporter), DATABASE_MEMBER).map(|_| ())
    })?;
    if !found {
        return Err(Error::integrity(format!(
            "{} no longer holds {member}",
            preview.path.display()
        )));
    }
    let Some(globals) = globals else {
        return Ok(None);
    };
    read_tar_member(inspected.read_path(), globals, cancel)
}

/// The manifest of a wrapped dump: type database, the header's versions, no row counts.
fn manifest_of(
    project: &str,
    preview: &ImportPreview,
    header: &DumpHeader,
    created: OffsetDateTime,
    roles: Vec<String>,
    has_globals: bool,
    plain: bool,
) -> Manifest {
    Manifest {
        format_version: FORMAT_VERSION,
        backup_id: uuid::Uuid::new_v4().to_string(),
        project: project.to_string(),
        backup_type: BackupType::Database,
        created_at: created
            .format(&time::format_description::well_known::Rfc3339)
            .expect("rfc3339"),
        versions: Versions {
            tool: crate::version::tool_version(),
            server: header.server_version.clone(),
            pg_dump: header
                .pg_dump_version
                .as_ref()
                .map(|v| format!("pg_dump (PostgreSQL) {v}")),
        },
        source: SourceInfo {
            database: header.database.clone(),
            ..Default::default()
        },
        members: Vec::new(),
        components: BTreeMap::new(),
        tables: Vec::new(),
        roles,
        globals_note: (!has_globals).then(|| {
            if plain {
                "roles and grants were not saved: the imported SQL dump holds no roles (only a pg_dumpall file does)"
                    .to_string()
            } else {
                "roles and grants were not saved: a pg_dump file holds no roles (only pg_dumpall saves them)"
                    .to_string()
            }
        }),
        tables_note: Some(
            if plain {
                PLAIN_TABLES_NOT_RECORDED
            } else {
                TABLES_NOT_RECORDED
            }
            .to_string(),
        ),
        // The tables the preview listed, so `inspect` lists them too.
        dump_tables: preview
            .tables
            .iter()
            .map(|t| match t.schema.as_str() {
                "" => t.table.clone(),
                s => format!("{s}.{}", t.table),
            })
            .collect(),
        counts: Default::default(),
        storage: None,
        redactions: Vec::new(),
        base_backup_id: None,
        encryption: None,
        content: None,
        dump: None,
        tenant: None,
        selection: None,
        census: None,
    }
}
