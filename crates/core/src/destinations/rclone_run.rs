//! Running the `rclone` binary for [`super::RcloneDestination`]: argv only (never a shell),
//! its output read with size bounds (it is hostile input), its exit codes and messages mapped
//! to the engine's error codes.

use crate::error::{Error, ErrorKind, Result};
use serde::Deserialize;
use std::path::PathBuf;
use std::process::Stdio;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;

/// Most stdout kept from one rclone run (a listing of ~200,000 files); more is refused.
pub(super) const STDOUT_LIMIT: usize = 64 << 20;
/// Most stderr kept (its end: where rclone says what failed).
const STDERR_LIMIT: usize = 16 << 10;

/// How to start rclone.
#[derive(Debug, Clone)]
pub(super) struct Rclone {
    pub program: PathBuf,
    /// `--config FILE`; `None`: rclone's own choice (`RCLONE_CONFIG`, then its default file).
    pub config_file: Option<PathBuf>,
}

/// What one run printed.
pub(super) struct Ran {
    pub stdout: Vec<u8>,
}

impl Rclone {
    /// Run `rclone <args>` (global flags first, then `--` isn't used: every positional
    /// argument is a `remote:path` we built, which never starts with `-`). `what` names the
    /// step in errors.
    pub async fn run(&self, what: &str, args: &[&str], stdout_limit: usize) -> Result<Ran> {
        let mut cmd = tokio::process::Command::new(&self.program);
        if let Some(c) = &self.config_file {
            cmd.arg("--config").arg(c);
        }
        // No prompts (an encrypted config fails instead of waiting), one try per command (the
        // engine's Retrying retries), no progress output.
        cmd.args(["--ask-password=false", "--retries", "1", "-q"]);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::new(
                    ErrorKind::ToolMissing,
                    format!("{what}: rclone was not found ({})", self.program.display()),
                )
                .with_hint("install rclone (https://rclone.org/install/, or your system's package)")
            } else {
                Error::io(format!("{what}: starting rclone"), e)
            }
        })?;
        let mut out = child.stdout.take().expect("piped");
        let mut err = child.stderr.take().expect("piped");
        let read_out = async {
            let mut buf = Vec::new();
            (&mut out)
                .take(stdout_limit as u64 + 1)
                .read_to_end(&mut buf)
                .await
                .map(|_| buf)
        };
        let read_err = async {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = err.read(&mut chunk).await?;
                if n == 0 {
                    return Ok::<_, std::io::Error>(buf);
                }
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > STDERR_LIMIT {
                    buf.drain(..buf.len() - STDERR_LIMIT);
                }
            }
        };
        let (stdout, stderr) = tokio::try_join!(read_out, read_err)
            .map_err(|e| Error::io(format!("{what}: reading rclone's output"), e))?;
        if stdout.len() > stdout_limit {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(Error::new(
                ErrorKind::ToolFailed,
                format!("{what}: rclone answered more than {stdout_limit} bytes; refused"),
            ));
        }
        let status = child
            .wait()
            .await
            .map_err(|e| Error::io(format!("{what}: waiting for rclone"), e))?;
        if status.success() {
            return Ok(Ran { stdout });
        }
        Err(failure(
            what,
            status.code(),
            &String::from_utf8_lossy(&stderr),
        ))
    }
}

/// The last meaningful line of rclone's stderr (without its timestamp).
fn last_line(stderr: &str) -> String {
    let line = stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    // `2026/11/24 10:42:43 Failed to …` → `Failed to …`
    let mut parts = line.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(d), Some(t), Some(rest)) if d.contains('/') && t.contains(':') => rest,
        _ => line,
    }
    .chars()
    .filter(|c| !c.is_control())
    .take(500)
    .collect()
}

/// Map rclone's exit code (<https://rclone.org/docs/#exit-code>) and message to an error.
pub(super) fn failure(what: &str, code: Option<i32>, stderr: &str) -> Error {
    let said = last_line(stderr);
    let lower = stderr.to_ascii_lowercase();
    let msg = format!(
        "{what}: rclone failed (exit {}): {said}",
        code.unwrap_or(-1)
    );
    if lower.contains("didn't find section in config file")
        || lower.contains("config file not found")
    {
        return Error::invalid(msg).with_hint(
            "the remote is not in rclone's configuration: run `rclone config`, or set RCLONE_CONFIG to the file that has it",
        );
    }
    if lower.contains("accessdenied")
        || lower.contains("invalidaccesskeyid")
        || lower.contains("signaturedoesnotmatch")
        || lower.contains("401")
        || lower.contains("unauthorized")
        || lower.contains("permission denied")
        || lower.contains("403 forbidden")
    {
        let kind = if lower.contains("invalidaccesskeyid")
            || lower.contains("signaturedoesnotmatch")
            || lower.contains("401")
            || lower.contains("unauthorized")
        {
            ErrorKind::Auth
        } else {
            ErrorKind::Permission
        };
        return Error::new(kind, msg)
            .with_hint("check the remote's credentials and rights (`rclone config reconnect` for OAuth remotes)");
    }
    if lower.contains("no space left") || lower.contains("quota") {
        return Error::new(ErrorKind::DiskFull, msg)
            .with_hint("free some space at the destination, or choose another one");
    }
    if lower.contains("nosuchbucket") || lower.contains("bucket does not exist") {
        return Error::not_found(msg).with_hint("create the bucket first");
    }
    match code {
        Some(3) | Some(4) => Error::not_found(msg),
        Some(5) => Error::new(ErrorKind::Connection, msg).temporary(true),
        Some(1) => Error::invalid(msg),
        _ if lower.contains("connection refused")
            || lower.contains("no such host")
            || lower.contains("timeout")
            || lower.contains("connection reset")
            || lower.contains("i/o timeout") =>
        {
            Error::new(ErrorKind::Connection, msg).temporary(true)
        }
        _ => Error::new(ErrorKind::ToolFailed, msg),
    }
}

