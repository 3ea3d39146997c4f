//! The stop of a physical restore to a time (docs/pitr.md, "Physical capture"): the WAL files'
//! commits listed by one `pg_waldump` per file, on every core, give the same stop and count as
//! one listing of the whole WAL in order — at the first and last commit of every file, a
//! microsecond either side of them, before every commit and after all. On a real cluster's WAL
//! over several files.

use offsite_core::pitr::parse_lsn;
use offsite_core::pitr::physical::wal::{parse_commits, stop_for, stop_in};
use offsite_core::pitr::physical::Tools;
use offsite_testkit::TestCluster;

const SEG: u64 = 16 * 1024 * 1024;

#[test]
fn per_file_listings_stop_where_one_listing_of_all_stops() {
    let pg = TestCluster::start();
    pg.psql("postgres", "CREATE TABLE t (id serial PRIMARY KEY, v text)");
    // The WAL kept from here on, whatever a checkpoint would recycle.
    pg.psql(
        "postgres",
        "SELECT pg_create_physical_replication_slot('keep', true)",
    );
    let from = parse_lsn(
        pg.psql("postgres", "SELECT pg_current_wal_insert_lsn()")
            .trim(),
    )
    .unwrap();
    for _ in 0..5 {
        // Commits of varying size (a few run across a page), then the file switched.
        pg.psql(
            "postgres",
            "DO $$ BEGIN FOR i IN 1..150 LOOP \
             INSERT INTO t (v) SELECT repeat('x', (i * 37) % 3000) FROM generate_series(1, 1 + i % 5); \
             COMMIT; END LOOP; END $$",
        );
        // (The last switch also writes out what the cluster's asynchronous commits hold.)
        pg.psql("postgres", "SELECT pg_switch_wal()");
    }
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(pg.data_dir().join("pg_wal"))
        .unwrap()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.len() == 24 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            std::fs::copy(e.path(), dir.path().join(&name)).unwrap();
        }
    }
    let tools = Tools {
        dir: pg.bin_dir().to_path_buf(),
        major: 15,
    };
    // The whole WAL in one listing, in order: the rule's own answer.
    let out = std::process::Command::new(tools.bin("pg_waldump"))
        .env("TZ", "UTC")
        .arg("-p")
        .arg(dir.path())
        .args(["--timeline", "1", "--rmgr", "Transaction", "--start"])
        .arg(offsite_core::pitr::lsn_text(from))
        .output()
        .unwrap();
    let commits = parse_commits(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert!(
        commits.len() >= 750,
        "{} commits: {}",
        commits.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    let files: std::collections::BTreeSet<u64> = commits.iter().map(|c| c.lsn / SEG).collect();
    assert!(files.len() >= 5, "commits in {} files", files.len());
    let mut ats = vec![commits[0].at - 1, commits[commits.len() - 1].at + 1];
    for f in &files {
        let in_file: Vec<_> = commits.iter().filter(|c| c.lsn / SEG == *f).collect();
        for c in [
            in_file[0],
            in_file[in_file.len() - 1],
            in_file[in_file.len() / 2],
        ] {
            ats.extend([c.at - 1, c.at, c.at + 1]);
        }
    }
    for at in ats {
        let want = stop_for(&commits, at);
        let got = stop_in(&tools, dir.path(), 1, from, at, SEG).unwrap();
        assert_eq!(got, want, "at {at}");
    }
}
