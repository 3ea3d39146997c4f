//! What ships beside the binaries: the systemd units pass `systemd-analyze verify` (with the real
//! `offsite` binary as their ExecStart) and keep their hardening; the Containerfile passes
//! hadolint with no finding and keeps its own rules (no image can be built here: no container
//! engine).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn unit(name: &str) -> String {
    std::fs::read_to_string(repo().join("packaging/systemd").join(name)).unwrap()
}

/// `systemd-analyze verify` exits 0 even for unknown keys: every line it prints is a finding.
fn verify(name: &str, text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let exe = env!("CARGO_BIN_EXE_offsite");
    std::fs::write(&path, text.replace("/usr/bin/offsite", exe)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian package systemd; .ci/setup.sh installs it)");
    assert!(
        out.status.success(),
        "systemd-analyze verify {name} failed: {out:?}"
    );
    let mut said = String::from_utf8_lossy(&out.stderr).into_owned();
    said.push_str(&String::from_utf8_lossy(&out.stdout));
    said
}

#[test]
fn the_systemd_units_verify_clean_and_keep_their_hardening() {
    for name in ["offsite-serve.service", "offsite-daemon.service"] {
        let text = unit(name);
        let said = verify(name, &text);
        assert!(
            said.trim().is_empty(),
            "{name}: systemd-analyze verify says:\n{said}"
        );
        for must in [
            "DynamicUser=yes",
            "StateDirectory=",
            "StateDirectoryMode=0700",
            "UMask=0077",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "CapabilityBoundingSet=\n",
            "Environment=OFFSITE_SECRET_STORE=env",
        ] {
            assert!(text.contains(must), "{name} lost `{}`", must.trim());
        }
    }
    // The unit runs exactly the documented commands.
    assert!(unit("offsite-serve.service")
        .contains("ExecStart=/usr/bin/offsite serve --config /etc/offsite/agent.toml"));
    assert!(unit("offsite-daemon.service").contains("ExecStart=/usr/bin/offsite --json daemon"));
}

#[test]
fn a_broken_unit_is_caught_by_the_check() {
    let text = unit("offsite-serve.service").replace("DynamicUser=yes", "DynamicUsr=yes");
    let said = verify("offsite-serve.service", &text);
    assert!(
        said.contains("DynamicUsr"),
        "the check missed an unknown key: {said:?}"
    );
}

#[test]
fn the_containerfile_runs_the_agent_as_non_root_with_a_health_check() {
    let text = std::fs::read_to_string(repo().join("packaging/container/Containerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    let user = lines
        .iter()
        .rfind(|l| l.starts_with("USER "))
        .expect("a USER line");
    let uid = user["USER ".len()..].split(':').next().unwrap();
    assert!(
        uid.parse::<u32>().map(|u| u >= 1000).unwrap_or(false),
        "non-root numeric USER: {user}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("HEALTHCHECK")),
        "HEALTHCHECK"
    );
    assert!(text.contains("/healthz"), "the health check asks /healthz");
    for l in lines.iter().filter(|l| l.starts_with("FROM ")) {
        assert!(
            !l.contains(":latest") && l.contains(':'),
            "pinned base image: {l}"
        );
    }
    assert!(text.contains("--locked"), "the build uses Cargo.lock");
    for major in 14..=18 {
        assert!(
            text.contains(&format!("postgresql-client-{major}")),
            "client tools {major}"
        );
    }
    let ignore = std::fs::read_to_string(repo().join(".containerignore")).unwrap();
    assert!(
        ignore.lines().any(|l| l == "target/"),
        "the build context leaves target/ out"
    );
}

/// hadolint from `.ci/setup.sh` (`OFFSITE_HADOLINT` names another one); missing fails the test.
fn hadolint(path: &Path) -> std::process::Output {
    let exe = std::env::var_os("OFFSITE_HADOLINT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/offsite/hadolint-venv/bin/hadolint"));
    Command::new(&exe)
        .arg("--no-color")
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run .ci/setup.sh, which installs hadolint)",
                exe.display()
            )
        })
}

#[test]
fn the_containerfile_passes_hadolint_with_no_finding() {
    let out = hadolint(&repo().join("packaging/container/Containerfile"));
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "hadolint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_careless_containerfile_is_caught_by_hadolint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Containerfile");
    std::fs::write(
        &path,
        "FROM debian:latest\nRUN apt-get update && apt-get install -y postgresql-client\n",
    )
    .unwrap();
    let out = hadolint(&path);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("DL3007"),
        "the :latest tag is a finding: {said}"
    );
}
