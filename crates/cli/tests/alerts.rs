//! What the command line says about damage and missing files is true (issue 42, items 1 and 8):
//! `--json verify` of a damaged archive carries an `error` object (code `integrity`) beside the
//! report, and `history` records that verify as failed; a MISSING backup with a checked copy at
//! a destination is offered `fetch-copy` (which works), not `forget`.

mod common;

use common::Cli;
use offsite_core::secrets::{env_var_for_key, project_password_key};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::Path;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// Headless, with project `name` on a fresh database (its password in the environment).
fn cli_with(pg: &TestCluster, name: &str) -> Cli {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, repeat('v', 100) FROM generate_series(1, 3000) g;",
    );
    let cli = Cli::new().private_home().env("TZ", "UTC").env(
        &env_var_for_key(&project_password_key(name)),
        pg.superuser_password(),
    );
    cli.json(&["project", "add", name, "--db", &pg.url(&db)], 0);
    cli
}

#[test]
fn json_verify_of_a_damaged_archive_has_an_error_object_and_history_says_failed() {
    let pg = TestCluster::shared();
    let cli = cli_with(pg, "cli-damaged");
    let b = cli.json(&["backup", "cli-damaged"], 0);
    let path = s(&b["path"]).to_string();
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let v = cli.json(&["verify", &path], 4);
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(s(&v["error"]["code"]), "integrity", "{v}");
    assert!(s(&v["error"]["message"]).contains("damaged"), "{v}");
    assert!(v["error"]["hint"].is_string(), "{v}");
    assert!(v["members"].is_array(), "the report is still there: {v}");

    // Text: the report, then the error and what to do, on stderr.
    let out = cli.run(&["verify", &path]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error: the archive") && err.contains("hint:"),
        "{err}"
    );

    let h = cli.json(&["history", "cli-damaged", "--kind", "verify"], 0);
    let jobs = h["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2, "{h}");
    for j in jobs {
        assert_eq!(s(&j["state"]), "failed", "{j}");
        assert_eq!(s(&j["error_code"]), "integrity", "{j}");
        assert_eq!(s(&j["backup_id"]), s(&b["id"]), "{j}");
    }
}

#[test]
fn a_missing_backup_with_a_checked_copy_is_offered_fetch_copy_not_forget() {
    let pg = TestCluster::shared();
    let cli = cli_with(pg, "cli-gone");
    let usb = tempfile::tempdir().unwrap();
    let usb_path = usb.path().to_string_lossy().into_owned();
    cli.json(
        &[
            "destination",
            "add",
            "cli-gone",
            "usb",
            "--folder",
            &usb_path,
        ],
        0,
    );
    let b = cli.json(&["backup", "cli-gone"], 0);
    let id = s(&b["id"]).to_string();
    let path = s(&b["path"]).to_string();
    std::fs::remove_file(&path).unwrap();

    let listed = cli.json(&["backups", "cli-gone"], 0);
    let one = &listed["backups"][0];
    assert_eq!(
        (one["missing"].clone(), s(&one["fetch_from"])),
        (Value::Bool(true), "usb"),
        "{listed}"
    );

    let out = cli.run(&["backups", "cli-gone"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    let offered = format!("offsite fetch-copy cli-gone {id} --from usb");
    assert!(err.contains(&offered), "{err}");
    assert!(!err.contains("offsite forget"), "{err}");

    // What it offers works: the archive is back and verifies.
    cli.json(&["fetch-copy", "cli-gone", &id, "--from", "usb"], 0);
    assert!(Path::new(&path).is_file());
    cli.json(&["verify", &path], 0);
    let listed = cli.json(&["backups", "cli-gone"], 0);
    assert_eq!(listed["backups"][0]["missing"], false, "{listed}");
    assert!(listed["backups"][0].get("fetch_from").is_none(), "{listed}");
}
