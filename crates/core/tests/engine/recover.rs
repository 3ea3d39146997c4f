//! `recover`: chosen rows of a backup, with their foreign keys, back into a live database that
//! kept working since; `--undo`; and the odd and hostile inputs, on a real cluster.

use crate::common::*;
use offsite_core::browse::ColumnEquals;
use offsite_core::ops::recover::RecoverRequest;
use offsite_core::recover::{KeyColumns, OnConflict, RecoverReport, RecoverRows, TableRole};
use offsite_core::{ErrorKind, JobStart};
use offsite_testkit::TestCluster;

/// Two tenants: organizations → projects → tasks → comments (replies to comments), members
/// (composite key), an organization ↔ user cycle (owner), identity and generated columns, a
/// trigger, a table without a key, a shared parent table (plans), a name with quotes and dots.
pub(crate) const FIXTURE: &str = r#"
CREATE TABLE plans (id int PRIMARY KEY, name text NOT NULL, price numeric(8,2) NOT NULL);
CREATE TABLE organizations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    plan_id int NOT NULL REFERENCES plans(id),
    owner_id bigint,
    slug text GENERATED ALWAYS AS (lower(name)) STORED
);
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id bigint NOT NULL REFERENCES organizations(id),
    email text NOT NULL UNIQUE
);
ALTER TABLE organizations ADD FOREIGN KEY (owner_id) REFERENCES users(id);
CREATE TABLE members (
    org_id bigint REFERENCES organizations(id),
    user_id bigint REFERENCES users(id),
    role text NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE TABLE projects (id serial PRIMARY KEY, org_id bigint NOT NULL REFERENCES organizations(id), title text NOT NULL);
CREATE TABLE tasks (
    id serial PRIMARY KEY,
    project_id int NOT NULL REFERENCES projects(id),
    assignee_id bigint REFERENCES users(id),
    title text NOT NULL,
    est numeric(6,2),
    due timestamptz
);
CREATE FUNCTION check_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF NEW.title = '' THEN RAISE EXCEPTION 'empty title'; END IF; RETURN NEW; END $$;
CREATE TRIGGER tasks_check BEFORE INSERT OR UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION check_task();
CREATE TABLE comments (id serial PRIMARY KEY, task_id int NOT NULL REFERENCES tasks(id), parent_id int REFERENCES comments(id), body text NOT NULL);
CREATE TABLE task_log (task_id int NOT NULL REFERENCES tasks(id), at int NOT NULL, note text);
CREATE TABLE "Odd ""quoted"".tbl" (id int PRIMARY KEY, org_id bigint NOT NULL REFERENCES organizations(id), "v.1" text);

INSERT INTO plans VALUES (1, 'basic', 10), (2, 'pro', 50);
INSERT INTO organizations (name, plan_id) VALUES ('Acme', 1), ('Beta', 2);
INSERT INTO users (org_id, email) VALUES (1, 'a1@acme'), (1, 'a2@acme'), (2, 'b1@beta');
UPDATE organizations SET owner_id = 1 WHERE id = 1;
UPDATE organizations SET owner_id = 3 WHERE id = 2;
INSERT INTO members VALUES (1, 1, 'owner'), (1, 2, 'dev'), (2, 3, 'owner');
INSERT INTO projects (org_id, title) VALUES (1, 'A-one'), (1, 'A-two'), (2, 'B-one');
INSERT INTO tasks (project_id, assignee_id, title, est, due)
  SELECT p, CASE WHEN p < 3 THEN 1 + g % 2 ELSE 3 END, 'task ' || p || '/' || g || E'\ttab\\', g * 1.25,
         '2026-11-01 10:00:00+02'::timestamptz + g * interval '1 day'
  FROM generate_series(1, 3) p, generate_series(1, 4) g ORDER BY p, g;
INSERT INTO comments (task_id, parent_id, body) SELECT t, NULL, 'first on ' || t FROM generate_series(1, 12) t;
INSERT INTO comments (task_id, parent_id, body) SELECT t, t, 'reply on ' || t FROM generate_series(1, 12) t;
INSERT INTO comments (task_id, parent_id, body) SELECT t, 12 + t, E'reply to reply\n' || t FROM generate_series(1, 12) t;
INSERT INTO task_log SELECT t, 1, 'created' FROM generate_series(1, 12) t;
INSERT INTO "Odd ""quoted"".tbl" VALUES (1, 1, 'a''s'), (2, 2, 'b');
-- The first comments move behind their replies in the table (and the dump): a reply is read
-- before the comment it answers.
UPDATE comments SET body = body WHERE parent_id IS NULL;
"#;

/// Tenant A's rows, table by table, as text (what must come back exactly).
const TENANT_A: &str = r#"
SELECT 'org', o::text FROM organizations o WHERE id = 1
UNION ALL SELECT 'user', u::text FROM users u WHERE org_id = 1
UNION ALL SELECT 'member', m::text FROM members m WHERE org_id = 1
UNION ALL SELECT 'project', p::text FROM projects p WHERE org_id = 1
UNION ALL SELECT 'task', t::text FROM tasks t WHERE project_id IN (1, 2)
UNION ALL SELECT 'comment', c::text FROM comments c WHERE task_id <= 8
UNION ALL SELECT 'log', l::text FROM task_log l WHERE task_id <= 8
UNION ALL SELECT 'odd', x::text FROM "Odd ""quoted"".tbl" x WHERE org_id = 1
ORDER BY 1, 2;
"#;

/// Every row of every table, and the sequences: the database's whole state.
const EVERYTHING: &str = r#"
SELECT 'plan', x::text FROM plans x UNION ALL SELECT 'org', x::text FROM organizations x
UNION ALL SELECT 'user', x::text FROM users x UNION ALL SELECT 'member', x::text FROM members x
UNION ALL SELECT 'project', x::text FROM projects x UNION ALL SELECT 'task', x::text FROM tasks x
UNION ALL SELECT 'comment', x::text FROM comments x UNION ALL SELECT 'log', x::text FROM task_log x
UNION ALL SELECT 'odd', x::text FROM "Odd ""quoted"".tbl" x
UNION ALL SELECT 'seq', sequencename || '=' || coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = 'public'
ORDER BY 1, 2;
"#;

const DELETE_A: &str = r#"
SET TimeZone = 'UTC';
DELETE FROM comments WHERE task_id <= 8;
DELETE FROM task_log WHERE task_id <= 8;
DELETE FROM tasks WHERE project_id IN (1, 2);
DELETE FROM projects WHERE org_id = 1;
DELETE FROM members WHERE org_id = 1;
DELETE FROM "Odd ""quoted"".tbl" WHERE org_id = 1;
UPDATE organizations SET owner_id = NULL WHERE id = 1;
DELETE FROM users WHERE org_id = 1;
DELETE FROM organizations WHERE id = 1;
"#;

/// Tenant B keeps working, and A's shared parent (its plan) changes.
const KEEP_WRITING: &str = r#"
UPDATE plans SET price = 99 WHERE id = 1;
INSERT INTO users (org_id, email) VALUES (2, 'b2@beta');
INSERT INTO projects (org_id, title) VALUES (2, 'B-two');
INSERT INTO tasks (project_id, assignee_id, title) VALUES (3, 4, 'new B task'), (4, 3, 'another');
UPDATE tasks SET title = 'B renamed' WHERE id = 9;
INSERT INTO comments (task_id, parent_id, body) VALUES (9, 9, 'B keeps talking');
"#;

const TENANT_B: &str = r#"
SELECT 'org', o::text FROM organizations o WHERE id = 2
UNION ALL SELECT 'user', u::text FROM users u WHERE org_id = 2
UNION ALL SELECT 'project', p::text FROM projects p WHERE org_id = 2
UNION ALL SELECT 'task', t::text FROM tasks t JOIN projects p ON p.id = t.project_id WHERE p.org_id = 2
UNION ALL SELECT 'comment', c::text FROM comments c JOIN tasks t ON t.id = c.task_id JOIN projects p ON p.id = t.project_id WHERE p.org_id = 2
ORDER BY 1, 2;
"#;

fn tenant(table: &str, value: &str, children: bool) -> RecoverRows {
    RecoverRows {
        table: table.into(),
        filters: vec![ColumnEquals {
            column: "id".into(),
            value: value.into(),
        }],
        children,
        on_conflict: OnConflict::Keep,
        key_columns: vec![KeyColumns {
            table: Some("public.task_log".into()),
            columns: vec!["task_id".into(), "at".into()],
        }],
        fire_triggers: false,
        keys: None,
    }
}

async fn recover(
    env: &Env,
    archive: &std::path::Path,
    pg: &TestCluster,
    db: &str,
    rows: RecoverRows,
    dry_run: bool,
) -> offsite_core::Result<RecoverReport> {
    let req = RecoverRequest {
        archive: archive.display().to_string(),
        rows,
        to: target(pg, db),
        dry_run,
    };
    Ok(env
        .engine
        .recover(req, None, JobStart::default())
        .await?
        .report)
}

fn table<'a>(r: &'a RecoverReport, name: &str) -> &'a offsite_core::recover::TableRecovery {
    r.tables
        .iter()
        .find(|t| t.table == name)
        .unwrap_or_else(|| panic!("no {name} in {:#?}", r.tables))
}

