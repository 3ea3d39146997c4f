//! The parallel dump (issue 28, archive format 2): `--jobs 2` writes pg_dump's directory format
//! under `database/`, which the archive verifies and GNU tar + `pg_restore -j 2` restore
//! identically; through a pooler that refuses the shared snapshot the backup is one stream and
//! says so; data files are packed while pg_dump runs; a cancelled one leaves nothing.

use crate::common::{env, files_under, none, start, Env};
use crate::pg_engine::{wait_for_blocked_pg_dump, TableLock};
use offsite_core::archive::{self, DumpFormat, Manifest, DATABASE_MEMBER, DATABASE_TOC_MEMBER};
use offsite_core::progress::Reporter;
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart};
use offsite_testkit::leftovers::temporaries;
use offsite_testkit::pooler_proxy::PoolerProxy;
use offsite_testkit::{assert_same_schema, fidelity_snapshot, TestCluster};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A Supabase-shaped database with partitions, an enum, several tables and a large object.
pub(crate) fn rich_database(pg: &TestCluster, prefix: &str) -> String {
    let db = pg.unique_db(prefix);
    pg.load_supabase_fixture(&db);
    pg.psql(
        &db,
        "CREATE TYPE public.par_mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE public.par_people (id int PRIMARY KEY, name text NOT NULL, mood public.par_mood);
         INSERT INTO public.par_people SELECT g, 'person ' || g, (ARRAY['sad','ok','happy'])[1 + g % 3]::public.par_mood
             FROM generate_series(1, 3000) g;
         CREATE TABLE public.par_events (id int, at date NOT NULL, payload text) PARTITION BY RANGE (at);
         CREATE TABLE public.par_events_2025 PARTITION OF public.par_events
             FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         CREATE TABLE public.par_events_2026 PARTITION OF public.par_events
             FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         INSERT INTO public.par_events SELECT g, DATE '2025-06-01' + (g % 400), 'e' || g
             FROM generate_series(1, 4000) g;
         CREATE TABLE public.par_big (id bigint PRIMARY KEY, body text);
         INSERT INTO public.par_big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 20000) g;",
    );
    pg.create_large_object(&db, b"a large object's bytes");
    db
}

