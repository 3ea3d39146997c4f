//! Email over SMTP through `lettre`: STARTTLS, implicit TLS, auth; plain text plus HTML.
//! (Placeholder signature: the `notify-channels` slice fills it in.)

use super::{DeliveryError, DeliveryFailure, EmailSpec, Rendered};

/// Send one message to every recipient of `spec`. `password` comes from the keychain.
/// `event_id` goes into a `Offsite-Event-Id` header (and the Message-ID) for deduplication.
pub async fn send(
    spec: &EmailSpec,
    password: Option<&str>,
    msg: &Rendered,
    event_id: &str,
) -> Result<(), DeliveryError> {
    let _ = (spec, password, msg, event_id);
    Err(DeliveryError::new(
        DeliveryFailure::Other,
        "email delivery is not built yet",
    ))
}
