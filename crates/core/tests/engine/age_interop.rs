//! age-encrypted files made by the real `age` command-line tool — an Offsite archive encrypted to
//! several recipients, a plain `pg_dump -Fc` file, a passphrase (`age -p`, driven through a
//! pseudo-terminal) — are restored and imported by Offsite given the key; truncated, tampered,
//! wrong-key and empty files restore, import and register nothing, and leave no plaintext.

use offsite_core::crypto::UserKey;
use offsite_core::import::ImportKind;
use offsite_core::{
    archive, AddProject, ErrorKind, ImportInto, ImportOptions, JobStart, RestoreRequest,
};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{back_up, env, files_under, target, Env};

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("starting a command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A new identity by the real `age-keygen`: (its identity file text, its public key).
fn age_keygen() -> (String, String) {
    let text = String::from_utf8(run(&mut Command::new("age-keygen"))).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("age-keygen prints the public key")
        .to_string();
    (text, public)
}

/// `age -e -r R… -o output input`.
fn age_encrypt(input: &Path, output: &Path, recipients: &[&str]) {
    let mut cmd = Command::new("age");
    cmd.arg("-e");
    for r in recipients {
        cmd.args(["-r", r]);
    }
    run(cmd.arg("-o").arg(output).arg(input));
}

/// `age -p -o output input`: age reads the passphrase from a terminal only, so it runs on a
/// pseudo-terminal (Python's `pty`) that types it twice.
fn age_encrypt_passphrase(input: &Path, output: &Path, pass: &str) {
    let script = r#"
import os, pty, select, sys, time
inp, outp, pw = sys.argv[1], sys.argv[2], sys.argv[3].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp("age", ["age", "-p", "-o", outp, inp])
def wait_prompt():
    end = time.time() + 20
    seen = b""
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                d = os.read(fd, 1024)
            except OSError:
                return
            seen += d
            if b": " in seen:
                return
wait_prompt(); os.write(fd, pw + b"\n")
wait_prompt(); os.write(fd, pw + b"\n")
while True:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r:
        break
    try:
        if not os.read(fd, 1024):
            break
    except OSError:
        break
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
"#;
    run(Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(input)
        .arg(output)
        .arg(pass));
    let head = std::fs::read(output).unwrap();
    assert!(
        String::from_utf8_lossy(&head[..60.min(head.len())]).contains("-> scrypt"),
        "age -p did not make a passphrase file"
    );
}

fn key(text: &str) -> UserKey {
    UserKey::parse(text).unwrap()
}

fn source_db(pg: &TestCluster, prefix: &str, rows: u32) -> String {
    let db = pg.unique_db(prefix);
    pg.psql(
        &db,
        &format!("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, {rows}) g;"),
    );
    db
}

fn digest(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SELECT count(*) || ':' || md5(string_agg(v, ',' ORDER BY id)) FROM t",
    )
}

/// Tables in `db`'s public schema (0: the restore changed nothing).
fn tables(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
    )
}

/// An Offsite archive of `db`, made by a separate Offsite.
async fn offsite_archive(pg: &TestCluster, db: &str) -> (Env, PathBuf) {
    let maker = env().await;
    let path = back_up(pg, &maker, "maker", db).await;
    (maker, path)
}

async fn restore(
    env: &Env,
    pg: &TestCluster,
    archive: &Path,
    k: Option<UserKey>,
    dst: &str,
) -> offsite_core::Result<()> {
    let mut req = RestoreRequest::new(archive, target(pg, dst));
    req.key = k;
    env.engine
        .restore(req, JobStart::default())
        .await
        .map(|_| ())
}

fn new_project(pg: &TestCluster, name: &str, db: &str) -> ImportInto {
    ImportInto::New(AddProject::url(name, pg.url_with_password(db)))
}

