# Shared helpers for the .ci scripts (sourced, not run).
# shellcheck shell=bash

CI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# One line per step, on stderr so command output stays separable.
ci_log() { printf '%s: %s\n' "${CI_SCRIPT_NAME:-ci}" "$*" >&2; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        ci_log "need root (or sudo) to run: $*"
        return 1
    fi
}

# Reads a package.json script: `has_npm_script DIR NAME` succeeds when DIR/package.json has it.
has_npm_script() {
    [[ -f "$1/package.json" ]] || return 1
    node -e 'const fs = require("fs");
        const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8")).scripts || {};
        process.exit(s[process.argv[2]] ? 0 : 1)' "$1/package.json" "$2"
}

# Installs a Node project's dependencies when node_modules is missing or older than package.json /
# package-lock.json (npm writes node_modules/.package-lock.json on every install).
npm_deps() {
    local dir="$1" stamp="$1/node_modules/.package-lock.json"
    [[ -f "$dir/package.json" ]] || return 0
    if [[ -f "$stamp" && ! "$dir/package.json" -nt "$stamp" \
        && ! ( -f "$dir/package-lock.json" && "$dir/package-lock.json" -nt "$stamp" ) ]]; then
        ci_log "npm deps in ${dir#"$CI_ROOT"/}: up to date"
        return 0
    fi
    if [[ -f "$dir/package-lock.json" ]]; then
        ci_log "npm deps in ${dir#"$CI_ROOT"/}: npm ci"
        local log
        log=$(mktemp)
        if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) 2>"$log"; then
            # Usually package-lock.json out of sync with package.json. Install anyway without
            # touching the lock file, and say so: the fix is `npm install` + commit the lock.
            ci_log "WARNING: npm ci failed in ${dir#"$CI_ROOT"/}: $(grep -E '^npm error [^ ]' "$log" | grep -v '^npm error code' | head -1 | sed 's/^npm error //')"
            ci_log "WARNING: falling back to npm install --no-save (lock file untouched); run npm install there and commit package-lock.json"
            (cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error)
        fi
        rm -f "$log"
    else
        ci_log "npm deps in ${dir#"$CI_ROOT"/}: npm install (no package-lock.json)"
        (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    fi
    touch "$stamp"
}

# Points HOME and the XDG folders at a fresh temporary folder ($CI_TMP), keeping the real cargo,
# rustup and npm caches, so tests never read or write the user's real config, data or keyring.
isolate_home() {
    local tmp
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/offsite-ci.XXXXXX")
    # Traversable by others: server processes running as another user (the `postgres` OS user
    # under root) may need to reach files below it.
    chmod 0755 "$tmp"
    mkdir -p "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/cache" "$tmp/state" "$tmp/runtime"
    chmod 0700 "$tmp/runtime" # XDG_RUNTIME_DIR must be private to the user
    export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
    if [[ -z "${RUSTUP_HOME:-}" && -d "$HOME/.rustup" ]]; then
        export RUSTUP_HOME="$HOME/.rustup"
    fi
    export npm_config_cache="${npm_config_cache:-$HOME/.npm}"
    export HOME="$tmp/home"
    export XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache"
    export XDG_STATE_HOME="$tmp/state" XDG_RUNTIME_DIR="$tmp/runtime"
    # Never talk to the caller's own session bus or keyring.
    unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
    CI_TMP="$tmp"
}

# Removes a temporary folder made by isolate_home, never failing: services a private D-Bus session
# activated (xdg-document-portal mounts a FUSE file system at $XDG_RUNTIME_DIR/doc) may still hold
# mounts below it for a moment, so those are detached lazily first.
remove_tmp() {
    local dir=$1 mnt
    [[ -n "$dir" && -d "$dir" ]] || return 0
    while read -r _ mnt _; do
        case "$mnt" in
            "$dir"/*) fusermount -u -z "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true ;;
        esac
    done </proc/mounts
    rm -rf "$dir" 2>/dev/null || { sleep 1; rm -rf "$dir" 2>/dev/null; } || ci_log "note: could not remove all of $dir"
    return 0
}
