//! Notifications end to end (issue 27): real backups fail (a closed port, a stopped cluster),
//! their events go through the outbox to a local webhook receiver that checks the payload and
//! the HMAC; 5xx and 429 bursts, a receiver down for 10 minutes of injected clock, a permanent
//! 401, a storm collapsing into a digest, DNS failure — each event delivered exactly once.

use super::common::{env_configured, Env};
use offsite_core::clock::ManualClock;
use offsite_core::notify::{Event, EventKind, Preset};
use offsite_core::ops::notify::ChannelInput;
use offsite_core::ops::{ScheduleWhat, SetSchedule};
use offsite_core::schedule::ScheduleSpec;
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart};
use offsite_testkit::{Answer, TestCluster, WebhookReceiver};
use std::sync::Arc;
use time::macros::datetime;
use time::Duration;

const SECRET: &str = "s3cr3t-signing-key";

async fn clocked() -> (Env, Arc<ManualClock>) {
    let clock = ManualClock::new(datetime!(2030-03-01 10:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    (env, clock)
}

async fn add_hook(env: &Env, name: &str, rx: &WebhookReceiver, preset: Preset) {
    env.engine
        .notify_add(
            name,
            ChannelInput::Webhook {
                url: rx.url("/hooks/T0KEN-IN-PATH"),
                preset,
                secret: Some(SECRET.into()),
            },
        )
        .await
        .unwrap();
}

/// An engine on the injected clock with a webhook channel `name` (`preset`) to a fresh receiver.
async fn with_hook(name: &str, preset: Preset) -> (Env, Arc<ManualClock>, WebhookReceiver) {
    let (env, clock) = clocked().await;
    let rx = WebhookReceiver::start();
    add_hook(&env, name, &rx, preset).await;
    (env, clock, rx)
}

/// A project whose database is a closed port: every backup of it fails, for real.
async fn unreachable(env: &Env, name: &str) {
    env.engine
        .add_project(AddProject::url(
            name,
            "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable",
        ))
        .await
        .unwrap();
}

async fn fail_backup(env: &Env, name: &str) -> String {
    let e = env
        .engine
        .backup(BackupOptions::project(name), JobStart::default())
        .await
        .unwrap_err();
    assert_ne!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let jobs = env.engine.jobs(None, 1).await.unwrap();
    jobs[0].id.clone()
}

fn verify_hmac(body: &[u8], header: &str) {
    let hex_sig = header.strip_prefix("sha256=").expect("sha256= prefix");
    let sig = hex::decode(hex_sig).expect("hex");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    ring::hmac::verify(&key, body, &sig).expect("the signature verifies");
}

/// Deliver in steps of `step` of injected clock until `done` or `max` steps.
async fn deliver_until(
    env: &Env,
    clock: &ManualClock,
    step: Duration,
    max: usize,
    done: impl Fn() -> bool,
) {
    for _ in 0..max {
        if done() {
            return;
        }
        clock.advance(step);
        env.engine.notify_deliver().await.unwrap();
    }
    assert!(done(), "not delivered after {max} steps");
}

#[tokio::test]
async fn a_failed_backup_reaches_the_webhook_signed_once_after_5xx_and_429_bursts() {
    let (env, clock, rx) = with_hook("hook", Preset::Json).await;
    rx.script([
        Answer::status(500).with_body("oops"),
        Answer::status(502),
        Answer::status(429).with_header("Retry-After", "600"),
    ]);
    unreachable(&env, "shop").await;
    let job_id = fail_backup(&env, "shop").await;
    // Delivered right after the job: the first attempt met the 500.
    assert_eq!(rx.requests().len(), 1);
    let log = env.engine.notify_log(Some("shop"), 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].state.as_str(), log[0].attempts), ("queued", 1));
    assert!(
        log[0].last_error.as_deref().unwrap().contains("HTTP 500"),
        "{log:?}"
    );
    // Not again before the backoff's time.
    env.engine.notify_deliver().await.unwrap();
    assert_eq!(rx.requests().len(), 1);
    deliver_until(&env, &clock, Duration::seconds(30), 40, || {
        rx.requests().len() == 3
    })
    .await;
    // The 429 asked for ten minutes: the next attempt is not before then.
    let log = env.engine.notify_log(Some("shop"), 10).await.unwrap();
    let next = offsite_core::catalog::parse_timestamp(&log[0].next_attempt_at).unwrap();
    assert_eq!(
        next - env.engine.clock().now(),
        Duration::minutes(10),
        "{log:?}"
    );
    assert!(
        log[0].last_error.as_deref().unwrap().contains("HTTP 429"),
        "{log:?}"
    );
    clock.advance(Duration::minutes(9));
    env.engine.notify_deliver().await.unwrap();
    assert_eq!(rx.requests().len(), 3);
    deliver_until(&env, &clock, Duration::seconds(30), 40, || {
        !rx.delivered_ids().is_empty()
    })
    .await;
    let reqs = rx.requests();
    assert_eq!(
        reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 502, 429, 200]
    );
    let ok = reqs.last().unwrap();
    let body: Event = serde_json::from_slice(&ok.body).unwrap();
    assert_eq!(rx.delivered_ids(), [body.id.as_str()]);
    assert!(reqs
        .iter()
        .all(|r| r.header("offsite-event-id") == Some(body.id.as_str())));
    verify_hmac(&ok.body, ok.header("offsite-signature").unwrap());
    assert_eq!(ok.header("content-type"), Some("application/json"));
    assert_eq!(ok.method, "POST");
    assert_eq!((body.version, body.event), (1, EventKind::BackupFailed));
    assert_eq!(body.project.as_ref().unwrap().name, "shop");
    assert_eq!(body.job_id.as_deref(), Some(job_id.as_str()));
    assert!(body.error.is_some() && body.summary.starts_with("Backup of shop failed"));
    let log = env.engine.notify_log(Some("shop"), 10).await.unwrap();
    assert_eq!((log[0].state.as_str(), log[0].attempts), ("sent", 4));
    // Sent is final: nothing more goes out.
    clock.advance(Duration::hours(2));
    env.engine.notify_deliver().await.unwrap();
    assert_eq!(rx.requests().len(), 4);
    // The secrets are in the keychain, never in the outbox or the channel list.
    let (channels, _) = env.engine.notify_list().await.unwrap();
    let stored = format!("{:?}{:?}", channels, log);
    assert!(
        !stored.contains("T0KEN-IN-PATH") && !stored.contains(SECRET),
        "{stored}"
    );
}