/// One entry of `rclone lsjson`.
#[derive(Debug, Deserialize)]
pub(super) struct LsEntry {
    #[serde(rename = "Path")]
    pub path: String,
    #[serde(rename = "Size", default)]
    pub size: i64,
    #[serde(rename = "ModTime", default)]
    pub mod_time: Option<String>,
    #[serde(rename = "IsDir", default)]
    pub is_dir: bool,
}

impl LsEntry {
    pub fn modified(&self) -> Option<OffsetDateTime> {
        let t = self.mod_time.as_deref()?;
        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    }
}

pub(super) fn parse_list(what: &str, stdout: &[u8]) -> Result<Vec<LsEntry>> {
    serde_json::from_slice(stdout).map_err(|e| {
        Error::new(
            ErrorKind::ToolFailed,
            format!("{what}: rclone's listing is not the JSON expected: {e}"),
        )
    })
}

pub(super) fn parse_stat(what: &str, stdout: &[u8]) -> Result<LsEntry> {
    serde_json::from_slice(stdout).map_err(|e| {
        Error::new(
            ErrorKind::ToolFailed,
            format!("{what}: rclone's answer is not the JSON expected: {e}"),
        )
    })
}

/// `rclone about --json`.
#[derive(Debug, Deserialize)]
pub(super) struct About {
    pub total: Option<u64>,
    pub free: Option<u64>,
}

/// The hex hash at the start of `rclone hashsum` output (`<hex>  <name>`).
pub(super) fn parse_hashsum(what: &str, stdout: &[u8]) -> Result<String> {
    let text = String::from_utf8_lossy(stdout);
    let first = text.split_whitespace().next().unwrap_or("");
    super::s3::valid_sha256(first).ok_or_else(|| {
        Error::new(
            ErrorKind::ToolFailed,
            format!("{what}: rclone did not print a SHA-256"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_messages_map_to_error_codes() {
        let k = |code, err: &str| failure("x", Some(code), err).kind();
        assert_eq!(k(3, "directory not found"), ErrorKind::NotFound);
        assert_eq!(k(4, "object not found"), ErrorKind::NotFound);
        assert_eq!(k(5, "temporary"), ErrorKind::Connection);
        assert!(failure("x", Some(5), "").is_temporary());
        assert_eq!(
            k(
                1,
                "Failed to create file system for \"nope:\": didn't find section in config file"
            ),
            ErrorKind::InvalidInput
        );
        assert_eq!(k(2, "InvalidAccessKeyId: bad"), ErrorKind::Auth);
        assert_eq!(k(2, "AccessDenied"), ErrorKind::Permission);
        assert_eq!(k(2, "write: no space left on device"), ErrorKind::DiskFull);
        assert_eq!(k(2, "dial tcp: connection refused"), ErrorKind::Connection);
        assert_eq!(k(2, "something else"), ErrorKind::ToolFailed);
        let e = failure("x", Some(2), "2026/11/24 10:42:43 Failed to copy: boom\n");
        assert!(e.message().ends_with("Failed to copy: boom"), "{e}");
    }

    #[test]
    fn hostile_output_is_refused_not_trusted() {
        assert!(parse_list("x", b"[").is_err());
        assert!(parse_list("x", b"{\"Path\": 1}").is_err());
        let l = parse_list("x", br#"[{"Path":"a/b","Size":3,"IsDir":false,"ModTime":"2026-11-24T10:42:42.828826074Z"}]"#).unwrap();
        assert_eq!(l[0].path, "a/b");
        assert!(l[0].modified().is_some());
        assert!(parse_hashsum("x", b"zz  f").is_err());
        assert_eq!(
            parse_hashsum("x", format!("{}  f\n", "ab".repeat(32)).as_bytes()).unwrap(),
            "ab".repeat(32)
        );
    }
}
