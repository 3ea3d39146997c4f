//! Verifying an encrypted archive without its key: the ciphertext's SHA-256 against
//! `<archive>.sha256` (and, in the verify job, the catalog's record). The members cannot be
//! checked, and the report says so.

use super::super::CHUNK;
use super::verify::{check_sidecar, SidecarStatus, VerifyReport};
use crate::error::{Error, Result};
use crate::progress::{Phase, Reporter};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// What the report says about the contents of an encrypted archive verified without a key.
pub const NOT_CHECKED: &str = "the archive is encrypted and no key was given: only its ciphertext \
     was checked against its .sha256; the contents (every member) were not checked";

pub(super) fn verify_ciphertext(
    path: &Path,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<VerifyReport> {
    let what = || format!("reading {}", path.display());
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(what(), e))?;
    let size = file.metadata().map_err(|e| Error::io(what(), e))?.len();
    reporter.phase(Phase::Verifying, Some(size));
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; CHUNK];
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = super::super::pipeline::read_full(&mut file, &mut buf)
            .map_err(|e| Error::io(what(), e))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
        reporter.advance(n as u64);
    }
    let file_sha256 = hex::encode(ctx.finish().as_ref());
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut problems = Vec::new();
    let sidecar = check_sidecar(path, &file_name, &file_sha256, &mut problems);
    let first_bad = match sidecar {
        SidecarStatus::Match => None,
        SidecarStatus::Missing => {
            problems.push(format!(
                "{file_name} is encrypted, no key was given and there is no {file_name}.sha256: \
                 nothing could be checked"
            ));
            Some(file_name.clone())
        }
        SidecarStatus::Mismatch { .. } => Some(format!("{file_name}.sha256")),
    };
    Ok(VerifyReport {
        archive: path.to_path_buf(),
        ok: first_bad.is_none(),
        file_sha256,
        sidecar,
        members: Vec::new(),
        first_bad,
        bytes_verified: 0,
        problems,
        manifest: None,
        contents_not_checked: Some(NOT_CHECKED.to_string()),
    })
}
