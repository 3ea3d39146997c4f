//! What this build of Offsite is, and the on-disk formats it reads and writes: shown by
//! `offsite --version` and the app's About (docs/versions.md has the compatibility promise).

use serde::{Deserialize, Serialize};

/// The version of this build and of the formats it speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VersionInfo {
    /// The workspace version (`workspace.package.version`), e.g. "0.1.0".
    pub version: String,
    /// The archive format this build writes (`format_version` in `metadata.json`).
    pub archive_format: u32,
    /// The archive formats this build reads: 1 up to and including this one.
    pub archive_formats_read: Vec<u32>,
    /// The catalog schema this build brings a catalog to (the newest migration's number); a
    /// catalog of a newer schema is refused.
    pub catalog_schema: u32,
}

impl VersionInfo {
    /// The text of `offsite --version` after the program name: the version on the first line
    /// (so `offsite --version | head -1` stays "offsite 0.1.0"), then the formats:
    /// "0.1.0\narchive format: 3 (reads 1, 2, 3)\ncatalog schema: 7".
    pub fn long(&self) -> String {
        let read: Vec<String> = self
            .archive_formats_read
            .iter()
            .map(u32::to_string)
            .collect();
        format!(
            "{}\narchive format: {} (reads {})\ncatalog schema: {}",
            self.version,
            self.archive_format,
            read.join(", "),
            self.catalog_schema
        )
    }
}

/// "offsite 0.1.0", recorded in every manifest and sent as the User-Agent.
pub fn tool_version() -> String {
    format!("offsite {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_versions_are_the_ones_a_catalog_and_an_archive_get() {
        let v = crate::version_info();
        assert_eq!(v.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(crate::tool_version(), format!("offsite {}", v.version));
        assert_eq!(v.archive_format, crate::archive::FORMAT_VERSION);
        assert_eq!(v.archive_formats_read.last(), Some(&v.archive_format));
        assert_eq!(v.archive_formats_read.first(), Some(&1));
        // A fresh catalog is brought to exactly the schema the version names.
        let c = crate::catalog::Catalog::open_in_memory().await.unwrap();
        assert_eq!(
            c.schema_version().await.unwrap(),
            i64::from(v.catalog_schema)
        );
        let long = v.long();
        assert_eq!(long.lines().next(), Some(v.version.as_str()), "{long}");
        assert!(
            long.contains("\narchive format: 3 (reads 1, 2, 3)\n"),
            "{long}"
        );
        assert!(
            long.ends_with(&format!("\ncatalog schema: {}", v.catalog_schema)),
            "{long}"
        );
    }
}
