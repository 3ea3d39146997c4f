//! Importing a file the user dropped or opened: an Offsite archive, a plain `pg_dump`
//! custom-format file, a project export (the DESIGN.md layout without a valid
//! `metadata.json`, as a `.tar.gz` or a folder), or a plain SQL dump (`pg_dump` plain format or
//! `pg_dumpall` output, `.sql` or `.sql.gz`; see [`crate::plainsql`]).
//!
//! [`inspect`] only reads (a tarball's `database.dump` is extracted into a private temporary
//! folder to let `pg_restore -l` read its header). [`wrap_dump`] packs a dump into a proper
//! Offsite archive. The import job (`crate::ops::import`) ties them to a project, the catalog
//! and a job, and undoes everything on failure.

use crate::archive::{
    self, BackupType, Manifest, MemberEntry, SourceInfo, TableCount, DATABASE_MEMBER,
    GLOBALS_MEMBER,
};
use crate::error::{Error, ErrorKind, Result};
use crate::plainsql::scan::{self as plain_scan, looks_like_text, read_upto, PlainSqlInfo};
use crate::postgres::tools;

mod encrypted;
mod export;
mod plain;
mod wrap;
use crate::progress::Reporter;
pub use encrypted::{inspect_with_key, OPENSSL_UNAUTHENTICATED};
pub use export::{
    ConfigPart, ExportParts, NotImported, StorageBucketPart, StoragePart, MAX_CONFIG_BYTES,
    MAX_CONFIG_FILES,
};
use plain::inspect_plain;
pub use plain::PLAIN_TABLES_NOT_RECORDED;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;
pub(crate) use wrap::wrap_dump;

/// How much of a tarball's `database.dump` is extracted to read its header (`pg_restore -l`).
const DUMP_HEAD: u64 = 64 << 20;

/// Largest `globals.sql` taken from an export (it is held in memory).
const MAX_GLOBALS: u64 = 64 << 20;

/// The note an imported dump's manifest carries instead of row counts.
pub const TABLES_NOT_RECORDED: &str =
    "row counts were not recorded: this backup was imported from a database dump made outside Offsite, so a restore cannot compare them";

/// The preview's note on a dump made outside Offsite: it has not been imported yet (issue 64 item
/// 7: the preview said "this backup was imported" of a file it was only reading).
pub const PREVIEW_ROWS_NOT_RECORDED: &str =
    "a database dump made outside Offsite holds no row counts, so a restore of it cannot compare the rows it wrote with the source's";

/// What kind of file it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// An archive Offsite wrote (`metadata.json` first).
    OffsiteArchive,
    /// A plain `pg_dump -Fc` file.
    PgDump,
    /// A project export (`database.dump`, maybe `globals.sql`, `storage/`, `config/`; or
    /// `db/*.dump`, `storage/`, `config/`) as a tarball or a folder, without a valid
    /// `metadata.json`.
    ProjectExport,
    /// A plain SQL dump of one database (`pg_dump` plain format, or any psql script), `.sql` or
    /// `.sql.gz`.
    PlainSql,
    /// `pg_dumpall` output (roles and several databases), `.sql` or `.sql.gz`: one database is
    /// imported, with the roles.
    PgDumpall,
}

/// The header of a custom-format dump, as `pg_restore -l` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DumpHeader {
    /// "Archive created at …" as printed.
    pub created: Option<String>,
    /// The same, as RFC 3339 UTC when the printed zone is UTC.
    pub created_at: Option<String>,
    pub database: Option<String>,
    pub toc_entries: Option<u32>,
    /// The custom format's version, e.g. "1.15-0".
    pub dump_version: Option<String>,
    /// "Dumped from database version", e.g. "15.8".
    pub server_version: Option<String>,
    /// "Dumped by pg_dump version", e.g. "15.8".
    pub pg_dump_version: Option<String>,
    /// Tables whose data the dump holds (TABLE DATA entries).
    pub tables: Vec<String>,
}

