//! The one download path (`offsite_core::transfer`) against a real HTTP(S) file server
//! (testkit's `FileServer`: strong ETags, Range/If-Range, expiring signed URLs) behind the real
//! fault-injecting HTTP proxy (testkit's `HttpFaultProxy`), two sides over TCP. Every scenario
//! ends in a byte-identical file or a clear error, and never leaves a `.part` behind; resumes are
//! proven by the body bytes the proxy really passed, not assumed.

use async_trait::async_trait;
use offsite_core::progress::{Phase, ProgressUpdate, Reporter};
use offsite_core::retry::RetryPolicy;
use offsite_core::sources::agent::AgentClient;
use offsite_core::transfer::{
    part_path, server_fingerprint, ClientOptions, DownloadUrl, Downloaded, Downloader, Fingerprint,
    TlsTrust, TransferPolicy, UrlSource,
};
use offsite_core::{ErrorKind, Result};
use offsite_testkit::file_server::self_signed;
use offsite_testkit::{
    Answer, ExpiryStyle, FileServer, HttpFault, HttpFaultProxy, WebhookReceiver,
};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const SIZE: usize = 1024 * 1024;

/// Deterministic, incompressible-looking bytes.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// SHA-256 from the system's `sha256sum` (independent of the engine's hashing).
fn sha256_hex(b: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child.stdin.take().unwrap().write_all(b).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().next().unwrap().to_string()
}

/// Quick retries: 10 ms doubling to 100 ms, 8 failed tries in a row, 30 s without a byte.
fn quick() -> TransferPolicy {
    TransferPolicy {
        retry: RetryPolicy {
            max_attempts: 8,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            max_total: Duration::from_secs(30),
            jitter: false,
        },
        ..TransferPolicy::default()
    }
}

fn downloader() -> Downloader {
    Downloader::new(&ClientOptions::default(), quick()).unwrap()
}

struct Setup {
    server: FileServer,
    proxy: HttpFaultProxy,
    data: Vec<u8>,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let server = FileServer::start();
        let data = content(1, SIZE);
        server.put("f.bin", &data);
        let proxy = HttpFaultProxy::start(server.addr());
        Setup {
            server,
            proxy,
            data,
            dir: tempfile::tempdir().unwrap(),
        }
    }
    /// The file's URL through the proxy.
    fn url(&self) -> DownloadUrl {
        DownloadUrl::parse(&format!("{}/files/f.bin", self.proxy.endpoint())).unwrap()
    }
    fn dest(&self) -> PathBuf {
        self.dir.path().join("f.bin")
    }
    async fn get(&self, src: &dyn UrlSource) -> Result<Downloaded> {
        downloader()
            .download(
                src,
                &self.dest(),
                &Reporter::silent(),
                &CancellationToken::new(),
            )
            .await
    }
    /// The file is there, byte-identical to `want`, and no `.part` is left.
    fn assert_file(&self, want: &[u8]) {
        let got = std::fs::read(self.dest()).unwrap();
        assert!(
            got == want,
            "the downloaded file differs ({} vs {} bytes)",
            got.len(),
            want.len()
        );
        self.assert_no_part();
    }
    fn assert_no_part(&self) {
        assert!(!part_path(&self.dest()).exists(), ".part left behind");
        let left: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".part"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
    /// Nothing at all at the destination.
    fn assert_nothing(&self) {
        assert!(!self.dest().exists());
        self.assert_no_part();
    }
}

/// A source of signed URLs that counts how often it was asked, and for fresh ones.
struct Signer<'a> {
    server: &'a FileServer,
    proxy: &'a HttpFaultProxy,
    asked: AtomicU32,
    refreshed: AtomicU32,
}

#[async_trait]
impl UrlSource for Signer<'_> {
    async fn url(&self, refresh: bool) -> Result<DownloadUrl> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if refresh {
            self.refreshed.fetch_add(1, Ordering::SeqCst);
        }
        let signed = self.server.signed_url("f.bin", 3600);
        let through_proxy = signed.replace(&self.server.endpoint(), &self.proxy.endpoint());
        DownloadUrl::parse(&through_proxy)
    }
}

