//! What a release promises: one version everywhere (every crate, the app's config, the UI and e2e
//! packages), `offsite --version` naming it with the formats it reads, the bundle settings the
//! desktop packages are built from, and the documents that go with a release (CHANGELOG,
//! docs/versions.md). The packages themselves are built and installed by tests/install/run.sh.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `version = "…"` of the `[workspace.package]` table of the root Cargo.toml.
fn workspace_version() -> String {
    let toml = read("Cargo.toml");
    let table = toml
        .split("\n[")
        .find(|t| t.starts_with("workspace.package]"))
        .expect("[workspace.package] in Cargo.toml");
    let line = table
        .lines()
        .find(|l| l.starts_with("version = "))
        .expect("workspace.package.version");
    line["version = ".len()..]
        .trim()
        .trim_matches('"')
        .to_string()
}

/// Every `[package]` table of the workspace's manifests takes the workspace's version.
#[test]
fn one_version_for_the_workspace_the_app_and_the_ui() {
    let version = workspace_version();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let mut manifests = vec![repo().join("Cargo.toml")];
    for e in std::fs::read_dir(repo().join("crates")).unwrap() {
        let m = e.unwrap().path().join("Cargo.toml");
        if m.is_file() {
            manifests.push(m);
        }
    }
    assert!(
        manifests.len() >= 6,
        "the root and five crates: {manifests:?}"
    );
    for m in &manifests {
        let text = std::fs::read_to_string(m).unwrap();
        let package = text
            .split("\n[")
            .map(|t| t.trim_start_matches('['))
            .find(|t| t.starts_with("package]"))
            .unwrap_or_else(|| panic!("{}: no [package]", m.display()));
        let versions: Vec<&str> = package
            .lines()
            .filter(|l| l.starts_with("version"))
            .collect();
        assert_eq!(
            versions,
            ["version.workspace = true"],
            "{} must take the workspace's version",
            m.display()
        );
    }
    // The app: tauri.conf.json either names no version (then Cargo.toml's is used) or the same.
    let conf = json("tauri.conf.json");
    if let Some(v) = conf.get("version") {
        assert_eq!(v, &Value::from(version.clone()), "tauri.conf.json version");
    }
    for rel in [
        "ui/package.json",
        "ui/package-lock.json",
        "tests/e2e/package.json",
    ] {
        assert_eq!(
            json(rel)["version"],
            Value::from(version.clone()),
            "{rel} has another version than the workspace"
        );
    }
    assert_eq!(
        json("ui/package-lock.json")["packages"][""]["version"],
        Value::from(version.clone()),
        "ui/package-lock.json's root package"
    );
}

#[test]
fn offsite_version_names_the_version_the_archive_formats_and_the_catalog_schema() {
    let out = Command::new(env!("CARGO_BIN_EXE_offsite"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let v = offsite_core::version_info();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&format!("offsite {}", workspace_version()).as_str())
    );
    let read: Vec<String> = v.archive_formats_read.iter().map(u32::to_string).collect();
    let formats = format!(
        "archive format: {} (reads {})",
        v.archive_format,
        read.join(", ")
    );
    assert!(lines.contains(&formats.as_str()), "{text}");
    assert!(
        lines.contains(&format!("catalog schema: {}", v.catalog_schema).as_str()),
        "{text}"
    );
    // `-V` stays the one short line scripts compare.
    let short = Command::new(env!("CARGO_BIN_EXE_offsite"))
        .arg("-V")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(short.stdout).unwrap().trim(),
        format!("offsite {}", workspace_version())
    );
}