/// What a dropped file holds, before anything is imported.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportPreview {
    pub path: PathBuf,
    pub kind: ImportKind,
    /// Size of the file (of the folder's `database.dump` for a folder).
    pub size: u64,
    /// The archive's project, or the dump's database name.
    pub project: Option<String>,
    /// What the backup holds (an imported dump becomes `database`).
    pub backup_type: BackupType,
    /// RFC 3339 when known.
    pub created_at: Option<String>,
    pub source: SourceInfo,
    pub server_version: Option<String>,
    pub pg_dump_version: Option<String>,
    /// Tables with their recorded row counts (an Offsite archive), or the dump's tables with
    /// `rows` 0 and `rows_recorded` false.
    pub tables: Vec<TableCount>,
    pub rows_recorded: bool,
    /// An Offsite archive's members, or the export's files (size/SHA-256 empty when unknown).
    pub members: Vec<MemberEntry>,
    /// The dump's header (pg_dump files and exports).
    pub dump: Option<DumpHeader>,
    pub has_globals: bool,
    /// Things worth saying before importing (parts that are not imported, …).
    pub notes: Vec<String>,
    /// A plain SQL dump's details (kinds `plain_sql` and `pg_dumpall`): its databases, roles, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub plain: Option<PlainSqlInfo>,
    /// A project export's parts: its dump, storage objects, configuration documents, and the
    /// files that are not imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub parts: Option<ExportParts>,
}

/// The error for anything that is not a recognised backup.
pub fn unsupported(path: &Path, why: &str) -> Error {
    Error::new(
        ErrorKind::UnsupportedFormat,
        format!(
            "not a backup Offsite can read: {}: {why}",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string())
        ),
    )
    .with_hint(
        "Offsite imports an Offsite archive (.tar.gz), a pg_dump file (custom format, or plain SQL as .sql or .sql.gz), pg_dumpall output, or a project export (a .tar.gz or folder holding database.dump)",
    )
}

/// Where the dump of a recognised non-Offsite source is.
#[derive(Debug, Clone)]
pub(crate) enum DumpSource {
    /// A pg_dump file, or a folder's database.dump.
    File(PathBuf),
    /// Members of an export tarball: the dump, and the roles file if any.
    Tar {
        dump: String,
        globals: Option<String>,
    },
    /// A plain SQL file (maybe gzip-compressed); `connects`: it holds `\connect` (one database
    /// of it is taken); `file`: where it is when it is not the file imported (an export's
    /// `db/*.sql`).
    Plain {
        connects: bool,
        file: Option<PathBuf>,
    },
}

/// What [`inspect`] found, with what the import needs.
pub(crate) struct Inspected {
    pub preview: ImportPreview,
    pub dump: Option<DumpSource>,
    /// A folder's globals.sql.
    pub globals_file: Option<PathBuf>,
    /// The database to take from a plain SQL file that holds several (`pg_dumpall`); checked
    /// by [`Inspected::choose_database`].
    pub database: Option<String>,
    /// The decrypted copy of an encrypted file (what the import reads; see
    /// [`Inspected::read_path`]), removed when this is dropped.
    pub plaintext: Option<encrypted::Decrypted>,
    /// A per-tenant backup's mark, written into the new archive's manifest.
    pub tenant: Option<crate::archive::TenantMark>,
    /// A per-tenant backup's tables with the rows its writer put in them: the manifest's
    /// `tables`, so restores and drills compare row counts (no content digests).
    pub tenant_tables: Vec<crate::archive::TableCount>,
    /// A project export's files: what is packed beside the dump (storage, configuration).
    pub export: Option<export::ExportLayout>,
}

/// Recognise `path` and describe it. Reads only; a tarball's `database.dump` is extracted into a
/// private temporary folder (removed before returning) for `pg_restore -l`.
pub fn inspect(path: &Path, pg_bin: Option<&Path>) -> Result<ImportPreview> {
    inspect_full(path, pg_bin).map(|i| i.preview)
}

pub(crate) fn inspect_full(path: &Path, pg_bin: Option<&Path>) -> Result<Inspected> {
    inspect_full_with(path, pg_bin, &[], None, &CancellationToken::new())
}

