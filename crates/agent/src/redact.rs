//! Redaction of the configuration files the agent packs: the values of `.env` files and the
//! `environment:` values of Compose files are replaced by `<redacted>`; keys, comments and the
//! rest of the file stay.
//!
//! `.env`: `KEY=value` and `export KEY=value`, values unquoted or quoted with `"`, `'` or `` ` ``
//! (quoted values may run over several lines: every line up to the closing quote goes; an
//! unclosed quote takes the rest of the file). A line that is not a comment, blank or such an
//! assignment (a stray base64 line, `==` padding, a continuation) is replaced whole.
//!
//! Compose: under every `environment:` key, map entries (`KEY: value`) and list entries
//! (`- KEY=value`, quoted or not) get their value replaced, including values running over
//! several lines (block scalars, multi-line quotes); a value that is only a reference
//! (`${NAME}`) is kept; an inline (flow) `environment: {…}` or `[…]` is replaced whole.

use offsite_core::config::redact::REDACTED;

/// Lines with their endings.
fn lines(text: &str) -> Vec<(&str, &str)> {
    text.split_inclusive('\n')
        .map(|line| {
            let body = line.trim_end_matches(['\n', '\r']);
            (body, &line[body.len()..])
        })
        .collect()
}

fn valid_env_key(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Where the quoted value starting at `s[0]` (the quote) closes in `s`: `Some(index)` of the
/// closing quote, or `None` when it does not close on this line. `"` and `` ` `` honour
/// backslash escapes.
fn closing_quote(s: &str, from: usize, q: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s[from..].char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && q != '\'' {
            escaped = true;
        } else if c == q {
            return Some(from + i);
        }
    }
    None
}

/// `export KEY = value` → (the text up to and including `=`, the key, the value).
fn env_assignment(body: &str) -> Option<(&str, &str, &str)> {
    let t = body.trim_start();
    let lead = body.len() - t.len();
    let after_export = t
        .strip_prefix("export")
        .filter(|r| r.starts_with([' ', '\t']))
        .map(str::trim_start)
        .unwrap_or(t);
    let eq = after_export.find('=')?;
    let key = after_export[..eq].trim_end();
    if !valid_env_key(key) {
        return None;
    }
    let value = &after_export[eq + 1..];
    if value.starts_with('=') {
        return None; // `abc==`: base64 padding, not an assignment
    }
    let prefix_len = lead + (t.len() - after_export.len()) + eq + 1;
    Some((&body[..prefix_len], key, value))
}

/// Replace every value of a dotenv file by `<redacted>`; comments and blank lines stay.
/// Returns the text and what was redacted (keys; `line N` for a line replaced whole).
pub fn redact_env(text: &str) -> (String, Vec<String>) {
    let all = lines(text);
    let mut out = String::with_capacity(text.len());
    let mut keys = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let (body, ending) = all[i];
        i += 1;
        let trimmed = body.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            out.push_str(body);
            out.push_str(ending);
            continue;
        }
        let Some((prefix, key, value)) = env_assignment(body) else {
            out.push_str(REDACTED);
            out.push_str(ending);
            keys.push(format!("line {i}"));
            continue;
        };
        let v = value.trim_start();
        if v.is_empty() {
            out.push_str(body);
            out.push_str(ending);
            continue;
        }
        let mut last_ending = ending;
        if let Some(q) = v.chars().next().filter(|c| matches!(c, '"' | '\'' | '`')) {
            // A quoted value: up to its closing quote, over as many lines as it takes.
            if closing_quote(v, 1, q).is_none() {
                while i < all.len() {
                    let (b, e) = all[i];
                    i += 1;
                    last_ending = e;
                    if closing_quote(b, 0, q).is_some() {
                        break;
                    }
                }
            }
        }
        out.push_str(prefix);
        out.push_str(REDACTED);
        out.push_str(last_ending);
        keys.push(key.to_string());
    }
    (out, keys)
}

fn indent_of(body: &str) -> usize {
    body.len() - body.trim_start_matches(' ').len()
}

/// A YAML key (plain or quoted) and the rest after its `:`.
fn yaml_key(content: &str) -> Option<(String, &str)> {
    let (key, rest) = if let Some(q) = content.chars().next().filter(|c| matches!(c, '"' | '\'')) {
        let end = closing_quote(content, 1, q)?;
        (content[1..end].to_string(), &content[end + 1..])
    } else {
        let colon = content
            .char_indices()
            .find(|&(i, c)| {
                c == ':' && matches!(content[i + 1..].chars().next(), None | Some(' ' | '\t'))
            })?
            .0;
        (content[..colon].trim_end().to_string(), &content[colon..])
    };
    let rest = rest.trim_start().strip_prefix(':')?;
    Some((key, rest))
}

