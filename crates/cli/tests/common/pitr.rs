//! What the point-in-time tests share (tests/pitr.rs, tests/pitr_physical.rs): the role that
//! captures, its connection, the test's writes and the digests of the tables it compares.

use offsite_testkit::TestCluster;
use std::path::Path;

pub const ROLE: &str = "pitr_owner";

/// A cluster with a REPLICATION (not superuser) role owning database `db`, `setup` run as that
/// role, and a data folder whose project `shop` backs it up as that role.
pub fn project_with(db: &str, setup: &str) -> (TestCluster, tempfile::TempDir) {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(&pg, db, setup);
    let data = tempfile::tempdir().unwrap();
    super::pg::ok(
        super::pg::run(
            data.path(),
            &pg,
            &["project", "add", "shop", "--db", &owner_url(&pg, db)],
        ),
        "project add",
    );
    (pg, data)
}

/// Let `ROLE` open physical replication connections from 127.0.0.1 (as a self-hosted server's
/// `pg_hba.conf` would), and wait until it can.
pub fn allow_replication(pg: &TestCluster) {
    let hba = pg.data_dir().join("pg_hba.conf");
    let old = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!("host replication \"{ROLE}\" 127.0.0.1/32 trust\n{old}"),
    )
    .unwrap();
    // Reloaded when a new session sees a newer load time than before the signal (new sessions
    // start from the postmaster's, which re-read pg_hba.conf): an event, not a guess of how long.
    let before = pg.psql("postgres", "SELECT pg_conf_load_time()");
    pg.psql("postgres", "SELECT pg_reload_conf()");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while pg.psql(
        "postgres",
        &format!(
            "SELECT pg_conf_load_time() > '{}'::timestamptz",
            before.trim()
        ),
    ) != "t"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not reload pg_hba.conf within 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub fn owner_url(pg: &TestCluster, db: &str) -> String {
    format!("postgres://{ROLE}@127.0.0.1:{}/{db}", pg.port())
}

pub fn sql(pg: &TestCluster, db: &str, q: &str) -> String {
    pg.psql_url(&owner_url(pg, db), q)
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .trim()
        .to_string()
}

/// Digests of the captured tables (test-only reads, as the superuser).
pub fn digests(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SELECT (SELECT coalesce(md5(string_agg(o::text, '|' ORDER BY id)), '-') FROM public.orders o) \
         || ' ' || (SELECT coalesce(md5(string_agg(i::text, '|' ORDER BY id)), '-') FROM public.items i)",
    )
    .trim()
    .to_string()
}

/// One round of writes, each statement its own transaction.
pub fn writes(pg: &TestCluster, db: &str, round: i32) {
    for k in 0..6 {
        let n = round * 100 + k;
        sql(
            pg,
            db,
            &format!(
                "INSERT INTO public.orders (note, qty) VALUES ('round {round} #{k} it''s', {n});
                 INSERT INTO public.items (id, payload, body) VALUES ({n}, '{{\"n\": {n}, \"s\": \"x\\\"y\"}}', (SELECT string_agg(md5((g * {n})::text), '') FROM generate_series(1, 300) g))
                    ON CONFLICT (id) DO UPDATE SET payload = excluded.payload;"
            ),
        );
    }
    sql(
        pg,
        db,
        &format!(
            "BEGIN;
             UPDATE public.orders SET qty = qty + 1, note = NULL WHERE id % 3 = {};
             DELETE FROM public.orders WHERE id % 7 = {};
             UPDATE public.items SET payload = jsonb_set(payload, '{{r}}', '{round}') WHERE id % 2 = 0;
             INSERT INTO public.nokey VALUES ({round});
             COMMIT;",
            round % 3,
            round % 7
        ),
    );
}

/// Every segment file under the data folder (plain or encrypted), in name order (by first
/// commit LSN).
pub fn segment_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            out.extend(segment_files(&p));
        } else if name.ends_with(".pitr") || name.ends_with(".pitr.age") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// `pitr status` of project `shop` says its chain ended with the slot dropped for the disk.
pub fn assert_ended_for_the_disk(data: &Path, pg: &TestCluster) {
    let status = super::pg::ok_json(
        super::pg::run(data, pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    assert!(
        status["ended"]
            .to_string()
            .contains("dropped to protect the server's disk"),
        "{status}"
    );
}

/// The retained WAL sampled under a load approached `limit` (over half of it) and never went
/// past it by more than one 16 MiB WAL segment.
pub fn assert_held_within_one_segment(peak: i64, limit: i64) {
    const WAL_SEGMENT: i64 = 16 << 20;
    assert!(
        peak > limit / 2,
        "the load held only {peak} bytes at most: the limit {limit} was never approached"
    );
    assert!(
        peak <= limit + WAL_SEGMENT,
        "the server retained {peak} bytes, over the limit {limit} by more than one WAL segment"
    );
}
