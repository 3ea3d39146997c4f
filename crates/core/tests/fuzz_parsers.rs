//! Property-based fuzzing (proptest, `offsite_testkit::fuzz`) of four readers of text that comes
//! from users, files and servers: the libpq URL parser, the Supabase Management API's JSON (and
//! what the config backup does with it), the cron/schedule specs and the retention specs.
//! Each: never panics, whatever it accepts round-trips through its canonical form, and the work
//! it does afterwards (next run, retention decisions) ends. `OFFSITE_FUZZ_CASES=N` runs longer.

use offsite_core::catalog::BackupStatus;
use offsite_core::config::{diff, redact, ConfigSnapshot};
use offsite_core::postgres::conn::ConnSpec;
use offsite_core::schedule::retention::decide;
use offsite_core::schedule::{next_after, Candidate, RetentionPolicy, ScheduleSpec, Within, Zone};
use offsite_core::sources::supabase_api::{decode_json, MAX_ANSWER_BYTES};
use offsite_testkit::fuzz;
use proptest::prelude::*;
use serde_json::Value;
use time::OffsetDateTime;

// ---- libpq URLs ----

/// A password no URL part can produce by accident (so finding it anywhere is a leak).
const PW_MARK: &str = "Zq9";

fn url_part() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9._-]{0,12}",
        "[ -~]{0,12}",
        Just(String::new()),
        Just("%2Fvar%2Frun%2Fpostgresql".to_string()),
        Just("[::1]".to_string()),
        Just("%".to_string()),
        Just("%zz".to_string()),
        Just("é中".to_string()),
    ]
}

fn url_query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("host"),
        Just("port"),
        Just("dbname"),
        Just("user"),
        Just("sslmode"),
        Just("sslrootcert"),
        Just("password"),
        Just("options"),
        Just("application_name"),
        Just(""),
    ];
    let value = prop_oneof![
        url_part(),
        Just("/tmp".to_string()),
        Just("verify-full".to_string()),
        Just("/etc/ssl/ca.pem".to_string()),
        Just("require".to_string()),
        Just("65536".to_string()),
    ];
    prop::collection::vec((key, value), 0..4).prop_map(|kv| {
        if kv.is_empty() {
            String::new()
        } else {
            let q: Vec<String> = kv.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("?{}", q.join("&"))
        }
    })
}

fn libpq_url() -> impl Strategy<Value = (String, Option<String>)> {
    let scheme = prop_oneof![
        Just("postgres://"),
        Just("postgresql://"),
        Just("POSTGRES://"),
        Just("mysql://"),
        Just(""),
    ];
    let password =
        prop::option::of("[A-Za-z0-9!*@:/%]{0,10}".prop_map(|s| format!("{PW_MARK}{s}")));
    let port = prop_oneof![
        Just(String::new()),
        Just(":5432".into()),
        ":[0-9]{0,6}",
        ":[a-z]{1,3}"
    ];
    (
        scheme,
        url_part(),
        password,
        url_part(),
        port,
        url_part(),
        url_query(),
    )
        .prop_map(|(scheme, user, pw, host, port, db, query)| {
            let auth = match (&pw, user.is_empty()) {
                (Some(p), _) => format!("{user}:{p}@"),
                (None, false) => format!("{user}@"),
                (None, true) => String::new(),
            };
            (format!("{scheme}{auth}{host}{port}/{db}{query}"), pw)
        })
}

fn check_libpq_url(input: &str, password: Option<&str>) {
    let leaks = |text: &str| password.is_some_and(|p| p.len() > PW_MARK.len() && text.contains(p));
    match ConnSpec::parse_url(input) {
        Ok((spec, _pw)) => {
            // The password is not part of the spec: the canonical URL carries none (checked
            // below by parsing it back), and the spec holds only user, host, port, database,
            // TLS mode and CA file (text that merely looks like a password there — after a `/`
            // it is the database name — is the user's data).
            let canonical = spec.to_url();
            let (again, pw2) = ConnSpec::parse_url(&canonical)
                .unwrap_or_else(|e| panic!("{input:?}: canonical {canonical:?} refused: {e}"));
            assert_eq!(again, spec, "{input:?} → {canonical:?}");
            assert_eq!(pw2, None, "{canonical:?} carries a password");
            assert_eq!(again.to_url(), canonical, "not idempotent: {input:?}");
        }
        Err(e) => {
            let shown = format!("{} {:?} {e}", e.message(), e.hint());
            assert!(
                !leaks(&shown),
                "{input:?}: the error shows the password: {shown}"
            );
        }
    }
}

