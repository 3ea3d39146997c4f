//! An event as people read it: a subject, plain text and a simple HTML version (email, Telegram,
//! the chat presets).

use super::{Event, EventKind, Rendered, Severity};

/// The subject, text and HTML of `e`.
pub fn render(e: &Event) -> Rendered {
    let mark = match e.severity {
        Severity::Ok => "OK",
        Severity::Warning => "Warning",
        Severity::Failure => "FAILED",
    };
    let subject = format!("[Offsite] {mark}: {}", one_line(&e.summary, 200));
    let facts = facts(e);
    let mut text = format!("{}\n\n", e.summary);
    if let Some(p) = &e.protection {
        text.push_str(&format!("Protection: {p}\n\n"));
    }
    for (k, v) in &facts {
        text.push_str(&format!("{k}: {v}\n"));
    }
    text.push_str(&format!("\nEvent id: {}\n", e.id));
    let mut html = format!("<p><strong>{}</strong></p>\n", escape(&e.summary));
    if let Some(p) = &e.protection {
        html.push_str(&format!("<p>Protection: {}</p>\n", escape(p)));
    }
    html.push_str("<table>\n");
    for (k, v) in &facts {
        html.push_str(&format!(
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>\n",
            escape(k),
            escape(v)
        ));
    }
    html.push_str(&format!(
        "</table>\n<p style=\"color:#666\">Event id: {}</p>\n",
        escape(&e.id)
    ));
    Rendered {
        subject,
        text,
        html,
    }
}

/// The facts a message lists, in order (only those the event has).
pub fn facts(e: &Event) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |k: &str, v: String| out.push((k.to_string(), v));
    if let Some(p) = &e.project {
        add("Project", p.name.clone());
    }
    add("Event", word(&e.event));
    add("When", e.occurred_at.clone());
    if let Some(b) = &e.backup_id {
        add("Backup", b.clone());
    }
    if let Some(s) = e.size_bytes {
        add("Size", human_size(s));
    }
    if let Some(d) = e.duration_ms {
        add("Duration", format!("{:.1} s", d as f64 / 1000.0));
    }
    if let Some(err) = &e.error {
        add("Error", format!("{} ({})", err.message, err.code));
        if let Some(h) = &err.hint {
            add("What to do", h.clone());
        }
    }
    let watched = matches!(e.event, EventKind::CopyPending | EventKind::SpaceLow);
    if let Some(obj) = e.details.as_object() {
        for (k, v) in obj {
            if watched {
                if let Some(fact) = watch_fact(k, v, obj) {
                    if let Some((k, v)) = fact {
                        add(k, one_line(&v, 500));
                    }
                    continue;
                }
            }
            if k == "backups" && v.is_array() {
                backup_lines(v, &mut add);
                continue;
            }
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            add(k, one_line(&v, 500));
        }
    }
    out
}

/// Retention's `details.backups`: one line per backup (id, created, size, when it goes, why).
fn backup_lines(list: &serde_json::Value, add: &mut impl FnMut(&str, String)) {
    for b in list.as_array().into_iter().flatten() {
        let field = |k: &str| b.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string();
        let size = b
            .get("size_bytes")
            .and_then(|v| v.as_u64())
            .map(human_size)
            .unwrap_or_else(|| "?".to_string());
        let line = format!(
            "{} (created {}, {}): removal {}; {}",
            field("id"),
            field("created_at"),
            size,
            field("removed_at"),
            field("reason")
        );
        add("Backup", one_line(&line, 500));
    }
}

/// The copy and space watchers' details as people read them: words for labels, sizes in
/// units. `Some(None)`: a detail told with another one; `None`: not one of theirs.
fn watch_fact(
    k: &str,
    v: &serde_json::Value,
    all: &serde_json::Map<String, serde_json::Value>,
) -> Option<Option<(&'static str, String)>> {
    let num = |k: &str| all.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string).unwrap_or_default();
    Some(match k {
        "destination" => Some(("Destination", text(v))),
        "where" => Some(("Where", text(v))),
        "path" => Some(("Path", text(v))),
        "pending_backups" => Some((
            "Waiting",
            format!(
                "{} since {} (threshold {} h)",
                crate::words::plural(num("pending_backups"), "backup"),
                all.get("pending_since").map(text).unwrap_or_default(),
                num("threshold_hours")
            ),
        )),
        "free_bytes" => {
            let (free, total) = (num("free_bytes"), num("total_bytes"));
            let pct = if total == 0 {
                0
            } else {
                u128::from(free) * 100 / u128::from(total)
            };
            Some((
                "Free",
                format!("{} of {} ({pct} %)", human_size(free), human_size(total)),
            ))
        }
        "growth_bytes_per_day" => Some((
            "Growth",
            format!("{}/day (last 14 days)", human_size(num(k))),
        )),
        "days_until_full" => Some((
            "Days until full",
            match v.as_f64() {
                Some(d) => format!("{d}"),
                None => "not growing".into(),
            },
        )),
        "reasons" => {
            let why: Vec<String> = v.as_array().into_iter().flatten().map(text).collect();
            Some(("Why", why.join("; ")))
        }
        "pending_since" | "threshold_hours" | "total_bytes" => None,
        _ => return None,
    })
}

fn word<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `s` on one line, at most `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `s` with `& < > " '` escaped for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A size in a notification: the one size format ([`crate::units::format_bytes`]).
pub(crate) fn human_size(b: u64) -> String {
    crate::units::format_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::events::new_event;
    use crate::notify::{EventError, EventKind, EventProject};

    #[test]
    fn a_failure_reads_well_and_html_is_escaped() {
        let mut e = new_event(
            EventKind::BackupFailed,
            "2030-01-01T00:00:00.000Z",
            Some(EventProject {
                id: "p".into(),
                name: "<shop>".into(),
            }),
            "Backup of <shop> failed: refused".into(),
        );
        e.size_bytes = Some(3 * 1024 * 1024);
        e.error = Some(EventError {
            code: "connection".into(),
            message: "refused".into(),
            hint: Some("is the server up?".into()),
        });
        let r = render(&e);
        assert_eq!(
            r.subject,
            "[Offsite] FAILED: Backup of <shop> failed: refused"
        );
        assert!(r.text.contains("Project: <shop>\n"), "{}", r.text);
        assert!(r.text.contains("Size: 3.0 MB\n"));
        assert!(r.text.contains("Error: refused (connection)\n"));
        assert!(r.text.contains("What to do: is the server up?\n"));
        assert!(r.text.contains(&e.id));
        assert!(r.html.contains("&lt;shop&gt;") && !r.html.contains("<shop>"));
        assert_eq!(one_line("a\nb", 10), "a b");
        assert_eq!(one_line("abcdef", 4), "abc…");
    }
}
