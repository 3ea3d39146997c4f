//! Parsing `globals.sql` (`pg_dumpall --globals-only --no-role-passwords`): the archive's file
//! is untrusted, and what Offsite takes from it reaches psql. So nothing is copied "as written":
//! each statement Offsite uses is parsed into its parts — role names, the known attribute
//! keywords, `CONNECTION LIMIT n`, `VALID UNTIL '…'`, setting names and literal values,
//! membership options — and the SQL is written again by Offsite from those parts. A statement of
//! a kind Offsite uses that does not parse marks the roles it names as invalid: recreating them
//! is refused (see [`super::plan_roles`]). Lines of other kinds are ignored (they never reach
//! psql).

use super::super::toc::take_ident;
use crate::postgres::restore::quote_ident;
use std::collections::BTreeMap;

/// A role as `globals.sql` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GlobalRole {
    /// Its attributes as Offsite writes them: keywords (`NOSUPERUSER`, `LOGIN`, …),
    /// `CONNECTION LIMIT 5`, `VALID UNTIL '…'`.
    pub attributes: Vec<String>,
    /// Its `ALTER ROLE … SET …;` statements, written by Offsite from the parsed parts.
    pub settings: Vec<String>,
}

impl GlobalRole {
    #[cfg(test)]
    pub fn has(&self, attr: &str) -> bool {
        self.attributes.iter().any(|a| a == attr)
    }
}

/// `GRANT role TO member`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Membership {
    pub role: String,
    pub member: String,
    pub admin: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Globals {
    pub roles: BTreeMap<String, GlobalRole>,
    pub memberships: Vec<Membership>,
    /// Roles named by a statement that did not parse, with the first reason: never recreated.
    pub invalid: BTreeMap<String, String>,
}

/// The attribute keywords `CREATE ROLE … WITH` takes from `globals.sql`.
const KEYWORDS: &[&str] = &[
    "SUPERUSER",
    "NOSUPERUSER",
    "CREATEDB",
    "NOCREATEDB",
    "CREATEROLE",
    "NOCREATEROLE",
    "INHERIT",
    "NOINHERIT",
    "LOGIN",
    "NOLOGIN",
    "REPLICATION",
    "NOREPLICATION",
    "BYPASSRLS",
    "NOBYPASSRLS",
];

/// The longest statement (a settings line with a long value) Offsite reads.
const MAX_STATEMENT: usize = 64 * 1024;

/// Parse `pg_dumpall --globals-only` output. Lines of kinds Offsite does not use are ignored.
pub(crate) fn parse_globals(sql: &str) -> Globals {
    let mut g = Globals::default();
    let mut rest = sql;
    while !rest.is_empty() {
        let line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let next = if let Some(s) = rest.strip_prefix("CREATE ROLE ") {
            match take_role(s).and_then(|(name, s)| end_of_statement(s).map(|r| (name, r))) {
                Ok((name, r)) => {
                    g.roles.entry(name).or_default();
                    Some(r)
                }
                Err(why) => {
                    mark(&mut g, leading_name(s), why);
                    None
                }
            }
        } else if let Some(s) = rest.strip_prefix("ALTER ROLE ") {
            alter_role(&mut g, s)
        } else if let Some(s) = rest.strip_prefix("GRANT ") {
            grant(&mut g, s)
        } else {
            None
        };
        rest = match next {
            Some(r) => r,
            None => &rest[line_end..],
        };
    }
    g
}

/// Records `why` against the role a statement names (when a name can be made out at all).
fn mark(g: &mut Globals, name: Option<String>, why: String) {
    if let Some(name) = name {
        g.invalid.entry(name).or_insert(why);
    }
}

/// The role name at the start of `s`, for naming it in an error, even if it is not valid.
fn leading_name(s: &str) -> Option<String> {
    take_ident(s).map(|(n, _)| n).filter(|n| !n.is_empty())
}

/// `ALTER ROLE name WITH …;` or `ALTER ROLE name [IN DATABASE db] SET name TO value, …;`.
fn alter_role<'a>(g: &mut Globals, s: &'a str) -> Option<&'a str> {
    let (name, after) = match take_role(s) {
        Ok(x) => x,
        Err(why) => {
            mark(g, leading_name(s), why);
            return None;
        }
    };
    if let Some(attrs) = after.strip_prefix(" WITH ") {
        match attributes(attrs) {
            Ok((list, r)) => {
                g.roles.entry(name).or_default().attributes = list;
                Some(r)
            }
            Err(why) => {
                mark(g, Some(name), why);
                None
            }
        }
    } else if after.starts_with(" SET ") || after.starts_with(" IN DATABASE ") {
        match setting(&name, after) {
            Ok((stmt, r)) => {
                g.roles.entry(name).or_default().settings.push(stmt);
                Some(r)
            }
            Err(why) => {
                mark(g, Some(name), why);
                None
            }
        }
    } else {
        // Other ALTER ROLE forms are not used (and never reach psql).
        None
    }
}

