//! `notify::telegram::send` against a local server answering as the Bot API documents
//! (`offsite_testkit::telegram::FakeBotApi`; the real API is not reachable from CI).

use offsite_core::notify::telegram::send;
use offsite_core::notify::{DeliveryFailure, Rendered, TelegramSpec};
use offsite_testkit::ports::ClosedPort;
use offsite_testkit::telegram::{FakeBotApi, BOT_TOKEN, CHAT_ID};
use serde_json::json;

fn spec(api: &FakeBotApi) -> TelegramSpec {
    TelegramSpec {
        chat_id: CHAT_ID.into(),
        api_base: api.base_url(),
    }
}

fn rendered() -> Rendered {
    Rendered {
        subject: "Backup of <shop> failed".into(),
        text: "Error: a < b && c > d (pg.connection)\nRetry in 5 min.".into(),
        html: "<p>Backup of <b>&lt;shop&gt;</b> failed</p>".into(),
    }
}

/// The token appears in neither the message nor the Debug form of an error.
fn assert_no_token(err: &offsite_core::notify::DeliveryError) {
    assert!(!err.message.contains(BOT_TOKEN), "{}", err.message);
    assert!(!format!("{err:?}").contains(BOT_TOKEN));
    let secret_half = BOT_TOKEN.split(':').nth(1).unwrap();
    assert!(!err.message.contains(secret_half), "{}", err.message);
}

#[tokio::test]
async fn delivers_escaped_html_to_the_chat() {
    let api = FakeBotApi::start();
    send(&spec(&api), BOT_TOKEN, &rendered())
        .await
        .expect("delivered");
    let got = api.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].chat_id, CHAT_ID);
    assert_eq!(got[0].parse_mode.as_deref(), Some("HTML"));
    assert!(
        got[0]
            .text
            .starts_with("<b>Backup of &lt;shop&gt; failed</b>"),
        "{}",
        got[0].text
    );
    assert_eq!(
        got[0].visible_text,
        "Backup of <shop> failed\n\nError: a < b && c > d (pg.connection)\nRetry in 5 min."
    );
}

#[tokio::test]
async fn a_long_message_is_cut_to_the_limit_and_accepted() {
    let api = FakeBotApi::start();
    let mut msg = rendered();
    msg.text = "x < y & z\n".repeat(2000);
    send(&spec(&api), BOT_TOKEN, &msg).await.expect("delivered");
    let got = api.messages();
    assert!(got[0].visible_text.chars().count() <= 4096);
    assert!(got[0].visible_text.ends_with('…'));
}

#[tokio::test]
async fn wrong_token_is_auth_without_the_token() {
    let api = FakeBotApi::start();
    let wrong = "987654321:AAwrong-token_abcdefghijklmnopqrstuv";
    let err = send(&spec(&api), wrong, &rendered())
        .await
        .expect_err("401");
    assert_eq!(err.failure, DeliveryFailure::Auth, "{err:?}");
    assert!(err.message.contains("Unauthorized"), "{}", err.message);
    assert!(!err.message.contains(wrong) && !err.message.contains("AAwrong"));
    assert!(api.messages().is_empty());
}

#[tokio::test]
async fn unknown_chat_is_rejected_with_the_description() {
    let api = FakeBotApi::start();
    let mut s = spec(&api);
    s.chat_id = "42".into();
    let err = send(&s, BOT_TOKEN, &rendered()).await.expect_err("400");
    assert_eq!(
        err.failure,
        DeliveryFailure::Rejected { status: 400 },
        "{err:?}"
    );
    assert!(
        err.message.contains("Bad Request: chat not found"),
        "{}",
        err.message
    );
    assert!(!err.is_transient());
    assert_no_token(&err);
}

#[tokio::test]
async fn rate_limit_carries_retry_after() {
    let api = FakeBotApi::start();
    api.rate_limit_next(1, 17);
    let err = send(&spec(&api), BOT_TOKEN, &rendered())
        .await
        .expect_err("429");
    assert_eq!(
        err.failure,
        DeliveryFailure::RateLimited {
            retry_after_secs: Some(17)
        },
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_no_token(&err);
    // The next attempt goes through.
    send(&spec(&api), BOT_TOKEN, &rendered())
        .await
        .expect("delivered after the wait");
    assert_eq!(api.messages().len(), 1);
}

#[tokio::test]
async fn server_errors_are_transient() {
    let api = FakeBotApi::start();
    api.fail_next(
        1,
        502,
        json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}),
    );
    let err = send(&spec(&api), BOT_TOKEN, &rendered())
        .await
        .expect_err("502");
    assert_eq!(
        err.failure,
        DeliveryFailure::ServerError { status: 502 },
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn an_answer_echoing_the_token_is_scrubbed() {
    let api = FakeBotApi::start();
    api.fail_next(
        1,
        400,
        json!({"ok": false, "error_code": 400, "description": format!("Bad Request: bot{BOT_TOKEN} is odd")}),
    );
    let err = send(&spec(&api), BOT_TOKEN, &rendered())
        .await
        .expect_err("400");
    assert_no_token(&err);
    assert!(err.message.contains("Bad Request"), "{}", err.message);
}

#[tokio::test]
async fn an_oversized_answer_is_refused_while_read() {
    let api = FakeBotApi::start();
    api.fail_next(1, 200, json!({"ok": true, "result": "x".repeat(1 << 20)}));
    let err = send(&spec(&api), BOT_TOKEN, &rendered())
        .await
        .expect_err("too large");
    assert_eq!(err.failure, DeliveryFailure::Other, "{err:?}");
    assert!(err.message.contains("more than"), "{}", err.message);
}

#[tokio::test]
async fn transport_failures_never_show_the_url() {
    // Nothing listens: Connect, and reqwest's URL (which holds the token) is gone.
    let closed = ClosedPort::new();
    let s = TelegramSpec {
        chat_id: CHAT_ID.into(),
        api_base: format!("http://127.0.0.1:{}", closed.port()),
    };
    let err = send(&s, BOT_TOKEN, &rendered()).await.expect_err("refused");
    assert_eq!(err.failure, DeliveryFailure::Connect, "{err:?}");
    assert_no_token(&err);
    // A name that does not resolve: Dns.
    let s = TelegramSpec {
        chat_id: CHAT_ID.into(),
        api_base: "https://api.telegram.invalid".into(),
    };
    let err = send(&s, BOT_TOKEN, &rendered())
        .await
        .expect_err("no such host");
    assert_eq!(err.failure, DeliveryFailure::Dns, "{err:?}");
    assert_no_token(&err);
}
