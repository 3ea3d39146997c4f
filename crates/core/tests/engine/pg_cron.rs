//! pg_cron's jobs on real servers (Debian's postgresql-15-cron, preloaded): backed up with the
//! database, restored into a fresh server, compared job by job in the restore's parity report
//! (schedule, command, role, active), and a drill of such a backup.

use crate::common::*;
use offsite_core::drill::{CheckStatus, Verdict};
use offsite_core::ops::drill::DrillOptions;
use offsite_core::parity::PartVerdict;
use offsite_core::restore::DatabaseOptions;
use offsite_core::{JobStart, RestoreRequest};
use offsite_testkit::TestCluster;

/// A cluster whose database `db` holds pg_cron (preloaded, `cron.database_name = db`).
fn cron_cluster(db: &str) -> TestCluster {
    let pg = TestCluster::start();
    let conf = pg.data_dir().join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str(&format!(
        "shared_preload_libraries = 'pg_cron'\ncron.database_name = '{db}'\n"
    ));
    std::fs::write(&conf, text).unwrap();
    pg.restart();
    pg.create_db(db);
    pg
}

#[tokio::test(flavor = "multi_thread")]
async fn cron_jobs_are_restored_and_compared_job_by_job() {
    let src = cron_cluster("app");
    src.psql(
        "app",
        "CREATE EXTENSION pg_cron;
         CREATE TABLE public.sessions (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
         SELECT cron.schedule('nightly-cleanup', '0 3 * * *',
                              $$DELETE FROM public.sessions WHERE at < now() - interval '7 days'$$);
         SELECT cron.schedule('hourly-vacuum', '0 * * * *', 'VACUUM public.sessions');
         SELECT cron.schedule('paused', '*/5 * * * *', 'SELECT 1');
         SELECT cron.alter_job(jobid, active := false) FROM cron.job WHERE jobname = 'paused';",
    );
    let env = env().await;
    let archive = back_up(&src, &env, "cronsrc", "app").await;

    // Into a fresh server that has pg_cron for database `copy`: the extension is created and its
    // jobs are the backup's.
    let tgt = cron_cluster("copy");
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
            "SELECT string_agg(jobname || ' ' || schedule || ' ' || active, ', ' ORDER BY jobname) FROM cron.job"
        ),
        "hourly-vacuum 0 * * * * true, nightly-cleanup 0 3 * * * true, paused */5 * * * * false"
    );
    let parity = out.report.parity.clone().expect("a parity report");
    let cron = |p: &offsite_core::parity::ParityReport| {
        p.parts
            .iter()
            .find(|x| x.part == "pg-cron")
            .cloned()
            .unwrap_or_else(|| panic!("no pg-cron part: {p:#?}"))
    };
    let c = cron(&parity);
    assert_eq!(c.verdict, PartVerdict::Equal, "{c:?}");
    assert_eq!(c.compared, "3 items");
    // A job's command is never in the report.
    let text = serde_json::to_string(&parity).unwrap();
    assert!(
        !text.contains("VACUUM") && !text.contains("DELETE"),
        "{text}"
    );

    // Broken on purpose: one job's schedule moved, one unscheduled, one paused job resumed.
    tgt.psql(
        "copy",
        "SELECT cron.alter_job(jobid, schedule := '0 4 * * *') FROM cron.job WHERE jobname = 'nightly-cleanup';
         SELECT cron.unschedule('hourly-vacuum');
         SELECT cron.alter_job(jobid, active := true) FROM cron.job WHERE jobname = 'paused';",
    );
    let again = env.engine.restore_parity(&req).await.unwrap();
    let c = cron(&again);
    assert_eq!(c.verdict, PartVerdict::Differs);
    assert_eq!(
        c.differences,
        [
            "missing in the target: hourly-vacuum",
            "differs: nightly-cleanup",
            "differs: paused"
        ]
    );

    // Restored again over it (replacing the database): the jobs are the backup's once more.
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
    assert_eq!(
        cron(out.report.parity.as_ref().unwrap()).verdict,
        PartVerdict::Equal
    );

    // A drill of the backup: its throwaway server preloads pg_cron (no job runs there) so that
    // the backup restores (it failed before: "unrecognized configuration parameter"); the jobs
    // are a table of the extension, which the drill's confined role may not read: not
    // comparable there, and said why.
    let drilled = env
        .engine
        .drill(
            DrillOptions {
                project: "cronsrc".into(),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let r = &drilled.report;
    assert_eq!(r.verdict, Verdict::Passed, "{:#?}", r.checks);
    let c = r
        .checks
        .iter()
        .find(|c| c.id == "parity:pg-cron")
        .unwrap_or_else(|| panic!("no parity:pg-cron check: {:#?}", r.checks));
    assert_eq!(c.status, CheckStatus::NotComparable, "{c:?}");
    assert_eq!(c.expected.as_deref(), Some("3 items"), "{c:?}");
    assert!(
        c.detail
            .as_deref()
            .unwrap()
            .contains("permission denied for schema cron"),
        "{c:?}"
    );
}
