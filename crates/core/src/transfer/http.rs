//! Reading a download's HTTP answers: validators (strong ETag, Last-Modified), `Content-Range`,
//! expired signed URLs (S3's and the Offsite agent's), status codes as the engine's errors, and
//! URLs with their secrets cut off for messages.

use crate::error::{Error, ErrorKind};
use reqwest::header::HeaderMap;
use std::time::Duration;

/// The `code` of the Offsite agent's answer to an expired signed URL: a `401`, `403` or `410`
/// whose JSON body is `{"code":"url_expired"}` (other fields, such as a `message`, may follow).
/// The downloader then asks its [`UrlSource`](super::UrlSource) for a fresh URL and resumes.
pub const URL_EXPIRED_CODE: &str = "url_expired";

/// The JSON body the agent answers an expired signed URL with (see [`URL_EXPIRED_CODE`]).
pub fn url_expired_body() -> String {
    serde_json::json!({
        "code": URL_EXPIRED_CODE,
        "message": "the download URL has expired; ask for a new one",
    })
    .to_string()
}

/// What pins a resumed range to the same version of the file (`If-Range`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Validator {
    /// A strong ETag, quotes included.
    ETag(String),
    /// A `Last-Modified` date (used only when there is no strong ETag).
    LastModified(String),
}

impl Validator {
    /// The strong ETag of an answer, else its `Last-Modified` (a weak ETag cannot pin a range).
    pub(crate) fn from_headers(h: &HeaderMap) -> Option<Validator> {
        if let Some(etag) = strong_etag(h) {
            return Some(Validator::ETag(etag));
        }
        h.get(reqwest::header::LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .map(|v| Validator::LastModified(v.to_string()))
    }

    pub(crate) fn header_value(&self) -> &str {
        match self {
            Validator::ETag(v) | Validator::LastModified(v) => v,
        }
    }
}

/// The answer's ETag when it is a strong one (`"…"`, not `W/"…"`).
pub(crate) fn strong_etag(h: &HeaderMap) -> Option<String> {
    h.get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| v.starts_with('"') && v.len() >= 2)
        .map(str::to_string)
}

/// `Content-Range: bytes FIRST-LAST/TOTAL` (TOTAL may be `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentRange {
    pub first: u64,
    pub last: u64,
    pub total: Option<u64>,
}

pub(crate) fn content_range(h: &HeaderMap) -> Option<ContentRange> {
    let v = h.get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    parse_content_range(v)
}

pub(crate) fn parse_content_range(v: &str) -> Option<ContentRange> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let first: u64 = first.trim().parse().ok()?;
    let last: u64 = last.trim().parse().ok()?;
    if last < first {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => {
            let t: u64 = t.parse().ok()?;
            if last >= t {
                return None;
            }
            Some(t)
        }
    };
    Some(ContentRange { first, last, total })
}

/// Whether an error answer says the signed URL expired: S3's `403` with "Request has expired",
/// or the agent's `401`/`403`/`410` with `{"code":"url_expired"}`.
pub(crate) fn is_expired(status: u16, body: &[u8]) -> bool {
    if !matches!(status, 401 | 403 | 410) {
        return false;
    }
    let text = String::from_utf8_lossy(body);
    if status == 403 && text.contains("Request has expired") {
        return true;
    }
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("code")
                .and_then(|c| c.as_str())
                .map(|c| c == URL_EXPIRED_CODE)
        })
        .unwrap_or(false)
}

/// A non-success answer (other than an expiry) as an error. Temporary: 408, 429, 5xx.
pub(crate) fn status_error(what: &str, status: u16, retry_after: Option<Duration>) -> Error {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let msg = format!("{what}: HTTP {status} {reason}")
        .trim_end()
        .to_string();
    match status {
        300..=399 => redirect_refused(what, status),
        429 => Error::rate_limited(msg, retry_after),
        408 => Error::new(ErrorKind::Connection, msg),
        500..=599 => Error::new(ErrorKind::Connection, msg)
            .with_retry_after(retry_after)
            .with_hint("the server failed; Offsite tries again a few times"),
        401 => Error::new(ErrorKind::Auth, msg).with_hint(
            "the server did not accept the credentials of this download (a token that was \
             revoked or replaced, or a download link that is no longer valid)",
        ),
        403 => Error::new(ErrorKind::Permission, msg)
            .with_hint("the server refuses this download to these credentials"),
        404 | 410 => Error::new(ErrorKind::NotFound, msg)
            .with_hint("the file is no longer on the server (deleted, or pruned by its retention)"),
        _ => Error::new(ErrorKind::Connection, msg)
            .retryable(false)
            .with_hint("the server refused the download"),
    }
}

