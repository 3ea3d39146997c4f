//! The shared conformance suite: one set of checks per trait, run against every
//! implementation — bare, and wrapped in `Retrying` behind a fault injector ([`crate::faults`],
//! [`crate::proxy`]). A check panics with what broke the contract.
//!
//! * [`destination::check_destination`]: put/list/stat/sha256/delete, overwrite rules, atomic
//!   puts (a body failing midway, a cancelled put), odd names.
//! * [`object::check_object_source`] and [`object::check_api_source`]: listings with pagination,
//!   streamed gets with ranges and `If-Match`, odd keys, error kinds.
//! * [`database::check_database_source`]: describe, dump → archive that `pg_restore -l` lists with
//!   the row counts of the source, restore, wrong password → `auth` (permanent), unreachable →
//!   `connection` (temporary), cancel leaves nothing.

pub mod database;
pub mod destination;
pub mod object;

use offsite_core::retry::RetryPolicy;
use std::time::Duration;

/// A retry policy for tests: quick waits (real time), enough tries to see through the
/// injected faults.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_total: Duration::from_secs(60),
        jitter: true,
    }
}

pub use offsite_core::destinations::sha256_hex;
