//! A restore that fails on the real server says why: the server's first `ERROR:` line with its
//! DETAIL/HINT/CONTEXT, even when pg_restore prints many lines after it.

use offsite_core::catalog::JobState;
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart, RestoreRequest};
use offsite_testkit::TestCluster;
use std::path::PathBuf;

use crate::common::{env, target};

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_restore_reports_the_servers_first_error_and_its_context() {
    let pg = TestCluster::shared();
    let env = env().await;
    let src = pg.unique_db("errsrc");
    // A CHECK constraint that reads another table through a recursive PL/pgSQL function: true
    // in the source, false during a restore (the allow-list's rows are loaded after the items),
    // and the error then carries a 40-level CONTEXT: the ERROR line is far from the end.
    pg.psql(
        &src,
        r#"
        CREATE TABLE z_allowed (id int PRIMARY KEY);
        INSERT INTO z_allowed SELECT generate_series(1, 5);
        CREATE FUNCTION check_deep(depth int, v int) RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN
          IF depth > 0 THEN
            RETURN public.check_deep(depth - 1, v);
          END IF;
          IF NOT EXISTS (SELECT 1 FROM public.z_allowed WHERE id = v) THEN
            RAISE EXCEPTION 'item % is not in z_allowed', v
              USING DETAIL = 'the allow-list has no such id',
                    HINT = 'load z_allowed first';
          END IF;
          RETURN true;
        END $$;
        CREATE TABLE a_items (id int CHECK (check_deep(40, id)));
        INSERT INTO a_items SELECT generate_series(1, 5);
        "#,
    );
    env.engine
        .add_project(AddProject::url("errsrc", pg.url_with_password(&src)))
        .await
        .unwrap();
    // One stream (format 1): restored by one pg_restore in one transaction, which loads the
    // items before the allow-list (a parallel restore loads them at the same time, in any order).
    let backup = env
        .engine
        .backup(
            BackupOptions {
                jobs: Some(1),
                ..BackupOptions::project("errsrc")
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let path = PathBuf::from(backup.backup.path);

    let dst = pg.unique_db("errdst");
    let e = env
        .engine
        .restore(
            RestoreRequest::new(&path, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap_err();
    let msg = e.message();
    assert_eq!(e.kind(), ErrorKind::ToolFailed, "{msg}");
    assert!(msg.contains("ERROR:  item 1 is not in z_allowed"), "{msg}");
    assert!(
        msg.contains("DETAIL:  the allow-list has no such id")
            && msg.contains("HINT:  load z_allowed first")
            && msg.contains("CONTEXT:  PL/pgSQL function public.check_deep(integer,integer)"),
        "{msg}"
    );
    // ...and how it ended: the COPY that failed, the last line pg_restore printed.
    assert!(msg.contains("COPY a_items, line 1"), "{msg}");
    assert!(
        msg.contains("more lines ...]"),
        "the middle is left out: {msg}"
    );
    assert!(msg.len() <= 4096 + 200, "{}", msg.len());
    assert!(!msg.contains(pg.superuser_password()), "{msg}");

    // The job's record says the same, and the target was left as it was (one transaction).
    let job = env.engine.catalog().jobs(None, 1).await.unwrap().remove(0);
    assert_eq!(job.state, JobState::Failed);
    let recorded = job.error_message.unwrap_or_default();
    assert!(
        recorded.contains("ERROR:  item 1 is not in z_allowed"),
        "{recorded}"
    );
    assert_eq!(
        pg.psql(
            &dst,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ),
        "0"
    );
}
