//! Storage at the same second as the database, through the backup server (issue 66 item 4):
//! `offsite serve` captures a project whose `storage.objects` rows change and keeps each object
//! version they name; the laptop's `offsite pull` brings those versions beside the segments, and
//! `offsite restore --at TIME --components database,storage` there gives the objects exactly as
//! the rows say at TIME. The attacks: the listing and the links to another project's token, a
//! file name that is a path, a link signed for one file used for another or another project.

use super::pitr::{laptop_add, laptop_ok, server_now, status, wait_for, wait_window_past};
use super::*;

/// Supabase's `storage` tables, the bucket `avatars` and the row of the fixture's `a.png`.
fn storage_schema() -> String {
    format!(
        "{}INSERT INTO storage.buckets (id, name) VALUES ('avatars', 'avatars');
         INSERT INTO storage.objects (bucket_id, name, metadata)
           VALUES ('avatars', 'a.png', '{{\"size\": 9}}');",
        offsite_testkit::STORAGE_TABLES
    )
}

/// An upload as the Storage API makes it: the bytes into the project's folder, then the row
/// (no ETag: the folder store's are its own).
fn upload(fx: &Fixture, key: &str, body: &str) {
    std::fs::write(fx.files.path().join("storage/avatars").join(key), body).unwrap();
    TestCluster::shared().psql(
        &fx.db,
        &format!(
            "INSERT INTO storage.objects (bucket_id, name, metadata) VALUES ('avatars', '{key}', \
             jsonb_build_object('size', {})) ON CONFLICT (bucket_id, name) DO UPDATE SET \
             metadata = excluded.metadata, updated_at = now()",
            body.len()
        ),
    );
}

