//! The shared conformance suite (`offsite_testkit::conformance`) against every implementation of
//! the source and destination traits: bare, and wrapped in `Retrying` behind a fault injector
//! (`Faulty` for in-process implementations, a TCP `FaultProxy` in front of the real throwaway
//! PostgreSQL). Plus what only faults show: permanent faults fail at once, temporary ones give up
//! clearly when they outlast the budget, 429's Retry-After is honoured, cut streams resume.

use offsite_core::backup::compose::{database_only, database_only_retried};
use offsite_core::destinations::{
    put_file, BytesBody, Destination, FolderDestination, MemoryDestination, PutOptions, TEMP_PREFIX,
};
use offsite_core::postgres::conn::ConnSpec;
use offsite_core::progress::{ProgressUpdate, Reporter, RetryWait};
use offsite_core::retry::{RateLimited, Retrying};
use offsite_core::sources::memory::{MemoryApiSource, MemoryObjectSource};
use offsite_core::sources::{
    collect, ApiSource, DatabaseSource, GetRequest, ObjectSource, PostgresSource,
};
use offsite_core::{Error, ErrorKind};
use offsite_testkit::conformance::database::{self, DatabaseCase};
use offsite_testkit::conformance::{destination, object, quick_retries, sha256_hex};
use offsite_testkit::faults::{FaultPlan, Faulty};
use offsite_testkit::{FaultProxy, TestCluster};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A reporter that keeps the retry waits it announces.
fn recording() -> (Reporter, Arc<Mutex<Vec<RetryWait>>>) {
    let seen: Arc<Mutex<Vec<RetryWait>>> = Arc::default();
    let s2 = seen.clone();
    let sink = move |u: &ProgressUpdate| {
        if let Some(w) = &u.retry {
            s2.lock().unwrap().push(w.clone());
        }
    };
    (Reporter::new(Arc::new(sink), "conformance"), seen)
}

/// Temporary files anywhere under `root`.
fn temp_files(root: &Path) -> Vec<String> {
    database::files_under(root)
        .into_iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| n.starts_with(TEMP_PREFIX))
        .collect()
}

// ---- destinations ----

#[tokio::test]
async fn folder_destination_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let dest = FolderDestination::new(dir.path().join("copies"));
    destination::check_destination(&dest, &|| temp_files(dir.path())).await;
}

#[tokio::test]
async fn memory_destination_conforms() {
    destination::check_destination(&MemoryDestination::new(), &Vec::new).await;
}

#[tokio::test]
async fn folder_destination_behind_faults_with_retrying_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = Faulty::new(
        FolderDestination::new(dir.path().join("copies")),
        FaultPlan::flaky(150_000),
    );
    let counters = faulty.counters();
    let (reporter, waits) = recording();
    let dest = Retrying::new(faulty, quick_retries()).reporting_to(reporter);
    destination::check_destination(&dest, &|| temp_files(dir.path())).await;
    assert!(
        counters.failed() >= 10,
        "{} calls failed",
        counters.failed()
    );
    assert!(counters.cut() >= 2, "{} uploads cut", counters.cut());
    assert!(waits.lock().unwrap().len() as u32 >= counters.failed());
}

#[tokio::test]
async fn memory_destination_behind_faults_with_retrying_conforms() {
    let faulty = Faulty::new(MemoryDestination::new(), FaultPlan::flaky(100_000));
    let counters = faulty.counters();
    let dest = Retrying::new(faulty, quick_retries());
    destination::check_destination(&dest, &Vec::new).await;
    assert!(counters.failed() >= 10 && counters.cut() >= 2);
}

