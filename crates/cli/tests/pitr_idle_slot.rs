//! Issue 63 item 5, through the `offsite` binary on a real cluster: Offsite's slot is watched
//! whether or not a capture runs. With no `pitr run` (stopped, never started), the WAL the server
//! keeps for the slot grows with every write; each reading of the status measures it: past half
//! its limit the project is At risk, the size said in words with the fix; past the limit the
//! status drops the slot at once, the alert goes out, and the capture is said to have ended
//! until it is turned off.
// Unix only: a throwaway cluster (docs/development.md lists what runs on Windows).
#![cfg(unix)]

mod common;

use common::hook::Hook;
use common::pg::{ok, ok_json, run, run_env};
use common::pitr::{assert_ended_for_the_disk, project_with, sql};
use offsite_testkit::TestCluster;
use std::path::Path;
use std::process::Output;

const MIB: i64 = 1 << 20;

/// The WAL the server keeps for the slots (the largest), `-1` without one.
fn retained(pg: &TestCluster) -> i64 {
    pg.psql(
        "postgres",
        "SELECT coalesce(max((pg_current_wal_lsn() - restart_lsn)::bigint), -1) \
         FROM pg_replication_slots",
    )
    .trim()
    .parse()
    .unwrap()
}

/// Writes (about 4 MB of WAL each) until the slot holds at least `at_least`; what it holds.
fn grow_to(pg: &TestCluster, db: &str, at_least: i64) -> i64 {
    for _ in 0..100 {
        let held = retained(pg);
        if held >= at_least {
            return held;
        }
        sql(
            pg,
            db,
            "INSERT INTO public.big (pad) SELECT repeat(md5(g::text), 12) \
             FROM generate_series(1, 8000) g",
        );
    }
    panic!("the slot holds {} bytes after 100 writes", retained(pg));
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `offsite --json status shop`: the project's health.
fn health(d: &Path, pg: &TestCluster, env: &[(&str, &str)]) -> serde_json::Value {
    let s = ok_json(run_env(d, pg, env, &["--json", "status", "shop"]), "status");
    s["projects"][0]["health"].clone()
}

#[test]
fn an_idle_slot_is_watched_by_the_status_and_dropped_past_its_limit() {
    let db = "pitr_idle";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.big (id bigserial PRIMARY KEY, pad text);",
    );
    let d = data.path();
    let hook = Hook::added(d, &pg);
    let env = hook.env();
    let alerts = || hook.events("pitr_slot_dropped");
    ok(
        run_env(
            d,
            &pg,
            &env,
            &["pitr", "enable", "shop", "--max-retained", "48MB"],
        ),
        "pitr enable",
    );
    // No capture runs. Below half the limit: the slot is no problem of the project.
    let h = health(d, &pg, &env);
    assert!(!h["problems"].to_string().contains("slot_filling"), "{h}");

    // Past half of it (24 MB), under the limit: At risk, first, the size in words.
    let held = grow_to(&pg, db, 26 * MIB);
    assert!(held < 44 * MIB, "the writes overshot: {held}");
    let h = health(d, &pg, &env);
    assert_eq!(h["health"], "at_risk", "{h}");
    let first = &h["problems"][0];
    assert_eq!(first["kind"], "slot_filling", "{h}");
    assert_eq!(first["fix"], "capture_now", "{h}");
    let reason = first["reason"].as_str().unwrap();
    assert!(
        reason.contains("MB held on the server for point-in-time capture, limit 48.0 MB")
            && reason.contains("Start the capture, or turn it off")
            && !reason.contains("bytes"),
        "{reason}"
    );
    assert_eq!(h["reason"], first["reason"], "{h}");
    assert!(retained(&pg) > 0, "the slot is still there");
    let said = run(d, &pg, &["status", "shop"]);
    let said = text(&said);
    assert!(
        said.contains(
            "fix: Capture now (offsite pitr run shop, or turn it off: offsite pitr disable shop)"
        ),
        "{said}"
    );
    let said = text(&ok(run(d, &pg, &["pitr", "status", "shop"]), "pitr status"));
    assert!(
        said.contains("MB held on the server, limit 48.0 MB (no capture is reading it")
            && !said.contains("bytes"),
        "{said}"
    );
    assert!(alerts().is_empty());

    // Past the limit: the status itself drops the slot (no capture process), alerts once, and
    // says the capture ended.
    grow_to(&pg, db, 52 * MIB);
    let h = health(d, &pg, &env);
    assert_eq!(retained(&pg), -1, "the slot was not dropped");
    assert_eq!(h["health"], "at_risk", "{h}");
    let first = &h["problems"][0];
    assert_eq!(first["kind"], "capture_ended", "{h}");
    assert_eq!(first["fix"], "restart_capture", "{h}");
    let reason = first["reason"].as_str().unwrap();
    assert!(
        reason.contains("point-in-time capture ended: its slot held")
            && reason.contains("MB of WAL on the server, over the limit of 48.0 MB")
            && reason.contains("dropped to protect the server's disk"),
        "{reason}"
    );
    let got = alerts();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["project"]["name"], "shop", "{}", got[0]);
    assert!(
        got[0]["summary"]
            .as_str()
            .unwrap()
            .contains("over the limit of 48.0 MB"),
        "{}",
        got[0]
    );
    // Said again at the next reading (and by `pitr status`), with no second alert.
    let h = health(d, &pg, &env);
    assert_eq!(h["problems"][0]["kind"], "capture_ended", "{h}");
    assert_ended_for_the_disk(d, &pg);
    assert_eq!(alerts().len(), 1);

    // Turned off: no longer said.
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
    let h = health(d, &pg, &env);
    assert!(!h["problems"].to_string().contains("capture_ended"), "{h}");
}
