//! Import of dropped files: Offsite archives, plain `pg_dump -Fc` files, project exports; against
//! a real PostgreSQL cluster (offsite_testkit) and the real pg_dump / pg_restore.

use offsite_core::archive;
use offsite_core::archive::BackupType;
use offsite_core::catalog::BackupStatus;
use offsite_core::catalog::JobKind;
use offsite_core::catalog::JobState;
use offsite_core::import::ImportKind;
use offsite_core::{
    AddProject, BackupOptions, ErrorKind, ImportInto, ImportOptions, JobStart, ProjectConnection,
    RestoreRequest,
};
use offsite_testkit::TestCluster;
use std::io::Write;
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use crate::common::{env, files_under, none, start, target, Env};

/// A database with `public.t` of `rows` rows.
fn source_db(pg: &TestCluster, prefix: &str, rows: u32) -> String {
    let db = pg.unique_db(prefix);
    pg.psql(
        &db,
        &format!("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;"),
    );
    db
}

/// `pg_dump -Fc` of `db` into `file`, by the real pg_dump.
fn pg_dump_fc(pg: &TestCluster, db: &str, file: &Path) {
    let out = pg
        .command("pg_dump")
        .args(pg.conn_args())
        .args(["-Fc", "-f"])
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

fn new_project(pg: &TestCluster, name: &str, db: &str) -> ImportInto {
    ImportInto::New(AddProject {
        name: name.into(),
        connection: ProjectConnection::Url(pg.url(db)),
        tls: None,
        password: Some(pg.superuser_password().into()),
        backup_dir: None,
        skip_test: false,
    })
}

async fn assert_nothing_left(env: &Env, project: Option<&str>) {
    let backups_root = env.engine.data_dir().join("backups");
    let left: Vec<_> = files_under(&backups_root);
    assert!(left.is_empty(), "left behind: {left:?}");
    for p in env.engine.catalog().projects().await.unwrap() {
        assert!(
            env.engine
                .catalog()
                .backups(&p.id)
                .await
                .unwrap()
                .is_empty(),
            "a backup was registered"
        );
    }
    if let Some(name) = project {
        assert!(
            env.engine.catalog().project(name).await.is_err(),
            "the new project was left behind"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_pg_dump_previews_imports_and_restores() {
    let pg = TestCluster::shared();
    let src = source_db(pg, "imp_dump", 1234);
    let env = env().await;
    let file = env.dir.path().join("shop.dump");
    pg_dump_fc(pg, &src, &file);

    let p = env.engine.inspect_import(&file).await.unwrap();
    assert_eq!(p.kind, ImportKind::PgDump);
    assert_eq!(p.project.as_deref(), Some(src.as_str()));
    let h = p.dump.as_ref().unwrap();
    assert_eq!(h.database.as_deref(), Some(src.as_str()));
    assert!(h.toc_entries.unwrap() > 0, "{h:?}");
    assert!(
        h.dump_version.is_some() && h.server_version.is_some(),
        "{h:?}"
    );
    assert!(h.created.is_some(), "{h:?}");
    assert_eq!(h.tables, vec!["public.t".to_string()]);
    assert!(!p.rows_recorded);
    // The header and table of contents come first: a cut-off copy still lists (what a big
    // tarball's preview relies on).
    let bytes = std::fs::read(&file).unwrap();
    let head = env.dir.path().join("head.dump");
    std::fs::write(&head, &bytes[..bytes.len() * 3 / 4]).unwrap();
    let hh = offsite_core::import::read_dump_header(&head, None).unwrap();
    assert_eq!(&hh, h);

    // Into a new project; verified afterwards.
    let o = env
        .engine
        .import(
            ImportOptions::new(&file, new_project(pg, "dumped", &src)),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(o.created_project);
    assert_eq!(o.backup.status, BackupStatus::Verified);
    assert_eq!(o.backup.backup_type, BackupType::Database);
    let path = PathBuf::from(&o.backup.path);
    assert!(path.starts_with(env.engine.data_dir().join("backups").join("dumped")));
    assert!(archive::sidecar_path(&path).exists());
    let m = archive::read_manifest(&path).unwrap();
    assert!(m.tables.is_empty());
    assert!(m.tables_note.is_some());
    assert_eq!(m.source.database.as_deref(), Some(src.as_str()));
    assert!(m.versions.server.is_some());
    assert!(env.engine.catalog().project("dumped").await.is_ok());
    let job = env.engine.catalog().job(&o.job_id).await.unwrap();
    assert_eq!(
        (job.kind.as_str(), job.state.as_str()),
        ("import", "succeeded")
    );

    // The result restores into an empty database; the rows arrive; no counts claimed.
    let dst = pg.unique_db("imp_dump_dst");
    let r = env
        .engine
        .restore(
            RestoreRequest::new(&path, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(r
        .report
        .database
        .as_ref()
        .unwrap()
        .rows_not_recorded
        .as_deref()
        .unwrap()
        .contains("a database dump made outside Offsite"));
    assert!(r
        .report
        .database
        .as_ref()
        .unwrap()
        .plan
        .warnings
        .iter()
        .any(|w| w.contains("not recorded")));
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM t"), "1234");
}

#[tokio::test(flavor = "multi_thread")]
async fn offsite_archive_imports_into_existing_and_new_projects() {
    let pg = TestCluster::shared();
    let src = source_db(pg, "imp_arch", 300);
    // Made by another Offsite (its own data folder).
    let maker = env().await;
    maker
        .engine
        .add_project(AddProject::url("shop", pg.url_with_password(&src)))
        .await
        .unwrap();
    let made = maker
        .engine
        .backup(BackupOptions::project("shop"), JobStart::default())
        .await
        .unwrap();
    // Handed over without its .sha256, renamed by a browser's download.
    let handed = maker.dir.path().join("handed");
    std::fs::create_dir(&handed).unwrap();
    let file = handed.join("backup (1).tar.gz");
    std::fs::copy(&made.backup.path, &file).unwrap();
    let made_name = Path::new(&made.backup.path).file_name().unwrap();

    let env = env().await;
    let p = env.engine.inspect_import(&file).await.unwrap();
    assert_eq!(p.kind, ImportKind::OffsiteArchive);
    assert_eq!(p.project.as_deref(), Some("shop"));
    assert_eq!(p.backup_type, BackupType::Database);
    assert!(p.rows_recorded);
    assert_eq!(p.tables.len(), 1);
    assert_eq!(p.tables[0].rows, 300);
    assert!(p.members.iter().any(|m| m.name == "database/toc.dat"));
    assert_eq!(p.size, std::fs::metadata(&file).unwrap().len());

    // Into an existing project.
    env.engine
        .add_project(AddProject::url("mine", pg.url(&src)))
        .await
        .unwrap();
    let o = env
        .engine
        .import(
            ImportOptions {
                verify: false,
                ..ImportOptions::new(
                    &file,
                    ImportInto::Existing {
                        project: "mine".into(),
                    },
                )
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(!o.created_project);
    assert_eq!(o.project.name, "mine");
    assert_eq!(o.backup.status, BackupStatus::Verified);
    assert_eq!(o.backup.sha256, made.backup.sha256);
    let copied = PathBuf::from(&o.backup.path);
    assert_eq!(
        copied.parent().unwrap(),
        env.engine
            .data_dir()
            .join("backups")
            .join("mine")
            .canonicalize()
            .unwrap()
    );
    assert_eq!(
        copied.file_name().unwrap(),
        made_name,
        "the copy has Offsite's own name again"
    );
    assert_eq!(
        archive::read_sidecar(&copied).unwrap().as_deref(),
        Some(made.backup.sha256.as_str()),
        "the missing sidecar was created"
    );
    let sidecar = std::fs::read_to_string(archive::sidecar_path(&copied)).unwrap();
    assert!(
        sidecar.ends_with(&format!("  {}\n", made_name.to_string_lossy())),
        "sha256sum -c finds the file: {sidecar}"
    );
    assert!(file.exists(), "the original stays");

    // Importing the registered copy again is refused and changes nothing.
    let again = env
        .engine
        .import(
            ImportOptions {
                verify: false,
                ..ImportOptions::new(
                    &copied,
                    ImportInto::Existing {
                        project: "mine".into(),
                    },
                )
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AlreadyExists, "{again:?}");
    assert!(copied.exists());
    // So is the handed file again: its copy would be the same bytes under the same name.
    let twice = env
        .engine
        .import(
            ImportOptions {
                verify: false,
                ..ImportOptions::new(
                    &file,
                    ImportInto::Existing {
                        project: "mine".into(),
                    },
                )
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(twice.kind(), ErrorKind::AlreadyExists, "{twice:?}");
    assert!(twice.to_string().contains("already imported"), "{twice}");
    let mine = env.engine.catalog().project("mine").await.unwrap();
    assert_eq!(
        env.engine.catalog().backups(&mine.id).await.unwrap().len(),
        1
    );

    // Into a new project whose folder already holds another file of the copy's name (two
    // backups of one second; a tenant's archive beside its project's backup): the copy takes
    // `<type>-2`, and the file there is left as it was.
    let fresh_dir = env.engine.data_dir().join("backups").join("fresh");
    std::fs::create_dir_all(&fresh_dir).unwrap();
    std::fs::write(fresh_dir.join(made_name), b"another backup of that second").unwrap();
    let o2 = env
        .engine
        .import(
            ImportOptions::new(&file, new_project(pg, "fresh", &src)),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(o2.created_project);
    assert_eq!(o2.project.name, "fresh");
    let fresh = env.engine.catalog().project("fresh").await.unwrap();
    let list = env.engine.catalog().backups(&fresh.id).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].status, BackupStatus::Verified);
    let numbered = made_name
        .to_string_lossy()
        .replace("_database.", "_database-2.");
    assert_eq!(
        Path::new(&o2.backup.path)
            .file_name()
            .unwrap()
            .to_string_lossy(),
        numbered
    );
    assert_eq!(
        std::fs::read(fresh_dir.join(made_name)).unwrap(),
        b"another backup of that second"
    );
}

/// A project export: database.dump (real pg_dump -Fc), globals.sql, storage/, config/.
fn export_folder(pg: &TestCluster, db: &str, dir: &Path) {
    std::fs::create_dir_all(dir.join("storage/avatars")).unwrap();
    std::fs::create_dir_all(dir.join("config")).unwrap();
    pg_dump_fc(pg, db, &dir.join("database.dump"));
    std::fs::write(dir.join("globals.sql"), "-- roles\n").unwrap();
    std::fs::write(dir.join("storage/avatars/a.png"), b"png").unwrap();
    std::fs::write(dir.join("config/settings.json"), b"{}").unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn project_export_tarball_and_folder_import() {
    let pg = TestCluster::shared();
    let src = source_db(pg, "imp_export", 42);
    let env = env().await;
    let folder = env.dir.path().join("export");
    export_folder(pg, &src, &folder);
    // A broken metadata.json does not make it an Offsite archive.
    std::fs::write(folder.join("metadata.json"), b"{ not json").unwrap();
    let tarball = env.dir.path().join("export.tar.gz");
    let out = std::process::Command::new("tar")
        .arg("czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&folder)
        .args([
            "metadata.json",
            "database.dump",
            "globals.sql",
            "storage",
            "config",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());

    for path in [&tarball, &folder] {
        let p = env.engine.inspect_import(path).await.unwrap();
        assert_eq!(p.kind, ImportKind::ProjectExport, "{path:?}");
        assert!(p.has_globals);
        assert_eq!(
            p.dump.as_ref().unwrap().tables,
            vec!["public.t".to_string()]
        );
        // Its storage and configuration come too: a full backup.
        assert_eq!(p.backup_type, BackupType::Full, "{path:?}");
        let parts = p.parts.as_ref().unwrap();
        assert_eq!(parts.storage.as_ref().unwrap().objects, 1);
        assert_eq!(
            parts.config.as_ref().unwrap().documents,
            vec!["settings.json".to_string()]
        );
    }

    env.engine
        .add_project(AddProject::url("exp", pg.url(&src)))
        .await
        .unwrap();
    let o = env
        .engine
        .import(
            ImportOptions {
                verify: false,
                ..ImportOptions::new(
                    &tarball,
                    ImportInto::Existing {
                        project: "exp".into(),
                    },
                )
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(o.backup.status, BackupStatus::Unverified);
    let path = PathBuf::from(&o.backup.path);
    let v = archive::verify(
        &path,
        &offsite_core::progress::Reporter::silent(),
        &CancellationToken::new(),
    )
    .unwrap();
    assert!(v.ok, "{v:?}");
    let m = v.manifest.unwrap();
    let names: Vec<&str> = m.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "database.dump",
            "globals.sql",
            "storage.json",
            "storage/avatars/a.png",
            "config/settings.json"
        ]
    );
    assert_eq!(m.backup_type, BackupType::Full);
    assert_eq!(
        m.member("database.dump").unwrap().sha256,
        archive::sha256_file(&folder.join("database.dump")).unwrap()
    );
    // The folder too (a second archive of the same project).
    let o2 = env
        .engine
        .import(
            ImportOptions::new(
                &folder,
                ImportInto::Existing {
                    project: "exp".into(),
                },
            ),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_ne!(o2.backup.path, o.backup.path);
    assert_eq!(o2.backup.status, BackupStatus::Verified);
}

/// A gzip tarball whose first member is `../x`, then a database.dump.
fn evil_tarball(path: &Path) {
    let f = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    let name = b"../x";
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_size(3);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, &b"bad"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_path("database.dump").unwrap();
    h.set_size(5);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, &b"PGDMP"[..]).unwrap();
    b.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_files_are_refused_and_leave_nothing() {
    let pg = TestCluster::shared();
    let src = source_db(pg, "imp_bad", 2000);
    let env = env().await;

    // A corrupted Offsite archive (made by another Offsite).
    let maker = env_made_archive(pg, &src).await;
    let mut bytes = std::fs::read(&maker.1).unwrap();
    let at = bytes.len() * 3 / 4;
    bytes[at] ^= 0x55;
    let corrupt = env.dir.path().join("shop_20260101_000000_database.tar.gz");
    std::fs::write(&corrupt, &bytes).unwrap();

    let text = env.dir.path().join("notes.txt");
    std::fs::write(&text, "hello, this is not a backup\n").unwrap();
    let empty = env.dir.path().join("empty.dump");
    std::fs::write(&empty, b"").unwrap();
    let evil = env.dir.path().join("evil.tar.gz");
    evil_tarball(&evil);

    for (file, kinds) in [
        (&text, vec![ErrorKind::UnsupportedFormat]),
        (&empty, vec![ErrorKind::UnsupportedFormat]),
        (&evil, vec![ErrorKind::UnsafePath]),
    ] {
        let e = env.engine.inspect_import(file).await.unwrap_err();
        assert!(kinds.contains(&e.kind()), "{file:?}: {e:?}");
        assert!(!e.message().is_empty() && e.hint().is_some(), "{e:?}");
    }
    let e = env.engine.inspect_import(&text).await.unwrap_err();
    assert!(
        e.message().contains("not a backup Offsite can read"),
        "{e:?}"
    );

    for (file, kind) in [
        (&corrupt, ErrorKind::Integrity),
        (&text, ErrorKind::UnsupportedFormat),
        (&empty, ErrorKind::UnsupportedFormat),
        (&evil, ErrorKind::UnsafePath),
    ] {
        let e = env
            .engine
            .import(
                ImportOptions::new(file, new_project(pg, "newone", &src)),
                JobStart::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{file:?}: {e:?}");
        if kind == ErrorKind::Integrity {
            // The damaged part in words; the verifier's own words behind Details.
            assert!(e.message().contains("does not match its checksum"), "{e:?}");
            assert!(!e.message().contains("bad member"), "{e:?}");
            assert!(e.detail().unwrap().contains("bad member"), "{e:?}");
            assert_eq!(
                e.hint(),
                Some("Nothing was imported. Use another copy of this backup.")
            );
        }
        assert_nothing_left(&env, Some("newone")).await;
    }
    // Into an existing project: nothing registered, nothing written.
    env.engine
        .add_project(AddProject::url("kept", pg.url(&src)))
        .await
        .unwrap();
    let e = env
        .engine
        .import(
            ImportOptions {
                verify: false,
                ..ImportOptions::new(
                    &corrupt,
                    ImportInto::Existing {
                        project: "kept".into(),
                    },
                )
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert_nothing_left(&env, None).await;
    assert!(env.engine.catalog().project("kept").await.is_ok());
    let jobs = env.engine.catalog().jobs(None, 10).await.unwrap();
    assert!(jobs
        .iter()
        .all(|j| j.kind == JobKind::Import && j.state == JobState::Failed));
}

/// An archive made by a separate Offsite: (its env, the archive path).
async fn env_made_archive(pg: &TestCluster, db: &str) -> (Env, PathBuf) {
    let maker = env().await;
    maker
        .engine
        .add_project(AddProject::url("shop", pg.url_with_password(db)))
        .await
        .unwrap();
    let made = maker
        .engine
        .backup(BackupOptions::project("shop"), JobStart::default())
        .await
        .unwrap();
    (maker, PathBuf::from(made.backup.path))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_import_leaves_nothing() {
    let pg = TestCluster::shared();
    let src = source_db(pg, "imp_cancel", 10);
    let env = env().await;
    let file = env.dir.path().join("c.dump");
    pg_dump_fc(pg, &src, &file);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let e = env
        .engine
        .import(
            ImportOptions::new(&file, new_project(pg, "gone", &src)),
            start(none(), cancel),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e:?}");
    assert_nothing_left(&env, Some("gone")).await;
    let job = env.engine.catalog().jobs(None, 1).await.unwrap().remove(0);
    assert_eq!(
        (job.kind.as_str(), job.state.as_str()),
        ("import", "cancelled")
    );
}
