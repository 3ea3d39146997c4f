//! Heartbeat pings in the healthchecks.io convention, which Healthchecks, Uptime Kuma push
//! monitors, Cronitor and Better Stack accept: `<url>` when a backup succeeded, `<url>/fail`
//! with the error in the body when it failed, `<url>/start` when one starts ([`send_start`]).
//! The URL is the secret (whoever has it can ping the check): it is kept in the keychain and
//! never named in an error.

use super::webhook::post;
use super::{DeliveryError, DeliveryFailure, Event, EventKind, EVENT_ID_HEADER};

/// The most of an error a failure ping carries (Healthchecks keeps the first 100 kB).
const MAX_BODY: usize = 10_000;

/// `url` with `/suffix` appended to its path (a query string stays where it is).
fn with_suffix(url: &str, suffix: &str) -> Result<String, DeliveryError> {
    let mut u = url::Url::parse(url).map_err(|_| {
        DeliveryError::new(
            DeliveryFailure::Rejected { status: 0 },
            "the ping URL is not valid",
        )
    })?;
    if !suffix.is_empty() {
        let path = format!("{}/{suffix}", u.path().trim_end_matches('/'));
        u.set_path(&path);
    }
    Ok(u.to_string())
}

/// The URL a starting backup pings (`<url>/start`).
pub fn start_url(url: &str) -> Result<String, DeliveryError> {
    with_suffix(url, "start")
}

/// The `/start` ping of a backup that starts.
pub async fn send_start(client: &reqwest::Client, url: &str) -> Result<(), DeliveryError> {
    post(
        client,
        &start_url(url)?,
        Vec::new(),
        "text/plain; charset=utf-8",
        &[],
    )
    .await
}

/// Ping for `event`: success for a succeeded backup (and a test), `/fail` with the summary and
/// error for a failure. Other events do not ping (Ok without a request).
pub async fn send(client: &reqwest::Client, url: &str, event: &Event) -> Result<(), DeliveryError> {
    let (target, body) = match event.event {
        EventKind::BackupSucceeded | EventKind::Test => {
            (with_suffix(url, "")?, event.summary.clone())
        }
        EventKind::BackupFailed => {
            let mut body = event.summary.clone();
            if let Some(e) = &event.error {
                body.push_str(&format!("\n\nerror code: {}\n", e.code));
                if let Some(h) = &e.hint {
                    body.push_str(&format!("hint: {h}\n"));
                }
            }
            body.push_str(&format!("event id: {}\n", event.id));
            (with_suffix(url, "fail")?, body)
        }
        _ => return Ok(()),
    };
    let mut body = body.into_bytes();
    body.truncate(MAX_BODY);
    let headers = [(EVENT_ID_HEADER.to_string(), event.id.clone())];
    post(client, &target, body, "text/plain; charset=utf-8", &headers).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_go_on_the_path() {
        assert_eq!(
            with_suffix("https://hc-ping.com/abc", "fail").unwrap(),
            "https://hc-ping.com/abc/fail"
        );
        assert_eq!(
            start_url("https://hc-ping.com/abc/").unwrap(),
            "https://hc-ping.com/abc/start"
        );
        assert_eq!(
            with_suffix("http://127.0.0.1:1/p?x=1", "fail").unwrap(),
            "http://127.0.0.1:1/p/fail?x=1"
        );
        assert!(with_suffix("nope", "").is_err());
    }
}
