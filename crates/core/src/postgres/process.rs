//! Running the PostgreSQL client tools: environment, stderr capture, and error mapping.

use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::ConnSpec;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Sender;
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
    stop_with_parent(&mut cmd);
    cmd
}

/// The tool gets SIGTERM when Offsite dies (Linux `PR_SET_PDEATHSIG`): a killed backup leaves
/// no pg_dump running on with its server sessions, a killed restore no pg_restore or psql.
/// The signal follows the *thread* that started the child, so a tool is started and waited for
/// on the same thread (as every caller here does). Checked after the call: when Offsite died
/// before it, no signal would ever come, and the tool does not start. Elsewhere: nothing.
pub fn stop_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs between fork and exec and calls only async-signal-safe
        // functions (prctl, getppid), allocating nothing.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// How much of a tool's stderr is kept from its start and from its end (the middle of a very
/// long stderr is dropped, never its first error).
const STDERR_KEEP: usize = 64 * 1024;

/// Collects a child's stderr on a thread, keeping its first and its last 64 KiB.
pub struct StderrTail(JoinHandle<String>);

impl StderrTail {
    pub fn start(child: &mut Child) -> StderrTail {
        Self::start_with(child, None)
    }

    /// As [`start`](Self::start), also passing each complete line (lossy UTF-8, at most
    /// [`LINE_MAX`] bytes; longer ones are cut) to `lines` as it arrives.
    pub fn start_with(child: &mut Child, lines: Option<Sender<String>>) -> StderrTail {
        let mut err = child.stderr.take().expect("stderr piped");
        StderrTail(std::thread::spawn(move || {
            let mut head = Vec::new();
            let mut tail = Vec::new();
            let mut dropped = 0usize;
            let mut chunk = [0u8; 8192];
            let mut line = Vec::new();
            while let Ok(n) = err.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                if let Some(tx) = &lines {
                    split_lines(&chunk[..n], &mut line, tx);
                }
                let mut bytes = &chunk[..n];
                if head.len() < STDERR_KEEP {
                    let take = bytes.len().min(STDERR_KEEP - head.len());
                    head.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                }
                tail.extend_from_slice(bytes);
                if tail.len() > 2 * STDERR_KEEP {
                    let cut = tail.len() - STDERR_KEEP;
                    dropped += cut;
                    tail.drain(..cut);
                }
            }
            let mut text = String::from_utf8_lossy(&head).into_owned();
            if dropped > 0 {
                text.push_str(&format!("\n[... {dropped} bytes not kept ...]\n"));
            }
            text.push_str(&String::from_utf8_lossy(&tail));
            text
        }))
    }
    pub fn finish(self) -> String {
        self.0.join().unwrap_or_default()
    }
}

/// The longest stderr line passed on whole by [`StderrTail::start_with`].
pub const LINE_MAX: usize = 4096;

fn split_lines(bytes: &[u8], line: &mut Vec<u8>, tx: &Sender<String>) {
    for &b in bytes {
        if b == b'\n' {
            let _ = tx.send(String::from_utf8_lossy(line).into_owned());
            line.clear();
        } else if line.len() < LINE_MAX {
            line.push(b);
        }
    }
}

/// At most this many bytes of a tool's stderr go into an error message.
pub const STDERR_SUMMARY_MAX: usize = 4096;
/// Longer lines are cut to this many bytes.
const SUMMARY_LINE_MAX: usize = 300;
/// The first error and at most this many of its DETAIL/HINT/CONTEXT/statement lines.
const SUMMARY_ERROR_LINES: usize = 12;
/// The last lines, after the first error's block.
const SUMMARY_TAIL_LINES: usize = 4;

