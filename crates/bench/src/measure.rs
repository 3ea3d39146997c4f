//! Running a child process and measuring it: wall time, CPU time and peak RSS.
//!
//! The child is spawned normally, waited for without being reaped (`waitid(WNOWAIT)`) while a
//! thread polls its own `VmHWM`, and then reaped with `wait4`, whose `rusage` is the child's own:
//! `ru_maxrss` is the largest peak RSS among the child and the descendants it waited for (for
//! `offsite backup`: offsite itself, pg_dump, pg_dumpall), and `ru_utime`/`ru_stime` are the CPU
//! times of the child plus those descendants.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one measured child run gave.
#[derive(Debug, Clone)]
pub struct Measured {
    pub wall: Duration,
    /// `ru_maxrss` from `wait4`, in KiB (max over the child and its waited-for descendants).
    pub maxrss_kib: u64,
    /// The child process's own `VmHWM` (polled from /proc while it ran), in KiB.
    pub own_hwm_kib: Option<u64>,
    /// User + system CPU of the child and its waited-for descendants.
    pub cpu: Duration,
    /// Exit code, or `None` when killed by a signal.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Direct child processes seen while it ran (polled every ~50 ms): when each was first and
    /// last seen, in seconds after the start.
    pub children: Vec<ChildSpan>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ChildSpan {
    pub pid: u32,
    pub comm: String,
    pub first_seen: f64,
    pub last_seen: f64,
}

impl Measured {
    /// The longest-lived child named `comm`.
    pub fn child(&self, comm: &str) -> Option<&ChildSpan> {
        self.children
            .iter()
            .filter(|c| c.comm == comm)
            .max_by(|a, b| {
                (a.last_seen - a.first_seen)
                    .partial_cmp(&(b.last_seen - b.first_seen))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    }
}

impl Measured {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    pub fn secs(&self) -> f64 {
        self.wall.as_secs_f64()
    }

    pub fn status_text(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            _ => "unknown status".into(),
        }
    }

    /// An error message naming `what`, with the end of the child's stderr.
    pub fn failure(&self, what: &str) -> String {
        let err = String::from_utf8_lossy(&self.stderr);
        let out = String::from_utf8_lossy(&self.stdout);
        format!(
            "{what} failed ({}):\n{}\n{}",
            self.status_text(),
            tail(&err, 4000),
            tail(&out, 4000)
        )
    }

    /// `Err` with [`failure`](Self::failure) unless the child exited 0.
    pub fn check(self, what: &str) -> Result<Measured, String> {
        if self.success() {
            Ok(self)
        } else {
            Err(self.failure(what))
        }
    }
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut cut = s.len() - max;
    while !s.is_char_boundary(cut) {
        cut += 1;
    }
    &s[cut..]
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// `VmHWM` of `pid` in KiB (`None` once it has exited: a zombie has no memory map).
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `cmd` (stdout and stderr captured, stdin fed from `stdin` or null) and measures it.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Result<Measured, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let pid = child.id();

    let writer = match (child.stdin.take(), stdin) {
        (Some(mut pipe), Some(bytes)) => {
            let data = bytes.to_vec();
            Some(std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_t = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err_t = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );

    // Poll the child's own high-water mark until it has exited (it is not reaped before the
    // poller stops, so its pid cannot be reused meanwhile).
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut best: Option<u64> = None;
            let mut children: Vec<ChildSpan> = Vec::new();
            let mut scan = true;
            loop {
                if let Some(h) = vm_hwm_kib(pid) {
                    best = Some(best.map_or(h, |b| b.max(h)));
                }
                if scan {
                    let now = start.elapsed().as_secs_f64();
                    for (cpid, comm) in children_of(pid) {
                        match children
                            .iter_mut()
                            .find(|c| c.pid == cpid && c.comm == comm)
                        {
                            Some(c) => c.last_seen = now,
                            None => children.push(ChildSpan {
                                pid: cpid,
                                comm,
                                first_seen: now,
                                last_seen: now,
                            }),
                        }
                    }
                }
                scan = !scan;
                if stop.load(Ordering::SeqCst) {
                    return (best, children);
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        })
    };

    // Wait for the exit without reaping.
    loop {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: plain syscall on our own child.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("waitid({program}): {err}"));
        }
    }
    stop.store(true, Ordering::SeqCst);
    let (own_hwm_kib, children) = poller.join().unwrap_or((None, Vec::new()));

