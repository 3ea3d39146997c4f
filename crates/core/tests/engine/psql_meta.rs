//! Issue 22 item 1: a plain SQL dump never makes psql run a command of its own. Crafted `.sql`
//! files whose meta-commands would `\! touch <marker>` (and `\o |…`, `\copy … to program`,
//! `\\` separators) — mid-line, inside an open statement, after a COPY whose comment fooled the
//! old detector, on the line of a one-line `COPY … FROM stdin;` — are refused at import, and a
//! crafted archive holding them as its `database.sql` is refused at restore, against real
//! PostgreSQL and the real psql: the marker is never created and the target stays as it was.
//! Plus psql as the oracle of the lexer (`fuzz_plainsql_lexer_matches_psql`) and the
//! defence in depth behind it (the session's `\restrict` key).

use offsite_core::archive::{self, ArchiveWriter, DATABASE_SQL_MEMBER};
use offsite_core::progress::Reporter;
use offsite_core::{
    AddProject, ErrorKind, ImportInto, ImportOptions, JobStart, ProjectConnection, RestoreRequest,
};
use offsite_testkit::{fidelity_snapshot, schema_dump, TestCluster};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::{env, files_under, target, Env};

const HEAD: &str = "--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\nCREATE TABLE public.t (a integer);\n\n";
const TAIL: &str = "\n--\n-- PostgreSQL database dump complete\n--\n\n";

/// Each hostile body (`M` is the marker's path): the line of the command, and what the error
/// names. Every one of them, imported and restored with the build before this change (its
/// `offsite import` then `offsite restore`, against psql 15.18), ran `touch` on the restoring
/// machine.
fn hostile(marker: &Path) -> Vec<(&'static str, String, u64, &'static str)> {
    let m = marker.display().to_string();
    // Line 10 is the first line of the body (after HEAD).
    vec![
        (
            "mid-line",
            format!("SELECT 1; \\! touch {m}\n;\n"),
            10,
            "\\!",
        ),
        (
            "inside a statement, same line",
            format!("SELECT 1 \\! touch {m}\n;\n"),
            10,
            "\\!",
        ),
        (
            "inside a statement, later line",
            format!("SELECT 1,\n\\! touch {m}\n2;\n"),
            11,
            "\\!",
        ),
        (
            "after a COPY whose comment fooled the detector",
            format!("COPY public.t TO STDOUT /* FROM stdin */;\n\\! touch {m}\n\\.\n"),
            11,
            "\\!",
        ),
        (
            "on the line of a one-line COPY FROM stdin",
            format!("COPY public.t (a) FROM stdin; \\! touch {m}\n1\n\\.\n"),
            10,
            "COPY",
        ),
        (
            "after a \\\\ separator",
            format!("SELECT 1; \\o /dev/null \\\\ \\! touch {m}\n;\n"),
            10,
            "\\o",
        ),
        (
            "\\copy to a program",
            format!("SELECT 1; \\copy (select 1) to program 'touch {m}'\n;\n"),
            10,
            "\\copy",
        ),
        (
            "\\o to a pipe",
            format!("SELECT 1; \\o |touch {m}\nSELECT 2;\n"),
            10,
            "\\o",
        ),
        (
            "a -- comment ended by a carriage return",
            format!("-- note\r\\! touch {m}\n"),
            10,
            "\\!",
        ),
        (
            "a dollar quote right after a number",
            format!("SELECT 1$a$ '$a$ \\! touch {m}\n';\n"),
            10,
            "followed by a letter or $",
        ),
        (
            "a string continued after an E'' string",
            format!("SELECT E'a'\n'\\' \\! touch {m}\n';\n';\n"),
            11,
            "E'",
        ),
        (
            "a comment psql does not see after 1e-",
            format!("SELECT 1e-- \\! touch {m}\n;\n"),
            10,
            "followed by a letter or $",
        ),
    ]
}

fn new_project(pg: &TestCluster, name: &str, db: &str) -> ImportInto {
    ImportInto::New(AddProject {
        name: name.into(),
        connection: ProjectConnection::Url(pg.url(db)),
        tls: None,
        password: Some(pg.superuser_password().into()),
        backup_dir: None,
        skip_test: false,
    })
}

async fn assert_nothing_imported(env: &Env, project: &str) {
    let left = files_under(&env.engine.data_dir().join("backups"));
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(
        env.engine.catalog().project(project).await.is_err(),
        "the new project was left behind"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dump_with_a_psql_command_is_refused_at_import() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("meta_import_src");
    let env = env().await;
    let marker = env.dir.path().join("marker");
    for (i, (what, body, line, names)) in hostile(&marker).into_iter().enumerate() {
        let file = env.dir.path().join(format!("hostile{i}.sql"));
        std::fs::write(&file, format!("{HEAD}{body}{TAIL}")).unwrap();
        let name = format!("hostile{i}");
        let e = env
            .engine
            .import(
                ImportOptions::new(&file, new_project(pg, &name, &src)),
                JobStart::default(),
            )
            .await
            .expect_err(what);
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat, "{what}: {e}");
        assert!(
            e.message().contains(&format!("(line {line})")) && e.message().contains(names),
            "{what}: {e}"
        );
        assert!(
            e.hint().unwrap_or("").starts_with("Nothing was imported"),
            "{what}: {e:?}"
        );
        assert!(!marker.exists(), "{what}: a command ran");
        assert_nothing_imported(&env, &name).await;
    }
}

