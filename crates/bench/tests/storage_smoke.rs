//! The storage benchmark's harness still runs end to end: a `--quick` run (1,000 objects on a
//! real s3s-fs, real rclone) exits 0 and prints every row, the ratios and the JSON line.
//!
//! Ignored by default because it needs `s3s-fs` and `rclone`, which the CI setup does not
//! install; run it with
//! `cargo test --release -p offsite-bench --test storage_smoke -- --ignored`.
//! (Without the tools the benchmark exits non-zero naming the missing program, so this test
//! fails rather than skipping.)

use std::process::Command;

#[test]
#[ignore = "needs s3s-fs and rclone (cargo install s3s-fs@0.14.1 --locked --features binary; apt-get install -y rclone)"]
fn quick_run_prints_the_table_and_the_json_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_offsite-bench-storage"))
        .arg("--quick")
        .output()
        .expect("run offsite-bench-storage");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stderr}\n{stdout}",
        out.status
    );
    for row in [
        "| (a) |", "| (b) |", "| (c) |", "| (d) |", "| (e) |", "| (f) |", "| (f2) |", "| (d0) |",
    ] {
        assert!(stdout.contains(row), "missing row {row}:\n{stdout}");
    }
    let json: serde_json::Value = serde_json::from_str(
        stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .expect("a JSON line"),
    )
    .expect("JSON");
    for key in [
        "a_secs",
        "full_vs_best_rclone",
        "next_full_vs_rclone_rerun",
        "incremental_vs_rclone_rerun",
        "rss_500_offsite_mib",
        "rss_2000_offsite_mib",
    ] {
        let v = json[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {json}"));
        assert!(v > 0.0, "{key} = {v}");
    }
    // The next pull over the full one downloads only what changed (10 rewritten + 2 added):
    // the reuse path, not a second full download, was measured.
    assert!(
        stdout.contains("12 downloaded"),
        "the next pulls should download 12 objects:\n{stdout}"
    );
}
