//! A tenant's archive holds only what the tenant may see (issue 62, item 5): a member of tenant
//! A who sets `tasks.assignee` to a user of tenant B must not put B's user row (email, password
//! hash) into A's archive. The owner names the keys members can set (`tenant add …
//! --member-writes 'public.tasks(assignee)'`); a row reached only through such a key is left
//! out and counted, and the archive still restores into an empty database.

mod common;

use common::pg::{ok_json, refused, run};
use offsite_testkit::TestCluster;

#[test]
fn a_row_reached_only_through_a_key_members_write_is_left_out_of_the_tenants_archive() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clitenantmw");
    pg.psql(
        &db,
        r#"CREATE TABLE countries (code text PRIMARY KEY);
         CREATE SCHEMA auth;
         CREATE TABLE auth.users (id int PRIMARY KEY, email text NOT NULL,
                                  encrypted_password text NOT NULL,
                                  country text REFERENCES countries(code));
         CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL);
         CREATE TABLE members (org_id int NOT NULL REFERENCES orgs(id),
                               user_id int NOT NULL REFERENCES auth.users(id),
                               PRIMARY KEY (org_id, user_id));
         CREATE TABLE projects (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs(id));
         CREATE TABLE tasks (id int PRIMARY KEY, project_id int NOT NULL REFERENCES projects(id),
                             assignee int REFERENCES auth.users(id), title text);
         CREATE TABLE audit (at int, what text);
         INSERT INTO countries VALUES ('de'), ('fr'), ('it');
         INSERT INTO auth.users VALUES (1, 'alice@a', 'hash-alice', 'de'),
                                       (2, 'bob@a', 'hash-bob', NULL),
                                       (3, 'carol@b', 'hash-carol-secret', 'fr'),
                                       (4, 'dave@both', 'hash-dave', 'it');
         INSERT INTO orgs VALUES (1, 'a'), (2, 'b');
         INSERT INTO members VALUES (1, 1), (1, 2), (2, 3), (1, 4), (2, 4);
         INSERT INTO projects VALUES (1, 1), (2, 2);
         -- Task 2 is A's, assigned by a member of A to carol, a user of B only.
         INSERT INTO tasks VALUES (1, 1, 1, 'a task'), (2, 1, 3, 'to carol of b'),
                                  (3, 1, 4, 'to dave'), (4, 2, 3, 'b task'), (5, 1, NULL, 'none');"#,
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
    // The setting is checked: the columns of a foreign key, of a table the tenant reaches.
    let add = |writes: &str| {
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
                "orgs",
                "--key",
                "id",
                "--member-writes",
                writes,
            ],
        )
    };
    refused(add("public.tasks(title)"), "no foreign key");
    refused(add("public.audit(at)"), "does not reach");
    refused(add("public.tasks(assignee"), "not a foreign key's columns");
    refused(add("public.nosuch(x)"), "no table");
    let added = ok_json(add("public.tasks(assignee)"), "tenant add --member-writes");
    assert_eq!(
        added["tenant"]["member_writes"][0]["columns"][0], "assignee",
        "{added}"
    );
    let shown = run(d, pg, &["tenant", "show", "shop", "orgs"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains(r#"members write "public"."tasks"("assignee")"#),
        "{text}"
    );

    ok_json(run(d, pg, &["--json", "backup", "shop"]), "backup");
    let all = ok_json(
        run(d, pg, &["--json", "backup", "shop", "--tenant", "orgs"]),
        "backup --tenant orgs",
    );
    let backups = all["backups"].as_array().unwrap();
    let (a, b) = (&backups[0], &backups[1]);
    assert_eq!(
        (a["value"].as_str(), b["value"].as_str()),
        (Some("1"), Some("2"))
    );
    // A: carol came only through task 2's assignee: left out and counted.
    let left = a["dump"]["left_out"].as_array().expect("left_out");
    assert_eq!(left.len(), 1, "{a}");
    assert_eq!(left[0]["schema"], "auth", "{a}");
    assert_eq!(left[0]["name"], "users", "{a}");
    assert_eq!(left[0]["rows"], 1, "{a}");
    assert_eq!(a["dump"]["outside"], 0, "{a}");
    // B: every user it references is a member of B: nothing left out.
    assert_eq!(b["dump"]["left_out"], serde_json::json!([]), "{b}");

    // A's archive restores into an empty database: A's rows, carol's row nowhere, task 2 keeps
    // the value its member chose, and the key is there (not validated: its row is not A's).
    let dst = pg.unique_db("clitenantmw_dst");
    let path = a["backup"]["path"].as_str().unwrap();
    ok_json(
        run(
            d,
            pg,
            &["--json", "restore", path, "--to", &pg.url(&dst), "--yes"],
        ),
        "restore A",
    );
    let q = |sql: &str| pg.psql(&dst, sql);
    assert_eq!(
        q("SELECT string_agg(id || ':' || email, ',' ORDER BY id) FROM auth.users"),
        "1:alice@a,2:bob@a,4:dave@both"
    );
    assert_eq!(
        q("SELECT count(*) FROM auth.users WHERE encrypted_password = 'hash-carol-secret'"),
        "0"
    );
    // carol's country came only with her: gone too.
    assert_eq!(
        q("SELECT string_agg(code, ',' ORDER BY code) FROM countries"),
        "de,it"
    );
    assert_eq!(
        q("SELECT string_agg(id || ':' || coalesce(assignee::text, '-'), ',' ORDER BY id) FROM tasks"),
        "1:1,2:3,3:4,5:-"
    );
    assert_eq!(
        q("SELECT convalidated FROM pg_constraint WHERE conname = 'tasks_assignee_fkey'"),
        "f"
    );
    assert_eq!(
        q(
            "SELECT bool_and(convalidated) FROM pg_constraint WHERE contype = 'f' \
           AND conname <> 'tasks_assignee_fkey'"
        ),
        "t"
    );

    // B's archive: carol and dave, its own task, every key validated.
    let dst_b = pg.unique_db("clitenantmw_dstb");
    let path = b["backup"]["path"].as_str().unwrap();
    ok_json(
        run(
            d,
            pg,
            &["--json", "restore", path, "--to", &pg.url(&dst_b), "--yes"],
        ),
        "restore B",
    );
    assert_eq!(
        pg.psql(
            &dst_b,
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM auth.users"
        ),
        "3,4"
    );
    assert_eq!(
        pg.psql(
            &dst_b,
            "SELECT bool_and(convalidated) FROM pg_constraint WHERE contype = 'f'"
        ),
        "t"
    );
}
