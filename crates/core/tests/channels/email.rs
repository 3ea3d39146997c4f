//! `notify::email::send` against a real SMTP server (aiosmtpd, `offsite_testkit::smtp`).

use offsite_core::notify::email::{send, send_with_roots};
use offsite_core::notify::{DeliveryError, DeliveryFailure, EmailSpec, Rendered, SmtpSecurity};
use offsite_testkit::ports::ClosedPort;
use offsite_testkit::smtp::{SmtpMode, SmtpOptions, SmtpServer};
use std::time::Duration;

const EVENT_ID: &str = "5b0e5c2a-8d7f-4c1e-9a55-0f3d2b6e7a91";

fn spec_for(server: &SmtpServer, security: SmtpSecurity) -> EmailSpec {
    EmailSpec {
        to: vec!["ops@example.org".into(), "oncall@example.net".into()],
        from: "Offsite <offsite@example.com>".into(),
        host: server.host().into(),
        port: server.port(),
        security,
        username: Some(server.username().into()),
    }
}

/// A STARTTLS channel to one recipient at `host:port`, from a bare address.
fn plain_spec(host: &str, port: u16, username: Option<&str>) -> EmailSpec {
    EmailSpec {
        to: vec!["ops@example.org".into()],
        from: "offsite@example.com".into(),
        host: host.into(),
        port,
        security: SmtpSecurity::Starttls,
        username: username.map(Into::into),
    }
}

/// [`rendered`] sent through `spec` with `password`, trusting the test server's CA.
async fn send_trusting(
    server: &SmtpServer,
    spec: &EmailSpec,
    password: Option<&str>,
) -> Result<(), DeliveryError> {
    send_with_roots(spec, password, &rendered(), EVENT_ID, &[server.ca_pem()]).await
}

fn rendered() -> Rendered {
    Rendered {
        subject: "Backup of shop failed: connection refused".into(),
        text: "Backup of shop failed.\nError: connection refused (pg.connection)\n".into(),
        html: "<p>Backup of <b>shop</b> failed.</p><p>Error: connection refused</p>".into(),
    }
}

#[tokio::test]
async fn starttls_with_auth_delivers_both_parts_and_the_event_id() {
    let server = SmtpServer::start(SmtpMode::Starttls);
    let spec = spec_for(&server, SmtpSecurity::Starttls);
    send_trusting(&server, &spec, Some(server.password()))
        .await
        .unwrap_or_else(|e| panic!("send failed: {e:?}\n{}", server.log()));
    let got = server.wait_for_messages(1, Duration::from_secs(10));
    assert_eq!(got.len(), 1, "one message for both recipients");
    let m = &got[0];
    assert!(m.tls, "the session was upgraded with STARTTLS");
    assert!(m.authenticated, "the session authenticated");
    assert_eq!(m.login.as_deref(), Some(server.username()));
    assert_eq!(m.mail_from, "offsite@example.com");
    assert_eq!(m.rcpt_to, ["ops@example.org", "oncall@example.net"]);
    assert_eq!(m.header("Offsite-Event-Id"), Some(EVENT_ID));
    assert_eq!(
        m.header("Message-ID"),
        Some(format!("<offsite.{EVENT_ID}@example.com>").as_str())
    );
    assert_eq!(m.header("Subject"), Some(rendered().subject.as_str()));
    assert_eq!(m.content_type, "multipart/alternative");
    let text = m.part("text/plain").expect("a text/plain part");
    let html = m.part("text/html").expect("a text/html part");
    assert!(text.contains("Backup of shop failed."), "{text}");
    assert!(html.contains("<b>shop</b>"), "{html}");
    assert!(
        !m.raw.contains(server.password()),
        "the password never appears in the message"
    );
}

#[tokio::test]
async fn implicit_tls_delivers() {
    let server = SmtpServer::start(SmtpMode::Tls);
    let spec = spec_for(&server, SmtpSecurity::Tls);
    send_trusting(&server, &spec, Some(server.password()))
        .await
        .unwrap_or_else(|e| panic!("send failed: {e:?}\n{}", server.log()));
    let got = server.wait_for_messages(1, Duration::from_secs(10));
    assert!(got[0].tls && got[0].authenticated);
    assert_eq!(got[0].header("Offsite-Event-Id"), Some(EVENT_ID));
}

