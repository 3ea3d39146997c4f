//! A folder destination on a full disk: one `FolderDestination` put (`offsite-bench-upload
//! put-folder`, as its own process) into a real 512 KiB tmpfs, mounted in a private user and
//! mount namespace (`unshare`, util-linux), so the machine's mounts are never touched. A 2 MiB
//! archive does not fit: the put must fail with `disk_full` and its hint, and leave nothing in
//! the folder but its lock file: no object, no temporary. A small one that fits is then put
//! whole (the folder is usable again).

#[test]
fn a_full_disk_is_disk_full_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.tar.gz");
    std::fs::write(&big, vec![7u8; 2 << 20]).unwrap();
    let small = dir.path().join("small.tar.gz");
    std::fs::write(&small, vec![8u8; 100 << 10]).unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let script = r#"set -u
mount -t tmpfs -o size=512k tmpfs "$3" || exit 90
echo "== big"
"$0" put-folder "$1" "$3/copies" p/big.tar.gz
echo "exit=$?"
echo "left=[$(cd "$3" && find . -type f | sort | tr '\n' ' ')]"
echo "== small"
"$0" put-folder "$2" "$3/copies" p/small.tar.gz
echo "exit=$?"
echo "left=[$(cd "$3" && find . -type f | sort | tr '\n' ' ')]""#;
    let out = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .arg(env!("CARGO_BIN_EXE_offsite-bench-upload"))
        .arg(&big)
        .arg(&small)
        .arg(&mnt)
        .output()
        .expect("run unshare (util-linux)");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let text = format!("{stdout}\n{stderr}");
    assert!(
        out.status.success(),
        "the namespace with a small tmpfs could not be made (needs user namespaces):\n{text}"
    );
    let (big_part, small_part) = stdout.split_once("== small").expect("both ran");
    assert!(big_part.contains("exit=1"), "the put must fail:\n{text}");
    assert!(
        big_part.contains("left=[./copies/p/.offsite-folder.lock ]"),
        "only the folder's lock file may be left:\n{text}"
    );
    assert_eq!(stderr.matches("(disk_full)").count(), 1, "{text}");
    assert!(stderr.contains("free some space"), "the hint:\n{text}");
    assert!(small_part.contains("exit=0"), "{text}");
    assert!(
        small_part.contains("left=[./copies/p/.offsite-folder.lock ./copies/p/small.tar.gz ]"),
        "{text}"
    );
}