proptest! {
    #![proptest_config(fuzz::config())]

    #[test]
    fn fuzz_libpq_url((input, pw) in libpq_url()) {
        check_libpq_url(&input, pw.as_deref());
    }

    #[test]
    fn fuzz_libpq_url_any_text(input in "\\PC{0,80}") {
        check_libpq_url(&input, None);
    }
}

#[test]
fn libpq_url_regressions() {
    for (input, pw) in [
        ("postgres://u:Zq9secret@h:99999/d", "Zq9secret"),
        ("postgres://u:Zq9secret@[::1/d", "Zq9secret"),
        ("postgres://u:Zq9secret@h/d?sslmode=bogus", "Zq9secret"),
        ("postgres://u:Zq9sec%ZZret@h/d", "Zq9sec%ZZret"),
        ("postgres://u:Zq9secret@h/d?port=abc", "Zq9secret"),
        // Found by fuzz_libpq_url: a `?` in the user ends the address, and the error named the
        // "parameter" `:Zq9A@é中/é中`, password and all.
        ("postgres://?:Zq9A@é中/é中", "Zq9A"),
        ("postgres://a#b:Zq9pass@h/d", "Zq9pass"),
        // Found by fuzz_libpq_url: after the first `/` it is the database name, not a password.
        ("postgres://a/:Zq9*@/", "Zq9*"),
    ] {
        check_libpq_url(input, Some(pw));
    }
}

// ---- the Management API's JSON ----

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Quarters: serde_json (without its float_roundtrip feature) re-reads arbitrary
        // floats only approximately, which is not what this target is about.
        (-1_000_000i64..1_000_000).prop_map(|n| Value::from(n as f64 / 4.0)),
        "\\PC{0,20}".prop_map(Value::from),
        Just(Value::from("[REDACTED]")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            "[a-z_]{1,12}",
            Just("jwt_secret".to_string()),
            Just("smtp_pass".to_string()),
            Just("api_key".to_string()),
            Just("password".to_string()),
            "\\PC{0,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check_config_json(name: &str, bytes: &[u8], other: &[u8]) {
    // Whatever the bytes, decoding is an answer or an error, never a panic.
    if let Ok(mut v) = decode_json("GET /v1/projects/x/config/auth", bytes) {
        let _ = redact::redact(&mut v);
        let _ = redact::contains_redacted(&v);
    }
    let a = ConfigSnapshot::from_files("ref", vec![(name.to_string(), bytes.to_vec())]);
    let b = ConfigSnapshot::from_files("ref", vec![(name.to_string(), other.to_vec())]);
    let _ = diff(&a, &b);
    let _ = diff(&b, &a);
}

proptest! {
    #![proptest_config(fuzz::config())]

    #[test]
    fn fuzz_management_api_json(v in json_value(), w in json_value(), junk in prop::collection::vec(any::<u8>(), 0..256)) {
        let bytes = serde_json::to_vec(&v).unwrap();
        // A document the API could send decodes, and re-encoding it is stable (serde_json
        // does not promise exact round trips of subnormal floats, so compare its own output).
        let back = decode_json("GET /x", &bytes).unwrap();
        let again = decode_json("GET /x", &serde_json::to_vec(&back).unwrap()).unwrap();
        prop_assert_eq!(&again, &back);
        // Redaction never panics and leaves no secret-named string behind.
        let mut r = back.clone();
        redact::redact(&mut r);
        check_config_json("auth.json", &bytes, &serde_json::to_vec(&w).unwrap());
        check_config_json("auth.json", &junk, &bytes);
        check_config_json("network.json", &bytes[..bytes.len() / 2], &junk);
    }
}

