//! The import job: a dropped or opened file (an Offsite archive, a pg_dump file, a project
//! export, a plain SQL dump or pg_dumpall file) becomes a backup of a project, in its backup folder and in the catalog. Recognising
//! and packing files is [`crate::import`]'s; this module is the job around it.

use crate::archive::{self, VerifyReport};
use crate::backup;
use crate::catalog::{BackupOrigin, BackupRecord, JobKind, NewBackup, Project};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::import::{self, ImportKind, ImportPreview, Inspected};
use crate::ops::job::JobStart;
use crate::ops::projects::{self, AddProject};
use crate::ops::runner::{self, RunningJob};
use crate::ops::verify::verify_file;
use crate::progress::{Phase, Reporter};
use serde::Serialize;
use std::fs::File;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Where an import goes.
#[derive(Debug, Clone)]
pub enum ImportInto {
    /// A project in the catalog, by name.
    Existing { project: String },
    /// A project created for the import (removed again if the import fails).
    New(AddProject),
}

/// What to import, where.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub path: PathBuf,
    pub into: ImportInto,
    /// Also verify the archive a pg_dump file or export is packed into (an Offsite archive is
    /// always verified first). Default: true.
    pub verify: bool,
    /// The database to take from a `pg_dumpall` file (required when it holds more than one;
    /// refused for other files).
    pub database: Option<String>,
    /// The passphrase or key of an encrypted file (`openssl enc`, age); redacted in `Debug`.
    pub key: Option<crate::crypto::UserKey>,
}

