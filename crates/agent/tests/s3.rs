//! A project whose storage is an S3 endpoint (`[projects.<id>.s3]`): the agent's STORAGE backup
//! pulls the buckets through the engine's S3 store. A real S3-compatible server (moto) and a
//! real PostgreSQL.

use offsite_agent::backups::{self, CreateBackup};
use offsite_agent::config::S3SourceConfig;
use offsite_agent::{Agent, AgentConfig, ProjectConfig};
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{ObjectTarget, PutBody, PutRequest};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{MotoServer, TestCluster};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_storage_backup_pulls_the_projects_s3_buckets() {
    let moto = MotoServer::start();
    let store = S3Store::new(&S3Config {
        endpoint: Some(moto.endpoint()),
        region: "us-east-1".into(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: TEST_SECRET.into(),
        path_style: true,
    })
    .unwrap();
    for bucket in ["avatars", "skipped"] {
        store.create_bucket(bucket).await.unwrap();
        store
            .put_object(
                bucket,
                "team/photo.png",
                PutBody::Bytes(bytes::Bytes::from_static(b"png bytes")),
                &PutRequest::default(),
            )
            .await
            .unwrap();
    }
    let c = TestCluster::shared();
    let db = c.unique_db("agent_s3");
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("s3-secret");
    std::fs::write(&secret, format!("{TEST_SECRET}\n")).unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, c.superuser_password()).unwrap();
    let mut config = AgentConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
    config.pg_bin = Some(c.bin_dir().to_path_buf());
    config.projects = BTreeMap::from([(
        "shop".to_string(),
        ProjectConfig {
            database_url: c.url(&db),
            password_env: None,
            password_file: Some(pw),
            storage_dir: None,
            config_files: vec![],
            s3: Some(S3SourceConfig {
                endpoint: moto.endpoint(),
                region: None,
                access_key_id: TEST_KEY_ID.into(),
                secret_env: None,
                secret_file: Some(secret),
                buckets: vec!["avatars".into()],
                path_style: None,
            }),
            retention: None,
            pitr: None,
        },
    )]);
    config.check().unwrap();
    let agent = Agent::open(config, false).await.unwrap();
    let created = backups::start(
        &agent,
        "shop",
        CreateBackup {
            backup_type: "STORAGE".into(),
            compression: None,
            encryption: None,
            selection: None,
        },
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let v = backups::status(&agent, "shop", &created.backup_id)
            .await
            .unwrap();
        if v.status != "CREATING" {
            break v;
        }
        assert!(Instant::now() < deadline, "the backup did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done.status, "COMPLETED", "{:?}", done.error);
    assert_eq!(done.backup_type.as_deref(), Some("STORAGE"));
    let (path, _, _, _) = backups::archive_of(&agent, Some("shop"), &created.backup_id)
        .await
        .unwrap();
    let manifest = offsite_core::archive::read_manifest(&path).unwrap();
    assert!(manifest.member("storage/avatars/team/photo.png").is_some());
    assert!(manifest.member("storage/skipped/team/photo.png").is_none());
    assert!(manifest.member("database.dump").is_none());
    let text = serde_json::to_string(&manifest).unwrap();
    assert!(
        !text.contains(TEST_SECRET),
        "the secret key is in the manifest"
    );
}