#[tokio::test]
async fn wrong_password_is_auth_with_the_servers_message() {
    let server = SmtpServer::start(SmtpMode::Starttls);
    let spec = spec_for(&server, SmtpSecurity::Starttls);
    let err = send_trusting(&server, &spec, Some("wrong"))
        .await
        .expect_err("a wrong password is refused");
    assert_eq!(err.failure, DeliveryFailure::Auth, "{err:?}");
    assert!(err.message.contains("535"), "{}", err.message);
    assert!(
        err.message.contains("Authentication credentials invalid"),
        "the server's own words: {}",
        err.message
    );
    assert!(!err.is_transient());
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn server_down_is_connect() {
    let closed = ClosedPort::new();
    let spec = plain_spec("127.0.0.1", closed.port(), None);
    let err = send(&spec, None, &rendered(), EVENT_ID)
        .await
        .expect_err("nothing listens");
    assert_eq!(err.failure, DeliveryFailure::Connect, "{err:?}");
    assert!(err.message.contains("refused"), "{}", err.message);
    assert!(err.is_transient());
}

#[tokio::test]
async fn unknown_host_is_dns() {
    let spec = plain_spec("smtp.offsite-test.invalid", 587, None);
    let err = send(&spec, None, &rendered(), EVENT_ID)
        .await
        .expect_err("no such host");
    assert_eq!(err.failure, DeliveryFailure::Dns, "{err:?}");
    assert!(
        err.message.contains("smtp.offsite-test.invalid"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn untrusted_certificate_is_tls_and_sends_nothing() {
    for (mode, security) in [
        (SmtpMode::Starttls, SmtpSecurity::Starttls),
        (SmtpMode::Tls, SmtpSecurity::Tls),
    ] {
        let server = SmtpServer::start(mode);
        let spec = spec_for(&server, security);
        // No extra root: the platform's store does not know the test CA.
        let err = send(&spec, Some(server.password()), &rendered(), EVENT_ID)
            .await
            .expect_err("an unknown issuer is refused");
        assert_eq!(err.failure, DeliveryFailure::Tls, "{mode:?}: {err:?}");
        assert!(
            err.message.to_ascii_lowercase().contains("certificate"),
            "{mode:?}: {}",
            err.message
        );
        assert!(server.messages().is_empty());
    }
}

#[tokio::test]
async fn starttls_is_required_never_opportunistic() {
    // A server without TLS: a STARTTLS channel must refuse to go on in plain text.
    let server = SmtpServer::start_with(SmtpOptions {
        auth: false,
        ..SmtpOptions::new(SmtpMode::Plain)
    });
    let mut spec = spec_for(&server, SmtpSecurity::Starttls);
    spec.username = None;
    let err = send(&spec, None, &rendered(), EVENT_ID)
        .await
        .expect_err("no STARTTLS offered");
    assert_eq!(err.failure, DeliveryFailure::Tls, "{err:?}");
    assert!(server.messages().is_empty());
    // The same server as a plain loopback relay works.
    spec.security = SmtpSecurity::None;
    send(&spec, None, &rendered(), EVENT_ID)
        .await
        .expect("plain to loopback");
    assert!(!server.wait_for_messages(1, Duration::from_secs(10))[0].tls);
}

#[tokio::test]
async fn transient_and_permanent_replies() {
    for (reply, expect) in [
        (
            "451 4.3.0 Try again later",
            DeliveryFailure::ServerError { status: 451 },
        ),
        (
            "450 4.7.28 Rate limited, slow down",
            DeliveryFailure::RateLimited {
                retry_after_secs: None,
            },
        ),
        (
            "550 5.1.1 No such user here",
            DeliveryFailure::Rejected { status: 550 },
        ),
    ] {
        let server = SmtpServer::start_with(SmtpOptions {
            data_reply: Some(reply.into()),
            ..SmtpOptions::new(SmtpMode::Starttls)
        });
        let spec = spec_for(&server, SmtpSecurity::Starttls);
        let err = send_trusting(&server, &spec, Some(server.password()))
            .await
            .expect_err(reply);
        assert_eq!(err.failure, expect, "{reply}: {err:?}");
        let words = reply.split_once(' ').unwrap().1;
        assert!(err.message.contains(words), "{reply}: {}", err.message);
    }
}

/// A relay with a private CA is trusted through `SSL_CERT_FILE` (the platform verifier reads it
/// on Linux), with no setting in the channel: this test runs itself again as a child process
/// with `SSL_CERT_FILE` naming the test CA, and the child sends through the product's `send`.
#[tokio::test]
async fn ssl_cert_file_trusts_a_private_relay_ca() {
    if let Ok(port) = std::env::var("OFFSITE_TEST_SMTP_CHILD_PORT") {
        let spec = plain_spec(
            "127.0.0.1",
            port.parse().unwrap(),
            Some(offsite_testkit::smtp::SMTP_USER),
        );
        send(
            &spec,
            Some(offsite_testkit::smtp::SMTP_PASSWORD),
            &rendered(),
            EVENT_ID,
        )
        .await
        .expect("trusted through SSL_CERT_FILE");
        return;
    }
    let server = SmtpServer::start(SmtpMode::Starttls);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "email::ssl_cert_file_trusts_a_private_relay_ca",
            "--nocapture",
        ])
        .env("OFFSITE_TEST_SMTP_CHILD_PORT", server.port().to_string())
        .env("SSL_CERT_FILE", server.ca_file())
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let got = server.wait_for_messages(1, Duration::from_secs(10));
    assert!(got[0].tls && got[0].authenticated);
}