impl ImportOptions {
    /// Import `path` into `into`, verifying.
    pub fn new(path: impl Into<PathBuf>, into: ImportInto) -> Self {
        ImportOptions {
            path: path.into(),
            into,
            verify: true,
            database: None,
            key: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportOutcome {
    pub job_id: String,
    /// The project the backup now belongs to.
    pub project: Project,
    /// Whether the import created that project.
    pub created_project: bool,
    pub backup: BackupRecord,
}

/// What a dropped file is (an Offsite archive, a pg_dump file, a project export; decrypted with
/// `key` when it is encrypted). Reads only.
pub(crate) async fn inspect(
    engine: &Engine,
    path: &Path,
    key: Option<crate::crypto::UserKey>,
) -> Result<ImportPreview> {
    let (p, bin) = (path.to_path_buf(), engine.pg_bin());
    tokio::task::spawn_blocking(move || import::inspect_with_key(&p, bin.as_deref(), key.as_ref()))
        .await
        .map_err(|e| Error::internal(format!("inspect task failed: {e}")))?
}

/// Import as one job: an Offsite archive is verified (always; refused naming the bad member) and
/// copied with its `.sha256` into the project's backup folder (unless it is already there); a
/// pg_dump file or a project export is packed into a new Offsite archive there (verified
/// afterwards when `verify`). The result is registered as a backup of the project. On any
/// failure nothing is left in the backup folder, no backup is registered, and a project created
/// for the import is removed again.
pub(crate) async fn run(
    engine: &Engine,
    opts: ImportOptions,
    start: JobStart,
) -> Result<ImportOutcome> {
    let ImportOptions {
        path,
        into,
        verify,
        database,
        key,
    } = opts;
    let existing = &match &into {
        ImportInto::Existing { project } => Some(engine.catalog.project(project).await?),
        ImportInto::New(_) => None,
    };
    let (job_id, (project, created_project, backup)) = runner::run(
        engine,
        JobKind::Import,
        existing.as_ref(),
        start,
        |(_, _, b): &(Project, bool, BackupRecord)| Some(b.id.clone()),
        |job| async move {
            // The key given first, then (into an existing project) the project's own.
            let mut keys: Vec<_> = key.into_iter().collect();
            if let Some(p) = existing {
                keys.extend(super::encryption::keys_of(engine, &p.name).unwrap_or_default());
            }
            // A removed project's archive: the key kept under the name it carries.
            if archive::is_encrypted(&path) {
                keys.extend(super::encrypted_read::keys_by_archive_name(engine, &path).await?);
            }
            let inspected = inspect_for(engine, &path, database.as_deref(), keys, &job).await?;
            let (project, created) = match (existing, into) {
                (Some(p), _) => (p.clone(), false),
                (None, ImportInto::New(request)) => {
                    let p = projects::add(engine, request).await?;
                    job.hold(runner::lock_project(engine, &p)?);
                    (p, true)
                }
                (None, ImportInto::Existing { .. }) => unreachable!("looked up above"),
            };
            let result = into_folder(
                engine,
                inspected,
                &project,
                verify,
                BackupOrigin::Imported,
                &job,
            )
            .await;
            if result.is_err() && created {
                job.release();
                projects::remove_created(engine, &project).await;
            }
            result.map(|b| (project, created, b))
        },
    )
    .await?;
    Ok(ImportOutcome {
        job_id,
        project,
        created_project,
        backup,
    })
}

/// The body of an import of `path` into the existing `project`, inside the caller's `job` (a
/// pull's): starts no job of its own, reports to the job's progress and registers the backup
/// (from `origin`) under the job's id. Undone completely on failure, as [`run`].
pub(crate) async fn run_in(
    engine: &Engine,
    job: &RunningJob,
    path: &Path,
    project: &Project,
    verify: bool,
    origin: BackupOrigin,
) -> Result<BackupRecord> {
    let keys = super::encryption::keys_of(engine, &project.name).unwrap_or_default();
    let inspected = inspect_for(engine, path, None, keys, job).await?;
    into_folder(engine, inspected, project, verify, origin, job).await
}

/// What the file at `path` is, for an import (with the database a `pg_dumpall` file's import
/// takes).
pub(super) async fn inspect_for(
    engine: &Engine,
    path: &Path,
    database: Option<&str>,
    keys: Vec<crate::crypto::UserKey>,
    job: &RunningJob,
) -> Result<Inspected> {
    job.reporter.phase(Phase::Planning, None);
    let mut inspected = {
        let (p, bin, work, cancel) = (
            path.to_path_buf(),
            engine.pg_bin(),
            engine.decrypt_dir(),
            job.cancel.clone(),
        );
        tokio::task::spawn_blocking(move || {
            import::inspect_full_with(&p, bin.as_deref(), &keys, Some(&work), &cancel)
        })
        .await
        .map_err(|e| Error::internal(format!("inspect task failed: {e}")))??
    };
    inspected.choose_database(database)?;
    job.check_cancelled()?;
    Ok(inspected)
}

/// Place the import in the project's backup folder (created if needed, and removed again when
/// it was made for nothing).
async fn into_folder(
    engine: &Engine,
    inspected: Inspected,
    project: &Project,
    verify: bool,
    origin: BackupOrigin,
    job: &RunningJob,
) -> Result<BackupRecord> {
    let dest = engine.backup_dir_of(project);
    let dest_existed = dest.is_dir();
    crate::private_fs::create_dir_all(&dest)
        .map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
    let r = import_into(engine, inspected, project, &dest, verify, origin, job).await;
    if r.is_err() && !dest_existed {
        let _ = std::fs::remove_dir(&dest); // only when empty
    }
    r
}

/// Place `inspected` in `dest` and register it as a backup of `project` that came from
/// `origin` (the one place an imported, pulled or downloaded backup is registered).
pub(super) async fn import_into(
    engine: &Engine,
    inspected: Inspected,
    project: &Project,
    dest: &Path,
    verify: bool,
    origin: BackupOrigin,
    job: &RunningJob,
) -> Result<BackupRecord> {
    // Files this import created (removed again on failure).
    let mut placed: Vec<PathBuf> = Vec::new();
    let result = async {
        // A pulled or imported archive is kept like the project's own backups: when the
        // project encrypts, a plaintext one is encrypted before it is registered (encryption on
        // but not confirmed refuses, as a backup would: no plaintext copy is kept).
        let encryption = match origin {
            BackupOrigin::Server | BackupOrigin::Artifact | BackupOrigin::Imported
                if !inspected.is_age() =>
            {
                super::encryption::for_backup(engine, project).await?
            }
            _ => None,
        };
        let placed_file = if inspected.preview.kind == ImportKind::OffsiteArchive {
            place_archive(engine, &inspected, dest, job, &mut placed).await?
        } else {
            wrap_foreign(engine, inspected, project, dest, verify, job, &mut placed).await?
        };
        // An imported plaintext archive that already was in the project's folder (registered
        // where it is) is the user's own file: it is not replaced behind their back.
        let encryption = encryption
            .filter(|_| origin != BackupOrigin::Imported || placed.contains(&placed_file.0));
        let Some(enc) = encryption else {
            return register(engine, project, placed_file, origin, job).await;
        };
        let plain = placed_file.0.clone();
        let sealed = encrypt_placed(placed_file, enc, job, &mut placed).await?;
        let record = register(engine, project, sealed, origin, job).await?;
        // Registered encrypted: the plaintext and its `.sha256` go.
        for p in [archive::sidecar_path(&plain), plain] {
            if let Err(e) = std::fs::remove_file(&p) {
                tracing::warn!("could not remove the plaintext {}: {e}", p.display());
            }
        }
        Ok(record)
    }
    .await;
    if result.is_err() {
        for p in placed.iter().rev() {
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

/// What an import placed in the project's folder: the archive, the file its manifest is read
/// from (an encrypted archive's decrypted copy), the verify report and the file's SHA-256.
type Placed = (PathBuf, PathBuf, Option<VerifyReport>, Option<String>);

fn damaged(report: &VerifyReport, what: &str) -> Error {
    let bad = report.first_bad.clone().unwrap_or_else(|| "?".into());
    let why = report.problems.first().cloned().unwrap_or_default();
    Error::integrity(format!(
        "{what} is damaged: {bad} does not match its checksum"
    ))
    .with_hint("Nothing was imported. Use another copy of this backup.")
    .with_detail(format!("bad member {bad} ({why})"))
}

/// An Offsite archive: verified, then copied into the folder (or kept where it is when it is
/// already there), with its `.sha256`.
async fn place_archive(
    engine: &Engine,
    inspected: &Inspected,
    dest: &Path,
    job: &RunningJob,
    placed: &mut Vec<PathBuf>,
) -> Result<Placed> {
    let (reporter, cancel) = (&job.reporter, &job.cancel);
    let src = inspected.read_path().to_path_buf();
    let report = verify_file(&src, reporter, cancel).await?;
    if !report.ok {
        return Err(damaged(&report, "the archive"));
    }
    // An age-encrypted archive is kept encrypted: its ciphertext is what is copied
    // (verified above through its decrypted copy).
    let age = inspected.is_age();
    let from = if age {
        inspected.preview.path.clone()
    } else {
        src.clone()
    };
    if engine.catalog.backup_by_path(&from).await?.is_some() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("{} is already in the catalog", from.display()),
        )
        .with_hint("it is already a backup Offsite knows; nothing to import"));
    }
    let same = match (
        from.parent().map(std::fs::canonicalize),
        dest.canonicalize(),
    ) {
        (Some(Ok(a)), Ok(b)) => a == b,
        _ => false,
    };
    // A file already in the folder keeps its name; a copy gets the name Offsite gives
    // its own archives (a download called "backup (1).tar.zst" becomes
    // `<project>_<time>_<type>.tar.zst` again, after its bytes' codec, `.age` appended when
    // encrypted).
    let name = match (same, canonical_archive_name(&src)) {
        (false, Some(n)) if age => {
            std::ffi::OsString::from(format!("{n}{}", crate::crypto::AGE_SUFFIX))
        }
        (false, Some(n)) => std::ffi::OsString::from(n),
        _ => from
            .file_name()
            .ok_or_else(|| Error::invalid("the archive has no file name"))?
            .to_owned(),
    };
    let mut file_sha256 = (!age).then(|| report.file_sha256.clone());
    let target = if same {
        dest.join(&name)
    } else {
        free_target(&from, dest, &name)?
    };
    if !same {
        let (s, d, r, c) = (
            from.clone(),
            dest.to_path_buf(),
            reporter.clone(),
            cancel.clone(),
        );
        let t2 = target.clone();
        let copied_sha = tokio::task::spawn_blocking(move || copy_into(&s, &d, &t2, &r, &c))
            .await
            .map_err(|e| Error::internal(format!("copy task failed: {e}")))??;
        placed.push(target.clone());
        file_sha256.get_or_insert(copied_sha);
    }
    let file_sha256 = match file_sha256 {
        Some(h) => h,
        None => {
            let t = target.clone();
            tokio::task::spawn_blocking(move || archive::sha256_file(&t))
                .await
                .map_err(|e| Error::internal(format!("hash task failed: {e}")))??
        }
    };
    let sidecar = archive::sidecar_path(&target);
    if !same || !sidecar.exists() {
        let line = format!("{}  {}\n", file_sha256, name.to_string_lossy());
        crate::private_fs::create_new(&sidecar)
            .and_then(|mut f| {
                use std::io::Write;
                f.write_all(line.as_bytes())?;
                f.sync_all()
            })
            .map_err(|e| Error::io(format!("writing {}", sidecar.display()), e))?;
        placed.push(sidecar);
    }
    Ok((target, src.clone(), Some(report), Some(file_sha256)))
}

/// A foreign dump or export: wrapped into a new Offsite archive, verified when asked.
async fn wrap_foreign(
    engine: &Engine,
    inspected: Inspected,
    project: &Project,
    dest: &Path,
    verify: bool,
    job: &RunningJob,
    placed: &mut Vec<PathBuf>,
) -> Result<Placed> {
    let (reporter, cancel) = (&job.reporter, &job.cancel);
    // The wrapping archive is a new backup: the saved default compression, else zstd.
    let compression = super::backup::default_compression(engine).await?;
    let (r, c, d, name, now) = (
        reporter.clone(),
        cancel.clone(),
        dest.to_path_buf(),
        project.name.clone(),
        engine.clock.now(),
    );
    let written = tokio::task::spawn_blocking(move || {
        import::wrap_dump(&inspected, &name, &d, compression, now, &r, &c)
    })
    .await
    .map_err(|e| Error::internal(format!("import task failed: {e}")))??;
    placed.push(written.path.clone());
    placed.push(archive::sidecar_path(&written.path));
    let report = if verify {
        let report = verify_file(&written.path, reporter, cancel).await?;
        if !report.ok {
            return Err(damaged(&report, "the new archive"));
        }
        Some(report)
    } else {
        None
    };
    let sha = report.as_ref().map(|r| r.file_sha256.clone());
    Ok((written.path.clone(), written.path, report, sha))
}

/// A placed plaintext archive encrypted beside it as `<name>.age` (with its `.sha256` of the
/// ciphertext), as the project's own backups are; the manifest is still read from the plaintext.
async fn encrypt_placed(
    (plain, manifest_of, report, _): Placed,
    enc: crate::crypto::Encryption,
    job: &RunningJob,
    placed: &mut Vec<PathBuf>,
) -> Result<Placed> {
    let name = plain
        .file_name()
        .ok_or_else(|| Error::internal("the archive has no file name"))?;
    let mut sealed_name = name.to_owned();
    sealed_name.push(crate::crypto::AGE_SUFFIX);
    let target = plain.with_file_name(&sealed_name);
    if target.symlink_metadata().is_ok() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("{} already exists", target.display()),
        )
        .with_hint("a file of that name is already in the project's backup folder"));
    }
    let (src, t, r, c) = (
        plain.clone(),
        target.clone(),
        job.reporter.clone(),
        job.cancel.clone(),
    );
    let sha = tokio::task::spawn_blocking(move || encrypt_into(&src, &t, &enc, &r, &c))
        .await
        .map_err(|e| Error::internal(format!("encrypt task failed: {e}")))??;
    placed.push(target.clone());
    let sidecar = archive::sidecar_path(&target);
    let line = format!("{sha}  {}\n", sealed_name.to_string_lossy());
    crate::private_fs::create_new(&sidecar)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(line.as_bytes())?;
            f.sync_all()
        })
        .map_err(|e| Error::io(format!("writing {}", sidecar.display()), e))?;
    placed.push(sidecar);
    Ok((target, manifest_of, report, Some(sha)))
}

