//! Email over SMTP through `lettre`: STARTTLS (required, never opportunistic), implicit TLS, or
//! plain text to a loopback relay; AUTH PLAIN/LOGIN with the user name and the keychain's
//! password; one multipart/alternative message (plain text + HTML) per event, with the event id
//! in an `Offsite-Event-Id` header and in the Message-ID (receivers deduplicate on either).
//!
//! Server certificates are checked by the platform verifier (rustls with ring), as every other
//! TLS connection Offsite makes: a relay with a private CA is trusted by adding the CA to the
//! system's store or pointing `SSL_CERT_FILE` at a bundle that holds it (docs/notifications.md).

use super::{DeliveryError, DeliveryFailure, EmailSpec, Rendered, SmtpSecurity, EVENT_ID_HEADER};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::error::Error as _;
use std::time::Duration;

/// How long one SMTP conversation may take (connect, TLS, AUTH, DATA) before it counts as a
/// failed connection.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Send one message to every recipient of `spec`. `password` comes from the keychain.
/// `event_id` goes into a `Offsite-Event-Id` header (and the Message-ID) for deduplication.
pub async fn send(
    spec: &EmailSpec,
    password: Option<&str>,
    msg: &Rendered,
    event_id: &str,
) -> Result<(), DeliveryError> {
    send_with_roots(spec, password, msg, event_id, &[]).await
}

/// [`send`], trusting the PEM root certificates `extra_roots` besides the platform's. For tests,
/// whose SMTP server has a throwaway CA; a person's relay with a private CA is trusted through
/// the system's store (or `SSL_CERT_FILE`), never through a setting that weakens the check.
#[doc(hidden)]
pub async fn send_with_roots(
    spec: &EmailSpec,
    password: Option<&str>,
    msg: &Rendered,
    event_id: &str,
    extra_roots: &[String],
) -> Result<(), DeliveryError> {
    let message = build_message(spec, msg, event_id)?;
    let addrs = resolve(&spec.host, spec.port).await?;
    if spec.security == SmtpSecurity::None && !addrs.iter().all(|a| a.ip().is_loopback()) {
        return Err(DeliveryError::new(
            DeliveryFailure::Rejected { status: 0 },
            format!(
                "refusing to send mail in plain text to {}: without TLS only a relay on this \
                 machine (127.0.0.1, ::1) may be used",
                spec.host
            ),
        ));
    }
    let transport = transport(spec, password, extra_roots)?;
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(e) => Err(classify(&e, &spec.host, spec.port)),
    }
}

/// The message: From, To (every recipient), Subject, Message-ID and `Offsite-Event-Id` derived
/// from the event id, a multipart/alternative body.
fn build_message(
    spec: &EmailSpec,
    msg: &Rendered,
    event_id: &str,
) -> Result<Message, DeliveryError> {
    let from: Mailbox = parse_mailbox("sender", &spec.from)?;
    if spec.to.is_empty() {
        return Err(refused("the channel has no recipient"));
    }
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(one_line(&msg.subject))
        .message_id(Some(message_id(event_id, &from)))
        .header(OffsiteEventId(safe_id(event_id)));
    for to in &spec.to {
        builder = builder.to(parse_mailbox("recipient", to)?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            msg.text.clone(),
            msg.html.clone(),
        ))
        .map_err(|e| refused(format!("cannot build the message: {e}")))
}

fn parse_mailbox(what: &str, addr: &str) -> Result<Mailbox, DeliveryError> {
    addr.trim()
        .parse::<Mailbox>()
        .map_err(|e| refused(format!("the {what} address {addr:?} is not valid: {e}")))
}

/// A failure found before anything was sent (a malformed address): retrying cannot help.
fn refused(message: impl Into<String>) -> DeliveryError {
    DeliveryError::new(DeliveryFailure::Rejected { status: 0 }, message)
}

