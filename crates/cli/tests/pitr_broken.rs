//! A missing change segment makes the window after it unrestorable (issue 46), said by all
//! three: `pitr status` (the window ends there, naming the segment), `pitr verify` (the segment
//! named MISSING, exit 1) and the plan (a time after it refused naming the nearest restorable
//! time before; a time before it still planned). With no copy at a destination nothing can bring
//! it back. `offsite verify` of the window's base says where the segments are checked.
//! (A damaged segment: crates/cli/tests/pitr.rs; one fetched back from a copy: pitr_copies.rs.)

mod common;

#[cfg(unix)]
use common::pg::offsite;
#[cfg(unix)]
use common::pg::wait_past;
use common::pg::{ok, ok_json, refused, run, server_now};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
#[cfg(unix)]
use std::process::Stdio;
use std::time::Duration;

const ROLE: &str = "pitr_broken";

fn owner_url(pg: &TestCluster, db: &str) -> String {
    format!("postgres://{ROLE}@127.0.0.1:{}/{db}", pg.port())
}

fn write(pg: &TestCluster, db: &str, round: i32) {
    pg.psql_url(
        &owner_url(pg, db),
        &format!("INSERT INTO public.orders (note) VALUES ('round {round}')"),
    )
    .unwrap();
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            out.extend(segment_files(&p));
        } else if name.ends_with(".pitr") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn plan(d: &Path, pg: &TestCluster, at: &str) -> std::process::Output {
    run(
        d,
        pg,
        &[
            "--json",
            "restore",
            "shop",
            "--at",
            at,
            "--to",
            &pg.url("postgres"),
            "--dry-run",
        ],
    )
}

#[test]
fn a_missing_segment_ends_the_window_in_status_verify_and_the_plan() {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "pitr_missing";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    pg.psql_url(
        &owner_url(&pg, db),
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text)",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(
        run(
            d,
            &pg,
            &["project", "add", "shop", "--db", &owner_url(&pg, db)],
        ),
        "project add",
    );
    let enabled = ok_json(run(d, &pg, &["--json", "pitr", "enable", "shop"]), "enable");
    // Three passes, three segments; an instant inside each.
    let mut instants = Vec::new();
    for round in 1..=3 {
        write(&pg, db, round);
        instants.push(server_now(&pg));
        std::thread::sleep(Duration::from_millis(1200));
        ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    }
    let segs = segment_files(d);
    assert_eq!(segs.len(), 3, "{segs:?}");
    ok_json(
        plan(d, &pg, &instants[2]),
        "the plan before anything is lost",
    );

    // The middle segment is lost.
    std::fs::remove_file(&segs[1]).unwrap();
    let middle = segs[1].file_name().unwrap().to_string_lossy().to_string();

    let status = ok_json(run(d, &pg, &["--json", "pitr", "status", "shop"]), "status");
    let w = &status["windows"][0];
    let broken = w["broken_by"].as_str().unwrap_or_default();
    assert!(
        broken.contains("missing or damaged") && broken.contains(&middle),
        "{status}"
    );
    assert_eq!(w["segments"], 1, "{status}");
    assert!(!broken.contains("a copy is stored"), "{status}");

    let out = run(d, &pg, &["pitr", "verify", "shop"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.lines()
            .any(|l| l.starts_with("DAMAGED") && l.contains(&middle) && l.contains("missing")),
        "{text}"
    );
    assert!(
        text.contains("3 segment(s) checked, 1 missing or damaged"),
        "{text}"
    );

    // Before it: still planned. In it and after it: refused, naming the window's end.
    ok_json(
        plan(d, &pg, &instants[0]),
        "a time before the missing segment",
    );
    for at in &instants[1..] {
        refused(
            plan(d, &pg, at),
            "is in no restorable window; nearest restorable times: before 20",
        );
    }
    assert!(!segs[1].exists(), "nothing brought the segment back");

    // `offsite verify` of the base checks the archive, and says where the segments are checked.
    let base = enabled["base_backup_id"].as_str().unwrap();
    let out = ok(run(d, &pg, &["verify", base]), "verify the base");
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("offsite pitr verify shop"), "{said}");
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
}

