//! Text read from a backup or a database, made safe to print on a terminal.
//!
//! Values, column and table names come from dumps and live databases: hostile text. Printed
//! raw, a newline breaks the table a user reads and an escape sequence (`ESC [ …`) drives their
//! terminal. Every row value and name the CLI prints from data goes through here: control
//! characters are shown escaped (`\n`, `\t`, `\u{1b}`), everything else as it is.

/// A value: `NULL` for SQL NULL, else the text with control characters escaped.
pub fn value(v: &Option<String>) -> String {
    match v {
        None => "NULL".into(),
        Some(s) => text(s),
    }
}

/// Text with control characters (and only those) escaped: quotes and non-ASCII letters stay.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// `schema.table` as SQL would name it: a part that is not a plain lower-case identifier is
/// double-quoted (`public."Audit Log"`), so what is printed is what `--table` takes back.
pub fn table(schema: &str, table: &str) -> String {
    format!("{}.{}", ident(schema), ident(table))
}

/// One identifier, quoted when it must be (and with control characters escaped).
pub fn ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", text(&name.replace('"', "\"\"")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_nothing_else() {
        assert_eq!(value(&None), "NULL");
        assert_eq!(
            value(&Some("line1\nline2\ttab \u{1b}[31mred".into())),
            "line1\\nline2\\ttab \\u{1b}[31mred"
        );
        // quotes, backslashes and letters beyond ASCII are printed as they are
        assert_eq!(text(r#"it's "q" \ é"#), r#"it's "q" \ é"#);
    }

    #[test]
    fn names_print_as_sql_takes_them_back() {
        assert_eq!(table("public", "orders"), "public.orders");
        assert_eq!(table("public", "Audit Log"), "public.\"Audit Log\"");
        assert_eq!(table("a.b", "x\"y"), "\"a.b\".\"x\"\"y\"");
        assert_eq!(ident("t\u{1b}"), "\"t\\u{1b}\"");
        assert_eq!(ident("1st"), "\"1st\"");
    }
}
