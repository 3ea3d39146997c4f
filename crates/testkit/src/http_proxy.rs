//! [`HttpFaultProxy`]: an HTTP/1.1 proxy on 127.0.0.1 that forwards one request per connection
//! (it turns every request into `Connection: close`) and injects faults into chosen requests
//! (by method, and optionally by path prefix): canned answers (5xx, 429 with `Retry-After`, an
//! expired-URL `403`/`410`…), answers cut after N bytes (with or without their head, by a clean
//! close or a reset), slow drips, stalls, a `Content-Length` that lies, answer headers replaced
//! or removed (a changed `ETag`, a body without a length), a body byte flipped, and requests whose
//! `Range` / `If-Range` it drops (a server that ignores ranges, or serves a range of a file that
//! changed); [`HttpFault::All`] applies several to one request. It counts requests by method and
//! records every exchange with the body bytes it really passed to the client and when it
//! arrived, so a test can prove what a resume re-sent and how long a client waited. Dropping it
//! stops accepting.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What the proxy does to the next requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFault {
    /// Answer with this status (and `Retry-After: 1`) without asking the server.
    Status(u16),
    /// Answer this without asking the server.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Forward, then cut the answer after this many bytes (headers included).
    CutAfter(u64),
    /// Forward the head, then cut (a clean close) after this many bytes of body.
    CutBodyAfter(u64),
    /// Forward the head and this many bytes of body, then reset the connection (`RST`, after
    /// the client's side acknowledged what was sent, for up to 2 s).
    ResetBodyAfter(u64),
    /// Forward the head and this many bytes of body, then send nothing more while keeping the
    /// connection open (until the client gives up, or a minute).
    StallAfter(u64),
    /// Forward, sending the answer in small pieces with a pause between them.
    Drip { chunk: usize, pause_ms: u64 },
    /// Forward without the request's `Range` and `If-Range` (the server answers `200`).
    StripRange,
    /// Forward without the request's `If-Range` (a range of whatever the file is now).
    StripIfRange,
    /// Forward, with the answer's `Content-Length` changed by this many bytes; the body passes
    /// as it is (cut at the new length when that is shorter), then the connection closes.
    ContentLengthDelta(i64),
    /// Forward, with the answer's header `name` set to `value` (added when missing), or removed
    /// when `value` is `None` (without `Content-Length`, the body ends when the connection
    /// closes).
    SetHeader { name: String, value: Option<String> },
    /// Forward, with the body byte at this offset (of this answer's body) inverted.
    CorruptBodyAt(u64),
    /// Read the request's head and this many bytes of its body, then close the connection
    /// without asking the server (an upload cut midway; the client sees its send fail).
    CutRequestAfter(u64),
    /// Forward; a listing's answer (`GET /bucket?list-type=2…`) comes back without its
    /// `<ETag>` elements (as some S3-compatible servers list), its length fixed. Other requests
    /// pass unchanged.
    StripListingEtags,
    /// Several of the above on one request (a canned answer, if any, wins). Empty: forward
    /// unchanged (injected before another fault for the same requests, it lets the first ones
    /// through).
    All(Vec<HttpFault>),
}

impl HttpFault {
    /// This fault and those it holds, flat.
    fn flat(&self) -> Vec<&HttpFault> {
        match self {
            HttpFault::All(v) => v.iter().flat_map(HttpFault::flat).collect(),
            f => vec![f],
        }
    }
}

/// One request through the proxy and what the client got back.
#[derive(Debug, Clone)]
pub struct HttpExchange {
    pub method: String,
    /// The path without its query (signatures stay out of test output).
    pub path: String,
    /// The query's parameters, without the signature's (`X-Amz-*`, `Signature`, …): the
    /// listing's `max-keys`, `prefix`, `delimiter`, `start-after`, `continuation-token`.
    pub query: Vec<(String, String)>,
    /// The request's `Range` as it arrived from the client.
    pub range: Option<String>,
    /// The request's `If-Range` as it arrived from the client.
    pub if_range: Option<String>,
    /// The status the client got (0 when none).
    pub status: u16,
    /// When the proxy had read the request.
    pub at: Instant,
    /// Body bytes passed to the client.
    pub body_bytes: u64,
    pub fault: Option<HttpFault>,
}

/// A fault waiting for its requests.
struct Pending {
    /// Only requests with this method (any when `None`).
    method: Option<String>,
    /// Only requests whose path (without query) starts with this.
    path_prefix: Option<String>,
    fault: HttpFault,
    /// How many more times.
    times: u32,
}

