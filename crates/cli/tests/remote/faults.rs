//! The fault matrix between the two real processes: the `offsite` CLI pulls the archive of the
//! real `offsite serve` (plain HTTP, a throwaway PostgreSQL) through the [`HttpFaultProxy`],
//! which cuts, resets, stalls, drips, lies about lengths, drops or changes validators, expires
//! the signed URL, refuses the token and answers 5xx / 429 bursts — on the file, on the
//! download link and on the list and status calls. Every scenario ends in either
//!
//! - the agent's archive byte for byte (its SHA-256, registered as verified, no `.part` left),
//!   with what was asked and re-sent checked from the proxy's record (the `Range` of a resume,
//!   the body bytes passed), or
//! - a clear error (`--json`: its code and message, the exit code) with nothing registered and
//!   no `.part` or archive left.
//!
//! One agent with one backup serves every scenario; each scenario has its own proxy and its own
//! laptop data folder, and a few run at a time. The `backup --remote` scenarios make new
//! backups on the agent, so they run afterwards, one by one. (A changed TLS certificate is
//! `server.rs`'s `backup_server_trust_remote_backup_pull_wrong_token_and_changed_certificate`:
//! the proxy speaks plain HTTP.)

use super::{
    assert_same_as_agents, backup_on_agent, database, json_of, start_agent, Agent, Laptop,
};
use offsite_core::transfer::url_expired_body;
use offsite_testkit::http_proxy::{HttpExchange, HttpFault, HttpFaultProxy};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The agent and the backup every scenario downloads.
struct Shared {
    agent: Agent,
    token: String,
    db_url: String,
    backup_id: String,
    size: u64,
    sha256: String,
}

/// One scenario's proxy and laptop (the server added through the proxy).
struct Case<'a> {
    sh: &'a Shared,
    proxy: HttpFaultProxy,
    laptop: Laptop,
}

const LIST: &str = "/platform/projects/shop/backups";

impl<'a> Case<'a> {
    fn new(sh: &'a Shared) -> Case<'a> {
        let proxy = HttpFaultProxy::start(sh.agent.addr());
        let laptop = Laptop::new(&sh.token);
        laptop.add_plain_server(&sh.db_url, &proxy.endpoint());
        proxy.reset_counts();
        Case { sh, proxy, laptop }
    }

    /// The path prefix of the archive's signed URLs.
    fn file(&self) -> String {
        format!("/files/{}/", self.sh.backup_id)
    }

    /// The path of the download-link call.
    fn link(&self) -> String {
        format!("{LIST}/{}/download", self.sh.backup_id)
    }

    /// The archive's `ETag` as the agent gives it.
    fn etag(&self) -> String {
        format!("\"sha256:{}\"", self.sh.sha256)
    }

    /// Faults on the archive's GETs.
    fn on_file(&self, fault: HttpFault, times: u32) {
        self.proxy
            .inject_path(Some("GET"), &self.file(), fault, times);
    }

    /// The exchanges whose path starts with `prefix`, in the order they arrived.
    fn exchanges(&self, prefix: &str) -> Vec<HttpExchange> {
        // The proxy lists them in that order.
        self.proxy
            .exchanges()
            .into_iter()
            .filter(|e| e.path.starts_with(prefix))
            .collect()
    }

    fn files(&self) -> Vec<HttpExchange> {
        self.exchanges(&self.file())
    }

    /// `pull` downloads the archive: byte-identical, registered as verified, nothing else
    /// left. Returns the archive's exchanges.
    fn pull_ok(&self) -> Vec<HttpExchange> {
        let pulled = self.laptop.json(&["pull", "shop"], 0);
        let got = pulled["downloaded"].as_array().unwrap();
        assert_eq!(got.len(), 1, "{pulled}");
        assert_eq!(got[0]["sha256"], self.sh.sha256.as_str(), "{pulled}");
        let path = PathBuf::from(got[0]["path"].as_str().unwrap());
        assert_same_as_agents(&self.sh.agent, &path);
        let listed = self.laptop.backups();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0]["status"], "verified", "{listed:?}");
        let (parts, archives) = self.laptop.files();
        assert!(parts.is_empty(), "{parts:?}");
        assert_eq!(archives, vec![path]);
        self.files()
    }

    /// `pull` fails with exit code `exit` and error `code`; nothing registered, no `.part`, no
    /// archive. Returns the error (`{code, message, hint}`) with stderr under `"stderr"`.
    fn pull_fails(&self, exit: i32, code: &str) -> Value {
        let out = self.laptop.run(&["--json", "pull", "shop"]);
        let mut v = json_of(&out, exit, &["pull"]);
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty(), "{v}");
        self.assert_nothing_left();
        v["error"]["stderr"] = String::from_utf8_lossy(&out.stderr).into();
        v["error"].clone()
    }

    fn assert_nothing_left(&self) {
        let (parts, archives) = self.laptop.files();
        assert!(parts.is_empty(), "{parts:?}");
        assert!(archives.is_empty(), "{archives:?}");
        assert!(self.laptop.backups().is_empty());
    }
}

