//! The product's words in the command's human output (docs/glossary.md): a count with its noun,
//! "1 table", "2 tables", never "table(s)". One helper for the engine and the command line: the
//! engine's (`offsite_core::words`). JSON keys and flags keep theirs.
pub use offsite_core::words::{count, plural};
