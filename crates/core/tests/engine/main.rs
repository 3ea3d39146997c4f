//! The engine's integration tests, one binary (they share `common` and one throwaway PostgreSQL
//! cluster per process). The keychain tests are apart (`tests/keychain.rs`): keyring's mock
//! builder is process-wide and they need a D-Bus session.
//!
//! `cargo test -p offsite-core --test engine` runs them all; add a module path to run one part,
//! e.g. `cargo test -p offsite-core --test engine pg_engine::`.

mod age_interop;
mod arbitrary_sql;
#[cfg(unix)] // fake tools as shell scripts, Unix modes (docs/development.md)
mod as_role;
mod atomic_restore;
mod backup_selection;
mod browse;
mod browse_encrypted;
mod canary;
mod catalog;
mod clock_and_triggers;
mod common;
mod config_component;
mod config_functions;
mod config_secrets;
mod config_vault;
mod conformance;
mod content_check;
mod delete_locked;
mod dest_s3;
mod dest_s3_lock;
mod destinations;
mod diff;
mod diff_settings;
#[cfg(unix)] // fake tools as shell scripts, Unix modes (docs/development.md)
mod drill_encoding;
#[cfg(unix)] // fake tools as shell scripts, Unix modes (docs/development.md)
mod drill_hostile;
#[cfg(unix)] // throwaway clusters run on Unix only (docs/development.md)
mod drill_hostile13;
#[cfg(unix)] // fake tools as shell scripts, Unix modes (docs/development.md)
mod drill_schedule;
mod drill_settings;
#[cfg(unix)] // fake tools as shell scripts, Unix modes (docs/development.md)
mod drills;
mod encrypted;
mod encrypted_copies;
mod export_import;
#[cfg(unix)]
mod folder_links;
mod full_backup;
mod hostile_archive;
mod import;
mod key_mode_pulls;
mod keychain_unavailable;
mod named_schedules;
mod new_database;
#[cfg(unix)] // fake tools as shell scripts, Unix modes (docs/development.md)
mod new_server;
mod notify;
mod notify_channels;
mod notify_platform;
mod notify_retention;
mod notify_watch;
mod one_restore;
mod openssl_import;
mod parallel_dump;
mod parallel_restore;
mod pg_cron;
mod pg_engine;
mod pgmq;
mod pitr_capture_cap;
mod pitr_copy_lock;
mod pitr_drop_slot;
mod pitr_wal_listing;
mod plain_sql;
mod plan_words;
mod platform_privileges;
mod psql_meta;
mod pull_job;
#[cfg(unix)] // fake tools as shell scripts, Unix modes (docs/development.md)
mod recover;
#[cfg(unix)] // its fixture is `recover`'s
mod recover_keys;
mod recover_triggers;
mod replace;
mod replay_gate;
mod restore_errors;
mod s3_store;
mod schedule_loop;
mod scheduled_jobs;
mod schedules;
mod selective;
mod settings_and_delete;
mod sockets;
mod storage_components;
mod supabase_project;
mod targets;
mod tenant_retention;
mod validation;
mod zstd_archives;
