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
#[derive(Debug, Serialize)]
pub struct AuditEntry<'a> {
    /// RFC 3339, UTC.
    pub time: String,
    pub token_id: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration_ms: u64,
}

/// Appends entries to the log (each line in one write).
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl AuditLog {
    /// Open (create) the log in `data_dir` for appending (mode 0600).
    pub fn open(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(AUDIT_FILE);
        let mut o = std::fs::OpenOptions::new();
        o.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let file = o
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        Ok(AuditLog {
            path,
            file: Mutex::new(file),
        })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one entry. A failure to log is reported on stderr, never to the client.
    pub fn append(&self, entry: &AuditEntry<'_>) {
        let mut line = match serde_json::to_vec(entry) {
            Ok(l) => l,
            Err(_) => return,
        };
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = f.write_all(&line) {
            tracing::error!("writing the audit log {}: {e}", self.path.display());
        }
    }
}