/// Waits (at most 120 s) until `ok` holds; says what it waited for and what it saw last.
#[cfg(unix)]
fn wait_until(what: &str, mut ok: impl FnMut() -> Option<String>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let seen = match ok() {
            None => return,
            Some(seen) => seen,
        };
        assert!(
            std::time::Instant::now() < deadline,
            "waited 120 s for {what}; saw: {seen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A process killed while it takes the capture's base (the agent's point-in-time test found it
/// under load: issue 61) leaves a chain whose row and slot exist but whose base never came.
/// Such a chain can never be restored: the next pass ends it saying why and drops its slot (no
/// WAL held on the server for it), `pitr run --once` says so with the command that starts again,
/// and `pitr enable` then takes a new base whose window restores.
#[cfg(unix)] // the wrapped pg_dump is a shell script
#[test]
fn a_capture_whose_base_was_killed_is_ended_by_the_next_pass_and_can_start_again() {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "pitr_killed_base";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    pg.psql_url(
        &owner_url(&pg, db),
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text)",
    )
    .unwrap();
    write(&pg, db, 0);
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(
        run(
            d,
            &pg,
            &["project", "add", "shop", "--db", &owner_url(&pg, db)],
        ),
        "project add",
    );

    // The PostgreSQL tools as found, but a pg_dump that says it started and then waits: the
    // kill lands after the chain's row and slot are made and before its base is recorded.
    let tools = tempfile::tempdir().unwrap();
    let real = pg.bin("pg_dump");
    for e in std::fs::read_dir(real.parent().unwrap()).unwrap().flatten() {
        std::os::unix::fs::symlink(e.path(), tools.path().join(e.file_name())).unwrap();
    }
    let started = tools.path().join("started");
    let wrapper = tools.path().join("pg_dump");
    std::fs::remove_file(&wrapper).unwrap();
    offsite_testkit::script::write_executable(
        &wrapper,
        &format!(
            "#!/bin/sh\ncase \"$*\" in *--version*) exec '{}' \"$@\";; esac\n: > '{}'\nexec sleep 600\n",
            real.display(),
            started.display()
        ),
    );
    let mut enable = offsite(d, &pg, &["pitr", "enable", "shop"])
        .env("OFFSITE_PG_BIN", tools.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the base's pg_dump to start", || {
        (!started.exists()).then(|| format!("no {}", started.display()))
    });
    enable.kill().unwrap(); // SIGKILL, mid-base
    enable.wait().unwrap();
    let slots = "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'offsite_pitr_%'";
    assert_eq!(pg.psql("postgres", slots).trim(), "1", "the chain's slot");
    let status = ok_json(run(d, &pg, &["--json", "pitr", "status", "shop"]), "status");
    assert_eq!(status["windows"], serde_json::json!([]), "{status}");

    // The next pass ends it, drops its slot, and says what to run.
    refused(
        run(d, &pg, &["pitr", "run", "shop", "--once"]),
        "its base backup was interrupted",
    );
    assert_eq!(
        pg.psql("postgres", slots).trim(),
        "0",
        "no slot holds WAL for it"
    );
    let status = ok_json(run(d, &pg, &["--json", "pitr", "status", "shop"]), "status");
    assert_eq!(status["enabled"], false, "{status}");
    assert!(
        status["ended"]
            .to_string()
            .contains("its base backup was interrupted"),
        "{status}"
    );

    // Started again: a new base, and a time after it restores.
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "enable again");
    write(&pg, db, 1);
    let at = server_now(&pg);
    // As the test above: the pass a moment after the instant it must cover.
    wait_past(&pg, &at);
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    ok_json(plan(d, &pg, &at), "the plan after the new base");
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
}