#[tokio::test]
async fn a_receiver_down_for_ten_minutes_gets_each_event_once_when_back() {
    let (env, clock, rx) = with_hook("hook", Preset::Json).await;
    rx.set_down(true);
    unreachable(&env, "a").await;
    unreachable(&env, "b").await;
    fail_backup(&env, "a").await;
    fail_backup(&env, "b").await;
    for _ in 0..10 {
        clock.advance(Duration::minutes(1));
        env.engine.notify_deliver().await.unwrap();
    }
    let while_down = rx.requests().len();
    // Backoff: 30 s, 1, 2, 4 min… — a handful of attempts per event, not one a minute.
    assert!(
        (4..=14).contains(&while_down),
        "{while_down} attempts while down"
    );
    assert!(rx.delivered_ids().is_empty());
    rx.set_down(false);
    deliver_until(&env, &clock, Duration::minutes(1), 30, || {
        rx.delivered_ids().len() >= 2
    })
    .await;
    clock.advance(Duration::hours(3));
    env.engine.notify_deliver().await.unwrap();
    let mut ids = rx.delivered_ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    ids.dedup();
    assert_eq!(ids.len(), 2, "each event exactly once");
    let log = env.engine.notify_log(None, 10).await.unwrap();
    assert!(log.iter().all(|r| r.state == "sent"), "{log:?}");
}

#[tokio::test]
async fn a_401_is_permanent_and_the_log_says_why() {
    let (env, clock, rx) = with_hook("hook", Preset::Slack).await;
    rx.script([Answer::status(401).with_body("invalid token for this hook")]);
    unreachable(&env, "shop").await;
    fail_backup(&env, "shop").await;
    let log = env.engine.notify_log(None, 10).await.unwrap();
    assert_eq!(log[0].state, "failed");
    let why = log[0].last_error.as_deref().unwrap();
    assert!(
        why.contains("refused the credentials (HTTP 401): invalid token for this hook"),
        "{why}"
    );
    assert!(!why.contains("T0KEN-IN-PATH"), "{why}");
    // The Slack preset's shape went out.
    let sent: serde_json::Value = serde_json::from_slice(&rx.requests()[0].body).unwrap();
    assert!(sent["text"]
        .as_str()
        .unwrap()
        .contains("Backup of shop failed"));
    clock.advance(Duration::hours(1));
    env.engine.notify_deliver().await.unwrap();
    assert_eq!(rx.requests().len(), 1, "a permanent failure is not retried");
}