#[tokio::test]
async fn plain_download_reports_progress_and_proves_the_hash() {
    let s = Setup::new();
    let seen = Arc::new(Mutex::new(Vec::<ProgressUpdate>::new()));
    let s2 = seen.clone();
    let reporter = Reporter::with_interval(
        Arc::new(move |u: &ProgressUpdate| s2.lock().unwrap().push(u.clone())),
        "j",
        Duration::ZERO,
    );
    let src = s
        .url()
        .with_size(SIZE as u64)
        .with_sha256(sha256_hex(&s.data));
    let d = downloader()
        .download(&src, &s.dest(), &reporter, &CancellationToken::new())
        .await
        .unwrap();
    s.assert_file(&s.data);
    assert_eq!(d.size, SIZE as u64);
    assert_eq!(d.sha256, sha256_hex(&s.data));
    assert_eq!((d.requests, d.resumes, d.restarts, d.retries), (1, 0, 0, 0));
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter().all(|u| u.phase == Phase::Downloading),
        "{seen:?}"
    );
    assert!(seen.iter().all(|u| u.bytes_total == Some(SIZE as u64)));
    assert_eq!(seen.last().unwrap().bytes_done, SIZE as u64);
    assert!(seen.iter().any(|u| u.bytes_per_sec > 0.0));
    // A destination that exists is refused, and nothing is touched.
    let e = s.get(&src).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    s.assert_file(&s.data);
}

#[tokio::test]
async fn cut_after_n_bytes_resumes_with_range_and_if_range() {
    let s = Setup::new();
    s.proxy
        .inject(Some("GET"), HttpFault::CutBodyAfter(300_000), 1);
    let d = s.get(&s.url()).await.unwrap();
    s.assert_file(&s.data);
    assert_eq!((d.requests, d.resumes, d.restarts), (2, 1, 0));
    let ex = s.proxy.exchanges();
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].body_bytes, 300_000);
    assert_eq!(ex[1].status, 206);
    assert_eq!(ex[1].range.as_deref(), Some("bytes=300000-"));
    // Pinned to the first answer's strong ETag.
    assert_eq!(s.server.requests()[1].if_range, ex[1].if_range);
    assert_eq!(
        ex[1].if_range.as_deref(),
        Some(format!("\"v1-{SIZE}\"").as_str())
    );
    // Resume proven: not one byte came twice.
    assert_eq!(s.proxy.body_bytes(), SIZE as u64);
    assert_eq!(d.bytes_received, SIZE as u64);
}

#[tokio::test]
async fn cut_repeatedly_every_byte_comes_once() {
    let s = Setup::new();
    // Five cuts, each after 150 kB of head + body.
    s.proxy.inject(Some("GET"), HttpFault::CutAfter(150_000), 5);
    let src = s.url().with_sha256(sha256_hex(&s.data));
    let d = s.get(&src).await.unwrap();
    s.assert_file(&s.data);
    assert_eq!((d.requests, d.resumes, d.restarts), (6, 5, 0));
    assert_eq!(s.proxy.body_bytes(), SIZE as u64, "a resume re-sent bytes");
    let ranges: Vec<_> = s
        .proxy
        .exchanges()
        .iter()
        .map(|x| x.range.clone())
        .collect();
    assert_eq!(ranges[0], None);
    assert!(ranges[1..].iter().all(|r| r.is_some()), "{ranges:?}");
}

#[tokio::test]
async fn server_ignoring_range_starts_over_from_its_200() {
    let s = Setup::new();
    s.proxy
        .inject(Some("GET"), HttpFault::CutBodyAfter(400_000), 1);
    s.proxy.inject(Some("GET"), HttpFault::StripRange, 1);
    let d = s.get(&s.url()).await.unwrap();
    s.assert_file(&s.data);
    assert_eq!((d.requests, d.resumes, d.restarts), (2, 1, 1));
    let ex = s.proxy.exchanges();
    assert_eq!(ex[1].status, 200);
    assert_eq!(s.proxy.body_bytes(), 400_000 + SIZE as u64);
}

