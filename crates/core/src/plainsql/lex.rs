//! psql's lexer (`src/fe_utils/psqlscan.l`), as far as it decides what reaches the server and
//! what psql runs itself: quotes, comments, where a statement ends, and where a backslash starts
//! a meta-command.
//!
//! psql reads its input one line at a time (the `\n` stripped, a `\r` kept) and lexes each line
//! from the state the previous one ended in. The rules followed here, token by token, are the
//! ones of psql 14 to 18 wherever they agree; where psql versions lex the same bytes differently
//! the input is refused instead of guessed ([`Stop::Ambiguous`]):
//!
//! - `'…'` with `''` (and `B'…'`, `X'…'`, `N'…'`, `U&'…'`); `E'…'` with backslash escapes; a
//!   plain `'…'` is an escape string too while `standard_conforming_strings` is off (the
//!   splitter follows pg_dump's `SET standard_conforming_strings = …;`);
//! - `"…"` and `U&"…"` with `""`; `$tag$…$tag$` (a tag is an identifier without `$`, and a `$`
//!   inside an identifier or after `$1` does not start one); `--` comments up to a `\n` or
//!   `\r`; nested `/* … */`;
//! - a `;` ends the statement only outside parentheses and outside the `BEGIN … END` of a
//!   `CREATE [OR REPLACE] FUNCTION|PROCEDURE` (psql's heuristic, copied);
//! - a backslash outside all of those starts a meta-command, wherever it stands;
//! - `:name` is a psql variable reference (psql re-lexes a variable's value): refused for the
//!   upper-case names psql defines itself; `:'name'`, `:"name"` are single tokens;
//! - a number directly followed by a letter or `$` (`1e`, `0x1F`, `1_000`, `$1a`, `1e5$$`:
//!   fuzzing against psql 15 found the last one) and a string
//!   continued on a later line after an `E'…'` string are refused (psql versions disagree).

/// Where the lexer is, between two bytes of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    Initial,
    /// Inside `'…'`, `B'…'`, `X'…'`, `U&'…'` (no escapes).
    Quote,
    /// Inside `E'…'` (or `'…'` with standard_conforming_strings off).
    Escape,
    /// Inside `"…"` or `U&"…"`.
    Ident,
    /// Inside `/* … */`, nested this deep beyond the first.
    Comment(u32),
    /// Inside `$tag$…`; the tag with both `$`.
    Dollar(Vec<u8>),
    /// Just after the closing quote of an escape string: a later `'` after a line break would
    /// continue it (psql and the server disagree there).
    AfterEscape {
        newline: bool,
    },
}

/// Why a line's lexing stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The end of the line (the state carries on to the next one).
    Eol,
    /// A statement-ending `;` at this index.
    Semi(usize),
    /// A backslash outside quotes and comments at this index: psql runs a meta-command (or,
    /// for `\;` and `\:`, puts the character into the query).
    Backslash(usize),
    /// Bytes psql versions lex differently, or that psql would change under us.
    Ambiguous(usize, &'static str),
}

/// The lexer's state across lines and statements.
#[derive(Debug, Clone)]
pub(crate) struct Lexer {
    pub mode: Mode,
    pub std_strings: bool,
    paren: u32,
    begin: u32,
    ident_count: u32,
    idents: [u8; 4],
    /// The current statement's first words (lower-case) and what else it names.
    pub words: Vec<String>,
    pub saw_copy: bool,
    pub saw_stdin: bool,
    pub saw_set_config: bool,
    /// The statement holds something psql sends (not only whitespace and `--` comments).
    pub nonempty: bool,
    /// The statement holds a token besides comments and `;` (the server runs something).
    pub real: bool,
}

const MAX_WORDS: usize = 12;

pub(crate) fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

