//! The platform watcher (issue 27) through the engine, against a local server that answers as
//! the Management API documents `GET /v1/projects/{ref}/database/backups` (the real API cannot
//! be reached from the test machines), time moved by a manual clock: a newest backup 30 hours
//! old → one `platform_backup_missing` at the webhook receiver (not repeated), a fresh backup →
//! the condition resets (missing again → a second event), a 401 → no event and the auth error
//! in the log. The token never reaches a payload, an outbox row or the log.

use crate::common::{env_configured, json_hook, Env};
use offsite_core::clock::ManualClock;
use offsite_core::notify::{Event, EventKind};
use offsite_core::ops::SupabaseSettings;
use offsite_core::AddProject;
use offsite_testkit::management_api::{FakeManagementApi, PROJECT_REF, TOKEN};
use offsite_testkit::WebhookReceiver;
use std::sync::{Arc, Mutex};
use time::macros::datetime;

const BACKUPS_PATH: &str = "/v1/projects/abcdefghijklmnopqrst/database/backups";

fn platform_events(rx: &WebhookReceiver) -> Vec<Event> {
    rx.requests()
        .iter()
        .map(|r| serde_json::from_slice::<Event>(&r.body).expect("an event"))
        .filter(|e| e.event == EventKind::PlatformBackupMissing)
        .collect()
}

/// The log lines written while the test runs (this thread's subscriber).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).to_string()
    }
}

// (current-thread: the log subscriber is this thread's)
/// A fake Management API, an engine on a manual clock at 2030-03-02 12:00 UTC with a JSON
/// webhook `hook`, and a Supabase project `sb` whose API is the fake (its database unreachable:
/// the platform watcher never touches it).
async fn supabase_project() -> (FakeManagementApi, Arc<ManualClock>, Env, WebhookReceiver) {
    let fake = FakeManagementApi::start();
    let clock = ManualClock::new(datetime!(2030-03-02 12:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let rx = json_hook(engine).await;
    engine
        .add_project(AddProject::url(
            "sb",
            "postgres://postgres@127.0.0.1:1/postgres",
        ))
        .await
        .unwrap();
    engine
        .set_supabase(
            "sb",
            Some(SupabaseSettings {
                project_ref: PROJECT_REF.into(),
                api_url: Some(fake.base_url()),
                access_token: Some(TOKEN.into()),
            }),
        )
        .await
        .unwrap();
    (fake, clock, env, rx)
}

#[tokio::test]
async fn a_missing_platform_backup_is_said_once_a_fresh_one_resets_it_and_a_401_is_only_logged() {
    let logs = Logs::default();
    let writer = logs.clone();
    let _log = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish(),
    );
    let (fake, clock, env, rx) = supabase_project().await;
    let engine = &env.engine;

    // The newest completed backup is 30 hours old (a newer one failed): one event.
    fake.serve_database_backups(
        false,
        true,
        &[
            ("COMPLETED", "2030-03-01T06:00:00.000Z"),
            ("FAILED", "2030-03-02T06:00:00.000Z"),
        ],
    );
    engine.notify_check().await.unwrap();
    let events = platform_events(&rx);
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.project.as_ref().unwrap().name, "sb");
    assert_eq!(e.details["project_ref"], PROJECT_REF);
    assert_eq!(
        e.details["newest_completed_backup"],
        "2030-03-01T06:00:00.000Z"
    );
    assert_eq!(e.details["pitr_enabled"], false);
    assert_eq!(e.details["walg_enabled"], true);
    assert!(e.details.get("note").is_none(), "not a free plan: {e:?}");

    // Within the cadence nothing is asked; at the next one, still missing: no second event.
    let asked = |fake: &FakeManagementApi| {
        fake.requests()
            .iter()
            .filter(|r| r.path == BACKUPS_PATH)
            .count()
    };
    assert_eq!(asked(&fake), 1);
    clock.advance(time::Duration::hours(1));
    engine.notify_check().await.unwrap();
    assert_eq!(asked(&fake), 1, "every 6 hours, not every check");
    clock.advance(time::Duration::hours(5));
    engine.notify_check().await.unwrap();
    assert_eq!(asked(&fake), 2);
    assert_eq!(platform_events(&rx).len(), 1, "once per transition");

    // A fresh backup: the condition resets (silently).
    fake.serve_database_backups(false, true, &[("COMPLETED", "2030-03-02T17:00:00Z")]);
    clock.advance(time::Duration::hours(6));
    engine.notify_check().await.unwrap();
    assert_eq!(asked(&fake), 3);
    assert_eq!(platform_events(&rx).len(), 1);

    // A token the API refuses: no event, the auth error and its hint in the log.
    fake.fail_all(Some(401));
    clock.advance(time::Duration::days(2));
    engine.notify_check().await.unwrap();
    assert_eq!(asked(&fake), 4);
    assert_eq!(
        platform_events(&rx).len(),
        1,
        "a 401 is not a missing backup"
    );
    let log = logs.text();
    assert!(log.contains("401"), "{log}");
    assert!(
        log.contains("code=\"auth\"") || log.contains("code=auth"),
        "{log}"
    );
    assert!(log.contains("personal access token"), "the hint: {log}");

    // The token works again and the backup is old by now: missing again, a second event.
    fake.fail_all(None);
    clock.advance(time::Duration::hours(6));
    engine.notify_check().await.unwrap();
    let events = platform_events(&rx);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events[1].details["newest_completed_backup"],
        "2030-03-02T17:00:00.000Z"
    );

    // The token never left the keychain for a payload, an outbox row or the log.
    for r in rx.requests() {
        assert!(!String::from_utf8_lossy(&r.body).contains(TOKEN));
    }
    let rows = engine.notify_log(None, 100).await.unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        assert!(!row.payload_json.contains(TOKEN), "{row:?}");
        assert!(!row.last_error.unwrap_or_default().contains(TOKEN));
    }
    assert!(!logs.text().contains(TOKEN), "{}", logs.text());
    // (It was sent: the API saw it.)
    assert!(fake.requests().iter().any(|r| r.authorized));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_without_platform_backups_is_told_so_once_and_pitr_is_fine() {
    let (fake, clock, env, rx) = supabase_project().await;
    let engine = &env.engine;
    // PITR on: no daily backups, and that is fine.
    fake.serve_database_backups(true, true, &[]);
    engine.notify_check().await.unwrap();
    assert!(platform_events(&rx).is_empty());
    // The free plan: nothing at all; said once, with the note.
    fake.serve_database_backups(false, false, &[]);
    for _ in 0..3 {
        clock.advance(time::Duration::hours(6));
        engine.notify_check().await.unwrap();
    }
    let events = platform_events(&rx);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].details["newest_completed_backup"].is_null());
    assert!(
        events[0].details["note"]
            .as_str()
            .unwrap()
            .contains("no platform backups at all"),
        "{events:?}"
    );
}
