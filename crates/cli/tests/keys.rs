//! A project's encryption key through the command line, against the real OS keychain (Secret
//! Service under D-Bus: run through .ci/with-keyring or .ci/test), a real PostgreSQL cluster
//! and the real `age` binary: the key written alone to a file by `encryption set
//! --generate-key > key.txt`, a removed project's key kept (orphaned) and taken back, and
//! `project add` trying the connection first (issue 42).

mod common;

use common::{json_of, Cli};
use offsite_core::secrets::{
    project_encryption_identity_key, project_password_key, KeychainStore, SecretStore,
    DEFAULT_SERVICE,
};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// A project name no earlier run used (the keychain may outlive a run).
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An encrypted project `name` on a fresh database: key mode, the key saved to `key_file` by
/// `encryption set … > key_file`, confirmed from it; returns its first backup's archive.
fn encrypted_project(cli: &Cli, pg: &TestCluster, name: &str, key_file: &Path) -> PathBuf {
    let db = pg.unique_db("enc_project");
    pg.psql(
        &db,
        "CREATE TABLE notes (id int PRIMARY KEY, body text);
         INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 77) g;",
    );
    cli.add_project_stdin(
        name,
        &pg.url(&db),
        &format!("{}\n", pg.superuser_password()),
    );
    let set = cli
        .cmd(&["encryption", "set", name, "--generate-key"])
        .stdout(std::fs::File::create(key_file).unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(set.status.success(), "{}", text(&set.stderr));
    let confirm = cli
        .cmd(&["--json", "encryption", "confirm", name])
        .stdin(std::fs::File::open(key_file).unwrap())
        .output()
        .unwrap();
    json_of(&confirm, 0, &["encryption confirm < key file"]);
    let b = cli.json(&["backup", name], 0);
    PathBuf::from(s(&b["path"]))
}

