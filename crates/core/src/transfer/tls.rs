//! Whom the download client trusts: the platform's certificate store (the default), an extra
//! root certificate, or exactly one certificate pinned by its SHA-256 fingerprint — the Offsite
//! agent's self-signed certificate, whose fingerprint the user compared when adding the server.
//!
//! A pinned certificate is accepted whatever its names, dates or issuer: the fingerprint *is* its
//! identity. When the server shows another certificate the handshake fails and the error names
//! both fingerprints ([`FingerprintMismatch`]).

use crate::error::{Error, ErrorKind, Result};
use ring::digest::{digest, SHA256};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// The SHA-256 of a certificate's DER bytes. Shown and parsed as `SHA256:` followed by 64 hex
/// digits (parsing also accepts colons between the bytes, any case, and no prefix).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(cert_der: &[u8]) -> Fingerprint {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, cert_der).as_ref());
        Fingerprint(out)
    }

    /// The fingerprint of the first certificate in a PEM text.
    pub fn of_pem(pem: &str) -> Result<Fingerprint> {
        Ok(Fingerprint::of_der(&first_pem_cert(pem)?))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SHA256:{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Fingerprint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Fingerprint> {
        let t = s.trim();
        let t = t
            .strip_prefix("SHA256:")
            .or_else(|| t.strip_prefix("sha256:"))
            .unwrap_or(t);
        let digits: String = t.chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(&digits)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                Error::invalid(format!("not a SHA-256 certificate fingerprint: {s:?}"))
                    .with_hint("give it as SHA256: followed by 64 hex digits (colons allowed)")
            })?;
        let mut out = [0u8; 32];
        out.copy_from_slice(&bytes);
        Ok(Fingerprint(out))
    }
}

/// Which server certificates the client accepts.
#[derive(Debug, Clone, Default)]
pub enum TlsTrust {
    /// The operating system's certificate store (rustls-platform-verifier).
    #[default]
    Platform,
    /// Certificates signed by this root (PEM or DER), and no other (the server name is checked).
    RootCert(Vec<u8>),
    /// Exactly the certificate with this fingerprint (names, dates and issuer are not checked).
    Pinned(Fingerprint),
}

/// The handshake failed because the server showed another certificate than the pinned one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerprintMismatch {
    pub expected: Fingerprint,
    pub got: Fingerprint,
}

impl fmt::Display for FingerprintMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server's certificate changed: expected fingerprint {}, got {}",
            self.expected, self.got
        )
    }
}

impl std::error::Error for FingerprintMismatch {}

impl FingerprintMismatch {
    /// As the engine's error: `connection`, permanent (waiting does not change a certificate).
    pub fn to_error(&self) -> Error {
        Error::new(ErrorKind::Connection, self.to_string())
            .retryable(false)
            .with_hint(
                "the server now shows another TLS certificate than the one trusted when it was \
                 added. If its certificate was renewed on purpose, compare the new fingerprint \
                 with the one the server prints and trust it again; otherwise someone may be \
                 intercepting the connection",
            )
    }
}

/// A rustls verifier that accepts exactly the certificate whose SHA-256 is `expected` (for the
/// agent's self-signed certificate). Signatures of the handshake are still verified with the
/// certificate's key, so the server must hold its private key.
#[derive(Debug)]
pub struct PinnedCertVerifier {
    expected: Fingerprint,
    provider: Arc<CryptoProvider>,
}

impl PinnedCertVerifier {
    pub fn new(expected: Fingerprint) -> Self {
        PinnedCertVerifier {
            expected,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        }
    }
}

impl ServerCertVerifier for PinnedCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let got = Fingerprint::of_der(end_entity.as_ref());
        if got == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(FingerprintMismatch {
                    expected: self.expected,
                    got,
                })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The rustls client configuration for `trust` (ring; HTTP/1.1).
