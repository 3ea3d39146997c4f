//! `metadata.json`: the manifest of an archive (format v1, see DESIGN.md).

use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The newest archive format version this build writes and reads (it reads 1 to 3). An archive
/// is format 3 when a table of its directory dump was read in ranges (several data members and
/// `TABLE DATA` entries for one table, `DumpLayout.split`: a reader of format 2 would take the
/// first range for the whole table), format 2 when its database is a directory dump
/// (`database/…`, `Manifest.dump`), format 1 otherwise (see [`Manifest::needed_format`]).
pub const FORMAT_VERSION: u32 = 3;
/// Format 2: a directory dump, one data member per table.
pub const FORMAT_VERSION_2: u32 = 2;
/// Format 1: the database as `database.dump` (or `database.sql`), or no database.
pub const FORMAT_VERSION_1: u32 = 1;
/// Name of the manifest member; always the first member of an archive Offsite writes.
pub const MANIFEST_NAME: &str = "metadata.json";
pub const DATABASE_MEMBER: &str = "database.dump";
pub const GLOBALS_MEMBER: &str = "globals.sql";
/// The database as a plain SQL script (an imported `pg_dump` plain file or one database of a
/// `pg_dumpall` file), restored through psql; an archive holds it instead of `database.dump`.
pub const DATABASE_SQL_MEMBER: &str = "database.sql";
/// Format 2 (issue 28): the database in pg_dump's directory format (`pg_dump -Fd -Z0`), one member
/// per file under this prefix — `database/toc.dat`, `database/<dump id>.dat` (a table's COPY
/// text, uncompressed inside the archive's own compression), `database/blobs.toc` and
/// `database/blob_<oid>.dat` — so `tar x` then `pg_restore -j N database/` restores it. An
/// archive holds either this or `database.dump`, never both.
pub const DATABASE_DIR_PREFIX: &str = "database/";
/// The directory dump's table of contents (the last of its members in the archive).
pub const DATABASE_TOC_MEMBER: &str = "database/toc.dat";

text_enum! {
    /// What a backup holds; the same word in the manifest, the catalog and JSON.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum BackupType as "backup type" {
        Full = "full",
        Database = "database",
        Storage = "storage",
        Config = "config",
        /// Storage objects changed since a base backup (`base_backup_id`), plus the full listing.
        Incremental = "incremental",
    }
}

/// One member of the archive, as recorded at write time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MemberEntry {
    pub name: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the member's bytes.
    pub sha256: String,
}

text_enum! {
    /// How the database component is laid out in the archive.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum DumpFormat as "dump format" {
        /// `database.dump`, pg_dump's custom format (format 1; format 2 through a pooler too).
        Custom = "custom",
        /// `database/…`, pg_dump's directory format (format 2).
        Directory = "directory",
    }
}

/// How the database was dumped (format 2; absent in format 1, which is always `custom`, one job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpLayout {
    pub format: DumpFormat,
    /// pg_dump's workers (1: one stream).
    pub jobs: u32,
    /// Why fewer jobs ran than asked (a transaction pooler refused the shared snapshot…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The tables read in ranges by several workers (format 3): each range is a data member
    /// and a `TABLE DATA` entry of its own, in the table's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split: Vec<SplitTableNote>,
}

/// A table whose rows were read in ranges ([`DumpLayout::split`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitTableNote {
    pub schema: String,
    pub table: String,
    pub ranges: u32,
}

