//! A project's drill settings through the app's commands: saved and read back, the password
//! kept in the secret store and never returned, a URL carrying a password refused.

use super::*;
use offsite_core::drill::settings::server_password_key;

#[test]
fn drill_settings_are_saved_and_the_password_never_comes_back() {
    let t = test_app();
    invoke(
        &t,
        "add_project",
        json!({ "request": {
            "name": "shop",
            "connection": { "url": "postgres://app@db.example.com:6543/shop" },
            "tls": null, "password": null, "backup_dir": null, "skip_test": true,
        }}),
    )
    .unwrap();
    let none = invoke(&t, "get_drill_settings", json!({ "project": "shop" })).unwrap();
    assert_eq!(
        none,
        json!({ "server_url": null, "server_password_saved": false, "storage_sample": null })
    );
    let secret = "dr1ll-Secret-pw";
    let url = "postgres://drill@scratch.example.com:5432/postgres";
    let saved = invoke(
        &t,
        "set_drill_settings",
        json!({ "project": "shop", "serverUrl": url, "serverPassword": secret, "storageSample": 40 }),
    )
    .unwrap();
    assert_eq!(
        saved,
        json!({ "server_url": url, "server_password_saved": true, "storage_sample": 40 })
    );
    assert_eq!(
        t.secrets
            .get(&server_password_key("shop"))
            .unwrap()
            .as_deref(),
        Some(secret)
    );
    assert_eq!(
        invoke(&t, "get_drill_settings", json!({ "project": "shop" })).unwrap(),
        saved
    );
    // Saved again without a password (the form's empty field): the same server keeps it.
    let again = invoke(
        &t,
        "set_drill_settings",
        json!({ "project": "shop", "serverUrl": url, "serverPassword": "", "storageSample": null }),
    )
    .unwrap();
    assert_eq!(again["server_password_saved"], json!(true));
    assert_eq!(again["storage_sample"], Value::Null);
    // A URL with the password in it: refused, not repeated, nothing changed.
    let e = invoke(
        &t,
        "set_drill_settings",
        json!({ "project": "shop", "serverUrl": format!("postgres://drill:{secret}@x.example.com/postgres"),
                "serverPassword": null, "storageSample": null }),
    )
    .unwrap_err();
    assert_eq!(e["code"], "invalid_input", "{e}");
    assert!(!e.to_string().contains(secret), "{e}");
    // Back to the throwaway cluster: the password is forgotten.
    let back = invoke(
        &t,
        "set_drill_settings",
        json!({ "project": "shop", "serverUrl": null, "serverPassword": null, "storageSample": 5 }),
    )
    .unwrap();
    assert_eq!(
        back,
        json!({ "server_url": null, "server_password_saved": false, "storage_sample": 5 })
    );
    assert_eq!(t.secrets.get(&server_password_key("shop")).unwrap(), None);
}
