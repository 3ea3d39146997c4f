//! The column list of a dump's `CREATE TABLE` (and composite `CREATE TYPE … AS (…)`) statement,
//! read for display only: each column's name and type as pg_dump wrote it (`format_type`'s
//! text: `numeric(10,2)[]`, `character varying(20)`, `timestamp with time zone`,
//! `public."Odd Type"`), the tables it inherits from (`INHERITS (…)`, `PARTITION OF …`) and the
//! type a typed table is `OF`.
//!
//! The statement is the archive's text, so hostile: it is tokenized (quoted identifiers with
//! `""`, string literals with `''` or `E'\…'`, dollar quotes, comments, nested parentheses),
//! never executed or passed on, bounded in size and tokens, and anything that is not the shape
//! pg_dump writes is an error the caller shows as "no types", never a panic or a guess.

/// Longest statement read (pg_dump's `CREATE TABLE` of 1,600 columns is far smaller).
pub(super) const MAX_DEFN: usize = 4 << 20;
/// Most tokens lexed from one statement.
const MAX_TOKENS: usize = 400_000;
/// Most entries (columns and constraints) in one column list.
const MAX_ITEMS: usize = 10_000;
/// A type text longer than this is not shown.
pub(super) const MAX_TYPE: usize = 512;

/// A qualified name: (schema, name); the schema is empty when the statement gave none.
pub(super) type QName = (String, String);

/// What a `CREATE TABLE` or composite `CREATE TYPE` statement says about its columns.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct TableDef {
    /// Columns in order: name and type (`None`: `WITH OPTIONS` of a typed table, no type given).
    pub columns: Vec<(String, Option<String>)>,
    /// `INHERITS (…)` and `PARTITION OF …`: where columns not listed here are defined.
    pub parents: Vec<QName>,
    /// `OF type`: the composite type a typed table's columns come from.
    pub of_type: Option<QName>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A bare word (identifier or keyword).
    Word,
    /// A `"quoted"` identifier.
    Quoted,
    /// A string literal or dollar-quoted string.
    Str,
    Num,
    Punct(u8),
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
    /// Whitespace (or a comment) came before it.
    space: bool,
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Where a quoted run that opened at `from` (just after its opening `q`) ends (after the
/// closing `q`); `q` doubled inside stands for itself; with `backslash`, `\` escapes a byte.
fn quoted_end(s: &[u8], from: usize, q: u8, backslash: bool) -> Result<usize, String> {
    let mut i = from;
    while i < s.len() {
        match s[i] {
            b'\\' if backslash => i += 2,
            b if b == q && s.get(i + 1) == Some(&q) => i += 2,
            b if b == q => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(format!("an unterminated {} quote", q as char))
}

/// A dollar quote's end (`$tag$…$tag$`) when `s[at..]` opens one; `None` when it does not.
fn dollar_end(s: &[u8], at: usize) -> Option<Result<usize, String>> {
    let mut i = at + 1;
    while i < s.len() && is_word_byte(s[i]) && s[i] != b'$' {
        i += 1;
    }
    if s.get(i) != Some(&b'$') || s.get(at + 1).is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    let tag = &s[at..=i];
    let body = i + 1;
    Some(
        s[body..]
            .windows(tag.len())
            .position(|w| w == tag)
            .map(|p| body + p + tag.len())
            .ok_or_else(|| "an unterminated dollar quote".to_string()),
    )
}

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    if text.len() > MAX_DEFN {
        return Err(format!(
            "the statement is {} bytes, more than {MAX_DEFN}",
            text.len()
        ));
    }
    let s = text.as_bytes();
    let (mut out, mut i, mut space) = (Vec::new(), 0usize, false);
    while i < s.len() {
        let b = s[i];
        let start = i;
        let kind = match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                i += 1;
                space = true;
                continue;
            }
            b'-' if s.get(i + 1) == Some(&b'-') => {
                i = s[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(s.len(), |p| i + p);
                space = true;
                continue;
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                i = block_comment_end(s, i)?;
                space = true;
                continue;
            }
            b'"' => {
                i = quoted_end(s, i + 1, b'"', false)?;
                if i - start < 3 {
                    return Err("an empty quoted name".into());
                }
                Kind::Quoted
            }
            b'\'' => {
                i = quoted_end(s, i + 1, b'\'', false)?;
                Kind::Str
            }
            b'e' | b'E' if s.get(i + 1) == Some(&b'\'') => {
                i = quoted_end(s, i + 2, b'\'', true)?;
                Kind::Str
            }
            b'$' => match dollar_end(s, i) {
                Some(end) => {
                    i = end?;
                    Kind::Str
                }
                None => {
                    i += 1;
                    Kind::Punct(b'$')
                }
            },
            b if is_word_start(b) => {
                while i < s.len() && is_word_byte(s[i]) {
                    i += 1;
                }
                Kind::Word
            }
            b if b.is_ascii_digit() => {
                while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'.') {
                    i += 1;
                }
                Kind::Num
            }
            b => {
                i += 1;
                Kind::Punct(b)
            }
        };
        if out.len() == MAX_TOKENS {
            return Err(format!("the statement has more than {MAX_TOKENS} tokens"));
        }
        out.push(Tok {
            kind,
            start,
            end: i.min(s.len()),
            space,
        });
        space = false;
    }
    Ok(out)
}

