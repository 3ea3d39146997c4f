//! The agent watcher (issue 27) against the real `offsite serve` as its own process; the laptop
//! is the engine in this process with a manual clock (the watcher's 15-minute cadence is kept by
//! the catalog's clock), a local webhook receiver hearing the events. The agent stops → nothing
//! at the first check without an answer, exactly one `agent_unreachable` at the second, none
//! after; another agent with a new certificate on the same address → exactly one
//! `agent_certificate_changed` naming both fingerprints. The token is in no payload or outbox row.

use crate::{database, free_port, plain, start_agent};
use offsite_core::catalog::parse_timestamp;
use offsite_core::clock::ManualClock;
use offsite_core::notify::{Event, EventKind, Preset};
use offsite_core::ops::notify::watch::settings::WatchSettingsChange;
use offsite_core::ops::notify::ChannelInput;
use offsite_core::ops::ServerSettings;
use offsite_core::secrets::MemoryStore;
use offsite_core::{AddProject, Engine, EngineConfig};
use offsite_testkit::{TestCluster, WebhookReceiver};
use std::sync::Arc;

fn agent_events(rx: &WebhookReceiver, kind: EventKind) -> Vec<Event> {
    rx.requests()
        .iter()
        .map(|r| serde_json::from_slice::<Event>(&r.body).expect("an event"))
        .filter(|e| e.event == kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_that_stops_answering_is_said_once_and_a_new_certificate_once() {
    let db = database(10);
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = start_agent(&db, &listen, false);
    let token = agent.token();
    let pinned = plain(agent.fingerprint.as_deref().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let at = |s: &str| parse_timestamp(s).unwrap();
    let clock = ManualClock::new(at("2030-03-02T12:00:00Z"));
    let engine = Engine::open(
        EngineConfig::new(Arc::new(MemoryStore::default()))
            .data_dir(dir.path().join("data"))
            .clock(clock.clone()),
    )
    .await
    .unwrap();
    // About the agent's watcher only: the space watcher's rules are off, so this machine's own
    // disk (a CI host may have little free) adds no `space_low` to the outbox.
    engine
        .set_notify_watch_settings(WatchSettingsChange {
            space_min_free_mib: Some(0),
            space_min_days_to_full: Some(0),
            ..Default::default()
        })
        .await
        .unwrap();
    let rx = WebhookReceiver::start();
    engine
        .notify_add(
            "hook",
            ChannelInput::Webhook {
                url: rx.url("/hook"),
                preset: Preset::Json,
                secret: None,
            },
        )
        .await
        .unwrap();
    let pg = TestCluster::shared();
    engine
        .add_project(AddProject::url("shop", pg.url_with_password(&db)))
        .await
        .unwrap();
    engine
        .set_server(
            "shop",
            Some(ServerSettings {
                url: agent.url.clone(),
                project: "shop".into(),
                token: Some(token.clone()),
                fingerprint: agent.fingerprint.clone(),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    let unreachable = || agent_events(&rx, EventKind::AgentUnreachable);
    let changed = || agent_events(&rx, EventKind::AgentCertificateChanged);

    // It answers: nothing to say.
    engine.notify_check().await.unwrap();
    assert!(unreachable().is_empty() && changed().is_empty());

    // Stopped: the first check without an answer says nothing, the second one event.
    let _ = agent.child.kill();
    let _ = agent.child.wait();
    clock.set(at("2030-03-02T12:15:00Z"));
    engine.notify_check().await.unwrap();
    assert!(
        unreachable().is_empty(),
        "one missed check: {:?}",
        unreachable()
    );
    clock.set(at("2030-03-02T12:20:00Z"));
    engine.notify_check().await.unwrap();
    assert!(
        unreachable().is_empty(),
        "within the cadence: not looked at"
    );
    clock.set(at("2030-03-02T12:30:00Z"));
    engine.notify_check().await.unwrap();
    let events = unreachable();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.project.as_ref().unwrap().name, "shop");
    assert_eq!(e.details["server"], listen.as_str(), "{e:?}");
    assert_eq!(e.details["since"], "2030-03-02T12:15:00.000Z", "{e:?}");
    let err = e.error.as_ref().unwrap();
    assert_eq!(err.code, "connection", "{e:?}");
    assert!(err.hint.is_some(), "{e:?}");
    clock.set(at("2030-03-02T12:45:00Z"));
    engine.notify_check().await.unwrap();
    assert_eq!(unreachable().len(), 1, "once per transition");

    // Another agent (a new certificate) on the same address: certificate changed, once.
    let impostor = start_agent(&db, &listen, false);
    let presented = plain(impostor.fingerprint.as_deref().unwrap());
    assert_ne!(presented, pinned);
    clock.set(at("2030-03-02T13:00:00Z"));
    engine.notify_check().await.unwrap();
    let events = changed();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.details["pinned_fingerprint"], pinned.as_str(), "{e:?}");
    assert_eq!(
        e.details["presented_fingerprint"],
        presented.as_str(),
        "{e:?}"
    );
    assert!(
        e.details["what_to_do"]
            .as_str()
            .unwrap()
            .contains("Re-pair"),
        "{e:?}"
    );
    clock.set(at("2030-03-02T13:15:00Z"));
    engine.notify_check().await.unwrap();
    assert_eq!(changed().len(), 1, "once per transition");
    assert_eq!(unreachable().len(), 1, "it answers: no new unreachable");

    // The token is in no payload and no outbox row.
    for r in rx.requests() {
        assert!(!String::from_utf8_lossy(&r.body).contains(&token));
    }
    let rows = engine.notify_log(None, 100).await.unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in rows {
        assert!(!row.payload_json.contains(&token), "{row:?}");
        assert!(!row.last_error.unwrap_or_default().contains(&token));
    }
}
