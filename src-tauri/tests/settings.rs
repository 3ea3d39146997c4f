//! The app's preferences are saved by one engine call: a wrong part leaves every one unchanged.

use super::*;

#[test]
fn a_concurrency_out_of_range_leaves_every_preference_unchanged() {
    let t = test_app();
    let folder = t.data_dir.path().join("copies");
    let wanted = json!({
        "notifications": false, "start_minimised": true, "theme": "dark",
        "schedule_notifications": "failures", "schedule_concurrency": 2,
        "default_backup_dir": folder.display().to_string(), "pg_bin": null,
        "check_for_updates": false
    });
    invoke(&t, "set_desktop_settings", json!({ "settings": wanted })).unwrap();
    // Everything changed, the concurrency out of range: refused by the engine, nothing saved
    // (not the folder, not the theme, not the notifications).
    let other = t.data_dir.path().join("elsewhere");
    let bad = json!({
        "notifications": true, "start_minimised": false, "theme": "light",
        "schedule_notifications": "never", "schedule_concurrency": 9,
        "default_backup_dir": other.display().to_string(), "pg_bin": null,
        "check_for_updates": true
    });
    let e = invoke(&t, "set_desktop_settings", json!({ "settings": bad })).unwrap_err();
    assert_eq!(e["code"], "invalid_input", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("9 runs at once"),
        "{e}"
    );
    assert_eq!(
        invoke(&t, "get_desktop_settings", json!({})).unwrap(),
        wanted
    );
}

/// "Check for updates" is on in a catalog that never saved it, and a save that does not name it
/// (a UI from before it existed) keeps it as it was.
#[test]
fn check_for_updates_is_on_by_default_and_kept_when_not_sent() {
    let t = test_app();
    let mut settings = invoke(&t, "get_desktop_settings", json!({})).unwrap();
    assert_eq!(settings["check_for_updates"], json!(true), "{settings}");
    settings["check_for_updates"] = json!(false);
    let saved = invoke(&t, "set_desktop_settings", json!({ "settings": settings })).unwrap();
    assert_eq!(saved["check_for_updates"], json!(false));
    let mut older = settings.clone();
    older.as_object_mut().unwrap().remove("check_for_updates");
    older["theme"] = json!("light");
    let saved = invoke(&t, "set_desktop_settings", json!({ "settings": older })).unwrap();
    assert_eq!(saved["check_for_updates"], json!(false), "{saved}");
    let now = invoke(&t, "get_desktop_settings", json!({})).unwrap();
    assert_eq!(now["check_for_updates"], json!(false));
    assert_eq!(now["theme"], json!("light"));
}