#[tokio::test]
async fn a_storm_of_failures_collapses_into_one_digest() {
    let (env, clock, rx) = with_hook("hook", Preset::Json).await;
    unreachable(&env, "shop").await;
    for _ in 0..9 {
        fail_backup(&env, "shop").await;
    }
    // The first five went out one by one; the rest wait for the digest.
    assert_eq!(rx.delivered_ids().len(), 5);
    clock.advance(Duration::minutes(1));
    env.engine.notify_deliver().await.unwrap();
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 6, "five events and one digest");
    let digest: Event = serde_json::from_slice(&reqs[5].body).unwrap();
    assert_eq!(digest.event, EventKind::Digest);
    assert_eq!(digest.details["events"].as_array().unwrap().len(), 4);
    assert!(
        digest.summary.starts_with("4 failures at once (shop)"),
        "{}",
        digest.summary
    );
    let log = env.engine.notify_log(Some("shop"), 20).await.unwrap();
    assert_eq!(log.iter().filter(|r| r.state == "digested").count(), 4);
}

#[tokio::test]
async fn send_a_test_says_plainly_why_it_failed() {
    let (env, _clock, rx) = with_hook("ok", Preset::Json).await;
    let id = env.engine.notify_test("ok").await.unwrap();
    assert_eq!(rx.delivered_ids(), std::slice::from_ref(&id));
    let t: Event = serde_json::from_slice(&rx.requests()[0].body).unwrap();
    assert_eq!(t.event, EventKind::Test);

    env.engine
        .notify_add(
            "nowhere",
            ChannelInput::Webhook {
                url: "http://offsite-notify-test.invalid/hook/SECRETPATH".into(),
                preset: Preset::Json,
                secret: None,
            },
        )
        .await
        .unwrap();
    let e = env.engine.notify_test("nowhere").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    // One sentence in the app's words; what went wrong exactly behind Details.
    assert_eq!(e.message(), "The channel nowhere cannot find its server.");
    assert!(
        e.detail()
            .unwrap()
            .contains("cannot resolve the host name offsite-notify-test.invalid (DNS)"),
        "{e:?}"
    );
    assert!(!e.to_string().contains("SECRETPATH"));

    rx.script([Answer::status(400).with_body("{\"error\":\"unknown field\"}")]);
    let e = env.engine.notify_test("ok").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.message(), "The server of channel ok refused the message.");
    assert!(
        e.detail()
            .unwrap()
            .contains("rejected the message (HTTP 400): {\"error\":\"unknown field\"}"),
        "{e:?}"
    );
    let e = env.engine.notify_test("missing").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    // The delivery log lists every test, sent or failed with the reason (no secret), and the
    // recorded rows are never sent again.
    let log = env.engine.notify_log(None, 50).await.unwrap();
    let tests: Vec<_> = log.iter().filter(|r| r.kind == "test").collect();
    assert_eq!(tests.len(), 3, "{log:?}");
    let of = |channel: &str, state: &str| {
        tests
            .iter()
            .filter(|r| r.channel == channel && r.state == state)
            .count()
    };
    assert_eq!(
        (
            of("ok", "sent"),
            of("ok", "failed"),
            of("nowhere", "failed")
        ),
        (1, 1, 1)
    );
    let sent = tests.iter().find(|r| r.state == "sent").unwrap();
    assert_eq!(sent.event_id, id);
    assert!(sent.sent_at.is_some() && sent.last_error.is_none());
    let dns = tests.iter().find(|r| r.channel == "nowhere").unwrap();
    assert!(
        dns.last_error.as_deref().unwrap().contains("(DNS)"),
        "{dns:?}"
    );
    assert!(!format!("{log:?}").contains("SECRETPATH"));
    let before = rx.requests().len();
    env.engine.notify_deliver().await.unwrap();
    assert_eq!(
        rx.requests().len(),
        before,
        "a recorded test was sent again"
    );
}

