//! A project's storage through the command line, on real parts: the S3 secret read from
//! standard input into the real keychain (Secret Service under D-Bus, as .ci/test provides),
//! moto as the S3 server, a throwaway PostgreSQL: `project add --s3-*`, `project test-storage`,
//! `backup` (the project's default type: full), `restore --components storage --storage-to DIR`.

use offsite_core::secrets::{project_s3_secret_key, KeychainStore, SecretStore, DEFAULT_SERVICE};
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{ObjectTarget, PutBody, PutRequest};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{MotoServer, TestCluster};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn offsite(data: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "these tests use the real OS keychain: run them through .ci/test (a D-Bus session with gnome-keyring)"
    );
    let mut c = Command::new(env!("CARGO_BIN_EXE_offsite"));
    c.arg("--json").arg("--data-dir").arg(data).args(args);
    for var in [
        "PGPASSWORD",
        "PGHOST",
        "OFFSITE_SECRET_STORE",
        "OFFSITE_S3_SECRET_ACCESS_KEY",
        "SUPABASE_ACCESS_TOKEN",
    ] {
        c.env_remove(var);
    }
    let mut child = c
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn json(out: &Output, code: i32, what: &str) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: stdout={stdout} stderr={}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {stdout}"))
}

#[test]
fn storage_through_the_cli_with_the_secret_in_the_keychain() {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let objects: Vec<(String, Vec<u8>)> = vec![
        ("a/one.txt".into(), b"one".to_vec()),
        ("a/two.bin".into(), vec![7u8; 100_000]),
        ("dots/../odd".into(), b"odd key".to_vec()),
        ("empty".into(), Vec::new()),
    ];
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let s3 = S3Store::new(&S3Config {
            endpoint: Some(endpoint.clone()),
            region: "us-east-1".into(),
            access_key_id: TEST_KEY_ID.into(),
            secret_access_key: TEST_SECRET.into(),
            path_style: true,
        })
        .unwrap();
        s3.create_bucket("media").await.unwrap();
        for (k, v) in &objects {
            s3.put_object(
                "media",
                k,
                PutBody::Bytes(v.clone().into()),
                &PutRequest::default(),
            )
            .await
            .unwrap();
        }
    });
    let pg = TestCluster::shared();
    let db = pg.unique_db("clistorage");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let name = format!("clistore{}", std::process::id());

    // Without the secret: refused, and no project is left half-made.
    let out = offsite(
        d,
        &[
            "project",
            "add",
            &name,
            "--db",
            &pg.url_with_password(&db),
            "--s3-endpoint",
            &endpoint,
            "--s3-key-id",
            TEST_KEY_ID,
        ],
        None,
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("secret"),
        "{out:?}"
    );
    let list = json(&offsite(d, &["project", "list"], None), 0, "list");
    assert!(!list.to_string().contains(&name), "{list}");

    // With it (standard input → the keychain), the buckets chosen, full by default.
    let out = offsite(
        d,
        &[
            "project",
            "add",
            &name,
            "--db",
            &pg.url_with_password(&db),
            "--s3-endpoint",
            &endpoint,
            "--s3-key-id",
            TEST_KEY_ID,
            "--s3-secret-stdin",
            "--buckets",
            "media",
            "--default-type",
            "full",
        ],
        Some(&format!("{TEST_SECRET}\n")),
    );
    json(&out, 0, "project add");
    let keychain = KeychainStore::new(DEFAULT_SERVICE);
    assert_eq!(
        keychain
            .get(&project_s3_secret_key(&name))
            .unwrap()
            .as_deref(),
        Some(TEST_SECRET)
    );
    let shown = json(
        &offsite(d, &["project", "components", &name], None),
        0,
        "components",
    );
    assert_eq!(shown["components"]["default_type"], "full");
    assert!(!shown.to_string().contains(TEST_SECRET));

    let test = json(
        &offsite(d, &["project", "test-storage", &name], None),
        0,
        "test-storage",
    );
    assert_eq!(test["buckets"][0]["name"], "media");
    assert_eq!(test["buckets"][0]["objects"], objects.len());
    assert_eq!(test["buckets"][0]["readable"], true);

    let backup = json(&offsite(d, &["backup", &name], None), 0, "backup");
    let path = backup["path"].as_str().unwrap().to_string();
    assert!(path.ends_with("_full.tar.zst"), "{path}");

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("files");
    let t = target.to_str().unwrap();
    let plan = json(
        &offsite(
            d,
            &[
                "restore",
                &path,
                "--components",
                "storage",
                "--storage-to",
                t,
                "--dry-run",
            ],
            None,
        ),
        0,
        "restore --dry-run",
    );
    assert_eq!(plan["storage"]["buckets"][0]["upload"], objects.len());
    assert!(!target.join("media").exists(), "a dry run writes nothing");
    let done = json(
        &offsite(
            d,
            &[
                "restore",
                &path,
                "--components",
                "storage",
                "--storage-to",
                t,
            ],
            None,
        ),
        0,
        "restore",
    );
    assert_eq!(done["report"]["storage"]["uploaded"], objects.len());
    assert_eq!(
        std::fs::read(target.join("media/a/two.bin")).unwrap(),
        objects[1].1
    );
    assert_eq!(
        std::fs::read(target.join("media/empty")).unwrap(),
        Vec::<u8>::new()
    );

    // A component the backup does not have is refused clearly.
    let out = offsite(
        d,
        &["restore", &path, "--components", "config", "--to", &name],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let _ = keychain.delete(&project_s3_secret_key(&name));
}
