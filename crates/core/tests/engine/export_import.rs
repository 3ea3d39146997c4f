//! Whole project exports: the database dump with `storage/` and `config/` beside it, in
//! DESIGN.md's layout (`database.dump`) and the `db/ storage/ config/` layout, as tarballs and
//! folders. The import packs storage and configuration as a full backup does; the storage is
//! restored from the imported backup and compared byte for byte. Against a real cluster, the
//! real pg_dump and GNU tar.

use offsite_core::archive::{self, BackupType};
use offsite_core::import::ImportKind;
use offsite_core::restore::{StorageRestore, StorageTo};
use offsite_core::{AddProject, ErrorKind, ImportInto, ImportOptions, JobStart, RestoreRequest};
use offsite_testkit::TestCluster;
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

use crate::common::{env, files_under, target, Env};

/// The objects of the export: (bucket, key, bytes). One crosses the 1 MiB read chunk.
fn objects() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let big: Vec<u8> = (0..1_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
    vec![
        ("avatars", "a.png", vec![0x89, b'P', b'N', b'G', 0, 1, 2]),
        ("avatars", "users/42/me.txt", b"hello from 42".to_vec()),
        ("docs", "report.bin", big),
        ("docs", "empty", Vec::new()),
    ]
}

const AUTH: &str =
    r#"{"site_url":"https://shop.example","smtp_pass":"hunter2-secret","jwt_exp":3600}"#;

/// A database with `public.t` of `rows` rows.
fn source_db(pg: &TestCluster, prefix: &str, rows: u32) -> String {
    let db = pg.unique_db(prefix);
    pg.psql(
        &db,
        &format!("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;"),
    );
    db
}

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

/// Writes an export into `dir`: the dump at `dump` (relative), storage/ and config/, and a few
/// files that are not imported.
fn write_export(pg: &TestCluster, db: &str, dir: &Path, dump: &str, config: &str) {
    let p = dir.join(dump);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    pg_dump_fc(pg, db, &p);
    for (bucket, key, bytes) in objects() {
        let f = dir.join("storage").join(bucket).join(key);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, bytes).unwrap();
    }
    let c = dir.join("config").join(config);
    std::fs::create_dir_all(c.parent().unwrap()).unwrap();
    std::fs::write(&c, AUTH).unwrap();
    std::fs::write(dir.join("config/postgrest.json"), br#"{"max_rows":1000}"#).unwrap();
    std::fs::write(dir.join("config/.env"), "JWT_SECRET=do-not-keep\n").unwrap();
    std::fs::write(dir.join("docker-compose.yml"), "services: {}\n").unwrap();
}