/// The target's password for `--undo` (the undo file keeps the URL without it).
fn pw(pg: &TestCluster) -> Option<String> {
    Some(pg.superuser_password().to_string())
}

fn env_ts(pg: &TestCluster, db: &str, sql: &str) -> String {
    pg.psql(db, &format!("SET TimeZone = 'UTC';\n{sql}"))
}

#[tokio::test]
async fn a_deleted_tenant_comes_back_with_its_subtree_and_undo_puts_things_back() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(pg, &env, "recovertenant", FIXTURE).await;
    let a_before = env_ts(pg, &db, TENANT_A);
    assert!(a_before.lines().count() > 40, "{a_before}");

    pg.psql(&db, DELETE_A);
    pg.psql(&db, KEEP_WRITING);
    let b_before = env_ts(pg, &db, TENANT_B);
    let state_before = env_ts(pg, &db, EVERYTHING);
    assert_eq!(env_ts(pg, &db, TENANT_A), "");

    // The plan: counts per table, the trigger, the shared parent left as the target has it.
    let plan = recover(
        &env,
        &archive,
        pg,
        &db,
        tenant("public.organizations", "1", true),
        true,
    )
    .await
    .unwrap();
    assert!(plan.dry_run && plan.undo_id.is_none());
    assert_eq!(
        env_ts(pg, &db, EVERYTHING),
        state_before,
        "a dry run writes nothing"
    );
    let counts = |t: &str| {
        let t = table(&plan, t);
        (
            t.insert,
            t.update,
            t.conflict,
            t.unchanged,
            t.parents_present,
        )
    };
    assert_eq!(counts("organizations"), (1, 0, 0, 0, 0));
    assert_eq!(counts("users"), (2, 0, 0, 0, 0));
    assert_eq!(counts("members"), (2, 0, 0, 0, 0));
    assert_eq!(counts("projects"), (2, 0, 0, 0, 0));
    assert_eq!(counts("tasks"), (8, 0, 0, 0, 0));
    assert_eq!(counts("comments"), (24, 0, 0, 0, 0));
    assert_eq!(counts("task_log"), (8, 0, 0, 0, 0));
    assert_eq!(counts("Odd \"quoted\".tbl"), (1, 0, 0, 0, 0));
    assert_eq!(
        counts("plans"),
        (0, 0, 0, 0, 1),
        "{:#?}",
        table(&plan, "plans")
    );
    assert_eq!(table(&plan, "plans").role, TableRole::Parent);
    assert_eq!(
        table(&plan, "tasks").triggers,
        vec!["tasks_check".to_string()]
    );
    assert!(table(&plan, "comments").sample.len() <= 5);
    assert!(!table(&plan, "comments").sample.is_empty());

    let done = recover(
        &env,
        &archive,
        pg,
        &db,
        tenant("public.organizations", "1", true),
        false,
    )
    .await
    .unwrap();
    let undo_id = done.undo_id.clone().expect("an undo id");
    assert_eq!(
        env_ts(pg, &db, TENANT_A),
        a_before,
        "A's rows are the backup's"
    );
    assert_eq!(
        env_ts(pg, &db, TENANT_B),
        b_before,
        "B's rows are untouched"
    );
    assert_eq!(
        pg.psql(&db, "SELECT price FROM plans WHERE id = 1"),
        "99.00",
        "a parent the target has is left as it is"
    );
    // No foreign key broken (they are immediate; checked again row by row).
    let orphans = pg.psql(
        &db,
        "SELECT (SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = u.org_id))
              + (SELECT count(*) FROM organizations o WHERE owner_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.owner_id))
              + (SELECT count(*) FROM comments c WHERE parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM comments p WHERE p.id = c.parent_id))",
    );
    assert_eq!(orphans, "0");
    let seq_ok = pg.psql(
        &db,
        "SELECT bool_and(ok) FROM (
           SELECT (SELECT last_value FROM organizations_id_seq) >= (SELECT max(id) FROM organizations) AS ok
           UNION ALL SELECT (SELECT last_value FROM users_id_seq) >= (SELECT max(id) FROM users)
           UNION ALL SELECT (SELECT last_value FROM projects_id_seq) >= (SELECT max(id) FROM projects)
           UNION ALL SELECT (SELECT last_value FROM tasks_id_seq) >= (SELECT max(id) FROM tasks)
           UNION ALL SELECT (SELECT last_value FROM comments_id_seq) >= (SELECT max(id) FROM comments)) s",
    );
    assert_eq!(seq_ok, "t");
    let undo_file = env
        .dir
        .path()
        .join("data/recoveries")
        .join(format!("{undo_id}.undo"));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&undo_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // Again: everything is there now, nothing to insert.
    let again = recover(
        &env,
        &archive,
        pg,
        &db,
        tenant("public.organizations", "1", true),
        true,
    )
    .await
    .unwrap();
    assert_eq!(table(&again, "comments").unchanged, 24);
    assert_eq!(table(&again, "comments").insert, 0);

    let undone = env
        .engine
        .recover_undo(&undo_id, pw(pg), JobStart::default())
        .await
        .unwrap();
    assert!(
        undone.report.tables.iter().all(|t| t.changed_since == 0),
        "{:#?}",
        undone.report
    );
    assert_eq!(
        env_ts(pg, &db, EVERYTHING),
        state_before,
        "undo returns the exact previous state"
    );
    let twice = env
        .engine
        .recover_undo(&undo_id, pw(pg), JobStart::default())
        .await;
    assert_eq!(twice.unwrap_err().kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn update_overwrites_what_differs_and_undo_gives_the_old_values_back() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(pg, &env, "recoverupdate", FIXTURE).await;
    pg.psql(
        &db,
        "UPDATE projects SET title = 'broken' WHERE id = 1; DELETE FROM comments WHERE id = 25;",
    );
    let before = env_ts(pg, &db, EVERYTHING);
    let mut rows = tenant("public.projects", "1", true);
    let keep = recover(&env, &archive, pg, &db, rows.clone(), false)
        .await
        .unwrap();
    assert_eq!(table(&keep, "projects").conflict, 1);
    assert_eq!(table(&keep, "comments").insert, 1);
    assert_eq!(
        pg.psql(&db, "SELECT title FROM projects WHERE id = 1"),
        "broken"
    );
    assert_eq!(
        pg.psql(&db, "SELECT body FROM comments WHERE id = 25"),
        "reply to reply\n1"
    );
    let _ = env
        .engine
        .recover_undo(
            keep.undo_id.as_deref().unwrap(),
            pw(pg),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(env_ts(pg, &db, EVERYTHING), before);

    rows.on_conflict = OnConflict::Update;
    let upd = recover(&env, &archive, pg, &db, rows, false).await.unwrap();
    assert_eq!(table(&upd, "projects").update, 1);
    assert_eq!(
        pg.psql(&db, "SELECT title FROM projects WHERE id = 1"),
        "A-one"
    );
    let _ = env
        .engine
        .recover_undo(upd.undo_id.as_deref().unwrap(), pw(pg), JobStart::default())
        .await
        .unwrap();
    assert_eq!(env_ts(pg, &db, EVERYTHING), before);
}

#[tokio::test]
async fn into_an_empty_copy_of_the_schema_only_the_tenant_comes_and_sequences_move_past_it() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(pg, &env, "recoverempty", FIXTURE).await;
    let empty = pg.unique_db("recoverempty_target");
    let schema = pg
        .command("pg_dump")
        .args(["-s", "-d", &db])
        .output()
        .unwrap();
    assert!(schema.status.success());
    pg.psql(&empty, &String::from_utf8(schema.stdout).unwrap());
    let r = recover(
        &env,
        &archive,
        pg,
        &empty,
        tenant("public.organizations", "1", true),
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        table(&r, "plans").insert,
        1,
        "the parent the target lacks is inserted"
    );
    assert_eq!(env_ts(pg, &empty, TENANT_A), env_ts(pg, &db, TENANT_A));
    assert_eq!(
        pg.psql(&empty, "SELECT count(*) FROM organizations WHERE id <> 1"),
        "0"
    );
    assert_eq!(
        pg.psql(&empty, "SELECT count(*) FROM projects WHERE org_id <> 1"),
        "0"
    );
    assert_eq!(
        pg.psql(
            &empty,
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM plans"
        ),
        "1"
    );
    // New rows get new ids: the sequences were moved past the recovered ones.
    pg.psql(&empty, "INSERT INTO organizations (name, plan_id) VALUES ('New', 1); INSERT INTO projects (org_id, title) VALUES (1, 'n'); INSERT INTO comments (task_id, body) VALUES (1, 'n')");
}

