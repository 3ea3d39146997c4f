//! The agent as a service: TLS pinned by fingerprint, the OpenAPI document, idle memory,
//! SIGTERM.

use super::*;
use offsite_core::catalog::JobState;

#[tokio::test]
async fn tls_with_a_self_signed_certificate_pinned_by_fingerprint() {
    let fx = fixture(10);
    let agent = start(&fx, "", false);
    assert!(agent.url.starts_with("https://127.0.0.1:"), "{}", agent.url);
    let fp = agent.fingerprint.clone().unwrap();
    // The same fingerprint from `offsite serve fingerprint`, and of the certificate on disk.
    assert_eq!(agent.cli(&["fingerprint"]).trim(), fp);
    let cert_path = agent.data_dir().join("tls/cert.pem");
    assert_eq!(
        offsite_agent::tls::fingerprint_of_file(&cert_path).unwrap(),
        fp
    );
    assert!(fp.starts_with("SHA256:") && fp.len() == 7 + 95, "{fp}");
    // A client trusting exactly that certificate talks to it.
    let mut roots = rustls::RootCertStore::empty();
    for cert in offsite_agent::tls::read_certs(&cert_path).unwrap() {
        roots.add(cert).unwrap();
    }
    let pinned = reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(roots))
        .build()
        .unwrap();
    let r = pinned
        .get(format!("{}/healthz", agent.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let token = agent.token(&[]);
    let (s, v) = send(
        &pinned,
        reqwest::Method::GET,
        &backups_url(&agent, "shop"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Download URLs are https.
    let (s, created) = send(
        &pinned,
        reqwest::Method::POST,
        &backups_url(&agent, "shop"),
        Some(&token),
        Some(json!({"type": "DATABASE"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let status_url = format!(
        "{}/{}",
        backups_url(&agent, "shop"),
        created["backup_id"].as_str().unwrap()
    );
    let (done, _) = wait_done(&pinned, &status_url, &token).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let (_, link) = send(
        &pinned,
        reqwest::Method::GET,
        &format!("{status_url}/download"),
        Some(&token),
        None,
    )
    .await;
    let url = link["download_url"].as_str().unwrap();
    assert!(url.starts_with("https://"), "{url}");
    assert_eq!(
        pinned
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len() as u64,
        link["size"].as_u64().unwrap()
    );
    // A client that trusts nothing (another certificate) is refused; plain HTTP gets nowhere.
    assert!(http()
        .get(format!("{}/healthz", agent.url))
        .send()
        .await
        .is_err());
    let plain = agent.url.replace("https://", "http://");
    let answered = http()
        .get(format!("{plain}/healthz"))
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false);
    assert!(!answered, "plain HTTP was served on the TLS port");
    // The private key is private.
    let key_mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(agent.data_dir().join("tls/key.pem"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(key_mode, 0o600);
    // A given certificate and key (tls_cert/tls_key) are served instead of a self-signed one.
    let given = tempfile::tempdir().unwrap();
    let (cert, key) = (given.path().join("c.pem"), given.path().join("k.pem"));
    std::fs::copy(&cert_path, &cert).unwrap();
    std::fs::copy(agent.data_dir().join("tls/key.pem"), &key).unwrap();
    let second = start(
        &fx,
        &format!("tls_cert = {cert:?}\ntls_key = {key:?}"),
        false,
    );
    assert_eq!(second.fingerprint.as_deref(), Some(fp.as_str()));
    assert!(
        !second.data_dir().join("tls").exists(),
        "no self-signed certificate is made when one is given"
    );
    let r = pinned
        .get(format!("{}/healthz", second.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_served_openapi_document_is_the_committed_one() {
    let fx = fixture(1);
    let agent = start(&fx, "", true);
    let served = http()
        .get(format!("{}/openapi.json", agent.url))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    let served = served.text().await.unwrap();
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/openapi.json"),
    )
    .unwrap();
    assert_eq!(served, committed);
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, route) in offsite_agent::api::ROUTES {
        assert!(doc["paths"][route][method].is_object(), "{method} {route}");
    }
}

/// Idle memory of the agent process (VmRSS after start and a few requests). The target
/// is ≤ 30 MiB (release build); this debug build gets a generous bound.
#[tokio::test]
async fn idle_memory_is_small() {
    let fx = fixture(1);
    let agent = start(&fx, "", true);
    let token = agent.token(&[]);
    let c = http();
    for _ in 0..5 {
        let (s, _) = send(
            &c,
            reqwest::Method::GET,
            &backups_url(&agent, "shop"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", agent.pid())).unwrap();
    let kib = |field: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in {status}"))
    };
    let (rss, anon, file) = (kib("VmRSS:"), kib("RssAnon:"), kib("RssFile:"));
    println!(
        "agent idle RSS: {:.1} MiB (heap and stacks {:.1} MiB, mapped binary {:.1} MiB)",
        rss as f64 / 1024.0,
        anon as f64 / 1024.0,
        file as f64 / 1024.0
    );
    // The debug binary's mapped pages dominate; what the agent allocates is small.
    assert!(anon < 16 * 1024, "the idle agent allocated {anon} kB");
    assert!(rss < 64 * 1024, "the idle agent uses {rss} kB");
}

/// SIGTERM (systemd, Kubernetes) while a backup runs: the agent cancels it, leaves no file
/// behind, records the cancel, and exits 0.
#[tokio::test]
async fn sigterm_cancels_a_running_backup_and_leaves_nothing() {
    let fx = fixture(300_000);
    let mut agent = start(&fx, "", true);
    let token = agent.token(&[]);
    let c = http();
    let (s, created) = send(
        &c,
        reqwest::Method::POST,
        &backups_url(&agent, "shop"),
        Some(&token),
        Some(json!({"type": "DATABASE"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{created}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &agent.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(st) = agent.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "the agent did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let archives = agent.data_dir().join("engine/backups/shop");
    let left: Vec<_> = std::fs::read_dir(&archives)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                // The folder's lock file (kept; it marks a folder Offsite writes to).
                .filter(|n| n != ".offsite-folder.lock")
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
    let engine = offsite_core::Engine::open(
        offsite_core::EngineConfig::new(Arc::new(offsite_core::secrets::MemoryStore::new()))
            .data_dir(agent.data_dir().join("engine")),
    )
    .await
    .unwrap();
    let job = engine
        .catalog()
        .job(created["backup_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(job.state, JobState::Cancelled, "{job:?}");
}
