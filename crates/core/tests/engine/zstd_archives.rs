//! zstd archives through the engine: `--compression zstd` (and the saved default) makes a
//! `.tar.zst` that verifies, browses, restores, is copied to a folder destination and fetched
//! back. zstd is the default; a saved `gzip:N` default (or `--level`) still makes gzip. The other
//! paths that write a new archive (an import's wrapping of a foreign dump, the safety backup a
//! replacing restore takes) follow the same default.

use crate::common::{env_configured, target};
use offsite_core::archive::codec::Codec;
use offsite_core::archive::compression::DEFAULT_ZSTD_LEVEL;
use offsite_core::archive::{self, Compression};
use offsite_core::browse::RowFilter;
use offsite_core::catalog::{BackupStatus, DestinationSpec};
use offsite_core::ops::{FetchCopyOptions, VerifyOptions};
use offsite_core::progress::Reporter;
use offsite_core::restore::DatabaseOptions;
use offsite_core::{
    AddProject, BackupOptions, ErrorKind, ImportInto, ImportOptions, JobStart, RestoreRequest,
};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread")]
async fn a_zstd_backup_verifies_browses_restores_and_comes_back_from_a_destination() {
    let pg = TestCluster::shared();
    let env = env_configured(|c| c).await;
    let src = pg.unique_db("zshop");
    pg.psql(
        &src,
        "CREATE TABLE t (id int PRIMARY KEY, v text); \
         INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 20000) g;",
    );
    let e = &env.engine;
    e.add_project(AddProject::url("zshop", pg.url_with_password(&src)))
        .await
        .unwrap();
    let usb = env.dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    let spec = DestinationSpec {
        name: "usb".into(),
        folder: Some(usb.to_string_lossy().into_owned()),
        ..Default::default()
    };
    e.add_destination("zshop", spec, None).await.unwrap();

    // The default is zstd; a bad level is refused.
    assert_eq!(
        e.default_compression().await.unwrap(),
        Compression::Zstd(DEFAULT_ZSTD_LEVEL)
    );
    let bad = BackupOptions {
        compression: Some(Compression::Zstd(30)),
        ..BackupOptions::project("zshop")
    };
    let err = e.backup(bad, JobStart::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    let opts = BackupOptions {
        compression: Some(Compression::Zstd(3)),
        ..BackupOptions::project("zshop")
    };
    let o = e.backup(opts, JobStart::default()).await.unwrap();
    let path = PathBuf::from(&o.backup.path);
    assert!(
        o.backup.path.ends_with("_database.tar.zst"),
        "{}",
        o.backup.path
    );
    let original = std::fs::read(&path).unwrap();
    assert!(original.starts_with(&offsite_core::archive::codec::ZSTD_MAGIC));

    let v = e
        .verify(VerifyOptions::path(&path), JobStart::default())
        .await
        .unwrap();
    assert!(v.report.ok, "{v:?}");
    let tables = e.browse_tables(&path, None).await.unwrap();
    assert!(tables.readable, "{:?}", tables.note);
    let page = e
        .browse_rows(&path, None, "public", "t", 100, 3, RowFilter::default())
        .await
        .unwrap();
    let ids: Vec<_> = page.rows.iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(ids, vec!["101", "102", "103"]);

    // Copied to the folder destination; fetched back after the local file is gone.
    let copy = usb.join("zshop").join(path.file_name().unwrap());
    assert_eq!(std::fs::read(&copy).unwrap(), original);
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(offsite_core::archive::sidecar_path(&path)).unwrap();
    e.fetch_copy(
        FetchCopyOptions {
            project: "zshop".into(),
            backup_id: o.backup.id.clone(),
            destination: Some("usb".into()),
        },
        JobStart::default(),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), original);

    let dst = pg.unique_db("zfetched");
    let r = e
        .restore(
            RestoreRequest::new(&path, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(r.report.ok);
    assert_eq!(
        pg.psql(
            &dst,
            "SELECT count(*), sum(id), md5(string_agg(v, ',' ORDER BY id)) FROM t"
        ),
        pg.psql(
            &src,
            "SELECT count(*), sum(id), md5(string_agg(v, ',' ORDER BY id)) FROM t"
        )
    );

    // Backups that name no compression are zstd by default.
    let d = e
        .backup(BackupOptions::project("zshop"), JobStart::default())
        .await
        .unwrap();
    assert!(d.backup.path.ends_with(".tar.zst"), "{}", d.backup.path);
    assert!(std::fs::read(&d.backup.path)
        .unwrap()
        .starts_with(&offsite_core::archive::codec::ZSTD_MAGIC));

    // A saved gzip default wins over the built-in one; `--level` is gzip whatever the default.
    e.set_default_compression(Some(Compression::Gzip(6)))
        .await
        .unwrap();
    assert_eq!(e.default_compression().await.unwrap(), Compression::Gzip(6));
    let sg = e
        .backup(BackupOptions::project("zshop"), JobStart::default())
        .await
        .unwrap();
    assert!(sg.backup.path.ends_with(".tar.gz"), "{}", sg.backup.path);
    assert!(std::fs::read(&sg.backup.path)
        .unwrap()
        .starts_with(&[0x1f, 0x8b]));
    assert!(
        e.verify(VerifyOptions::path(&sg.backup.path), JobStart::default())
            .await
            .unwrap()
            .report
            .ok
    );
    e.set_default_compression(Some(Compression::Zstd(5)))
        .await
        .unwrap();
    let g = e
        .backup(
            BackupOptions {
                compression_level: Some(1),
                ..BackupOptions::project("zshop")
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(g.backup.path.ends_with(".tar.gz"), "{}", g.backup.path);
    e.set_default_compression(None).await.unwrap();
    assert_eq!(
        e.default_compression().await.unwrap(),
        Compression::Zstd(DEFAULT_ZSTD_LEVEL)
    );
}

/// `path` is an archive of `codec` by its bytes, named with `suffix`, and verifies.
fn assert_new_archive(path: &Path, codec: Codec, suffix: &str) {
    assert!(
        path.to_string_lossy().ends_with(suffix),
        "{} should end with {suffix}",
        path.display()
    );
    assert_eq!(
        archive::codec_of(path).unwrap(),
        codec,
        "{}",
        path.display()
    );
    let report = archive::verify(path, &Reporter::silent(), &CancellationToken::new()).unwrap();
    assert!(report.ok, "{}: {:?}", path.display(), report.problems);
}

/// The real pg_dump of `db` in `format` (`custom` or `plain`) into `file`.
fn pg_dump_to(pg: &TestCluster, db: &str, format: &str, file: &Path) {
    let out = pg
        .command("pg_dump")
        .args(pg.conn_args())
        .arg(format!("--format={format}"))
        .arg("-f")
        .arg(file)
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn imports_and_safety_backups_follow_the_default_compression() {
    let pg = TestCluster::shared();
    let env = env_configured(|c| c).await;
    let src = pg.unique_db("zimp");
    pg.psql(
        &src,
        "CREATE TABLE t (id int PRIMARY KEY, v text); \
         INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 2000) g;",
    );
    let e = &env.engine;
    e.add_project(AddProject::url("zimp", pg.url_with_password(&src)))
        .await
        .unwrap();
    let dump = env.dir.path().join("foreign.dump");
    pg_dump_to(pg, &src, "custom", &dump);
    let sql = env.dir.path().join("foreign.sql");
    pg_dump_to(pg, &src, "plain", &sql);

    // None saved: the built-in default, zstd. Then a saved gzip default: gzip.
    for (saved, codec, suffix) in [
        (None, Codec::Zstd, ".tar.zst"),
        (Some(Compression::Gzip(1)), Codec::Gzip, ".tar.gz"),
    ] {
        e.set_default_compression(saved).await.unwrap();
        // A dropped `.dump` and `.sql` are wrapped into a new archive of the default codec.
        let mut wrapped = Vec::new();
        for file in [&dump, &sql] {
            let o = e
                .import(
                    ImportOptions::new(
                        file,
                        ImportInto::Existing {
                            project: "zimp".into(),
                        },
                    ),
                    JobStart::default(),
                )
                .await
                .unwrap();
            assert_eq!(o.backup.status, BackupStatus::Verified);
            let path = PathBuf::from(&o.backup.path);
            assert_new_archive(&path, codec, &format!("_database{suffix}"));
            wrapped.push(path);
        }
        // Replacing the (non-empty) source takes a safety backup first: the default codec too.
        pg.psql(&src, "INSERT INTO t VALUES (999999, 'after the dump');");
        let r = e
            .restore(
                RestoreRequest::new(&wrapped[0], crate::common::target(pg, &src)).options(
                    DatabaseOptions {
                        replace: true,
                        ..Default::default()
                    },
                ),
                JobStart::default(),
            )
            .await
            .unwrap();
        assert!(r.report.ok);
        let safety = r.report.database.as_ref().unwrap().safety_backup.clone();
        let safety = safety.expect("a safety backup was taken");
        let name = safety.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(&format!("safety-{src}_")), "{name}");
        assert_new_archive(&safety, codec, &format!("_database{suffix}"));
        let m = archive::read_manifest(&safety).unwrap();
        assert_eq!(m.tables.iter().find(|t| t.table == "t").unwrap().rows, 2001);
        assert_eq!(pg.psql(&src, "SELECT count(*) FROM t"), "2000");
    }
    e.set_default_compression(None).await.unwrap();
}
