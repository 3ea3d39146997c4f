//! Where PostgreSQL's programs are looked for on each operating system, and what to install when
//! none fits: the lists are data, one per OS ([`Os::places`]), all compiled everywhere so each
//! is tested on any machine against a fake root folder; which one applies here is chosen by `cfg`
//! ([`Os::CURRENT`]). The search ([`install_dirs`], [`dirs_holding`]) is the same code on every
//! OS. `PATH` and a configured folder come first ([`super::tools::candidate_dirs`]); these places
//! matter most for the desktop app, which on macOS starts without Homebrew on its `PATH`.

use std::path::{Path, PathBuf};

/// An operating system whose install layouts Offsite knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    /// Linux (and the other Unix systems, which share its layouts).
    Linux,
    MacOs,
    Windows,
}

/// One install location: path components under the system's root, one `*` at most per component
/// (any run of characters).
pub type Place = &'static [&'static str];

/// The install locations of one OS.
#[derive(Debug)]
pub struct Places {
    /// Folders holding the client programs (`pg_dump`, `pg_restore`, `psql`, `pg_receivewal`).
    pub client: &'static [Place],
    /// Further folders that may hold the server programs (`initdb`, `pg_ctl`, `postgres`) for a
    /// drill's throwaway cluster (the client folders are searched too).
    pub server: &'static [Place],
}

const LINUX: Places = Places {
    client: &[
        // Debian/Ubuntu, also apt.postgresql.org: one folder per major version.
        &["usr", "lib", "postgresql", "*", "bin"],
        // RHEL/Fedora/Rocky from the PGDG repository.
        &["usr", "pgsql-*", "bin"],
        // Homebrew on Linux.
        &[
            "home",
            "linuxbrew",
            ".linuxbrew",
            "opt",
            "postgresql@*",
            "bin",
        ],
    ],
    // A build from source (`make install`'s default prefix).
    server: &[&["usr", "local", "pgsql", "bin"]],
};

const MACOS: Places = Places {
    client: &[
        // Postgres.app (`latest` is a link to one of the versions).
        &[
            "Applications",
            "Postgres.app",
            "Contents",
            "Versions",
            "*",
            "bin",
        ],
        // Homebrew on Apple silicon, then on Intel: the versioned kegs, libpq (client only),
        // and the prefix's bin, which a program started from the Finder does not have on PATH.
        &["opt", "homebrew", "opt", "postgresql@*", "bin"],
        &["opt", "homebrew", "opt", "libpq", "bin"],
        &["opt", "homebrew", "bin"],
        &["usr", "local", "opt", "postgresql@*", "bin"],
        &["usr", "local", "opt", "libpq", "bin"],
        &["usr", "local", "bin"],
        // The EDB installer for macOS.
        &["Library", "PostgreSQL", "*", "bin"],
        // MacPorts.
        &["opt", "local", "lib", "postgresql*", "bin"],
    ],
    server: &[&["usr", "local", "pgsql", "bin"]],
};

const WINDOWS: Places = Places {
    client: &[
        // The EDB installer (also what Chocolatey and winget install): one folder per version.
        &["Program Files", "PostgreSQL", "*", "bin"],
        // pgAdmin 4 ships pg_dump, pg_restore and psql (in a version folder before pgAdmin 8).
        &["Program Files", "pgAdmin 4", "runtime"],
        &["Program Files", "pgAdmin 4", "*", "runtime"],
    ],
    server: &[],
};

impl Os {
    /// The system this program was built for.
    #[cfg(target_os = "macos")]
    pub const CURRENT: Os = Os::MacOs;
    #[cfg(windows)]
    pub const CURRENT: Os = Os::Windows;
    #[cfg(not(any(target_os = "macos", windows)))]
    pub const CURRENT: Os = Os::Linux;

    pub fn places(self) -> &'static Places {
        match self {
            Os::Linux => &LINUX,
            Os::MacOs => &MACOS,
            Os::Windows => &WINDOWS,
        }
    }

    /// What a program's file name ends with.
    pub const fn exe_suffix(self) -> &'static str {
        match self {
            Os::Windows => ".exe",
            Os::Linux | Os::MacOs => "",
        }
    }

    /// What to install for the client programs of PostgreSQL `major`.
    pub fn client_hint(self, major: u32) -> String {
        match self {
            Os::Linux => format!("install postgresql-client-{major} (on Debian/Ubuntu: `sudo apt install postgresql-client-{major}`, from apt.postgresql.org if your release lacks it; Fedora/RHEL: `postgresql{major}`)"),
            Os::MacOs => format!("install the PostgreSQL {major} client: `brew install postgresql@{major}` (or `brew install libpq`), or Postgres.app"),
            Os::Windows => format!("install PostgreSQL {major} with the EDB installer (https://www.postgresql.org/download/windows/; the \"Command Line Tools\" component is enough)"),
        }
    }

    /// What to install for the server programs of PostgreSQL `major` (a drill's cluster).
    pub fn server_hint(self, major: u32) -> String {
        match self {
            Os::Linux => format!("install the PostgreSQL {major} server binaries (Debian/Ubuntu: `sudo apt install postgresql-{major}`, from apt.postgresql.org if your release lacks it; Fedora/RHEL: `postgresql{major}-server`)"),
            Os::MacOs => format!("install the PostgreSQL {major} server: `brew install postgresql@{major}` or Postgres.app"),
            Os::Windows => format!("install PostgreSQL {major} with the EDB installer (https://www.postgresql.org/download/windows/; the \"PostgreSQL Server\" component; the service need not run)"),
        }
    }
}

/// The root the places of this system are under: `/`, or on Windows the system drive.
pub fn system_root() -> PathBuf {
    #[cfg(windows)]
    {
        let drive = std::env::var_os("SystemDrive")
            .filter(|d| d.len() == 2)
            .unwrap_or_else(|| "C:".into());
        let mut root = PathBuf::from(drive);
        root.push("\\");
        root
    }
    #[cfg(not(windows))]
    {
        PathBuf::from("/")
    }
}

/// The folders under `root` that `places` name, each `*` expanded to the names present (sorted);
/// folders that are not there are left out.
pub fn install_dirs(places: &[Place], root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for place in places {
        let mut at = vec![root.to_path_buf()];
        for comp in *place {
            at = at.iter().flat_map(|dir| expand(dir, comp)).collect();
        }
        out.extend(at.into_iter().filter(|d| d.is_dir()));
    }
    out
}

/// `dir/comp`, or for a component with a `*` every entry of `dir` matching it.
fn expand(dir: &Path, comp: &str) -> Vec<PathBuf> {
    let Some((prefix, suffix)) = comp.split_once('*') else {
        return vec![dir.join(comp)];
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            n.len() >= prefix.len() + suffix.len() && n.starts_with(prefix) && n.ends_with(suffix)
        })
        .collect();
    names.sort();
    names.into_iter().map(|n| dir.join(n)).collect()
}

/// Of `dirs`, those holding the program `main` and every one of `also` (file names ending with
/// `exe`), each with `main`'s path.
pub fn dirs_holding(
    dirs: impl IntoIterator<Item = PathBuf>,
    main: &str,
    also: &[&str],
    exe: &str,
) -> Vec<(PathBuf, PathBuf)> {
    dirs.into_iter()
        .filter_map(|dir| {
            let bin = dir.join(format!("{main}{exe}"));
            let all = bin.is_file() && also.iter().all(|a| dir.join(format!("{a}{exe}")).is_file());
            all.then_some((dir, bin))
        })
        .collect()
}

#[cfg(test)]
#[path = "tool_places_tests.rs"]
mod tests;
