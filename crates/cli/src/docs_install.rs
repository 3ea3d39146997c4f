//! The README's install steps stay true: the Rust version it names is the workspace's
//! `rust-version`, which is at least what every locked dependency declares it needs, and the
//! packages it names are the ones `.ci/release` builds.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// "1.94.1" → (1, 94, 1); "1.85" → (1, 85, 0).
fn version(v: &str) -> (u64, u64, u64) {
    let mut parts = v.trim().split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

/// The workspace's `rust-version` (in `[workspace.package]` of the root Cargo.toml).
fn workspace_rust_version() -> String {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let section = manifest
        .split("[workspace.package]")
        .nth(1)
        .expect("[workspace.package] in Cargo.toml");
    let section = section.split("\n[").next().unwrap();
    section
        .lines()
        .find_map(|l| l.trim().strip_prefix("rust-version = "))
        .expect("rust-version in [workspace.package]")
        .trim_matches('"')
        .to_string()
}

#[test]
fn the_rust_version_covers_every_locked_dependency_and_the_readme_names_it() {
    let declared = workspace_rust_version();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(root())
        .output()
        .expect("running cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut needs = Vec::new();
    for p in meta["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap_or("");
        if let Some(v) = p["rust_version"].as_str() {
            if version(v) > version(&declared) {
                needs.push(format!("{name} {} needs Rust {v}", p["version"]));
            }
        }
        // The workspace's own packages inherit it.
        if [
            "offsite-cli",
            "offsite-core",
            "offsite-agent",
            "offsite-desktop",
        ]
        .contains(&name)
        {
            assert_eq!(
                p["rust_version"].as_str(),
                Some(declared.as_str()),
                "{name} does not declare the workspace's rust-version"
            );
        }
    }
    assert!(
        needs.is_empty(),
        "the workspace says rust-version = {declared}, but:\n{}",
        needs.join("\n")
    );
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("Rust {declared} or newer")),
        "README.md does not name Rust {declared}"
    );
    assert!(readme.contains("cargo install --locked --path crates/cli"));
}

#[test]
fn the_readme_names_the_packages_release_builds() {
    let release = std::fs::read_to_string(root().join(".ci/release")).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for artifact in [
        "Offsite_<version>_amd64.deb",
        "Offsite-<version>-1.x86_64.rpm",
        "offsite-<version>-x86_64-unknown-linux-gnu.tar.gz",
    ] {
        assert!(
            readme.contains(artifact),
            "README.md does not name {artifact}"
        );
        let in_release = artifact.replace("<version>", "<v>");
        assert!(
            release.contains(&in_release),
            ".ci/release does not build {in_release}"
        );
    }
    for step in [".ci/app", ".ci/test"] {
        assert!(readme.contains(step), "README.md does not name {step}");
    }
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines (at most 250: reference goes to docs/)"
    );
}

#[test]
fn versions_compare_by_number() {
    assert!(version("1.94.1") > version("1.85"));
    assert!(version("1.100") > version("1.94.1"));
    assert_eq!(version("1.85"), (1, 85, 0));
}