/// What of a tool's stderr an error message carries: the first error (`ERROR:`, `FATAL:`,
/// `pg_restore: error: …`) with the lines that belong to it (`DETAIL:`, `HINT:`, `CONTEXT:`,
/// `LINE n:`, `Command was:` and the statement), then the last lines; lines cut to 300 bytes,
/// the whole at most [`STDERR_SUMMARY_MAX`] bytes, joined with `"; "`. Passwords are redacted
/// first ([`redact_secrets`]): `secret` wherever it appears, and any password in a URL, a
/// `password=` connection keyword or a SQL `PASSWORD '…'`.
pub fn stderr_summary(stderr: &str, secret: Option<&str>) -> String {
    let text = redact_secrets(stderr, secret);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut tail_from = lines.len().saturating_sub(SUMMARY_TAIL_LINES);
    if let Some(first) = lines.iter().position(|l| is_error_line(l)) {
        let block_end = first
            + 1
            + lines[first + 1..]
                .iter()
                .take_while(|l| !starts_new_message(l))
                .count();
        let shown_end = block_end.min(first + SUMMARY_ERROR_LINES);
        out.extend(lines[first..shown_end].iter().map(|l| cut_line(l.trim())));
        tail_from = tail_from.max(shown_end);
        if tail_from > shown_end {
            out.push(format!("[... {} more lines ...]", tail_from - shown_end));
        }
    } else if tail_from > 0 {
        out.push(format!("[... {tail_from} earlier lines ...]"));
    }
    out.extend(lines[tail_from..].iter().map(|l| cut_line(l.trim())));
    let mut joined = out.join("; ");
    if joined.len() > STDERR_SUMMARY_MAX {
        let mut cut = STDERR_SUMMARY_MAX - "…".len();
        while !joined.is_char_boundary(cut) {
            cut -= 1;
        }
        joined.truncate(cut);
        joined.push('…');
    }
    joined
}

/// A line that reports an error: the server's `ERROR:`/`FATAL:`/`PANIC:`, or a client tool's
/// own `pg_restore: error: …`.
fn is_error_line(line: &str) -> bool {
    static TOOL_ERROR: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let tool_error = TOOL_ERROR
        .get_or_init(|| regex::Regex::new(r"^[A-Za-z_]+: (error|fatal): ").expect("regex"));
    ["ERROR:", "FATAL:", "PANIC:"]
        .iter()
        .any(|k| line.contains(k))
        || tool_error.is_match(line.trim_start())
}

/// A line that starts the next message of a client tool (`pg_restore: warning: …`), rather than
/// continuing the current one (`DETAIL:`, `CONTEXT:`, a statement's next line,
/// `pg_dump: detail: Query was: …`).
fn starts_new_message(line: &str) -> bool {
    static PREFIX: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        regex::Regex::new(r"^(pg_[a-z_]+|psql|createdb|dropdb|initdb): (\w+):?").expect("regex")
    });
    match prefix.captures(line) {
        Some(c) => !matches!(&c[2], "detail" | "hint" | "DETAIL" | "HINT"),
        None => false,
    }
}

fn cut_line(line: &str) -> String {
    if line.len() <= SUMMARY_LINE_MAX {
        return line.to_string();
    }
    let mut cut = SUMMARY_LINE_MAX;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &line[..cut])
}

pub use crate::secrets::redact_secrets;