/// A `3xx` answer: Offsite follows no redirect (a hostile server could send it to a cloud
/// metadata address or a port on this machine), so the download or call fails here, for good.
/// The `Location` is not quoted: it is the server's text.
pub fn redirect_refused(what: &str, status: u16) -> Error {
    Error::new(
        ErrorKind::Connection,
        format!("{what}: the server answered HTTP {status}, a redirect to another address, which Offsite does not follow"),
    )
    .retryable(false)
    .with_hint(
        "give the server's own address (the one `offsite serve` prints, or the bucket's \
         endpoint), not one that forwards elsewhere; a server that redirects downloads may be \
         trying to reach addresses on this machine's network",
    )
}

/// `scheme://host[:port]/path` of a URL: no user, password, query (signatures, tokens) or
/// fragment, for messages and logs.
pub fn redact_url(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(p) => format!("{}://{host}:{p}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, ETAG, LAST_MODIFIED};

    #[test]
    fn content_ranges() {
        assert_eq!(
            parse_content_range("bytes 100-199/1000"),
            Some(ContentRange {
                first: 100,
                last: 199,
                total: Some(1000)
            })
        );
        assert_eq!(parse_content_range("bytes 0-0/*").unwrap().total, None);
        assert_eq!(parse_content_range("bytes 5-4/10"), None);
        assert_eq!(parse_content_range("bytes 5-10/10"), None);
        assert_eq!(parse_content_range("bytes */10"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
    }

    #[test]
    fn validators_prefer_a_strong_etag() {
        let mut h = HeaderMap::new();
        h.insert(
            LAST_MODIFIED,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        h.insert(ETAG, HeaderValue::from_static("W/\"weak\""));
        assert_eq!(
            Validator::from_headers(&h),
            Some(Validator::LastModified(
                "Wed, 21 Oct 2015 07:28:00 GMT".into()
            ))
        );
        h.insert(ETAG, HeaderValue::from_static("\"abc\""));
        assert_eq!(
            Validator::from_headers(&h),
            Some(Validator::ETag("\"abc\"".into()))
        );
        assert_eq!(Validator::from_headers(&HeaderMap::new()), None);
    }

    #[test]
    fn expiry_answers() {
        let s3 = b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
        assert!(is_expired(403, s3));
        assert!(!is_expired(404, s3));
        assert!(is_expired(410, url_expired_body().as_bytes()));
        assert!(is_expired(401, br#"{"code":"url_expired"}"#));
        assert!(!is_expired(403, br#"{"code":"forbidden"}"#));
        assert!(!is_expired(
            403,
            b"<Error><Code>AccessDenied</Code></Error>"
        ));
    }

    #[test]
    fn statuses_become_kinds() {
        assert_eq!(status_error("x", 404, None).kind(), ErrorKind::NotFound);
        assert_eq!(status_error("x", 401, None).kind(), ErrorKind::Auth);
        assert_eq!(status_error("x", 403, None).kind(), ErrorKind::Permission);
        assert!(status_error("x", 503, None).is_temporary());
        assert!(status_error("x", 500, None).is_temporary());
        let e = status_error("x", 429, Some(Duration::from_secs(3)));
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(!status_error("x", 400, None).is_temporary());
        for s in [301, 302, 303, 307, 308] {
            let e = status_error("x", s, None);
            assert_eq!(e.kind(), ErrorKind::Connection);
            assert!(!e.is_temporary(), "{s}");
            assert!(e.message().contains("redirect"), "{e}");
        }
    }

    #[test]
    fn urls_lose_their_secrets() {
        let u =
            url::Url::parse("https://user:pw@h.example:8443/a/b.tar.gz?X-Amz-Signature=s3cr3t#f")
                .unwrap();
        assert_eq!(redact_url(&u), "https://h.example:8443/a/b.tar.gz");
    }
}
