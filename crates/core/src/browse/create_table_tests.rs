//! The `CREATE TABLE` column-list reader on what pg_dump writes and on hostile statements.

use super::coltypes::Definitions;
use super::create_table::{parse_composite_type, parse_table, TableDef, MAX_DEFN};
use crate::pgdump::{DataState, TocEntry};

fn cols(def: &TableDef) -> Vec<(&str, Option<&str>)> {
    def.columns
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_deref()))
        .collect()
}

/// pg_dump 15's statement for a table with every clause it writes (copied from its output).
const PG_DUMP_15: &str = r#"CREATE TABLE public."Tab, (x)" (
    id integer NOT NULL,
    "we""ird, (col)" numeric(10,2)[],
    v character varying(20) DEFAULT 'a,b''c('::character varying NOT NULL,
    ts timestamp with time zone,
    t timestamp(3) without time zone,
    iv interval day to second(2),
    g integer GENERATED ALWAYS AS ((id * 2)) STORED,
    c text COLLATE pg_catalog."C",
    m public.mood,
    o public."Odd Type",
    b bit varying(5),
    dp double precision,
    ch "char",
    arr2 integer[],
    z text COMPRESSION lz4,
    n integer CONSTRAINT n_not_null NOT NULL,
    CONSTRAINT chk CHECK (((id > 0) AND ((v)::text <> ','::text)))
);
"#;

#[test]
fn pg_dumps_column_list_gives_each_columns_type() {
    let def = parse_table(PG_DUMP_15).unwrap();
    assert_eq!(
        cols(&def),
        vec![
            ("id", Some("integer")),
            ("we\"ird, (col)", Some("numeric(10,2)[]")),
            ("v", Some("character varying(20)")),
            ("ts", Some("timestamp with time zone")),
            ("t", Some("timestamp(3) without time zone")),
            ("iv", Some("interval day to second(2)")),
            ("g", Some("integer")),
            ("c", Some("text")),
            ("m", Some("public.mood")),
            ("o", Some("public.\"Odd Type\"")),
            ("b", Some("bit varying(5)")),
            ("dp", Some("double precision")),
            ("ch", Some("\"char\"")),
            ("arr2", Some("integer[]")),
            ("z", Some("text")),
            ("n", Some("integer")),
        ]
    );
    assert!(def.parents.is_empty() && def.of_type.is_none());
}

#[test]
fn inherited_partitioned_typed_and_odd_tables() {
    let d = parse_table(
        "CREATE TABLE public.child2 (\n    b text NOT NULL,\n    d integer\n)\nINHERITS (public.parent, \"S\".\"Other, (p)\");\n",
    )
    .unwrap();
    assert_eq!(cols(&d), vec![("b", Some("text")), ("d", Some("integer"))]);
    assert_eq!(
        d.parents,
        vec![
            ("public".into(), "parent".into()),
            ("S".into(), "Other, (p)".into())
        ]
    );
    let d = parse_table(
        "CREATE TABLE public.part (\n    k integer,\n    v text\n)\nPARTITION BY RANGE (k);\n",
    )
    .unwrap();
    assert_eq!(cols(&d), vec![("k", Some("integer")), ("v", Some("text"))]);
    // pg_dump 10's partition: no column list of its own.
    let d = parse_table(
        "CREATE TABLE public.p1 PARTITION OF public.part\nFOR VALUES FROM (0) TO (10);\n",
    )
    .unwrap();
    assert_eq!(d.parents, vec![("public".into(), "part".into())]);
    assert!(d.columns.is_empty());
    let d = parse_table("CREATE TABLE public.typed OF public.\"Odd Type\";\n").unwrap();
    assert_eq!(d.of_type, Some(("public".into(), "Odd Type".into())));
    let d =
        parse_table("CREATE TABLE public.typed2 OF public.t (\n    a WITH OPTIONS NOT NULL\n);\n")
            .unwrap();
    assert_eq!(cols(&d), vec![("a", None)]);
    let d = parse_table(
        "CREATE UNLOGGED TABLE public.unl (\n    x integer\n)\nWITH (fillfactor='70');\n",
    )
    .unwrap();
    assert_eq!(cols(&d), vec![("x", Some("integer"))]);
    let d = parse_table("CREATE TABLE public.\"no cols\" (\n);\n").unwrap();
    assert!(d.columns.is_empty());
    // A type named like a keyword is not taken for a clause once qualified.
    let d = parse_table("CREATE TABLE s.t (a s.storage NOT NULL, \"not\" s.\"null\");").unwrap();
    assert_eq!(
        cols(&d),
        vec![("a", Some("s.storage")), ("not", Some("s.\"null\""))]
    );
    let t = parse_composite_type("CREATE TYPE public.\"Odd Type\" AS (\n\ta integer,\n\tb text COLLATE pg_catalog.\"C\"\n);\n").unwrap();
    assert_eq!(cols(&t), vec![("a", Some("integer")), ("b", Some("text"))]);
    assert!(parse_composite_type("CREATE TYPE public.mood AS ENUM (\n    'sad'\n);").is_err());
}

