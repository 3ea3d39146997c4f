//! `RcloneDestination` driving the installed rclone: the shared conformance suite on a `local`
//! remote and on rclone's `s3` backend pointed at moto (both real rclone, no network), remote
//! names refused by the parser, a remote missing from the configuration, `RCLONE_CONFIG`.

use crate::common::{bucket_leftovers, moto_with};
use offsite_core::destinations::{
    put_file, Destination, PutOptions, RcloneConfig, RcloneDestination, TEMP_PREFIX,
};
use offsite_core::retry::Retrying;
use offsite_core::ErrorKind;
use offsite_testkit::conformance::{destination, quick_retries, sha256_hex};
use offsite_testkit::faults::{FaultPlan, Faulty};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use std::path::{Path, PathBuf};

/// Files under `root` whose name starts with the temporary prefix.
fn temp_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if n.starts_with(TEMP_PREFIX) || n.contains(".partial") {
                out.push(n);
            }
        }
    }
    out
}

fn local_remote(dir: &Path) -> (PathBuf, RcloneDestination) {
    let conf = dir.join("rclone.conf");
    std::fs::write(&conf, "[loc]\ntype = local\n").unwrap();
    let dest = RcloneDestination::new(&RcloneConfig {
        remote: format!("loc:{}/copies", dir.display()),
        program: None,
        config_file: Some(conf.clone()),
    })
    .unwrap();
    (conf, dest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_local_remote_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let (_, dest) = local_remote(dir.path());
    destination::check_destination(&dest, &|| temp_files(dir.path())).await;
    // The copies really are files in the folder rclone was pointed at.
    let src = dir.path().join("src.tar.gz");
    std::fs::write(&src, b"an archive").unwrap();
    let stored = put_file(&dest, "p/a.tar.gz", &src, PutOptions::default())
        .await
        .unwrap();
    assert_eq!(
        stored.sha256.as_deref(),
        Some(sha256_hex(b"an archive").as_str())
    );
    assert_eq!(
        std::fs::read(dir.path().join("copies/p/a.tar.gz")).unwrap(),
        b"an archive"
    );
    assert_eq!(
        dest.deep_sha256("p/a.tar.gz").await.unwrap(),
        sha256_hex(b"an archive")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_local_remote_behind_faults_with_retrying_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let (_, dest) = local_remote(dir.path());
    let faulty = Faulty::new(dest, FaultPlan::flaky(150_000));
    let counters = faulty.counters();
    let dest = Retrying::new(faulty, quick_retries());
    destination::check_destination(&dest, &|| temp_files(dir.path())).await;
    assert!(counters.failed() >= 10 && counters.cut() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_s3_backend_on_moto_conforms() {
    let moto = moto_with("copies").await;
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("rclone.conf");
    std::fs::write(
        &conf,
        format!(
            "[bucket]\ntype = s3\nprovider = Other\nendpoint = {}\naccess_key_id = {TEST_KEY_ID}\nsecret_access_key = {TEST_SECRET}\nforce_path_style = true\nregion = us-east-1\n",
            moto.endpoint()
        ),
    )
    .unwrap();
    // rclone 1.60's s3 backend cannot start when AWS_CA_BUNDLE is set (its HTTP transport
    // type: "unsupported transport"), as it is on some machines: run it without.
    let wrapper = dir.path().join("rclone-no-ca-bundle");
    offsite_testkit::script::write_executable(
        &wrapper,
        "#!/bin/sh\nexec env -u AWS_CA_BUNDLE rclone \"$@\"\n",
    );
    let dest = RcloneDestination::new(&RcloneConfig {
        remote: "bucket:copies/offsite".into(),
        program: Some(wrapper),
        config_file: Some(conf),
    })
    .unwrap();
    let ep = moto.endpoint();
    destination::check_destination(&dest, &|| bucket_leftovers(&ep, "copies", true)).await;
    assert_eq!(bucket_leftovers(&ep, "copies", false), Vec::<String>::new());
}

#[tokio::test]
async fn unknown_remotes_and_a_missing_rclone_fail_with_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (conf, _) = local_remote(dir.path());
    let dest = RcloneDestination::new(&RcloneConfig {
        remote: "nowhere:x".into(),
        program: None,
        config_file: Some(conf.clone()),
    })
    .unwrap();
    let e = dest.list("").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.hint().unwrap().contains("rclone config"), "{e:?}");

    let dest = RcloneDestination::new(&RcloneConfig {
        remote: "loc:/tmp".into(),
        program: Some(dir.path().join("no-rclone-here")),
        config_file: Some(conf),
    })
    .unwrap();
    let e = dest.list("").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ToolMissing, "{e}");

    for bad in [":local:/tmp", "-x:y", "a,b=c:d", "no-colon"] {
        let e = RcloneDestination::new(&RcloneConfig {
            remote: bad.into(),
            program: None,
            config_file: None,
        })
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
    }
}

/// Without a configuration file given, rclone's own rules apply: `RCLONE_CONFIG` names it.
/// (rclone runs as a child; the variable is set for this test binary's process, and the other
/// tests of this file all pass their file explicitly.)
#[tokio::test]
async fn rclone_config_from_the_environment_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("from-env.conf");
    std::fs::write(&conf, "[envremote]\ntype = local\n").unwrap();
    // SAFETY: no other thread of this test reads or writes the environment meanwhile; other
    // tests in this binary do not depend on RCLONE_CONFIG.
    unsafe { std::env::set_var("RCLONE_CONFIG", &conf) };
    let dest = RcloneDestination::new(&RcloneConfig {
        remote: format!("envremote:{}/c", dir.path().display()),
        program: None,
        config_file: None,
    })
    .unwrap();
    let src = dir.path().join("s");
    std::fs::write(&src, b"x").unwrap();
    put_file(&dest, "x", &src, PutOptions::default())
        .await
        .unwrap();
    assert!(dir.path().join("c/x").is_file());
}