/// The start of a resume's `Range: bytes=N-`.
fn range_start(e: &HttpExchange) -> u64 {
    let r = e
        .range
        .as_deref()
        .unwrap_or_else(|| panic!("no Range: {e:?}"));
    r.strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not bytes=N-: {r}"))
}

fn body_sum(v: &[HttpExchange]) -> u64 {
    v.iter().map(|e| e.body_bytes).sum()
}

fn json_answer(status: u16, body: String, headers: &[(&str, &str)]) -> HttpFault {
    let mut h = vec![("Content-Type".to_string(), "application/json".to_string())];
    h.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    HttpFault::Respond {
        status,
        headers: h,
        body,
    }
}

// ---------------------------------------------------------------------------------------------
// The scenarios

/// Reset (`RST`) after 150 kB: resumed from the bytes the client had, pinned to the ETag.
fn reset_after_n_bytes(c: &Case) {
    c.on_file(HttpFault::ResetBodyAfter(150_000), 1);
    let f = c.pull_ok();
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].body_bytes, 150_000, "{f:?}");
    let from = range_start(&f[1]);
    assert!(from > 0 && from <= 150_000, "{f:?}");
    assert_eq!(f[1].if_range.as_deref(), Some(c.etag().as_str()), "{f:?}");
    assert_eq!(f[1].status, 206, "{f:?}");
    assert_eq!(
        f[1].body_bytes,
        c.sh.size - from,
        "only the rest was sent again"
    );
}

/// Five clean cuts in a row, every 60 kB: six requests, each resuming where the last ended,
/// nothing sent twice.
fn cut_repeatedly(c: &Case) {
    c.on_file(HttpFault::CutBodyAfter(60_000), 5);
    let f = c.pull_ok();
    assert_eq!(f.len(), 6, "{f:?}");
    assert!(f[0].range.is_none(), "{f:?}");
    // Every request after the first resumes where the one before it was cut.
    for (i, e) in (1u64..).zip(&f[1..]) {
        assert_eq!(range_start(e), 60_000 * i, "{f:?}");
        assert_eq!(e.status, 206, "{f:?}");
    }
    assert_eq!(body_sum(&f), c.sh.size, "nothing was sent twice: {f:?}");
}

/// Two answers cut inside their head (no body byte): tried again from the start.
fn cut_inside_the_head(c: &Case) {
    c.on_file(HttpFault::CutAfter(60), 2);
    let f = c.pull_ok();
    assert_eq!(f.len(), 3, "{f:?}");
    assert!(f.iter().all(|e| e.range.is_none()), "{f:?}");
    assert_eq!(f[2].body_bytes, c.sh.size, "{f:?}");
}

/// Cut, then the resume reaches a server that ignores `Range`: its `200` replaces what the
/// `.part` held (no splice), and the file is whole.
fn server_ignores_range(c: &Case) {
    c.on_file(HttpFault::CutBodyAfter(150_000), 1);
    c.on_file(HttpFault::StripRange, 1);
    let f = c.pull_ok();
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(range_start(&f[1]), 150_000, "{f:?}");
    assert_eq!((f[1].status, f[1].body_bytes), (200, c.sh.size), "{f:?}");
}

