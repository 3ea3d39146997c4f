#!/usr/bin/env bash
# `cargo install --path crates/cli` works (the README's command, here with --debug and the
# target folder the tests built into, so it reuses what is built; the release script does the
# same in release): installs into a temporary root and checks that `offsite --version` names the
# workspace's version. tests/install/run.sh runs it; .ci/test runs it as a step of its own and
# tells run.sh so (OFFSITE_INSTALL_CARGO_CHECKED=1).
#
#   bash tests/install/cargo_install.sh
#
# Environment: CARGO_TARGET_DIR (default: <repo>/target).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
log() { printf 'install: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml")"
[[ -n "$version" ]] || die "no workspace.package.version in Cargo.toml"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/offsite-cargo-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS
(cd "$ROOT" && CARGO_TARGET_DIR="$target_dir" cargo install --debug --locked --verbose --path crates/cli \
    --root "$tmp/cargo-root") 2>"$tmp/cargo-install.err" \
    || die "cargo install --path crates/cli failed: $(tail -20 "$tmp/cargo-install.err")"
# What it compiled: after the test build, only the CLI's own crates (crates/workspace-hack keeps
# the features equal, .ci/feature_parity.py checks it); anything more is said, with the cost.
compiled="$(sed -n 's/^ *Compiling \([^ ]*\) .*/\1/p' "$tmp/cargo-install.err" | sort -u | tr '\n' ' ')"
log "cargo install compiled: ${compiled:-nothing}"
[[ "$("$tmp/cargo-root/bin/offsite" --version | head -1)" == "offsite $version" ]] \
    || die "the offsite cargo install made does not say $version"
log "cargo install --path crates/cli: an offsite that says $version ($((SECONDS - t0)) s)"
