//! The audit log: one JSON line per API call in `audit.log` in the data folder — time, token id
//! (never the token), method, path (never the query: signed URLs carry their signature there),
//! status and duration.

use offsite_core::{Error, Result};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file in the data folder.
pub const AUDIT_FILE: &str = "audit.log";

/// One line of the log.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AuditEntry<'a> {
    /// RFC 3339, UTC.
    pub time: &'a str,
    pub token_id: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration_ms: u64,
}

/// Longest path written to the log; longer ones are cut (with a note of the bytes left out).
pub const MAX_LOGGED_PATH: usize = 200;
/// Longest method written to the log.
pub const MAX_LOGGED_METHOD: usize = 16;

/// `s` as it goes into the log: bytes outside printable ASCII (and `%`, `"`, `\\`) escaped as
/// `%XX`, cut to `max` bytes with `…(+N bytes)` telling how many were left out. The result is
/// printable ASCII (plus that one ellipsis) and at most `max + 32` bytes long.
pub fn loggable(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max) + 24);
    let bytes = s.as_bytes();
    let mut used = 0;
    for &b in bytes {
        let piece_len = if (0x21..=0x7e).contains(&b) && !matches!(b, b'%' | b'"' | b'\\') {
            1
        } else {
            3
        };
        if out.len() + piece_len > max {
            break;
        }
        if piece_len == 1 {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
        used += 1;
    }
    if used < bytes.len() {
        out.push_str(&format!("\u{2026}(+{} bytes)", bytes.len() - used));
    }
    out
}

/// Appends entries to the log (each line in one write), rotating it by size: `audit.log` →
/// `audit.log.1` → … → `audit.log.N` (the oldest dropped). Every file is mode 0600.
pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: Mutex<(std::fs::File, u64)>,
}

fn open_append(path: &Path) -> Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

impl AuditLog {
    /// Open (create) the log in `data_dir` for appending (mode 0600), with the default rotation.
    pub fn open(data_dir: &Path) -> Result<Self> {
        Self::open_with(
            data_dir,
            crate::config::DEFAULT_AUDIT_LOG_MAX_BYTES,
            crate::config::DEFAULT_AUDIT_LOG_KEEP,
        )
    }

    /// Open the log, rotating it at `max_bytes` and keeping `keep` rotated files.
    pub fn open_with(data_dir: &Path, max_bytes: u64, keep: usize) -> Result<Self> {
        let path = data_dir.join(AUDIT_FILE);
        let file = open_append(&path)?;
        let size = file
            .metadata()
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
            .len();
        Ok(AuditLog {
            path,
            max_bytes,
            keep,
            file: Mutex::new((file, size)),
        })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name of the `n`th rotated file (`audit.log.n`).
    pub fn rotated(&self, n: usize) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{n}"));
        PathBuf::from(p)
    }

    /// Move `audit.log` to `audit.log.1` (and so on), start a new one.
    fn rotate(&self, current: &mut (std::fs::File, u64)) -> Result<()> {
        if self.keep == 0 {
            let _ = std::fs::remove_file(&self.path);
        } else {
            let _ = std::fs::remove_file(self.rotated(self.keep));
            for n in (1..self.keep).rev() {
                let from = self.rotated(n);
                if from.exists() {
                    std::fs::rename(&from, self.rotated(n + 1))
                        .map_err(|e| Error::io(format!("rotating {}", from.display()), e))?;
                }
            }
            std::fs::rename(&self.path, self.rotated(1))
                .map_err(|e| Error::io(format!("rotating {}", self.path.display()), e))?;
        }
        *current = (open_append(&self.path)?, 0);
        Ok(())
    }

    /// Append one request's entry (path and method made loggable). A failure to log is
    /// reported on stderr, never to the client.
    pub fn append(&self, entry: &AuditEntry<'_>) {
        let method = loggable(entry.method, MAX_LOGGED_METHOD);
        let path = loggable(entry.path, MAX_LOGGED_PATH);
        let entry = AuditEntry {
            method: &method,
            path: &path,
            ..*entry
        };
        if let Ok(line) = serde_json::to_vec(&entry) {
            self.write_line(line);
        }
    }

    /// Append an event of the agent's own (a client throttled, a summary).
    pub fn note(&self, event: &serde_json::Value) {
        if let Ok(line) = serde_json::to_vec(event) {
            self.write_line(line);
        }
    }

    fn write_line(&self, mut line: Vec<u8>) {
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if f.1 > 0 && f.1 + line.len() as u64 > self.max_bytes {
            if let Err(e) = self.rotate(&mut f) {
                tracing::error!("rotating the audit log: {}", e.message());
            }
        }
        match f.0.write_all(&line) {
            Ok(()) => f.1 += line.len() as u64,
            Err(e) => tracing::error!("writing the audit log {}: {e}", self.path.display()),
        }
    }
}

/// One audit line as [`AuditLog::append`] writes it (for tests and fuzzing).
pub fn format_line(entry: &AuditEntry<'_>) -> String {
    let method = loggable(entry.method, MAX_LOGGED_METHOD);
    let path = loggable(entry.path, MAX_LOGGED_PATH);
    serde_json::to_string(&AuditEntry {
        method: &method,
        path: &path,
        ..*entry
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_are_cut_and_escaped() {
        let long = format!("/x{}", "a".repeat(5000));
        let l = loggable(&long, MAX_LOGGED_PATH);
        assert!(l.len() <= MAX_LOGGED_PATH + 32, "{}", l.len());
        assert!(l.ends_with("(+4802 bytes)"), "{l}");
        assert_eq!(loggable("/a b\n\"%", 100), "/a%20b%0A%22%25");
        assert_eq!(loggable("/\u{e9}", 100), "/%C3%A9");
    }

    #[test]
    fn the_log_rotates_by_size_keeping_n_private_files() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open_with(dir.path(), 4096, 2).unwrap();
        let e = AuditEntry {
            time: "t",
            token_id: None,
            method: "GET",
            path: &"/p".repeat(100),
            status: 401,
            duration_ms: 0,
        };
        for _ in 0..200 {
            log.append(&e);
        }
        let total: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|f| f.unwrap().metadata().unwrap().len())
            .sum();
        assert!(total <= 3 * 4096, "{total}");
        assert!(log.rotated(1).exists() && log.rotated(2).exists());
        assert!(!log.rotated(3).exists());
        #[cfg(unix)]
        for p in [log.path().to_path_buf(), log.rotated(1), log.rotated(2)] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", p.display());
        }
        for l in std::fs::read_to_string(log.path()).unwrap().lines() {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
    }
}