/// Where a `/* … */` comment (nesting, as PostgreSQL's) that starts at `at` ends.
fn block_comment_end(s: &[u8], at: usize) -> Result<usize, String> {
    let (mut depth, mut i) = (0usize, at);
    while i + 1 < s.len() {
        match (s[i], s[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Ok(i);
                }
            }
            _ => i += 1,
        }
    }
    Err("an unterminated comment".into())
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Tok>,
    at: usize,
}

/// Keywords that end a column's type (the clauses pg_dump, or a user, writes after it).
const TYPE_ENDS: &[&str] = &[
    "collate",
    "compression",
    "constraint",
    "default",
    "generated",
    "not",
    "null",
    "check",
    "references",
    "primary",
    "unique",
    "storage",
];

/// Column-list entries that are constraints or clauses, not columns.
const NOT_COLUMNS: &[&str] = &[
    "constraint",
    "check",
    "unique",
    "primary",
    "foreign",
    "exclude",
    "like",
];

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Result<Self, String> {
        Ok(Parser {
            text,
            toks: lex(text)?,
            at: 0,
        })
    }

    fn src(&self, t: Tok) -> &'a str {
        self.text.get(t.start..t.end).unwrap_or("")
    }

    /// Whether token `i` is the bare word `w` (case-insensitive).
    fn is_word(&self, i: usize, w: &str) -> bool {
        self.toks
            .get(i)
            .is_some_and(|t| t.kind == Kind::Word && self.src(*t).eq_ignore_ascii_case(w))
    }

    fn is_punct(&self, i: usize, p: u8) -> bool {
        self.toks.get(i).is_some_and(|t| t.kind == Kind::Punct(p))
    }

    fn word(&mut self, w: &str) -> Result<(), String> {
        if self.is_word(self.at, w) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("no {}", w.to_ascii_uppercase()))
        }
    }

    /// An identifier: a bare word folded to lower case, or a quoted one unquoted.
    fn ident_at(&self, i: usize) -> Option<String> {
        let t = *self.toks.get(i)?;
        let s = self.src(t);
        match t.kind {
            Kind::Word => Some(s.to_lowercase()),
            Kind::Quoted => Some(s[1..s.len() - 1].replace("\"\"", "\"")),
            _ => None,
        }
    }

    /// `name` or `schema.name`.
    fn qualified(&mut self) -> Result<QName, String> {
        let first = self.ident_at(self.at).ok_or("no name")?;
        self.at += 1;
        if self.is_punct(self.at, b'.') {
            let second = self.ident_at(self.at + 1).ok_or("no name after a dot")?;
            self.at += 2;
            return Ok((first, second));
        }
        Ok((String::new(), first))
    }

    /// The entries of a parenthesized list starting at `(`: each as a token range, split at
    /// commas outside nested brackets. The parser stands after the closing `)`.
    fn list(&mut self) -> Result<Vec<(usize, usize)>, String> {
        if !self.is_punct(self.at, b'(') {
            return Err("no column list".into());
        }
        self.at += 1;
        let (mut items, mut depth, mut from) = (Vec::new(), 0usize, self.at);
        while let Some(t) = self.toks.get(self.at) {
            match t.kind {
                Kind::Punct(b'(' | b'[') => depth += 1,
                Kind::Punct(b')') if depth == 0 => {
                    if self.at > from || !items.is_empty() {
                        items.push((from, self.at));
                    }
                    self.at += 1;
                    return Ok(items);
                }
                Kind::Punct(b')' | b']') => depth = depth.saturating_sub(1),
                Kind::Punct(b',') if depth == 0 => {
                    items.push((from, self.at));
                    from = self.at + 1;
                    if items.len() > MAX_ITEMS {
                        return Err(format!("more than {MAX_ITEMS} columns"));
                    }
                }
                _ => {}
            }
            self.at += 1;
        }
        Err("the column list does not end".into())
    }

    /// One column-list entry: `None` for a constraint; else the column's name and type.
    #[allow(clippy::type_complexity)]
    fn column(
        &self,
        (from, to): (usize, usize),
    ) -> Result<Option<(String, Option<String>)>, String> {
        if from >= to {
            return Err("an empty entry in the column list".into());
        }
        if NOT_COLUMNS.iter().any(|w| self.is_word(from, w)) {
            return Ok(None);
        }
        let name = self
            .ident_at(from)
            .ok_or("an entry of the column list that does not start with a name")?;
        if self.is_word(from + 1, "with") && self.is_word(from + 2, "options") {
            return Ok(Some((name, None)));
        }
        let (mut ty, mut depth) = (String::new(), 0usize);
        for i in from + 1..to {
            let t = self.toks[i];
            let after_dot = self.is_punct(i - 1, b'.');
            if depth == 0 && !after_dot && TYPE_ENDS.iter().any(|w| self.is_word(i, w)) {
                break;
            }
            match t.kind {
                Kind::Punct(b'(' | b'[') => depth += 1,
                Kind::Punct(b')' | b']') => depth = depth.saturating_sub(1),
                Kind::Str => return Err(format!("a string in the type of column {name:?}")),
                _ => {}
            }
            if t.space && !ty.is_empty() {
                ty.push(' ');
            }
            ty.push_str(self.src(t));
            if ty.len() > MAX_TYPE {
                return Ok(Some((name, None)));
            }
        }
        Ok(Some((name, (!ty.is_empty()).then_some(ty))))
    }

    fn columns(&self, items: &[(usize, usize)]) -> Result<Vec<(String, Option<String>)>, String> {
        let mut out = Vec::new();
        for &item in items {
            if let Some(c) = self.column(item)? {
                out.push(c);
            }
        }
        Ok(out)
    }
}

