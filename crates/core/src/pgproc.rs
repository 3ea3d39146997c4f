//! Running the PostgreSQL client tools: environment, stderr capture, and error mapping.

use crate::error::{Error, ErrorKind, Result};
use crate::project::ConnSpec;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

/// A command for a libpq tool, connected through the environment (never the command line).
pub fn command(program: &std::path::Path, spec: &ConnSpec, password: Option<&str>) -> Command {
    let mut cmd = Command::new(program);
    // Variables that would silently change where or how the tool connects.
    for var in [
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGOPTIONS",
        "PGHOSTADDR",
        "PGPASSFILE",
        "PGPASSWORD",
        "PGSSLMODE",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(spec.libpq_env(password));
    if password.is_none() {
        // Let headless users keep a standard ~/.pgpass or PGPASSWORD when nothing is stored.
        if let Some(pw) = std::env::var_os("PGPASSWORD") {
            cmd.env("PGPASSWORD", pw);
        }
        if let Some(pf) = std::env::var_os("PGPASSFILE") {
            cmd.env("PGPASSFILE", pf);
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Collects a child's stderr on a thread, keeping the last 64 KiB.
pub struct StderrTail(JoinHandle<String>);

impl StderrTail {
    pub fn start(child: &mut Child) -> StderrTail {
        let mut err = child.stderr.take().expect("stderr piped");
        StderrTail(std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            while let Ok(n) = err.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > 128 * 1024 {
                    buf.drain(..buf.len() - 64 * 1024);
                }
            }
            String::from_utf8_lossy(&buf).into_owned()
        }))
    }
    pub fn finish(self) -> String {
        self.0.join().unwrap_or_default()
    }
}

/// The last few meaningful lines of a tool's stderr.
pub fn tail_lines(stderr: &str, n: usize) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join("; ")
}

/// Turn a failed run of `tool` into an engine error, by what its stderr says.
pub fn tool_error(tool: &str, status: ExitStatus, stderr: &str) -> Error {
    let detail = tail_lines(stderr, 3);
    let lower = stderr.to_lowercase();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Error::new(
                ErrorKind::ToolFailed,
                format!("{tool} was killed by signal {sig} before it finished"),
            )
            .with_hint(
                "nothing was kept; run it again (was it stopped by the system for lack of memory?)",
            )
            .retryable(true);
        }
    }
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if has(&[
        "password authentication failed",
        "no password supplied",
        "authentication failed",
    ]) {
        return Error::new(
            ErrorKind::Auth,
            format!("{tool}: the server rejected the credentials: {detail}"),
        )
        .with_hint("check the user name and password stored for this project");
    }
    if has(&[
        "aborting because of server version mismatch",
        "unsupported version",
    ]) {
        return Error::new(ErrorKind::ToolMissing, format!("{tool}: {detail}"))
            .with_hint("install client tools of the server's major version or newer, or set the path with --pg-bin");
    }
    if has(&[
        "could not connect",
        "connection refused",
        "could not translate host name",
        "timeout expired",
        "server closed the connection unexpectedly",
        "connection to server",
        "terminating connection due to administrator command",
        "the database system is shutting down",
        "ssl",
        "could not receive data from server",
        "no connection to the server",
    ]) {
        return Error::new(
            ErrorKind::Connection,
            format!("{tool} lost or could not open its connection: {detail}"),
        )
        .with_hint("check that the server is running and reachable, then try again")
        .retryable(true);
    }
    if has(&["permission denied", "must be owner", "must be superuser"]) {
        return Error::new(ErrorKind::Permission, format!("{tool}: {detail}"))
            .with_hint("connect as a role that can read (or, to restore, create) every object, e.g. the database owner");
    }
    if has(&["does not exist"]) && has(&["database"]) {
        return Error::new(ErrorKind::NotFound, format!("{tool}: {detail}"))
            .with_hint("create the database first or fix its name");
    }
    Error::new(
        ErrorKind::ToolFailed,
        format!("{tool} failed ({status}): {detail}"),
    )
}

/// A running tool that is killed as soon as `cancel` fires, even while the caller is blocked
/// reading from or writing to it.
pub struct Guarded {
    child: std::sync::Arc<std::sync::Mutex<Child>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    watcher: Option<JoinHandle<()>>,
}

impl Guarded {
    /// Spawn `cmd`; returns the guard and the child's pipes that were requested.
    pub fn spawn(
        mut cmd: Command,
        what: &str,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<(
        Guarded,
        Option<std::process::ChildStdin>,
        Option<std::process::ChildStdout>,
        StderrTail,
    )> {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("starting {what}"), e))?;
        let stderr = StderrTail::start(&mut child);
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let child = Arc::new(Mutex::new(child));
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (child, stop, cancel) = (child.clone(), stop.clone(), cancel.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if cancel.is_cancelled() {
                        let _ = child.lock().unwrap().kill();
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
            })
        };
        Ok((
            Guarded {
                child,
                stop,
                watcher: Some(watcher),
            },
            stdin,
            stdout,
            stderr,
        ))
    }

    pub fn kill(&self) {
        let _ = self.child.lock().unwrap().kill();
    }

    /// Wait for the exit (still killed on cancel meanwhile).
    pub fn wait(mut self) -> Result<ExitStatus> {
        let status = loop {
            match self.child.lock().unwrap().try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) => {}
                Err(e) => return Err(Error::io("waiting for a PostgreSQL tool", e)),
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        self.stop_watcher();
        Ok(status)
    }

    fn stop_watcher(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if self.watcher.is_some() {
            // Dropped without wait(): never leave the tool running.
            self.kill();
            let _ = self.child.lock().unwrap().wait();
            self.stop_watcher();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn status(code: i32) -> ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        ExitStatus::from_raw(code << 8)
    }

    #[cfg(unix)]
    #[test]
    fn maps_stderr_to_kinds() {
        let e = tool_error("pg_dump", status(1), "pg_dump: error: connection to server at \"127.0.0.1\", port 1 failed: FATAL:  password authentication failed for user \"x\"\n");
        assert_eq!(e.kind(), ErrorKind::Auth);
        let e = tool_error(
            "pg_dump",
            status(1),
            "pg_dump: error: connection to server at \"h\" failed: Connection refused\n",
        );
        assert_eq!(e.kind(), ErrorKind::Connection);
        assert!(e.is_retryable());
        let e = tool_error(
            "pg_dump",
            status(1),
            "pg_dump: error: query failed: ERROR:  permission denied for table secret\n",
        );
        assert_eq!(e.kind(), ErrorKind::Permission);
        let e = tool_error(
            "pg_dump",
            status(1),
            "pg_dump: error: aborting because of server version mismatch\n",
        );
        assert_eq!(e.kind(), ErrorKind::ToolMissing);
        let e = tool_error("pg_restore", status(1), "weird\n\nlast line\n");
        assert_eq!(e.kind(), ErrorKind::ToolFailed);
        assert!(e.message().contains("weird; last line"));
        use std::os::unix::process::ExitStatusExt;
        let e = tool_error("pg_dump", ExitStatus::from_raw(9), "");
        assert!(e.message().contains("killed by signal 9"));
    }
}
