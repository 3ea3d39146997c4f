//! Cancelling a backup through the API (`POST …/backups/{backup_id}/cancel`), against the agent
//! as its own process: the backup being made reports its step in bytes, stops when cancelled,
//! leaves no file and no catalog entry, ends `cancelled` and is audited; what cannot be cancelled
//! (unknown, finished, another project's, malformed, without a token, read-only) is refused with
//! a JSON error.

use super::*;
use offsite_core::catalog::JobState;

/// The files in the agent's backup folder of `shop` (its lock file aside).
fn archives_left(agent: &AgentProc) -> Vec<String> {
    let dir = agent.data_dir().join("engine/backups/shop");
    std::fs::read_dir(&dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".offsite-folder.lock")
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_backup_cancelled_through_the_api_stops_and_leaves_nothing() {
    // Big enough that the dump is still running when the cancel comes (~75 MB of rows).
    let fx = fixture(1_500_000);
    let mut agent = start(&fx, "", true);
    let token = agent.token(&["--project", "shop"]);
    let reader = agent.token(&["--project", "shop", "--read-only"]);
    let c = http();
    let list = backups_url(&agent, "shop");
    let (s, created) = send(
        &c,
        reqwest::Method::POST,
        &list,
        Some(&token),
        Some(json!({"type": "DATABASE"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{created}");
    let id = created["backup_id"].as_str().unwrap().to_string();
    let status_url = format!("{list}/{id}");
    let cancel_url = format!("{status_url}/cancel");

    // Its status tells the step and its bytes while it dumps (the database's size as total).
    let deadline = Instant::now() + Duration::from_secs(120);
    let dumping = loop {
        let (s, v) = send(&c, reqwest::Method::GET, &status_url, Some(&token), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            v["status"], "CREATING",
            "finished before it could be cancelled: {v}"
        );
        if v["phase"] == "dumping" && v["bytes_done"].as_u64().unwrap_or(0) > 0 {
            break v;
        }
        assert!(Instant::now() < deadline, "no dump progress: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(dumping["bytes_total"].as_u64().unwrap() > 0, "{dumping}");

    // Without a token, with a wrong one, or read-only: refused, and the backup goes on.
    let (s, v) = send(&c, reqwest::Method::POST, &cancel_url, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["code"], "unauthorized", "{v}");
    let (s, _) = send(
        &c,
        reqwest::Method::POST,
        &cancel_url,
        Some("offsite_nope_nope"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = send(&c, reqwest::Method::POST, &cancel_url, Some(&reader), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // Another project's URL for this backup: not found there.
    let other = agent.token(&[]);
    let (s, v) = send(
        &c,
        reqwest::Method::POST,
        &format!("{}/{id}/cancel", backups_url(&agent, "other")),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = send(&c, reqwest::Method::GET, &status_url, Some(&token), None).await;
    assert_eq!(
        (s, &v["status"]),
        (StatusCode::OK, &json!("CREATING")),
        "{v}"
    );

    // The cancel: answered once the backup has stopped.
    let (s, v) = send(&c, reqwest::Method::POST, &cancel_url, Some(&token), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["backup_id"], id.as_str());
    assert_eq!(v["status"], "FAILED", "{v}");
    assert_eq!(v["error"]["code"], "cancelled", "{v}");
    assert!(
        v.get("bytes_done").is_none(),
        "no live numbers once stopped: {v}"
    );
    let (_, v) = send(&c, reqwest::Method::GET, &status_url, Some(&token), None).await;
    assert_eq!(v["status"], "FAILED", "{v}");
    assert_eq!(v["error"]["code"], "cancelled", "{v}");
    // Nothing half-written in the backup folder; no archive to download.
    assert!(
        archives_left(&agent).is_empty(),
        "left behind: {:?}",
        archives_left(&agent)
    );
    let (s, v) = send(
        &c,
        reqwest::Method::GET,
        &format!("{status_url}/download"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // Cancelled again: it is not being made (409 naming it); unknown ids are 404, malformed 400.
    let (s, v) = send(&c, reqwest::Method::POST, &cancel_url, Some(&token), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "not_running", "{v}");
    assert_eq!(v["backup_id"], id.as_str(), "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("was cancelled"),
        "{v}"
    );
    let unknown = format!("{list}/0b8e5f0e-3c1e-4c55-9a55-1b2c3d4e5f60/cancel");
    let (s, v) = send(&c, reqwest::Method::POST, &unknown, Some(&token), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["code"], "not_found", "{v}");
    let (s, v) = send(
        &c,
        reqwest::Method::POST,
        &format!("{list}/..%2F..%2Fetc/cancel"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // The next backup runs (the project is free again) and completes.
    let (s, next) = send(
        &c,
        reqwest::Method::POST,
        &list,
        Some(&token),
        Some(json!({"type": "CONFIG"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{next}");
    let done_url = format!("{list}/{}", next["backup_id"].as_str().unwrap());
    let (done, _) = wait_done(&c, &done_url, &token).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    // A completed backup cannot be cancelled.
    let (s, v) = send(
        &c,
        reqwest::Method::POST,
        &format!("{done_url}/cancel"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["message"].as_str().unwrap().contains("completed"), "{v}");

    // Audited: the cancel, with the token's id (never the token).
    let audit = std::fs::read_to_string(agent.data_dir().join("audit.log")).unwrap();
    let cancelled: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["event"] == "backup_cancelled")
        .collect();
    assert_eq!(cancelled.len(), 1, "{audit}");
    assert_eq!(cancelled[0]["backup_id"], id.as_str());
    assert_eq!(cancelled[0]["project"], "shop");
    assert_eq!(cancelled[0]["stopped"], true);
    let token_id = cancelled[0]["token_id"].as_str().unwrap();
    assert!(token.contains(token_id), "the token's id");
    assert!(!audit.contains(&token), "no token in the audit log");

    // The engine's record: the job cancelled, no backup registered but the config one.
    let _ = agent.child.kill();
    let _ = agent.child.wait();
    let engine = offsite_core::Engine::open(
        offsite_core::EngineConfig::new(Arc::new(offsite_core::secrets::MemoryStore::new()))
            .data_dir(agent.data_dir().join("engine")),
    )
    .await
    .unwrap();
    let job = engine.catalog().job(&id).await.unwrap();
    assert_eq!(job.state, JobState::Cancelled, "{job:?}");
    assert!(job.backup_id.is_none(), "{job:?}");
    let backups = engine.backups("shop").await.unwrap();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(backups[0].backup_type.as_str(), "config");
}
