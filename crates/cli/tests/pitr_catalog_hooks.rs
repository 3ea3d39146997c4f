//! A physical restore to a time starts a throwaway server on the source's base and makes it
//! ready for reading in single-user mode, as that base's bootstrap superuser (issue 62). A
//! superuser of the source plants hooks in its catalog for that moment
//! (`offsite_testkit::catalog_hooks`: triggers and rules on the system catalogs the step
//! touches, event triggers, per-role and per-database settings of every kind); each hook that
//! runs in the throwaway server writes a row into a table of the restored database. The
//! restore to a time gives exactly the source's rows at that time, and no hook ran. On a
//! PostgreSQL 13 source too (no `pg_read_all_data`: the reading role is granted what it reads
//! in that same step) and on a 14 one (the first with it), their binaries handed to Offsite as
//! a user would: `OFFSITE_PG_BIN`.

mod common;

use common::pg::{ok, ok_json, run_env, server_now, wait_past};
use common::pitr::{allow_replication, digests, owner_url, sql, writes, ROLE};
use offsite_testkit::{catalog_hooks, TestCluster};

#[test]
fn a_sources_catalog_hooks_run_nothing_when_restored_to_a_time() {
    restored_to_a_time_runs_no_hook(TestCluster::start(), &[], false);
}

#[test]
fn a_postgresql_13_sources_catalog_hooks_run_nothing_when_restored_to_a_time() {
    let pg = TestCluster::start_major(13);
    assert!(pg.server_version_num() / 10000 == 13, "not a 13 server");
    let bin = pg.bin_dir().display().to_string();
    restored_to_a_time_runs_no_hook(pg, &[("OFFSITE_PG_BIN", &bin)], true);
}

/// 14 is the first major with `pg_read_all_data`: the reading role is no superuser there.
#[test]
fn a_postgresql_14_sources_catalog_hooks_run_nothing_when_restored_to_a_time() {
    let pg = TestCluster::start_major(14);
    assert!(pg.server_version_num() / 10000 == 14, "not a 14 server");
    let bin = pg.bin_dir().display().to_string();
    restored_to_a_time_runs_no_hook(pg, &[("OFFSITE_PG_BIN", &bin)], false);
}

/// The recipe on `pg`, every `offsite` run with `env`; then a drill of the project at that
/// time, whose report says it read the state as a superuser when `superuser_read` (PostgreSQL
/// 13 and older: docs/security.md) and says nothing of it otherwise.
fn restored_to_a_time_runs_no_hook(pg: TestCluster, env: &[(&str, &str)], superuser_read: bool) {
    let run = |d: &std::path::Path, pg: &TestCluster, args: &[&str]| run_env(d, pg, env, args);
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "pitr_hooks";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(
        &pg,
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text, qty int NOT NULL);
         CREATE TABLE public.items (id int PRIMARY KEY, payload jsonb, body text);
         CREATE TABLE public.nokey (n int);",
    );
    allow_replication(&pg);
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
    // Planted as the source's superuser, in the base.
    pg.psql(db, &catalog_hooks::plant(db, ROLE));
    writes(&pg, db, 1);
    ok(
        run(d, &pg, &["pitr", "enable", "shop", "--mode", "physical"]),
        "pitr enable --mode physical",
    );
    // More settings, in the WAL after the base.
    pg.psql(
        "postgres",
        &format!(
            "ALTER ROLE {ROLE} SET statement_timeout = '1h';
             ALTER DATABASE {db} SET lock_timeout = '1h'"
        ),
    );
    writes(&pg, db, 2);
    let want = digests(&pg, db);
    let count = format!("SELECT count(*) FROM {}", catalog_hooks::MARKER);
    assert_eq!(pg.psql(db, &count), "0", "a hook ran on the source itself");
    let at = server_now(&pg);
    pg.psql("postgres", "SELECT pg_switch_wal()");
    wait_past(&pg, &at);
    ok(
        run(d, &pg, &["pitr", "run", "shop", "--once"]),
        "pitr run --once",
    );

    let target = "hooks_into";
    pg.create_db(target);
    let done = ok_json(
        run(
            d,
            &pg,
            &[
                "--json",
                "restore",
                "shop",
                "--at",
                &at,
                "--to",
                &pg.url(target),
            ],
        ),
        "restore --at --to",
    );
    assert_eq!(digests(&pg, target), want, "{done}");
    let ran = pg.psql(
        target,
        &format!(
            "SELECT coalesce(string_agg(what, '; '), '') FROM {}",
            catalog_hooks::MARKER
        ),
    );
    assert_eq!(ran, "", "hooks of the source's catalog ran while restoring");

    let drill = ok_json(
        run(d, &pg, &["--json", "drill", &format!("shop@{at}")]),
        "drill shop@TIME",
    );
    let report = if drill["report"].is_object() {
        &drill["report"]
    } else {
        &drill
    };
    assert_eq!(report["verdict"], "passed", "{drill}");
    let pit = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "point_in_time")
        .unwrap_or_else(|| panic!("no point_in_time check: {drill}"));
    let detail = pit["detail"].as_str().unwrap_or_default();
    if superuser_read {
        assert!(
            detail.contains("read as a superuser") && detail.contains("PostgreSQL 13"),
            "{pit}"
        );
    } else {
        assert!(!detail.contains("superuser"), "{pit}");
    }
}
