//! A local server answering as Telegram's Bot API documents `sendMessage`
//! (<https://core.telegram.org/bots/api#sendmessage>, `#making-requests`): `POST
//! /bot<token>/sendMessage` with a JSON or form body; every answer is `{"ok": …}` with
//! `result` on success or `error_code`, `description` and (429) `parameters.retry_after`.
//!
//! It checks what the real API checks and Offsite could get wrong: the token (401
//! `Unauthorized`; 404 `Not Found` for a path that is not a bot method), the chat (400 `Bad
//! Request: chat not found`), an empty or over-long text (400 `message text is empty` / `message
//! is too long`) and, with `parse_mode: HTML`, the markup: only the tags the API allows, every
//! other `<`, `>` and `&` escaped (400 `can't parse entities: …`). Tests can make the next answers
//! fail ([`FakeBotApi::fail_next`]) and read what was delivered ([`FakeBotApi::messages`]).
//!
//! It runs on its own thread with its own runtime (any test harness) and stops when dropped.
//! The real API is not reachable from CI; this is what the Telegram channel is tested against.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The token the fake API accepts (the shape @BotFather gives).
pub const BOT_TOKEN: &str = "123456789:AAF-fake_Token-0123456789abcdefghijklm";
/// The chat that exists.
pub const CHAT_ID: &str = "-1001234567890";

/// A message the fake API accepted.
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub chat_id: String,
    /// The text as sent (markup included).
    pub text: String,
    pub parse_mode: Option<String>,
    /// The text as Telegram shows it (tags removed, entities decoded) when `parse_mode` is
    /// HTML; else the text.
    pub visible_text: String,
}

#[derive(Default)]
struct Inner {
    messages: Vec<SentMessage>,
    /// Answers to give instead of handling the next requests: (HTTP status, body).
    queued: VecDeque<(u16, Value)>,
    requests: usize,
}