/// Exact row count of one table, taken in the dump's own snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TableCount {
    pub schema: String,
    pub table: String,
    pub rows: u64,
    /// Lower-case hex SHA-256 of the table's rows in `database.dump`, exactly as pg_dump
    /// streamed them (COPY text, without pg_dump's `\.` terminator), under the session
    /// settings [`ContentDigests::settings`] records. Absent in archives made before digests
    /// were recorded and in imported ones. (Left out of the front ends' types: not shown.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub sha256: Option<String>,
    /// Lines of COPY text in the dump (one per row; a backup fails unless it equals `rows`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub lines: Option<u64>,
    /// The COPY column list, unquoted, in the dump's order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub columns: Option<Vec<String>>,
    /// Where the table's data block starts in `database.dump` (its block-type byte) and its
    /// length in bytes: [`crate::pgdump::DumpReader::seek_block`] reads it from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub dump_offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub dump_length: Option<u64>,
    /// Format 2, directory dumps: the member holding the table's COPY text
    /// (`database/<dump id>.dat`; `dump_offset`/`dump_length` are then absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub dump_member: Option<String>,
}

impl TableCount {
    /// A row count without digests (imported archives, old manifests).
    pub fn counted(schema: impl Into<String>, table: impl Into<String>, rows: u64) -> Self {
        TableCount {
            schema: schema.into(),
            table: table.into(),
            rows,
            sha256: None,
            lines: None,
            columns: None,
            dump_offset: None,
            dump_length: None,
            dump_member: None,
        }
    }
}

/// What the per-table digests of [`TableCount`] depend on, so a read-back reproduces the same
/// COPY text (recorded with the digests).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentDigests {
    /// Session settings of pg_dump's session that shape COPY text: `client_encoding`,
    /// `DateStyle`, `IntervalStyle`, `extra_float_digits`, `TimeZone`, `search_path`,
    /// `bytea_output`, `lc_monetary`.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// The large objects' digest, when the database has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_objects: Option<LargeObjectsDigest>,
    /// Why the tables have no digests, when they could not be made (the backup itself is fine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// All large objects of a database: how many, and SHA-256 over one line per object in
/// ascending oid order, `<oid> <hex sha256 of its bytes>\n`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LargeObjectsDigest {
    pub count: u64,
    pub sha256: String,
}

/// Versions of the tools that made the archive and of the server it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Versions {
    /// "offsite 0.1.0"
    pub tool: String,
    /// e.g. "15.18"
    pub server: Option<String>,
    /// e.g. "pg_dump (PostgreSQL) 15.18"
    pub pg_dump: Option<String>,
}

/// Where the data came from (never with credentials).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SourceInfo {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
    pub database_size: Option<u64>,
    pub encoding: Option<String>,
    /// The transaction snapshot pg_dump dumped in, when it shared the backup's own snapshot:
    /// where a point-in-time chain of changes meets this base (docs/pitr.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub snapshot: Option<DumpSnapshot>,
}

/// A dump's transaction snapshot: `pg_current_snapshot()` as text (`xmin:xmax:xip,…`, 64-bit
/// transaction ids) and the server's clock when it was taken (RFC 3339): every transaction the
/// snapshot sees committed at or before `taken_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpSnapshot {
    pub xids: String,
    pub taken_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Manifest {
    pub format_version: u32,
    pub backup_id: String,
    pub project: String,
    #[serde(rename = "type")]
    pub backup_type: BackupType,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub versions: Versions,
    #[serde(default)]
    pub source: SourceInfo,
    /// Every member except metadata.json itself, in archive order.
    pub members: Vec<MemberEntry>,
    /// Per-component checksums: "database" → SHA-256 of database.dump, "globals" → of
    /// globals.sql, and so on.
    #[serde(default)]
    pub components: BTreeMap<String, String>,
    /// Exact per-table row counts of the database component.
    #[serde(default)]
    pub tables: Vec<TableCount>,
    /// Roles the database's objects are owned by or grant to (a restore target needs them).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Whether roles could be read into globals.sql (and if not, why).
    #[serde(default)]
    pub globals_note: Option<String>,
    /// Why `tables` is empty when row counts were not recorded (an imported pg_dump file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables_note: Option<String>,
    /// When row counts were not recorded (an imported pg_dump or SQL file): the tables whose
    /// data the dump holds, `schema.table`, as its import preview listed them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub dump_tables: Vec<String>,
    /// Per-component counts: "database" (tables, dump bytes), "storage" (objects, bytes),
    /// "config" (files, bytes).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, ComponentCount>,
    /// What the storage component holds and how it was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageCounts>,
    /// Configuration fields replaced by a placeholder (secrets; paths like `auth.smtp_pass`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redactions: Vec<String>,
    /// Incremental archives: the backup holding the unchanged objects' bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_backup_id: Option<String>,
    /// An encrypted archive (`.tar.gz.age`): how it was encrypted. Never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub encryption: Option<ArchiveEncryption>,
    /// Per-table content digests: the settings they were made under, the large objects'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub content: Option<ContentDigests>,
    /// How the database was dumped (format 2); `None`: `database.dump`, one stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub dump: Option<DumpLayout>,
    /// A per-tenant archive (`offsite backup PROJECT --tenant NAME`): which tenant, and its
    /// isolation check. `None`: a backup of the whole database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub tenant: Option<TenantMark>,
    /// A selective backup ([`crate::selection`]): the schemas and tables it left out and the
    /// tables whose rows it left out. `None`: the whole database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub selection: Option<crate::selection::BackupSelection>,
    /// The parts of the database that are objects, not rows (publications' tables, policies,
    /// triggers, cron jobs, queues), taken in the dump's snapshot: what a restore's parity
    /// report compares the target with. `None`: made before Offsite recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub census: Option<Census>,
}

