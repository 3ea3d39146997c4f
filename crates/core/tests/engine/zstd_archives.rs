//! zstd archives through the engine: `--compression zstd` (and the saved default) makes a
//! `.tar.zst` that verifies, browses, restores, is copied to a folder destination and fetched
//! back. zstd is the default; a saved `gzip:N` default (or `--level`) still makes gzip.

use crate::common::{env_configured, target};
use offsite_core::archive::compression::DEFAULT_ZSTD_LEVEL;
use offsite_core::archive::Compression;
use offsite_core::browse::RowFilter;
use offsite_core::catalog::DestinationSpec;
use offsite_core::ops::{FetchCopyOptions, VerifyOptions};
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart, RestoreRequest};
use offsite_testkit::TestCluster;
use std::path::PathBuf;

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
