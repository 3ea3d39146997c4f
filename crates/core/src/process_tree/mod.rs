//! A program and every process it starts, stopped as one: cancelling a job (or the command
//! line's second Ctrl-C) must not leave `pg_dump -j`'s or `pg_restore -j`'s workers running on
//! with their server sessions.
//!
//! - Unix: the program leads a process group of its own (`setpgid` through
//!   `Command::process_group(0)`); a kill is `SIGKILL` to the group. A worker that leaves the
//!   group (`setsid`) escapes it — PostgreSQL's tools do not.
//! - Windows: the program starts suspended, is put into a Job Object of its own
//!   (`JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`) and only then resumed, so every process it starts is
//!   in the job from its first instruction; a kill is `TerminateJobObject`, and when Offsite
//!   itself dies its handle closes and Windows ends the whole tree.
//!
//! One [`Tree`] per started program; [`spawn`] starts it.

use std::io;
use std::process::{Child, Command};

#[cfg(unix)]
#[path = "unix.rs"]
mod imp;
#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

/// The process tree a started program leads.
#[derive(Debug)]
pub struct Tree {
    pid: u32,
    #[cfg(windows)]
    job: std::os::windows::io::OwnedHandle,
}

/// Start `cmd` leading a process tree of its own (a process group on Unix, a Job Object on
/// Windows). On Windows `cmd`'s creation flags are replaced (`CREATE_SUSPENDED` while the job is
/// set up).
pub fn spawn(cmd: &mut Command) -> io::Result<(Child, Tree)> {
    imp::spawn(cmd)
}

impl Tree {
    /// The leader's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Kill every process of the tree now (the leader too). A tree already gone is no error.
    pub fn kill(&self) {
        imp::kill(self)
    }

    /// Kill the tree whose leader is `child` (not yet reaped, so its id is still its own), then
    /// the child itself.
    pub fn kill_with(&self, child: &mut Child) {
        if let Ok(None) = child.try_wait() {
            self.kill();
        }
        let _ = child.kill();
    }
}

#[cfg(test)]
mod tests;
