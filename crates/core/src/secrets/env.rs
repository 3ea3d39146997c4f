//! [`EnvStore`]: read-only secrets from environment variables, or from a private file a
//! `…_FILE` variable names (headless use: servers, CI, Kubernetes secrets).

use super::{
    check_key, env_var_for_key, shared_env_for_key, SecretStore, DB_PASSWORD_SUFFIX,
    SECRET_STORE_ENV,
};
use crate::error::{Error, ErrorKind, Result};

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

/// Read-only secrets from the environment, for headless use.
///
/// `get(key)` returns `$OFFSITE_PASSWORD_<KEY>` (see [`env_var_for_key`]) when set; otherwise the
/// file `$OFFSITE_PASSWORD_<KEY>_FILE` names (see [`FILE_SUFFIX`]); otherwise the
/// secret's documented variable ([`shared_env_for_key`]): for a database-password key
/// (`…:db-password`, see [`project_password_key`]) `$PGPASSWORD`, for an S3 secret
/// `$OFFSITE_S3_SECRET_ACCESS_KEY`, and so on. Other keys (not database passwords) never get
/// `PGPASSWORD`. Empty variables count as unset. A write is accepted only when the environment
/// already gives the key that very secret.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EnvStore;

impl EnvStore {
    pub fn new() -> Self {
        EnvStore
    }
}

fn read_env(var: &str) -> Result<Option<String>> {
    match std::env::var_os(var) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v.into_string().map(Some).map_err(|_| {
            Error::new(
                ErrorKind::Secrets,
                format!("the environment variable {var} is not valid UTF-8"),
            )
            .with_hint(format!("set {var} to the password as UTF-8 text"))
        }),
    }
}

/// The suffix of a per-key variable that names a file holding the secret instead
/// (`OFFSITE_PASSWORD_…_FILE=/run/secrets/…`): the file must be the caller's alone (mode 0600
/// or stricter, on Unix), and at most [`MAX_SECRET_FILE`] bytes.
pub const FILE_SUFFIX: &str = "_FILE";
/// The largest secret file read (an age identity file with many keys fits many times over).
pub const MAX_SECRET_FILE: u64 = 64 * 1024;

/// The secret in the file `$<var>_FILE` names, when set: its text without the trailing line
/// break. A file others may read (group or world bits on Unix, a DACL granting others on
/// Windows), a link, something other than a regular file, or a larger one is refused, naming the
/// file (never its content). The file is opened once, without following a link, and every check
/// is made on what was opened: a link swapped in after a check cannot be followed.
fn read_env_file(var: &str) -> Result<Option<String>> {
    use crate::private_fs::Opened;
    use std::io::Read;
    let file_var = format!("{var}{FILE_SUFFIX}");
    let Some(path) = read_env(&file_var)? else {
        return Ok(None);
    };
    let path = std::path::PathBuf::from(path);
    let refuse = |why: String| {
        Error::new(
            ErrorKind::Secrets,
            format!("the secret file {} ({file_var}) {why}", path.display()),
        )
    };
    let opened = crate::private_fs::open_private_file(&path)
        .map_err(|e| refuse(format!("cannot be read: {e}")))?;
    let (file, len) = match opened {
        Opened::File(f, len) => (f, len),
        Opened::Link => {
            return Err(refuse("is a link".into()).with_hint(format!(
                "set {file_var} to the file itself, not a link to it"
            )))
        }
        Opened::NotFile => return Err(refuse("is not a regular file".into())),
        // Owner-only, read back the same way on every OS (mode bits; Windows: the DACL).
        Opened::NotPrivate => {
            return Err(refuse("may be read by others".into()).with_hint(format!(
                "give it {} (only you may read it)",
                crate::private_fs::private_words(false)
            )))
        }
    };
    if len > MAX_SECRET_FILE {
        return Err(refuse(format!(
            "is larger than {} KiB",
            MAX_SECRET_FILE / 1024
        )));
    }
    let mut text = String::new();
    file.take(MAX_SECRET_FILE)
        .read_to_string(&mut text)
        .map_err(|e| refuse(format!("cannot be read as text: {e}")))?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Ok((!text.is_empty()).then(|| text.to_string()))
}

impl SecretStore for EnvStore {
    fn get(&self, key: &str) -> Result<Option<String>> {
        check_key(key)?;
        let var = env_var_for_key(key);
        if let Some(secret) = read_env(&var)? {
            return Ok(Some(secret));
        }
        if let Some(secret) = read_env_file(&var)? {
            return Ok(Some(secret));
        }
        match shared_env_for_key(key) {
            Some(var) => read_env(var),
            None => Ok(None),
        }
    }

