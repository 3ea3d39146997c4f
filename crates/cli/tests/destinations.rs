//! Destinations through the `offsite` command line, with the real keychain (Secret Service under
//! D-Bus; .ci/test provides it) and a real PostgreSQL cluster: `destination add|list|test|remove`,
//! a copy pending on an offline folder, `copies`, `sync` (exit 3 while copies are pending), an S3
//! secret read from standard input into the keychain and nowhere else.

mod common;

use common::{json_of, Cli};
use offsite_core::secrets::{KeychainStore, SecretStore, DEFAULT_SERVICE};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[test]
fn destinations_copies_and_sync_through_the_cli() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("clidest");
    pg.psql(
        &src,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100);",
    );
    let cli = Cli::keychain();
    let name = format!("cli-{src}");
    let pw = pg.superuser_password().to_string();
    cli.add_project_stdin(&name, &pg.url(&src), &format!("{pw}\n"));
    let usb = cli.data.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    let nas = cli.data.path().join("nas");
    let (usb_s, nas_s) = (usb.to_str().unwrap(), nas.to_str().unwrap());
    let d = cli.json(
        &[
            "destination",
            "add",
            &name,
            "usb",
            "--folder",
            usb_s,
            "--keep-last",
            "2",
        ],
        0,
    );
    assert_eq!(s(&d["destination"]["kind"]), "folder");
    assert_eq!(d["destination"]["retention"]["keep_last"], 2);
    cli.json(&["destination", "add", &name, "nas", "--folder", nas_s], 0);
    // Bad input: a relative folder, a reserved name, an S3 destination without its secret.
    let e = cli.json(
        &[
            "destination",
            "add",
            &name,
            "rel",
            "--folder",
            "relative/dir",
        ],
        2,
    );
    assert_eq!(s(&e["error"]["code"]), "invalid_input");
    let e = cli.json(
        &["destination", "add", &name, "local", "--folder", usb_s],
        2,
    );
    assert_eq!(s(&e["error"]["code"]), "invalid_input");
    let s3 = [
        "destination",
        "add",
        &name,
        "bucket",
        "--s3",
        "s3://offsite-cli/p",
        "--s3-endpoint",
        "http://127.0.0.1:9",
        "--s3-region",
        "us-east-1",
        "--s3-key-id",
        "AKIACLI",
    ];
    let e = cli.json(&s3, 2);
    assert_eq!(s(&e["error"]["code"]), "invalid_input");

    // The backup succeeds; the copy to the offline folder is pending (said on stderr).
    let out = cli.run(&["backup", &name]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the copy to nas is pending"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = cli.json(&["copies", &name], 0);
    let copies = c["backups"][0]["copies"].as_array().unwrap();
    let states: Vec<(&str, &str)> = copies
        .iter()
        .map(|c| (s(&c["destination"]), s(&c["state"])))
        .collect();
    assert_eq!(
        states,
        [("local", "stored"), ("nas", "pending"), ("usb", "stored")]
    );
    assert_eq!(c["protection"]["pending"].as_array().unwrap().len(), 1);
    assert!(s(&c["protection"]["summary"]).contains("copy to nas pending since"));
    let t = cli.json(&["destination", "test", &name, "nas"], 3);
    assert_eq!(t["test"]["offline"], true);
    // Still offline: exit 3, still pending.
    let sy = cli.json(&["sync", &name], 3);
    assert_eq!(sy["sync"]["pending"], 1);
    std::fs::create_dir(&nas).unwrap();
    let sy = cli.json(&["sync", &name], 0);
    assert_eq!(sy["sync"]["pending"], 0);
    assert_eq!(s(&sy["sync"]["copies"][0]["state"]), "stored");
    let file = std::path::Path::new(s(&c["backups"][0]["path"]))
        .file_name()
        .unwrap()
        .to_owned();
    assert!(nas.join(&name).join(&file).is_file());
    let t = cli.json(&["destination", "test", &name, "nas"], 0);
    assert_eq!(t["test"]["writable"], true);

    // An S3 destination's secret comes on stdin and goes to the keychain, not the catalog.
    let secret = "cli-planted-dest-secret-93b1";
    let mut args = vec!["--json"];
    args.extend_from_slice(&s3);
    let out = cli.run_stdin(
        &[&args[..], &["--s3-secret-stdin"]].concat(),
        &format!("{secret}\n"),
    );
    let added = json_of(&out, 0, &["destination add --s3"]);
    assert!(!added.to_string().contains(secret));
    let keychain = KeychainStore::new(DEFAULT_SERVICE);
    let key = offsite_core::secrets::destination_s3_secret_key(&name, "bucket");
    assert_eq!(keychain.get(&key).unwrap().as_deref(), Some(secret));
    let list = cli.json(&["destination", "list", &name], 0);
    let names: Vec<&str> = list["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| s(&d["name"]))
        .collect();
    assert_eq!(names, ["bucket", "nas", "usb"]);
    for f in files_in(cli.data.path()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the S3 secret is in {}",
            f.display()
        );
    }
    let r = cli.json(&["destination", "remove", &name, "bucket"], 0);
    assert_eq!(r["removed"]["copies_forgotten"], 0);
    assert_eq!(keychain.get(&key).unwrap(), None);
    let r = cli.json(&["destination", "remove", &name, "nas"], 0);
    assert_eq!(r["removed"]["copies_forgotten"], 1);
    assert!(nas.join(&name).join(&file).is_file(), "the files stay");
    cli.json(&["project", "remove", &name], 0);
}

/// Every file under `dir`, recursively.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_in(&p));
        } else {
            out.push(p);
        }
    }
    out
}
