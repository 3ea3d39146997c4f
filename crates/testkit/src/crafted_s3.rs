//! [`CraftedS3`]: a hostile S3-compatible server on 127.0.0.1 for tests — it answers
//! ListObjectsV2 with the pages a test scripts (looping continuation tokens, a key listed twice,
//! keys out of order) and serves object bodies by key. It is the attacker: it checks no
//! signature and follows no rule of S3's but the XML shape of its answers.
//!
//! A listing request is answered by the page scripted for its `continuation-token` (none for
//! the first); `prefix`, `delimiter` and `start-after` are ignored. It counts listings, so a test
//! can prove a client stopped.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// The one bucket the server lists (`GET /`); listings of any bucket get the scripted pages.
pub const BUCKET: &str = "b";

/// One scripted listing page.
#[derive(Debug, Clone, Default)]
pub struct CraftedPage {
    /// The keys, in the order answered (sizes are the served bodies').
    pub keys: Vec<String>,
    /// `NextContinuationToken` (and `IsTruncated`) when `Some`.
    pub next: Option<String>,
}

#[derive(Default)]
struct State {
    /// Page by the continuation token asked for (`None`: the first page).
    pages: BTreeMap<Option<String>, CraftedPage>,
    objects: BTreeMap<String, Vec<u8>>,
}

/// The server; stopped when dropped.
pub struct CraftedS3 {
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    listings: Arc<AtomicU32>,
    object_gets: Arc<AtomicU32>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl CraftedS3 {
    pub fn start() -> CraftedS3 {
        let state = Arc::new(Mutex::new(State::default()));
        let listings = Arc::new(AtomicU32::new(0));
        let object_gets = Arc::new(AtomicU32::new(0));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("testkit: bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("address");
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let (st, l, g) = (state.clone(), listings.clone(), object_gets.clone());
        std::thread::Builder::new()
            .name("crafted-s3".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("crafted s3 runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    loop {
                        let conn = tokio::select! {
                            c = listener.accept() => c,
                            _ = &mut stopped => break,
                        };
                        let Ok((stream, _)) = conn else { continue };
                        let (st, l, g) = (st.clone(), l.clone(), g.clone());
                        tokio::spawn(async move {
                            let service = service_fn(move |req| {
                                let (st, l, g) = (st.clone(), l.clone(), g.clone());
                                async move { Ok::<_, Infallible>(handle(&st, &l, &g, req)) }
                            });
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                });
            })
            .expect("spawn the crafted s3 server");
        CraftedS3 {
            addr,
            state,
            listings,
            object_gets,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:PORT` (path-style buckets).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answer a listing asking for `token` (`None`: the first page) with `page`.
    pub fn page(&self, token: Option<&str>, page: CraftedPage) {
        let mut s = self.state.lock().unwrap();
        s.pages.insert(token.map(str::to_string), page);
    }

    /// Serve `body` for `key` (any bucket).
    pub fn object(&self, key: &str, body: &[u8]) {
        let mut s = self.state.lock().unwrap();
        s.objects.insert(key.to_string(), body.to_vec());
    }

    /// Listing requests answered so far.
    pub fn listings(&self) -> u32 {
        self.listings.load(Ordering::SeqCst)
    }

    /// Object GETs answered so far.
    pub fn object_gets(&self) -> u32 {
        self.object_gets.load(Ordering::SeqCst)
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn etag_of(body: &[u8]) -> String {
    format!(
        "\"{:016x}{:016x}\"",
        body.len(),
        body.iter().map(|&b| b as u64).sum::<u64>()
    )
}

fn handle(
    st: &Mutex<State>,
    listings: &AtomicU32,
    gets: &AtomicU32,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let s = st.lock().unwrap();
    let segments: Vec<&str> = path.trim_start_matches('/').splitn(2, '/').collect();
    let key = segments.get(1).copied().filter(|k| !k.is_empty());
    if segments[0].is_empty() {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>x</ID></Owner><Buckets><Bucket><Name>{BUCKET}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>"
        );
        return Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/xml")
            .body(Full::new(Bytes::from(xml)))
            .unwrap();
    }
    let Some(key) = key else {
        if query.get("list-type").map(String::as_str) != Some("2") {
            return Response::builder()
                .status(StatusCode::OK)
                .body(Full::new(Bytes::new()))
                .unwrap();
        }
        listings.fetch_add(1, Ordering::SeqCst);
        let token = query.get("continuation-token").cloned();
        let page = s.pages.get(&token).cloned().unwrap_or_default();
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
        );
        xml.push_str(&format!(
            "<Name>{}</Name><Prefix></Prefix><KeyCount>{}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>{}</IsTruncated>",
            xml_escape(segments[0]),
            page.keys.len(),
            page.next.is_some()
        ));
        if let Some(t) = &token {
            xml.push_str(&format!(
                "<ContinuationToken>{}</ContinuationToken>",
                xml_escape(t)
            ));
        }
        if let Some(n) = &page.next {
            xml.push_str(&format!(
                "<NextContinuationToken>{}</NextContinuationToken>",
                xml_escape(n)
            ));
        }
        for k in &page.keys {
            let body = s.objects.get(k).map(Vec::as_slice).unwrap_or(b"");
            xml.push_str(&format!(
                "<Contents><Key>{}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>{}</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                xml_escape(k),
                xml_escape(&etag_of(body)),
                body.len()
            ));
        }
        xml.push_str("</ListBucketResult>");
        return Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/xml")
            .body(Full::new(Bytes::from(xml)))
            .unwrap();
    };
    let key = percent_decode(key);
    match s.objects.get(&key) {
        Some(body) => {
            gets.fetch_add(1, Ordering::SeqCst);
            Response::builder()
                .status(StatusCode::OK)
                .header("etag", etag_of(body))
                .header("last-modified", "Thu, 01 Jan 2026 00:00:00 GMT")
                .header("content-type", "application/octet-stream")
                .body(Full::new(Bytes::from(body.clone())))
                .unwrap()
        }
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header("content-type", "application/xml")
            .body(Full::new(Bytes::from_static(
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>",
            )))
            .unwrap(),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("k={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
