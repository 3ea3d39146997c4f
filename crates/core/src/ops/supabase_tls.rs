//! How the Supabase quick add checks the database server.
//!
//! Supabase's database certificates — the direct host `db.<ref>.supabase.co` and the Supavisor
//! poolers `*.pooler.supabase.com` alike — chain to Supabase's own "Supabase Root 2021 CA"
//! (through "Supabase Intermediate 2021 CA"), which no operating system or browser trusts.
//! `verify-full` against the system's roots therefore always fails, and `require` checks
//! nothing. So the quick add verifies against the CA file the dashboard offers (Database
//! settings → SSL configuration → Download certificate, `prod-ca-2021.crt`): `sslmode=verify-full`
//! with `sslrootcert=FILE`, for libpq (pg_dump, psql) and sqlx alike. Without that file it
//! refuses, unless `require` (encrypted, the server not checked) is chosen explicitly.

use crate::error::{Error, ErrorKind, Result};
use std::path::Path;

/// The SHA-256 of Supabase Root 2021 CA's certificate (valid 2021-04-28 to 2031-04-26), as
/// published beside the dashboard's download and seen in the chains Supabase's servers present.
pub const SUPABASE_ROOT_2021_SHA256: &str =
    "80:70:25:AD:50:D4:ED:21:9D:2C:9C:7D:29:9C:00:4F:82:4E:B0:0C:F7:F6:5A:FE:F6:07:D0:7B:72:E6:CA:FA";

/// The largest CA file read (a PEM bundle is a few kilobytes).
const MAX_CA_FILE: u64 = 1024 * 1024;

/// How the quick add's connection checks the server.
#[derive(Debug, Clone, Copy)]
pub enum SupabaseTls<'a> {
    /// `verify-full` against this CA file (the dashboard's `prod-ca-2021.crt`).
    Verify(&'a Path),
    /// `require`: encrypted, the server not checked (the user's explicit choice).
    RequireUnverified,
    /// Neither was given: refused, saying how to get the CA.
    Unchosen,
}

/// The refusal when no CA was given and `require` was not chosen.
pub fn needs_ca() -> Error {
    Error::new(
        ErrorKind::NeedsConsent,
        "Supabase's database certificates are signed by Supabase's own certificate authority (Supabase Root 2021 CA), which this system does not trust: without it Offsite cannot check that it talks to your project",
    )
    .with_hint("download the CA from the Supabase dashboard (Database settings, SSL configuration, Download certificate) and pass --supabase-ca FILE; or choose --tls require explicitly (encrypted, the server not checked)")
}

/// The libpq URL parameters for `tls` and a note for the user (`None`: nothing to say).
pub fn url_params(tls: SupabaseTls<'_>) -> Result<(String, Option<String>)> {
    match tls {
        SupabaseTls::RequireUnverified => Ok((
            "sslmode=require".into(),
            Some("TLS without checking the server (--tls require): a machine in the way could pose as your project".into()),
        )),
        SupabaseTls::Unchosen => Err(needs_ca()),
        SupabaseTls::Verify(file) => {
            let (path, fingerprint) = check_ca_file(file)?;
            let note = (!fingerprint.eq_ignore_ascii_case(SUPABASE_ROOT_2021_SHA256)).then(|| {
                format!(
                    "{} is not Supabase Root 2021 CA (its SHA-256 is {fingerprint}); the server must be signed by it",
                    file.display()
                )
            });
            let enc = percent_encoding::utf8_percent_encode(&path, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
                .replace("%2F", "/");
            Ok((format!("sslmode=verify-full&sslrootcert={enc}"), note))
        }
    }
}

/// The CA file as an absolute path, and the SHA-256 of its first certificate (`AB:CD:…`).
/// Refused when missing, too large, or holding no PEM certificate.
pub fn check_ca_file(file: &Path) -> Result<(String, String)> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let bad = |why: String| {
        Error::invalid(format!("the CA file {}: {why}", file.display())).with_hint(
            "download it from the Supabase dashboard (Database settings, SSL configuration, Download certificate) and give its path",
        )
    };
    let abs = std::fs::canonicalize(file).map_err(|e| bad(e.to_string()))?;
    let md = std::fs::metadata(&abs).map_err(|e| bad(e.to_string()))?;
    if !md.is_file() || md.len() > MAX_CA_FILE {
        return Err(bad("not a certificate file".into()));
    }
    let bytes = std::fs::read(&abs).map_err(|e| bad(e.to_string()))?;
    let first = CertificateDer::pem_slice_iter(&bytes)
        .next()
        .and_then(|c| c.ok())
        .ok_or_else(|| bad("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into()))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, first.as_ref());
    let fp: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    let path = abs
        .to_str()
        .ok_or_else(|| bad("its path is not valid Unicode".into()))?
        .to_string();
    Ok((path, fp.join(":")))
}
