//! The product's words (docs/glossary.md): a count with its noun, "1 table", "2 tables", "1 copy",
//! "2 copies", never "table(s)". The engine's messages, notifications and job results use it, and
//! so does the command line's human output (its `words` module re-exports this one).

/// The plural of an English noun: "table" → "tables", "copy" → "copies", "match" → "matches".
pub fn plural_of(noun: &str) -> String {
    let lower = noun.to_ascii_lowercase();
    let irregular = match lower.as_str() {
        "child" => Some("children"),
        "person" => Some("people"),
        _ => None,
    };
    if let Some(p) = irregular {
        return p.to_string();
    }
    let ends = |s: &str| lower.ends_with(s);
    if ends("y") && !["ay", "ey", "iy", "oy", "uy"].iter().any(|v| ends(v)) {
        return format!("{}ies", &noun[..noun.len() - 1]);
    }
    if ["s", "x", "z", "ch", "sh"].iter().any(|s| ends(s)) {
        return format!("{noun}es");
    }
    format!("{noun}s")
}

/// "1 table", "2 tables", "0 copies".
pub fn plural(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {}", plural_of(noun))
    }
}

/// [`plural`] for a `usize` count (a list's length).
pub fn count(n: usize, noun: &str) -> String {
    plural(n as u64, noun)
}

/// The text with its first letter a capital ("nothing was imported" → "Nothing was imported"):
/// a clause said on its own is a sentence.
pub fn sentence_case(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// At most 80 characters of user input, for error messages.
pub fn shorten(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(80).collect::<String>())
    }
}

/// An RFC 3339 time as a sentence the app shows says it: to the second, in UTC, without the
/// `T`, fraction or offset ("2026-11-28T06:31:23.443668Z" → "2026-11-28 06:31:23 UTC"; the app
/// writes it in this computer's zone, in its one date format). Anything else as it is.
pub fn readable_utc(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| {
            d.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_time_in_a_sentence_is_read_to_the_second_in_utc() {
        assert_eq!(
            readable_utc("2026-11-28T06:31:23.443668Z"),
            "2026-11-28 06:31:23 UTC"
        );
        assert_eq!(
            readable_utc("2026-11-28T07:31:23+01:00"),
            "2026-11-28 06:31:23 UTC"
        );
        assert_eq!(readable_utc("yesterday"), "yesterday");
    }

    use super::*;

    #[test]
    fn a_clause_said_alone_starts_with_a_capital() {
        assert_eq!(
            sentence_case("nothing was imported"),
            "Nothing was imported"
        );
        assert_eq!(sentence_case("élan"), "Élan");
        assert_eq!(sentence_case(""), "");
    }

    #[test]
    fn counts_read_as_english() {
        assert_eq!(plural(1u64, "table"), "1 table");
        assert_eq!(plural(2u64, "table"), "2 tables");
        assert_eq!(plural(0u64, "copy"), "0 copies");
        assert_eq!(plural(1u64, "copy"), "1 copy");
        assert_eq!(count(3, "new backup"), "3 new backups");
        assert_eq!(count(2, "match"), "2 matches");
        assert_eq!(count(2, "day"), "2 days");
        assert_eq!(count(5, "setting"), "5 settings");
        assert_eq!(count(2, "child"), "2 children");
        assert_eq!(count(1, "worker"), "1 worker");
        assert_eq!(count(2, "statement"), "2 statements");
    }
}