/// Nothing registered, no archive placed, no project `name`, no decrypted copy left.
async fn assert_nothing_left(env: &Env, name: &str) {
    let left = files_under(&env.engine.data_dir().join("backups"));
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_no_plaintext(env);
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

fn assert_no_plaintext(env: &Env) {
    let decrypted = files_under(&env.engine.decrypt_dir());
    assert!(
        decrypted
            .iter()
            .all(|p| p.file_name().unwrap() == ".offsite-folder.lock"),
        "decrypted copies left: {decrypted:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn age_cli_files_restore_and_import_with_each_key() {
    let pg = TestCluster::shared();
    let src = source_db(pg, "age_src", 1200);
    let want = digest(pg, &src);
    let (_maker, archive) = offsite_archive(pg, &src).await;
    let env = env().await;
    let (id1, r1) = age_keygen();
    let (id2, r2) = age_keygen();
    let (id3, _) = age_keygen();

    // An Offsite archive encrypted by `age -e` to two recipients: each identity alone restores
    // it; no key, or a key that is not a recipient, is `wrong_key` and changes nothing.
    let enc = env
        .dir
        .path()
        .join("shop_20260101_000000_database.tar.gz.age");
    age_encrypt(&archive, &enc, &[&r1, &r2]);
    for (i, id) in [&id1, &id2].into_iter().enumerate() {
        let dst = pg.unique_db(&format!("age_dst{i}"));
        restore(&env, pg, &enc, Some(key(id)), &dst).await.unwrap();
        assert_eq!(digest(pg, &dst), want);
    }
    for k in [
        None,
        Some(key(&id3)),
        Some(UserKey::passphrase("pw").unwrap()),
    ] {
        let dst = pg.unique_db("age_nokey");
        let e = restore(&env, pg, &enc, k, &dst).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WrongKey, "{e:?}");
        assert_eq!(e.code(), "wrong_key");
        assert!(e.hint().is_some(), "{e:?}");
        assert_eq!(tables(pg, &dst), "0");
    }

    // Imported with one key: kept encrypted (the ciphertext is copied, its .sha256 is of the
    // ciphertext, `age -d` with the other identity still opens it), and restorable with a key.
    let e = env.engine.inspect_import(&enc).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    let p = env
        .engine
        .inspect_import_with_key(&enc, Some(key(&id2)))
        .await
        .unwrap();
    assert_eq!(p.kind, ImportKind::OffsiteArchive);
    assert_eq!(p.path, enc);
    let o = env
        .engine
        .import(
            ImportOptions {
                key: Some(key(&id1)),
                ..ImportOptions::new(&enc, new_project(pg, "age_imported", &src))
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let kept = PathBuf::from(&o.backup.path);
    // Named by what the bytes are (a default backup: zstd), not by the handed file's name.
    assert!(kept.to_string_lossy().ends_with(".tar.zst.age"), "{kept:?}");
    assert_eq!(std::fs::read(&kept).unwrap(), std::fs::read(&enc).unwrap());
    let sha = archive::sha256_file(&enc).unwrap();
    assert_eq!(o.backup.sha256, sha);
    assert_eq!(
        archive::read_sidecar(&kept).unwrap().as_deref(),
        Some(sha.as_str())
    );
    assert_no_plaintext(&env);
    let id2_file = env.dir.path().join("id2.txt");
    std::fs::write(&id2_file, &id2).unwrap();
    let plain = run(Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&id2_file)
        .arg(&kept));
    assert_eq!(plain, std::fs::read(&archive).unwrap());
    let dst = pg.unique_db("age_imported_dst");
    restore(&env, pg, &kept, Some(key(&id2)), &dst)
        .await
        .unwrap();
    assert_eq!(digest(pg, &dst), want);

    // A plain pg_dump -Fc file encrypted by `age -e`: imported (packed into an archive) and
    // restored.
    let dump = env.dir.path().join("plain.dump");
    run(pg
        .command("pg_dump")
        .args(pg.conn_args())
        .args(["-Fc", "-f"])
        .arg(&dump)
        .arg(&src));
    let dump_age = env.dir.path().join("plain.dump.age");
    age_encrypt(&dump, &dump_age, &[&r1]);
    let o = env
        .engine
        .import(
            ImportOptions {
                key: Some(key(&id1)),
                ..ImportOptions::new(&dump_age, new_project(pg, "age_dump", &src))
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let dst = pg.unique_db("age_dump_dst");
    restore(&env, pg, Path::new(&o.backup.path), None, &dst)
        .await
        .unwrap();
    assert_eq!(digest(pg, &dst), want);

    // A passphrase file made by `age -p`: the archive restores with the passphrase, and imports.
    let pass_enc = env.dir.path().join("pass.tar.gz.age");
    age_encrypt_passphrase(&archive, &pass_enc, "correct horse battery");
    let dst = pg.unique_db("age_pass_dst");
    restore(
        &env,
        pg,
        &pass_enc,
        Some(UserKey::passphrase("correct horse battery").unwrap()),
        &dst,
    )
    .await
    .unwrap();
    assert_eq!(digest(pg, &dst), want);
    let e = restore(
        &env,
        pg,
        &pass_enc,
        Some(UserKey::passphrase("wrong horse").unwrap()),
        &pg.unique_db("age_pass_wrong"),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongKey, "{e:?}");
    assert!(
        !e.message().contains("wrong horse") && !e.hint().unwrap_or("").contains("wrong horse")
    );
    assert_no_plaintext(&env);
}

#[tokio::test(flavor = "multi_thread")]
async fn damaged_age_files_restore_import_and_register_nothing() {
    let pg = TestCluster::shared();
    // Enough rows that the archive spans many 64 KiB age chunks: a cut or a flipped byte at the
    // end is found only after the whole dump went by (the hold-back before COMMIT covers it).
    let src = source_db(pg, "age_bad", 40_000);
    let (_maker, archive) = offsite_archive(pg, &src).await;
    let env = env().await;
    let (id1, r1) = age_keygen();
    let (id2, _) = age_keygen();
    let enc = env.dir.path().join("good.tar.gz.age");
    age_encrypt(&archive, &enc, &[&r1]);
    let bytes = std::fs::read(&enc).unwrap();
    assert!(bytes.len() > 4 * 65536, "{} bytes", bytes.len());

    let write = |name: &str, b: &[u8]| {
        let p = env.dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    let truncated = write("truncated.tar.gz.age", &bytes[..bytes.len() - 40]);
    let mut t = bytes.clone();
    let at = t.len() - 30;
    t[at] ^= 0x01;
    let tampered_end = write("tampered_end.tar.gz.age", &t);
    let mut t = bytes.clone();
    let at = t.len() / 2;
    t[at] ^= 0x80;
    let tampered_mid = write("tampered_mid.tar.gz.age", &t);
    let empty = write("empty.tar.gz.age", b"");
    let header_only = write("header.tar.gz.age", &bytes[..100]);

    let cases: [(&Path, &str, &[ErrorKind]); 6] = [
        (&truncated, id1.as_str(), &[ErrorKind::Integrity]),
        (&tampered_end, id1.as_str(), &[ErrorKind::Integrity]),
        (&tampered_mid, id1.as_str(), &[ErrorKind::Integrity]),
        (&enc, id2.as_str(), &[ErrorKind::WrongKey]),
        // An empty file named .age is a damaged encrypted archive (not another format).
        (&empty, id1.as_str(), &[ErrorKind::Integrity]),
        (&header_only, id1.as_str(), &[ErrorKind::Integrity]),
    ];
    for (file, id, kinds) in cases {
        let dst = pg.unique_db("age_bad_dst");
        let e = restore(&env, pg, file, Some(key(id)), &dst)
            .await
            .unwrap_err();
        assert!(kinds.contains(&e.kind()), "restore {file:?}: {e:?}");
        assert!(e.hint().is_some(), "{e:?}");
        assert_eq!(
            tables(pg, &dst),
            "0",
            "restore of {file:?} changed the target"
        );

        let e = env
            .engine
            .import(
                ImportOptions {
                    key: Some(key(id)),
                    ..ImportOptions::new(file, new_project(pg, "age_refused", &src))
                },
                JobStart::default(),
            )
            .await
            .unwrap_err();
        // Import sniffs what a file is before anything else: an empty file is "not a backup
        // Offsite can read" there, whatever its name (a restore names it damaged).
        let import_kind_ok = kinds.contains(&e.kind())
            || (file == empty.as_path() && e.kind() == ErrorKind::UnsupportedFormat);
        assert!(import_kind_ok, "import {file:?}: {e:?}");
        assert_nothing_left(&env, "age_refused").await;
    }
    // The intact file restores (what failed above failed for its damage).
    let dst = pg.unique_db("age_good_dst");
    restore(&env, pg, &enc, Some(key(&id1)), &dst)
        .await
        .unwrap();
    assert_eq!(digest(pg, &dst), digest(pg, &src));
}
