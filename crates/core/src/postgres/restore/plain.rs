//! Restoring a plain SQL backup (`database.sql`: an imported `pg_dump` plain file or one
//! database of a `pg_dumpall` file) through psql, all or nothing.
//!
//! The plan is the same as for a custom-format dump: its table of contents is read from the
//! `-- Name: …; Type: …; Schema: …; Owner: …` headers pg_dump writes before every entry, so
//! the target's state, the clean phase of `--replace`, the roles and the ownership decisions
//! are computed by the same code. What a plain dump does not have: dependencies between
//! entries (none are recorded) and a way to pick schemas or tables (refused in the plan).
//!
//! Execution streams the member through [`crate::plainsql::Splitter`] into ONE psql session
//! with `ON_ERROR_STOP=1`: `BEGIN`, the script's statements before, the dump's SQL, the
//! statements after, and `COMMIT` only once psql ran everything and the member's SHA-256 was
//! verified at its end. The dump's own `BEGIN;` / `COMMIT;` (pg_dump writes them around large
//! objects) are left out, so nothing commits early; `ROLLBACK`, `PREPARE TRANSACTION` and the
//! like are refused; so is every psql meta-command but pg_dump's `\restrict` / `\unrestrict`
//! (left out: the session runs under Offsite's own `\restrict` key, see
//! [`crate::postgres::session`]). The splitter refuses a backslash command wherever it stands
//! (mid-line, inside a statement), and nothing of an input it refused or that ends inside a
//! statement reaches psql.

use crate::archive::{self, DATABASE_SQL_MEMBER};
use crate::error::{Error, ErrorKind, Result};
use crate::plainsql::classify::{Classifier, Findings};
use crate::plainsql::{
    self, entry_header, meta_kind, tx_control, LexError, MetaKind, Piece, Splitter, TxControl,
};
use crate::postgres::restore::replace::Script;
use crate::postgres::restore::toc::{self, FullToc, Item};
use crate::postgres::session::{Target, Transaction};
use crate::progress::Reporter;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// Largest SQL kept per entry for the plan's decisions (a huge function body is cut).
const MAX_ENTRY_SQL: usize = 1 << 20;

/// The table of contents of the archive's `database.sql`, from its entry headers. Entry `line`s
/// count every header in order: [`run`] leaves out the entries whose number it is given.
pub(crate) fn read_toc(archive_path: &Path) -> Result<FullToc> {
    let mut items: Vec<Item> = Vec::new();
    let mut entry: Option<usize> = None;
    let mut count = 0usize;
    let mut current: Option<usize> = None; // index into items
    let mut classifier = Classifier::new();
    let mut arbitrary = Findings::default();
    let mut outside = Findings::default();
    let mut splitter = Splitter::new();
    let mut on_piece = |p: Piece| -> std::result::Result<(), LexError> {
        match &p {
            Piece::Between(b) => {
                if let Some(h) = entry_header(b) {
                    entry = Some(count);
                    count += 1;
                    current = None;
                    if let Some(desc) = toc::static_desc(&h.desc) {
                        items.push(Item {
                            id: count as i32,
                            desc,
                            schema: h.schema,
                            tag: h.tag,
                            owner: h.owner,
                            line: entry.unwrap_or(0),
                            deps: Vec::new(),
                            sql: String::new(),
                        });
                        current = (!h.data).then(|| items.len() - 1);
                    }
                }
            }
            Piece::Statement(s) => {
                let found = classifier.classify(s);
                let mut kept = false;
                if let Some(i) = current {
                    if items[i].sql.len() + s.len() <= MAX_ENTRY_SQL {
                        items[i].sql.push_str(&String::from_utf8_lossy(s));
                        kept = true;
                    }
                }
                if let Some(f) = found {
                    if !kept {
                        outside.add(f.clone());
                    }
                    arbitrary.add(f);
                }
            }
            _ => {}
        }
        Ok(())
    };
    let mut sink = SplitSink {
        splitter: &mut splitter,
        f: &mut on_piece,
        overflowed: false,
    };
    let copied = archive::copy_member(
        archive_path,
        DATABASE_SQL_MEMBER,
        &mut sink,
        &Reporter::silent(),
        &CancellationToken::new(),
    );
    if sink.overflowed {
        return Err(too_long(archive_path));
    }
    // A dump the splitter refuses is refused at the plan already.
    if let Some(e) = splitter.failure() {
        return Err(e.to_error("nothing was restored"));
    }
    copied?;
    if let Err(e) = splitter.finish(&mut on_piece) {
        return Err(e.to_error("nothing was restored"));
    }
    Ok(FullToc {
        list: String::new(),
        items,
        arbitrary,
        arbitrary_outside: outside,
    })
}

