//! `offsite notify` as people and scripts use it (issue 27): channels added with their secrets
//! on standard input (kept in the real keychain: run under .ci/with-keyring), a test message to
//! a local webhook receiver, routes, the outbox log, clear errors (DNS), no secret in any
//! output — and a process killed while it delivers, whose event is delivered after the restart
//! (the next run, its clock moved past the lease with libfaketime).

mod common;

use common::{json_of, Cli};
use offsite_testkit::{TestCluster, WebhookReceiver};
use serde_json::Value;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const SECRET: &str = "hmac-secret-on-stdin";

/// A channel name no other test (or run) uses: the keychain is shared.
fn unique(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn add_test_route_log_and_remove_a_webhook_without_showing_a_secret() {
    let cli = Cli::keychain();
    let rx = WebhookReceiver::start();
    let name = unique("hook");
    let url = rx.url("/hooks/PATH-IS-SECRET");
    let out = cli.run_stdin(
        &["notify", "add", &name, "--webhook", &url, "--secret-stdin"],
        SECRET,
    );
    let mut all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains(&format!("added webhook channel {name}")),
        "{all}"
    );

    let out = cli.run(&["notify", "test", &name]);
    all.push_str(&text(&out));
    assert!(out.status.success(), "{all}");
    assert!(all.contains(&format!("sent a test message to {name}")));
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path, "/hooks/PATH-IS-SECRET");
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (body["version"].as_u64(), body["event"].as_str()),
        (Some(1), Some("test"))
    );
    assert_eq!(r.header("offsite-event-id"), body["id"].as_str());
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    let sig = hex_decode(
        r.header("offsite-signature")
            .unwrap()
            .strip_prefix("sha256=")
            .unwrap(),
    );
    ring::hmac::verify(&key, &r.body, &sig).expect("the signature verifies");

    // A project whose backups fail (a closed port), routed to the channel.
    let add = cli.json(
        &[
            "project",
            "add",
            "shop",
            "--db",
            "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable",
            "--no-test",
        ],
        0,
    );
    assert_eq!(add["project"]["name"], "shop", "{add}");
    let routes = cli.json(
        &[
            "notify",
            "route",
            "shop",
            "--events",
            "failed,overdue",
            "--to",
            &name,
        ],
        0,
    );
    assert_eq!(
        routes["routes"][0]["events"],
        serde_json::json!(["failed", "overdue"])
    );
    let out = cli.run(&["backup", "shop"]);
    all.push_str(&text(&out));
    assert!(!out.status.success());
    let log = cli.json(&["notify", "log", "--project", "shop"], 0);
    let rows = log["outbox"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{log}");
    assert_eq!(
        (rows[0]["kind"].as_str(), rows[0]["state"].as_str()),
        (Some("backup_failed"), Some("sent"))
    );
    assert_eq!(rx.delivered_ids().len(), 2);
    let list = cli.json(&["notify", "list"], 0);
    let out = cli.run(&["notify", "list"]);
    let human_log = cli.run(&["notify", "log"]);
    all.push_str(&format!("{list}{log}{}{}", text(&out), text(&human_log)));
    assert!(
        text(&human_log).contains("backup_failed"),
        "{}",
        text(&human_log)
    );
    for secret in ["PATH-IS-SECRET", SECRET] {
        assert!(!all.contains(secret), "{secret} was shown: {all}");
    }
    // Nor in the catalog file.
    let catalog = std::fs::read(cli.data.path().join("catalog.sqlite3")).unwrap();
    let wal = std::fs::read(cli.data.path().join("catalog.sqlite3-wal")).unwrap_or_default();
    for secret in ["PATH-IS-SECRET", SECRET] {
        assert!(
            !contains(&catalog, secret) && !contains(&wal, secret),
            "{secret} in the catalog"
        );
    }

    let out = cli.run(&["notify", "remove", &name]);
    assert!(out.status.success(), "{}", text(&out));
    let list = cli.json(&["notify", "list"], 0);
    assert_eq!(list["channels"], serde_json::json!([]));
}

