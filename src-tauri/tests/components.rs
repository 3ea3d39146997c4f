//! The components commands: storage and Supabase settings go in with their secrets, and only the
//! settings come back; the default type is checked against what the project has.

use super::*;
use offsite_core::secrets::{project_s3_secret_key, project_supabase_token_key};

#[test]
fn storage_and_supabase_settings_are_saved_and_secrets_never_come_back() {
    let t = test_app();
    add_shop(&t);
    let empty = invoke(&t, "get_components", json!({ "project": "shop" })).unwrap();
    assert_eq!(
        empty,
        json!({ "storage": null, "supabase": null, "default_type": null, "server": null, "artifacts": null })
    );

    // A first storage without a secret is refused, and nothing is saved.
    let settings = json!({
        "endpoint": "http://127.0.0.1:9000", "region": "us-east-1", "access_key_id": "AKIDSHOP",
        "secret_access_key": null, "path_style": true,
        "buckets": { "kind": "only", "names": ["avatars", "docs"] }, "concurrency": null,
    });
    let e = invoke(
        &t,
        "set_storage",
        json!({ "project": "shop", "settings": settings }),
    )
    .unwrap_err();
    assert_eq!(e["code"], "secrets", "{e}");
    assert_eq!(
        invoke(&t, "get_components", json!({ "project": "shop" })).unwrap()["storage"],
        Value::Null
    );

    let secret = "wJalrXUtnFEMI-K7MDENG";
    let mut with_secret = settings.clone();
    with_secret["secret_access_key"] = json!(secret);
    let set = invoke(
        &t,
        "set_storage",
        json!({ "project": "shop", "settings": with_secret }),
    )
    .unwrap();
    assert_eq!(set["storage"]["access_key_id"], "AKIDSHOP");
    assert_eq!(
        set["storage"]["buckets"]["names"],
        json!(["avatars", "docs"])
    );
    assert!(!set.to_string().contains(secret));
    assert_eq!(
        t.secrets
            .get(&project_s3_secret_key("shop"))
            .unwrap()
            .as_deref(),
        Some(secret)
    );
    // `null` keeps the stored secret.
    let mut changed = settings.clone();
    changed["region"] = json!("eu-west-1");
    let set = invoke(
        &t,
        "set_storage",
        json!({ "project": "shop", "settings": changed }),
    )
    .unwrap();
    assert_eq!(set["storage"]["region"], "eu-west-1");
    assert_eq!(
        t.secrets
            .get(&project_s3_secret_key("shop"))
            .unwrap()
            .as_deref(),
        Some(secret)
    );

    let token = "sbp_0123456789abcdef";
    let set = invoke(
        &t,
        "set_supabase",
        json!({ "project": "shop", "settings": { "project_ref": "abcdefghijklmnopqrst", "api_url": null, "access_token": token } }),
    )
    .unwrap();
    assert_eq!(set["supabase"]["project_ref"], "abcdefghijklmnopqrst");
    assert!(!set.to_string().contains(token));
    let got = invoke(&t, "get_components", json!({ "project": "shop" })).unwrap();
    assert!(!got.to_string().contains(token) && !got.to_string().contains(secret));

    let set = invoke(
        &t,
        "set_default_backup_type",
        json!({ "project": "shop", "backupType": "full" }),
    )
    .unwrap();
    assert_eq!(set["default_type"], "full");

    // Removing storage removes its secret; a storage type is then refused.
    let set = invoke(
        &t,
        "set_storage",
        json!({ "project": "shop", "settings": null }),
    )
    .unwrap();
    assert_eq!(set["storage"], Value::Null);
    assert_eq!(t.secrets.get(&project_s3_secret_key("shop")).unwrap(), None);
    let e = invoke(
        &t,
        "set_default_backup_type",
        json!({ "project": "shop", "backupType": "storage" }),
    )
    .unwrap_err();
    assert_eq!(e["code"], "invalid_input", "{e}");
    assert!(e["hint"].is_string());
    let e = invoke(&t, "test_storage", json!({ "project": "shop" })).unwrap_err();
    assert_eq!(e["code"], "invalid_input", "{e}");

    invoke(
        &t,
        "set_supabase",
        json!({ "project": "shop", "settings": null }),
    )
    .unwrap();
    assert_eq!(
        t.secrets.get(&project_supabase_token_key("shop")).unwrap(),
        None
    );
}

#[test]
fn storage_restore_into_a_project_without_storage_is_refused_in_the_plan_and_the_job() {
    let t = test_app();
    add_shop(&t);
    let archive = t.data_dir.path().join("shop_20261120_100000_full.tar.gz");
    let request = json!({
        "archive": archive,
        "database": null,
        "storage": {
            "to": { "kind": "project", "value": "shop" },
            "buckets": { "kind": "all" }, "bucket_map": {}, "mirror": false, "overwrite": false,
        },
        "config": null,
    });
    let e = invoke(&t, "plan_restore", json!({ "request": request.clone() })).unwrap_err();
    assert_eq!(e["code"], "invalid_input", "{e}");
    assert!(e["message"].as_str().unwrap().contains("no storage"), "{e}");
    assert!(e["hint"].as_str().unwrap().contains("folder"), "{e}");

    let events = job_events(&t);
    let job_id = invoke(&t, "start_restore", json!({ "request": request })).unwrap();
    let (_, finished) = wait_for_job(&events, job_id.as_str().unwrap());
    assert_eq!(finished["kind"], "restore");
    assert_eq!(finished["ok"], false);
    assert_eq!(finished["error"]["code"], "invalid_input", "{finished}");

    // The configuration needs the project's Supabase side (or a config archive).
    let e = invoke(
        &t,
        "plan_restore",
        json!({ "request": {
            "archive": archive, "database": null, "storage": null,
            "config": { "project": "shop", "settings": [] },
        } }),
    )
    .unwrap_err();
    assert!(e["code"].is_string() && e["message"].is_string(), "{e}");
}
