//! libpq connection URLs: reading what libpq accepts (TCP hosts, socket folders, query
//! parameters) into a [`ConnSpec`], and writing the one canonical URL the catalog stores.
//!
//! Reading follows libpq's URI rules (`postgres[ql]://[user[:password]@][host][:port][/dbname]
//! [?param=value&…]`, every part percent-decoded, a host that is an absolute path is a socket
//! folder) and is stricter where libpq would pick one of two answers silently: a parameter that
//! says something else than the address (`postgres://a/db?host=b`), a parameter given twice with
//! two values, several hosts, an unknown parameter — all are refused, naming what is wrong.
//! Errors never quote the URL, its password or a value that could be part of one.

use super::{ConnSpec, TlsMode};
use crate::error::{Error, Result};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The query parameters Offsite understands (libpq's names).
pub const URL_PARAMETERS: &[&str] = &[
    "host",
    "port",
    "dbname",
    "user",
    "password",
    "sslmode",
    "sslrootcert",
];

const URL_HINT: &str = "write it as postgres://USER@HOST:5432/DATABASE, or for a socket folder as postgresql://USER@/DATABASE?host=/var/run/postgresql (the password is asked for separately)";

/// Everything but unreserved characters is escaped in user and database names.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// A socket folder keeps its slashes (`?host=/var/run/postgresql`).
const FOLDER: &AsciiSet = &COMPONENT.remove(b'/');

fn bad(why: impl AsRef<str>) -> Error {
    Error::invalid(format!("not a PostgreSQL connection URL: {}", why.as_ref())).with_hint(URL_HINT)
}

/// `%XX`-decode one part of the URL (libpq decodes every part, and only `%XX`: a `+` stays a
/// plus). `what` names the part in errors; its value is never quoted.
fn decode(s: &str, what: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(0) | None => {
                    return Err(bad(format!(
                        "the {what} has a bad percent-escape (write a % as %25)"
                    )))
                }
                Some(b) => out.push(b),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad(format!("the {what} is not UTF-8 once decoded")))
}

/// At most 80 characters of what was given, for error messages.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(80).collect::<String>())
    }
}

fn non_empty(s: String) -> Option<String> {
    Some(s).filter(|s| !s.is_empty())
}

/// Keep one value for `what`: a second, different value is refused.
fn set_once(slot: &mut Option<String>, value: Option<String>, what: &str) -> Result<()> {
    match (slot.as_ref(), value) {
        (_, None) => Ok(()),
        (None, Some(v)) => {
            *slot = Some(v);
            Ok(())
        }
        (Some(old), Some(v)) if *old == v => Ok(()),
        (Some(_), Some(_)) => Err(bad(format!(
            "it gives the {what} twice, with two values; give it once"
        ))),
    }
}

fn parse_port(s: &str, what: &str) -> Result<u16> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 && s.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(bad(format!("the {what} is not a number from 1 to 65535"))),
    }
}

fn parse_tls(s: &str) -> Result<TlsMode> {
    s.parse::<TlsMode>().map_err(|_| {
        let known = matches!(s, "allow" | "verify-ca");
        Error::invalid(if known {
            format!("the URL parameter sslmode={s} is not supported")
        } else {
            format!(
                "the URL parameter sslmode has an unknown value {:?}",
                shorten(s)
            )
        })
        .with_hint("use sslmode=disable, prefer, require or verify-full")
    })
}

/// Read a libpq URL; the password (from the address or `?password=`) comes back apart.
pub(super) fn parse(input: &str) -> Result<(ConnSpec, Option<String>)> {
    let input = input.trim();
    let rest = ["postgresql://", "postgres://"]
        .iter()
        .find_map(|scheme| {
            input
                .get(..scheme.len())
                .filter(|p| p.eq_ignore_ascii_case(scheme))
                .map(|_| &input[scheme.len()..])
        })
        .ok_or_else(|| bad("it must start with postgres:// or postgresql://"))?;
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (before_query, None),
    };
    let mut parts = Parts::default();
    parts.read_address(authority, path)?;
    parts.read_query(query.unwrap_or_default())?;
    parts.into_spec()
}

