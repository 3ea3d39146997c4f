//! The artifact bucket through IPC, against a real S3 server (moto) and a real PostgreSQL:
//! `set_artifacts` checks the keys by listing before saving (an unknown bucket and refused keys
//! come back as errors with a hint, nothing saved), keeps the secret in the keychain and never
//! returns it; "Pull new" (`start_pull`) pulls the bucket as `offsite pull` does, as one job of
//! kind pull with its own progress: a `pg_dump -Fc` file with its `.sha256` sidecar is
//! downloaded, checked, imported as a verified backup, and not pulled again; a file whose
//! sidecar does not match is refused; removing the bucket deletes its secret.

use super::*;
use offsite_core::destinations::sha256_hex;
use offsite_core::ops::artifacts::project_artifacts_secret_key;
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{ObjectTarget, PutBody, PutRequest};
use offsite_testkit::s3::{HttpFault, HttpFaultProxy, TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{MotoServer, TestCluster};

/// The secret the window sends once; moto accepts any, so it is unique enough to look for.
const SECRET: &str = "artifacts-SECRET-wJalrXUtnFEMI";

fn custom_dump(pg: &TestCluster, db: &str) -> Vec<u8> {
    let out = pg
        .command("pg_dump")
        .args(["--format=custom", "--dbname", db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Put objects into the bucket `dumps`.
fn put(s3: &S3Store, objects: Vec<(&str, Vec<u8>)>) {
    tauri::async_runtime::block_on(async {
        for (key, body) in objects {
            s3.put_object(
                "dumps",
                key,
                PutBody::Bytes(body.into()),
                &PutRequest::default(),
            )
            .await
            .unwrap();
        }
    });
}

fn settings(endpoint: &str, location: &str, secret: Option<&str>) -> Value {
    json!({
        "location": location, "endpoint": endpoint, "region": "us-east-1",
        "access_key_id": TEST_KEY_ID, "secret_access_key": secret, "path_style": true,
        "pattern": "*.dump",
    })
}

fn set(t: &TestApp, settings: Value) -> Result<Value, Value> {
    invoke(
        t,
        "set_artifacts",
        json!({ "project": "shop", "settings": settings }),
    )
}

#[test]
fn the_artifact_bucket_is_checked_saved_pulled_by_pull_new_and_removed_without_its_secret_ever_coming_back(
) {
    let pg = TestCluster::shared();
    let src = pg.unique_db("desk_artifacts");
    pg.psql(
        &src,
        "CREATE TABLE notes(id int primary key, body text); \
         INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 250) g;",
    );
    let dump = custom_dump(pg, &src);
    let moto = MotoServer::start();
    let s3 = S3Store::new(&S3Config {
        endpoint: Some(moto.endpoint()),
        region: "us-east-1".into(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: TEST_SECRET.into(),
        path_style: true,
    })
    .unwrap();
    tauri::async_runtime::block_on(s3.create_bucket("dumps")).unwrap();
    put(
        &s3,
        vec![
            ("nightly/shop-1.dump", dump.clone()),
            (
                "nightly/shop-1.dump.sha256",
                format!("{}  shop-1.dump\n", sha256_hex(&dump)).into_bytes(),
            ),
            ("nightly/notes.txt", b"not a dump".to_vec()),
        ],
    );

    let t = test_app();
    let events = job_events(&t);
    invoke(
        &t,
        "add_project",
        json!({ "request": { "name": "shop", "connection": { "url": pg.url_with_password(&src) }, "tls": "disable", "password": null, "backup_dir": null } }),
    )
    .unwrap();
    let secret_key = project_artifacts_secret_key("shop");
    let nothing_saved = |t: &TestApp| {
        let c = invoke(t, "get_components", json!({ "project": "shop" })).unwrap();
        assert_eq!(c["artifacts"], Value::Null, "{c}");
        assert_eq!(t.secrets.get(&secret_key).unwrap(), None);
    };

    // "Pull new" without a server or a bucket: the job fails, saying what to add.
    let job = invoke(&t, "start_pull", json!({ "project": "shop" })).unwrap();
    let (_, finished) = wait_for_job(&events, job.as_str().unwrap());
    assert_eq!(finished["ok"], false, "{finished}");
    assert_eq!(finished["error"]["code"], "invalid_input", "{finished}");
    assert!(
        finished["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("Artifact bucket"),
        "{finished}"
    );

    // A first bucket without its secret.
    let e = set(&t, settings(&moto.endpoint(), "s3://dumps/nightly/", None)).unwrap_err();
    assert_eq!(e["code"], "secrets", "{e}");
    assert!(e["hint"].is_string(), "{e}");
    nothing_saved(&t);

    // A bucket the store does not have.
    let e = set(
        &t,
        settings(&moto.endpoint(), "s3://no-such-bucket/x/", Some(SECRET)),
    )
    .unwrap_err();
    assert_eq!(e["code"], "not_found", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("no-such-bucket"),
        "{e}"
    );
    assert!(e["hint"].as_str().unwrap().contains("Create it"), "{e}");
    assert!(!e.to_string().contains(SECRET), "{e}");
    nothing_saved(&t);

    // Keys the store refuses (a proxy answers the listing as S3 answers an unknown key id).
    let proxy = HttpFaultProxy::start(moto.addr());
    proxy.inject(
        None,
        HttpFault::Respond {
            status: 403,
            headers: vec![("Content-Type".into(), "application/xml".into())],
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidAccessKeyId</Code>\
                   <Message>The AWS Access Key Id you provided does not exist in our records.</Message>\
                   </Error>"
                .into(),
        },
        10,
    );
    let e = set(
        &t,
        settings(&proxy.endpoint(), "s3://dumps/nightly/", Some(SECRET)),
    )
    .unwrap_err();
    assert_eq!(e["code"], "auth", "{e}");
    assert!(e["hint"].as_str().unwrap().contains("access key id"), "{e}");
    assert!(!e.to_string().contains(SECRET), "{e}");
    assert!(proxy.injected() >= 1);
    nothing_saved(&t);

    // The right bucket: saved, the secret in the keychain only.
    let saved = set(
        &t,
        settings(&moto.endpoint(), "s3://dumps/nightly/", Some(SECRET)),
    )
    .unwrap();
    let a = &saved["artifacts"];
    assert_eq!(a["bucket"], "dumps", "{saved}");
    assert_eq!(a["prefix"], "nightly/", "{saved}");
    assert_eq!(a["pattern"], "*.dump", "{saved}");
    assert_eq!(a["endpoint"], json!(moto.endpoint()), "{saved}");
    assert_eq!(a["imported"], json!([]), "{saved}");
    assert!(!saved.to_string().contains(SECRET), "{saved}");
    assert_eq!(t.secrets.get(&secret_key).unwrap().as_deref(), Some(SECRET));

    // "Pull new": the dump, checked against its sidecar, becomes a verified backup.
    let job = invoke(&t, "start_pull", json!({ "project": "shop" })).unwrap();
    let job = job.as_str().unwrap();
    let (progress, finished) = wait_for_job(&events, job);
    assert_eq!(finished["ok"], true, "{finished}");
    assert_eq!(finished["kind"], "pull", "{finished}");
    let r = &finished["result"];
    assert_eq!(r["kind"], "pull", "{finished}");
    assert_eq!(r["server"], false, "{finished}");
    assert_eq!(r["downloaded"], json!([]), "{finished}");
    let imported = r["artifacts"]["imported"].as_array().unwrap();
    assert_eq!(imported.len(), 1, "{finished}");
    assert_eq!(r["artifacts"]["already_imported"], 0, "{finished}");
    assert_eq!(imported[0]["status"], "verified", "{finished}");
    assert!(!progress.is_empty(), "the pull reported no progress");
    // One job with its own progress: finished once, by its last update.
    let (last, before) = progress.split_last().unwrap();
    assert!(
        before.iter().all(|p| p["finished"] == false),
        "{progress:?}"
    );
    assert_eq!(last["finished"], true, "{progress:?}");
    assert_eq!(last["phase"], "done", "{progress:?}");
    // The catalog records that one job (the refused pull above started none), of kind pull.
    let jobs = invoke(&t, "list_jobs", json!({ "project": "shop", "limit": null })).unwrap();
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["id"], job, "{jobs:?}");
    assert_eq!(jobs[0]["kind"], "pull", "{jobs:?}");
    assert!(!finished.to_string().contains(SECRET));
    let backups = invoke(&t, "list_backups", json!({ "project": "shop" })).unwrap();
    let backups = backups.as_array().unwrap();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(backups[0]["id"], imported[0]["id"]);
    let manifest = invoke(&t, "inspect_archive", json!({ "path": backups[0]["path"] })).unwrap();
    // The very dump in the bucket, packed as the archive's database member.
    assert_eq!(manifest["project"], "shop", "{manifest}");
    assert_eq!(manifest["source"]["database"], json!(src), "{manifest}");
    assert_eq!(
        manifest["components"]["database"],
        json!(sha256_hex(&dump)),
        "{manifest}"
    );
    let c = invoke(&t, "get_components", json!({ "project": "shop" })).unwrap();
    assert_eq!(
        c["artifacts"]["imported"],
        json!([{ "key": "nightly/shop-1.dump", "etag": c["artifacts"]["imported"][0]["etag"] }]),
        "{c}"
    );

    // A second pull imports nothing.
    let job = invoke(&t, "start_pull", json!({ "project": "shop" })).unwrap();
    let (_, finished) = wait_for_job(&events, job.as_str().unwrap());
    assert_eq!(finished["ok"], true, "{finished}");
    assert_eq!(
        finished["result"]["artifacts"],
        json!({ "imported": [], "already_imported": 1 }),
        "{finished}"
    );

    // A new dump whose sidecar names another SHA-256: refused, nothing imported.
    put(
        &s3,
        vec![
            ("nightly/shop-2.dump", dump.clone()),
            (
                "nightly/shop-2.dump.sha256",
                format!("{}\n", "0".repeat(64)).into_bytes(),
            ),
        ],
    );
    let job = invoke(&t, "start_pull", json!({ "project": "shop" })).unwrap();
    let (_, finished) = wait_for_job(&events, job.as_str().unwrap());
    assert_eq!(finished["ok"], false, "{finished}");
    assert_eq!(finished["error"]["code"], "integrity", "{finished}");
    let backups = invoke(&t, "list_backups", json!({ "project": "shop" })).unwrap();
    assert_eq!(backups.as_array().unwrap().len(), 1, "{backups}");

    // Saving again without a secret keeps the stored one and what was imported.
    let again = set(&t, settings(&moto.endpoint(), "s3://dumps/nightly/", None)).unwrap();
    assert_eq!(
        again["artifacts"]["imported"].as_array().unwrap().len(),
        1,
        "{again}"
    );
    assert_eq!(t.secrets.get(&secret_key).unwrap().as_deref(), Some(SECRET));

    // Removed, with its secret; the backups stay.
    let removed = set(&t, Value::Null).unwrap();
    assert_eq!(removed["artifacts"], Value::Null, "{removed}");
    nothing_saved(&t);
    let backups = invoke(&t, "list_backups", json!({ "project": "shop" })).unwrap();
    assert_eq!(backups.as_array().unwrap().len(), 1);
}
