//! Adding a project with its components through one command, all or nothing, and the engine's
//! one reading of a pasted Supabase project.

use super::*;

#[test]
fn add_project_takes_its_components_in_the_same_call_all_or_nothing() {
    let t = test_app();
    let request = json!({
        "name": "shop",
        "connection": { "url": "postgres://app@db.example.com:5432/shop" },
        "tls": null,
        "password": "db-secret",
        "backup_dir": null,
        "skip_test": true,
    });
    let storage = |endpoint: &str| {
        json!({
            "endpoint": endpoint, "region": "us-east-1", "access_key_id": "AKID",
            "secret_access_key": "s3-secret", "path_style": true,
            "buckets": { "kind": "all" }, "concurrency": null,
        })
    };
    let components = |endpoint: &str| {
        json!({
            "storage": storage(endpoint),
            "supabase": { "project_ref": "abcdefghijklmnopqrst", "api_url": null, "access_token": "sbp_token" },
            "default_type": "full",
            "artifacts": null,
            "server": null,
        })
    };
    // One part refused: nothing registered, no secret kept (not even the password).
    let e = invoke(
        &t,
        "add_project",
        json!({ "request": request, "components": components("ftp://x") }),
    )
    .unwrap_err();
    assert_eq!(e["code"], "invalid_input", "{e}");
    assert_eq!(invoke(&t, "list_projects", json!({})).unwrap(), json!([]));
    for key in [
        project_password_key("shop"),
        offsite_core::secrets::project_s3_secret_key("shop"),
        offsite_core::secrets::project_supabase_token_key("shop"),
    ] {
        assert_eq!(t.secrets.get(&key).unwrap(), None, "{key}");
    }
    // All parts fine: the project and its parts, in one call.
    let added = invoke(
        &t,
        "add_project",
        json!({ "request": request, "components": components("https://s3.example.com") }),
    )
    .unwrap();
    assert_eq!(added["project"]["name"], "shop");
    let c = invoke(&t, "get_components", json!({ "project": "shop" })).unwrap();
    assert_eq!(c["default_type"], "full", "{c}");
    assert_eq!(c["storage"]["endpoint"], "https://s3.example.com", "{c}");
    assert_eq!(c["supabase"]["project_ref"], "abcdefghijklmnopqrst", "{c}");
    assert!(!c.to_string().contains("s3-secret") && !c.to_string().contains("sbp_token"));
}

/// The window adds as `offsite project add` does (the engine's rule): a database that does not
/// let us in is refused (the error names the way to add it anyway), nothing kept; asked to skip
/// the test, it is added.
#[test]
fn add_project_tests_the_connection_unless_asked_not_to() {
    let t = test_app();
    let request = |skip: bool| {
        json!({ "request": {
            "name": "down",
            "connection": { "url": "postgres://app@127.0.0.1:1/shop" },
            "tls": "disable", "password": "db-secret", "backup_dir": null, "skip_test": skip,
        }})
    };
    let e = invoke(&t, "add_project", request(false)).unwrap_err();
    assert_eq!(e["code"], "connection", "{e}");
    assert!(
        e["hint"].as_str().unwrap().contains("without testing"),
        "{e}"
    );
    assert!(!e.to_string().contains("db-secret"), "{e}");
    assert_eq!(invoke(&t, "list_projects", json!({})).unwrap(), json!([]));
    assert_eq!(t.secrets.get(&project_password_key("down")).unwrap(), None);
    let added = invoke(&t, "add_project", request(true)).unwrap();
    assert_eq!(added["project"]["name"], "down");
}

/// The same table as crates/cli/tests/headless.rs: the engine reads a Supabase input once, for
/// both front ends.
#[test]
fn supabase_project_reads_refs_urls_and_pooler_strings_as_the_cli_does() {
    let t = test_app();
    let inputs: [(&str, Option<&str>); 6] = [
        ("abcdefghijklmnopqrst", Some("abcdefghijklmnopqrst")),
        (
            "https://abcdefghijklmnopqrst.supabase.co",
            Some("abcdefghijklmnopqrst"),
        ),
        (
            "postgresql://postgres.abcdefghijklmnopqrst@aws-0-eu-central-1.pooler.supabase.com:5432/postgres",
            Some("abcdefghijklmnopqrst"),
        ),
        ("abcdefghijklmnopqrs", None),
        ("abcdefghijklmnopqrstu", None),
        ("abcdefghijklmnopqrstuvwxyz0123456789abcd", None),
    ];
    for (input, want) in inputs {
        let got = invoke(&t, "supabase_project", json!({ "input": input }));
        match want {
            Some(r) => {
                let p = got.unwrap_or_else(|e| panic!("{input}: {e}"));
                assert_eq!(p["project_ref"], r, "{input}");
                assert_eq!(p["db_host"], format!("db.{r}.supabase.co"));
                assert_eq!(p["tls"], "require");
                assert_eq!(
                    p["storage_endpoint"],
                    format!("https://{r}.storage.supabase.co/storage/v1/s3")
                );
            }
            None => {
                let e = got.unwrap_err();
                assert_eq!(e["code"], "invalid_input", "{input}: {e}");
                assert!(
                    e["message"]
                        .as_str()
                        .unwrap()
                        .contains("not a Supabase project URL or ref"),
                    "{input}: {e}"
                );
            }
        }
    }
}
