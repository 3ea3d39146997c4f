//! The webhook formats: the event's own JSON (payload v1), and the shapes Slack, Discord,
//! Microsoft Teams, Mattermost, ntfy and PagerDuty Events v2 document for incoming messages.
//!
//! - Slack incoming webhook: `{"text": …}` (mrkdwn);
//! - Discord webhook: `{"content": …, "embeds": [{"title", "description", "color"}]}`
//!   (content ≤ 2,000 characters, an embed's title ≤ 256, its description ≤ 4,096) and
//!   `allowed_mentions` empty;
//! - Teams (Workflows "post to a channel when a webhook request is received"): a `message` with
//!   one Adaptive Card attachment;
//! - Mattermost incoming webhook: `{"text": …, "username": "Offsite"}`;
//!
//! In the four chat formats every piece of an event's text (any of it can be a remote server's
//! words) goes through the one escaping function of the chat's markup ([`super::markup`]): no
//! mention, link, image or formatting comes from it.
//! - ntfy: the text as the body of a POST to the topic URL, `Title`, `Priority` and `Tags`
//!   headers (non-ASCII titles as RFC 2047 encoded words, which ntfy decodes);
//! - PagerDuty Events API v2 (`https://events.pagerduty.com/v2/enqueue`): `routing_key` (the
//!   channel's secret), `event_action` trigger/resolve, a `dedup_key` per project and subject so
//!   "back to normal" and a later success resolve what the failure opened, and `payload`.

use super::events::EventGroup;
use super::markup;
use super::render::{one_line, render};
use super::{DeliveryError, DeliveryFailure, Event, EventKind, Preset, Severity};
use serde_json::json;

/// A request body with its content type and extra headers.
#[derive(Debug, Clone)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
}

fn json_body(v: serde_json::Value) -> Body {
    Body {
        bytes: serde_json::to_vec(&v).unwrap_or_default(),
        content_type: "application/json",
        headers: Vec::new(),
    }
}

/// The body `preset` sends for `event`. `secret`: PagerDuty's routing key.
pub fn body(preset: Preset, event: &Event, secret: Option<&str>) -> Result<Body, DeliveryError> {
    let r = render(event);
    let text = format!("{}\n{}", r.subject, r.text);
    Ok(match preset {
        Preset::Json => json_body(
            serde_json::to_value(event)
                .map_err(|e| DeliveryError::new(DeliveryFailure::Other, e.to_string()))?,
        ),
        Preset::Slack => json_body(json!({
            "text": format!(
                "*{}*\n{}",
                markup::slack(&r.subject, 1000),
                markup::slack(&r.text, 30_000)
            ),
        })),
        Preset::Mattermost => json_body(json!({
            "text": format!(
                "**{}**\n{}",
                markup::markdown(&r.subject, 1000),
                markup::markdown(&r.text, 15_000)
            ),
            "username": "Offsite",
        })),
        Preset::Discord => json_body(json!({
            "content": markup::markdown(&one_line(&r.subject, usize::MAX), 1990),
            "embeds": [{
                "title": markup::markdown(&one_line(&event.summary, usize::MAX), 250),
                "description": markup::markdown(&r.text, 4000),
                "color": match event.severity {
                    Severity::Ok => 0x2e7d32,
                    Severity::Warning => 0xf9a825,
                    Severity::Failure => 0xc62828,
                },
            }],
            "allowed_mentions": { "parse": [] },
        })),
        Preset::Teams => json_body(json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        { "type": "TextBlock", "text": markup::teams(&r.subject, 1000),
                          "weight": "Bolder", "size": "Medium", "wrap": true },
                        { "type": "TextBlock", "text": markup::teams(&r.text, 20_000),
                          "wrap": true },
                    ],
                },
            }],
        })),
        Preset::Ntfy => Body {
            bytes: text.into_bytes(),
            content_type: "text/plain; charset=utf-8",
            headers: vec![
                ("Title".into(), header_text(&one_line(&r.subject, 200))),
                (
                    "Priority".into(),
                    match event.severity {
                        Severity::Ok => "default",
                        Severity::Warning => "high",
                        Severity::Failure => "urgent",
                    }
                    .into(),
                ),
                (
                    "Tags".into(),
                    match event.severity {
                        Severity::Ok => "white_check_mark",
                        Severity::Warning => "warning",
                        Severity::Failure => "rotating_light",
                    }
                    .into(),
                ),
            ],
        },
        Preset::Pagerduty => pagerduty(event, secret)?,
    })
}

