#!/usr/bin/env bash
# Runs the keychain integration tests (crates/core/tests/keychain.rs, keychain_killed.rs) against a real Secret
# Service: a throwaway gnome-keyring in a private D-Bus session, with HOME and the XDG folders in a
# temporary folder, so nothing is read from or written to the real home folder or keyring.
#
# Usage: crates/core/tests/run-keychain-tests.sh [cargo test options] [-- test binary options]
#   e.g. crates/core/tests/run-keychain-tests.sh --locked -- --nocapture
# Every argument is passed on to `cargo test -p offsite-core --test keychain --test keychain_killed`.
# Needs: dbus (dbus-run-session, dbus-send) and gnome-keyring (gnome-keyring-daemon).
# Exits non-zero when the keyring cannot be started or any test fails (never skips).
set -euo pipefail

log() { printf 'run-keychain-tests: %s\n' "$*" >&2; }

secrets_call() { # method, args...: a call to the Secret Service
    dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets "$@"
}

if [[ "${_OFFSITE_KEYCHAIN_SESSION:-}" != 1 ]]; then
    # ---- outside: temporary folders, then this script again inside a private D-Bus session ----
    for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
        command -v "$tool" >/dev/null || {
            log "$tool is missing: install dbus and gnome-keyring (apt-get install dbus gnome-keyring)"
            exit 1
        }
    done
    repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/offsite-keychain.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/cache" "$tmp/state" "$tmp/runtime"
    chmod 0700 "$tmp/runtime" # XDG_RUNTIME_DIR must be private to the user

    # cargo and rustup find their homes through HOME unless told: keep the real ones.
    export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
    if [[ -z "${RUSTUP_HOME:-}" && -d "$HOME/.rustup" ]]; then
        export RUSTUP_HOME="$HOME/.rustup"
    fi
    export HOME="$tmp/home"
    export XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache"
    export XDG_STATE_HOME="$tmp/state" XDG_RUNTIME_DIR="$tmp/runtime"
    # Never talk to the caller's own session bus or keyring.
    unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
    # The tests must reach the keychain, not a headless fallback.
    unset OFFSITE_SECRET_STORE

    export _OFFSITE_KEYCHAIN_SESSION=1
    cd "$repo_root"
    set +e
    dbus-run-session -- "${BASH_SOURCE[0]}" "$@"
    status=$?
    set -e
    exit "$status"
fi

# ---- inside the private D-Bus session ----
unset _OFFSITE_KEYCHAIN_SESSION

# --unlock reads the login keyring's password from stdin and creates the keyring, unlocked, when
# it does not exist yet. It must not be empty: gnome-keyring ignores an empty password and then
# creates no login keyring, which leaves the Secret Service without a default collection (where
# new entries go). The keyring lives in the temporary XDG_DATA_HOME, so this password protects
# nothing.
printf '%s' "offsite-throwaway-keyring" \
    | gnome-keyring-daemon --unlock --components=secrets >"$XDG_RUNTIME_DIR/gnome-keyring.env"

keyring_pid=""
stop_keyring() {
    if [[ -n "$keyring_pid" ]]; then
        kill "$keyring_pid" 2>/dev/null || true
    fi
}
trap stop_keyring EXIT

# Wait until the Secret Service answers and has an unlocked default collection.
ready=""
for _ in $(seq 100); do
    if alias=$(secrets_call org.freedesktop.Secret.Service.ReadAlias string:default 2>/dev/null) \
        && grep -q 'object path "/org/freedesktop/secrets/collection/' <<<"$alias"; then
        ready=1
        break
    fi
    sleep 0.1
done
if [[ -z "$ready" ]]; then
    log "gnome-keyring did not come up with a default collection within 10 s"
    secrets_call org.freedesktop.Secret.Service.ReadAlias string:default >&2 || true
    exit 1
fi
keyring_pid=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets \
    | awk '/uint32/ { print $2 }')
log "gnome-keyring (pid $keyring_pid) is up on $DBUS_SESSION_BUS_ADDRESS"

cargo test -p offsite-core --test keychain --test keychain_killed "$@"
