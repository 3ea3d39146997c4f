//! The splitter's unit tests and its chunking fuzz target.

use super::*;

fn split(input: &[u8], chunk: usize) -> (Vec<Piece>, bool) {
    let mut s = Splitter::new();
    let mut out = Vec::new();
    let mut f = |p: Piece| -> Result<(), ()> {
        out.push(p);
        Ok(())
    };
    for c in input.chunks(chunk.max(1)) {
        s.push(c, &mut f).unwrap();
    }
    let clean = s.finish(&mut f).unwrap();
    (out, clean)
}

fn try_split(input: &[u8], chunk: usize) -> Result<(Vec<Piece>, bool), LexError> {
    let mut s = Splitter::new();
    let mut out = Vec::new();
    let mut f = |p: Piece| -> Result<(), LexError> {
        out.push(p);
        Ok(())
    };
    for c in input.chunks(chunk.max(1)) {
        s.push(c, &mut f)?;
    }
    let clean = s.finish(&mut f)?;
    Ok((out, clean))
}

/// Every way a dump could make psql run a command of its own, found by hand, the issue's
/// three bypasses and the fuzz target: each is refused, with its line.
#[test]
fn refuses_a_backslash_command_wherever_psql_would_run_it() {
    let cases: &[(&[u8], u64)] = &[
        (b"SELECT 1; \\! id\n", 1),
        (b"SELECT 1 \\! id\n;\n", 1),
        (b"SELECT 1,\n\\! id\n2;\n", 2),
        (b"SELECT 1,\n  \\! id\n", 2),
        (b"COPY t TO STDOUT /* FROM stdin */;\n\\! id\n", 2),
        (b"COPY t TO STDOUT -- FROM stdin\n;\n\\! id\n", 3),
        (b"SELECT 1; \\o /dev/null \\\\ \\! id\n", 1),
        (b"SELECT 1; \\copy (select 1) to program 'id'\n", 1),
        (b"SELECT 1; \\setenv PAGER id\n", 1),
        (b"SELECT 'id' \\gexec\n", 1),
        (b"-- c\r\\! id\n", 1),
        (b"SELECT 1 -- c\r\\! id\n;\n", 1),
        (b"SELECT 1$a$ '$a$ \\! id\n';\n", 1),
        (b"SELECT $q$ $q$ \\! id\n", 1),
        (b"SELECT \"a\"\"\" \\! id\n", 1),
        (b"SELECT U&'a' \\! id\n", 1),
        (b"SELECT /* /* */ */ \\! id\n", 1),
        (b"SELECT (1;\n2) \\! id\n", 2),
        (b"SELECT 1 \\; SELECT 2;\n", 1),
        (b"  \\restrict k\n", 1),
        (b"\\restrict k \\! id\n", 1),
        (b"\\connect db\n", 1),
        (b"\\.\n", 1),
        (b"SELECT 1;\n\\unrestrict\n", 2),
    ];
    for (sql, line) in cases {
        for chunk in [1, 3, 4096] {
            let e = try_split(sql, chunk).expect_err(&String::from_utf8_lossy(sql));
            assert_eq!(e.line, *line, "{}", String::from_utf8_lossy(sql));
            assert!(e.message.contains(&format!("(line {line})")), "{e}");
        }
    }
    let e = try_split(b"SELECT 1; \\! id\n", 4096).unwrap_err();
    assert!(e.meta && e.message.contains("\\!"), "{e}");
    let err: crate::error::Error = e.to_error("nothing was restored");
    assert_eq!(err.kind(), crate::error::ErrorKind::UnsupportedFormat);
    assert!(err.hint().unwrap().starts_with("Nothing was restored"));
}

/// Inputs psql versions (or settings psql follows) lex differently: refused, not guessed.
#[test]
fn refuses_what_psql_could_read_differently() {
    let cases: &[&[u8]] = &[
        b"SELECT 1e-- \\! id\n;\n",
        b"SELECT 1_000;\n",
        // Found by fuzz_plainsql_lexer_matches_psql: psql 15 reads `1e5$$` as one number.
        b"'b'1e5$$\\echo m\n",
        b"SELECT 1$$ \\! x $$;\n",
        b"SELECT 0x1F;\n",
        b"SELECT $1a$b$ \\! x $b$;\n",
        b"SELECT E'a'\n'\\' \\! id\n';\n",
        b"SELECT :DBNAME;\n",
        b"SELECT 1;\0\n",
        b"SET standard_conforming_strings TO off;\n",
        b"SET client_encoding = 'SJIS';\n",
        b"SET NAMES 'BIG5';\n",
        b"RESET ALL;\n",
        b"SELECT pg_catalog.set_config('standard_conforming_strings', 'off', false);\n",
        b"COPY public.t (a) FROM stdin WITH (FORMAT csv);\n1\n\\.\n",
        b"copy public.t from stdin;\n1\n\\.\n",
        b"SELECT 1\\; COPY public.t FROM stdin;\n",
        b"COPY public.t (a) FROM stdin; \\! id\n1\n\\.\n",
    ];
    for sql in cases {
        assert!(
            try_split(sql, 4096).is_err(),
            "{}",
            String::from_utf8_lossy(sql)
        );
    }
}

