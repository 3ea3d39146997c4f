//! A big table read in ranges by several workers (issue 67, item 1), end to end against a real
//! server: the archive is format 3 with one `TABLE DATA` entry per range; stock `pg_restore`
//! (serial and `-j 2`) restores it unchanged; Offsite's restore, drill and browse read every
//! range; the table's digest is the one a dump without ranges records.
//!
//! Its own test binary: the size from which a table is split is an environment variable
//! (`OFFSITE_SPLIT_TABLES_ABOVE`), process-wide, and the other binaries' backups must not split.

#[path = "engine/common.rs"]
#[allow(unused_imports)]
mod common;

use common::env;
use offsite_core::archive::{self, DumpFormat, Manifest};
use offsite_core::browse::RowFilter;
use offsite_core::diff::{ComparedBy, TableStatus};
use offsite_core::ops::drill::DrillOptions;
use offsite_core::restore::{DatabaseOptions, DatabaseTo};
use offsite_core::{AddProject, BackupOptions, JobStart, RestoreRequest};
use offsite_testkit::{assert_same_schema, fidelity_snapshot, TestCluster};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIG: &str = "sp_events";

/// The split size is process-wide: one test at a time sets it and backs up.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A database whose `sp_events` holds most of its bytes (≈ 9 MB), with what makes a table hard
/// to copy: a mixed-case column, a dropped one, a generated one, rows moved by updates (so the
/// heap's order is not the key's), an index, foreign keys both ways, a trigger, row-level
/// security; and small tables beside it.
fn database(pg: &TestCluster, prefix: &str) -> String {
    let db = pg.unique_db(prefix);
    pg.psql(
        &db,
        "CREATE TABLE public.sp_kinds (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO public.sp_kinds SELECT g, 'kind ' || g FROM generate_series(1, 50) g;
         CREATE TABLE public.sp_events (
             id bigint PRIMARY KEY,
             \"Kind\" int NOT NULL REFERENCES public.sp_kinds (id),
             gone text,
             payload text,
             at timestamptz NOT NULL,
             size int GENERATED ALWAYS AS (length(payload)) STORED);
         ALTER TABLE public.sp_events DROP COLUMN gone;
         CREATE INDEX sp_events_at ON public.sp_events (at);
         INSERT INTO public.sp_events (id, \"Kind\", payload, at)
             SELECT g, 1 + g % 50, repeat(md5(g::text), 5) || E'\\ttab\\\\slash',
                    TIMESTAMPTZ '2026-01-01 00:00:00+00' + g * interval '1 second'
             FROM generate_series(1, 40000) g;
         UPDATE public.sp_events SET payload = payload || ' moved' WHERE id % 7 = 0;
         DELETE FROM public.sp_events WHERE id % 11 = 0;
         CREATE TABLE public.sp_notes (id int PRIMARY KEY,
             event bigint NOT NULL REFERENCES public.sp_events (id), body text);
         INSERT INTO public.sp_notes SELECT g, g * 3, 'note ' || g FROM generate_series(1, 2000) g
             WHERE (g * 3) % 11 <> 0;
         CREATE FUNCTION public.sp_stamp() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN NEW.payload := NEW.payload || ' (trigger)'; RETURN NEW; END $$;
         CREATE TRIGGER sp_events_stamp BEFORE INSERT ON public.sp_events
             FOR EACH ROW EXECUTE FUNCTION public.sp_stamp();
         ALTER TABLE public.sp_events ENABLE ROW LEVEL SECURITY;
         CREATE POLICY sp_events_kind ON public.sp_events USING (\"Kind\" < 10);",
    );
    db
}

async fn back_up(env: &common::Env, name: &str, jobs: u32) -> PathBuf {
    let o = env
        .engine
        .backup(
            BackupOptions {
                jobs: Some(jobs),
                ..BackupOptions::project(name)
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    PathBuf::from(o.backup.path)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run a tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn big_table(m: &Manifest) -> &archive::TableCount {
    m.tables
        .iter()
        .find(|t| t.table == BIG)
        .expect("the big table counted")
}

/// [`TestCluster::wait_for_answer`] off the runtime's threads, with one minute's deadline.
async fn wait_for(pg: &'static TestCluster, sql: String, want: &'static str, what: &'static str) {
    tokio::task::spawn_blocking(move || {
        pg.wait_for_answer(
            "postgres",
            &sql,
            want,
            what,
            std::time::Duration::from_secs(60),
        )
    })
    .await
    .unwrap()
}

/// The archive's `database/` folder, as GNU tar extracts it.
fn extracted(path: &Path) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(path)
        .arg("-C")
        .arg(out.path())
        .arg("database/"));
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_big_table_is_dumped_in_ranges_and_every_reader_and_stock_pg_restore_take_it_whole() {
    let _serial = SERIAL.lock().await;
    let pg = TestCluster::shared();
    let env = env().await;
    let db = database(pg, "spsrc");
    env.engine
        .add_project(AddProject::url("sp", pg.url_with_password(&db)))
        .await
        .unwrap();

    // Without ranges first (splitting off): the digest every reader compares with.
    std::env::set_var("OFFSITE_SPLIT_TABLES_ABOVE", "0");
    let whole = back_up(&env, "sp", 2).await;
    let mw = archive::read_manifest(&whole).unwrap();
    assert_eq!(mw.format_version, 2);
    assert!(mw.dump.as_ref().unwrap().split.is_empty());

    std::env::set_var("OFFSITE_SPLIT_TABLES_ABOVE", (1 << 20).to_string());
    let path = back_up(&env, "sp", 2).await;
    let m = archive::read_manifest(&path).unwrap();
    assert_eq!(m.format_version, 3, "a table in ranges is format 3");
    let layout = m.dump.clone().unwrap();
    assert_eq!(layout.format, DumpFormat::Directory);
    assert_eq!(layout.split.len(), 1, "{:?}", layout.split);
    assert_eq!(
        (layout.split[0].table.as_str(), layout.split[0].ranges),
        (BIG, 4)
    );
    // The table's digest and lines are those of the dump without ranges: the ranges hashed in
    // order are the text pg_dump's one COPY gives.
    let (t, tw) = (big_table(&m), big_table(&mw));
    assert!(t.sha256.is_some());
    assert_eq!(
        (&t.sha256, t.lines, &t.columns),
        (&tw.sha256, tw.lines, &tw.columns)
    );
    assert_eq!(t.rows, 40000 - 40000 / 11);
    assert_eq!(t.lines, Some(t.rows));
    assert_eq!(
        t.dump_member, None,
        "several members, none alone is the table"
    );
    let report = archive::verify(
        &path,
        &offsite_core::progress::Reporter::silent(),
        &tokio_util::sync::CancellationToken::new(),
    )
    .unwrap();
    assert!(report.ok, "{report:?}");

    // Stock tools: pg_restore -l lists a TABLE DATA entry per range; pg_restore -j 2 and a
    // serial pg_restore restore the archive unchanged.
    let out = extracted(&path);
    let dir = out.path().join("database");
    let list = run(pg.command(pg.bin("pg_restore")).arg("-l").arg(&dir));
    let entries = list
        .lines()
        .filter(|l| l.contains("TABLE DATA public sp_events "))
        .count();
    assert_eq!(entries, 4, "{list}");
    for (jobs, prefix) in [("2", "spstockj"), ("1", "spstock")] {
        let copy = pg.unique_db(prefix);
        run(pg
            .command(pg.bin("pg_restore"))
            .args(["-j", jobs, "--exit-on-error", "-d", &copy])
            .arg(&dir));
        assert_eq!(
            fidelity_snapshot(pg, &db),
            fidelity_snapshot(pg, &copy),
            "-j {jobs}"
        );
        assert_same_schema(pg, &db, &copy);
    }

    // Offsite's restore into an empty database.
    let copy = pg.unique_db("spcopy");
    env.engine
        .add_project(AddProject::url("spcopy", pg.url_with_password(&copy)))
        .await
        .unwrap();
    let req = RestoreRequest::new(&path, DatabaseTo::Project("spcopy".into()))
        .options(DatabaseOptions::default());
    let plan = env.engine.plan_restore(&req).await.unwrap();
    assert!(plan.database.unwrap().blockers.is_empty());
    let restored = env.engine.restore(req, JobStart::default()).await.unwrap();
    let report = restored.report.database.expect("a database report");
    assert!(report.ok, "{:?}", report.tables);
    assert_eq!(fidelity_snapshot(pg, &db), fidelity_snapshot(pg, &copy));
    assert_same_schema(pg, &db, &copy);

    // Browse reads every range, in order: the last rows are the heap's last.
    let e = &env.engine;
    let total = t.rows;
    let page = e
        .browse_rows(
            &path,
            None,
            "public",
            BIG,
            total - 3,
            10,
            RowFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(page.total_rows, Some(total));
    assert_eq!(page.rows.len(), 3, "{:?}", page.rows);
    let whole_page = e
        .browse_rows(
            &whole,
            None,
            "public",
            BIG,
            total - 3,
            10,
            RowFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(page.rows, whole_page.rows);

    // Replacing over a non-empty database (one transaction) brings every range's rows back.
    pg.psql(
        &copy,
        "DELETE FROM public.sp_notes; DELETE FROM public.sp_events WHERE id > 100;",
    );
    let req =
        RestoreRequest::new(&path, DatabaseTo::Project("spcopy".into())).options(DatabaseOptions {
            replace: true,
            no_safety_backup: true,
            ..DatabaseOptions::default()
        });
    let restored = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(restored.report.database.expect("a report").ok);
    assert_eq!(fidelity_snapshot(pg, &db), fidelity_snapshot(pg, &copy));

    // Diffs: against the dump without ranges the digests say identical; against a later backup
    // with one row changed, the rows of every range are read and matched by key.
    let cancel = tokio_util::sync::CancellationToken::new();
    let (w, p) = (whole.to_str().unwrap(), path.to_str().unwrap());
    let d = e
        .diff(w, p, &Default::default(), None, &cancel)
        .await
        .unwrap();
    let td = d.tables.iter().find(|t| t.table == BIG).unwrap();
    assert_eq!(
        (td.status, td.compared_by),
        (TableStatus::Identical, ComparedBy::Digest),
        "{td:?}"
    );
    pg.psql(
        &db,
        "UPDATE public.sp_events SET payload = 'changed' WHERE id = 39999;",
    );
    let later = back_up(&env, "sp", 2).await;
    assert_eq!(archive::read_manifest(&later).unwrap().format_version, 3);
    let d = e
        .diff(
            p,
            later.to_str().unwrap(),
            &Default::default(),
            None,
            &cancel,
        )
        .await
        .unwrap();
    let td = d.tables.iter().find(|t| t.table == BIG).unwrap();
    assert_eq!(
        (td.status, td.compared_by, td.changed, td.added, td.removed),
        (TableStatus::Changed, ComparedBy::PrimaryKey, 1, 0, 0),
        "{td:?}"
    );
    assert_eq!(td.unchanged, total - 1);

    // Row recovery reads the ranges too: a row of the last range, deleted since, comes back as
    // it was (the table's own trigger does not rewrite it).
    let row = "SELECT t::text FROM public.sp_events t WHERE id = 39998";
    let before = pg.psql(&db, row);
    assert!(before.contains("39998"), "{before}");
    pg.psql(&db, "DELETE FROM public.sp_events WHERE id = 39998");
    let req = offsite_core::ops::recover::RecoverRequest {
        archive: p.to_string(),
        rows: offsite_core::recover::RecoverRows {
            table: "public.sp_events".into(),
            filters: vec![offsite_core::browse::ColumnEquals {
                column: "id".into(),
                value: "39998".into(),
            }],
            keys: None,
            children: false,
            on_conflict: offsite_core::recover::OnConflict::Keep,
            key_columns: Vec::new(),
            fire_triggers: false,
        },
        to: common::target(pg, &db),
        dry_run: false,
    };
    e.recover(req, None, JobStart::default()).await.unwrap();
    assert_eq!(pg.psql(&db, row), before);

    // A drill restores it into a scratch database and compares every table's digest.
    let drill = env
        .engine
        .drill(
            DrillOptions {
                project: "sp".into(),
                server: Some(pg.url_with_password("postgres")),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let r = &drill.report;
    assert_eq!(
        r.verdict,
        offsite_core::drill::Verdict::Passed,
        "{:#?}",
        r.checks
    );
    let big = r
        .checks
        .iter()
        .find(|c| c.id == format!("table:public.{BIG}"))
        .expect("the big table checked");
    assert_eq!(
        big.status,
        offsite_core::drill::CheckStatus::Passed,
        "{big:?}"
    );
}

/// A login role that owns the database's tables but may not read one more (`sp_secret`): a
/// real failure of the backup (pg_dump's lock and the row count refused) while the big table's
/// range workers, started before pg_dump, connect or read — whichever point they reached, the
/// backup must end the same way. Its URL.
fn role_denied_one_table(pg: &TestCluster, db: &str) -> String {
    let (role, password) = (format!("{db}_r"), "sp-fail-pw");
    pg.psql(
        db,
        &format!(
            "CREATE ROLE {role} LOGIN PASSWORD '{password}';
             ALTER TABLE public.sp_kinds OWNER TO {role};
             ALTER TABLE public.sp_events OWNER TO {role};
             ALTER TABLE public.sp_notes OWNER TO {role};
             ALTER FUNCTION public.sp_stamp() OWNER TO {role};
             CREATE TABLE public.sp_secret (id int PRIMARY KEY);
             INSERT INTO public.sp_secret VALUES (1);"
        ),
    );
    format!(
        "postgres://{role}:{password}@127.0.0.1:{}/{db}?sslmode=disable",
        pg.port()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_while_the_ranges_are_read_leaves_nothing_and_one_worker_never_splits() {
    let _serial = SERIAL.lock().await;
    let pg = TestCluster::shared();
    let db = database(pg, "spfail");
    std::env::set_var("OFFSITE_SPLIT_TABLES_ABOVE", (1 << 20).to_string());
    let url = role_denied_one_table(pg, &db);
    let env = common::env().await;
    env.engine
        .add_project(AddProject::url("spfail", url))
        .await
        .unwrap();
    let e = env
        .engine
        .backup(
            BackupOptions {
                jobs: Some(2),
                ..BackupOptions::project("spfail")
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert!(e.message().contains("permission denied"), "{e}");
    assert!(env.engine.backups("spfail").await.unwrap().is_empty());
    let project = env.engine.project("spfail").await.unwrap();
    let folder = env.engine.backup_dir_of(&project);
    let left: Vec<_> = std::fs::read_dir(&folder)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name())
                // The folder's own lock, not a backup's.
                .filter(|n| n != ".offsite-folder.lock")
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing half-written: {left:?}");
    // The ranges' workers were stopped (and waited for) before the error came back: no session
    // of theirs is still reading the table.
    // (A closed session ends on the server a moment later: waited for, with a deadline.)
    let reading = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' \
         AND query LIKE 'COPY (SELECT%' AND state = 'active'"
    );
    wait_for(pg, reading, "0", "sessions still reading the big table").await;

    // With the real tools, while another session holds a table exclusively: the sizes are not
    // waited for (a short lock timeout, nothing split), pg_dump waits as it always does, and a
    // cancel stops the backup there. (`sp_kinds`: the census of policies and triggers, taken
    // before, would wait for `sp_events` itself.)
    let env = common::env().await;
    env.engine
        .add_project(AddProject::url("spfail", pg.url_with_password(&db)))
        .await
        .unwrap();
    let holder = {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&pg.url_with_password(&db))
            .await
            .unwrap();
        sqlx::raw_sql("BEGIN; LOCK TABLE public.sp_kinds IN ACCESS EXCLUSIVE MODE;")
            .execute(&mut c)
            .await
            .unwrap();
        c
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    let backup = {
        let (engine, cancel) = (env.engine.clone(), cancel.clone());
        tokio::spawn(async move {
            engine
                .backup(
                    BackupOptions {
                        jobs: Some(2),
                        ..BackupOptions::project("spfail")
                    },
                    common::start(common::none(), cancel),
                )
                .await
        })
    };
    let waiting = format!(
        "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = '{db}' \
         AND wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE%'"
    );
    wait_for(pg, waiting, "t", "pg_dump waiting for the lock").await;
    cancel.cancel();
    let e = backup.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), offsite_core::ErrorKind::Cancelled, "{e}");
    assert!(env.engine.backups("spfail").await.unwrap().is_empty());
    drop(holder);

    // Then the same backup is format 3; with one worker nothing is split and the table's
    // digest is the same.
    let path = back_up(&env, "spfail", 2).await;
    let split = archive::read_manifest(&path).unwrap();
    assert_eq!(split.format_version, 3);
    let one = back_up(&env, "spfail", 1).await;
    let m = archive::read_manifest(&one).unwrap();
    assert_eq!(m.format_version, 1);
    assert_eq!(big_table(&m).sha256, big_table(&split).sha256);
    assert_eq!(big_table(&m).lines, big_table(&split).lines);
}
