//! Webhooks: the event's JSON (payload v1) or a preset's format, POSTed with the event id in
//! `Offsite-Event-Id` and, when the channel has a secret, `Offsite-Signature: sha256=<hex>` (the
//! HMAC-SHA256 of the exact body). Also the HTTP side every HTTP channel shares: one client
//! (rustls with ring, timeouts, no redirects), bounded reads of the answer, and each failure
//! classified ([`DeliveryFailure`]) without the URL (its path or query can be the secret).

use super::presets;
use super::{DeliveryError, DeliveryFailure, Event, Preset, EVENT_ID_HEADER, SIGNATURE_HEADER};
use std::time::Duration;

/// How much of an answer is read (the server's message in an error).
const MAX_ANSWER: usize = 4096;
/// How much of the server's message an error quotes.
const MAX_QUOTE: usize = 300;

/// The HTTP client the channels share.
pub fn client() -> Result<reqwest::Client, DeliveryError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let fail = |e: String| DeliveryError::new(DeliveryFailure::Other, e);
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| fail(format!("cannot set up TLS: {e}")))?
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(crate::tool_version())
        .build()
        .map_err(|e| fail(format!("cannot build the HTTP client: {e}")))
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` with `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&key, body).as_ref())
    )
}

/// Send `event` to the webhook at `url` in `preset`'s format. `secret`: signs the body (the
/// PagerDuty preset takes it as the routing key instead).
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    preset: Preset,
    event: &Event,
) -> Result<(), DeliveryError> {
    let body = presets::body(preset, event, secret)?;
    let mut headers = body.headers;
    headers.push((EVENT_ID_HEADER.to_string(), event.id.clone()));
    if let (Some(s), true) = (secret, preset != Preset::Pagerduty) {
        headers.push((
            SIGNATURE_HEADER.to_string(),
            sign(s.as_bytes(), &body.bytes),
        ));
    }
    post(client, url, body.bytes, body.content_type, &headers).await
}

/// POST `body` to `url`; a 2xx answer is success, anything else a classified failure.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    content_type: &str,
    headers: &[(String, String)],
) -> Result<(), DeliveryError> {
    let parsed = url::Url::parse(url).map_err(|_| {
        DeliveryError::new(
            DeliveryFailure::Rejected { status: 0 },
            "the channel's URL is not valid",
        )
    })?;
    let host = parsed.host_str().unwrap_or("").to_string();
    let mut req = client
        .post(parsed)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().await.map_err(|e| classify(&e, &host))?;
    answer(resp, &host).await.map_err(|mut e| {
        e.message = scrub(&e.message, url);
        e
    })
}

/// `text` (a server's answer) without the URL or its path and query, which can be the secret
/// (a server may echo the request back).
pub fn scrub(text: &str, url: &str) -> String {
    let mut out = text.replace(url, "…");
    if let Ok(u) = url::Url::parse(url) {
        let mut secret_parts: Vec<String> = Vec::new();
        if u.path().len() > 1 {
            secret_parts.push(u.path().to_string());
        }
        if let Some(q) = u.query() {
            secret_parts.push(q.to_string());
        }
        for part in secret_parts {
            out = out.replace(&part, "…");
        }
    }
    out
}

/// A response as success or a classified failure (bounded read of its body).
pub async fn answer(resp: reqwest::Response, host: &str) -> Result<(), DeliveryError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let said = read_bounded(resp).await;
    let code = status.as_u16();
    let quote = if said.is_empty() {
        String::new()
    } else {
        format!(": {said}")
    };
    let (failure, what) = match code {
        401 | 403 => (DeliveryFailure::Auth, "refused the credentials"),
        429 => (
            DeliveryFailure::RateLimited {
                retry_after_secs: retry_after,
            },
            "asks to slow down",
        ),
        500..=599 => (
            DeliveryFailure::ServerError { status: code },
            "had an error",
        ),
        400..=499 => (
            DeliveryFailure::Rejected { status: code },
            "rejected the message",
        ),
        _ => (DeliveryFailure::Other, "answered unexpectedly"),
    };
    Err(DeliveryError::new(
        failure,
        format!("{host} {what} (HTTP {code}){quote}"),
    ))
}

async fn read_bounded(mut resp: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while buf.len() < MAX_ANSWER {
        match resp.chunk().await {
            Ok(Some(c)) => buf.extend_from_slice(&c[..c.len().min(MAX_ANSWER - buf.len())]),
            _ => break,
        }
    }
    super::render::one_line(String::from_utf8_lossy(&buf).trim(), MAX_QUOTE)
}

/// A request that got no answer, as a failure that names the host only.
pub fn classify(e: &reqwest::Error, host: &str) -> DeliveryError {
    let mut chain = String::new();
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        chain.push_str(&s.to_string().to_ascii_lowercase());
        chain.push(' ');
        src = s.source();
    }
    let (failure, msg) = if chain.contains("dns error")
        || chain.contains("failed to lookup address")
        || chain.contains("name or service not known")
        || chain.contains("no such host")
    {
        (
            DeliveryFailure::Dns,
            format!("cannot resolve the host name {host} (DNS)"),
        )
    } else if chain.contains("certificate")
        || chain.contains("tls")
        || chain.contains("handshake")
        || chain.contains("invalidcertificate")
    {
        (
            DeliveryFailure::Tls,
            format!("the TLS connection to {host} failed (certificate or handshake)"),
        )
    } else if e.is_timeout() {
        (
            DeliveryFailure::Connect,
            format!("{host} did not answer in time"),
        )
    } else if e.is_connect() {
        let why = if chain.contains("refused") {
            "connection refused"
        } else {
            "cannot connect"
        };
        (DeliveryFailure::Connect, format!("{host}: {why}"))
    } else {
        (
            DeliveryFailure::Connect,
            format!("the request to {host} failed"),
        )
    };
    DeliveryError::new(failure, msg)
}

/// `url` shown without what can be secret: scheme and host, then `/…` when it had a path.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let rest = if u.path().len() > 1 || u.query().is_some() {
                "/…"
            } else {
                ""
            };
            format!(
                "{}://{}{port}{rest}",
                u.scheme(),
                u.host_str().unwrap_or("")
            )
        }
        Err(_) => "(not a URL)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn an_answer_that_echoes_the_url_is_scrubbed() {
        let url = "https://hooks.example.com/services/T0/SECRET?token=abc";
        assert_eq!(
            scrub("no hook at /services/T0/SECRET (token=abc)", url),
            "no hook at … (…)"
        );
        assert_eq!(scrub(&format!("bad: {url}"), url), "bad: …");
    }

    #[test]
    fn urls_are_shown_without_path_query_or_credentials() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/XXXX"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            redact_url("https://u:p@example.com:8443/?token=s"),
            "https://example.com:8443/…"
        );
        assert_eq!(redact_url("https://example.com"), "https://example.com");
        assert_eq!(redact_url("nope"), "(not a URL)");
    }
}