/// A line or statement of the backup's SQL longer than [`plainsql::MAX_PENDING`].
fn too_long(archive_path: &Path) -> Error {
    Error::integrity(format!(
        "{}: a line or statement of {DATABASE_SQL_MEMBER} is longer than {} bytes",
        archive_path.display(),
        plainsql::MAX_PENDING
    ))
    .with_hint("nothing was restored; PostgreSQL accepts no statement or COPY row this long: the archive is damaged or crafted, use another copy")
}

/// A `Write` that feeds a [`Splitter`], refusing input that would make it hold more than
/// [`plainsql::MAX_PENDING`] bytes.
struct SplitSink<'a, F> {
    splitter: &'a mut Splitter,
    f: &'a mut F,
    overflowed: bool,
}

impl<F: FnMut(Piece) -> std::result::Result<(), LexError>> Write for SplitSink<'_, F> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.splitter.pending().saturating_add(buf.len()) > plainsql::MAX_PENDING {
            self.overflowed = true;
            return Err(std::io::Error::other("statement too long"));
        }
        self.splitter.push(buf, self.f)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the filter between the archive and psql does with each piece of the dump.
pub(crate) struct Filter {
    skip: BTreeSet<usize>,
    owner_suffixes: Vec<Vec<u8>>,
    entry: Option<usize>,
    count: usize,
    skipping_copy: bool,
    in_copy: bool,
    /// Why the dump cannot be restored (a refused meta-command or transaction statement).
    pub refused: Option<Error>,
    /// Set unless the user consented to SQL pg_dump never writes: such a statement is refused.
    arbitrary: Option<Classifier>,
}

/// What to do with a piece.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    Drop,
    Refuse,
}

impl Filter {
    pub(crate) fn new(skip: BTreeSet<usize>, drop_owner_of: &BTreeSet<String>) -> Self {
        Filter {
            skip,
            owner_suffixes: crate::postgres::restore::replace::owner_suffixes(drop_owner_of),
            entry: None,
            count: 0,
            skipping_copy: false,
            in_copy: false,
            refused: None,
            arbitrary: None,
        }
    }

    /// Refuse the first statement pg_dump never writes (no consent to arbitrary SQL).
    pub(crate) fn refusing_arbitrary_sql(mut self, refuse: bool) -> Self {
        self.arbitrary = refuse.then(Classifier::new);
        self
    }

    /// The refusal of a statement pg_dump never writes, if it is one (the plan refuses such a
    /// dump before anything runs; this holds even if the file changed since).
    fn arbitrary_refusal(&mut self, s: &[u8]) -> Option<Error> {
        let f = self.arbitrary.as_mut()?.classify(s)?;
        let mut found = Findings::default();
        found.add(f);
        Some(found.refusal())
    }

