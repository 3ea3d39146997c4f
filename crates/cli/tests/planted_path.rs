//! Every session Offsite opens to a live or recovered database runs with `search_path` fixed
//! (issue 62, item 3): a role that owns the database — not a superuser — plants operators and
//! functions in `public` under the names Offsite's own queries use unqualified (`=` on `oid`,
//! `name` and `text`, `quote_ident`, `format_type`, `pg_get_constraintdef`, `set_config`,
//! `current_setting`, `pg_table_size`, …) and puts `public` before `pg_catalog` with `ALTER
//! DATABASE … SET search_path`. The administrator then runs every command that talks to the
//! database as the cluster's superuser: status, backup, diff against the live database, recover,
//! drill, restore with `--replace`, and the point-in-time capture's enable, status and disable.
//! A planted function, if called, bumps a sequence (which no rollback undoes) and raises; each
//! command must succeed with the honest result, and the sequence must never move.

mod common;

use common::pg::{json, ok, ok_json, run};
use offsite_testkit::TestCluster;

const PLANTER: &str = "planter";

/// The planted objects, created by the database's owner. Each function records its call, then
/// raises: called by Offsite, it would both leave a mark and fail the command.
fn plant() -> String {
    let mut sql = String::from(
        "CREATE SEQUENCE public.planted_calls;
         CREATE FUNCTION public.planted(what text) RETURNS boolean LANGUAGE plpgsql AS $f$
         BEGIN
           PERFORM pg_catalog.nextval('public.planted_calls'::pg_catalog.regclass);
           RAISE EXCEPTION 'planted % ran', what;
         END $f$;\n",
    );
    for (name, args, ret) in [
        ("quote_ident", "text", "text"),
        ("format_type", "oid, integer", "text"),
        ("pg_get_constraintdef", "oid", "text"),
        ("pg_get_constraintdef", "oid, boolean", "text"),
        ("pg_get_indexdef", "oid", "text"),
        ("pg_get_expr", "pg_node_tree, oid", "text"),
        ("pg_get_userbyid", "oid", "name"),
        ("set_config", "text, text, boolean", "text"),
        ("current_setting", "text", "text"),
        ("current_setting", "text, boolean", "text"),
        ("pg_table_size", "regclass", "bigint"),
        ("pg_total_relation_size", "regclass", "bigint"),
        ("pg_relation_size", "regclass", "bigint"),
        ("oidvectortypes", "oidvector", "text"),
        ("has_table_privilege", "text, text", "boolean"),
        ("pg_is_in_recovery", "", "boolean"),
        ("version", "", "text"),
        ("to_regclass", "text", "regclass"),
    ] {
        sql.push_str(&format!(
            "CREATE FUNCTION public.{name}({args}) RETURNS {ret} LANGUAGE plpgsql AS $f$
             BEGIN PERFORM public.planted('{name}'); RETURN NULL; END $f$;\n"
        ));
    }
    for ty in ["oid", "name", "text", "regclass"] {
        let f = format!("planted_eq_{ty}");
        sql.push_str(&format!(
            "CREATE FUNCTION public.{f}({ty}, {ty}) RETURNS boolean LANGUAGE plpgsql AS $f$
             BEGIN RETURN public.planted('= on {ty}'); END $f$;
             CREATE OPERATOR public.= (LEFTARG = {ty}, RIGHTARG = {ty}, FUNCTION = public.{f});\n"
        ));
    }
    sql
}

/// How often a planted function was called (never, when `is_called` is false).
fn planted_calls(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SET search_path = pg_catalog; \
         SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.planted_calls",
    )
}

fn rows(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SET search_path = pg_catalog; \
         SELECT pg_catalog.string_agg(id::text || ':' || v, ',' ORDER BY id) FROM public.items",
    )
}

