//! Tokens, projects, read-only tokens, ids and paths, body sizes, one backup at a time, signed
//! URLs.

use super::*;

/// The status of a request sent byte for byte (no URL normalisation).
pub fn raw_status(base: &str, path: &str, token: &str) -> u16 {
    use std::io::Write;
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// POST a JSON body of `len` bytes; the answer's status.
pub fn raw_post_status(base: &str, path: &str, token: &str, len: usize) -> u16 {
    raw_body_status("POST", base, path, token, len)
}

/// `method` with a JSON body of `len` bytes; the answer's status.
pub fn raw_body_status(method: &str, base: &str, path: &str, token: &str, len: usize) -> u16 {
    use std::io::Write;
    let addr = base.trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    let mut body = String::from("{\"type\": \"DATABASE\", \"pad\": \"");
    body.push_str(&"x".repeat(len));
    body.push_str("\"}");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(body.as_bytes()); // may fail once the agent has answered
    });
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let _ = writer.join();
    String::from_utf8_lossy(&out)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn tokens_projects_read_only_ids_body_size_and_one_backup_at_a_time() {
    let fx = fixture(300_000);
    let agent = start(&fx, "download_ttl_secs = 2\nmax_body_bytes = 4096", true);
    let admin = agent.token(&[]);
    let reader = agent.token(&["--project", "shop", "--read-only"]);
    let other = agent.token(&["--project", "other"]);
    let revoked = agent.token(&["--project", "shop"]);
    let revoked_id = agent.cli(&["--json", "token", "list"]);
    let list: Value = serde_json::from_str(&revoked_id).unwrap();
    let rid = list["tokens"][3]["id"].as_str().unwrap().to_string();
    assert!(
        !revoked_id.contains(&revoked[20..]),
        "token list shows the token"
    );
    let c = http();
    let list_url = backups_url(&agent, "shop");
    use reqwest::Method as M;
    // The revoked token works until it is revoked (by another process, while the agent runs).
    assert_eq!(
        send(&c, M::GET, &list_url, Some(&revoked), None).await.0,
        StatusCode::OK
    );
    agent.cli(&["token", "revoke", &rid]);
    let (s, v) = send(&c, M::GET, &list_url, Some(&revoked), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "revoked: {v}");
    assert_eq!(v["code"], "unauthorized");
    // No token, a wrong one, a malformed header.
    assert_eq!(
        send(&c, M::GET, &list_url, None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let mut wrong = admin.clone();
    wrong.pop();
    wrong.push(if admin.ends_with('0') { '1' } else { '0' });
    assert_eq!(
        send(&c, M::GET, &list_url, Some(&wrong), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let r = c
        .get(&list_url)
        .header("Authorization", format!("Basic {admin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Without a token even a write is 401 (not 403 or 202).
    let (s, _) = send(
        &c,
        M::POST,
        &list_url,
        None,
        Some(json!({"type": "DATABASE"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Another project's token; a read-only token on writes; reads are fine.
    let (s, v) = send(&c, M::GET, &list_url, Some(&other), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["code"], "forbidden");
    assert_eq!(
        send(
            &c,
            M::GET,
            &backups_url(&agent, "other"),
            Some(&other),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let (s, v) = send(
        &c,
        M::POST,
        &list_url,
        Some(&reader),
        Some(json!({"type": "FULL"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(
        send(&c, M::GET, &list_url, Some(&reader), None).await.0,
        StatusCode::OK
    );
    // Ids and paths: `../`, absolute paths, non-ids, unknown projects.
    for bad in [
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "not-a-uuid",
        "0B8E5F0E-3C1E-4C55-9A55-1B2C3D4E5F60",
    ] {
        let (s, v) = send(&c, M::GET, &format!("{list_url}/{bad}"), Some(&admin), None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        let (s, _) = send(
            &c,
            M::DELETE,
            &format!("{list_url}/{bad}"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        let (s, _) = send(
            &c,
            M::GET,
            &format!("{list_url}/{bad}/download"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
    for bad in ["%2E%2E", "..%2Fshop", "%2Fetc", "nope"] {
        let (s, v) = send(
            &c,
            M::GET,
            &format!("{}/platform/projects/{bad}/backups", agent.url),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}: {v}");
    }
    // Literal `..` segments (clients normalise them away; a raw request does not).
    for (path, want) in [
        ("/platform/projects/shop/backups/..", 400),
        ("/platform/projects/../backups", 404),
        (
            "/platform/projects/shop/backups/../../../../etc/passwd",
            404,
        ),
    ] {
        assert_eq!(raw_status(&agent.url, path, &admin), want, "{path}");
    }
    let unknown = format!("{list_url}/0b8e5f0e-3c1e-4c55-9a55-1b2c3d4e5f60");
    assert_eq!(
        send(&c, M::GET, &unknown, Some(&admin), None).await.0,
        StatusCode::NOT_FOUND
    );
    // Bad bodies, and one too large.
    let (s, _) = send(
        &c,
        M::POST,
        &list_url,
        Some(&admin),
        Some(json!({"type": "WEEKLY"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = send(
        &c,
        M::POST,
        &list_url,
        Some(&admin),
        Some(json!({"type": "FULL", "encryption": true})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // (Raw: the agent answers 413 before reading the whole body, and a client still sending
    // may see the connection close instead of the answer.)
    assert_eq!(
        raw_post_status(
            &agent.url,
            "/platform/projects/shop/backups",
            &admin,
            1 << 20
        ),
        413
    );
    assert_eq!(
        raw_body_status(
            "PUT",
            &agent.url,
            "/platform/projects/shop/backup-schedule",
            &admin,
            1 << 20
        ),
        413
    );
    // Schedules: written with a read-write token, read with a read-only one.
    let sched = format!("{}/platform/projects/shop/backup-schedule", agent.url);
    let body = json!({"schedule": "daily 02:30", "time_zone": "UTC", "type": "DATABASE"});
    let (s, _) = send(&c, M::PUT, &sched, Some(&reader), Some(body.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = send(&c, M::PUT, &sched, Some(&admin), Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["enabled"], true);
    assert_eq!(v["type"], "DATABASE");
    let (s, v) = send(&c, M::GET, &sched, Some(&reader), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["schedule"], "daily 02:30");
    let (s, _) = send(
        &c,
        M::PUT,
        &sched,
        Some(&admin),
        Some(json!({"schedule": "now and then"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // One backup per project at a time: 409 naming the running one; other projects are free.
    let (s, first) = send(
        &c,
        M::POST,
        &list_url,
        Some(&admin),
        Some(json!({"type": "DATABASE"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{first}");
    let id = first["backup_id"].as_str().unwrap().to_string();
    let (s, v) = send(
        &c,
        M::POST,
        &list_url,
        Some(&admin),
        Some(json!({"type": "FULL"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "backup_running");
    assert_eq!(v["backup_id"], id.as_str());
    let (s, v) = send(
        &c,
        M::DELETE,
        &format!("{list_url}/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "deleting a running backup: {v}");
    let (s, v) = send(
        &c,
        M::GET,
        &format!("{list_url}/{id}/download"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a download of a running backup: {v}"
    );
    let (s, v) = send(
        &c,
        M::POST,
        &backups_url(&agent, "other"),
        Some(&other),
        Some(json!({"type": "STORAGE"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "other has no storage_dir: {v}");
    let (done, _) = wait_done(&c, &format!("{list_url}/{id}"), &admin).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    // Signed URLs: forged, altered and expired ones are refused.
    let (_, link) = send(
        &c,
        M::GET,
        &format!("{list_url}/{id}/download"),
        Some(&reader),
        None,
    )
    .await;
    let url = link["download_url"].as_str().unwrap().to_string();
    assert_eq!(
        c.get(&url)
            .header("Range", "bytes=0-0")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::PARTIAL_CONTENT
    );
    let (base, query) = url.split_once('?').unwrap();
    let sig = query.split("signature=").nth(1).unwrap();
    let expires: i64 = query
        .split('&')
        .next()
        .unwrap()
        .trim_start_matches("expires=")
        .parse()
        .unwrap();
    let mut forged_sig = sig.to_string();
    forged_sig.replace_range(0..2, if sig.starts_with("00") { "11" } else { "00" });
    let name = base.rsplit('/').next().unwrap();
    for forged in [
        format!("{base}?expires={expires}&signature={forged_sig}"),
        format!("{base}?expires={}&signature={sig}", expires + 3600),
        format!("{base}?expires={expires}"),
        base.to_string(),
        format!("{}?{query}", base.replace(name, "other.tar.gz")),
        format!(
            "{}?{query}",
            base.replace(&id, "0b8e5f0e-3c1e-4c55-9a55-1b2c3d4e5f60")
        ),
    ] {
        let r = c.get(&forged).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{forged}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "bad_signature");
    }
    let bad_path = format!("{}/files/..%2F..%2Fetc%2Fpasswd/x?{query}", agent.url);
    assert_eq!(
        c.get(&bad_path).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "url_expired", "{v}");
    // A fresh URL works again.
    let (_, link) = send(
        &c,
        M::GET,
        &format!("{list_url}/{id}/download"),
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(
        c.get(link["download_url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // The audit log saw the refusals, never a token.
    let audit = std::fs::read_to_string(agent.data_dir().join("audit.log")).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"status\":401")));
    assert!(audit.lines().any(|l| l.contains("\"status\":403")));
    assert!(audit.lines().any(|l| l.contains("\"status\":410")));
    for t in [&admin, &reader, &other, &revoked] {
        assert!(!audit.contains(&t[20..]), "a token is in the audit log");
    }
}