/// The fake Bot API. Dropping it stops the server.
pub struct FakeBotApi {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeBotApi {
    /// Starts on a free loopback port.
    pub fn start() -> FakeBotApi {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let state = inner.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("testkit: runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("testkit: bind the fake Bot API");
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let app = Router::new()
                    .route("/{bot}/{method}", post(handle))
                    .fallback(not_found)
                    .with_state(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let addr = addr_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("testkit: the fake Bot API did not start");
        FakeBotApi {
            addr,
            inner,
            stop: Some(stop_tx),
        }
    }

    /// `http://127.0.0.1:PORT` (what `TelegramSpec::api_base` is set to).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` requests get this answer (HTTP `status`, body `answer`), whatever they ask.
    pub fn fail_next(&self, n: usize, status: u16, answer: Value) {
        let mut g = self.inner.lock().unwrap();
        for _ in 0..n {
            g.queued.push_back((status, answer.clone()));
        }
    }

    /// The next `n` requests get 429 `Too Many Requests: retry after S` with
    /// `parameters.retry_after` = `retry_after_secs`.
    pub fn rate_limit_next(&self, n: usize, retry_after_secs: u64) {
        self.fail_next(
            n,
            429,
            json!({
                "ok": false,
                "error_code": 429,
                "description": format!("Too Many Requests: retry after {retry_after_secs}"),
                "parameters": { "retry_after": retry_after_secs },
            }),
        );
    }

    /// Messages accepted so far.
    pub fn messages(&self) -> Vec<SentMessage> {
        self.inner.lock().unwrap().messages.clone()
    }

    /// Requests received so far (accepted or not).
    pub fn requests(&self) -> usize {
        self.inner.lock().unwrap().requests
    }
}

impl Drop for FakeBotApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn reply(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(code: u16, description: &str) -> Response {
    reply(
        code,
        json!({ "ok": false, "error_code": code, "description": description }),
    )
}

async fn not_found() -> Response {
    error(404, "Not Found")
}

async fn handle(
    State(state): State<Arc<Mutex<Inner>>>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut g = state.lock().unwrap();
    g.requests += 1;
    if let Some((status, answer)) = g.queued.pop_front() {
        return reply(status, answer);
    }
    let Some(token) = bot.strip_prefix("bot") else {
        return error(404, "Not Found");
    };
    if token != BOT_TOKEN {
        return error(401, "Unauthorized");
    }
    if method != "sendMessage" {
        return error(404, "Not Found: method not found");
    }
    let params = match parse_params(&headers, &body) {
        Ok(p) => p,
        Err(e) => return error(400, &format!("Bad Request: {e}")),
    };
    let chat_id = match &params["chat_id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return error(400, "Bad Request: chat_id is empty"),
    };
    if chat_id != CHAT_ID {
        return error(400, "Bad Request: chat not found");
    }
    let text = params["text"].as_str().unwrap_or_default().to_string();
    let parse_mode = params["parse_mode"].as_str().map(str::to_string);
    let visible_text = match parse_mode.as_deref() {
        None => text.clone(),
        Some(m) if m.eq_ignore_ascii_case("html") => match visible_html(&text) {
            Ok(v) => v,
            Err(e) => return error(400, &format!("Bad Request: can't parse entities: {e}")),
        },
        Some(other) => return error(400, &format!("Bad Request: unsupported parse_mode {other}")),
    };
    if visible_text.trim().is_empty() {
        return error(400, "Bad Request: message text is empty");
    }
    if visible_text.chars().count() > 4096 {
        return error(400, "Bad Request: message is too long");
    }
    g.messages.push(SentMessage {
        chat_id: chat_id.clone(),
        text: text.clone(),
        parse_mode,
        visible_text,
    });
    let message_id = g.messages.len();
    reply(
        200,
        json!({
            "ok": true,
            "result": {
                "message_id": message_id,
                "chat": { "id": chat_id.parse::<i64>().unwrap_or(0), "type": "supergroup" },
                "date": 1_767_225_600,
                "text": text,
            },
        }),
    )
}

/// The parameters of a JSON (`application/json`) or form (`application/x-www-form-urlencoded`)
/// body, as JSON.
fn parse_params(headers: &HeaderMap, body: &[u8]) -> Result<Value, String> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ct.starts_with("application/json") {
        return serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"));
    }
    if ct.starts_with("application/x-www-form-urlencoded") {
        let mut map = serde_json::Map::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
        return Ok(Value::Object(map));
    }
    Err(format!("unsupported content type {ct:?}"))
}

/// Tags the Bot API's HTML mode accepts.
const ALLOWED_TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
];

/// The text Telegram would show for `html`, or why it cannot parse it: an unknown tag, an
/// unclosed or mismatched tag, a bare `<`/`>`/`&` or an unknown entity.
fn visible_html(html: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        let offset = html.len() - rest.len();
        match c {
            '<' => {
                let end = rest
                    .find('>')
                    .ok_or(format!("unclosed start tag at byte offset {offset}"))?;
                let tag = &rest[1..end];
                if tag.starts_with(char::is_whitespace) || tag.is_empty() {
                    return Err(format!("Unsupported start tag at byte offset {offset}"));
                }
                let (closing, name) = match tag.strip_prefix('/') {
                    Some(n) => (true, n.trim()),
                    None => (false, tag.split_whitespace().next().unwrap_or("")),
                };
                if !ALLOWED_TAGS.contains(&name) {
                    return Err(format!(
                        "Unsupported start tag \"{name}\" at byte offset {offset}"
                    ));
                }
                if closing {
                    if open.pop().as_deref() != Some(name) {
                        return Err(format!(
                            "Unmatched end tag at byte offset {offset}, expected \"</{}>\"",
                            open.last().map(String::as_str).unwrap_or("")
                        ));
                    }
                } else {
                    open.push(name.to_string());
                }
                rest = &rest[end + 1..];
            }
            '>' => return Err(format!("Unexpected end tag at byte offset {offset}")),
            '&' => {
                let end = rest
                    .find(';')
                    .filter(|&e| e <= 10)
                    .ok_or(format!("Unsupported entity at byte offset {offset}"))?;
                out.push(decode_entity(&rest[1..end]).ok_or(format!(
                    "Unsupported entity \"{}\" at byte offset {offset}",
                    &rest[..=end]
                ))?);
                rest = &rest[end + 1..];
            }
            c => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(tag) = open.last() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{tag}\""
        ));
    }
    Ok(out)
}

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        _ => {
            let n = name.strip_prefix('#')?;
            let code = match n.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => n.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::visible_html;

    #[test]
    fn html_mode_is_checked_as_telegram_does() {
        assert_eq!(
            visible_html("<b>a &lt;b&gt; &amp;</b> c").unwrap(),
            "a <b> & c"
        );
        assert!(visible_html("<p>x</p>")
            .unwrap_err()
            .contains("Unsupported start tag"));
        assert!(visible_html("a < b").is_err());
        assert!(visible_html("a & b").is_err());
        assert!(visible_html("<b>x").is_err());
    }
}