    pub(crate) fn judge(&mut self, p: &Piece) -> Verdict {
        let skipped = self.entry.is_some_and(|e| self.skip.contains(&e));
        match p {
            Piece::Between(b) => {
                if entry_header(b).is_some() {
                    self.entry = Some(self.count);
                    self.count += 1;
                }
                Verdict::Pass
            }
            Piece::CopyData(d) => {
                if plainsql::trim_eol(d) == b"\\." {
                    self.in_copy = false;
                }
                if self.skipping_copy {
                    if !self.in_copy {
                        self.skipping_copy = false;
                    }
                    Verdict::Drop
                } else {
                    Verdict::Pass
                }
            }
            Piece::Meta(m) => {
                // pg_dump's own key is left out: the session runs under Offsite's.
                if matches!(
                    meta_kind(m),
                    Some(MetaKind::Restrict | MetaKind::Unrestrict)
                ) {
                    return Verdict::Drop;
                }
                // The restore's splitter gives out no other meta-command; refused all the same.
                let name = plainsql::meta_command(m).0;
                self.refused = Some(
                    Error::new(
                        ErrorKind::UnsupportedFormat,
                        format!(
                            "the SQL dump runs the psql command \\{name}, which a restore does not run (only pg_dump's \\restrict and \\unrestrict are accepted)"
                        ),
                    )
                    .with_hint("nothing was restored; remove the command from the dump, or restore it with psql yourself"),
                );
                Verdict::Refuse
            }
            Piece::Statement(s) => {
                let copy = is_copy(s);
                if copy {
                    self.in_copy = true;
                }
                // An entry the plan leaves out never reaches the server (a privilege kept as
                // the target has it): it needs no consent.
                if skipped {
                    if copy {
                        self.skipping_copy = true;
                    }
                    return Verdict::Drop;
                }
                if let Some(e) = self.arbitrary_refusal(s) {
                    self.refused = Some(e);
                    return Verdict::Refuse;
                }
                match tx_control(s) {
                    Some(TxControl::Begin | TxControl::Commit) => return Verdict::Drop,
                    Some(TxControl::Other) => {
                        let text = String::from_utf8_lossy(s);
                        let first: String = text.trim().chars().take(60).collect();
                        self.refused = Some(
                            Error::new(
                                ErrorKind::UnsupportedFormat,
                                format!(
                                    "the SQL dump ends or splits its own transaction ({first}): it cannot be restored all or nothing"
                                ),
                            )
                            .with_hint("nothing was restored; remove that statement from the dump, or restore it with psql yourself"),
                        );
                        return Verdict::Refuse;
                    }
                    None => {}
                }
                if !self.owner_suffixes.is_empty() {
                    let mut t = s.trim_ascii_end().to_vec();
                    t.push(b'\n');
                    if t.starts_with(b"ALTER ")
                        && self.owner_suffixes.iter().any(|o| t.ends_with(o))
                    {
                        return Verdict::Drop;
                    }
                }
                Verdict::Pass
            }
        }
    }
}

fn is_copy(s: &[u8]) -> bool {
    // The splitter starts COPY data after exactly this form, and after nothing else.
    plainsql::is_copy_from_stdin(s)
}

/// The writer between the archive and psql: splits, filters, writes what passes.
struct FilterSink<W: Write> {
    splitter: Splitter,
    filter: Filter,
    out: W,
}

impl<W: Write> FilterSink<W> {
    fn emit(filter: &mut Filter, out: &mut W, p: Piece) -> std::io::Result<()> {
        match filter.judge(&p) {
            Verdict::Pass => out.write_all(p.bytes()),
            Verdict::Drop => Ok(()),
            Verdict::Refuse => Err(std::io::Error::other("refused")),
        }
    }
    /// A refusal of the splitter becomes the filter's.
    fn lexed<T>(&mut self, r: std::io::Result<T>) -> std::io::Result<T> {
        if let (Err(_), Some(e)) = (&r, self.splitter.failure()) {
            if self.filter.refused.is_none() {
                self.filter.refused = Some(e.to_error("nothing was restored"));
            }
        }
        r
    }
    fn finish(&mut self) -> std::io::Result<()> {
        let (filter, out) = (&mut self.filter, &mut self.out);
        // An unterminated tail is never written: psql would run it at its end of input.
        let r = self
            .splitter
            .finish_clean_only(&mut |p| Self::emit(filter, out, p));
        let clean = self.lexed(r)?;
        if !clean {
            self.filter.refused = Some(
                Error::integrity("the SQL dump ends inside a statement or COPY data").with_hint(
                    "nothing was restored; the backup's SQL is cut off: use another copy",
                ),
            );
            return Err(std::io::Error::other("refused"));
        }
        self.out.flush()
    }
}

impl<W: Write> Write for FilterSink<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.splitter.pending().saturating_add(buf.len()) > plainsql::MAX_PENDING {
            self.filter.refused = Some(
                Error::integrity(format!(
                    "a line or statement of the SQL dump is longer than {} bytes",
                    plainsql::MAX_PENDING
                ))
                .with_hint("nothing was restored; PostgreSQL accepts no statement or COPY row this long: the archive is damaged or crafted, use another copy"),
            );
            return Err(std::io::Error::other("refused"));
        }
        let (filter, out) = (&mut self.filter, &mut self.out);
        let r = self.splitter.push(buf, &mut |p| Self::emit(filter, out, p));
        self.lexed(r)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Run the restore of a plain SQL backup: `BEGIN`, `script.before`, the dump's SQL without the
