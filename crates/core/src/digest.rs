//! SHA-256, the one digest Offsite records (archive members, copies, configuration documents):
//! of a byte slice, or while streaming. Ground floor: every floor checksums.

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut s = Sha256::new();
    s.update(bytes);
    s.hex()
}

/// SHA-256 while streaming.
pub struct Sha256(ring::digest::Context);

impl Sha256 {
    pub fn new() -> Self {
        Sha256(ring::digest::Context::new(&ring::digest::SHA256))
    }
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes)
    }
    /// The digest, hex.
    pub fn hex(self) -> String {
        hex::encode(self.0.finish().as_ref())
    }
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut s = Sha256::new();
        s.update(b"ab");
        s.update(b"c");
        assert_eq!(s.hex(), sha256_hex(b"abc"));
    }
}