/// A copy of the archive at `good` whose `database.sql` is `sql` (a crafted archive: the
/// manifest's checksums match it, as an attacker's would).
fn crafted(good: &Path, sql: &[u8], dir: &Path) -> PathBuf {
    let manifest = archive::read_manifest(good).unwrap();
    let name = good.file_name().unwrap().to_str().unwrap();
    let mut w = ArchiveWriter::create(dir, name, 1).unwrap();
    w.add_bytes(DATABASE_SQL_MEMBER, sql.to_vec());
    w.finish(manifest, &Reporter::silent(), &Default::default())
        .unwrap();
    dir.join(name)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archive_whose_sql_runs_a_psql_command_is_refused_at_restore() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("meta_restore_src");
    let env = env().await;
    let file = env.dir.path().join("good.sql");
    std::fs::write(
        &file,
        format!("{HEAD}INSERT INTO public.t VALUES (1);\n{TAIL}"),
    )
    .unwrap();
    let good = env
        .engine
        .import(
            ImportOptions::new(&file, new_project(pg, "good", &src)),
            JobStart::default(),
        )
        .await
        .unwrap();
    let good = PathBuf::from(good.backup.path);
    let marker = env.dir.path().join("marker");
    for (i, (what, body, line, names)) in hostile(&marker).into_iter().enumerate() {
        let dir = env.dir.path().join(format!("crafted{i}"));
        std::fs::create_dir(&dir).unwrap();
        // What import would write: the dump without its header comment lines' meaning aside.
        let path = crafted(&good, format!("{HEAD}{body}{TAIL}").as_bytes(), &dir);
        let dst = pg.unique_db("meta_restore_dst");
        let before = (fidelity_snapshot(pg, &dst), schema_dump(pg, &dst));
        let e = env
            .engine
            .restore(
                RestoreRequest::new(&path, target(pg, &dst)),
                JobStart::default(),
            )
            .await
            .expect_err(what);
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat, "{what}: {e}");
        assert!(
            e.message().contains(&format!("(line {line})")) && e.message().contains(names),
            "{what}: {e}"
        );
        assert!(
            e.hint().unwrap_or("").starts_with("Nothing was restored"),
            "{what}: {e:?}"
        );
        assert!(!marker.exists(), "{what}: a command ran");
        assert_eq!(
            (fidelity_snapshot(pg, &dst), schema_dump(pg, &dst)),
            before,
            "{what}: something was committed"
        );
    }
}

/// psql with the session's opening lines, then `sql`; its exit status and stderr.
fn psql_session(pg: &TestCluster, db: &str, opening: &str, sql: &str) -> (bool, String) {
    let mut child = pg
        .command("psql")
        .args(pg.conn_args())
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{opening}{sql}").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Defence in depth: what Offsite writes first into every psql session (the restore of a
/// plain dump, the scripted restore of a custom-format dump) makes psql itself refuse a
/// meta-command the lexer would have missed — the gate bypassed by writing straight to psql.
#[test]
fn the_sessions_restrict_key_stops_a_command_the_lexer_missed() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("meta_restrict");
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let psql = pg.bin("psql");
    let (major, minor) =
        offsite_core::postgres::session::psql_version(&psql).expect("psql --version");
    assert!(
        offsite_core::postgres::session::supports_restrict(major, minor),
        "the test cluster's psql {major}.{minor} has no \\restrict: install a current minor release"
    );
    let opening = offsite_core::postgres::session::opening(&psql);
    assert!(opening.starts_with("\\restrict "), "{opening}");
    let attack = format!(
        "SELECT 1; \\! touch {}\nCREATE TABLE x (a int);\n",
        marker.display()
    );
    let (ok, err) = psql_session(pg, &db, &opening, &attack);
    assert!(!ok, "psql ran on");
    assert!(err.contains("backslash commands are restricted"), "{err}");
    assert!(!marker.exists(), "the command ran");
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM pg_class WHERE relname = 'x'"),
        "0"
    );
    // Without the opening, the same bytes run the command: the test can tell.
    let (_, _) = psql_session(pg, &db, "", &attack);
    assert!(marker.exists(), "control: psql did not run the command");
}

