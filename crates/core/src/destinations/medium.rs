//! Which medium a copy is really on, for the 3-2-1 count: the filesystem a folder lives on (its
//! device id), and what an rclone remote really is (its `type`, read from `rclone config dump`
//! and parsed as JSON; wrappers such as `alias` and `crypt` are followed to the remote they
//! wrap). A `local` remote is a folder on this computer, whatever its name says.
//!
//! `rclone config dump` prints every remote's settings, secrets included: only `type` and
//! `remote` are kept (serde drops the rest), its output is bounded, and neither it nor anything
//! from it reaches an error message or a log.

use super::rclone::{RcloneDestination, RemoteSpec};
use super::rclone_run::Rclone;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Most of `rclone config dump` read (a configuration of a few thousand remotes).
const CONFIG_DUMP_LIMIT: usize = 4 << 20;
/// How many wrappers (`alias` of `crypt` of …) are followed before giving up.
const MAX_WRAPPERS: usize = 8;

/// The id of the filesystem (device) holding `path` (`None`: not there, or not readable). Two
/// paths with the same id are on the same disk. Unix: the device number (`st_dev`); Windows:
/// the volume's serial number, read from a handle on the file or folder.
pub fn device_of(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| m.dev())
    }
    #[cfg(windows)]
    {
        volume_serial(path).ok()
    }
}

/// The serial number of the volume holding `path` (a folder is opened with backup semantics,
/// asking for its attributes only: no read access to its content is needed).
#[cfg(windows)]
fn volume_serial(path: &Path) -> std::io::Result<u64> {
    use std::os::windows::fs::OpenOptionsExt;
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Storage::FileSystem::{
        GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION, FILE_FLAG_BACKUP_SEMANTICS,
        FILE_READ_ATTRIBUTES,
    };
    let f = std::fs::OpenOptions::new()
        .access_mode(FILE_READ_ATTRIBUTES)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    // SAFETY: a handle open for the call's length; the structure is plain data it fills.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    if unsafe { GetFileInformationByHandle(f.as_raw_handle(), &mut info) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(u64::from(info.dwVolumeSerialNumber))
}

/// The device of `path`, or of its nearest ancestor that exists (a folder not created yet is
/// made on its parent's filesystem).
pub fn device_of_nearest(path: &Path) -> Option<u64> {
    path.ancestors().find_map(device_of)
}

/// What an rclone remote stores on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteMedium {
    /// A folder on this computer (a `local` remote, or a wrapper of one): the path rclone
    /// writes to.
    LocalFolder(PathBuf),
    /// Anything else (a server, a cloud drive), or a remote the configuration does not know.
    Elsewhere,
}

/// One remote's settings as far as the medium goes (every other key, secrets included, is
/// dropped while parsing).
#[derive(Debug, serde::Deserialize)]
struct RemoteConf {
    #[serde(rename = "type")]
    kind: Option<String>,
    /// What a wrapper (`alias`, `crypt`, `chunker`, `compress`, `hasher`, `cache`) wraps.
    remote: Option<String>,
}

/// Parse `rclone config dump` (a JSON object of remotes); `None` when it is not that.
fn parse_dump(bytes: &[u8]) -> Option<HashMap<String, RemoteConf>> {
    serde_json::from_slice(bytes).ok()
}

fn join(base: &str, rel: &str) -> PathBuf {
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() {
        PathBuf::from(base)
    } else {
        Path::new(base).join(rel)
    }
}

/// What `spec` stores on, by the configuration `confs` (wrappers followed).
fn resolve(confs: &HashMap<String, RemoteConf>, spec: &RemoteSpec) -> RemoteMedium {
    let (mut name, mut path) = (spec.name.clone(), spec.path.clone());
    for _ in 0..MAX_WRAPPERS {
        let Some(conf) = confs.get(&name) else {
            return RemoteMedium::Elsewhere;
        };
        match conf.kind.as_deref() {
            Some("local") => return RemoteMedium::LocalFolder(join("/", &path)),
            Some("alias" | "crypt" | "chunker" | "compress" | "hasher" | "cache") => {
                let Some(inner) = conf.remote.as_deref() else {
                    return RemoteMedium::Elsewhere;
                };
                match inner.split_once(':') {
                    // `:local:/path`: an on-the-fly local backend.
                    Some(("", rest)) => {
                        return match rest.split_once(':') {
                            Some(("local", p)) => RemoteMedium::LocalFolder(join(p, &path)),
                            _ => RemoteMedium::Elsewhere,
                        }
                    }
                    Some((n, p)) if !n.contains('/') => {
                        path = join(p, &path).to_string_lossy().into_owned();
                        name = n.to_string();
                    }
                    // A plain path (`/mnt/data`): a folder on this computer.
                    _ => return RemoteMedium::LocalFolder(join(inner, &path)),
                }
            }
            _ => return RemoteMedium::Elsewhere,
        }
    }
    RemoteMedium::Elsewhere
}

