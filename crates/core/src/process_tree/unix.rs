//! Process groups.

use super::Tree;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

pub(super) fn spawn(cmd: &mut Command) -> io::Result<(Child, Tree)> {
    cmd.process_group(0);
    let child = cmd.spawn()?;
    let pid = child.id();
    Ok((child, Tree { pid }))
}

pub(super) fn kill(tree: &Tree) {
    // SAFETY: kill(2) of the process group the leader made; a group already gone makes it fail
    // with ESRCH, which changes nothing.
    unsafe {
        libc::kill(-(tree.pid as libc::pid_t), libc::SIGKILL);
    }
}
