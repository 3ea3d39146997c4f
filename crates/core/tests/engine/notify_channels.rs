//! The email and Telegram channels through the engine (issue 27): added with
//! `Engine::notify_add` (the SMTP password and the bot token only in the engine's secret store),
//! "send a test", then a real failed backup whose event goes through the outbox to a real SMTP
//! server (aiosmtpd, STARTTLS + AUTH) and to a local server answering as the Bot API — each
//! exactly once, the mail carrying the event id.
//!
//! The SMTP server's certificate is issued by a test CA. The product has no setting that adds a
//! root or skips the check; it trusts what the platform trusts, and `SSL_CERT_FILE` is how a
//! private relay CA is trusted on Linux. So this test runs itself again as a child process with
//! `SSL_CERT_FILE` naming the test CA: the child drives the engine, the parent owns the server
//! and checks what arrived after the child has exited (so nothing more can arrive).

use super::common::env_configured;
use offsite_core::clock::ManualClock;
use offsite_core::notify::{channel_secret_key, Event, EventKind};
use offsite_core::ops::notify::ChannelInput;
use offsite_core::secrets::SecretStore;
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart};
use offsite_testkit::smtp::{SmtpMode, SmtpServer, SMTP_PASSWORD, SMTP_USER};
use offsite_testkit::telegram::{FakeBotApi, BOT_TOKEN, CHAT_ID};
use std::time::Duration;
use time::macros::datetime;

const CHILD_PORT: &str = "OFFSITE_TEST_NOTIFY_SMTP_PORT";
const TEST_NAME: &str =
    "notify_channels::email_and_telegram_get_the_test_and_a_failed_backup_once_through_the_outbox";

#[tokio::test]
async fn email_and_telegram_get_the_test_and_a_failed_backup_once_through_the_outbox() {
    if let Ok(port) = std::env::var(CHILD_PORT) {
        child(port.parse().unwrap()).await;
        return;
    }
    let server = SmtpServer::start(SmtpMode::Starttls);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_PORT, server.port().to_string())
        .env("SSL_CERT_FILE", server.ca_file())
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child: {stdout}\n{}\nserver: {}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    // The child ran the test (not zero tests) and told which event ids it sent.
    let ids = stdout
        .lines()
        .find_map(|l| l.split_once("EVENT-IDS ").map(|(_, ids)| ids))
        .unwrap_or_else(|| panic!("the child did not run the test: {stdout}"));
    let (test_id, failed_id) = ids.trim().split_once(' ').unwrap();
    let got = server.wait_for_messages(2, Duration::from_secs(10));
    assert_eq!(got.len(), 2, "the test and the failure, once each: {got:?}");
    for (m, id) in got.iter().zip([test_id, failed_id]) {
        assert!(m.tls && m.authenticated, "STARTTLS and AUTH: {m:?}");
        assert_eq!(m.login.as_deref(), Some(SMTP_USER));
        assert_eq!(m.rcpt_to, ["ops@example.org"]);
        assert_eq!(m.mail_from, "offsite@example.com");
        assert_eq!(m.header("Offsite-Event-Id"), Some(id));
        assert!(!m.raw.contains(SMTP_PASSWORD) && !m.raw.contains(BOT_TOKEN));
    }
    assert!(
        got[0].header("Subject").unwrap().contains("Test"),
        "{:?}",
        got[0].header("Subject")
    );
    let failed = got[1].part("text/plain").expect("a text/plain part");
    assert!(failed.contains("Backup of shop failed"), "{failed}");
    assert!(got[1].part("text/html").is_some());
    // The mail says where the project stands, in the checklist's words (the child's engine
    // computed the line): "N of M done · next: <why> <fix>".
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PROTECTION "))
        .expect("the child printed the checklist line");
    assert!(line.contains(" done · next: "), "{line}");
    assert!(
        failed.contains(&format!("Protection: {line}")),
        "{line:?} in {failed}"
    );
}

