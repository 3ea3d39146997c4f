//! Pulling the point-in-time capture of a project's backup server (`offsite pull`, the
//! window's "Pull new"; docs/pitr.md): after the server's new backups, its chains and their new
//! change segments, so `offsite restore PROJECT --at TIME` works here from what the agent
//! captured.
//!
//! A chain is mirrored (under the server's chain id, state `pulled`: never captured here) once
//! its base is here — the pulled backup with the base's SHA-256. Each segment the catalog does
//! not hold is downloaded through the one download path (a `.part`, fresh signed URLs, size
//! and SHA-256 checked against the listing), its `.sha256` written, then registered. Everything
//! the server sends is checked first: file names are segment names (no separator, no `..`),
//! chain ids are UUIDs, numbers are what they are. A segment that fails stops the pull (what was
//! registered stays); nothing half-written is left. Then the Storage objects' versions the
//! server's capture kept ([`super::pull_objects`]).

use crate::archive::sidecar_path;
use crate::catalog::{PitrSegment, Project};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::ops::runner::RunningJob;
use crate::sources::agent::AgentClient;
use crate::sources::agent_wire::{PitrChainInfo, PitrSegmentInfo};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// What a pull brought of the server's capture.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PitrPulled {
    /// Chains mirrored here (new or updated).
    pub chains: u32,
    /// Segments downloaded and registered.
    pub segments: u32,
    /// Chains whose base is not here (not pulled yet, or removed): skipped.
    pub without_base: u32,
    /// Files of the Storage objects' versions the server's capture kept, downloaded.
    pub objects: u32,
    /// Their bytes.
    pub object_bytes: u64,
    /// Kept versions or files of the server's listing left out: not acceptable (logged), or
    /// gone from the server since it listed them.
    pub objects_refused: u32,
}

fn check_chain(c: &PitrChainInfo) -> Result<()> {
    let uuid = uuid::Uuid::parse_str(&c.id)
        .ok()
        .filter(|u| u.hyphenated().to_string() == c.id);
    if uuid.is_none() {
        return Err(Error::invalid(format!(
            "the server sent a chain id that is not a UUID: {:?}",
            crate::words::shorten(&c.id)
        )));
    }
    crate::pitr::snapshot::XidSnapshot::parse(&c.base_snapshot)?;
    if c.coverage.len() > crate::units::MAX_SMALL_DOC as usize {
        return Err(Error::invalid(
            "the server sent a chain's coverage too large",
        ));
    }
    Ok(())
}

fn check_segment(s: &PitrSegmentInfo) -> Result<()> {
    let hex = s.sha256.len() == 64 && s.sha256.bytes().all(|b| b.is_ascii_hexdigit());
    if !super::serve::is_segment_name(&s.file_name) || !hex || s.end_lsn < s.first_commit_lsn {
        return Err(Error::invalid(format!(
            "the server listed a change segment Offsite does not accept: {:?}",
            crate::words::shorten(&s.file_name)
        )));
    }
    Ok(())
}

/// Pull `client`'s capture of `project` (see the module). A server without the capture API
/// (an older agent) or a project it does not capture pulls nothing.
pub(crate) async fn pull(
    engine: &Engine,
    project: &Project,
    client: &AgentClient,
    job: &RunningJob,
) -> Result<PitrPulled> {
    let mut out = PitrPulled::default();
    let capture = match client.pitr().await {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    let by_sha: HashMap<String, String> = engine
        .catalog
        .backups(&project.id)
        .await?
        .into_iter()
        .map(|b| (b.sha256.to_ascii_lowercase(), b.id))
        .collect();
    let dir = engine.backup_dir_of(project).join("pitr");
    for c in &capture.chains {
        job.check_cancelled()?;
        check_chain(c)?;
        let Some(base) = by_sha.get(&c.base_sha256.to_ascii_lowercase()) else {
            out.without_base += 1;
            continue;
        };
        engine
            .catalog
            .upsert_pulled_pitr_chain(
                &c.id,
                &project.id,
                base,
                &c.base_snapshot,
                c.base_at,
                &c.coverage,
                c.ended_reason.as_deref(),
                c.last_poll_at,
            )
            .await?;
        out.chains += 1;
        let here: HashMap<u64, PitrSegment> = engine
            .catalog
            .pitr_segments(&c.id)
            .await?
            .into_iter()
            .map(|s| (s.first_commit_lsn, s))
            .collect();
        for s in &c.segments {
            job.check_cancelled()?;
            check_segment(s)?;
            if here
                .get(&s.first_commit_lsn)
                .is_some_and(|h| h.sha256.eq_ignore_ascii_case(&s.sha256))
            {
                continue;
            }
            fetch(engine, client, &c.id, s, &dir, job).await?;
            out.segments += 1;
        }
    }
    // Then the Storage objects' versions its passes kept (a restore to a time needs them).
    if out.chains > 0 {
        let o = super::pull_objects::pull(engine, project, client, job).await?;
        out.objects = o.files;
        out.object_bytes = o.bytes;
        out.objects_refused = o.refused;
    }
    Ok(out)
}

/// Download one segment into `dir`, check it, write its `.sha256`, register it.
async fn fetch(
    engine: &Engine,
    client: &AgentClient,
    chain_id: &str,
    s: &PitrSegmentInfo,
    dir: &Path,
    job: &RunningJob,
) -> Result<()> {
    crate::private_fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let path = dir.join(&s.file_name);
    // A file of that name not registered (a pull killed after the download): replaced.
    if path.symlink_metadata().is_ok() {
        std::fs::remove_file(&path)
            .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
    }
    let source = client.segment(chain_id, &s.file_name);
    let got = client
        .downloader()
        .download(&source, &path, &job.reporter, &job.cancel)
        .await?;
    if got.size != s.size || !got.sha256.eq_ignore_ascii_case(&s.sha256) {
        let _ = std::fs::remove_file(&path);
        return Err(Error::integrity(format!(
            "the change segment {} from the server does not match its listing (size or SHA-256); it was not kept",
            s.file_name
        )));
    }
    let side = sidecar_path(&path);
    let written = crate::private_fs::write_atomic(
        &side,
        format!("{}  {}\n", got.sha256, s.file_name).as_bytes(),
    );
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(Error::io("writing a segment's checksum", e));
    }
    let row = PitrSegment {
        path: path.to_string_lossy().into_owned(),
        start_lsn: s.start_lsn,
        first_commit_lsn: s.first_commit_lsn,
        end_lsn: s.end_lsn,
        first_commit_at: s.first_commit_at,
        last_commit_at: s.last_commit_at,
        closed_at: s.closed_at,
        commits: s.commits,
        bytes: got.size,
        sha256: got.sha256.to_ascii_lowercase(),
        fingerprint: s.fingerprint.clone(),
    };
    if let Err(e) = engine.catalog.add_pitr_segment_row(chain_id, &row).await {
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&side);
        return Err(e);
    }
    Ok(())
}
