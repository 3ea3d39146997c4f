//! Issue 63, item 2: a job that dies leaves a journal, and the next start finishes the story.
//! The `offsite` process group (the CLI and its pg_restore workers) is SIGKILLed on a real
//! cluster once the restore's rows are arriving in the target; the next command (`offsite
//! history`) finds the job `interrupted`, returns the target to how it was, and says so; the
//! same restore run again succeeds without any manual step and gives the source's content.
// Process groups and SIGKILL, and the testkit's clusters: Unix only (docs/development.md).
#![cfg(unix)]

mod common;

use common::tree::{kill_tree, SpawnTree};
use common::Cli;
use offsite_testkit::{fidelity_snapshot, TestCluster};
use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;

/// Two tables of `rows` rows (two COPYs at once for `pg_restore -j 2`), a small one, an index
/// and a foreign key (post-data the restore had not reached).
fn source(pg: &TestCluster, prefix: &str, rows: u32) -> String {
    let db = pg.unique_db(prefix);
    pg.psql(
        &db,
        &"CREATE TABLE public.small (id int PRIMARY KEY, name text);
         INSERT INTO public.small SELECT g, 's' || g FROM generate_series(1, 100) g;
         CREATE TABLE public.big (id bigint PRIMARY KEY, small_id int REFERENCES public.small,
             body text);
         INSERT INTO public.big SELECT g, 1 + g % 100, md5(g::text) || md5((g * 7)::text)
             FROM generate_series(1, ROWS) g;
         CREATE TABLE public.half AS SELECT * FROM public.big WHERE id % 2 = 0;
         CREATE INDEX half_body ON public.half (body);
         CREATE SCHEMA extra;
         CREATE TABLE extra.notes (id int PRIMARY KEY, note text);
         INSERT INTO extra.notes VALUES (1, 'kept');"
            .replace("ROWS", &rows.to_string()),
    );
    db
}

/// Relations and schemas of database `db` outside the system's (what a restore creates).
fn objects(pg: &TestCluster, db: &str) -> u32 {
    pg.psql(
        db,
        "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')) \
              + (SELECT count(*) FROM pg_namespace WHERE nspname = 'extra')",
    )
    .parse()
    .unwrap()
}

/// The newest restore job in `offsite history --json`.
fn last_restore(cli: &Cli) -> Value {
    let h = cli.json(&["history", "--kind", "restore"], 0);
    h["jobs"][0].clone()
}

#[test]
fn a_killed_parallel_restore_is_interrupted_its_target_emptied_and_the_same_restore_works_again() {
    let pg = TestCluster::shared();
    let db = source(pg, "killpar", 600_000);
    let cli = Cli::new().env("PGPASSWORD", pg.superuser_password());
    cli.json(&["project", "add", "killpar", "--db", &pg.url(&db)], 0);
    let b = cli.json(&["backup", "killpar"], 0);
    let archive = b["path"].as_str().unwrap().to_string();
    let dst = pg.unique_db("killpardst");
    let url = pg.url(&dst);
    let restore = [
        "restore",
        archive.as_str(),
        "--to",
        &url,
        "--yes",
        "--jobs",
        "2",
    ];

    let (mut child, tree) = cli
        .cmd(&restore)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn_tree();
    common::pg::wait_for_copy(pg, &dst, &mut child);
    kill_tree(&tree, &mut child);
    // What the killed restore made is there until Offsite next starts (the old end of the
    // story: a target left partly restored, and the same restore refused).
    let left = objects(pg, &dst);
    assert!(
        left > 0,
        "the kill came after the restore had created something"
    );

    // The next command finds the job, returns the target to how it was and says so.
    let job = last_restore(&cli);
    assert_eq!(job["state"], "interrupted", "{job}");
    assert_eq!(job["error_code"], "interrupted", "{job}");
    let message = job["error_message"].as_str().unwrap();
    assert!(message.contains("dropped again"), "{job}");
    assert!(
        job["error_hint"]
            .as_str()
            .unwrap()
            .contains("offsite restore"),
        "{job}"
    );
    assert_eq!(
        objects(pg, &dst),
        0,
        "the target is empty again ({left} before)"
    );
    let history = cli.run(&["history"]);
    let text = String::from_utf8_lossy(&history.stdout);
    assert!(text.contains("interrupted"), "{text}");

    // The same restore again: no manual step.
    let out = cli.cmd(&restore).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fidelity_snapshot(pg, &dst).assert_same_as(&fidelity_snapshot(pg, &db));
    assert_eq!(last_restore(&cli)["state"], "succeeded");
}

