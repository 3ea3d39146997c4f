//! The storage benchmark's fixture and server: a bucket written as plain files into a folder that
//! `s3s-fs` serves, with s3s-fs's own per-object records (`e_tag` = the body's MD5, as S3 keeps
//! it), and the `s3s-fs` process itself.
//!
//! s3s-fs keeps an object's ETag in `<root>/.bucket-<b64>.object-<b64>.internal.json` (URL-safe
//! base64 without padding); without that file it computes the MD5 on every GET and HEAD. Its
//! ListObjectsV2 answers never carry an ETag (see [`listed_etag`]).

use md5::{Digest, Md5};
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Credentials s3s-fs is started with (a throwaway server on 127.0.0.1).
pub const ACCESS_KEY: &str = "bench-access-key";
pub const SECRET_KEY: &str = "bench-secret-key";

/// The prefixes keys are spread over.
pub const PREFIXES: [&str; 4] = ["avatars", "docs", "media/2026", "misc"];

/// A cheap deterministic generator (xorshift64*): incompressible-enough bodies, fixed sizes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Object sizes: log-uniform between `min` and `max` bytes (1 KiB–1 MiB: mean ≈ 151 KB, so
/// 10,000 objects ≈ 1.5 GB).
#[derive(Debug, Clone, Copy)]
pub struct SizeRange {
    pub min: u64,
    pub max: u64,
}

impl SizeRange {
    pub fn pick(&self, rng: &mut Rng) -> u64 {
        let ratio = self.max as f64 / self.min as f64;
        ((self.min as f64) * ratio.powf(rng.unit())).round() as u64
    }
}

/// Key of object `i`: spread over [`PREFIXES`].
pub fn key(i: usize) -> String {
    format!("{}/obj-{i:07}.bin", PREFIXES[i % PREFIXES.len()])
}

/// URL-safe base64 without padding (s3s-fs's encoding of bucket and key in record names).
fn b64(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let b = s.as_bytes();
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        let chars = c.len() + 1;
        for k in 0..chars {
            out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
        }
    }
    out
}

/// Where s3s-fs keeps `bucket/key`'s record (with its ETag).
pub fn record_path(root: &Path, bucket: &str, key: &str) -> PathBuf {
    root.join(format!(
        ".bucket-{}.object-{}.internal.json",
        b64(bucket),
        b64(key)
    ))
}

/// The ETag s3s-fs would answer for `bucket/key` (from its record), `None` without one.
pub fn listed_etag(root: &Path, bucket: &str, key: &str) -> Option<String> {
    let raw = std::fs::read(record_path(root, bucket, key)).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    v.get("e_tag")?.as_str().map(str::to_owned)
}

/// Writes object `bucket/key` with `size` bytes from `rng`, and its record.
pub fn write_object(
    root: &Path,
    bucket: &str,
    key: &str,
    size: u64,
    rng: &mut Rng,
    buf: &mut Vec<u8>,
) {
    buf.resize(size as usize, 0);
    rng.fill(buf);
    let path = root.join(bucket).join(key);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("fixture folder");
    std::fs::write(&path, &buf[..]).expect("fixture object");
    let md5 = hex(&Md5::digest(&buf[..]));
    let record = serde_json::json!({ "e_tag": md5 });
    std::fs::write(record_path(root, bucket, key), record.to_string()).expect("fixture record");
}

/// Removes object `bucket/key` and its record.
pub fn delete_object(root: &Path, bucket: &str, key: &str) {
    std::fs::remove_file(root.join(bucket).join(key)).expect("remove fixture object");
    let _ = std::fs::remove_file(record_path(root, bucket, key));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A generated bucket: how many objects and bytes.
#[derive(Debug, Clone, Copy)]
pub struct Fixture {
    pub objects: usize,
    pub bytes: u64,
}

/// Writes `n` objects (keys [`key`]`(0..n)`) into `root/bucket`.
pub fn generate(root: &Path, bucket: &str, n: usize, sizes: SizeRange, seed: u64) -> Fixture {
    let mut rng = Rng::new(seed);
    let mut buf = Vec::new();
    let mut bytes = 0;
    for i in 0..n {
        let size = sizes.pick(&mut rng);
        write_object(root, bucket, &key(i), size, &mut rng, &mut buf);
        bytes += size;
    }
    Fixture { objects: n, bytes }
}

/// What [`change`] did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Changes {
    pub rewritten: usize,
    pub deleted: usize,
    pub added: usize,
    pub bytes_new: u64,
}