#[derive(Default)]
struct ProxyState {
    stop: AtomicBool,
    faults: Mutex<Vec<Pending>>,
    requests: AtomicU32,
    gets: AtomicU32,
    puts: AtomicU32,
    injected: AtomicU32,
    bytes_to_client: AtomicU64,
    exchanges: Mutex<Vec<HttpExchange>>,
    /// Told each time an exchange is recorded ([`HttpFaultProxy::wait_for_exchanges`]).
    recorded: std::sync::Condvar,
}

/// The proxy (see the module's rules).
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

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Apply `fault` to the next `times` requests with this method (`None`: any method; a GET
    /// fault skips listings, see [`HttpFaultProxy::gets`]). A request takes the first fault
    /// injected (and not used up) that matches it.
    pub fn inject(&self, method: Option<&str>, fault: HttpFault, times: u32) {
        self.push(method, None, fault, times);
    }

    /// Apply `fault` to the next `times` requests with this method (`None`: any) whose path,
    /// without its query, starts with `path_prefix` (listings included).
    pub fn inject_path(
        &self,
        method: Option<&str>,
        path_prefix: &str,
        fault: HttpFault,
        times: u32,
    ) {
        self.push(method, Some(path_prefix), fault, times);
    }

    fn push(&self, method: Option<&str>, path_prefix: Option<&str>, fault: HttpFault, times: u32) {
        self.state.faults.lock().unwrap().push(Pending {
            method: method.map(str::to_string),
            path_prefix: path_prefix.map(str::to_string),
            fault,
            times,
        });
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
    /// Every exchange so far, in the order their requests arrived.
    pub fn exchanges(&self) -> Vec<HttpExchange> {
        // In the order the requests arrived. Each is recorded when it ends, and a cut answer
        // can end after the retry that followed it began (seen under load: `ex[1]` was the cut
        // first request).
        let mut all = self.state.exchanges.lock().unwrap().clone();
        all.sort_by_key(|x| x.at);
        all
    }
    /// Every exchange, once at least `n` have been recorded (an exchange is recorded when its
    /// answer ends, which can be just after the client has what it needed). Panics after
    /// `deadline` with what was recorded.
    pub fn wait_for_exchanges(&self, n: usize, deadline: std::time::Duration) -> Vec<HttpExchange> {
        let guard = self.state.exchanges.lock().unwrap();
        let (guard, _) = self
            .state
            .recorded
            .wait_timeout_while(guard, deadline, |all| all.len() < n)
            .unwrap();
        assert!(
            guard.len() >= n,
            "testkit: {} of {n} exchanges recorded within {deadline:?}: {:?}",
            guard.len(),
            *guard
        );
        drop(guard);
        self.exchanges()
    }
    /// Body bytes passed to clients, all exchanges together.
    pub fn body_bytes(&self) -> u64 {
        self.exchanges().iter().map(|x| x.body_bytes).sum()
    }
    /// Reset the counters and the record of exchanges.
    pub fn reset_counts(&self) {
        self.state.requests.store(0, Ordering::SeqCst);
        self.state.gets.store(0, Ordering::SeqCst);
        self.state.puts.store(0, Ordering::SeqCst);
        self.state.injected.store(0, Ordering::SeqCst);
        self.state.exchanges.lock().unwrap().clear();
    }
}

impl Drop for HttpFaultProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
    }
}