#[test]
fn strings_comments_and_dollar_quotes_do_not_split_columns() {
    let d = parse_table(
        "CREATE TABLE s.t (\n a text DEFAULT E'it\\'s, (a) \"x',\n b text DEFAULT $q$ ), $ $q$ /* ( */,\n -- c int,\n d integer[] DEFAULT '{1,2}'::integer[]\n);",
    )
    .unwrap();
    assert_eq!(
        cols(&d),
        vec![
            ("a", Some("text")),
            ("b", Some("text")),
            ("d", Some("integer[]"))
        ]
    );
}

#[test]
fn hostile_statements_are_refused_never_guessed() {
    for bad in [
        "",
        "DROP TABLE s.t;",
        "CREATE TABLE",
        "CREATE TABLE s.t",
        "CREATE TABLE s.t (a int",
        "CREATE TABLE s.t (a int, b text DEFAULT 'unterminated)",
        "CREATE TABLE s.t (\"a int)",
        "CREATE TABLE s.t (a int /* unterminated )",
        "CREATE TABLE s.t (a int, , b int)",
        "CREATE TABLE s.t (a int,)",
        "CREATE TABLE s.t (\"\" int)",
        "CREATE TABLE s.t (1 int)",
        "CREATE TABLE s.t (a int 'x')",
        "CREATE TABLE s.t (a $x$ int)",
        "CREATE TABLE s.t (a int) INHERITS (s.p,",
        "CREATE TABLE s.t (a int) INHERITS ()",
        "CREATE TABLE s.(a int)",
    ] {
        assert!(parse_table(bad).is_err(), "{bad:?}");
    }
    // Deep nesting and many items cost no stack and are bounded.
    let deep = format!(
        "CREATE TABLE s.t (a {}int{});",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert_eq!(cols(&parse_table(&deep).unwrap()), vec![("a", None)]);
    let many = format!(
        "CREATE TABLE s.t ({});",
        (0..20_000)
            .map(|i| format!("c{i} int"))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert!(parse_table(&many).unwrap_err().contains("more than"));
    let huge = format!(
        "CREATE TABLE s.t (a text DEFAULT '{}');",
        "x".repeat(MAX_DEFN)
    );
    assert!(parse_table(&huge).unwrap_err().contains("bytes"));
    // Non-ASCII and control characters stay text.
    let d = parse_table("CREATE TABLE s.t (\"é\n\" s.\"ü\ttype\", ñ int);").unwrap();
    assert_eq!(
        cols(&d),
        vec![("é\n", Some("s.\"ü\ttype\"")), ("ñ", Some("int"))]
    );
    // Arbitrary bytes never panic.
    let mut seed = 7u64;
    let alphabet = b"()[],.\"'$-/*\\ \nEeaCREATE TABLE s.t int NOT WITH OPTIONS INHERITS";
    for _ in 0..3000 {
        let n = (seed % 60) as usize;
        let mut s = String::from("CREATE TABLE s.t (");
        for _ in 0..n {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s.push(alphabet[(seed >> 33) as usize % alphabet.len()] as char);
        }
        let _ = parse_table(&s);
        let _ = parse_composite_type(&s);
    }
}

fn toc(desc: &str, ns: &str, tag: &str, defn: &str) -> TocEntry {
    TocEntry {
        dump_id: 1,
        had_dumper: false,
        table_oid: 0,
        oid: 0,
        tag: tag.into(),
        desc: desc.into(),
        section: 2,
        defn: Some(defn.into()),
        drop_stmt: None,
        copy_stmt: None,
        namespace: Some(ns.into()),
        tablespace: None,
        tableam: None,
        relkind: None,
        owner: None,
        dependencies: Vec::new(),
        data_state: DataState::NoData,
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn inherited_columns_take_their_parents_types_and_missing_ones_are_said() {
    let entries = vec![
        toc(
            "TABLE",
            "public",
            "parent",
            "CREATE TABLE public.parent (\n    a integer,\n    b text\n);",
        ),
        toc(
            "TABLE",
            "public",
            "child",
            "CREATE TABLE public.child (\n    c date\n)\nINHERITS (public.parent);",
        ),
        toc(
            "TABLE",
            "public",
            "loop",
            "CREATE TABLE public.loop (\n    x int\n)\nINHERITS (public.loop);",
        ),
        toc(
            "TYPE",
            "public",
            "comp",
            "CREATE TYPE public.comp AS (\n    p numeric(5,1),\n    q text\n);",
        ),
        toc(
            "TABLE",
            "public",
            "typed",
            "CREATE TABLE public.typed OF public.comp (\n    p WITH OPTIONS NOT NULL\n);",
        ),
        toc(
            "TABLE",
            "public",
            "broken",
            "CREATE TABLE public.broken (a int",
        ),
        toc(
            "TABLE",
            "public",
            "orphan",
            "CREATE TABLE public.orphan (\n    z int\n)\nINHERITS (public.gone);",
        ),
    ];
    let defs = Definitions::new(&entries);
    let t = defs.column_types("public", "child", &names(&["a", "b", "c"]));
    assert_eq!(
        t.types,
        vec![
            Some("integer".into()),
            Some("text".into()),
            Some("date".into())
        ]
    );
    assert_eq!(t.note, None);
    let t = defs.column_types("public", "typed", &names(&["p", "q"]));
    assert_eq!(
        t.types,
        vec![Some("numeric(5,1)".into()), Some("text".into())]
    );
    let t = defs.column_types("public", "loop", &names(&["x", "y"]));
    assert_eq!(t.types, vec![Some("int".into()), None]);
    assert!(t.note.unwrap().contains("\"y\""));
    let t = defs.column_types("public", "broken", &names(&["a"]));
    assert_eq!(t.types, vec![None]);
    let note = t.note.unwrap();
    assert!(
        note.starts_with("column types are not shown") && note.contains("could not be read"),
        "{note}"
    );
    let t = defs.column_types("public", "orphan", &names(&["z", "w"]));
    assert_eq!(t.types, vec![Some("int".into()), None]);
    assert!(t
        .note
        .unwrap()
        .contains("no CREATE TABLE statement for \"public.gone\""));
    let t = defs.column_types("public", "absent", &names(&["a"]));
    assert!(t.note.unwrap().contains("no CREATE TABLE"));
}

#[test]
fn primary_keys_are_read_from_add_constraint() {
    use super::create_table::parse_primary_key;
    let (t, cols) = parse_primary_key(
        "ALTER TABLE ONLY public.orders\n    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);\n",
    )
    .unwrap()
    .unwrap();
    assert_eq!(t, ("public".to_string(), "orders".to_string()));
    assert_eq!(cols, vec!["id".to_string()]);
    let (t, cols) = parse_primary_key(
        "ALTER TABLE ONLY \"odd schema\".\"my.table\"\n    ADD CONSTRAINT \"k\"\"\" PRIMARY KEY (org_id, \"User Id\");\n",
    )
    .unwrap()
    .unwrap();
    assert_eq!(t, ("odd schema".to_string(), "my.table".to_string()));
    assert_eq!(cols, vec!["org_id".to_string(), "User Id".to_string()]);
    assert_eq!(
        parse_primary_key("ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_u UNIQUE (a);\n")
            .unwrap(),
        None
    );
    assert!(
        parse_primary_key("ALTER TABLE ONLY public.t ADD CONSTRAINT c PRIMARY KEY ((a+1));")
            .is_err()
    );
}