/// [`inspect_full`] with the passphrase or key of an encrypted file (decrypted into a private
/// temporary folder in `work`, or the system's; cancellable while it decrypts).
pub(crate) fn inspect_full_with(
    path: &Path,
    pg_bin: Option<&Path>,
    keys: &[crate::crypto::UserKey],
    work: Option<&Path>,
    cancel: &CancellationToken,
) -> Result<Inspected> {
    let md =
        std::fs::metadata(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    if md.is_dir() {
        return inspect_folder(path, pg_bin);
    }
    if !md.is_file() {
        return Err(unsupported(path, "not a regular file"));
    }
    if md.len() == 0 {
        return Err(unsupported(path, "the file is empty"));
    }
    let mut magic = [0u8; 8];
    let n = {
        let mut f =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        read_upto(&mut f, &mut magic)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
    };
    if n >= 8 && crate::archive::is_encrypted(path) {
        return encrypted::inspect_age(path, md.len(), pg_bin, keys, work, cancel);
    }
    if crate::crypto::openssl::is_openssl(&magic[..n]) {
        return encrypted::inspect_openssl(path, md.len(), pg_bin, keys, work, cancel);
    }
    let n = n.min(5);
    if n == 5 && &magic[..5] == b"PGDMP" {
        let header = read_dump_header(path, pg_bin)?;
        let preview = dump_preview(path, ImportKind::PgDump, md.len(), header, false, vec![]);
        return Ok(Inspected {
            preview,
            dump: Some(DumpSource::File(path.to_path_buf())),
            globals_file: None,
            database: None,
            plaintext: None,
            tenant: None,
            tenant_tables: Vec::new(),
            export: None,
        });
    }
    // An uncompressed tarball's first bytes are a file name: told by `ustar` before it could
    // pass for text.
    if is_plain_tar(path)? {
        return inspect_tarball(path, md.len(), pg_bin);
    }
    let magic = &magic[..n];
    let gzip = n >= 2 && magic[..2] == [0x1f, 0x8b];
    if (gzip || looks_like_text(magic)) && plain_scan::sniff(path)? {
        return inspect_plain(path, md.len());
    }
    // An Offsite archive (or a tarball) in gzip or zstd, told by its first bytes.
    let zstd = archive::codec::sniff(magic) == Some(archive::codec::Codec::Zstd);
    if gzip || zstd {
        match archive::read_manifest(path) {
            Ok(m) => {
                return Ok(Inspected {
                    preview: archive_preview(path, md.len(), m),
                    dump: None,
                    globals_file: None,
                    database: None,
                    plaintext: None,
                    tenant: None,
                    tenant_tables: Vec::new(),
                    export: None,
                })
            }
            Err(e) if e.kind() == ErrorKind::UnsupportedFormat && !is_newer_format(&e) => {}
            Err(e) => return Err(e),
        }
        return inspect_tarball(path, md.len(), pg_bin);
    }
    if looks_like_text(magic) {
        return Err(unsupported(
            path,
            "a text file that is not SQL (no pg_dump header, and it does not start with an SQL statement)",
        ));
    }
    Err(unsupported(path, "unknown file type"))
}

fn is_newer_format(e: &Error) -> bool {
    e.message().contains("uses archive format")
}

fn archive_preview(path: &Path, size: u64, m: Manifest) -> ImportPreview {
    let mut notes = Vec::new();
    if let Some(n) = &m.tables_note {
        notes.push(n.clone());
    }
    if let Some(n) = &m.globals_note {
        notes.push(n.clone());
    }
    ImportPreview {
        path: path.to_path_buf(),
        kind: ImportKind::OffsiteArchive,
        size,
        project: Some(m.project.clone()),
        backup_type: m.backup_type,
        created_at: Some(m.created_at.clone()),
        server_version: m.versions.server.clone(),
        pg_dump_version: m.versions.pg_dump.clone(),
        rows_recorded: !m.tables.is_empty() || m.tables_note.is_none(),
        has_globals: m.member(GLOBALS_MEMBER).is_some(),
        source: m.source,
        tables: m.tables,
        members: m.members,
        dump: None,
        notes,
        plain: None,
        parts: None,
    }
}

fn dump_preview(
    path: &Path,
    kind: ImportKind,
    size: u64,
    header: DumpHeader,
    has_globals: bool,
    members: Vec<MemberEntry>,
) -> ImportPreview {
    let tables = header
        .tables
        .iter()
        .map(|t| {
            let (schema, table) = t.split_once('.').unwrap_or(("", t));
            TableCount::counted(schema, table, 0)
        })
        .collect();
    ImportPreview {
        path: path.to_path_buf(),
        kind,
        size,
        project: header.database.clone(),
        backup_type: BackupType::Database,
        created_at: header.created_at.clone(),
        source: SourceInfo {
            database: header.database.clone(),
            ..Default::default()
        },
        server_version: header.server_version.clone(),
        pg_dump_version: header.pg_dump_version.clone(),
        tables,
        rows_recorded: false,
        members,
        has_globals,
        notes: vec![PREVIEW_ROWS_NOT_RECORDED.to_string()],
        dump: Some(header),
        plain: None,
        parts: None,
    }
}

// ---- pg_restore -l ----------------------------------------------------------------------------

/// Runs `pg_restore -l` (the newest one available) on a custom-format dump and parses its header.
pub fn read_dump_header(dump: &Path, pg_bin: Option<&Path>) -> Result<DumpHeader> {
    let tools = tools::newest(pg_bin)?;
    let out = std::process::Command::new(tools.pg_restore())
        .arg("--list")
        .arg(dump)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("starting pg_restore", e))?;
    if !out.status.success() {
        let detail =
            crate::postgres::process::stderr_summary(&String::from_utf8_lossy(&out.stderr), None);
        return Err(Error::integrity(format!(
            "pg_restore cannot read {}: {detail}",
            dump.display(),
        ))
        .with_hint(
            "the dump is damaged, truncated, or newer than pg_restore; use another copy or install newer PostgreSQL client tools",
        ));
    }
    Ok(parse_dump_list(&String::from_utf8_lossy(&out.stdout)))
}

