//! The backup's whole table of contents: every entry of `pg_restore -l` with its kind, schema,
//! name and owner, the entries it depends on and its SQL (from `pg_restore --schema-only
//! --verbose`, whose headers carry the dump ids and dependencies). What the restore plan decides
//! per entry (keep, leave out, and why) is decided over this.

use crate::archive::{self, DATABASE_MEMBER};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::process;
use crate::postgres::tools::PgTools;
use crate::progress::Reporter;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use tokio_util::sync::CancellationToken;

/// Every kind of entry pg_dump writes (PostgreSQL 9.6–18), longest first where one is the start
/// of another.
const DESCS: &[&str] = &[
    "PUBLICATION TABLES IN SCHEMA",
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "MATERIALIZED VIEW DATA",
    "TEXT SEARCH TEMPLATE",
    "FOREIGN DATA WRAPPER",
    "DATABASE PROPERTIES",
    "PROCEDURAL LANGUAGE",
    "TEXT SEARCH PARSER",
    "PUBLICATION TABLE",
    "MATERIALIZED VIEW",
    "SEQUENCE OWNED BY",
    "CHECK CONSTRAINT",
    "OPERATOR FAMILY",
    "OPERATOR CLASS",
    "SECURITY LABEL",
    "BLOB METADATA",
    "FK CONSTRAINT",
    "EVENT TRIGGER",
    "FOREIGN TABLE",
    "LARGE OBJECTS",
    "ACCESS METHOD",
    "INDEX ATTACH",
    "LARGE OBJECT",
    "ROW SECURITY",
    "SEQUENCE SET",
    "TABLE ATTACH",
    "USER MAPPING",
    "SUBSCRIPTION",
    "DEFAULT ACL",
    "PUBLICATION",
    "SHELL TYPE",
    "STDSTRINGS",
    "SEARCHPATH",
    "CONSTRAINT",
    "CONVERSION",
    "STATISTICS",
    "TABLE DATA",
    "COLLATION",
    "AGGREGATE",
    "EXTENSION",
    "PROCEDURE",
    "TRANSFORM",
    "OPERATOR",
    "ENCODING",
    "FUNCTION",
    "SEQUENCE",
    "DATABASE",
    "TRIGGER",
    "COMMENT",
    "DEFAULT",
    "POLICY",
    "SCHEMA",
    "SERVER",
    "DOMAIN",
    "BLOBS",
    "TABLE",
    "INDEX",
    "BLOB",
    "CAST",
    "RULE",
    "TYPE",
    "VIEW",
    "ACL",
];

/// One entry of the backup's table of contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// The dump id (the number before `;` in the list).
    pub id: i32,
    pub desc: &'static str,
    /// `-` when the object has no schema.
    pub schema: String,
    pub tag: String,
    pub owner: String,
    /// The line of the list (0-based), to leave out or move.
    pub line: usize,
    /// Dump ids of the entries it depends on.
    pub deps: Vec<i32>,
    /// Its SQL (schema entries only; data entries have none).
    pub sql: String,
}

impl Item {
    /// The object for people: `table public.orders`, `policy "p" on storage.objects`, …
    pub fn label(&self) -> String {
        let kind = match self.desc {
            "BLOB" | "BLOB METADATA" => "large object".to_string(),
            d => d.to_lowercase(),
        };
        match (self.desc, self.schema.as_str()) {
            (
                "TRIGGER" | "POLICY" | "CONSTRAINT" | "FK CONSTRAINT" | "CHECK CONSTRAINT" | "RULE",
                s,
            ) => match self.tag.split_once(' ') {
                Some((table, name)) => format!("{kind} {name} on {s}.{table}"),
                None => format!("{kind} {s}.{}", self.tag),
            },
            (_, "-") => format!("{kind} {}", self.tag),
            (_, s) => format!("{kind} {s}.{}", self.tag),
        }
    }
}

/// The table of contents: the raw list (as `pg_restore -L` reads it) and its entries.
#[derive(Debug, Clone, Default)]
pub(crate) struct FullToc {
    pub list: String,
    pub items: Vec<Item>,
    /// The statements of its SQL that pg_dump never writes.
    pub arbitrary: crate::plainsql::classify::Findings,
    /// Of those, the ones no entry's `sql` holds (a plain dump's statements before its first
    /// entry header, in data entries, or past an entry's kept SQL): they run whatever the plan
    /// leaves out.
    pub arbitrary_outside: crate::plainsql::classify::Findings,
}

impl FullToc {
    pub fn by_id(&self) -> HashMap<i32, usize> {
        self.items
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id, i))
            .collect()
    }
}

/// The kind named `desc` as one of pg_dump's (`None` for a kind this build does not know).
pub(crate) fn static_desc(desc: &str) -> Option<&'static str> {
    DESCS.iter().find(|d| **d == desc).copied()
}