/// Turn a failed run of `tool` into an engine error, by what its stderr says. The message keeps
/// the first error with its context and the last lines ([`stderr_summary`]); `secret` (the
/// password the tool was given) and any other password in stderr are redacted.
pub fn tool_error(tool: &str, status: ExitStatus, stderr: &str, secret: Option<&str>) -> Error {
    let detail = stderr_summary(stderr, secret);
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
        return crate::postgres::conn::login_refused(None, format!("{tool}: {detail}"));
    }
    if has(&[
        "aborting because of server version mismatch",
        "unsupported version",
    ]) {
        return Error::new(ErrorKind::ToolMissing, format!("{tool}: {detail}"))
            .with_hint("install client tools of the server's major version or newer, or set the path with --pg-bin");
    }
    // The server refused a statement (its "ERROR:" says so): a privilege, not the connection.
    if stderr.contains("ERROR:")
        && has(&["permission denied", "must be owner", "must be superuser"])
    {
        return Error::new(ErrorKind::Permission, format!("{tool}: {detail}"))
            .with_hint("connect as a role that can read (or, to restore, create) every object, e.g. the database owner");
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
/// reading from or writing to it; a kill ends the whole process tree it leads
/// ([`crate::process_tree`]).
pub struct Guarded {
    child: std::sync::Arc<std::sync::Mutex<Child>>,
    tree: std::sync::Arc<crate::process_tree::Tree>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    watcher: Option<JoinHandle<()>>,
}

/// What [`Guarded::spawn`] returns: the guard and the child's pipes that were requested.
pub type Spawned = (
    Guarded,
    Option<std::process::ChildStdin>,
    Option<std::process::ChildStdout>,
    StderrTail,
);

/// The process trees of the guarded tools that run now (by their leaders' pids), for
/// [`kill_all_now`].
static RUNNING: std::sync::Mutex<
    std::collections::BTreeMap<u32, std::sync::Arc<crate::process_tree::Tree>>,
> = std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Kill every guarded tool that runs now and the processes each started: the second Ctrl-C of
/// the command line, which exits at once and must not leave a pg_dump or pg_restore (or their
/// workers) running behind it.
pub fn kill_all_now() {
    let trees: Vec<_> = RUNNING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .cloned()
        .collect();
    for tree in trees {
        tree.kill();
    }
}

fn running(tree: &std::sync::Arc<crate::process_tree::Tree>, runs: bool) {
    let mut set = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    if runs {
        set.insert(tree.pid(), tree.clone());
    } else {
        set.remove(&tree.pid());
    }
}

impl Guarded {
    /// Spawn `cmd` leading a process tree of its own (a kill takes its children down with it;
    /// the user's Ctrl-C reaches it through `cancel`, not the terminal's signal).
    pub fn spawn(
        cmd: Command,
        what: &str,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<Spawned> {
        Self::spawn_with_lines(cmd, what, cancel, None)
    }

    /// As [`spawn`](Self::spawn), also passing each line of stderr to `lines` as it arrives.
    pub fn spawn_with_lines(
        mut cmd: Command,
        what: &str,
        cancel: &tokio_util::sync::CancellationToken,
        lines: Option<Sender<String>>,
    ) -> Result<Spawned> {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let (mut child, tree) = crate::process_tree::spawn(&mut cmd)
            .map_err(|e| Error::io(format!("starting {what}"), e))?;
        let tree = Arc::new(tree);
        running(&tree, true);
        let stderr = StderrTail::start_with(&mut child, lines);
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let child = Arc::new(Mutex::new(child));
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (child, tree, stop, cancel) =
                (child.clone(), tree.clone(), stop.clone(), cancel.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if cancel.is_cancelled() {
                        tree.kill_with(&mut child.lock().unwrap());
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
            })
        };
        Ok((
            Guarded {
                child,
                tree,
                stop,
                watcher: Some(watcher),
            },
            stdin,
            stdout,
            stderr,
        ))
    }

    pub fn kill(&self) {
        self.tree.kill_with(&mut self.child.lock().unwrap());
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
        running(&self.tree, false);
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

    /// Whether process `pid` still runs (a zombie waiting for its reaper counts as ended).
    #[cfg(target_os = "linux")]
    fn runs(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the command name's closing parenthesis.
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
            Err(_) => false,
        }
    }

    /// pg_dump -j and pg_restore -j fork their workers; a cancelled tool must take them along (a
    /// worker left running keeps its server session dumping or restoring).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_cancel_kills_the_tool_and_the_children_it_forked() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("worker.pid");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(r#"sleep 30 & echo $! > "$0"; wait"#)
            .arg(&pid_file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let cancel = tokio_util::sync::CancellationToken::new();
        let (g, _, _, _stderr) = Guarded::spawn(cmd, "sh", &cancel).unwrap();
        let worker = loop {
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
            {
                break pid;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        assert!(runs(worker));
        cancel.cancel();
        let status = g.wait().unwrap();
        assert!(!status.success());
        let gone = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            !runs(worker)
        });
        if !gone {
            // SAFETY: the worker's pid, read back from the shell that forked it.
            unsafe { libc::kill(worker as libc::pid_t, libc::SIGKILL) };
        }
        assert!(gone, "the forked child is killed with the tool");
    }

    #[cfg(unix)]
    fn status(code: i32) -> ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        ExitStatus::from_raw(code << 8)
    }

    #[cfg(windows)]
    fn status(code: i32) -> ExitStatus {
        use std::os::windows::process::ExitStatusExt;
        ExitStatus::from_raw(code as u32)
    }

    #[cfg(unix)]
    #[test]
    fn maps_stderr_to_kinds() {
        let e = tool_error("pg_dump", status(1), "pg_dump: error: connection to server at \"127.0.0.1\", port 1 failed: FATAL:  password authentication failed for user \"x\"\n", None);
        assert_eq!(e.kind(), ErrorKind::Auth);
        // One sentence in the app's words; the tool's own words behind Details.
        assert_eq!(e.message(), "The database refused the password for user x.");
        assert!(
            e.detail().unwrap().starts_with("pg_dump: "),
            "{:?}",
            e.detail()
        );
        assert!(e
            .detail()
            .unwrap()
            .contains("password authentication failed"));
        let e = tool_error(
            "pg_dump",
            status(1),
            "pg_dump: error: connection to server at \"h\" failed: Connection refused\n",
            None,
        );
        assert_eq!(e.kind(), ErrorKind::Connection);
        assert!(e.is_retryable());
        let e = tool_error(
            "pg_dump",
            status(1),
            "pg_dump: error: query failed: ERROR:  permission denied for table secret\n",
            None,
        );
        assert_eq!(e.kind(), ErrorKind::Permission);
        let e = tool_error(
            "pg_dump",
            status(1),
            "pg_dump: error: aborting because of server version mismatch\n",
            None,
        );
        assert_eq!(e.kind(), ErrorKind::ToolMissing);
        let e = tool_error("pg_restore", status(1), "weird\n\nlast line\n", None);
        assert_eq!(e.kind(), ErrorKind::ToolFailed);
        assert!(e.message().contains("weird; last line"));
        use std::os::unix::process::ExitStatusExt;
        let e = tool_error("pg_dump", ExitStatus::from_raw(9), "", None);
        assert!(e.message().contains("killed by signal 9"));
    }

    /// pg_restore stopping on a function whose type is missing: the ERROR line, then 40 lines
    /// of the statement it was running, after a warning.
    fn restore_failure_with_40_lines_after_the_error() -> String {
        let mut s = String::from(
            "pg_restore: warning: could not set default_tablespace to \"fast\"\n\
             pg_restore: error: could not execute query: ERROR:  type \"public.mood\" does not exist\n\
             LINE 1: CREATE FUNCTION public.today_mood() RETURNS public.mood\n\
             \x20                                                   ^\n\
             HINT:  Create the type first.\n\
             Command was: CREATE FUNCTION public.today_mood() RETURNS public.mood\n",
        );
        for i in 0..35 {
            s.push_str(&format!(
                "    -- step {i}: a long body line that says nothing\n"
            ));
        }
        s.push_str("    LANGUAGE sql\n    AS $$ SELECT 'ok'::public.mood $$;\n");
        s
    }

    #[test]
    fn the_first_error_with_its_context_and_the_last_lines_are_kept() {
        let stderr = restore_failure_with_40_lines_after_the_error();
        assert!(stderr.lines().count() > 40);
        let summary = stderr_summary(&stderr, None);
        let parts: Vec<&str> = summary.split("; ").collect();
        assert_eq!(
            parts[0],
            "pg_restore: error: could not execute query: ERROR:  type \"public.mood\" does not exist"
        );
        assert!(
            parts.contains(&"HINT:  Create the type first."),
            "{summary}"
        );
        assert!(
            parts.contains(&"Command was: CREATE FUNCTION public.today_mood() RETURNS public.mood"),
            "{summary}"
        );
        assert!(parts.contains(&"LINE 1: CREATE FUNCTION public.today_mood() RETURNS public.mood"));
        // The warning before the error is not the cause: left out.
        assert!(!summary.contains("default_tablespace"), "{summary}");
        // The middle is counted, the end kept.
        assert!(summary.contains("more lines ...]"), "{summary}");
        assert_eq!(parts.last(), Some(&"AS $$ SELECT 'ok'::public.mood $$;"));
        assert!(
            parts.len() <= SUMMARY_ERROR_LINES + 1 + SUMMARY_TAIL_LINES,
            "{}",
            parts.len()
        );
        assert!(summary.len() <= STDERR_SUMMARY_MAX);

        // What the job's error says (it used to be the last 3 lines: the ERROR was lost).
        let e = tool_error("pg_restore", status(1), &stderr, None);
        assert_eq!(e.kind(), ErrorKind::ToolFailed);
        assert!(
            e.message()
                .contains("ERROR:  type \"public.mood\" does not exist"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn detail_hint_and_context_lines_stay_with_their_error_and_the_next_message_ends_it() {
        let stderr = "pg_dump: error: query failed: ERROR:  permission denied for table secret\n\
                      pg_dump: detail: Query was: LOCK TABLE public.secret IN ACCESS SHARE MODE\n\
                      pg_dump: warning: something else\n";
        let summary = stderr_summary(stderr, None);
        assert_eq!(
            summary,
            "pg_dump: error: query failed: ERROR:  permission denied for table secret; \
             pg_dump: detail: Query was: LOCK TABLE public.secret IN ACCESS SHARE MODE; \
             pg_dump: warning: something else"
        );
        let copy = "pg_restore: error: COPY failed for table \"items\": ERROR:  new row for relation \"items\" violates check constraint \"items_check\"\n\
                    DETAIL:  Failing row contains (1).\n\
                    CONTEXT:  COPY items, line 1: \"1\"\n";
        assert_eq!(stderr_summary(copy, None).split("; ").count(), 3);
        // No error line at all: the last lines, like before.
        let plain: String = (0..10).map(|i| format!("line {i}\n")).collect();
        assert_eq!(
            stderr_summary(&plain, None),
            "[... 6 earlier lines ...]; line 6; line 7; line 8; line 9"
        );
        assert_eq!(stderr_summary("", None), "");
    }

    #[test]
    fn the_summary_is_bounded_however_long_stderr_is() {
        let long_line = "x".repeat(10_000);
        let mut stderr =
            format!("pg_restore: error: could not execute query: ERROR:  {long_line}\n");
        for _ in 0..1000 {
            stderr.push_str(&format!("CONTEXT: é{long_line}\n"));
        }
        let summary = stderr_summary(&stderr, None);
        assert!(summary.len() <= STDERR_SUMMARY_MAX, "{}", summary.len());
        assert!(summary.starts_with("pg_restore: error: could not execute query: ERROR:  xxx"));
        for part in summary.split("; ") {
            assert!(part.len() <= SUMMARY_LINE_MAX + "…".len(), "{}", part.len());
        }
    }

    #[test]
    fn passwords_in_stderr_never_reach_the_message() {
        let secret = "p@ss:w0rd/%é";
        let encoded = "p%40ss%3Aw0rd%2F%25%C3%A9";
        let stderr = format!(
            "pg_dump: error: could not connect: invalid connection string postgres://app:hunter2@db.example.com:5432/shop\n\
             pg_restore: error: could not execute query: ERROR:  could not connect to the publisher: connection failed\n\
             Command was: CREATE SUBSCRIPTION s CONNECTION 'host=pub.example.com password=s3cret-sub dbname=shop' PUBLICATION p;\n\
             ALTER ROLE app PASSWORD 'md5abcdef0123';\n\
             CREATE USER MAPPING FOR app SERVER remote OPTIONS (user 'u', password 'mapping-pw');\n\
             CREATE ROLE x ENCRYPTED PASSWORD 'SCRAM-SHA-256$4096:salt$stored:server';\n\
             env: PGPASSWORD=from-env\n\
             echo: the password is {secret} or {encoded}\n\
             pg_dump: error: dsn postgresql://u:{encoded}@h/d failed\n"
        );
        for summary in [
            stderr_summary(&stderr, Some(secret)),
            tool_error("pg_restore", status(1), &stderr, Some(secret))
                .message()
                .to_string(),
            redact_secrets(&stderr, Some(secret)),
        ] {
            for leaked in [
                "hunter2",
                "s3cret-sub",
                "md5abcdef0123",
                "mapping-pw",
                "SCRAM-SHA-256$4096",
                "from-env",
                secret,
                encoded,
            ] {
                assert!(!summary.contains(leaked), "{leaked} in {summary}");
            }
        }
        let redacted = redact_secrets(&stderr, Some(secret));
        assert!(
            redacted.contains("postgres://app:[redacted]@db.example.com:5432/shop"),
            "{redacted}"
        );
        assert!(
            redacted.contains("host=pub.example.com password=[redacted] dbname=shop"),
            "{redacted}"
        );
        assert!(
            redacted.contains("ALTER ROLE app PASSWORD '[redacted]';"),
            "{redacted}"
        );
        assert!(redacted.contains("password '[redacted]');"), "{redacted}");
        // Without a known secret, the patterns alone still catch URLs and keywords.
        let bare = redact_secrets(
            "postgres://u:pw1@h/d and password=pw2 and PASSWORD 'pw3'",
            None,
        );
        assert_eq!(
            bare,
            "postgres://u:[redacted]@h/d and password=[redacted] and PASSWORD '[redacted]'"
        );
        // Words about passwords are not secrets.
        let auth = "FATAL:  password authentication failed for user \"x\"";
        assert_eq!(redact_secrets(auth, None), auth);
        assert_eq!(
            redact_secrets("postgres://u@h:5432/d", None),
            "postgres://u@h:5432/d"
        );
    }

    #[cfg(unix)]
    #[test]
    fn stderr_capture_keeps_the_start_of_a_long_stderr() {
        // An error first, then far more than the capture keeps, then a last line.
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "echo 'pg_restore: error: could not execute query: ERROR:  the first cause' >&2; \
             i=0; while [ $i -lt 4000 ]; do echo 'noise noise noise noise noise noise noise noise noise noise' >&2; i=$((i+1)); done; \
             echo 'the very last line' >&2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let tail = StderrTail::start(&mut child);
        child.wait().unwrap();
        let text = tail.finish();
        assert!(text.len() < 3 * STDERR_KEEP, "{}", text.len());
        assert!(text.contains("bytes not kept"));
        let summary = stderr_summary(&text, None);
        assert!(
            summary
                .starts_with("pg_restore: error: could not execute query: ERROR:  the first cause"),
            "{summary}"
        );
        assert!(summary.ends_with("the very last line"), "{summary}");
    }
}