fn tar(args: &[&str], tarball: &Path, dir: &Path) {
    let out = std::process::Command::new("tar")
        .args(args)
        .arg(tarball)
        .arg("-C")
        .arg(dir)
        .arg(".")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn import_into(env: &Env, path: &Path, project: &str) -> PathBuf {
    let o = env
        .engine
        .import(
            ImportOptions::new(
                path,
                ImportInto::Existing {
                    project: project.into(),
                },
            ),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(o.backup.backup_type, BackupType::Full, "{path:?}");
    PathBuf::from(o.backup.path)
}

/// Restores the storage of `archive` into a new folder and compares every object.
async fn storage_comes_back(env: &Env, archive: &Path) {
    let out = tempfile::tempdir().unwrap();
    let report = env
        .engine
        .restore(
            RestoreRequest::from_archive(archive).storage(StorageRestore::new(StorageTo::Folder(
                out.path().to_path_buf(),
            ))),
            JobStart::default(),
        )
        .await
        .unwrap()
        .report
        .storage
        .unwrap();
    assert_eq!(report.uploaded, objects().len() as u64);
    for (bucket, key, bytes) in objects() {
        let got = std::fs::read(out.path().join(bucket).join(key)).unwrap();
        assert!(got == bytes, "{bucket}/{key} differs");
    }
}

/// The archive's configuration: auth.json redacted, the `.env` nowhere.
fn config_is_redacted(path: &Path) {
    let c = CancellationToken::new();
    let auth = archive::read_document(path, "config/supabase/auth.json", 1 << 20, &c).unwrap();
    let auth: serde_json::Value = serde_json::from_slice(&auth).unwrap();
    assert_eq!(auth["smtp_pass"], "<redacted>");
    assert_eq!(auth["site_url"], "https://shop.example");
    let m = archive::read_manifest(path).unwrap();
    assert!(
        m.redactions
            .contains(&"supabase/auth.json#/smtp_pass".to_string()),
        "{:?}",
        m.redactions
    );
    let names: Vec<&str> = m.members.iter().map(|m| m.name.as_str()).collect();
    assert!(
        names.contains(&"config/supabase/postgrest.json"),
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|n| n.contains(".env") || n.contains("docker")),
        "{names:?}"
    );
    assert_eq!(m.storage.as_ref().unwrap().objects, objects().len() as u64);
    assert_eq!(m.counts["config"].items, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_export_brings_its_storage_and_config() {
    let pg = TestCluster::shared();
    let src = source_db(pg, "exp_whole", 42);
    let env = env().await;
    env.engine
        .add_project(AddProject::url("exp", pg.url(&src)))
        .await
        .unwrap();
    // DESIGN.md's layout as a .tar.gz (config already under supabase/).
    let folder = env.dir.path().join("design");
    write_export(pg, &src, &folder, "database.dump", "supabase/auth.json");
    let tgz = env.dir.path().join("export.tar.gz");
    tar(&["czf"], &tgz, &folder);

    let p = env.engine.inspect_import(&tgz).await.unwrap();
    assert_eq!(p.kind, ImportKind::ProjectExport);
    assert_eq!(p.backup_type, BackupType::Full);
    let parts = p.parts.as_ref().unwrap();
    assert_eq!(parts.database, "database.dump");
    let s = parts.storage.as_ref().unwrap();
    assert_eq!(s.objects, 4);
    assert_eq!(
        s.bytes,
        objects().iter().map(|o| o.2.len() as u64).sum::<u64>()
    );
    let buckets: Vec<&str> = s.buckets.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(buckets, ["avatars", "docs"]);
    assert_eq!(
        parts.config.as_ref().unwrap().documents,
        ["supabase/auth.json", "supabase/postgrest.json"]
    );
    let skipped: Vec<&str> = parts.not_imported.iter().map(|n| n.name.as_str()).collect();
    assert!(skipped.contains(&"config/.env"), "{skipped:?}");
    assert!(skipped.contains(&"docker-compose.yml"), "{skipped:?}");
    assert!(
        p.notes.iter().any(|n| n.contains("not imported")),
        "{:?}",
        p.notes
    );

    let path = import_into(&env, &tgz, "exp").await;
    assert!(path.to_string_lossy().contains("_full.tar"), "{path:?}");
    let v = env
        .engine
        .verify(
            offsite_core::VerifyOptions::path(&path),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(v.report.ok, "{:?}", v.report.problems);
    config_is_redacted(&path);
    // The secret is nowhere in the archive's bytes (zstd or gzip: decompressed).
    let mut plain = Vec::new();
    std::io::copy(
        &mut archive::codec::decompress(std::io::BufReader::new(
            std::fs::File::open(&path).unwrap(),
        )),
        &mut plain,
    )
    .unwrap();
    assert!(!plain.windows(14).any(|w| w == b"hunter2-secret"));
    assert!(!plain.windows(11).any(|w| w == b"do-not-keep"));
    storage_comes_back(&env, &path).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_db_storage_config_layout_as_a_folder_and_a_tar() {
    let pg = TestCluster::shared();
    let src = source_db(pg, "exp_dblayout", 17);
    let env = env().await;
    env.engine
        .add_project(AddProject::url("sm", pg.url(&src)))
        .await
        .unwrap();
    // SupaManager-style: db/<name>.dump, config documents at config/'s top.
    let folder = env.dir.path().join("sm-export");
    write_export(pg, &src, &folder, "db/postgres.dump", "auth.json");
    std::fs::write(folder.join("db/globals.sql"), "-- roles\n").unwrap();
    let plain_tar = env.dir.path().join("sm-export.tar");
    tar(&["cf"], &plain_tar, &folder);

    for input in [&folder, &plain_tar] {
        let p = env.engine.inspect_import(input).await.unwrap();
        assert_eq!(p.kind, ImportKind::ProjectExport, "{input:?}");
        assert_eq!(p.backup_type, BackupType::Full);
        assert!(p.has_globals);
        assert_eq!(
            p.dump.as_ref().unwrap().tables,
            vec!["public.t".to_string()]
        );
        let parts = p.parts.as_ref().unwrap();
        assert_eq!(parts.database, "db/postgres.dump");
        assert_eq!(parts.globals.as_deref(), Some("db/globals.sql"));
        assert_eq!(
            parts.config.as_ref().unwrap().documents,
            ["supabase/auth.json", "supabase/postgrest.json"]
        );
    }
    let from_folder = import_into(&env, &folder, "sm").await;
    config_is_redacted(&from_folder);
    storage_comes_back(&env, &from_folder).await;
    let m = archive::read_manifest(&from_folder).unwrap();
    assert_eq!(
        m.member("database.dump").unwrap().sha256,
        archive::sha256_file(&folder.join("db/postgres.dump")).unwrap()
    );
    let from_tar = import_into(&env, &plain_tar, "sm").await;
    storage_comes_back(&env, &from_tar).await;

    // The database restores from it.
    let dst = pg.unique_db("exp_dblayout_dst");
    env.engine
        .restore(
            RestoreRequest::new(&from_tar, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM t"), "17");
}

type Builder = tar::Builder<flate2::write::GzEncoder<std::fs::File>>;

/// A gzip tarball of `db/x.dump` (a real dump's bytes) and one `evil` entry.
fn tarball_with(path: &Path, dump: &[u8], evil: impl FnOnce(&mut Builder)) {
    let f = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_path("db/x.dump").unwrap();
    h.set_size(dump.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, dump).unwrap();
    evil(&mut b);
    b.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

fn raw_name(h: &mut tar::Header, name: &[u8]) {
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_export_tarballs_are_refused_and_leave_nothing() {
    let pg = TestCluster::shared();
    let src = source_db(pg, "exp_hostile", 3);
    let env = env().await;
    let dump_file = env.dir.path().join("x.dump");
    pg_dump_fc(pg, &src, &dump_file);
    let dump = std::fs::read(&dump_file).unwrap();
    env.engine
        .add_project(AddProject::url("h", pg.url(&src)))
        .await
        .unwrap();

    let file = |b: &mut Builder, name: &[u8]| {
        let mut h = tar::Header::new_gnu();
        raw_name(&mut h, name);
        h.set_size(3);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, &b"bad"[..]).unwrap();
    };
    let link = |b: &mut Builder, kind: tar::EntryType| {
        let mut h = tar::Header::new_gnu();
        h.set_path("storage/b/passwd").unwrap();
        h.set_link_name("/etc/passwd").unwrap();
        h.set_size(0);
        h.set_mode(0o644);
        h.set_entry_type(kind);
        h.set_cksum();
        b.append(&h, std::io::empty()).unwrap();
    };
    type Evil = Box<dyn FnOnce(&mut Builder)>;
    let cases: Vec<(&str, Evil)> = vec![
        ("dotdot", Box::new(move |b| file(b, b"storage/b/../../x"))),
        ("absolute", Box::new(move |b| file(b, b"/etc/offsite-x"))),
        (
            "symlink",
            Box::new(move |b| link(b, tar::EntryType::Symlink)),
        ),
        ("hardlink", Box::new(move |b| link(b, tar::EntryType::Link))),
        (
            "device",
            Box::new(|b| {
                let mut h = tar::Header::new_gnu();
                h.set_path("storage/b/dev").unwrap();
                h.set_size(0);
                h.set_mode(0o644);
                h.set_entry_type(tar::EntryType::Char);
                h.set_cksum();
                b.append(&h, std::io::empty()).unwrap();
            }),
        ),
    ];
    for (name, evil) in cases {
        let path = env.dir.path().join(format!("{name}.tar.gz"));
        tarball_with(&path, &dump, evil);
        let e = env.engine.inspect_import(&path).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsafePath, "{name}: {e:?}");
        let e = env
            .engine
            .import(
                ImportOptions::new(
                    &path,
                    ImportInto::Existing {
                        project: "h".into(),
                    },
                ),
                JobStart::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsafePath, "{name}: {e:?}");
        assert!(!Path::new("/etc/offsite-x").exists());
    }
    // A good one of the same shape imports (the refusals are the evil entries').
    let good = env.dir.path().join("good.tar.gz");
    tarball_with(&good, &dump, |_| {});
    let p = env.engine.inspect_import(&good).await.unwrap();
    assert_eq!(p.backup_type, BackupType::Database);
    let left = files_under(&env.engine.data_dir().join("backups"));
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_sql_dump_in_db_is_imported_with_the_parts() {
    let pg = TestCluster::shared();
    let src = source_db(pg, "exp_plain", 23);
    let env = env().await;
    env.engine
        .add_project(AddProject::url("pl", pg.url(&src)))
        .await
        .unwrap();
    let folder = env.dir.path().join("plain-export");
    // The export's parts around a placeholder dump, then the dump replaced by plain SQL, gzipped.
    write_export(
        pg,
        &src,
        &folder,
        "db/placeholder.dump",
        "supabase/auth.json",
    );
    std::fs::remove_file(folder.join("db/placeholder.dump")).unwrap();
    let out = pg
        .command("pg_dump")
        .args(pg.conn_args())
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(folder.join("db/postgres.sql.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&out.stdout).unwrap();
    gz.finish().unwrap();
    let tgz = env.dir.path().join("plain-export.tgz");
    tar(&["czf"], &tgz, &folder);

    for input in [&folder, &tgz] {
        let p = env.engine.inspect_import(input).await.unwrap();
        assert_eq!(p.kind, ImportKind::ProjectExport, "{input:?}");
        assert_eq!(p.backup_type, BackupType::Full);
        assert!(p.plain.is_some(), "{input:?}");
        assert!(
            p.dump
                .as_ref()
                .unwrap()
                .tables
                .contains(&"public.t".to_string()),
            "{:?}",
            p.dump
        );
        assert_eq!(p.parts.as_ref().unwrap().database, "db/postgres.sql.gz");
    }
    let path = import_into(&env, &tgz, "pl").await;
    let m = archive::read_manifest(&path).unwrap();
    assert!(m.member("database.sql").is_some(), "{:?}", m.members);
    config_is_redacted(&path);
    storage_comes_back(&env, &path).await;
    let dst = pg.unique_db("exp_plain_dst");
    env.engine
        .restore(
            RestoreRequest::new(&path, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM t"), "23");
    // The folder imports too (its SQL read where it is).
    let folder_import = import_into(&env, &folder, "pl").await;
    assert_ne!(folder_import, path);
}
