//! Telegram Bot API `sendMessage` (token + chat id).
//!
//! One `POST {api_base}/bot{token}/sendMessage` with a JSON body `{chat_id, text, parse_mode:
//! "HTML", link_preview_options: {is_disabled: true}}`. The text is the subject in bold, then the
//! plain-text version of the message, every `<`, `>`, `&` escaped as the Bot API's HTML mode
//! asks: nothing from an event can open a tag, and a message that is not valid Telegram HTML
//! (the rendered HTML part uses `<p>`, which Telegram refuses) is never sent. It is cut to the
//! API's 4,096 characters.
//!
//! The answer (at most 64 KiB read) is the Bot API's `{ok, error_code, description, parameters:
//! {retry_after}}`: 401/403/404 → [`DeliveryFailure::Auth`] (404 is what the API answers for a
//! token it does not know), 429 → [`DeliveryFailure::RateLimited`] with `retry_after`, other
//! 4xx → [`DeliveryFailure::Rejected`] with the description ("Bad Request: chat not found"),
//! 5xx → [`DeliveryFailure::ServerError`].
//!
//! The token is in the URL path, so it must never reach a message: reqwest's errors lose their
//! URL (`without_url`), whatever is left is scrubbed of the token, redirects are not followed,
//! and nothing here logs.

use super::{DeliveryError, DeliveryFailure, Rendered, TelegramSpec};
use std::sync::Arc;
use std::time::Duration;

/// The most of an answer read (a `sendMessage` answer is a few hundred bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The Bot API's limit on a message's text, in characters.
const MAX_TEXT_CHARS: usize = 4096;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_secs(30);

/// Send one message to the chat. `bot_token` comes from the keychain and never reaches an
/// error message or a log (the Bot API puts it in the URL path).
pub async fn send(
    spec: &TelegramSpec,
    bot_token: &str,
    msg: &Rendered,
) -> Result<(), DeliveryError> {
    check_token(bot_token)?;
    let base = check_api_base(&spec.api_base)?;
    if spec.chat_id.trim().is_empty() {
        return Err(DeliveryError::new(
            DeliveryFailure::Rejected { status: 0 },
            "the Telegram channel has no chat id",
        ));
    }
    let scrub = |text: String| text.replace(bot_token, "<token>");
    let client = client().map_err(|e| DeliveryError::new(DeliveryFailure::Other, e))?;
    let body = serde_json::json!({
        "chat_id": spec.chat_id.trim(),
        "text": message_text(msg),
        "parse_mode": "HTML",
        "link_preview_options": { "is_disabled": true },
    });
    let url = format!("{base}/bot{bot_token}/sendMessage");
    let resp = client
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| transport_error(e, &base, &scrub))?;
    let status = resp.status().as_u16();
    let retry_header = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let bytes = read_capped(resp)
        .await
        .map_err(|e| e.into_delivery(&base, &scrub))?;
    answer(status, &bytes, retry_header, &scrub)
}

/// The message text: the subject in bold, a blank line, the plain text; escaped for the Bot
/// API's HTML mode and cut to its length limit.
fn message_text(msg: &Rendered) -> String {
    let subject: String = msg.subject.chars().take(256).collect();
    let budget = MAX_TEXT_CHARS.saturating_sub(subject.chars().count() + 3);
    let mut body: String = msg.text.trim_end().chars().take(budget).collect();
    if msg.text.trim_end().chars().count() > budget {
        body.pop();
        body.push('…');
    }
    format!("<b>{}</b>\n\n{}", escape_html(&subject), escape_html(&body))
}

/// `<`, `>`, `&` (and `"`) as entities: what the Bot API's HTML mode asks of text that is not
/// markup.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A bot token is `<digits>:<letters, digits, '_' and '-'>`; anything else (a pasted space, a
/// line break, a `/` that would change the path) is refused without echoing it.
fn check_token(token: &str) -> Result<(), DeliveryError> {
    let ok = !token.is_empty()
        && token.len() <= 256
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(DeliveryError::new(
            DeliveryFailure::Auth,
            "the stored Telegram bot token is malformed (expected 123456:ABC…, as @BotFather \
             gives it); store it again",
        ))
    }
}

