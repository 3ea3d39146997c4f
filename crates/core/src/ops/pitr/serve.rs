//! The point-in-time capture as an agent serves it (`GET …/pitr`, docs/agent.md): the status
//! read from the catalog alone (the server is not asked: the API answers while the database is
//! down), every chain with its base and segments, and the one file a download may name.

use super::chain_facts;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::pitr::micros_text;
use crate::pitr::window;
use crate::sources::agent_wire::{PitrCapture, PitrChainInfo, PitrSegmentInfo, PitrWindow};
use std::path::{Path, PathBuf};

/// Whether `name` is a segment's file name as the capture writes them: letters, digits, `_`,
/// `-`, `.`, not starting with a dot, ending `.pitr` or `.pitr.age`, at most 200 bytes. Nothing
/// else is ever served or written (no separator, no `..`).
pub fn is_segment_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && (name.ends_with(".pitr") || name.ends_with(".pitr.age"))
        && !name.contains("..")
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Project `name`'s capture: status and chains.
pub(crate) async fn capture(engine: &Engine, name: &str) -> Result<PitrCapture> {
    let project = engine.catalog.project(name).await?;
    let chains = chain_facts(engine, &project).await?;
    let mut out = PitrCapture::default();
    let now = engine.clock().now().unix_timestamp_nanos() as i64 / 1000;
    for (c, f) in &chains {
        let w = window::window(f);
        if c.state == "active" {
            out.enabled = true;
            out.rpo_seconds = Some((now - w.to) as f64 / 1e6);
        }
        out.windows.push(PitrWindow {
            chain_id: c.id.clone(),
            from: micros_text(w.from),
            to: micros_text(w.to),
            broken_by: w.broken_by.clone(),
        });
        let base = engine.catalog.backup(&f.base_backup_id).await?;
        let segments = engine
            .catalog
            .pitr_segments(&c.id)
            .await?
            .into_iter()
            .map(|s| PitrSegmentInfo {
                file_name: file_name(&s.path),
                start_lsn: s.start_lsn,
                first_commit_lsn: s.first_commit_lsn,
                end_lsn: s.end_lsn,
                first_commit_at: s.first_commit_at,
                last_commit_at: s.last_commit_at,
                closed_at: s.closed_at,
                commits: s.commits,
                size: s.bytes,
                sha256: s.sha256,
                fingerprint: s.fingerprint,
            })
            .collect();
        out.chains.push(PitrChainInfo {
            id: c.id.clone(),
            state: if c.state == "active" {
                "active"
            } else {
                "ended"
            }
            .into(),
            ended_reason: c.ended_reason.clone(),
            // The id the API knows the base by: the job that made it (the catalog's otherwise).
            base_backup_id: base
                .job_id
                .clone()
                .unwrap_or_else(|| f.base_backup_id.clone()),
            base_sha256: base.sha256.to_ascii_lowercase(),
            base_snapshot: c.base_snapshot.clone().unwrap_or_default(),
            base_at: f.base_at,
            coverage: c.coverage.clone(),
            last_poll_at: c.last_poll_at,
            segments,
        });
    }
    if !out.enabled {
        out.rpo_seconds = None;
    }
    Ok(out)
}

/// The registered segment `file_name` of chain `chain_id` (of project `name` when given; a
/// signed URL names only the chain): its path, size and SHA-256. Only a name the catalog registered is found (`not_found` otherwise); the path
/// is the catalog's, never built from the request.
pub(crate) async fn segment_file(
    engine: &Engine,
    name: Option<&str>,
    chain_id: &str,
    file: &str,
) -> Result<(PathBuf, u64, String)> {
    let gone = || Error::not_found(format!("no change segment {file} in chain {chain_id}"));
    if !is_segment_name(file) {
        return Err(gone());
    }
    let chain = engine
        .catalog
        .pitr_chain(chain_id)
        .await?
        .ok_or_else(gone)?;
    if let Some(name) = name {
        if chain.project_id != engine.catalog.project(name).await?.id {
            return Err(gone());
        }
    }
    let s = engine
        .catalog
        .pitr_segments(chain_id)
        .await?
        .into_iter()
        .find(|s| file_name(&s.path) == file)
        .ok_or_else(gone)?;
    Ok((PathBuf::from(&s.path), s.bytes, s.sha256))
}

#[cfg(test)]
mod tests {
    use super::is_segment_name;

    #[test]
    fn only_segment_names() {
        for ok in ["shop_0000000001927D80.pitr", "a-b.c_1.pitr.age"] {
            assert!(is_segment_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".pitr",
            "../x.pitr",
            "a/b.pitr",
            "a\\b.pitr",
            "x..pitr",
            "x.tar.zst",
            "x.pitr.sha256",
            "x\0.pitr",
            "%2e%2e.pitr",
        ] {
            assert!(!is_segment_name(bad), "{bad:?}");
        }
    }
}