/// A database's parts that are objects rather than rows, by part id ([`crate::parts`]): each
/// item `name  sha256:<16 hex>` (the digest of its definition, which may hold secrets a
/// webhook or cron job carries, so it is never kept as text), sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Census {
    pub parts: BTreeMap<String, Vec<String>>,
    /// Parts that could not be read, and why (a role without the right to).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unread: BTreeMap<String, String>,
}

/// What marks a per-tenant archive (docs/tenants.md): the tenant, the value of its root's key,
/// the backup it was split from, and the isolation check of its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantMark {
    /// The tenant's name in its project (`orgs`).
    pub name: String,
    /// Its root table (`"public"."orgs"`) and key column.
    pub root: String,
    pub key: String,
    /// The root key's value this archive holds.
    pub value: String,
    /// The catalog id of the backup it was split from (on the computer that wrote it).
    #[serde(default)]
    pub source_backup_id: Option<String>,
    /// Rows read back from the written dump and checked against the tenant's closure.
    pub rows_checked: u64,
    /// Rows outside it (0: isolated; an archive is only written with 0).
    pub outside: u64,
    /// Written by a run over every tenant of the backup (`backup --tenant NAME`), not for one
    /// value: a tenant with older archives and none from such a run was not in the database.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole_run: bool,
}

impl TenantMark {
    /// `isolation: N rows, all in tenant NAME=VALUE's closure`.
    pub fn isolation_line(&self) -> String {
        if self.outside == 0 {
            format!(
                "isolation: {} rows, all in tenant {}={}'s closure",
                self.rows_checked, self.name, self.value
            )
        } else {
            format!(
                "isolation: {} of {} rows outside tenant {}={}'s closure",
                self.outside, self.rows_checked, self.name, self.value
            )
        }
    }
}

impl Manifest {
    /// The format version an archive with this manifest is written as: 3 for a directory dump
    /// with a table in ranges, 2 for another directory dump (readers of format 1 could not
    /// restore it), 1 otherwise.
    pub fn needed_format(&self) -> u32 {
        match &self.dump {
            Some(d) if d.format == DumpFormat::Directory && !d.split.is_empty() => FORMAT_VERSION,
            Some(d) if d.format == DumpFormat::Directory => FORMAT_VERSION_2,
            _ => FORMAT_VERSION_1,
        }
    }
}

/// How an archive is encrypted, as its manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ArchiveEncryption {
    /// `age`.
    pub format: String,
    /// The public keys it is encrypted to (`age1…`, `ssh-ed25519 …`), or `["passphrase"]`.
    pub recipients: Vec<String>,
}

