//! Encrypted backups of a real cluster: `<name>.tar.gz.age` with the ciphertext's `.sha256`,
//! opened by the `age` command-line tool with each recipient's identity alone, verified with and
//! without the key; wrong keys, damaged and empty files.

use crate::common::*;
use offsite_core::crypto::UserKey;
use offsite_core::ops::encryption::{EncryptionMode, SetEncryption};
use offsite_core::{BackupOptions, ErrorKind, JobStart, VerifyOptions};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An identity file made by `age-keygen`, and its public key.
fn age_keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    run(Command::new("age-keygen").arg("-o").arg(&path));
    let public = run(Command::new("age-keygen").arg("-y").arg(&path));
    (path, public.trim().to_string())
}

/// An ed25519 SSH key made by `ssh-keygen` (no passphrase), and its public line.
fn ssh_keygen(dir: &Path) -> (PathBuf, String) {
    let path = dir.join("id_ed25519");
    run(Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "colleague@example",
            "-f",
        ])
        .arg(&path));
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path, public.trim().to_string())
}

/// `age -d -i identity archive | tar --zstd -t` (a default backup is zstd): the member names.
fn age_lists(identity: &Path, archive: &Path) -> Vec<String> {
    let script = format!(
        "set -o pipefail; age -d -i '{}' '{}' | tar --zstd -tf -",
        identity.display(),
        archive.display()
    );
    run(Command::new("bash").arg("-c").arg(script))
        .lines()
        .map(str::to_string)
        .collect()
}

fn sha256(path: &Path) -> String {
    offsite_core::archive::sha256_file(path).unwrap()
}

fn key_setup(recipients: Vec<String>) -> SetEncryption {
    SetEncryption {
        mode: Some(EncryptionMode::Key),
        passphrase: None,
        recipients,
    }
}

async fn verify(
    env: &Env,
    path: &Path,
    key: Option<UserKey>,
) -> offsite_core::Result<offsite_core::archive::VerifyReport> {
    let mut opts = VerifyOptions::path(path);
    opts.key = key;
    Ok(env.engine.verify(opts, JobStart::default()).await?.report)
}

#[tokio::test]
async fn an_encrypted_backup_opens_with_age_for_each_recipient_and_verifies() {
    let pg = TestCluster::shared();
    let env = env().await;
    let keys = tempfile::tempdir().unwrap();
    let (k1, p1) = age_keygen(keys.path(), "one.txt");
    let (k2, p2) = age_keygen(keys.path(), "two.txt");
    let (ssh, ssh_pub) = ssh_keygen(keys.path());

    let db = pg.unique_db("vault");
    pg.psql(&db, "CREATE TABLE secrets_t (id int primary key, v text); INSERT INTO secrets_t SELECT g, 'row ' || g FROM generate_series(1, 500) g;");
    env.engine
        .add_project(offsite_core::AddProject::url(
            "vault",
            pg.url_with_password(&db),
        ))
        .await
        .unwrap();
    let setup = env
        .engine
        .set_encryption(
            "vault",
            key_setup(vec![p1.clone(), p2.clone(), ssh_pub.clone()]),
        )
        .await
        .unwrap();
    let item = setup.recovery_item.unwrap();

    // Not confirmed: refused, nothing written or registered.
    let e = env
        .engine
        .backup(BackupOptions::project("vault"), JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NeedsConsent, "{e}");
    assert!(env.engine.backups("vault").await.unwrap().is_empty());
    let folder = env
        .engine
        .backup_dir_of(&env.engine.project("vault").await.unwrap());
    assert!(
        files_under(&folder).is_empty(),
        "{:?}",
        files_under(&folder)
    );

    env.engine.confirm_recovery("vault", &item).await.unwrap();
    let o = env
        .engine
        .backup(BackupOptions::project("vault"), JobStart::default())
        .await
        .unwrap();
    let path = PathBuf::from(&o.backup.path);
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.ends_with(".tar.zst.age"), "{name}");
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    assert!(
        !bytes.windows(13).any(|w| w == b"metadata.json"),
        "no plaintext"
    );
    // The sidecar and the catalog hold the ciphertext's SHA-256.
    let sidecar = std::fs::read_to_string(offsite_core::archive::sidecar_path(&path)).unwrap();
    assert_eq!(sidecar, format!("{}  {name}\n", sha256(&path)));
    assert_eq!(o.backup.sha256, sha256(&path));
    // Only the archive and its sidecar in the folder (no plaintext left beside it).
    assert_eq!(files_under(&folder).len(), 2, "{:?}", files_under(&folder));

    // Each identity alone opens it with the age CLI: the laptop's, two extra, one SSH key.
    let laptop = keys.path().join("laptop.txt");
    std::fs::write(&laptop, format!("{item}\n")).unwrap();
    for id in [&laptop, &k1, &k2, &ssh] {
        let names = age_lists(id, &path);
        assert_eq!(
            names.first().map(String::as_str),
            Some("metadata.json"),
            "{id:?}"
        );
        assert!(
            names.iter().any(|n| n == "database/toc.dat"),
            "{id:?}: {names:?}"
        );
    }
    // The manifest (inside) records the recipients, never a secret.
    let manifest: offsite_core::archive::Manifest =
        serde_json::from_str(o.backup.manifest_json.as_deref().expect("manifest")).unwrap();
    let enc = manifest.encryption.expect("encryption recorded");
    assert_eq!(enc.format, "age");
    assert_eq!(enc.recipients.len(), 4);
    assert!(enc.recipients.contains(&ssh_pub) && enc.recipients.contains(&p1));
    assert!(!format!("{:?}", o.backup).contains(&item[16..]));

    // Verify of the registered archive: the keychain's key, every member.
    let r = verify(&env, &path, None).await.unwrap();
    assert!(r.ok, "{:?}", r.problems);
    assert!(r.contents_not_checked.is_none());
    assert!(r
        .members
        .iter()
        .any(|m| m.name == "database/toc.dat" && m.ok));

    // A copy elsewhere (unregistered): without a key only the ciphertext is checked...
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join(&name);
    std::fs::copy(&path, &copy).unwrap();
    std::fs::copy(
        offsite_core::archive::sidecar_path(&path),
        offsite_core::archive::sidecar_path(&copy),
    )
    .unwrap();
    let r = verify(&env, &copy, None).await.unwrap();
    assert!(r.ok, "{:?}", r.problems);
    assert!(r.members.is_empty());
    assert!(r
        .contents_not_checked
        .as_deref()
        .unwrap()
        .contains("not checked"));
    // ...with a recipient's key (--key-stdin), every member.
    let k2_text = std::fs::read_to_string(&k2).unwrap();
    let r = verify(&env, &copy, Some(UserKey::parse(&k2_text).unwrap()))
        .await
        .unwrap();
    assert!(r.ok && r.contents_not_checked.is_none(), "{:?}", r.problems);
    assert_eq!(r.members.len(), manifest_members(&r));
    // A key that is no recipient: wrong_key, with the hint.
    let (stranger, _) = UserKey::generate();
    let e = verify(&env, &copy, Some(stranger)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongKey, "{e}");
    assert!(e.hint().unwrap().contains("nobody can recover"));

    damaged_copies_fail(&env, &copy, &bytes, &k2_text).await;
    // The registered archive is untouched and still verifies.
    assert!(verify(&env, &path, None).await.unwrap().ok);
    assert_eq!(env.engine.backups("vault").await.unwrap().len(), 1);
}

