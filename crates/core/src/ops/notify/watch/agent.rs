//! The agent watcher (issue 27): every [`AGENT_EVERY`], for each project whose source is a
//! backup server (`offsite serve`), one cheap look at it with the pinned certificate.
//!
//! * For `https`, the certificate the server shows is read first (the handshake only, as when
//!   the server was added). Another one than the pinned fingerprint → `agent_certificate_changed`
//!   (details: both fingerprints, which are public, and what to do).
//! * Then the authenticated "test the connection" call (`GET …/backups`, tried once).
//! * No answer (refused, timeout, DNS, reset) at **two checks in a row** → `agent_unreachable`
//!   (details: the server's `host:port`, since when, the error's code, message and hint; never
//!   the token). One missed check (a restart, a blip) says nothing.
//! * An answer of any kind (even a refused token: the server is there; that error is logged)
//!   resets "unreachable"; the pinned certificate shown again resets "certificate changed".
//!   Resets are silent: there is no "back to normal" kind for the agent, and the next backup or
//!   pull reports its own success.

use crate::catalog::{format_timestamp, Project, ServerComponent};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::notify::events::new_event;
use crate::notify::{Event, EventError, EventKind, EventProject};
use crate::transfer::Fingerprint;
use std::time::Duration;

/// How often the agent watcher looks at each backup server.
pub const AGENT_EVERY: Duration = Duration::from_secs(15 * 60);
/// The name under which the agent watcher's last run is kept.
pub const AGENT_WATCH: &str = "agent";
/// The condition kinds (as stored in `notify_conditions`).
const UNREACHABLE: &str = "agent_unreachable";
const CERT_CHANGED: &str = "agent_certificate_changed";
/// The silent first strike: one check without an answer.
const STRIKE: &str = "agent_unreachable_strike";
/// How long the certificate probe may take to connect.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest the connection test may take (after the probe answered).
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// What one look at a server found.
#[derive(Debug)]
pub(crate) enum Seen {
    /// It answered (with the pinned certificate, if https).
    Answered,
    /// It answered with another certificate than the pinned one.
    CertificateChanged { pinned: String, presented: String },
    /// No answer.
    Unreachable(Error),
    /// Nothing could be asked (no token here for a plain-http server): nothing is recorded.
    Unknown,
}

/// `host:port` of a server address (never a user, password or query: the address holds none).
fn host_port(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}:{}",
            u.host_str().unwrap_or("?"),
            u.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => "?".into(),
    }
}

/// Whether an error means "no answer" (refused, timeout, DNS, reset), not an answer we dislike.
pub(crate) fn is_no_answer(e: &Error) -> bool {
    e.kind() == ErrorKind::Connection && e.is_temporary()
}

/// Look at every project's backup server. Returns how many events were queued.
pub(crate) async fn watch(engine: &Engine) -> Result<u32> {
    let mut made = 0;
    for project in engine.catalog.projects().await? {
        let server = match engine.catalog.components(&project.id).await {
            Ok(c) => c.server,
            Err(e) => {
                tracing::warn!(project = %project.name, "agent watch skipped: {e}");
                continue;
            }
        };
        let Some(server) = server else { continue };
        let seen = look(engine, &project, &server).await;
        match record(engine, &project, &server, seen).await {
            Ok(n) => made += n,
            Err(e) => tracing::warn!(project = %project.name, "agent watch not recorded: {e}"),
        }
    }
    Ok(made)
}