#[tokio::test]
async fn a_ping_gets_success_and_fail_with_the_error() {
    let (env, _clock) = clocked().await;
    let rx = WebhookReceiver::start();
    env.engine
        .notify_add(
            "hc",
            ChannelInput::Ping {
                url: rx.url("/ping/uuid-1234"),
            },
        )
        .await
        .unwrap();
    unreachable(&env, "shop").await;
    fail_backup(&env, "shop").await;
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].path, "/ping/uuid-1234/start");
    let r = &reqs[1];
    assert_eq!(r.path, "/ping/uuid-1234/fail");
    assert!(
        r.body_text().starts_with("Backup of shop failed"),
        "{}",
        r.body_text()
    );
    assert!(r.body_text().contains("error code: "));
    env.engine.notify_test("hc").await.unwrap();
    assert_eq!(rx.requests()[2].path, "/ping/uuid-1234");
    let (channels, _) = env.engine.notify_list().await.unwrap();
    assert!(!format!("{channels:?}").contains("uuid-1234"));
}

#[tokio::test]
async fn a_backup_against_a_stopped_cluster_makes_one_backup_failed_event() {
    let pg = TestCluster::start();
    let (env, _clock, rx) = with_hook("hook", Preset::Json).await;
    let db = pg.unique_db("notify_stopped");
    env.engine
        .add_project(AddProject::url("shop", pg.url_with_password(&db)))
        .await
        .unwrap();
    pg.stop();
    env.engine
        .backup(BackupOptions::project("shop"), JobStart::default())
        .await
        .unwrap_err();
    let log = env.engine.notify_log(Some("shop"), 10).await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (log[0].kind.as_str(), log[0].state.as_str()),
        ("backup_failed", "sent")
    );
    let ids = rx.delivered_ids();
    assert_eq!(ids, [log[0].event_id.clone()]);
    let ev: Event = serde_json::from_slice(&rx.requests()[0].body).unwrap();
    let err = ev.error.unwrap();
    assert_eq!(err.code, "connection", "{err:?}");
    // The project's password never reaches the outbox.
    let pw = pg.url_with_password(&db);
    let pw = url::Url::parse(&pw)
        .unwrap()
        .password()
        .unwrap()
        .to_string();
    assert!(!log[0].payload_json.contains(&pw));
    // The webhook carries the project's checklist, as health has it: "N of M done · next: …"
    // with the next item's why and Fix (a failing project is never all done).
    let h = env.engine.health(Some("shop")).await.unwrap();
    let next = h[0].checklist.open().next().unwrap();
    let line = format!(
        "{} · next: {} {}",
        h[0].checklist.line,
        next.why,
        next.fix_label.as_deref().unwrap()
    );
    assert_eq!(ev.protection.as_deref(), Some(line.as_str()));
}