/// Parse one line of `pg_restore -l`: `ID; CATALOG OID DESC SCHEMA TAG OWNER`.
pub(crate) fn parse_line(line: &str, index: usize) -> Option<Item> {
    if line.starts_with(';') {
        return None;
    }
    let (id, rest) = line.split_once("; ")?;
    let id: i32 = id.trim().parse().ok()?;
    let mut it = rest.splitn(3, ' ');
    let (_, _, rest) = (it.next()?, it.next()?, it.next()?);
    let desc = DESCS
        .iter()
        .find(|d| rest.strip_prefix(**d).is_some_and(|r| r.starts_with(' ')))?;
    let rest = &rest[desc.len() + 1..];
    let (schema, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let (tag, owner) = rest.rsplit_once(' ').unwrap_or((rest, ""));
    Some(Item {
        id,
        desc,
        schema: schema.to_string(),
        tag: tag.to_string(),
        owner: owner.to_string(),
        line: index,
        deps: Vec::new(),
        sql: String::new(),
    })
}

/// Attach the dependencies and SQL of `pg_restore --schema-only --verbose` output to `items`.
pub(crate) fn attach_sql(items: &mut [Item], verbose_sql: &str) {
    let index: HashMap<i32, usize> = items.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let mut current: Option<usize> = None;
    for line in verbose_sql.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("-- TOC entry ") {
            current = rest
                .split(' ')
                .next()
                .and_then(|n| n.trim().parse::<i32>().ok())
                .and_then(|id| index.get(&id).copied());
            continue;
        }
        let Some(i) = current else { continue };
        if let Some(deps) = line.strip_prefix("-- Dependencies:") {
            items[i].deps = deps
                .split_whitespace()
                .filter_map(|d| d.parse().ok())
                .collect();
        } else if !line.starts_with("-- Name: ")
            && (!line.starts_with("--") || !items[i].sql.is_empty())
        {
            items[i].sql.push_str(line);
        }
    }
}

/// Read the whole table of contents of the archive's dump (two passes of `pg_restore` over the
/// dump's start; no data is read by either).
/// A directory dump (format 2) is read from a private folder holding only its `toc.dat`.
pub(crate) fn read(tools: &PgTools, archive_path: &Path, directory: bool) -> Result<FullToc> {
    let dir = if directory {
        Some(super::dir::DumpDir::toc_only(archive_path)?)
    } else {
        None
    };
    let dir = dir.as_ref().map(|d| d.path());
    // The two passes at once (3b): each reads only the dump's table of contents.
    let (list, sql) = std::thread::scope(|scope| {
        let sql = scope.spawn(|| {
            run_pg_restore(
                tools,
                archive_path,
                dir,
                &["--schema-only", "--verbose", "--file=-"],
                "pg_restore --schema-only",
            )
        });
        let list = run_pg_restore(tools, archive_path, dir, &["--list"], "pg_restore --list");
        let sql = sql
            .join()
            .unwrap_or_else(|_| Err(Error::internal("reading the table of contents panicked")));
        (list, sql)
    });
    let list = list?;
    let sql = sql?;
    let mut items: Vec<Item> = list
        .lines()
        .enumerate()
        .filter_map(|(i, l)| parse_line(l, i))
        .collect();
    attach_sql(&mut items, &sql);
    // What pg_restore will run of it (schema entries: data entries are COPY … FROM stdin).
    let arbitrary = crate::plainsql::classify::Findings::of_script(
        sql.as_bytes(),
        crate::plainsql::classify::Classifier::for_pg_restore(),
    );
    Ok(FullToc {
        list,
        items,
        arbitrary,
        ..Default::default()
    })
}