/// Runs in the child, with `SSL_CERT_FILE` trusting the server's CA.
async fn child(smtp_port: u16) {
    let clock = ManualClock::new(datetime!(2030-03-01 10:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let api = FakeBotApi::start();
    env.engine
        .notify_add(
            "mail",
            ChannelInput::Email {
                to: vec!["ops@example.org".into()],
                smtp_url: format!(
                    "smtp://{SMTP_USER}@127.0.0.1:{smtp_port}?from=offsite@example.com"
                ),
                password: Some(SMTP_PASSWORD.into()),
            },
        )
        .await
        .unwrap();
    env.engine
        .notify_add(
            "chat",
            ChannelInput::Telegram {
                chat_id: CHAT_ID.into(),
                bot_token: BOT_TOKEN.into(),
                api_base: Some(api.base_url()),
            },
        )
        .await
        .unwrap();
    // The secrets are in the engine's secret store, and only there.
    assert_eq!(
        env.secrets
            .get(&channel_secret_key("mail", "password"))
            .unwrap()
            .as_deref(),
        Some(SMTP_PASSWORD)
    );
    assert_eq!(
        env.secrets
            .get(&channel_secret_key("chat", "bot-token"))
            .unwrap()
            .as_deref(),
        Some(BOT_TOKEN)
    );

    // (a) "Send a test", to each channel.
    let test_id = env
        .engine
        .notify_test("mail")
        .await
        .unwrap_or_else(|e| panic!("test to mail: {e:?}"));
    env.engine
        .notify_test("chat")
        .await
        .unwrap_or_else(|e| panic!("test to chat: {e:?}"));
    assert_eq!(api.messages().len(), 1);

    // (b) A real failed backup (a closed port): its event goes through the outbox.
    env.engine
        .add_project(AddProject::url(
            "shop",
            "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable",
        ))
        .await
        .unwrap();
    let e = env
        .engine
        .backup(BackupOptions::project("shop"), JobStart::default())
        .await
        .unwrap_err();
    assert_ne!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let job_id = env.engine.jobs(None, 1).await.unwrap()[0].id.clone();
    // Delivered after the job; more passes, later, send nothing again.
    for _ in 0..3 {
        clock.advance(time::Duration::minutes(10));
        env.engine.notify_deliver().await.unwrap();
    }
    let log = env.engine.notify_log(Some("shop"), 10).await.unwrap();
    assert_eq!(log.len(), 2, "one row per channel: {log:?}");
    let mut channels: Vec<_> = log.iter().map(|r| r.channel.as_str()).collect();
    channels.sort();
    assert_eq!(channels, ["chat", "mail"]);
    for row in &log {
        assert_eq!(
            (row.state.as_str(), row.attempts, row.kind.as_str()),
            ("sent", 1, "backup_failed"),
            "{log:?}"
        );
        let ev: Event = serde_json::from_str(&row.payload_json).unwrap();
        assert_eq!(ev.event, EventKind::BackupFailed);
        assert_eq!(ev.job_id.as_deref(), Some(job_id.as_str()));
    }
    assert_eq!(log[0].event_id, log[1].event_id, "one event, two channels");
    let sent = api.messages();
    assert_eq!(sent.len(), 2, "the test and the failure, once each");
    assert_eq!(sent[1].chat_id, CHAT_ID);
    assert!(
        sent[1].visible_text.contains("Backup of shop failed"),
        "{}",
        sent[1].visible_text
    );
    // No secret in the outbox or the channel list.
    let (list, _) = env.engine.notify_list().await.unwrap();
    let stored = format!("{list:?}{log:?}");
    assert!(!stored.contains(SMTP_PASSWORD) && !stored.contains(BOT_TOKEN));
    assert!(!stored.contains(BOT_TOKEN.split(':').nth(1).unwrap()));
    // The chat carries the project's checklist line, as the engine's health has it now.
    let h = env.engine.health(Some("shop")).await.unwrap();
    let line = h[0]
        .checklist
        .next_step()
        .expect("a failing project has open items");
    assert!(
        sent[1].visible_text.contains(&line),
        "{line:?} in {}",
        sent[1].visible_text
    );
    println!("EVENT-IDS {test_id} {}", log[0].event_id);
    println!("PROTECTION {line}");
}
