//! Server binaries of one PostgreSQL major version, for the tests of an older source (a
//! PostgreSQL 13 server has no `pg_read_all_data`: Offsite reads it another way).
//!
//! Where they are looked for, in order: `$OFFSITE_TEST_PG<major>_BIN` (e.g.
//! `OFFSITE_TEST_PG13_BIN`); the private prefix `.ci/setup.sh` unpacks them into
//! (`/opt/offsite/pg<major>/usr/lib/postgresql/<major>/bin`, see `.ci/pg13.sh`); the
//! distribution's own `/usr/lib/postgresql/<major>/bin`. None of them: the test panics saying
//! what to run — it never skips.

use std::path::PathBuf;

/// The folder of PostgreSQL `major`'s server and client binaries (`initdb`, `postgres`,
/// `pg_ctl`, `psql`, `pg_dump`, …), whose `postgres --version` says that major. Panics when
/// there is none.
pub fn bin_dir(major: u32) -> PathBuf {
    let var = format!("OFFSITE_TEST_PG{major}_BIN");
    let candidates: Vec<(PathBuf, String)> = match std::env::var_os(&var) {
        // Set: the only place looked at (a wrong value is said, not worked around).
        Some(dir) => vec![(PathBuf::from(dir), format!("${var}"))],
        None => vec![
            (
                PathBuf::from(format!(
                    "/opt/offsite/pg{major}/usr/lib/postgresql/{major}/bin"
                )),
                "the folder .ci/setup.sh fills".to_string(),
            ),
            (
                PathBuf::from(format!("/usr/lib/postgresql/{major}/bin")),
                "the distribution's package".to_string(),
            ),
        ],
    };
    let mut seen = Vec::new();
    for (dir, origin) in &candidates {
        let postgres = dir.join("postgres");
        let said = std::process::Command::new(&postgres)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        match said {
            Ok(line) if version_major(&line) == Some(major) => return dir.clone(),
            Ok(line) => seen.push(format!("{} ({origin}) says {line:?}", postgres.display())),
            Err(e) => seen.push(format!("{} ({origin}): {e}", postgres.display())),
        }
    }
    panic!(
        "testkit: no PostgreSQL {major} server binaries: {}. Tests of a PostgreSQL {major} \
         source do not skip: run `.ci/setup.sh` (it unpacks Debian's PostgreSQL {major} \
         packages into /opt/offsite/pg{major}: docs/development.md), or set ${var} to a folder \
         holding initdb, pg_ctl, postgres, psql and pg_dump of that version",
        seen.join("; ")
    )
}

/// `postgres (PostgreSQL) 13.16 (Debian …)` → 13.
fn version_major(line: &str) -> Option<u32> {
    line.split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?
        .split('.')
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_major_is_read_from_the_version_line() {
        assert_eq!(
            super::version_major("postgres (PostgreSQL) 13.16 (Debian 13.16-0+deb11u1)"),
            Some(13)
        );
        assert_eq!(
            super::version_major("postgres (PostgreSQL) 9.6.24"),
            Some(9)
        );
        assert_eq!(super::version_major("nothing"), None);
    }
}
