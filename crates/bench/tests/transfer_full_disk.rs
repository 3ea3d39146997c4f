//! A full disk during a download: Offsite's download path (`offsite-bench-transfer get`, the
//! `transfer` module as its own process) writes into a real 512 KiB tmpfs, mounted in a private
//! user and mount namespace (`unshare`, util-linux: installed by `.ci/setup.sh`), so the machine's
//! mounts are never touched. It must fail with `disk_full` and its hint, and leave nothing in the
//! folder: no file, no `.part`.

use offsite_testkit::file_server::FileServer;

#[test]
fn a_full_disk_is_disk_full_and_leaves_no_part() {
    let server = FileServer::start();
    server.put("f.bin", &vec![7u8; 2 << 20]);
    let url = server.url("f.bin");
    let dir = tempfile::tempdir().unwrap();
    let script = r#"set -u
mount -t tmpfs -o size=512k tmpfs "$2" || exit 90
"$0" get "$1" "$2/f.bin"
echo "exit=$?"
echo "left=[$(ls -A "$2")]""#;
    let out = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .arg(env!("CARGO_BIN_EXE_offsite-bench-transfer"))
        .arg(&url)
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
    assert!(text.contains("exit=1"), "the download must fail:\n{text}");
    assert!(text.contains("(disk_full)"), "{text}");
    assert!(text.contains("free some space"), "the hint:\n{text}");
    assert!(
        text.contains("left=[]"),
        "nothing at the destination, no .part:\n{text}"
    );
}
