//! What Offsite says about damage and copies is true (issue 42, items 1, 7 and 8): a verify that
//! finds damage is a failed job with the `integrity` code and alerts once per damaged backup,
//! through the outbox to a real receiver; the 3-2-1 count sees copies on one disk as one medium.
//!
//! `cargo test -p offsite-core --test alerts` (one throwaway PostgreSQL cluster per process).

#[path = "../engine/common.rs"]
#[allow(unused_imports)]
mod common;

mod checklist;
mod damage;
mod media;
