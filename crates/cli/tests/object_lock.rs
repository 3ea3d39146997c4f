//! `offsite destination add|set … --object-lock MODE [--lock-days N] --storage-class CLASS` through the
//! command line (issue 47, item 6): the settings land on the destination (`destination list`,
//! text and JSON), the days come from the retention when not given, and bad combinations are
//! refused with their codes. The locks themselves are tested against moto in
//! `crates/core/tests/engine/dest_s3_lock.rs`.

mod common;

use common::Cli;
use offsite_testkit::TestCluster;
use serde_json::Value;

fn s3_args<'a>(name: &'a str, dest: &'a str) -> Vec<&'a str> {
    vec![
        "destination",
        "add",
        name,
        dest,
        "--s3",
        "s3://offsite-locked/p",
        "--s3-endpoint",
        "http://127.0.0.1:9",
        "--s3-region",
        "us-east-1",
        "--s3-key-id",
        "AKIACLI",
    ]
}

#[test]
fn object_lock_and_storage_class_flags() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("clilock");
    let cli = Cli::with_store("memory").env("OFFSITE_S3_DESTINATION_SECRET", "not-a-real-secret");
    let name = format!("cli-{src}");
    let pw = pg.superuser_password().to_string();
    cli.add_project_stdin(&name, &pg.url(&src), &format!("{pw}\n"));

    let mut args = s3_args(&name, "vault");
    args.extend([
        "--object-lock",
        "compliance",
        "--lock-days",
        "30",
        "--storage-class",
        "glacier",
    ]);
    let d = cli.json(&args, 0);
    let s3 = &d["destination"]["s3"];
    assert_eq!(s3["object_lock"], "compliance", "{d}");
    assert_eq!(s3["lock_days"], 30, "{d}");
    assert_eq!(s3["storage_class"], "GLACIER", "{d}");
    assert!(!d.to_string().contains("not-a-real-secret"));

    // Days from the retention: the shortest time-based rule (keep 14 daily, 8 weekly: 14 days).
    let mut args = s3_args(&name, "vault2");
    args.extend([
        "--object-lock",
        "governance",
        "--keep-daily",
        "14",
        "--keep-weekly",
        "8",
    ]);
    let d = cli.json(&args, 0);
    assert_eq!(d["destination"]["s3"]["lock_days"], 14, "{d}");
    assert_eq!(d["destination"]["s3"]["storage_class"], Value::Null, "{d}");

    let out = cli.run(&["destination", "list", &name]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("compliance lock 30 days, GLACIER"), "{text}");
    assert!(text.contains("governance lock 14 days"), "{text}");

    // Refused: no period to take (keep-last only), an unknown class, an unknown mode, days
    // without a lock.
    let mut args = s3_args(&name, "bad1");
    args.extend(["--object-lock", "compliance", "--keep-last", "3"]);
    let e = cli.json(&args, 2);
    assert_eq!(e["error"]["code"], "invalid_input", "{e}");
    assert!(
        e["error"]["hint"].as_str().unwrap().contains("--lock-days"),
        "{e}"
    );
    let mut args = s3_args(&name, "bad2");
    args.extend(["--storage-class", "COLDEST"]);
    let e = cli.json(&args, 2);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not an S3 storage class"),
        "{e}"
    );
    let mut args = s3_args(&name, "bad3");
    args.extend(["--object-lock", "forever"]);
    assert_eq!(cli.run(&args).status.code(), Some(2));
    let mut args = s3_args(&name, "bad4");
    args.extend(["--lock-days", "3"]);
    assert_eq!(cli.run(&args).status.code(), Some(2));
    let list = cli.json(&["destination", "list", &name], 0);
    assert_eq!(list["destinations"].as_array().unwrap().len(), 2, "{list}");

    // `destination set` changes what is given and keeps the rest; `off` and `default` clear.
    let set = |extra: &[&str], code: i32| {
        let mut args = vec!["destination", "set", name.as_str(), "vault"];
        args.extend_from_slice(extra);
        cli.json(&args, code)
    };
    let d = set(&["--object-lock", "governance", "--lock-days", "10"], 0);
    let s3 = &d["destination"]["s3"];
    assert_eq!(s3["object_lock"], "governance", "{d}");
    assert_eq!(s3["lock_days"], 10, "{d}");
    assert_eq!(s3["storage_class"], "GLACIER", "the class is kept: {d}");
    let d = set(&["--storage-class", "deep_archive"], 0);
    let s3 = &d["destination"]["s3"];
    assert_eq!(s3["object_lock"], "governance", "the lock is kept: {d}");
    assert_eq!(s3["lock_days"], 10, "{d}");
    assert_eq!(s3["storage_class"], "DEEP_ARCHIVE", "{d}");
    let d = set(&["--lock-days", "30"], 0);
    assert_eq!(d["destination"]["s3"]["lock_days"], 30, "{d}");
    assert_eq!(
        d["destination"]["s3"]["storage_class"], "DEEP_ARCHIVE",
        "{d}"
    );
    let e = set(&["--object-lock", "off", "--lock-days", "3"], 2);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--lock-days needs a lock"),
        "{e}"
    );
    let d = set(&["--object-lock", "off", "--storage-class", "default"], 0);
    let s3 = &d["destination"]["s3"];
    assert_eq!(s3["object_lock"], Value::Null, "{d}");
    assert_eq!(s3["lock_days"], Value::Null, "{d}");
    assert_eq!(s3["storage_class"], Value::Null, "{d}");
    let e = set(&[], 2);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing to change"),
        "{e}"
    );
    let e = set(&["--lock-days", "3"], 2);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--lock-days needs --object-lock"),
        "{e}"
    );
    let e = cli.json(
        &[
            "destination",
            "set",
            &name,
            "nowhere",
            "--storage-class",
            "standard",
        ],
        2,
    );
    assert_eq!(e["error"]["code"], "not_found", "{e}");
}
