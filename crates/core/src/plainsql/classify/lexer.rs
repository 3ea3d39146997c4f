//! The tokenizer of [`super`]: the server's lexical rules for what matters there.

/// A token of SQL, as the server reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    /// A keyword or unquoted identifier.
    Word(&'a [u8]),
    /// A `"quoted identifier"` (inside, doubled quotes as written).
    Ident(&'a [u8]),
    /// A string constant's content (`'…'`, `E'…'`, `B'…'`, `X'…'`, `U&'…'`).
    Str(&'a [u8]),
    /// A dollar-quoted string's content.
    Dollar(&'a [u8]),
    Num,
    /// `( ) [ ] , ; . =` and other single characters.
    Punct(u8),
    /// An operator (`::`, `<>`, `||`, `-`, …).
    Op(&'a [u8]),
    /// A parameter (`$1`) or a byte that starts nothing.
    Other,
}

impl Tok<'_> {
    /// The keyword `w` (upper case), without allocating.
    pub(super) fn is_word(&self, w: &str) -> bool {
        matches!(self, Tok::Word(x) if x.eq_ignore_ascii_case(w.as_bytes()))
    }
    pub(super) fn upper(&self) -> String {
        match self {
            Tok::Word(w) => String::from_utf8_lossy(w).to_ascii_uppercase(),
            Tok::Punct(c) => (*c as char).to_string(),
            Tok::Op(o) => String::from_utf8_lossy(o).into_owned(),
            _ => String::new(),
        }
    }
    pub(super) fn is_name(&self) -> bool {
        matches!(self, Tok::Word(_) | Tok::Ident(_))
    }
    /// An identifier's name (unquoted words folded to lower case).
    pub(super) fn name(&self) -> String {
        match self {
            Tok::Word(w) => String::from_utf8_lossy(w).to_ascii_lowercase(),
            Tok::Ident(w) => String::from_utf8_lossy(w).replace("\"\"", "\""),
            _ => String::new(),
        }
    }
}

/// The tokenizer: the server's lexical rules for what matters here (comments nested, quotes
/// with their escapes, dollar quotes, identifiers). An unterminated quote or comment runs to
/// the end.
#[derive(Clone)]
pub(crate) struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

fn ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

const OP_CHARS: &[u8] = b"+-*/<>=~!@#%^&|`?:";

impl<'a> Lexer<'a> {
    pub(crate) fn new(s: &'a [u8]) -> Self {
        Lexer { s, i: 0 }
    }

    /// The next token with where it starts and ends.
    pub(crate) fn next_span(&mut self) -> Option<(usize, usize, Tok<'a>)> {
        self.skip_space();
        let from = self.i;
        let tok = self.next()?;
        Some((from, self.i, tok))
    }

    /// Where the first token starts (comments and whitespace skipped).
    pub(super) fn first_token_start(mut self) -> Option<usize> {
        self.skip_space();
        (self.i < self.s.len()).then_some(self.i)
    }

    fn skip_space(&mut self) {
        let s = self.s;
        loop {
            while self.i < s.len() && s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
            if s[self.i..].starts_with(b"--") {
                while self.i < s.len() && s[self.i] != b'\n' {
                    self.i += 1;
                }
            } else if s[self.i..].starts_with(b"/*") {
                let mut depth = 0usize;
                while self.i < s.len() {
                    if s[self.i..].starts_with(b"/*") {
                        depth += 1;
                        self.i += 2;
                    } else if s[self.i..].starts_with(b"*/") {
                        depth -= 1;
                        self.i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        self.i += 1;
                    }
                }
            } else {
                return;
            }
        }
    }

    /// A quoted run from `self.i` (at the opening quote); returns its content.
    fn quoted(&mut self, q: u8, escapes: bool) -> &'a [u8] {
        let s = self.s;
        self.i += 1;
        let start = self.i;
        while self.i < s.len() {
            let c = s[self.i];
            if escapes && c == b'\\' {
                self.i += 2;
                continue;
            }
            if c == q {
                if s.get(self.i + 1) == Some(&q) {
                    self.i += 2;
                    continue;
                }
                let content = &s[start..self.i];
                self.i += 1;
                return content;
            }
            self.i += 1;
        }
        self.i = s.len();
        &s[start..]
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Tok<'a>;

    fn next(&mut self) -> Option<Tok<'a>> {
        self.skip_space();
        let s = self.s;
        let c = *s.get(self.i)?;
        // String constants with a prefix: E'…', B'…', X'…', N'…', U&'…'.
        if matches!(c, b'E' | b'e' | b'B' | b'b' | b'X' | b'x' | b'N' | b'n')
            && s.get(self.i + 1) == Some(&b'\'')
        {
            self.i += 1;
            return Some(Tok::Str(self.quoted(b'\'', matches!(c, b'E' | b'e'))));
        }
        if matches!(c, b'U' | b'u') && s.get(self.i + 1) == Some(&b'&') {
            match s.get(self.i + 2) {
                Some(b'\'') => {
                    self.i += 2;
                    return Some(Tok::Str(self.quoted(b'\'', false)));
                }
                Some(b'"') => {
                    self.i += 2;
                    return Some(Tok::Ident(self.quoted(b'"', false)));
                }
                _ => {}
            }
        }
        if ident_start(c) {
            let start = self.i;
            while self.i < s.len() && ident_char(s[self.i]) {
                self.i += 1;
            }
            return Some(Tok::Word(&s[start..self.i]));
        }
        match c {
            b'\'' => Some(Tok::Str(self.quoted(b'\'', false))),
            b'"' => Some(Tok::Ident(self.quoted(b'"', false))),
            b'$' => {
                if let Some(tag) = crate::plainsql::lex::dollar_tag(&s[self.i..])
                    .map(|n| s[self.i..self.i + n].to_vec())
                {
                    let start = self.i + tag.len();
                    let end = s[start..]
                        .windows(tag.len())
                        .position(|w| w == tag.as_slice())
                        .map(|p| start + p);
                    return Some(match end {
                        Some(e) => {
                            self.i = e + tag.len();
                            Tok::Dollar(&s[start..e])
                        }
                        None => {
                            self.i = s.len();
                            Tok::Dollar(&s[start..])
                        }
                    });
                }
                self.i += 1;
                while self.i < s.len() && s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                Some(Tok::Other)
            }
            b'0'..=b'9' => {
                while self.i < s.len()
                    && (s[self.i].is_ascii_alphanumeric() || s[self.i] == b'.' || s[self.i] == b'_')
                {
                    self.i += 1;
                }
                Some(Tok::Num)
            }
            b'.' if s.get(self.i + 1).is_some_and(u8::is_ascii_digit) => {
                self.i += 1;
                while self.i < s.len() && (s[self.i].is_ascii_alphanumeric() || s[self.i] == b'.') {
                    self.i += 1;
                }
                Some(Tok::Num)
            }
            b'(' | b')' | b'[' | b']' | b',' | b';' | b'.' => {
                self.i += 1;
                Some(Tok::Punct(c))
            }
            c if OP_CHARS.contains(&c) => {
                let start = self.i;
                while self.i < s.len()
                    && OP_CHARS.contains(&s[self.i])
                    && !s[self.i..].starts_with(b"--")
                    && !s[self.i..].starts_with(b"/*")
                {
                    self.i += 1;
                }
                let op = &s[start..self.i];
                Some(if op == b"=" {
                    Tok::Punct(b'=')
                } else {
                    Tok::Op(op)
                })
            }
            _ => {
                self.i += 1;
                Some(Tok::Other)
            }
        }
    }
}
