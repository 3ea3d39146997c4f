//! One archive from any of a project's components: the database (pg_dump), storage (its
//! buckets' objects), configuration files. `full`, `database`, `storage`, `config` and
//! `incremental` backups are all made here.
//!
//! Order inside the archive: `metadata.json`, `database.dump`, `globals.sql`, `storage.json`,
//! `storage/…`, `config/…`. Everything is written under temporary names in the destination and
//! renamed only once complete and synced; on failure or cancel nothing is left behind.

use super::archive_file_name_for;
use crate::archive::{
    ArchiveWriter, BackupType, ComponentCount, Manifest, SourceInfo, StorageCounts, Versions,
    Written, FORMAT_VERSION,
};
use crate::error::{Error, Result};
use crate::progress::Reporter;
use crate::sources::{DatabaseSource, DumpOptions, ObjectSource};
use crate::storage::{pull_into, PullOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// The folder configuration files go under in an archive.
pub const CONFIG_PREFIX: &str = "config/";

/// The database component: the database, dumped through its [`DatabaseSource`].
#[derive(Clone)]
pub struct DatabaseInput {
    pub source: Arc<dyn DatabaseSource>,
}

impl std::fmt::Debug for DatabaseInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseInput")
            .field("location", &self.source.location())
            .finish()
    }
}

/// The storage component: the store and what to pull from it.
#[derive(Clone)]
pub struct StorageInput {
    pub source: Arc<dyn ObjectSource>,
    pub options: PullOptions,
}

impl std::fmt::Debug for StorageInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageInput")
            .field("buckets", &self.options.buckets)
            .field("incremental", &self.options.incremental)
            .finish_non_exhaustive()
    }
}

/// The configuration component: files already fetched (and redacted) by their producer.
#[derive(Clone, Default)]
pub struct ConfigInput {
    /// (path under `config/`, bytes), in the order they go into the archive.
    pub files: Vec<(String, Vec<u8>)>,
    /// Fields replaced by a placeholder, recorded in the manifest.
    pub redactions: Vec<String>,
}

impl std::fmt::Debug for ConfigInput {
    // Paths only: file contents may hold secrets when the archive is encrypted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigInput")
            .field(
                "files",
                &self
                    .files
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("redactions", &self.redactions)
            .finish()
    }
}

/// One archive to write.
pub struct ComposeRequest {
    /// The project's name (file name and manifest).
    pub project: String,
    /// The folder the archive goes to (created if missing).
    pub dest_dir: PathBuf,
    /// The archive's compression (`.tar.zst` or `.tar.gz`): a backup's choice or the saved
    /// default, [`Compression::default`](crate::archive::Compression::default) (zstd) where no
    /// setting applies.
    pub compression: crate::archive::Compression,
    pub backup_id: String,
    /// The backup's time (file name, manifest `created_at`): the engine's clock.
    pub created_at: OffsetDateTime,
    /// The archive's type (file name and manifest): `incremental` exactly when the storage
    /// pull is incremental.
    pub backup_type: BackupType,
    pub database: Option<DatabaseInput>,
    pub storage: Option<StorageInput>,
    pub config: Option<ConfigInput>,
}

fn check(req: &ComposeRequest) -> Result<()> {
    if req.database.is_none() && req.storage.is_none() && req.config.is_none() {
        return Err(Error::invalid("a backup needs at least one component")
            .with_hint("choose the database, storage or configuration"));
    }
    let incremental_pull = req.storage.as_ref().is_some_and(|s| s.options.incremental);
    if incremental_pull != (req.backup_type == BackupType::Incremental) {
        return Err(Error::invalid(
            "an incremental backup is exactly one whose storage pull is incremental",
        ));
    }
    if let Some(c) = &req.config {
        for (path, _) in &c.files {
            crate::archive::check_member_name(&format!("{CONFIG_PREFIX}{path}"), false)
                .map_err(|why| Error::invalid(format!("config file {path:?}: {why}")))?;
        }
    }
    Ok(())
}