/// How many things of a component an archive holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ComponentCount {
    /// Tables, objects or files.
    pub items: u64,
    /// Bytes of the component's members (storage: of the objects, in the archive or its base).
    pub bytes: u64,
}

/// The storage component's counts (`storage.json` has the details).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StorageCounts {
    pub buckets: u64,
    pub objects: u64,
    pub bytes: u64,
    /// Downloaded from the store for this archive.
    pub downloaded_objects: u64,
    pub downloaded_bytes: u64,
    /// Taken from the previous backup (copied, or referenced by an incremental).
    pub reused_objects: u64,
    /// Listed but gone before they could be read.
    pub vanished: u64,
    /// Incremental: objects of the base that are gone.
    pub deleted: u64,
}

impl Manifest {
    /// What the manifest records of table `schema`.`table` (row count, digests, where its rows
    /// are), if anything.
    pub fn table(&self, schema: &str, table: &str) -> Option<&TableCount> {
        self.tables
            .iter()
            .find(|t| t.schema == schema && t.table == table)
    }

    pub fn member(&self, name: &str) -> Option<&MemberEntry> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The manifest as the catalog keeps it: without the storage objects' members (one per
    /// object; `storage.json`, whose checksum stays listed, has them all), so a backup of a
    /// large bucket neither bloats the catalog nor costs megabytes each time it is read. Takes
    /// `&mut self` only to set the member list aside while serializing (no copy of it).
    pub fn catalog_json(&mut self) -> Option<String> {
        let all = std::mem::take(&mut self.members);
        self.members = all
            .iter()
            .filter(|m| !m.name.starts_with(super::storage_layout::STORAGE_PREFIX))
            .cloned()
            .collect();
        let json = serde_json::to_string(self).ok();
        self.members = all;
        json
    }
}

/// The manifest as `metadata.json` holds it, with `members` given separately (the archive
/// writer streams them from its pending members). Serializes exactly as [`Manifest`] does with
/// those members: same fields, same order, same rules for leaving fields out.
#[derive(Serialize)]
pub(super) struct ManifestOut<'a, M: Serialize> {
    format_version: u32,
    backup_id: &'a str,
    project: &'a str,
    #[serde(rename = "type")]
    backup_type: BackupType,
    created_at: &'a str,
    versions: &'a Versions,
    source: &'a SourceInfo,
    members: M,
    components: &'a BTreeMap<String, String>,
    tables: &'a [TableCount],
    roles: &'a [String],
    globals_note: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tables_note: Option<&'a String>,
    #[serde(skip_serializing_if = "no_redactions")]
    dump_tables: &'a [String],
    #[serde(skip_serializing_if = "no_counts")]
    counts: &'a BTreeMap<String, ComponentCount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<&'a StorageCounts>,
    #[serde(skip_serializing_if = "no_redactions")]
    redactions: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    base_backup_id: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption: Option<&'a ArchiveEncryption>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a ContentDigests>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dump: Option<&'a DumpLayout>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a TenantMark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    selection: Option<&'a crate::selection::BackupSelection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    census: Option<&'a Census>,
}

fn no_counts(c: &&BTreeMap<String, ComponentCount>) -> bool {
    c.is_empty()
}

fn no_redactions(r: &&[String]) -> bool {
    r.is_empty()
}

