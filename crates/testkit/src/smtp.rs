//! A real SMTP server on 127.0.0.1 for tests: `aiosmtpd` (PyPI), installed by `.ci/setup.sh`
//! into a virtualenv, driven by `scripts/smtp_server.py`.
//!
//! Modes: STARTTLS (offered and required before MAIL and AUTH), TLS from the first byte, or plain
//! text. The certificate is issued for `127.0.0.1` and `localhost` by a throwaway [`TestCa`]
//! ([`SmtpServer::ca_pem`] is what a client must trust). With a user (the default), AUTH PLAIN or
//! LOGIN with [`SmtpServer::username`] / [`SmtpServer::password`] is required; a wrong password
//! gets aiosmtpd's `535 5.7.8 Authentication credentials invalid`. Every message received is
//! recorded as a [`ReceivedMail`] (envelope, headers, decoded parts, raw text, TLS, AUTH).
//!
//! It never skips: when aiosmtpd is missing the test panics and says how to install it.

use crate::ports::free_port;
use crate::tls::TestCa;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where `.ci/setup.sh` installs aiosmtpd.
pub const SMTP_VENV: &str = "/opt/offsite/smtp-venv";

/// The user name the server accepts (unless started without AUTH).
pub const SMTP_USER: &str = "offsite-test";
/// Its password.
pub const SMTP_PASSWORD: &str = "s3cret-smtp-pass-for-tests";

const SCRIPT: &str = include_str!("../scripts/smtp_server.py");

/// The Python that has aiosmtpd: `$OFFSITE_SMTP_PYTHON`, else the setup's virtualenv.
pub fn smtp_python() -> PathBuf {
    if let Some(p) = std::env::var_os("OFFSITE_SMTP_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(SMTP_VENV).join("bin/python");
    if venv.exists() {
        return venv;
    }
    panic!(
        "testkit: aiosmtpd not found ({SMTP_VENV}/bin/python, $OFFSITE_SMTP_PYTHON). Install it: \
         python3 -m venv {SMTP_VENV} && {SMTP_VENV}/bin/pip install 'aiosmtpd>=1.4,<2' \
         (or run .ci/setup.sh)"
    );
}

/// How the server speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpMode {
    /// Plain greeting, then STARTTLS (required before MAIL and AUTH). Usually port 587.
    Starttls,
    /// TLS from the first byte. Usually port 465.
    Tls,
    /// No TLS at all.
    Plain,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct SmtpOptions {
    pub mode: SmtpMode,
    /// Require AUTH with [`SMTP_USER`] / [`SMTP_PASSWORD`].
    pub auth: bool,
    /// Answer every DATA with this reply instead of accepting the message
    /// (`"451 4.3.0 Try again later"`, `"550 5.1.1 No such user"`).
    pub data_reply: Option<String>,
}

impl SmtpOptions {
    pub fn new(mode: SmtpMode) -> SmtpOptions {
        SmtpOptions {
            mode,
            auth: true,
            data_reply: None,
        }
    }
}

/// One message the server received.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// Header names and values (decoded), in order.
    pub headers: Vec<(String, String)>,
    /// The top-level content type (`multipart/alternative`).
    pub content_type: String,
    /// The leaf parts: (content type, decoded text).
    pub parts: Vec<(String, String)>,
    /// The message as sent.
    pub raw: String,
    /// The session ran over TLS (STARTTLS or implicit).
    pub tls: bool,
    /// The session authenticated, and as whom.
    pub authenticated: bool,
    pub login: Option<String>,
}

impl ReceivedMail {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The text of the first part of that content type (`text/plain`, `text/html`).
    pub fn part(&self, content_type: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(content_type))
            .map(|(_, v)| v.as_str())
    }

    fn from_json(v: &Value) -> ReceivedMail {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let list = |k: &str| v[k].as_array().cloned().unwrap_or_default();
        let headers = list("headers")
            .iter()
            .map(|p| (text(&p[0]), text(&p[1])))
            .collect();
        let parts = list("parts")
            .iter()
            .map(|p| (text(&p["content_type"]), text(&p["text"])))
            .collect();
        ReceivedMail {
            mail_from: s("mail_from"),
            rcpt_to: v["rcpt_tos"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            headers,
            content_type: s("content_type"),
            parts,
            raw: s("raw"),
            tls: v["tls"].as_bool().unwrap_or(false),
            authenticated: v["authenticated"].as_bool().unwrap_or(false),
            login: v["login"].as_str().map(String::from),
        }
    }
}