#[tokio::test]
async fn etag_change_with_if_range_gets_the_new_file_whole() {
    let s = Setup::new();
    let v2 = content(2, SIZE + 1234);
    // The file changes before the second request.
    s.server.replace_at_request("f.bin", 2, &v2);
    s.proxy
        .inject(Some("GET"), HttpFault::CutBodyAfter(500_000), 1);
    let d = s.get(&s.url()).await.unwrap();
    s.assert_file(&v2);
    assert_eq!(d.restarts, 1);
    let ex = s.proxy.exchanges();
    assert_eq!(
        ex[1].status, 200,
        "If-Range must have made the server send it whole"
    );
    assert_eq!(d.sha256, sha256_hex(&v2));
}

#[tokio::test]
async fn etag_change_behind_a_range_is_detected_and_started_over() {
    let s = Setup::new();
    let v2 = content(3, SIZE);
    s.server.replace_at_request("f.bin", 2, &v2);
    s.proxy
        .inject(Some("GET"), HttpFault::CutBodyAfter(500_000), 1);
    // A cache that drops If-Range: the server sends a range of the new version (206).
    s.proxy.inject(Some("GET"), HttpFault::StripIfRange, 1);
    let d = s.get(&s.url()).await.unwrap();
    s.assert_file(&v2);
    assert_eq!((d.requests, d.restarts), (3, 1));
    let ex = s.proxy.exchanges();
    assert_eq!(ex[1].status, 206);
    assert!(ex[2].range.is_none(), "the restart asks for the whole file");
    // Nothing of the mismatched range was kept: it was refused before its body was read.
    assert_eq!(ex[2].status, 200);
}

async fn expiry_mid_download(style: ExpiryStyle) {
    let s = Setup::new();
    s.server.require_signed_urls(style);
    // The URL dies after the first request (the one the proxy cuts).
    s.server.expire_after(1);
    s.proxy
        .inject(Some("GET"), HttpFault::CutBodyAfter(250_000), 1);
    let signer = Signer {
        server: &s.server,
        proxy: &s.proxy,
        asked: AtomicU32::new(0),
        refreshed: AtomicU32::new(0),
    };
    let d = s.get(&signer).await.unwrap();
    s.assert_file(&s.data);
    assert_eq!(signer.refreshed.load(Ordering::SeqCst), 1);
    assert_eq!(d.refreshes, 1);
    let statuses: Vec<u16> = s.server.requests().iter().map(|r| r.status).collect();
    let expired = match style {
        ExpiryStyle::S3 => 403,
        ExpiryStyle::Agent(code) => code,
    };
    assert_eq!(statuses, vec![200, expired, 206]);
    // Resumed with the fresh URL, not restarted.
    assert_eq!(
        s.proxy.exchanges()[2].range.as_deref(),
        Some("bytes=250000-")
    );
    assert_eq!(d.bytes_received, SIZE as u64);
    assert_eq!(d.restarts, 0);
}

#[tokio::test]
async fn s3_url_expires_mid_download_fresh_url_resumes() {
    expiry_mid_download(ExpiryStyle::S3).await;
}

#[tokio::test]
async fn agent_url_expires_mid_download_fresh_url_resumes() {
    expiry_mid_download(ExpiryStyle::Agent(410)).await;
}

#[tokio::test]
async fn an_expired_url_that_cannot_be_renewed_is_an_auth_error() {
    let s = Setup::new();
    s.server.require_signed_urls(ExpiryStyle::Agent(401));
    let signed = s.server.signed_url("f.bin", 3600);
    s.server.expire_all();
    let url =
        DownloadUrl::parse(&signed.replace(&s.server.endpoint(), &s.proxy.endpoint())).unwrap();
    let e = s.get(&url).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(!e.message().contains("sig="), "{e}");
    s.assert_nothing();
}

#[tokio::test]
async fn burst_of_500s_is_retried() {
    let s = Setup::new();
    s.proxy.inject(
        Some("GET"),
        HttpFault::Respond {
            status: 500,
            headers: vec![],
            body: "boom".into(),
        },
        3,
    );
    let d = s.get(&s.url()).await.unwrap();
    s.assert_file(&s.data);
    assert_eq!((d.requests, d.retries), (4, 3));
}

