//! Hostile clients against the agent as its own process: idle and half-sent connections,
//! floods of unauthenticated requests with long paths, a damaged token file, malformed HTTP
//! framing, absurd Range headers, download URLs of a revoked token.

use super::*;
use std::io::Write;
use std::net::TcpStream;

/// `GET /healthz` on a new connection: the status line, within `wait`.
fn healthz(addr: &str, wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    write!(
        s,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// Whether the server has closed `s` (EOF or reset), without waiting.
fn closed(s: &mut TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // an answer (408/400): the close follows
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// Send `request` raw; the whole answer until the server closes (`None`: it did not close
/// within 10 s).
fn raw(addr: &str, request: &[u8]) -> Option<String> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(request);
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => Some(String::from_utf8_lossy(&out).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
            Some(String::from_utf8_lossy(&out).into_owned())
        }
        Err(_) => None,
    }
}

fn status_of(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// The bytes of every file under `dir`, except SQLite's write-ahead log and its index: the
/// agent's own due loop writes those at start (its watchers record their runs, issue 27),
/// whatever a client sends, and SQLite reuses the log after each checkpoint. The catalog file
/// itself counts.
fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with("-wal") || name.ends_with("-shm") {
            continue;
        }
        let m = e.metadata().unwrap();
        total += if m.is_dir() {
            dir_size(&e.path())
        } else {
            m.len()
        };
    }
    total
}

/// Item 4: 300 connections that send half a request line and nothing more (and, against a
/// TLS agent, connections that never finish the handshake) are closed by the agent after its
/// header-read timeout (10 s by default); `/healthz` answers all along.
#[tokio::test]
async fn idle_half_sent_connections_are_closed_and_healthz_keeps_answering() {
    let fx = fixture(1);
    let plain = start(&fx, "", true);
    let tls = start(&fx, "", false);
    let addr = plain.url.trim_start_matches("http://").to_string();
    let tls_addr = tls.url.trim_start_matches("https://").to_string();
    let started = Instant::now();
    let mut held: Vec<Option<TcpStream>> = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(&addr).unwrap();
        let _ = s.write_all(b"GET /platform/projects/shop/bac");
        held.push(Some(s));
    }
    for i in 0..40 {
        let mut s = TcpStream::connect(&tls_addr).unwrap();
        if i % 2 == 0 {
            // The first bytes of a ClientHello, then nothing.
            let _ = s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
        }
        held.push(Some(s));
    }
    // The agent answers during the attack.
    for _ in 0..5 {
        let line = healthz(&addr, Duration::from_secs(3));
        assert!(
            line.contains(" 200 "),
            "healthz during the attack: {line:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // (Those over the cap are closed at once: `connections_over_the_cap_are_closed_at_once`.)
    // All of them closed within the header-read timeout and slack.
    // (Generous: without the timeout they would stay open for good.)
    let deadline = started + Duration::from_secs(10 + 50);
    loop {
        for slot in held.iter_mut() {
            if slot.as_mut().is_some_and(closed) {
                *slot = None;
            }
        }
        let open = held.iter().filter(|s| s.is_some()).count();
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} idle connections still open after {:?}",
            started.elapsed()
        );
        let line = healthz(&addr, Duration::from_secs(3));
        assert!(line.contains(" 200 "), "healthz: {line:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("all idle connections closed after {:?}", started.elapsed());
    assert!(healthz(&addr, Duration::from_secs(3)).contains(" 200 "));
    // A connection that sends nothing after a full request and its answer (kept alive) goes
    // the same way.
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(s, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    // Closed by the agent (the read ends), not by this read's own deadline (an error).
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut out = Vec::new();
    let read = s.read_to_end(&mut out);
    assert!(String::from_utf8_lossy(&out).contains(" 200 "));
    let timed_out = matches!(&read, Err(e) if matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    assert!(
        !timed_out,
        "a kept-alive idle connection was still open after 60 s: {read:?}"
    );
}

/// Item 4's cap: connections over `max_connections` are closed as they arrive, not by the
/// header-read timeout — an agent whose timeout is an hour closes exactly those over its cap,
/// and keeps the ones within it open.
#[tokio::test]
async fn connections_over_the_cap_are_closed_at_once() {
    let fx = fixture(1);
    let capped = start(
        &fx,
        "header_read_timeout_secs = 3600\nmax_connections = 16",
        true,
    );
    let addr = capped.url.trim_start_matches("http://").to_string();
    let held: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            let _ = s.write_all(b"GET /platform/projects/shop/bac");
            s
        })
        .collect();
    // Each connection read on its own thread until the agent closes it (or 60 s pass): a
    // close is an event on the channel, not a poll.
    let (closed_tx, closed_rx) = std::sync::mpsc::channel();
    for (i, s) in held.iter().enumerate() {
        let mut s = s.try_clone().unwrap();
        let tx = closed_tx.clone();
        std::thread::spawn(move || {
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            let mut buf = [0u8; 4096];
            let closed = loop {
                match s.read(&mut buf) {
                    Ok(0) => break true,
                    Ok(_) => continue, // an answer: the close follows
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        break false
                    }
                    Err(_) => break true,
                }
            };
            if closed {
                let _ = tx.send(i);
            }
        });
    }
    drop(closed_tx);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut closed_now = std::collections::BTreeSet::new();
    while closed_now.len() < 40 - 16 {
        let left = deadline.saturating_duration_since(Instant::now());
        match closed_rx.recv_timeout(left) {
            Ok(i) => {
                closed_now.insert(i);
            }
            Err(_) => break,
        }
    }
    assert_eq!(
        closed_now.len(),
        40 - 16,
        "of 40 half-sent connections, those over the cap (16) are closed, the rest kept"
    );
    // The 16 within the cap are still open: none of them has been closed meanwhile.
    let mut open = 0;
    for (i, s) in held.iter().enumerate() {
        if !closed_now.contains(&i) {
            let mut s = s.try_clone().unwrap();
            open += usize::from(!closed(&mut s));
        }
    }
    assert_eq!(open, 16);
}

