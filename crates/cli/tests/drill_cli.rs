//! The command line of issue 26's report slice: validation queries (`offsite check`), and the
//! drill report's signature (`offsite drill public-key`, `offsite drill verify-report`).
//! No keychain needed: the secret store is the process's memory (`OFFSITE_SECRET_STORE=memory`)
//! or the environment, as a headless run uses it.

use serde_json::Value;
use std::process::{Command, Output, Stdio};

struct Cli {
    data: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            data: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_offsite"));
        c.arg("--data-dir").arg(self.data.path()).args(args);
        for var in [
            "PGPASSWORD",
            "PGHOST",
            "PGPORT",
            "PGUSER",
            "PGDATABASE",
            "OFFSITE_PG_BIN",
        ] {
            c.env_remove(var);
        }
        c.env("OFFSITE_SECRET_STORE", "memory");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Runs with --json, asserts the exit code, returns the one JSON document on stdout.
    fn json(&self, args: &[&str], code: i32) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.run(&full);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: stdout={stdout} stderr={}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}): {stdout}"))
    }
}

#[test]
fn check_add_list_remove_and_a_malformed_expectation_is_refused() {
    let cli = Cli::new();
    cli.json(
        &[
            "project",
            "add",
            "shop",
            "--db",
            "postgres://postgres@127.0.0.1:1/shop",
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