/// A flipped byte in the middle, a cut, an empty file: verify fails (with the key and without).
async fn damaged_copies_fail(env: &Env, copy: &Path, bytes: &[u8], k2_text: &str) {
    // Damage: a flipped byte in the middle, a cut, an empty file.
    let key = || Some(UserKey::parse(k2_text).unwrap());
    let mut flipped = bytes.to_vec();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x20;
    std::fs::write(copy, &flipped).unwrap();
    let r = verify(env, copy, key()).await.unwrap();
    assert!(!r.ok, "a tampered archive must fail");
    assert!(
        r.problems.iter().any(|p| p.contains("damaged")),
        "{:?}",
        r.problems
    );
    let r = verify(env, copy, None).await.unwrap();
    assert!(!r.ok, "the ciphertext no longer matches its .sha256");
    std::fs::write(copy, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let r = verify(env, copy, key()).await.unwrap();
    assert!(!r.ok, "a truncated archive must fail");
    std::fs::write(copy, b"").unwrap();
    let e = verify(env, copy, key()).await.unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::UnsupportedFormat | ErrorKind::Integrity
        ),
        "{e}"
    );
    assert!(e.message().contains("empty"), "{e}");
}

fn manifest_members(r: &offsite_core::archive::VerifyReport) -> usize {
    r.manifest.as_ref().map_or(0, |m| m.members.len())
}

#[tokio::test]
async fn a_passphrase_backup_opens_with_the_passphrase_only() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("pass");
    pg.psql(
        &db,
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);",
    );
    env.engine
        .add_project(offsite_core::AddProject::url(
            "pass",
            pg.url_with_password(&db),
        ))
        .await
        .unwrap();
    let pass = "correct horse battery staple 42";
    env.engine
        .set_encryption(
            "pass",
            SetEncryption {
                mode: Some(EncryptionMode::Passphrase),
                passphrase: Some(pass.into()),
                recipients: vec![],
            },
        )
        .await
        .unwrap();
    env.engine.confirm_recovery("pass", pass).await.unwrap();
    let o = env
        .engine
        .backup(BackupOptions::project("pass"), JobStart::default())
        .await
        .unwrap();
    let path = PathBuf::from(&o.backup.path);
    assert!(o.backup.path.ends_with(".tar.zst.age"));
    // The age CLI reads a passphrase from a terminal only; the age crate (the same format) opens
    // it here, and the plaintext is a zstd'd tar whose first member is the manifest.
    let file = std::fs::File::open(&path).unwrap();
    let mut plain =
        offsite_core::crypto::decrypt(file, &[UserKey::passphrase(pass).unwrap()]).unwrap();
    let mut gz = Vec::new();
    std::io::Read::read_to_end(&mut plain, &mut gz).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let plain_path = tmp.path().join("plain.tar.zst");
    std::fs::write(&plain_path, &gz).unwrap();
    let names = run(Command::new("tar").arg("tf").arg(&plain_path));
    assert!(names.starts_with("metadata.json\n"), "{names}");
    assert!(names.contains("database/toc.dat"));
    let e = verify(&env, &path, Some(UserKey::passphrase("not it").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongKey);
    assert!(e.hint().unwrap().contains("passphrase"));
    let r = verify(&env, &path, None).await.unwrap();
    assert!(r.ok && r.contents_not_checked.is_none(), "{:?}", r.problems);
}
