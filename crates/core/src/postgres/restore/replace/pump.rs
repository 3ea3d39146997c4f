//! pg_restore's SQL on its way to psql in a scripted restore: its final `COMMIT` and the owner
//! statements of chosen roles left out, every psql command refused (see
//! [`pump_without_commit`]).

use crate::error::Error;
use crate::postgres::restore::quote_ident;
use std::collections::BTreeSet;
use std::io::{Read, Write};

/// The endings (` OWNER TO role;\n`) of the owner statements to leave out, with the role
/// written as pg_restore writes it (quoted only when it must be).
pub(crate) fn owner_suffixes(roles: &BTreeSet<String>) -> Vec<Vec<u8>> {
    roles
        .iter()
        .map(|r| format!(" OWNER TO {};\n", fmt_id(r)).into_bytes())
        .collect()
}

/// An identifier as PostgreSQL's `fmtId` writes it: bare when it is a plain lower-case name,
/// quoted otherwise.
fn fmt_id(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain && !RESERVED.contains(&s) {
        s.to_string()
    } else {
        quote_ident(s)
    }
}

/// Key words `fmtId` quotes (the reserved ones a role could be named after).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_role",
    "current_user",
    "default",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "into",
    "leading",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "primary",
    "references",
    "select",
    "session_user",
    "some",
    "table",
    "then",
    "to",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "when",
    "where",
    "with",
    "authorization",
    "binary",
    "cross",
    "full",
    "inner",
    "join",
    "left",
    "natural",
    "outer",
    "right",
    "similar",
    "verbose",
];

/// Copy pg_restore's SQL to psql, leaving out its final `COMMIT;` (the one of
/// `--single-transaction`; only comments follow it): the caller commits. Statements
/// `ALTER … OWNER TO role;` ending in one of `owner_lines` are left out too (outside COPY data),
/// and a statement starting with the first of a pair of `redirect` starts with the second
/// instead (the `COPY` of a table whose rows go elsewhere: `script::cron`).
///
/// pg_restore writes what the archive's entries hold, and a crafted archive can hold anything:
/// the SQL goes through [`crate::plainsql::Splitter`] like a plain dump's, which refuses every
/// psql meta-command but pg_restore's own `\restrict` / `\unrestrict` (left out: the session
/// runs under Offsite's key). A refusal comes back as an `io::Error` wrapping the
/// [`crate::plainsql::LexError`].
pub(super) fn pump_without_commit(
    mut from: impl Read,
    to: &mut impl Write,
    owner_lines: &[Vec<u8>],
    redirect: &[(String, String)],
) -> std::io::Result<()> {
    use crate::plainsql::{meta_kind, MetaKind, Piece, Splitter};
    let mut splitter = Splitter::new();
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let mut on_piece = |p: Piece| -> std::io::Result<()> {
        let bytes = match p {
            Piece::Meta(m) => {
                return match meta_kind(&m) {
                    Some(MetaKind::Restrict | MetaKind::Unrestrict) => Ok(()),
                    _ => Err(std::io::Error::other("a psql command in pg_restore's SQL")),
                }
            }
            Piece::Statement(s) => {
                let mut t = s.trim_ascii_end().to_vec();
                t.push(b'\n');
                if !owner_lines.is_empty()
                    && t.starts_with(b"ALTER ")
                    && owner_lines.iter().any(|o| t.ends_with(o))
                {
                    b"-- (owner left to the connecting role)\n".to_vec()
                } else if t == b"COMMIT;\n" {
                    for l in pending.drain(..) {
                        to.write_all(&l)?;
                    }
                    pending.push(s);
                    return Ok(());
                } else if let Some((from, into)) = redirect
                    .iter()
                    .find(|(from, _)| s.starts_with(from.as_bytes()))
                {
                    let mut r = into.as_bytes().to_vec();
                    r.extend_from_slice(&s[from.len()..]);
                    r
                } else {
                    s
                }
            }
            Piece::Between(b) => {
                if !pending.is_empty() {
                    pending.push(b);
                    return Ok(());
                }
                b
            }
            Piece::CopyData(d) => d,
        };
        for l in pending.drain(..) {
            to.write_all(&l)?;
        }
        to.write_all(&bytes)
    };
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        splitter.push(&buf[..n], &mut on_piece)?;
    }
    if !splitter.finish_clean_only(&mut on_piece)? {
        return Err(std::io::Error::other(crate::plainsql::LexError {
            line: 0,
            message: "ends inside a statement or COPY data (pg_restore's SQL)".into(),
            meta: false,
        }));
    }
    // What is still held back is pg_restore's final `COMMIT;` and what trails it: everything but
    // that COMMIT is passed on (Offsite commits itself, only once the dump proved whole).
    let mut held = pending.into_iter();
    let _final_commit = held.next();
    for l in held {
        to.write_all(&l)?;
    }
    to.flush()
}