/// The first answer's ETag is another version's: the resume's `If-Range` names it, the agent
/// answers `200` with the whole (current) file, which replaces the piece.
fn etag_changed_if_range_answered_whole(c: &Case) {
    let old = "\"sha256:an-older-version\"";
    c.on_file(
        HttpFault::All(vec![
            HttpFault::SetHeader {
                name: "ETag".into(),
                value: Some(old.into()),
            },
            HttpFault::CutBodyAfter(150_000),
        ]),
        1,
    );
    let f = c.pull_ok();
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(range_start(&f[1]), 150_000, "{f:?}");
    assert_eq!(f[1].if_range.as_deref(), Some(old), "{f:?}");
    assert_eq!((f[1].status, f[1].body_bytes), (200, c.sh.size), "{f:?}");
}

/// The resume's `206` carries another ETag than the first answer: not spliced; the download
/// starts over with a request for the whole file.
fn etag_changed_on_resume(c: &Case) {
    c.on_file(HttpFault::CutBodyAfter(150_000), 1);
    c.on_file(
        HttpFault::SetHeader {
            name: "ETag".into(),
            value: Some("\"sha256:another-version\"".into()),
        },
        1,
    );
    let f = c.pull_ok();
    assert_eq!(f.len(), 3, "{f:?}");
    assert_eq!((range_start(&f[1]), f[1].status), (150_000, 206), "{f:?}");
    assert!(f[2].range.is_none(), "started over: {f:?}");
    assert_eq!((f[2].status, f[2].body_bytes), (200, c.sh.size), "{f:?}");
}

/// Cut, then the signed URL has expired (the agent's `410 url_expired`): a fresh link is asked
/// for and the download resumes where it was.
fn url_expires_mid_download(c: &Case) {
    c.on_file(HttpFault::CutBodyAfter(150_000), 1);
    c.on_file(json_answer(410, url_expired_body(), &[]), 1);
    let f = c.pull_ok();
    assert_eq!(f.len(), 3, "{f:?}");
    assert_eq!(f[1].status, 410, "{f:?}");
    assert_eq!((range_start(&f[2]), f[2].status), (150_000, 206), "{f:?}");
    assert_eq!(f[0].body_bytes + f[2].body_bytes, c.sh.size, "{f:?}");
    let links = c.exchanges(&c.link());
    assert_eq!(links.len(), 2, "a fresh link: {links:?}");
    assert!(links[1].at > f[1].at, "{links:?} {f:?}");
}

/// Cut, then three `500`s (no `Retry-After`): waited, resumed where it was.
fn burst_of_500_mid_download(c: &Case) {
    c.on_file(HttpFault::CutBodyAfter(150_000), 1);
    c.on_file(json_answer(500, "{}".into(), &[]), 3);
    let f = c.pull_ok();
    assert_eq!(f.len(), 5, "{f:?}");
    assert!(f[1..4].iter().all(|e| e.status == 500), "{f:?}");
    assert_eq!((range_start(&f[4]), f[4].status), (150_000, 206), "{f:?}");
    assert_eq!(f[0].body_bytes + f[4].body_bytes, c.sh.size, "{f:?}");
}

/// Four `503`s before the first byte: the fifth try brings the file.
fn burst_of_503(c: &Case) {
    c.on_file(HttpFault::Status(503), 4);
    let f = c.pull_ok();
    assert_eq!(f.len(), 5, "{f:?}");
    assert!(f[..4].iter().all(|e| e.status == 503), "{f:?}");
    assert_eq!((f[4].status, f[4].body_bytes), (200, c.sh.size), "{f:?}");
}

/// `429` with `Retry-After: 3`: the next try waits those 3 s (not the 0.5 s backoff).
fn rate_limited_with_retry_after(c: &Case) {
    c.on_file(json_answer(429, "{}".into(), &[("Retry-After", "3")]), 1);
    let f = c.pull_ok();
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].status, 429);
    let waited = f[1].at - f[0].at;
    assert!(waited >= Duration::from_millis(2_900), "waited {waited:?}");
    assert_eq!(f[1].body_bytes, c.sh.size, "{f:?}");
}

/// Cut, then `503` for good: given up after the retry budget, with a clear error; the
/// `.part` (150 kB) removed.
fn burst_longer_than_the_budget(c: &Case) {
    c.on_file(HttpFault::CutBodyAfter(150_000), 1);
    c.on_file(HttpFault::Status(503), 1_000);
    let e = c.pull_fails(3, "connection");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("gave up after") && msg.contains("503"), "{e}");
    let f = c.files();
    assert!(f.len() >= 5, "several tries: {f:?}");
    assert!(f[1..].iter().all(|x| x.status == 503), "{f:?}");
}