/// What a URL gave so far.
#[derive(Default)]
struct Parts {
    user: Option<String>,
    host: Option<String>,
    port: Option<String>,
    database: Option<String>,
    password: Option<String>,
    tls: Option<String>,
    ca_file: Option<String>,
}

impl Parts {
    /// `[user[:password]@]host[:port]` and the path (the database).
    fn read_address(&mut self, authority: &str, path: Option<&str>) -> Result<()> {
        // The last '@' ends the user part, so a stray '@' in a password never becomes a host.
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        if let Some(ui) = userinfo {
            let (u, p) = match ui.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (ui, None),
            };
            self.user = non_empty(decode(u, "user name")?);
            if let Some(p) = p {
                self.password = non_empty(decode(p, "password")?);
            }
        }
        let (h, p) = split_host_port(hostport)?;
        self.host = non_empty(decode(h, "host")?).or(self.host.take());
        if let Some(p) = p.filter(|p| !p.is_empty()) {
            self.port = Some(parse_port(p, "port")?.to_string());
        }
        if let Some(path) = path {
            self.database = non_empty(decode(path, "database name")?);
        }
        Ok(())
    }

    /// The `?key=value&…` parameters: known names only, each at most once.
    fn read_query(&mut self, query: &str) -> Result<()> {
        let mut seen: Vec<String> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(k, "name of a URL parameter")?;
            let name_like = !key.is_empty()
                && key.len() <= 64
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !name_like {
                // Not echoed: text like this is often a misplaced `user:password@` (a `?` or `#`
                // in it ends the address early), and error messages are shown and logged.
                return Err(bad("it has a URL parameter whose name is not a name").with_hint(
                    "percent-encode special characters in the user and password (? becomes %3F, # %23, @ %40, / %2F)",
                ));
            }
            if !URL_PARAMETERS.contains(&key.as_str()) {
                return Err(Error::invalid(format!(
                    "the URL parameter {:?} is not supported",
                    shorten(&key)
                ))
                .with_hint(format!(
                    "Offsite understands only {}; remove {:?} from the URL",
                    URL_PARAMETERS.join(", "),
                    shorten(&key)
                )));
            }
            if seen.contains(&key) {
                return Err(bad(format!("it gives the parameter {key} twice")));
            }
            seen.push(key.clone());
            let value = non_empty(decode(v, &format!("value of the parameter {key}"))?);
            self.set_parameter(&key, value)?;
        }
        Ok(())
    }

    /// One known parameter; those the address also gives must agree with it.
    fn set_parameter(&mut self, key: &str, value: Option<String>) -> Result<()> {
        match key {
            "host" => {
                if value.as_deref().is_some_and(|v| v.contains(',')) {
                    return Err(bad(
                        "it names several hosts; Offsite connects to exactly one (give one host)",
                    ));
                }
                set_once(&mut self.host, value, "host")?
            }
            "port" => {
                let value = match value {
                    Some(v) => Some(parse_port(&v, "parameter port")?.to_string()),
                    None => None,
                };
                set_once(&mut self.port, value, "port")?
            }
            "dbname" => set_once(&mut self.database, value, "database name")?,
            "user" => set_once(&mut self.user, value, "user name")?,
            "password" => set_once(&mut self.password, value, "password")?,
            "sslmode" => self.tls = value,
            "sslrootcert" => self.ca_file = value,
            _ => unreachable!("checked against URL_PARAMETERS"),
        }
        Ok(())
    }

    /// The spec, with libpq's defaults where Offsite follows them, and the password apart.
    fn into_spec(self) -> Result<(ConnSpec, Option<String>)> {
        let host = self.host.ok_or_else(|| {
            bad("it names no host; Offsite does not guess one (libpq's default socket folder differs between systems)")
                .with_hint("give a host name (postgres://USER@HOST:5432/DATABASE) or the socket folder (postgresql://USER@/DATABASE?host=/var/run/postgresql)")
        })?;
        let user = self.user.unwrap_or_else(|| "postgres".to_string());
        let spec = ConnSpec {
            host,
            port: match self.port {
                Some(p) => p.parse().expect("checked port"),
                None => 5432,
            },
            database: self.database.unwrap_or_else(|| user.clone()),
            user,
            tls: match self.tls {
                Some(t) => parse_tls(&t)?,
                None => TlsMode::Prefer,
            },
            ca_file: self.ca_file,
        };
        spec.validate()?;
        Ok((spec, self.password))
    }
}

