//! The `offsite` binary as the CLI tests run it (shared by the test files: `mod common;`):
//! a fresh data directory, libpq's variables cleared (they are defaults of `project add`: a
//! test sets them itself), the secret store the file chose, stdin closed unless a test pipes it.

// Each test binary uses its own part of the runner.
#![allow(dead_code)]

pub mod hook;
pub mod pg;
pub mod pitr;
pub mod tree;

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Cleared for every run: a test that needs one sets it itself.
const CLEARED: [&str; 6] = [
    "PGPASSWORD",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "OFFSITE_PG_BIN",
];

pub struct Cli {
    pub data: tempfile::TempDir,
    /// Set on every run, after the clearing (a test may push more).
    pub env: Vec<(String, String)>,
    /// Removed on every run besides [`CLEARED`].
    unset: Vec<&'static str>,
    /// A private HOME (and XDG directories) when given.
    home: Option<tempfile::TempDir>,
}

impl Cli {
    /// Secrets from the environment (`OFFSITE_SECRET_STORE=env`), as headless runs keep them.
    pub fn new() -> Cli {
        Cli::with_store("env")
    }

    /// Secrets in `store` (`OFFSITE_SECRET_STORE`: env, memory).
    pub fn with_store(store: &str) -> Cli {
        Cli {
            data: tempfile::tempdir().unwrap(),
            env: vec![("OFFSITE_SECRET_STORE".into(), store.into())],
            unset: Vec::new(),
            home: None,
        }
    }

    /// Secrets in the real OS keychain: asserts a D-Bus session is there (fails loudly, never
    /// skips) and clears `OFFSITE_SECRET_STORE`.
    pub fn keychain() -> Cli {
        assert!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "these tests use the real OS keychain: run them through .ci/with-keyring or .ci/test (a D-Bus session with gnome-keyring)"
        );
        Cli {
            data: tempfile::tempdir().unwrap(),
            env: Vec::new(),
            unset: vec!["OFFSITE_SECRET_STORE"],
            home: None,
        }
    }

    /// A private HOME, XDG_DATA_HOME, XDG_CONFIG_HOME and XDG_CACHE_HOME for every run.
    pub fn private_home(mut self) -> Cli {
        self.home = Some(tempfile::tempdir().unwrap());
        self
    }

    /// `var` set to `value` on every run.
    pub fn env(mut self, var: &str, value: &str) -> Cli {
        self.env.push((var.into(), value.into()));
        self
    }

    /// `var` removed on every run.
    pub fn unset(mut self, var: &'static str) -> Cli {
        self.unset.push(var);
        self
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_via(None, args)
    }

    /// The command, run through `wrapper` (e.g. faketime) when given.
    pub fn cmd_via(&self, wrapper: Option<&[&str]>, args: &[&str]) -> Command {
        let bin = env!("CARGO_BIN_EXE_offsite");
        let mut c = match wrapper {
            Some(w) => {
                let mut c = Command::new(w[0]);
                c.args(&w[1..]).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        c.arg("--data-dir").arg(self.data.path()).args(args);
        for var in CLEARED.iter().chain(&self.unset) {
            c.env_remove(var);
        }
        if let Some(home) = &self.home {
            let home = home.path();
            c.env("HOME", home)
                .env("XDG_DATA_HOME", home.join("data"))
                .env("XDG_CONFIG_HOME", home.join("config"))
                .env("XDG_CACHE_HOME", home.join("cache"));
        }
        c.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null());
        c
    }

    /// The command with the clock at `now` (`OFFSITE_TEST_NOW`).
    pub fn cmd_at(&self, now: &str, args: &[&str]) -> Command {
        let mut c = self.cmd(args);
        c.env("OFFSITE_TEST_NOW", now);
        c
    }

    pub fn run_at(&self, now: &str, args: &[&str]) -> Output {
        self.cmd_at(now, args).output().unwrap()
    }

    /// [`Cli::json`] with the clock at `now`.
    pub fn json_at(&self, now: &str, args: &[&str], code: i32) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        json_of(&self.run_at(now, &full), code, args)
    }

    /// The command with these variables besides the runner's own.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.cmd(args).envs(env.iter().copied()).output().unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub fn run_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// `--json project add NAME --db URL --password-stdin` with `input` on standard input (as
    /// given: the test picks the line ending); asserts exit 0, returns what the add printed.
    pub fn add_project_stdin(&self, name: &str, url: &str, input: &str) -> Value {
        let args = [
            "--json",
            "project",
            "add",
            name,
            "--db",
            url,
            "--password-stdin",
        ];
        json_of(&self.run_stdin(&args, input), 0, &args)
    }

    /// Runs with --json, asserts the exit code, returns the one JSON document on stdout.
    pub fn json(&self, args: &[&str], code: i32) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        json_of(&self.run(&full), code, args)
    }
}

/// Asserts the exit code of what ran (`what` names it), returns the one JSON document on stdout.
pub fn json_of(out: &Output, code: i32, what: &[&str]) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what:?}: stdout={stdout} stderr={}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{what:?}: stdout is not one JSON document ({e}): {stdout}"))
}

/// Ctrl-C to `child` (SIGINT, as a terminal sends it).
pub fn sigint(child: &std::process::Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT {}", child.id());
}