#[tokio::test]
async fn burst_of_503s_midway_is_retried_and_resumed() {
    let s = Setup::new();
    s.proxy
        .inject(Some("GET"), HttpFault::CutBodyAfter(200_000), 1);
    s.proxy.inject(
        Some("GET"),
        HttpFault::Respond {
            status: 503,
            headers: vec![("Retry-After".into(), "0".into())],
            body: "<Error><Code>SlowDown</Code></Error>".into(),
        },
        4,
    );
    let d = s.get(&s.url()).await.unwrap();
    s.assert_file(&s.data);
    assert_eq!((d.requests, d.resumes, d.retries), (6, 5, 5));
    assert_eq!(s.proxy.body_bytes() - 4 * 36, SIZE as u64);
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after() {
    let s = Setup::new();
    // Status(429) answers with `Retry-After: 1`; the policy's own waits are 10 ms.
    s.proxy.inject(Some("GET"), HttpFault::Status(429), 1);
    let waits = Arc::new(Mutex::new(Vec::new()));
    let w2 = waits.clone();
    let reporter = Reporter::with_interval(
        Arc::new(move |u: &ProgressUpdate| {
            if let Some(r) = &u.retry {
                w2.lock().unwrap().push(r.wait_ms);
            }
        }),
        "j",
        Duration::ZERO,
    );
    let t0 = Instant::now();
    let d = downloader()
        .download(&s.url(), &s.dest(), &reporter, &CancellationToken::new())
        .await
        .unwrap();
    assert!(t0.elapsed() >= Duration::from_secs(1), "{:?}", t0.elapsed());
    assert_eq!(*waits.lock().unwrap(), vec![1000]);
    assert_eq!(d.retries, 1);
    s.assert_file(&s.data);
}

#[tokio::test]
async fn slow_drip_completes() {
    let s = Setup::new();
    s.proxy.inject(
        Some("GET"),
        HttpFault::Drip {
            chunk: 32 * 1024,
            pause_ms: 5,
        },
        1,
    );
    let d = s.get(&s.url()).await.unwrap();
    s.assert_file(&s.data);
    assert_eq!((d.requests, d.retries), (1, 0));
}

#[tokio::test]
async fn stalled_connection_times_out_and_resumes() {
    let s = Setup::new();
    s.proxy
        .inject(Some("GET"), HttpFault::StallAfter(100_000), 1);
    let opts = ClientOptions {
        idle_timeout: Duration::from_millis(500),
        ..ClientOptions::default()
    };
    let t0 = Instant::now();
    let d = Downloader::new(&opts, quick())
        .unwrap()
        .download(
            &s.url(),
            &s.dest(),
            &Reporter::silent(),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10));
    s.assert_file(&s.data);
    assert_eq!((d.requests, d.resumes), (2, 1));
    assert_eq!(
        s.proxy.exchanges()[1].range.as_deref(),
        Some("bytes=100000-")
    );
}

#[tokio::test]
async fn content_length_larger_than_the_body_is_resumed() {
    let s = Setup::new();
    // The head promises 1000 bytes more than come; then a clean close.
    s.proxy
        .inject(Some("GET"), HttpFault::ContentLengthDelta(1000), 1);
    let src = s.url().with_size(SIZE as u64);
    let d = s.get(&src).await.unwrap();
    s.assert_file(&s.data);
    // Everything came in the first answer, and the promised size says it is complete.
    assert_eq!(d.requests, 1, "{d:?}");
    assert_eq!(d.bytes_received, SIZE as u64);

    // Without a promised size: the resume's `416 bytes */SIZE` says the file was complete.
    std::fs::remove_file(s.dest()).unwrap();
    s.proxy.reset_counts();
    s.proxy
        .inject(Some("GET"), HttpFault::ContentLengthDelta(1000), 1);
    let d = s.get(&s.url()).await.unwrap();
    s.assert_file(&s.data);
    assert_eq!((d.requests, d.restarts), (2, 0), "{d:?}");
    let ex = s.proxy.exchanges();
    assert_eq!(ex[1].status, 416);
    assert_eq!(s.proxy.body_bytes(), SIZE as u64);
}