/// A writer that hashes (SHA-256) what goes through it.
struct Hashing<W> {
    inner: W,
    ctx: ring::digest::Context,
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.ctx.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Encrypts `src` into `target` (beside it) through a temporary file, synced, never replacing
/// a file; returns the SHA-256 of the ciphertext.
fn encrypt_into(
    src: &Path,
    target: &Path,
    enc: &crate::crypto::Encryption,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<String> {
    use std::io::{Read, Write};
    let dir = target
        .parent()
        .ok_or_else(|| Error::internal("the archive has no folder"))?;
    let writing = |e| Error::io(format!("writing {}", target.display()), e);
    let mut input =
        File::open(src).map_err(|e| Error::io(format!("opening {}", src.display()), e))?;
    reporter.phase(Phase::Packing, input.metadata().map(|m| m.len()).ok());
    let _in_use = crate::tempfiles::in_use(dir)?;
    let tmp = crate::private_fs::tempfile_in(dir, crate::tempfiles::TEMP_PREFIX)
        .map_err(|e| Error::io(format!("creating a temporary file in {}", dir.display()), e))?;
    let mut out = enc.wrap(Hashing {
        inner: tmp,
        ctx: ring::digest::Context::new(&ring::digest::SHA256),
    })?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(format!("reading {}", src.display()), e)),
        };
        out.write_all(&buf[..n]).map_err(writing)?;
        reporter.advance(n as u64);
    }
    let Hashing { inner: tmp, ctx } = out.finish().map_err(writing)?;
    let sha = hex::encode(ctx.finish().as_ref());
    tmp.as_file().sync_all().map_err(writing)?;
    tmp.persist_noclobber(target)
        .map_err(|e| Error::io(format!("writing {}", target.display()), e.error))?;
    Ok(sha)
}

