//! A backup through the API: progress, a signed download, ranges, a verified archive, delete,
//! the audit log.

use super::*;

#[tokio::test]
async fn a_full_backup_through_the_api_downloads_as_a_verified_archive() {
    let fx = fixture(2_000);
    let agent = start(&fx, "", true);
    let token = agent.token(&["--project", "shop"]);
    let c = http();
    let (s, created) = send(
        &c,
        reqwest::Method::POST,
        &backups_url(&agent, "shop"),
        Some(&token),
        Some(json!({"type": "FULL", "compression": "gzip"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{created}");
    assert_eq!(created["status"], "CREATING");
    assert_eq!(created["progress"], 0);
    assert!(created.get("estimated_time").is_some());
    let id = created["backup_id"].as_str().unwrap().to_string();
    let status_url = format!("{}/{id}", backups_url(&agent, "shop"));
    let (done, seen) = wait_done(&c, &status_url, &token).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["progress"], 100);
    assert_eq!(done["type"], "FULL");
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "progress went back: {seen:?}"
    );
    let size = done["size"].as_u64().unwrap();
    let sha = done["sha256"].as_str().unwrap().to_string();
    // Listed.
    let (s, list) = send(
        &c,
        reqwest::Method::GET,
        &backups_url(&agent, "shop"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["backups"][0]["backup_id"], id.as_str());
    // A signed URL, downloaded whole and in ranges.
    let (s, link) = send(
        &c,
        reqwest::Method::GET,
        &format!("{status_url}/download"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{link}");
    assert_eq!(link["size"], size);
    assert_eq!(link["sha256"], sha.as_str());
    let expires = offsite_core::catalog::parse_timestamp(link["expires_at"].as_str().unwrap())
        .unwrap()
        .unix_timestamp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ttl = expires - now;
    assert!(ttl > 55 * 60 && ttl <= 3600, "{ttl}");
    let url = link["download_url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&agent.url), "{url}");
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"sha256:{sha}\""));
    assert_eq!(resp.headers()["accept-ranges"], "bytes");
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, size);
    // gzip asked by name: a `.tar.gz` whatever the default.
    assert!(
        done["file_name"]
            .as_str()
            .unwrap()
            .ends_with("_full.tar.gz"),
        "{done}"
    );
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join(done["file_name"].as_str().unwrap());
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(offsite_core::archive::sha256_file(&file).unwrap(), sha);
    let report =
        offsite_core::archive::verify(&file, &Reporter::silent(), &CancellationToken::new())
            .unwrap();
    assert!(report.ok, "{report:?}");
    let manifest = offsite_core::archive::read_manifest(&file).unwrap();
    for m in [
        "database/toc.dat",
        "storage/avatars/a.png",
        "storage/avatars/team/b.txt",
        "storage/docs/readme.md",
        "config/files/docker-compose.yml",
        "config/files/.env",
    ] {
        assert!(manifest.member(m).is_some(), "{m} is not in the archive");
    }
    assert_eq!(
        member(&file, "storage/avatars/team/b.txt").unwrap(),
        b"hello from storage"
    );
    let env = String::from_utf8(member(&file, "config/files/.env").unwrap()).unwrap();
    assert!(
        env.contains("POSTGRES_PASSWORD=<redacted>") && env.contains("SITE_URL=<redacted>"),
        "{env}"
    );
    assert!(!env.contains("very-secret-pw"));
    let manifest_text = serde_json::to_string(&manifest).unwrap();
    assert!(
        manifest_text.contains("files/.env:POSTGRES_PASSWORD"),
        "{manifest_text}"
    );
    assert!(!manifest_text.contains("very-secret-pw"));
    // Range, and If-Range: the same ETag resumes, another one gets the whole file.
    let part = c
        .get(&url)
        .header("Range", "bytes=10-99")
        .header("If-Range", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 10-99/{size}").as_str()
    );
    assert_eq!(&part.bytes().await.unwrap()[..], &bytes[10..100]);
    let tail = c
        .get(&url)
        .header("Range", format!("bytes={}-", size - 7))
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        &tail.bytes().await.unwrap()[..],
        &bytes[size as usize - 7..]
    );
    let stale = c
        .get(&url)
        .header("Range", "bytes=10-99")
        .header("If-Range", "\"sha256:0000\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.bytes().await.unwrap().len() as u64, size);
    // HEAD: the facts without the body.
    let head = c.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], size.to_string().as_str());
    assert_eq!(head.headers()["etag"], etag.as_str());
    assert!(head.bytes().await.unwrap().is_empty());
    let past = c
        .get(&url)
        .header("Range", format!("bytes={size}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    // A second backup has an estimate from the first.
    let (s, second) = send(
        &c,
        reqwest::Method::POST,
        &backups_url(&agent, "shop"),
        Some(&token),
        Some(json!({"type": "DATABASE"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{second}");
    assert!(second["estimated_time"].as_u64().is_some(), "{second}");
    let second_url = format!(
        "{}/{}",
        backups_url(&agent, "shop"),
        second["backup_id"].as_str().unwrap()
    );
    let (d2, _) = wait_done(&c, &second_url, &token).await;
    assert_eq!(d2["status"], "COMPLETED", "{d2}");
    assert_eq!(d2["type"], "DATABASE");
    // Delete: gone from the API, the disk and the file route.
    let (s, _) = send(&c, reqwest::Method::DELETE, &status_url, Some(&token), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = send(&c, reqwest::Method::GET, &status_url, Some(&token), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        c.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let (_, list) = send(
        &c,
        reqwest::Method::GET,
        &backups_url(&agent, "shop"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(list["backups"].as_array().unwrap().len(), 1, "{list}");
    let archives = agent.data_dir().join("engine/backups/shop");
    let names: Vec<_> = std::fs::read_dir(&archives)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| *n == done["file_name"].as_str().unwrap()),
        "{names:?}"
    );
    // The audit log: every call, with the token's id, never the token or a signature.
    let audit = std::fs::read_to_string(agent.data_dir().join("audit.log")).unwrap();
    let lines: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 10, "{audit}");
    assert!(lines
        .iter()
        .any(|l| l["method"] == "POST" && l["status"] == 202 && l["token_id"].is_string()));
    assert!(lines
        .iter()
        .any(|l| l["method"] == "DELETE" && l["status"] == 204));
    assert!(lines
        .iter()
        .any(|l| l["path"].as_str().unwrap().starts_with("/files/") && l["status"] == 206));
    assert!(
        !audit.contains(&token) && !audit.contains(&token[20..]),
        "the token is in the audit log"
    );
    assert!(!audit.contains("signature"), "{audit}");
}

#[tokio::test]
async fn the_compression_a_request_names_is_the_archive_s_and_zstd_is_the_default() {
    let fx = fixture(200);
    let agent = start(&fx, "", true);
    let token = agent.token(&["--project", "shop"]);
    let c = http();
    let zstd = &offsite_core::archive::codec::ZSTD_MAGIC[..];
    let gzip = &[0x1f, 0x8b][..];
    for (compression, ending, magic) in [
        (None, ".tar.zst", zstd),
        (Some(json!("zstd:5")), ".tar.zst", zstd),
        (Some(json!("gzip:1")), ".tar.gz", gzip),
        (Some(json!(0)), ".tar.gz", gzip),
    ] {
        let mut body = json!({"type": "DATABASE"});
        if let Some(v) = &compression {
            body["compression"] = v.clone();
        }
        let (s, created) = send(
            &c,
            reqwest::Method::POST,
            &backups_url(&agent, "shop"),
            Some(&token),
            Some(body),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{compression:?}: {created}");
        let status_url = format!(
            "{}/{}",
            backups_url(&agent, "shop"),
            created["backup_id"].as_str().unwrap()
        );
        let (done, _) = wait_done(&c, &status_url, &token).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        let name = done["file_name"].as_str().unwrap();
        assert!(name.ends_with(ending), "{compression:?}: {name}");
        let path = agent.data_dir().join("engine/backups/shop").join(name);
        assert!(std::fs::read(&path).unwrap().starts_with(magic), "{name}");
    }
    for bad in [
        json!("zstd:0"),
        json!("gzip:10"),
        json!("brotli"),
        json!(10),
    ] {
        let (s, e) = send(
            &c,
            reqwest::Method::POST,
            &backups_url(&agent, "shop"),
            Some(&token),
            Some(json!({"type": "DATABASE", "compression": bad})),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {e}");
    }
}

/// A backup the engine refuses before it records its job — another job holds the project, as
/// the capture's base or a CLI backup on the same data folder does — is reported `FAILED` with
/// the engine's reason: a `202` must never become an unknown id (it did, found by
/// `pitr_objects`, whose backup was asked for while the capture's base ran).
#[tokio::test(flavor = "multi_thread")]
async fn a_backup_refused_while_another_job_holds_the_project_is_failed_with_why() {
    let fx = fixture(5);
    let agent = start(&fx, "", true);
    let token = agent.token(&["--project", "shop"]);
    let c = http();
    let backup = |c: reqwest::Client, token: String, url: String| async move {
        // Asked for right after the previous one said COMPLETED: accepted (that one may still
        // be leaving the agent's list of running backups; it holds nothing then).
        let (s, created) = send(
            &c,
            reqwest::Method::POST,
            &url,
            Some(&token),
            Some(json!({"type": "DATABASE"})),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{created}");
        let status = format!("{url}/{}", created["backup_id"].as_str().unwrap());
        wait_done(&c, &status, &token).await.0
    };
    let url = backups_url(&agent, "shop");
    // A first backup: the project's lock file exists.
    let first = backup(c.clone(), token.clone(), url.clone()).await;
    assert_eq!(first["status"], "COMPLETED", "{first}");
    // Another process holds every lock of the agent's engine (the project's among them).
    let locks = agent.data_dir().join("engine/locks");
    let mut held: Vec<std::fs::File> = Vec::new();
    for e in std::fs::read_dir(&locks).unwrap().flatten() {
        if !e.file_name().to_string_lossy().ends_with(".lock") {
            continue;
        }
        let path = e.path();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        // Taken as soon as the finished job lets it go (a blocking lock: the release is the
        // event), within a deadline.
        let got = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::task::spawn_blocking(move || f.lock().map(|()| f)),
        )
        .await;
        match got {
            Ok(Ok(Ok(f))) => held.push(f),
            other => panic!("{} was not released: {other:?}", path.display()),
        }
    }
    assert!(!held.is_empty(), "no lock files in {}", locks.display());
    let refused = backup(c.clone(), token.clone(), url.clone()).await;
    assert_eq!(refused["status"], "FAILED", "{refused}");
    assert_eq!(refused["error"]["code"], "busy", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another job is already running on project shop"),
        "{refused}"
    );
    // Released: the next one is made.
    drop(held);
    let again = backup(c, token, url).await;
    assert_eq!(again["status"], "COMPLETED", "{again}");
}