#[tokio::test]
async fn content_length_smaller_than_the_file_is_not_accepted() {
    let s = Setup::new();
    // The head says 1000 bytes fewer; the body stops there, cleanly. The promised size exposes it.
    s.proxy
        .inject(Some("GET"), HttpFault::ContentLengthDelta(-1000), 1);
    let src = s.url().with_size(SIZE as u64);
    let d = s.get(&src).await.unwrap();
    s.assert_file(&s.data);
    assert_eq!((d.requests, d.resumes), (2, 1));
    let ex = s.proxy.exchanges();
    assert_eq!(ex[1].range, Some(format!("bytes={}-", SIZE - 1000)));
    assert_eq!(s.proxy.body_bytes(), SIZE as u64);
}

#[tokio::test]
async fn truncated_body_with_a_clean_close_is_resumed_and_proven_by_hash() {
    let s = Setup::new();
    // No size promised: only Content-Length tells the body is short.
    s.proxy
        .inject(Some("GET"), HttpFault::CutBodyAfter(SIZE as u64 - 1), 1);
    let src = s.url().with_sha256(sha256_hex(&s.data));
    let d = s.get(&src).await.unwrap();
    s.assert_file(&s.data);
    assert_eq!((d.requests, d.resumes), (2, 1));
    assert_eq!(s.proxy.exchanges()[1].body_bytes, 1);
}

#[tokio::test]
async fn sha256_mismatch_fails_at_once_and_keeps_nothing() {
    let s = Setup::new();
    let src = s.url().with_sha256(sha256_hex(b"something else"));
    let e = s.get(&src).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.message().contains("SHA-256 mismatch"), "{e}");
    assert_eq!(
        s.proxy.requests(),
        1,
        "a clean download that mismatches is not repeated"
    );
    s.assert_nothing();
}

#[tokio::test]
async fn not_found_fails_at_once() {
    let s = Setup::new();
    let url = DownloadUrl::parse(&format!("{}/files/missing.bin", s.proxy.endpoint())).unwrap();
    let e = s.get(&url).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.message().contains("404"), "{e}");
    assert_eq!(s.proxy.requests(), 1);
    s.assert_nothing();
}

#[tokio::test]
async fn a_forged_signed_url_is_refused_at_once() {
    let s = Setup::new();
    s.server.require_signed_urls(ExpiryStyle::S3);
    let signed = s.server.signed_url("f.bin", 3600);
    let forged = signed.replace("sig=", "sig=00");
    let url =
        DownloadUrl::parse(&forged.replace(&s.server.endpoint(), &s.proxy.endpoint())).unwrap();
    let e = s.get(&url).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
    assert!(!e.message().contains("sig"), "{e}");
    assert_eq!(
        s.proxy.requests(),
        1,
        "a 403 that is not an expiry is permanent"
    );
    s.assert_nothing();
}

