//! `offsite` and the tools it starts, as one tree a test kills at once: the product's own
//! [`offsite_core::process_tree`] (a process group and SIGKILL on Unix, Linux and macOS alike; a
//! Job Object and `TerminateJobObject` on Windows), so each kill test has a real variant per OS.

use offsite_core::process_tree::{self, Tree};
use std::process::{Child, Command};

/// Starts a command as the leader of a process tree of its own.
pub trait SpawnTree {
    fn spawn_tree(&mut self) -> (Child, Tree);
}

impl SpawnTree for Command {
    fn spawn_tree(&mut self) -> (Child, Tree) {
        process_tree::spawn(self).expect("starting offsite in a process tree of its own")
    }
}

/// Kill `child` and every process it started, without warning, and reap it: it must not have
/// ended on its own first (the kill is what the test is about).
pub fn kill_tree(tree: &Tree, child: &mut Child) {
    tree.kill_with(child);
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "offsite ({}) was killed, not finished: {status}",
        tree.pid()
    );
}
