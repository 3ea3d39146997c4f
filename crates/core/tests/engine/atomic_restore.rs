//! Issue 42, item 3: a restore into an empty database that fails (a damaged archive: a member
//! whose bytes do not match its recorded SHA-256, a member cut short, a member missing) or is
//! cancelled leaves it EMPTY, for every archive format: format 2's directory dump restored by
//! `pg_restore -j 2` and with `--jobs 1`, format 1's `database.dump`, and plain SQL. The
//! archives are damaged for real (the tar rewritten with one member changed, the manifest kept)
//! and restored into a real cluster.

use crate::common::{env, none, start, target, Env};
use crate::parallel_dump::back_up_with_jobs;
use offsite_core::archive::{self, MANIFEST_NAME};
use offsite_core::restore::DatabaseOptions;
use offsite_core::{Error, ErrorKind, RestoreRequest};
use offsite_testkit::TestCluster;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Rows of `public.big` where a test cancels while they load: enough that loading takes a while.
const ROWS_TO_CANCEL_IN: u32 = 400_000;
/// Rows of `public.big` where a test damages its member: many chunks of the stream on each side
/// of the damage (the damage sits in the middle), at an eighth of the restore's cost.
const ROWS_TO_DAMAGE: u32 = 50_000;

/// A schema of its own, an enum, a function, a view, a sequence, a foreign key, an index, a
/// large object, and one table of `rows` rows.
fn source_database(pg: &TestCluster, prefix: &str, rows: u32) -> String {
    let db = pg.unique_db(prefix);
    pg.psql(
        &db,
        &format!("CREATE SCHEMA app;
         CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE app.people (id serial PRIMARY KEY, name text NOT NULL, mood app.mood);
         INSERT INTO app.people (name, mood) SELECT 'p' || g, 'ok' FROM generate_series(1, 500) g;
         CREATE FUNCTION app.shout(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(t) $$;
         CREATE VIEW app.loud AS SELECT app.shout(name) AS name FROM app.people;
         CREATE TABLE public.big (id bigint PRIMARY KEY, body text,
             person int REFERENCES app.people (id));
         CREATE INDEX big_body ON public.big (body);
         INSERT INTO public.big SELECT g, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text),
             1 + g % 500 FROM generate_series(1, {rows}) g;",
    ));
    pg.create_large_object(&db, b"a large object's bytes");
    db
}

/// What the target holds that a user (or a restore) made: relations, types, functions,
/// schemas, large objects. Empty for a fresh database.
fn user_objects(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SELECT coalesce(string_agg(d, ', ' ORDER BY d), '') FROM (
           SELECT 'relation ' || n.nspname || '.' || c.relname AS d
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_toast%'
           UNION ALL
           SELECT 'type ' || n.nspname || '.' || t.typname
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_toast%'
           UNION ALL
           SELECT 'function ' || n.nspname || '.' || p.proname
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
           UNION ALL
           SELECT 'schema ' || nspname FROM pg_namespace
            WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public')
              AND nspname NOT LIKE 'pg\\_%'
           UNION ALL
           SELECT 'large object ' || oid FROM pg_largeobject_metadata
         ) x",
    )
}

/// How a member is damaged.
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// One byte in the middle flipped: same size, another SHA-256.
    Flipped,
    /// Cut to half its size.
    Truncated,
    /// Left out of the archive.
    Missing,
    /// Nothing (the rewriting alone).
    Kept,
}