/// aiosmtpd on a free loopback port; stopped when dropped.
pub struct SmtpServer {
    child: Child,
    port: u16,
    ca: TestCa,
    dir: tempfile::TempDir,
    options: SmtpOptions,
}

impl SmtpServer {
    /// A server in `mode` requiring AUTH.
    pub fn start(mode: SmtpMode) -> SmtpServer {
        SmtpServer::start_with(SmtpOptions::new(mode))
    }

    /// A server as `options` say. Panics (with aiosmtpd's own output) when it cannot start.
    pub fn start_with(options: SmtpOptions) -> SmtpServer {
        let python = smtp_python();
        let dir = tempfile::tempdir().expect("testkit: temp dir");
        let maildir = dir.path().join("mail");
        std::fs::create_dir(&maildir).expect("testkit: mail dir");
        let script = dir.path().join("smtp_server.py");
        std::fs::write(&script, SCRIPT).expect("testkit: write smtp_server.py");
        let ca = TestCa::new("Offsite test SMTP CA");
        let (cert, key) = ca.issue(&["127.0.0.1", "localhost"]);
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_path, cert).expect("testkit: write cert");
        std::fs::write(&key_path, key).expect("testkit: write key");
        let log = dir.path().join("server.log");
        let port = free_port();
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .args(["--port", &port.to_string()])
            .args(["--mode", mode_name(options.mode)])
            .arg("--maildir")
            .arg(&maildir)
            .arg("--cert")
            .arg(&cert_path)
            .arg("--key")
            .arg(&key_path);
        if options.auth {
            cmd.args(["--user", SMTP_USER, "--password", SMTP_PASSWORD]);
        }
        if let Some(reply) = &options.data_reply {
            cmd.args(["--data-reply", reply]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("testkit: server log"))
            .spawn()
            .unwrap_or_else(|e| panic!("testkit: starting {}: {e}", python.display()));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let ready = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        if ready.trim() != "READY" {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "testkit: aiosmtpd did not start on 127.0.0.1:{port}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        SmtpServer {
            child,
            port,
            ca,
            dir,
            options,
        }
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn mode(&self) -> SmtpMode {
        self.options.mode
    }

    /// The CA that signed the server's certificate (PEM): what a client must trust.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// Writes [`Self::ca_pem`] to a file (for `SSL_CERT_FILE` in a child process) and returns
    /// its path; it lives as long as the server.
    pub fn ca_file(&self) -> PathBuf {
        let path = self.dir.path().join("ca.pem");
        if !path.exists() {
            std::fs::write(&path, self.ca_pem()).expect("testkit: write ca.pem");
        }
        path
    }

    pub fn username(&self) -> &'static str {
        SMTP_USER
    }

    pub fn password(&self) -> &'static str {
        SMTP_PASSWORD
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
            .expect("testkit: read mail dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).expect("testkit: read message");
                let v: Value = serde_json::from_str(&text).expect("testkit: message JSON");
                ReceivedMail::from_json(&v)
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived (panics after `limit`).
    pub fn wait_for_messages(&self, n: usize, limit: Duration) -> Vec<ReceivedMail> {
        let t0 = Instant::now();
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(
                t0.elapsed() < limit,
                "testkit: {} message(s) arrived within {limit:?}, expected {n}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// aiosmtpd's log so far (for a failing test's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mode_name(mode: SmtpMode) -> &'static str {
    match mode {
        SmtpMode::Starttls => "starttls",
        SmtpMode::Tls => "tls",
        SmtpMode::Plain => "plain",
    }
}
