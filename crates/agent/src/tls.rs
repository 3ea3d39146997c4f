//! TLS: the given certificate and key, or a self-signed certificate made at first start and
//! kept in `data_dir/tls/` (`cert.pem`, `key.pem` with mode 0600).
//!
//! The fingerprint the laptop pins is the SHA-256 of the leaf certificate's DER bytes, written
//! `SHA256:` followed by 32 upper-case hex byte pairs separated by colons
//! (`SHA256:AB:CD:…`), as `openssl x509 -noout -fingerprint -sha256` prints it after `=`.

use crate::files::write_atomic;
use offsite_core::{Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The certificate and key files of the self-signed certificate.
pub fn self_signed_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// `SHA256:AB:CD:…` of a DER certificate.
pub fn fingerprint(cert_der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, cert_der);
    let pairs: Vec<String> = d.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256:{}", pairs.join(":"))
}

/// Make the self-signed certificate when it is not there yet (names: localhost, 127.0.0.1,
/// ::1 and the machine's host name). Returns the files.
pub fn ensure_self_signed(data_dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let (cert, key) = self_signed_paths(data_dir);
    if cert.is_file() && key.is_file() {
        return Ok((cert, key));
    }
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
        let h = h.trim();
        if !h.is_empty()
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
        {
            names.push(h.to_string());
        }
    }
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| Error::internal(format!("making a self-signed certificate: {e}")))?;
    // The key first: a certificate without its key would be kept and never work.
    write_atomic(&key, made.key_pair.serialize_pem().as_bytes(), true)?;
    write_atomic(&cert, made.cert.pem().as_bytes(), false)?;
    Ok((cert, key))
}

/// The certificate chain of a PEM file.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| Error::invalid(format!("reading {}: {e}", path.display())))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::invalid(format!("reading {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::invalid(format!(
            "{} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// The fingerprint of the leaf certificate in a PEM file.
pub fn fingerprint_of_file(path: &Path) -> Result<String> {
    Ok(fingerprint(read_certs(path)?[0].as_ref()))
}

/// A rustls server configuration (ring; HTTP/1.1) from PEM files.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>> {
    let certs = read_certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| Error::invalid(format!("reading the private key {}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::invalid(format!("the TLS certificate and key do not fit: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_self_signed_certificate_is_made_once_and_fingerprinted() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = ensure_self_signed(dir.path()).unwrap();
        let fp = fingerprint_of_file(&cert).unwrap();
        assert!(fp.starts_with("SHA256:"));
        assert_eq!(fp.len(), 7 + 32 * 3 - 1);
        assert_eq!(
            fingerprint_of_file(&ensure_self_signed(dir.path()).unwrap().0).unwrap(),
            fp
        );
        server_config(&cert, &key).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