/// Whether a GET is a listing (`GET /`, `GET /bucket?list-type=2…`) rather than an object.
/// The query parameters of `path` that say what was asked, URL-decoded; none that sign.
fn listing_query(path: &str) -> Vec<(String, String)> {
    const KEPT: [&str; 7] = [
        "list-type",
        "max-keys",
        "prefix",
        "delimiter",
        "start-after",
        "continuation-token",
        "encoding-type",
    ];
    let Some((_, q)) = path.split_once('?') else {
        return Vec::new();
    };
    url::form_urlencoded::parse(q.as_bytes())
        .filter(|(k, _)| KEPT.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

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
    // A GET fault without a path applies to object downloads only, never to listings.
    let is_listing = is_listing(path);
    let bare = path.split('?').next().unwrap_or("");
    let mut faults = st.faults.lock().unwrap();
    let i = faults.iter().position(|p| {
        p.times > 0
            && match &p.path_prefix {
                Some(prefix) => {
                    bare.starts_with(prefix.as_str())
                        && p.method
                            .as_deref()
                            .is_none_or(|m| m.eq_ignore_ascii_case(method))
                }
                None => match &p.method {
                    None => true,
                    Some(m) => m.eq_ignore_ascii_case(method) && !(method == "GET" && is_listing),
                },
            }
    })?;
    faults[i].times -= 1;
    let f = faults[i].fault.clone();
    if faults[i].times == 0 {
        faults.remove(i);
    }
    Some(f)
}

fn canned(fault: &HttpFault) -> Option<String> {
    match fault {
        HttpFault::Status(code) => {
            let code = *code;
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
            Some(format!(
                "HTTP/1.1 {code} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            ))
        }
        HttpFault::Respond {
            status,
            headers,
            body,
        } => {
            let mut r = format!("HTTP/1.1 {status} Injected\r\n");
            for (k, v) in headers {
                r.push_str(&format!("{k}: {v}\r\n"));
            }
            r.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ));
            Some(r)
        }
        _ => None,
    }
}

fn serve(client: TcpStream, upstream: SocketAddr, st: &ProxyState) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    // The request head.
    let mut lines = Vec::new();
    let mut content_length = 0usize;
    let mut request_line = String::new();
    let (mut range, mut if_range) = (None, None);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if request_line.is_empty() {
            request_line = line.clone();
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
        if lower.starts_with("range:") {
            range = Some(line[6..].trim().to_string());
        }
        if lower.starts_with("if-range:") {
            if_range = Some(line[9..].trim().to_string());
        }
        lines.push((lower, line));
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let fault = take_fault(st, &method, &path);
    let cut_request = fault.as_ref().and_then(|f| {
        f.flat().into_iter().find_map(|f| match f {
            HttpFault::CutRequestAfter(n) => Some(*n),
            _ => None,
        })
    });
    let mut body = vec![0u8; content_length];
    if let Some(n) = cut_request {
        // Take part of the upload, then hang up (unread bytes make the close a reset).
        let n = (n as usize).min(content_length);
        reader.read_exact(&mut body[..n])?;
    } else {
        reader.read_exact(&mut body)?;
    }
    let at = Instant::now();
    st.requests.fetch_add(1, Ordering::SeqCst);
    match method.as_str() {
        "GET" if !is_listing(&path) => st.gets.fetch_add(1, Ordering::SeqCst),
        "PUT" => st.puts.fetch_add(1, Ordering::SeqCst),
        _ => 0,
    };
    if fault.is_some() {
        st.injected.fetch_add(1, Ordering::SeqCst);
    }
    if cut_request.is_some() {
        drop(reader);
        let _ = client.shutdown(Shutdown::Both);
        st.record(HttpExchange {
            method,
            path: path.split('?').next().unwrap_or("").to_string(),
            query: listing_query(&path),
            range,
            if_range,
            status: 0,
            at,
            body_bytes: 0,
            fault,
        });
        return Ok(());
    }
    let mut ex = HttpExchange {
        method: method.clone(),
        path: path.split('?').next().unwrap_or("").to_string(),
        query: listing_query(&path),
        range,
        if_range,
        status: 0,
        at,
        body_bytes: 0,
        fault: fault.clone(),
    };
    let r = exchange(
        client,
        upstream,
        st,
        &request_line,
        &lines,
        &body,
        fault,
        &mut ex,
    );
    st.record(ex);
    r
}

impl ProxyState {
    fn record(&self, ex: HttpExchange) {
        self.exchanges.lock().unwrap().push(ex);
        self.recorded.notify_all();
    }
}

#[allow(clippy::too_many_arguments)]
fn exchange(
    mut client: TcpStream,
    upstream: SocketAddr,
    st: &ProxyState,
    request_line: &str,
    lines: &[(String, String)],
    body: &[u8],
    fault: Option<HttpFault>,
    ex: &mut HttpExchange,
) -> std::io::Result<()> {
    let faults: Vec<&HttpFault> = fault.as_ref().map(HttpFault::flat).unwrap_or_default();
    if let Some(resp) = faults.iter().find_map(|f| canned(f)) {
        ex.status = resp
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        ex.body_bytes = resp
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.len() as u64)
            .unwrap_or(0);
        client.write_all(resp.as_bytes())?;
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    let strip_range = faults.iter().any(|f| matches!(f, HttpFault::StripRange));
    let strip_if_range = strip_range || faults.iter().any(|f| matches!(f, HttpFault::StripIfRange));
    let mut head = request_line.as_bytes().to_vec();
    for (lower, line) in lines {
        let strip = (strip_range && lower.starts_with("range:"))
            || (strip_if_range && lower.starts_with("if-range:"));
        if !strip {
            head.extend_from_slice(line.as_bytes());
        }
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(&head)?;
    up.write_all(body)?;

    // The answer's head (rewritten when the fault says so), then its body.
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending = Vec::new();
    let head_end = loop {
        let n = up.read(&mut buf)?;
        if n == 0 {
            // No complete head: pass on what came.
            client.write_all(&pending)?;
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        pending.extend_from_slice(&buf[..n]);
        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let rest = pending.split_off(head_end);
    let mut resp_head = String::from_utf8_lossy(&pending).into_owned();
    ex.status = resp_head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if strips_etags(&faults, request_line) {
        return pass_without_etags(client, &mut up, st, &resp_head, rest, ex);
    }
    // Body bytes to pass at most, and the fault that stops there.
    let mut body_limit: Option<u64> = None;
    let mut limit_by = |n: u64| body_limit = Some(body_limit.map_or(n, |l| l.min(n)));
    for f in &faults {
        match f {
            HttpFault::CutBodyAfter(n)
            | HttpFault::StallAfter(n)
            | HttpFault::ResetBodyAfter(n) => limit_by(*n),
            HttpFault::ContentLengthDelta(delta) => {
                let mut out = String::new();
                for line in resp_head.split_inclusive("\r\n") {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        let real: i64 = v.trim().parse().unwrap_or(0);
                        let lied = (real + delta).max(0);
                        limit_by(lied as u64);
                        out.push_str(&format!("Content-Length: {lied}\r\n"));
                    } else {
                        out.push_str(line);
                    }
                }
                resp_head = out;
            }
            HttpFault::SetHeader { name, value } => {
                let prefix = format!("{}:", name.to_ascii_lowercase());
                let mut out = String::new();
                for line in resp_head.split_inclusive("\r\n") {
                    if line.to_ascii_lowercase().starts_with(&prefix) {
                        continue;
                    }
                    if line == "\r\n" {
                        if let Some(v) = value {
                            out.push_str(&format!("{name}: {v}\r\n"));
                        }
                    }
                    out.push_str(line);
                }
                resp_head = out;
            }
            _ => {}
        }
    }
    let stall = faults.iter().any(|f| matches!(f, HttpFault::StallAfter(_)));
    let reset = faults
        .iter()
        .any(|f| matches!(f, HttpFault::ResetBodyAfter(_)));
    let drip = faults.iter().find_map(|f| match f {
        HttpFault::Drip { chunk, pause_ms } => Some(((*chunk).max(1), *pause_ms)),
        _ => None,
    });
    let corrupt_at = faults.iter().find_map(|f| match f {
        HttpFault::CorruptBodyAt(n) => Some(*n),
        _ => None,
    });
    // CutAfter counts the head too.
    let total_limit = faults.iter().find_map(|f| match f {
        HttpFault::CutAfter(n) => Some(*n),
        _ => None,
    });
    let mut sent: u64 = 0;
    let mut emit = |client: &mut TcpStream,
                    data: &[u8],
                    is_body: bool,
                    ex: &mut HttpExchange|
     -> std::io::Result<bool> {
        let mut take = data.len();
        if let Some(limit) = total_limit {
            take = take.min(limit.saturating_sub(sent) as usize);
        }
        if is_body {
            if let Some(limit) = body_limit {
                take = take.min(limit.saturating_sub(ex.body_bytes) as usize);
            }
        }
        let whole = take == data.len();
        let mut data = data[..take].to_vec();
        if let Some(at) = corrupt_at.filter(|_| is_body) {
            if (ex.body_bytes..ex.body_bytes + take as u64).contains(&at) {
                data[(at - ex.body_bytes) as usize] ^= 0xff;
            }
        }
        match drip {
            Some((chunk, pause_ms)) => {
                for piece in data.chunks(chunk) {
                    client.write_all(piece)?;
                    client.flush()?;
                    if is_body {
                        ex.body_bytes += piece.len() as u64;
                    }
                    thread::sleep(Duration::from_millis(pause_ms));
                }
            }
            None => {
                client.write_all(&data)?;
                if is_body {
                    ex.body_bytes += take as u64;
                }
            }
        }
        sent += take as u64;
        st.bytes_to_client.fetch_add(take as u64, Ordering::Relaxed);
        Ok(whole)
    };
    let mut go_on = emit(&mut client, resp_head.as_bytes(), false, ex)?;
    if go_on && !rest.is_empty() {
        go_on = emit(&mut client, &rest, true, ex)?;
    }
    while go_on {
        let n = up.read(&mut buf)?;
        if n == 0 {
            break;
        }
        go_on = emit(&mut client, &buf[..n], true, ex)?;
    }
    if !go_on && stall {
        // Hold the connection open, silent, until the client gives up.
        let _ = client.set_read_timeout(Some(Duration::from_secs(60)));
        let mut sink = [0u8; 1024];
        while let Ok(n) = client.read(&mut sink) {
            if n == 0 {
                break;
            }
        }
    }
    if !go_on && reset {
        reset_connection(&client);
        return Ok(()); // the reset happens when the last handle closes
    }
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// Make the socket's close a reset (`SO_LINGER` 0), once the client acknowledged what was sent
/// (its send queue empty, for up to 2 s; Unix's `TIOCOUTQ`). Windows has no way to read a TCP
/// socket's send queue: there the reset is armed at once, so a reset may cut bytes still queued
/// (the fault tests that count on them arriving first are listed in docs/development.md).
fn reset_connection(client: &TcpStream) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let fd = client.as_raw_fd();
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            let mut queued: libc::c_int = 0;
            // SAFETY: `fd` is an open socket; TIOCOUTQ writes one int.
            let r = unsafe { libc::ioctl(fd, libc::TIOCOUTQ as _, &mut queued) };
            if r != 0 || queued == 0 || Instant::now() > until {
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
    let _ = socket2::SockRef::from(client).set_linger(Some(Duration::ZERO));
}

/// The whole answer (head `head`, body `rest` then the rest of `up` until it closes; at most
/// 64 MiB) without its `<ETag>…</ETag>` elements, with a `Content-Length` that fits.
fn without_etags(head: &str, rest: Vec<u8>, up: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut body = rest;
    up.take(64 << 20).read_to_end(&mut body)?;
    let lower = head.to_ascii_lowercase();
    if lower.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(i) = text[at..].find("<ETag>") {
        out.push_str(&text[at..at + i]);
        match text[at + i..].find("</ETag>") {
            Some(j) => at = at + i + j + "</ETag>".len(),
            None => {
                at += i;
                break;
            }
        }
    }
    out.push_str(&text[at..]);
    let mut new_head = String::new();
    for line in head.split_inclusive("\r\n") {
        let l = line.to_ascii_lowercase();
        if l.starts_with("content-length:") || l.starts_with("transfer-encoding:") {
            continue;
        }
        if line == "\r\n" {
            new_head.push_str(&format!("Content-Length: {}\r\n", out.len()));
        }
        new_head.push_str(line);
    }
    let mut answer = new_head.into_bytes();
    answer.extend_from_slice(out.as_bytes());
    Ok(answer)
}

fn answer_head_len(answer: &[u8]) -> usize {
    answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |i| i + 4)
}

/// A chunked body's bytes (what a test server sends; stops at the first malformed chunk).
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..i])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size else { break };
        if size == 0 || b.len() < i + 2 + size {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[(i + 4 + size).min(b.len())..];
    }
    out
}

/// Whether this request is a listing whose answer loses its ETags ([`HttpFault::StripListingEtags`]).
fn strips_etags(faults: &[&HttpFault], request_line: &str) -> bool {
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    faults
        .iter()
        .any(|f| matches!(f, HttpFault::StripListingEtags))
        && request_line.starts_with("GET ")
        && is_listing(path)
}

/// Sends the client the answer without its ETags (see [`without_etags`]), then closes.
fn pass_without_etags(
    mut client: TcpStream,
    up: &mut TcpStream,
    st: &ProxyState,
    resp_head: &str,
    rest: Vec<u8>,
    ex: &mut HttpExchange,
) -> std::io::Result<()> {
    let answer = without_etags(resp_head, rest, up)?;
    ex.body_bytes = (answer.len() - answer_head_len(&answer)) as u64;
    st.bytes_to_client
        .fetch_add(answer.len() as u64, Ordering::Relaxed);
    client.write_all(&answer)?;
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}