/// Another kill point: the post-data of a parallel restore (its rows are in; an index or a
/// constraint is being built). The next command empties the target again and the same restore
/// gives the source's content.
#[test]
fn a_parallel_restore_killed_in_its_post_data_is_interrupted_its_target_emptied_and_the_same_restore_works_again(
) {
    let pg = TestCluster::shared();
    let db = source(pg, "killpost", 600_000);
    let cli = Cli::new().env("PGPASSWORD", pg.superuser_password());
    cli.json(&["project", "add", "killpost", "--db", &pg.url(&db)], 0);
    let b = cli.json(&["backup", "killpost"], 0);
    let archive = b["path"].as_str().unwrap().to_string();
    let dst = pg.unique_db("killpostdst");
    let url = pg.url(&dst);
    let restore = [
        "restore",
        archive.as_str(),
        "--to",
        &url,
        "--yes",
        "--jobs",
        "2",
    ];
    let (mut child, tree) = cli
        .cmd(&restore)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn_tree();
    // The event, made certain: once pre-data has created the tables, a session holds ACCESS
    // SHARE on `small` (its rows still load), so the post-data's `ALTER TABLE … ADD CONSTRAINT
    // small_pkey` waits for it — the restore is then in its post-data.
    common::pg::wait_while_running(
        &mut child,
        "the restore created its tables",
        Duration::from_secs(300),
        || (pg.psql(&dst, "SELECT to_regclass('public.small') IS NOT NULL") == "t").then_some(()),
    );
    let lock = common::pg::Locker::take(pg, &dst, "public.small", "ACCESS SHARE");
    let waiting = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{dst}' \
         AND wait_event_type = 'Lock' AND query ILIKE '%ADD CONSTRAINT%'"
    );
    common::pg::wait_while_running(
        &mut child,
        "the restore's post-data waited for the lock",
        Duration::from_secs(300),
        || (pg.psql("postgres", &waiting) != "0").then_some(()),
    );
    kill_tree(&tree, &mut child);
    lock.release();
    let left = objects(pg, &dst);
    assert!(
        left > 0,
        "the kill came after the restore had created something"
    );

    let job = last_restore(&cli);
    assert_eq!(job["state"], "interrupted", "{job}");
    assert!(
        job["error_message"]
            .as_str()
            .unwrap()
            .contains("dropped again"),
        "{job}"
    );
    assert_eq!(
        objects(pg, &dst),
        0,
        "the target is empty again ({left} before)"
    );
    let out = cli.cmd(&restore).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fidelity_snapshot(pg, &dst).assert_same_as(&fidelity_snapshot(pg, &db));
    assert_eq!(last_restore(&cli)["state"], "succeeded");
}

