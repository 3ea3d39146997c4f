//! The drill report's signature and printable page: beside each report JSON
//! (`<data>/drills/<project>/<id>.json`) the DSSE envelope signing its exact bytes
//! (`<id>.signed.json`) and the HTML page (`<id>.html`); this machine's public key; checking a
//! signed report; the page of a recorded drill (`drill show --html`).

use crate::drill::sign::{self, PublicKey, SigningKey, Verified};
use crate::drill::{report_html, DrillReport};
use crate::error::{Error, ErrorKind, Result};
use crate::Engine;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// `<id>.signed.json` beside `<id>.json`.
pub fn signed_path(json_path: &Path) -> PathBuf {
    json_path.with_extension("signed.json")
}

/// `<id>.html` beside `<id>.json`.
pub fn html_path(json_path: &Path) -> PathBuf {
    json_path.with_extension("html")
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::internal("a report file without a folder"))?;
    let mut tmp = crate::private_fs::tempfile_in(dir, crate::tempfiles::TEMP_PREFIX)
        .map_err(|e| Error::io(format!("creating a file in {}", dir.display()), e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    tmp.persist(path)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e.error))?;
    Ok(())
}

/// Sign the report's exact JSON bytes (as written to `json_path`) and write the envelope and
/// the HTML page beside it. A key that cannot be had (a headless run without one, see
/// docs/drills.md) leaves the report unsigned, said in the page and in the log; the drill
/// itself stands. Returns the signing key's id when it was signed.
pub fn write_beside(
    engine: &Engine,
    json_path: &Path,
    json: &[u8],
    report: &DrillReport,
) -> Result<Option<String>> {
    let key_id = match SigningKey::load_or_create(engine.secrets.as_ref()) {
        Ok(key) => {
            write_private(&signed_path(json_path), &key.sign(json).to_json())?;
            Some(key.public().key_id())
        }
        Err(e) => {
            tracing::warn!(target: "offsite::drill", "the drill report is not signed: {}", e.message());
            None
        }
    };
    let html = report_html::render(report, key_id.as_deref());
    write_private(&html_path(json_path), html.as_bytes())?;
    Ok(key_id)
}

/// What to say when the report at `json_path` was written without its signature (no envelope
/// beside it: this machine has no signing key, e.g. a headless run without a keychain), with
/// the key to set; `None` when it is signed.
pub fn unsigned_note(json_path: &Path) -> Option<String> {
    if signed_path(json_path).is_file() {
        return None;
    }
    let var = crate::secrets::env_var_for_key(sign::SIGNING_KEY);
    Some(format!(
        "the drill report is NOT signed: this machine has no drill report key (it is kept in \
         the OS keychain; without one, set {var} to a base64 PKCS#8 Ed25519 key, e.g. \
         `openssl genpkey -algorithm ed25519 -outform DER | base64 -w0`, in the environment of \
         every drill — see docs/drills.md)"
    ))
}

/// This machine's report signing key (made on first use).
pub fn public_key(engine: &Engine) -> Result<PublicKey> {
    Ok(SigningKey::load_or_create(engine.secrets.as_ref())?.public())
}

/// Read a public key given as a file's path or as the key's text.
fn given_key(given: &str) -> Result<PublicKey> {
    let p = Path::new(given.trim());
    if !given.contains("-----BEGIN") && p.is_file() {
        let text = read_bounded(p, 64 * 1024)?;
        return PublicKey::parse(&String::from_utf8_lossy(&text));
    }
    PublicKey::parse(given)
}

fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut buf = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if buf.len() as u64 > max {
        return Err(Error::invalid(format!(
            "{} is larger than {max} bytes: not a drill report",
            path.display()
        )));
    }
    Ok(buf)
}

/// Check a signed report with `public_key` (a PEM file or text), or this machine's key. `file`
/// is the envelope (`<id>.signed.json`), or the report `offsite drill` printed (`<id>.json`,
/// with its envelope beside it): then the report's bytes must be exactly the ones signed, so
/// an edited report does not pass on its untouched envelope.
pub fn verify_file(engine: &Engine, file: &Path, public_key: Option<&str>) -> Result<Verified> {
    let is_envelope = file
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".signed.json"));
    let beside = signed_path(file);
    if !is_envelope && beside.is_file() {
        let report = read_bounded(file, sign::MAX_ENVELOPE)?;
        let verified = verify_envelope(engine, &beside, public_key)?;
        if verified.payload != report {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "{} is not the report that was signed: it was changed after the drill",
                    file.display()
                ),
            )
            .with_hint(format!(
                "the signed report is inside {}; `offsite drill verify-report` of that file shows it",
                beside.display()
            )));
        }
        return Ok(verified);
    }
    verify_envelope(engine, file, public_key)
}

/// Check a DSSE envelope file.
fn verify_envelope(engine: &Engine, file: &Path, public_key: Option<&str>) -> Result<Verified> {
    let key = match public_key {
        Some(k) => given_key(k)?,
        None => match engine.secrets.get(sign::SIGNING_KEY)? {
            Some(_) => self::public_key(engine)?,
            None => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    "this machine has no drill report key: it did not sign this report",
                )
                .with_hint(
                    "give the public key of the machine that ran the drill: --public-key FILE",
                ))
            }
        },
    };
    let bytes = read_bounded(file, sign::MAX_ENVELOPE)?;
    sign::verify(&bytes, &key)
}

/// A recorded drill's printable page; the key id is the signature's when the envelope beside
/// its report verifies with this machine's key.
pub async fn html_of(engine: &Engine, drill_id: &str) -> Result<String> {
    let d = crate::ops::drill::record(engine, drill_id).await?;
    let key_id = d.report_path.as_deref().and_then(|p| {
        let signed = signed_path(Path::new(p));
        verify_file(engine, &signed, None).ok().map(|v| v.key_id)
    });
    Ok(report_html::render(&d.report, key_id.as_deref()))
}
