//! The command line of issue 26's report slice: validation queries (`offsite check`), and the
//! drill report's signature (`offsite drill public-key`, `offsite drill verify-report`).
//! No keychain needed: the secret store is the process's memory (`OFFSITE_SECRET_STORE=memory`)
//! or the environment, as a headless run uses it.

mod common;

use common::Cli;
use serde_json::Value;
use std::process::{Command, Output, Stdio};

#[test]
fn check_add_list_remove_and_a_malformed_expectation_is_refused() {
    let cli = Cli::with_store("memory");
    cli.json(
        &[
            "project",
            "add",
            "shop",
            "--db",
            "postgres://postgres@127.0.0.1:1/shop",
            "--no-test",
        ],
        0,
    );
    let bad = cli.json(
        &[
            "check",
            "add",
            "shop",
            "--sql",
            "select count(*) from auth.users",
            "--expect",
            "at least 1000",
        ],
        2,
    );
    assert_eq!(bad["error"]["code"], "invalid_input", "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be read"),
        "{bad}"
    );
    let two = cli.json(
        &[
            "check",
            "add",
            "shop",
            "--sql",
            "select 1; delete from users",
            "--expect",
            "= 1",
        ],
        2,
    );
    assert!(
        two["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than one statement"),
        "{two}"
    );
    let listed = cli.json(&["check", "list", "shop"], 0);
    assert_eq!(listed["checks"], serde_json::json!([]), "nothing was saved");

    let added = cli.json(
        &[
            "check",
            "add",
            "shop",
            "--sql",
            "select count(*) from auth.users",
            "--expect",
            ">=1000",
            "--title",
            "users",
        ],
        0,
    );
    let id = added["check"]["id"].as_str().unwrap().to_string();
    assert_eq!(added["check"]["expect"], ">= 1000");
    let listed = cli.json(&["check", "list", "shop"], 0);
    assert_eq!(listed["checks"][0]["id"], id.as_str());
    assert_eq!(listed["checks"][0]["title"], "users");
    let text = cli.run(&["check", "list", "shop"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(&id) && text.contains(">= 1000"), "{text}");
    let removed = cli.json(&["check", "remove", "shop", &id[..8]], 0);
    assert_eq!(removed["removed"]["id"], id.as_str());
    let listed = cli.json(&["check", "list", "shop"], 0);
    assert_eq!(listed["checks"], serde_json::json!([]));
    let gone = cli.json(&["check", "remove", "shop", &id], 2);
    assert_eq!(gone["error"]["code"], "not_found", "{gone}");
}

mod signed_report {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use offsite_core::drill::sign::{SigningKey, PAYLOAD_TYPE};
    use offsite_core::drill::{
        CheckStatus, DrillCheck, DrillReport, DrillTargetInfo, RanBy, Verdict,
    };
    use std::path::{Path, PathBuf};

    pub const KEY_ENV: &str = "OFFSITE_PASSWORD_DRILL_REPORT_SIGNING_KEY";

    pub fn report() -> DrillReport {
        DrillReport {
            format: offsite_core::drill::REPORT_FORMAT,
            drill_id: "0b7c9e4e-6a51-4c1e-9a43-5f0d2f6b8a10".into(),
            project: "shop".into(),
            backup_id: "3f2a9c1e".into(),
            archive_name: "shop.tar.gz".into(),
            archive_sha256: "ab".repeat(32),
            backup_created_at: "2026-11-20T02:30:00.000Z".into(),
            started_at: "2026-11-21T04:00:00.000Z".into(),
            finished_at: "2026-11-21T04:03:00.000Z".into(),
            source_server_version: Some("15.18".into()),
            target: DrillTargetInfo {
                kind: "throwaway".into(),
                server_version: "PostgreSQL 15.18".into(),
                location: "private socket".into(),
            },
            checks: vec![DrillCheck {
                id: "restore".into(),
                title: "Restore".into(),
                status: CheckStatus::Passed,
                expected: None,
                actual: None,
                detail: None,
            }],
            verdict: Verdict::Passed,
            rto_seconds: 180.0,
            archive_bytes: 1234,
            restored_database_bytes: None,
            rpo_hours: Some(3.5),
            ran_by: RanBy {
                hostname: "laptop".into(),
                os: "linux x86_64".into(),
                offsite_version: "offsite 0.1.0".into(),
                pg_restore: None,
            },
        }
    }

    /// A CLI whose signing key comes from the environment (as a headless run's does), made by
    /// openssl as docs/drills.md says.
    pub struct Signer {
        pub cli: Cli,
        pub pkcs8_b64: String,
        pub dir: tempfile::TempDir,
    }

    impl Signer {
        pub fn new() -> Signer {
            let out = Command::new("openssl")
                .args(["genpkey", "-algorithm", "ed25519", "-outform", "DER"])
                .output()
                .expect("openssl (docs/drills.md makes a headless key with it)");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Signer {
                cli: Cli::with_store("memory"),
                pkcs8_b64: STANDARD.encode(&out.stdout),
                dir: tempfile::tempdir().unwrap(),
            }
        }

