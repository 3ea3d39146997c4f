//! Finding `pg_dump` / `pg_restore` / `pg_dumpall` that can talk to a given server.
//!
//! Candidates come from a configured path (which then is the only place looked at), `PATH`, and
//! the usual install locations of this OS ([`super::tool_places`]: Linux, macOS and Windows each
//! have their own list). A pair is usable for a server when its
//! major version is ≥ the server's. Without Docker: when nothing fits, the error says exactly what
//! to install.

use super::tool_places::{dirs_holding, install_dirs, system_root, Os};
use crate::error::{Error, ErrorKind, Result};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const EXE: &str = Os::CURRENT.exe_suffix();

/// One directory holding pg_dump and pg_restore of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PgTools {
    pub dir: PathBuf,
    /// Full first line of `pg_dump --version`.
    pub version_line: String,
    pub major: u32,
    pub minor: u32,
}

impl PgTools {
    pub fn pg_dump(&self) -> PathBuf {
        self.dir.join(format!("pg_dump{EXE}"))
    }
    pub fn pg_restore(&self) -> PathBuf {
        self.dir.join(format!("pg_restore{EXE}"))
    }
    pub fn pg_dumpall(&self) -> PathBuf {
        self.dir.join(format!("pg_dumpall{EXE}"))
    }
    pub fn psql(&self) -> PathBuf {
        self.dir.join(format!("psql{EXE}"))
    }
    pub fn version(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

/// Parse "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" → (15, 18); "9.6.24" → (9, 6).
pub fn parse_version(line: &str) -> Option<(u32, u32)> {
    let token = line
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    let leading = |part: &str| {
        part.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u32>()
            .ok()
    };
    let mut parts = token.split('.');
    let major = leading(parts.next()?)?;
    let minor = parts.next().and_then(leading).unwrap_or(0);
    Some((major, minor))
}

/// Where to look, in order. `configured` (a directory or a pg_dump path) replaces the search.
pub fn candidate_dirs(configured: Option<&Path>) -> Vec<PathBuf> {
    if let Some(c) = configured {
        let dir = if c.is_file() {
            c.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            c.to_path_buf()
        };
        return vec![dir];
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(install_dirs(Os::CURRENT.places().client, &system_root()));
    dirs
}

/// Run `pg_dump --version` in each candidate that also has pg_restore; one entry per directory.
pub fn discover(configured: Option<&Path>) -> Vec<PgTools> {
    probe_dirs(candidate_dirs(configured), "pg_dump", &["pg_restore"])
        .into_iter()
        .map(|(dir, version_line, major, minor)| PgTools {
            dir,
            version_line,
            major,
            minor,
        })
        .collect()
}

/// For each of `dirs` holding `main` and every one of `also`: `(dir, first line of
/// main --version, major, minor)`, once per distinct `main` binary (symlinked folders count once).
pub(crate) fn probe_dirs(
    dirs: impl IntoIterator<Item = PathBuf>,
    main: &str,
    also: &[&str],
) -> Vec<(PathBuf, String, u32, u32)> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for (dir, bin) in dirs_holding(dirs, main, also, EXE) {
        let canonical = std::fs::canonicalize(&bin).unwrap_or(bin.clone());
        if !seen.insert(canonical) {
            continue;
        }
        let Ok(out) = Command::new(&bin).arg("--version").output() else {
            continue;
        };
        let line = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        if let Some((major, minor)) = parse_version(&line) {
            found.push((dir, line, major, minor));
        }
    }
    found
}

/// Choose tools for a server of `server_major`: the same major if present, else the closest newer
/// one (an archive needs a pg_restore at least as new as the pg_dump that wrote it, so the
/// closest version keeps restores possible on the most machines). Errors say what to install.
pub fn choose(found: &[PgTools], server_major: u32, configured: Option<&Path>) -> Result<PgTools> {
    if let Some(t) = found
        .iter()
        .filter(|t| t.major == server_major)
        .max_by_key(|t| t.minor)
    {
        return Ok(t.clone());
    }
    if let Some(t) = found
        .iter()
        .filter(|t| t.major > server_major)
        .max_by_key(|t| (std::cmp::Reverse(t.major), t.minor))
    {
        return Ok(t.clone());
    }
    let install = install_hint(server_major);
    let message = match found.iter().max_by_key(|t| (t.major, t.minor)) {
        Some(newest) => format!(
            "pg_dump {} cannot dump a PostgreSQL {server_major} server{}",
            newest.major,
            configured
                .map(|c| format!(" (configured path {})", c.display()))
                .unwrap_or_default()
        ),
        None => match configured {
            Some(c) => format!(
                "no pg_dump and pg_restore found in the configured path {}",
                c.display()
            ),
            None => format!("no pg_dump found (needed: version {server_major} or newer)"),
        },
    };
    Err(
        Error::new(ErrorKind::ToolMissing, message).with_hint(format!(
            "{install}, or set the path with --pg-bin / OFFSITE_PG_BIN (in the app: Settings)"
        )),
    )
}

/// Find tools for a server of `server_major` (discover + choose).
pub fn find_for(server_major: u32, configured: Option<&Path>) -> Result<PgTools> {
    choose(&discover(configured), server_major, configured)
}

/// The newest tools available, for work that has no server yet (listing an archive).
pub fn newest(configured: Option<&Path>) -> Result<PgTools> {
    discover(configured)
        .into_iter()
        .max_by_key(|t| (t.major, t.minor))
        .ok_or_else(|| {
            Error::new(ErrorKind::ToolMissing, "no pg_restore found").with_hint(format!(
                "{}, or set the path with --pg-bin / OFFSITE_PG_BIN",
                install_hint(15)
            ))
        })
}

fn install_hint(major: u32) -> String {
    Os::CURRENT.client_hint(major)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools(major: u32, minor: u32) -> PgTools {
        PgTools {
            dir: format!("/x/{major}").into(),
            version_line: format!("pg_dump (PostgreSQL) {major}.{minor}"),
            major,
            minor,
        }
    }

    #[test]
    fn version_lines() {
        assert_eq!(
            parse_version("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"),
            Some((15, 18))
        );
        assert_eq!(parse_version("pg_dump (PostgreSQL) 17beta2"), Some((17, 0)));
        assert_eq!(parse_version("pg_dump (PostgreSQL) 9.6.24"), Some((9, 6)));
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn choose_prefers_same_major_then_newer() {
        let found = vec![tools(14, 3), tools(15, 2), tools(15, 9), tools(17, 1)];
        assert_eq!(choose(&found, 15, None).unwrap().minor, 9);
        assert_eq!(choose(&found, 16, None).unwrap().major, 17);
        assert_eq!(
            choose(&[tools(16, 1), tools(17, 5)], 15, None)
                .unwrap()
                .major,
            16
        );
        assert_eq!(choose(&found, 13, None).unwrap().major, 14);
    }

    #[test]
    fn too_old_says_what_to_install() {
        let e = choose(&[tools(15, 4)], 16, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ToolMissing);
        assert_eq!(e.message(), "pg_dump 15 cannot dump a PostgreSQL 16 server");
        // This system's install command (each system's words: tool_places' tests).
        assert!(
            e.hint().unwrap().starts_with(&Os::CURRENT.client_hint(16)),
            "{:?}",
            e.hint()
        );
        let e = choose(&[], 16, None).unwrap_err();
        assert!(e.message().contains("no pg_dump found"));
    }

    #[test]
    fn discovers_system_tools() {
        // The test machine has the PostgreSQL client installed (the CI setup installs it).
        let found = discover(None);
        assert!(
            !found.is_empty(),
            "no pg_dump found on this machine; run .ci/setup.sh"
        );
        assert!(found.iter().all(|t| t.pg_restore().is_file()));
    }

    #[test]
    fn configured_dir_is_the_only_place_looked_at() {
        let dir = tempfile::tempdir().unwrap();
        assert!(discover(Some(dir.path())).is_empty());
        let e = find_for(15, Some(dir.path())).unwrap_err();
        assert!(e.message().contains("configured path"), "{}", e.message());
    }
}