/// The whole file in 4 KiB pieces, 5 ms apart: completes in one request.
fn slow_drip(c: &Case) {
    c.on_file(
        HttpFault::Drip {
            chunk: 4096,
            pause_ms: 5,
        },
        1,
    );
    let f = c.pull_ok();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].body_bytes, c.sh.size);
}

/// The answer stops 40 kB before the end and the connection stays open: the client's idle
/// timeout (60 s; 5 s here through OFFSITE_HTTP_IDLE_TIMEOUT, so the test does not wait a
/// minute) gives up on it, and the rest is asked for.
fn stall_then_idle_timeout(c: &Case) {
    c.laptop.set_env("OFFSITE_HTTP_IDLE_TIMEOUT", "5");
    let at = c.sh.size - 40_000;
    c.on_file(HttpFault::StallAfter(at), 1);
    let f = c.pull_ok();
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].body_bytes, at, "{f:?}");
    assert_eq!((range_start(&f[1]), f[1].status), (at, 206), "{f:?}");
    assert_eq!(f[1].body_bytes, 40_000, "{f:?}");
    let idle = f[1].at - f[0].at;
    // The timeout asked for, not the default 60 s, and not earlier.
    assert!(
        idle >= Duration::from_secs(4) && idle < Duration::from_secs(30),
        "idle for {idle:?}"
    );
}

/// `Content-Length` 1000 more than the body: every byte arrived (the promised size), the early
/// close is no loss, nothing is asked again.
fn content_length_longer(c: &Case) {
    c.on_file(HttpFault::ContentLengthDelta(1_000), 1);
    let f = c.pull_ok();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].body_bytes, c.sh.size, "{f:?}");
}

/// `Content-Length` 100 kB short (a complete HTTP answer, short of the promised size): the
/// rest is asked for.
fn content_length_shorter(c: &Case) {
    c.on_file(HttpFault::ContentLengthDelta(-100_000), 1);
    let f = c.pull_ok();
    let short = c.sh.size - 100_000;
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].body_bytes, short, "{f:?}");
    assert_eq!((range_start(&f[1]), f[1].status), (short, 206), "{f:?}");
    assert_eq!(body_sum(&f), c.sh.size, "{f:?}");
}

/// No `Content-Length`, and the connection closed cleanly after 200 kB: a well-formed answer
/// that is short of the promised size, so the rest is asked for.
fn truncated_body_clean_close(c: &Case) {
    c.on_file(
        HttpFault::All(vec![
            HttpFault::SetHeader {
                name: "Content-Length".into(),
                value: None,
            },
            HttpFault::CutBodyAfter(200_000),
        ]),
        1,
    );
    let f = c.pull_ok();
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].body_bytes, 200_000, "{f:?}");
    assert_eq!((range_start(&f[1]), f[1].status), (200_000, 206), "{f:?}");
    assert_eq!(body_sum(&f), c.sh.size, "{f:?}");
}

/// One byte flipped on the way: the SHA-256 does not match; an integrity error, nothing kept.
fn body_corrupted_in_transit(c: &Case) {
    c.on_file(HttpFault::CorruptBodyAt(1_000), 1);
    let e = c.pull_fails(4, "integrity");
    assert!(
        e["message"].as_str().unwrap().contains("SHA-256 mismatch"),
        "{e}"
    );
    assert_eq!(c.files().len(), 1);
}

/// Cut, the URL expired, and the fresh link is refused (`401`: the token was revoked
/// meanwhile): an auth error that says what to fix, without the token; the `.part` removed.
fn token_refused_mid_way(c: &Case) {
    c.on_file(HttpFault::CutBodyAfter(150_000), 1);
    c.on_file(json_answer(410, url_expired_body(), &[]), 1);
    let link = c.link();
    c.proxy
        .inject_path(Some("GET"), &link, HttpFault::All(vec![]), 1);
    let unauthorized = serde_json::json!({
        "code": "unauthorized",
        "message": "a valid bearer token is needed",
    });
    c.proxy.inject_path(
        Some("GET"),
        &link,
        json_answer(401, unauthorized.to_string(), &[]),
        1,
    );
    let e = c.pull_fails(3, "auth");
    let all = e.to_string();
    assert!(all.contains("token"), "says what to fix: {e}");
    assert!(!all.contains(&c.sh.token), "{e}");
    assert_eq!(c.files().len(), 2, "{:?}", c.files());
    assert_eq!(c.exchanges(&link).len(), 2);
}