/// `host[:port]` or `[v6]:port`; one host only.
fn split_host_port(hostport: &str) -> Result<(&str, Option<&str>)> {
    if hostport.contains(',') {
        return Err(bad(
            "it names several hosts; Offsite connects to exactly one (give one host)",
        ));
    }
    if let Some(inner) = hostport.strip_prefix('[') {
        let (addr, after) = inner
            .split_once(']')
            .ok_or_else(|| bad("an IPv6 address opened with [ is not closed with ]"))?;
        let p = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| bad("only :PORT may follow an IPv6 address in brackets"))?,
            ),
        };
        return Ok((addr, p));
    }
    match hostport.split_once(':') {
        Some((_, p)) if p.contains(':') => {
            Err(bad("an IPv6 address must be written in brackets ([::1])"))
        }
        Some((h, p)) => Ok((h, Some(p))),
        None => Ok((hostport, None)),
    }
}

/// The canonical URL, without a password: `postgres://USER@HOST:PORT/DATABASE[?sslmode=…]`, or
/// for a socket folder `postgres://USER@/DATABASE?host=/FOLDER&port=PORT[&sslmode=…]` (both read
/// by libpq, psql and Offsite alike).
pub(super) fn format(spec: &ConnSpec) -> String {
    let user = utf8_percent_encode(&spec.user, COMPONENT);
    let db = utf8_percent_encode(&spec.database, COMPONENT);
    let mut params = Vec::new();
    let mut url = if spec.is_socket() {
        params.push(format!("host={}", utf8_percent_encode(&spec.host, FOLDER)));
        params.push(format!("port={}", spec.port));
        format!("postgres://{user}@/{db}")
    } else if spec.host.contains(':') {
        format!("postgres://{user}@[{}]:{}/{db}", spec.host, spec.port)
    } else {
        format!("postgres://{user}@{}:{}/{db}", spec.host, spec.port)
    };
    if spec.tls != TlsMode::Prefer {
        params.push(format!("sslmode={}", spec.tls));
    }
    if let Some(ca) = &spec.ca_file {
        params.push(format!("sslrootcert={}", utf8_percent_encode(ca, FOLDER)));
    }
    if !params.is_empty() {
        url.push('?');
        url.push_str(&params.join("&"));
    }
    url
}

