//! No code: see Cargo.toml (feature unification for `cargo install --path crates/cli`).