/// One look at `server` (see the module's rules).
async fn look(engine: &Engine, project: &Project, server: &ServerComponent) -> Seen {
    if let Some(pinned) = server.fingerprint.as_deref() {
        match crate::transfer::server_fingerprint(&server.url, PROBE_TIMEOUT).await {
            Ok(shown) => {
                let pinned_fp = pinned.parse::<Fingerprint>().ok();
                if pinned_fp != Some(shown) {
                    return Seen::CertificateChanged {
                        pinned: pinned.to_string(),
                        presented: shown.to_string(),
                    };
                }
            }
            Err(e) if is_no_answer(&e) => return Seen::Unreachable(e),
            Err(e) => {
                tracing::warn!(project = %project.name, "reading the backup server's certificate failed: {e}")
            }
        }
    }
    let client = match crate::ops::remote::client_of(engine, project).await {
        Ok(mut c) => {
            c.api_retry.max_attempts = 1;
            c
        }
        Err(e) => {
            // No token here (a headless run without it): for https the handshake above
            // answered; for http nothing was asked.
            tracing::warn!(project = %project.name, "the backup server's connection test skipped: {e}");
            return if server.fingerprint.is_some() {
                Seen::Answered
            } else {
                Seen::Unknown
            };
        }
    };
    // Bounded like the probe: a silent server must not hold the due loop (and the schedules'
    // runs behind it) for the client's full timeout.
    let answer = match tokio::time::timeout(CALL_TIMEOUT, client.backups()).await {
        Ok(r) => r,
        Err(_) => Err(Error::new(
            ErrorKind::Connection,
            format!(
                "the backup server did not answer within {} s",
                CALL_TIMEOUT.as_secs()
            ),
        )
        .temporary(true)),
    };
    match answer {
        Ok(_) => Seen::Answered,
        Err(e) if is_no_answer(&e) => Seen::Unreachable(e),
        Err(e) => {
            // It answered: not unreachable. A refused token or another refusal is for the log
            // (the next backup or pull fails with it in full).
            tracing::warn!(project = %project.name, code = e.code(), "the backup server answered with an error: {e}");
            Seen::Answered
        }
    }
}

/// Record what was seen; the transitions queue their events. Returns how many were queued.
async fn record(
    engine: &Engine,
    project: &Project,
    server: &ServerComponent,
    seen: Seen,
) -> Result<u32> {
    let catalog = &engine.catalog;
    let subject = host_port(&server.url);
    let now = format_timestamp(engine.clock.now());
    let who = EventProject {
        id: project.id.clone(),
        name: project.name.clone(),
    };
    let silent = |_: bool| None::<Event>;
    let mut made = 0;
    match seen {
        Seen::Unknown => {}
        Seen::Answered => {
            for kind in [STRIKE, UNREACHABLE, CERT_CHANGED] {
                catalog
                    .record_condition(&project.id, kind, &subject, false, None, silent)
                    .await?;
            }
        }
        Seen::CertificateChanged { pinned, presented } => {
            for kind in [STRIKE, UNREACHABLE] {
                catalog
                    .record_condition(&project.id, kind, &subject, false, None, silent)
                    .await?;
            }
            let ev =
                |on: bool| on.then(|| certificate_event(who, &subject, &pinned, &presented, &now));
            let fired = catalog
                .record_condition(
                    &project.id,
                    CERT_CHANGED,
                    &subject,
                    true,
                    Some(&presented),
                    ev,
                )
                .await?;
            made += u32::from(fired);
        }
        Seen::Unreachable(e) => {
            let since = first_strike(engine, &project.id, &subject).await?;
            match since {
                // The first check without an answer: remembered, nothing said yet.
                None => {
                    catalog
                        .record_condition(&project.id, STRIKE, &subject, true, None, silent)
                        .await?;
                }
                Some(since) => {
                    let ev =
                        |on: bool| on.then(|| unreachable_event(who, &subject, &since, &e, &now));
                    let fired = catalog
                        .record_condition(
                            &project.id,
                            UNREACHABLE,
                            &subject,
                            true,
                            Some(e.message()),
                            ev,
                        )
                        .await?;
                    made += u32::from(fired);
                }
            }
        }
    }
    Ok(made)
}

/// When the current run of checks without an answer began (the strike's time), if one did.
async fn first_strike(engine: &Engine, project_id: &str, subject: &str) -> Result<Option<String>> {
    Ok(engine
        .catalog
        .conditions(Some(STRIKE))
        .await?
        .into_iter()
        .find(|c| c.project_id == project_id && c.subject == subject && c.active)
        .map(|c| c.changed_at))
}

