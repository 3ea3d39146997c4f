//! An encrypted project leaves no plaintext copy (issue 42): the safety backup taken before a
//! `--replace` restore and an imported foreign dump are encrypted like its backups. `tar -t` and
//! `zstd -d` cannot open them; `age -d` with the project's key can.

use crate::common::{env, target};
use offsite_core::ops::encryption::{EncryptionMode, SetEncryption};
use offsite_core::restore::{DatabaseOptions, DatabaseTo};
use offsite_core::{
    AddProject, BackupOptions, ImportInto, ImportOptions, JobStart, RestoreRequest,
};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sh(script: &str) -> std::process::Output {
    Command::new("bash")
        .arg("-c")
        .arg(format!("set -o pipefail; {script}"))
        .output()
        .unwrap()
}

/// The file is age ciphertext nobody reads without the key, and `age -d -i key` opens it into
/// a zstd tar holding `metadata.json` first.
fn sealed(file: &Path, key: &Path) {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with(".tar.zst.age"), "{name}");
    let bytes = std::fs::read(file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"), "{name}");
    let f = file.display();
    for plain in [
        format!("tar -tf '{f}'"),
        format!("tar --zstd -tf '{f}'"),
        format!("zstd -d -c '{f}' > /dev/null"),
    ] {
        assert!(!sh(&plain).status.success(), "{plain} opened {name}");
    }
    let out = sh(&format!(
        "age -d -i '{}' '{f}' | tar --zstd -tf -",
        key.display()
    ));
    assert!(
        out.status.success(),
        "age -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(listed.lines().next(), Some("metadata.json"), "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn safety_backups_and_imports_of_an_encrypted_project_are_encrypted_like_its_backups() {
    let pg = TestCluster::shared();
    let env = env().await;
    let e = &env.engine;
    let db = pg.unique_db("sealed");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v text); \
         INSERT INTO t SELECT g, 'secret ' || g FROM generate_series(1, 300) g;",
    );
    e.add_project(AddProject::url("sealed", pg.url_with_password(&db)))
        .await
        .unwrap();
    let setup = e
        .set_encryption(
            "sealed",
            SetEncryption {
                mode: Some(EncryptionMode::Key),
                passphrase: None,
                recipients: Vec::new(),
            },
        )
        .await
        .unwrap();
    let item = setup.recovery_item.unwrap();
    e.confirm_recovery("sealed", &item).await.unwrap();
    let key = env.dir.path().join("key.txt");
    std::fs::write(&key, format!("{item}\n")).unwrap();

    // An imported plain SQL dump: stored encrypted, no plaintext left in the folder.
    let sql = env.dir.path().join("foreign.sql");
    let out = pg
        .command("pg_dump")
        .args(pg.conn_args())
        .arg("--format=plain")
        .arg("-f")
        .arg(&sql)
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let imported = e
        .import(
            ImportOptions::new(
                &sql,
                ImportInto::Existing {
                    project: "sealed".into(),
                },
            ),
            JobStart::default(),
        )
        .await
        .unwrap();
    let stored = PathBuf::from(&imported.backup.path);
    sealed(&stored, &key);
    let folder = stored.parent().unwrap();
    let plain: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tar.zst") || n.ends_with(".tar.gz"))
        .collect();
    assert!(plain.is_empty(), "plaintext left: {plain:?}");

    // Replacing the project's database takes a safety backup first: encrypted. Into the
    // project by name, and into its URL (the archive's project decides then).
    let backup = e
        .backup(BackupOptions::project("sealed"), JobStart::default())
        .await
        .unwrap();
    let archive = PathBuf::from(&backup.backup.path);
    for to in [DatabaseTo::Project("sealed".into()), target(pg, &db)] {
        pg.psql(&db, "INSERT INTO t VALUES (100000, 'after the backup');");
        let r = e
            .restore(
                RestoreRequest::new(&archive, to).options(DatabaseOptions {
                    replace: true,
                    ..Default::default()
                }),
                JobStart::default(),
            )
            .await
            .unwrap();
        assert!(r.report.ok);
        let safety = r.report.database.as_ref().unwrap().safety_backup.clone();
        sealed(&safety.expect("a safety backup was taken"), &key);
        assert_eq!(pg.psql(&db, "SELECT count(*) FROM t"), "300");
    }
    // Both are listed for the project (origin "safety"), newest first, encrypted.
    let listed = e.safety_backups("sealed").await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed
        .iter()
        .all(|b| b.origin == "safety" && b.encrypted && b.target == format!("safety-{db}")));
    assert!(listed[0].created_at >= listed[1].created_at);

    // Each is a catalog row: a file merely named like one is not listed, nor are they listed
    // for a project on another server whose database has the same name.
    let planted = listed[0]
        .path
        .with_file_name(format!("safety-{db}_20991231_235959_database.tar.zst.age"));
    std::fs::copy(&listed[0].path, &planted).unwrap();
    assert_eq!(e.safety_backups("sealed").await.unwrap(), listed);
    let mut twin = AddProject::url("twin", format!("postgres://postgres@127.0.0.1:1/{db}"));
    twin.skip_test = true;
    e.add_project(twin).await.unwrap();
    let theirs = e.safety_backups("twin").await.unwrap();
    assert!(theirs.is_empty(), "{theirs:?}");
}
