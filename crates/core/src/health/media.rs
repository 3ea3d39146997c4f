//! The media of the 3-2-1 count: which copies share a disk. A folder destination on the same
//! filesystem as the local backups (the same device id) is the same medium as the local copy,
//! and an rclone remote of type `local` is a folder on this computer (never offsite), whatever
//! its name. Each such finding carries the sentence that says why, which `offsite copies`,
//! `offsite status` and the app's dashboard show as they are.

use crate::catalog::{DestinationKind, DestinationRecord};
use crate::destinations::medium::{device_of, device_of_nearest, RemoteMedium};
use crate::destinations::{RcloneConfig, RcloneDestination};
use std::collections::HashMap;
use std::path::Path;

/// The medium one copy is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Medium {
    /// Copies with the same key are on one medium (`dev:<id>` for a filesystem of this
    /// computer, `dest:<id>` for a destination's own).
    pub key: String,
    /// Away from this computer (an S3 bucket, a remote server, a folder marked offsite that
    /// is not on the local backups' disk).
    pub offsite: bool,
    /// Why it counts less than it seems (same disk as the local backups, a `local` remote).
    pub note: Option<String>,
}

/// The medium of the local backups (`local_dir`: the folder of the local archive) and of each
/// destination (by id).
pub async fn media(
    local_dir: Option<&Path>,
    destinations: &[DestinationRecord],
) -> (Medium, HashMap<String, Medium>) {
    let local_dev = local_dir.and_then(device_of);
    let local = Medium {
        key: local_dev.map_or_else(|| "local".to_string(), |d| format!("dev:{d}")),
        offsite: false,
        note: None,
    };
    let mut out = HashMap::new();
    for d in destinations {
        out.insert(d.id.clone(), medium_of(d, local_dev).await);
    }
    (local, out)
}

async fn medium_of(d: &DestinationRecord, local_dev: Option<u64>) -> Medium {
    let own = || Medium {
        key: format!("dest:{}", d.id),
        offsite: d.offsite,
        note: None,
    };
    match d.kind {
        DestinationKind::S3 => own(),
        DestinationKind::Folder => {
            let Some(dev) = d.folder.as_deref().map(Path::new).and_then(device_of) else {
                // Not there now (a drive not mounted): a medium of its own, as set.
                return own();
            };
            let same = local_dev == Some(dev);
            Medium {
                key: format!("dev:{dev}"),
                offsite: d.offsite && !same,
                note: same.then(|| {
                    format!(
                        "{} is on the same disk as the local backups: not a separate copy",
                        d.name
                    )
                }),
            }
        }
        DestinationKind::Rclone => {
            let remote = d.rclone.clone().unwrap_or_default();
            let Ok(dest) = RcloneDestination::new(&RcloneConfig {
                remote: remote.clone(),
                program: None,
                config_file: None,
            }) else {
                return own();
            };
            let Some(RemoteMedium::LocalFolder(path)) = dest.medium().await else {
                return own();
            };
            let dev = device_of_nearest(&path);
            let same = dev.is_some() && dev == local_dev;
            Medium {
                key: dev.map_or_else(|| format!("dest:{}", d.id), |dev| format!("dev:{dev}")),
                offsite: false,
                note: Some(if same {
                    format!(
                        "{} (rclone {remote}) is a remote of type local on the same disk as the local backups: not a separate copy",
                        d.name
                    )
                } else {
                    format!(
                        "{} (rclone {remote}) is a remote of type local, a folder on this computer: not away from it",
                        d.name
                    )
                }),
            }
        }
    }
}

/// Whether `dest` is on the same filesystem of this computer as `local` (the same device id):
/// not a separate copy. Unknown devices are never the same.
pub fn same_disk(local: &Medium, dest: &Medium) -> bool {
    local.key.starts_with("dev:") && local.key == dest.key
}

/// How many distinct media `keys` name.
pub fn count(keys: &[&str]) -> usize {
    let mut seen: Vec<&str> = keys.to_vec();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(dev: Option<u64>) -> Medium {
        Medium {
            key: dev.map_or_else(|| "dest:x".into(), |d| format!("dev:{d}")),
            offsite: false,
            note: None,
        }
    }

    /// Two folders on one filesystem have one device id (Windows: one volume serial): the same
    /// disk; a folder on another filesystem (/proc is always another one on Linux, a
    /// nonexistent one on macOS and Windows is unknown) is not, and an unknown device never is.
    #[test]
    fn folders_on_one_filesystem_are_the_same_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        let (da, db) = (device_of(&a), device_of(&b));
        assert!(da.is_some());
        assert!(same_disk(&on(da), &on(db)));
        let other = if cfg!(target_os = "linux") {
            device_of(Path::new("/proc"))
        } else {
            device_of(&dir.path().join("not-there"))
        };
        assert_ne!(other, da);
        assert!(!same_disk(&on(da), &on(other)));
        assert!(!same_disk(&on(None), &on(None)));
    }
}