/// `agent_unreachable`: the server, since when, the error (never the token: errors name the
/// server by its address only).
pub(crate) fn unreachable_event(
    project: EventProject,
    server: &str,
    since: &str,
    e: &Error,
    now: &str,
) -> Event {
    let summary = format!(
        "The backup server {server} of {} has not answered since {since}",
        project.name
    );
    let mut ev = new_event(EventKind::AgentUnreachable, now, Some(project), summary);
    ev.error = Some(EventError {
        code: e.code().to_string(),
        message: e.message().to_string(),
        hint: e.hint().map(str::to_string),
    });
    ev.details = serde_json::json!({ "server": server, "since": since });
    ev
}

/// `agent_certificate_changed`: both fingerprints (public) and what to do.
pub(crate) fn certificate_event(
    project: EventProject,
    server: &str,
    pinned: &str,
    presented: &str,
    now: &str,
) -> Event {
    let summary = format!(
        "The backup server {server} of {} shows another TLS certificate than the one trusted",
        project.name
    );
    let mut ev = new_event(
        EventKind::AgentCertificateChanged,
        now,
        Some(project),
        summary,
    );
    ev.details = serde_json::json!({
        "server": server,
        "pinned_fingerprint": pinned,
        "presented_fingerprint": presented,
        "what_to_do": "backups and pulls from this server stop until this is settled. Re-pair \
            (offsite project components NAME --server URL --trust-fingerprint SHA256:…) only if \
            you replaced the server's certificate yourself and the new fingerprint is the one \
            `offsite serve` prints; otherwise someone may be intercepting the connection",
    });
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::render;

    fn who() -> EventProject {
        EventProject {
            id: "p".into(),
            name: "shop".into(),
        }
    }

    #[test]
    fn servers_are_named_by_host_and_port_only() {
        assert_eq!(host_port("https://10.0.0.5:8443/"), "10.0.0.5:8443");
        assert_eq!(
            host_port("https://backup.example.com/"),
            "backup.example.com:443"
        );
        assert_eq!(host_port("not a url"), "?");
    }

    #[test]
    fn no_answer_is_a_temporary_connection_error_only() {
        let refused = Error::new(ErrorKind::Connection, "refused");
        assert!(is_no_answer(&refused));
        assert!(!is_no_answer(&refused.clone().retryable(false)), "TLS");
        assert!(!is_no_answer(&Error::new(ErrorKind::Auth, "401")));
    }

    #[test]
    fn the_events_carry_the_facts_and_read_well() {
        let e = Error::new(
            ErrorKind::Connection,
            "the backup server: connection refused",
        )
        .with_hint("check that the server is running");
        let ev = unreachable_event(
            who(),
            "10.0.0.5:8443",
            "2030-01-01T00:00:00.000Z",
            &e,
            "2030-01-01T00:15:00.000Z",
        );
        assert_eq!(ev.event, EventKind::AgentUnreachable);
        assert_eq!(ev.details["server"], "10.0.0.5:8443");
        assert_eq!(ev.details["since"], "2030-01-01T00:00:00.000Z");
        assert_eq!(ev.error.as_ref().unwrap().code, "connection");
        let r = render(&ev);
        assert!(
            r.text
                .contains("What to do: check that the server is running"),
            "{}",
            r.text
        );
        let ev = certificate_event(
            who(),
            "h:1",
            "SHA256:aa",
            "SHA256:bb",
            "2030-01-01T00:00:00.000Z",
        );
        assert_eq!(ev.event, EventKind::AgentCertificateChanged);
        let r = render(&ev);
        assert!(
            r.text.contains("pinned_fingerprint: SHA256:aa"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("presented_fingerprint: SHA256:bb"),
            "{}",
            r.text
        );
        assert!(r.text.contains("Re-pair"), "{}", r.text);
    }
}
