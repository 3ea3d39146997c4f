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
    let Some((_, project)) = crate::ops::runner::owner_of_archive(engine, path).await? else {
        return Ok(Vec::new());
    };
    // A keychain that cannot be reached leaves the key the request brings.
    Ok(super::encryption::keys_of(engine, &project.name).unwrap_or_default())
}

/// The public keys a backup server encrypts `project`'s archives to: the laptop's key and the
/// extra recipients (key mode); none when the project is not encrypted. A passphrase project
/// cannot have its archives encrypted on a server without giving the server the passphrase:
/// refused, saying so.
pub(crate) async fn agent_recipients(
    engine: &Engine,
    project: &crate::catalog::Project,
) -> Result<Vec<String>> {
    match super::encryption::for_backup(engine, project).await? {
        None => Ok(Vec::new()),
        Some(crate::crypto::Encryption::Recipients(r)) => {
            Ok(r.iter().map(|r| r.as_str().to_string()).collect())
        }
        Some(crate::crypto::Encryption::Passphrase(_)) => Err(crate::error::Error::invalid(format!(
            "project {:?} is encrypted with a passphrase, which a backup server would have to hold",
            project.name
        ))
        .with_hint(format!(
            "switch it to key mode (offsite encryption set {} --generate-key): the server then encrypts to public keys only",
            project.name
        ))),
    }
}