fn is_reference(v: &str) -> bool {
    let v = v.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v);
    v.strip_prefix("${")
        .and_then(|x| x.strip_suffix('}'))
        .is_some_and(valid_env_key)
}

/// Whether a value continues on the following, more indented lines (block scalar, empty).
fn value_of(rest: &str) -> &str {
    let r = rest.trim();
    if r.starts_with('#') {
        ""
    } else {
        r
    }
}

/// Redact one entry of an `environment:` block; returns the line to write.
fn redact_entry(body: &str, indent: usize, keys: &mut Vec<String>) -> String {
    let content = &body[indent..];
    let pad = &body[..indent];
    if let Some(item) = content.strip_prefix('-') {
        // List form: `- KEY=value`, `- "KEY=value"`, `- KEY` (from the host's environment).
        let item = item.trim_start();
        let (quote, inner) = match item.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &item[1..]),
            _ => (None, item),
        };
        return match inner.split_once('=') {
            Some((k, v)) => {
                let v = v.trim_end_matches(['"', '\'']);
                if is_reference(v) {
                    return body.to_string();
                }
                keys.push(k.trim().to_string());
                let q = quote.map(String::from).unwrap_or_default();
                format!("{pad}- {q}{}={REDACTED}{q}", k.trim())
            }
            None => body.to_string(),
        };
    }
    match yaml_key(content) {
        Some((key, rest)) => {
            let v = value_of(rest);
            if v.is_empty() || is_reference(v) {
                return body.to_string();
            }
            keys.push(key.clone());
            let key_text = &content[..content.len() - rest.len() - 1];
            format!("{pad}{key_text}: {REDACTED}")
        }
        // Not an entry we understand: the whole line goes.
        None => format!("{pad}{REDACTED}"),
    }
}

