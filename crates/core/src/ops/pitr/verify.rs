//! Check a project's change segments (`offsite pitr verify`, docs/pitr.md): each file is there,
//! matches its `.sha256` and the checksum the catalog recorded, decrypts (when encrypted) and
//! reads through — every record bounded, every message a `pgoutput` message, the trailer there.
//! A damaged or missing segment is named, with the window it breaks. Each copy at a destination
//! is checked too ([`super::copies::check`]).

use crate::crypto::UserKey;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::pgoutput;
use crate::pitr::segment::{self, SegmentReader};
use serde::Serialize;
use std::path::Path;

/// One segment's check.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentCheck {
    pub chain_id: String,
    pub path: String,
    pub ok: bool,
    /// What is wrong (`None` when it is intact).
    pub problem: Option<String>,
}

/// Every segment of the project checked.
#[derive(Debug, Clone, Serialize)]
pub struct PitrVerified {
    pub segments: Vec<SegmentCheck>,
    /// How many are missing or damaged.
    pub damaged: usize,
    /// Every recorded copy at the destinations: there, its size, its bytes read back.
    pub copies: Vec<super::copies::CopyCheck>,
    /// How many stored copies are missing or damaged (pending ones are not counted).
    pub copies_damaged: usize,
}

fn check_one(path: &Path, sha256: &str, keys: &[UserKey], physical: bool) -> Result<()> {
    segment::verify(path, Some(sha256))?;
    let mut r = SegmentReader::open(path, keys)?;
    while let Some(rec) = r.next_record()? {
        // A physical chain's records are WAL bytes (their order is checked by reading).
        if !physical {
            pgoutput::decode(&rec.data)?;
        }
    }
    if r.info().is_none() {
        return Err(Error::integrity(format!(
            "change segment {}: no trailer",
            path.display()
        )));
    }
    Ok(())
}

pub(crate) async fn verify(engine: &Engine, name: &str) -> Result<PitrVerified> {
    let project = engine.catalog.project(name).await?;
    // A keychain that cannot be reached leaves the checksum check (decrypting then fails).
    let keys = crate::ops::encryption::keys_of(engine, &project.name).unwrap_or_default();
    let mut segments = Vec::new();
    for c in engine.catalog.pitr_chains(&project.id).await? {
        for s in engine.catalog.pitr_segments(&c.id).await? {
            let keys = keys.clone();
            let (path, sha) = (s.path.clone(), s.sha256.clone());
            let physical = c.mode == "physical";
            let checked = tokio::task::spawn_blocking(move || {
                check_one(Path::new(&path), &sha, &keys, physical)
            })
            .await
            .map_err(|e| Error::internal(e.to_string()))?;
            segments.push(SegmentCheck {
                chain_id: c.id.clone(),
                path: s.path,
                ok: checked.is_ok(),
                problem: checked.err().map(|e| e.message().to_string()),
            });
        }
    }
    let damaged = segments.iter().filter(|s| !s.ok).count();
    let copies = super::copies::check(engine, &project).await?;
    let copies_damaged = copies
        .iter()
        .filter(|c| !c.ok && c.state == crate::catalog::CopyState::Stored)
        .count();
    Ok(PitrVerified {
        segments,
        damaged,
        copies,
        copies_damaged,
    })
}
