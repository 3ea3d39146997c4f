//! Property-based fuzzing on stable Rust (proptest): the shared settings of every `fuzz_*` test.
//!
//! Every reader of untrusted bytes has a `fuzz_<target>` test somewhere in the workspace. Each
//! runs a bounded number of generated cases in `.ci/test` (its own "fuzz" step) and can run
//! longer by hand:
//!
//! ```text
//! OFFSITE_FUZZ_CASES=100000 cargo test --workspace fuzz_
//! ```
//!
//! A failing case is shrunk by proptest and printed; it then becomes a named regression test
//! beside the fuzz test (proptest's own persistence files are off: the regression lives in code).

use proptest::test_runner::Config;

/// Cases per fuzz target when `OFFSITE_FUZZ_CASES` is not set (keeps the fuzz step of
/// `.ci/test` within its budget).
pub const DEFAULT_CASES: u32 = 256;

/// Cases per target: `OFFSITE_FUZZ_CASES`, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("OFFSITE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &u32| n > 0)
        .unwrap_or(default)
}

/// The proptest configuration of a fuzz target: [`cases`] with [`DEFAULT_CASES`], no failure
/// persistence files.
pub fn config() -> Config {
    config_with(DEFAULT_CASES)
}

/// As [`config`], for a target whose cases are expensive (it runs `default` unless
/// `OFFSITE_FUZZ_CASES` says otherwise).
pub fn config_with(default: u32) -> Config {
    Config {
        cases: cases(default),
        failure_persistence: None,
        ..Config::default()
    }
}
