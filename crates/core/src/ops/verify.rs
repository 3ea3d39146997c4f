//! The verify job: check an archive's checksums; when the catalog knows the archive, record the
//! result there (and compare with the checksum recorded when it was made).

use crate::archive::{self, VerifyReport};
use crate::catalog::JobKind;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::job::JobStart;
use crate::ops::runner;
use crate::progress::Reporter;
use serde::Serialize;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Which archive to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The archive's path (registered or not).
    pub path: PathBuf,
    /// The key of an encrypted archive (`--key-stdin`). `None`: the keys of the project the
    /// archive belongs to, from the keychain; without any, only the ciphertext is checked.
    pub key: Option<crate::crypto::UserKey>,
}

impl VerifyOptions {
    pub fn path(path: impl Into<PathBuf>) -> Self {
        VerifyOptions {
            path: path.into(),
            key: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VerifyOutcome {
    pub job_id: String,
    /// The catalog's backup, when the archive is registered.
    pub backup_id: Option<String>,
    pub report: VerifyReport,
}

pub(crate) async fn run(
    engine: &Engine,
    opts: VerifyOptions,
    start: JobStart,
) -> Result<VerifyOutcome> {
    let path = opts.path.as_path();
    let (known, project) = match runner::owner_of_archive(engine, path).await? {
        Some((b, p)) => (Some(b), Some(p)),
        None => (None, None),
    };
    let known = &known;
    let keys = match (&opts.key, &project) {
        (Some(k), _) => vec![k.clone()],
        // A keychain that cannot be reached leaves the ciphertext check.
        (None, Some(p)) => super::encryption::keys_of(engine, &p.name).unwrap_or_default(),
        // Not in the catalog (a removed project's backup): the keys its file name points to.
        (None, None) if archive::is_encrypted(path) => {
            super::encrypted_read::keys_by_archive_name(engine, path).await?
        }
        (None, None) => Vec::new(),
    };
    let keys = &keys;
    // Damage found is a failed job (code `integrity`): `history` says so, and the job's
    // `verify_damaged` event is queued with it (once per damaged backup); the report is still
    // returned, for the caller to show what is damaged.
    let (job_id, report) = runner::run_judged(
        engine,
        JobKind::Verify,
        project.as_ref(),
        start,
        |_| None,
        VerifyReport::damage,
        |job| async move {
            if let Some(b) = known {
                engine.catalog.set_job_backup(&job.id, &b.id).await?;
            }
            let mut report = verify_file_with(path, keys, &job.reporter, &job.cancel).await?;
            // An incremental is only as good as its chain: every base must still be there.
            if let Some(missing) = missing_base(engine, report.manifest.as_ref()).await? {
                report.ok = false;
                report.problems.push(missing);
            }
            if let Some(b) = known {
                // The catalog remembers the archive's checksum too: a replaced file with a
                // matching new sidecar is still caught.
                if report.file_sha256 != b.sha256 {
                    report.ok = false;
                    report.problems.push(format!(
                        "the archive's SHA-256 differs from the one recorded when it was made ({})",
                        b.sha256
                    ));
                    if report.first_bad.is_none() {
                        report.first_bad = report
                            .archive
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned());
                    }
                }
                let problem = report
                    .first_bad
                    .as_ref()
                    .map(|m| format!("{m} does not match its checksum: this copy is damaged"));
                // Only the ciphertext checked: not "verified" (but a mismatch is corrupt).
                if report.ok && report.contents_not_checked.is_some() {
                    return Ok(report);
                }
                engine
                    .catalog
                    .record_verify(&b.id, report.ok, problem.as_deref())
                    .await?;
            }
            Ok(report)
        },
    )
    .await?;
    Ok(VerifyOutcome {
        job_id,
        backup_id: known.as_ref().map(|b| b.id.clone()),
        report,
    })
}

/// [`archive::verify`] on a blocking thread (it reads and hashes the whole file).
pub(crate) async fn verify_file(
    path: &Path,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<VerifyReport> {
    verify_file_with(path, &[], reporter, cancel).await
}

/// [`verify_file`] with the keys of an encrypted archive (see [`archive::verify_with`]).
pub(crate) async fn verify_file_with(
    path: &Path,
    keys: &[crate::crypto::UserKey],
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<VerifyReport> {
    let (p, r, c, k) = (
        path.to_path_buf(),
        reporter.clone(),
        cancel.clone(),
        keys.to_vec(),
    );
    tokio::task::spawn_blocking(move || archive::verify_with(&p, &k, &r, &c))
        .await
        .map_err(|e| Error::internal(format!("verify task failed: {e}")))?
}

/// Why an incremental archive's chain is incomplete (a base backup not in the catalog or its
/// file gone), following bases of bases.
async fn missing_base(
    engine: &Engine,
    manifest: Option<&crate::archive::Manifest>,
) -> Result<Option<String>> {
    let Some(mut base) = manifest.and_then(|m| m.base_backup_id.clone()) else {
        return Ok(None);
    };
    let files = crate::ops::restore_parts::backup_files(engine).await?;
    for _ in 0..64 {
        let Some(path) = files.get(&base) else {
            return Ok(Some(format!(
                "the base backup {base} this incremental builds on is not in the catalog: its unchanged objects cannot be restored"
            )));
        };
        if !path.is_file() {
            return Ok(Some(format!(
                "the base backup {base} ({}) is missing: its unchanged objects cannot be restored",
                path.display()
            )));
        }
        match crate::archive::read_manifest(path)?.base_backup_id {
            Some(next) => base = next,
            None => return Ok(None),
        }
    }
    Ok(Some(
        "the chain of base backups is too long (a loop?)".into(),
    ))
}

/// The manifest of an archive (`inspect`). An encrypted one is decrypted (as far as the manifest)
/// with `key`, or else with the keys of the project the catalog says it belongs to; without any:
/// `wrong_key`.
pub(crate) async fn inspect(
    engine: &Engine,
    path: &Path,
    key: Option<crate::crypto::UserKey>,
) -> Result<crate::archive::Manifest> {
    let keys = match key {
        Some(k) => vec![k],
        None if archive::is_encrypted_file(path)? => {
            match runner::owner_of_archive(engine, path).await? {
                // A keychain that cannot be reached: as without a key.
                Some((_, p)) => super::encryption::keys_of(engine, &p.name).unwrap_or_default(),
                None => super::encrypted_read::keys_by_archive_name(engine, path).await?,
            }
        }
        None => Vec::new(),
    };
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || archive::read_manifest_with(&p, &keys))
        .await
        .map_err(|e| Error::internal(format!("inspect task failed: {e}")))?
}