/// psql's view of `case` (after `BEGIN; SELECT 1/0;` every statement it sends fails with a
/// line number, and under `\restrict` every meta-command too): (line, is_meta) per event.
fn psql_events(pg: &TestCluster, db: &str, case: &[u8]) -> Vec<(u64, bool)> {
    let mut child = pg
        .command("psql")
        .args(pg.conn_args())
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=0", "-f", "-", "-d", db])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = b"BEGIN;\nSELECT 1/0;\n\\restrict fuzzkey\n".to_vec();
    input.extend_from_slice(case);
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let mut events = Vec::new();
    for l in String::from_utf8_lossy(&out.stderr).lines() {
        let Some(rest) = l.strip_prefix("psql:<stdin>:") else {
            continue;
        };
        let Some((n, msg)) = rest.split_once(": ") else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        if n <= 3 {
            continue;
        }
        if msg.starts_with("ERROR:") {
            events.push((n - 3, false));
        } else if msg.contains("backslash commands are restricted") {
            events.push((n - 3, true));
        }
    }
    events
}

/// Offsite's view of `case`: the statements the server would run (line, false), up to the
/// first line where Offsite stops comparing (a refusal, COPY data, a statement ending the
/// transaction), and that line.
fn offsite_events(case: &[u8]) -> (Vec<(u64, bool)>, Option<u64>) {
    let (stmts, stop) = offsite_core::plainsql::report(case);
    let mut events = Vec::new();
    let mut limit = stop.map(|e| e.line);
    for s in stmts {
        let tx_end = matches!(
            offsite_core::plainsql::tx_control(&s.text),
            Some(
                offsite_core::plainsql::TxControl::Commit
                    | offsite_core::plainsql::TxControl::Other
            )
        );
        if s.copy || tx_end {
            limit = Some(limit.map_or(s.line, |l| l.min(s.line)));
            break;
        }
        // The server errors on what it runs, and on a tail left inside a comment.
        let sent = s.real || (!s.terminated && s.in_comment);
        if sent {
            events.push((s.line, false));
        }
    }
    (events, limit)
}

fn sqlish() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    const F: &[&str] = &[
        " ",
        " ",
        "\n",
        "\n",
        "\r",
        "\t",
        ";",
        ";",
        "'",
        "''",
        "E'",
        "e'",
        "\\'",
        "\\\\",
        "U&'",
        "u&\"",
        "\"",
        "\"\"",
        "$$",
        "$a$",
        "$b$",
        "$1",
        "$",
        "a$b",
        "--",
        "/*",
        "*/",
        "*",
        "/",
        "-",
        "(",
        ")",
        "select",
        "x",
        "begin",
        "end",
        "case",
        "create",
        "or",
        "replace",
        "function",
        "procedure",
        "atomic",
        "copy",
        "stdin",
        "from",
        "1",
        ".5",
        "1e5",
        "b'",
        "x'",
        "n'",
        ":",
        "::",
        ":'v'",
        ":v",
        "\\echo m\n",
        "\\\\",
        "[",
        ",",
        "=",
    ];
    prop::collection::vec(prop::sample::select(F), 0..30).prop_map(|v| v.concat().into_bytes())
}

/// psql itself as the oracle of Offsite's lexer: for generated SQL-ish inputs (quotes of every
/// kind, dollar tags, nested comments, backslashes, semicolons, line breaks, COPY, BEGIN
/// ATOMIC), every statement psql sends before the line where Offsite stops is one Offsite
/// sees ending on the same line, psql runs no meta-command before that line, and when
/// Offsite does not stop at all, psql sends exactly Offsite's statements and runs nothing.
#[test]
fn fuzz_plainsql_lexer_matches_psql() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("lexer_oracle");
    let mut runner = proptest::test_runner::TestRunner::new(offsite_testkit::fuzz::config_with(96));
    runner
        .run(&sqlish(), |case| {
            let psql = psql_events(pg, &db, &case);
            let (ours, limit) = offsite_events(&case);
            let shown = String::from_utf8_lossy(&case).into_owned();
            match limit {
                None => proptest::prop_assert_eq!(&psql, &ours, "{:?}", shown),
                Some(l) => {
                    let before: Vec<_> = psql.iter().copied().filter(|(n, _)| *n < l).collect();
                    let ours: Vec<_> = ours.into_iter().filter(|(n, _)| *n < l).collect();
                    proptest::prop_assert_eq!(
                        before,
                        ours,
                        "{:?} (Offsite stops at line {})",
                        shown,
                        l
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

/// Cases the fuzz test above found, kept as they were found (psql as the oracle).
#[test]
fn the_lexer_agrees_with_psql_on_the_cases_the_fuzz_test_found() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("lexer_found");
    // A stray comment end before a Unicode-escaped identifier, then `end--`: psql sends END (a
    // transaction's end) at the end of the input; Offsite's word split read "END--" (CI run of
    // 2026-11-29).
    const FOUND: &[&[u8]] = &[b"*/u&\"u&\";end--"];
    for &case in FOUND {
        let psql = psql_events(pg, &db, case);
        let (ours, limit) = offsite_events(case);
        let shown = String::from_utf8_lossy(case);
        match limit {
            None => assert_eq!(psql, ours, "{shown:?}"),
            Some(l) => assert_eq!(
                psql.into_iter().filter(|(n, _)| *n < l).collect::<Vec<_>>(),
                ours.into_iter().filter(|(n, _)| *n < l).collect::<Vec<_>>(),
                "{shown:?} (Offsite stops at line {l})"
            ),
        }
    }
}
