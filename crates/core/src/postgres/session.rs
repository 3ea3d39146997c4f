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
//!
//! [`Transaction`] is that session, written once: psql started with `ON_ERROR_STOP=1`, the
//! opening, `BEGIN` and the statements before; the caller feeds the body through [`Input`];
//! `COMMIT` is sent only when the caller says everything was fed and the dump's checksum was
//! verified ([`Transaction::finish`]); otherwise psql is stopped before it and the server rolls
//! everything back (also when the transaction is dropped unfinished, or on cancel).

use crate::error::{Error, Result};
use crate::postgres::conn::ConnSpec;
use crate::postgres::process;
use crate::postgres::tools::PgTools;
use std::io::Write;
use std::path::Path;
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use tokio_util::sync::CancellationToken;

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
/// Offsite's own statements run with the fixed `search_path`
/// ([`crate::postgres::conn::FIXED_SEARCH_PATH`]), set by a qualified call; the body runs in
/// the target's own path, as `psql -f` would run it (`RESET`: a statement, no function call) —
/// a pg_dump script sets its own, and a foreign script's unqualified names mean the target's.
fn script_sql(before: &[String], after: &[String]) -> crate::error::Result<(String, String)> {
    let fix = format!(
        "SELECT pg_catalog.set_config('search_path', '{}', false);\n",
        crate::postgres::conn::FIXED_SEARCH_PATH
    );
    let mut preamble = format!("BEGIN;\n{fix}");
    for s in before {
        preamble.push_str(s);
        preamble.push('\n');
    }
    preamble.push_str("RESET search_path;\n");
    let mut end = fix;
    for s in after {
        end.push_str(s);
        end.push('\n');
    }
    end.push_str("COMMIT;\n");
    crate::plainsql::check_own_sql(preamble.as_bytes())?;
    crate::plainsql::check_own_sql(end.as_bytes())?;
    Ok((preamble, end))
}

/// The database a session runs in and the tools and password to reach it.
#[derive(Clone, Copy)]
pub(crate) struct Target<'a> {
    pub tools: &'a PgTools,
    pub spec: &'a ConnSpec,
    pub password: Option<&'a str>,
}

/// One psql session running one transaction; see the module's documentation.
pub(crate) struct Transaction {
    psql: process::Guarded,
    stderr: process::StderrTail,
    end: String,
}

/// psql's stdin: the session's opening (`\restrict`, settings, `BEGIN`, the statements
/// before) goes first, at [`Input::start`] or before the first bytes written.
pub(crate) struct Input {
    stdin: ChildStdin,
    opening: Option<Vec<u8>>,
}

impl Input {
    /// Write the session's opening (once).
    pub(crate) fn start(&mut self) -> std::io::Result<()> {
        match self.opening.take() {
            Some(o) => self.stdin.write_all(&o),
            None => Ok(()),
        }
    }
}

impl Write for Input {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.start()?;
        self.stdin.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.stdin.flush()
    }
}

/// How a session ended.
pub(crate) struct Ended {
    pub status: ExitStatus,
    /// psql's stderr (bounded by [`process::StderrTail`]).
    pub stderr: String,
    /// Whether `COMMIT` reached psql (`Ok` too when it was never sent).
    pub commit_sent: std::io::Result<()>,
}

impl Ended {
    /// psql's failure, its stderr summarised with `password` redacted.
    pub(crate) fn error(&self, password: Option<&str>) -> Error {
        process::tool_error("psql", self.status, &self.stderr, password)
            .context("restoring into the target")
    }
}

impl Transaction {
    /// Start psql against `spec` with `before` to run after `BEGIN` and `after` before
    /// `COMMIT`; both pass [`crate::plainsql::check_own_sql`] first.
    pub(crate) fn open(
        to: &Target<'_>,
        before: &[String],
        after: &[String],
        cancel: &CancellationToken,
    ) -> Result<(Transaction, Input)> {
        let (preamble, end) = script_sql(before, after)?;
        let Target {
            tools,
            spec,
            password,
        } = *to;
        let opening = format!("{}{preamble}", opening(&tools.psql()));
        let mut psql = process::command(&tools.psql(), spec, password);
        psql.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-password"])
            .arg(format!("--dbname={}", spec.dbname_conninfo()))
            .stdin(Stdio::piped())
            .stdout(Stdio::null());
        let (psql, stdin, _, stderr) = process::Guarded::spawn(psql, "psql", cancel)?;
        let input = Input {
            stdin: stdin.expect("stdin piped"),
            opening: Some(opening.into_bytes()),
        };
        Ok((Transaction { psql, stderr, end }, input))
    }

    /// End the session: `COMMIT` when `commit` (the caller fed everything and verified the
    /// dump's checksum), otherwise psql is stopped before it and the server rolls back. Waits
    /// for psql; a cancelled session is [`Error::cancelled`].
    pub(crate) fn finish(
        self,
        mut input: Input,
        commit: bool,
        cancel: &CancellationToken,
    ) -> Result<Ended> {
        let mut commit_sent = Ok(());
        if commit && !cancel.is_cancelled() {
            commit_sent = input
                .start()
                .and_then(|_| input.stdin.write_all(self.end.as_bytes()))
                .and_then(|_| input.stdin.flush());
        } else {
            // No COMMIT ever reaches psql: the session ends and the server rolls back.
            self.psql.kill();
        }
        drop(input);
        let status = self.psql.wait()?;
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        Ok(Ended {
            status,
            stderr: self.stderr.finish(),
            commit_sent,
        })
    }
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