fn is_var_char(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

/// `$tag$` (or `$$`) at the start of `s`: its length.
pub(crate) fn dollar_tag(s: &[u8]) -> Option<usize> {
    let mut j = 1;
    if s.get(j).is_some_and(|&b| is_ident_start(b)) {
        j += 1;
        while s
            .get(j)
            .is_some_and(|&b| is_ident_start(b) || b.is_ascii_digit())
        {
            j += 1;
        }
    }
    (s.get(j) == Some(&b'$')).then_some(j + 1)
}

impl Lexer {
    pub fn new(std_strings: bool) -> Self {
        Lexer {
            mode: Mode::Initial,
            std_strings,
            paren: 0,
            begin: 0,
            ident_count: 0,
            idents: [0; 4],
            words: Vec::new(),
            saw_copy: false,
            saw_stdin: false,
            saw_set_config: false,
            nonempty: false,
            real: false,
        }
    }

    /// Between statements: nothing open.
    pub fn at_rest(&self) -> bool {
        self.mode == Mode::Initial && self.paren == 0 && self.begin == 0
    }

    /// Forget the statement that just ended (psql's `;` rule).
    pub fn next_statement(&mut self) {
        self.ident_count = 0;
        self.words.clear();
        self.saw_copy = false;
        self.saw_stdin = false;
        self.saw_set_config = false;
        self.nonempty = false;
        self.real = false;
    }

    fn token(&mut self) {
        self.nonempty = true;
        self.real = true;
    }

    /// psql's `{identifier}` rule: the BEGIN … END heuristic, and the words kept.
    fn identifier(&mut self, w: &[u8]) {
        self.token();
        if self.ident_count == 0 {
            self.idents = [0; 4];
        }
        let lw = w.to_ascii_lowercase();
        if matches!(
            lw.as_slice(),
            b"create" | b"function" | b"procedure" | b"or" | b"replace"
        ) && (self.ident_count as usize) < self.idents.len()
        {
            self.idents[self.ident_count as usize] = lw[0];
        }
        self.ident_count = self.ident_count.saturating_add(1);
        let i = self.idents;
        if i[0] == b'c'
            && (i[1] == b'f'
                || i[1] == b'p'
                || (i[1] == b'o' && i[2] == b'r' && (i[3] == b'f' || i[3] == b'p')))
            && self.paren == 0
        {
            match lw.as_slice() {
                b"begin" => self.begin += 1,
                b"case" if self.begin >= 1 => self.begin += 1,
                b"end" if self.begin > 0 => self.begin -= 1,
                _ => {}
            }
        }
        match lw.as_slice() {
            b"copy" => self.saw_copy = true,
            b"stdin" => self.saw_stdin = true,
            b"set_config" | b"pg_settings" => self.saw_set_config = true,
            _ => {}
        }
        if self.words.len() < MAX_WORDS {
            self.words.push(String::from_utf8_lossy(&lw).into_owned());
        }
    }

    /// Lexes `line[from..]` (one line without its `\n`) until the end of a statement, a
    /// backslash, something ambiguous, or the end of the line.
    pub fn scan(&mut self, line: &[u8], from: usize) -> Stop {
        let n = line.len();
        let mut i = from;
        while i < n {
            let c = line[i];
            let next = line.get(i + 1).copied();
            match &mut self.mode {
                Mode::Quote => {
                    if c == b'\'' {
                        if next == Some(b'\'') {
                            i += 2;
                            continue;
                        }
                        self.mode = Mode::Initial;
                    }
                    i += 1;
                }
                Mode::Escape => {
                    if c == b'\\' {
                        i += 2;
                        continue;
                    }
                    if c == b'\'' {
                        if next == Some(b'\'') {
                            i += 2;
                            continue;
                        }
                        self.mode = Mode::AfterEscape { newline: false };
                    }
                    i += 1;
                }
                Mode::Ident => {
                    if c == b'"' {
                        if next == Some(b'"') {
                            i += 2;
                            continue;
                        }
                        self.mode = Mode::Initial;
                    }
                    i += 1;
                }
                Mode::Comment(depth) => {
                    if c == b'/' && next == Some(b'*') {
                        *depth += 1;
                        i += 2;
                        continue;
                    }
                    if c == b'*' {
                        let mut j = i;
                        while line.get(j) == Some(&b'*') {
                            j += 1;
                        }
                        if line.get(j) == Some(&b'/') {
                            if *depth == 0 {
                                self.mode = Mode::Initial;
                            } else {
                                *depth -= 1;
                            }
                            i = j + 1;
                        } else {
                            i = j;
                        }
                        continue;
                    }
                    i += 1;
                }
                Mode::Dollar(tag) => {
                    if c == b'$' && line[i..].starts_with(tag) {
                        i += tag.len();
                        self.mode = Mode::Initial;
                        continue;
                    }
                    i += 1;
                }
                Mode::AfterEscape { newline } => match c {
                    b' ' | b'\t' | 0x0b | 0x0c => i += 1,
                    b'\r' => {
                        *newline = true;
                        i += 1;
                    }
                    b'-' if next == Some(b'-') => {
                        i = line[i..]
                            .iter()
                            .position(|&b| b == b'\r')
                            .map_or(n, |k| i + k);
                    }
                    b'\'' if *newline => {
                        return Stop::Ambiguous(
                            i,
                            "a string continued on a later line after an E'…' string",
                        );
                    }
                    _ => self.mode = Mode::Initial,
                },
                Mode::Initial => match self.initial(line, i) {
                    Ok(j) => i = j,
                    Err(stop) => return stop,
                },
            }
        }
        if let Mode::AfterEscape { newline } = &mut self.mode {
            *newline = true;
        }
        Stop::Eol
    }

    /// One token in the INITIAL state at `i`; the index after it, or why lexing stops.
    fn initial(&mut self, line: &[u8], i: usize) -> Result<usize, Stop> {
        let c = line[i];
        let next = line.get(i + 1).copied();
        let at = |k: usize| line.get(i + k).copied();
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => Ok(i + 1),
            b'-' if next == Some(b'-') => {
                // To the end of the line or a `\r`.
                Ok(line[i..]
                    .iter()
                    .position(|&b| b == b'\r')
                    .map_or(line.len(), |k| i + k))
            }
            b'/' if next == Some(b'*') => {
                self.nonempty = true;
                self.mode = Mode::Comment(0);
                Ok(i + 2)
            }
            b'\'' => {
                self.token();
                self.mode = if self.std_strings {
                    Mode::Quote
                } else {
                    Mode::Escape
                };
                Ok(i + 1)
            }
            b'"' => {
                self.token();
                self.mode = Mode::Ident;
                Ok(i + 1)
            }
            b'\\' => Err(Stop::Backslash(i)),
            b';' => {
                self.nonempty = true;
                if self.paren == 0 && self.begin == 0 {
                    Err(Stop::Semi(i))
                } else {
                    Ok(i + 1)
                }
            }
            b'(' => {
                self.token();
                self.paren += 1;
                Ok(i + 1)
            }
            b')' => {
                self.token();
                self.paren = self.paren.saturating_sub(1);
                Ok(i + 1)
            }
            b'$' => {
                self.token();
                if next.is_some_and(|b| b.is_ascii_digit()) {
                    let mut j = i + 1;
                    while line.get(j).is_some_and(u8::is_ascii_digit) {
                        j += 1;
                    }
                    if line.get(j).is_some_and(|&b| is_ident_start(b) || b == b'$') {
                        return Err(Stop::Ambiguous(
                            i,
                            "a parameter directly followed by a letter or $",
                        ));
                    }
                    return Ok(j);
                }
                if let Some(len) = dollar_tag(&line[i..]) {
                    self.mode = Mode::Dollar(line[i..i + len].to_vec());
                    return Ok(i + len);
                }
                Ok(i + 1)
            }
            b':' => self.colon(line, i),
            b'0'..=b'9' => self.number(line, i),
            b'.' if next.is_some_and(|b| b.is_ascii_digit()) => self.number(line, i),
            b if is_ident_start(b) => {
                let quote_after = |k: usize| at(k) == Some(b'\'');
                match b {
                    b'e' | b'E' if quote_after(1) => {
                        self.token();
                        self.mode = Mode::Escape;
                        return Ok(i + 2);
                    }
                    b'b' | b'B' | b'x' | b'X' if quote_after(1) => {
                        self.token();
                        self.mode = Mode::Quote;
                        return Ok(i + 2);
                    }
                    // `N'…'`: the N alone; the quote is lexed next.
                    b'n' | b'N' if quote_after(1) => {
                        self.token();
                        return Ok(i + 1);
                    }
                    b'u' | b'U' if next == Some(b'&') => {
                        self.token();
                        match at(2) {
                            Some(b'\'') => {
                                self.mode = Mode::Quote;
                                return Ok(i + 3);
                            }
                            Some(b'"') => {
                                self.mode = Mode::Ident;
                                return Ok(i + 3);
                            }
                            // `U&` without a quote: the U alone.
                            _ => return Ok(i + 1),
                        }
                    }
                    _ => {}
                }
                let mut j = i + 1;
                while line.get(j).is_some_and(|&b| is_ident_cont(b)) {
                    j += 1;
                }
                self.identifier(&line[i..j]);
                Ok(j)
            }
            _ => {
                self.token();
                Ok(i + 1)
            }
        }
    }

    /// A `:` at `i`: `::` and `:=`, a psql variable (`:name`, `:'name'`, `:"name"`,
    /// `:{?name}`); a reference that psql would substitute is refused.
    fn colon(&mut self, line: &[u8], i: usize) -> Result<usize, Stop> {
        let next = line.get(i + 1).copied();
        let at = |k: usize| line.get(i + k).copied();
        self.token();
        match next {
            Some(b':') | Some(b'=') => Ok(i + 2),
            Some(b) if is_var_char(b) => {
                let mut j = i + 1;
                while line.get(j).is_some_and(|&b| is_var_char(b)) {
                    j += 1;
                }
                let name = &line[i + 1..j];
                if name[0].is_ascii_uppercase()
                    && name
                        .iter()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
                {
                    return Err(Stop::Ambiguous(i, "a psql variable reference"));
                }
                Ok(j)
            }
            Some(q @ (b'\'' | b'"')) => {
                let mut j = i + 2;
                while line.get(j).is_some_and(|&b| is_var_char(b)) {
                    j += 1;
                }
                if j > i + 2 && line.get(j) == Some(&q) {
                    Ok(j + 1)
                } else {
                    Ok(i + 1)
                }
            }
            Some(b'{') if at(2) == Some(b'?') => {
                let mut j = i + 3;
                while line.get(j).is_some_and(|&b| is_var_char(b)) {
                    j += 1;
                }
                if j > i + 3 && line.get(j) == Some(&b'}') {
                    Ok(j + 1)
                } else {
                    Ok(i + 1)
                }
            }
            _ => Ok(i + 1),
        }
    }

    /// A number at `i`: digits, a fraction, an exponent (the forms every psql version lexes
    /// alike). A letter, `_` or non-ASCII byte right after it is refused.
    fn number(&mut self, line: &[u8], i: usize) -> Result<usize, Stop> {
        self.token();
        let digits = |mut j: usize| {
            while line.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            j
        };
        let mut j = digits(i);
        if line.get(j) == Some(&b'.') && line.get(j + 1) != Some(&b'.') {
            j = digits(j + 1);
        }
        if matches!(line.get(j), Some(b'e' | b'E')) {
            let mut k = j + 1;
            if matches!(line.get(k), Some(b'+' | b'-')) {
                k += 1;
            }
            if line.get(k).is_some_and(u8::is_ascii_digit) {
                j = digits(k);
            }
        }
        // psql 15 lexes `1e5$$` as one (junk) number, `1$$` as a number and a dollar quote.
        if line.get(j).is_some_and(|&b| is_ident_start(b) || b == b'$') {
            return Err(Stop::Ambiguous(
                i,
                "a number directly followed by a letter or $",
            ));
        }
        Ok(j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stops(lines: &[&[u8]]) -> Vec<Stop> {
        let mut l = Lexer::new(true);
        let mut out = Vec::new();
        for line in lines {
            let mut from = 0;
            loop {
                let s = l.scan(line, from);
                out.push(s.clone());
                match s {
                    Stop::Semi(i) => {
                        l.next_statement();
                        from = i + 1
                    }
                    _ => break,
                }
            }
        }
        out
    }

    #[test]
    fn backslashes_and_semicolons_like_psql() {
        use Stop::*;
        assert_eq!(stops(&[b"SELECT 1; \\! id"]), vec![Semi(8), Backslash(10)]);
        assert_eq!(
            stops(&[b"SELECT '\\'; \\! x"]),
            vec![Semi(10), Backslash(12)]
        );
        assert_eq!(stops(&[b"SELECT E'\\'; \\! x"]), vec![Eol]);
        assert_eq!(stops(&[b"SELECT 1 -- c\r\\! x"]), vec![Backslash(14)]);
        assert_eq!(stops(&[b"SELECT (1; \\! x"]), vec![Backslash(11)]);
        assert_eq!(stops(&[b"SELECT $a$ \\! $a$;"]), vec![Semi(17), Eol]);
        assert_eq!(stops(&[b"SELECT x$a$ '$a$; \\! x'"]), vec![Eol]);
        // psql 15 reads `1$a$` as a number and a dollar quote, other versions may not.
        assert!(matches!(
            stops(&[b"SELECT 1$a$ '$a$; \\! x'"])[0],
            Ambiguous(..)
        ));
        assert_eq!(stops(&[b"/* /* */ \\! */ \\x"]), vec![Backslash(15)]);
        assert_eq!(
            stops(&[b"CREATE FUNCTION f() BEGIN ATOMIC SELECT 1; END;"]),
            vec![Semi(46), Eol]
        );
        assert!(matches!(stops(&[b"SELECT 1e--\\! x"])[0], Ambiguous(..)));
        assert!(matches!(stops(&[b"SELECT :DBNAME"])[0], Ambiguous(..)));
        assert_eq!(stops(&[b"SELECT a::text, :'x' \\q"]), vec![Backslash(21)]);
        assert!(matches!(
            stops(&[b"SELECT E'a'", b"'\\' \\! x"])[1],
            Ambiguous(..)
        ));
    }
}