pub fn client_config(trust: &TlsTrust) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("cannot set up TLS: {e}")))?;
    let mut config = match trust {
        TlsTrust::Platform => {
            use rustls_platform_verifier::BuilderVerifierExt;
            builder
                .with_platform_verifier()
                .map_err(|e| Error::internal(format!("cannot set up TLS: {e}")))?
                .with_no_client_auth()
        }
        TlsTrust::RootCert(bytes) => {
            let der = match std::str::from_utf8(bytes) {
                Ok(text) if text.contains("-----BEGIN") => first_pem_cert(text)?,
                _ => bytes.clone(),
            };
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from(der))
                .map_err(|e| Error::invalid(format!("not a usable root certificate: {e}")))?;
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        TlsTrust::Pinned(fp) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedCertVerifier::new(*fp)))
            .with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The DER bytes of the first `CERTIFICATE` block of a PEM text.
fn first_pem_cert(pem: &str) -> Result<Vec<u8>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .and_then(|c| c.ok())
        .map(|c| c.as_ref().to_vec())
        .ok_or_else(|| Error::invalid("no PEM certificate found"))
}

/// Every error in a chain, looking inside `io::Error`s too (their `source()` skips the error they
/// wrap, and reqwest's connector nests them: io → io → rustls).
fn for_each_in_chain(
    mut e: Option<&(dyn std::error::Error + 'static)>,
    f: &mut dyn FnMut(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    while let Some(s) = e {
        let mut inner: Option<&(dyn std::error::Error + 'static)> = Some(s);
        while let Some(i) = inner {
            if f(i) {
                return true;
            }
            inner = i
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map(|x| x as &(dyn std::error::Error + 'static));
        }
        e = s.source();
    }
    false
}

/// The pinned-certificate mismatch somewhere in an error's source chain (reqwest → hyper → io →
/// rustls), if that is why it failed.
pub(crate) fn find_mismatch(
    e: Option<&(dyn std::error::Error + 'static)>,
) -> Option<FingerprintMismatch> {
    let mut found = None;
    for_each_in_chain(e, &mut |s| {
        if let Some(m) = s.downcast_ref::<FingerprintMismatch>() {
            found = Some(m.clone());
        } else if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(o))) =
            s.downcast_ref::<rustls::Error>()
        {
            found = o.0.downcast_ref::<FingerprintMismatch>().cloned();
        }
        found.is_some()
    });
    found
}

/// Whether a TLS failure (any rustls error) is somewhere in the chain.
pub(crate) fn is_tls_failure(e: Option<&(dyn std::error::Error + 'static)>) -> bool {
    for_each_in_chain(e, &mut |s| s.downcast_ref::<rustls::Error>().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_and_print() {
        let fp = Fingerprint::of_der(b"not really a certificate");
        let shown = fp.to_string();
        assert!(
            shown.starts_with("SHA256:") && shown.len() == 7 + 64,
            "{shown}"
        );
        assert_eq!(shown.parse::<Fingerprint>().unwrap(), fp);
        let colons =
            fp.0.iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":");
        assert_eq!(colons.parse::<Fingerprint>().unwrap(), fp);
        let e = "SHA256:abcd".parse::<Fingerprint>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn a_mismatch_is_found_through_io_and_rustls_wrappers() {
        let m = FingerprintMismatch {
            expected: Fingerprint([1; 32]),
            got: Fingerprint([2; 32]),
        };
        let rustls_err = rustls::Error::InvalidCertificate(CertificateError::Other(
            rustls::OtherError(Arc::new(m.clone())),
        ));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls_err);
        // As reqwest's connector nests it: io(Other) → io(InvalidData) → rustls.
        let outer = std::io::Error::other(io);
        assert_eq!(find_mismatch(Some(&outer)), Some(m.clone()));
        assert!(is_tls_failure(Some(&outer)));
        let text = m.to_error().message().to_string();
        assert!(text.contains(&Fingerprint([1; 32]).to_string()), "{text}");
        assert!(text.contains(&Fingerprint([2; 32]).to_string()), "{text}");
        assert!(!m.to_error().is_temporary());
    }
}