/// What pg_dump writes passes, and the lexer follows its settings.
#[test]
fn accepts_what_pg_dump_writes() {
    let sql = b"SET client_encoding = 'UTF8';\nSET standard_conforming_strings = off;\nSELECT 'it\\'s; \\! no';\nSET standard_conforming_strings = on;\nSELECT '\\';\nCOPY \"My\"\"T\".t (a, \"B c\") FROM stdin;\n\\! not a command\n\\.\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END;\nSELECT a::text, b[1:2], $1, x$y FROM t;\n";
    let (pieces, clean) = try_split(sql, 7).unwrap();
    assert!(clean);
    let stmts = pieces
        .iter()
        .filter(|p| matches!(p, Piece::Statement(_)))
        .count();
    assert_eq!(stmts, 8, "{pieces:?}");
    assert!(is_copy_from_stdin(b"COPY public.t (a, b) FROM stdin;\n"));
    assert!(is_copy_from_stdin(b"COPY t FROM stdin;"));
    assert!(is_copy_from_stdin(b"COPY public.empty  FROM stdin;\n"));
    assert!(!is_copy_from_stdin(b"COPY t TO STDOUT /* FROM stdin */;"));
    assert!(!is_copy_from_stdin(b"COPY t FROM stdin WITH (FORMAT csv);"));
    let mut s = Splitter::allowing_connect();
    let mut metas = Vec::new();
    let mut f = |p: Piece| -> Result<(), LexError> {
        if let Piece::Meta(m) = p {
            metas.push(meta_kind(&m));
        }
        Ok(())
    };
    s.push(b"\\connect shop\n\\encoding SQL_ASCII\n\\connect -reuse-previous=on \"dbname='a\"\"b'\"\n\\restrict abc1\n", &mut f).unwrap();
    assert!(s.finish(&mut f).unwrap());
    assert_eq!(
        metas,
        vec![
            Some(MetaKind::Connect),
            Some(MetaKind::Encoding),
            Some(MetaKind::Connect),
            Some(MetaKind::Restrict)
        ]
    );
    let mut s = Splitter::allowing_connect();
    let mut ignore = |_: Piece| -> Result<(), LexError> { Ok(()) };
    assert!(s.push(b"\\connect shop \\! id\n", &mut ignore).is_err());
}

#[test]
fn offsites_own_sql_is_checked_too() {
    check_own_sql(
        b"BEGIN;\nCREATE ROLE \"a b\" WITH LOGIN;\nCOMMENT ON ROLE x IS 'it''s \\! fine';\n",
    )
    .unwrap();
    // A role attribute smuggled out of a hostile globals.sql.
    let e =
        check_own_sql(b"BEGIN;\nCREATE ROLE \"evil\" WITH LOGIN \\! touch /tmp/x;\n").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedFormat);
    assert!(e.message().contains("\\!"), "{e}");
    assert!(e.hint().unwrap().starts_with("nothing was restored"));
    assert!(check_own_sql(b"SELECT 'open;\n").is_err());
}

fn fragments() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    const F: &[&str] = &[
        " ",
        "\n",
        "\r",
        "\t",
        ";",
        "'",
        "''",
        "E'",
        "\\'",
        "\\\\",
        "U&'",
        "\"",
        "$$",
        "$a$",
        "$1",
        "$",
        "--",
        "/*",
        "*/",
        "*",
        "-",
        "(",
        ")",
        "select",
        "x",
        "begin",
        "end",
        "case",
        "create",
        "function",
        "copy",
        "stdin",
        "COPY t FROM stdin;\n",
        "1",
        ".5",
        ":",
        "::",
        "\\echo m",
        "\\.\n",
        "\\restrict k\n",
    ];
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(F).prop_map(|s| s.as_bytes().to_vec()),
            1 => prop::collection::vec(any::<u8>(), 0..4),
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

proptest::proptest! {
    #![proptest_config(offsite_testkit::fuzz::config())]

    /// Any chunking gives the same pieces (or the same refusal), and the pieces give the
    /// input back.
    #[test]
    fn fuzz_plainsql_split_chunking(input in fragments(), chunk in 1usize..64) {
        let whole = try_split(&input, input.len().max(1));
        let chunked = try_split(&input, chunk);
        proptest::prop_assert_eq!(&whole, &chunked);
        if let Ok((pieces, _)) = whole {
            let joined: Vec<u8> = pieces.iter().flat_map(|p| p.bytes().to_vec()).collect();
            proptest::prop_assert_eq!(joined, input);
        }
    }
}

const SQL: &[u8] = b"--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nSET a = 1;\nCOMMENT ON TABLE public.t IS 'a\nCOMMIT;\nb';\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $_$\nBEGIN;\nreturn 1; end$_$;\nCOPY public.t (a) FROM stdin;\nBEGIN;\n\\.x\n\\.\nBEGIN;\n\nSELECT pg_catalog.lowrite(0, '\\x00');\nCOMMIT;\nSELECT E'it\\'s;' ; SELECT /* ; /* ; */ */ 2;\nSELECT \"a;\"\n  FROM x;\n\\unrestrict abc\nSELECT 3";

