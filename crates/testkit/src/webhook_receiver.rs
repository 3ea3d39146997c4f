//! A webhook receiver on 127.0.0.1 for the notification tests: it records every request
//! (method, path, headers, body) and answers as told — a queue of scripted answers (a 5xx or 429
//! burst, a 401), "down" (503 to everything) — and `200 ok` otherwise. Receivers deduplicate on
//! the event id, so [`WebhookReceiver::delivered_ids`] counts each id a 2xx answer accepted.
//! It runs on its own thread with its own runtime (so it outlives a test's engine, and serves a
//! CLI process too) and stops when dropped.

use crate::serve::serve_http;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One request as the receiver saw it, with the status it answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A scripted answer: status, headers, body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }
    pub fn with_body(mut self, body: &str) -> Answer {
        self.body = body.to_string();
        self
    }
    pub fn with_header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Answer>,
    down: bool,
    hang: bool,
    requests: Vec<Received>,
}

/// The receiver (see the module's rules).
pub struct WebhookReceiver {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl WebhookReceiver {
    pub fn start() -> WebhookReceiver {
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let (addr, stop) = serve_http("webhook receiver", 2, move |req| {
            let st = st.clone();
            async move { handle(&st, req).await }
        });
        WebhookReceiver {
            addr,
            state,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answer the next requests with these, in order (then 200 again).
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.lock().script.extend(answers);
    }

    /// While down, every request is answered 503.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// While hanging, a request is recorded (status 0) and never answered (a receiver that
    /// stalls while the sender is killed).
    pub fn set_hang(&self, hang: bool) {
        self.lock().hang = hang;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Received> {
        self.lock().requests.clone()
    }

    /// The `Offsite-Event-Id` of each request answered 2xx, in order (a receiver that
    /// deduplicates keeps each once).
    pub fn delivered_ids(&self) -> Vec<String> {
        self.lock()
            .requests
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .filter_map(|r| r.header("offsite-event-id").map(str::to_string))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn handle(st: &Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(_) => Vec::new(),
    };
    let answer = {
        let mut s = st.lock().unwrap_or_else(|p| p.into_inner());
        let answer = if s.hang {
            None
        } else if s.down {
            Some(Answer::status(503).with_body("down for maintenance"))
        } else {
            Some(
                s.script
                    .pop_front()
                    .unwrap_or_else(|| Answer::status(200).with_body("ok")),
            )
        };
        s.requests.push(Received {
            method,
            path,
            headers,
            body,
            status: answer.as_ref().map_or(0, |a| a.status),
        });
        answer
    };
    let Some(answer) = answer else {
        std::future::pending::<()>().await;
        unreachable!("a pending future never completes");
    };
    let mut resp = Response::builder().status(answer.status);
    for (k, v) in &answer.headers {
        resp = resp.header(k.as_str(), v.as_str());
    }
    resp.body(Full::new(Bytes::from(answer.body)))
        .expect("a valid response")
}
