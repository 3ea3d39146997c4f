//! A real S3-compatible server on 127.0.0.1 for tests: moto's server (`moto[server]` from PyPI,
//! installed by `.ci/setup.sh` into a virtualenv). [`HttpFaultProxy`] (in `http_proxy.rs`,
//! re-exported here) is the HTTP-aware fault proxy to put in front of it.
//!
//! moto keeps objects in memory and accepts every key S3 accepts (`//`, `..` segments, a leading
//! `/`), with multipart uploads (ETags ending in `-N`), content types and user metadata, and
//! ListObjectsV2 pages of at most 1,000 keys. It never skips: when moto is missing the test
//! panics and says how to install it.

pub use crate::http_proxy::{HttpExchange, HttpFault, HttpFaultProxy};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
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

/// The `s3s-fs` program (a folder served as S3, checking SigV4 signatures):
/// `$OFFSITE_S3S_FS`, else `PATH`, else `~/.cargo/bin` (where `.ci/setup.sh` installs it).
pub fn s3s_fs_path() -> PathBuf {
    if let Some(p) = std::env::var_os("OFFSITE_S3S_FS") {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("s3s-fs"))
            .find(|p| p.is_file())
    });
    let in_cargo = || {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        let p = home.join("bin/s3s-fs");
        p.is_file().then_some(p)
    };
    on_path.or_else(in_cargo).unwrap_or_else(|| {
        panic!(
            "testkit: s3s-fs not found (PATH, ~/.cargo/bin, $OFFSITE_S3S_FS). Install it: \
             cargo install s3s-fs@0.14.1 --locked --features binary (or run .ci/setup.sh)"
        )
    })
}

/// An s3s-fs server on a free loopback port serving a temporary folder, with the access key
/// [`TEST_KEY_ID`] / [`TEST_SECRET`] (other keys are refused: `InvalidAccessKeyId` or
/// `SignatureDoesNotMatch`). Buckets are the folder's sub-folders. Stopped when dropped.
pub struct S3sFsServer {
    child: Child,
    port: u16,
    root: tempfile::TempDir,
}

impl S3sFsServer {
    pub fn start() -> S3sFsServer {
        let bin = s3s_fs_path();
        let root = tempfile::tempdir().expect("s3s-fs root");
        let port = free_port();
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", TEST_KEY_ID, "--secret-key", TEST_SECRET])
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("testkit: starting {}: {e}", bin.display()));
        let server = S3sFsServer { child, port, root };
        let t0 = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "testkit: s3s-fs did not listen on 127.0.0.1:{port} within 30 s"
            );
            thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Make a bucket (a folder under the root).
    pub fn create_bucket(&self, name: &str) {
        std::fs::create_dir_all(self.root.path().join(name)).expect("bucket folder");
    }

    /// The folder served.
    pub fn root(&self) -> &std::path::Path {
        self.root.path()
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for S3sFsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
