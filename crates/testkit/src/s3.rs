//! A real S3-compatible server on 127.0.0.1 for tests: moto's server (`moto[server]` from PyPI,
//! installed by `.ci/setup.sh` into a virtualenv), and [`HttpFaultProxy`], an HTTP-aware fault
//! proxy to put in front of it.
//!
//! moto keeps objects in memory and accepts every key S3 accepts (`//`, `..` segments, a leading
//! `/`), with multipart uploads (ETags ending in `-N`), content types and user metadata, and
//! ListObjectsV2 pages of at most 1,000 keys. It never skips: when moto is missing the test
//! panics and says how to install it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Where `.ci/setup.sh` installs moto.
pub const MOTO_VENV: &str = "/opt/offsite/moto-venv";

/// The `moto_server` program: `$OFFSITE_MOTO_SERVER`, else the setup's virtualenv, else `PATH`.
pub fn moto_server_path() -> PathBuf {
    if let Some(p) = std::env::var_os("OFFSITE_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(MOTO_VENV).join("bin/moto_server");
    if venv.exists() {
        return venv;
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join("moto_server");
            if p.exists() {
                return p;
            }
        }
    }
    panic!(
        "testkit: moto_server not found ({MOTO_VENV}/bin/moto_server, PATH, $OFFSITE_MOTO_SERVER). \
         Install it: python3 -m venv {MOTO_VENV} && {MOTO_VENV}/bin/pip install 'moto[server]' \
         (or run .ci/setup.sh)"
    );
}

/// A moto S3 server on a free loopback port; stopped when dropped.
pub struct MotoServer {
    child: Child,
    port: u16,
}

/// Credentials moto accepts (any), used by every test for clarity.
pub const TEST_KEY_ID: &str = "testing-key-id";
pub const TEST_SECRET: &str = "testing-secret-key";

impl MotoServer {
    pub fn start() -> MotoServer {
        let bin = moto_server_path();
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("testkit: starting {}: {e}", bin.display()));
        let server = MotoServer { child, port };
        server.wait_ready(Duration::from_secs(30));
        server
    }

    fn wait_ready(&self, limit: Duration) {
        let t0 = Instant::now();
        loop {
            if let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let req = "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
                if s.write_all(req.as_bytes()).is_ok() {
                    let mut buf = [0u8; 12];
                    if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.") {
                        return;
                    }
                }
            }
            assert!(
                t0.elapsed() < limit,
                "testkit: moto_server did not answer on 127.0.0.1:{} within {limit:?}",
                self.port
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// What the proxy does to the next requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFault {
    /// Answer with this status (and `Retry-After: 1` for 429/503) without asking the server.
    Status(u16),
    /// Forward, then cut the answer after this many bytes (headers included).
    CutAfter(u64),
    /// Forward, sending the answer in small pieces with a pause between them.
    Drip { chunk: usize, pause_ms: u64 },
}

#[derive(Default)]
struct ProxyState {
    stop: AtomicBool,
    /// (only requests whose method is this, or any when `None`; fault; how many more times)
    faults: Mutex<Vec<(Option<String>, HttpFault, u32)>>,
    requests: AtomicU32,
    gets: AtomicU32,
    puts: AtomicU32,
    injected: AtomicU32,
    bytes_to_client: AtomicU64,
}

/// An HTTP/1.1 proxy on 127.0.0.1 that forwards one request per connection (it turns every
/// request into `Connection: close`) and injects faults into chosen requests: canned 5xx/429
/// answers, answers cut mid-body, slow drips. It counts requests by method, so a test can say
/// how many objects a pull really downloaded. Dropping it stops accepting.
pub struct HttpFaultProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
}