/// Where Offsite cannot prove what is there — the target's server is down at the next start —
/// the interrupted job says so, with the one command that finishes it; the journal stays, and
/// that command (the same restore, once the server is back) drops what the killed one created
/// first and then restores.
#[test]
fn a_killed_restore_whose_target_is_down_at_the_next_start_says_so_and_the_same_restore_finishes_it(
) {
    let pg = TestCluster::start();
    let db = source(&pg, "killdown", 400_000);
    let cli = Cli::new().env("PGPASSWORD", pg.superuser_password());
    cli.json(&["project", "add", "killdown", "--db", &pg.url(&db)], 0);
    let b = cli.json(&["backup", "killdown"], 0);
    let archive = b["path"].as_str().unwrap().to_string();
    let dst = pg.unique_db("killdowndst");
    let url = pg.url(&dst);
    let restore = [
        "restore",
        archive.as_str(),
        "--to",
        &url,
        "--yes",
        "--jobs",
        "2",
    ];
    let (mut child, tree) = cli
        .cmd(&restore)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn_tree();
    common::pg::wait_for_copy(&pg, &dst, &mut child);
    kill_tree(&tree, &mut child);
    let left = objects(&pg, &dst);
    assert!(
        left > 0,
        "the kill came after the restore had created something"
    );

    // The next start, with the target's server down: interrupted, and it says what it cannot
    // know and the command that finishes it.
    pg.stop();
    let job = last_restore(&cli);
    assert_eq!(job["state"], "interrupted", "{job}");
    let message = job["error_message"].as_str().unwrap();
    assert!(
        message.contains("may hold part of the restore")
            && message.contains("could not drop what it created"),
        "{job}"
    );
    let hint = job["error_hint"].as_str().unwrap();
    assert!(
        hint.contains("run the same restore again") && hint.contains(&archive),
        "{job}"
    );

    // Back up: nothing was dropped behind its back; the same restore finishes the story.
    pg.restart();
    assert_eq!(
        objects(&pg, &dst),
        left,
        "untouched while it could not be proven"
    );
    let out = cli.cmd(&restore).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fidelity_snapshot(&pg, &dst).assert_same_as(&fidelity_snapshot(&pg, &db));
    let h = cli.json(&["history", "--kind", "restore"], 0);
    let states: Vec<&str> = h["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["succeeded", "interrupted"], "{h}");
}

/// Files under `dir` (recursively) whose name contains `part`.
fn files_named(dir: &std::path::Path, part: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap().to_string_lossy().contains(part) {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

/// A project `name` on the shared cluster whose org 1 — with its events, `rows` over both orgs,
/// each body `pad` md5s long — was backed up and then deleted: what the recovery tests bring
/// back. Returns the CLI, the database, its URL and org 1's event count in the backup.
fn lost_org(pg: &TestCluster, name: &str, rows: u32, pad: u32) -> (Cli, String, String, String) {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        &format!(
            "CREATE TABLE orgs (id int PRIMARY KEY, name text);
             INSERT INTO orgs VALUES (1, 'acme'), (2, 'other');
             CREATE TABLE events (id bigserial PRIMARY KEY, org_id int NOT NULL REFERENCES orgs,
                 body text);
             INSERT INTO events (org_id, body) SELECT 1 + g % 2, repeat(md5(g::text), {pad})
               FROM generate_series(1, {rows}) g;"
        ),
    );
    let cli = Cli::new().env("PGPASSWORD", pg.superuser_password());
    cli.json(&["project", "add", name, "--db", &pg.url(&db)], 0);
    cli.json(&["backup", name], 0);
    let before = pg.psql(&db, "SELECT count(*) FROM events WHERE org_id = 1");
    pg.psql(
        &db,
        "DELETE FROM events WHERE org_id = 1; DELETE FROM orgs WHERE id = 1;",
    );
    let url = pg.url(&db);
    (cli, db, url, before)
}

/// `recover LATEST --table orgs --where id=1 --children --to URL --yes`.
fn recover_org1<'a>(latest: &'a str, url: &'a str) -> [&'a str; 10] {
    [
        "recover",
        latest,
        "--table",
        "orgs",
        "--where",
        "id=1",
        "--children",
        "--to",
        url,
        "--yes",
    ]
}

#[test]
fn a_recovery_killed_mid_load_is_interrupted_rolled_back_and_the_same_recovery_works_again() {
    let pg = TestCluster::shared();
    let (cli, db, url, before) = lost_org(pg, "killrcv", 800_000, 4);
    let recover = recover_org1("killrcv:latest", &url);
    let (mut child, tree) = cli
        .cmd(&recover)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn_tree();
    // Mid-load: the recovery's transaction has its id and writes (rows arriving in the
    // target's temporary tables).
    let writing = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' \
         AND backend_xid IS NOT NULL AND state = 'active' AND pid <> pg_backend_pid()"
    );
    common::pg::wait_while_running(
        &mut child,
        "the recovery wrote",
        Duration::from_secs(300),
        || (pg.psql("postgres", &writing) != "0").then_some(()),
    );
    kill_tree(&tree, &mut child);

    let h = cli.json(&["history", "--kind", "recover"], 0);
    let job = &h["jobs"][0];
    assert_eq!(job["state"], "interrupted", "{job}");
    assert!(
        job["error_message"]
            .as_str()
            .unwrap()
            .contains("rolled the recovery's transaction back"),
        "{job}"
    );
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM orgs WHERE id = 1"), "0");
    let left = files_named(cli.data.path(), ".offsite-tmp-undo-");
    assert!(
        left.is_empty(),
        "the unfinished undo file is gone: {left:?}"
    );

    // The same recovery again: no manual step.
    let out = cli.cmd(&recover).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM events WHERE org_id = 1"),
        before
    );
    let h = cli.json(&["history", "--kind", "recover"], 0);
    assert_eq!(h["jobs"][0]["state"], "succeeded", "{h}");
}