/// Parses `pg_restore -l` output.
pub fn parse_dump_list(text: &str) -> DumpHeader {
    let mut h = DumpHeader::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(';') {
            let rest = rest.trim();
            if let Some(v) = rest.strip_prefix("Archive created at ") {
                h.created = Some(v.trim().to_string());
                h.created_at = parse_created(v.trim());
            } else if let Some(v) = rest.strip_prefix("dbname: ") {
                h.database = Some(v.trim().to_string());
            } else if let Some(v) = rest.strip_prefix("TOC Entries: ") {
                h.toc_entries = v.trim().parse().ok();
            } else if let Some(v) = rest.strip_prefix("Dump Version: ") {
                h.dump_version = Some(v.trim().to_string());
            } else if let Some(v) = rest.strip_prefix("Dumped from database version: ") {
                h.server_version = Some(v.trim().to_string());
            } else if let Some(v) = rest.strip_prefix("Dumped by pg_dump version: ") {
                h.pg_dump_version = Some(v.trim().to_string());
            }
            continue;
        }
        // "3320; 0 16386 TABLE DATA public t postgres"
        if let Some(idx) = line.find(" TABLE DATA ") {
            let mut parts = line[idx + " TABLE DATA ".len()..].split_whitespace();
            if let (Some(schema), Some(table)) = (parts.next(), parts.next()) {
                h.tables.push(format!("{schema}.{table}"));
            }
        }
    }
    h
}

