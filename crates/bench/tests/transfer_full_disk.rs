//! A full disk during a download: Offsite's download path (`offsite-bench-transfer get`, the
//! `transfer` module as its own process) writes into a real 512 KiB tmpfs, mounted in a private
//! user and mount namespace (`unshare`, util-linux: installed by `.ci/setup.sh`), so the machine's
//! mounts are never touched. It must fail with `disk_full` and its hint, and leave nothing in the
//! folder: no file, no `.part`. Twice: when the size is known (the space is reserved before the
//! first byte, so it fails there) and when it is not (no `Content-Length`: it fails writing).

use offsite_testkit::file_server::FileServer;
use offsite_testkit::{HttpFault, HttpFaultProxy};

#[test]
fn a_full_disk_is_disk_full_and_leaves_no_part() {
    let server = FileServer::start();
    server.put("f.bin", &vec![7u8; 2 << 20]);
    let url = server.url("f.bin");
    // The same file through a proxy that drops `Content-Length`: the size is unknown until the
    // connection closes.
    let proxy = HttpFaultProxy::start(server.addr());
    proxy.inject(
        Some("GET"),
        HttpFault::SetHeader {
            name: "content-length".into(),
            value: None,
        },
        1,
    );
    let no_length = format!("{}/files/f.bin", proxy.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let script = r#"set -u
mount -t tmpfs -o size=512k tmpfs "$3" || exit 90
echo "== sized"
"$0" get "$1" "$3/f.bin"
echo "exit=$?"
echo "left=[$(ls -A "$3")]"
echo "== unsized"
"$0" get "$2" "$3/f.bin"
echo "exit=$?"
echo "left=[$(ls -A "$3")]""#;
    let out = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .arg(env!("CARGO_BIN_EXE_offsite-bench-transfer"))
        .arg(&url)
        .arg(&no_length)
        .arg(dir.path())
        .output()
        .expect("run unshare (util-linux)");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the namespace with a small tmpfs could not be made (needs user namespaces):\n{text}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout.matches("exit=1").count(),
        2,
        "both downloads must fail:\n{text}"
    );
    assert_eq!(
        stdout.matches("left=[]").count(),
        2,
        "nothing at the destination, no .part, after either:\n{text}"
    );
    assert_eq!(stderr.matches("(disk_full)").count(), 2, "{text}");
    assert_eq!(
        stderr.matches("free some space").count(),
        2,
        "the hint:\n{text}"
    );
    // Where each failed: the sized one before downloading, the unsized one while writing.
    assert!(
        stderr.contains("making room for the 2097152 bytes of"),
        "{text}"
    );
    assert!(stderr.contains("writing "), "{text}");
    assert_eq!(
        proxy.injected(),
        1,
        "the unsized download went through the proxy"
    );
}