/// A recovery killed while its transaction waits on the server (for a lock another session
/// holds on the child table, its parent's rows already written): the server does not notice
/// the client has gone while the statement waits, so the transaction is still in progress when
/// the next command asks. The next command ends that session (nothing will ever commit it),
/// finds the transaction rolled back and says so; the same recovery then works.
#[test]
fn a_recovery_killed_while_its_transaction_waits_is_rolled_back_by_the_next_command() {
    let pg = TestCluster::shared();
    let (cli, db, url, _) = lost_org(pg, "killwait", 1000, 1);
    let recover = recover_org1("killwait:latest", &url);
    // SHARE: reads of events go on, its rows cannot be written.
    let lock = common::pg::Locker::take(pg, &db, "events", "SHARE");
    let (mut child, tree) = cli
        .cmd(&recover)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn_tree();
    let waiting = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' \
         AND backend_xid IS NOT NULL AND wait_event_type = 'Lock'"
    );
    common::pg::wait_while_running(
        &mut child,
        "the recovery's transaction waited for the lock",
        Duration::from_secs(300),
        || (pg.psql("postgres", &waiting) != "0").then_some(()),
    );
    kill_tree(&tree, &mut child);

    let h = cli.json(&["history", "--kind", "recover"], 0);
    let job = &h["jobs"][0];
    assert_eq!(job["state"], "interrupted", "{job}");
    assert!(
        job["error_message"]
            .as_str()
            .unwrap()
            .contains("rolled the recovery's transaction back"),
        "{job}"
    );
    assert_eq!(
        pg.psql("postgres", &waiting),
        "0",
        "the dead recovery's session is gone"
    );
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM orgs WHERE id = 1"), "0");
    lock.release();

    let out = cli.cmd(&recover).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM events WHERE org_id = 1"),
        "500"
    );
}

/// Another kill point: `recover --undo ID` killed while its transaction waits for a lock
/// another session holds on the child table (the parent's rows already deleted in it). The
/// next command ends the dead undo's session, finds its transaction rolled back and says the
/// recovery's rows are still there, naming the undo to run again; that undo then takes them
/// out. (Before, the job was only "interrupted", with nothing said of the target.)
#[test]
fn a_recovery_undo_killed_while_its_transaction_waits_is_rolled_back_and_the_same_undo_works_again()
{
    let pg = TestCluster::shared();
    let (cli, db, url, _) = lost_org(pg, "killundo", 1000, 1);
    let done = cli.json(&recover_org1("killundo:latest", &url), 0);
    let id = done["undo_id"]
        .as_str()
        .unwrap_or_else(|| panic!("an undo id: {done}"))
        .to_string();
    let recovered = || pg.psql(&db, "SELECT count(*) FROM events WHERE org_id = 1");
    assert_eq!(recovered(), "500");
    let undo = ["recover", "--undo", id.as_str()];
    // SHARE: reads of events go on, its rows cannot be deleted.
    let lock = common::pg::Locker::take(pg, &db, "events", "SHARE");
    let (mut child, tree) = cli
        .cmd(&undo)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn_tree();
    let waiting = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' \
         AND backend_xid IS NOT NULL AND wait_event_type = 'Lock'"
    );
    common::pg::wait_while_running(
        &mut child,
        "the undo's transaction waited for the lock",
        Duration::from_secs(300),
        || (pg.psql("postgres", &waiting) != "0").then_some(()),
    );
    kill_tree(&tree, &mut child);

    let h = cli.json(&["history", "--kind", "recover"], 0);
    let job = &h["jobs"][0];
    assert_eq!(job["state"], "interrupted", "{job}");
    let message = job["error_message"].as_str().unwrap();
    assert!(
        message.contains("rolled the undo's transaction back")
            && message.contains(&format!("still holds the rows of recovery {id}")),
        "{job}"
    );
    assert_eq!(
        job["error_hint"].as_str().unwrap(),
        format!("run the undo again: offsite recover --undo {id}"),
        "{job}"
    );
    assert_eq!(
        pg.psql("postgres", &waiting),
        "0",
        "the dead undo's session is gone"
    );
    assert_eq!(recovered(), "500", "the recovery's rows are still there");
    lock.release();

    let out = cli.cmd(&undo).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(recovered(), "0");
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM orgs WHERE id = 1"), "0");
}

