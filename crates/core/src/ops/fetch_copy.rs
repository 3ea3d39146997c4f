//! Fetch a copy back: when a backup's local archive is gone, download one of its copies from a
//! destination into the project's folder (`<archive>.part`, hashed while written, bounded by the
//! backup's size), check size and SHA-256 against the backup's record, move it into place
//! without replacing anything, write its `.sha256`, and record the local copy again. Then restore
//! and verify use it as usual. A failure leaves nothing behind.

use crate::catalog::{BackupRecord, CopyState, DestinationRecord, JobKind, LOCAL_DESTINATION};
use crate::destinations::Sha256;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::ops::job::JobStart;
use crate::ops::runner;
use crate::progress::Phase;
use futures::StreamExt;
use serde::Serialize;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Which copy to fetch.
#[derive(Debug, Clone, Default)]
pub struct FetchCopyOptions {
    pub project: String,
    /// The catalog's id of the backup.
    pub backup_id: String,
    /// The destination to fetch from (`None`: the first one holding a stored copy that answers).
    pub destination: Option<String>,
}

/// What fetching a copy did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FetchCopyOutcome {
    pub job_id: String,
    pub backup_id: String,
    /// The destination it came from.
    pub destination: String,
    /// The local archive, back in place.
    pub path: String,
}

/// Removes the `.part` unless disarmed.
struct PartGuard(Option<PathBuf>);

impl Drop for PartGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub(crate) async fn run(
    engine: &Engine,
    opts: FetchCopyOptions,
    start: JobStart,
) -> Result<FetchCopyOutcome> {
    let project = &engine.catalog.project(&opts.project).await?;
    // The id as `offsite copies` / `backups` print it, or a unique start of it.
    let backup = &super::resolve::record_by_id(engine, opts.backup_id.trim()).await?;
    if backup.project_id != project.id {
        return Err(Error::not_found(format!(
            "backup {} is not a backup of {}",
            backup.id, project.name
        )));
    }
    if Path::new(&backup.path).exists() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("the local archive {} is there already", backup.path),
        )
        .with_hint("verify or restore it as it is"));
    }
    let dests = engine.catalog.destinations(&project.id).await?;
    let copies = engine.catalog.copies(&backup.id).await?;
    let mut sources: Vec<(DestinationRecord, String)> = Vec::new();
    for c in copies
        .iter()
        .filter(|c| c.destination != LOCAL_DESTINATION && c.state == CopyState::Stored)
    {
        if let Some(d) = dests.iter().find(|d| d.id == c.destination) {
            if opts.destination.as_deref().is_none_or(|n| n == d.name) {
                sources.push((d.clone(), c.location.clone()));
            }
        }
    }
    if sources.is_empty() {
        return Err(Error::not_found(match &opts.destination {
            Some(n) => format!("destination {n} holds no copy of backup {}", backup.id),
            None => format!("no destination holds a copy of backup {}", backup.id),
        })
        .with_hint("see where its copies are with `offsite copies PROJECT`"));
    }
    let (job_id, from) = runner::run(
        engine,
        JobKind::FetchCopy,
        Some(project),
        start,
        |name: &String| {
            let _ = name;
            Some(backup.id.clone())
        },
        |job| async move {
            let mut last = None;
            for (d, key) in &sources {
                job.check_cancelled()?;
                match fetch_from(engine, project, backup, d, key, &job).await {
                    Ok(()) => return Ok(d.name.clone()),
                    Err(e) if e.kind() == ErrorKind::Cancelled => return Err(e),
                    Err(e) => {
                        tracing::warn!(destination = %d.name, "fetching a copy failed: {e}");
                        last = Some(e);
                    }
                }
            }
            Err(last.unwrap_or_else(|| Error::internal("no copy was tried")))
        },
    )
    .await?;
    Ok(FetchCopyOutcome {
        job_id,
        backup_id: backup.id.clone(),
        destination: from,
        path: backup.path.clone(),
    })
}

async fn fetch_from(
    engine: &Engine,
    project: &crate::catalog::Project,
    backup: &BackupRecord,
    d: &DestinationRecord,
    key: &str,
    job: &runner::RunningJob,
) -> Result<()> {
    let dest = super::destinations::open(engine, project, d).await?;
    let path = PathBuf::from(&backup.path);
    let dir = path
        .parent()
        .ok_or_else(|| Error::internal("an archive path without a folder"))?;
    crate::private_fs::create_dir_all_async(dir)
        .await
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let part = crate::transfer::part_path(&path);
    let _ = tokio::fs::remove_file(&part).await;
    let mut guard = PartGuard(Some(part.clone()));
    let writing = format!("writing {}", part.display());
    let mut file = crate::private_fs::tokio_open_options()
        .write(true)
        .create_new(true)
        .open(&part)
        .await
        .map_err(|e| Error::io(&writing, e))?;
    job.reporter.phase(Phase::Fetching, Some(backup.size));
    let mut stream = dest.read(key).await?;
    let (mut sha, mut size) = (Sha256::new(), 0u64);
    while let Some(chunk) = stream.next().await {
        job.check_cancelled()?;
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > backup.size {
            return Err(Error::integrity(format!(
                "the copy in {} is larger than the backup",
                d.name
            )));
        }
        sha.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::io(&writing, e))?;
        job.reporter.advance(chunk.len() as u64);
    }
    file.flush().await.map_err(|e| Error::io(&writing, e))?;
    file.sync_all().await.map_err(|e| Error::io(&writing, e))?;
    drop(file);
    let got = sha.hex();
    if size != backup.size || !got.eq_ignore_ascii_case(&backup.sha256) {
        return Err(Error::integrity(format!(
            "the copy in {} does not match the backup (size or SHA-256); it was not kept",
            d.name
        ))
        .with_hint(
            "verify the copies with `offsite sync PROJECT`, or fetch from another destination",
        ));
    }
    place(&part, &path, &got).await?;
    guard.0 = None;
    engine.catalog.restore_local_copy(&backup.id).await
}

/// Link the checked `.part` to the archive's name (never replacing a file), write its `.sha256`.
async fn place(part: &Path, path: &Path, sha: &str) -> Result<()> {
    let (part, path, sha) = (part.to_path_buf(), path.to_path_buf(), sha.to_string());
    tokio::task::spawn_blocking(move || -> Result<()> {
        let io = |e| Error::io(format!("placing {}", path.display()), e);
        std::fs::hard_link(&part, &path).map_err(io)?;
        let _ = std::fs::remove_file(&part);
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let sidecar = crate::archive::sidecar_path(&path);
        let tmp = crate::transfer::part_path(&sidecar);
        std::fs::write(&tmp, format!("{sha}  {name}\n")).map_err(io)?;
        std::fs::rename(&tmp, &sidecar).map_err(io)?;
        if let Some(dir) = path.parent() {
            if let Ok(f) = std::fs::File::open(dir) {
                let _ = f.sync_all();
            }
        }
        Ok(())
    })
    .await
    .map_err(|e| Error::internal(format!("placing task failed: {e}")))?
}