/// Registers what was placed (and its verification) in the catalog.
async fn register(
    engine: &Engine,
    project: &Project,
    (target, manifest_of, report, file_sha256): Placed,
    origin: BackupOrigin,
    job: &RunningJob,
) -> Result<BackupRecord> {
    // The manifest is read from what was verified (an encrypted archive's decrypted copy).
    let mut manifest = archive::read_manifest(&manifest_of)?;
    let size = std::fs::metadata(&target)
        .map_err(|e| Error::io(format!("reading {}", target.display()), e))?
        .len();
    let sha256 = match file_sha256 {
        Some(h) => h,
        None => archive::read_sidecar(&target)?
            .ok_or_else(|| Error::internal("the new archive has no .sha256"))?,
    };
    let record = engine
        .catalog
        .add_backup(&NewBackup {
            project_id: project.id.clone(),
            path: target.clone(),
            size,
            sha256,
            backup_type: manifest.backup_type,
            created_at: manifest.created_at.clone(),
            manifest_json: manifest.catalog_json(),
            job_id: Some(job.id.clone()),
            origin,
        })
        .await?;
    if report.is_some() {
        if let Err(e) = engine.catalog.record_verify(&record.id, true, None).await {
            let _ = engine.catalog.remove_backup(&record.id).await;
            return Err(e);
        }
    }
    let record = engine.catalog.backup(&record.id).await?;
    // A pulled backup (server, artifact bucket) is compared as one made here; an imported file
    // is not (the canary skips it).
    super::canary::after_register(engine, project, &record).await;
    Ok(record)
}