    /// Read-only: a write succeeds only when the environment already gives `key` exactly this
    /// secret (a `project add` handed the secret its variable holds), so nothing is lost.
    fn set(&self, key: &str, secret: &str) -> Result<()> {
        check_key(key)?;
        if self.get(key)?.as_deref() == Some(secret) {
            return Ok(());
        }
        let shared = shared_env_for_key(key)
            .map(|v| format!(" (or {v})"))
            .unwrap_or_default();
        let hint = if key.ends_with(DB_PASSWORD_SUFFIX) {
            format!(
                "set {}{shared} for a database password in the environment instead, \
                 or use {SECRET_STORE_ENV}=keychain to save it in the OS keychain",
                env_var_for_key(key)
            )
        } else {
            format!(
                "set {}{shared} in the environment instead, or use {SECRET_STORE_ENV}=keychain \
                 to save it in the OS keychain",
                env_var_for_key(key)
            )
        };
        Err(Error::new(ErrorKind::Secrets, "the environment store is read-only").with_hint(hint))
    }

    fn delete(&self, key: &str) -> Result<()> {
        check_key(key)
    }

    fn name(&self) -> &'static str {
        "env"
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const VAR: &str = "OFFSITE_PASSWORD_ENV_FILE_TEST";

    fn read_with(path: &std::path::Path) -> Result<Option<String>> {
        let _lock = crate::secrets::test_env_lock();
        std::env::set_var(format!("{VAR}{FILE_SUFFIX}"), path);
        let r = read_env_file(VAR);
        std::env::remove_var(format!("{VAR}{FILE_SUFFIX}"));
        r
    }

    fn file(dir: &std::path::Path, name: &str, text: &str, mode: u32) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn a_secret_file_is_read_once_its_handle_checked() {
        let d = tempfile::tempdir().unwrap();
        let good = file(d.path(), "good", "s3cret\n", 0o600);
        assert_eq!(read_with(&good).unwrap().as_deref(), Some("s3cret"));
        let open = file(d.path(), "open", "everyone's\n", 0o644);
        let e = read_with(&open).unwrap_err();
        assert!(e.message().contains("may be read by others"), "{e}");
        assert!(!e.to_string().contains("everyone's"), "{e}");
        // A link, even to a private file, is not followed.
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&good, &link).unwrap();
        let e = read_with(&link).unwrap_err();
        assert!(e.message().contains("is a link"), "{e}");
        // A FIFO is refused without waiting for a writer; a folder is not a file.
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_with(&fifo).unwrap_err();
        assert!(e.message().contains("not a regular file"), "{e}");
        let e = read_with(d.path()).unwrap_err();
        assert!(e.message().contains("not a regular file"), "{e}");
        let big = file(d.path(), "big", &"x".repeat(70 * 1024), 0o600);
        assert!(read_with(&big).unwrap_err().message().contains("larger"));
    }

    /// The attack: the path flips between a private file and a link to a file others may read
    /// (`rename` over it, atomically, as fast as a thread can). Checking the path and then
    /// opening it read the other file whenever the flip fell between the two; opening once and
    /// checking the handle never does, however the flips fall.
    #[test]
    fn a_link_swapped_in_after_the_check_is_never_followed() {
        let d = tempfile::tempdir().unwrap();
        let target = file(d.path(), "others", "LEAKED\n", 0o644);
        let path = d.path().join("secret");
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flips = std::sync::Arc::new(AtomicU64::new(0));
        let flipper = {
            let (dir, path) = (d.path().to_path_buf(), path.clone());
            let (stop, flips) = (stop.clone(), flips.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let tmp = dir.join(format!("next{}", n % 2));
                    let _ = std::fs::remove_file(&tmp);
                    if n.is_multiple_of(2) {
                        std::fs::write(&tmp, "mine\n").unwrap();
                        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
                            .unwrap();
                    } else {
                        std::os::unix::fs::symlink(&target, &tmp).unwrap();
                    }
                    std::fs::rename(&tmp, &path).unwrap();
                    n += 1;
                    flips.store(n, Ordering::Relaxed);
                }
            })
        };
        // Reads until the path has flipped many times while they ran (counted, not timed).
        let (mut reads, mut mine, mut refused) = (0u64, 0u64, 0u64);
        while reads < 5_000 || flips.load(Ordering::Relaxed) < 5_000 {
            reads += 1;
            match read_with(&path) {
                Ok(Some(s)) => {
                    assert_eq!(s, "mine", "a link swapped in was followed");
                    mine += 1;
                }
                Ok(None) => {}
                Err(e) => {
                    assert!(!e.to_string().contains("LEAKED"), "{e}");
                    refused += 1;
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        flipper.join().unwrap();
        assert_eq!(mine + refused, reads);
    }
}
