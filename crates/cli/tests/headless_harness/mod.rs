//! What the headless tests share: the `offsite` binary run with no D-Bus session, no keychain
//! and empty HOME/XDG folders (`headless.rs`, `headless_words.rs`).
#![allow(dead_code)]

use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// How the child sees (the lack of) a session bus.
#[derive(Debug, Clone, Copy)]
pub enum Bus {
    /// `DBUS_SESSION_BUS_ADDRESS` unset (and nothing for autolaunch to find).
    Unset,
    /// `DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent`.
    Nowhere,
}

pub struct Headless {
    pub data: tempfile::TempDir,
    pub home: tempfile::TempDir,
}

impl Headless {
    pub fn new() -> Headless {
        let home = tempfile::tempdir().unwrap();
        for d in ["run", "data", "config", "cache"] {
            std::fs::create_dir(home.path().join(d)).unwrap();
        }
        Headless {
            data: tempfile::tempdir().unwrap(),
            home,
        }
    }

    pub fn cmd(&self, bus: Bus, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_offsite"));
        c.arg("--json")
            .arg("--data-dir")
            .arg(self.data.path())
            .args(args);
        for var in [
            "OFFSITE_SECRET_STORE",
            "OFFSITE_PG_BIN",
            "PGPASSWORD",
            "PGPASSFILE",
            "PGSERVICE",
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "DBUS_SESSION_BUS_ADDRESS",
            "GNOME_KEYRING_CONTROL",
        ] {
            c.env_remove(var);
        }
        let home = self.home.path();
        c.env("HOME", home)
            .env("XDG_RUNTIME_DIR", home.join("run"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"));
        if let Bus::Nowhere = bus {
            c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
        }
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, bus: Bus, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = self.cmd(bus, args);
        c.envs(env.iter().copied());
        c.output().unwrap()
    }

    /// Runs, asserts the exit code, returns the one JSON document on stdout.
    pub fn json(&self, bus: Bus, args: &[&str], env: &[(&str, &str)], code: i32) -> Value {
        let out = self.run(bus, args, env);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{bus:?} {args:?}: stdout={stdout} stderr={}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not one JSON document ({e}): {stdout}"))
    }

    pub fn project_count(&self) -> usize {
        let list = self.json(Bus::Unset, &["project", "list"], &[], 0);
        list["projects"].as_array().unwrap().len()
    }
}

pub fn url_as(pg: &TestCluster, user: &str, password: Option<&str>, db: &str) -> String {
    let pw = password
        .map(|p| format!(":{}", offsite_testkit::percent_encode(p)))
        .unwrap_or_default();
    format!("postgres://{user}{pw}@{}:{}/{db}", pg.host(), pg.port())
}

pub fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

pub fn backed_up_file(b: &Value) -> PathBuf {
    let path = PathBuf::from(s(&b["path"]));
    assert!(path.is_file(), "{b}");
    assert_eq!(
        b["size"].as_u64().unwrap(),
        std::fs::metadata(&path).unwrap().len()
    );
    path
}

impl Headless {
    /// Runs with `input` on standard input.
    pub fn run_with_stdin(
        &self,
        bus: Bus,
        args: &[&str],
        env: &[(&str, &str)],
        input: &str,
    ) -> Output {
        use std::io::Write;
        let mut c = self.cmd(bus, args);
        c.envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

/// A password that is missing (not wrong) is said as missing, naming where it is given.
pub fn assert_no_password_given(err: &Value, var: &str) {
    assert_eq!(s(&err["code"]), "auth", "{err}");
    let message = s(&err["message"]);
    assert!(message.contains("No password given"), "{err}");
    assert!(!message.contains("refused the password"), "{err}");
    assert!(
        message.contains(var) || s(&err["hint"]).contains(var),
        "must name {var}: {err}"
    );
}
