//! `GET /metrics` of the agent run as its own process: a metrics token reads it (and nothing
//! else), an API token is refused there, and after a backup through the API the values read
//! with a Prometheus text-format parser are the backup's.

use super::*;

#[path = "../prom_text/mod.rs"]
mod prom_text;

async fn get_metrics(
    c: &reqwest::Client,
    agent: &AgentProc,
    token: Option<&str>,
) -> (StatusCode, String, String) {
    let mut r = c.get(format!("{}/metrics", agent.url));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

#[tokio::test]
async fn metrics_are_served_to_a_metrics_token_only_with_the_catalogs_values() {
    let fx = fixture(500);
    let agent = start(&fx, "", true);
    let api_token = agent.token(&[]);
    let metrics_token = agent.token(&["--metrics"]);
    let c = http();

    // Who may read it.
    let (s, _, _) = get_metrics(&c, &agent, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, body) = get_metrics(&c, &agent, Some(&api_token)).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "an API token never reads /metrics: {body}"
    );
    let (s, list) = send(
        &c,
        reqwest::Method::GET,
        &backups_url(&agent, "shop"),
        Some(&metrics_token),
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a metrics token reads nothing else: {list}"
    );
    let listed = agent.cli(&["token", "list"]);
    assert!(listed.contains("metrics"), "{listed}");

    // Before any backup: every project, no success sample.
    let (s, ct, text) = get_metrics(&c, &agent, Some(&metrics_token)).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let m = prom_text::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(m.value("offsite_projects"), Some(2.0));
    assert_eq!(
        m.project_value("offsite_backup_failures_total", "shop"),
        Some(0.0)
    );
    assert_eq!(
        m.project_value("offsite_backup_last_success_timestamp_seconds", "shop"),
        None
    );

    // A backup through the API, then the metrics say so.
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let (s, created) = send(
        &c,
        reqwest::Method::POST,
        &backups_url(&agent, "shop"),
        Some(&api_token),
        Some(json!({"type": "FULL", "compression": "gzip"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{created}");
    let id = created["backup_id"].as_str().unwrap();
    let (done, _) = wait_done(
        &c,
        &format!("{}/{id}", backups_url(&agent, "shop")),
        &api_token,
    )
    .await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let (s, _, text) = get_metrics(&c, &agent, Some(&metrics_token)).await;
    assert_eq!(s, StatusCode::OK);
    let m = prom_text::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        m.project_value("offsite_backup_last_size_bytes", "shop"),
        done["size"].as_f64(),
        "{text}"
    );
    let at = m
        .project_value("offsite_backup_last_success_timestamp_seconds", "shop")
        .expect("a success time");
    assert!(
        at >= before.floor() && at <= after + 1.0,
        "{before} <= {at} <= {after}"
    );
    let took = m
        .project_value("offsite_backup_last_duration_seconds", "shop")
        .unwrap();
    assert!(took >= 0.0 && took <= after - before + 1.0, "{took}");
    assert_eq!(
        m.project_value("offsite_backup_consecutive_failures", "shop"),
        Some(0.0)
    );
    assert_eq!(
        m.project_value("offsite_backup_last_success_timestamp_seconds", "other"),
        None
    );
    // The audit log names the metrics token's id, never the token.
    let audit = std::fs::read_to_string(agent.data_dir().join("audit.log")).unwrap_or_default();
    assert!(audit.contains("/metrics"), "{audit}");
    assert!(!audit.contains(&metrics_token));
}

/// Issue 47 item 4, the agent as its own process: `agent.toml`'s retention is the project's,
/// `/metrics` and `GET …/backups` report what is kept and the disk's room by the space
/// watcher's rule, and the schedule API may not change a retention the file sets.
#[tokio::test]
async fn retention_from_agent_toml_and_space_are_reported() {
    let fx = fixture(50);
    let agent = start(
        &fx,
        "[projects.shop.retention]\nkeep_last = 3\nkeep_daily = 7\n",
        true,
    );
    let api_token = agent.token(&[]);
    let metrics_token = agent.token(&["--metrics"]);
    let c = http();
    let (s, created) = send(
        &c,
        reqwest::Method::POST,
        &backups_url(&agent, "shop"),
        Some(&api_token),
        Some(json!({"type": "DATABASE"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{created}");
    let id = created["backup_id"].as_str().unwrap();
    let (done, _) = wait_done(
        &c,
        &format!("{}/{id}", backups_url(&agent, "shop")),
        &api_token,
    )
    .await;
    assert_eq!(done["status"], "COMPLETED", "{done}");

    let (s, _, text) = get_metrics(&c, &agent, Some(&metrics_token)).await;
    assert_eq!(s, StatusCode::OK);
    let m = prom_text::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        m.project_value("offsite_backups_stored", "shop"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        m.project_value("offsite_backups_stored_bytes", "shop"),
        done["size"].as_f64(),
        "{text}"
    );
    assert!(
        m.project_value("offsite_backup_folder_free_bytes", "shop")
            .unwrap()
            > 0.0
    );
    assert!(
        m.project_value("offsite_backup_folder_total_bytes", "shop")
            .unwrap()
            > 0.0
    );
    assert_eq!(
        m.project_value("offsite_backup_folder_space_low", "shop"),
        Some(0.0)
    );
    let rule = |r: &str| {
        m.samples
            .iter()
            .find(|s| {
                s.name == "offsite_retention_keep"
                    && s.labels.get("project").map(String::as_str) == Some("shop")
                    && s.labels.get("rule").map(String::as_str) == Some(r)
            })
            .map(|s| s.value)
    };
    assert_eq!(rule("keep_last"), Some(3.0), "{text}");
    assert_eq!(rule("keep_daily"), Some(7.0), "{text}");
    assert_eq!(rule("keep_weekly"), None, "{text}");

    let (s, list) = send(
        &c,
        reqwest::Method::GET,
        &backups_url(&agent, "shop"),
        Some(&api_token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(
        list["retention"]["rules"], "keep-last 3, keep-daily 7",
        "{list}"
    );
    assert_eq!(list["retention"]["source"], "agent.toml");
    assert_eq!(list["retention"]["backups"], 1);
    assert!(list["space"]["free_bytes"].as_u64().unwrap() > 0, "{list}");
    assert_eq!(list["space"]["low"], false);

    let schedule_url = format!("{}/platform/projects/shop/backup-schedule", agent.url);
    let (s, refused) = send(
        &c,
        reqwest::Method::PUT,
        &schedule_url,
        Some(&api_token),
        Some(json!({"schedule": "daily 02:30", "type": "DATABASE", "retention": {"keep_last": 9}})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["code"], "retention_in_config", "{refused}");
    let (s, set) = send(
        &c,
        reqwest::Method::PUT,
        &schedule_url,
        Some(&api_token),
        Some(json!({"schedule": "daily 02:30", "type": "DATABASE"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{set}");
    assert_eq!(set["retention"], "keep-last 3, keep-daily 7");
    assert_eq!(set["retention_source"], "agent.toml");
}

/// Issue 47 item 4, the agent as its own process: after a *scheduled* backup (no API call makes
/// it) the agent prunes by the retention the schedule API set — two backups made before, keep
/// the last one: the scheduled one stays, the two older ones are gone from the list and the disk.
#[tokio::test]
async fn a_scheduled_backup_is_followed_by_the_retention_prune() {
    let fx = fixture(20);
    let agent = start(&fx, "", true);
    let token = agent.token(&[]);
    let c = http();
    let mut before = Vec::new();
    for _ in 0..2 {
        let (s, created) = send(
            &c,
            reqwest::Method::POST,
            &backups_url(&agent, "shop"),
            Some(&token),
            Some(json!({"type": "DATABASE"})),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{created}");
        let id = created["backup_id"].as_str().unwrap().to_string();
        let (done, _) =
            wait_done(&c, &format!("{}/{id}", backups_url(&agent, "shop")), &token).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        before.push(id);
    }
    let archives = || -> usize { walk_archives(&agent.data_dir()) };
    assert_eq!(archives(), 2);
    // Every minute, keeping the last one.
    let (s, set) = send(
        &c,
        reqwest::Method::PUT,
        &format!("{}/platform/projects/shop/backup-schedule", agent.url),
        Some(&token),
        Some(json!({"schedule": "cron * * * * *", "type": "DATABASE", "retention": {"keep_last": 1}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{set}");
    assert_eq!(set["retention"], "keep-last 1", "{set}");
    // Within two minutes: one backup listed, a new (scheduled) one.
    let deadline = Instant::now() + Duration::from_secs(150);
    let listed = loop {
        let (s, list) = send(
            &c,
            reqwest::Method::GET,
            &backups_url(&agent, "shop"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let ids: Vec<String> = list["backups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["status"] == "COMPLETED")
            .map(|b| b["backup_id"].as_str().unwrap().to_string())
            .collect();
        if ids.iter().any(|id| !before.contains(id)) && ids.len() == 1 {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "no scheduled backup and prune: {list}\n{}",
            std::fs::read_to_string(agent.dir.path().join("stderr.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    assert_eq!(listed["retention"]["backups"], 1, "{listed}");
    assert_eq!(archives(), 1, "the pruned archives are gone from the disk");
}

/// The archives (`.tar.zst`, `.tar.gz`) under `dir`.
fn walk_archives(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            n += walk_archives(&p);
        } else if p
            .file_name()
            .and_then(|f| f.to_str())
            .is_some_and(|f| f.ends_with(".tar.zst") || f.ends_with(".tar.gz"))
        {
            n += 1;
        }
    }
    n
}
