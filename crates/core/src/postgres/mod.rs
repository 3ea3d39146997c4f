//! Everything that speaks PostgreSQL: connection specs and URLs ([`conn`]), finding and matching
//! `pg_dump`/`pg_restore`/`psql` ([`tools`]), the process runner ([`process`]), the psql session
//! ([`session`]), and the database restore by step ([`restore`]).

pub mod conn;
pub mod process;
pub mod restore;
pub mod session;
pub mod tools;
