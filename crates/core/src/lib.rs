//! Offsite's engine: everything the desktop app and the `offsite` command line do, without Tauri.
//!
//! Layering: callers (CLI, desktop shell) → [`engine::Engine`] → [`ops`] (one module per
//! operation, one job runner) → catalog / secrets / sources / archive → remote systems and disk.
//! Inside, every top-level module stands on a floor and imports only its own floor or below
//! (`docs/architecture.md`; `tests/layers.rs` enforces it). Errors are [`Error`]; progress goes
//! through [`progress::Progress`].

// Functions a reader can hold: no production function over 150 lines (clippy.toml's
// threshold; test code is exempt). One module-file style: `x/mod.rs` beside its children,
// never `x.rs` + `x/`. Both only under clippy (`.ci/test` runs it with -D warnings).
#![cfg_attr(not(test), deny(clippy::too_many_lines))]
#![deny(clippy::self_named_module_files)]

pub mod allocator;
pub mod archive;
pub mod backup;
pub mod browse;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod destinations;
pub mod diff;
pub mod digest;
pub mod drill;
pub mod engine;
pub mod error;
pub mod health;
pub mod import;
pub mod kinds;
pub mod nofollow;
pub mod notify;
pub mod ops;
pub mod parity;
pub mod parts;
pub mod pgdump;
pub mod pgoutput;
pub mod pitr;
pub mod plainsql;
pub mod postgres;
pub mod private_fs;
pub mod process_tree;
pub mod progress;
pub mod recover;
pub mod restore;
pub mod retry;
pub mod schedule;
pub mod secrets;
pub mod selection;
pub mod sources;
pub mod storage;
pub mod tempfiles;
#[cfg(test)]
pub(crate) mod test_fixtures;
mod text_enum;
pub mod transfer;
pub mod units;
pub mod version;
pub mod words;
mod writeback;

pub use engine::{Engine, EngineConfig};
pub use error::{Error, ErrorKind, ErrorPayload, Result};
pub use ops::{
    AddProject, BackupOptions, DeleteOptions, ImportInto, ImportOptions, JobStart, JobTrigger,
    ProjectConnection, UpdateProject, VerifyOptions,
};
pub use restore::{RestorePlan, RestoreRequest};
pub use version::{tool_version, VersionInfo};

/// This build's [`VersionInfo`].
pub fn version_info() -> VersionInfo {
    let format = archive::FORMAT_VERSION;
    VersionInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        archive_format: format,
        archive_formats_read: (1..=format).collect(),
        catalog_schema: catalog_schema(),
    }
}

/// The newest migration embedded in this build.
fn catalog_schema() -> u32 {
    catalog::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0)
}