/// Issue 41: a webhook or ping URL is a secret, so it can come on standard input (where `ps` and
/// shell history do not see it): the URL given there is the one used (the signing secret on the
/// next line still signs), no output ever shows it, and the argument form's help warns.
#[test]
fn webhook_and_ping_urls_on_standard_input_are_used_and_never_shown() {
    let cli = Cli::keychain();
    let rx = WebhookReceiver::start();
    let hook = unique("stdin-hook");
    let hook_url = rx.url("/hooks/HOOK-PATH-IS-SECRET");
    let out = cli.run_stdin(
        &[
            "notify",
            "add",
            &hook,
            "--webhook-stdin",
            "--preset",
            "mattermost",
            "--secret-stdin",
        ],
        &format!("{hook_url}\n{SECRET}\n"),
    );
    let mut all = text(&out);
    assert!(out.status.success(), "{all}");
    let ping = unique("stdin-ping");
    let ping_url = rx.url("/ping/PING-UUID-IS-SECRET");
    let out = cli.run_stdin(&["notify", "add", &ping, "--ping-stdin"], &ping_url);
    all.push_str(&text(&out));
    assert!(out.status.success(), "{all}");

    for name in [&hook, &ping] {
        let out = cli.run(&["notify", "test", name]);
        all.push_str(&text(&out));
        assert!(out.status.success(), "{all}");
    }
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].path, "/hooks/HOOK-PATH-IS-SECRET");
    assert!(reqs[0].body_text().contains("\"username\":\"Offsite\""));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    let sig = hex_decode(
        reqs[0]
            .header("offsite-signature")
            .unwrap()
            .strip_prefix("sha256=")
            .unwrap(),
    );
    ring::hmac::verify(&key, &reqs[0].body, &sig).expect("the second line signs");
    assert!(
        reqs[1].path.starts_with("/ping/PING-UUID-IS-SECRET"),
        "{}",
        reqs[1].path
    );

    let list = cli.json(&["notify", "list"], 0);
    let human = cli.run(&["notify", "list"]);
    let log = cli.run(&["notify", "log"]);
    all.push_str(&format!("{list}{}{}", text(&human), text(&log)));
    assert!(text(&human).contains(&hook), "{all}");
    for secret in ["HOOK-PATH-IS-SECRET", "PING-UUID-IS-SECRET", SECRET] {
        assert!(!all.contains(secret), "{secret} shown: {all}");
    }

    // Nothing on standard input: said plainly, nothing stored.
    let empty = unique("stdin-empty");
    let out = cli.run_stdin(&["notify", "add", &empty, "--webhook-stdin"], "");
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no webhook URL on standard input"),
        "{}",
        text(&out)
    );
    // Both forms at once: refused by the parser.
    let out = cli.run_stdin(
        &[
            "notify",
            "add",
            &empty,
            "--webhook",
            &hook_url,
            "--webhook-stdin",
        ],
        &hook_url,
    );
    assert!(!out.status.success());
    let list = cli.json(&["notify", "list"], 0);
    assert!(!list.to_string().contains(&empty), "{list}");

    // The argument forms say what they expose.
    let help = text(&cli.run(&["notify", "add", "--help"]));
    assert!(
        help.contains("--webhook-stdin") && help.contains("--ping-stdin"),
        "{help}"
    );
    assert_eq!(
        help.matches("visible to other users of this machine")
            .count(),
        2,
        "{help}"
    );

    for name in [&hook, &ping] {
        cli.run(&["notify", "remove", name]);
    }
}