fn pagerduty(event: &Event, secret: Option<&str>) -> Result<Body, DeliveryError> {
    let key = secret.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        DeliveryError::new(
            DeliveryFailure::Auth,
            "the PagerDuty channel has no routing key (add it with --secret-stdin)",
        )
    })?;
    let project = event.project.as_ref().map(|p| p.id.as_str()).unwrap_or("-");
    let subject = match (event.event, EventGroup::of(event.event)) {
        (EventKind::BackupSucceeded | EventKind::BackupFailed, _) => "backup",
        (_, Some(g)) => g.as_str(),
        (_, None) => "offsite",
    };
    let dedup_key = match event.event {
        EventKind::Test | EventKind::Digest => event.id.clone(),
        _ => format!("offsite/{project}/{subject}"),
    };
    let action = if event.severity == Severity::Ok && event.event != EventKind::Test {
        "resolve"
    } else {
        "trigger"
    };
    let severity = match event.severity {
        Severity::Ok => "info",
        Severity::Warning => "warning",
        Severity::Failure => "critical",
    };
    let mut payload = json!({
        "summary": one_line(&event.summary, 1000),
        "source": "offsite",
        "severity": severity,
        "timestamp": event.occurred_at,
        "custom_details": event,
    });
    // The optional fields are strings when present and left out when not (never `null`).
    if let Some(p) = &event.project {
        payload["component"] = json!(p.name);
    }
    if let Some(g) = EventGroup::of(event.event) {
        payload["class"] = json!(g.as_str());
    }
    Ok(json_body(json!({
        "routing_key": key,
        "event_action": action,
        "dedup_key": dedup_key,
        "payload": payload,
    })))
}

