//! Which statements of a SQL dump are something `pg_dump` writes, and which are not.
//!
//! A plain SQL file is accepted when it looks like a dump, but its statements are whatever its
//! author wrote. Restored as a superuser, a few statements run programs or read and write files
//! on the database server (`COPY … FROM PROGRAM`, `COPY … TO '/file'`, `pg_read_file(…)`),
//! change the server's configuration (`ALTER SYSTEM`), make a role a superuser, or run code
//! (`DO`, `CALL`, `SELECT f()`). The restore lists those and needs its own consent for them.
//!
//! The rule is an allow-list of the statement forms pg_dump writes (SET of the settings it
//! sets, `SELECT pg_catalog.setval/set_config/lo_*(…)`, `COPY name (cols) FROM stdin`, CREATE /
//! ALTER / COMMENT / GRANT on objects, `INSERT … VALUES` of literals, …), with a few checks
//! inside them: no `FROM|TO PROGRAM` anywhere outside quotes, no call of a function that reads
//! or writes server files (naming one in `GRANT`/`REVOKE … ON FUNCTION f(types)` or `COMMENT ON
//! FUNCTION` is not calling it; granting a privilege on one gives a role its power, and is
//! said as such), no role made a superuser, no materialized view or table filled by a
//! query at creation, no untrusted-language function compiled while function bodies are
//! checked (`plperlu` runs `BEGIN { … }` blocks when it compiles). Everything else is
//! "arbitrary SQL" of some [`ArbitraryKind`].
//!
//! What it does not judge: the code inside the functions, views, triggers and defaults a dump
//! defines (pg_dump writes those for every schema; they run with their owner's rights whenever
//! they are called, also during the restore by check constraints, index expressions and
//! `REFRESH MATERIALIZED VIEW`), and the libraries `LANGUAGE c` functions name.

use serde::Serialize;

mod lexer;
pub(crate) use lexer::{Lexer, Tok};

/// What a statement pg_dump never writes does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ArbitraryKind {
    /// `COPY … FROM|TO PROGRAM`: a shell command on the database server.
    RunsProgram,
    /// `COPY … FROM|TO 'file'`, `pg_read_file(…)`, `lo_import/lo_export`, `CREATE TABLESPACE`.
    ServerFiles,
    /// `ALTER SYSTEM`, libraries preloaded into later sessions.
    ServerConfig,
    /// A role made a superuser or given the server's file/program powers (a membership in
    /// `pg_execute_server_program` and the like, or a privilege on a function that reaches
    /// them, such as `GRANT EXECUTE ON FUNCTION pg_catalog.lo_export(oid, text)`).
    Superuser,
    /// Code run now: `DO`, `CALL`, `LOAD`, a `SELECT` of functions other than pg_dump's.
    RunsCode,
    /// Any other statement pg_dump does not write.
    Unrecognised,
}

impl ArbitraryKind {
    /// What such a statement does, to follow "this file …".
    pub fn describe(self) -> &'static str {
        match self {
            ArbitraryKind::RunsProgram => "runs a program on the database server",
            ArbitraryKind::ServerFiles => "reads or writes files on the database server",
            ArbitraryKind::ServerConfig => "changes the database server's configuration",
            ArbitraryKind::Superuser => "gives a role superuser or server powers",
            ArbitraryKind::RunsCode => "runs code on the database server",
            ArbitraryKind::Unrecognised => "runs a statement pg_dump never writes",
        }
    }
}

/// One statement of a dump that pg_dump does not write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ArbitrarySql {
    pub kind: ArbitraryKind,
    /// The statement's start (at most [`EXCERPT_CHARS`] characters, whitespace runs as one
    /// space, control characters escaped, `PASSWORD '…'` and `password=…` masked).
    pub excerpt: String,
}

impl ArbitrarySql {
    /// "this file runs a program on the database server: COPY t FROM PROGRAM 'id'".
    pub fn sentence(&self) -> String {
        format!("this file {}: {}", self.kind.describe(), self.excerpt)
    }
}

/// The statements of a script pg_dump does not write: the first [`Findings::KEEP`] and how
/// many in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    pub first: Vec<ArbitrarySql>,
    pub total: u64,
}

impl Findings {
    /// How many are kept (the rest are only counted).
    pub const KEEP: usize = 100;

