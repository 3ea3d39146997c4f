//! The upload benchmark's smoke run (`offsite-bench-upload --quick --server moto`: 16 MiB, one
//! run each): the floor (`curl -T`), `rclone copyto` and Offsite's `S3Destination` upload (with
//! and without a known SHA-256) to moto (testkit's; the measured runs use s3s-fs, which
//! `cargo test` does not need), each object checked on the server, and its table. Speed ratios
//! of a debug build on moto mean nothing; every upload must have arrived whole (the binary exits
//! non-zero otherwise).

#[test]
fn upload_bench_quick_runs() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_offsite-bench-upload"))
        .args(["--quick", "--cold-memory", "--server", "moto"])
        .output()
        .expect("run offsite-bench-upload");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "failed:\n{stdout}\n{stderr}");
    for row in [
        "| floor: `curl -T`",
        "| `rclone copyto` (defaults) |",
        "| Offsite, SHA-256 known (read once) |",
        "| Offsite, SHA-256 not known (read twice) |",
    ] {
        assert!(stdout.contains(row), "{row}:\n{stdout}");
    }
    assert!(stdout.contains("× rclone"), "{stdout}");
    assert!(stdout.contains("MiB to moto"), "{stdout}");
}
