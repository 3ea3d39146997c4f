//! `offsite tenant add|show|list|remove` on a real database: the root checked (a table without
//! a key, a column that is not a key, a name with quotes and dots, a cycle of foreign keys with
//! no way in: each a clear error naming it, and nothing saved), the tables reached with their
//! paths, the tables not reached.

use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn offsite(data: &Path, pg: &TestCluster, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_offsite"));
    c.arg("--data-dir").arg(data).args(args);
    for var in ["PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "OFFSITE_PG_BIN"] {
        c.env_remove(var);
    }
    c.env("OFFSITE_SECRET_STORE", "env")
        .env("PGPASSWORD", pg.superuser_password())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(out: Output, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The command fails and its error names `needle`.
fn refused(out: Output, needle: &str) {
    assert!(!out.status.success(), "expected a failure");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(needle), "{needle:?} not in: {text}");
}

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
    ok(
        offsite(
            d,
            pg,
            &["--json", "project", "add", "shop", "--db", &pg.url(&db)],
        ),
        "project add",
    );

    let added = ok(
        offsite(
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
    ok(
        offsite(
            d,
            pg,
            &[
                "--json", "tenant", "add", "shop", "by-slug", "--table", "orgs", "--key", "slug",
            ],
        ),
        "tenant add by slug",
    );
    refused(
        offsite(
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
        offsite(
            d,
            pg,
            &[
                "tenant", "add", "shop", "x", "--table", "audit", "--key", "what",
            ],
        ),
        "table \"public\".\"audit\" has no primary key or unique key",
    );
    refused(
        offsite(
            d,
            pg,
            &[
                "tenant", "add", "shop", "x", "--table", "orgs", "--key", "nope",
            ],
        ),
        "has no column \"nope\"",
    );
    // A name with quotes and dots: found when quoted, named exactly when it is not there.
    ok(
        offsite(
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
        offsite(
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
        offsite(
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
        offsite(
            d,
            pg,
            &["tenant", "add", "shop", "x", "--table", "a", "--key", "id"],
        ),
        "form a cycle with no way in",
    );
    refused(
        offsite(
            d,
            pg,
            &[
                "tenant", "add", "shop", "../x", "--table", "orgs", "--key", "id",
            ],
        ),
        "is not a tenant name",
    );
    refused(
        offsite(
            d,
            pg,
            &[
                "tenant", "add", "shop", "orgs", "--table", "orgs", "--key", "id",
            ],
        ),
        "already has a tenant",
    );

    let list = ok(
        offsite(d, pg, &["--json", "tenant", "list", "shop"]),
        "list",
    );
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
    let shown = ok(
        offsite(d, pg, &["--json", "tenant", "show", "shop", "odd"]),
        "show",
    );
    assert_eq!(shown["tenant"]["schema"], "odd.schema");
    assert_eq!(shown["tenant"]["table"], r#"My "x".t"#);
    ok(
        offsite(d, pg, &["--json", "tenant", "remove", "shop", "odd"]),
        "remove",
    );
    refused(
        offsite(d, pg, &["tenant", "show", "shop", "odd"]),
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
    ok(
        offsite(
            d,
            pg,
            &["--json", "project", "add", "shop", "--db", &pg.url(&db)],
        ),
        "project add",
    );
    ok(
        offsite(
            d,
            pg,
            &[
                "--json", "tenant", "add", "shop", "orgs", "--table", "orgs", "--key", "id",
            ],
        ),
        "tenant add",
    );
    refused(
        offsite(d, pg, &["--json", "backup", "shop", "--tenant", "orgs=1"]),
        "newest good backup",
    );
    ok(offsite(d, pg, &["--json", "backup", "shop"]), "backup");

    let all = ok(
        offsite(d, pg, &["--json", "backup", "shop", "--tenant", "orgs"]),
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
        ok(offsite(d, pg, &["--json", "verify", path]), "verify");
    }

    // One tenant by value; its archive restores alone.
    let one = ok(
        offsite(d, pg, &["--json", "backup", "shop", "--tenant", "orgs=1"]),
        "backup --tenant orgs=1",
    );
    let path = one["backups"][0]["backup"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    let dst = pg.unique_db("clitenantbk_dst");
    ok(
        offsite(
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
        offsite(d, pg, &["--json", "backup", "shop", "--tenant", "nosuch"]),
        "nosuch",
    );
    // A value of the wrong type: named, and no folder for it.
    refused(
        offsite(
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
    let full = ok(offsite(d, pg, &["--json", "backups", "shop"]), "backups");
    let listed = full["backups"].as_array().unwrap().len();
    ok(
        offsite(
            d,
            pg,
            &["--json", "retention", "set", "shop", "--keep-last", "1"],
        ),
        "retention set",
    );
    ok(offsite(d, pg, &["--json", "prune", "shop"]), "prune");
    let after = ok(offsite(d, pg, &["--json", "backups", "shop"]), "backups");
    assert_eq!(
        after["backups"].as_array().unwrap().len(),
        listed,
        "nothing pruned: {after}"
    );
    assert!(Path::new(&path).is_file(), "the tenant archive stays");
}