/// `GRANT role TO member [WITH ADMIN OPTION | WITH opt, …] [GRANTED BY grantor];`. Lines of
/// other GRANTs (`GRANT SET ON PARAMETER …`, on tablespaces) are not memberships: ignored.
fn grant<'a>(g: &mut Globals, s: &'a str) -> Option<&'a str> {
    let (role, after) = take_ident(s)?;
    let after = after.strip_prefix(" TO ")?;
    let parsed = valid_name(&role)
        .and_then(|_| take_role(after))
        .and_then(|(member, r)| grant_options(r).map(|(admin, r)| (member, admin, r)));
    match parsed {
        Ok((member, admin, r)) => {
            g.memberships.push(Membership {
                role,
                member,
                admin,
            });
            Some(r)
        }
        Err(why) => {
            mark(g, leading_name(after), why.clone());
            mark(g, Some(role), why);
            None
        }
    }
}

/// What follows the member of a `GRANT`: returns whether it is `WITH ADMIN`.
fn grant_options(s: &str) -> Result<(bool, &str), String> {
    let mut admin = false;
    let mut rest = s;
    if let Some(opts) = rest.strip_prefix(" WITH ") {
        rest = opts;
        loop {
            let (opt, r) = word(rest).ok_or_else(|| unexpected("GRANT", rest))?;
            let (value, r) = match opt {
                "ADMIN" if r.starts_with(" OPTION") => ("TRUE", &r[" OPTION".len()..]),
                "ADMIN" | "INHERIT" | "SET" => {
                    let r = r.strip_prefix(' ').ok_or_else(|| unexpected("GRANT", r))?;
                    word(r)
                        .filter(|(v, _)| *v == "TRUE" || *v == "FALSE")
                        .ok_or_else(|| unexpected("GRANT", r))?
                }
                _ => return Err(unexpected("GRANT", rest)),
            };
            if opt == "ADMIN" {
                admin = value == "TRUE";
            }
            rest = r;
            match rest.strip_prefix(", ") {
                Some(r) => rest = r,
                None => break,
            }
        }
    }
    if let Some(r) = rest.strip_prefix(" GRANTED BY ") {
        rest = take_role(r)?.1;
    }
    Ok((admin, end_of_statement(rest)?))
}

/// An upper-case keyword at the start of `s` and what follows it.
fn word(s: &str) -> Option<(&str, &str)> {
    let end = s.find(|c: char| !c.is_ascii_uppercase()).unwrap_or(s.len());
    (end > 0).then(|| (&s[..end], &s[end..]))
}

/// A role (or database) name: an identifier without control characters.
fn take_role(s: &str) -> Result<(String, &str), String> {
    let (name, rest) = take_ident(s).ok_or_else(|| unexpected("a role name", s))?;
    valid_name(&name)?;
    Ok((name, rest))
}

fn valid_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 1024 || name.chars().any(char::is_control) {
        return Err(format!(
            "the name {name:?} holds control characters or is empty"
        ));
    }
    Ok(())
}

/// `;` and the end of the line (or of the file): what is after it.
fn end_of_statement(s: &str) -> Result<&str, String> {
    let r = s.strip_prefix(';').ok_or_else(|| unexpected("';'", s))?;
    let r = r.strip_prefix('\r').unwrap_or(r);
    if r.is_empty() {
        Ok(r)
    } else if let Some(r) = r.strip_prefix('\n') {
        Ok(r)
    } else {
        Err(unexpected("the end of the line", r))
    }
}

/// A short description of what was found where `wanted` was expected.
fn unexpected(wanted: &str, found: &str) -> String {
    let shown: String = found.chars().take(40).collect();
    format!("expected {wanted}, found {shown:?}")
}

/// A string literal as pg_dumpall writes it (`appendStringLiteralConn`): `'…'` with quotes
/// doubled (standard-conforming: a backslash is itself), or — when the value holds a
/// backslash — `E'…'` with backslashes doubled too (Supabase's `search_path` item `\$user` is
/// written `E'\\$user'`). Inside `E'…'` only `\\` and `''` are read: pg_dumpall writes no other
/// escape, and one it does not write is refused rather than guessed at. Its value and the rest.
fn literal(s: &str) -> Result<(String, &str), String> {
    let (escapes, body) = match s.strip_prefix("E'").or_else(|| s.strip_prefix("e'")) {
        Some(body) => (true, body),
        None => (
            false,
            s.strip_prefix('\'')
                .ok_or_else(|| unexpected("a quoted value", s))?,
        ),
    };
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if value.len() > MAX_STATEMENT {
            break;
        }
        if c == '\'' {
            if body[i + 1..].starts_with('\'') {
                value.push('\'');
                chars.next();
            } else {
                return Ok((value, &body[i + 1..]));
            }
        } else if c == '\\' && escapes {
            match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                _ => {
                    return Err(unexpected(
                        "only \\\\ after a backslash in E'…' (pg_dumpall writes no other escape)",
                        &body[i..],
                    ))
                }
            }
        } else {
            value.push(c);
        }
    }
    Err("a quoted value is not closed (or is too long)".into())
}

