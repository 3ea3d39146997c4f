//! `s3s-fs` on 127.0.0.1 for tests: an S3-compatible server that keeps objects as files in a
//! folder. As installed it lists objects without ETags and with last-modified times to the
//! fraction of a second, while a GET or HEAD answers whole seconds (HTTP dates): what storage
//! incrementals must cope with. It never skips: when `s3s-fs` is missing the test panics and
//! says how to install it (`.ci/setup.sh` does).

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The version `.ci/setup.sh` installs.
pub const S3S_FS_VERSION: &str = "0.14.1";
/// Credentials the server is started with.
pub const S3S_KEY_ID: &str = "offsite-test-key";
pub const S3S_SECRET: &str = "offsite-test-secret";

/// The `s3s-fs` program: `$OFFSITE_S3S_FS`, else `PATH`, else `~/.cargo/bin`.
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
             cargo install s3s-fs@{S3S_FS_VERSION} --locked --features binary (or run .ci/setup.sh)"
        )
    })
}

/// A running s3s-fs serving a fresh temporary folder; stopped (and the folder removed) when
/// dropped.
pub struct S3sFsServer {
    child: Child,
    port: u16,
    root: tempfile::TempDir,
}

impl S3sFsServer {
    pub fn start() -> S3sFsServer {
        let bin = s3s_fs_path();
        let root = tempfile::tempdir().expect("testkit: a folder for s3s-fs");
        let port = {
            let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
            l.local_addr().expect("local addr").port()
        };
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3S_KEY_ID, "--secret-key", S3S_SECRET])
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("testkit: starting {}: {e}", bin.display()));
        let mut server = S3sFsServer { child, port, root };
        let t0 = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Ok(Some(st)) = server.child.try_wait() {
                panic!("testkit: s3s-fs exited at start ({st})");
            }
            if t0.elapsed() > Duration::from_secs(30) {
                server.stop();
                panic!("testkit: s3s-fs did not listen on 127.0.0.1:{port} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The folder it serves (`<root>/<bucket>/<key>`).
    pub fn root(&self) -> &std::path::Path {
        self.root.path()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3sFsServer {
    fn drop(&mut self) {
        self.stop();
    }
}
