//! The job panel's steps (`ui/src/components/jobSteps.json`) are the engine's table.

/// The steps as the app's job panel reads them (`ui/src/components/jobSteps.json`): the panel
/// and the tray say the same. `OFFSITE_UPDATE_BINDINGS=1` rewrites the file.
#[test]
fn the_ui_job_steps_json_is_the_table() {
    use offsite_core::ops::job_steps::{BACKUP, IMPORT, RESTORE, SERVER_BACKUP};
    let table = serde_json::json!({
        "backup": BACKUP,
        "server_backup": SERVER_BACKUP,
        "restore": RESTORE,
        "import": IMPORT,
    });
    let fresh = serde_json::to_string_pretty(&table).unwrap() + "\n";
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/ui/src/components/jobSteps.json"
    );
    if std::env::var_os("OFFSITE_UPDATE_BINDINGS").is_some() {
        std::fs::write(path, &fresh).unwrap();
    }
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(
        stored, table,
        "ui/src/components/jobSteps.json is stale: run `OFFSITE_UPDATE_BINDINGS=1 cargo test -p offsite-desktop --lib job_steps` and commit it"
    );
}