/// "2026-11-21 10:15:00 UTC" → RFC 3339 (only for a UTC zone: other names are ambiguous).
fn parse_created(s: &str) -> Option<String> {
    let (dt, zone) = s.rsplit_once(' ')?;
    if !matches!(zone, "UTC" | "GMT" | "Z" | "+00" | "UCT") {
        return None;
    }
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(dt, &f).ok()?.assume_utc();
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

// ---- project exports --------------------------------------------------------------------------

fn inspect_folder(dir: &Path, pg_bin: Option<&Path>) -> Result<Inspected> {
    let cancel = CancellationToken::new();
    let shallow = |rel: &str| {
        std::fs::symlink_metadata(dir.join(rel)).is_ok_and(|m| m.is_file() || m.is_dir())
    };
    if !shallow(DATABASE_MEMBER) && !shallow("db") {
        return Err(unsupported(
            dir,
            "a folder without database.dump or db/ (not a project export)",
        ));
    }
    let files = export::list_folder(dir, export::LIMITS, &cancel)?;
    let layout = export::classify(dir, export::ExportFrom::Folder(dir.to_path_buf()), &files)?
        .ok_or_else(|| {
            unsupported(
                dir,
                "a folder without database.dump or a dump in db/ (not a project export)",
            )
        })?;
    let dump = dir.join(&layout.dump);
    let globals_file = layout.globals.as_ref().map(|g| dir.join(g));
    if layout.plain {
        return plain_export(dir, &files, layout, dump, globals_file);
    }
    check_pgdmp(&dump, dir)?;
    let header = read_dump_header(&dump, pg_bin)?;
    let size = files
        .iter()
        .find(|(n, _)| *n == layout.dump)
        .map_or(0, |(_, s)| *s);
    Ok(export_inspected(
        dir,
        size,
        header,
        &files,
        layout,
        DumpSource::File(dump),
        globals_file,
    ))
}

/// The preview and what the import needs of a recognised export.
fn export_inspected(
    path: &Path,
    size: u64,
    header: DumpHeader,
    files: &[(String, u64)],
    layout: export::ExportLayout,
    dump: DumpSource,
    globals_file: Option<PathBuf>,
) -> Inspected {
    let size_of = |name: &str| files.iter().find(|(n, _)| n == name).map_or(0, |(_, s)| *s);
    let mut members = vec![entry(DATABASE_MEMBER, size_of(&layout.dump))];
    if let Some(g) = &layout.globals {
        members.push(entry(GLOBALS_MEMBER, size_of(g)));
    }
    let mut preview = dump_preview(
        path,
        ImportKind::ProjectExport,
        size,
        header,
        layout.globals.is_some(),
        members,
    );
    add_parts(&mut preview, &layout);
    Inspected {
        preview,
        dump: Some(dump),
        globals_file,
        database: None,
        plaintext: None,
        tenant: None,
        tenant_tables: Vec::new(),
        export: Some(layout),
    }
}

/// An export whose dump is plain SQL (`db/*.sql`, `db/*.sql.gz`) at `sql`: described as the
/// plain SQL file it is, with the export's parts.
fn plain_export(
    path: &Path,
    files: &[(String, u64)],
    layout: export::ExportLayout,
    sql: PathBuf,
    globals_file: Option<PathBuf>,
) -> Result<Inspected> {
    let size = std::fs::metadata(&sql)
        .map_err(|e| Error::io(format!("reading {}", sql.display()), e))?
        .len();
    let mut inspected = plain::inspect_plain(&sql, size)?;
    if let Some(DumpSource::Plain { file, .. }) = &mut inspected.dump {
        *file = Some(sql);
    }
    let p = &mut inspected.preview;
    p.path = path.to_path_buf();
    p.kind = ImportKind::ProjectExport;
    if let Some(g) = layout.globals.as_ref().filter(|_| !p.has_globals) {
        p.has_globals = true;
        let size = files.iter().find(|(n, _)| n == g).map_or(0, |(_, s)| *s);
        p.members.push(entry(GLOBALS_MEMBER, size));
    }
    add_parts(p, &layout);
    inspected.globals_file = globals_file;
    inspected.export = Some(layout);
    Ok(inspected)
}

/// The export's parts in its preview: the backup type (full with storage or configuration),
/// a note naming what is not imported.
fn add_parts(preview: &mut ImportPreview, layout: &export::ExportLayout) {
    let parts = &layout.parts;
    if parts.storage.is_some() || parts.config.is_some() {
        preview.backup_type = BackupType::Full;
    }
    let skipped = parts.not_imported.len() as u64 + parts.not_imported_more;
    if skipped > 0 {
        let names: Vec<&str> = parts
            .not_imported
            .iter()
            .take(5)
            .map(|n| n.name.as_str())
            .collect();
        preview.notes.push(format!(
            "{} of the export {} not imported: {}{}",
            crate::words::plural(skipped, "file"),
            if skipped == 1 { "is" } else { "are" },
            names.join(", "),
            if skipped > names.len() as u64 {
                ", …"
            } else {
                ""
            }
        ));
    }
    preview.parts = Some(layout.parts.clone());
}

fn entry(name: &str, size: u64) -> MemberEntry {
    MemberEntry {
        name: name.to_string(),
        size,
        sha256: String::new(),
    }
}

fn check_pgdmp(dump: &Path, shown: &Path) -> Result<()> {
    let mut magic = [0u8; 5];
    let mut f =
        File::open(dump).map_err(|e| Error::io(format!("opening {}", dump.display()), e))?;
    let n = read_upto(&mut f, &mut magic)
        .map_err(|e| Error::io(format!("reading {}", dump.display()), e))?;
    if n < 5 || &magic != b"PGDMP" {
        return Err(unsupported(
            shown,
            "its database dump is not a pg_dump custom-format file",
        ));
    }
    Ok(())
}

/// Whether `path` is an uncompressed tarball (`ustar` at offset 257).
fn is_plain_tar(path: &Path) -> Result<bool> {
    let mut head = [0u8; 263];
    let mut f =
        File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let n = read_upto(&mut f, &mut head)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok(n == head.len() && &head[257..262] == b"ustar")
}

/// One regular file of an export tarball (name relative to the tarball, `./` stripped).
struct TarFile {
    name: String,
    size: u64,
}

/// [`walk_tar_limited`] within [`export::LIMITS`].
fn walk_tar(
    path: &Path,
    cancel: &CancellationToken,
    each: impl FnMut(&TarFile, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    walk_tar_limited(path, export::LIMITS, cancel, each)
}

/// Reads every entry of a tarball (gzip, zstd or uncompressed) with the extraction rules of
/// [`archive::extract_all`]: only regular files and folders with plain relative names; links,
/// devices, absolute paths and `..` are [`ErrorKind::UnsafePath`] errors; more entries or bytes
/// than `limits` are refused. Calls `each` for every regular file with a reader of its bytes.
///
/// It is read with the archive's own tar parser, which caps GNU long names and pax headers at
/// 1 MiB: a tarball whose long-name entry claims gigabytes (a gzip bomb of a few KB) ends in an
/// error instead of being read into memory.
fn walk_tar_limited(
    path: &Path,
    limits: export::Limits,
    cancel: &CancellationToken,
    mut each: impl FnMut(&TarFile, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    use crate::archive::tarfmt::{Kind, Next, TarReader};
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let src: Box<dyn Read> = if is_plain_tar(path)? {
        Box::new(BufReader::with_capacity(1 << 16, file))
    } else {
        Box::new(crate::archive::codec::decompress(BufReader::with_capacity(
            1 << 16,
            file,
        )))
    };
    let mut tar = TarReader::new(src);
    let damaged = |e: &dyn std::fmt::Display| {
        Error::integrity(format!("{}: cannot read the tarball: {e}", path.display()))
            .with_hint("the file is damaged or not a tarball; use another copy")
    };
    let (mut count, mut bytes) = (0u64, 0u64);
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let header = match tar.next() {
            Ok(Next::Entry(h)) => h,
            Ok(Next::End | Next::Eof) => break,
            Err(e) => return Err(damaged(&e)),
        };
        count += 1;
        let raw = header.name.clone();
        let name = raw.strip_prefix("./").unwrap_or(&raw).to_string();
        let is_dir = header.kind == Kind::Dir;
        if !is_dir {
            bytes = bytes.saturating_add(header.size);
        }
        export::over(path, count, bytes, limits)?;
        if name.is_empty() && is_dir {
            continue; // "./" itself
        }
        if !(is_dir || header.kind == Kind::File) {
            return Err(archive::unsafe_member(
                &raw,
                "not a regular file or folder (link or device)",
            ));
        }
        if !header.utf8 {
            return Err(archive::unsafe_member(&raw, "name is not valid UTF-8"));
        }
        if let Err(why) = archive::check_member_name(&name, is_dir) {
            return Err(archive::unsafe_member(&raw, &why));
        }
        if is_dir {
            continue;
        }
        let mut entry = TarEntryRead(&mut tar);
        each(
            &TarFile {
                name,
                size: header.size,
            },
            &mut entry,
        )?;
    }
    if count == 0 {
        return Err(unsupported(path, "an empty tarball"));
    }
    Ok(())
}

/// The current entry's bytes of a [`crate::archive::tarfmt::TarReader`] as a `Read`.
struct TarEntryRead<'a, R>(&'a mut crate::archive::tarfmt::TarReader<R>);

impl<R: Read> Read for TarEntryRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use crate::archive::tarfmt::TarError;
        self.0.read(buf).map_err(|e| match e {
            TarError::Truncated => std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the tarball is truncated",
            ),
            e => std::io::Error::other(e.to_string()),
        })
    }
}

