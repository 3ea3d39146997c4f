//! The notification channels against real servers on 127.0.0.1: email against aiosmtpd
//! (STARTTLS, implicit TLS, AUTH), Telegram against a local server answering as the Bot API
//! documents, metrics read back with a Prometheus text-format parser.

mod email;
mod telegram;