/// [`database_only`] under `policy`: a dump leaves nothing behind when it fails, so after a
/// temporary failure (a connection cut mid-dump) it is repeated whole.
pub async fn database_only_retried(
    policy: &crate::retry::RetryPolicy,
    source: Arc<dyn DatabaseSource>,
    opts: &DumpOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Written> {
    let what = format!("dumping {}", source.location());
    policy
        .run(&what, reporter, cancel, || {
            database_only(source.clone(), opts, reporter, cancel)
        })
        .await
}

/// A `database` archive of `source` alone (what [`DatabaseSource::dump`] makes).
pub async fn database_only(
    source: Arc<dyn DatabaseSource>,
    opts: &DumpOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Written> {
    let request = ComposeRequest {
        project: opts.project.clone(),
        dest_dir: opts.dest_dir.clone(),
        compression: opts.compression,
        backup_id: opts.backup_id.clone(),
        created_at: opts.created_at,
        backup_type: BackupType::Database,
        database: Some(DatabaseInput { source }),
        storage: None,
        config: None,
    };
    compose(request, reporter, cancel).await
}

/// Write one archive with the requested components into `req.dest_dir`. Returns the written,
/// synced archive (and its `.sha256`).
pub async fn compose(
    req: ComposeRequest,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Written> {
    compose_encrypted(req, None, reporter, cancel).await
}

/// [`compose`], encrypted with `encryption` when given: the archive is `<name>.tar.zst.age`
/// (`.tar.gz.age` for gzip: an age file around the compressed tar) and its `.sha256` is the
/// ciphertext's.
pub async fn compose_encrypted(
    req: ComposeRequest,
    encryption: Option<crate::crypto::Encryption>,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Written> {
    let compression = req.compression;
    check(&req)?;
    compression.check()?;
    let encrypted = encryption.is_some();
    crate::private_fs::create_dir_all(&req.dest_dir)
        .map_err(|e| Error::io(format!("creating {}", req.dest_dir.display()), e))?;
    let created_at = req
        .created_at
        .format(&time::format_description::well_known::Rfc3339)
        .expect("rfc3339");
    let mut writer = {
        // Two backups of one project within a second: take the next free second for the name.
        let mut at = req.created_at;
        loop {
            let mut name = archive_file_name_for(&req.project, at, req.backup_type, compression);
            if encryption.is_some() {
                name.push_str(crate::crypto::AGE_SUFFIX);
            }
            if !req.dest_dir.join(&name).exists() {
                let mut w = ArchiveWriter::create_with(&req.dest_dir, &name, compression)?;
                if let Some(enc) = encryption {
                    w.encrypt(enc)?;
                }
                break w;
            }
            at += time::Duration::seconds(1);
        }
    };
    let mut manifest = Manifest {
        format_version: FORMAT_VERSION,
        backup_id: req.backup_id.clone(),
        project: req.project.clone(),
        backup_type: req.backup_type,
        created_at: created_at.clone(),
        versions: Versions {
            tool: crate::tool_version(),
            server: None,
            pg_dump: None,
        },
        source: SourceInfo::default(),
        members: Vec::new(),
        components: BTreeMap::new(),
        tables: Vec::new(),
        roles: Vec::new(),
        globals_note: None,
        tables_note: None,
        dump_tables: Vec::new(),
        counts: BTreeMap::new(),
        storage: None,
        redactions: Vec::new(),
        base_backup_id: None,
        encryption: None,
        content: None,
        dump: None,
        tenant: None,
        selection: None,
        census: None,
    };

    if let Some(db) = &req.database {
        let part = db.source.dump_into(&mut writer, reporter, cancel).await?;
        manifest.versions = part.versions;
        manifest.source = part.source;
        manifest.counts.insert(
            "database".into(),
            ComponentCount {
                items: part.tables.len() as u64,
                bytes: part.dump_bytes,
            },
        );
        manifest.tables = part.tables;
        manifest.roles = part.roles;
        manifest.globals_note = part.globals_note;
        manifest.content = part.content;
        manifest.dump = part.dump;
        manifest.selection = part.selection;
        manifest.census = part.census;
    }

    if let Some(st) = &req.storage {
        let s = pull_into(
            st.source.clone(),
            &mut writer,
            &created_at,
            &st.options,
            reporter,
            cancel,
        )
        .await?;
        manifest.counts.insert(
            "storage".into(),
            ComponentCount {
                items: s.objects,
                bytes: s.bytes,
            },
        );
        manifest.storage = Some(StorageCounts {
            buckets: s.buckets,
            objects: s.objects,
            bytes: s.bytes,
            downloaded_objects: s.downloaded_objects,
            downloaded_bytes: s.downloaded_bytes,
            reused_objects: s.reused_objects,
            vanished: s.vanished.len() as u64,
            deleted: s.deleted,
        });
        if st.options.incremental {
            manifest.base_backup_id = st.options.previous.as_ref().map(|p| p.backup_id.clone());
        }
    }

    if let Some(cfg) = req.config {
        add_config(&mut writer, &mut manifest, cfg, encrypted);
    }
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }

    let (reporter2, cancel2) = (reporter.clone(), cancel.clone());
    tokio::task::spawn_blocking(move || writer.finish(manifest, &reporter2, &cancel2))
        .await
        .map_err(|e| Error::internal(format!("packing task failed: {e}")))?
}

/// Adds configuration files under `config/` to `writer` and records them in `manifest` (count,
/// the component's checksum, redactions): how every archive holds configuration. Secrets are
/// kept only in an encrypted archive: whatever reaches an unencrypted one unredacted is
/// redacted here.
pub fn add_config(
    writer: &mut ArchiveWriter,
    manifest: &mut Manifest,
    mut cfg: ConfigInput,
    encrypted: bool,
) {
    if !encrypted {
        cfg.redactions
            .extend(crate::config::redact::redact_files(&mut cfg.files));
        cfg.redactions.sort();
        cfg.redactions.dedup();
    }
    // The component's checksum covers every file's name and digest, in archive order.
    let mut listing = String::new();
    let mut bytes = 0u64;
    for (path, data) in &cfg.files {
        let sha = hex::encode(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
        listing.push_str(&format!("{sha}  {CONFIG_PREFIX}{path}\n"));
        bytes += data.len() as u64;
    }
    manifest.counts.insert(
        "config".into(),
        ComponentCount {
            items: cfg.files.len() as u64,
            bytes,
        },
    );
    if !cfg.files.is_empty() {
        manifest.components.insert(
            "config".into(),
            hex::encode(ring::digest::digest(&ring::digest::SHA256, listing.as_bytes()).as_ref()),
        );
    }
    manifest.redactions = cfg.redactions;
    for (path, data) in cfg.files {
        writer.add_bytes(&format!("{CONFIG_PREFIX}{path}"), data);
    }
}
