//! A real S3-compatible server on 127.0.0.1 for tests: moto's server (`moto[server]` from PyPI,
//! installed by `.ci/setup.sh` into a virtualenv). [`HttpFaultProxy`] (in `http_proxy.rs`,
//! re-exported here) is the HTTP-aware fault proxy to put in front of it.
//!
//! moto keeps objects in memory and accepts every key S3 accepts (`//`, `..` segments, a leading
//! `/`), with multipart uploads (ETags ending in `-N`), content types and user metadata, and
//! ListObjectsV2 pages of at most 1,000 keys. It never skips: when moto is missing the test
//! panics and says how to install it.

pub use crate::http_proxy::{HttpExchange, HttpFault, HttpFaultProxy};
use crate::ports::free_port;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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
    key_id: String,
    secret: String,
}

/// Credentials moto accepts (any), used by every test for clarity.
pub const TEST_KEY_ID: &str = "testing-key-id";
pub const TEST_SECRET: &str = "testing-secret-key";

impl MotoServer {
    /// moto as it comes: every request is accepted, whatever its key or signature
    /// ([`TEST_KEY_ID`] / [`TEST_SECRET`] are what tests send).
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
        let server = MotoServer {
            child,
            port,
            key_id: TEST_KEY_ID.into(),
            secret: TEST_SECRET.into(),
        };
        server.wait_ready(Duration::from_secs(30));
        server
    }

    /// moto checking every S3 request as AWS does: an IAM user with an access key allowed
    /// `s3:*` is made through moto's IAM API, then authentication is switched on
    /// (`/moto-api/reset-auth 0`, what `INITIAL_NO_AUTH_ACTION_COUNT=0` does from the start).
    /// From then on a request signed with another key is refused with `InvalidAccessKeyId`, one
    /// with a wrong secret with `SignatureDoesNotMatch` (both 403). The access key made is
    /// [`Self::access_key_id`] / [`Self::secret_access_key`].
    pub fn start_checking_signatures() -> MotoServer {
        let mut server = MotoServer::start();
        let user = "offsite-tests";
        server.iam(&format!("Action=CreateUser&UserName={user}"));
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        server.iam(&format!(
            "Action=PutUserPolicy&UserName={user}&PolicyName=s3&PolicyDocument={}",
            form_encode(policy)
        ));
        let answer = server.iam(&format!("Action=CreateAccessKey&UserName={user}"));
        server.key_id = xml_text(&answer, "AccessKeyId");
        server.secret = xml_text(&answer, "SecretAccessKey");
        let (status, body) = server.post("/moto-api/reset-auth", "text/plain", None, "0");
        assert_eq!(status, 200, "testkit: moto reset-auth: {body}");
        server
    }

    /// The access key moto accepts ([`TEST_KEY_ID`] unless it checks signatures).
    pub fn access_key_id(&self) -> &str {
        &self.key_id
    }

    /// Its secret ([`TEST_SECRET`] unless it checks signatures).
    pub fn secret_access_key(&self) -> &str {
        &self.secret
    }

    /// One IAM query-API call while authentication is still off (moto routes a request by the
    /// service named in its `Authorization` header; the signature is not looked at yet).
    fn iam(&self, form: &str) -> String {
        let auth = "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, \
                    SignedHeaders=host, Signature=00";
        let body = format!("{form}&Version=2010-05-08");
        let (status, answer) =
            self.post("/", "application/x-www-form-urlencoded", Some(auth), &body);
        assert_eq!(status, 200, "testkit: moto IAM {form}: {answer}");
        answer
    }

    /// A POST over a fresh connection; the answer's status and (at most 1 MiB of) its body.
    fn post(
        &self,
        path: &str,
        content_type: &str,
        auth: Option<&str>,
        body: &str,
    ) -> (u16, String) {
        let mut s =
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("testkit: connect to moto");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let auth = auth
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: {content_type}\r\n{auth}\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes()).expect("testkit: write to moto");
        let mut answer = Vec::new();
        s.take(1 << 20)
            .read_to_end(&mut answer)
            .expect("testkit: read moto's answer");
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
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

/// `application/x-www-form-urlencoded` value encoding.
fn form_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text of the first `<tag>…</tag>` in moto's answer (panics when there is none).
fn xml_text(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let text = xml
        .split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&format!("</{tag}>")))
        .map(|(t, _)| t.to_string());
    text.unwrap_or_else(|| panic!("testkit: no <{tag}> in moto's answer: {xml}"))
}