#[tokio::test]
async fn a_cut_upload_without_retrying_fails_temporarily_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("a.tar.gz");
    std::fs::write(&src, vec![7u8; 3 << 20]).unwrap();
    let plan = FaultPlan {
        cut_every: 1,
        cut_after: 1 << 20,
        ..Default::default()
    };
    let dest = Faulty::new(FolderDestination::new(dir.path().join("copies")), plan);
    let e = put_file(&dest, "x/a.tar.gz", &src, PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.is_temporary());
    assert_eq!(dest.counters().cut(), 1);
    assert!(dest.inner().list("").await.unwrap().is_empty());
    assert_eq!(temp_files(dir.path()), Vec::<String>::new());

    // Behind Retrying, when every upload is cut: it gives up saying so, and leaves nothing.
    let dest = Retrying::new(dest, quick_retries());
    let e = put_file(&dest, "x/a.tar.gz", &src, PutOptions::default())
        .await
        .unwrap_err();
    assert!(
        e.message()
            .contains("gave up after 6 tries: injected: stream cut midway"),
        "{e}"
    );
    assert_eq!(dest.inner().counters().cut(), 1 + 6);
    assert!(dest.list("").await.unwrap().is_empty());
    assert_eq!(temp_files(dir.path()), Vec::<String>::new());

    // When only the first upload is cut: the body is re-opened and the copy is whole.
    let plan = FaultPlan {
        cut_every: 2,
        cut_after: 1 << 20,
        ..Default::default()
    };
    let faulty = Faulty::new(FolderDestination::new(dir.path().join("copies")), plan);
    let counters = faulty.counters();
    let dest = Retrying::new(faulty, quick_retries());
    let stored = put_file(&dest, "x/a.tar.gz", &src, PutOptions::default())
        .await
        .unwrap();
    assert_eq!(counters.cut(), 1);
    assert_eq!(stored.size, 3 << 20);
    assert_eq!(
        dest.sha256("x/a.tar.gz").await.unwrap(),
        sha256_hex(&std::fs::read(&src).unwrap())
    );
    assert_eq!(temp_files(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn permanent_faults_fail_at_once_with_their_error() {
    for kind in [ErrorKind::Permission, ErrorKind::Auth, ErrorKind::DiskFull] {
        let faulty = Faulty::new(
            MemoryDestination::new(),
            FaultPlan::first(100, Error::new(kind, "injected: refused for good")),
        );
        let counters = faulty.counters();
        let (reporter, waits) = recording();
        let dest = Retrying::new(faulty, quick_retries()).reporting_to(reporter);
        let e = dest
            .put("x", &BytesBody("abc".into()), PutOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind);
        assert_eq!(e.message(), "injected: refused for good", "unchanged");
        assert_eq!(counters.calls(), 1, "{kind:?} was retried");
        assert!(waits.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn temporary_faults_beyond_the_budget_give_up_saying_so() {
    let faulty = Faulty::new(
        MemoryDestination::new(),
        FaultPlan::first(
            100,
            Error::new(ErrorKind::Connection, "connection reset by peer"),
        ),
    );
    let counters = faulty.counters();
    let (reporter, waits) = recording();
    let dest = Retrying::new(faulty, quick_retries()).reporting_to(reporter);
    let e = dest.list("").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection);
    assert!(
        e.message().contains("gave up after 6 tries")
            && e.message().contains("connection reset by peer"),
        "{e}"
    );
    assert_eq!(counters.calls(), 6);
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 5);
    assert_eq!(
        waits.iter().map(|w| w.attempt).collect::<Vec<_>>(),
        vec![2, 3, 4, 5, 6]
    );
    assert!(waits
        .iter()
        .all(|w| w.max_attempts == 6 && w.reason == "connection reset by peer"));
}

// ---- object and API sources ----

fn seed_into(mem: &MemoryObjectSource) -> impl Fn(&str, &str, &[u8], Option<&str>) + '_ {
    move |b, k, v, ct| mem.insert(b, k, v.to_vec(), ct)
}

#[tokio::test]
async fn memory_object_source_conforms() {
    let mem = MemoryObjectSource::new();
    object::check_object_source(&mem, &seed_into(&mem)).await;
}

#[tokio::test]
async fn memory_object_source_behind_faults_with_retrying_conforms() {
    // Every other call fails; every stream is cut after 400 kB (the 1.5 MB object resumes 3 times).
    let plan = FaultPlan {
        cut_every: 1,
        cut_after: 400_000,
        ..FaultPlan::flaky(0)
    };
    let faulty = Faulty::new(MemoryObjectSource::new(), plan);
    let counters = faulty.counters();
    let src = Retrying::new(faulty, quick_retries());
    let mem = src.inner().inner();
    object::check_object_source(&src, &seed_into(mem)).await;
    assert!(counters.failed() >= 10, "{}", counters.failed());
    assert!(counters.cut() >= 4, "{} cuts", counters.cut());
}

#[tokio::test]
async fn rate_limited_object_source_conforms() {
    let src = RateLimited::new(MemoryObjectSource::new(), Duration::from_millis(1), 10);
    object::check_object_source(&src, &seed_into(src.inner())).await;
}

#[tokio::test]
async fn a_cut_download_resumes_from_the_missing_byte() {
    let body: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
    let plan = FaultPlan {
        cut_every: 1, // every stream, the resumed ones too
        cut_after: 300_000,
        ..Default::default()
    };
    let faulty = Faulty::new(MemoryObjectSource::new(), plan);
    faulty.inner().insert("b", "k", body.clone(), None);
    let counters = faulty.counters();

    // Bare: the stream ends in a temporary error after the bytes that came.
    let got = faulty
        .get_object("b", "k", &GetRequest::default())
        .await
        .unwrap();
    let e = collect(got.stream).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection);
    assert!(e.is_temporary());

    // Retrying: one stream, whole, from four ranged requests (0.., 300000.., 600000.., 900000..).
    let (reporter, waits) = recording();
    let src = Retrying::new(faulty, quick_retries()).reporting_to(reporter);
    let gets_before = src.inner().inner().get_count();
    let got = src
        .get_object("b", "k", &GetRequest::default())
        .await
        .unwrap();
    assert_eq!(got.range, 0..1_000_000);
    let bytes = collect(got.stream).await.unwrap();
    assert_eq!(bytes.len(), body.len());
    assert!(bytes == body, "resumed bytes differ");
    assert_eq!(src.inner().inner().get_count() - gets_before, 4);
    assert_eq!(counters.cut(), 1 + 3);
    assert_eq!(waits.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_download_whose_object_changed_meanwhile_fails_with_conflict() {
    let plan = FaultPlan {
        cut_every: 1,
        cut_after: 100_000,
        ..Default::default()
    };
    let faulty = Faulty::new(MemoryObjectSource::new(), plan);
    faulty.inner().insert("b", "k", vec![1u8; 500_000], None);
    let src = Retrying::new(faulty, quick_retries());
    let got = src
        .get_object("b", "k", &GetRequest::default())
        .await
        .unwrap();
    // Replace the object before the stream is read: the resume must not stitch two versions.
    src.inner()
        .inner()
        .insert("b", "k", vec![2u8; 500_000], None);
    let e = collect(got.stream).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
}

fn api_seeds(
    api: &MemoryApiSource,
) -> (
    impl Fn(&str, serde_json::Value) + '_,
    impl Fn(&str, u16) + '_,
) {
    let doc = move |p: &str, v| api.insert(p, v);
    let status = move |p: &str, s: u16| {
        let kind = match s {
            401 => ErrorKind::Auth,
            403 => ErrorKind::Permission,
            404 => ErrorKind::NotFound,
            _ => ErrorKind::Connection,
        };
        api.insert_error(p, Error::new(kind, format!("HTTP {s}")));
    };
    (doc, status)
}

#[tokio::test]
async fn memory_api_source_conforms() {
    let api = MemoryApiSource::new();
    let (doc, status) = api_seeds(&api);
    object::check_api_source(&api, &doc, &status).await;
}

#[tokio::test]
async fn api_source_behind_faults_with_retrying_and_rate_limit_conforms() {
    let faulty = Faulty::new(MemoryApiSource::new(), FaultPlan::flaky(0));
    let counters = faulty.counters();
    let api = RateLimited::new(
        Retrying::new(faulty, quick_retries()),
        Duration::from_millis(2),
        5,
    );
    let (doc, status) = api_seeds(api.inner().inner().inner());
    object::check_api_source(&api, &doc, &status).await;
    assert!(counters.failed() >= 3, "{}", counters.failed());
}

#[tokio::test]
async fn http_429_with_retry_after_is_honoured() {
    let wait = Duration::from_millis(300);
    let faulty = Faulty::new(
        MemoryApiSource::new(),
        FaultPlan::first(
            2,
            Error::rate_limited("HTTP 429 Too Many Requests", Some(wait)),
        ),
    );
    faulty.inner().insert("/v1/x", serde_json::json!({"ok": 1}));
    let (reporter, waits) = recording();
    let api = Retrying::new(faulty, quick_retries()).reporting_to(reporter);
    let t0 = Instant::now();
    assert_eq!(api.get_json("/v1/x").await.unwrap()["ok"], 1);
    assert!(t0.elapsed() >= 2 * wait, "{:?}", t0.elapsed());
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 2);
    assert!(
        waits
            .iter()
            .all(|w| w.wait_ms == 300 && w.reason.contains("429")),
        "{waits:?}"
    );
}

// ---- the database source, against the real throwaway cluster ----

/// The bare PostgreSQL source, with the shared cluster's client tools.
fn postgres(spec: ConnSpec, pw: Option<String>) -> Box<dyn DatabaseSource> {
    let bin = TestCluster::shared().bin_dir().to_path_buf();
    Box::new(PostgresSource::new(spec, pw, Some(bin)))
}

/// The bare PostgreSQL source, reaching the shared cluster through `port`.
fn bare_case(port: u16) -> DatabaseCase<'static> {
    DatabaseCase {
        cluster: TestCluster::shared(),
        port,
        make: &postgres,
        connections: None,
        retry: None,
    }
}

fn cluster_addr(pg: &TestCluster) -> std::net::SocketAddr {
    format!("127.0.0.1:{}", pg.port()).parse().unwrap()
}

#[tokio::test]
async fn postgres_source_conforms() {
    database::check_database_source(&bare_case(TestCluster::shared().port())).await;
}

#[tokio::test]
async fn postgres_source_behind_a_fault_proxy_with_retrying_conforms() {
    let pg = TestCluster::shared();
    let proxy = FaultProxy::start(cluster_addr(pg));
    let make = |spec: ConnSpec, pw: Option<String>| -> Box<dyn DatabaseSource> {
        // Every new source starts with its first two connections dropped.
        proxy.refuse_next(2);
        Box::new(Retrying::new(
            PostgresSource::new(spec, pw, Some(pg.bin_dir().to_path_buf())),
            quick_retries(),
        ))
    };
    let connections = || proxy.accepted();
    database::check_database_source(&DatabaseCase {
        cluster: pg,
        port: proxy.port(),
        make: &make,
        connections: None,
        retry: Some(quick_retries()),
    })
    .await;
    assert!(
        proxy.refused() >= 8,
        "{} connections refused",
        proxy.refused()
    );

    // A permanent failure behind the same proxy is not retried: one connection.
    let case = DatabaseCase {
        cluster: pg,
        port: proxy.port(),
        make: &|spec: ConnSpec, pw: Option<String>| -> Box<dyn DatabaseSource> {
            Box::new(Retrying::new(
                PostgresSource::new(spec, pw, None),
                quick_retries(),
            ))
        },
        connections: Some(&connections),
        retry: Some(quick_retries()),
    };
    database::wrong_password_is_auth(&case).await;
}

#[tokio::test]
async fn refused_connections_are_retried_and_each_wait_reported() {
    let pg = TestCluster::shared();
    let proxy = FaultProxy::start(cluster_addr(pg));
    let case = bare_case(proxy.port());
    let db = pg.unique_db("conf_refused");
    // Bare: the dropped connection is a temporary `connection` error.
    proxy.refuse_next(1);
    let e = case.source(&db).describe().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.is_temporary());

    proxy.refuse_next(3);
    let (reporter, waits) = recording();
    let src = Retrying::from_arc(
        Arc::<dyn DatabaseSource>::from(case.source(&db)),
        quick_retries(),
    )
    .reporting_to(reporter);
    let info = src.describe().await.unwrap();
    assert!(info.can_dump);
    assert_eq!(proxy.refused(), 1 + 3);
    let waits = waits.lock().unwrap().clone();
    assert_eq!(
        waits.iter().map(|w| w.attempt).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
}

#[tokio::test]
async fn a_dump_cut_midway_is_retried_whole_and_leaves_nothing_when_not() {
    let pg = TestCluster::shared();
    let proxy = FaultProxy::start(cluster_addr(pg));
    let case = bare_case(proxy.port());
    let db = pg.unique_db("conf_cut");
    pg.load_supabase_fixture(&db);
    let cut_at = 400 * 1024; // inside pg_dump's stream (the fixture dumps to several MB)

    // Bare: the cut is a temporary `connection` error and nothing is left.
    let dir = tempfile::tempdir().unwrap();
    proxy.cut_next(1, cut_at);
    let e = database_only(
        case.source(&db).into(),
        &database::dump_options("cut", dir.path()),
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.is_temporary(), "{e}");
    assert!(
        database::files_under(dir.path()).is_empty(),
        "{:?}",
        database::files_under(dir.path())
    );

    // Retrying: the second dump goes through; the archive verifies and holds the source's rows.
    proxy.cut_next(1, cut_at);
    let (reporter, waits) = recording();
    let src = Arc::<dyn DatabaseSource>::from(case.source(&db));
    let written = database_only_retried(
        &quick_retries(),
        src,
        &database::dump_options("cut", dir.path()),
        &reporter,
        &CancellationToken::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e} ({:?})", e.hint()));
    assert_eq!(proxy.cuts(), 2);
    assert_eq!(waits.lock().unwrap().len(), 1);
    assert_eq!(
        database::files_under(dir.path()).len(),
        2,
        "the archive and its .sha256"
    );
    let report = offsite_core::archive::verify(
        &written.path,
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .unwrap();
    assert!(report.ok, "{report:?}");
    let orders: u64 = pg
        .psql(&db, "SELECT count(*) FROM public.orders")
        .parse()
        .unwrap();
    let recorded = written
        .manifest
        .tables
        .iter()
        .find(|t| t.schema == "public" && t.table == "orders")
        .unwrap();
    assert_eq!(recorded.rows, orders);
    pg.drop_db(&db);
}

#[tokio::test]
async fn a_put_whose_answer_was_lost_is_not_reported_as_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let plan = FaultPlan {
        lose_first_responses: 1,
        ..Default::default()
    };
    let faulty = Faulty::new(FolderDestination::new(dir.path()), plan);
    let counters = faulty.counters();
    let dest = Retrying::new(faulty, quick_retries());
    // The first put is stored but its answer is lost; the retry finds the same bytes: success.
    let stored = dest
        .put(
            "x/a.tar.gz",
            &BytesBody("the archive".into()),
            PutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(counters.failed(), 1);
    assert_eq!(
        stored.sha256.as_deref(),
        Some(sha256_hex(b"the archive").as_str())
    );
    assert_eq!(stored.size, 11);

    // Different bytes under a taken name stay `already_exists`, lost answer or not.
    let faulty = Faulty::new(
        FolderDestination::new(dir.path()),
        FaultPlan {
            fail_first: 1,
            ..Default::default()
        },
    );
    let dest = Retrying::new(faulty, quick_retries());
    let e = dest
        .put(
            "x/a.tar.gz",
            &BytesBody("another archive".into()),
            PutOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert_eq!(
        dest.sha256("x/a.tar.gz").await.unwrap(),
        sha256_hex(b"the archive")
    );
}

/// A store that answers every get with the whole object (as some servers do with `Range`).
struct IgnoresRanges(MemoryObjectSource);

#[async_trait::async_trait]
impl ObjectSource for IgnoresRanges {
    async fn list_buckets(&self) -> offsite_core::Result<Vec<offsite_core::sources::BucketInfo>> {
        self.0.list_buckets().await
    }
    async fn list_objects(
        &self,
        bucket: &str,
        req: &offsite_core::sources::ListRequest,
    ) -> offsite_core::Result<offsite_core::sources::ObjectPage> {
        self.0.list_objects(bucket, req).await
    }
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        req: &GetRequest,
    ) -> offsite_core::Result<offsite_core::sources::ObjectBody> {
        let whole = GetRequest {
            range: None,
            if_match: req.if_match.clone(),
        };
        self.0.get_object(bucket, key, &whole).await
    }
}

#[tokio::test]
async fn a_resume_answered_from_the_wrong_byte_is_not_stitched() {
    let mem = MemoryObjectSource::new();
    mem.insert("b", "k", vec![5u8; 400_000], None);
    let plan = FaultPlan {
        cut_every: 1,
        cut_after: 100_000,
        ..Default::default()
    };
    let src = Retrying::new(Faulty::new(IgnoresRanges(mem), plan), quick_retries());
    let got = src
        .get_object("b", "k", &GetRequest::default())
        .await
        .unwrap();
    let e = collect(got.stream).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.message().contains("resume at byte 100000"), "{e}");
}