        pub fn run(&self, args: &[&str]) -> Output {
            let mut full = vec!["--json"];
            full.extend_from_slice(args);
            self.cli
                .cmd(&full)
                .env("OFFSITE_SECRET_STORE", "env")
                .env(KEY_ENV, &self.pkcs8_b64)
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }

        pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let p = self.dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        }
    }

    pub fn sign_with(pkcs8_b64: &str, payload: &[u8]) -> Vec<u8> {
        // The same key through the core's loader (a store holding the env's value).
        let store = offsite_core::secrets::MemoryStore::default();
        use offsite_core::secrets::SecretStore;
        store
            .set(offsite_core::drill::sign::SIGNING_KEY, pkcs8_b64)
            .unwrap();
        SigningKey::load_or_create(&store)
            .unwrap()
            .sign(payload)
            .to_json()
    }

    fn code_and_error(out: &Output) -> (Option<i32>, String) {
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (
            out.status.code(),
            v["error"]["message"].as_str().unwrap_or("").to_string(),
        )
    }

    /// The documented snippet of `lang` from docs/drills.md.
    fn snippet(lang: &str) -> String {
        let page = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/drills.md"),
        )
        .unwrap();
        let start = page
            .find(&format!("```{lang}\n"))
            .unwrap_or_else(|| panic!("docs/drills.md has no {lang} block"))
            + lang.len()
            + 4;
        let len = page[start..].find("```").unwrap();
        page[start..start + len].to_string()
    }

    #[test]
    fn a_signed_report_verifies_and_an_edited_or_foreign_one_does_not() {
        let s = Signer::new();
        let payload = serde_json::to_vec_pretty(&report()).unwrap();
        let good = s.file("good.signed.json", &sign_with(&s.pkcs8_b64, &payload));

        // This machine's key (the environment's): valid.
        let out = s.run(&["drill", "verify-report", good.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["valid"], true);
        assert_eq!(v["report"]["backup_id"], "3f2a9c1e");

        // The exported public key, as a file: valid too.
        let pk = s.run(&["drill", "public-key"]);
        assert_eq!(
            pk.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&pk.stderr)
        );
        let pk: Value = serde_json::from_slice(&pk.stdout).unwrap();
        let pem = s.file("key.pem", pk["public_key"].as_str().unwrap().as_bytes());
        assert_eq!(v["key_id"], pk["key_id"]);
        let out = s.run(&[
            "drill",
            "verify-report",
            good.to_str().unwrap(),
            "--public-key",
            pem.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0));

        // One byte of the report edited (the verdict's first letter), the signature kept.
        let mut env: Value = serde_json::from_slice(&std::fs::read(&good).unwrap()).unwrap();
        let mut edited = payload.clone();
        let at = edited.windows(8).position(|w| w == b"\"passed\"").unwrap();
        edited[at + 1] = b'P';
        env["payload"] = Value::from(STANDARD.encode(&edited));
        let edited_file = s.file("edited.signed.json", &serde_json::to_vec(&env).unwrap());
        let out = s.run(&["drill", "verify-report", edited_file.to_str().unwrap()]);
        let (code, msg) = code_and_error(&out);
        assert_eq!(code, Some(4), "{msg}");
        assert!(msg.contains("changed after it was signed"), "{msg}");
        // One byte of the file itself edited (a character of the base64 payload).
        let mut raw = std::fs::read(&good).unwrap();
        let text = String::from_utf8(raw.clone()).unwrap();
        let p = text.find("\"payload\": \"").unwrap() + 20;
        raw[p] = if raw[p] == b'A' { b'B' } else { b'A' };
        let flipped = s.file("flipped.signed.json", &raw);
        let (code, _) =
            code_and_error(&s.run(&["drill", "verify-report", flipped.to_str().unwrap()]));
        assert_eq!(code, Some(4));

        // Signed by another key: refused, naming the other key.
        let other = Signer::new();
        let foreign = s.file(
            "foreign.signed.json",
            &sign_with(&other.pkcs8_b64, &payload),
        );
        let out = s.run(&["drill", "verify-report", foreign.to_str().unwrap()]);
        let (code, msg) = code_and_error(&out);
        assert_eq!(code, Some(4), "{msg}");
        assert!(msg.contains("signed by another key"), "{msg}");

        // The documented Python and Node snippets agree: valid, edited, foreign.
        let py = s.file("verify.py", snippet("python").as_bytes());
        let js = s.file("verify.js", snippet("js").as_bytes());
        for (prog, script) in [("python3", &py), ("node", &js)] {
            let run = |f: &Path| {
                Command::new(prog)
                    .arg(script)
                    .arg(f)
                    .arg(&pem)
                    .output()
                    .unwrap_or_else(|e| {
                        panic!("{prog} is needed for this test (.ci/setup.sh installs it): {e}")
                    })
            };
            let ok = run(&good);
            assert!(
                ok.status.success(),
                "{prog}: {}",
                String::from_utf8_lossy(&ok.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&ok.stdout).trim(),
                "valid: shop 3f2a9c1e passed",
                "{prog}"
            );
            for bad in [&edited_file, &flipped, &foreign] {
                assert!(
                    !run(bad).status.success(),
                    "{prog} accepted {}",
                    bad.display()
                );
            }
        }
        let _ = PAYLOAD_TYPE;
    }

    /// `offsite drill` prints the report's path (`<id>.json`); its envelope is beside it
    /// (`<id>.signed.json`). verify-report takes what drill printed, and a report edited after
    /// the drill does not pass on its untouched envelope.
    #[test]
    fn verify_report_takes_the_path_drill_prints() {
        let s = Signer::new();
        let payload = serde_json::to_vec_pretty(&report()).unwrap();
        let id = "0b7c9e4e-6a51-4c1e-9a43-5f0d2f6b8a10";
        let printed = s.file(&format!("{id}.json"), &payload);
        s.file(
            &format!("{id}.signed.json"),
            &sign_with(&s.pkcs8_b64, &payload),
        );
        let out = s.run(&["drill", "verify-report", printed.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["valid"], true);
        assert_eq!(v["report"]["drill_id"], id);

        // The printed report edited (passed → failed), its envelope untouched: refused.
        let text = String::from_utf8(payload.clone()).unwrap();
        std::fs::write(&printed, text.replace("\"passed\"", "\"failed\"")).unwrap();
        let out = s.run(&["drill", "verify-report", printed.to_str().unwrap()]);
        let (code, msg) = code_and_error(&out);
        assert_eq!(code, Some(4), "{msg}");
        assert!(msg.contains("changed after the drill"), "{msg}");

        // A report without its envelope: not a signed report, said as before.
        let alone = s.file("alone.json", &payload);
        let (code, msg) =
            code_and_error(&s.run(&["drill", "verify-report", alone.to_str().unwrap()]));
        assert_eq!(code, Some(4), "{msg}");
        assert!(msg.contains("not a signed Offsite drill report"), "{msg}");
    }

    #[test]
    fn without_a_key_verify_report_says_which_key_to_give() {
        let cli = Cli::with_store("memory");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r.signed.json");
        std::fs::write(&f, b"{}").unwrap();
        let v = cli.json(&["drill", "verify-report", f.to_str().unwrap()], 2);
        assert!(
            v["error"]["hint"]
                .as_str()
                .unwrap()
                .contains("--public-key"),
            "{v}"
        );
        // Not an envelope at all.
        let key = Signer::new();
        let pk = key.run(&["drill", "public-key"]);
        let pk: Value = serde_json::from_slice(&pk.stdout).unwrap();
        let pem = dir.path().join("k.pem");
        std::fs::write(&pem, pk["public_key"].as_str().unwrap()).unwrap();
        let v = cli.json(
            &[
                "drill",
                "verify-report",
                f.to_str().unwrap(),
                "--public-key",
                pem.to_str().unwrap(),
            ],
            4,
        );
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not a signed Offsite drill report"),
            "{v}"
        );
    }
}

