//! The catalog (SQLite).