/// A restore to a time (`restore PROJECT --at TIME`) killed while it replays the captured
/// changes into a new database (its base restored, part of its changes committed): the next
/// command finds the job `interrupted` and drops what it created (base and changes), and the
/// same restore run again gives the database as it was at TIME.
#[test]
fn a_replay_killed_part_way_is_interrupted_its_target_emptied_and_the_same_restore_works_again() {
    use common::pg::{offsite, ok, ok_json, run, server_now, wait_past};
    use common::pitr::{owner_url, project_with, sql, ROLE};
    let db = "killreplay";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.t (id bigserial PRIMARY KEY, body text);
         CREATE SCHEMA extra; CREATE TABLE extra.notes (id int PRIMARY KEY);",
    );
    let d = data.path();
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    // The changes after the base: many rows, in transactions of 1,000.
    for k in 0..150 {
        sql(
            &pg,
            db,
            &format!(
                "INSERT INTO public.t (body) SELECT md5((g + {}) ::text) \
                 FROM generate_series(1, 1000) g",
                k * 1000
            ),
        );
    }
    let at = server_now(&pg);
    wait_past(&pg, &at);
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    let digest = |dbname: &str| {
        pg.psql(
            dbname,
            "SELECT count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) FROM public.t",
        )
    };
    let want = digest(db);
    let dst = "killreplay_dst";
    pg.psql("postgres", &format!("CREATE DATABASE {dst} OWNER {ROLE}"));
    let to = owner_url(&pg, dst);
    let restore = ["restore", "shop", "--at", at.as_str(), "--to", to.as_str()];

    let (mut child, tree) = offsite(d, &pg, &restore)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn_tree();
    // Part way through the replay: some of the changes committed in the target, not all.
    let replayed = common::pg::wait_for_rows(&pg, &to, "public.t", &mut child);
    kill_tree(&tree, &mut child);
    let left = objects(&pg, dst);
    assert!(
        left > 0 && replayed < 150_000,
        "{left} objects, {replayed} rows"
    );

    // The next command finds the job and drops what it created.
    let h = ok_json(
        run(d, &pg, &["--json", "history", "--kind", "restore"]),
        "history",
    );
    let job = &h["jobs"][0];
    assert_eq!(job["state"], "interrupted", "{job}");
    let message = job["error_message"].as_str().unwrap();
    assert!(
        message.contains("part of its changes") && message.contains("dropped again"),
        "{job}"
    );
    assert!(
        job["error_hint"]
            .as_str()
            .unwrap()
            .contains("offsite restore shop --at"),
        "{job}"
    );
    assert_eq!(objects(&pg, dst), 0, "the target is empty again");

    // The same restore again: no manual step, the database as it was at TIME.
    ok(run(d, &pg, &restore), "the same restore again");
    assert_eq!(digest(dst), want);
    let h = ok_json(
        run(d, &pg, &["--json", "history", "--kind", "restore"]),
        "history",
    );
    assert_eq!(h["jobs"][0]["state"], "succeeded", "{h}");
}

/// `restore PROJECT --at TIME --as-role ROLE` killed while it replays (through its temporary
/// login role): the next command finds the job `interrupted`, drops the temporary role it left
/// on the target's server and what it created, and the same restore works again.
#[test]
fn a_replay_as_a_role_killed_part_way_leaves_no_temporary_role_after_the_next_start() {
    use common::pg::{offsite, ok, ok_json, run, server_now, wait_past};
    use common::pitr::{project_with, sql};
    let db = "killasrole";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.t (id bigserial PRIMARY KEY, body text);",
    );
    let d = data.path();
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    for k in 0..150 {
        sql(
            &pg,
            db,
            &format!(
                "INSERT INTO public.t (body) SELECT md5((g + {}) ::text) \
                 FROM generate_series(1, 1000) g",
                k * 1000
            ),
        );
    }
    let at = server_now(&pg);
    wait_past(&pg, &at);
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    let digest = |dbname: &str| {
        pg.psql(
            dbname,
            "SELECT count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) FROM public.t",
        )
    };
    let want = digest(db);
    pg.psql("postgres", "CREATE ROLE killasrole_restorer NOLOGIN");
    let dst = "killasrole_dst";
    pg.create_db(dst);
    pg.psql(
        "postgres",
        &format!("ALTER DATABASE {dst} OWNER TO killasrole_restorer"),
    );
    let to = pg.url(dst);
    let restore = [
        "restore",
        "shop",
        "--at",
        at.as_str(),
        "--to",
        to.as_str(),
        "--as-role",
        "killasrole_restorer",
        "--no-owner",
    ];
    let temp_roles = || {
        pg.psql(
            "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'offsite_restore_%'",
        )
    };

    let (mut child, tree) = offsite(d, &pg, &restore)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn_tree();
    common::pg::wait_while_running(
        &mut child,
        "the replay began",
        Duration::from_secs(300),
        || {
            pg.try_psql(dst, "SELECT count(*) FROM public.t")
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|n| *n > 0)
        },
    );
    kill_tree(&tree, &mut child);
    assert_eq!(
        temp_roles(),
        "1",
        "the killed replay's temporary role is left"
    );

    let h = ok_json(
        run(d, &pg, &["--json", "history", "--kind", "restore"]),
        "history",
    );
    let job = &h["jobs"][0];
    assert_eq!(job["state"], "interrupted", "{job}");
    assert!(
        job["error_message"]
            .as_str()
            .unwrap()
            .contains("dropped again"),
        "{job}"
    );
    assert_eq!(
        temp_roles(),
        "0",
        "the temporary role is dropped at the next start"
    );
    assert_eq!(objects(&pg, dst), 0, "the target is empty again");

    ok(run(d, &pg, &restore), "the same restore again");
    assert_eq!(digest(dst), want);
    assert_eq!(temp_roles(), "0");
}