/// A copy of `archive` in `dir` with member `name` damaged, every other member (the manifest
/// with the recorded SHA-256s first) as it was. The `.sha256` beside it is not copied: the
/// restore meets the damage in the member itself.
fn damaged(archive: &Path, dir: &Path, name: &str, damage: Damage) -> PathBuf {
    let file = std::fs::File::open(archive).unwrap();
    let reader: Box<dyn Read> = if archive.to_string_lossy().ends_with(".tar.gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(zstd::stream::read::Decoder::new(file).unwrap())
    };
    std::fs::create_dir_all(dir).unwrap();
    let out = dir.join(archive.file_name().unwrap());
    let encoder: Box<dyn std::io::Write> = if out.to_string_lossy().ends_with(".tar.gz") {
        Box::new(flate2::write::GzEncoder::new(
            std::fs::File::create(&out).unwrap(),
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(
            zstd::stream::write::Encoder::new(std::fs::File::create(&out).unwrap(), 1)
                .unwrap()
                .auto_finish(),
        )
    };
    let mut builder = tar::Builder::new(encoder);
    let mut found = false;
    let mut tar = tar::Archive::new(reader);
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut header = entry.header().clone();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if path == name {
            found = true;
            match damage {
                Damage::Flipped => {
                    let at = bytes.len() / 2;
                    bytes[at] ^= 0x55;
                }
                Damage::Truncated => bytes.truncate(bytes.len() / 2),
                Damage::Missing => continue,
                Damage::Kept => {}
            }
        }
        header.set_size(bytes.len() as u64);
        header.set_cksum();
        builder.append(&header, &bytes[..]).unwrap();
    }
    assert!(found, "{name} is in {}", archive.display());
    builder.into_inner().unwrap().flush().unwrap();
    out
}

/// The biggest member of the database (the big table's rows in a directory dump, never its
/// `toc.dat`, which the plan reads first).
fn biggest_database_member(archive: &Path) -> String {
    let m = archive::read_manifest(archive).unwrap();
    m.members
        .iter()
        .filter(|e| e.name.starts_with("database") && e.name != archive::DATABASE_TOC_MEMBER)
        .max_by_key(|e| e.size)
        .unwrap()
        .name
        .clone()
}

async fn restore(
    env: &Env,
    pg: &TestCluster,
    archive: &Path,
    db: &str,
    jobs: Option<u32>,
    cancel: CancellationToken,
) -> Result<(), Error> {
    let req = RestoreRequest::new(archive, target(pg, db)).options(DatabaseOptions {
        jobs,
        ..DatabaseOptions::default()
    });
    env.engine
        .restore(req, start(none(), cancel))
        .await
        .map(|_| ())
}

/// Every damage of the biggest member of `archive`, restored with each of `jobs` into a fresh
/// database: an `integrity` error naming the member, and the target empty.
async fn every_damage_leaves_the_target_empty(
    env: &Env,
    pg: &TestCluster,
    archive: &Path,
    jobs: &[Option<u32>],
    tag: &str,
) {
    let member = biggest_database_member(archive);
    let mut failures = Vec::new();
    for damage in [Damage::Flipped, Damage::Truncated, Damage::Missing] {
        let dir = env.dir.path().join(format!("{tag}-{damage:?}"));
        let bad = damaged(archive, &dir, &member, damage);
        for j in jobs {
            let db = pg.unique_db(&format!("{tag}dst"));
            let e = restore(env, pg, &bad, &db, *j, CancellationToken::new())
                .await
                .expect_err("a damaged archive is refused");
            let what = format!("{damage:?} {member}, jobs {j:?}");
            println!("{what}: {e} (hint: {})", e.hint().unwrap_or(""));
            if !matches!(
                e.kind(),
                ErrorKind::Integrity | ErrorKind::UnsupportedFormat
            ) {
                failures.push(format!("{what}: not an integrity error: {e:?}"));
            }
            if !e.message().contains(&member) {
                failures.push(format!("{what}: the error does not name {member}: {e}"));
            }
            if e.hint().unwrap_or("").contains("partly restored") {
                failures.push(format!("{what}: says partly restored: {:?}", e.hint()));
            }
            let left = user_objects(pg, &db);
            if !left.is_empty() {
                failures.push(format!("{what}: the target holds {left}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_format_2_archive_leaves_an_empty_target_empty_in_parallel_and_with_one_job() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = source_database(pg, "atf2", ROWS_TO_DAMAGE);
    let path = back_up_with_jobs(&env, "atf2", pg.url_with_password(&db), Some(2)).await;
    assert_eq!(archive::read_manifest(&path).unwrap().format_version, 2);
    assert!(biggest_database_member(&path).starts_with("database/"));
    // The copy rewritten without damage restores: the rewriting itself damages nothing.
    let control = pg.unique_db("atf2ok");
    let same = damaged(
        &path,
        &env.dir.path().join("control"),
        MANIFEST_NAME,
        Damage::Kept,
    );
    restore(&env, pg, &same, &control, Some(2), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        pg.psql(&control, "SELECT count(*) FROM public.big"),
        ROWS_TO_DAMAGE.to_string()
    );
    every_damage_leaves_the_target_empty(&env, pg, &path, &[Some(2), Some(1)], "atf2").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_format_1_archive_leaves_an_empty_target_empty() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = source_database(pg, "atf1", ROWS_TO_DAMAGE);
    let path = back_up_with_jobs(&env, "atf1", pg.url_with_password(&db), Some(1)).await;
    assert_eq!(
        biggest_database_member(&path),
        archive::DATABASE_MEMBER,
        "format 1"
    );
    every_damage_leaves_the_target_empty(&env, pg, &path, &[None], "atf1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_plain_sql_archive_leaves_an_empty_target_empty() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = source_database(pg, "atpl", ROWS_TO_DAMAGE);
    let file = env.dir.path().join("dump.sql");
    std::fs::write(&file, crate::plain_sql::pg_dump_plain(pg, &db)).unwrap();
    let into = crate::plain_sql::new_project(pg, "atpl", &db);
    let path = crate::plain_sql::import_new(&env, &file, into, None).await;
    assert_eq!(
        biggest_database_member(&path),
        archive::DATABASE_SQL_MEMBER,
        "plain SQL"
    );
    every_damage_leaves_the_target_empty(&env, pg, &path, &[None], "atpl").await;
}

/// Cancel the restore into `db` once its rows are being loaded (a `COPY … FROM stdin` runs
/// there), and return when it was cancelled.
fn cancel_when_loading(db: &str, cancel: CancellationToken) -> std::thread::JoinHandle<Instant> {
    let db = db.to_string();
    std::thread::spawn(move || {
        let pg = TestCluster::shared();
        let began = Instant::now();
        let sql = format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' \
             AND state = 'active' AND query ILIKE 'COPY % FROM stdin%'"
        );
        while began.elapsed() < Duration::from_secs(120) {
            if pg.psql("postgres", &sql) != "0" {
                cancel.cancel();
                return Instant::now();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no COPY ran in {db} within 120 s");
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restore_cancelled_while_loading_rows_leaves_an_empty_target_empty_in_every_format() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = source_database(pg, "atcx", ROWS_TO_CANCEL_IN);
    let format2 = back_up_with_jobs(&env, "atcx2", pg.url_with_password(&db), Some(2)).await;
    let format1 = back_up_with_jobs(&env, "atcx1", pg.url_with_password(&db), Some(1)).await;
    let mut failures = Vec::new();
    for (archive, jobs, what) in [
        (&format2, Some(2), "format 2, pg_restore -j 2"),
        (&format2, Some(1), "format 2, --jobs 1"),
        (&format1, None, "format 1"),
    ] {
        let dst = pg.unique_db("atcxdst");
        let cancel = CancellationToken::new();
        let watcher = cancel_when_loading(&dst, cancel.clone());
        let e = restore(&env, pg, archive, &dst, jobs, cancel)
            .await
            .expect_err("cancelled");
        let cancelled_at = watcher.join().unwrap();
        println!(
            "{what}: stopped {:?} after the cancel: {e} (hint: {})",
            cancelled_at.elapsed(),
            e.hint().unwrap_or("")
        );
        if e.kind() != ErrorKind::Cancelled {
            failures.push(format!("{what}: not cancelled: {e:?}"));
        }
        if e.hint().unwrap_or("").contains("partly restored") {
            failures.push(format!("{what}: says partly restored: {:?}", e.hint()));
        }
        let left = user_objects(pg, &dst);
        if !left.is_empty() {
            failures.push(format!("{what}: the target holds {left}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `--jobs 1` restores a directory dump in one transaction, and says so: nothing about
/// `pg_restore -j` in its plan, nor in the error of a failure.
#[tokio::test(flavor = "multi_thread")]
async fn jobs_1_is_one_transaction_and_never_says_pg_restore_j() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("atj1");
    pg.psql(
        &db,
        "CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t SELECT generate_series(1, 10);",
    );
    let path = back_up_with_jobs(&env, "atj1", pg.url_with_password(&db), Some(2)).await;
    let dst = pg.unique_db("atj1dst");
    let req = RestoreRequest::new(&path, target(pg, &dst)).options(DatabaseOptions {
        jobs: Some(1),
        ..DatabaseOptions::default()
    });
    let plan = env.engine.plan_restore(&req).await.unwrap();
    let plan = plan.database.expect("a database plan");
    assert!(plan.one_transaction, "{:?}", plan.warnings);
    assert!(
        !plan.warnings.iter().any(|w| w.contains("pg_restore -j")),
        "{:?}",
        plan.warnings
    );
    let member = biggest_database_member(&path);
    let bad = damaged(&path, &env.dir.path().join("j1"), &member, Damage::Flipped);
    let e = restore(&env, pg, &bad, &dst, Some(1), CancellationToken::new())
        .await
        .unwrap_err();
    let hint = e.hint().unwrap_or("");
    assert!(!hint.contains("pg_restore -j"), "{hint}");
    assert!(
        hint.contains("unchanged") || hint.contains("as it was"),
        "{hint}"
    );
    assert_eq!(user_objects(pg, &dst), "");
}

/// Issue 42, item 8: a `--replace` plan (what `--dry-run` prints) blocked by a running backup's
/// locks was refused as bad input (exit 2); it is `busy`, retryable, and says why.
#[tokio::test(flavor = "multi_thread")]
async fn a_replace_plan_blocked_by_a_running_backups_locks_is_busy_not_bad_input() {
    use sqlx::Connection;
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("atbusy");
    pg.psql(
        &db,
        "CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t SELECT generate_series(1, 10);",
    );
    let path = back_up_with_jobs(&env, "atbusy", pg.url_with_password(&db), Some(1)).await;
    // What pg_dump holds while it dumps: ACCESS SHARE on every table, until it ends.
    let mut dump = sqlx::PgConnection::connect(&pg.url_with_password(&db))
        .await
        .unwrap();
    for sql in ["BEGIN", "LOCK TABLE public.t IN ACCESS SHARE MODE"] {
        sqlx::query(sql).execute(&mut dump).await.unwrap();
    }
    let req = RestoreRequest::new(&path, target(pg, &db)).options(DatabaseOptions {
        replace: true,
        ..DatabaseOptions::default()
    });
    let Err(e) = env.engine.plan_restore(&req).await else {
        panic!("the plan went ahead although a backup holds the table's locks");
    };
    println!("{e} (hint: {})", e.hint().unwrap_or(""));
    assert_eq!(e.kind(), ErrorKind::Busy, "{e:?}");
    assert!(e.is_retryable(), "{e:?}");
    assert!(e.hint().unwrap_or("").contains("try again"), "{e:?}");
    sqlx::query("ROLLBACK").execute(&mut dump).await.unwrap();
    // Once the backup is done the same plan goes through.
    let plan = env.engine.plan_restore(&req).await.unwrap();
    assert!(plan.database.unwrap().blockers.is_empty());
}

/// A `--replace` that fails (a damaged archive) or is cancelled while it loads rows is rolled
/// back, and its error says so and where the safety backup of the target is.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_or_cancelled_replace_says_the_target_is_unchanged_and_where_the_safety_backup_is()
{
    let pg = TestCluster::shared();
    let env = env().await;
    let db = source_database(pg, "atrep", ROWS_TO_CANCEL_IN);
    let path = back_up_with_jobs(&env, "atrep", pg.url_with_password(&db), Some(2)).await;
    pg.psql(&db, "DELETE FROM public.big WHERE id > 1000");
    let replace = |archive: &Path, cancel: CancellationToken| {
        let req = RestoreRequest::new(archive, target(pg, &db)).options(DatabaseOptions {
            replace: true,
            ..DatabaseOptions::default()
        });
        let engine = &env.engine;
        async move { engine.restore(req, start(none(), cancel)).await.map(|_| ()) }
    };
    let member = biggest_database_member(&path);
    let bad = damaged(&path, &env.dir.path().join("rep"), &member, Damage::Flipped);
    let failed = replace(&bad, CancellationToken::new()).await.unwrap_err();
    let cancel = CancellationToken::new();
    let watcher = cancel_when_loading(&db, cancel.clone());
    let cancelled = replace(&path, cancel).await.unwrap_err();
    watcher.join().unwrap();
    for (e, kind) in [
        (failed, ErrorKind::Integrity),
        (cancelled, ErrorKind::Cancelled),
    ] {
        let hint = e.hint().unwrap_or("");
        println!("{e} (hint: {hint})");
        assert_eq!(e.kind(), kind, "{e:?}");
        assert!(hint.contains("target is unchanged"), "{hint}");
        // Where it is (its folder and format belong to the safety backup, not to this test).
        let at = hint
            .split("safety backup of the target as it was is at ")
            .nth(1);
        let at = at.unwrap_or_else(|| panic!("no safety backup in: {hint}"));
        let file = at.split(' ').next().unwrap();
        assert!(Path::new(file).is_file(), "{file}: {hint}");
        assert_eq!(pg.psql(&db, "SELECT count(*) FROM public.big"), "1000");
    }
}

/// Issue 63, item 8: the undo of a failed parallel restore that the target refuses one drop of
/// (here an event trigger of the target's refuses dropping `public.big`) does not fail whole:
/// everything else the restore created is dropped, and the error names the refused drop, why,
/// and the command that finishes it — which, run once the trigger is gone, leaves the target
/// as it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_blocked_drop_does_not_fail_the_undo_whole_the_rest_is_dropped_and_the_finish_is_named() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = source_database(pg, "atblk", ROWS_TO_DAMAGE);
    let path = back_up_with_jobs(&env, "atblk", pg.url_with_password(&db), Some(2)).await;
    let member = biggest_database_member(&path);
    let bad = damaged(
        &path,
        &env.dir.path().join("blocked"),
        &member,
        Damage::Flipped,
    );
    let dst = pg.unique_db("atblkdst");
    pg.psql(
        &dst,
        // The function belongs to an extension (as a platform's event triggers do), so the
        // target holds none of the user's objects and the restore runs as pg_restore -j.
        "CREATE FUNCTION public.keep_big() RETURNS event_trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects()
                       WHERE object_type = 'table' AND object_identity = 'public.big') THEN
             RAISE EXCEPTION 'public.big is kept by guard';
           END IF;
         END $$;
         ALTER EXTENSION plpgsql ADD FUNCTION public.keep_big();
         CREATE EVENT TRIGGER keep_big ON sql_drop EXECUTE FUNCTION public.keep_big();",
    );
    let guard_only = user_objects(pg, &dst);
    let e = restore(&env, pg, &bad, &dst, Some(2), CancellationToken::new())
        .await
        .expect_err("a damaged archive is refused");
    println!("{e} (hint: {})", e.hint().unwrap_or(""));
    let hint = e.hint().unwrap_or("").to_string();
    // Everything but the refused table (and what belongs to it) was dropped.
    let left = user_objects(pg, &dst);
    assert!(left.contains("relation public.big"), "{left}");
    assert!(
        !left.contains("app.") && !left.contains("schema app") && !left.contains("large object"),
        "everything else the restore created is dropped: {left}"
    );
    // The error says what was refused, why, and the command that finishes it.
    assert!(
        hint.contains("except what the target refused")
            && hint.contains("public.big is kept by guard"),
        "{hint}"
    );
    let (_, finish) = hint
        .split_once("finish with: psql ")
        .unwrap_or_else(|| panic!("no command to finish: {hint}"));
    let sql = finish
        .split_once(" -c '")
        .map(|(_, rest)| rest.split_once('\'').unwrap().0.to_string())
        .unwrap_or_else(|| panic!("no -c in {finish}"));
    assert!(sql.contains("public.big"), "{sql}");
    // Once what refused it is gone, the command named finishes the undo.
    pg.psql(&dst, "DROP EVENT TRIGGER keep_big;");
    pg.psql(&dst, &sql);
    assert_eq!(user_objects(pg, &dst), guard_only);
}

/// The privileges a restore can change without creating anything: the grants, comment and
/// owner of `public`, and every default-privilege entry of the database.
fn privileges(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SELECT coalesce(nspacl::text, '') || ' | ' || coalesce(obj_description(oid, 'pg_namespace'), '')
                || ' | ' || pg_get_userbyid(nspowner) || ' | ' || coalesce((
             SELECT string_agg(defaclrole::regrole::text || ':' || defaclnamespace::regnamespace::text
                    || ':' || defaclobjtype::text || ':' || defaclacl::text, ', ' ORDER BY 1)
               FROM pg_default_acl), '')
           FROM pg_namespace WHERE nspname = 'public'",
    )
}

/// Issue 63, item 8: a parallel restore stopped after it changed what the target already had —
/// grants on `public`, its comment, default privileges (one entry the target had, one it did
/// not, one that takes a built-in default away) — is undone to the privileges the target had,
/// not only rid of what it created. The restore runs to its end and then the undo of an
/// interrupted one runs, from what was read before it wrote: the state a restore killed in its
/// last pass (pg_restore's privileges come last) leaves for the next start.
#[tokio::test(flavor = "multi_thread")]
async fn the_undo_of_a_parallel_restore_sets_back_the_grants_and_default_privileges_it_changed() {
    let pg = TestCluster::shared();
    let env = env().await;
    let reader = pg.unique_db("atgr_reader");
    pg.psql("postgres", &format!("CREATE ROLE {reader} NOLOGIN"));
    let db = source_database(pg, "atgr", 1_000);
    pg.psql(
        &db,
        &format!(
            "GRANT USAGE ON SCHEMA public TO {reader};
             GRANT CREATE ON SCHEMA public TO {reader} WITH GRANT OPTION;
             COMMENT ON SCHEMA public IS 'the source''s public';
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {reader};
             ALTER DEFAULT PRIVILEGES GRANT USAGE ON SEQUENCES TO {reader};
             ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;"
        ),
    );
    let path = back_up_with_jobs(&env, "atgr", pg.url_with_password(&db), Some(2)).await;
    let dst = pg.unique_db("atgrdst");
    pg.psql(
        &dst,
        &format!("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT INSERT ON TABLES TO {reader};"),
    );
    let before = privileges(pg, &dst);
    let (spec, password) =
        offsite_core::postgres::conn::ConnSpec::parse_url(&pg.url_with_password(&dst)).unwrap();
    let to = offsite_core::postgres::restore::RestoreTarget { spec, password };
    let undo = offsite_core::postgres::restore::undo_before(&to)
        .await
        .unwrap();
    restore(&env, pg, &path, &dst, Some(2), CancellationToken::new())
        .await
        .unwrap();
    let restored = privileges(pg, &dst);
    assert_ne!(
        restored, before,
        "the restore changed the target's privileges"
    );
    assert!(restored.contains("the source's public"), "{restored}");

    offsite_core::postgres::restore::undo_interrupted(None, &to, &path, &undo)
        .await
        .unwrap();
    assert_eq!(user_objects(pg, &dst), "");
    assert_eq!(privileges(pg, &dst), before);
}
