//! Shared set-up: a moto server with a bucket (as it comes, or checking signatures), S3
//! destinations on it, what is left behind.

use offsite_core::destinations::{S3Destination, S3DestinationConfig};
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::ObjectTarget;
use offsite_testkit::s3::{MotoServer, TEST_KEY_ID, TEST_SECRET};

pub fn config(endpoint: &str, bucket: &str, prefix: &str) -> S3DestinationConfig {
    S3DestinationConfig {
        endpoint: Some(endpoint.to_string()),
        region: "us-east-1".into(),
        bucket: bucket.into(),
        prefix: prefix.into(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: TEST_SECRET.into(),
        path_style: true,
    }
}

/// [`config`] with the access key `moto` accepts (its own when it checks signatures).
pub fn config_on(moto: &MotoServer, bucket: &str, prefix: &str) -> S3DestinationConfig {
    S3DestinationConfig {
        access_key_id: moto.access_key_id().into(),
        secret_access_key: moto.secret_access_key().into(),
        ..config(&moto.endpoint(), bucket, prefix)
    }
}

pub async fn create_bucket(moto: &MotoServer, bucket: &str) {
    let store = S3Store::new(&S3Config {
        endpoint: Some(moto.endpoint()),
        region: "us-east-1".into(),
        access_key_id: moto.access_key_id().into(),
        secret_access_key: moto.secret_access_key().into(),
        path_style: true,
    })
    .unwrap();
    store.create_bucket(bucket).await.expect("create bucket");
}

/// A moto server with `bucket` in it.
pub async fn moto_with(bucket: &str) -> MotoServer {
    let moto = MotoServer::start();
    create_bucket(&moto, bucket).await;
    moto
}

/// A moto server that checks every request's key and signature, with `bucket` in it.
pub async fn signing_moto_with(bucket: &str) -> MotoServer {
    let moto = MotoServer::start_checking_signatures();
    create_bucket(&moto, bucket).await;
    moto
}

/// Every key in the bucket (all prefixes) and every unfinished multipart upload, asked on a
/// thread of its own (the conformance suite's `leftovers` is synchronous), with a fresh client.
pub fn bucket_leftovers(endpoint: &str, bucket: &str, temp_only: bool) -> Vec<String> {
    bucket_leftovers_as(config(endpoint, bucket, ""), temp_only)
}

/// [`bucket_leftovers`] asked with the key (and of the bucket) in `cfg` (its prefix ignored).
pub fn bucket_leftovers_as(cfg: S3DestinationConfig, temp_only: bool) -> Vec<String> {
    let bucket = cfg.bucket.clone();
    let cfg = S3DestinationConfig {
        prefix: String::new(),
        ..cfg
    };
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let d = S3Destination::new(&cfg).unwrap();
            let mut left: Vec<String> = d
                .pending_uploads()
                .await
                .unwrap()
                .into_iter()
                .map(|k| format!("unfinished upload of {k}"))
                .collect();
            let keys = d
                .sdk_client()
                .list_objects_v2()
                .bucket(&bucket)
                .send()
                .await
                .unwrap();
            for o in keys.contents() {
                let k = o.key().unwrap_or("").to_string();
                if !temp_only || k.contains(offsite_core::destinations::TEMP_PREFIX) {
                    left.push(k);
                }
            }
            left
        })
    })
    .join()
    .unwrap()
}

/// A PRNG file of `len` bytes.
pub fn random_file(dir: &std::path::Path, name: &str, len: usize, seed: u64) -> std::path::PathBuf {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len);
    let p = dir.join(name);
    std::fs::write(&p, &bytes).unwrap();
    p
}