/// Item 5: 2,000 unauthenticated requests with 4 KB paths grow the data folder by a bounded
/// amount (20 audit lines with cut paths, then one throttle line; today ≈ 8 MB), the throttle
/// answers 429 with Retry-After, `/healthz` still answers that client.
#[tokio::test]
async fn unauthenticated_floods_are_throttled_and_the_audit_log_stays_small() {
    let fx = fixture(1);
    let agent = start(&fx, "", true);
    let token = agent.token(&[]);
    let c = http();
    let data = agent.data_dir();
    let before = dir_size(&data);
    let long = "x".repeat(4000);
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    let mut retry_after = None;
    for i in 0..2000 {
        let url = format!("{}/platform/projects/shop/backups/{i}{long}", agent.url);
        let r = c
            .get(&url)
            .bearer_auth("offsite_wrong_token")
            .send()
            .await
            .unwrap();
        *statuses.entry(r.status().as_u16()).or_default() += 1;
        if r.status() == StatusCode::TOO_MANY_REQUESTS && retry_after.is_none() {
            retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["code"], "too_many_failures", "{v}");
        }
    }
    let grown = dir_size(&data) - before;
    println!("statuses {statuses:?}; the data folder grew by {grown} bytes");
    assert_eq!(statuses.get(&401), Some(&20), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&1980), "{statuses:?}");
    assert!(
        retry_after.is_some_and(|s| (1..=60).contains(&s)),
        "{retry_after:?}"
    );
    assert!(grown < 32 * 1024, "the data folder grew by {grown} bytes");
    let audit = std::fs::read_to_string(data.join("audit.log")).unwrap();
    assert_eq!(
        audit.matches("\"event\":\"client_throttled\"").count(),
        1,
        "{audit}"
    );
    for line in audit.lines() {
        assert!(line.len() < 600, "{line}");
        let v: Value = serde_json::from_str(line).unwrap();
        if let Some(p) = v["path"].as_str() {
            assert!(p.len() <= 232, "{p}");
        }
    }
    // The throttled client: refused even with a good token, healthz still answers.
    let (s, _) = send(
        &c,
        reqwest::Method::GET,
        &backups_url(&agent, "shop"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let addr = agent.url.trim_start_matches("http://").to_string();
    assert!(healthz(&addr, Duration::from_secs(3)).contains(" 200 "));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("audit.log"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// Item 5: a damaged `tokens.json` answers a generic 503 naming no path; the agent's own log
/// has the details.
#[tokio::test]
async fn a_damaged_token_file_is_not_described_to_callers() {
    let fx = fixture(1);
    let agent = start(&fx, "", true);
    let token = agent.token(&[]);
    let data = agent.data_dir();
    std::fs::write(data.join("tokens.json"), b"{ this is not json").unwrap();
    let r = http()
        .get(backups_url(&agent, "shop"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], "unavailable", "{v}");
    for leak in [
        "tokens.json",
        data.to_str().unwrap(),
        agent.dir.path().to_str().unwrap(),
        "damaged",
        "line",
    ] {
        assert!(!body.contains(leak), "{leak:?} in {body}");
    }
    let log = std::fs::read_to_string(agent.dir.path().join("stderr.log")).unwrap();
    assert!(log.contains("tokens.json"), "the agent's log: {log}");
}

/// A finished DATABASE backup of `shop`: (status URL, download link of `token`).
async fn finished_backup(agent: &AgentProc, token: &str) -> (String, Value) {
    let c = http();
    let (s, created) = send(
        &c,
        reqwest::Method::POST,
        &backups_url(agent, "shop"),
        Some(token),
        Some(json!({"type": "DATABASE"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{created}");
    let status_url = format!(
        "{}/{}",
        backups_url(agent, "shop"),
        created["backup_id"].as_str().unwrap()
    );
    let (done, _) = wait_done(&c, &status_url, token).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let (s, link) = send(
        &c,
        reqwest::Method::GET,
        &format!("{status_url}/download"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{link}");
    (status_url, link)
}

/// Item 8: a download URL stops working when the token that asked for it is revoked; another
/// token's URL for the same backup keeps working.
#[tokio::test]
async fn download_urls_of_a_revoked_token_stop_working() {
    let fx = fixture(10);
    let agent = start(&fx, "", true);
    let doomed = agent.token(&["--project", "shop"]);
    let kept = agent.token(&[]);
    let (status_url, link) = finished_backup(&agent, &doomed).await;
    let url = link["download_url"].as_str().unwrap().to_string();
    let c = http();
    assert_eq!(c.get(&url).send().await.unwrap().status(), StatusCode::OK);
    let (_, other) = send(
        &c,
        reqwest::Method::GET,
        &format!("{status_url}/download"),
        Some(&kept),
        None,
    )
    .await;
    let other_url = other["download_url"].as_str().unwrap().to_string();
    let list: Value = serde_json::from_str(&agent.cli(&["--json", "token", "list"])).unwrap();
    let id = list["tokens"][0]["id"].as_str().unwrap().to_string();
    agent.cli(&["token", "revoke", &id]);
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a revoked token's URL");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "token_revoked", "{v}");
    assert!(url.contains(&format!("token={id}")), "{url}");
    // Moving the URL to the live token's id breaks its signature.
    let kept_id = list["tokens"][1]["id"].as_str().unwrap();
    let moved = url.replace(&format!("token={id}"), &format!("token={kept_id}"));
    let r = c.get(&moved).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "bad_signature", "{v}");
    assert_eq!(
        c.get(&other_url).send().await.unwrap().status(),
        StatusCode::OK
    );
}

/// Items 10 and 5: malformed HTTP framing gets a 4xx (or, for Transfer-Encoding with
/// Content-Length, chunked framing and a closed connection: no request smuggled through) and
/// the connection closed; absurd Range headers get 416 or at most the file; the agent stays
/// healthy.
#[tokio::test]
async fn malformed_framing_and_absurd_ranges_end_in_4xx_and_a_healthy_agent() {
    let fx = fixture(10);
    let agent = start(&fx, "", true);
    let addr = agent.url.trim_start_matches("http://").to_string();
    let h = format!("Host: {addr}\r\n");
    let post = "POST /platform/projects/shop/backups HTTP/1.1\r\n";
    let cases: Vec<(&str, Vec<u8>, &[u16])> = vec![
        (
            "conflicting Content-Length",
            format!("{post}{h}Content-Length: 5\r\nContent-Length: 7\r\n\r\nhello12").into_bytes(),
            &[400],
        ),
        (
            "Content-Length not a number",
            format!("{post}{h}Content-Length: 5x\r\n\r\nhello").into_bytes(),
            &[400],
        ),
        (
            "Transfer-Encoding not chunked",
            format!("{post}{h}Transfer-Encoding: gzip\r\n\r\nhello").into_bytes(),
            &[400],
        ),
        (
            "bad chunk size",
            format!("{post}{h}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
                .into_bytes(),
            &[400, 401],
        ),
        (
            "obs-fold header",
            format!("GET /healthz HTTP/1.1\r\n{h}X-Folded: a\r\n  b\r\n\r\n").into_bytes(),
            &[400],
        ),
        (
            "a 100 KB header line",
            format!(
                "GET /healthz HTTP/1.1\r\n{h}X-Big: {}\r\n\r\n",
                "a".repeat(100 * 1024)
            )
            .into_bytes(),
            &[431],
        ),
        (
            "NUL in the path",
            format!("GET /heal\0thz HTTP/1.1\r\n{h}\r\n").into_bytes(),
            &[400],
        ),
        (
            "a request line of garbage",
            b"\x16\x03\x01garbage\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "space in the header name",
            format!("GET /healthz HTTP/1.1\r\n{h}Bad Header: x\r\n\r\n").into_bytes(),
            &[400],
        ),
    ];
    for (what, request, want) in &cases {
        let answer =
            raw(&addr, request).unwrap_or_else(|| panic!("{what}: the connection was not closed"));
        let status = status_of(&answer);
        assert!(want.contains(&status), "{what}: {status} {answer:?}");
        assert!(
            healthz(&addr, Duration::from_secs(3)).contains(" 200 "),
            "after {what}"
        );
    }
    // Transfer-Encoding and Content-Length: read as chunked, connection closed after the
    // answer: the "second request" hidden in the Content-Length framing is never answered.
    let smuggle = format!(
        "{post}{h}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\n{h}\r\n"
    );
    let answer = raw(&addr, smuggle.as_bytes()).expect("closed");
    assert_eq!(status_of(&answer), 401, "{answer}");
    assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "{answer}");
    // Absurd ranges on a real download.
    let token = agent.token(&[]);
    let (_, link) = finished_backup(&agent, &token).await;
    let url = link["download_url"].as_str().unwrap();
    let size = link["size"].as_u64().unwrap();
    let path = url.trim_start_matches(&agent.url);
    let ranged = |range: String| {
        format!("GET {path} HTTP/1.1\r\n{h}Range: {range}\r\nConnection: close\r\n\r\n")
    };
    let many = format!("bytes={}", vec!["0-0"; 1000].join(","));
    for (range, want) in [
        (many, 416),
        ("bytes=99999999999999999999-".to_string(), 416),
        ("bytes=0-99999999999999999999".to_string(), 416),
        (format!("bytes={size}-"), 416),
        ("bytes=-0".to_string(), 416),
        ("bytes=5-2".to_string(), 416),
    ] {
        let answer = raw(&addr, ranged(range.clone()).as_bytes()).expect("closed");
        assert_eq!(status_of(&answer), want, "{range}: {answer:.300}");
        assert!(answer.contains(&format!("bytes */{size}")), "{answer:.300}");
    }
    // A suffix longer than the file: the whole file as one part, never more.
    let c = http();
    let r = c
        .get(url)
        .header("Range", "bytes=-99999999999")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.headers()["content-range"].to_str().unwrap(),
        format!("bytes 0-{}/{size}", size - 1)
    );
    assert_eq!(r.bytes().await.unwrap().len() as u64, size);
    let r = c
        .get(url)
        .header("Range", format!("bytes=0-{}", size * 10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().len() as u64, size);
    assert!(healthz(&addr, Duration::from_secs(3)).contains(" 200 "));
}

/// Item 8/10: links in the storage folder (a bucket linked to `/etc`, a file linked to
/// `/etc/passwd`, a folder linked to `/etc`) never reach an archive made by the agent.
#[tokio::test]
async fn links_in_the_storage_folder_are_not_followed_by_backups() {
    let fx = fixture(1);
    let storage = fx.files.path().join("storage");
    std::os::unix::fs::symlink("/etc", storage.join("etc-bucket")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", storage.join("avatars/passwd")).unwrap();
    std::os::unix::fs::symlink("/etc", storage.join("avatars/etc")).unwrap();
    let agent = start(&fx, "", true);
    let token = agent.token(&[]);
    let c = http();
    let (s, created) = send(
        &c,
        reqwest::Method::POST,
        &backups_url(&agent, "shop"),
        Some(&token),
        Some(json!({"type": "STORAGE"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{created}");
    let status_url = format!(
        "{}/{}",
        backups_url(&agent, "shop"),
        created["backup_id"].as_str().unwrap()
    );
    let (done, _) = wait_done(&c, &status_url, &token).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let archive = std::fs::read_dir(agent.data_dir().join("engine/backups/shop"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| offsite_core::backup::has_archive_suffix(&p.to_string_lossy()))
        .unwrap();
    let f = std::io::BufReader::new(std::fs::File::open(&archive).unwrap());
    let mut t = tar::Archive::new(offsite_core::archive::codec::decompress(f));
    let mut names = Vec::new();
    for e in t.entries().unwrap() {
        let mut e = e.unwrap();
        names.push(e.path().unwrap().to_string_lossy().into_owned());
        let mut body = Vec::new();
        e.read_to_end(&mut body).unwrap();
        assert!(
            !String::from_utf8_lossy(&body).contains("root:x:0:0"),
            "/etc/passwd in {}",
            names.last().unwrap()
        );
    }
    assert!(
        names.iter().any(|n| n.ends_with("avatars/a.png")),
        "{names:?}"
    );
    for n in &names {
        assert!(
            !n.contains("etc-bucket")
                && !n.ends_with("avatars/passwd")
                && !n.contains("avatars/etc"),
            "{n}"
        );
    }
}
