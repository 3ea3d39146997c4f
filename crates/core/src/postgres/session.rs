//! The psql sessions Offsite feeds SQL into (a plain dump's restore, the scripted restore of a
//! custom-format dump, the roles and clean-phase preamble of both).
//!
//! Defence in depth behind [`crate::plainsql`]'s lexer: where the local psql knows
//! `\restrict` (the CVE-2025-8714 fix: psql 13.22, 14.19, 15.14, 16.10, 17.6, 18 and later),
//! every session starts with `\restrict <random key>` of Offsite's own, so psql itself refuses
//! every backslash command that follows, even one the lexer missed. Offsite never sends
//! `\unrestrict`: nothing it runs after the dump needs a meta-command. The session also pins
//! what psql's lexing depends on (`standard_conforming_strings` on, client encoding UTF8)
//! before the first byte of the dump.

use std::path::Path;
use std::process::Command;

/// Whether psql `major.minor` has `\restrict`.
pub fn supports_restrict(major: u32, minor: u32) -> bool {
    match major {
        0..=12 => false,
        13 => minor >= 22,
        14 => minor >= 19,
        15 => minor >= 14,
        16 => minor >= 10,
        17 => minor >= 6,
        _ => true,
    }
}

/// `psql --version` of the psql at `psql`.
pub fn psql_version(psql: &Path) -> Option<(u32, u32)> {
    let out = Command::new(psql).arg("--version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout);
    crate::postgres::tools::parse_version(line.lines().next()?)
}

/// A random key for `\restrict` (alphanumeric, as psql requires).
pub fn restrict_key() -> String {
    use ring::rand::SecureRandom;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut buf = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("the system's random number generator");
    buf.iter()
        .map(|b| CHARS[*b as usize % CHARS.len()] as char)
        .collect()
}

/// The first lines of a session with the psql at `psql`: `\restrict KEY` when it supports it,
/// then the settings psql's lexing depends on, then `client_min_messages`.
pub fn opening(psql: &Path) -> String {
    let mut s = String::new();
    if psql_version(psql).is_some_and(|(major, minor)| supports_restrict(major, minor)) {
        s.push_str(&format!("\\restrict {}\n", restrict_key()));
    }
    s.push_str(SETTINGS);
    s
}

/// Pinned before the dump: pg_dump's own `SET`s follow and are tracked by the lexer.
pub const SETTINGS: &str = "SET client_min_messages = error;\nSET standard_conforming_strings = on;\nSET client_encoding = 'UTF8';\n";

/// The SQL Offsite writes around a script's body: `BEGIN;` and `before`, and `after` and
/// `COMMIT;`. Both pass [`crate::plainsql::check_own_sql`] (no meta-command, nothing open).
pub fn script_sql(before: &[String], after: &[String]) -> crate::error::Result<(String, String)> {
    let mut preamble = String::from("BEGIN;\n");
    for s in before {
        preamble.push_str(s);
        preamble.push('\n');
    }
    let mut end = String::new();
    for s in after {
        end.push_str(s);
        end.push('\n');
    }
    end.push_str("COMMIT;\n");
    crate::plainsql::check_own_sql(preamble.as_bytes())?;
    crate::plainsql::check_own_sql(end.as_bytes())?;
    Ok((preamble, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrict_versions_and_keys() {
        assert!(supports_restrict(15, 14) && supports_restrict(18, 0) && supports_restrict(17, 6));
        assert!(
            !supports_restrict(15, 13) && !supports_restrict(16, 9) && !supports_restrict(12, 99)
        );
        let (a, b) = (restrict_key(), restrict_key());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