/// entries in `skip` (and without the owner statements of `script.drop_owner_of`),
/// `script.after`, then `COMMIT` — only when all of it succeeded and the member's checksum was
/// verified. On any failure psql is stopped before `COMMIT` and the server rolls back.
pub(crate) fn run(
    to: &Target<'_>,
    archive_path: &Path,
    script: &Script,
    skip: BTreeSet<usize>,
    allow_arbitrary_sql: bool,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<()> {
    // Offsite's own SQL around the dump, checked by the same lexer before psql sees it.
    let (session, mut psql_in) = Transaction::open(to, &script.before, &script.after, cancel)?;
    let started = psql_in.start();
    let mut sink = FilterSink {
        splitter: Splitter::new(),
        filter: Filter::new(skip, &script.drop_owner_of)
            .refusing_arbitrary_sql(!allow_arbitrary_sql),
        out: std::io::BufWriter::with_capacity(256 * 1024, psql_in),
    };
    let fed = match started {
        Err(e) => Err(Error::io("feeding psql", e)),
        Ok(()) => archive::copy_member(
            archive_path,
            DATABASE_SQL_MEMBER,
            &mut sink,
            reporter,
            cancel,
        )
        .and_then(|_| sink.finish().map_err(|e| Error::io("feeding psql", e))),
    };
    let refused = sink.filter.refused.take();
    let all_good = fed.is_ok() && refused.is_none() && !cancel.is_cancelled();
    // `finish` flushed the buffer; what is left in it after a failure is never sent.
    let (psql_in, _) = sink.out.into_parts();
    let psql = session.finish(psql_in, all_good, cancel)?;
    if let Some(e) = refused {
        return Err(e);
    }
    match fed {
        // A damaged archive first (psql never got to COMMIT).
        Err(e) if e.kind() != ErrorKind::Io => return Err(e),
        _ if !psql.status.success() => return Err(psql.error(to.password)),
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    psql.commit_sent.map_err(|e| Error::io("feeding psql", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filtered(sql: &[u8], skip: &[usize], owners: &[&str]) -> (String, Option<Error>) {
        let owners: BTreeSet<String> = owners.iter().map(|s| s.to_string()).collect();
        let mut sink = FilterSink {
            splitter: Splitter::new(),
            filter: Filter::new(skip.iter().copied().collect(), &owners),
            out: Vec::new(),
        };
        let r = sink.write_all(sql).and_then(|_| sink.finish());
        let refused = sink.filter.refused.take();
        assert_eq!(r.is_err(), refused.is_some());
        (String::from_utf8(sink.out).unwrap(), refused)
    }

    #[test]
    fn leaves_out_the_dumps_transaction_and_restrict() {
        let sql = b"\\restrict k\nSET a = 1;\n--\n-- Name: t; Type: TABLE; Schema: public; Owner: alice\n--\n\nCREATE TABLE public.t (a text);\nALTER TABLE public.t OWNER TO alice;\n--\n-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: alice\n--\n\nCOPY public.t (a) FROM stdin;\nBEGIN;\nCOMMIT;\n\\.\n\n--\n-- Data for Name: BLOBS; Type: BLOBS; Schema: -; Owner: -\n--\n\nBEGIN;\n\nSELECT pg_catalog.lo_open('1', 131072);\n\nCOMMIT;\n\n\\unrestrict k\n";
        let (out, refused) = filtered(sql, &[], &[]);
        assert!(refused.is_none());
        assert!(!out.contains("restrict"), "{out}");
        assert!(
            out.contains("COPY public.t (a) FROM stdin;\nBEGIN;\nCOMMIT;\n\\.\n"),
            "{out}"
        );
        assert!(!out.contains("\nBEGIN;\n\nSELECT"), "{out}");
        assert!(!out.contains("\nCOMMIT;\n\n"), "{out}");
        assert!(out.contains("ALTER TABLE public.t OWNER TO alice;"));

        // Entry 1 (the data) skipped with its COPY rows; the owner statement left out.
        let (out, _) = filtered(sql, &[1], &["alice"]);
        assert!(!out.contains("COPY"), "{out}");
        assert!(!out.contains("BEGIN;\nCOMMIT;\n\\."), "{out}");
        assert!(!out.contains("OWNER TO alice"), "{out}");
        assert!(out.contains("lo_open"), "{out}");
    }

    #[test]
    fn refuses_what_would_break_all_or_nothing() {
        let (_, r) = filtered(b"CREATE TABLE a (x int);\nROLLBACK;\n", &[], &[]);
        assert_eq!(r.unwrap().kind(), ErrorKind::UnsupportedFormat);
        let (_, r) = filtered(b"SELECT 1;\n\\connect other\nSELECT 2;\n", &[], &[]);
        assert!(r.unwrap().message().contains("\\connect"));
        let (_, r) = filtered(b"SELECT 1;\n\\! rm -rf /\n", &[], &[]);
        assert!(r.is_some());
        let (_, r) = filtered(b"COPY t FROM stdin;\n1\n", &[], &[]);
        assert_eq!(r.unwrap().kind(), ErrorKind::Integrity);
    }

    #[test]
    fn without_consent_the_stream_stops_at_sql_pg_dump_never_writes() {
        let sql = b"SET check_function_bodies = false;\nCREATE TABLE t (a text);\nCOPY t (a) FROM stdin;\nCOPY t FROM PROGRAM 'id';\n\\.\nCOPY t FROM PROGRAM 'id';\nCREATE TABLE after (a int);\n";
        let mut sink = FilterSink {
            splitter: Splitter::new(),
            filter: Filter::new(BTreeSet::new(), &BTreeSet::new()).refusing_arbitrary_sql(true),
            out: Vec::new(),
        };
        assert!(sink.write_all(sql).and_then(|_| sink.finish()).is_err());
        let e = sink.filter.refused.take().unwrap();
        assert_eq!(e.kind(), ErrorKind::ArbitrarySql);
        let out = String::from_utf8(sink.out).unwrap();
        // COPY data is data; the statement after it is refused, and nothing after it passes.
        assert!(out.contains("COPY t FROM PROGRAM 'id';\n\\.\n"), "{out}");
        assert!(!out.contains("after"), "{out}");
        assert_eq!(out.matches("PROGRAM").count(), 1, "{out}");
        // With consent it passes.
        let mut sink = FilterSink {
            splitter: Splitter::new(),
            filter: Filter::new(BTreeSet::new(), &BTreeSet::new()).refusing_arbitrary_sql(false),
            out: Vec::new(),
        };
        sink.write_all(sql).and_then(|_| sink.finish()).unwrap();
        assert!(String::from_utf8(sink.out).unwrap().contains("after"));
    }

    #[test]
    fn an_entry_the_plan_leaves_out_needs_no_consent_and_one_it_keeps_does() {
        let sql = b"--\n-- Name: FUNCTION lo_export(oid, text); Type: ACL; Schema: pg_catalog; Owner: supabase_admin\n--\n\nGRANT ALL ON FUNCTION pg_catalog.lo_export(oid, text) TO supabase_functions_admin;\n\n--\n-- Name: t; Type: TABLE; Schema: public; Owner: postgres\n--\n\nCREATE TABLE public.t (a int DEFAULT pg_catalog.lo_export(1, '/tmp/x'));\n";
        let run = |skip: &[usize]| {
            let mut sink = FilterSink {
                splitter: Splitter::new(),
                filter: Filter::new(skip.iter().copied().collect(), &BTreeSet::new())
                    .refusing_arbitrary_sql(true),
                out: Vec::new(),
            };
            let r = sink.write_all(sql).and_then(|_| sink.finish());
            (
                r.is_ok(),
                sink.filter.refused.take(),
                String::from_utf8(sink.out).unwrap(),
            )
        };
        // The privilege on the server's catalog left out: it never runs and asks nothing; the
        // default that really calls lo_export is refused all the same.
        let (ok, refused, out) = run(&[0]);
        assert!(
            !ok && !out.contains("GRANT") && !out.contains("CREATE TABLE"),
            "{out}"
        );
        let e = refused.unwrap();
        assert_eq!(e.kind(), ErrorKind::ArbitrarySql);
        assert!(e.message().contains("CREATE TABLE public.t"), "{e}");
        // Both left out: nothing to consent to.
        let (ok, refused, _) = run(&[0, 1]);
        assert!(ok && refused.is_none());
        // Nothing left out: the grant gives a role the server's files, and is refused.
        let (ok, refused, _) = run(&[]);
        assert!(!ok);
        assert!(refused
            .unwrap()
            .message()
            .contains("gives a role superuser or server powers"));
    }
}