/// `--json --version` is one JSON document with the same facts (scripts read it, not the text).
#[test]
fn offsite_json_version_is_one_json_document_with_the_same_facts() {
    for args in [["--json", "--version"], ["--version", "--json"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_offsite"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out:?}"));
        let v = offsite_core::version_info();
        assert_eq!(doc["version"], Value::from(workspace_version()), "{doc}");
        assert_eq!(doc["archive_format"], Value::from(v.archive_format), "{doc}");
        assert_eq!(doc["catalog_schema"], Value::from(v.catalog_schema), "{doc}");
        assert_eq!(
            doc["archive_formats_read"],
            serde_json::to_value(&v.archive_formats_read).unwrap(),
            "{doc}"
        );
    }
}

/// docs/versions.md states the numbers this build has; bumping either without the page fails.
#[test]
fn the_versions_page_and_the_changelog_match_this_build() {
    let v = offsite_core::version_info();
    let page = read("docs/versions.md");
    assert!(
        page.contains(&format!("archive format is **{}**", v.archive_format)),
        "docs/versions.md must name archive format {}",
        v.archive_format
    );
    assert!(
        page.contains(&format!("catalog schema is **{}**", v.catalog_schema)),
        "docs/versions.md must name catalog schema {}",
        v.catalog_schema
    );
    assert!(
        page.contains("a_catalog_from_a_newer_offsite_is_refused"),
        "the page points at the test that keeps the promise"
    );
    let test = read("crates/core/tests/engine/catalog.rs");
    assert!(test.contains("async fn a_catalog_from_a_newer_offsite_is_refused"));
    let changelog = read("CHANGELOG.md");
    assert!(
        changelog.contains("## [Unreleased]"),
        "Keep a Changelog: an Unreleased section"
    );
}

/// The bundle settings the desktop packages are made from (tests/install/run.sh builds and
/// installs the .deb; the others are documented in docs/packaging.md).
#[test]
fn the_bundle_settings_declare_what_the_packages_need() {
    let conf = json("tauri.conf.json");
    let bundle = &conf["bundle"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("not a list: {v}"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    // Depends are tauri's own (WebKitGTK 4.1, GTK 3, libayatana-appindicator for the tray; the
    // .rpm requires their sonames): tests/install/run.sh checks them in the built packages.
    let deb = &bundle["linux"]["deb"];
    assert_eq!(strings(&deb["recommends"]), ["postgresql-client"]);
    let rpm = &bundle["linux"]["rpm"];
    assert_eq!(strings(&rpm["recommends"]), ["postgresql"]);
    // The CLI ships beside the app as /usr/bin/offsite in each Linux package, from one staged
    // path that .ci/release and tests/install/run.sh fill.
    let staged = "packaging/bin/offsite";
    for kind in ["deb", "rpm", "appimage"] {
        assert_eq!(
            bundle["linux"][kind]["files"]["/usr/bin/offsite"],
            Value::from(staged),
            "{kind} ships the offsite CLI"
        );
    }
    // The agent's systemd units come with the .deb and .rpm (installed, not enabled).
    for kind in ["deb", "rpm"] {
        for unit in ["offsite-serve.service", "offsite-daemon.service"] {
            assert_eq!(
                bundle["linux"][kind]["files"][format!("/usr/lib/systemd/system/{unit}")],
                Value::from(format!("packaging/systemd/{unit}")),
                "{kind} installs {unit}"
            );
        }
    }
    let mac = &bundle["macOS"];
    assert_eq!(mac["hardenedRuntime"], Value::from(true));
    let entitlements = mac["entitlements"].as_str().unwrap();
    let plist = read(entitlements);
    assert!(plist.contains("<plist version=\"1.0\">"), "{entitlements}");
    assert!(mac["minimumSystemVersion"].is_string());
    let win = &bundle["windows"];
    assert_eq!(
        win["webviewInstallMode"]["type"],
        Value::from("downloadBootstrapper")
    );
    assert!(win["wix"]["upgradeCode"]
        .as_str()
        .is_some_and(|u| u.len() == 36));
    for icon in strings(&bundle["icon"]) {
        assert!(repo().join(&icon).is_file(), "icon {icon}");
    }
}