/// Run pg_restore over the archive's dump (streamed to its stdin, or the directory dump `dir`)
/// and return what it wrote to stdout.
fn run_pg_restore(
    tools: &PgTools,
    archive_path: &Path,
    dir: Option<&Path>,
    args: &[&str],
    what: &str,
) -> Result<String> {
    let mut cmd = std::process::Command::new(tools.pg_restore());
    cmd.args(args)
        .stdin(if dir.is_some() {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    process::stop_with_parent(&mut cmd);
    if let Some(dir) = dir {
        cmd.arg(dir);
    }
    let cancel = CancellationToken::new();
    let (child, stdin, stdout, stderr) = process::Guarded::spawn(cmd, what, &cancel)?;
    let feeder = {
        let (path, stdin) = (archive_path.to_path_buf(), stdin);
        std::thread::spawn(move || {
            let Some(mut stdin) = stdin else {
                return Ok(0);
            };
            // pg_restore may stop reading before the end: a broken pipe is expected.
            archive::copy_member(
                &path,
                DATABASE_MEMBER,
                &mut stdin,
                &Reporter::silent(),
                &CancellationToken::new(),
            )
        })
    };
    let mut out = Vec::new();
    let read = stdout
        .expect("stdout piped")
        .read_to_end(&mut out)
        .map_err(|e| Error::io(format!("reading {what}"), e));
    let status = child.wait()?;
    let fed = feeder
        .join()
        .map_err(|_| Error::internal("reading the archive panicked"))?;
    let err = stderr.finish();
    read?;
    if !status.success() {
        if let Err(e) = fed {
            if e.kind() != ErrorKind::Io {
                return Err(e);
            }
        }
        return Err(process::tool_error(what, status, &err, None)
            .context("reading the backup's table of contents"));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The columns of a `CREATE TABLE` as pg_dump writes it: (name, generated). Quoted names are
/// unquoted. `None` when `sql` holds no column list (a partition `PARTITION OF`, say).
pub(crate) fn table_columns(sql: &str) -> Option<Vec<(String, bool)>> {
    let start = sql.find("CREATE ")?;
    let body = &sql[start..];
    let open = body.find(" (\n")?;
    let mut out = Vec::new();
    for line in body[open + 3..].lines() {
        if line.starts_with(')') {
            return Some(out);
        }
        let l = line.trim_start();
        if l.starts_with("CONSTRAINT ") || l.is_empty() {
            continue;
        }
        let (name, rest) = take_ident(l)?;
        out.push((name, rest.contains(" GENERATED ALWAYS AS (")));
    }
    None
}

/// An identifier at the start of `s` (quoted or not) and what follows it.
pub(crate) fn take_ident(s: &str) -> Option<(String, &str)> {
    if let Some(rest) = s.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if rest[i + 1..].starts_with('"') {
                    name.push('"');
                    chars.next();
                } else {
                    return Some((name, &rest[i + 1..]));
                }
            } else {
                name.push(c);
            }
        }
        None
    } else {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(s.len());
        (end > 0).then(|| (s[..end].to_string(), &s[end..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_line() {
        let cases = [
            ("215; 1259 16385 TABLE public t postgres", ("TABLE", "public", "t", "postgres")),
            ("3364; 0 0 COMMENT public TABLE t postgres", ("COMMENT", "public", "TABLE t", "postgres")),
            ("3365; 0 0 SEQUENCE OWNED BY public t_id_seq postgres", ("SEQUENCE OWNED BY", "public", "t_id_seq", "postgres")),
            ("3355; 0 16385 TABLE DATA public t postgres", ("TABLE DATA", "public", "t", "postgres")),
            ("3209; 2606 16399 FK CONSTRAINT public u u_id_fkey postgres", ("FK CONSTRAINT", "public", "u u_id_fkey", "postgres")),
            ("4035; 0 0 COMMENT - EXTENSION pgcrypto ", ("COMMENT", "-", "EXTENSION pgcrypto", "")),
            ("3353; 3256 16404 POLICY storage objects Avatar images are public. supabase_storage_admin",
             ("POLICY", "storage", "objects Avatar images are public.", "supabase_storage_admin")),
            ("5000; 3466 17000 EVENT TRIGGER - issue_graphql_placeholder supabase_admin",
             ("EVENT TRIGGER", "-", "issue_graphql_placeholder", "supabase_admin")),
            ("3400; 6106 0 PUBLICATION TABLE public supabase_realtime orders postgres",
             ("PUBLICATION TABLE", "public", "supabase_realtime orders", "postgres")),
        ];
        for (line, (desc, schema, tag, owner)) in cases {
            let e = parse_line(line, 7).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(
                (e.desc, e.schema.as_str(), e.tag.as_str(), e.owner.as_str()),
                (desc, schema, tag, owner),
                "{line}"
            );
            assert_eq!(e.line, 7);
        }
        assert!(parse_line(";\n", 0).is_none());
        assert!(parse_line("; Archive created at", 0).is_none());
    }

    #[test]
    fn dependencies_and_sql_come_from_the_verbose_output() {
        let mut items = vec![
            parse_line("215; 1259 16385 TABLE public t postgres", 0).unwrap(),
            parse_line("3208; 1259 16391 INDEX public ti postgres", 1).unwrap(),
        ];
        let sql = "--\n-- TOC entry 215 (class 1259 OID 16385)\n-- Name: t; Type: TABLE; Schema: public; Owner: postgres\n--\n\nCREATE TABLE public.t (\n    id integer NOT NULL,\n    \"Odd \"\"name\"\"\" text,\n    g integer GENERATED ALWAYS AS ((id * 2)) STORED,\n    CONSTRAINT c CHECK ((id > 0))\n);\n\n\n--\n-- TOC entry 3208 (class 1259 OID 16391)\n-- Dependencies: 215 12\n-- Name: ti; Type: INDEX; Schema: public; Owner: postgres\n--\n\nCREATE INDEX ti ON public.t USING btree (id);\n";
        attach_sql(&mut items, sql);
        assert_eq!(items[0].deps, Vec::<i32>::new());
        assert_eq!(items[1].deps, vec![215, 12]);
        assert!(items[1].sql.contains("CREATE INDEX ti ON public.t"));
        assert!(!items[0].sql.contains("CREATE INDEX"));
        assert_eq!(
            table_columns(&items[0].sql).unwrap(),
            vec![
                ("id".to_string(), false),
                ("Odd \"name\"".to_string(), false),
                ("g".to_string(), true)
            ]
        );
        assert_eq!(items[1].label(), "index public.ti");
    }
}