    pub fn add(&mut self, f: ArbitrarySql) {
        self.total += 1;
        if self.first.len() < Self::KEEP {
            self.first.push(f);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Every statement of `sql` (a whole script: split as psql does) classified in order.
    pub fn of_script(sql: &[u8], mut classifier: Classifier) -> Findings {
        let mut found = Findings::default();
        let mut splitter = super::Splitter::new();
        let mut on = |p: super::Piece| -> Result<(), super::LexError> {
            if let super::Piece::Statement(s) = &p {
                if let Some(f) = classifier.classify(s) {
                    found.add(f);
                }
            }
            Ok(())
        };
        let _ = splitter.push(sql, &mut on);
        let _ = splitter.finish(&mut on);
        found
    }

    /// The restore's refusal: `arbitrary_sql`, naming the count and the first statements.
    pub fn refusal(&self) -> crate::error::Error {
        let shown: Vec<String> = self
            .first
            .iter()
            .take(3)
            .map(ArbitrarySql::sentence)
            .collect();
        let more = self.total.saturating_sub(shown.len() as u64);
        crate::error::Error::new(
            crate::error::ErrorKind::ArbitrarySql,
            format!(
                "the backup's SQL holds {} pg_dump never writes, which a restore runs only with your consent: {}{}",
                crate::words::plural(self.total, "statement"),
                shown.join("; "),
                if more > 0 {
                    format!("; and {more} more (see --dry-run)")
                } else {
                    String::new()
                }
            ),
        )
        .with_hint(
            "nothing was restored; review them (offsite restore --dry-run lists them); if you trust the file, pass --allow-arbitrary-sql",
        )
    }
}

/// Longest excerpt, in characters.
pub const EXCERPT_CHARS: usize = 120;

/// Classifies the statements of one script in order (it follows `SET check_function_bodies`).
#[derive(Debug, Clone)]
pub struct Classifier {
    /// Whether the server compiles function bodies now (the server's default: yes; pg_dump
    /// and pg_restore turn it off first).
    bodies_checked: bool,
}

impl Default for Classifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Classifier {
    /// For a script from its start (function bodies checked until it says otherwise).
    pub fn new() -> Self {
        Classifier {
            bodies_checked: true,
        }
    }

    /// For statements pg_restore runs (it sets `check_function_bodies = false` itself).
    pub fn for_pg_restore() -> Self {
        Classifier {
            bodies_checked: false,
        }
    }

    /// `None` when `stmt` (one statement, as [`super::Piece::Statement`] holds it) is something
    /// pg_dump writes; else what it does and an excerpt.
    pub fn classify(&mut self, stmt: &[u8]) -> Option<ArbitrarySql> {
        let toks: Vec<Tok> = Lexer::new(stmt).collect();
        let kind = self.judge(&toks)?;
        Some(ArbitrarySql {
            kind,
            excerpt: excerpt(stmt),
        })
    }

    fn judge(&mut self, mut t: &[Tok]) -> Option<ArbitraryKind> {
        while let [rest @ .., Tok::Punct(b';')] = t {
            t = rest;
        }
        // Checks that hold for every statement, whatever it is.
        if let Some(k) = program_or_denied_call(t) {
            return Some(k);
        }
        let w = |i: usize| t.get(i).map(Tok::upper).unwrap_or_default();
        match w(0).as_str() {
            "" => None, // only comments, or a lone `;`
            "SET" | "RESET" => self.set(t),
            "SELECT" => select(t),
            "COPY" => copy(t),
            "INSERT" => insert(t),
            "CREATE" => self.create(t),
            "ALTER" => alter(t),
            "GRANT" | "REVOKE" => grant(t),
            "DROP" => match w(1).as_str() {
                "ROLE" | "USER" | "GROUP" | "DATABASE" | "TABLESPACE" => {
                    Some(ArbitraryKind::Unrecognised)
                }
                _ => None,
            },
            "COMMENT" | "SECURITY" | "REFRESH" => None,
            // The restore filter owns transaction control (keeps BEGIN/COMMIT out, refuses the
            // rest).
            "BEGIN" | "COMMIT" | "END" | "START" | "ROLLBACK" | "ABORT" | "PREPARE" if is_tx(t) => {
                None
            }
            "DO" | "CALL" | "EXECUTE" | "LOAD" | "EXPLAIN" | "WITH" => {
                Some(ArbitraryKind::RunsCode)
            }
            _ => Some(ArbitraryKind::Unrecognised),
        }
    }

    fn set(&mut self, t: &[Tok]) -> Option<ArbitraryKind> {
        let mut i = 1;
        let reset = t[0].upper() == "RESET";
        if matches!(
            t.get(i).map(Tok::upper).as_deref(),
            Some("SESSION" | "LOCAL")
        ) {
            i += 1;
        }
        let name = t
            .get(i)
            .map(Tok::name)
            .unwrap_or_default()
            .to_ascii_lowercase();
        // SET SESSION AUTHORIZATION 'x' | DEFAULT, SET ROLE x, RESET SESSION AUTHORIZATION
        // (pg_dump --use-set-session-authorization, --role).
        if matches!(t.get(i), Some(Tok::Word(_)))
            && matches!(name.as_str(), "authorization" | "role")
        {
            return None;
        }
        if !SET_ALLOWED.contains(&name.as_str()) {
            return Some(ArbitraryKind::Unrecognised);
        }
        if name == "check_function_bodies" {
            let value: Vec<String> = t[i + 1..]
                .iter()
                .filter(|x| !matches!(x, Tok::Punct(b'=')) && x.upper() != "TO")
                .map(|x| match x {
                    Tok::Str(v) => String::from_utf8_lossy(v).to_ascii_uppercase(),
                    x => x.upper(),
                })
                .collect();
            let off = matches!(value.as_slice(), [v] if v == "FALSE" || v == "OFF");
            self.bodies_checked = reset || !off;
            if self.bodies_checked {
                // pg_dump only ever turns it off.
                return Some(ArbitraryKind::RunsCode);
            }
        }
        None
    }

    fn create(&mut self, t: &[Tok]) -> Option<ArbitraryKind> {
        // Skip OR REPLACE, and the modifiers between CREATE and the object's kind.
        let mut i = 1;
        let mut kind = Vec::new();
        while let Some(x) = t.get(i) {
            let u = x.upper();
            match u.as_str() {
                "OR" | "REPLACE" | "TEMP" | "TEMPORARY" | "UNLOGGED" | "GLOBAL" | "LOCAL"
                | "UNIQUE" | "TRUSTED" | "PROCEDURAL" | "DEFAULT" | "CONSTRAINT" | "RECURSIVE" => {
                    i += 1
                }
                _ => {
                    kind.push(u);
                    if let Some(n) = t.get(i + 1) {
                        kind.push(n.upper());
                    }
                    break;
                }
            }
        }
        let k: Vec<&str> = kind.iter().map(String::as_str).collect();
        match k.as_slice() {
            ["ROLE" | "USER" | "GROUP", ..] => Some(if has_word(t, "SUPERUSER") {
                ArbitraryKind::Superuser
            } else {
                ArbitraryKind::Unrecognised
            }),
            ["DATABASE", ..] => Some(ArbitraryKind::Unrecognised),
            ["TABLESPACE", ..] => Some(ArbitraryKind::ServerFiles),
            ["FUNCTION" | "PROCEDURE" | "AGGREGATE" | "OPERATOR", ..] => {
                if names_pg_catalog(&t[i + 1..]) {
                    return Some(ArbitraryKind::Unrecognised);
                }
                if self.bodies_checked && k[0] != "OPERATOR" {
                    let lang = word_after(t, "LANGUAGE").unwrap_or_default();
                    if UNTRUSTED_PL.contains(&lang.to_ascii_lowercase().as_str()) {
                        return Some(ArbitraryKind::RunsCode);
                    }
                }
                None
            }
            ["TABLE", ..] => {
                // CREATE TABLE … AS query (pg_dump never: it runs the query now).
                at_depth0(t, i + 1)
                    .any(|x| x.upper() == "AS")
                    .then_some(ArbitraryKind::RunsCode)
            }
            ["MATERIALIZED", "VIEW"] => {
                // pg_dump creates them WITH NO DATA and refreshes them later.
                let n = t.len();
                let no_data = n >= 3
                    && t[n - 3..].iter().map(Tok::upper).collect::<Vec<_>>()
                        == ["WITH", "NO", "DATA"];
                (!no_data).then_some(ArbitraryKind::RunsCode)
            }
            ["SUBSCRIPTION", ..] => {
                // pg_dump writes `WITH (connect = false, …)`: the server connects nowhere.
                (!has_sequence(t, &["CONNECT", "=", "FALSE"]))
                    .then_some(ArbitraryKind::Unrecognised)
            }
            [] => Some(ArbitraryKind::Unrecognised),
            _ => None,
        }
    }
}

/// Settings pg_dump and pg_dumpall set (any version since 9.x).
const SET_ALLOWED: &[&str] = &[
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "transaction_timeout",
    "client_encoding",
    "standard_conforming_strings",
    "check_function_bodies",
    "xmloption",
    "client_min_messages",
    "row_security",
    "default_tablespace",
    "default_table_access_method",
    "default_with_oids",
    "search_path",
    "escape_string_warning",
    "default_transaction_read_only",
    "session_replication_role",
    "synchronous_commit",
];

/// Procedural languages whose validator may run the function's code when it compiles it.
const UNTRUSTED_PL: &[&str] = &[
    "plperlu",
    "plperl",
    "pltclu",
    "pltcl",
    "plpython3u",
    "plpythonu",
    "plpython2u",
];

/// Functions `SELECT pg_catalog.f(…)` may call in a pg_dump file.
const SELECT_ALLOWED: &[&str] = &[
    "set_config",
    "setval",
    "lo_create",
    "lo_open",
    "lowrite",
    "lo_close",
    "lo_unlink",
    "pg_restore_relation_stats",
    "pg_restore_attribute_stats",
    "pg_restore_attribute_stats",
];

/// Functions that reach the server's files, programs or configuration; never in a dump's
/// statements outside quotes (a view over them, a default calling them, …).
const DENIED_CALLS: &[(&str, ArbitraryKind)] = &[
    ("pg_read_file", ArbitraryKind::ServerFiles),
    ("pg_read_binary_file", ArbitraryKind::ServerFiles),
    ("pg_ls_dir", ArbitraryKind::ServerFiles),
    ("pg_ls_logdir", ArbitraryKind::ServerFiles),
    ("pg_ls_waldir", ArbitraryKind::ServerFiles),
    ("pg_ls_tmpdir", ArbitraryKind::ServerFiles),
    ("pg_ls_archive_statusdir", ArbitraryKind::ServerFiles),
    ("pg_stat_file", ArbitraryKind::ServerFiles),
    ("lo_import", ArbitraryKind::ServerFiles),
    ("lo_export", ArbitraryKind::ServerFiles),
    ("pg_file_write", ArbitraryKind::ServerFiles),
    ("pg_file_rename", ArbitraryKind::ServerFiles),
    ("pg_file_unlink", ArbitraryKind::ServerFiles),
    ("pg_file_sync", ArbitraryKind::ServerFiles),
    ("pg_logdir_ls", ArbitraryKind::ServerFiles),
    ("pg_reload_conf", ArbitraryKind::ServerConfig),
    ("pg_rotate_logfile", ArbitraryKind::ServerConfig),
    ("pg_promote", ArbitraryKind::ServerConfig),
    ("dblink", ArbitraryKind::RunsCode),
    ("dblink_exec", ArbitraryKind::RunsCode),
    ("dblink_connect", ArbitraryKind::RunsCode),
    ("dblink_connect_u", ArbitraryKind::RunsCode),
    ("pg_terminate_backend", ArbitraryKind::Unrecognised),
];

/// Settings that load libraries into later sessions (`ALTER DATABASE|ROLE … SET`).
const LIBRARY_SETTINGS: &[&str] = &[
    "session_preload_libraries",
    "local_preload_libraries",
    "shared_preload_libraries",
    "dynamic_library_path",
    "jit_provider",
];

/// Roles whose membership gives the server's file and program powers.
const POWER_ROLES: &[&str] = &[
    "pg_execute_server_program",
    "pg_read_server_files",
    "pg_write_server_files",
];

fn is_tx(t: &[Tok]) -> bool {
    let words: Vec<String> = t.iter().take(3).map(Tok::upper).collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        w.as_slice(),
        ["BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "ABORT", ..]
            | ["START", "TRANSACTION", ..]
            | ["PREPARE", "TRANSACTION", ..]
    )
}

/// `FROM|TO PROGRAM` anywhere, or a call of a denied function.
fn program_or_denied_call(t: &[Tok]) -> Option<ArbitraryKind> {
    for (i, x) in t.iter().enumerate() {
        if x.is_word("PROGRAM") && i > 0 && (t[i - 1].is_word("FROM") || t[i - 1].is_word("TO")) {
            return Some(ArbitraryKind::RunsProgram);
        }
    }
    for c in calls(t) {
        let name = c.name.to_ascii_lowercase();
        if let Some((_, k)) = DENIED_CALLS.iter().find(|(n, _)| *n == name) {
            return Some(*k);
        }
    }
    None
}

/// A function call: a (maybe schema-qualified) name followed by `(`.
struct Call {
    schema: Option<String>,
    name: String,
    /// Index of the `(`.
    open: usize,
}

/// Words that take a parenthesis without being a call.
const PAREN_KEYWORDS: &[&str] = &[
    "VALUES",
    "IN",
    "AS",
    "ON",
    "USING",
    "WITH",
    "CHECK",
    "KEY",
    "TABLE",
    "EXISTS",
    "ANY",
    "ALL",
    "SOME",
    "ARRAY",
    "ROW",
    "OVER",
    "FILTER",
    "WITHIN",
    "INCLUDE",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "BY",
    "SELECT",
    "FROM",
    "DEFAULT",
    "RETURNS",
    "INTO",
    "OF",
    "FOR",
    "TO",
    "IS",
    "THEN",
    "ELSE",
    "WHEN",
    "CASE",
    "LATERAL",
    "UNIQUE",
    "EXCLUDE",
    "REFERENCES",
    "PARTITION",
    "RANGE",
    "LIST",
    "HASH",
    "INHERITS",
    "OPTIONS",
    "SET",
    "ORDER",
    "GROUP",
    "HAVING",
    "RETURN",
    "GENERATED",
    "STORED",
    "IDENTITY",
    "FOREIGN",
    "PRIMARY",
    "CONSTRAINT",
    "DO",
    "INSTEAD",
    "UPDATE",
    "NOTHING",
    "CONFLICT",
    "COLUMN",
    "ADD",
    "ATTACH",
    "LIKE",
    "BETWEEN",
    "EXECUTE",
    "FUNCTION",
    "PROCEDURE",
    "OPERATOR",
    "TYPE",
    "DOMAIN",
    "AGGREGATE",
    "INDEX",
    "VIEW",
];

fn calls(t: &[Tok]) -> Vec<Call> {
    let mut out = Vec::new();
    let named: Vec<usize> = named_functions(t).iter().filter_map(|f| f.open).collect();
    for i in 0..t.len() {
        if !matches!(t[i], Tok::Punct(b'(')) || i == 0 || named.contains(&i) {
            continue;
        }
        let name_tok = &t[i - 1];
        if !name_tok.is_name() {
            continue;
        }
        // A type name after `::` (`'x'::numeric(10,2)`) is not a call.
        let qualified = i >= 3 && matches!(t[i - 2], Tok::Punct(b'.')) && t[i - 3].is_name();
        let first = if qualified { i - 3 } else { i - 1 };
        if first > 0 && matches!(t[first - 1], Tok::Op(op) if op == b"::") {
            continue;
        }
        if !qualified {
            if let Tok::Word(_) = name_tok {
                if PAREN_KEYWORDS.contains(&name_tok.upper().as_str()) {
                    continue;
                }
            }
        }
        out.push(Call {
            schema: qualified.then(|| t[i - 3].name()),
            name: name_tok.name(),
            open: i,
        });
    }
    out
}

/// A function a privilege or comment statement names: its name and the `(` of its argument
/// types, if written.
struct Named {
    name: String,
    open: Option<usize>,
}

/// The functions a privilege or comment statement is about: `GRANT|REVOKE … ON
/// FUNCTION|PROCEDURE|ROUTINE f(types), g(types) …`, `COMMENT ON FUNCTION f(types) IS …`,
/// `SECURITY LABEL … ON FUNCTION …` (pg_dump writes these for every function whose privileges
/// differ from the defaults, `pg_catalog.lo_export(oid, text)` on Supabase among them). Naming a
/// function is not calling it: the `(` of each signature is no call. Only that `(`: a name with
/// a parenthesis nested in the argument types is still taken for a call.
fn named_functions(t: &[Tok]) -> Vec<Named> {
    let mut out = Vec::new();
    let first = t.first().map(Tok::upper).unwrap_or_default();
    if !matches!(first.as_str(), "GRANT" | "REVOKE" | "COMMENT" | "SECURITY") {
        return out;
    }
    // The object's kind follows the first ON outside parentheses (`GRANT SELECT (a) ON …`).
    let mut depth = 0i32;
    let mut on = None;
    for (i, x) in t.iter().enumerate() {
        match x {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => depth -= 1,
            _ if depth == 0 && x.is_word("ON") => {
                on = Some(i);
                break;
            }
            _ => {}
        }
    }
    let Some(on) = on else {
        return out;
    };
    let kind = |x: &Tok| {
        ["FUNCTION", "PROCEDURE", "ROUTINE", "AGGREGATE"]
            .iter()
            .any(|w| x.is_word(w))
    };
    if !t.get(on + 1).is_some_and(kind) {
        return out;
    }
    let mut i = on + 2;
    // name | schema.name, then maybe (types); a list of them in GRANT and REVOKE.
    while t.get(i).is_some_and(Tok::is_name) {
        let mut name = t[i].name();
        i += 1;
        if matches!(t.get(i), Some(Tok::Punct(b'.'))) && t.get(i + 1).is_some_and(Tok::is_name) {
            name = t[i + 1].name();
            i += 2;
        }
        let mut open = None;
        if matches!(t.get(i), Some(Tok::Punct(b'('))) {
            open = Some(i);
            let mut depth = 0i32;
            while let Some(x) = t.get(i) {
                match x {
                    Tok::Punct(b'(') => depth += 1,
                    Tok::Punct(b')') => depth -= 1,
                    _ => {}
                }
                i += 1;
                if depth == 0 {
                    break;
                }
            }
        }
        out.push(Named { name, open });
        if !matches!(t.get(i), Some(Tok::Punct(b','))) {
            break;
        }
        i += 1;
    }
    out
}

/// A `GRANT … ON` that hands a role the server's files, programs or configuration: a privilege
/// on a function that reaches them (`lo_export`, `pg_read_file`, …), or on every function of
/// `pg_catalog` at once.
fn grants_server_power(t: &[Tok]) -> bool {
    if !t.first().is_some_and(|x| x.is_word("GRANT")) {
        return false;
    }
    let named = named_functions(t).into_iter().any(|f| {
        let name = f.name.to_ascii_lowercase();
        DENIED_CALLS.iter().any(|(n, _)| *n == name)
    });
    let all_in_catalog = t.windows(4).enumerate().any(|(i, w)| {
        w[0].is_word("ALL")
            && ["FUNCTIONS", "ROUTINES", "PROCEDURES"]
                .iter()
                .any(|k| w[1].is_word(k))
            && w[2].is_word("IN")
            && w[3].is_word("SCHEMA")
            && at_depth0(t, i + 4)
                .take_while(|x| !x.is_word("TO"))
                .any(|x| x.name() == "pg_catalog")
    });
    named || all_in_catalog
}

fn select(t: &[Tok]) -> Option<ArbitraryKind> {
    let cs = calls(t);
    if cs.is_empty() {
        return Some(ArbitraryKind::Unrecognised);
    }
    for c in &cs {
        let ok = c.schema.as_deref() == Some("pg_catalog")
            && SELECT_ALLOWED.contains(&c.name.as_str())
            && (c.name != "set_config"
                || matches!(t.get(c.open + 1), Some(Tok::Str(s)) if s.eq_ignore_ascii_case(b"search_path")));
        if !ok {
            return Some(ArbitraryKind::RunsCode);
        }
    }
    // No sub-query.
    if t.iter()
        .skip(1)
        .any(|x| matches!(x.upper().as_str(), "SELECT" | "WITH"))
    {
        return Some(ArbitraryKind::RunsCode);
    }
    None
}

/// `name`, `schema.name`, then maybe `(col, …)` from `t[i]`: the index after them.
fn name_and_cols(t: &[Tok], mut i: usize) -> Option<usize> {
    if !t.get(i).is_some_and(Tok::is_name) {
        return None;
    }
    i += 1;
    if matches!(t.get(i), Some(Tok::Punct(b'.'))) {
        if !t.get(i + 1).is_some_and(Tok::is_name) {
            return None;
        }
        i += 2;
    }
    if matches!(t.get(i), Some(Tok::Punct(b'('))) {
        i += 1;
        loop {
            if !t.get(i).is_some_and(Tok::is_name) {
                return None;
            }
            i += 1;
            match t.get(i) {
                Some(Tok::Punct(b',')) => i += 1,
                Some(Tok::Punct(b')')) => return Some(i + 1),
                _ => return None,
            }
        }
    }
    Some(i)
}

/// pg_dump's `COPY name [(cols)] FROM stdin;` and nothing else.
fn copy(t: &[Tok]) -> Option<ArbitraryKind> {
    let bad = || {
        // FROM|TO 'file' reads or writes a server file (PROGRAM was caught before).
        for (j, x) in t.iter().enumerate() {
            if matches!(x.upper().as_str(), "FROM" | "TO")
                && matches!(t.get(j + 1), Some(Tok::Str(_)))
            {
                return Some(ArbitraryKind::ServerFiles);
            }
        }
        Some(ArbitraryKind::Unrecognised)
    };
    let Some(i) = name_and_cols(t, 1) else {
        return bad();
    };
    let from_stdin = t.len() == i + 2
        && matches!(t[i], Tok::Word(_))
        && matches!(t[i + 1], Tok::Word(_))
        && t[i].upper() == "FROM"
        && t[i + 1].upper() == "STDIN";
    if from_stdin {
        None
    } else {
        bad()
    }
}

/// `INSERT INTO name [(cols)] [OVERRIDING SYSTEM|USER VALUE] VALUES (literals), … [ON
/// CONFLICT DO NOTHING]` (pg_dump --inserts).
fn insert(t: &[Tok]) -> Option<ArbitraryKind> {
    if t.get(1).map(Tok::upper).as_deref() != Some("INTO") {
        return Some(ArbitraryKind::Unrecognised);
    }
    let Some(mut v) = name_and_cols(t, 2) else {
        return Some(ArbitraryKind::Unrecognised);
    };
    let w = |i: usize| t.get(i).map(Tok::upper).unwrap_or_default();
    if w(v) == "OVERRIDING" && matches!(w(v + 1).as_str(), "SYSTEM" | "USER") && w(v + 2) == "VALUE"
    {
        v += 3;
    }
    if w(v) != "VALUES" || !matches!(t[v], Tok::Word(_)) {
        return Some(ArbitraryKind::RunsCode);
    }
    const WORDS: &[&str] = &[
        "VALUES", "NULL", "TRUE", "FALSE", "DEFAULT", "ON", "CONFLICT", "DO", "NOTHING",
    ];
    for x in &t[v..] {
        match x {
            Tok::Word(_) if !WORDS.contains(&x.upper().as_str()) => {
                return Some(ArbitraryKind::RunsCode)
            }
            // A dollar-quoted string is a string (pg_dump writes '…'; a hand-written script may not).
            Tok::Ident(_) | Tok::Other => return Some(ArbitraryKind::RunsCode),
            Tok::Op(op) if *op != b"-" && *op != b"+" => return Some(ArbitraryKind::RunsCode),
            _ => {}
        }
    }
    None
}

fn alter(t: &[Tok]) -> Option<ArbitraryKind> {
    let w1 = t.get(1).map(Tok::upper).unwrap_or_default();
    match w1.as_str() {
        "SYSTEM" => Some(ArbitraryKind::ServerConfig),
        "ROLE" | "USER" | "GROUP" | "DATABASE" => {
            if let Some(k) = library_setting(t) {
                return Some(k);
            }
            if w1 == "DATABASE" {
                return None;
            }
            // pg_dump writes `ALTER ROLE r IN DATABASE d SET|RESET …` only.
            if has_word(t, "SUPERUSER") {
                return Some(ArbitraryKind::Superuser);
            }
            let in_db = t.get(3).map(Tok::upper).as_deref() == Some("IN")
                && t.get(4).map(Tok::upper).as_deref() == Some("DATABASE")
                && matches!(t.get(6).map(Tok::upper).as_deref(), Some("SET" | "RESET"));
            (!in_db).then_some(ArbitraryKind::Unrecognised)
        }
        _ => None,
    }
}

/// `SET session_preload_libraries …` and the like in ALTER DATABASE / ALTER ROLE.
fn library_setting(t: &[Tok]) -> Option<ArbitraryKind> {
    t.windows(2).find_map(|w| {
        (w[0].upper() == "SET"
            && LIBRARY_SETTINGS.contains(&w[1].name().to_ascii_lowercase().as_str()))
        .then_some(ArbitraryKind::ServerConfig)
    })
}

/// GRANT/REVOKE of privileges ON objects (pg_dump); role memberships are pg_dumpall's.
fn grant(t: &[Tok]) -> Option<ArbitraryKind> {
    if at_depth0(t, 1).any(|x| x.upper() == "ON") {
        // A privilege, not a call; but one on the server's powers gives a role those powers.
        return grants_server_power(t).then_some(ArbitraryKind::Superuser);
    }
    if t.iter()
        .any(|x| POWER_ROLES.contains(&x.name().to_ascii_lowercase().as_str()))
    {
        return Some(ArbitraryKind::Superuser);
    }
    Some(ArbitraryKind::Unrecognised)
}

fn has_word(t: &[Tok], w: &str) -> bool {
    t.iter().any(|x| x.is_word(w))
}

fn has_sequence(t: &[Tok], seq: &[&str]) -> bool {
    t.windows(seq.len())
        .any(|w| w.iter().zip(seq).all(|(x, s)| x.upper() == *s))
}

/// The name (or string) after the word `w`.
fn word_after(t: &[Tok], w: &str) -> Option<String> {
    let i = t
        .iter()
        .position(|x| matches!(x, Tok::Word(_)) && x.upper() == w)?;
    t.get(i + 1).map(|x| match x {
        Tok::Str(v) => String::from_utf8_lossy(v).into_owned(),
        x => x.name(),
    })
}

/// `pg_catalog.` right at the start of `t` (an object created in the system schema).
fn names_pg_catalog(t: &[Tok]) -> bool {
    t.first().is_some_and(|x| x.name() == "pg_catalog")
        && matches!(t.get(1), Some(Tok::Punct(b'.')))
}

/// The tokens from `from` on outside all parentheses.
fn at_depth0<'t, 'a>(t: &'t [Tok<'a>], from: usize) -> impl Iterator<Item = &'t Tok<'a>> {
    let mut depth = 0i32;
    t.iter().skip(from).filter(move |x| {
        match x {
            Tok::Punct(b'(') | Tok::Punct(b'[') => depth += 1,
            Tok::Punct(b')') | Tok::Punct(b']') => depth -= 1,
            _ => return depth == 0,
        }
        false
    })
}

/// The statement's start for people: comments before it skipped, whitespace runs as one space,
/// control characters escaped, passwords masked, at most [`EXCERPT_CHARS`] characters.
pub fn excerpt(stmt: &[u8]) -> String {
    // Bound what is looked at: a statement may be megabytes.
    let mut lx = Lexer::new(stmt);
    let Some(start) = lx.clone().first_token_start() else {
        return String::new();
    };
    let limit = start + EXCERPT_CHARS * 8;
    // The string after PASSWORD is left out (also when cut off at the limit).
    let mut text = Vec::new();
    let mut at = start;
    let mut after_password = false;
    while let Some((from, to, tok)) = lx.next_span() {
        if from >= limit {
            break;
        }
        if after_password && matches!(tok, Tok::Str(_)) {
            text.extend_from_slice(&stmt[at..from]);
            text.extend_from_slice(b"'[redacted]'");
            at = to;
        }
        after_password = matches!(tok, Tok::Word(_)) && tok.upper() == "PASSWORD";
    }
    let end = stmt.len().min(limit).max(at);
    text.extend_from_slice(&stmt[at..end]);
    let masked = crate::secrets::redact_secrets(&String::from_utf8_lossy(&text), None);
    let mut out = String::new();
    let mut chars = 0;
    let mut space = false;
    for c in masked.trim_end().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        // Control characters and the invisible ones that reorder or hide text, escaped.
        let shown: String = if c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
        {
            c.escape_unicode().collect()
        } else {
            c.to_string()
        };
        let gap = usize::from(space && !out.is_empty());
        if chars + gap + shown.chars().count() > EXCERPT_CHARS {
            out.push('…');
            return out;
        }
        if gap == 1 {
            out.push(' ');
        }
        space = false;
        out.push_str(&shown);
        chars += gap + shown.chars().count();
    }
    if end < stmt.len() && stmt[end..].iter().any(|b| !b.is_ascii_whitespace()) {
        out.push('…');
    }
    out
}

/// [`Classifier::new`]`.classify(stmt)`: one statement on its own (function bodies assumed
/// checked, as on a fresh session).
pub fn classify(stmt: &[u8]) -> Option<ArbitrarySql> {
    Classifier::new().classify(stmt)
}

#[cfg(test)]
mod tests;
