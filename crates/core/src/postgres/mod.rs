//! Everything that speaks PostgreSQL: connection specs and URLs ([`conn`]), finding and matching
//! `pg_dump`/`pg_restore`/`psql` ([`tools`]), the process runner ([`process`]), the dump into an
//! archive ([`dump`]), the one psql session ([`session`]), and the database restore by step
//! ([`restore`]). The jobs reach it through [`crate::sources::PostgresSource`].

pub mod census;
pub mod conn;
pub mod digest;
pub mod dump;
pub mod dump_dir;
pub mod dump_split;
mod dump_tail;
pub mod dump_workers;
pub mod process;
pub mod restore;
pub mod session;
pub mod tool_places;
pub mod tools;