#[test]
fn schedule_set_drill_is_monthly_by_default_and_takes_the_other_forms() {
    let cli = Cli::with_store("memory");
    cli.json(
        &[
            "project",
            "add",
            "shop",
            "--db",
            "postgres://postgres@127.0.0.1:1/shop",
            "--no-test",
        ],
        0,
    );
    let set = cli.json(&["schedule", "set", "shop", "--drill", "--tz", "UTC"], 0);
    assert_eq!(set["schedule"]["kind"], "drill", "{set}");
    assert_eq!(set["schedule"]["spec"], "monthly 1 04:00", "{set}");
    let set = cli.json(
        &[
            "schedule", "set", "shop", "--drill", "--weekly", "sun", "03:00", "--tz", "UTC",
        ],
        0,
    );
    assert_eq!(set["schedule"]["spec"], "weekly sun 03:00", "{set}");
    cli.json(
        &["schedule", "set", "shop", "--daily", "02:30", "--tz", "UTC"],
        0,
    );
    let shown = cli.json(&["schedule", "show", "shop"], 0);
    let kinds: Vec<&str> = shown["schedules"]
        .as_array()
        .unwrap_or_else(|| panic!("{shown}"))
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["backup", "drill"], "both kept: {shown}");
    // A drill schedule is not a verify schedule; without --drill a time is still required.
    assert_eq!(
        cli.run(&["schedule", "set", "shop", "--drill", "--verify"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(cli.run(&["schedule", "set", "shop"]).status.code(), Some(2));
    cli.json(&["schedule", "pause", "shop", "--drill"], 0);
    let shown = cli.json(&["schedule", "show", "shop"], 0);
    let drill = shown["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "drill")
        .unwrap()
        .clone();
    assert_eq!(drill["paused"], true);
    let cleared = cli.json(&["schedule", "clear", "shop", "--drill"], 0);
    assert_eq!(cleared["cleared"], true);
    let shown = cli.json(&["schedule", "show", "shop"], 0);
    assert_eq!(
        shown["schedules"].as_array().unwrap().len(),
        1,
        "the backup schedule stays"
    );
}