/// Subjects are one line (line breaks would end the header; lettre encodes the rest).
fn one_line(s: &str) -> String {
    s.split(['\r', '\n'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The event id as it may appear in a header or a Message-ID: letters, digits, `-` and `.`
/// only (the id is a UUID; anything else is dropped).
fn safe_id(event_id: &str) -> String {
    let id: String = event_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        .take(128)
        .collect();
    if id.is_empty() {
        "unknown".into()
    } else {
        id
    }
}

/// `<offsite.{event id}@{the sender's domain}>`: the same on every retry of the same event.
fn message_id(event_id: &str, from: &Mailbox) -> String {
    let domain = from.email.domain();
    let domain = if domain.is_empty() || domain.starts_with('[') {
        "offsite.invalid"
    } else {
        domain
    };
    format!("<offsite.{}@{domain}>", safe_id(event_id))
}

/// The `Offsite-Event-Id` header.
#[derive(Clone)]
struct OffsiteEventId(String);

impl Header for OffsiteEventId {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str(EVENT_ID_HEADER)
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim().to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// The relay's addresses; a name that does not resolve is a DNS failure (told apart here,
/// before lettre folds it into "connection error").
async fn resolve(host: &str, port: u16) -> Result<Vec<std::net::SocketAddr>, DeliveryError> {
    let found = tokio::time::timeout(SMTP_TIMEOUT, tokio::net::lookup_host((host, port))).await;
    let addrs: Vec<_> = match found {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => {
            return Err(DeliveryError::new(
                DeliveryFailure::Dns,
                format!("cannot resolve the SMTP server {host}: {e}"),
            ))
        }
        Err(_) => {
            return Err(DeliveryError::new(
                DeliveryFailure::Dns,
                format!("resolving the SMTP server {host} timed out"),
            ))
        }
    };
    if addrs.is_empty() {
        return Err(DeliveryError::new(
            DeliveryFailure::Dns,
            format!("the SMTP server {host} has no address"),
        ));
    }
    Ok(addrs)
}

/// The lettre transport for `spec`: STARTTLS required (`Tls::Required`, never opportunistic),
/// TLS from the first byte (`Tls::Wrapper`), or plain text; AUTH when a user name is set.
fn transport(
    spec: &EmailSpec,
    password: Option<&str>,
    extra_roots: &[String],
) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
    let tls = match spec.security {
        SmtpSecurity::None => Tls::None,
        SmtpSecurity::Starttls => Tls::Required(tls_parameters(&spec.host, extra_roots)?),
        SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(&spec.host, extra_roots)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(spec.host.as_str())
        .port(spec.port)
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT));
    if let Some(user) = spec.username.as_deref().filter(|u| !u.is_empty()) {
        let Some(password) = password else {
            return Err(DeliveryError::new(
                DeliveryFailure::Auth,
                format!("no SMTP password is stored for the user {user:?}"),
            ));
        };
        builder = builder.credentials(Credentials::new(user.to_string(), password.to_string()));
    }
    Ok(builder.build())
}

fn tls_parameters(host: &str, extra_roots: &[String]) -> Result<TlsParameters, DeliveryError> {
    let mut params = TlsParameters::builder(host.to_string());
    for pem in extra_roots {
        let cert = Certificate::from_pem(pem.as_bytes()).map_err(|e| {
            DeliveryError::new(
                DeliveryFailure::Tls,
                format!("unusable root certificate: {e}"),
            )
        })?;
        params = params.add_root_certificate(cert);
    }
    params
        .build()
        .map_err(|e| DeliveryError::new(DeliveryFailure::Tls, format!("cannot set up TLS: {e}")))
}

/// A lettre error as a [`DeliveryError`]: the SMTP reply code decides (535 and other AUTH
/// refusals → Auth, 4xx → try again later, 5xx → rejected), else where it failed (TLS, the
/// connection). The message keeps the server's own words.
fn classify(e: &lettre::transport::smtp::Error, host: &str, port: u16) -> DeliveryError {
    let at = format!("SMTP server {host}:{port}");
    if let Some(code) = e.status() {
        let status = u16::from(code);
        let said = e.source().map(|s| s.to_string()).unwrap_or_default();
        let failure = reply_failure(status, &said);
        return DeliveryError::new(failure, format!("{at} answered {status} {said}"));
    }
    let cause = root_cause(e);
    if e.is_tls() || has_rustls_error(e) {
        return DeliveryError::new(
            DeliveryFailure::Tls,
            format!("TLS with {at} failed: {cause}"),
        );
    }
    let lower = cause.to_ascii_lowercase();
    if lower.contains("starttls is not supported") || lower.contains("not encrypted") {
        return DeliveryError::new(
            DeliveryFailure::Tls,
            format!("{at} does not offer STARTTLS, which this channel requires ({cause})"),
        );
    }
    if lower.contains("no compatible authentication mechanism") {
        return DeliveryError::new(
            DeliveryFailure::Auth,
            format!("{at} offers no AUTH mechanism Offsite can use (PLAIN, LOGIN): {cause}"),
        );
    }
    let text = e.to_string().to_ascii_lowercase();
    if e.is_timeout() || text.starts_with("connection error") || text.starts_with("network error") {
        return DeliveryError::new(
            DeliveryFailure::Connect,
            format!("cannot reach the {at}: {cause}"),
        );
    }
    DeliveryError::new(DeliveryFailure::Other, format!("{at}: {cause}"))
}

/// The innermost error's text (what actually went wrong: "Connection refused (os error 111)",
/// "invalid peer certificate: UnknownIssuer"), looking inside `io::Error`s too.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        last = err.to_string();
        next = err.source().or_else(|| {
            err.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map(|x| x as &(dyn std::error::Error + 'static))
        });
    }
    last
}

/// The failure an SMTP reply code means.
fn reply_failure(status: u16, text: &str) -> DeliveryFailure {
    let lower = text.to_ascii_lowercase();
    match status {
        // 535 credentials invalid, 534 mechanism too weak, 530 authentication required.
        530 | 534 | 535 => DeliveryFailure::Auth,
        400..=499
            if lower.contains("rate")
                || lower.contains("too many")
                || lower.contains("throttl")
                || lower.contains("4.7.28") =>
        {
            DeliveryFailure::RateLimited {
                retry_after_secs: None,
            }
        }
        400..=499 => DeliveryFailure::ServerError { status },
        _ => DeliveryFailure::Rejected { status },
    }
}

/// Whether a rustls error is somewhere in the chain (lettre reports a failed handshake as a
/// connection error wrapping an `io::Error` wrapping the rustls error).
fn has_rustls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if inner.downcast_ref::<rustls::Error>().is_some() || has_rustls_error(inner) {
                return true;
            }
        }
        next = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes_map_to_failures() {
        assert_eq!(reply_failure(535, "5.7.8 bad"), DeliveryFailure::Auth);
        assert_eq!(
            reply_failure(451, "4.3.0 try later"),
            DeliveryFailure::ServerError { status: 451 }
        );
        assert_eq!(
            reply_failure(450, "4.7.28 rate limited, slow down"),
            DeliveryFailure::RateLimited {
                retry_after_secs: None
            }
        );
        assert_eq!(
            reply_failure(550, "5.1.1 no such user"),
            DeliveryFailure::Rejected { status: 550 }
        );
    }

    #[test]
    fn ids_and_subjects_cannot_inject_headers() {
        assert_eq!(safe_id("a1-b2\r\nBcc: x@y"), "a1-b2Bccxy");
        assert_eq!(safe_id("\r\n"), "unknown");
        assert_eq!(
            one_line("Backup failed\r\nBcc: x@y"),
            "Backup failed Bcc: x@y"
        );
        let from: Mailbox = "Offsite <offsite@example.org>".parse().unwrap();
        assert_eq!(message_id("3f1c-9", &from), "<offsite.3f1c-9@example.org>");
    }
}
