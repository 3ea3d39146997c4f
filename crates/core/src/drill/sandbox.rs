//! The second layer around a drill's throwaway server: the `postgres` process is confined by the
//! operating system, so that even code that got a superuser's rights inside it could neither
//! start a program nor write outside the cluster's own folder.
//!
//! On Linux this is Landlock (5.13 and newer, enabled by most distributions): before `postgres`
//! is executed, the child process restricts itself to executing only files below the PostgreSQL
//! server binaries' folder and writing (creating, removing, truncating) only below the cluster's
//! private folder; it may read what its OS user may read. `COPY … TO PROGRAM` then fails to start
//! `/bin/sh`, `COPY … TO '/elsewhere'` fails to open the file. The restriction is inherited by
//! every backend the postmaster forks and cannot be lifted. Where the kernel offers Landlock ABI 4
//! (Linux 6.7 and newer) it may open and accept no TCP connection either; on older kernels the
//! network is not confined, and the report says so. The server is started directly (not
//! through `pg_ctl`, which starts it through a shell).
//!
//! Elsewhere (macOS, Windows) there is no such layer: the first one ([`super::confine`], a role
//! without those rights) is what protects the machine, and the drill's report says so.

use std::path::{Path, PathBuf};

/// How the throwaway server is confined, for the drill's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confinement {
    /// Executes only below `exec`, writes only below `write`; with `network`, opens and
    /// accepts no TCP connection either (Landlock ABI 4, Linux 6.7 and newer).
    Confined {
        exec: PathBuf,
        write: PathBuf,
        network: bool,
    },
    /// Not confined, and why.
    Unconfined(String),
}

impl Confinement {
    /// In plain words, for the report's line (the mechanism and the paths are
    /// [`Self::describe`]'s, its detail).
    pub fn plain(&self) -> String {
        match self {
            Confinement::Confined { .. } => "the throwaway server was confined by the operating system: it could run only PostgreSQL's own programs and write only in its own folder".into(),
            Confinement::Unconfined(_) => {
                "the throwaway server was not confined by the operating system".into()
            }
        }
    }

    /// In words, for the report's detail.
    pub fn describe(&self) -> String {
        match self {
            Confinement::Confined {
                exec,
                write,
                network,
            } => format!(
                "the throwaway server is confined by Landlock: it may execute only programs in {} and write only in {}{}",
                exec.display(),
                write.display(),
                if *network {
                    ", and may open no TCP connection"
                } else {
                    " (this kernel's Landlock does not restrict the network: TCP connections are not confined)"
                }
            ),
            Confinement::Unconfined(why) => {
                format!("the throwaway server is not confined by the operating system ({why})")
            }
        }
    }
}

/// A ruleset made in the parent, applied by the child just before it executes the server.
pub(crate) struct Sandbox {
    #[cfg(target_os = "linux")]
    fd: Option<std::os::fd::OwnedFd>,
    pub confinement: Confinement,
}

impl Sandbox {
    /// The ruleset for a server whose binaries are in `bins` and whose folder is `root`.
    pub(crate) fn new(bins: &Path, root: &Path) -> Sandbox {
        imp::new(bins, root)
    }

