//! A pull is one job of kind pull: against a real S3 server (moto) and a real PostgreSQL, a pull
//! of an artifact bucket holding two dumps (one of them with its `.sha256` sidecar) records
//! exactly one job, the one the caller named, of kind pull; both backups it registers name that
//! job; every progress update it sends carries that job's id, the last one finishing it. A
//! second pull, with nothing new, is again one job.

use crate::common::*;
use offsite_core::destinations::sha256_hex;
use offsite_core::ops::ArtifactsSettings;
use offsite_core::progress::ProgressUpdate;
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{ObjectTarget, PutBody, PutRequest};
use offsite_core::{AddProject, JobStart};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{MotoServer, TestCluster};
use std::sync::{Arc, Mutex};

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

/// Pull `project` as the job `id`: the outcome and every progress update it sent.
async fn pull_as(
    env: &Env,
    project: &str,
    id: &str,
) -> (
    offsite_core::ops::remote::PullAllOutcome,
    Vec<ProgressUpdate>,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let sink = move |u: &ProgressUpdate| s2.lock().unwrap().push(u.clone());
    let out = env
        .engine
        .pull(project, JobStart::default().id(id).progress(Arc::new(sink)))
        .await
        .unwrap();
    let updates = seen.lock().unwrap().clone();
    (out, updates)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_is_one_job_of_kind_pull_whose_progress_carries_its_id() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("pull_job");
    pg.psql(
        &src,
        "CREATE TABLE notes(id int primary key, body text); \
         INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 300) g;",
    );
    let first = custom_dump(pg, &src);
    pg.psql(&src, "INSERT INTO notes VALUES (1000, 'later')");
    let second = custom_dump(pg, &src);
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
    let sidecar = format!("{}  shop-1.dump\n", sha256_hex(&first)).into_bytes();
    for (key, body) in [
        ("nightly/shop-1.dump", first),
        ("nightly/shop-1.dump.sha256", sidecar),
        ("nightly/shop-2.dump", second),
    ] {
        s3.put_object(
            "dumps",
            key,
            PutBody::Bytes(body.into()),
            &PutRequest::default(),
        )
        .await
        .unwrap();
    }

    let env = env().await;
    env.engine
        .add_project(AddProject::url("shop", pg.url_with_password(&src)))
        .await
        .unwrap();
    env.engine
        .set_artifacts(
            "shop",
            Some(ArtifactsSettings {
                location: "s3://dumps/nightly/".into(),
                endpoint: Some(moto.endpoint()),
                region: "us-east-1".into(),
                access_key_id: TEST_KEY_ID.into(),
                secret_access_key: Some(TEST_SECRET.into()),
                path_style: true,
                pattern: Some("*.dump".into()),
            }),
        )
        .await
        .unwrap();

    let (out, updates) = pull_as(&env, "shop", "pull-one").await;
    assert_eq!(out.job_id, "pull-one");
    assert!(out.server.is_none(), "{out:?}");
    let imported = &out.artifacts.as_ref().unwrap().imported;
    assert_eq!(imported.len(), 2, "{out:?}");

    // Exactly one job: the pull's, of kind pull, succeeded, naming the newest backup it made.
    let jobs = env.engine.jobs(None, 100).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    assert_eq!(job.id, "pull-one", "{job:?}");
    assert_eq!(job.kind.as_str(), "pull", "{job:?}");
    assert_eq!(job.state.as_str(), "succeeded", "{job:?}");
    assert_eq!(job.backup_id.as_ref(), Some(&imported[1].id), "{job:?}");
    for b in imported {
        assert_eq!(b.job_id.as_deref(), Some("pull-one"), "{b:?}");
        assert_eq!(b.status.as_str(), "verified", "{b:?}");
        assert_eq!(b.origin.as_str(), "artifact", "{b:?}");
    }

    // Its progress: under its id only, downloads and packing included, finished once, last.
    assert!(updates.len() > 2, "{updates:?}");
    assert!(
        updates.iter().all(|u| u.job_id == "pull-one"),
        "{updates:?}"
    );
    let (last, before) = updates.split_last().unwrap();
    assert!(last.finished, "{updates:?}");
    assert!(before.iter().all(|u| !u.finished), "{updates:?}");
    assert!(
        updates.iter().any(|u| u.bytes_done > 0),
        "no bytes were reported: {updates:?}"
    );

    // Nothing new: again one job, importing nothing.
    let (again, updates) = pull_as(&env, "shop", "pull-two").await;
    assert_eq!(again.artifacts.as_ref().unwrap().imported.len(), 0);
    assert_eq!(again.artifacts.as_ref().unwrap().already_imported, 2);
    let jobs = env.engine.jobs(None, 100).await.unwrap();
    let ids: Vec<(&str, &str)> = jobs
        .iter()
        .map(|j| (j.id.as_str(), j.kind.as_str()))
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&("pull-two", "pull")), "{ids:?}");
    assert!(
        updates.iter().all(|u| u.job_id == "pull-two"),
        "{updates:?}"
    );
}