#[tokio::test]
async fn overdue_fires_once_and_a_new_backup_brings_it_back_to_normal_once() {
    let pg = TestCluster::shared();
    let (env, clock, rx) = with_hook("hook", Preset::Json).await;
    // About overdue only: the space watcher's rules are off, so this machine's own disk (a CI
    // host may have little free) adds no `space_low` to the count.
    env.engine
        .set_notify_watch_settings(
            offsite_core::ops::notify::watch::settings::WatchSettingsChange {
                space_min_free_mib: Some(0),
                space_min_days_to_full: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let db = pg.unique_db("notify_overdue");
    env.engine
        .add_project(AddProject::url("shop", pg.url_with_password(&db)))
        .await
        .unwrap();
    env.engine
        .set_schedule(SetSchedule {
            project: "shop".into(),
            spec: ScheduleSpec::daily("02:30").unwrap(),
            what: ScheduleWhat::Backup,
            time_zone: Some("UTC".into()),
        })
        .await
        .unwrap();
    env.engine.notify_check().await.unwrap();
    assert!(
        rx.requests().is_empty(),
        "a new schedule is not overdue at once"
    );
    clock.advance(Duration::days(3));
    env.engine.notify_check().await.unwrap();
    env.engine.notify_check().await.unwrap();
    clock.advance(Duration::hours(1));
    env.engine.notify_check().await.unwrap();
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1, "overdue fires once");
    let ev: Event = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(ev.event, EventKind::ProjectOverdue);
    assert!(ev.summary.starts_with("shop is overdue"), "{}", ev.summary);
    // A backup (a success: not routed by default) and the next checks: back to normal, once.
    env.engine
        .backup(BackupOptions::project("shop"), JobStart::default())
        .await
        .unwrap();
    env.engine.notify_check().await.unwrap();
    env.engine.notify_check().await.unwrap();
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    let ev: Event = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(ev.event, EventKind::ProjectBackToNormal);
    assert_eq!(ev.severity, offsite_core::notify::Severity::Ok);
}

#[tokio::test]
async fn a_thousand_queued_events_are_each_delivered_exactly_once_in_one_pass() {
    let (env, _clock, rx) = with_hook("hook", Preset::Json).await;
    unreachable(&env, "shop").await;
    env.engine
        .notify_route("shop", "succeeded", &["hook".to_string()])
        .await
        .unwrap();
    let shop = offsite_core::notify::EventProject {
        id: "ignored".into(),
        name: "shop".into(),
    };
    let mut queued = Vec::with_capacity(1000);
    for i in 0..1000 {
        let e = offsite_core::notify::events::new_event(
            EventKind::BackupSucceeded,
            "2030-03-01T10:00:00.000Z",
            Some(shop.clone()),
            format!("Backup of shop succeeded ({i})"),
        );
        assert_eq!(
            env.engine.notify_enqueue(&e, Some("shop")).await.unwrap(),
            1
        );
        queued.push(e.id.clone());
    }
    // One pass drains everything that is due (it claims rounds until nothing is left); the time
    // it took is printed, not asserted (the ≤ 10 s goal is measured, not a test's pass mark).
    let t = std::time::Instant::now();
    let report = env.engine.notify_deliver().await.unwrap();
    eprintln!("1,000 events delivered in {:?}", t.elapsed());
    assert_eq!(
        report,
        offsite_core::ops::notify::deliver::DeliveryReport {
            sent: 1000,
            ..Default::default()
        }
    );
    // Each id arrived exactly once: 1,000 accepted requests, 1,000 distinct ids, the queued ones.
    let mut ids = rx.delivered_ids();
    assert_eq!(ids.len(), 1000, "accepted requests");
    assert_eq!(rx.requests().len(), 1000, "requests in all");
    ids.sort();
    queued.sort();
    assert_eq!(ids, queued);
    // Nothing is left: a second pass has nothing to send.
    let again = env.engine.notify_deliver().await.unwrap();
    assert_eq!(again.sent, 0, "{again:?}");
    assert_eq!(rx.requests().len(), 1000);
}

#[tokio::test]
async fn a_scheduled_backup_that_fails_carries_its_retry_plan() {
    let (env, clock, rx) = with_hook("hook", Preset::Json).await;
    unreachable(&env, "shop").await;
    env.engine
        .set_schedule(SetSchedule {
            project: "shop".into(),
            spec: ScheduleSpec::daily("02:30").unwrap(),
            what: ScheduleWhat::Backup,
            time_zone: Some("UTC".into()),
        })
        .await
        .unwrap();
    clock.set(datetime!(2030-03-02 02:30:05 UTC));
    let report = env.engine.run_due().await.unwrap();
    assert_eq!(report.runs.len(), 1, "{report:?}");
    assert!(report.runs[0].retry_at.is_some(), "{report:?}");
    let ev: Event = serde_json::from_slice(&rx.requests()[0].body).unwrap();
    assert_eq!(ev.event, EventKind::BackupFailed);
    assert_eq!(
        ev.details["retry"],
        serde_json::json!({"will_retry": true, "attempt": 1, "of": 3, "after_minutes": 5}),
        "{ev:?}"
    );
    clock.advance(Duration::minutes(5));
    let report = env.engine.run_due().await.unwrap();
    assert_eq!(report.runs.len(), 1, "{report:?}");
    let ev: Event = serde_json::from_slice(&rx.requests()[1].body).unwrap();
    assert_eq!(ev.details["retry"]["attempt"], 2, "{ev:?}");
    assert_eq!(ev.details["retry"]["after_minutes"], 15, "{ev:?}");
    // A manual backup has no retry plan.
    fail_backup(&env, "shop").await;
    let ev: Event = serde_json::from_slice(&rx.requests()[2].body).unwrap();
    assert!(ev.details.is_null(), "{ev:?}");
}

#[tokio::test]
async fn a_chat_channel_is_rate_limited_and_the_rest_waits_a_minute() {
    let (env, clock, rx) = with_hook("chat", Preset::Slack).await;
    unreachable(&env, "shop").await;
    env.engine
        .notify_route("shop", "succeeded", &["chat".to_string()])
        .await
        .unwrap();
    for i in 0..40 {
        let e = offsite_core::notify::events::new_event(
            EventKind::BackupSucceeded,
            "2030-03-01T10:00:00.000Z",
            None,
            format!("Backup of shop succeeded ({i})"),
        );
        env.engine.notify_enqueue(&e, Some("shop")).await.unwrap();
    }
    let report = env.engine.notify_deliver().await.unwrap();
    assert_eq!((report.sent, report.postponed), (30, 10), "{report:?}");
    assert_eq!(rx.requests().len(), 30);
    // Within the minute nothing more goes out; after it, the rest.
    clock.advance(Duration::seconds(30));
    assert_eq!(env.engine.notify_deliver().await.unwrap().sent, 0);
    clock.advance(Duration::seconds(31));
    assert_eq!(env.engine.notify_deliver().await.unwrap().sent, 10);
    let mut ids = rx.delivered_ids();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40);
}