    /// Make `cmd`'s process restrict itself before it executes.
    pub(crate) fn apply(&self, cmd: &mut std::process::Command) {
        imp::apply(self, cmd)
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use super::{Confinement, Sandbox};
    use landlock::{
        Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
        RulesetAttr, RulesetCreatedAttr, ABI,
    };
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::path::Path;

    const ABI_USED: ABI = ABI::V3;

    pub(super) fn new(bins: &Path, root: &Path) -> Sandbox {
        match ruleset(bins, root) {
            Ok(Some(fd)) => Sandbox {
                fd: Some(fd),
                confinement: Confinement::Confined {
                    exec: bins.to_path_buf(),
                    write: root.to_path_buf(),
                    network: kernel_abi() >= 4,
                },
            },
            Ok(None) => Sandbox {
                fd: None,
                confinement: Confinement::Unconfined(
                    "this Linux kernel has no Landlock: it needs 5.13 or newer with Landlock enabled".into(),
                ),
            },
            Err(why) => Sandbox {
                fd: None,
                confinement: Confinement::Unconfined(format!("Landlock refused the rules: {why}")),
            },
        }
    }

    fn ruleset(bins: &Path, root: &Path) -> Result<Option<OwnedFd>, String> {
        let all = AccessFs::from_all(ABI_USED);
        let read = AccessFs::ReadFile | AccessFs::ReadDir;
        let beneath = |p: &Path, access| -> Result<PathBeneath<PathFd>, String> {
            let fd = PathFd::new(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(PathBeneath::new(fd, access))
        };
        // TCP too, where the kernel can (ABI 4): no rule allows any port, so the server (which
        // listens on its Unix socket only) and code loaded into it open no TCP connection.
        let mut created = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(all)
            .map_err(|e| e.to_string())?
            .handle_access(AccessNet::from_all(ABI::V4))
            .map_err(|e| e.to_string())?
            .create()
            .map_err(|e| e.to_string())?
            .add_rule(beneath(Path::new("/"), read)?)
            .map_err(|e| e.to_string())?
            .add_rule(beneath(bins, AccessFs::from_read(ABI_USED))?)
            .map_err(|e| e.to_string())?
            .add_rule(beneath(root, all)?)
            .map_err(|e| e.to_string())?
            .add_rule(beneath(
                Path::new("/dev/null"),
                AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate,
            )?)
            .map_err(|e| e.to_string())?;
        // The ELF interpreter is opened for execution with the server binary.
        for interp in interpreters() {
            created = created
                .add_rule(beneath(&interp, AccessFs::Execute | AccessFs::ReadFile)?)
                .map_err(|e| e.to_string())?;
        }
        Ok(created.into())
    }

    /// The Landlock ABI this kernel offers (0: none).
    fn kernel_abi() -> i64 {
        // SAFETY: LANDLOCK_CREATE_RULESET_VERSION with no attributes only returns a number.
        let v = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<u8>(),
                0usize,
                1u32,
            )
        };
        v.max(0)
    }

    /// The dynamic loaders of this machine (resolved: a rule holds the file, not the link).
    fn interpreters() -> Vec<std::path::PathBuf> {
        let mut found: Vec<std::path::PathBuf> = [
            "/lib64/ld-linux-x86-64.so.2",
            "/lib/ld-linux-aarch64.so.1",
            "/lib/ld-linux-armhf.so.3",
            "/lib/ld-musl-x86_64.so.1",
            "/lib/ld-musl-aarch64.so.1",
        ]
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
        found.sort();
        found.dedup();
        found
    }

    pub(super) fn apply(s: &Sandbox, cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        let Some(fd) = s.fd.as_ref().map(|f| f.as_raw_fd()) else {
            return;
        };
        // SAFETY: between fork and exec only async-signal-safe calls are made: two raw
        // syscalls, no allocation. The ruleset's descriptor is close-on-exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::syscall(libc::SYS_landlock_restrict_self, fd, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::{Confinement, Sandbox};
    use std::path::Path;

    pub(super) fn new(_bins: &Path, _root: &Path) -> Sandbox {
        Sandbox {
            confinement: Confinement::Unconfined(format!(
                "{} has no confinement Offsite uses; the drill's role holds no right to run programs or touch files",
                std::env::consts::OS
            )),
        }
    }

    pub(super) fn apply(_s: &Sandbox, _cmd: &mut std::process::Command) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where Offsite has no confinement (macOS, Windows), the report says "not confined",
    /// naming the OS; it never claims a confinement it lacks.
    #[cfg(not(target_os = "linux"))]
    #[test]
    fn without_landlock_the_report_says_not_confined() {
        let d = std::env::temp_dir();
        let s = Sandbox::new(&d, &d);
        assert!(matches!(s.confinement, Confinement::Unconfined(_)));
        let words = s.confinement.describe();
        assert!(words.contains("is not confined"), "{words}");
        assert!(words.contains(std::env::consts::OS), "{words}");
    }

    #[test]
    fn the_words_for_each_case() {
        let c = Confinement::Confined {
            exec: PathBuf::from("bin"),
            write: PathBuf::from("root"),
            network: true,
        };
        assert!(c.describe().contains("confined by Landlock"));
        let u = Confinement::Unconfined("why".into());
        assert!(u.describe().contains("not confined") && u.describe().contains("why"));
    }
}
