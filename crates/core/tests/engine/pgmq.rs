//! pgmq's queues on real servers (the extension's own SQL, installed by `.ci/setup.sh` from the
//! pgmq crate: pgmq is SQL only and not packaged for Debian): backed up with the database,
//! restored into a fresh server, compared queue by queue in the restore's parity report, a
//! replacing restore over a database that has the extension, and a drill of such a backup.

use crate::common::*;
use offsite_core::drill::{CheckStatus, Verdict};
use offsite_core::ops::drill::DrillOptions;
use offsite_core::parity::{ParityReport, PartParity, PartVerdict};
use offsite_core::restore::DatabaseOptions;
use offsite_core::{JobStart, RestoreRequest};
use offsite_testkit::TestCluster;

/// A database `db` with the pgmq extension, or a failure that says how to get it.
fn pgmq_db(pg: &TestCluster, db: &str) {
    pg.create_db(db);
    let made = pg.try_psql(db, "CREATE EXTENSION pgmq");
    assert!(
        made.is_ok(),
        "pgmq is not installed for PostgreSQL 15 ({made:?}): run .ci/setup.sh, which installs it"
    );
}

fn queues(p: &ParityReport) -> PartParity {
    p.parts
        .iter()
        .find(|x| x.part == "pgmq")
        .cloned()
        .unwrap_or_else(|| panic!("no pgmq part: {p:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn queues_are_restored_and_compared_queue_by_queue() {
    let src = TestCluster::start();
    pgmq_db(&src, "app");
    src.psql(
        "app",
        "SELECT pgmq.create('orders');
         SELECT pgmq.create('emails');
         SELECT pgmq.create_unlogged('scratch');
         SELECT pgmq.send('orders', '{\"order\": 1}');
         SELECT pgmq.send('orders', '{\"order\": 2}');
         SELECT pgmq.send('emails', '{\"to\": \"a@example.com\"}');",
    );
    let env = env().await;
    let archive = back_up(&src, &env, "queues", "app").await;

    // Into a fresh server: the extension is created, the queues and their messages are the
    // backup's.
    let tgt = TestCluster::start();
    tgt.create_db("copy");
    let req = RestoreRequest::new(&archive, target(&tgt, "copy"));
    let out = env
        .engine
        .restore(req.clone(), JobStart::default())
        .await
        .unwrap();
    assert!(out.report.ok, "{:?}", out.report.database);
    assert_eq!(
        tgt.psql(
            "copy",
            "SELECT string_agg(queue_name || ' ' || is_unlogged, ', ' ORDER BY queue_name) FROM pgmq.meta"
        ),
        "emails false, orders false, scratch true"
    );
    assert_eq!(
        tgt.psql(
            "copy",
            "SELECT string_agg(message->>'order', ',' ORDER BY msg_id) FROM pgmq.q_orders"
        ),
        "1,2"
    );
    // The restored queue works: the next message follows the backup's.
    assert_eq!(
        tgt.psql("copy", "SELECT pgmq.send('orders', '{\"order\": 3}')"),
        "3"
    );
    let q = queues(out.report.parity.as_ref().expect("a parity report"));
    assert_eq!(q.verdict, PartVerdict::Equal, "{q:?}");
    assert_eq!(q.compared, "3 items");

    // Broken on purpose: one queue dropped, one made in the target only.
    tgt.psql(
        "copy",
        "SELECT pgmq.drop_queue('emails'); SELECT pgmq.create('stray');",
    );
    let again = env.engine.restore_parity(&req).await.unwrap();
    let q = queues(&again);
    assert_eq!(q.verdict, PartVerdict::Differs);
    assert_eq!(
        q.differences,
        ["missing in the target: emails", "only in the target: stray"]
    );

    // Restored again over it (replacing the database, whose pgmq.meta has rows of its own):
    // the queues are the backup's once more.
    let replace = RestoreRequest::new(&archive, target(&tgt, "copy")).options(DatabaseOptions {
        replace: true,
        ..Default::default()
    });
    let out = env
        .engine
        .restore(replace, JobStart::default())
        .await
        .unwrap();
    assert!(out.report.ok, "{:?}", out.report.database);
    let q = queues(out.report.parity.as_ref().unwrap());
    assert_eq!(q.verdict, PartVerdict::Equal, "{q:?}");

    // A drill of the backup restores it (the extension is this machine's) and checks the
    // queues' tables row by row.
    let drilled = env
        .engine
        .drill(
            DrillOptions {
                project: "queues".into(),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let r = &drilled.report;
    assert_eq!(r.verdict, Verdict::Passed, "{:#?}", r.checks);
    let orders = r
        .checks
        .iter()
        .find(|c| c.id == "table:pgmq.q_orders")
        .unwrap_or_else(|| panic!("no check of pgmq.q_orders: {:#?}", r.checks));
    assert_eq!(orders.status, CheckStatus::Passed, "{orders:?}");
    let part = r
        .checks
        .iter()
        .find(|c| c.id == "parity:pgmq")
        .unwrap_or_else(|| panic!("no parity:pgmq check: {:#?}", r.checks));
    assert_ne!(part.status, CheckStatus::Failed, "{part:?}");
    assert_eq!(part.expected.as_deref(), Some("3 items"), "{part:?}");
}