#[test]
fn nothing_a_database_owner_planted_on_the_search_path_runs() {
    let pg = TestCluster::start();
    let db = "planted";
    pg.psql(
        "postgres",
        &format!(
            "CREATE ROLE {PLANTER} LOGIN; CREATE DATABASE {db} OWNER {PLANTER}; \
             ALTER DATABASE {db} SET search_path = public, pg_catalog"
        ),
    );
    pg.psql(
        db,
        &format!(
            "SET ROLE {PLANTER};
             CREATE TABLE public.items (id int PRIMARY KEY, v text NOT NULL);
             CREATE TABLE public.notes (id int PRIMARY KEY, item int REFERENCES public.items(id),
                                        body text CHECK (pg_catalog.length(body) < 100));
             CREATE INDEX ON public.notes (item);
             INSERT INTO public.items SELECT g, 'v' || g FROM pg_catalog.generate_series(1, 50) g;
             INSERT INTO public.notes SELECT g, g, 'n' || g FROM pg_catalog.generate_series(1, 20) g;
             {}
             RESET ROLE;",
            plant()
        ),
    );
    // The owner's planted objects are live: an unqualified call in this path reaches them.
    assert!(pg
        .try_psql(db, "SELECT quote_ident('x')")
        .unwrap_err()
        .contains("planted quote_ident ran"));
    pg.psql(
        db,
        "SET search_path = pg_catalog; SELECT pg_catalog.setval('public.planted_calls', 1, false)",
    );
    assert_eq!(planted_calls(&pg, db), "0");
    let honest = rows(&pg, db);

    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(
        run(d, &pg, &["project", "add", "planted", "--db", &pg.url(db)]),
        "project add",
    );
    let step = |what: &str, args: &[&str]| -> serde_json::Value {
        let v = ok_json(run(d, &pg, args), what);
        assert_eq!(
            planted_calls(&pg, db),
            "0",
            "{what} called a planted function"
        );
        v
    };

    step("status", &["--json", "status", "planted"]);
    let b = step("backup", &["--json", "backup", "planted"]);
    let archive = b["path"].as_str().unwrap().to_string();

    pg.psql(
        db,
        "SET search_path = pg_catalog; \
         DELETE FROM public.notes WHERE id = 3; DELETE FROM public.items WHERE id = 3; \
         UPDATE public.items SET v = 'changed' WHERE id = 4",
    );
    let diff = step("diff", &["--json", "diff", &archive, "planted:live"]);
    let items = diff["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "items")
        .unwrap_or_else(|| panic!("no items in {diff}"));
    assert_eq!(
        [&items["removed"], &items["changed"], &items["unchanged"]],
        [1, 1, 48],
        "{diff}"
    );

    let rec = step(
        "recover",
        &[
            "--json",
            "recover",
            "planted:latest",
            "--table",
            "items",
            "--where",
            "id=3",
            "--children",
            "--to",
            "planted",
            "--yes",
        ],
    );
    assert_eq!(
        pg.psql(
            db,
            "SET search_path = pg_catalog; SELECT v FROM public.items WHERE id = 3"
        ),
        "v3",
        "{rec}"
    );
    assert_eq!(
        pg.psql(
            db,
            "SET search_path = pg_catalog; SELECT body FROM public.notes WHERE id = 3"
        ),
        "n3"
    );

    let drill = step("drill", &["--json", "drill", "planted"]);
    assert_eq!(drill["verdict"], "passed", "{drill}");

    let restored = step(
        "restore --replace",
        &[
            "--json",
            "restore",
            &archive,
            "--to",
            &pg.url_with_password(db),
            "--replace",
            "--yes",
        ],
    );
    assert!(restored["report"]["database"].is_object(), "{restored}");
    assert_eq!(rows(&pg, db), honest);
    // The replace kept the owner's setting and put the planted objects back from the backup.
    assert!(pg
        .try_psql(db, "SELECT quote_ident('x')")
        .unwrap_err()
        .contains("planted quote_ident ran"));
    pg.psql(
        db,
        "SET search_path = pg_catalog; SELECT pg_catalog.setval('public.planted_calls', 1, false)",
    );

    step("pitr enable", &["--json", "pitr", "enable", "planted"]);
    let st = step("pitr status", &["--json", "pitr", "status", "planted"]);
    assert!(st.is_object(), "{st}");
    step("status again", &["--json", "status", "planted"]);
    let off = run(d, &pg, &["--json", "pitr", "disable", "planted"]);
    assert_eq!(
        planted_calls(&pg, db),
        "0",
        "pitr disable called a planted function"
    );
    json(&ok(off, "pitr disable"));
}

/// The fixed path hides an extension's operators (Supabase keeps them in `extensions`): a key
/// of type `ltree` has no `=` in `pg_catalog`, and a `citext` one would compare as `text`
/// (case-sensitive, no index). A recovery and its undo compare keys and foreign keys by the
/// types' own operators, named with their schema: the rows come back, the undo takes them away.
#[test]
fn keys_of_an_extensions_type_compare_by_their_own_operators() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("extkeys");
    pg.psql(
        &db,
        &format!(
            "CREATE SCHEMA extensions;
             CREATE EXTENSION ltree SCHEMA extensions;
             CREATE EXTENSION citext SCHEMA extensions;
             ALTER DATABASE {db} SET search_path = \"$user\", public, extensions;"
        ),
    );
    pg.psql(
        &db,
        "CREATE TABLE public.nodes (path ltree PRIMARY KEY, label text NOT NULL);
         CREATE TABLE public.members (email citext PRIMARY KEY, node ltree NOT NULL REFERENCES public.nodes(path));
         CREATE TABLE public.visits (id int PRIMARY KEY, email citext NOT NULL REFERENCES public.members(email));
         INSERT INTO public.nodes VALUES ('top', 't'), ('top.a', 'a'), ('top.b', 'b');
         INSERT INTO public.members VALUES ('Ann@x.org', 'top.a'), ('bob@x.org', 'top.b');
         INSERT INTO public.visits VALUES (1, 'Ann@x.org'), (2, 'bob@x.org'), (3, 'Ann@x.org');",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(
        run(d, pg, &["project", "add", "extkeys", "--db", &pg.url(&db)]),
        "project add",
    );
    ok(run(d, pg, &["--json", "backup", "extkeys"]), "backup");
    pg.psql(
        &db,
        "DELETE FROM public.visits WHERE email = 'ann@x.org'; \
         DELETE FROM public.members WHERE email = 'ann@x.org'; \
         DELETE FROM public.nodes WHERE path = 'top.a'",
    );
    let done = ok_json(
        run(
            d,
            pg,
            &[
                "--json",
                "recover",
                "extkeys:latest",
                "--table",
                "nodes",
                "--where",
                "path=top.a",
                "--children",
                "--to",
                "extkeys",
                "--yes",
            ],
        ),
        "recover",
    );
    let all = "SELECT (SELECT string_agg(path::text, ',' ORDER BY path) FROM nodes) || ' ' || \
               (SELECT string_agg(email::text, ',' ORDER BY email) FROM members) || ' ' || \
               (SELECT string_agg(id::text, ',' ORDER BY id) FROM visits)";
    assert_eq!(
        pg.psql(&db, all),
        "top,top.a,top.b Ann@x.org,bob@x.org 1,2,3",
        "{done}"
    );
    let id = done["undo_id"].as_str().expect("an undo id").to_string();
    ok_json(run(d, pg, &["--json", "recover", "--undo", &id]), "undo");
    assert_eq!(pg.psql(&db, all), "top,top.b bob@x.org 2");
}
