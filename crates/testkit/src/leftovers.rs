//! What a killed or cancelled run may leave behind, as tests look for it: pg_dump processes of
//! a database (Linux `/proc`), and Offsite's temporary files and folders in a folder.

use std::path::{Path, PathBuf};

/// The pg_dump processes whose environment names database `db` (`PGDATABASE`, as Offsite
/// passes it), by pid.
pub fn pg_dumps_of(db: &str) -> Vec<u32> {
    let wanted = format!("PGDATABASE={db}");
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for e in procs.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains("pg_dump") {
            continue;
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environ.split(|b| *b == 0).any(|kv| kv == wanted.as_bytes()) {
            found.push(pid);
        }
    }
    found
}

/// Offsite's temporary leftovers (`.offsite-tmp-…`) directly in `dir`.
pub fn temporaries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(".offsite-tmp-"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}