fn inspect_tarball(path: &Path, size: u64, pg_bin: Option<&Path>) -> Result<Inspected> {
    let cancel = CancellationToken::new();
    let mut files: Vec<(String, u64)> = Vec::new();
    walk_tar(path, &cancel, |f, _| {
        files.push((f.name.clone(), f.size));
        Ok(())
    })
    .map_err(|e| {
        if e.kind() == ErrorKind::Integrity {
            unsupported(path, "a compressed file that is not a readable tar archive")
        } else {
            e
        }
    })?;
    let layout = export::classify(path, export::ExportFrom::Tar, &files)?.ok_or_else(|| {
        unsupported(
            path,
            "a tarball without database.dump or db/ (neither an Offsite archive nor a project export)",
        )
    })?;
    if layout.plain {
        // A plain SQL dump is read whole to be described: extracted into a private temporary
        // folder kept as long as the import needs it.
        let tmp = crate::private_fs::tempdir("offsite-import-")
            .map_err(|e| Error::io("creating a temporary folder", e))?;
        let name = layout.dump.rsplit('/').next().unwrap_or("database.sql");
        let sql = tmp.path().join(name);
        extract_member(path, &layout.dump, &sql, &cancel, None)?;
        let mut layout = layout;
        layout.scratch = Some(std::sync::Arc::new(tmp));
        let mut inspected = plain_export(path, &files, layout, sql, None)?;
        inspected.preview.size = size;
        return Ok(inspected);
    }
    // The dump into a private temporary folder, for pg_restore -l. Its header and table of
    // contents come first: the first 64 MiB are enough unless the TOC is huge (then all of it).
    let member = layout.dump.clone();
    let member_size = files
        .iter()
        .find(|(n, _)| *n == member)
        .map(|(_, s)| *s)
        .unwrap_or(0);
    let header = {
        let tmp = crate::private_fs::tempdir("offsite-import-")
            .map_err(|e| Error::io("creating a temporary folder", e))?;
        let dump = tmp.path().join(DATABASE_MEMBER);
        extract_member(path, &member, &dump, &cancel, Some(DUMP_HEAD))?;
        check_pgdmp(&dump, path)?;
        match read_dump_header(&dump, pg_bin) {
            Err(e) if member_size > DUMP_HEAD && e.kind() == ErrorKind::Integrity => {
                std::fs::remove_file(&dump)
                    .map_err(|e| Error::io(format!("removing {}", dump.display()), e))?;
                extract_member(path, &member, &dump, &cancel, None)?;
                read_dump_header(&dump, pg_bin)?
            }
            r => r?,
        }
    };
    let source = DumpSource::Tar {
        dump: layout.dump.clone(),
        globals: layout.globals.clone(),
    };
    Ok(export_inspected(
        path, size, header, &files, layout, source, None,
    ))
}