/// A list that names no file for the backup (`file_name` absent, as a foreign or older server
/// may answer): the download is saved as `remote_<id>` with the ending its bytes say — the
/// agent's archive is zstd, so `.tar.zst`, never `.tar.gz` — and registered as verified.
fn server_names_no_file(c: &Case) {
    let listed = serde_json::json!({ "backups": [{
        "backup_id": c.sh.backup_id,
        "project": "shop",
        "status": "COMPLETED",
        "progress": 100,
        "created_at": "2026-11-25T00:00:00Z",
        "size": c.sh.size,
        "sha256": c.sh.sha256,
    }]});
    // The list is the pull's first call under LIST (the download link comes after it).
    c.proxy.inject_path(
        Some("GET"),
        LIST,
        json_answer(200, listed.to_string(), &[]),
        1,
    );
    c.pull_ok();
    let (_, archives) = c.laptop.files();
    let id: String =
        c.sh.backup_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
    let name = archives[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(name, format!("remote_{id}.tar.zst"));
    assert_eq!(
        offsite_core::archive::codec_of(&archives[0]).unwrap(),
        offsite_core::archive::codec::Codec::Zstd
    );
}

/// The list and the download link answered `503`, `429` and `500` first: each call is
/// tried again, and the pull completes.
fn json_calls_faulted_then_retried(c: &Case) {
    let link = c.link();
    c.proxy
        .inject_path(Some("GET"), &link, HttpFault::Status(500), 2);
    c.proxy
        .inject_path(Some("GET"), LIST, HttpFault::Status(503), 1);
    c.proxy
        .inject_path(Some("GET"), LIST, HttpFault::Status(429), 1);
    c.pull_ok();
    let statuses = |p: &str| -> Vec<u16> { c.exchanges(p).iter().map(|e| e.status).collect() };
    let lists: Vec<u16> = c
        .exchanges(LIST)
        .iter()
        .filter(|e| e.path == LIST)
        .map(|e| e.status)
        .collect();
    assert_eq!(lists, vec![503, 429, 200]);
    assert_eq!(statuses(&link), vec![500, 500, 200]);
}

/// The list answered `503` for good: a clear connection error after a few tries, nothing
/// downloaded.
fn json_calls_fail_for_good(c: &Case) {
    c.proxy
        .inject_path(Some("GET"), LIST, HttpFault::Status(503), 1_000);
    let e = c.pull_fails(3, "connection");
    assert!(e["message"].as_str().unwrap().contains("503"), "{e}");
    assert!(c.exchanges(LIST).len() >= 3, "tried again");
    assert!(c.files().is_empty());
}

/// `backup --remote` with the status polls and the download link answered `503` three times
/// and the download reset after 100 kB: the new backup arrives byte-identical.
fn remote_backup_with_faulted_polls_and_download(c: &Case) {
    let before = c.sh.agent.archives().len();
    c.proxy
        .inject_path(Some("GET"), &format!("{LIST}/"), HttpFault::Status(503), 3);
    c.proxy.inject_path(
        Some("GET"),
        "/files/",
        HttpFault::ResetBodyAfter(100_000),
        1,
    );
    let done = c
        .laptop
        .json(&["backup", "shop", "--remote", "--type", "database"], 0);
    let path = PathBuf::from(done["path"].as_str().unwrap());
    assert_same_as_agents(&c.sh.agent, &path);
    assert_eq!(c.sh.agent.archives().len(), before + 1);
    let listed = c.laptop.backups();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["status"], "verified");
    let polls = c.exchanges(&format!("{LIST}/"));
    assert_eq!(
        polls.iter().filter(|e| e.status == 503).count(),
        3,
        "{polls:?}"
    );
    let f = c.exchanges("/files/");
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(range_start(&f[1]) > 0, "resumed: {f:?}");
    let (parts, _) = c.laptop.files();
    assert!(parts.is_empty(), "{parts:?}");
}

