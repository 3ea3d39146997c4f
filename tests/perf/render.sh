#!/usr/bin/env bash
# Render performance of the desktop app with a project of 10,000 backups, in the real webview,
# through the e2e WebDriver harness (tests/e2e/specs/perf.spec.js): cold start, list_backups over
# IPC, click on the project's card → rows shown, scroll to the end, scroll through. Prints the
# numbers; asserts only correctness.
#
#   bash tests/perf/render.sh        # builds the release app / the seeder when missing
#
# Environment: CARGO_TARGET_DIR (default <repo>/target); OFFSITE_PERF_BUILD=1 rebuilds UI + app;
# OFFSITE_PERF_BACKUPS (10000), OFFSITE_PERF_OPENS (5); see the spec.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
app="$target_dir/release/offsite-desktop"
if [[ "${OFFSITE_PERF_BUILD:-}" == 1 || ! -x "$app" ]]; then
    npm --prefix "$ROOT/ui" run build >&2
    (cd "$ROOT" && CARGO_TARGET_DIR="$target_dir" nice -n 19 cargo build --release -p offsite-desktop \
        --features tauri/custom-protocol)
fi
(cd "$ROOT" && CARGO_TARGET_DIR="$target_dir" nice -n 19 cargo build --release -p offsite-bench --bin offsite-seed-catalog)
OFFSITE_E2E_APP="$app" exec bash "$ROOT/tests/e2e/run.sh" specs/perf.spec.js