/// Extracts one member of an export tarball (its first `limit` bytes when given) to `dest`
/// (created new).
fn extract_member(
    path: &Path,
    member: &str,
    dest: &Path,
    cancel: &CancellationToken,
    limit: Option<u64>,
) -> Result<()> {
    let mut found = false;
    walk_tar(path, cancel, |f, r| {
        if f.name != member || found {
            return Ok(());
        }
        found = true;
        let mut out = crate::private_fs::create_new(dest)
            .map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
        match limit {
            Some(n) => copy_with(&mut r.take(n), &mut out, cancel, None, member)?,
            None => copy_with(r, &mut out, cancel, None, member)?,
        };
        out.sync_all()
            .map_err(|e| Error::io(format!("writing {}", dest.display()), e))
    })?;
    if !found {
        return Err(Error::not_found(format!(
            "{} has no member {member}",
            path.display()
        )));
    }
    Ok(())
}

fn copy_with(
    r: &mut dyn Read,
    w: &mut dyn Write,
    cancel: &CancellationToken,
    reporter: Option<&Reporter>,
    what: &str,
) -> Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::integrity(format!("reading {what}: {e}"))
                    .with_hint("the file is damaged; use another copy"))
            }
        };
        w.write_all(&buf[..n])
            .map_err(|e| Error::io(format!("writing {what}"), e))?;
        total += n as u64;
        if let Some(rep) = reporter {
            rep.advance(n as u64);
        }
    }
}

