//! Import of files encrypted by seed-style servers with the real `openssl enc -aes-256-cbc
//! -salt` (with `-pbkdf2`, without it with `-md sha256`, and `-md md5` as OpenSSL < 1.1 did),
//! restored into the throwaway cluster; a wrong passphrase, a missing one and cut-off files are
//! refused with nothing registered and no decrypted copy left.

use offsite_core::crypto::UserKey;
use offsite_core::import::{ImportKind, OPENSSL_UNAUTHENTICATED};
use offsite_core::{AddProject, ErrorKind, ImportInto, ImportOptions, JobStart, RestoreRequest};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{env, files_under, target, Env};

const PASS: &str = "seed server passphrase 7!";

fn source_db(pg: &TestCluster, prefix: &str, rows: u32) -> String {
    let db = pg.unique_db(prefix);
    pg.psql(
        &db,
        &format!("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;"),
    );
    db
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("starting a command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `pg_dump -Fc` of `db` into `file`.
fn pg_dump_fc(pg: &TestCluster, db: &str, file: &Path) {
    run(pg
        .command("pg_dump")
        .args(pg.conn_args())
        .args(["-Fc", "-f"])
        .arg(file)
        .arg(db));
}

/// `pg_dump db | gzip` into `file` (a plain SQL dump, as seed scripts make them).
fn pg_dump_sql_gz(pg: &TestCluster, db: &str, file: &Path) {
    let sql = file.with_extension("");
    run(pg
        .command("pg_dump")
        .args(pg.conn_args())
        .arg("-f")
        .arg(&sql)
        .arg(db));
    run(Command::new("gzip").arg("-n").arg(&sql));
    assert!(file.exists());
}

/// The real `openssl enc -aes-256-cbc -salt` with `kdf_args`, passphrase from a file.
fn openssl_enc(input: &Path, output: &Path, kdf_args: &[&str], pass: &str) {
    let pass_file = output.with_extension("pass");
    std::fs::write(&pass_file, pass).unwrap();
    run(Command::new("openssl")
        .args(["enc", "-aes-256-cbc", "-salt"])
        .args(kdf_args)
        .arg("-in")
        .arg(input)
        .arg("-out")
        .arg(output)
        .arg("-pass")
        .arg(format!("file:{}", pass_file.display())));
    std::fs::remove_file(pass_file).unwrap();
    assert_eq!(&std::fs::read(output).unwrap()[..8], b"Salted__");
}

fn new_project(pg: &TestCluster, name: &str, db: &str) -> ImportInto {
    ImportInto::New(AddProject::url(name, pg.url_with_password(db)))
}

fn key(s: &str) -> Option<UserKey> {
    Some(UserKey::passphrase(s).unwrap())
}

/// No backup file, no registered backup, no project `name`, no decrypted copy.
async fn assert_nothing_left(env: &Env, name: &str) {
    let left = files_under(&env.engine.data_dir().join("backups"));
    assert!(left.is_empty(), "left behind: {left:?}");
    let decrypted = files_under(&env.engine.decrypt_dir());
    assert!(
        decrypted
            .iter()
            .all(|p| p.file_name().unwrap() == ".offsite-folder.lock"),
        "decrypted copies left: {decrypted:?}"
    );
    for p in env.engine.catalog().projects().await.unwrap() {
        assert!(env
            .engine
            .catalog()
            .backups(&p.id)
            .await
            .unwrap()
            .is_empty());
    }
    assert!(env.engine.catalog().project(name).await.is_err());
}

/// What each variant is made from, and how it is encrypted.
struct Variant {
    name: &'static str,
    kdf: &'static [&'static str],
    sql_gz: bool,
    kind: ImportKind,
    note: &'static str,
}

#[tokio::test(flavor = "multi_thread")]
async fn openssl_files_of_every_variant_import_and_restore() {
    let pg = TestCluster::shared();
    let src = source_db(pg, "ossl_src", 1500);
    let env = env().await;
    let variants = [
        Variant {
            name: "pbkdf2",
            kdf: &["-pbkdf2"],
            sql_gz: false,
            kind: ImportKind::PgDump,
            note: "-pbkdf2",
        },
        Variant {
            name: "sha256",
            kdf: &["-md", "sha256"],
            sql_gz: true,
            kind: ImportKind::PlainSql,
            note: "-md sha256",
        },
        Variant {
            name: "md5",
            kdf: &["-md", "md5"],
            sql_gz: false,
            kind: ImportKind::PgDump,
            note: "-md md5",
        },
    ];
    for v in variants {
        let plain = if v.sql_gz {
            let f = env.dir.path().join(format!("{}.sql.gz", v.name));
            pg_dump_sql_gz(pg, &src, &f);
            f
        } else {
            let f = env.dir.path().join(format!("{}.dump", v.name));
            pg_dump_fc(pg, &src, &f);
            f
        };
        let enc = PathBuf::from(format!("{}.enc", plain.display()));
        openssl_enc(&plain, &enc, v.kdf, PASS);

        // Without the passphrase: asked for.
        let e = env.engine.inspect_import(&enc).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
        assert!(e.message().contains("encrypted"), "{e:?}");

        let p = env
            .engine
            .inspect_import_with_key(&enc, key(PASS))
            .await
            .unwrap();
        assert_eq!(p.kind, v.kind, "{}", v.name);
        assert_eq!(p.path, enc);
        assert_eq!(p.size, std::fs::metadata(&enc).unwrap().len());
        assert!(
            p.notes.iter().any(|n| n == OPENSSL_UNAUTHENTICATED),
            "{:?}",
            p.notes
        );
        assert!(p.notes.iter().any(|n| n.contains(v.note)), "{:?}", p.notes);

        let project = format!("ossl_{}", v.name);
        let o = env
            .engine
            .import(
                ImportOptions {
                    key: key(PASS),
                    ..ImportOptions::new(&enc, new_project(pg, &project, &src))
                },
                JobStart::default(),
            )
            .await
            .unwrap();
        let archive = PathBuf::from(&o.backup.path);
        assert!(archive.starts_with(env.engine.data_dir().join("backups").join(&project)));
        let dst = pg.unique_db(&format!("ossl_dst_{}", v.name));
        env.engine
            .restore(
                RestoreRequest::new(&archive, target(pg, &dst)),
                JobStart::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            pg.psql(&dst, "SELECT count(*) FROM t"),
            "1500",
            "{}",
            v.name
        );
        assert_eq!(
            pg.psql(&dst, "SELECT md5(string_agg(v, ',' ORDER BY id)) FROM t"),
            pg.psql(&src, "SELECT md5(string_agg(v, ',' ORDER BY id)) FROM t"),
        );
        // The decrypted copy is gone; the file given is unchanged.
        let decrypted = files_under(&env.engine.decrypt_dir());
        assert!(
            decrypted
                .iter()
                .all(|p| p.file_name().unwrap() == ".offsite-folder.lock"),
            "{decrypted:?}"
        );
        assert_eq!(&std::fs::read(&enc).unwrap()[..8], b"Salted__");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passphrase_and_damaged_openssl_files_are_refused() {
    let pg = TestCluster::shared();
    let src = source_db(pg, "ossl_bad", 3000);
    let env = env().await;
    let dump = env.dir.path().join("db.dump");
    pg_dump_fc(pg, &src, &dump);
    let enc = env.dir.path().join("db.dump.enc");
    openssl_enc(&dump, &enc, &["-pbkdf2"], PASS);
    let bytes = std::fs::read(&enc).unwrap();

    // Cut mid-block, cut at a block boundary (the padding no longer matches or the dump is
    // short), only the header, and a flipped byte in the middle (CBC garbles a block of the
    // dump's compressed data: the padding is intact, the dump's read-through is not).
    let cut_mid = env.dir.path().join("cut_mid.dump.enc");
    std::fs::write(&cut_mid, &bytes[..bytes.len() - 7]).unwrap();
    let cut_block = env.dir.path().join("cut_block.dump.enc");
    let at = 16 + ((bytes.len() - 16) / 2 / 16) * 16;
    std::fs::write(&cut_block, &bytes[..at]).unwrap();
    let salt_only = env.dir.path().join("salt_only.enc");
    std::fs::write(&salt_only, &bytes[..16]).unwrap();

    let flipped = env.dir.path().join("flipped.dump.enc");
    let mut b = bytes.clone();
    let mid = b.len() / 2;
    b[mid] ^= 0x40;
    std::fs::write(&flipped, &b).unwrap();

    let cases: [(&Path, &str, &[ErrorKind]); 5] = [
        (&enc, "wrong passphrase", &[ErrorKind::WrongKey]),
        (&cut_mid, PASS, &[ErrorKind::Integrity]),
        (
            &cut_block,
            PASS,
            &[ErrorKind::Integrity, ErrorKind::WrongKey],
        ),
        (&salt_only, PASS, &[ErrorKind::Integrity]),
        (&flipped, PASS, &[ErrorKind::Integrity]),
    ];
    for (file, pass, kinds) in cases {
        let e = env
            .engine
            .import(
                ImportOptions {
                    key: key(pass),
                    ..ImportOptions::new(file, new_project(pg, "ossl_refused", &src))
                },
                JobStart::default(),
            )
            .await
            .unwrap_err();
        assert!(kinds.contains(&e.kind()), "{file:?}: {e:?}");
        assert!(e.hint().is_some(), "{e:?}");
        assert!(!e.message().contains(PASS), "{e:?}");
        assert_nothing_left(&env, "ossl_refused").await;
    }
    // The wrong passphrase says so plainly.
    let e = env
        .engine
        .inspect_import_with_key(&enc, key("wrong passphrase"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongKey);
    assert_eq!(e.code(), "wrong_key");
    assert!(e.message().contains("passphrase"), "{e:?}");
}