/// Reads a `CREATE [UNLOGGED] TABLE name [OF type | PARTITION OF parent] [(…)] [INHERITS (…)]
/// …` statement (the `defn` of a dump's TABLE entry).
pub(super) fn parse_table(defn: &str) -> Result<TableDef, String> {
    let mut p = Parser::new(defn)?;
    p.word("create")?;
    for w in [
        "global",
        "local",
        "temporary",
        "temp",
        "unlogged",
        "foreign",
    ] {
        if p.is_word(p.at, w) {
            p.at += 1;
        }
    }
    p.word("table")?;
    p.qualified()?;
    let mut def = TableDef::default();
    if p.is_word(p.at, "of") {
        p.at += 1;
        def.of_type = Some(p.qualified()?);
    } else if p.is_word(p.at, "partition") && p.is_word(p.at + 1, "of") {
        p.at += 2;
        def.parents.push(p.qualified()?);
    }
    if p.is_punct(p.at, b'(') {
        let items = p.list()?;
        def.columns = p.columns(&items)?;
    } else if def.of_type.is_none() && def.parents.is_empty() {
        return Err("no column list".into());
    }
    while p.at < p.toks.len() {
        if p.is_word(p.at, "inherits") && p.is_punct(p.at + 1, b'(') {
            p.at += 2;
            loop {
                def.parents.push(p.qualified()?);
                if p.is_punct(p.at, b',') {
                    p.at += 1;
                } else if p.is_punct(p.at, b')') {
                    break;
                } else {
                    return Err("a malformed INHERITS list".into());
                }
            }
        }
        p.at += 1;
    }
    Ok(def)
}

/// Reads a composite type's `CREATE TYPE name AS (…)` (the `defn` of a dump's TYPE entry).
pub(super) fn parse_composite_type(defn: &str) -> Result<TableDef, String> {
    let mut p = Parser::new(defn)?;
    p.word("create")?;
    p.word("type")?;
    p.qualified()?;
    p.word("as")?;
    if !p.is_punct(p.at, b'(') {
        return Err("not a composite type".into());
    }
    let items = p.list()?;
    Ok(TableDef {
        columns: p.columns(&items)?,
        ..Default::default()
    })
}

/// Reads a dump's `ALTER TABLE [ONLY] table ADD CONSTRAINT name PRIMARY KEY (columns)` (the
/// `defn` of a CONSTRAINT entry): the table and its key's columns, or `None` for another kind
/// of constraint.
pub(super) fn parse_primary_key(defn: &str) -> Result<Option<(QName, Vec<String>)>, String> {
    let mut p = Parser::new(defn)?;
    p.word("alter")?;
    p.word("table")?;
    if p.is_word(p.at, "only") {
        p.at += 1;
    }
    let table = p.qualified()?;
    p.word("add")?;
    p.word("constraint")?;
    p.ident_at(p.at).ok_or("no constraint name")?;
    p.at += 1;
    if !(p.is_word(p.at, "primary") && p.is_word(p.at + 1, "key")) {
        return Ok(None);
    }
    p.at += 2;
    let items = p.list()?;
    let mut columns = Vec::with_capacity(items.len());
    for (from, to) in items {
        if to != from + 1 {
            return Err("a primary key entry that is not one column name".into());
        }
        columns.push(
            p.ident_at(from)
                .ok_or("a primary key entry that is not a name")?,
        );
    }
    if columns.is_empty() {
        return Err("a primary key without columns".into());
    }
    Ok(Some((table, columns)))
}
