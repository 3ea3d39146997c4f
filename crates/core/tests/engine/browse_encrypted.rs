//! A look inside an age-encrypted full backup through `Engine::browse_*` (tables, a page of
//! rows, a CSV export, storage objects past the app's first page, a preview, a saved object):
//! the registered archive opens with the project's own key, a copy elsewhere with a
//! recipient's key given, and a wrong or missing key is `wrong_key` with nothing written.

use crate::common::*;
use bytes::Bytes;
use offsite_core::archive::BackupType;
use offsite_core::browse::{ObjectQuery, RowFilter, MAX_OBJECT_PAGE};
use offsite_core::crypto::UserKey;
use offsite_core::ops::encryption::{EncryptionMode, SetEncryption};
use offsite_core::ops::StorageSettings;
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{ObjectTarget, PutBody, PutRequest};
use offsite_core::storage::BucketSelection;
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{MotoServer, TestCluster};
use std::path::{Path, PathBuf};

/// More objects than one page of the app (500) and than one engine page (1000) holds.
const OBJECTS: usize = 1030;

fn object_bytes(i: usize) -> Vec<u8> {
    format!("object {i}\n").repeat(1 + i % 7).into_bytes()
}

/// A database with `orders` (300 rows) and an `avatars` bucket of [`OBJECTS`] objects, backed
/// up whole and encrypted to the project's key and `extra`'s recipient: (database, archive).
async fn encrypted_full_backup(
    pg: &TestCluster,
    env: &Env,
    moto: &MotoServer,
    extra: String,
) -> (String, PathBuf) {
    let db = pg.unique_db("browseage");
    pg.psql(
        &db,
        "CREATE TABLE public.orders (id int primary key, note text, amount numeric(8,2)); \
         INSERT INTO public.orders SELECT g, 'order ' || g || E'\\t\"q\", x', g / 4.0 \
           FROM generate_series(1, 300) g;",
    );
    let s3 = S3Store::new(&S3Config {
        endpoint: Some(moto.endpoint()),
        region: "us-east-1".into(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: TEST_SECRET.into(),
        path_style: true,
    })
    .unwrap();
    s3.create_bucket("avatars").await.unwrap();
    for i in 0..OBJECTS {
        let ct = if i % 2 == 0 {
            "text/plain"
        } else {
            "application/octet-stream"
        };
        s3.put_object(
            "avatars",
            &format!("u/{i:04}.txt"),
            PutBody::Bytes(Bytes::from(object_bytes(i))),
            &PutRequest {
                content_type: Some(ct.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let e = &env.engine;
    e.add_project(AddProject::url("vault", pg.url_with_password(&db)))
        .await
        .unwrap();
    e.set_storage(
        "vault",
        Some(StorageSettings {
            endpoint: Some(moto.endpoint()),
            region: "us-east-1".into(),
            access_key_id: TEST_KEY_ID.into(),
            secret_access_key: Some(TEST_SECRET.into()),
            path_style: true,
            buckets: BucketSelection::Only(vec!["avatars".into()]),
            concurrency: Some(8),
        }),
    )
    .await
    .unwrap();
    let setup = e
        .set_encryption(
            "vault",
            SetEncryption {
                mode: Some(EncryptionMode::Key),
                passphrase: None,
                recipients: vec![extra],
            },
        )
        .await
        .unwrap();
    e.confirm_recovery("vault", &setup.recovery_item.unwrap())
        .await
        .unwrap();
    let full = e
        .backup(
            BackupOptions {
                backup_type: Some(BackupType::Full),
                ..BackupOptions::project("vault")
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(
        full.backup.path.ends_with(".tar.zst.age"),
        "{}",
        full.backup.path
    );
    (db, PathBuf::from(full.backup.path))
}

/// `COPY table TO STDOUT WITH (FORMAT csv, HEADER)` of the source.
fn copy_csv(pg: &TestCluster, db: &str, table: &str) -> Vec<u8> {
    let out = pg
        .command("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-c"])
        .arg(format!("COPY {table} TO STDOUT WITH (FORMAT csv, HEADER)"))
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Names in `dir` other than `keep` (temporary files included).
fn others(dir: &Path, keep: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != keep)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_backup_browses_with_its_key_and_a_wrong_key_leaves_nothing() {
    let pg = TestCluster::shared();
    let env = env().await;
    let moto = MotoServer::start();
    let (key, recipient) = UserKey::generate();
    let (db, archive) =
        encrypted_full_backup(pg, &env, &moto, recipient.as_str().to_string()).await;
    let e = &env.engine;

    // The registered archive: the project's own key opens it.
    let t = e.browse_tables(&archive, None).await.unwrap();
    assert!(t.readable, "{:?}", t.note);
    let orders = t.tables.iter().find(|t| t.name == "orders").unwrap();
    assert_eq!(orders.rows, Some(300));
    assert_eq!(
        orders.column_types,
        vec![
            Some("integer".to_string()),
            Some("text".into()),
            Some("numeric(8,2)".into())
        ]
    );

    // A copy elsewhere (not in the catalog): only the key given opens it.
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join(archive.file_name().unwrap());
    std::fs::copy(&archive, &copy).unwrap();
    let name = copy.file_name().unwrap().to_str().unwrap().to_string();
    let k = || Some(key.clone());
    let (stranger, _) = UserKey::generate();
    for wrong in [None, Some(stranger.clone())] {
        let err = e.browse_tables(&copy, wrong.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WrongKey, "{err}");
        let err = e
            .browse_rows(
                &copy,
                wrong.clone(),
                "public",
                "orders",
                0,
                5,
                RowFilter::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WrongKey, "{err}");
        let err = e
            .browse_objects(&copy, wrong.clone(), ObjectQuery::default())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WrongKey, "{err}");
        // The CSV export: an error, and no file (nor a temporary one) left.
        let dest = other.path().join("orders.csv");
        let err = e
            .export_table_csv(&copy, wrong.clone(), "public", "orders", &dest)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WrongKey, "{err}");
        assert!(!dest.exists());
        let saved = other.path().join("saved.txt");
        let err = e
            .save_object(&copy, wrong, "avatars", "u/0000.txt", &saved)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WrongKey, "{err}");
        assert!(!saved.exists());
        assert!(
            others(other.path(), &name).is_empty(),
            "{:?}",
            others(other.path(), &name)
        );
    }

    // With the key: tables, a page deep in, a CSV equal to COPY's, objects, a preview, a save.
    let t = e.browse_tables(&copy, k()).await.unwrap();
    assert_eq!(
        t.tables.iter().find(|t| t.name == "orders").unwrap().rows,
        Some(300)
    );
    let page = e
        .browse_rows(&copy, k(), "public", "orders", 250, 3, RowFilter::default())
        .await
        .unwrap();
    let ids: Vec<_> = page.rows.iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(ids, vec!["251", "252", "253"]);
    assert_eq!(page.rows[0][1].as_deref(), Some("order 251\t\"q\", x"));
    assert!(page.more);
    let dest = other.path().join("orders.csv");
    let done = e
        .export_table_csv(&copy, k(), "public", "orders", &dest)
        .await
        .unwrap();
    assert_eq!(done.rows, 300);
    assert!(std::fs::read(&dest).unwrap() == copy_csv(pg, &db, "public.orders"));

    let (mut keys, mut offset) = (Vec::new(), 0u64);
    loop {
        let q = ObjectQuery {
            offset,
            limit: 500,
            ..Default::default()
        };
        let p = e.browse_objects(&copy, k(), q).await.unwrap();
        assert_eq!(p.total, OBJECTS as u64);
        offset += p.objects.len() as u64;
        keys.extend(p.objects.into_iter().map(|o| o.key));
        if !p.more {
            break;
        }
    }
    keys.sort();
    let want: Vec<String> = (0..OBJECTS).map(|i| format!("u/{i:04}.txt")).collect();
    assert_eq!(keys, want, "every object reached page by page");
    let q = ObjectQuery {
        limit: u32::MAX,
        ..Default::default()
    };
    let p = e.browse_objects(&copy, k(), q).await.unwrap();
    assert_eq!(p.objects.len(), MAX_OBJECT_PAGE as usize);
    let q = ObjectQuery {
        search: Some("U/102".into()),
        ..Default::default()
    };
    let p = e.browse_objects(&copy, k(), q).await.unwrap();
    let found: Vec<&str> = p.objects.iter().map(|o| o.key.as_str()).collect();
    let want: Vec<String> = (1020..1030).map(|i| format!("u/{i:04}.txt")).collect();
    assert_eq!(found, want);

    let last = OBJECTS - 2; // even: text/plain
    let key_name = format!("u/{last:04}.txt");
    let pv = e
        .object_preview(&copy, k(), "avatars", &key_name, 1 << 20)
        .await
        .unwrap();
    assert_eq!(pv.text.unwrap().as_bytes(), &object_bytes(last)[..]);
    let saved = other.path().join("saved.txt");
    let s = e
        .save_object(&copy, k(), "avatars", &key_name, &saved)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&saved).unwrap(), object_bytes(last));
    assert_eq!(s.bytes, object_bytes(last).len() as u64);

    // A flipped byte in the first encrypted chunk (the manifest and the dump): with the key, the
    // export is refused as damage and leaves nothing.
    let mut bytes = std::fs::read(&copy).unwrap();
    let body = bytes.windows(4).position(|w| w == b"\n---").unwrap();
    let body = body + 1 + bytes[body + 1..].iter().position(|&b| b == b'\n').unwrap() + 1;
    bytes[body + 16 + 100] ^= 0x01;
    let damaged = tempfile::tempdir().unwrap();
    let bad = damaged.path().join(&name);
    std::fs::write(&bad, &bytes).unwrap();
    let dest = damaged.path().join("orders.csv");
    let err = e
        .export_table_csv(&bad, k(), "public", "orders", &dest)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Integrity, "{err}");
    assert!(
        others(damaged.path(), &name).is_empty(),
        "{:?}",
        others(damaged.path(), &name)
    );
}