/// Counts of every table and the undo folder: what "nothing written" looks at.
fn untouched(pg: &TestCluster, db: &str, env: &Env) -> (String, bool) {
    let recoveries = env.dir.path().join("data/recoveries");
    let any = std::fs::read_dir(&recoveries)
        .map(|d| d.count() > 0)
        .unwrap_or(false);
    (env_ts(pg, db, EVERYTHING), any)
}

#[tokio::test]
async fn hostile_and_odd_input_is_refused_by_name_with_nothing_written() {
    let pg = TestCluster::shared();
    let env = env().await;
    let cyc = "CREATE TABLE cyc_a (id int PRIMARY KEY, b_id int NOT NULL);
        CREATE TABLE cyc_b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES cyc_a(id) DEFERRABLE INITIALLY DEFERRED);
        ALTER TABLE cyc_a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES cyc_b(id) DEFERRABLE INITIALLY DEFERRED;
        BEGIN; INSERT INTO cyc_a VALUES (1, 1); INSERT INTO cyc_b VALUES (1, 1); COMMIT;";
    let (db, archive) =
        backed_up_with(pg, &env, "recoverhostile", &format!("{FIXTURE}{cyc}")).await;
    pg.psql(&db, DELETE_A);
    pg.psql(
        &db,
        "BEGIN; DELETE FROM cyc_a; DELETE FROM cyc_b; COMMIT;
         ALTER TABLE cyc_b DROP CONSTRAINT cyc_b_a_id_fkey, ADD FOREIGN KEY (a_id) REFERENCES cyc_a(id);
         ALTER TABLE cyc_a DROP CONSTRAINT a_b, ADD FOREIGN KEY (b_id) REFERENCES cyc_b(id);",
    );
    let before = untouched(pg, &db, &env);
    let with = |f: &dyn Fn(&mut RecoverRows)| {
        let mut r = tenant("public.organizations", "1", true);
        f(&mut r);
        r
    };
    let cases: Vec<(RecoverRows, ErrorKind, Vec<&str>)> = vec![
        (
            with(&|r| r.filters[0].column = "nme".into()),
            ErrorKind::InvalidInput,
            vec!["nme", "organizations"],
        ),
        (
            with(&|r| r.filters[0].value = "1; DROP TABLE plans".into()),
            ErrorKind::InvalidInput,
            vec!["1; DROP TABLE plans", "bigint"],
        ),
        (
            with(&|r| r.table = r#"public."plans"".x""#.into()),
            ErrorKind::NotFound,
            vec![r#""plans"".x""#],
        ),
        (
            with(&|r| r.table = r#"public."unclosed"#.into()),
            ErrorKind::InvalidInput,
            vec!["unclosed"],
        ),
        (
            with(&|r| r.key_columns.clear()),
            ErrorKind::InvalidInput,
            vec!["task_log", "--key-columns"],
        ),
        (
            RecoverRows {
                table: "task_log".into(),
                filters: vec![ColumnEquals {
                    column: "task_id".into(),
                    value: "1".into(),
                }],
                ..RecoverRows::default()
            },
            ErrorKind::InvalidInput,
            vec!["task_log", "no primary key"],
        ),
        (
            RecoverRows {
                table: "public.cyc_a".into(),
                filters: vec![ColumnEquals {
                    column: "id".into(),
                    value: "1".into(),
                }],
                ..RecoverRows::default()
            },
            ErrorKind::InvalidInput,
            vec!["cycle", "cyc_a", "cyc_b"],
        ),
    ];
    for (rows, kind, words) in cases {
        let what = format!("{rows:?}");
        let e = recover(&env, &archive, pg, &db, rows, false)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{what}: {e}");
        let said = format!("{} {}", e.message(), e.hint().unwrap_or_default());
        for w in words {
            assert!(said.contains(w), "{what}: {w:?} not in {said:?}");
        }
        assert_eq!(untouched(pg, &db, &env), before, "{what} wrote something");
    }
    // The odd name works when it is a real table.
    let odd = recover(
        &env,
        &archive,
        pg,
        &db,
        RecoverRows {
            table: r#"public."Odd ""quoted"".tbl""#.into(),
            filters: vec![ColumnEquals {
                column: "id".into(),
                value: "1".into(),
            }],
            ..RecoverRows::default()
        },
        true,
    )
    .await
    .unwrap();
    assert_eq!(table(&odd, "Odd \"quoted\".tbl").insert, 1);
    assert_eq!(
        table(&odd, "organizations").insert,
        1,
        "its parent the target lacks"
    );
}

/// Key sets past their memory bound spill to sorted runs on disk (issue 45, item 5): with a
/// bound of two keys every set of this recovery spills, merges runs and goes through the
/// Bloom filter, and the plan and the rows recovered are those of the sets held in memory.
#[tokio::test]
async fn key_sets_spilled_to_disk_recover_the_same_rows_as_in_memory() {
    use offsite_core::recover::{key_runs_written, set_keys_in_memory};
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(pg, &env, "recoverspill", FIXTURE).await;
    let a_before = env_ts(pg, &db, TENANT_A);
    pg.psql(&db, DELETE_A);
    pg.psql(&db, KEEP_WRITING);
    let b_before = env_ts(pg, &db, TENANT_B);
    let rows = || tenant("public.organizations", "1", true);
    let in_memory = recover(&env, &archive, pg, &db, rows(), true)
        .await
        .unwrap();
    let runs = key_runs_written();
    set_keys_in_memory(2);
    let spilled = recover(&env, &archive, pg, &db, rows(), true).await;
    let done = recover(&env, &archive, pg, &db, rows(), false).await;
    set_keys_in_memory(0);
    let (spilled, done) = (spilled.unwrap(), done.unwrap());
    assert!(
        key_runs_written() > runs + 10,
        "the key sets did not spill: {} runs",
        key_runs_written() - runs
    );
    assert_eq!(spilled.tables, in_memory.tables);
    assert_eq!(spilled.rows_read, in_memory.rows_read);
    assert!(done.undo_id.is_some());
    assert_eq!(env_ts(pg, &db, TENANT_A), a_before);
    assert_eq!(env_ts(pg, &db, TENANT_B), b_before);
}

#[tokio::test]
async fn replies_read_before_the_comment_they_answer_still_come_with_it() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(pg, &env, "recoverreplies", FIXTURE).await;
    // In the dump, comment 1 comes after its reply 13 and the reply's reply 25.
    pg.psql(&db, "DELETE FROM comments WHERE id IN (1, 13, 25)");
    let rows = RecoverRows {
        table: "public.comments".into(),
        filters: vec![ColumnEquals {
            column: "id".into(),
            value: "1".into(),
        }],
        children: true,
        ..RecoverRows::default()
    };
    let r = recover(&env, &archive, pg, &db, rows, false).await.unwrap();
    assert_eq!(
        table(&r, "comments").insert,
        3,
        "{:#?}",
        table(&r, "comments")
    );
    assert_eq!(
        pg.psql(&db, "SELECT string_agg(id || ':' || coalesce(parent_id::text, '-'), ',' ORDER BY id) FROM comments WHERE id IN (1, 13, 25)"),
        "1:-,13:1,25:13"
    );
}

/// Foreign keys that cascade: a row written or changed since the recovery, which references a
/// recovered row, would be deleted or changed by undo's deletes. Undo refuses, naming the
/// table and the foreign key, and changes nothing; once those rows are out of the way it runs.
const CASCADING: &str = r#"
CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE projects (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, title text);
CREATE TABLE notes (id int PRIMARY KEY, project_id int REFERENCES projects(id) ON DELETE SET NULL, body text);
CREATE TABLE replies (id int PRIMARY KEY, parent_id int REFERENCES replies(id) ON DELETE CASCADE, org_id int NOT NULL REFERENCES orgs(id) ON DELETE CASCADE);
INSERT INTO orgs VALUES (1, 'A'), (2, 'B');
INSERT INTO projects VALUES (10, 1, 'a'), (20, 2, 'b');
INSERT INTO replies VALUES (100, NULL, 1), (101, 100, 1);
"#;

const CASCADING_STATE: &str = r#"
SELECT 'org', x::text FROM orgs x UNION ALL SELECT 'project', x::text FROM projects x
UNION ALL SELECT 'note', x::text FROM notes x UNION ALL SELECT 'reply', x::text FROM replies x
ORDER BY 1, 2;
"#;

#[tokio::test]
async fn undo_refuses_to_cascade_into_rows_the_recovery_did_not_write() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(pg, &env, "recovercascade", CASCADING).await;
    pg.psql(&db, "DELETE FROM orgs WHERE id = 1"); // cascades to project 10 and the replies
    let rows = RecoverRows {
        table: "public.orgs".into(),
        filters: vec![ColumnEquals {
            column: "id".into(),
            value: "1".into(),
        }],
        children: true,
        ..RecoverRows::default()
    };
    let done = recover(&env, &archive, pg, &db, rows, false).await.unwrap();
    let undo_id = done.undo_id.clone().expect("an undo id");
    assert_eq!(table(&done, "projects").insert, 1);
    assert_eq!(table(&done, "replies").insert, 2);

    // Since the recovery: a note on the recovered project (SET NULL would change it), a reply
    // to a recovered reply (CASCADE would delete it), and the recovered project edited (undo
    // promises to leave it, but deleting org 1 would cascade to it).
    pg.psql(
        &db,
        "INSERT INTO notes VALUES (1, 10, 'written since');
         INSERT INTO replies VALUES (102, 101, 2);
         UPDATE projects SET title = 'edited since' WHERE id = 10;",
    );
    let state = pg.psql(&db, CASCADING_STATE);
    let err = env
        .engine
        .recover_undo(&undo_id, pw(pg), JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let msg = err.to_string();
    // The recovered project stays (edited since), so org 1 cannot go: nothing cascades (the
    // replica role fires no foreign-key action), the keys that would not hold are named.
    for named in [
        "public.replies",
        "replies_parent_id_fkey",
        "public.projects",
        "projects_org_id_fkey",
        "nothing was changed",
    ] {
        assert!(msg.contains(named), "{named} not in: {msg}");
    }
    assert_eq!(pg.psql(&db, CASCADING_STATE), state, "nothing changed");

    // The rows out of the way (the edit put back, the new rows gone): undo runs, and the
    // database is as before the recovery.
    pg.psql(
        &db,
        "DELETE FROM notes WHERE id = 1; DELETE FROM replies WHERE id = 102;
         UPDATE projects SET title = 'a' WHERE id = 10;",
    );
    let undone = env
        .engine
        .recover_undo(&undo_id, pw(pg), JobStart::default())
        .await
        .unwrap();
    assert!(undone.report.tables.iter().all(|t| t.changed_since == 0));
    assert_eq!(pg.psql(&db, CASCADING_STATE), "org|(2,B)\nproject|(20,2,b)");
}

/// A partitioned table: its rows are dumped as its partitions'. With `--children` from the
/// table its foreign key references, every partition's rows of the tenant come back; naming
/// the partitioned table itself is a clear error that names its partitions (nothing written).
const PARTITIONED: &str = r#"
CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE events (id int, org_id int NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, created date NOT NULL, PRIMARY KEY (id, created)) PARTITION BY RANGE (created);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO orgs VALUES (1, 'A'), (2, 'B');
INSERT INTO events SELECT g, 1 + g % 2, CASE WHEN g % 3 = 0 THEN date '2025-05-01' ELSE date '2026-05-01' END FROM generate_series(1, 60) g;
"#;

#[tokio::test]
async fn a_tenant_comes_back_with_the_rows_of_every_partition() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(pg, &env, "recoverparts", PARTITIONED).await;
    let state = "SELECT string_agg(e::text, ',' ORDER BY e::text) FROM events e WHERE org_id = 2";
    let before = pg.psql(&db, state);
    pg.psql(&db, "DELETE FROM orgs WHERE id = 2");
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM events WHERE org_id = 2"),
        "0"
    );

    let by_parent = RecoverRows {
        table: "public.events".into(),
        filters: vec![ColumnEquals {
            column: "org_id".into(),
            value: "2".into(),
        }],
        ..RecoverRows::default()
    };
    let e = recover(&env, &archive, pg, &db, by_parent, false)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(
        e.to_string()
            .contains("public.events_2025, public.events_2026"),
        "{e}"
    );
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM events"), "30");

    let rows = RecoverRows {
        table: "public.orgs".into(),
        filters: vec![ColumnEquals {
            column: "id".into(),
            value: "2".into(),
        }],
        children: true,
        ..RecoverRows::default()
    };
    let r = recover(&env, &archive, pg, &db, rows, false).await.unwrap();
    assert_eq!(
        table(&r, "events_2025").insert + table(&r, "events_2026").insert,
        30
    );
    assert_eq!(pg.psql(&db, state), before);
}
