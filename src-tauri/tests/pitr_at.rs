//! "Look inside at this time" through the app's commands against a real cluster capturing its
//! changes (a REPLICATION role, not a superuser, as on Supabase): `start_open_at` makes the
//! database as it was at a time as one job whose `job-finished` carries the temporary archive
//! and the state; the browse commands read exactly the rows committed by then; `close_at`
//! removes the archive; a time before every window is refused naming the nearest times. A restore
//! to a time goes into a database on a server named by its parts, the password beside them.

use super::*;

const ROLE: &str = "desk_pitr";

/// The server's clock: RFC 3339 text and microseconds since the epoch.
fn server_now(pg: &offsite_testkit::TestCluster, db: &str) -> (String, i64) {
    let out = pg.psql(
        db,
        "SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || ' ' || \
         (extract(epoch FROM t) * 1000000)::bigint FROM clock_timestamp() t",
    );
    let (text, micros) = out.trim().split_once(' ').unwrap();
    (text.to_string(), micros.parse().unwrap())
}

/// Capture passes until a window reaches `at` (µs): the newest commits are restorable once a
/// pass has read past them.
fn capture_until(t: &TestApp, at: i64) {
    for _ in 0..40 {
        invoke(t, "pitr_capture_now", json!({ "project": "shop" })).unwrap();
        let status = invoke(t, "pitr_status", json!({ "project": "shop" })).unwrap();
        let reached = status["windows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["to"].as_i64().unwrap() >= at);
        if reached {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("no window reached {at} after 40 capture passes");
}

fn ids(page: &Value) -> Vec<String> {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect()
}

/// A project `shop` of a REPLICATION role capturing its changes, with rows 1–3 committed at
/// `at` (then 4 inserted and 1 deleted), and a window that reaches `at`.
struct Captured {
    pg: offsite_testkit::TestCluster,
    t: TestApp,
    rx: std::sync::mpsc::Receiver<(String, Value)>,
    before_capture: String,
    at: String,
}

fn captured() -> Captured {
    let pg = offsite_testkit::TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    pg.psql("postgres", &format!("CREATE DATABASE desk_at OWNER {ROLE}"));
    let url = format!("postgres://{ROLE}@127.0.0.1:{}/desk_at", pg.port());
    let as_owner = |q: &str| pg.psql_url(&url, q).unwrap_or_else(|e| panic!("{q}: {e}"));
    as_owner("CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders VALUES (1, 'in the base')");
    let t = test_app();
    let rx = job_events(&t);
    invoke(
        &t,
        "add_project",
        json!({ "request": { "name": "shop", "connection": { "url": url }, "tls": "disable", "password": null, "backup_dir": null } }),
    )
    .unwrap();
    let (before_capture, _) = server_now(&pg, "desk_at");
    std::thread::sleep(std::time::Duration::from_millis(20));
    invoke(
        &t,
        "pitr_enable",
        json!({ "project": "shop", "mode": "logical" }),
    )
    .unwrap();
    as_owner("INSERT INTO orders VALUES (2, 'two')");
    as_owner("INSERT INTO orders VALUES (3, 'three''s')");
    let (at, at_micros) = server_now(&pg, "desk_at");
    as_owner("INSERT INTO orders VALUES (4, 'after the time')");
    as_owner("DELETE FROM orders WHERE id = 1");
    capture_until(&t, at_micros);

    Captured {
        pg,
        t,
        rx,
        before_capture,
        at,
    }
}

#[test]
fn look_inside_at_a_time_reads_what_was_committed_then_and_closes() {
    let Captured {
        t,
        rx,
        before_capture,
        at,
        ..
    } = captured();
    let job = invoke(&t, "start_open_at", json!({ "project": "shop", "at": at })).unwrap();
    let (_, finished) = wait_for_job(&rx, job.as_str().unwrap());
    assert_eq!(finished["ok"], true, "{finished}");
    let result = &finished["result"];
    assert_eq!(result["kind"], "at_state", "{finished}");
    assert_eq!(result["state"]["project"], "shop");
    assert_eq!(result["state"]["transactions"], 2, "{finished}");
    let archive = result["archive"].as_str().unwrap().to_string();
    assert!(std::path::Path::new(&archive).is_file(), "{archive}");

    let page = invoke(
        &t,
        "browse_rows",
        json!({ "archive": archive, "schema": "public", "table": "orders", "offset": 0, "limit": 50, "filter": {} }),
    )
    .unwrap();
    let mut got = ids(&page);
    got.sort();
    assert_eq!(got, ["1", "2", "3"], "{page}");

    assert_eq!(
        invoke(&t, "close_at", json!({ "archive": archive })).unwrap(),
        true
    );
    assert!(
        !std::path::Path::new(&archive).exists(),
        "{archive} is removed"
    );
    assert_eq!(
        invoke(&t, "close_at", json!({ "archive": archive })).unwrap(),
        false
    );

    // Before the capture began: no window holds it; the job fails naming the nearest time.
    let job = invoke(
        &t,
        "start_open_at",
        json!({ "project": "shop", "at": before_capture }),
    )
    .unwrap();
    let (_, finished) = wait_for_job(&rx, job.as_str().unwrap());
    assert_eq!(finished["ok"], false, "{finished}");
    let message = finished["error"]["message"].as_str().unwrap();
    assert!(message.contains("restorable"), "{finished}");
    // A time that is no time is refused at once.
    let e = invoke(
        &t,
        "start_open_at",
        json!({ "project": "shop", "at": "yesterday; DROP TABLE orders" }),
    )
    .unwrap_err();
    assert_eq!(e["code"], "invalid_input", "{e}");
}

/// The restore wizard's "A database on a server": host, port, user, database, the TLS choice
/// and the password beside them (never in a URL) — the base and the changes land there.
#[test]
fn a_restore_to_a_time_goes_into_a_database_on_a_server_by_its_parts() {
    let Captured { pg, t, rx, at, .. } = captured();
    pg.psql("postgres", "CREATE DATABASE desk_at_to");
    let into = |database: &str, password: Option<&str>| {
        json!({ "connection": {
            "connection": { "fields": { "host": "127.0.0.1", "port": pg.port(), "user": pg.superuser(), "database": database } },
            "tls": "disable",
            "password": password,
        } })
    };
    let to = |password: Option<&str>| into("desk_at_to", password);
    // Without the password the server asks for, nothing is restored and the error says so.
    let job = invoke(
        &t,
        "start_pitr_restore",
        json!({ "project": "shop", "at": at, "to": to(None), "createDatabase": false }),
    )
    .unwrap();
    let (_, finished) = wait_for_job(&rx, job.as_str().unwrap());
    assert_eq!(finished["ok"], false, "{finished}");
    assert_eq!(
        pg.psql(
            "desk_at_to",
            "SELECT count(*) FROM pg_class WHERE relname = 'orders'"
        )
        .trim(),
        "0"
    );

    let job = invoke(
        &t,
        "start_pitr_restore",
        json!({ "project": "shop", "at": at, "to": to(Some(pg.superuser_password())), "createDatabase": false }),
    )
    .unwrap();
    let (_, finished) = wait_for_job(&rx, job.as_str().unwrap());
    assert_eq!(finished["ok"], true, "{finished}");
    assert_eq!(finished["result"]["kind"], "pitr_restore", "{finished}");
    assert_eq!(
        finished["result"]["restored"]["replayed"]["commits"], 2,
        "{finished}"
    );
    let rows = pg.psql(
        "desk_at_to",
        "SELECT string_agg(id::text || ':' || note, ',' ORDER BY id) FROM orders",
    );
    assert_eq!(rows.trim(), "1:in the base,2:two,3:three's");
    // The password is nowhere in what the job told the window.
    assert!(
        !finished.to_string().contains(pg.superuser_password()),
        "{finished}"
    );

    // A database that does not exist yet: refused unless asked to create it, and nothing made.
    let exists = |db: &str| {
        pg.psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
        )
        .trim()
            == "1"
    };
    let password = Some(pg.superuser_password());
    let job = invoke(
        &t,
        "start_pitr_restore",
        json!({ "project": "shop", "at": at, "to": into("desk_at_new", password), "createDatabase": false }),
    )
    .unwrap();
    let (_, finished) = wait_for_job(&rx, job.as_str().unwrap());
    assert_eq!(finished["ok"], false, "{finished}");
    assert_eq!(finished["error"]["code"], "not_found", "{finished}");
    assert!(!exists("desk_at_new"));
    // A time no window holds, with the database to be created: refused, and the new database
    // removed again.
    let job = invoke(
        &t,
        "start_pitr_restore",
        json!({ "project": "shop", "at": "2001-01-01T00:00:00Z", "to": into("desk_at_new", password), "createDatabase": true }),
    )
    .unwrap();
    let (_, finished) = wait_for_job(&rx, job.as_str().unwrap());
    assert_eq!(finished["ok"], false, "{finished}");
    assert!(
        finished["error"]["message"]
            .as_str()
            .unwrap()
            .contains("desk_at_new was removed again"),
        "{finished}"
    );
    assert!(!exists("desk_at_new"));
    // Asked: created empty, then the base and the changes land there.
    let job = invoke(
        &t,
        "start_pitr_restore",
        json!({ "project": "shop", "at": at, "to": into("desk_at_new", password), "createDatabase": true }),
    )
    .unwrap();
    let (_, finished) = wait_for_job(&rx, job.as_str().unwrap());
    assert_eq!(finished["ok"], true, "{finished}");
    let rows = pg.psql(
        "desk_at_new",
        "SELECT string_agg(id::text || ':' || note, ',' ORDER BY id) FROM orders",
    );
    assert_eq!(rows.trim(), "1:in the base,2:two,3:three's");
}
