//! A small HTTP(S) file server on 127.0.0.1 for download tests and benchmarks: it serves named
//! files from disk with a strong ETag and `Last-Modified`, honours `Range: bytes=N-` / `N-M`
//! with `If-Range` (a stale validator gets the whole file, `200`), answers `416` past the end,
//! and can hand out signed URLs that expire — the way S3 answers them (`403` with "Request has
//! expired") or the way the Offsite agent does (`401`/`403`/`410` with `{"code":"url_expired"}`).
//!
//! A test can replace a file at a chosen request (the ETag changes), expire every URL handed out
//! so far, or expire them after the next N requests (an expiry that lands mid-download, without
//! timing races). Every request is recorded (path, `Range`, `If-Range`, status).
//!
//! With [`FileServer::start_tls`] it speaks HTTPS with a given certificate ([`self_signed`] makes
//! one). It runs on its own thread with its own runtime and stops when dropped.

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// How the server answers an expired or forged signed URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryStyle {
    /// S3: `403` with an XML body whose message is "Request has expired".
    S3,
    /// The Offsite agent: this status (`401`, `403` or `410`) with `{"code":"url_expired"}`.
    Agent(u16),
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct ServedRequest {
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub authorization: Option<String>,
    pub status: u16,
}

struct FileEntry {
    path: PathBuf,
    size: u64,
    version: u32,
    /// (the request number, counted over all requests, at which `path` becomes this file).
    replace_at: Option<(u32, PathBuf)>,
}

struct State {
    dir: tempfile::TempDir,
    files: BTreeMap<String, FileEntry>,
    /// Sign URLs and refuse unsigned or expired ones.
    signed: bool,
    key: [u8; 32],
    /// URLs signed with an older generation are expired.
    generation: u32,
    /// Bump the generation once this many more requests were served.
    expire_after: Option<u32>,
    style: ExpiryStyle,
    /// Required `Authorization` header value, if any.
    bearer: Option<String>,
    requests: Vec<ServedRequest>,
    count: u32,
}

/// The server (see the module's rules).
pub struct FileServer {
    addr: SocketAddr,
    tls: bool,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A self-signed certificate for `127.0.0.1` and `localhost`: (certificate PEM, key PEM,
/// certificate DER).
pub fn self_signed() -> (String, String, Vec<u8>) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("testkit: generate a self-signed certificate");
    (
        ck.cert.pem(),
        ck.key_pair.serialize_pem(),
        ck.cert.der().to_vec(),
    )
}

impl FileServer {
    /// Plain HTTP.
    pub fn start() -> FileServer {
        Self::spawn(None)
    }

