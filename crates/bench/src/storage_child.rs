//! The measured side of `offsite-bench-storage`: one storage backup of an s3s-fs bucket through
//! the real backup path (`compose` → `pull_into` → finished, fsynced archive), run as a child
//! process of the benchmark so its wall time and peak RSS are its own.

use crate::storage_fixture::{ACCESS_KEY, SECRET_KEY};
use async_trait::async_trait;
use offsite_core::archive::{self, BackupType};
use offsite_core::backup::{compose, ComposeRequest, StorageInput};
use offsite_core::progress::Reporter;
use offsite_core::retry::{RetryPolicy, Retrying};
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{
    BucketInfo, GetRequest, ListRequest, ObjectBody, ObjectPage, ObjectSource,
};
use offsite_core::storage::{PreviousStorage, PullOptions, StorageDoc, STORAGE_DOC};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// What the hidden `pull` subcommand takes.
#[derive(clap::Args, Debug, Clone)]
pub struct PullArgs {
    /// s3s-fs endpoint (`http://127.0.0.1:PORT`).
    #[arg(long)]
    pub endpoint: String,
    /// Folder the archive goes to.
    #[arg(long)]
    pub dest: PathBuf,
    /// The previous archive (its unchanged objects are not downloaded again).
    #[arg(long)]
    pub previous: Option<PathBuf>,
    /// An incremental archive (needs --previous).
    #[arg(long)]
    pub incremental: bool,
    /// gzip level.
    #[arg(long)]
    pub compression: u32,
    /// Fill the ETags s3s-fs leaves out of its listings (what S3, MinIO and Supabase Storage
    /// list) from this index of `key<TAB>etag` lines, written by the parent from s3s-fs's
    /// records before the pull is timed.
    #[arg(long)]
    pub listing_etags: Option<PathBuf>,
    /// Print each phase's start (seconds since the process started) to stderr: where the time
    /// of a pull goes.
    #[arg(long)]
    pub phases: bool,
    /// Downloads in flight (Offsite's default when not given).
    #[arg(long)]
    pub concurrency: Option<usize>,
}

/// An object source whose listing rows carry the ETag s3s-fs keeps for each object (its
/// ListObjectsV2 answers have none; every other S3 implementation lists them).
struct ListedEtags {
    inner: Arc<dyn ObjectSource>,
    /// key → ETag (the bench's one bucket), from the index the parent wrote.
    etags: std::collections::HashMap<String, String>,
}

#[async_trait]
impl ObjectSource for ListedEtags {
    async fn list_buckets(&self) -> offsite_core::Result<Vec<BucketInfo>> {
        self.inner.list_buckets().await
    }

    async fn list_objects(
        &self,
        bucket: &str,
        req: &ListRequest,
    ) -> offsite_core::Result<ObjectPage> {
        let mut page = self.inner.list_objects(bucket, req).await?;
        for o in &mut page.objects {
            if o.etag.is_none() {
                o.etag = self.etags.get(&o.key).cloned();
            }
        }
        Ok(page)
    }

    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        req: &GetRequest,
    ) -> offsite_core::Result<ObjectBody> {
        self.inner.get_object(bucket, key, req).await
    }
}

/// Runs one pull and prints one JSON line (archive, size, counts, seconds); exit code 1 on error.
pub fn run(args: PullArgs) -> i32 {
    // As the `offsite` binary does at its start.
    offsite_core::allocator::configure();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(pull(args)) {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(e) => {
            eprintln!("pull failed: {e}");
            1
        }
    }
}

async fn pull(a: PullArgs) -> offsite_core::Result<serde_json::Value> {
    let t0 = Instant::now();
    let reporter = if a.phases {
        let last = std::sync::Mutex::new(None);
        Reporter::new(
            Arc::new(move |u: &offsite_core::progress::ProgressUpdate| {
                let mut last = last.lock().unwrap();
                if *last != Some(u.phase) {
                    *last = Some(u.phase);
                    eprintln!("{:8.3} s  {}", t0.elapsed().as_secs_f64(), u.phase.label());
                }
            }),
            "bench",
        )
    } else {
        Reporter::silent()
    };
    let note = |what: &str| {
        if a.phases {
            eprintln!("{:8.3} s  {what}", t0.elapsed().as_secs_f64());
        }
    };
    let cancel = CancellationToken::new();
    let store = S3Store::new(&S3Config {
        endpoint: Some(a.endpoint.clone()),
        region: "us-east-1".into(),
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: SECRET_KEY.into(),
        path_style: true,
    })?;
    let mut source: Arc<dyn ObjectSource> = Arc::new(Retrying::new(store, RetryPolicy::default()));
    if let Some(index) = a.listing_etags.clone() {
        let text = std::fs::read_to_string(&index)
            .map_err(|e| offsite_core::Error::io(format!("reading {}", index.display()), e))?;
        let etags = text
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(k, e)| (k.to_string(), e.to_string()))
            .collect();
        source = Arc::new(ListedEtags {
            inner: source,
            etags,
        });
    }
    note("start");
    let previous = match &a.previous {
        None => None,
        Some(p) => {
            let manifest = archive::read_manifest(p)?;
            let mut raw = Vec::new();
            archive::copy_member(p, STORAGE_DOC, &mut raw, &Reporter::silent(), &cancel)?;
            let doc: StorageDoc = serde_json::from_slice(&raw)
                .map_err(|e| offsite_core::Error::internal(format!("storage.json: {e}")))?;
            Some(PreviousStorage {
                backup_id: manifest.backup_id,
                archive: p.clone(),
                doc,
                created_at: Some(manifest.created_at),
            })
        }
    };
    note("previous storage.json read");
    let options = PullOptions {
        endpoint: Some(a.endpoint.clone()),
        previous,
        incremental: a.incremental,
        concurrency: a
            .concurrency
            .unwrap_or(offsite_core::storage::pull::DEFAULT_CONCURRENCY),
        ..PullOptions::default()
    };
    let now = time::OffsetDateTime::now_utc();
    let created_at = now.replace_nanosecond(0).unwrap_or(now);
    let written = compose(
        ComposeRequest {
            project: "bench".into(),
            dest_dir: a.dest.clone(),
            compression: offsite_core::archive::Compression::Gzip(a.compression),
            backup_id: format!("bench-{}", now.unix_timestamp_nanos()),
            created_at,
            backup_type: if a.incremental {
                BackupType::Incremental
            } else {
                BackupType::Storage
            },
            database: None,
            storage: Some(StorageInput { source, options }),
            config: None,
        },
        &reporter,
        &cancel,
    )
    .await?;
    note("done");
    Ok(serde_json::json!({
        "archive": written.path,
        "size": written.size,
        "storage": written.manifest.storage,
        "secs": t0.elapsed().as_secs_f64(),
    }))
}