#[test]
fn splits_like_psql_in_any_chunking() {
    let (whole, clean) = split(SQL, SQL.len());
    assert!(!clean, "ends inside a statement");
    for n in [1, 2, 3, 7, 64] {
        assert_eq!(split(SQL, n).0, whole, "chunk {n}");
    }
    let joined: Vec<u8> = whole.iter().flat_map(|p| p.bytes().to_vec()).collect();
    assert_eq!(joined, SQL);
    let stmts: Vec<String> = whole
        .iter()
        .filter_map(|p| match p {
            Piece::Statement(s) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(
        stmts,
        vec![
            "SET a = 1;\n",
            "COMMENT ON TABLE public.t IS 'a\nCOMMIT;\nb';\n",
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $_$\nBEGIN;\nreturn 1; end$_$;\n",
            "COPY public.t (a) FROM stdin;\n",
            "BEGIN;\n",
            "SELECT pg_catalog.lowrite(0, '\\x00');\n",
            "COMMIT;\n",
            "SELECT E'it\\'s;' ;",
            " SELECT /* ; /* ; */ */ 2;\n",
            "SELECT \"a;\"\n  FROM x;\n",
            "SELECT 3",
        ]
    );
    let copy: Vec<&[u8]> = whole
        .iter()
        .filter_map(|p| match p {
            Piece::CopyData(d) => Some(d.as_slice()),
            _ => None,
        })
        .collect();
    assert_eq!(copy, vec![&b"BEGIN;\n"[..], b"\\.x\n", b"\\.\n"]);
    let metas: Vec<(String, String)> = whole
        .iter()
        .filter_map(|p| match p {
            Piece::Meta(m) => Some(meta_command(m)),
            _ => None,
        })
        .collect();
    assert_eq!(
        metas,
        vec![
            ("restrict".into(), "abc".into()),
            ("unrestrict".into(), "abc".into())
        ]
    );
    let (_, clean) = split(b"SELECT 1;\n", 3);
    assert!(clean);
    let (_, clean) = split(b"COPY t FROM stdin;\n1\n", 3);
    assert!(!clean, "inside COPY data");
}

#[test]
fn transaction_control() {
    assert_eq!(tx_control(b"BEGIN;\n"), Some(TxControl::Begin));
    assert_eq!(tx_control(b"commit;"), Some(TxControl::Commit));
    assert_eq!(tx_control(b"ROLLBACK;"), Some(TxControl::Other));
    assert_eq!(tx_control(b"COMMIT AND CHAIN;"), Some(TxControl::Other));
    assert_eq!(
        tx_control(b"PREPARE TRANSACTION 'x';"),
        Some(TxControl::Other)
    );
    assert_eq!(
        tx_control(b"/* x */ START TRANSACTION;"),
        Some(TxControl::Begin)
    );
    assert_eq!(tx_control(b"SELECT 1;"), None);
    assert_eq!(tx_control(b"BEGINNING;"), None);
    // A word ends where the server's scanner ends it, comments anywhere between words (the
    // psql-as-oracle fuzz test found `end--`: psql sends END, which the old split missed).
    assert_eq!(tx_control(b"end--"), Some(TxControl::Commit));
    assert_eq!(tx_control(b"END/* c */"), Some(TxControl::Commit));
    assert_eq!(tx_control(b"commit/**/work;"), Some(TxControl::Commit));
    assert_eq!(tx_control(b"commit -- x\n work;"), Some(TxControl::Commit));
    assert_eq!(tx_control(b"rollback--x"), Some(TxControl::Other));
    assert_eq!(
        tx_control(b"/* a /* nested */ comment */ begin;"),
        Some(TxControl::Begin)
    );
    assert_eq!(tx_control(b"*/ end;"), None, "not a word first");
    assert_eq!(tx_control(b"end_of_month();"), None);
    assert_eq!(
        leading_words(b"create/**/role\tx", 3),
        ["CREATE", "ROLE", "X"]
    );
    assert_eq!(
        leading_words(b"set search_path = ''", 5),
        ["SET", "SEARCH_PATH"]
    );
}

#[test]
fn entry_headers() {
    let h =
        entry_header(b"-- Name: t id; Type: DEFAULT; Schema: public; Owner: postgres\n").unwrap();
    assert_eq!(
        (
            h.tag.as_str(),
            h.desc.as_str(),
            h.schema.as_str(),
            h.owner.as_str(),
            h.data
        ),
        ("t id", "DEFAULT", "public", "postgres", false)
    );
    let h =
        entry_header(b"-- Data for Name: orders; Type: TABLE DATA; Schema: app; Owner: alice\n")
            .unwrap();
    assert!(h.data);
    assert_eq!(h.desc, "TABLE DATA");
    let h = entry_header(
        b"-- Name: t; Type: TABLE; Schema: public; Owner: postgres; Tablespace: fast\n",
    )
    .unwrap();
    assert_eq!(h.owner, "postgres");
    assert!(entry_header(b"-- Dumped by pg_dump version 15.8\n").is_none());
}
