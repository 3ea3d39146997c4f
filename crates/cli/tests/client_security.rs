//! The client side of issue 22's smaller items, through the real `offsite` binary: a plain
//! `http://` backup server on another machine is refused before its token is sent (unless
//! `--insecure-http`), and every flag that takes a database URL says that a password in it is
//! visible in `ps`, pointing to `--password-stdin`. No keychain: `OFFSITE_SECRET_STORE=env`.

mod common;

use common::Cli;
use serde_json::Value;

/// No keychain (no D-Bus session, a private HOME) and no server token from the environment.
fn security_cli() -> Cli {
    Cli::new()
        .private_home()
        .unset("OFFSITE_SERVER_TOKEN")
        .unset("DBUS_SESSION_BUS_ADDRESS")
}

/// `--json ARGS` with `env`: asserts the exit code; the one JSON document on stdout, and stderr.
fn json(cli: &Cli, args: &[&str], env: &[(&str, &str)], code: i32) -> (Value, String) {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = cli.run_env(&full, env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: stdout={stdout} stderr={stderr}"
    );
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}): {stdout}"));
    (v, stderr)
}

const TOKEN: &str = "offsite_tok_must-not-cross-the-network-0123456789";

#[test]
fn a_plain_http_server_on_another_machine_is_refused_before_its_token_is_sent() {
    let cli = security_cli();
    // `.invalid` names never resolve (RFC 6761): even a client that did not refuse would send
    // nothing anywhere (it would fail on the connection instead, with another code). IP
    // literals are covered by the unit tests of `check_plain_http`, which send nothing either.
    for server in [
        "http://backup.invalid:8443",
        "HTTP://Backup.Example.invalid/",
    ] {
        let (e, stderr) = json(
            &cli,
            &[
                "project",
                "add",
                "shop",
                "--db",
                "postgres://app@127.0.0.1:1/shop",
                "--server",
                server,
                "--server-project",
                "shop",
            ],
            &[("OFFSITE_SERVER_TOKEN", TOKEN)],
            5,
        );
        assert_eq!(e["error"]["code"], "needs_consent", "{server}: {e}");
        let msg = e["error"]["message"].as_str().unwrap();
        assert!(msg.contains("plain HTTP"), "{msg}");
        let hint = e["error"]["hint"].as_str().unwrap();
        assert!(
            hint.contains("--insecure-http") && hint.contains("https://"),
            "{hint}"
        );
        assert!(!e.to_string().contains(TOKEN) && !stderr.contains(TOKEN));
        // Nothing registered: the project it was added with is gone again.
        let (list, _) = json(&cli, &["project", "list"], &[], 0);
        assert_eq!(list["projects"], serde_json::json!([]), "{server}: {list}");
    }
}

#[test]
fn every_flag_that_takes_a_database_url_warns_about_ps_and_points_to_password_stdin() {
    let cli = security_cli();
    for (args, flag) in [
        (&["project", "add", "--help"][..], "--db"),
        (&["import", "--help"][..], "--db"),
        (&["restore", "--help"][..], "--to"),
    ] {
        let out = cli.run_env(args, &[]);
        assert!(out.status.success(), "{args:?}");
        let help = String::from_utf8_lossy(&out.stdout);
        // The paragraph of the flag (up to the next flag).
        let at = help
            .find(&format!("      {flag} <URL"))
            .unwrap_or_else(|| panic!("{args:?}: no {flag} in {help}"));
        let rest = &help[at + flag.len() + 6..];
        let para = &rest[..rest.find("\n      -").unwrap_or(rest.len())];
        let flat = para.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("visible to every local user in `ps`")
                && flat.contains("--password-stdin"),
            "{args:?} {flag}: {flat}"
        );
    }
    // And one given anyway is named (never printed) when it is used.
    let out = cli.run_env(
        &[
            "restore",
            "/nonexistent/archive.tar.gz",
            "--to",
            "postgres://app:Hunter2-secret@127.0.0.1:1/shop",
            "--dry-run",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("password in --to was visible to other local users")
            && stderr.contains("--password-stdin"),
        "{stderr}"
    );
    assert!(!stderr.contains("Hunter2-secret"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Hunter2-secret"));
}