#[tokio::test]
async fn bearer_token_is_sent_and_never_shown() {
    let s = Setup::new();
    s.server.require_bearer("s3cret-token");
    let e = s
        .get(&s.url().bearer("wrong-token").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(!format!("{e} {:?}", e.hint()).contains("wrong-token"));
    assert_eq!(s.proxy.requests(), 1, "401 is permanent");
    s.assert_nothing();
    s.get(&s.url().bearer("s3cret-token").unwrap())
        .await
        .unwrap();
    s.assert_file(&s.data);
}

#[tokio::test]
async fn a_server_that_keeps_failing_is_given_up_on() {
    let s = Setup::new();
    s.proxy.inject(
        Some("GET"),
        HttpFault::Respond {
            status: 502,
            headers: vec![],
            body: String::new(),
        },
        100,
    );
    let e = s.get(&s.url()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.message().contains("gave up after 8 failed tries"), "{e}");
    assert_eq!(s.proxy.requests(), 8);
    s.assert_nothing();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_midway_is_prompt_and_keeps_nothing() {
    let s = Setup::new();
    // 1 MiB dripped 16 KiB per 100 ms: the whole body takes 6.4 s to pass, the cancel comes
    // after 200 KB (≈ 1.3 s). Prompt means the download stops reading when cancelled: the
    // proxy's answer ends cut short, not after the rest of the file was read.
    s.proxy.inject(
        Some("GET"),
        HttpFault::Drip {
            chunk: 16 * 1024,
            pause_ms: 100,
        },
        1,
    );
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    let reporter = Reporter::with_interval(
        Arc::new(move |u: &ProgressUpdate| {
            if u.bytes_done > 200_000 && !c2.is_cancelled() {
                c2.cancel();
            }
        }),
        "j",
        Duration::ZERO,
    );
    let e = downloader()
        .download(&s.url(), &s.dest(), &reporter, &cancel)
        .await
        .unwrap_err();
    assert!(cancel.is_cancelled(), "cancelled midway");
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    // The proxy records the exchange when its answer ends (its next write after the client
    // went away): waited for off the runtime (which closes the cancelled connection meanwhile),
    // then it must have been cut well before the file's end.
    let ex = tokio::task::block_in_place(|| s.proxy.wait_for_exchanges(1, Duration::from_secs(30)));
    assert_eq!(
        ex.len(),
        1,
        "one request, not retried after the cancel: {ex:?}"
    );
    assert!(
        ex[0].body_bytes < (SIZE / 2) as u64,
        "the download went on reading after the cancel: {} of {SIZE} bytes passed",
        ex[0].body_bytes
    );
    s.assert_nothing();
}

#[tokio::test]
async fn tls_pinned_fingerprint_accepts_its_certificate_and_names_a_changed_one() {
    let (cert_a, key_a, der_a) = self_signed();
    let (cert_b, key_b, der_b) = self_signed();
    let data = content(9, 300_000);
    let dir = tempfile::tempdir().unwrap();
    let pinned_a = Fingerprint::of_der(&der_a);
    assert_eq!(Fingerprint::of_pem(&cert_a).unwrap(), pinned_a);
    let client = |trust| {
        Downloader::new(
            &ClientOptions {
                tls: trust,
                ..ClientOptions::default()
            },
            quick(),
        )
        .unwrap()
    };

    // The pinned certificate: downloads.
    let server_a = FileServer::start_tls(&cert_a, &key_a);
    server_a.put("f.bin", &data);
    let dest = dir.path().join("a.bin");
    let url = DownloadUrl::parse(&server_a.url("f.bin")).unwrap();
    client(TlsTrust::Pinned(pinned_a))
        .download(&url, &dest, &Reporter::silent(), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    // Trusting it as a root works too (the name 127.0.0.1 is in it).
    let dest = dir.path().join("root.bin");
    client(TlsTrust::RootCert(cert_a.clone().into_bytes()))
        .download(&url, &dest, &Reporter::silent(), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);

    // The server now shows another certificate: a clear, permanent error naming both.
    let server_b = FileServer::start_tls(&cert_b, &key_b);
    server_b.put("f.bin", &data);
    let dest = dir.path().join("b.bin");
    let url = DownloadUrl::parse(&server_b.url("f.bin")).unwrap();
    let retries = Arc::new(Mutex::new(0_u32));
    let r2 = retries.clone();
    let reporter = Reporter::with_interval(
        Arc::new(move |u: &ProgressUpdate| {
            if u.retry.is_some() {
                *r2.lock().unwrap() += 1;
            }
        }),
        "j",
        Duration::ZERO,
    );
    let e = client(TlsTrust::Pinned(pinned_a))
        .download(&url, &dest, &reporter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(!e.is_temporary() && !e.is_retryable(), "{e:?}");
    let msg = e.message();
    assert!(msg.contains(&pinned_a.to_string()), "{msg}");
    assert!(
        msg.contains(&Fingerprint::of_der(&der_b).to_string()),
        "{msg}"
    );
    assert!(msg.contains("certificate changed"), "{msg}");
    assert_eq!(*retries.lock().unwrap(), 0, "not retried");
    assert!(server_b.requests().is_empty(), "no request got through");
    assert!(!dest.exists() && !part_path(&dest).exists());
    // Trust on first use: what the server shows, read without sending a request.
    let seen = server_fingerprint(&server_b.url("f.bin"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(seen, Fingerprint::of_der(&der_b));
    assert!(server_b.requests().is_empty());
    // The platform's store does not know a self-signed certificate either.
    let e = client(TlsTrust::Platform)
        .download(&url, &dest, &Reporter::silent(), &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection);
    assert!(!e.is_temporary(), "{e}");
}

// A full disk: crates/bench/tests/transfer_full_disk.rs (the download runs as its own process in a
// private mount namespace with a small tmpfs).

#[tokio::test]
async fn a_range_answer_larger_than_it_announces_is_refused_and_keeps_nothing() {
    // Hostile input: the resume's `206` announces ten bytes (`Content-Range`) but sends the whole
    // rest. Nothing past the announced range may reach the file.
    let s = Setup::new();
    s.proxy
        .inject(Some("GET"), HttpFault::CutBodyAfter(300_000), 1);
    s.proxy.inject(
        Some("GET"),
        HttpFault::SetHeader {
            name: "Content-Range".into(),
            value: Some(format!("bytes 300000-300009/{SIZE}")),
        },
        1,
    );
    let e = s.get(&s.url()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(
        e.message().contains("more than the range it announced"),
        "{e}"
    );
    assert!(e.hint().unwrap().contains("nothing was kept"), "{e:?}");
    // The proxy records an exchange when it has finished answering it, which may be just after
    // the client gave up on the answer: wait (bounded) until both are recorded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut ex = s.proxy.exchanges();
    while ex.len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        ex = s.proxy.exchanges();
    }
    assert_eq!(ex.len(), 2, "not retried: {ex:?}");
    assert_eq!(ex[1].status, 206, "{ex:?}");
    s.assert_nothing();
}

/// Issue 41: a server that answers a download with a redirect to another port of this machine
/// (a second, real server holding a file) is not followed, whatever the redirect's kind: the
/// second server is never contacted, nothing is kept, and the error says why and is not retried.
#[tokio::test]
async fn a_redirect_to_another_port_is_refused_and_never_followed() {
    let elsewhere = FileServer::start();
    elsewhere.put("f.bin", &content(7, 4096));
    for status in [301, 302, 303, 307, 308] {
        let hostile = WebhookReceiver::start();
        hostile.script(
            (0..10)
                .map(|_| Answer::status(status).with_header("location", &elsewhere.url("f.bin"))),
        );
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        let url = DownloadUrl::parse(&hostile.url("/files/f.bin?token=s3cr3t")).unwrap();
        let e = downloader()
            .download(&url, &dest, &Reporter::silent(), &CancellationToken::new())
            .await
            .expect_err("a redirect must not lead to a download");
        assert_eq!(e.kind(), ErrorKind::Connection, "{status}: {e}");
        assert!(!e.is_temporary(), "{status}: a redirect is not retried");
        assert!(
            e.message().contains(&format!("HTTP {status}"))
                && e.message().contains("redirect")
                && e.message().contains("does not follow"),
            "{e}"
        );
        assert!(e.hint().is_some_and(|h| h.contains("own address")), "{e:?}");
        assert!(!format!("{e} {:?}", e.hint()).contains("s3cr3t"), "{e}");
        assert_eq!(hostile.requests().len(), 1, "{status}: asked once");
        assert!(
            elsewhere.requests().is_empty(),
            "{status}: the redirect's target was contacted"
        );
        assert!(!dest.exists() && !part_path(&dest).exists());
    }
}

/// Issue 41: the backup-server client (its API calls share the download client) follows no
/// redirect either: its bearer token never goes to the other port, and the error is clear.
#[tokio::test]
async fn the_backup_server_client_refuses_a_redirect_and_keeps_its_token_home() {
    let elsewhere = WebhookReceiver::start();
    let hostile = WebhookReceiver::start();
    let target = elsewhere.url("/latest/meta-data/");
    hostile.script((0..10).map(|_| Answer::status(307).with_header("location", &target)));
    let client =
        AgentClient::new(&hostile.url("/"), "shop", "tok-secret-123", None, false).unwrap();
    let e = client
        .backups()
        .await
        .expect_err("a redirect is not an answer");
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(!e.is_temporary(), "{e}");
    assert!(e.message().contains("redirect"), "{e}");
    assert!(!format!("{e} {:?}", e.hint()).contains("tok-secret-123"));
    assert_eq!(hostile.requests().len(), 1, "not retried");
    assert_eq!(
        hostile.requests()[0].header("authorization"),
        Some("Bearer tok-secret-123")
    );
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect's target was contacted: {:?}",
        elsewhere.requests()
    );
}