/// A string literal as Offsite writes it: `'…'` with quotes doubled, or `E'…'` with backslashes
/// doubled too when the value has one (so it means the same whatever
/// `standard_conforming_strings` is).
pub(crate) fn quote_literal(v: &str) -> String {
    if v.contains('\\') {
        format!("E'{}'", v.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", v.replace('\'', "''"))
    }
}

/// The attributes after `ALTER ROLE name WITH `, up to the end of the statement.
fn attributes(s: &str) -> Result<(Vec<String>, &str), String> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        if rest.starts_with(';') {
            return Ok((out, end_of_statement(rest)?));
        }
        let (w, r) = word(rest).ok_or_else(|| unexpected("a role attribute", rest))?;
        rest = match w {
            _ if KEYWORDS.contains(&w) => {
                out.push(w.to_string());
                r
            }
            "CONNECTION" => {
                let r = r
                    .strip_prefix(" LIMIT ")
                    .ok_or_else(|| unexpected("LIMIT", r))?;
                let end = r
                    .find(|c: char| !(c.is_ascii_digit() || c == '-'))
                    .unwrap_or(r.len());
                let n: i32 = r[..end]
                    .parse()
                    .map_err(|_| unexpected("a connection limit", r))?;
                if n < -1 {
                    return Err(format!("connection limit {n}"));
                }
                out.push(format!("CONNECTION LIMIT {n}"));
                &r[end..]
            }
            "VALID" => {
                let r = r
                    .strip_prefix(" UNTIL ")
                    .ok_or_else(|| unexpected("UNTIL", r))?;
                let (v, r) = literal(r)?;
                let ok = !v.is_empty()
                    && v.len() <= 64
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || " :+-./".contains(c));
                if !ok {
                    return Err(format!("VALID UNTIL {v:?} is not a timestamp"));
                }
                out.push(format!("VALID UNTIL {}", quote_literal(&v)));
                r
            }
            // Never taken over (a backup holds none; --no-role-passwords writes none).
            "PASSWORD" => {
                let r = r
                    .strip_prefix(' ')
                    .ok_or_else(|| unexpected("a password", r))?;
                match r.strip_prefix("NULL") {
                    Some(r) => r,
                    None => literal(r)?.1,
                }
            }
            _ => return Err(format!("unknown role attribute {w:?}")),
        };
        if rest.starts_with(';') {
            continue;
        }
        rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| unexpected("a space", rest))?;
    }
}

/// A setting name: `name` or `prefix.name` (as written, or double-quoted).
fn setting_name(s: &str) -> Result<(String, &str), String> {
    let (name, rest) = take_ident(s).ok_or_else(|| unexpected("a setting name", s))?;
    // take_ident stops at '.', so a dotted name arrives in parts (unless quoted).
    let (mut name, mut rest) = (name, rest);
    while let Some(r) = rest.strip_prefix('.') {
        let (part, r) = take_ident(r).ok_or_else(|| unexpected("a setting name", r))?;
        name.push('.');
        name.push_str(&part);
        rest = r;
    }
    let valid = name.len() <= 256
        && name.split('.').all(|p| {
            p.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || high(c))
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || high(c))
        });
    if !valid {
        return Err(format!("{name:?} is not a setting name"));
    }
    Ok((name, rest))
}

/// A non-ASCII character PostgreSQL takes in a setting name (any byte with the high bit set,
/// in a server encoding of UTF-8), but none that hides or reorders text.
fn high(c: char) -> bool {
    !c.is_ascii()
        && !c.is_control()
        && !matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// ` [IN DATABASE db] SET name TO 'v', …;` after `ALTER ROLE role`: the statement as Offsite
/// writes it, and what follows it.
fn setting<'a>(role: &str, s: &'a str) -> Result<(String, &'a str), String> {
    let mut stmt = format!("ALTER ROLE {}", quote_ident(role));
    let mut rest = s;
    if let Some(r) = rest.strip_prefix(" IN DATABASE ") {
        let (db, r) = take_role(r)?;
        stmt.push_str(&format!(" IN DATABASE {}", quote_ident(&db)));
        rest = r;
    }
    let r = rest
        .strip_prefix(" SET ")
        .ok_or_else(|| unexpected("SET", rest))?;
    let (name, r) = setting_name(r)?;
    let mut rest = r
        .strip_prefix(" TO ")
        .or_else(|| r.strip_prefix(" = "))
        .ok_or_else(|| unexpected("TO", r))?;
    let mut values = Vec::new();
    loop {
        let (v, r) = literal(rest)?;
        values.push(quote_literal(&v));
        match r.strip_prefix(", ") {
            Some(r) => rest = r,
            None => {
                rest = r;
                break;
            }
        }
    }
    stmt.push_str(&format!(
        " SET {} TO {};",
        quote_ident(&name),
        values.join(", ")
    ));
    if stmt.len() > MAX_STATEMENT {
        return Err("a setting value is too long".into());
    }
    Ok((stmt, end_of_statement(rest)?))
}
