//! Signed drill reports: a DSSE envelope (<https://github.com/secure-systems-lab/dsse>) around the
//! report's exact JSON bytes, signed with an Ed25519 key Offsite keeps in the keychain.
//!
//! ```json
//! {"payloadType": "application/vnd.offsite.drill-report+json",
//!  "payload": "<base64 of the report's JSON bytes>",
//!  "signatures": [{"keyid": "<hex SHA-256 of the public key's SPKI DER>", "sig": "<base64>"}]}
//! ```
//!
//! The signature is over `PAE(payloadType, payload bytes)` =
//! `"DSSEv1" SP len(type) SP type SP len(body) SP body` (lengths in ASCII decimal): exact bytes,
//! never a re-serialization, so anyone with the public key can check it with a few lines of
//! code (docs/drills.md shows Python and Node). The key pair is generated on first use and kept
//! under [`SIGNING_KEY`] in the secret store (PKCS#8, base64); the public key is exported as a
//! PEM `PUBLIC KEY` (SubjectPublicKeyInfo), which every crypto library reads.

use super::DrillReport;
use crate::error::{Error, ErrorKind, Result};
use crate::secrets::SecretStore;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};

/// The envelope's `payloadType`.
pub const PAYLOAD_TYPE: &str = "application/vnd.offsite.drill-report+json";

/// The secret store key of the report signing key pair.
pub const SIGNING_KEY: &str = "drill:report-signing-key";

/// The most of an envelope file read (a report is a few hundred KiB at most).
pub const MAX_ENVELOPE: u64 = 32 * 1024 * 1024;

/// The fixed DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// An Ed25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// The SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> Vec<u8> {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.0);
        der
    }

    /// PEM `PUBLIC KEY`, what `offsite drill public-key` prints.
    pub fn to_pem(&self) -> String {
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(self.spki_der())
        )
    }

    /// The key id an envelope names: the lowercase hex SHA-256 of [`PublicKey::spki_der`]
    /// (`openssl pkey -pubin -in key.pem -outform DER | sha256sum`).
    pub fn key_id(&self) -> String {
        hex::encode(ring::digest::digest(
            &ring::digest::SHA256,
            &self.spki_der(),
        ))
    }

    /// Read a public key: the PEM `offsite drill public-key` prints, or the base64 of its DER or
    /// of the 32 raw key bytes.
    pub fn parse(text: &str) -> Result<PublicKey> {
        let bad = |why: &str| {
            Error::invalid(format!("not an Ed25519 public key: {why}"))
                .with_hint("give the PEM `offsite drill public-key` prints (a file, or its text)")
        };
        let t = text.trim();
        let body: String = if t.contains("-----BEGIN") {
            let inner = t
                .split_once("-----BEGIN PUBLIC KEY-----")
                .and_then(|(_, r)| r.split_once("-----END PUBLIC KEY-----"))
                .map(|(b, _)| b)
                .ok_or_else(|| bad("the PEM is not a PUBLIC KEY"))?;
            inner.split_whitespace().collect()
        } else {
            t.split_whitespace().collect()
        };
        let der = decode_b64(&body).ok_or_else(|| bad("it is not base64"))?;
        match der.len() {
            32 => Ok(PublicKey(der.try_into().expect("32 bytes"))),
            44 if der[..12] == SPKI_PREFIX => {
                Ok(PublicKey(der[12..].try_into().expect("32 bytes")))
            }
            _ => Err(bad("it is not an Ed25519 SubjectPublicKeyInfo")),
        }
    }
}

/// Standard or URL-safe base64, padded or not (DSSE allows either).
fn decode_b64(s: &str) -> Option<Vec<u8>> {
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(s).ok())
}

/// The report signing key pair (never leaves this module but as a signature).
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public().key_id())
    }
}

impl SigningKey {
    /// A new random key pair and its PKCS#8 document.
    pub fn generate() -> Result<(SigningKey, Vec<u8>)> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| Error::internal("generating an Ed25519 key failed"))?;
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
            .map_err(|_| Error::internal("a generated Ed25519 key did not load"))?;
        Ok((SigningKey { pair }, pkcs8.as_ref().to_vec()))
    }

    fn from_pkcs8(der: &[u8]) -> Result<SigningKey> {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map(|pair| SigningKey { pair })
            .map_err(|_| {
                Error::new(
                    ErrorKind::Secrets,
                    format!("the drill report signing key in the keychain ({SIGNING_KEY}) is damaged"),
                )
                .with_hint(format!(
                    "remove the keychain entry {SIGNING_KEY} to make a new key (reports signed before then verify only with the old public key)"
                ))
            })
    }

    /// This machine's key from the secret store, generated and stored on first use.
    pub fn load_or_create(store: &dyn SecretStore) -> Result<SigningKey> {
        if let Some(stored) = store.get(SIGNING_KEY)? {
            let der = decode_b64(stored.trim()).ok_or_else(|| {
                Error::new(
                    ErrorKind::Secrets,
                    format!("the drill report signing key in the keychain ({SIGNING_KEY}) is not base64"),
                )
            })?;
            return Self::from_pkcs8(&der);
        }
        let (key, pkcs8) = Self::generate()?;
        store.set(SIGNING_KEY, &STANDARD.encode(&pkcs8))?;
        Ok(key)
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(
            self.pair
                .public_key()
                .as_ref()
                .try_into()
                .expect("an Ed25519 public key is 32 bytes"),
        )
    }

    /// Sign `payload` (the report's exact JSON bytes) into a DSSE envelope.
    pub fn sign(&self, payload: &[u8]) -> Envelope {
        let sig = self.pair.sign(&pae(PAYLOAD_TYPE, payload));
        Envelope {
            payload_type: PAYLOAD_TYPE.to_string(),
            payload: STANDARD.encode(payload),
            signatures: vec![Signature {
                keyid: self.public().key_id(),
                sig: STANDARD.encode(sig.as_ref()),
            }],
        }
    }
}