/// A header value: ASCII as is, anything else as an RFC 2047 encoded word.
fn header_text(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        return s.to_string();
    }
    use base64::Engine as _;
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::events::new_event;
    use crate::notify::EventProject;

    fn failed() -> Event {
        new_event(
            EventKind::BackupFailed,
            "2030-01-01T00:00:00.000Z",
            Some(EventProject {
                id: "p1".into(),
                name: "shop".into(),
            }),
            "Backup of shop failed: refused".into(),
        )
    }

    fn json_of(b: &Body) -> serde_json::Value {
        assert_eq!(b.content_type, "application/json");
        serde_json::from_slice(&b.bytes).unwrap()
    }

    #[test]
    fn each_preset_has_its_documented_shape() {
        let e = failed();
        let v = json_of(&body(Preset::Json, &e, None).unwrap());
        assert_eq!(v["version"], 1);
        assert_eq!(v["event"], "backup_failed");
        assert_eq!(v["id"], e.id.as_str());
        let v = json_of(&body(Preset::Slack, &e, None).unwrap());
        assert!(v["text"].as_str().unwrap().starts_with("*[Offsite] FAILED"));
        let v = json_of(&body(Preset::Mattermost, &e, None).unwrap());
        assert!(v["text"]
            .as_str()
            .unwrap()
            .contains("Backup of shop failed"));
        let v = json_of(&body(Preset::Discord, &e, None).unwrap());
        assert_eq!(v["embeds"][0]["color"], 0xc62828);
        assert!(v["content"].as_str().unwrap().len() <= 2000);
        let v = json_of(&body(Preset::Teams, &e, None).unwrap());
        assert_eq!(v["type"], "message");
        assert_eq!(
            v["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(v["attachments"][0]["content"]["type"], "AdaptiveCard");
        let b = body(Preset::Ntfy, &e, None).unwrap();
        assert!(b.content_type.starts_with("text/plain"));
        assert!(b.headers.contains(&("Priority".into(), "urgent".into())));
        let v = json_of(&body(Preset::Pagerduty, &e, Some("R0UTING")).unwrap());
        assert_eq!(v["routing_key"], "R0UTING");
        assert_eq!(v["event_action"], "trigger");
        assert_eq!(v["dedup_key"], "offsite/p1/backup");
        assert_eq!(v["payload"]["severity"], "critical");
        assert_eq!(v["payload"]["source"], "offsite");
        // A success resolves what the failure opened.
        let mut ok = failed();
        ok.event = EventKind::BackupSucceeded;
        ok.severity = Severity::Ok;
        let v = json_of(&body(Preset::Pagerduty, &ok, Some("R0UTING")).unwrap());
        assert_eq!(
            (v["event_action"].as_str(), v["dedup_key"].as_str()),
            (Some("resolve"), Some("offsite/p1/backup"))
        );
        // No routing key: a permanent failure, said plainly.
        let e2 = body(Preset::Pagerduty, &e, None).unwrap_err();
        assert!(!e2.is_transient());
    }

    #[test]
    fn slack_text_escapes_its_control_characters() {
        let mut e = failed();
        e.summary = "Backup of <!channel> failed: a < b && c > d".into();
        let v = json_of(&body(Preset::Slack, &e, None).unwrap());
        let text = v["text"].as_str().unwrap();
        assert!(
            text.contains("&lt;!channel&gt; failed: a &lt; b &amp;&amp; c &gt; d"),
            "{text}"
        );
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
    }

    /// A failure whose every remote field (summary, the server's error message and hint, a
    /// detail) is an attack on the chat's markup.
    fn hostile() -> Event {
        use crate::notify::markup::HOSTILE;
        let mut e = failed();
        e.summary = format!("Backup of shop failed on the server: {HOSTILE}");
        e.error = Some(crate::notify::EventError {
            code: "connection".into(),
            message: HOSTILE.into(),
            hint: Some(format!("hint: {HOSTILE}")),
        });
        e.details = json!({ "server": HOSTILE });
        e
    }

    /// What a CommonMark parser (Mattermost's markup; Discord's is a subset) makes of `md`:
    /// only paragraphs of text (and `strong` times the bold we add ourselves).
    fn assert_only_text(md: &str, strong: usize) {
        use pulldown_cmark::{Event as Md, Parser, Tag, TagEnd};
        let mut bold = 0;
        for e in Parser::new(md) {
            match e {
                Md::Start(Tag::Strong) => bold += 1,
                Md::Start(Tag::Paragraph)
                | Md::End(TagEnd::Paragraph | TagEnd::Strong)
                | Md::Text(_)
                | Md::SoftBreak
                | Md::HardBreak => {}
                other => panic!("{other:?} made of remote text in {md}"),
            }
        }
        assert_eq!(bold, strong, "{md}");
    }

    /// No mention, no bare link, no Markdown link or image survives in `text`.
    fn assert_defused(text: &str) {
        for bad in [
            "@channel",
            "@all",
            "@here",
            "@ops",
            "://",
            "www.",
            "WWW.",
            "](",
            "![",
            "<at>",
            "<!channel>",
            "<@U123>",
            "{{DATE",
        ] {
            assert!(!text.contains(bad), "{bad:?} in {text}");
        }
    }

    #[test]
    fn mattermost_neutralises_remote_text() {
        let v = json_of(&body(Preset::Mattermost, &hostile(), None).unwrap());
        let text = v["text"].as_str().unwrap();
        assert_defused(text);
        assert_only_text(text, 1);
        assert!(
            text.starts_with("**\\[Offsite\\] FAILED\\: Backup of shop"),
            "{text}"
        );
    }

    #[test]
    fn discord_neutralises_remote_text_in_content_title_and_description() {
        let v = json_of(&body(Preset::Discord, &hostile(), None).unwrap());
        assert_eq!(v["allowed_mentions"]["parse"], json!([]));
        let fields = [
            (v["content"].as_str().unwrap(), 2000),
            (v["embeds"][0]["title"].as_str().unwrap(), 256),
            (v["embeds"][0]["description"].as_str().unwrap(), 4096),
        ];
        for (text, limit) in fields {
            assert_defused(text);
            assert_only_text(text, 0);
            assert!(text.chars().count() <= limit, "{limit}: {text}");
        }
    }

    #[test]
    fn teams_neutralises_remote_text_in_both_blocks() {
        let v = json_of(&body(Preset::Teams, &hostile(), None).unwrap());
        let blocks = v["attachments"][0]["content"]["body"].as_array().unwrap();
        assert_eq!(blocks.len(), 2);
        for b in blocks {
            let text = b["text"].as_str().unwrap();
            assert_defused(text);
            assert!(!text.contains("**") && !text.contains("`code`"), "{text}");
        }
        assert!(blocks[1]["text"]
            .as_str()
            .unwrap()
            .contains("\\[log in\\]\\(https:\u{200B}//evil.example/login\\)"));
    }

    #[test]
    fn slack_neutralises_remote_text_too() {
        let v = json_of(&body(Preset::Slack, &hostile(), None).unwrap());
        let text = v["text"].as_str().unwrap();
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(!text.contains("://") && !text.contains("@here"), "{text}");
    }

    #[test]
    fn pagerduty_leaves_out_optional_fields_it_has_no_value_for() {
        // A test message has no project: no `component: null` in what PagerDuty receives.
        let t = new_event(
            EventKind::Test,
            "2030-01-01T00:00:00.000Z",
            None,
            "Test message from Offsite".into(),
        );
        let v = json_of(&body(Preset::Pagerduty, &t, Some("R0UTING")).unwrap());
        let payload = v["payload"].as_object().unwrap();
        assert!(
            payload
                .iter()
                .filter(|(k, _)| *k != "custom_details")
                .all(|(_, v)| !v.is_null()),
            "{payload:?}"
        );
        assert!(!payload.contains_key("component"), "{payload:?}");
        for k in ["summary", "source", "severity"] {
            assert!(payload[k].as_str().is_some_and(|s| !s.is_empty()), "{k}");
        }
        assert_eq!(v["dedup_key"], t.id.as_str());
        assert!(v["dedup_key"].as_str().unwrap().len() <= 255);
        // With a project, the component is its name.
        let v = json_of(&body(Preset::Pagerduty, &failed(), Some("R0UTING")).unwrap());
        assert_eq!(v["payload"]["component"], "shop");
    }

    #[test]
    fn non_ascii_titles_are_encoded_words() {
        assert_eq!(header_text("abc"), "abc");
        assert_eq!(header_text("é"), "=?UTF-8?B?w6k=?=");
    }
}