#[test]
fn management_api_json_regressions_huge_and_deep_answers_are_refused_not_crashed() {
    // Nested far past serde_json's recursion limit: an error, no stack overflow.
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let e = decode_json("GET /deep", deep.as_bytes()).unwrap_err();
    assert_eq!(e.code(), "integrity");
    let deep_obj = "{\"a\":".repeat(100_000);
    assert!(decode_json("GET /deep", deep_obj.as_bytes()).is_err());
    check_config_json("auth.json", deep.as_bytes(), deep_obj.as_bytes());
    // Past the cap: refused before parsing, naming the cap.
    let huge = vec![b' '; MAX_ANSWER_BYTES + 1];
    let e = decode_json("GET /huge", &huge).unwrap_err();
    assert_eq!(e.code(), "integrity");
    assert!(e.message().contains("larger than"), "{e}");
}

// ---- schedules (cron and the other specs) ----

fn cron_field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        (0u32..70).prop_map(|n| n.to_string()),
        (0u32..40, 0u32..40).prop_map(|(a, b)| format!("{a}-{b}")),
        (0u32..40).prop_map(|n| format!("*/{n}")),
        (0u32..40, 0u32..12).prop_map(|(a, s)| format!("{a}/{s}")),
        prop::collection::vec(0u32..60, 1..4).prop_map(|v| v
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")),
        prop_oneof![
            Just("mon-fri"),
            Just("sun"),
            Just("jan"),
            Just("L"),
            Just("?"),
            Just("W"),
            Just("#"),
            Just("5#3")
        ]
        .prop_map(String::from),
        "[ -~]{0,4}",
    ]
}

fn schedule_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(cron_field(), 0..7).prop_map(|f| format!("cron {}", f.join(" "))),
        "[0-9]{0,3}h?".prop_map(|n| format!("every {n}")),
        ("[0-9]{1,2}", "[0-9]{1,2}").prop_map(|(h, m)| format!("daily {h}:{m}")),
        ("[a-z,]{0,12}", "[0-9:]{0,5}").prop_map(|(d, t)| format!("weekly {d} {t}")),
        ("[0-9]{0,3}", "[0-9:]{0,5}").prop_map(|(d, t)| format!("monthly {d} {t}")),
        "\\PC{0,40}",
    ]
}

fn instant() -> impl Strategy<Value = OffsetDateTime> {
    // 1990 to 2090, to the second.
    (631_152_000i64..3_786_912_000).prop_map(|s| OffsetDateTime::from_unix_timestamp(s).unwrap())
}

fn check_schedule(text: &str, zone: &Zone, after: OffsetDateTime) {
    let Ok(spec) = text.parse::<ScheduleSpec>() else {
        return;
    };
    let canonical = spec.to_string();
    let again: ScheduleSpec = canonical
        .parse()
        .unwrap_or_else(|e| panic!("{text:?}: canonical {canonical:?} refused: {e}"));
    assert_eq!(again.to_string(), canonical, "{text:?}");
    // Terminates (bounded search) and moves forward.
    if let Some(next) = next_after(&spec, zone, after) {
        assert!(next > after, "{text:?}: {next} is not after {after}");
    }
}

proptest! {
    #![proptest_config(fuzz::config_with(128))]

    #[test]
    fn fuzz_cron_spec(text in schedule_text(), after in instant(), z in 0usize..3) {
        let zone = [Zone::utc(), Zone::named("Europe/Berlin").unwrap(), Zone::named("Australia/Lord_Howe").unwrap()][z].clone();
        check_schedule(&text, &zone, after);
    }
}

#[test]
fn cron_spec_regressions() {
    let zone = Zone::named("Europe/Berlin").unwrap();
    let at = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
    for text in [
        "cron 0 0 30 2 *",
        "cron 0 0 31 4,6,9,11 *",
        "cron 59 23 29 2 mon",
        "cron */0 * * * *",
        "cron 0 2 * * *",
        "cron 30 2 * 3 sun",
        "every 0h",
        "every 25h",
        "monthly 31 02:30",
        "weekly ,,, 02:30",
        "daily 24:00",
        "daily 99:99",
    ] {
        check_schedule(text, &zone, at);
    }
}

