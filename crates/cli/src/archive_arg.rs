//! The ARCHIVE argument of verify, inspect and restore: a path, a backup id or
//! `PROJECT:latest`, resolved by the engine ([`Engine::resolve_archive`]).

use crate::output::Out;
use offsite_core::ops::{ResolvedArchive, ResolvedBy};
use offsite_core::{Engine, Result};
use std::path::Path;

/// The archive `given` names. In text mode, an archive named by id or `PROJECT:latest` is
/// said on stderr (which backup was chosen, and its file).
pub(crate) async fn resolve(engine: &Engine, given: &Path, out: &Out) -> Result<ResolvedArchive> {
    let resolved = match given.to_str() {
        Some(s) => engine.resolve_archive(s).await?,
        // Not UTF-8: only ever a path.
        None => ResolvedArchive {
            path: given.to_path_buf(),
            backup_id: None,
            project: None,
            by: ResolvedBy::Path,
        },
    };
    if !out.json() && resolved.by != ResolvedBy::Path {
        eprintln!(
            "offsite: {} is backup {} of {}: {}",
            given.display(),
            resolved.backup_id.as_deref().unwrap_or("?"),
            resolved.project.as_deref().unwrap_or("?"),
            resolved.path.display()
        );
    }
    Ok(resolved)
}
