//! A Supabase project as a person pastes it — its ref, its URL, its database host or a
//! connection string (direct or through the session pooler) — read once, here, for the window's
//! quick add and `offsite project add --supabase` alike.

use crate::error::{Error, Result};
use crate::postgres::conn::TlsMode;
use serde::Serialize;

/// How many characters a Supabase project ref has (lower-case letters and digits).
pub const REF_LEN: usize = 20;

/// A Supabase project and what the quick add fills in for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SupabaseProject {
    pub project_ref: String,
    /// The direct database host, `db.<ref>.supabase.co`.
    pub db_host: String,
    pub db_port: u16,
    pub db_user: String,
    pub db_name: String,
    /// TLS is required (Supabase's certificates are signed by its own CA).
    pub tls: TlsMode,
    /// The storage's S3 endpoint, `https://<ref>.storage.supabase.co/storage/v1/s3`.
    pub storage_endpoint: String,
}

/// Whether `s` is a project ref: [`REF_LEN`] lower-case ASCII letters and digits.
pub fn is_project_ref(s: &str) -> bool {
    s.len() == REF_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `https://REF.supabase.co[/…]`, `REF.supabase.co`, `db.REF.supabase.co`,
/// `REF.storage.supabase.co`, a bare ref, or a connection string
/// (`postgres://postgres@db.REF.supabase.co…`, or the session pooler's
/// `postgres://postgres.REF@aws-0-….pooler.supabase.com…`).
pub fn parse(input: &str) -> Result<SupabaseProject> {
    let refused = || {
        Error::invalid(format!(
            "{:?} is not a Supabase project URL or ref",
            input.chars().take(200).collect::<String>()
        ))
        .with_hint(
            "paste the project URL from the dashboard (https://<ref>.supabase.co), its 20-character \
             ref, or its database connection string",
        )
    };
    let s = input.trim().to_ascii_lowercase();
    if s.len() > 2048 {
        return Err(refused());
    }
    let project_ref = match s
        .strip_prefix("postgresql://")
        .or_else(|| s.strip_prefix("postgres://"))
    {
        Some(rest) => ref_of_connection(rest),
        None => ref_of_address(&s),
    }
    .filter(|r| is_project_ref(r))
    .ok_or_else(refused)?;
    Ok(SupabaseProject {
        db_host: format!("db.{project_ref}.supabase.co"),
        db_port: 5432,
        db_user: "postgres".into(),
        db_name: "postgres".into(),
        tls: TlsMode::Require,
        storage_endpoint: format!("https://{project_ref}.storage.supabase.co/storage/v1/s3"),
        project_ref,
    })
}

/// The ref in `USER[:PW]@HOST[:PORT][/…]`: the direct host's, or the pooler user's.
fn ref_of_connection(rest: &str) -> Option<String> {
    let authority = rest.split(['/', '?']).next()?;
    let (userinfo, hostport) = authority.rsplit_once('@')?;
    let user = userinfo.split(':').next()?;
    let host = hostport.split(':').next()?;
    if host.ends_with(".pooler.supabase.com") {
        return user.strip_prefix("postgres.").map(str::to_string);
    }
    host.strip_prefix("db.")?
        .strip_suffix(".supabase.co")
        .map(str::to_string)
}

/// The ref in a project URL, a host name or a bare ref.
fn ref_of_address(s: &str) -> Option<String> {
    let s = s.trim_end_matches('/');
    let host = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = host.split('/').next()?;
    let host = host.strip_prefix("db.").unwrap_or(host);
    let r = host
        .strip_suffix(".storage.supabase.co")
        .or_else(|| host.strip_suffix(".supabase.co"))
        .or_else(|| host.strip_suffix(".supabase.in"))
        .unwrap_or(host);
    Some(r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REF: &str = "abcdefghijklmnopqrst";

    #[test]
    fn urls_hosts_refs_and_connection_strings_give_the_project() {
        for input in [
            "https://abcdefghijklmnopqrst.supabase.co",
            "https://abcdefghijklmnopqrst.supabase.co/",
            "abcdefghijklmnopqrst.supabase.co",
            "db.abcdefghijklmnopqrst.supabase.co",
            "abcdefghijklmnopqrst.storage.supabase.co",
            "abcdefghijklmnopqrst",
            "ABCDEFGHIJKLMNOPQRST",
            " https://ABCDEFGHIJKLMNOPQRST.supabase.co/ ",
            " https://abcdefghijklmnopqrst.supabase.co/rest/v1 ",
            "postgres://postgres@db.abcdefghijklmnopqrst.supabase.co:5432/postgres",
            "postgresql://postgres:pw@db.abcdefghijklmnopqrst.supabase.co/postgres?sslmode=require",
            "postgres://postgres.abcdefghijklmnopqrst@aws-0-eu-central-1.pooler.supabase.com:5432/postgres",
            "postgresql://postgres.abcdefghijklmnopqrst:p%40ss@aws-0-us-east-1.pooler.supabase.com:6543/postgres",
        ] {
            let p = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p.project_ref, REF, "{input}");
            assert_eq!(p.db_host, "db.abcdefghijklmnopqrst.supabase.co");
            assert_eq!(
                p.storage_endpoint,
                "https://abcdefghijklmnopqrst.storage.supabase.co/storage/v1/s3"
            );
            assert_eq!((p.db_port, p.tls), (5432, TlsMode::Require));
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_same_error() {
        for bad in [
            "",
            "https://example.com",
            "ABC",
            "short",
            "has space",
            "a.b.c",
            "abcdefghijklmnopqrs",                          // 19
            "abcdefghijklmnopqrstu",                        // 21
            "abcdefghijklmnopqrstuvwxyz0123456789abcd",     // 40
            "abcdefghij-lmnopqrst",                         // not a letter or digit
            "postgres://postgres@db.example.com/postgres",  // not Supabase
            "postgres://app@aws-0-x.pooler.supabase.com/p", // no ref in the user
            "postgres://postgres.abcdefghijklmnopqrst@example.com/postgres",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad}");
            assert!(e.message().contains("not a Supabase project URL or ref"));
        }
    }
}
