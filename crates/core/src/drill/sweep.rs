//! At engine start-up: stop and remove the throwaway clusters of drills whose process is gone
//! (killed, crashed, power loss). A running drill holds its owner file locked, so a drill of
//! another live Offsite process (the app and the command line at once) is left alone.

use super::cluster::{stop_and_remove, OwnerFile, CLUSTERS_DIR};
use std::path::{Path, PathBuf};

/// Largest owner file read (a few hundred bytes when well-formed).
const MAX_OWNER_FILE: u64 = 64 * 1024;

/// Sweep `<data_dir>/drill-clusters`; returns the cluster folders removed.
pub(crate) fn sweep(data_dir: &Path) -> Vec<PathBuf> {
    let dir = data_dir.join(CLUSTERS_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("owner") {
            continue;
        }
        if let Some(root) = sweep_one(&path) {
            removed.push(root);
        }
    }
    // Folders with no owner file (a crash between creating the folder and writing its owner
    // file, which comes first, cannot happen; a crash after removing the owner file can).
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() && name.starts_with("offsite-drill-") && !owned(&dir, &p) {
                let _ = std::fs::remove_dir_all(&p);
                removed.push(p);
            }
        }
    }
    removed
}

/// The cluster of one owner file, when its drill is gone: stopped, its folder and the owner
/// file removed. `None` when it is still in use or unreadable.
fn sweep_one(owner_path: &Path) -> Option<PathBuf> {
    let file = crate::private_fs::open_options()
        .read(true)
        .write(true)
        .open(owner_path)
        .ok()?;
    // Held by a live drill: leave it.
    file.try_lock().ok()?;
    let owner = read_owner(owner_path);
    let root = match owner {
        Some(o) if is_cluster_folder(&o.root) => {
            let run_as = super::cluster::server_os_user().ok().flatten();
            stop_and_remove(&o.root, &o.bin_dir, run_as);
            Some(o.root)
        }
        _ => None,
    };
    let _ = std::fs::remove_file(owner_path);
    drop(file);
    tracing::info!("swept a drill's leftover cluster {:?}", root);
    root
}

fn read_owner(path: &Path) -> Option<OwnerFile> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_OWNER_FILE)
        .read_to_end(&mut buf)
        .ok()?;
    serde_json::from_slice(&buf).ok()
}

/// Only folders Offsite made for a drill are removed, whatever an owner file says.
fn is_cluster_folder(root: &Path) -> bool {
    root.is_absolute()
        && root
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("offsite-drill-"))
}

/// Whether an owner file in `dir` names `root`.
fn owned(dir: &Path, root: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().and_then(|x| x.to_str()) == Some("owner"))
        .filter_map(|e| read_owner(&e.path()))
        .any(|o| o.root == root)
}
