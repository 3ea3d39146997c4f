//! The `--diff --recover` benches on tiny datasets (one run each), so that they cannot rot:
//! two backups of a 4 MiB dataset with one table changed, and one tenant of ten recovered with
//! `--children` from a 4 MiB multi-tenant backup. The bench itself checks what it measures (the
//! diff's counts and statuses, the recovered tenant's rows equal to the source's) and exits
//! non-zero otherwise; the bytes-read target holds at any size. Times of a debug build mean
//! nothing and are not checked.
//!
//! Needs the `offsite` binary beside the bench's (`cargo build -p offsite-cli`; `cargo test
//! --workspace` builds it).

#[test]
fn diff_and_recover_benches_run_on_tiny_datasets() {
    let bench = std::path::PathBuf::from(env!("CARGO_BIN_EXE_offsite-bench"));
    let offsite = bench.with_file_name("offsite");
    assert!(
        offsite.is_file(),
        "{} is missing: build it first with `cargo build -p offsite-cli`",
        offsite.display()
    );
    let out = std::process::Command::new(&bench)
        .args(["--diff", "--recover", "--size-mb", "4", "--tenant-mb", "4"])
        .args(["--tenants", "10", "--runs", "1", "--jobs", "1"])
        .arg("--offsite-bin")
        .arg(&offsite)
        .output()
        .expect("run offsite-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("## offsite diff: one table changed"),
        "{stdout}"
    );
    let bytes = stdout
        .lines()
        .find(|l| l.starts_with("| bytes read vs the changed table"))
        .unwrap_or_else(|| panic!("no bytes-read verdict:\n{stdout}"));
    assert!(bytes.ends_with("| PASS |"), "{bytes}");
    assert!(stdout.contains("| diff vs full restore"), "{stdout}");
    assert!(
        stdout.contains("## offsite recover: one tenant with --children"),
        "{stdout}"
    );
    assert!(stdout.contains("| recover vs full restore"), "{stdout}");
    assert!(stdout.contains("| peak RSS of offsite recover"), "{stdout}");
    assert!(
        stdout.contains("floor: read every table's COPY lines"),
        "{stdout}"
    );
}