#[test]
fn generate_key_redirected_to_a_file_is_the_key_alone_for_confirm_and_age() {
    let pg = TestCluster::shared();
    let cli = Cli::keychain();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.txt");
    let name = unique("keyfile");
    let db = pg.unique_db("keyfile");
    pg.psql(&db, "CREATE TABLE t AS SELECT generate_series(1, 5) AS id;");
    cli.add_project_stdin(
        &name,
        &pg.url(&db),
        &format!("{}\n", pg.superuser_password()),
    );

    // Exactly the command a user types: `offsite encryption set P --generate-key > key.txt`.
    let set = cli
        .cmd(&["encryption", "set", &name, "--generate-key"])
        .stdout(std::fs::File::create(&key).unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(set.status.success(), "{}", text(&set.stderr));
    let saved = std::fs::read_to_string(&key).unwrap();
    assert_eq!(
        saved.lines().count(),
        1,
        "only the key on stdout: {saved:?}"
    );
    assert!(saved.starts_with("AGE-SECRET-KEY-1"), "{saved:?}");
    // The explanation and the settings went to stderr, without the key.
    let err = text(&set.stderr);
    assert!(
        err.contains("recovery key") && err.contains("encryption:"),
        "{err}"
    );
    assert!(
        !err.contains(saved.trim()),
        "the key is not repeated on stderr"
    );

    // `offsite encryption confirm P < key.txt` accepts it.
    let confirm = cli
        .cmd(&["--json", "encryption", "confirm", &name])
        .stdin(std::fs::File::open(&key).unwrap())
        .output()
        .unwrap();
    let c = json_of(&confirm, 0, &["encryption confirm < key.txt"]);
    assert_eq!(c["confirmed"], Value::Bool(true));

    // `age -d -i key.txt` opens an archive it encrypted (the real age binary), and tar reads it.
    let b = cli.json(&["backup", &name], 0);
    let archive = PathBuf::from(s(&b["path"]));
    assert!(archive.to_string_lossy().ends_with(".tar.zst.age"));
    let plain = dir.path().join("plain.tar.zst");
    let age = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg("-o")
        .arg(&plain)
        .arg(&archive)
        .output()
        .expect("the age binary (apt-get install age)");
    assert!(age.status.success(), "age -d: {}", text(&age.stderr));
    let tar = Command::new("tar")
        .arg("--zstd")
        .arg("-tf")
        .arg(&plain)
        .output()
        .unwrap();
    assert!(tar.status.success(), "{}", text(&tar.stderr));
    assert_eq!(text(&tar.stdout).lines().next(), Some("metadata.json"));
    cli.json(&["project", "remove", &name, "--yes", "--delete-key"], 0);
}

#[test]
fn removing_an_encrypted_project_asks_keeps_its_key_and_adding_it_again_takes_it_back() {
    let pg = TestCluster::shared();
    let cli = Cli::keychain();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.txt");
    let name = unique("orphan");
    let archive = encrypted_project(&cli, pg, &name, &key_file);
    let archive_s = archive.to_str().unwrap();
    let keychain = KeychainStore::new(DEFAULT_SERVICE);
    let id_key = project_encryption_identity_key(&name);
    let item = keychain
        .get(&id_key)
        .unwrap()
        .expect("the key in the keychain");

    // Headless without --yes: refused (nobody can type the name), the export offered first.
    let e = cli.json(&["project", "remove", &name], 5);
    assert_eq!(e["error"]["code"], "needs_consent", "{e}");
    let hint = s(&e["error"]["hint"]);
    assert!(
        hint.contains(&format!("offsite key export {name}")),
        "{hint}"
    );
    assert!(hint.contains("--yes"), "{hint}");
    assert!(!e.to_string().contains(item.trim()));
    cli.json(&["project", "show", &name], 0);

    // --yes: removed, the key kept in the keychain and listed as orphaned.
    let r = cli.json(&["project", "remove", &name, "--yes"], 0);
    assert_eq!(r["key"], "kept", "{r}");
    assert!(s(&r["message"]).contains("offsite key list"), "{r}");
    cli.json(&["project", "show", &name], 2);
    assert_eq!(
        keychain.get(&id_key).unwrap().as_deref(),
        Some(item.as_str())
    );
    let keys = cli.json(&["key", "list"], 0);
    let mine = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{keys}"))
        .clone();
    assert_eq!(mine["orphaned"], Value::Bool(true), "{mine}");
    // The kept key exports and still opens the backup the catalog forgot.
    let exported = cli.run(&["key", "export", &name]);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    assert_eq!(text(&exported.stdout).trim(), item.trim());
    let v = cli.json(&["verify", archive_s], 0);
    assert!(v.get("contents_not_checked").is_none(), "{v}");
    let tables = cli.json(&["browse", archive_s], 0);
    assert_eq!(tables["readable"], Value::Bool(true), "{tables}");

    // Added again under the same name: it says so, and has its key (confirmed) again.
    let db = pg.unique_db("orphan_again");
    let add = cli.run_stdin(
        &[
            "--json",
            "project",
            "add",
            &name,
            "--db",
            &pg.url(&db),
            "--password-stdin",
        ],
        &format!("{}\n", pg.superuser_password()),
    );
    json_of(&add, 0, &["project add (again)"]);
    assert!(
        text(&add.stderr).contains("took back the encryption key"),
        "{}",
        text(&add.stderr)
    );
    let enc = cli.json(&["encryption", "show", &name], 0);
    assert_eq!(enc["mode"], "key", "{enc}");
    assert_eq!(enc["confirmed"], Value::Bool(true), "{enc}");
    let imported = cli.json(&["import", archive_s, "--project", &name], 0);
    assert_eq!(imported["backup"]["status"], "verified", "{imported}");
    let tables = cli.json(&["browse", &format!("{name}:latest")], 0);
    assert_eq!(tables["readable"], Value::Bool(true), "{tables}");

    // Orphaned again, then `key remove`: asks (refused headless), then with --yes deletes it.
    cli.json(&["project", "remove", &name, "--yes"], 0);
    let e = cli.json(&["key", "remove", &name], 5);
    assert_eq!(e["error"]["code"], "needs_consent", "{e}");
    assert!(keychain.get(&id_key).unwrap().is_some());
    cli.json(&["key", "remove", &name, "--yes"], 0);
    assert_eq!(keychain.get(&id_key).unwrap(), None);
    let keys = cli.json(&["key", "list"], 0);
    assert!(!keys.to_string().contains(&name), "{keys}");
    // Without the key, the archive is ciphertext only.
    let v = cli.json(&["verify", archive_s], 0);
    assert!(v.get("contents_not_checked").is_some(), "{v}");
}

#[test]
fn remove_with_delete_key_deletes_the_key_and_a_plain_project_is_removed_without_asking() {
    let pg = TestCluster::shared();
    let cli = Cli::keychain();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("delkey");
    encrypted_project(&cli, pg, &name, &dir.path().join("key.txt"));
    let keychain = KeychainStore::new(DEFAULT_SERVICE);
    let id_key = project_encryption_identity_key(&name);
    let r = cli.json(&["project", "remove", &name, "--yes", "--delete-key"], 0);
    assert_eq!(r["key"], "deleted", "{r}");
    assert_eq!(keychain.get(&id_key).unwrap(), None);
    assert_eq!(keychain.get(&project_password_key(&name)).unwrap(), None);

    let plain = unique("plain");
    let db = pg.unique_db("plain");
    cli.add_project_stdin(
        &plain,
        &pg.url(&db),
        &format!("{}\n", pg.superuser_password()),
    );
    let r = cli.json(&["project", "remove", &plain], 0);
    assert_eq!(r["key"], "none", "{r}");
}

#[test]
fn project_add_tries_the_connection_unless_no_test() {
    let pg = TestCluster::shared();
    let cli = Cli::keychain();
    let keychain = KeychainStore::new(DEFAULT_SERVICE);
    // Nothing listens on port 1: refused (exit 3), saying how to add it anyway, nothing kept.
    let name = unique("down");
    let args = [
        "--json",
        "project",
        "add",
        name.as_str(),
        "--db",
        "postgres://postgres@127.0.0.1:1/shop",
        "--password-stdin",
    ];
    let e = json_of(&cli.run_stdin(&args, "pw-down\n"), 3, &args);
    assert_eq!(e["error"]["code"], "connection", "{e}");
    assert!(s(&e["error"]["message"]).contains("was not added"), "{e}");
    assert!(s(&e["error"]["hint"]).contains("--no-test"), "{e}");
    assert!(!e.to_string().contains("pw-down"));
    cli.json(&["project", "show", &name], 2);
    assert_eq!(keychain.get(&project_password_key(&name)).unwrap(), None);

    // A wrong password on a real server: `auth`, nothing kept.
    let db = pg.unique_db("addauth");
    let wrong = [
        "--json",
        "project",
        "add",
        name.as_str(),
        "--db",
        &pg.url(&db),
        "--password-stdin",
    ];
    let e = json_of(&cli.run_stdin(&wrong, "not-the-password\n"), 3, &wrong);
    assert_eq!(e["error"]["code"], "auth", "{e}");
    assert!(s(&e["error"]["hint"]).contains("--no-test"), "{e}");
    cli.json(&["project", "show", &name], 2);

    // --no-test: added as it is (the first backup would say what is wrong).
    let mut no_test = args.to_vec();
    no_test.push("--no-test");
    let added = json_of(&cli.run_stdin(&no_test, "pw-down\n"), 0, &no_test);
    assert_eq!(s(&added["project"]["name"]), name);
    cli.json(&["project", "remove", &name], 0);
}
