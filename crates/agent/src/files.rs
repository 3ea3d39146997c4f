//! Small files of the agent's data folder, written whole: a temporary name beside the target,
//! fsync, rename, fsync of the folder. Private files are created with mode 0600.

use offsite_core::{private_fs, Error, Result};
use std::io::Write;
use std::path::Path;

/// Replace `path` with `bytes` atomically (readers see the old or the new file, never a part).
/// The file is created 0600 (`offsite_core::private_fs`); a file that is not `private` (the
/// certificate, schedule types) is opened up to 0644 before its bytes are written.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let mut tmp = private_fs::tempfile_in(dir, ".offsite-tmp-")
        .map_err(|e| Error::io(format!("creating a temporary file in {}", dir.display()), e))?;
    #[cfg(unix)]
    if !private {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io("setting file permissions", e))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    tmp.persist(path)
        .map_err(|e| Error::io(format!("replacing {}", path.display()), e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Create the agent's data folder (mode 0700 on Unix; an existing one made private).
pub fn create_private_dir(dir: &Path) -> Result<()> {
    private_fs::create_dir_all(dir)
        .and_then(|_| private_fs::tighten(dir))
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_data_folder_and_private_files_are_the_owners_alone() {
        let d = tempfile::tempdir().unwrap();
        let data = d.path().join("agent");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&data).unwrap();
        assert_eq!(
            mode(&data),
            0o700,
            "an existing, looser data folder is made private"
        );
        create_private_dir(&data.join("new/deeper")).unwrap();
        assert_eq!(mode(&data.join("new")), 0o700);
        assert_eq!(mode(&data.join("new/deeper")), 0o700);

        let secret = data.join("sub/tokens.json");
        write_atomic(&secret, b"{}", true).unwrap();
        assert_eq!(mode(&data.join("sub")), 0o700);
        assert_eq!(mode(&secret), 0o600);
        let public = data.join("cert.pem");
        write_atomic(&public, b"cert", false).unwrap();
        assert_eq!(mode(&public), 0o644);
        write_atomic(&secret, b"{\"a\":1}", true).unwrap();
        assert_eq!(std::fs::read(&secret).unwrap(), b"{\"a\":1}");
        assert_eq!(mode(&secret), 0o600, "replaced, still private");
    }
}
