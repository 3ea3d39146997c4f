//! Checking an archive's `storage.json` against its manifest (part of `archive::verify`).

use super::storage_layout::StorageDoc;
use crate::archive::Manifest;
use std::collections::HashMap;

/// Largest `storage.json` verify reads into memory (about 3 million objects).
pub const MAX_DOC_SIZE: u64 = 1 << 30;

/// Problems of a `storage.json` (raw bytes) in an archive with `manifest`: it must parse, and
/// every object with a member must point at a member of the manifest with the same size and
/// SHA-256. Empty when all is well.
pub fn check_doc(raw: &[u8], manifest: &Manifest) -> Vec<String> {
    let doc: StorageDoc = match serde_json::from_slice(raw) {
        Ok(d) => d,
        Err(e) => {
            return vec![format!(
                "{}: not a valid storage listing ({e})",
                super::storage_layout::STORAGE_DOC
            )]
        }
    };
    let members: HashMap<&str, _> = manifest
        .members
        .iter()
        .map(|m| (m.name.as_str(), m))
        .collect();
    let mut problems = Vec::new();
    for o in &doc.objects {
        let Some(name) = &o.member else { continue };
        let what = || {
            format!(
                "{}: object {:?} of bucket {:?}",
                super::storage_layout::STORAGE_DOC,
                o.key,
                o.bucket
            )
        };
        match members.get(name.as_str()) {
            None => problems.push(format!(
                "{}: its member {name} is not in the archive",
                what()
            )),
            Some(m) if m.size != o.size || m.sha256 != o.sha256 => problems.push(format!(
                "{}: {name} is {} bytes with SHA-256 {}, the listing says {} bytes, {}",
                what(),
                m.size,
                m.sha256,
                o.size,
                o.sha256
            )),
            Some(_) => {}
        }
        if problems.len() >= 100 {
            problems.push("… more storage problems not listed".into());
            break;
        }
    }
    problems
}