/// `<project>_<YYYYMMDD_HHMMSS>_<type>.tar.zst` (`.tar.gz`) from an archive's manifest, when its
/// project name is one Offsite accepts (a crafted manifest cannot name a path) and its time parses.
fn canonical_archive_name(archive: &Path) -> Option<String> {
    let m = archive::read_manifest(archive).ok()?;
    crate::catalog::validate_project_name(&m.project).ok()?;
    let at = crate::catalog::parse_timestamp(&m.created_at).ok()?;
    // The name's ending says what the bytes are: `.tar.zst` for a zstd archive.
    let compression = match archive::codec_of(archive).ok()? {
        archive::codec::Codec::Gzip => {
            archive::Compression::Gzip(backup::DEFAULT_COMPRESSION_LEVEL)
        }
        archive::codec::Codec::Zstd => {
            archive::Compression::Zstd(archive::compression::DEFAULT_ZSTD_LEVEL)
        }
    };
    Some(backup::archive_file_name_for(
        &m.project,
        at,
        m.backup_type,
        compression,
    ))
}

/// Where a copy of `from` called `name` goes in `dest`: `name` when free; the same file
/// already there (same bytes) is refused as imported before; another file of that name (two
/// backups of one second, a tenant's archive beside its project's backup) leaves `name` to it
/// and takes `<stem>-2<ending>`, `-3`, … (never replacing a file).
fn free_target(from: &Path, dest: &Path, name: &std::ffi::OsStr) -> Result<PathBuf> {
    let first = dest.join(name);
    if first.symlink_metadata().is_err() {
        return Ok(first);
    }
    if same_bytes(from, &first)? {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{} is already imported as {}",
                from.display(),
                first.display()
            ),
        )
        .with_hint(
            "the project's backup folder holds a file with the same bytes; nothing to import",
        ));
    }
    let text = name.to_string_lossy();
    let (stem, ending) = backup::ARCHIVE_SUFFIXES
        .iter()
        .filter_map(|s| text.strip_suffix(s).map(|stem| (stem, *s)))
        .min_by_key(|(stem, _)| stem.len())
        .unwrap_or((&text, ""));
    for n in 2..1000 {
        let candidate = dest.join(format!("{stem}-{n}{ending}"));
        if candidate.symlink_metadata().is_err() {
            return Ok(candidate);
        }
    }
    Err(Error::new(
        ErrorKind::AlreadyExists,
        format!("{} and 998 numbered copies already exist", first.display()),
    )
    .with_hint("a file of that name is already in the project's backup folder"))
}