impl RcloneDestination {
    /// What this remote stores on, from rclone's own configuration (`None`: rclone or its
    /// configuration could not be read; nothing is assumed then).
    pub async fn medium(&self) -> Option<RemoteMedium> {
        medium_of(&self.rclone, self.remote()).await
    }
}

async fn medium_of(rclone: &Rclone, spec: &RemoteSpec) -> Option<RemoteMedium> {
    let ran = rclone
        .run(
            "reading rclone's configuration",
            &["config", "dump"],
            CONFIG_DUMP_LIMIT,
        )
        .await
        .ok()?;
    let confs = parse_dump(&ran.stdout)?;
    Some(resolve(&confs, spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, path: &str) -> RemoteSpec {
        RemoteSpec {
            name: name.into(),
            path: path.into(),
        }
    }

    const DUMP: &str = r#"{
        "loc": {"type": "local"},
        "nas": {"type": "sftp", "host": "nas", "pass": "SECRET"},
        "a": {"type": "alias", "remote": "loc:/srv/backups"},
        "plain": {"type": "alias", "remote": "/mnt/data"},
        "fly": {"type": "alias", "remote": ":local:/var/x"},
        "enc": {"type": "crypt", "remote": "nas:enc", "password": "SECRET"},
        "encloc": {"type": "crypt", "remote": "a:inner"},
        "loop1": {"type": "alias", "remote": "loop2:"},
        "loop2": {"type": "alias", "remote": "loop1:"},
        "s3": {"type": "s3", "secret_access_key": "SECRET"}
    }"#;

    #[test]
    fn the_type_is_read_from_the_parsed_configuration_and_wrappers_are_followed() {
        let confs = parse_dump(DUMP.as_bytes()).unwrap();
        let local = |p: &str| RemoteMedium::LocalFolder(PathBuf::from(p));
        assert_eq!(
            resolve(&confs, &spec("loc", "/b/copies")),
            local("/b/copies")
        );
        assert_eq!(resolve(&confs, &spec("nas", "x")), RemoteMedium::Elsewhere);
        assert_eq!(resolve(&confs, &spec("a", "x")), local("/srv/backups/x"));
        assert_eq!(resolve(&confs, &spec("plain", "")), local("/mnt/data"));
        assert_eq!(resolve(&confs, &spec("fly", "y")), local("/var/x/y"));
        assert_eq!(resolve(&confs, &spec("enc", "")), RemoteMedium::Elsewhere);
        assert_eq!(
            resolve(&confs, &spec("encloc", "z")),
            local("/srv/backups/inner/z")
        );
        assert_eq!(resolve(&confs, &spec("loop1", "")), RemoteMedium::Elsewhere);
        assert_eq!(resolve(&confs, &spec("s3", "b")), RemoteMedium::Elsewhere);
        // A remote the configuration does not hold is not guessed from its name.
        assert_eq!(
            resolve(&confs, &spec("local", "/x")),
            RemoteMedium::Elsewhere
        );
    }

    #[test]
    fn a_name_or_a_value_that_says_local_is_not_a_type() {
        // Only the `type` key counts: "local" in a name, a path or another key changes nothing.
        let dump =
            r#"{"local-ish": {"type": "sftp", "host": "local", "description": "type = local"}}"#;
        let confs = parse_dump(dump.as_bytes()).unwrap();
        assert_eq!(
            resolve(&confs, &spec("local-ish", "/local")),
            RemoteMedium::Elsewhere
        );
        // Not a JSON object of remotes: nothing is read.
        assert!(parse_dump(b"[loc]\ntype = local\n").is_none());
        assert!(parse_dump(br#"{"loc": "local"}"#).is_none());
    }

    #[test]
    fn devices_are_those_of_the_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let a = device_of(dir.path()).unwrap();
        assert_eq!(device_of_nearest(&dir.path().join("not/yet")), Some(a));
        assert_eq!(device_of(&dir.path().join("not")), None);
    }
}