/// The lexer's refusal inside an `io::Error` of [`pump_without_commit`].
pub(super) fn lex_refusal(e: &std::io::Error) -> Option<Error> {
    e.get_ref()
        .and_then(|r| r.downcast_ref::<crate::plainsql::LexError>())
        .map(|l| l.to_error("nothing was restored"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn owner_statements_of_chosen_roles_are_left_out_but_never_in_copy_data() {
        let roles = BTreeSet::from(["service_role".to_string(), "Odd Role".to_string()]);
        let sql = b"CREATE TABLE public.t (a text);\nALTER TABLE public.t OWNER TO service_role;\nALTER FUNCTION public.f() OWNER TO \"Odd Role\";\nALTER TABLE public.u OWNER TO postgres;\nCOPY public.t (a) FROM stdin;\nALTER TABLE public.t OWNER TO service_role;\n\\.\nCOMMIT;\n";
        let mut out = Vec::new();
        pump_without_commit(&sql[..], &mut out, &owner_suffixes(&roles), &[]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "CREATE TABLE public.t (a text);\n-- (owner left to the connecting role)\n-- (owner left to the connecting role)\nALTER TABLE public.u OWNER TO postgres;\nCOPY public.t (a) FROM stdin;\nALTER TABLE public.t OWNER TO service_role;\n\\.\n"
        );
        assert_eq!(fmt_id("user"), "\"user\"");
        assert_eq!(fmt_id("anon_2"), "anon_2");
    }

    /// pg_restore writes what a (crafted) archive's entries hold: a psql command in it is
    /// refused before psql sees it; pg_restore's own `\restrict` lines are left out.
    #[test]
    fn a_psql_command_in_pg_restores_sql_is_refused() {
        let sql = b"\\restrict abc\nBEGIN;\nCREATE TABLE t (a int);\nCOMMENT ON TABLE t IS 'x'; \\! touch /tmp/x\nCOMMIT;\n";
        let mut out = Vec::new();
        let e = pump_without_commit(&sql[..], &mut out, &[], &[]).unwrap_err();
        let e = lex_refusal(&e).expect("the lexer's refusal");
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat);
        assert!(
            e.message().contains("\\!") && e.message().contains("(line 4)"),
            "{e}"
        );
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("touch") && !out.contains("restrict"), "{out}");
        // COPY data is data; a COPY pg_dump never writes is refused.
        let mut out = Vec::new();
        pump_without_commit(
            &b"COPY public.t (a) FROM stdin;\n\\! not a command\n\\.\nCOMMIT;\n"[..],
            &mut out,
            &[],
            &[],
        )
        .unwrap();
        assert!(pump_without_commit(
            &b"COPY t TO STDOUT /* FROM stdin */;\n\\! touch /tmp/x\n"[..],
            &mut Vec::new(),
            &[],
            &[]
        )
        .is_err());
    }

    #[test]
    fn the_final_commit_is_left_out() {
        let sql = b"BEGIN;\nCREATE PROCEDURE p() AS $$\nCOMMIT;\nSELECT 1;\n$$;\nCOMMIT;\n\n--\n-- done\n--\n\n\\unrestrict abc\n";
        let mut out = Vec::new();
        pump_without_commit(&sql[..], &mut out, &[], &[]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "BEGIN;\nCREATE PROCEDURE p() AS $$\nCOMMIT;\nSELECT 1;\n$$;\n\n--\n-- done\n--\n\n"
        );
    }

    #[test]
    fn a_redirected_copy_loads_elsewhere_and_its_data_stays_data() {
        // A row whose text starts like the statement is data, never rewritten; the same start
        // inside another statement is not a statement start.
        let sql = b"SELECT 'COPY cron.job x';\nCOPY cron.job (jobid, command) FROM stdin;\n1\tCOPY cron.job (a) FROM stdin;\n\\.\nCOMMIT;\n";
        let mut out = Vec::new();
        let redirect = [(
            "COPY cron.job ".to_string(),
            "COPY pg_temp.offsite_cron_job ".to_string(),
        )];
        pump_without_commit(&sql[..], &mut out, &[], &redirect).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "SELECT 'COPY cron.job x';\nCOPY pg_temp.offsite_cron_job (jobid, command) FROM stdin;\n1\tCOPY cron.job (a) FROM stdin;\n\\.\n"
        );
    }
}