/// 1 % of a bucket of `n` objects changed: `n/100` rewritten with new content (same size, so
/// only the ETag / modification time tells), `n/500` deleted, `n/500` added.
pub fn change(
    root: &Path,
    bucket: &str,
    n: usize,
    sizes: SizeRange,
    seed: u64,
    rewrite_only: bool,
) -> Changes {
    let mut rng = Rng::new(seed);
    let mut buf = Vec::new();
    let mut c = Changes::default();
    let rewrite = (n / 100).max(1);
    let step = n / rewrite;
    for j in 0..rewrite {
        let k = key((j * step + 3) % n);
        let path = root.join(bucket).join(&k);
        let size = std::fs::metadata(&path).expect("fixture object").len();
        write_object(root, bucket, &k, size, &mut rng, &mut buf);
        c.rewritten += 1;
        c.bytes_new += size;
    }
    let few = if rewrite_only { 0 } else { (n / 500).max(1) };
    for j in 0..few {
        // Odd positions: never one of the rewritten ones (those are at j*step + 3 with step 100).
        delete_object(root, bucket, &key((j * step + 51) % n));
        c.deleted += 1;
        let size = sizes.pick(&mut rng);
        write_object(root, bucket, &key(n + j), size, &mut rng, &mut buf);
        c.added += 1;
        c.bytes_new += size;
    }
    c
}

/// The `s3s-fs` program: `$OFFSITE_S3S_FS`, `~/.cargo/bin/s3s-fs`, or `PATH`; exits saying how to
/// install it when missing.
pub fn s3s_fs_path() -> PathBuf {
    if let Some(p) = std::env::var_os("OFFSITE_S3S_FS") {
        return PathBuf::from(p);
    }
    find_program("s3s-fs")
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            let p = PathBuf::from(home).join(".cargo/bin/s3s-fs");
            p.is_file().then_some(p)
        })
        .unwrap_or_else(|| {
            fail(
                "s3s-fs not found (PATH, ~/.cargo/bin, $OFFSITE_S3S_FS). Install it: \
                  cargo install s3s-fs@0.14.1 --locked --features binary",
            )
        })
}

/// `rclone` on `PATH` (or `$OFFSITE_RCLONE`); exits saying how to install it when missing.
pub fn rclone_path() -> PathBuf {
    if let Some(p) = std::env::var_os("OFFSITE_RCLONE") {
        return PathBuf::from(p);
    }
    find_program("rclone")
        .unwrap_or_else(|| fail("rclone not found on PATH. Install it: apt-get install -y rclone"))
}

fn find_program(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

pub fn fail(msg: &str) -> ! {
    eprintln!("offsite-bench-storage: {msg}");
    std::process::exit(2);
}

/// How s3s-fs is started: its binary, and the preload library that turns Nagle's algorithm off
/// on the connections it accepts (`None`: as installed).
pub struct S3sFsCmd {
    pub bin: PathBuf,
    pub nodelay_shim: Option<PathBuf>,
}

impl S3sFsCmd {
    /// What the bench's header says of the server.
    pub fn describe(&self) -> &'static str {
        describe_server(self.nodelay_shim.is_some())
    }
}

/// What the bench's header says of a server with (`true`) or without the shim.
pub fn describe_server(nodelay: bool) -> &'static str {
    if nodelay {
        "s3s-fs with TCP_NODELAY on its connections (as MinIO and nginx set it by default)"
    } else {
        "s3s-fs as installed (Nagle's algorithm on: small responses wait for delayed ACKs)"
    }
}

/// The preload library's source: `accept`/`accept4` as libc's, then TCP_NODELAY on the new
/// connection. s3s-fs (hyper's server, tokio's listener) never sets it, so a response's body
/// written after its headers waits up to 40 ms for the client's delayed ACK (Nagle's algorithm);
/// MinIO (Go turns Nagle off on every TCP connection) and nginx (`tcp_nodelay on`), by default, do not
/// make clients wait like that.
const NODELAY_SHIM_C: &str = r#"#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
static int nodelay(int fd) {
    if (fd >= 0) { int one = 1; setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); }
    return fd;
}
int accept(int s, struct sockaddr *a, socklen_t *l) {
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real) real = dlsym(RTLD_NEXT, "accept");
    return nodelay(real(s, a, l));
}
int accept4(int s, struct sockaddr *a, socklen_t *l, int flags) {
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real) real = dlsym(RTLD_NEXT, "accept4");
    return nodelay(real(s, a, l, flags));
}
"#;

