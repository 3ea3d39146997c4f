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
        return keys_by_archive_name(engine, path).await;
    };
    // A keychain that cannot be reached leaves the key the request brings; a secret file
    // refused (others may read it) or a damaged entry says why.
    match super::encryption::keys_of(engine, &project.name) {
        Ok(keys) => Ok(keys),
        Err(e) if e.kind() == crate::error::ErrorKind::Secrets => Err(e),
        Err(_) => Ok(Vec::new()),
    }
}

/// The project an archive's file name names: `<project>_<YYYYMMDD>_<HHMMSS>_<type>.tar.…`.
pub(crate) fn project_named_by(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    let stem = crate::backup::ARCHIVE_SUFFIXES
        .iter()
        .filter_map(|s| file.strip_suffix(s))
        .min_by_key(|s| s.len())?;
    let mut parts = stem.rsplitn(4, '_');
    let (kind, time, date, project) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    // An import that met a file of its name took `<type>-2`, `-3`, ….
    let kind = match kind.rsplit_once('-') {
        Some((k, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => k,
        _ => kind,
    };
    let ok = crate::catalog::BACKUP_TYPES.contains(&kind)
        && digits(time, 6)
        && digits(date, 8)
        && crate::catalog::validate_project_name(project).is_ok();
    ok.then(|| project.to_string())
}

/// The keys of an archive the catalog does not know: those kept for the removed project its
/// file name names (see [`super::keys`]), so a removed project's backups still open. A live
/// project's key opens only the archives the catalog gives it (a copy elsewhere needs the key
/// given). Only ever tried on the file the user gave; a wrong guess is a key that does not
/// open it.
pub(crate) async fn keys_by_archive_name(
    engine: &Engine,
    path: &Path,
) -> Result<Vec<crate::crypto::UserKey>> {
    let Some(name) = project_named_by(path) else {
        return Ok(Vec::new());
    };
    if engine.catalog.orphaned_key(&name).await?.is_none() {
        return Ok(Vec::new());
    }
    Ok(super::encryption::keys_of(engine, &name).unwrap_or_default())
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
        Some(crate::crypto::Encryption::Passphrase(..)) => Err(crate::error::Error::invalid(format!(
            "project {:?} is encrypted with a passphrase, which a backup server would have to hold",
            project.name
        ))
        .with_hint(format!(
            "switch it to key mode (offsite encryption set {} --generate-key): the server then encrypts to public keys only",
            project.name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::project_named_by;
    use std::path::Path;

    #[test]
    fn an_archive_s_file_name_names_its_project_only_when_it_has_the_shape() {
        let named = |f: &str| project_named_by(Path::new(f));
        for (file, want) in [
            ("/b/shop_20261120_023000_database.tar.zst.age", Some("shop")),
            ("my_shop_20261120_023000_full.tar.gz.age", Some("my_shop")),
            ("shop_20261120_023000_incremental.tar.zst", Some("shop")),
            ("shop_20261120_023000_database.tar.zst.age.part", None),
            ("shop_2026112_023000_database.tar.zst.age", None),
            ("shop_20261120_023000_dump.tar.zst.age", None),
            ("_20261120_023000_database.tar.zst.age", None),
            ("../x_20261120_023000_database.tar.zst.age", Some("x")),
            (".hidden_20261120_023000_database.tar.zst.age", None),
            ("shop.tar.zst.age", None),
            ("shop_20261120_023000_database-2.tar.zst", Some("shop")),
            ("shop_20261120_023000_database-.tar.zst", None),
            ("shop_20261120_023000_dump-2.tar.zst", None),
        ] {
            assert_eq!(named(file).as_deref(), want, "{file}");
        }
    }
}