/// `restore ARCHIVE --as-role ROLE` (not to a time) killed twice — as soon as its temporary
/// login role exists (before or just as it records what it writes), then once its rows are
/// arriving through that role: each time the next command finds the job `interrupted` and
/// drops the temporary role it left (and what the restore created); the same restore then
/// works, leaving no role behind.
#[test]
fn a_plain_restore_as_a_role_killed_part_way_leaves_no_temporary_role_after_the_next_start() {
    let pg = TestCluster::shared();
    let db = source(pg, "killplainrole", 400_000);
    let cli = Cli::new().env("PGPASSWORD", pg.superuser_password());
    cli.json(
        &["project", "add", "killplainrole", "--db", &pg.url(&db)],
        0,
    );
    let b = cli.json(&["backup", "killplainrole"], 0);
    let archive = b["path"].as_str().unwrap().to_string();
    let role = "killplainrole_restorer";
    pg.psql("postgres", &format!("CREATE ROLE {role} NOLOGIN"));
    let dst = pg.unique_db("killplainroledst");
    pg.psql("postgres", &format!("ALTER DATABASE {dst} OWNER TO {role}"));
    let url = pg.url(&dst);
    let restore = [
        "restore",
        archive.as_str(),
        "--to",
        &url,
        "--yes",
        "--jobs",
        "2",
        "--as-role",
        role,
        "--no-owner",
    ];
    // This restore's temporary login roles: members of ROLE named as Offsite names them.
    let temp_roles = || {
        pg.psql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member \
                 JOIN pg_roles g ON g.oid = m.roleid \
                 WHERE g.rolname = '{role}' AND r.rolname LIKE 'offsite\\_restore\\_%'"
            ),
        )
    };
    let spawn = || {
        cli.cmd(&restore)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn_tree()
    };
    let settled = |when: &str| {
        let job = last_restore(&cli);
        assert_eq!(job["state"], "interrupted", "{when}: {job}");
        assert_eq!(temp_roles(), "0", "{when}: dropped at the next start");
        assert_eq!(objects(pg, &dst), 0, "{when}: the target is as it was");
    };

    // 1. As soon as the temporary role exists.
    let (mut child, tree) = spawn();
    common::pg::wait_while_running(
        &mut child,
        "its temporary role was seen",
        Duration::from_secs(120),
        || (temp_roles() != "0").then_some(()),
    );
    kill_tree(&tree, &mut child);
    assert_eq!(temp_roles(), "1", "the killed restore's role is left");
    settled("killed as its role appeared");

    // 2. Once rows arrive through it.
    let (mut child, tree) = spawn();
    common::pg::wait_for_copy(pg, &dst, &mut child);
    kill_tree(&tree, &mut child);
    assert_eq!(temp_roles(), "1", "the killed restore's role is left");
    assert!(objects(pg, &dst) > 0, "the kill came after rows arrived");
    settled("killed mid-copy");
    let job = last_restore(&cli);
    assert!(
        job["error_message"]
            .as_str()
            .unwrap()
            .contains("dropped again"),
        "{job}"
    );

    // 3. The same restore again: no manual step, no role left.
    let out = cli.cmd(&restore).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(last_restore(&cli)["state"], "succeeded");
    assert_eq!(temp_roles(), "0");
    assert_eq!(
        pg.psql(&dst, "SELECT count(*) FROM public.big"),
        "400000",
        "the rows restored"
    );
}