#[tokio::test]
async fn a_route_with_no_group_checked_is_none_and_the_channel_hears_nothing() {
    let (env, _clock, rx) = with_hook("hook", Preset::Json).await;
    unreachable(&env, "shop").await;
    let hook = ["hook".to_string()];
    // The app's checkboxes, none checked: the engine reads the empty list as `none`.
    let routes = env
        .engine
        .notify_route_list("shop", &[], &hook)
        .await
        .unwrap();
    assert_eq!(routes.len(), 1, "{routes:?}");
    assert_eq!(routes[0].channel, "hook", "{routes:?}");
    assert!(
        !routes[0].events.iter().any(|g| g == "failed"),
        "{routes:?}"
    );
    fail_backup(&env, "shop").await;
    env.engine.notify_deliver().await.unwrap();
    assert!(rx.requests().is_empty(), "{:?}", rx.requests());
    // Checked words are read as the text form reads them.
    let routes = env
        .engine
        .notify_route_list("shop", &["failed".to_string()], &hook)
        .await
        .unwrap();
    assert_eq!(routes[0].events, ["failed"], "{routes:?}");
    fail_backup(&env, "shop").await;
    env.engine.notify_deliver().await.unwrap();
    assert_eq!(rx.delivered_ids().len(), 1);
    let e = env
        .engine
        .notify_route_list("shop", &["nonsense".to_string()], &hook)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
}

#[tokio::test]
async fn a_channel_with_rate_2_sends_2_a_minute_and_the_rest_later_none_lost() {
    let (env, clock) = clocked().await;
    let rx = WebhookReceiver::start();
    let rec = env
        .engine
        .notify_add_rated(
            "slow",
            ChannelInput::Webhook {
                url: rx.url("/hooks/slow"),
                preset: Preset::Json,
                secret: None,
            },
            Some(2),
        )
        .await
        .unwrap();
    assert_eq!((rec.rate_per_minute, rec.rate()), (Some(2), 2));
    unreachable(&env, "shop").await;
    env.engine
        .notify_route("shop", "succeeded", &["slow".to_string()])
        .await
        .unwrap();
    let mut queued = Vec::new();
    for i in 0..5 {
        let e = offsite_core::notify::events::new_event(
            EventKind::BackupSucceeded,
            "2030-03-01T10:00:00.000Z",
            None,
            format!("Backup of shop succeeded ({i})"),
        );
        env.engine.notify_enqueue(&e, Some("shop")).await.unwrap();
        queued.push(e.id);
    }
    // A JSON webhook's default is 1,200 a minute: with its own rate of 2, two go now.
    let report = env.engine.notify_deliver().await.unwrap();
    assert_eq!((report.sent, report.postponed), (2, 3), "{report:?}");
    // Within the minute nothing more, however often delivery runs.
    clock.advance(Duration::seconds(20));
    assert_eq!(env.engine.notify_deliver().await.unwrap().sent, 0);
    clock.advance(Duration::seconds(20));
    assert_eq!(env.engine.notify_deliver().await.unwrap().sent, 0);
    assert_eq!(rx.requests().len(), 2);
    // Each next minute two more, until none is left.
    clock.advance(Duration::seconds(21));
    assert_eq!(env.engine.notify_deliver().await.unwrap().sent, 2);
    clock.advance(Duration::seconds(61));
    assert_eq!(env.engine.notify_deliver().await.unwrap().sent, 1);
    clock.advance(Duration::seconds(61));
    assert_eq!(env.engine.notify_deliver().await.unwrap().sent, 0);
    let mut ids = rx.delivered_ids();
    assert_eq!(ids.len(), 5, "each exactly once");
    ids.sort();
    queued.sort();
    assert_eq!(ids, queued);
}