// ---- retention ----

fn within_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(
            (
                "[0-9]{1,11}",
                prop_oneof![
                    Just('y'),
                    Just('m'),
                    Just('w'),
                    Just('d'),
                    Just('h'),
                    Just('x'),
                    Just('M')
                ]
            ),
            1..4
        )
        .prop_map(|v| v
            .into_iter()
            .map(|(n, u)| format!("{n}{u}"))
            .collect::<String>()),
        "\\PC{0,16}",
        " ?[0-9]{0,4}[ymwdh ]{0,3}",
    ]
}

fn policy() -> impl Strategy<Value = (RetentionPolicy, Option<String>)> {
    let count = || prop::option::of(0u32..40);
    (
        count(),
        count(),
        count(),
        count(),
        count(),
        count(),
        prop::option::of(within_text()),
    )
        .prop_map(|(l, h, d, w, m, y, within)| {
            let p = RetentionPolicy {
                keep_last: l,
                keep_hourly: h,
                keep_daily: d,
                keep_weekly: w,
                keep_monthly: m,
                keep_yearly: y,
                keep_within: within.as_deref().and_then(|t| t.parse().ok()),
            };
            (p, within)
        })
}

fn candidates() -> impl Strategy<Value = Vec<Candidate>> {
    let status = prop_oneof![
        Just(BackupStatus::Verified),
        Just(BackupStatus::Unverified),
        Just(BackupStatus::Corrupt),
        Just(BackupStatus::Missing),
    ];
    prop::collection::vec((instant(), status, "[a-f0-9]{1,4}"), 0..40).prop_map(|v| {
        v.into_iter()
            .map(|(created_at, status, id)| Candidate {
                id,
                created_at,
                status,
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(fuzz::config())]

    #[test]
    fn fuzz_retention_spec(text in within_text(), (p, _) in policy(), cands in candidates(), now in instant()) {
        // Within: accepted ⇒ its text round-trips; refused ⇒ an error, never a panic.
        if let Ok(w) = text.parse::<Within>() {
            let canonical = w.to_string();
            let again: Within = canonical.parse().unwrap_or_else(|e| panic!("{text:?} → {canonical:?}: {e}"));
            prop_assert_eq!(again, w);
        }
        // A policy in JSON (as the catalog and the IPC carry it) round-trips.
        let json = serde_json::to_string(&p).unwrap();
        let back: RetentionPolicy = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &p);
        let _ = p.validate();
        let _ = p.describe();
        // Deciding ends, decides every backup once, newest first.
        let zone = Zone::named("America/New_York").unwrap();
        let out = decide(&p, &zone, now, &cands);
        prop_assert_eq!(out.len(), cands.len());
        prop_assert!(out.windows(2).all(|w| w[0].created_at >= w[1].created_at));
        if p.is_empty() {
            prop_assert!(out.iter().all(|d| d.keep));
        }
    }

    #[test]
    fn fuzz_retention_policy_json(text in "\\PC{0,120}") {
        // Whatever arrives as a policy document: a policy or an error.
        if let Ok(p) = serde_json::from_str::<RetentionPolicy>(&text) {
            let _ = p.validate();
        }
    }
}

#[test]
fn retention_spec_regressions() {
    for text in [
        "4294967295y",
        "4294967296h",
        "1y1y1y",
        "0d",
        "1000y",
        "1001y",
        "999999999999d",
        "12000m1y",
        "",
        "h",
        "-1d",
        "1.5d",
    ] {
        if let Ok(w) = text.parse::<Within>() {
            assert_eq!(w.to_string().parse::<Within>().unwrap(), w, "{text}");
        }
    }
    // The largest durations still decide (no overflow going back from 1990).
    let p = RetentionPolicy {
        keep_within: Some("1000y12000m52000w365000d10000000h".parse().unwrap()),
        ..Default::default()
    };
    let now = OffsetDateTime::from_unix_timestamp(631_152_000).unwrap();
    let c = vec![Candidate {
        id: "a".into(),
        created_at: now,
        status: BackupStatus::Verified,
    }];
    assert_eq!(decide(&p, &Zone::utc(), now, &c).len(), 1);
}
