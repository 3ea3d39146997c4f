//! `SCHEMA.TABLE` as a user types it: each part a bare name (taken as written, as Offsite shows
//! names) or a `"quoted"` one (`""` for a quote inside), so a name holding dots or quotes can be
//! named; a bare `TABLE` is in `public`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A table's schema and name, unquoted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TableName {
    pub schema: String,
    pub table: String,
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", shown(&self.schema), shown(&self.table))
    }
}

/// A name as it can be typed back: bare when it holds no dot, quote or space, else quoted.
fn shown(name: &str) -> String {
    if !name.is_empty() && !name.contains(['.', '"', ' ']) {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The longest name part PostgreSQL keeps (NAMEDATALEN - 1), with room for multibyte text.
const MAX_PART: usize = 256;

/// Parses `SCHEMA.TABLE` (see the module's description).
pub fn parse_table_name(given: &str) -> Result<TableName> {
    let bad = |why: &str| {
        Error::invalid(format!("{given:?} is not SCHEMA.TABLE: {why}")).with_hint(
            "write SCHEMA.TABLE; quote a part that holds a dot or a quote: \
             'public.\"my.table\"', with \"\" for a quote inside",
        )
    };
    let mut parts = Vec::new();
    let mut rest = given.trim();
    loop {
        let (part, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices().peekable();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if chars.peek().map(|&(_, c)| c) == Some('"') {
                        chars.next();
                        out.push('"');
                    } else {
                        end = Some(i + 1);
                        break;
                    }
                } else {
                    out.push(c);
                }
            }
            let end = end.ok_or_else(|| bad("a quote is not closed"))?;
            (out, &quoted[end..])
        } else {
            let end = rest.find(['.', '"']).unwrap_or(rest.len());
            if rest[end..].starts_with('"') {
                return Err(bad("a quote inside a bare name"));
            }
            (rest[..end].to_string(), &rest[end..])
        };
        if part.is_empty() {
            return Err(bad("an empty name"));
        }
        if part.len() > MAX_PART {
            return Err(bad("a name longer than PostgreSQL allows"));
        }
        parts.push(part);
        if after.is_empty() {
            break;
        }
        rest = after
            .strip_prefix('.')
            .ok_or_else(|| bad("text after a quoted name"))?;
    }
    match parts.len() {
        1 => Ok(TableName {
            schema: "public".into(),
            table: parts.remove(0),
        }),
        2 => Ok(TableName {
            table: parts.remove(1),
            schema: parts.remove(0),
        }),
        _ => Err(bad("more than two dotted parts")),
    }
}
