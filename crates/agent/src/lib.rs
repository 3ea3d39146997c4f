//! `offsite serve`: the Offsite agent. A headless HTTP service (axum) that runs next to a
//! database — a self-hosted Supabase host, a VM, a Kubernetes pod — and makes backups there with
//! the same engine as the desktop app and the CLI (its own data folder, no keychain), triggered
//! and downloaded from elsewhere. The desktop app never links this crate.
//!
//! * [`config`]: the TOML configuration (projects, database URLs, passwords by reference).
//! * [`tokens`]: bearer tokens, stored hashed; per project and read-only when asked.
//! * [`api`]: the routes (SupaManager's backup design), authentication, the audit log, signed
//!   downloads with Range / If-Range; [`openapi`] documents them.
//! * [`schedule`]: the projects' backup schedules, run by the agent.
//! * [`metrics`]: `GET /metrics` (Prometheus text) for a metrics token.
//! * [`tls`]: the given certificate or a self-signed one, and its fingerprint.
//! * [`server::serve`]: run it.

pub mod api;
pub mod audit;
pub mod backups;
pub mod capture;
pub mod config;
pub mod error;
mod files;
pub mod inputs;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod pitr;
pub mod range;
pub mod redact;
pub mod schedule;
pub mod server;
pub mod signing;
pub mod state;
pub mod throttle;
pub mod tls;
pub mod tokens;

pub use config::{AgentConfig, ProjectConfig};
pub use server::{fingerprint, serve, ServeInfo};
pub use state::Agent;
pub use tokens::{TokenRecord, TokenStore};