/// The Bot API server unless a channel names another (`--telegram-api`).
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

/// A Bot API server given for a channel (the CLI's `--telegram-api`, the app's "Bot API server"),
/// checked by the rule every send applies (https, or http to a loopback address only; no user,
/// query or fragment) and stored without its trailing `/`. The error names the field.
pub fn api_base(base: &str) -> crate::error::Result<String> {
    check_api_base(base).map_err(|e| {
        crate::error::Error::invalid(format!("Bot API server: {}", e.message)).with_hint(
            "use an https:// address (http:// only to this machine: 127.0.0.1 or localhost), \
             or leave it empty for https://api.telegram.org",
        )
    })
}

/// The API base without its trailing `/`: `https`, or `http` to a loopback address only (the
/// token travels in the path); no user, query or fragment.
fn check_api_base(base: &str) -> Result<String, DeliveryError> {
    let bad = |why: String| DeliveryError::new(DeliveryFailure::Rejected { status: 0 }, why);
    let url = url::Url::parse(base.trim())
        .map_err(|e| bad(format!("not a valid Telegram API address {base:?}: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(bad(format!(
                "refusing to send the bot token to {base:?}: use an https:// address"
            )))
        }
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(bad(format!(
            "the Telegram API address {base:?} may not carry a user, query or fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// reqwest over rustls with ring and the platform's verifier; no redirects (the token is in
/// the path and must not follow one to another host).
fn client() -> Result<reqwest::Client, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(crate::tool_version())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// A failed request (no answer) as a [`DeliveryError`], without the URL or the token.
fn transport_error(
    e: reqwest::Error,
    base: &str,
    scrub: &dyn Fn(String) -> String,
) -> DeliveryError {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut tls = false;
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        tls |= s.downcast_ref::<rustls::Error>().is_some()
            || s.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
        source = s.source();
    }
    let text = scrub(text);
    let lower = text.to_ascii_lowercase();
    let failure = if tls {
        DeliveryFailure::Tls
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        DeliveryFailure::Dns
    } else if e.is_connect() || e.is_timeout() {
        DeliveryFailure::Connect
    } else {
        DeliveryFailure::Other
    };
    DeliveryError::new(failure, format!("Telegram API at {base}: {text}"))
}

enum ReadError {
    TooLarge,
    Transport(reqwest::Error),
}

impl ReadError {
    fn into_delivery(self, base: &str, scrub: &dyn Fn(String) -> String) -> DeliveryError {
        match self {
            ReadError::TooLarge => DeliveryError::new(
                DeliveryFailure::Other,
                format!("the Telegram API at {base} answered more than {MAX_ANSWER_BYTES} bytes"),
            ),
            ReadError::Transport(e) => transport_error(e, base, scrub),
        }
    }
}

/// The answer's body, refused past [`MAX_ANSWER_BYTES`] while it is read.
async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, ReadError> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(ReadError::TooLarge);
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Transport)? {
        if out.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(ReadError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The Bot API's answer as the outcome: `{ok: true}` is delivered; otherwise its `error_code`
/// (else the HTTP status) and `description` decide.
fn answer(
    status: u16,
    body: &[u8],
    retry_header: Option<u64>,
    scrub: &dyn Fn(String) -> String,
) -> Result<(), DeliveryError> {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let ok = json.as_ref().and_then(|v| v["ok"].as_bool());
    if ok == Some(true) && (200..300).contains(&status) {
        return Ok(());
    }
    let code = json
        .as_ref()
        .and_then(|v| v["error_code"].as_u64())
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(status);
    let description = json
        .as_ref()
        .and_then(|v| v["description"].as_str().map(str::to_string))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text: String = text.chars().take(300).collect();
            if text.trim().is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {}", text.trim())
            }
        });
    let description = scrub(description);
    let retry_after = json
        .as_ref()
        .and_then(|v| v["parameters"]["retry_after"].as_u64())
        .or(retry_header);
    let (failure, what) = match code {
        401 | 403 | 404 => (
            DeliveryFailure::Auth,
            "Telegram refused the bot token or the bot may not write to this chat",
        ),
        429 => (
            DeliveryFailure::RateLimited {
                retry_after_secs: retry_after,
            },
            "Telegram asks to slow down",
        ),
        500..=599 => (
            DeliveryFailure::ServerError { status: code },
            "Telegram failed",
        ),
        _ if ok == Some(false) || code >= 400 => (
            DeliveryFailure::Rejected { status: code },
            "Telegram refused the message",
        ),
        _ => (
            DeliveryFailure::Other,
            "Telegram's answer was not understood",
        ),
    };
    let wait = match (&failure, retry_after) {
        (DeliveryFailure::RateLimited { .. }, Some(s))
            if !description.to_ascii_lowercase().contains("retry after") =>
        {
            format!(" (retry after {s} s)")
        }
        _ => String::new(),
    };
    Err(DeliveryError::new(
        failure,
        format!("{what} ({code}): {description}{wait}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_scrub(s: String) -> String {
        s
    }

    #[test]
    fn text_is_escaped_and_bounded() {
        let msg = Rendered {
            subject: "Backup <shop> & co".into(),
            text: "a < b && c > d\n".repeat(1000),
            html: "<p>ignored</p>".into(),
        };
        let text = message_text(&msg);
        assert!(text.starts_with("<b>Backup &lt;shop&gt; &amp; co</b>\n\n"));
        assert!(!text.contains("<p>"));
        assert!(text.ends_with('…'));
        // What Telegram counts: the text once its entities are parsed.
        let visible = text
            .replace("<b>", "")
            .replace("</b>", "")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        assert!(
            visible.chars().count() <= MAX_TEXT_CHARS,
            "{}",
            visible.len()
        );
    }

    #[test]
    fn tokens_that_would_change_the_path_are_refused() {
        assert!(check_token("123456:ABC-def_ghi").is_ok());
        for bad in ["", "123 456:x", "123/../x", "abc\n", "tok?x=1"] {
            let e = check_token(bad).unwrap_err();
            assert_eq!(e.failure, DeliveryFailure::Auth);
            assert!(bad.is_empty() || !e.message.contains(bad));
        }
    }

    #[test]
    fn api_base_must_be_https_or_loopback() {
        assert_eq!(
            check_api_base("https://api.telegram.org/").unwrap(),
            "https://api.telegram.org"
        );
        assert!(check_api_base("http://127.0.0.1:8081").is_ok());
        assert!(check_api_base("http://api.telegram.org").is_err());
        assert!(check_api_base("https://u:p@api.telegram.org").is_err());
        // The same rule when a channel is added, as a coded error naming the field.
        assert_eq!(
            api_base("https://tg.example.com/").unwrap(),
            "https://tg.example.com"
        );
        assert_eq!(
            api_base("http://localhost:8081").unwrap(),
            "http://localhost:8081"
        );
        let e = api_base("http://tg.example.com").unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput);
        assert!(e.message().starts_with("Bot API server: "), "{e}");
        assert!(api_base("not a url").is_err());
    }

    #[test]
    fn answers_map_to_failures() {
        let err =
            |status, body: &str| answer(status, body.as_bytes(), None, &no_scrub).unwrap_err();
        assert!(answer(200, br#"{"ok":true,"result":{}}"#, None, &no_scrub).is_ok());
        assert_eq!(
            err(
                401,
                r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#
            )
            .failure,
            DeliveryFailure::Auth
        );
        let e = err(
            429,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 17","parameters":{"retry_after":17}}"#,
        );
        assert_eq!(
            e.failure,
            DeliveryFailure::RateLimited {
                retry_after_secs: Some(17)
            }
        );
        let e = err(
            400,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
        );
        assert_eq!(e.failure, DeliveryFailure::Rejected { status: 400 });
        assert!(e.message.contains("Bad Request: chat not found"));
        assert_eq!(
            err(502, "<html>Bad Gateway</html>").failure,
            DeliveryFailure::ServerError { status: 502 }
        );
        assert_eq!(err(200, "not json").failure, DeliveryFailure::Other);
    }
}