/// Whether two regular files hold the same bytes (sizes first; hashed only when equal).
fn same_bytes(a: &Path, b: &Path) -> Result<bool> {
    let (ma, mb) = (std::fs::metadata(a), std::fs::symlink_metadata(b));
    match (ma, mb) {
        (Ok(x), Ok(y)) if y.is_file() && x.len() == y.len() => {
            Ok(crate::archive::sha256_file(a)? == crate::archive::sha256_file(b)?)
        }
        _ => Ok(false),
    }
}

/// Copies `src` to `target` (in `dest`) through a temporary file, synced, never replacing a file;
/// returns the SHA-256 of what was copied.
fn copy_into(
    src: &Path,
    dest: &Path,
    target: &Path,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<String> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    use std::io::{Read, Write};
    let mut input =
        File::open(src).map_err(|e| Error::io(format!("opening {}", src.display()), e))?;
    let total = input.metadata().map(|m| m.len()).ok();
    reporter.phase(Phase::Packing, total);
    let _in_use = crate::tempfiles::in_use(dest)?;
    let mut tmp = crate::private_fs::tempfile_in(dest, ".offsite-tmp-").map_err(|e| {
        Error::io(
            format!("creating a temporary file in {}", dest.display()),
            e,
        )
    })?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(format!("reading {}", src.display()), e)),
        };
        tmp.write_all(&buf[..n])
            .map_err(|e| Error::io(format!("writing {}", target.display()), e))?;
        ctx.update(&buf[..n]);
        reporter.advance(n as u64);
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(format!("writing {}", target.display()), e))?;
    tmp.persist_noclobber(target)
        .map_err(|e| Error::io(format!("writing {}", target.display()), e.error))?;
    Ok(hex::encode(ctx.finish().as_ref()))
}
