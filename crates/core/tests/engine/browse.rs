//! A look inside a real backup without restoring it: tables, pages of rows with a filter, and a
//! CSV export that is byte for byte `COPY … TO STDOUT WITH (FORMAT csv, HEADER)` of the source.

use crate::common::*;
use offsite_core::browse::{ColumnEquals, RowFilter};
use offsite_core::ErrorKind;
use offsite_testkit::TestCluster;

/// Values COPY's text and CSV forms treat specially, in several types.
const TRICKY: &str = r#"
CREATE TABLE public.first (id int primary key);
INSERT INTO public.first SELECT g FROM generate_series(1, 2000) g;
CREATE SCHEMA "odd schema";
CREATE TABLE "odd schema"."Tricky, table" (
    id int,
    t text,
    "quoted ""col""" text,
    b bytea,
    arr text[],
    j jsonb,
    n numeric,
    ts timestamptz
);
INSERT INTO "odd schema"."Tricky, table" VALUES
 (1, NULL, '', NULL, NULL, NULL, NULL, NULL),
 (2, '', 'x', '\x00ff5c0a'::bytea, ARRAY['a,b', NULL, 'c"d', ''], '{"k": "v\n\"q\"", "u": "é"}', 1.50, '2026-01-02 03:04:05+00'),
 (3, 'say "hi", then
leave', E'tab\there', E'\\x5c'::bytea, '{}', '[]', -0.0, NULL),
 (4, E'back\\slash \\N \\.', E'cr\rlf\r\n', ''::bytea, ARRAY['x y'], 'null', 'NaN', 'infinity'),
 (5, '日本語 ✓ émoji 🎉', '\.', NULL, NULL, '{"a": [1, 2.5e10, null]}', 12345678901234567890.123, '1999-12-31 23:59:59.999999+05:30'),
 (6, ',', '"', NULL, NULL, NULL, NULL, NULL);
CREATE TABLE public.single (v text);
INSERT INTO public.single VALUES ('\.'), (''), (NULL), ('plain');
CREATE TABLE public.many (id int, label text);
INSERT INTO public.many SELECT g, 'row ' || g || CASE WHEN g % 1000 = 0 THEN ' thousand' ELSE '' END FROM generate_series(1, 20000) g;
"#;

/// `COPY (table) TO STDOUT WITH (FORMAT csv, HEADER)` of the source, as psql receives it.
fn copy_csv(pg: &TestCluster, db: &str, table: &str) -> Vec<u8> {
    let out = pg
        .command("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-c"])
        .arg(format!("COPY {table} TO STDOUT WITH (FORMAT csv, HEADER)"))
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
async fn csv_export_is_what_copy_to_csv_of_the_source_gives() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(pg, &env, "browsecsv", TRICKY).await;

    let tables = env.engine.browse_tables(&archive, None).await.unwrap();
    assert!(tables.readable, "{:?}", tables.note);
    assert_eq!(
        tables.schemas,
        vec!["odd schema".to_string(), "public".into()]
    );
    let names: Vec<String> = tables
        .tables
        .iter()
        .map(|t| format!("{}.{}", t.schema, t.name))
        .collect();
    for want in [
        "public.first",
        "odd schema.Tricky, table",
        "public.single",
        "public.many",
    ] {
        assert!(names.contains(&want.to_string()), "{want} not in {names:?}");
    }
    let tricky = tables
        .tables
        .iter()
        .find(|t| t.name == "Tricky, table")
        .unwrap();
    assert_eq!(tricky.rows, Some(6));
    assert_eq!(tricky.columns[2], "quoted \"col\"");

    for (schema, table, sql_name) in [
        (
            "odd schema",
            "Tricky, table",
            r#""odd schema"."Tricky, table""#,
        ),
        ("public", "single", "public.single"),
        ("public", "many", "public.many"),
        ("public", "first", "public.first"),
    ] {
        let dest = env.dir.path().join(format!("{table}.csv"));
        let done = env
            .engine
            .export_table_csv(&archive, None, schema, table, &dest)
            .await
            .unwrap();
        let got = std::fs::read(&dest).unwrap();
        let want = copy_csv(pg, &db, sql_name);
        assert!(
            got == want,
            "{table}: differs at {}\n--- browse ---\n{}\n--- COPY ---\n{}",
            first_diff(
                &String::from_utf8_lossy(&got),
                &String::from_utf8_lossy(&want)
            ),
            String::from_utf8_lossy(&got[..got.len().min(2000)]),
            String::from_utf8_lossy(&want[..want.len().min(2000)])
        );
        assert_eq!(done.bytes, got.len() as u64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{table}");
        }
    }
}

