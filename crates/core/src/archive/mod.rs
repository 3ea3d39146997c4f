//! The backup archive (format v1): writing, reading, verifying, safe extraction.
pub mod manifest;
pub use manifest::*;