/// Longest socket path a Unix socket may have (`sun_path` is 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Refuse what cannot be connected to exactly as written: see [`ConnSpec::validate`].
pub(super) fn validate(spec: &ConnSpec) -> Result<()> {
    if spec.user.is_empty() || spec.database.is_empty() {
        return Err(
            Error::invalid("the user and the database name must not be empty")
                .with_hint("give the role to connect as and the database"),
        );
    }
    if spec.port == 0 {
        return Err(Error::invalid("the port must be a number from 1 to 65535")
            .with_hint("PostgreSQL's usual port is 5432"));
    }
    if let Some(ca) = &spec.ca_file {
        if spec.tls != TlsMode::VerifyFull {
            return Err(Error::invalid(format!(
                "sslrootcert is given with sslmode={}: a certificate authority is only checked with verify-full",
                spec.tls
            ))
            .with_hint("use sslmode=verify-full with sslrootcert, or leave sslrootcert out"));
        }
        if !ca.starts_with('/') || ca.contains('\0') || ca.len() > 4096 {
            return Err(Error::invalid(format!(
                "sslrootcert {:?} is not an absolute path",
                shorten(ca)
            ))
            .with_hint("give the certificate authority's file as an absolute path (/home/me/prod-ca-2021.crt)"));
        }
    }
    let host = shorten(&spec.host);
    if spec.is_socket() {
        let socket = format!("{}/.s.PGSQL.{}", spec.host.trim_end_matches('/'), spec.port);
        if spec.host.contains('\0') || socket.len() > MAX_SOCKET_PATH {
            return Err(Error::invalid(format!(
                "the socket path {:?} is longer than the {MAX_SOCKET_PATH} bytes a Unix socket path may have",
                shorten(&socket)
            ))
            .with_hint("use a shorter socket folder (unix_socket_directories in postgresql.conf)"));
        }
        if matches!(spec.tls, TlsMode::Require | TlsMode::VerifyFull) {
            return Err(Error::invalid(format!(
                "sslmode={} cannot be honoured over the socket folder {host}: connections over a Unix socket are never encrypted",
                spec.tls
            ))
            .with_hint("use the TLS mode (sslmode) disable or prefer with a socket folder, or a host name to connect over TCP with TLS"));
        }
        return Ok(());
    }
    let name_like = !spec.host.is_empty()
        && spec
            .host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    let ipv6 = spec.host.contains(':') && spec.host.parse::<std::net::Ipv6Addr>().is_ok();
    if name_like || ipv6 {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{host:?} is not a host name, an address or a socket folder"
        ))
        .with_hint("give the server's host name (db.example.com), its address (10.0.0.5, ::1), or a socket folder as an absolute path (/var/run/postgresql)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn spec(host: &str, port: u16, user: &str, database: &str, tls: TlsMode) -> ConnSpec {
        ConnSpec {
            host: host.into(),
            port,
            user: user.into(),
            database: database.into(),
            tls,
            ca_file: None,
        }
    }

    /// Every accepted form → the exact spec and password; the canonical URL reads back as the
    /// same spec and is itself canonical.
    #[test]
    fn accepted_forms_give_the_exact_spec_and_round_trip() {
        use TlsMode::*;
        let run = "/var/run/postgresql";
        let cases: Vec<(&str, ConnSpec, Option<&str>)> = vec![
            (
                "postgres://h",
                spec("h", 5432, "postgres", "postgres", Prefer),
                None,
            ),
            ("POSTGRESQL://u@h/", spec("h", 5432, "u", "u", Prefer), None),
            (
                "postgresql://app%40x:s%3Acret@db.example.com:6543/my%20db?sslmode=verify-full",
                spec("db.example.com", 6543, "app@x", "my db", VerifyFull),
                Some("s:cret"),
            ),
            (
                "postgres://u:p@ss@h/d",
                spec("h", 5432, "u", "d", Prefer),
                Some("p@ss"),
            ),
            (
                "postgres://[::1]:6543/d",
                spec("::1", 6543, "postgres", "d", Prefer),
                None,
            ),
            ("postgres://u@h:/d", spec("h", 5432, "u", "d", Prefer), None),
            (
                "postgres://u@h/a+b%25c",
                spec("h", 5432, "u", "a+b%c", Prefer),
                None,
            ),
            // Socket folders: as ?host=, percent-encoded in the address, with parameters.
            (
                "postgresql:///shop?host=/var/run/postgresql",
                spec(run, 5432, "postgres", "shop", Prefer),
                None,
            ),
            (
                "postgresql://%2Fvar%2Frun%2Fpostgresql/shop",
                spec(run, 5432, "postgres", "shop", Prefer),
                None,
            ),
            (
                "postgresql://%2Fvar%2Frun%2Fpostgresql:5433/shop",
                spec(run, 5433, "postgres", "shop", Prefer),
                None,
            ),
            (
                "postgresql://?host=%2Ftmp%2Fmy%20pg&port=6000&dbname=d&user=me&sslmode=disable",
                spec("/tmp/my pg", 6000, "me", "d", Disable),
                None,
            ),
            (
                "postgres://u@/d?host=/tmp&password=pw",
                spec("/tmp", 5432, "u", "d", Prefer),
                Some("pw"),
            ),
            // The same value twice is not a conflict.
            (
                "postgres://u@h:5433/d?host=h&port=5433&dbname=d&user=u",
                spec("h", 5433, "u", "d", Prefer),
                None,
            ),
            (
                "postgres://h/d?sslmode=require&",
                spec("h", 5432, "postgres", "d", Require),
                None,
            ),
        ];
        for (input, want, want_pw) in cases {
            let (got, pw) = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got, want, "{input}");
            assert_eq!(pw.as_deref(), want_pw, "{input}");
            let url = format(&got);
            assert!(want_pw.is_none_or(|p| !url.contains(p)), "{url}");
            let (again, pw2) = parse(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(again, got, "{input} → {url}");
            assert_eq!(pw2, None);
            assert_eq!(format(&again), url, "canonical URL of {input}");
        }
    }

    #[test]
    fn canonical_urls_are_written_exactly() {
        use TlsMode::*;
        for (s, url) in [
            (
                spec("db.example.com", 5432, "app", "shop", Require),
                "postgres://app@db.example.com:5432/shop?sslmode=require",
            ),
            (
                spec("::1", 6543, "a b", "x/y", Prefer),
                "postgres://a%20b@[::1]:6543/x%2Fy",
            ),
            (
                spec("/var/run/postgresql", 5432, "postgres", "shop", Prefer),
                "postgres://postgres@/shop?host=/var/run/postgresql&port=5432",
            ),
            (
                spec("/tmp/a&b=c d", 5433, "u", "50%", Disable),
                "postgres://u@/50%25?host=/tmp/a%26b%3Dc%20d&port=5433&sslmode=disable",
            ),
        ] {
            assert_eq!(format(&s), url);
            assert_eq!(parse(url).unwrap().0, s, "{url}");
        }
    }

    /// Every refused form → `invalid_input` naming what is wrong, never quoting the password.
    #[test]
    fn refused_forms_say_what_is_wrong() {
        let long = format!("postgres://u@/d?host=/{}", "x".repeat(100));
        let cases: Vec<(&str, &str)> = vec![
            ("mysql://h/db", "postgres://"),
            ("not a url", "postgres://"),
            ("postgres:///db", "no host"),
            ("postgresql:///db?host=", "no host"),
            ("postgres://h/db?sslmode=maybe", "sslmode"),
            ("postgres://h/db?sslmode=verify-ca", "sslmode=verify-ca"),
            ("postgres://h/db?x=1", "\"x\""),
            ("postgres://h/db?application_name=a", "\"application_name\""),
            ("postgres://h/db?connect_timeout=5", "\"connect_timeout\""),
            ("postgres://h/db?options=-cfoo", "\"options\""),
            ("postgres://a,b/db", "several hosts"),
            ("postgres:///db?host=/a,/b", "several hosts"),
            ("postgres://a/db?host=b", "host twice"),
            ("postgres://a:1/db?port=2", "port twice"),
            ("postgres://u@a/db?user=v", "user name twice"),
            ("postgres://a/db1?dbname=db2", "database name twice"),
            (
                "postgres://a/db?sslmode=disable&sslmode=require",
                "sslmode twice",
            ),
            ("postgres://h:99999/db", "port"),
            ("postgres://h:0/db", "port"),
            ("postgres://h/db?port=x", "parameter port"),
            ("postgres://::1/db", "brackets"),
            ("postgres://[::1/db", "not closed"),
            (
                "postgres://h/d%zz",
                "database name has a bad percent-escape",
            ),
            ("postgres://h/d%00", "percent-escape"),
            ("postgres://my%20host/db", "not a host name"),
            ("postgres://fe80::1%25eth0/db", "brackets"),
            ("postgres://[fe80::1%25eth0]/db", "not a host name"),
            ("postgres://%40abstract/db", "not a host name"),
            ("postgres://rel%2Fdir/db", "not a host name"),
            (
                "postgres:///db?host=/tmp&sslmode=require",
                "sslmode=require cannot be honoured",
            ),
            (
                "postgres:///db?host=/tmp&sslmode=verify-full",
                "sslmode=verify-full cannot be honoured",
            ),
            (long.as_str(), "longer than the 107 bytes"),
        ];
        for (input, says) in cases {
            let e = parse(input).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{input}");
            assert!(e.message().contains(says), "{input}: {}", e.message());
            assert!(e.hint().is_some(), "{input}");
        }
        // A password (here with a stray '/' that ends the address early) is never quoted.
        for input in [
            "postgres://u:s3cr3t%zz@h/db",
            "postgres://u:s3cr3t/x@h/db",
            "postgres://u@h/db?password=s3cr3t&password=other",
            "postgres://u:s3cr3t@h/db?password=other",
        ] {
            let e = parse(input).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{input}");
            let text = format!("{} {}", e.message(), e.hint().unwrap_or_default());
            assert!(
                !text.contains("s3cr3t") && !text.contains("other"),
                "{input}: {text}"
            );
        }
    }
}