/// DSSE's pre-authentication encoding.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    #[serde(default)]
    pub keyid: String,
    pub sig: String,
}

/// A DSSE JSON envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub payload: String,
    pub signatures: Vec<Signature>,
}

impl Envelope {
    /// The envelope as the file holds it (pretty JSON, a final newline).
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("an envelope serializes");
        v.push(b'\n');
        v
    }
}

/// What a valid envelope holds.
#[derive(Debug, Clone)]
pub struct Verified {
    pub report: DrillReport,
    /// The exact bytes that were signed.
    pub payload: Vec<u8>,
    /// The id of the key that verified it.
    pub key_id: String,
}

fn not_valid(message: String) -> Error {
    Error::new(ErrorKind::Integrity, message)
}

/// Check a signed report (the envelope file's bytes) against `key`: the payload type is the
/// drill report's, one signature verifies over the exact payload bytes, and the payload is a
/// drill report. Anything else is an `integrity` error saying what is wrong.
pub fn verify(envelope: &[u8], key: &PublicKey) -> Result<Verified> {
    let env: Envelope = serde_json::from_slice(envelope).map_err(|e| {
        not_valid(format!(
            "not a signed Offsite drill report (a DSSE JSON envelope): {e}"
        ))
        .with_hint(
            "give the report `offsite drill` printed (its .signed.json beside it), or that .signed.json",
        )
    })?;
    if env.payload_type != PAYLOAD_TYPE {
        return Err(not_valid(format!(
            "the envelope holds {:?}, not an Offsite drill report ({PAYLOAD_TYPE})",
            env.payload_type.chars().take(100).collect::<String>()
        )));
    }
    let payload = decode_b64(&env.payload)
        .ok_or_else(|| not_valid("the envelope's payload is not base64".into()))?;
    let message = pae(&env.payload_type, &payload);
    let verifier = UnparsedPublicKey::new(&ED25519, key.0);
    let ok = env
        .signatures
        .iter()
        .any(|s| decode_b64(&s.sig).is_some_and(|sig| verifier.verify(&message, &sig).is_ok()));
    if !ok {
        let named: Vec<String> = env
            .signatures
            .iter()
            .map(|s| s.keyid.chars().take(64).collect())
            .collect();
        let by_other = !named.is_empty() && !named.iter().any(|k| *k == key.key_id());
        let why = if env.signatures.is_empty() {
            "it has no signature".to_string()
        } else if by_other {
            format!(
                "it was signed by another key ({}), not {}",
                named.join(", "),
                key.key_id()
            )
        } else {
            "the report was changed after it was signed".to_string()
        };
        return Err(not_valid(format!(
            "the drill report's signature does not verify with key {}: {why}",
            key.key_id()
        ))
        .with_hint("do not trust this report; ask for the original file, or check it against the public key of the machine that ran the drill (--public-key)"));
    }
    let report: DrillReport = serde_json::from_slice(&payload).map_err(|e| {
        not_valid(format!(
            "the signature verifies, but the payload is not a drill report this Offsite reads: {e}"
        ))
    })?;
    Ok(Verified {
        report,
        payload,
        key_id: key.key_id(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryStore;

    #[test]
    fn pae_is_dsse_s_encoding() {
        // The DSSE protocol's own example.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn the_key_is_made_once_and_kept_in_the_secret_store() {
        let store = MemoryStore::default();
        let a = SigningKey::load_or_create(&store).unwrap();
        let b = SigningKey::load_or_create(&store).unwrap();
        assert_eq!(a.public(), b.public());
        assert!(store.get(SIGNING_KEY).unwrap().is_some());
        let pem = a.public().to_pem();
        assert!(
            pem.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"),
            "{pem}"
        );
        assert_eq!(PublicKey::parse(&pem).unwrap(), a.public());
        assert_eq!(
            PublicKey::parse(&STANDARD.encode(a.public().0)).unwrap(),
            a.public()
        );
        assert!(PublicKey::parse("hello").is_err());
        assert_eq!(a.public().key_id().len(), 64);
        assert!(!format!("{a:?}").contains(&store.get(SIGNING_KEY).unwrap().unwrap()));
    }

    #[test]
    fn a_signature_covers_the_exact_bytes() {
        let (key, _) = SigningKey::generate().unwrap();
        let env = key.sign(b"{\"x\":1}");
        let message = pae(PAYLOAD_TYPE, b"{\"x\":1}");
        let sig = STANDARD.decode(&env.signatures[0].sig).unwrap();
        UnparsedPublicKey::new(&ED25519, key.public().0)
            .verify(&message, &sig)
            .unwrap();
        // The payload is not a report, so `verify` refuses it after the signature checked.
        let e = verify(&env.to_json(), &key.public()).unwrap_err();
        assert!(e.message().contains("the signature verifies, but"), "{e}");
    }
}