    /// HTTPS with this certificate and key (PEM).
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> FileServer {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .expect("testkit: certificate PEM");
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("testkit: key PEM");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("testkit: TLS server config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self::spawn(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }

    fn spawn(tls: Option<tokio_rustls::TlsAcceptor>) -> FileServer {
        let mut key = [0u8; 32];
        for (i, b) in key.iter_mut().enumerate() {
            *b = (std::process::id() as u8)
                .wrapping_mul(31)
                .wrapping_add(i as u8 * 7);
        }
        let state = Arc::new(Mutex::new(State {
            dir: tempfile::Builder::new()
                .prefix("offsite-file-server-")
                .tempdir()
                .expect("testkit: file server folder"),
            files: BTreeMap::new(),
            signed: false,
            key,
            generation: 0,
            expire_after: None,
            style: ExpiryStyle::S3,
            bearer: None,
            requests: Vec::new(),
            count: 0,
        }));
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("testkit: bind the file server");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("file server address");
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let is_tls = tls.is_some();
        std::thread::Builder::new()
            .name("file-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("file server runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    loop {
                        let conn = tokio::select! {
                            c = listener.accept() => c,
                            _ = &mut stopped => break,
                        };
                        let Ok((stream, _)) = conn else { continue };
                        let _ = stream.set_nodelay(true);
                        let st = st.clone();
                        let tls = tls.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |req| {
                                let st = st.clone();
                                async move { Ok::<_, Infallible>(handle(&st, req)) }
                            });
                            match tls {
                                Some(acceptor) => {
                                    let Ok(s) = acceptor.accept(stream).await else {
                                        return;
                                    };
                                    let _ = http1::Builder::new()
                                        .serve_connection(TokioIo::new(s), service)
                                        .await;
                                }
                                None => {
                                    let _ = http1::Builder::new()
                                        .serve_connection(TokioIo::new(stream), service)
                                        .await;
                                }
                            }
                        });
                    }
                });
            })
            .expect("spawn the file server");
        FileServer {
            addr,
            tls: is_tls,
            state,
            stop: Some(stop),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http(s)://127.0.0.1:<port>`
    pub fn endpoint(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.addr
        )
    }

    /// Serve `bytes` as `/files/<name>` (written to the server's own folder).
    pub fn put(&self, name: &str, bytes: &[u8]) {
        let path = self.lock().dir.path().join(format!("{name}.v0"));
        std::fs::write(&path, bytes).expect("testkit: write a served file");
        self.serve_file(name, &path);
    }

    /// Serve the file at `path` as `/files/<name>` (read at each request, never copied).
    pub fn serve_file(&self, name: &str, path: &Path) {
        let size = std::fs::metadata(path).expect("testkit: served file").len();
        let mut st = self.lock();
        let version = st.files.get(name).map(|f| f.version + 1).unwrap_or(1);
        st.files.insert(
            name.to_string(),
            FileEntry {
                path: path.to_path_buf(),
                size,
                version,
                replace_at: None,
            },
        );
    }

    /// From the `nth` request on (counted over all requests, 1 = the first), `/files/<name>`
    /// serves `bytes` instead (a new version: another ETag).
    pub fn replace_at_request(&self, name: &str, nth: u32, bytes: &[u8]) {
        let mut st = self.lock();
        let path = st.dir.path().join(format!("{name}.v-next"));
        std::fs::write(&path, bytes).expect("testkit: write a served file");
        st.files
            .get_mut(name)
            .expect("testkit: replace a file that is served")
            .replace_at = Some((nth, path));
    }

    /// Refuse requests without `Authorization: Bearer <token>` (401).
    pub fn require_bearer(&self, token: &str) {
        self.lock().bearer = Some(format!("Bearer {token}"));
    }

    /// Sign URLs ([`signed_url`](Self::signed_url)) and answer unsigned, forged or expired ones
    /// the way `style` says.
    pub fn require_signed_urls(&self, style: ExpiryStyle) {
        let mut st = self.lock();
        st.signed = true;
        st.style = style;
    }

    /// The URL of `/files/<name>`, unsigned.
    pub fn url(&self, name: &str) -> String {
        format!("{}/files/{name}", self.endpoint())
    }

    /// A signed URL of `/files/<name>` valid for `ttl_secs` seconds (and until the URLs are
    /// expired by [`expire_all`](Self::expire_all) or [`expire_after`](Self::expire_after)).
    pub fn signed_url(&self, name: &str, ttl_secs: u64) -> String {
        let st = self.lock();
        let expires = now_secs() + ttl_secs;
        let sig = sign(&st.key, &format!("/files/{name}"), expires, st.generation);
        format!(
            "{}/files/{name}?expires={expires}&gen={}&sig={sig}",
            self.endpoint(),
            st.generation
        )
    }

    /// Every URL signed so far is expired from now on.
    pub fn expire_all(&self) {
        self.lock().generation += 1;
    }

    /// The URLs signed so far expire once `n` more requests were served.
    pub fn expire_after(&self, n: u32) {
        self.lock().expire_after = Some(n);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<ServedRequest> {
        self.lock().requests.clone()
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn sign(key: &[u8; 32], path: &str, expires: u64, generation: u32) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let tag = ring::hmac::sign(&k, format!("{path}\n{expires}\n{generation}").as_bytes());
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

type Body = BoxBody<Bytes, std::io::Error>;

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

fn answer(status: u16, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("content-length", body.len())
        .body(full(body))
        .expect("response")
}

fn expired_answer(style: ExpiryStyle) -> Response<Body> {
    match style {
        ExpiryStyle::S3 => answer(
            403,
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>\
             <Message>Request has expired</Message></Error>"
                .into(),
        ),
        ExpiryStyle::Agent(status) => answer(
            status,
            "application/json",
            offsite_core::transfer::url_expired_body(),
        ),
    }
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `bytes=N-` or `bytes=N-M` → (first, last) within `size`; `Err` when unsatisfiable.
fn parse_range(v: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let r = v.trim().strip_prefix("bytes=")?;
    if r.contains(',') {
        return None; // multiple ranges: serve the whole file
    }
    let (a, b) = r.split_once('-')?;
    let first: u64 = a.trim().parse().ok()?;
    let last = if b.trim().is_empty() {
        size.saturating_sub(1)
    } else {
        b.trim().parse::<u64>().ok()?.min(size.saturating_sub(1))
    };
    if first >= size || last < first {
        return Some(Err(()));
    }
    Some(Ok((first, last)))
}

fn http_date(t: SystemTime) -> String {
    // A fixed, valid HTTP date derived from the version (exact matches are all If-Range needs).
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("Thu, 01 Jan 2026 00:00:{:02} GMT", secs % 60)
}

fn handle(st: &Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Body> {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let range = header("range");
    let if_range = header("if-range");
    let authorization = header("authorization");
    let mut s = st.lock().unwrap_or_else(|p| p.into_inner());
    s.count += 1;
    let count = s.count;
    let resp = respond(
        &mut s,
        count,
        &path,
        &query,
        range.as_deref(),
        if_range.as_deref(),
        authorization.as_deref(),
    );
    if let Some(n) = s.expire_after {
        if n <= 1 {
            s.expire_after = None;
            s.generation += 1;
        } else {
            s.expire_after = Some(n - 1);
        }
    }
    s.requests.push(ServedRequest {
        path,
        range,
        if_range,
        authorization: authorization.map(|_| "<redacted>".into()),
        status: resp.status().as_u16(),
    });
    resp
}

fn respond(
    s: &mut State,
    count: u32,
    path: &str,
    query: &str,
    range: Option<&str>,
    if_range: Option<&str>,
    authorization: Option<&str>,
) -> Response<Body> {
    if let Some(want) = &s.bearer {
        if authorization != Some(want.as_str()) {
            return answer(401, "application/json", r#"{"code":"unauthorized"}"#.into());
        }
    }
    let Some(name) = path.strip_prefix("/files/") else {
        return answer(404, "text/plain", "not found".into());
    };
    if s.signed {
        let expires = query_param(query, "expires").and_then(|v| v.parse::<u64>().ok());
        let generation = query_param(query, "gen").and_then(|v| v.parse::<u32>().ok());
        let sig = query_param(query, "sig");
        let (Some(expires), Some(generation), Some(sig)) = (expires, generation, sig) else {
            return answer(403, "application/json", r#"{"code":"forbidden"}"#.into());
        };
        if sign(&s.key, path, expires, generation) != sig {
            return answer(403, "application/json", r#"{"code":"forbidden"}"#.into());
        }
        if expires < now_secs() || generation != s.generation {
            return expired_answer(s.style);
        }
    }
    let Some(entry) = s.files.get_mut(name) else {
        return answer(404, "application/json", r#"{"code":"not_found"}"#.into());
    };
    if let Some((at, _)) = &entry.replace_at {
        if count >= *at {
            let (_, p) = entry.replace_at.take().unwrap();
            entry.size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            entry.path = p;
            entry.version += 1;
        }
    }
    let size = entry.size;
    let etag = format!("\"v{}-{size}\"", entry.version);
    let last_modified =
        http_date(UNIX_EPOCH + std::time::Duration::from_secs(entry.version as u64));
    let fresh = match if_range {
        None => true,
        Some(v) => v == etag || v == last_modified,
    };
    let (status, first, last) = match range.and_then(|r| parse_range(r, size)) {
        Some(Ok((a, b))) if fresh => (206, a, b),
        Some(Err(())) if fresh => {
            return Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header("content-range", format!("bytes */{size}"))
                .header("content-length", 0)
                .body(full(Bytes::new()))
                .expect("response");
        }
        _ => (200, 0, size.saturating_sub(1)),
    };
    let len = if size == 0 { 0 } else { last - first + 1 };
    let mut b = Response::builder()
        .status(status)
        .header("etag", &etag)
        .header("last-modified", &last_modified)
        .header("accept-ranges", "bytes")
        .header("content-type", "application/octet-stream")
        .header("content-length", len);
    if status == 206 {
        b = b.header("content-range", format!("bytes {first}-{last}/{size}"));
    }
    b.body(file_body(entry.path.clone(), first, len))
        .expect("response")
}

/// `len` bytes of the file at `path` from `first`, read on a blocking thread in 256 KiB pieces.
fn file_body(path: PathBuf, first: u64, len: u64) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(8);
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let mut file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        if let Err(e) = file.seek(std::io::SeekFrom::Start(first)) {
            let _ = tx.blocking_send(Err(e));
            return;
        }
        let mut pos = first;
        let end = first + len;
        while pos < end {
            let n = (end - pos).min(256 * 1024) as usize;
            let mut buf = vec![0u8; n];
            if let Err(e) = file.read_exact(&mut buf) {
                let _ = tx.blocking_send(Err(e));
                return;
            }
            pos += n as u64;
            if tx.blocking_send(Ok(Frame::data(Bytes::from(buf)))).is_err() {
                return;
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    BodyExt::boxed(StreamBody::new(stream))
}