impl HttpFaultProxy {
    pub fn start(upstream: SocketAddr) -> HttpFaultProxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the HTTP proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(ProxyState::default());
        let st = state.clone();
        thread::Builder::new()
            .name("http-fault-proxy".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if st.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = conn else { continue };
                    let st = st.clone();
                    thread::spawn(move || {
                        let _ = serve(client, upstream, &st);
                    });
                }
            })
            .expect("spawn the HTTP proxy");
        HttpFaultProxy { addr, state }
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Apply `fault` to the next `times` requests with this method (`None`: any method).
    pub fn inject(&self, method: Option<&str>, fault: HttpFault, times: u32) {
        self.state
            .faults
            .lock()
            .unwrap()
            .push((method.map(str::to_string), fault, times));
    }

    /// Forget faults not applied yet.
    pub fn clear(&self) {
        self.state.faults.lock().unwrap().clear();
    }

    pub fn requests(&self) -> u32 {
        self.state.requests.load(Ordering::SeqCst)
    }
    /// Object downloads (GET requests other than listings), forwarded or faulted.
    pub fn gets(&self) -> u32 {
        self.state.gets.load(Ordering::SeqCst)
    }
    pub fn puts(&self) -> u32 {
        self.state.puts.load(Ordering::SeqCst)
    }
    /// Faults applied so far.
    pub fn injected(&self) -> u32 {
        self.state.injected.load(Ordering::SeqCst)
    }
    /// Reset the counters.
    pub fn reset_counts(&self) {
        self.state.requests.store(0, Ordering::SeqCst);
        self.state.gets.store(0, Ordering::SeqCst);
        self.state.puts.store(0, Ordering::SeqCst);
        self.state.injected.store(0, Ordering::SeqCst);
    }
}

impl Drop for HttpFaultProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
    }
}

/// Whether a GET is a listing (`GET /`, `GET /bucket?list-type=2…`) rather than an object.
fn is_listing(path: &str) -> bool {
    let p = path.split('?').next().unwrap_or("");
    path.contains("list-type=")
        || p.trim_start_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .count()
            <= 1
}

fn take_fault(st: &ProxyState, method: &str, path: &str) -> Option<HttpFault> {
    // A GET fault applies to object downloads only, never to listings.
    let is_listing = is_listing(path);
    let mut faults = st.faults.lock().unwrap();
    let i = faults.iter().position(|(m, _, n)| {
        *n > 0
            && match m {
                None => true,
                Some(m) => m.eq_ignore_ascii_case(method) && !(method == "GET" && is_listing),
            }
    })?;
    faults[i].2 -= 1;
    let f = faults[i].1.clone();
    if faults[i].2 == 0 {
        faults.remove(i);
    }
    Some(f)
}

fn serve(client: TcpStream, upstream: SocketAddr, st: &ProxyState) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    // The request head.
    let mut head = Vec::new();
    let mut content_length = 0usize;
    let mut request_line = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if request_line.is_empty() {
            request_line = line.clone();
            head.extend_from_slice(line.as_bytes());
            continue;
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        head.extend_from_slice(line.as_bytes());
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut body = vec![0u8; content_length];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    st.requests.fetch_add(1, Ordering::SeqCst);
    match method.as_str() {
        "GET" if !is_listing(&path) => st.gets.fetch_add(1, Ordering::SeqCst),
        "PUT" => st.puts.fetch_add(1, Ordering::SeqCst),
        _ => 0,
    };
    let fault = take_fault(st, &method, &path);
    if fault.is_some() {
        st.injected.fetch_add(1, Ordering::SeqCst);
    }
    let mut client = client;
    if let Some(HttpFault::Status(code)) = fault {
        let reason = match code {
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            _ => "Injected",
        };
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code><Message>injected by the test proxy</Message></Error>",
            if code == 429 { "TooManyRequests" } else if code == 503 { "SlowDown" } else { "InternalError" }
        );
        let resp = format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        );
        client.write_all(resp.as_bytes())?;
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(&head)?;
    up.write_all(&body)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent: u64 = 0;
    loop {
        let n = up.read(&mut buf)?;
        if n == 0 {
            break;
        }
        match &fault {
            Some(HttpFault::CutAfter(limit)) => {
                let room = limit.saturating_sub(sent) as usize;
                let take = room.min(n);
                client.write_all(&buf[..take])?;
                sent += take as u64;
                if take < n {
                    let _ = client.shutdown(Shutdown::Both);
                    return Ok(());
                }
            }
            Some(HttpFault::Drip { chunk, pause_ms }) => {
                for piece in buf[..n].chunks((*chunk).max(1)) {
                    client.write_all(piece)?;
                    client.flush()?;
                    thread::sleep(Duration::from_millis(*pause_ms));
                }
                sent += n as u64;
            }
            _ => {
                client.write_all(&buf[..n])?;
                sent += n as u64;
            }
        }
        st.bytes_to_client.fetch_add(n as u64, Ordering::Relaxed);
    }
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}