/// `rclone copy :s3:SOURCE DEST` against an S3 endpoint of this fixture (the floor the storage
/// benches compare with), its configuration from the environment and an empty `conf` file.
pub fn rclone_copy(
    rclone: &Path,
    conf: &Path,
    endpoint: &str,
    source: &str,
    dest: &Path,
) -> Command {
    if !conf.exists() {
        std::fs::write(conf, "").expect("rclone.conf");
    }
    let mut cmd = Command::new(rclone);
    cmd.arg("copy")
        .arg(format!(":s3:{source}"))
        .arg(dest)
        // rclone 1.60's AWS SDK refuses a CA bundle over plain HTTP ("unsupported
        // transport"); the endpoint is http://127.0.0.1 anyway.
        .env_remove("AWS_CA_BUNDLE")
        .env("RCLONE_CONFIG", conf)
        .env("RCLONE_S3_PROVIDER", "Other")
        .env("RCLONE_S3_ENDPOINT", endpoint)
        .env("RCLONE_S3_ACCESS_KEY_ID", ACCESS_KEY)
        .env("RCLONE_S3_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("RCLONE_S3_REGION", "us-east-1");
    cmd
}

/// Builds the TCP_NODELAY preload library into `dir` with the C compiler (`cc`, which Rust's
/// linker needs anyway); exits saying what to do when it cannot.
pub fn build_nodelay_shim(dir: &Path) -> PathBuf {
    let src = dir.join("nodelay.c");
    let lib = dir.join("libnodelay.so");
    std::fs::write(&src, NODELAY_SHIM_C).expect("writing nodelay.c");
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&lib)
        .arg(&src)
        .arg("-ldl")
        .output()
        .unwrap_or_else(|e| {
            fail(&format!(
                "running cc for the TCP_NODELAY shim: {e} (install gcc, or pass --server-nagle)"
            ))
        });
    if !out.status.success() {
        fail(&format!(
            "cc could not build the TCP_NODELAY shim: {} (or pass --server-nagle)",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    lib
}

/// A running s3s-fs serving `root` on a free loopback port; stopped when dropped.
pub struct S3sFs {
    child: Child,
    pub port: u16,
}

impl S3sFs {
    pub fn start(cmd: &S3sFsCmd, root: &Path, log: &Path) -> S3sFs {
        let port = {
            let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
            l.local_addr().expect("local addr").port()
        };
        let log = std::fs::File::create(log).expect("s3s-fs log");
        let mut command = Command::new(&cmd.bin);
        if let Some(shim) = &cmd.nodelay_shim {
            command.env("LD_PRELOAD", shim);
        }
        let child = command
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| fail(&format!("starting {}: {e}", cmd.bin.display())));
        let mut server = S3sFs { child, port };
        let t0 = Instant::now();
        loop {
            if let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
                let _ = s.write_all(b"");
                if let Some(shim) = &cmd.nodelay_shim {
                    // A statically linked or setuid s3s-fs would ignore LD_PRELOAD: the
                    // measurements would then be of the server as installed.
                    let maps = std::fs::read_to_string(format!("/proc/{}/maps", server.pid()))
                        .unwrap_or_default();
                    if !maps.contains(&*shim.to_string_lossy()) {
                        server.stop();
                        fail("s3s-fs did not load the TCP_NODELAY shim (LD_PRELOAD); pass --server-nagle to measure it as installed");
                    }
                }
                return server;
            }
            if let Ok(Some(st)) = server.child.try_wait() {
                fail(&format!("s3s-fs exited at start ({st}); see its log"));
            }
            if t0.elapsed() > Duration::from_secs(30) {
                server.stop();
                fail("s3s-fs did not listen within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shim turns Nagle's algorithm off on the connections a process accepts (Python's
    /// `accept` goes through libc's `accept4`, as tokio's does), and nothing does without it.
    #[test]
    fn the_nodelay_shim_sets_tcp_nodelay_on_accepted_connections() {
        use std::io::{BufRead, BufReader};
        let dir = tempfile::tempdir().unwrap();
        let shim = build_nodelay_shim(dir.path());
        let script = "import socket\n\
            s = socket.socket()\n\
            s.bind(('127.0.0.1', 0))\n\
            s.listen(1)\n\
            print(s.getsockname()[1], flush=True)\n\
            c, _ = s.accept()\n\
            print(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), flush=True)\n";
        for (preload, want) in [(true, "1"), (false, "0")] {
            let mut cmd = Command::new("python3");
            cmd.args(["-c", script]).stdout(Stdio::piped());
            if preload {
                cmd.env("LD_PRELOAD", &shim);
            }
            let mut child = cmd
                .spawn()
                .expect("python3 (Debian: apt-get install python3)");
            let mut out = BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            let port: u16 = line.trim().parse().expect("the port");
            let _conn = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
            line.clear();
            out.read_line(&mut line).unwrap();
            assert!(child.wait().unwrap().success());
            assert_eq!(line.trim(), want, "with the shim: {preload}");
        }
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(b64(""), "");
        assert_eq!(b64("f"), "Zg");
        assert_eq!(b64("fo"), "Zm8");
        assert_eq!(b64("foo"), "Zm9v");
        assert_eq!(b64("foobar"), "Zm9vYmFy");
        assert_eq!(b64("\u{ff}\u{ff}"), "w7_Dvw");
    }

    #[test]
    fn sizes_average_near_151_kb() {
        let mut rng = Rng::new(1);
        let r = SizeRange {
            min: 1024,
            max: 1 << 20,
        };
        let n = 100_000;
        let total: u64 = (0..n).map(|_| r.pick(&mut rng)).sum();
        let mean = total as f64 / n as f64;
        assert!((140_000.0..162_000.0).contains(&mean), "{mean}");
    }
}