impl<'a, M: Serialize> ManifestOut<'a, M> {
    /// `m`'s fields, `members` instead of `m.members`.
    pub(super) fn new(m: &'a Manifest, members: M) -> Self {
        // Every field named (no `..`): a field added to `Manifest` fails to compile here.
        let Manifest {
            format_version,
            backup_id,
            project,
            backup_type,
            created_at,
            versions,
            source,
            members: _,
            components,
            tables,
            roles,
            globals_note,
            tables_note,
            dump_tables,
            counts,
            storage,
            redactions,
            base_backup_id,
            encryption,
            content,
            dump,
            tenant,
            selection,
            census,
        } = m;
        ManifestOut {
            format_version: *format_version,
            backup_id,
            project,
            backup_type: *backup_type,
            created_at,
            versions,
            source,
            members,
            components,
            tables,
            roles,
            globals_note,
            tables_note: tables_note.as_ref(),
            dump_tables,
            counts,
            storage: storage.as_ref(),
            redactions,
            base_backup_id: base_backup_id.as_ref(),
            encryption: encryption.as_ref(),
            content: content.as_ref(),
            dump: dump.as_ref(),
            tenant: tenant.as_ref(),
            selection: selection.as_ref(),
            census: census.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_copy_leaves_out_storage_objects_only() {
        let mut m = crate::test_fixtures::manifest();
        let entry = |name: &str| MemberEntry {
            name: name.into(),
            size: 1,
            sha256: "ab".repeat(32),
        };
        m.members = vec![
            entry("database.dump"),
            entry("storage.json"),
            entry("storage/avatars/a.png"),
            entry("storage/avatars/b.png"),
            entry("config/supabase/auth.json"),
        ];
        let before = m.members.clone();
        let json = m.catalog_json().expect("serializes");
        let slim: Manifest = serde_json::from_str(&json).expect("parses back");
        let names: Vec<&str> = slim.members.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["database.dump", "storage.json", "config/supabase/auth.json"]
        );
        assert_eq!(slim.backup_id, m.backup_id);
        assert_eq!(m.members, before, "the manifest itself keeps every member");
    }

    /// A manifest written before digests existed parses, without them.
    #[test]
    fn an_old_manifest_without_digests_parses() {
        let mut m = crate::test_fixtures::manifest();
        m.tables.push(TableCount::counted("public", "t", 3));
        let json = serde_json::to_string(&m).unwrap();
        assert!(!json.contains("sha256\":null") && !json.contains("content"));
        let back: Manifest = serde_json::from_str(&json).unwrap();
        assert_eq!(back.tables[0], TableCount::counted("public", "t", 3));
        assert_eq!(back.content, None);
    }

    /// What the writer streams is byte for byte what serializing the manifest gives, with every
    /// optional field both left out and present.
    #[test]
    fn the_streamed_manifest_serializes_as_the_manifest() {
        let mut m = crate::test_fixtures::manifest();
        m.members = vec![MemberEntry {
            name: "database.dump".into(),
            size: 7,
            sha256: "cd".repeat(32),
        }];
        let same = |m: &Manifest| {
            let streamed = serde_json::to_string_pretty(&ManifestOut::new(m, &m.members)).unwrap();
            assert_eq!(streamed, serde_json::to_string_pretty(m).unwrap());
        };
        same(&m);
        m.components.insert("database".into(), "cd".repeat(32));
        m.tables.push(TableCount::counted("public", "t", 3));
        m.tables.push(TableCount {
            sha256: Some("ef".repeat(32)),
            lines: Some(2),
            columns: Some(vec!["id".into(), "A b".into()]),
            dump_offset: Some(4096),
            dump_length: Some(80),
            ..TableCount::counted("public", "u", 2)
        });
        m.content = Some(ContentDigests {
            settings: [("TimeZone".to_string(), "UTC".to_string())].into(),
            large_objects: Some(LargeObjectsDigest {
                count: 1,
                sha256: "01".repeat(32),
            }),
            note: None,
        });
        m.roles.push("app".into());
        m.globals_note = Some("no roles".into());
        m.tables_note = Some("imported".into());
        m.counts
            .insert("storage".into(), ComponentCount { items: 1, bytes: 2 });
        m.storage = Some(StorageCounts {
            objects: 4,
            ..Default::default()
        });
        m.redactions.push("auth.smtp_pass".into());
        m.base_backup_id = Some("b-0000".into());
        m.source.host = Some("db.example".into());
        m.versions.pg_dump = Some("pg_dump 15".into());
        same(&m);
    }
}