#[tokio::test]
async fn rows_come_page_by_page_with_a_filter() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (_db, archive) = backed_up_with(pg, &env, "browsepages", TRICKY).await;
    let e = &env.engine;
    let page = e
        .browse_rows(
            &archive,
            None,
            "public",
            "many",
            100,
            5,
            RowFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(page.columns, vec!["id".to_string(), "label".into()]);
    let ids: Vec<_> = page.rows.iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(ids, vec!["101", "102", "103", "104", "105"]);
    assert!(page.more);
    assert_eq!(page.total_rows, Some(20000));
    // Only what the page needs was read.
    assert_eq!(page.scanned, 105);

    // Substring (case-insensitive) and column = value.
    let filter = RowFilter {
        contains: Some("THOUSAND".into()),
        column_equals: None,
    };
    let page = e
        .browse_rows(&archive, None, "public", "many", 2, 100, filter)
        .await
        .unwrap();
    let ids: Vec<_> = page.rows.iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(ids.len(), 18);
    assert_eq!(ids[0], "3000");
    assert_eq!(ids[17], "20000");
    assert!(!page.more);
    let filter = RowFilter {
        contains: None,
        column_equals: Some(ColumnEquals::parse("label=row 7").unwrap()),
    };
    let page = e
        .browse_rows(&archive, None, "public", "many", 0, 10, filter)
        .await
        .unwrap();
    assert_eq!(
        page.rows,
        vec![vec![Some("7".into()), Some("row 7".into())]]
    );
    // NULLs stay NULL; escapes are decoded.
    let page = e
        .browse_rows(
            &archive,
            None,
            "odd schema",
            "Tricky, table",
            0,
            10,
            RowFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(page.rows[0][1], None);
    assert_eq!(page.rows[0][2].as_deref(), Some(""));
    assert_eq!(page.rows[2][2].as_deref(), Some("tab\there"));
    assert_eq!(page.rows[1][3].as_deref(), Some("\\x00ff5c0a"));

    // Unknown table or column: clear errors.
    let err = e
        .browse_rows(
            &archive,
            None,
            "public",
            "nope",
            0,
            10,
            RowFilter::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let filter = RowFilter {
        contains: None,
        column_equals: Some(ColumnEquals::parse("nope=1").unwrap()),
    };
    let err = e
        .browse_rows(&archive, None, "public", "many", 0, 10, filter)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

/// A copy of `archive` whose manifest `tamper` changed and whose dump `cut` shortened (the
/// members' checksums are the new ones: the archive is consistent, its records are not).
fn rewritten(
    archive: &std::path::Path,
    dir: &std::path::Path,
    tamper: impl FnOnce(&mut offsite_core::archive::Manifest, u64),
    cut: Option<u64>,
) -> std::path::PathBuf {
    use offsite_core::archive::{self, ArchiveWriter, DATABASE_MEMBER};
    use offsite_core::progress::Reporter;
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut m = archive::read_manifest(archive).unwrap();
    let dump = dir.join("database.dump");
    let mut f = std::fs::File::create(&dump).unwrap();
    archive::copy_member(
        archive,
        DATABASE_MEMBER,
        &mut f,
        &Reporter::silent(),
        &cancel,
    )
    .unwrap();
    let size = f.metadata().unwrap().len();
    if let Some(n) = cut {
        f.set_len(n).unwrap();
    }
    drop(f);
    tamper(&mut m, size);
    m.members.clear();
    m.components.clear();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut w = ArchiveWriter::create(&out, "tampered_database.tar.gz", 3).unwrap();
    w.add_file(DATABASE_MEMBER, &dump).unwrap();
    w.finish(m, &Reporter::silent(), &cancel).unwrap().path
}

#[tokio::test]
async fn recorded_offsets_outside_the_dump_and_cut_blocks_are_clear_errors() {
    let pg = TestCluster::shared();
    let env = env().await;
    // Offsets into database.dump: a format 1 archive (one pg_dump stream).
    let db = pg.unique_db("browsehostile");
    pg.psql(&db, TRICKY);
    let archive = crate::parallel_dump::back_up_with_jobs(
        &env,
        "browsehostile",
        pg.url_with_password(&db),
        Some(1),
    )
    .await;
    let e = &env.engine;
    let m = offsite_core::archive::read_manifest(&archive).unwrap();
    assert_eq!(m.format_version, 1);
    let many = m.tables.iter().find(|t| t.table == "many").unwrap().clone();
    let first = m
        .tables
        .iter()
        .find(|t| t.table == "first")
        .unwrap()
        .clone();
    let (many_at, many_len) = (many.dump_offset.unwrap(), many.dump_length.unwrap());
    let page = |p: std::path::PathBuf| async move {
        e.browse_rows(&p, None, "public", "many", 0, 20000, RowFilter::default())
            .await
    };

    type Tamper = Box<dyn FnOnce(&mut offsite_core::archive::Manifest, u64)>;
    let cases: Vec<(&str, Tamper, Option<u64>, &str)> = vec![
        (
            "beyond",
            Box::new(|m, size| {
                m.tables
                    .iter_mut()
                    .find(|t| t.table == "many")
                    .unwrap()
                    .dump_offset = Some(size + 10)
            }),
            None,
            "no data block at offset",
        ),
        (
            "far beyond",
            Box::new(|m, _| {
                m.tables
                    .iter_mut()
                    .find(|t| t.table == "many")
                    .unwrap()
                    .dump_offset = Some(u64::MAX - 3)
            }),
            None,
            "",
        ),
        (
            "another block",
            Box::new(move |m, _| {
                m.tables
                    .iter_mut()
                    .find(|t| t.table == "many")
                    .unwrap()
                    .dump_offset = first.dump_offset
            }),
            None,
            "another block is there",
        ),
        (
            "not a block",
            Box::new(|m, _| {
                let t = m.tables.iter_mut().find(|t| t.table == "many").unwrap();
                t.dump_offset = Some(t.dump_offset.unwrap() + 7)
            }),
            None,
            "damaged",
        ),
        (
            "cut",
            Box::new(|_, _| {}),
            Some(many_at + many_len / 2),
            "damaged",
        ),
    ];
    for (i, (what, tamper, cut, says)) in cases.into_iter().enumerate() {
        let dir = env.dir.path().join(format!("case{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = rewritten(&archive, &dir, tamper, cut);
        let err = page(bad.clone()).await.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::Integrity, "{what}: {err}");
        assert!(err.message().contains(says), "{what}: {err}");
        // The CSV export fails the same way and leaves no file.
        let dest = dir.join("many.csv");
        let err = e
            .export_table_csv(&bad, None, "public", "many", &dest)
            .await
            .expect_err(what);
        assert_eq!(err.kind(), ErrorKind::Integrity, "{what}: {err}");
        assert!(!dest.exists(), "{what}");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".offsite-tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{what}: {leftovers:?}");
    }
    // The untouched archive reads.
    assert_eq!(page(archive.clone()).await.unwrap().rows.len(), 20000);
}

#[tokio::test]
async fn an_imported_plain_sql_dump_is_read_through_the_gate() {
    let pg = TestCluster::shared();
    let env = env().await;
    let src = pg.unique_db("browsesql");
    pg.psql(
        &src,
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);",
    );
    let sql = env.dir.path().join("dump.sql");
    let out = pg
        .command("pg_dump")
        .args(["-Fp", "-d", &src, "-f"])
        .arg(&sql)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.engine
        .add_project(offsite_core::AddProject::url(
            "browsesql",
            pg.url_with_password(&src),
        ))
        .await
        .unwrap();
    let imported = env
        .engine
        .import(
            offsite_core::ImportOptions::new(
                &sql,
                offsite_core::ops::import::ImportInto::Existing {
                    project: "browsesql".into(),
                },
            ),
            offsite_core::JobStart::default(),
        )
        .await
        .unwrap();
    let archive = std::path::PathBuf::from(&imported.backup.path);
    let t = env.engine.browse_tables(&archive, None).await.unwrap();
    assert!(t.readable, "{:?}", t.note);
    let table = t
        .tables
        .iter()
        .find(|t| t.name == "t")
        .expect("table t listed");
    assert!(table.readable);
    assert_eq!(table.rows, Some(2), "counted while listing");
    assert_eq!(table.column_types, [Some("integer".to_string())]);
    let page = env
        .engine
        .browse_rows(&archive, None, "public", "t", 0, 10, RowFilter::default())
        .await
        .unwrap();
    assert_eq!(
        page.rows,
        [[Some("1".to_string())], [Some("2".to_string())]],
        "{page:?}"
    );
}

/// Tables whose columns have every kind of type text pg_dump writes: modifiers, arrays,
/// multi-word types, quoted and schema-qualified names, enums, composites, domains, an
/// inheritance child (whose inherited columns are not in its own CREATE TABLE), a partition,
/// a typed table, a dropped column, generated, identity and serial columns, collations.
const TYPED: &str = r#"
CREATE TYPE public.mood AS ENUM ('sad', 'ok');
CREATE TYPE public."Odd Type" AS (a int, "b, (c)" varchar(7));
CREATE DOMAIN public.posint AS int CHECK (VALUE > 0);
CREATE SCHEMA "S, (q)";
CREATE TABLE "S, (q)"."Tab, ""x"" (y)" (
  id int primary key,
  "we""ird, (col)" numeric(10,2)[],
  v varchar(20) default 'a,b''c(' not null,
  ts timestamptz,
  t timestamp(3) without time zone,
  tt time(2) with time zone,
  iv interval day to second(2),
  g int generated always as (id * 2) stored,
  c text collate "C",
  m public.mood,
  o public."Odd Type",
  d public.posint,
  ident bigint generated always as identity,
  s serial,
  dropped text,
  b bit varying(5),
  bits bit(3),
  dp double precision,
  ch "char",
  nm name,
  arr2 int[][],
  j jsonb,
  u uuid,
  ip inet,
  ch4 character(4),
  constraint chk check (id > 0 and v <> ',')
);
ALTER TABLE "S, (q)"."Tab, ""x"" (y)" DROP COLUMN dropped;
INSERT INTO "S, (q)"."Tab, ""x"" (y)" (id, v, m, d, b, bits) VALUES (1, 'x', 'ok', 5, B'101', B'010');
CREATE TABLE public.parent (a int, b text);
CREATE TABLE public.child (c date, e numeric(4,1)) INHERITS (public.parent);
INSERT INTO public.child VALUES (1, 'one', '2026-01-01', 1.5);
CREATE TABLE public.part (k int, v varchar(3)) PARTITION BY RANGE (k);
CREATE TABLE public.part1 PARTITION OF public.part FOR VALUES FROM (0) TO (10);
INSERT INTO public.part VALUES (1, 'a');
CREATE TABLE public.typed OF public."Odd Type";
INSERT INTO public.typed VALUES (1, 'x');
"#;

/// Every column's `format_type` in the source, by (schema, table, column), as pg_dump (which
/// runs with an empty search_path) writes it.
fn source_types(
    pg: &TestCluster,
    db: &str,
) -> std::collections::HashMap<(String, String, String), String> {
    let json = pg.psql(
        db,
        "SET search_path = ''; \
         SELECT json_agg(json_build_array(c.table_schema, c.table_name, c.column_name, \
                pg_catalog.format_type(a.atttypid, a.atttypmod))) \
         FROM information_schema.columns c \
         JOIN pg_catalog.pg_attribute a \
           ON a.attrelid = pg_catalog.format('%I.%I', c.table_schema, c.table_name)::pg_catalog.regclass \
          AND a.attname = c.column_name \
         WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    let rows: Vec<(String, String, String, String)> = serde_json::from_str(&json).unwrap();
    rows.into_iter()
        .map(|(s, t, c, ty)| ((s, t, c), ty))
        .collect()
}

#[tokio::test]
async fn column_types_are_the_sources_format_type() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(pg, &env, "browsetypes", TYPED).await;
    let want = source_types(pg, &db);
    let tables = env.engine.browse_tables(&archive, None).await.unwrap();
    let mut checked = 0;
    for t in &tables.tables {
        assert_eq!(
            t.columns.len(),
            t.column_types.len(),
            "{}.{}",
            t.schema,
            t.name
        );
        assert_eq!(t.types_note, None, "{}.{}", t.schema, t.name);
        for (col, ty) in t.columns.iter().zip(&t.column_types) {
            let key = (t.schema.clone(), t.name.clone(), col.clone());
            let source = want
                .get(&key)
                .unwrap_or_else(|| panic!("{key:?} not in the source"));
            assert_eq!(ty.as_ref(), Some(source), "{key:?}");
            checked += 1;
        }
    }
    // Every table with data was listed, and all their columns (generated ones are not in COPY).
    for name in ["Tab, \"x\" (y)", "child", "parent", "part1", "typed"] {
        assert!(tables.tables.iter().any(|t| t.name == name), "{name}");
    }
    assert!(checked >= 30, "{checked} columns checked");
    let tab = tables
        .tables
        .iter()
        .find(|t| t.name == "Tab, \"x\" (y)")
        .unwrap();
    let typed: Vec<(&str, Option<&str>)> = tab
        .columns
        .iter()
        .map(String::as_str)
        .zip(tab.column_types.iter().map(Option::as_deref))
        .take(4)
        .collect();
    assert_eq!(
        typed,
        vec![
            ("id", Some("integer")),
            ("we\"ird, (col)", Some("numeric(10,2)[]")),
            ("v", Some("character varying(20)")),
            ("ts", Some("timestamp with time zone")),
        ]
    );
    let child = tables.tables.iter().find(|t| t.name == "child").unwrap();
    assert_eq!(child.columns, vec!["a", "b", "c", "e"]);
    // A page carries the same types.
    let page = env
        .engine
        .browse_rows(
            &archive,
            None,
            "public",
            "child",
            0,
            10,
            RowFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(page.column_types, child.column_types);
    assert_eq!(page.types_note, None);
    assert_eq!(page.rows[0][1].as_deref(), Some("one"));
}