#[test]
fn a_test_to_a_host_that_does_not_resolve_says_dns_and_names_no_secret() {
    let cli = Cli::keychain();
    let name = unique("nowhere");
    let out = cli.run(&[
        "notify",
        "add",
        &name,
        "--webhook",
        "https://offsite-cli-test.invalid/SECRET-PATH",
        "--preset",
        "discord",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cli.run(&["notify", "test", &name]);
    let all = text(&out);
    assert!(!out.status.success());
    assert!(
        all.contains("cannot resolve the host name offsite-cli-test.invalid (DNS)"),
        "{all}"
    );
    assert!(!all.contains("SECRET-PATH"), "{all}");
    let err = cli.json(&["notify", "test", &name], out.status.code().unwrap());
    assert_eq!(err["error"]["code"], "connection", "{err}");
    cli.run(&["notify", "remove", &name]);
}

#[test]
fn bad_input_is_refused_before_anything_is_stored() {
    let cli = Cli::keychain();
    let name = unique("mail");
    let out = cli.run(&[
        "notify",
        "add",
        &name,
        "--email",
        "ops@example.com",
        "--smtp",
        "smtp://u:pw@mail.example.com",
    ]);
    let all = text(&out);
    assert!(!out.status.success());
    assert!(all.contains("must not hold the password"), "{all}");
    let out = cli.run(&[
        "notify",
        "add",
        &name,
        "--webhook",
        "https://example.com/x",
        "--preset",
        "pagerduty",
    ]);
    assert!(text(&out).contains("routing key"), "{}", text(&out));
    let out = cli.run(&[
        "notify", "route", "nope", "--events", "failed", "--to", &name,
    ]);
    assert!(!out.status.success());
    let list = cli.json(&["notify", "list"], 0);
    assert_eq!(list["channels"], serde_json::json!([]));
}

#[test]
fn an_event_of_a_killed_process_is_delivered_after_the_restart() {
    let cli = Cli::keychain();
    let rx = WebhookReceiver::start();
    let name = unique("hook");
    let out = cli.run(&["notify", "add", &name, "--webhook", &rx.url("/h")]);
    assert!(out.status.success(), "{}", text(&out));
    cli.json(
        &[
            "project",
            "add",
            "shop",
            "--db",
            "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable",
            "--no-test",
        ],
        0,
    );
    // The receiver stalls: the backup's process is killed while it delivers the event.
    rx.set_hang(true);
    let mut child = cli
        .cmd(&["backup", "shop"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let waited = std::time::Instant::now();
    while rx.requests().is_empty() {
        assert!(waited.elapsed().as_secs() < 60, "the event was never sent");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    rx.set_hang(false);
    let log = cli.json(&["notify", "log"], 0);
    let row = &log["outbox"][0];
    assert_eq!(row["state"], "sending", "{log}");
    let event_id = row["event_id"].as_str().unwrap().to_string();
    // About the killed delivery only: the space watcher's rules are off, so this machine's own
    // disk (a CI host may have little free) adds no `space_low` to what run-due delivers.
    let off = [
        "notify",
        "settings",
        "--space-free-mib",
        "0",
        "--space-days",
        "0",
    ];
    let out = cli.run(&off);
    assert!(out.status.success(), "{}", text(&out));
    // Restarted within the lease: not sent twice at once.
    let out = cli.run(&["run-due"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(rx.delivered_ids().is_empty());
    // After the lease (the clock moved 10 minutes on), the next run delivers it, once.
    let out = cli
        .cmd_via(Some(&["faketime", "-f", "+10m"]), &["run-due"])
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(rx.delivered_ids(), [event_id.as_str()]);
    let log = cli.json(&["notify", "log"], 0);
    assert_eq!(
        (
            log["outbox"][0]["state"].as_str(),
            log["outbox"][0]["attempts"].as_i64()
        ),
        (Some("sent"), Some(2))
    );
    cli.run(&["notify", "remove", &name]);
}

/// The 7-day retention warning under libfaketime: keep-last 8 and a daily schedule whose slot is
/// two hours before now put the first backup's removal 7 days 22 hours away (nothing said);
/// `faketime '+3 days' offsite run-due` takes the catch-up backup, after which the removal is
/// 7 days minus two hours away: one `retention_will_remove` naming it reaches the webhook, and a
/// second run sends nothing new.
#[test]
fn faketime_run_due_warns_seven_days_before_retention_removes_a_backup() {
    let pg = TestCluster::shared();
    let cli = Cli::keychain();
    let rx = WebhookReceiver::start();
    let hook = unique("ret-hook");
    let out = cli.run(&["notify", "add", &hook, "--webhook", &rx.url("/h")]);
    assert!(out.status.success(), "{}", text(&out));
    let project = unique("ret");
    let db = pg.unique_db("ret");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    let out = cli.run_stdin(
        &[
            "project",
            "add",
            &project,
            "--db",
            &pg.url(&db),
            "--password-stdin",
        ],
        &format!("{}\n", pg.superuser_password()),
    );
    assert!(out.status.success(), "{}", text(&out));
    cli.json(
        &[
            "notify",
            "route",
            &project,
            "--events",
            "retention",
            "--to",
            &hook,
        ],
        0,
    );
    let first = cli.json(&["backup", &project], 0);
    let first = first["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    cli.json(
        &[
            "retention",
            "set",
            &project,
            "--keep-last",
            "8",
            "--tz",
            "UTC",
        ],
        0,
    );
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let slot = (secs + 86_400 - 2 * 3600) % 86_400;
    let slot = format!("{:02}:{:02}", slot / 3600, (slot % 3600) / 60);
    cli.json(
        &["schedule", "set", &project, "--daily", &slot, "--tz", "UTC"],
        0,
    );
    // Today: the removal is more than 7 days away.
    let out = cli.run(&["run-due"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(rx.requests().is_empty(), "{:?}", rx.requests().len());
    // Three days on (the process's clock moved by libfaketime).
    let later = |cli: &Cli| {
        let out = cli
            .cmd_via(Some(&["faketime", "-f", "+3d"]), &["run-due"])
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    };
    later(&cli);
    let events: Vec<Value> = rx
        .requests()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "retention_will_remove");
    let listed = events[0]["details"]["backups"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{events:?}");
    assert_eq!(listed[0]["id"], first.as_str());
    assert_eq!(listed[0]["reason"], "not kept by keep-last 8");
    // Again: each backup is announced once.
    later(&cli);
    assert_eq!(rx.requests().len(), 1);
    cli.run(&["notify", "remove", &hook]);
    cli.run(&["project", "remove", &project]);
}

/// The overdue alert under libfaketime: a daily schedule and a good backup, then the database
/// goes away (so the catch-up backup fails). `faketime '+3 days' offsite run-due` finds the
/// project overdue: exactly one `project_overdue` reaches the webhook; a second run sends
/// nothing; once a backup succeeds (at the same faked time), the next run sends one
/// `project_back_to_normal`.
#[test]
fn faketime_run_due_alerts_once_when_overdue_and_once_when_back_to_normal() {
    let pg = TestCluster::shared();
    let cli = Cli::keychain();
    let rx = WebhookReceiver::start();
    let hook = unique("due-hook");
    let out = cli.run(&["notify", "add", &hook, "--webhook", &rx.url("/h")]);
    assert!(out.status.success(), "{}", text(&out));
    // About overdue only: the space rules off, so this machine's own disk (a CI host may have
    // little free) adds no `space_low` to the count.
    let out = cli.run(&[
        "notify",
        "settings",
        "--space-free-mib",
        "0",
        "--space-days",
        "0",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let project = unique("due");
    let db = pg.unique_db("due");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    let out = cli.run_stdin(
        &[
            "project",
            "add",
            &project,
            "--db",
            &pg.url(&db),
            "--password-stdin",
        ],
        &format!("{}\n", pg.superuser_password()),
    );
    assert!(out.status.success(), "{}", text(&out));
    cli.json(
        &[
            "notify", "route", &project, "--events", "overdue", "--to", &hook,
        ],
        0,
    );
    cli.json(
        &[
            "schedule", "set", &project, "--daily", "03:00", "--tz", "UTC",
        ],
        0,
    );
    cli.json(&["backup", &project], 0);
    // Today: on time, nothing said.
    let out = cli.run(&["run-due"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(rx.requests().is_empty(), "{:?}", rx.requests().len());
    // The database goes away: the catch-up backups three days on fail.
    pg.drop_db(&db);
    let later = |cli: &Cli, args: &[&str]| {
        cli.cmd_via(Some(&["faketime", "-f", "+3d"]), args)
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let events = |rx: &WebhookReceiver| -> Vec<String> {
        rx.requests()
            .iter()
            .map(|r| {
                let v: Value = serde_json::from_slice(&r.body).unwrap();
                v["event"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    };
    later(&cli, &["run-due"]);
    assert_eq!(events(&rx), ["project_overdue"]);
    // Again: still overdue, nothing new.
    later(&cli, &["run-due"]);
    assert_eq!(events(&rx), ["project_overdue"]);
    // The database is back and a backup succeeds (at the faked time): back to normal, once.
    pg.create_db(&db);
    let out = later(&cli, &["--json", "backup", &project]);
    assert!(out.status.success(), "{}", text(&out));
    let out = later(&cli, &["run-due"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(events(&rx), ["project_overdue", "project_back_to_normal"]);
    let out = later(&cli, &["run-due"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(rx.requests().len(), 2);
    cli.run(&["notify", "remove", &hook]);
    cli.run(&["project", "remove", &project]);
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn notify_settings_show_change_and_refuse_what_is_out_of_range() {
    let cli = Cli::new();
    let s = cli.json(&["notify", "settings"], 0);
    assert_eq!(
        s["settings"],
        serde_json::json!({
            "copy_pending_hours": 24,
            "space_min_free_mib": 1024,
            "space_min_days_to_full": 14
        }),
        "{s}"
    );
    let args = [
        "notify",
        "settings",
        "--copy-pending-hours",
        "6",
        "--space-days",
        "30",
    ];
    let s = cli.json(&args, 0);
    assert_eq!(s["settings"]["copy_pending_hours"], 6, "{s}");
    assert_eq!(s["settings"]["space_min_days_to_full"], 30, "{s}");
    assert_eq!(s["settings"]["space_min_free_mib"], 1024, "{s}");
    // Out of range: refused, nothing changed (all or none).
    let bad = [
        "--json",
        "notify",
        "settings",
        "--copy-pending-hours",
        "12",
        "--space-free-mib",
        "16777217",
    ];
    let out = cli.run(&bad);
    let code = out.status.code().unwrap();
    assert_ne!(code, 0);
    let err = json_of(&out, code, &bad);
    assert_eq!(err["error"]["code"], "invalid_input", "{err}");
    let out = cli.run(&["notify", "settings"]);
    assert_eq!(out.status.code(), Some(0));
    let shown = text(&out);
    assert!(
        shown.contains("copy pending warning after: 6 h")
            && shown.contains("space low below: 1024 MiB free")
            && shown.contains("space low when full within: 30 days"),
        "{shown}"
    );
}

#[test]
fn a_channel_s_rate_is_stored_listed_and_checked_and_so_is_its_bot_api_server() {
    let cli = Cli::keychain();
    let quiet = unique("quiet");
    let hook = unique("hook");
    let url = "https://example.com/offsite";
    let out = cli.run(&["notify", "add", &quiet, "--webhook", url, "--rate", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("at most 2/min"), "{}", text(&out));
    let out = cli.run(&["notify", "add", &hook, "--webhook", url]);
    assert!(out.status.success(), "{}", text(&out));

    let list = cli.json(&["notify", "list"], 0);
    let rate_of = |name: &str| {
        let c = list["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {list}"))
            .clone();
        (c["rate"].clone(), c["rate_per_minute"].clone())
    };
    assert_eq!(rate_of(&quiet), (Value::from(2), Value::from(2)));
    // Without --rate: the kind's default (a JSON webhook: 1200), nothing stored.
    assert_eq!(rate_of(&hook), (Value::from(1200), Value::Null));
    let out = cli.run(&["notify", "list"]);
    let listed = text(&out);
    let line = |name: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {listed}"))
            .to_string()
    };
    assert!(line(&quiet).contains(" 2/min "), "{listed}");
    assert!(line(&hook).contains(" 1200/min default "), "{listed}");

    // Out of range, and a Bot API server that would get the token in clear: refused, nothing
    // stored.
    let bad = unique("bad");
    let out = cli.run(&["notify", "add", &bad, "--webhook", url, "--rate", "0"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("rate must be 1 to 60000"),
        "{}",
        text(&out)
    );
    let out = cli.run_stdin(
        &[
            "notify",
            "add",
            &bad,
            "--telegram",
            "-100123",
            "--bot-token-stdin",
            "--telegram-api",
            "http://tg.example.com",
        ],
        "123456:ABC-DEF",
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("Bot API server"), "{}", text(&out));
    let list = cli.json(&["notify", "list"], 0);
    assert!(!list.to_string().contains(&bad), "{list}");
    cli.run(&["notify", "remove", &quiet]);
    cli.run(&["notify", "remove", &hook]);
}
