//! A capture drops its own replication slot and no other (disable, the disk limit, a failed
//! enable). The drop was once a condition of a query over `pg_replication_slots`
//! (`WHERE slot_name = $1 AND pg_drop_replication_slot(slot_name) IS NOT NULL`); PostgreSQL
//! evaluated the cheaper drop first, for every row, and dropped every inactive slot on the
//! server — a subscriber's, another capture's, another tool's.

use offsite_core::pitr::server;
use offsite_core::postgres::conn::ConnSpec;
use offsite_testkit::TestCluster;

fn slots(pg: &TestCluster, db: &str, prefix: &str) -> Vec<String> {
    let out = pg.psql(
        db,
        &format!("SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE '{prefix}%' ORDER BY 1"),
    );
    out.lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_slot_drops_that_slot_only() {
    // A server of its own: creating a logical slot waits for every transaction running on the
    // server to end, and on the binary's shared server other tests' long ones made it wait 100 s.
    let own = TestCluster::start();
    let pg = &own;
    let db = pg.unique_db("pitr_drop");
    let p = format!("dropslot_{}_", std::process::id());
    let (ours, theirs, physical) = (format!("{p}ours"), format!("{p}theirs"), format!("{p}phys"));
    pg.psql(
        &db,
        &format!(
            "SELECT pg_create_logical_replication_slot('{ours}', 'pgoutput');
             SELECT pg_create_logical_replication_slot('{theirs}', 'pgoutput');
             SELECT pg_create_physical_replication_slot('{physical}');"
        ),
    );
    let (spec, password) = ConnSpec::parse_url(&pg.url_with_password(&db)).unwrap();
    let mut conn = spec.connect(password.as_deref()).await.unwrap();

    assert!(server::drop_slot(&mut conn, &spec, &ours).await.unwrap());
    assert_eq!(
        slots(pg, &db, &p),
        [physical.clone(), theirs.clone()],
        "only {ours} is gone"
    );
    // Again: there is none, nothing else is touched.
    assert!(!server::drop_slot(&mut conn, &spec, &ours).await.unwrap());
    // A name that is SQL is a name.
    let odd = format!("{p}x') OR true; --");
    assert!(!server::drop_slot(&mut conn, &spec, &odd).await.unwrap());
    assert_eq!(slots(pg, &db, &p), [physical.clone(), theirs.clone()]);

    for s in [theirs, physical] {
        assert!(server::drop_slot(&mut conn, &spec, &s).await.unwrap());
    }
    assert!(slots(pg, &db, &p).is_empty());
}