    // Reap it, with its resource usage.
    let mut status: libc::c_int = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: plain syscall on our own (exited) child.
        let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut ru) };
        if rc == pid as libc::pid_t {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait4({program}): {err}"));
        }
    }
    let wall = start.elapsed();
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    // `child` was reaped by wait4: dropping it neither waits nor kills.
    drop(child);

    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    Ok(Measured {
        wall,
        maxrss_kib: ru.ru_maxrss.max(0) as u64,
        own_hwm_kib,
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        code,
        signal,
        stdout,
        stderr,
        children,
    })
}

/// Live direct children of `parent`: (pid, comm).
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (s.find('('), s.rfind(')')) else {
            continue;
        };
        let ppid = s[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u32>().ok());
        if ppid == Some(parent) {
            out.push((pid, s[open + 1..close].to_string()));
        }
    }
    out
}

/// CPU time used by a PostgreSQL server so far (all its processes): the live children of the
/// postmaster plus what the postmaster has reaped (`cutime + cstime`) plus its own.
pub struct ServerCpu {
    postmaster: u32,
    tick: f64,
}

impl ServerCpu {
    pub fn new(data_dir: &Path) -> Option<ServerCpu> {
        let pidfile = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
        let postmaster = pidfile.lines().next()?.trim().parse().ok()?;
        // SAFETY: plain libc call.
        let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Some(ServerCpu {
            postmaster,
            tick: if tick > 0 { tick as f64 } else { 100.0 },
        })
    }

    /// Seconds of CPU consumed by the server so far.
    pub fn total(&self) -> f64 {
        let mut ticks: u64 = 0;
        if let Some(f) = stat_fields(self.postmaster) {
            // utime stime cutime cstime (fields 14-17; index 11.. after the comm field)
            ticks += f.get(11..15).map(|v| v.iter().sum()).unwrap_or(0);
        }
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                if let Some(f) = stat_fields(pid) {
                    // field 4 = ppid (index 1 after comm)
                    if f.get(1).copied() == Some(self.postmaster as u64) {
                        ticks += f.get(11..13).map(|v| v.iter().sum()).unwrap_or(0);
                    }
                }
            }
        }
        ticks as f64 / self.tick
    }
}

/// The numeric fields of /proc/PID/stat after `comm`, starting with `state` mapped to 0
/// (index 0 = state, 1 = ppid, … 11 = utime, 12 = stime, 13 = cutime, 14 = cstime).
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    Some(
        rest.split_whitespace()
            .map(|v| v.parse::<i64>().map(|x| x.max(0) as u64).unwrap_or(0))
            .collect(),
    )
}

/// Give the next run memory the machine already backs. On a VM with free page reporting (this
/// Firecracker guest: virtio-balloon `REPORTING`), pages free for more than a few seconds are
/// handed back to the host, and the next process to touch them waits for the host to fault
/// them in again: writing 1 GiB into the page cache took 0.18 s with pages freed a moment
/// before and 1.2–1.9 s with pages freed 5 s before (dd, measured 2026-11-23), to whichever
/// contender came after a longer pause. Writing a throwaway file of `bytes` into the page cache
/// and deleting it (never written back) leaves that much memory freshly freed and backed,
/// before each run of each contender alike. A laptop has no host: its free memory is always
/// there. The benches' `--cold-memory` skips this.
#[allow(dead_code)] // the database bench does not use it
pub fn warm_memory(dir: &Path, bytes: u64) {
    let path = dir.join("warm-up.tmp");
    let mut f = std::fs::File::create(&path).expect("create the warm-up file");
    let buf = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n]).expect("write the warm-up file");
        left -= n as u64;
    }
    drop(f);
    std::fs::remove_file(&path).expect("remove the warm-up file");
}
