//! A project in key-mode encryption that pulls a plaintext dump from its artifact bucket (a real
//! S3 server, moto) keeps it as its own backups are kept: encrypted with the project's key
//! before it is registered, so neither the local folder nor any destination ever holds the
//! plaintext (issue 41).

use crate::common::*;
use offsite_core::catalog::{CopyState, DestinationSpec};
use offsite_core::ops::encryption::{EncryptionMode, SetEncryption};
use offsite_core::ops::{ArtifactsSettings, SyncOptions, VerifyOptions};
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{ObjectTarget, PutBody, PutRequest};
use offsite_core::{AddProject, JobStart};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{MotoServer, TestCluster};
use std::path::Path;

const AGE_HEADER: &[u8] = b"age-encryption.org/v1";

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_mode_project_encrypts_a_plaintext_pulled_dump_before_it_goes_anywhere() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("keypull");
    let marker = "plaintext-marker-7f3a9c";
    pg.psql(
        &src,
        &format!(
            "CREATE TABLE notes(id int primary key, body text); \
             INSERT INTO notes SELECT g, '{marker} ' || g FROM generate_series(1, 200) g;"
        ),
    );
    let out = pg
        .command("pg_dump")
        .args(["--format=custom", "--compress=0", "--dbname", &src])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = out.stdout;
    assert!(contains(&dump, marker.as_bytes()));

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
    s3.put_object(
        "dumps",
        "nightly/keypull-1.dump",
        PutBody::Bytes(dump.into()),
        &PutRequest::default(),
    )
    .await
    .unwrap();

    let env = env().await;
    let e = &env.engine;
    e.add_project(AddProject::url("keypull", pg.url_with_password(&src)))
        .await
        .unwrap();
    let setup = e
        .set_encryption(
            "keypull",
            SetEncryption {
                mode: Some(EncryptionMode::Key),
                passphrase: None,
                recipients: vec![],
            },
        )
        .await
        .unwrap();
    e.confirm_recovery("keypull", &setup.recovery_item.unwrap())
        .await
        .unwrap();
    let usb = env.dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    e.add_destination(
        "keypull",
        DestinationSpec {
            name: "usb".into(),
            folder: Some(usb.to_string_lossy().into_owned()),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    e.set_artifacts(
        "keypull",
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

    let pulled = e.pull("keypull", JobStart::default()).await.unwrap();
    let imported = &pulled.artifacts.as_ref().unwrap().imported;
    assert_eq!(imported.len(), 1, "{pulled:?}");
    let b = &imported[0];
    let local = Path::new(&b.path);
    assert!(b.path.ends_with(".age"), "{b:?}");
    let bytes = std::fs::read(local).unwrap();
    assert!(
        bytes.starts_with(AGE_HEADER),
        "the pulled archive is not encrypted"
    );
    assert_eq!(b.sha256, sha256_of(&bytes));
    assert_eq!(b.status.as_str(), "verified", "{b:?}");
    // No plaintext left in the backup folder.
    for f in files_under(local.parent().unwrap()) {
        let content = std::fs::read(&f).unwrap();
        assert!(
            !contains(&content, marker.as_bytes()),
            "{} holds the plaintext",
            f.display()
        );
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.ends_with(".age") || name.ends_with(".age.sha256") || name.starts_with('.'),
            "{name}"
        );
    }

    // Its copy at the destination is the ciphertext.
    let s = e
        .sync(
            SyncOptions {
                project: "keypull".into(),
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(s.pending, 0, "{s:?}");
    assert!(
        s.copies.iter().all(|c| c.state == CopyState::Stored),
        "{s:?}"
    );
    let copied = usb.join("keypull").join(local.file_name().unwrap());
    assert_eq!(std::fs::read(&copied).unwrap(), bytes);
    for f in files_under(&usb) {
        assert!(
            !contains(&std::fs::read(&f).unwrap(), marker.as_bytes()),
            "{}",
            f.display()
        );
    }

    // And it opens with the project's key.
    let v = e
        .verify(VerifyOptions::path(local), JobStart::default())
        .await
        .unwrap();
    assert!(v.report.ok, "{v:?}");
}

fn sha256_of(bytes: &[u8]) -> String {
    offsite_core::destinations::sha256_hex(bytes)
}