/// Reads a small member of an export tarball into memory.
fn read_tar_member(
    path: &Path,
    member: &str,
    cancel: &CancellationToken,
) -> Result<Option<Vec<u8>>> {
    let mut out = None;
    walk_tar(path, cancel, |f, r| {
        if f.name != member || out.is_some() {
            return Ok(());
        }
        if f.size > MAX_GLOBALS {
            return Err(Error::invalid(format!("{member} is larger than 64 MiB")));
        }
        let mut v = Vec::with_capacity(f.size as usize);
        r.read_to_end(&mut v)
            .map_err(|e| Error::integrity(format!("reading {member}: {e}")))?;
        out = Some(v);
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pg_restore_list() {
        let text = ";\n; Archive created at 2026-11-21 01:50:07 UTC\n;     dbname: shop\n;     TOC Entries: 12\n;     Compression: none\n;     Dump Version: 1.15-0\n;     Format: CUSTOM\n;     Dumped from database version: 15.8\n;     Dumped by pg_dump version: 15.8\n;\n;\n; Selected TOC Entries:\n;\n215; 1259 16386 TABLE public t postgres\n3320; 0 16386 TABLE DATA public t postgres\n3321; 0 16390 TABLE DATA app orders alice\n";
        let h = parse_dump_list(text);
        assert_eq!(h.database.as_deref(), Some("shop"));
        assert_eq!(h.toc_entries, Some(12));
        assert_eq!(h.dump_version.as_deref(), Some("1.15-0"));
        assert_eq!(h.server_version.as_deref(), Some("15.8"));
        assert_eq!(h.pg_dump_version.as_deref(), Some("15.8"));
        assert_eq!(h.created_at.as_deref(), Some("2026-11-21T01:50:07Z"));
        assert_eq!(h.tables, vec!["public.t", "app.orders"]);
        assert_eq!(parse_created("2026-11-21 01:50:07 CET"), None);
    }

    /// A tarball of `n` small files (gzip).
    fn many_files(path: &Path, n: usize) {
        let f = File::create(path).unwrap();
        let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for i in 0..n {
            let mut h = tar::Header::new_gnu();
            h.set_path(format!("storage/b/{i}")).unwrap();
            h.set_size(4);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, &b"data"[..]).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
    }

    #[test]
    fn a_tarball_past_the_limits_is_refused_before_its_files_are_used() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("many.tar.gz");
        many_files(&p, 20);
        let c = CancellationToken::new();
        let mut seen = 0;
        let limits = export::Limits {
            files: 10,
            bytes: 1 << 20,
        };
        let e = walk_tar_limited(&p, limits, &c, |_, _| {
            seen += 1;
            Ok(())
        })
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat);
        assert!(e.message().contains("more than 10 files"), "{e:?}");
        assert_eq!(seen, 10);
        let limits = export::Limits {
            files: 100,
            bytes: 30,
        };
        let e = walk_tar_limited(&p, limits, &c, |_, _| Ok(())).unwrap_err();
        assert!(e.message().contains("too large"), "{e:?}");
        walk_tar_limited(&p, export::LIMITS, &c, |_, _| Ok(())).unwrap();
    }
}