/// `backup --remote` whose start is answered `503`: not repeated blindly (a POST may have
/// started a backup), a clear error; nothing made on the server, nothing registered.
fn remote_backup_start_refused(c: &Case) {
    let before = c.sh.agent.archives().len();
    c.proxy
        .inject_path(Some("POST"), LIST, HttpFault::Status(503), 1);
    let out = c.laptop.run(&["--json", "backup", "shop", "--remote"]);
    let v = json_of(&out, 3, &["backup", "--remote"]);
    assert_eq!(v["error"]["code"], "connection", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("503"),
        "{v}"
    );
    c.assert_nothing_left();
    assert_eq!(
        c.proxy
            .exchanges()
            .iter()
            .filter(|e| e.method == "POST")
            .count(),
        1
    );
    assert_eq!(c.sh.agent.archives().len(), before);
}

type Scenario = (&'static str, fn(&Case));

/// Run `scenarios`, `at_once` at a time, each in its own named thread with its own proxy and
/// laptop; the failures as `name: panic message`.
fn run_all(sh: &Shared, scenarios: &[Scenario], at_once: usize) -> Vec<String> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..at_once {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(name, f)) = scenarios.get(i) else {
                    break;
                };
                let t0 = Instant::now();
                let r = std::thread::scope(|s2| {
                    std::thread::Builder::new()
                        .name(name.to_string())
                        .spawn_scoped(s2, || f(&Case::new(sh)))
                        .unwrap()
                        .join()
                });
                let took = t0.elapsed().as_secs_f32();
                match r {
                    Ok(()) => eprintln!("scenario {name}: passed in {took:.1} s"),
                    Err(p) => {
                        let msg = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        eprintln!("scenario {name}: FAILED in {took:.1} s: {msg}");
                        failures.lock().unwrap().push(format!("{name}: {msg}"));
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

#[test]
fn every_fault_between_cli_and_agent_ends_identical_or_clean() {
    let db = database(40_000);
    let agent = start_agent(&db, "127.0.0.1:0", true);
    let token = agent.token();
    let made = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = agent.client(&token);
        backup_on_agent(&client).await
    });
    let size = made.size.unwrap();
    assert!(size > 400_000, "the archive is big enough to cut: {size}");
    let sh = Shared {
        db_url: TestCluster::shared().url(&db),
        backup_id: made.backup_id.clone(),
        sha256: made.sha256.clone().unwrap(),
        size,
        token,
        agent,
    };
    // The stall waits out the client's idle timeout (5 s here): it goes first, beside the others.
    let pulls: &[Scenario] = &[
        ("stall_then_idle_timeout", stall_then_idle_timeout),
        ("burst_longer_than_the_budget", burst_longer_than_the_budget),
        ("burst_of_500_mid_download", burst_of_500_mid_download),
        ("burst_of_503", burst_of_503),
        (
            "rate_limited_with_retry_after",
            rate_limited_with_retry_after,
        ),
        (
            "json_calls_faulted_then_retried",
            json_calls_faulted_then_retried,
        ),
        ("json_calls_fail_for_good", json_calls_fail_for_good),
        ("reset_after_n_bytes", reset_after_n_bytes),
        ("cut_repeatedly", cut_repeatedly),
        ("cut_inside_the_head", cut_inside_the_head),
        ("server_ignores_range", server_ignores_range),
        (
            "etag_changed_if_range_answered_whole",
            etag_changed_if_range_answered_whole,
        ),
        ("etag_changed_on_resume", etag_changed_on_resume),
        ("url_expires_mid_download", url_expires_mid_download),
        ("slow_drip", slow_drip),
        ("content_length_longer", content_length_longer),
        ("content_length_shorter", content_length_shorter),
        ("truncated_body_clean_close", truncated_body_clean_close),
        ("body_corrupted_in_transit", body_corrupted_in_transit),
        ("token_refused_mid_way", token_refused_mid_way),
        ("server_names_no_file", server_names_no_file),
    ];
    let mut failures = run_all(&sh, pulls, 3);
    // These make backups on the agent (which `pull` would then fetch too): after the pulls.
    let remote: &[Scenario] = &[
        ("remote_backup_start_refused", remote_backup_start_refused),
        (
            "remote_backup_with_faulted_polls_and_download",
            remote_backup_with_faulted_polls_and_download,
        ),
    ];
    failures.extend(run_all(&sh, remote, 1));
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        pulls.len() + remote.len(),
        failures.join("\n")
    );
}