pub(crate) async fn back_up_with_jobs(
    env: &Env,
    name: &str,
    url: String,
    jobs: Option<u32>,
) -> PathBuf {
    env.engine
        .add_project(AddProject::url(name, url))
        .await
        .unwrap();
    let o = env
        .engine
        .backup(
            BackupOptions {
                jobs,
                ..BackupOptions::project(name)
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    PathBuf::from(o.backup.path)
}

fn member_names(m: &Manifest) -> Vec<String> {
    m.members.iter().map(|e| e.name.clone()).collect()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parallel_backup_is_format_2_and_tar_plus_pg_restore_j2_restore_it_identically() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = rich_database(pg, "parsrc");
    let path = back_up_with_jobs(&env, "par", pg.url_with_password(&db), Some(2)).await;

    let m = archive::read_manifest(&path).unwrap();
    assert_eq!(m.format_version, 2);
    let layout = m.dump.clone().expect("a dump layout");
    assert_eq!(layout.format, DumpFormat::Directory);
    assert_eq!(layout.jobs, 2);
    assert_eq!(layout.note, None);
    let names = member_names(&m);
    assert!(!names.iter().any(|n| n == DATABASE_MEMBER), "{names:?}");
    let db_members: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("database/"))
        .collect();
    assert_eq!(
        db_members.last().map(|s| s.as_str()),
        Some(DATABASE_TOC_MEMBER),
        "toc.dat last: {db_members:?}"
    );
    assert!(
        db_members.iter().filter(|n| n.ends_with(".dat")).count() >= 6,
        "{db_members:?}"
    );
    assert!(m.components.contains_key("database"), "{:?}", m.components);
    // Rows counted in the dump's snapshot, as for format 1.
    let big = m.tables.iter().find(|t| t.table == "par_big").unwrap();
    assert_eq!(big.rows, 20000);

    let report = archive::verify(&path, &Reporter::silent(), &CancellationToken::new()).unwrap();
    assert!(report.ok, "{report:?}");

    // The per-table digests are the same as a one-stream (custom format) backup's of the same
    // database: COPY text without pg_dump's terminator, its lines, its columns.
    let one = env
        .engine
        .backup(
            BackupOptions {
                jobs: Some(1),
                ..BackupOptions::project("par")
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let m1 = archive::read_manifest(Path::new(&one.backup.path)).unwrap();
    assert_eq!(m1.format_version, 1);
    assert!(m1.dump.is_none(), "{:?}", m1.dump);
    let content = m.content.clone().expect("digests made");
    assert_eq!(content.note, None);
    assert_eq!(
        content.large_objects,
        m1.content.clone().unwrap().large_objects
    );
    let source_objects = fidelity_snapshot(pg, &db).large_objects.len() as u64;
    assert!(source_objects >= 1);
    assert_eq!(
        content.large_objects.as_ref().map(|l| l.count),
        Some(source_objects)
    );
    let mut digested = 0;
    for t in &m.tables {
        let t1 = m1
            .tables
            .iter()
            .find(|x| x.schema == t.schema && x.table == t.table)
            .unwrap();
        assert_eq!(
            (&t.sha256, t.lines, &t.columns),
            (&t1.sha256, t1.lines, &t1.columns),
            "{t:?}"
        );
        assert_eq!(t.rows, t1.rows);
        if t.sha256.is_some() {
            digested += 1;
            let member = t.dump_member.as_deref().expect("a data member");
            assert!(names.iter().any(|n| n == member), "{member}");
            assert_eq!(t.dump_offset, None);
        }
    }
    assert!(digested >= 6, "{:?}", m.tables);

    // Standard tools: GNU tar, then pg_restore -j 2 into an empty database.
    let out = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(&path)
        .arg("-C")
        .arg(out.path())
        .arg("database/"));
    let toc_path = out.path().join("database/toc.dat");
    // Offsite's reader of the directory format's toc.dat: every table's data entry; a truncation
    // of it is an error, never a panic — every cut in the header, then 400 spread over the
    // entries (each parse reads up to the cut: every 7th byte of a real toc was 20 s of this
    // test's CPU; the unit tests cut a small toc at every byte).
    let toc_bytes = std::fs::read(&toc_path).unwrap();
    let (_, toc) = offsite_core::pgdump::read_directory_toc(&toc_bytes[..]).unwrap();
    assert!(toc
        .iter()
        .any(|e| e.desc == "TABLE DATA" && e.tag == "par_big"));
    let spread = (toc_bytes.len() / 400).max(1);
    for cut in (0..toc_bytes.len().min(256)).chain((256..toc_bytes.len()).step_by(spread)) {
        assert!(offsite_core::pgdump::read_directory_toc(&toc_bytes[..cut]).is_err());
    }
    assert!(
        offsite_core::pgdump::DumpReader::new(&toc_bytes[..]).is_err(),
        "not custom"
    );
    let copy = pg.unique_db("parcopy");
    let mut restore = pg.command(pg.bin("pg_restore"));
    restore
        .args(["-j", "2", "--exit-on-error", "-d", &copy])
        .arg(out.path().join("database"));
    run(&mut restore);
    let (want, got) = (fidelity_snapshot(pg, &db), fidelity_snapshot(pg, &copy));
    assert_eq!(want, got);
    assert_same_schema(pg, &db, &copy);
    assert_eq!(got.large_objects.len() as u64, source_objects);
}

#[tokio::test(flavor = "multi_thread")]
async fn through_a_pooler_refusing_the_shared_snapshot_the_backup_is_one_stream_and_says_so() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = rich_database(pg, "parpool");
    let upstream: SocketAddr = format!("127.0.0.1:{}", pg.port()).parse().unwrap();
    let proxy = PoolerProxy::start(upstream);
    let url = format!(
        "postgres://{}:{}@127.0.0.1:{}/{}?sslmode=disable",
        pg.superuser(),
        offsite_testkit::percent_encode(pg.superuser_password()),
        proxy.port(),
        db
    );
    let path = back_up_with_jobs(&env, "pool", url, Some(2)).await;
    assert!(proxy.refused() >= 1, "the probe met the pooler");

    let m = archive::read_manifest(&path).unwrap();
    assert_eq!(m.format_version, 1, "one stream is format 1");
    let layout = m.dump.clone().expect("the fallback is recorded");
    assert_eq!(layout.format, DumpFormat::Custom);
    assert_eq!(layout.jobs, 1);
    let note = layout.note.unwrap();
    assert!(note.contains("one stream"), "{note}");
    assert!(note.contains("not supported by this pooler"), "{note}");
    assert!(member_names(&m).iter().any(|n| n == DATABASE_MEMBER));
    let report = archive::verify(&path, &Reporter::silent(), &CancellationToken::new()).unwrap();
    assert!(report.ok, "{report:?}");
    let big = m.tables.iter().find(|t| t.table == "par_big").unwrap();
    assert_eq!(big.rows, 20000);
    assert_eq!(big.lines, Some(20000), "digests made");
}

#[tokio::test(flavor = "multi_thread")]
async fn data_files_are_packed_and_deleted_while_pg_dump_runs() {
    use offsite_core::postgres::{conn::ConnSpec, dump_dir, tools};
    let pg = TestCluster::shared();
    let db = pg.unique_db("parpack");
    let mut sql = String::new();
    for i in 0..12 {
        sql.push_str(&format!(
            "CREATE TABLE public.t{i} (id int, v text);
             INSERT INTO public.t{i} SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g;"
        ));
    }
    pg.psql(&db, &sql);
    let (spec, password) = ConnSpec::parse_url(&pg.url_with_password(&db)).unwrap();
    let major = pg.server_version_num() / 10000;
    let tools = tools::find_for(major, Some(pg.bin_dir())).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let writer = archive::ArchiveWriter::create(dest.path(), "x.tar.gz", 1).unwrap();
    let fragment = writer.fragment("").unwrap();
    let dir = dest.path().to_path_buf();
    let dumped = tokio::task::spawn_blocking(move || {
        dump_dir::run(
            &tools,
            &spec,
            password.as_deref(),
            None,
            2,
            &[],
            &[],
            &dir,
            fragment,
            &Reporter::silent(),
            &CancellationToken::new(),
        )
    })
    .await
    .unwrap()
    .unwrap();
    // Every table's file went in on pg_dump's "finished item" line, not after it exited.
    assert_eq!(dumped.packed_early, 12, "{dumped:?}");
    let names: Vec<String> = dumped
        .fragment
        .entries()
        .unwrap()
        .map(|e| e.unwrap().name)
        .collect();
    assert_eq!(names.last().map(String::as_str), Some(DATABASE_TOC_MEMBER));
    assert_eq!(names.len(), 13, "{names:?}");
    // The temporary folder is gone; only the writer's own spool files remain until it drops.
    let leftovers: Vec<PathBuf> = temporaries(dest.path())
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(dumped);
    drop(writer);
    assert!(temporaries(dest.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_parallel_backup_leaves_no_temporary_folder_and_no_row() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = rich_database(pg, "parcancel");
    env.engine
        .add_project(AddProject::url("parcancel", pg.url_with_password(&db)))
        .await
        .unwrap();
    let dest = env.dir.path().join("cancel-out");
    std::fs::create_dir_all(&dest).unwrap();
    let lock = TableLock::hold(pg, &db, "par_big");
    let cancel = CancellationToken::new();
    let engine = env.engine.clone();
    let (dest2, cancel2) = (dest.clone(), cancel.clone());
    let task = tokio::spawn(async move {
        engine
            .backup(
                BackupOptions {
                    dest: Some(dest2),
                    jobs: Some(2),
                    ..BackupOptions::project("parcancel")
                },
                start(none(), cancel2),
            )
            .await
    });
    let db2 = db.clone();
    tokio::task::spawn_blocking(move || wait_for_blocked_pg_dump(TestCluster::shared(), &db2))
        .await
        .unwrap();
    // The dump is under way: its temporary folder exists.
    assert!(
        temporaries(&dest).iter().any(|p| p.is_dir()),
        "{:?}",
        temporaries(&dest)
    );
    cancel.cancel();
    let e = tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("cancel is prompt")
        .unwrap()
        .unwrap_err();
    drop(lock);
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e:?}");
    assert!(files_under(&dest).is_empty(), "{:?}", files_under(&dest));
    assert!(temporaries(&dest).is_empty(), "{:?}", temporaries(&dest));
    assert!(env
        .engine
        .backup_list("parcancel")
        .await
        .unwrap()
        .is_empty());
}

/// A table of tens of megabytes (written by pg_dump's worker over many writes, read by Offsite as
/// it grows, see `postgres::dump_tail`) beside small ones, with gzip and zstd: the archive
/// verifies, its digests are the one-stream backup's, and `tar` + `pg_restore -j 2` restore it
/// identically.
#[tokio::test(flavor = "multi_thread")]
async fn a_big_table_packed_while_pg_dump_writes_it_round_trips_with_both_codecs() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("pargrow");
    pg.psql(
        &db,
        "CREATE TABLE public.grow (id bigint PRIMARY KEY, a text, b text);
         INSERT INTO public.grow SELECT g, md5(g::text) || md5((g * 7)::text), 'row ' || g
             FROM generate_series(1, 400000) g;
         CREATE TABLE public.small1 (id int, v text);
         INSERT INTO public.small1 SELECT g, 's' || g FROM generate_series(1, 1000) g;
         CREATE TABLE public.small2 (id int, v text);
         INSERT INTO public.small2 SELECT g, 't' || g FROM generate_series(1, 2000) g;",
    );
    env.engine
        .add_project(AddProject::url("pargrow", pg.url_with_password(&db)))
        .await
        .unwrap();
    let one = env
        .engine
        .backup(
            BackupOptions {
                jobs: Some(1),
                ..BackupOptions::project("pargrow")
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let m1 = archive::read_manifest(Path::new(&one.backup.path)).unwrap();
    for (compression, flag) in [
        (archive::Compression::Gzip(3), "-xzf"),
        (archive::Compression::Zstd(3), "--zstd"),
    ] {
        let o = env
            .engine
            .backup(
                BackupOptions {
                    jobs: Some(2),
                    compression: Some(compression),
                    ..BackupOptions::project("pargrow")
                },
                JobStart::default(),
            )
            .await
            .unwrap();
        let path = PathBuf::from(o.backup.path);
        let m = archive::read_manifest(&path).unwrap();
        assert_eq!(m.format_version, 2);
        let grow = m.tables.iter().find(|t| t.table == "grow").unwrap();
        let member = grow.dump_member.clone().expect("a data member");
        let size = m.members.iter().find(|e| e.name == member).unwrap().size;
        assert!(size > 20 << 20, "{size}");
        let report =
            archive::verify(&path, &Reporter::silent(), &CancellationToken::new()).unwrap();
        assert!(report.ok, "{report:?}");
        for t in &m.tables {
            let t1 = m1.tables.iter().find(|x| x.table == t.table).unwrap();
            assert_eq!((&t.sha256, t.lines), (&t1.sha256, t1.lines), "{t:?}");
            assert!(t.sha256.is_some(), "{t:?}");
        }
        assert_eq!(grow.lines, Some(400000));
        let out = tempfile::tempdir().unwrap();
        let mut tar = Command::new("tar");
        tar.arg(flag);
        if flag == "--zstd" {
            tar.arg("-xf");
        }
        run(tar.arg(&path).arg("-C").arg(out.path()).arg("database/"));
        let copy = pg.unique_db("pargrowcopy");
        let mut restore = pg.command(pg.bin("pg_restore"));
        restore
            .args(["-j", "2", "--exit-on-error", "-d", &copy])
            .arg(out.path().join("database"));
        run(&mut restore);
        assert_eq!(fidelity_snapshot(pg, &db), fidelity_snapshot(pg, &copy));
    }
}
