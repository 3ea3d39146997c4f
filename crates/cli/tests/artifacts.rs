//! A project's artifact bucket through the command line, against a real S3 server (moto) and a
//! real PostgreSQL: a `.sql.gz` made by `pg_dump` with its `.sha256` sidecar is pulled
//! (presigned download), checked, imported as a verified archive and restored; a wrong sidecar
//! is refused with nothing imported; a second pull imports nothing.

use offsite_core::catalog::JobKind;
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{ObjectTarget, PutBody, PutRequest};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{MotoServer, TestCluster};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn gz_dump(pg: &TestCluster, db: &str) -> Vec<u8> {
    let out = pg
        .command("pg_dump")
        .args(["--format=plain", "--dbname", db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&out.stdout).unwrap();
    gz.finish().unwrap()
}

fn sha256_hex(bytes: &[u8], dir: &Path) -> String {
    let f = dir.join("sum-input");
    std::fs::write(&f, bytes).unwrap();
    let out = Command::new("sha256sum").arg(&f).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

fn run(data: &Path, pg: &TestCluster, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_offsite"));
    c.arg("--data-dir").arg(data).arg("--json").args(args);
    for var in ["PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "OFFSITE_PG_BIN"] {
        c.env_remove(var);
    }
    c.env("OFFSITE_SECRET_STORE", "env")
        .env("OFFSITE_S3_SECRET_ACCESS_KEY", TEST_SECRET)
        .env("PGPASSWORD", pg.superuser_password())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json(data: &Path, pg: &TestCluster, args: &[&str], code: i32) -> Value {
    let out = run(data, pg, args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: stdout={stdout} stderr={}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_of_sql_gz_dumps_is_pulled_checked_imported_and_restorable() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("artifacts_src");
    pg.psql(
        &src,
        "CREATE TABLE notes(id int primary key, body text); \
         INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 321) g;",
    );
    let first = gz_dump(pg, &src);
    pg.psql(&src, "INSERT INTO notes VALUES (1000, 'later')");
    let second = gz_dump(pg, &src);
    let tmp = tempfile::tempdir().unwrap();
    let moto = MotoServer::start();
    let s3 = S3Store::new(&S3Config {
        endpoint: Some(moto.endpoint()),
        region: "us-east-1".into(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: TEST_SECRET.into(),
        path_style: true,
    })
    .unwrap();
    s3.create_bucket("dumps").await.unwrap();
    let put = |key: &str, body: Vec<u8>| {
        let s3 = &s3;
        let key = key.to_string();
        async move {
            s3.put_object(
                "dumps",
                &key,
                PutBody::Bytes(body.into()),
                &PutRequest::default(),
            )
            .await
            .unwrap();
        }
    };
    put("nightly/shop-1.sql.gz", first.clone()).await;
    put(
        "nightly/shop-1.sql.gz.sha256",
        format!("{}  shop-1.sql.gz\n", sha256_hex(&first, tmp.path())).into_bytes(),
    )
    .await;
    put("nightly/shop-2.sql.gz", second.clone()).await;
    // A sidecar that does not match: refused.
    put(
        "nightly/shop-2.sql.gz.sha256",
        format!("{}\n", "0".repeat(64)).into_bytes(),
    )
    .await;
    put("nightly/README.txt", b"not a dump".to_vec()).await;
    put("elsewhere/other.sql.gz", first.clone()).await;

    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let location = "s3://dumps/nightly/";
    let endpoint = moto.endpoint();
    json(
        d,
        pg,
        &[
            "project",
            "add",
            "shop",
            "--db",
            &pg.url(&src),
            "--artifacts",
            location,
            "--s3-endpoint",
            &endpoint,
            "--s3-key-id",
            TEST_KEY_ID,
            "--pattern",
            "*.sql.gz",
        ],
        0,
    );
    let comps = json(d, pg, &["project", "components", "shop"], 0);
    assert_eq!(
        comps["components"]["artifacts"]["bucket"], "dumps",
        "{comps}"
    );
    assert!(comps["components"]["storage"].is_null(), "{comps}");
    assert!(!comps.to_string().contains(TEST_SECRET));

    // shop-1 is imported; shop-2's sidecar does not match: an integrity error, not imported.
    let e = json(d, pg, &["pull", "shop"], 4);
    assert_eq!(e["error"]["code"], "integrity", "{e}");
    let backups = json(d, pg, &["backups", "shop"], 0);
    let list = backups["backups"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{backups}");
    assert_eq!(list[0]["status"], "verified");
    assert_eq!(list[0]["origin"], "artifact", "{backups}");
    let mut leftovers = Vec::new();
    for e in walkdir(d) {
        let s = e.to_string_lossy().to_string();
        if s.ends_with(".part") || s.contains(".offsite-tmp-") {
            leftovers.push(s);
        }
    }
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The sidecar fixed: the next pull imports shop-2 only, the one after nothing.
    put(
        "nightly/shop-2.sql.gz.sha256",
        format!("{}\n", sha256_hex(&second, tmp.path())).into_bytes(),
    )
    .await;
    let p = json(d, pg, &["pull", "shop"], 0);
    assert_eq!(p["imported"].as_array().unwrap().len(), 1, "{p}");
    assert_eq!(p["already_imported"], 1, "{p}");
    let p = json(d, pg, &["pull", "shop"], 0);
    assert_eq!(p["imported"].as_array().unwrap().len(), 0, "{p}");
    assert_eq!(p["already_imported"], 2, "{p}");

    // The first import restores the first dump's rows.
    let archive = list[0]["path"].as_str().unwrap().to_string();
    let dst = pg.unique_db("artifacts_dst");
    json(
        d,
        pg,
        &["restore", &archive, "--to", &pg.url(&dst), "--yes"],
        0,
    );
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM notes"), "321");

    // Each pull is one job of kind pull in the job history, never an import: the first failed
    // at shop-2's sidecar (shop-1, imported before it, stays, registered by that job), the next
    // two succeeded.
    let engine = offsite_core::Engine::open(
        offsite_core::EngineConfig::new(std::sync::Arc::new(
            offsite_core::secrets::MemoryStore::new(),
        ))
        .data_dir(d.to_path_buf()),
    )
    .await
    .unwrap();
    let jobs = engine
        .job_history(&offsite_core::ops::JobFilter {
            project: Some("shop".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let kinds: Vec<(&str, &str)> = jobs
        .iter()
        .filter(|j| j.kind != JobKind::Restore)
        .map(|j| (j.kind.as_str(), j.state.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("pull", "succeeded"),
            ("pull", "succeeded"),
            ("pull", "failed")
        ],
        "{jobs:?}"
    );
    let first = jobs.iter().rev().find(|j| j.kind == JobKind::Pull).unwrap();
    assert_eq!(list[0]["job_id"], first.id.as_str(), "{jobs:?}");
}

fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push(p.clone());
                out.extend(walkdir(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
