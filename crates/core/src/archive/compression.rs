//! How an archive is compressed when it is written: zstd (level 1–19, the default of new
//! backups) or gzip (level 0–9, the format every Offsite version reads; readable for good). Both
//! are laid out the same way: the tar stream cut into 1 MiB pieces, each compressed on its own on
//! a worker thread (see `pargz`) into an independent gzip member or zstd frame that records its
//! sizes, so readers hop from piece to piece (`seekgz`).
//! Readers tell the two apart by the first bytes (see [`super::codec`]), never by the name.

use super::codec::Codec;
use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// The default gzip level. Measured on a realistic dump (uuid, email, jsonb, timestamps, text):
/// level 1 makes archives 1.6× pg_dump -Fc's file, level 2 about 1.18×, level 3 about 1.1× at a
/// modest cost in CPU (compression runs on all cores, beside pg_dump).
pub const DEFAULT_COMPRESSION_LEVEL: u32 = 3;

/// The default zstd level, 3, that of every new backup naming no compression (see
/// [`Compression::default`]). Chosen by measurement (docs/benchmarks.md, "The default
/// compression"): on the bench's generated dump in 1 MiB frames, level 3 makes archives 0.99×
/// `pg_dump -Fc`'s file (gzip -3: 1.10×) at about 3× gzip -3's speed per core; level 4 is slower
/// and no smaller, and ≤ 0.9× `-Fc` needs level 12, at 0.3× gzip -3's speed.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// Highest zstd level accepted (20–22, "ultra", want windows beyond what readers accept).
pub const MAX_ZSTD_LEVEL: i32 = 19;

/// A compression and its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip members, level 0–9.
    Gzip(u32),
    /// zstd frames, level 1–19.
    Zstd(i32),
}

/// The compression of every new backup that names none (and no saved
/// `offsite settings --compression` says otherwise): zstd at [`DEFAULT_ZSTD_LEVEL`].
impl Default for Compression {
    fn default() -> Self {
        Compression::Zstd(DEFAULT_ZSTD_LEVEL)
    }
}

impl Compression {
    /// The codec the archive's bytes have.
    pub fn codec(&self) -> Codec {
        match self {
            Compression::Gzip(_) => Codec::Gzip,
            Compression::Zstd(_) => Codec::Zstd,
        }
    }

    /// The archive file name's ending: `.tar.gz` or `.tar.zst` (`.age` is appended when it is
    /// encrypted).
    pub fn suffix(&self) -> &'static str {
        match self {
            Compression::Gzip(_) => ".tar.gz",
            Compression::Zstd(_) => ".tar.zst",
        }
    }

    /// An [`ErrorKind::InvalidInput`](crate::error::ErrorKind::InvalidInput) error when the level is out
    /// of range.
    pub fn check(&self) -> Result<()> {
        match *self {
            Compression::Gzip(l) if l > 9 => Err(Error::invalid(format!(
                "compression level must be 0-9, not {l}"
            ))
            .with_hint("use 0 (none) to 9 (smallest, slowest)")),
            Compression::Zstd(l) if !(1..=MAX_ZSTD_LEVEL).contains(&l) => Err(Error::invalid(
                format!("zstd level must be 1-{MAX_ZSTD_LEVEL}, not {l}"),
            )
            .with_hint("use 1 (fastest) to 19 (smallest); 3 is the default")),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compression::Gzip(l) => write!(f, "gzip:{l}"),
            Compression::Zstd(l) => write!(f, "zstd:{l}"),
        }
    }
}

impl FromStr for Compression {
    type Err = Error;

    /// `gzip`, `gzip:LEVEL`, `zstd` or `zstd:LEVEL` (case-insensitive name).
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(format!("unknown compression {s:?}"))
                .with_hint("use gzip, gzip:LEVEL (0-9), zstd or zstd:LEVEL (1-19)")
        };
        let (name, level) = match s.trim().split_once(':') {
            Some((n, l)) => (n, Some(l.trim())),
            None => (s.trim(), None),
        };
        let c = match (name.to_ascii_lowercase().as_str(), level) {
            ("gzip" | "gz", None) => Compression::Gzip(DEFAULT_COMPRESSION_LEVEL),
            ("gzip" | "gz", Some(l)) => Compression::Gzip(l.parse().map_err(|_| bad())?),
            ("zstd" | "zst", None) => Compression::Zstd(DEFAULT_ZSTD_LEVEL),
            ("zstd" | "zst", Some(l)) => Compression::Zstd(l.parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        };
        c.check()?;
        Ok(c)
    }
}

impl serde::Serialize for Compression {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Compression {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_levels_and_refuses_the_rest() {
        // gzip by name is gzip (at its default level 3), whatever the default compression is.
        assert_eq!("gzip".parse::<Compression>().unwrap(), Compression::Gzip(3));
        assert_eq!(
            Compression::default(),
            Compression::Zstd(DEFAULT_ZSTD_LEVEL)
        );
        assert_eq!(Compression::default().suffix(), ".tar.zst");
        assert_eq!(
            "gzip:9".parse::<Compression>().unwrap(),
            Compression::Gzip(9)
        );
        assert_eq!("zstd".parse::<Compression>().unwrap(), Compression::Zstd(3));
        assert_eq!(
            "ZSTD:19".parse::<Compression>().unwrap(),
            Compression::Zstd(19)
        );
        for bad in [
            "", "lz4", "gzip:10", "zstd:0", "zstd:22", "zstd:x", "gzip:-1",
        ] {
            let e = bad.parse::<Compression>().unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput, "{bad}");
        }
        for c in [Compression::Gzip(0), Compression::Zstd(7)] {
            assert_eq!(c.to_string().parse::<Compression>().unwrap(), c);
        }
        assert_eq!(Compression::Zstd(3).suffix(), ".tar.zst");
        assert_eq!(Compression::Gzip(3).suffix(), ".tar.gz");
    }
}
