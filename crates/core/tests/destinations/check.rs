//! `Destination::check` ("Test destination") for every kind: writable (a probe put and
//! deleted), free space where known, and `offline` for a folder whose drive is not mounted.

use crate::common::{config, moto_with};
use offsite_core::destinations::{
    CheckState, Destination, FolderDestination, RcloneConfig, RcloneDestination, S3Destination,
};
use offsite_core::retry::Retrying;
use offsite_testkit::conformance::quick_retries;

#[tokio::test]
async fn a_folder_reports_writable_with_free_space_and_leaves_no_probe() {
    let dir = tempfile::tempdir().unwrap();
    let c = FolderDestination::new(dir.path()).check().await.unwrap();
    assert_eq!(c.state, CheckState::Online);
    assert!(c.writable, "{c:?}");
    let (free, total) = (c.free_bytes.unwrap(), c.total_bytes.unwrap());
    assert!(free > 0 && total >= free, "{c:?}");
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".offsite-probe") || n.starts_with(".offsite-tmp"))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "probe left");
}

#[tokio::test]
async fn a_folder_on_a_drive_that_is_not_mounted_is_offline_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("media/usb-disk/offsite");
    let d = Retrying::new(FolderDestination::new(&gone), quick_retries());
    let c = d.check().await.unwrap();
    assert_eq!(c.state, CheckState::Offline, "{c:?}");
    assert!(!c.writable);
    assert!(c.message.unwrap().contains("mount"));
    assert!(
        !dir.path().join("media").exists(),
        "check created the folder"
    );
    // Serialized for the UI as snake_case.
    let json = serde_json::to_value(d.check().await.unwrap()).unwrap();
    assert_eq!(json["state"], "offline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_reports_writable_with_unknown_space() {
    let moto = moto_with("copies").await;
    let d = S3Destination::new(&config(&moto.endpoint(), "copies", "x")).unwrap();
    let c = d.check().await.unwrap();
    assert_eq!(c.state, CheckState::Online);
    assert!(c.writable);
    assert_eq!(c.free_bytes, None);
    assert!(d.list("").await.unwrap().is_empty(), "probe left");
}

#[tokio::test]
async fn an_rclone_remote_reports_writable_and_the_space_rclone_about_gives() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("rclone.conf");
    std::fs::write(&conf, "[loc]\ntype = local\n").unwrap();
    std::fs::create_dir(dir.path().join("c")).unwrap();
    let d = RcloneDestination::new(&RcloneConfig {
        remote: format!("loc:{}/c", dir.path().display()),
        program: None,
        config_file: Some(conf),
    })
    .unwrap();
    let c = d.check().await.unwrap();
    assert!(c.writable, "{c:?}");
    assert!(c.free_bytes.unwrap() > 0, "{c:?}");
    assert!(d.list("").await.unwrap().is_empty(), "probe left");
}