/// The agent's listing of kept versions.
async fn listing(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let (s, v) = send(http, reqwest::Method::GET, url, Some(token), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// Waits until the agent's listing holds a version of `key` with these bytes.
async fn wait_kept(
    a: &AgentProc,
    http: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    body: &str,
) {
    let sha = offsite_core::digest::sha256_hex(body.as_bytes());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v = listing(http, url, token).await;
        let kept = v["versions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["key"] == key && x["sha256"] == sha.as_str());
        if kept {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited 120 s for the agent to keep {key} ({body:?}); it lists {v}; it said: {}",
            std::fs::read_to_string(a.dir.path().join("stderr.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pitr_objects_the_agent_kept_are_pulled_and_a_restore_at_a_time_gives_them() {
    let fx = fixture(5);
    let c = TestCluster::shared();
    c.psql(&fx.db, &storage_schema());
    let a = start(&fx, "[projects.shop.pitr]\n", true);
    let token = a.token(&["--project", "shop"]);
    let other = a.token(&["--project", "other"]);
    let http = http();
    let objects_url = format!("{}/platform/projects/shop/pitr/objects", a.url);
    // The base taken (a window exists): `enabled` is true as soon as the chain's row is, and
    // a backup asked for while the base holds the project is refused as busy.
    wait_for(&a, 120, "the capture's base", || {
        status(&a)["windows"]
            .as_array()
            .is_some_and(|w| !w.is_empty())
    });
    // A full backup on the server: the database and the files as they are (a.png).
    let (s, created) = send(
        &http,
        reqwest::Method::POST,
        &backups_url(&a, "shop"),
        Some(&token),
        Some(json!({"type": "FULL"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{created}");
    let status_url = format!(
        "{}/{}",
        backups_url(&a, "shop"),
        created["backup_id"].as_str().unwrap()
    );
    let (done, _) = wait_done(&http, &status_url, &token).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");

    // After it: only the capture can have these. TIME after the first is kept.
    upload(&fx, "new.txt", "first version");
    wait_kept(&a, &http, &objects_url, &token, "new.txt", "first version").await;
    let at = server_now();
    upload(&fx, "new.txt", "second version, after the time");
    upload(&fx, "later.txt", "uploaded after the time");
    std::fs::remove_file(fx.files.path().join("storage/avatars/a.png")).unwrap();
    c.psql(&fx.db, "DELETE FROM storage.objects WHERE name = 'a.png'");
    wait_kept(
        &a,
        &http,
        &objects_url,
        &token,
        "new.txt",
        "second version, after the time",
    )
    .await;
    wait_kept(
        &a,
        &http,
        &objects_url,
        &token,
        "later.txt",
        "uploaded after the time",
    )
    .await;

    // The attacks on the listing and the links.
    let (s, _) = send(&http, reqwest::Method::GET, &objects_url, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = send(
        &http,
        reqwest::Method::GET,
        &objects_url,
        Some(&other),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let v = listing(&http, &objects_url, &token).await;
    let file = v["files"][0]["sha256"].as_str().unwrap().to_string();
    let link_url = |f: &str| format!("{objects_url}/{f}/download");
    for (f, want) in [
        ("..%2F..%2Fagent.toml", StatusCode::BAD_REQUEST),
        ("index.jsonl", StatusCode::BAD_REQUEST),
        (&format!("{file}.part") as &str, StatusCode::BAD_REQUEST),
        (&file.to_uppercase(), StatusCode::BAD_REQUEST),
        (&"0".repeat(64), StatusCode::NOT_FOUND),
        (&format!("{file}.age"), StatusCode::NOT_FOUND),
    ] {
        let (s, v) = send(
            &http,
            reqwest::Method::GET,
            &link_url(f),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, want, "{f}: {v}");
    }
    let (s, _) = send(
        &http,
        reqwest::Method::GET,
        &link_url(&file),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another project's token");
    let (s, link) = send(
        &http,
        reqwest::Method::GET,
        &link_url(&file),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{link}");
    assert_eq!(link["sha256"], file.as_str(), "{link}");
    let url = link["download_url"].as_str().unwrap().to_string();
    let body = http.get(&url).send().await.unwrap();
    assert_eq!(body.status(), StatusCode::OK);
    let bytes = body.bytes().await.unwrap();
    assert_eq!(offsite_core::digest::sha256_hex(&bytes), file);
    // The signature is for that file of that project only.
    let query = url.split_once('?').unwrap().1.to_string();
    let another = v["files"][1]["sha256"].as_str().unwrap();
    for (forged, want) in [
        (
            format!("{}/pitr-objects/shop/{another}?{query}", a.url),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("{}/pitr-objects/other/{file}?{query}", a.url),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("{}/pitr-objects/shop/..%2Fagent.toml?{query}", a.url),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{}/pitr-objects/shop/{file}", a.url),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let r = http.get(&forged).send().await.unwrap();
        assert_eq!(r.status(), want, "{forged}");
    }

    // The laptop pulls the full backup, the segments and the kept versions, once the agent's
    // window reaches past TIME (its last pass may still be sealing).
    wait_window_past(
        &http,
        &format!("{}/platform/projects/shop/pitr", a.url),
        &token,
        &at,
    )
    .await;
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    laptop_add(d, &token, &a, &fx.db);
    let pulled = laptop_ok(d, &token, &["--json", "pull", "shop"]);
    assert_eq!(
        pulled["pitr"]["objects"], 3,
        "the three versions' files: {pulled}"
    );
    let kept_here = laptop_ok(d, &token, &["--json", "pitr", "verify", "shop"]);
    assert_eq!(kept_here["objects_checked"], 3, "{kept_here}");
    assert_eq!(kept_here["objects_damaged_count"], 0, "{kept_here}");
    let again = laptop_ok(d, &token, &["--json", "pull", "shop"]);
    assert_eq!(again["pitr"]["objects"], 0, "nothing twice: {again}");

    // Restored on the laptop at TIME: a.png from the pull, new.txt as it was then, not later.txt.
    c.create_db("laptop_objects_at");
    let folder = tempfile::tempdir().unwrap();
    let restored = laptop_ok(
        d,
        &token,
        &[
            "--json",
            "restore",
            "shop",
            "--at",
            &at,
            "--components",
            "database,storage",
            "--to",
            &c.url("laptop_objects_at"),
            "--storage-to",
            folder.path().to_str().unwrap(),
        ],
    );
    let s = &restored["storage_at"];
    assert_eq!(s["from_capture"], 1, "{restored}");
    assert_eq!(s["from_pull"], 1, "{restored}");
    assert_eq!(s["missing_count"], 0, "{restored}");
    assert_eq!(
        offsite_testkit::files_text(folder.path())
            .into_iter()
            .collect::<Vec<_>>(),
        [
            ("avatars/a.png".to_string(), "PNG-bytes".to_string()),
            ("avatars/new.txt".into(), "first version".into()),
        ]
    );
}
