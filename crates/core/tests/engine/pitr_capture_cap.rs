//! A capture read stopped at its size limit (docs/pitr.md, "run"): on a real cluster, a pass's
//! reads of at most a few messages each — every read but the last says there is more, and counts
//! as complete only up to its last commit less a second (not to the pass's start: what it did
//! not read yet is not in it); the last read ends at the pass's start; no commit is read twice
//! and none after the pass began.

use offsite_core::pitr::capture::{capture_once, upto_now, Target};
use offsite_core::pitr::{server, Names};
use offsite_core::postgres::conn::ConnSpec;
use offsite_testkit::TestCluster;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread")]
async fn a_read_stopped_at_its_limit_is_complete_only_to_its_last_commit() {
    // A server of its own: creating a logical slot waits for every transaction running on the
    // server to end, and on the binary's shared server other tests' long ones made it wait 100 s.
    let own = TestCluster::start();
    let pg = &own;
    let db = pg.unique_db("pitr_cap");
    pg.psql(&db, "CREATE TABLE public.t (id serial PRIMARY KEY, v int)");
    let (spec, password) = ConnSpec::parse_url(&pg.url_with_password(&db)).unwrap();
    let mut conn = spec.connect(password.as_deref()).await.unwrap();
    let names = Names {
        slot: format!("offsite_pitr_cap_{}", std::process::id()),
        publication: "offsite_pitr_cap".into(),
    };
    server::enable(&mut conn, &spec, &names).await.unwrap();
    // Ten transactions of one row (four messages each: begin, relation or not, insert, commit).
    for i in 0..10 {
        pg.psql(&db, &format!("INSERT INTO public.t (v) VALUES ({i})"));
    }
    let dir = tempfile::tempdir().unwrap();
    let to = Target {
        dir: dir.path(),
        stem: "cap",
        encryption: None,
    };
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let upto = upto_now(&mut conn, &spec).await.unwrap();
    // Committed after the pass began: not in this pass.
    pg.psql(&db, "INSERT INTO public.t (v) VALUES (100)");
    let cancel = CancellationToken::new();
    let (mut commits, mut reads) = (0, 0);
    loop {
        let read = capture_once(&mut conn, &spec, &names, &to, &upto, 6, &cancel)
            .await
            .unwrap();
        reads += 1;
        let Some(c) = read.captured else {
            // The last read of a limit that fell on the end: nothing more before the start.
            assert!(!read.more);
            assert_eq!(read.closed_at, upto.closed_at);
            break;
        };
        commits += c.info.commits;
        if read.more {
            assert!(
                read.closed_at <= c.info.last_commit_at - 1_000_000,
                "a read stopped at its limit counts only to its last commit: {} > {}",
                read.closed_at,
                c.info.last_commit_at
            );
        } else {
            assert_eq!(
                read.closed_at, upto.closed_at,
                "the last read ends at the pass's start"
            );
        }
        offsite_core::pitr::capture::advance(&mut conn, &spec, &names, c.info.end_lsn)
            .await
            .unwrap();
        if !read.more {
            break;
        }
        assert!(reads < 20, "the pass does not end");
    }
    assert!(reads >= 3, "reads of six messages: {reads}");
    assert_eq!(
        commits, 10,
        "each transaction committed before the pass, once"
    );
    // The next pass reads the one committed after the first began (once flushed: the test
    // cluster commits asynchronously, and a pass reads what is flushed).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let upto = upto_now(&mut conn, &spec).await.unwrap();
    let read = capture_once(&mut conn, &spec, &names, &to, &upto, 1000, &cancel)
        .await
        .unwrap();
    let state = server::slot_state(&mut conn, &spec, &names.slot)
        .await
        .unwrap();
    let rows = pg.psql(&db, "SELECT count(*) FROM public.t");
    assert_eq!(
        read.captured.as_ref().map(|c| c.info.commits),
        Some(1),
        "upto {} slot {:?} rows {rows}",
        upto.lsn,
        state.map(|s| (s.confirmed_flush, s.retained_bytes))
    );
    assert!(!read.more);
    server::disable(&mut conn, &spec, &names).await.unwrap();
}