/// Replace the `environment:` values of a Compose file by `<redacted>`. Returns the text and
/// the keys whose values were replaced.
pub fn redact_compose(text: &str) -> (String, Vec<String>) {
    let all = lines(text);
    // (line, ending): the last line may be changed once its value turns out to follow it.
    let mut out: Vec<(String, &str)> = Vec::with_capacity(all.len());
    let mut keys = Vec::new();
    // Inside an `environment:` block: the indentation of its key.
    let mut block: Option<usize> = None;
    // Lines more indented than this belong to the previous entry (or a flow value) and go.
    let mut drop_deeper: Option<usize> = None;
    for (body, ending) in all {
        let content = body.trim_start_matches(' ');
        let indent = indent_of(body);
        let blank = content.trim().is_empty();
        if let Some(d) = drop_deeper {
            if blank || indent > d {
                if blank {
                    out.push((body.to_string(), ending));
                } else if let Some((last, _)) = out.last_mut() {
                    // An entry whose value is on the following lines (`KEY:` then the value
                    // more indented): redacted too.
                    let t = last.trim_end();
                    if block.is_some() && t.ends_with(':') && !t.trim_start().starts_with('-') {
                        let key = t.trim_start().trim_end_matches(':').trim();
                        keys.push(key.trim_matches(['"', '\'']).to_string());
                        let new = format!("{t} {REDACTED}");
                        *last = new;
                    }
                }
                continue;
            }
            drop_deeper = None;
        }
        if let Some(k) = block {
            if blank || content.starts_with('#') {
                out.push((body.to_string(), ending));
                continue;
            }
            if indent > k || (indent == k && content.starts_with("- ")) {
                out.push((redact_entry(body, indent, &mut keys), ending));
                drop_deeper = Some(indent);
                continue;
            }
            block = None;
        }
        if let Some((_, rest)) = yaml_key(content).filter(|(k, _)| k == "environment") {
            let v = value_of(rest);
            let anchor_only = v.starts_with('&') && !v.contains(char::is_whitespace);
            if v.is_empty() || anchor_only {
                block = Some(indent);
                out.push((body.to_string(), ending));
            } else {
                let key_text = &content[..content.len() - rest.len() - 1];
                out.push((format!("{}{key_text}: {REDACTED}", &body[..indent]), ending));
                keys.push("environment".to_string());
                drop_deeper = Some(indent);
            }
            continue;
        }
        out.push((body.to_string(), ending));
    }
    let mut text = String::with_capacity(text.len());
    for (line, ending) in out {
        text.push_str(&line);
        text.push_str(ending);
    }
    (text, keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_redacted_keys_and_comments_kept() {
        let (text, keys) = redact_env(
            "# Supabase\nPOSTGRES_PASSWORD=hunter2\nexport JWT_SECRET=\"abc=def\"\n\nEMPTY=\nNOEQUALS\r\nANON_KEY=x",
        );
        assert_eq!(
            text,
            "# Supabase\nPOSTGRES_PASSWORD=<redacted>\nexport JWT_SECRET=<redacted>\n\nEMPTY=\n<redacted>\r\nANON_KEY=<redacted>"
        );
        assert_eq!(
            keys,
            vec!["POSTGRES_PASSWORD", "JWT_SECRET", "line 6", "ANON_KEY"]
        );
        assert!(!text.contains("hunter2") && !text.contains("abc"));
    }

    /// The two holes of the old line-by-line redaction: a quoted value over several lines
    /// (its later lines were kept) and base64 lines with `=` padding (read as `KEY=value`,
    /// keeping the "key").
    #[test]
    fn multi_line_quoted_values_and_base64_padding_are_redacted() {
        let env = "KEY_PEM=\"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nqhkiG9w0BAQ==\n-----END PRIVATE KEY-----\"\nNEXT=1\n\
                   SINGLE='line one\nline two secret'\nTICK=`a\nb-secret`\n\
                   c2VjcmV0LXZhbHVl==\nQUJD=\n  PADDED = 'x y' # note\nUNCLOSED=\"rest\nof the file secret\n";
        let (text, keys) = redact_env(env);
        for secret in [
            "BEGIN",
            "MIIE",
            "qhkiG9w0BAQ",
            "END PRIVATE",
            "line two",
            "b-secret",
            "c2VjcmV0",
            "x y",
            "of the file",
        ] {
            assert!(!text.contains(secret), "{secret} survived:\n{text}");
        }
        assert_eq!(
            text,
            "KEY_PEM=<redacted>\nNEXT=<redacted>\nSINGLE=<redacted>\nTICK=<redacted>\n<redacted>\nQUJD=\n  PADDED =<redacted>\nUNCLOSED=<redacted>\n"
        );
        assert_eq!(
            keys,
            vec!["KEY_PEM", "NEXT", "SINGLE", "TICK", "line 10", "PADDED", "UNCLOSED"]
        );
    }

    #[test]
    fn compose_environment_values_are_redacted_in_both_forms() {
        let compose = "services:\n  db:\n    image: supabase/postgres\n    environment:\n      POSTGRES_PASSWORD: hunter2\n      \"QUOTED\": 'q-secret'\n      REF: ${POSTGRES_PASSWORD}\n      EMPTY:\n      BLOCK: |\n        block-secret-1\n        block-secret-2\n      # a comment\n      PORT: 5432\n    ports:\n      - 5432:5432\n  auth:\n    environment:\n      - GOTRUE_JWT_SECRET=jwt-secret\n      - \"API_KEY=api-secret\"\n      - FROM_HOST\n      - REF=${JWT_SECRET}\n    command: run\n  kong:\n    environment: {KONG_SECRET: flow-secret,\n      OTHER: flow-2}\n  rest:\n    environment:\n    - PGRST_DB_URI=postgres://u:compact-secret@db/x\n    image: postgrest\n";
        let (text, keys) = redact_compose(compose);
        for secret in [
            "hunter2",
            "q-secret",
            "block-secret",
            "jwt-secret",
            "api-secret",
            "flow-secret",
            "flow-2",
            "compact-secret",
            "5432\n    ports",
        ] {
            assert!(!text.contains(secret), "{secret} survived:\n{text}");
        }
        for kept in [
            "image: supabase/postgres",
            "REF: ${POSTGRES_PASSWORD}",
            "      EMPTY:\n",
            "# a comment",
            "- 5432:5432",
            "- FROM_HOST",
            "- REF=${JWT_SECRET}",
            "command: run",
            "image: postgrest",
        ] {
            assert!(text.contains(kept), "{kept} is gone:\n{text}");
        }
        assert!(text.contains("POSTGRES_PASSWORD: <redacted>"), "{text}");
        assert!(text.contains("- \"API_KEY=<redacted>\""), "{text}");
        assert!(text.contains("environment: <redacted>"), "{text}");
        assert_eq!(
            keys,
            vec![
                "POSTGRES_PASSWORD",
                "QUOTED",
                "BLOCK",
                "PORT",
                "GOTRUE_JWT_SECRET",
                "API_KEY",
                "environment",
                "PGRST_DB_URI"
            ]
        );
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// A secret value: lower-case letters, digits and the characters that broke redaction
    /// before (`=`, `+`, `/`, `#`, spaces), never a quote of its own form.
    fn secret() -> impl Strategy<Value = String> {
        "[a-z0-9][a-z0-9=+/# ]{0,30}[a-z0-9=]"
    }

    /// One assignment in one quoting form; `multi` values span lines.
    fn entry() -> impl Strategy<Value = String> {
        (
            "[A-Z_][A-Z_]{0,12}",
            prop::collection::vec(secret(), 1..4),
            0..6u8,
            any::<bool>(),
            "[ \t]{0,2}",
        )
            .prop_map(|(key, parts, form, export, sp)| {
                let one = parts[0].replace(['#', ' '], "x");
                let joined = parts.join("\n");
                let value = match form {
                    0 => one,                                       // unquoted (no spaces, no #)
                    1 => format!("\"{}\"", joined),                 // double, maybe multi-line
                    2 => format!("'{}'", joined),                   // single, maybe multi-line
                    3 => format!("`{}`", joined),                   // backtick
                    4 => format!("\"{}\\\"{}\"", parts[0], joined), // an escaped quote inside
                    _ => format!("{}==", one),                      // base64 padding
                };
                let export = if export { "export " } else { "" };
                format!("{export}{key}{sp}={sp}{value}")
            })
    }

    proptest! {
        #![proptest_config(offsite_testkit::fuzz::config())]
        /// Generated `.env` files: after redaction no character of any value is left (keys are
        /// upper-case, values lower-case and digits, so any lower-case letter or digit left
        /// outside `<redacted>`, `export` and comments is a leak). (A line `ABC=` is an empty
        /// assignment, whatever it was meant to be: base64 with one `=` of padding on a line of
        /// its own cannot be told from it.)
        #[test]
        fn fuzz_env_redaction(
            entries in prop::collection::vec(
                prop_oneof![
                    4 => entry(),
                    1 => Just("# NOTE".to_string()),
                    1 => Just(String::new()),
                    // Stray lines: not assignments (a continuation, base64 with `==` padding).
                    1 => "[0-9+/][a-z0-9=+/# ]{0,30}",
                    1 => "[a-zA-Z0-9+/]{4,40}==",
                ],
                0..12,
            ),
            crlf in any::<bool>(),
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let text = entries.join(nl);
            let (out, _) = redact_env(&text);
            let rest = out.replace(REDACTED, "").replace("export", "");
            prop_assert!(
                !rest.chars().any(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "a value survived:\n{text}\n---\n{out}"
            );
        }
    }

    /// A Compose value: starts with `zq`, a marker nothing else in the file has.
    fn compose_secret() -> impl Strategy<Value = String> {
        "zq[a-z0-9=+/ -]{0,20}[a-z0-9]"
    }

    /// One service's `environment:` in one of the forms Compose accepts.
    fn environment() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(("[A-Z_]{1,10}", compose_secret(), 0..6u8), 1..5),
            any::<bool>(),
        )
            .prop_map(|(entries, compact)| {
                let item = if compact { "    " } else { "      " };
                let mut out = String::from("    environment:\n");
                for (key, value, form) in entries {
                    let line = match form {
                        0 => format!("      {key}: {value}"),
                        1 => format!("      {key}: \"{value}\""),
                        2 => format!("      \"{key}\": '{value}'"),
                        3 => format!("      {key}: |\n        {value}\n        {value}"),
                        4 => format!("{item}- {key}={value}"),
                        _ => format!("{item}- \"{key}={value}\""),
                    };
                    out.push_str(&line);
                    out.push('\n');
                }
                out
            })
    }

    proptest! {
        #![proptest_config(offsite_testkit::fuzz::config())]
        /// Generated Compose files: no `environment:` value survives, in any form; what is not
        /// under `environment:` is kept.
        #[test]
        fn fuzz_compose_redaction(
            services in prop::collection::vec(
                (environment(), any::<bool>(), any::<bool>()),
                1..5,
            ),
        ) {
            let mut text = String::from("services:\n");
            for (i, (env, image_first, flow)) in services.iter().enumerate() {
                text.push_str(&format!("  s{i}:\n"));
                if *image_first {
                    text.push_str("    image: postgres\n");
                }
                if *flow {
                    text.push_str("    environment: {A: zqflow, B: zqflow2}\n");
                } else {
                    text.push_str(env);
                }
                text.push_str("    ports:\n      - 5432:5432\n");
            }
            let (out, _) = redact_compose(&text);
            prop_assert!(!out.contains("zq"), "a value survived:\n{text}\n---\n{out}");
            prop_assert_eq!(
                out.matches("- 5432:5432").count(),
                services.len(),
                "{}", out
            );
        }
    }
}
