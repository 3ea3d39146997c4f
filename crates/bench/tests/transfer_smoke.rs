//! The transfer benchmark's smoke run (`offsite-bench-transfer --quick`: 16 MiB, one run each):
//! it downloads with curl and with Offsite, cuts a download at 50 % and resumes it, and prints
//! its table. Speed ratios of a debug build mean nothing; the resume's re-sent bytes must still
//! meet the target (the binary exits non-zero otherwise).

#[test]
fn transfer_bench_quick_runs() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_offsite-bench-transfer"))
        .arg("--quick")
        .output()
        .expect("run offsite-bench-transfer");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("| `curl -o` |"), "{stdout}");
    assert!(stdout.contains("Offsite download"), "{stdout}");
    assert!(stdout.contains("re-sent by the resume"), "{stdout}");
    assert!(
        stdout.contains("resume: ") && stdout.contains("(met: target ≤ 1 %)"),
        "{stdout}"
    );
}
