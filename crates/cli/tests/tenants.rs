//! `offsite tenant add|show|list|remove` on a real database: the root checked (a table without
//! a key, a column that is not a key, a name with quotes and dots, a cycle of foreign keys with
//! no way in: each a clear error naming it, and nothing saved), the tables reached with their
//! paths, the tables not reached.

mod common;

use common::pg::{offsite, ok_json, refused, run};
use offsite_testkit::TestCluster;
use std::path::Path;

#[test]
fn tenants_are_checked_walked_listed_and_removed() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clitenant");
    pg.psql(
        &db,
        r#"CREATE TABLE orgs (id int PRIMARY KEY, slug text NOT NULL UNIQUE, note text);
         CREATE TABLE users (id int PRIMARY KEY, org_id int REFERENCES orgs(id));
         ALTER TABLE orgs ADD COLUMN owner_id int REFERENCES users(id);
         CREATE TABLE projects (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs(id),
                                lead_id int REFERENCES users(id));
         CREATE TABLE tasks (id int PRIMARY KEY, project_id int NOT NULL REFERENCES projects(id));
         CREATE TABLE comments (id int PRIMARY KEY, task_id int NOT NULL REFERENCES tasks(id),
                                parent_id int REFERENCES comments(id));
         CREATE TABLE countries (code text PRIMARY KEY);
         ALTER TABLE users ADD COLUMN country text REFERENCES countries(code);
         CREATE TABLE audit (at timestamptz, what text);
         CREATE TABLE nokey (org_id int, x text);
         CREATE SCHEMA "odd.schema";
         CREATE TABLE "odd.schema"."My ""x"".t" (id int PRIMARY KEY);
         CREATE TABLE a (id int PRIMARY KEY, b_id int NOT NULL);
         CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a(id));
         ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b(id);"#,
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok_json(
        run(
            d,
            pg,
            &["--json", "project", "add", "shop", "--db", &pg.url(&db)],
        ),
        "project add",
    );

    let added = ok_json(
        run(
            d,
            pg,
            &[
                "--json",
                "tenant",
                "add",
                "shop",
                "orgs",
                "--table",
                "public.orgs",
                "--key",
                "id",
            ],
        ),
        "tenant add",
    );
    let shape = &added["shape"];
    let names = |k: &str| -> Vec<String> {
        shape[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                format!(
                    "{}.{}",
                    t["schema"].as_str().unwrap(),
                    t["table"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(names("reached")[0], "public.orgs", "the root first");
    let mut reached = names("reached");
    reached.sort();
    assert_eq!(
        reached,
        [
            "public.comments",
            "public.orgs",
            "public.projects",
            "public.tasks",
            "public.users"
        ]
    );
    // A table with no foreign key to the tenant is not reached; nokey has no key to orgs either.
    assert_eq!(names("referenced"), ["public.countries"]);
    let not: Vec<&str> = shape["not_reached"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for t in ["public.audit", "public.nokey", "public.a", "public.b"] {
        assert!(not.contains(&t), "{t} not in {not:?}");
    }
    let comments = shape["reached"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "comments")
        .unwrap();
    assert_eq!(
        comments["path"],
        serde_json::json!([
            "public.projects(org_id) → public.orgs(id)",
            "public.tasks(project_id) → public.projects(id)",
            "public.comments(task_id) → public.tasks(id)"
        ])
    );
    // A unique NOT NULL column is a key too; a plain column is not.
    ok_json(
        run(
            d,
            pg,
            &[
                "--json", "tenant", "add", "shop", "by-slug", "--table", "orgs", "--key", "slug",
            ],
        ),
        "tenant add by slug",
    );
    refused(
        run(
            d,
            pg,
            &[
                "tenant", "add", "shop", "x", "--table", "orgs", "--key", "note",
            ],
        ),
        "column \"note\" of \"public\".\"orgs\" is not a key",
    );
    // A root without a key; a column that does not exist; a table that does not exist.
    refused(
        run(
            d,
            pg,
            &[
                "tenant", "add", "shop", "x", "--table", "audit", "--key", "what",
            ],
        ),
        "table \"public\".\"audit\" has no primary key or unique key",
    );
    refused(
        run(
            d,
            pg,
            &[
                "tenant", "add", "shop", "x", "--table", "orgs", "--key", "nope",
            ],
        ),
        "has no column \"nope\"",
    );
    // A name with quotes and dots: found when quoted, named exactly when it is not there.
    ok_json(
        run(
            d,
            pg,
            &[
                "--json",
                "tenant",
                "add",
                "shop",
                "odd",
                "--table",
                r#""odd.schema"."My ""x"".t""#,
                "--key",
                "id",
            ],
        ),
        "tenant add odd",
    );
    refused(
        run(
            d,
            pg,
            &[
                "tenant",
                "add",
                "shop",
                "x",
                "--table",
                r#""odd.schema"."My ""y"".t""#,
                "--key",
                "id",
            ],
        ),
        r#"no table "odd.schema"."My ""y"".t""#,
    );
    refused(
        run(
            d,
            pg,
            &[
                "tenant",
                "add",
                "shop",
                "x",
                "--table",
                "odd.schema.My",
                "--key",
                "id",
            ],
        ),
        "is not a table name",
    );
    // A cycle of NOT NULL, not deferrable keys: no row of it can be written first.
    refused(
        run(
            d,
            pg,
            &["tenant", "add", "shop", "x", "--table", "a", "--key", "id"],
        ),
        "form a cycle with no way in",
    );
    refused(
        run(
            d,
            pg,
            &[
                "tenant", "add", "shop", "../x", "--table", "orgs", "--key", "id",
            ],
        ),
        "is not a tenant name",
    );
    refused(
        run(
            d,
            pg,
            &[
                "tenant", "add", "shop", "orgs", "--table", "orgs", "--key", "id",
            ],
        ),
        "already has a tenant",
    );

    let list = ok_json(run(d, pg, &["--json", "tenant", "list", "shop"]), "list");
    let listed: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ["by-slug", "odd", "orgs"],
        "nothing refused was saved"
    );
    let shown = ok_json(
        run(d, pg, &["--json", "tenant", "show", "shop", "odd"]),
        "show",
    );
    assert_eq!(shown["tenant"]["schema"], "odd.schema");
    assert_eq!(shown["tenant"]["table"], r#"My "x".t"#);
    ok_json(
        run(d, pg, &["--json", "tenant", "remove", "shop", "odd"]),
        "remove",
    );
    refused(
        run(d, pg, &["tenant", "show", "shop", "odd"]),
        "no tenant \"odd\"",
    );
}

/// `offsite backup PROJECT --tenant NAME[=VALUE]`: one archive per tenant under
/// `tenants/NAME/VALUE/`, each isolated (checked, in its report), and A's archive restores into
/// an empty database with A's rows only (and the rows they reference), foreign keys in place.
#[test]
fn tenant_backups_hold_one_tenant_and_restore_alone() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clitenantbk");
    pg.psql(
        &db,
        r#"CREATE TABLE countries (code text PRIMARY KEY);
         CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL);
         CREATE TABLE users (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs(id),
                             country text REFERENCES countries(code));
         CREATE TABLE projects (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                org_id int NOT NULL REFERENCES orgs(id), lead_id int REFERENCES users(id),
                                title text, shout text GENERATED ALWAYS AS (upper(title)) STORED);
         CREATE TABLE tasks (id int PRIMARY KEY, project_id int NOT NULL REFERENCES projects(id));
         CREATE TABLE comments (id int PRIMARY KEY, task_id int NOT NULL REFERENCES tasks(id),
                                parent_id int REFERENCES comments(id), body text);
         CREATE TABLE audit (at int, what text);
         INSERT INTO countries VALUES ('de'), ('fr'), ('it');
         INSERT INTO orgs VALUES (1, 'a'), (2, 'b');
         INSERT INTO users VALUES (10, 1, 'de'), (11, 1, NULL), (20, 2, 'fr');
         INSERT INTO projects (org_id, lead_id, title) VALUES (1, 10, 'a1'), (2, 20, 'b1'), (1, 11, 'a2');
         INSERT INTO tasks SELECT g, CASE WHEN g % 3 = 2 THEN 2 ELSE 1 END FROM generate_series(1, 30) g;
         INSERT INTO comments SELECT g, g, NULL, E'tab\there' FROM generate_series(1, 30) g;
         INSERT INTO comments SELECT 100 + g, g, g, 'reply' FROM generate_series(1, 30) g;
         INSERT INTO audit VALUES (1, 'x');"#,
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok_json(
        run(
            d,
            pg,
            &["--json", "project", "add", "shop", "--db", &pg.url(&db)],
        ),
        "project add",
    );
    ok_json(
        run(
            d,
            pg,
            &[
                "--json", "tenant", "add", "shop", "orgs", "--table", "orgs", "--key", "id",
            ],
        ),
        "tenant add",
    );
    refused(
        run(d, pg, &["--json", "backup", "shop", "--tenant", "orgs=1"]),
        "newest good backup",
    );
    ok_json(run(d, pg, &["--json", "backup", "shop"]), "backup");

    let all = ok_json(
        run(d, pg, &["--json", "backup", "shop", "--tenant", "orgs"]),
        "backup --tenant orgs",
    );
    let backups = all["backups"].as_array().unwrap();
    let values: Vec<&str> = backups
        .iter()
        .map(|b| b["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["1", "2"], "{all}");
    for b in backups {
        let rows: u64 = b["dump"]["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["rows"].as_u64().unwrap())
            .sum();
        assert_eq!(b["dump"]["outside"], 0, "{b}");
        assert_eq!(b["dump"]["rows_checked"].as_u64().unwrap(), rows, "{b}");
        let path = b["backup"]["path"].as_str().unwrap();
        let want = format!("/tenants/orgs/{}/", b["value"].as_str().unwrap());
        assert!(path.contains(&want), "{path}");
        ok_json(run(d, pg, &["--json", "verify", path]), "verify");
        // The isolation check is in the archive's manifest: verify and inspect say it.
        let value = b["value"].as_str().unwrap();
        let said = run(d, pg, &["verify", path]);
        assert!(said.status.success());
        let line = format!("isolation: {rows} rows, all in tenant orgs={value}'s closure");
        let text = String::from_utf8_lossy(&said.stdout);
        assert!(text.contains(&line), "{line:?} not in: {text}");
        let m = ok_json(run(d, pg, &["--json", "inspect", path]), "inspect");
        assert_eq!(m["tenant"]["name"], "orgs", "{m}");
        assert_eq!(m["tenant"]["value"], value, "{m}");
        assert_eq!(m["tenant"]["rows_checked"].as_u64(), Some(rows), "{m}");
        assert_eq!(m["tenant"]["outside"], 0, "{m}");
        // Its tables with the rows written: restores and drills compare the counts.
        let tables = m["tables"].as_array().expect("the manifest's tables");
        let counted: u64 = tables.iter().map(|t| t["rows"].as_u64().unwrap()).sum();
        assert_eq!(counted, rows, "{m}");
        assert!(tables.iter().any(|t| t["table"] == "comments"), "{m}");
        let text = String::from_utf8_lossy(&run(d, pg, &["inspect", path]).stdout).into_owned();
        assert!(
            text.contains(&format!("all in tenant orgs={value}'s closure")),
            "{text}"
        );
    }

    // One tenant by value; its archive restores alone.
    let one = ok_json(
        run(d, pg, &["--json", "backup", "shop", "--tenant", "orgs=1"]),
        "backup --tenant orgs=1",
    );
    let path = one["backups"][0]["backup"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    let dst = pg.unique_db("clitenantbk_dst");
    ok_json(
        run(
            d,
            pg,
            &["--json", "restore", &path, "--to", &pg.url(&dst), "--yes"],
        ),
        "restore A",
    );
    let q = |sql: &str| pg.psql(&dst, sql);
    assert_eq!(
        q("SELECT string_agg(id::text, ',' ORDER BY id) FROM orgs"),
        "1"
    );
    assert_eq!(
        q("SELECT string_agg(id::text, ',' ORDER BY id) FROM users"),
        "10,11"
    );
    assert_eq!(
        q("SELECT string_agg(code, ',' ORDER BY code) FROM countries"),
        "de"
    );
    assert_eq!(q("SELECT count(*) FROM projects WHERE org_id <> 1"), "0");
    assert_eq!(
        q("SELECT string_agg(shout, ',' ORDER BY id) FROM projects"),
        "A1,A2"
    );
    // Every task, comment and reply of A, none of B's, values intact.
    let a_tasks = pg.psql(
        &db,
        "SELECT count(*) FROM tasks t JOIN projects p ON p.id = t.project_id WHERE p.org_id = 1",
    );
    assert_eq!(q("SELECT count(*) FROM tasks"), a_tasks);
    assert_eq!(q("SELECT count(*) FROM tasks WHERE project_id = 2"), "0");
    assert_eq!(
        q("SELECT count(*) FROM comments c JOIN tasks t ON t.id = c.task_id WHERE t.project_id = 2"),
        "0"
    );
    assert_eq!(
        q("SELECT count(*) FROM comments"),
        (a_tasks.parse::<u64>().unwrap() * 2).to_string()
    );
    assert_eq!(
        q("SELECT count(*) FROM comments WHERE body = E'tab\\there'"),
        a_tasks
    );
    assert_eq!(
        q("SELECT count(*) FROM audit"),
        "0",
        "a table not reached is empty"
    );
    // The foreign keys came with the schema.
    assert_eq!(
        q("SELECT count(*) FROM pg_constraint WHERE contype = 'f'"),
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
        )
    );
    refused(
        run(d, pg, &["--json", "backup", "shop", "--tenant", "nosuch"]),
        "nosuch",
    );
    // A value of the wrong type: named, and no folder for it.
    refused(
        run(
            d,
            pg,
            &["--json", "backup", "shop", "--tenant", "orgs=../x"],
        ),
        "not a value of column",
    );
    let folders: Vec<String> = std::fs::read_dir(Path::new(&path).ancestors().nth(2).unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(folders.len(), 2, "{folders:?}");

    // Retention neither counts nor removes per-tenant archives: "keep the last 1" keeps the
    // project's one full backup, although three tenant archives are newer.
    let full = ok_json(run(d, pg, &["--json", "backups", "shop"]), "backups");
    let listed = full["backups"].as_array().unwrap().len();
    ok_json(
        run(
            d,
            pg,
            &["--json", "retention", "set", "shop", "--keep-last", "1"],
        ),
        "retention set",
    );
    ok_json(run(d, pg, &["--json", "prune", "shop"]), "prune");
    let after = ok_json(run(d, pg, &["--json", "backups", "shop"]), "backups");
    assert_eq!(
        after["backups"].as_array().unwrap().len(),
        listed,
        "nothing pruned: {after}"
    );
    assert!(Path::new(&path).is_file(), "the tenant archive stays");

    // A tenant archive is known by the mark in its manifest, not by its folder: a copy imported
    // into the project's folder (the newest file there) is still never `shop:latest`.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join(Path::new(&path).file_name().unwrap());
    std::fs::copy(&path, &copy).unwrap();
    ok_json(
        run(
            d,
            pg,
            &[
                "--json",
                "import",
                copy.to_str().unwrap(),
                "--project",
                "shop",
            ],
        ),
        "import a copy of the tenant archive",
    );
    let latest = ok_json(
        run(d, pg, &["--json", "inspect", "shop:latest"]),
        "inspect latest",
    );
    assert!(
        latest.get("tenant").is_none(),
        "latest is the full backup: {latest}"
    );
}

/// A per-tenant archive is an ordinary archive: browsed (rows and column types), compared with
/// another tenant archive by primary key (`diff`), and `recover`ed from into the live database.
#[test]
fn tenant_archives_are_browsed_diffed_and_recovered_from() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clitenantrd");
    pg.psql(
        &db,
        r#"CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL);
         CREATE TABLE projects (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs(id));
         CREATE TABLE tasks (id int PRIMARY KEY, project_id int NOT NULL REFERENCES projects(id),
                             title text, due date);
         CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ SELECT 'COPY x' $$;
         INSERT INTO orgs VALUES (1, 'a'), (2, 'b');
         INSERT INTO projects VALUES (1, 1), (2, 2), (3, 1);
         INSERT INTO tasks SELECT g, 1 + g % 3, E'task\t' || g, '2026-01-01'
           FROM generate_series(1, 30) g;"#,
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok_json(
        run(
            d,
            pg,
            &["--json", "project", "add", "shop", "--db", &pg.url(&db)],
        ),
        "project add",
    );
    ok_json(
        run(
            d,
            pg,
            &[
                "--json", "tenant", "add", "shop", "orgs", "--table", "orgs", "--key", "id",
            ],
        ),
        "tenant add",
    );
    let tenant_archive = |what: &str| -> String {
        ok_json(run(d, pg, &["--json", "backup", "shop"]), what);
        let one = ok_json(
            run(d, pg, &["--json", "backup", "shop", "--tenant", "orgs=1"]),
            what,
        );
        one["backups"][0]["backup"]["path"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = tenant_archive("first");
    let a_tasks = |sql_db: &str| {
        pg.psql(
            sql_db,
            "SELECT count(*) FROM tasks t JOIN projects p ON p.id = t.project_id WHERE p.org_id = 1",
        )
    };
    let a_count = a_tasks(&db);
    // Tenant A changes: one task retitled, one removed, one added; B changes too.
    pg.psql(
        &db,
        "UPDATE tasks SET title = 'renamed' WHERE id = 3;
         DELETE FROM tasks WHERE id = 6;
         INSERT INTO tasks VALUES (100, 3, 'new', NULL), (101, 2, 'b new', NULL);",
    );
    let second = tenant_archive("second");

    // browse: the tables, then a page of tasks with their types.
    let listed = ok_json(run(d, pg, &["--json", "browse", &first]), "browse");
    assert_eq!(listed["readable"], true, "{listed}");
    let tasks = listed["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "tasks")
        .unwrap_or_else(|| panic!("no tasks in {listed}"));
    assert_eq!(tasks["rows"].as_u64().unwrap().to_string(), a_count);
    let page = ok_json(
        run(
            d,
            pg,
            &[
                "--json",
                "browse",
                &first,
                "--table",
                "public.tasks",
                "--limit",
                "1000",
            ],
        ),
        "browse tasks",
    );
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len().to_string(), a_count, "{page}");
    assert_eq!(page["column_types"][2], "text", "{page}");
    assert_eq!(page["column_types"][3], "date", "{page}");
    assert!(
        rows.iter().any(|r| r[2] == "task\t3"),
        "values decoded: {page}"
    );
    let filtered = ok_json(
        run(
            d,
            pg,
            &[
                "--json", "browse", &first, "--table", "tasks", "--where", "id=1",
            ],
        ),
        "browse --where",
    );
    assert_eq!(
        filtered["rows"].as_array().unwrap().len(),
        0,
        "B's task is not in A's archive"
    );

    // diff between the two tenant archives: by primary key.
    let diff = ok_json(run(d, pg, &["--json", "diff", &first, &second]), "diff");
    let t = diff["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "tasks")
        .unwrap_or_else(|| panic!("no tasks in {diff}"));
    assert_eq!(t["compared_by"], "primary_key", "{t}");
    assert_eq!(
        (
            t["added"].as_u64(),
            t["removed"].as_u64(),
            t["changed"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{t}"
    );
    let orgs = diff["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "orgs")
        .unwrap();
    assert_eq!(orgs["status"], "identical", "{orgs}");

    // recover from a tenant archive into the live database: A's projects and tasks come back.
    pg.psql(
        &db,
        "DELETE FROM tasks WHERE project_id IN (1, 3); DELETE FROM projects WHERE org_id = 1;",
    );
    let done = ok_json(
        run(
            d,
            pg,
            &[
                "--json",
                "recover",
                &second,
                "--table",
                "projects",
                "--where",
                "org_id=1",
                "--children",
                "--to",
                "shop",
                "--yes",
            ],
        ),
        "recover from a tenant archive",
    );
    assert!(done["undo_id"].is_string(), "{done}");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM projects"
        ),
        "1,2,3"
    );
    assert_eq!(a_tasks(&db), a_count, "A's tasks as in the second archive");
    assert_eq!(
        pg.psql(&db, "SELECT title FROM tasks WHERE id = 3"),
        "renamed"
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM tasks WHERE id = 101"),
        "1"
    );
}

/// A `--tenant` run where one tenant fails: the others are still backed up (one tenant's
/// failure does not stop the run, issue 62), whole and registered; the error names the failed
/// one with why and the done, the exit is non-zero, and nothing of the failed one is written.
#[test]
fn a_failing_tenant_names_the_done_and_leaves_them_registered() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clitenantfail");
    pg.psql(
        &db,
        "CREATE TABLE orgs (id int PRIMARY KEY);
         CREATE TABLE projects (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs(id));
         INSERT INTO orgs VALUES (1), (2), (3);
         INSERT INTO projects SELECT g, 1 + g % 3 FROM generate_series(1, 9) g;",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok_json(
        run(
            d,
            pg,
            &["--json", "project", "add", "shop", "--db", &pg.url(&db)],
        ),
        "project add",
    );
    ok_json(
        run(
            d,
            pg,
            &[
                "--json", "tenant", "add", "shop", "orgs", "--table", "orgs", "--key", "id",
            ],
        ),
        "tenant add",
    );
    ok_json(run(d, pg, &["--json", "backup", "shop"]), "backup");
    let listed = ok_json(run(d, pg, &["--json", "backups", "shop"]), "backups");
    let full = listed["backups"][0]["path"].as_str().unwrap().to_string();
    let tenants = Path::new(&full).parent().unwrap().join("tenants/orgs");
    std::fs::create_dir_all(&tenants).unwrap();
    // Tenant 2's folder cannot be made: a file stands where it goes.
    std::fs::write(tenants.join("2"), b"in the way").unwrap();

    let out = run(d, pg, &["--json", "backup", "shop", "--tenant", "orgs"]);
    assert!(!out.status.success(), "the run fails");
    let err = common::pg::json(&out)["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.starts_with("1 of 3 tenants failed — tenant orgs=2 failed: "),
        "{err}"
    );
    assert!(
        err.ends_with("(done and registered: orgs=1, orgs=3)"),
        "{err}"
    );
    let after = ok_json(run(d, pg, &["--json", "backups", "shop"]), "backups");
    let paths: Vec<&str> = after["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["path"].as_str().unwrap())
        .collect();
    let done: Vec<&&str> = paths.iter().filter(|p| p.contains("/tenants/")).collect();
    assert_eq!(done.len(), 2, "{paths:?}");
    for t in ["1", "3"] {
        let one = done
            .iter()
            .find(|p| p.contains(&format!("/tenants/orgs/{t}/")))
            .unwrap_or_else(|| panic!("no archive of tenant {t}: {paths:?}"));
        ok_json(
            run(d, pg, &["--json", "verify", one]),
            "the tenant is whole",
        );
    }
    assert!(
        std::fs::metadata(tenants.join("2")).unwrap().is_file(),
        "nothing of tenant 2 was written"
    );
    let mut in_one: Vec<String> = std::fs::read_dir(tenants.join("1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".offsite-folder.lock")
        .collect();
    in_one.sort();
    assert_eq!(
        in_one.len(),
        2,
        "the archive and its .sha256 only: {in_one:?}"
    );
    assert!(in_one[1].ends_with(".sha256"), "{in_one:?}");
}

/// A foreign key that crosses tenants: tenant 1's comment answers a comment of tenant 2. An
/// archive of tenant 1 with its foreign keys intact would hold tenant 2's comment (and, up the
/// keys, tenant 2's issue and organization): the isolation check refuses it, naming the tables,
/// and nothing of tenant 1 is written. Tenant 2 is refused too (the answer is its comment's
/// child, and it points at tenant 1's issue); tenant 3, whose rows meet no other tenant's, is
/// written.
#[test]
fn a_tenant_whose_rows_point_at_another_tenant_is_refused_by_the_isolation_check() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clitenantcross");
    pg.psql(
        &db,
        "CREATE TABLE orgs (id int PRIMARY KEY);
         CREATE TABLE issues (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs(id));
         CREATE TABLE comments (id int PRIMARY KEY, issue_id int NOT NULL REFERENCES issues(id),
                                parent_id int REFERENCES comments(id));
         INSERT INTO orgs VALUES (1), (2), (3);
         INSERT INTO issues VALUES (10, 1), (20, 2), (30, 3);
         INSERT INTO comments VALUES (200, 20, NULL), (201, 20, 200), (100, 10, NULL), (101, 10, 200),
                                     (300, 30, NULL), (301, 30, 300);",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok_json(
        run(
            d,
            pg,
            &["--json", "project", "add", "shop", "--db", &pg.url(&db)],
        ),
        "project add",
    );
    ok_json(
        run(
            d,
            pg,
            &[
                "--json", "tenant", "add", "shop", "orgs", "--table", "orgs", "--key", "id",
            ],
        ),
        "tenant add",
    );
    ok_json(run(d, pg, &["--json", "backup", "shop"]), "backup");

    let out = run(d, pg, &["--json", "backup", "shop", "--tenant", "orgs=1"]);
    assert!(!out.status.success(), "tenant 1 is refused");
    let err = common::pg::json(&out)["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains(
            "reference rows of other tenants in \"public\".\"orgs\" (1 row), \
             \"public\".\"issues\" (1 row), \"public\".\"comments\" (1 row)"
        ),
        "{err}"
    );
    let listed = ok_json(run(d, pg, &["--json", "backups", "shop"]), "backups");
    let paths: Vec<&str> = listed["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["path"].as_str().unwrap())
        .collect();
    assert!(!paths.iter().any(|p| p.contains("/tenants/")), "{paths:?}");

    let out = run(d, pg, &["--json", "backup", "shop", "--tenant", "orgs=2"]);
    assert!(!out.status.success(), "tenant 2 is refused");
    let err = common::pg::json(&out)["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains("other tenants in \"public\".\"orgs\" (1 row), \"public\".\"issues\" (1 row)"),
        "{err}"
    );
    ok_json(
        run(d, pg, &["--json", "backup", "shop", "--tenant", "orgs=3"]),
        "tenant 3 meets no other tenant",
    );
}

/// `schedule set PROJECT … --tenant NAME`: the scheduler's backup is followed by one archive per
/// tenant, split from it; a tenant that does not exist (or on a verify schedule) is refused and
/// nothing is saved; setting the schedule again without `--tenant` names none.
#[test]
fn a_backup_schedule_with_a_tenant_writes_one_archive_per_tenant_after_its_backup() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clitenantsched");
    pg.psql(
        &db,
        "CREATE TABLE orgs (id int PRIMARY KEY);
         CREATE TABLE projects (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs(id));
         INSERT INTO orgs VALUES (1), (2);
         INSERT INTO projects VALUES (1, 1), (2, 2), (3, 1);",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    const T0: &str = "2026-11-20T10:00:00Z";
    const T1: &str = "2026-11-21T03:00:00Z";
    let at = |now: &str, args: &[&str]| {
        offsite(d, pg, args)
            .env("OFFSITE_TEST_NOW", now)
            .output()
            .unwrap()
    };
    ok_json(
        at(
            T0,
            &["--json", "project", "add", "shop", "--db", &pg.url(&db)],
        ),
        "project add",
    );
    ok_json(
        at(
            T0,
            &[
                "--json", "tenant", "add", "shop", "orgs", "--table", "orgs", "--key", "id",
            ],
        ),
        "tenant add",
    );
    let daily = ["schedule", "set", "shop", "--daily", "02:30", "--tz", "UTC"];
    refused(
        at(T0, &[&daily[..], &["--tenant", "nosuch"]].concat()),
        "nosuch",
    );
    refused(
        at(
            T0,
            &[
                "schedule", "set", "shop", "--verify", "--daily", "02:30", "--tenant", "orgs",
            ],
        ),
        "--tenant",
    );
    let none = ok_json(at(T0, &["--json", "schedule", "show", "shop"]), "show");
    assert_eq!(
        none["schedules"].as_array().unwrap().len(),
        0,
        "nothing saved: {none}"
    );

    let set = ok_json(
        at(
            T0,
            &[&["--json"][..], &daily, &["--tenant", "orgs"]].concat(),
        ),
        "schedule set --tenant",
    );
    assert_eq!(set["schedule"]["tenant"], "orgs", "{set}");
    let due = ok_json(at(T1, &["--json", "run-due"]), "run-due");
    let runs = due["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{due}");
    assert_eq!(runs[0]["state"], "succeeded", "{due}");
    let listed = ok_json(at(T1, &["--json", "backups", "shop"]), "backups");
    let paths: Vec<&str> = listed["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["path"].as_str().unwrap())
        .collect();
    let tenants: Vec<&&str> = paths
        .iter()
        .filter(|p| p.contains("/tenants/orgs/"))
        .collect();
    assert_eq!(tenants.len(), 2, "one archive per tenant: {paths:?}");
    assert_eq!(
        paths.len(),
        3,
        "and the backup they were split from: {paths:?}"
    );
    for p in tenants {
        let m = ok_json(at(T1, &["--json", "inspect", p]), "inspect");
        assert_eq!(m["tenant"]["name"], "orgs", "{m}");
    }

    let again = ok_json(at(T1, &[&["--json"][..], &daily].concat()), "set again");
    assert!(again["schedule"]["tenant"].is_null(), "{again}");
}

/// A function whose body holds lines that look like a COPY block (`COPY …` at a line's start,
/// then `\.`): the isolation check reads the blocks where the writer put them, so such a line
/// in the definitions is not taken for rows, and every tenant's backup is written and checked.
#[test]
fn a_copy_line_in_a_function_body_does_not_fail_the_isolation_check() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clitenantcopy");
    pg.psql(
        &db,
        "CREATE TABLE orgs (id int PRIMARY KEY);
         CREATE TABLE projects (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs(id));
         INSERT INTO orgs VALUES (1), (2);
         INSERT INTO projects SELECT g, 1 + g % 2 FROM generate_series(1, 6) g;
         SET check_function_bodies = off;
         CREATE FUNCTION planted() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
COPY public.projects (id, org_id) FROM stdin;
99\t2
\\.
END $f$;",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok_json(
        run(
            d,
            pg,
            &["--json", "project", "add", "shop", "--db", &pg.url(&db)],
        ),
        "project add",
    );
    ok_json(
        run(
            d,
            pg,
            &[
                "--json", "tenant", "add", "shop", "orgs", "--table", "orgs", "--key", "id",
            ],
        ),
        "tenant add",
    );
    ok_json(run(d, pg, &["--json", "backup", "shop"]), "backup");
    let done = ok_json(
        run(d, pg, &["--json", "backup", "shop", "--tenant", "orgs"]),
        "every tenant is written",
    );
    let backups = done["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 2, "{done}");
    for b in backups {
        assert_eq!(b["dump"]["outside"], 0, "{b}");
        // orgs (1 row) and its 3 projects.
        assert_eq!(b["dump"]["rows_checked"], 4, "{b}");
    }
}
