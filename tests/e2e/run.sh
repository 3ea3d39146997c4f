#!/usr/bin/env bash
# End-to-end tests: drive the REAL built desktop app through WebDriver.
#
#   bash tests/e2e/run.sh                 # build UI + app, run every spec in tests/e2e/specs/
#   bash tests/e2e/run.sh specs/foo.test.js   # only these specs (paths relative to tests/e2e/)
#
# Steps: check the tools (fail loudly, never skip) → `npm --prefix ui run build` → `cargo build -p
# offsite-desktop --features tauri/custom-protocol` (the UI embedded, into $CARGO_TARGET_DIR or
# target/) → a private Xvfb → a private D-Bus session with a throwaway gnome-keyring (.ci/with-keyring)
# unless one is already there → a throwaway PostgreSQL cluster if a spec asks for one (a line
# `// e2e: needs postgres`; see lib/pg-cluster.sh) → `node --test` over the specs, one at a time.
# Each spec launches the app itself through lib/app.js (its own tauri-driver → WebKitWebDriver →
# app, its own OFFSITE_DATA_DIR and XDG folders). Screenshots and metrics.json go to artifacts/e2e/.
# Everything started here is stopped on exit, failure and Ctrl-C included.
#
# Environment:
#   CARGO_TARGET_DIR          where the app is built (default: <repo>/target)
#   OFFSITE_E2E_SKIP_BUILD=1  use the already built app (fails if it is missing)
#   OFFSITE_E2E_APP=PATH      test this app binary instead of building one
#   OFFSITE_E2E_USE_DISPLAY=1 use $DISPLAY instead of a private Xvfb (watch the app being driven)
#   OFFSITE_E2E_WDIO_LOG      WebdriverIO log level (default: warn)
#   OFFSITE_E2E_SHARDS=N      run the specs as N runs at once (default 1; .ci/test uses 2), each a
#                             whole run of its own (Xvfb, D-Bus + keyring, PostgreSQL, folders), the
#                             specs dealt out by their measured length (SPEC_SECONDS below); each
#                             run's output is printed when it ends, and the run fails if any did
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$E2E_DIR/../.." && pwd)"
ARTIFACTS="$ROOT/artifacts/e2e"
log() { printf 'e2e: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}
started=$SECONDS

# ---- 0. tools: a missing one fails the run ------------------------------------------------------
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
TAURI_DRIVER="$(command -v tauri-driver || true)"
[[ -n "$TAURI_DRIVER" || ! -x "$cargo_bin/tauri-driver" ]] || TAURI_DRIVER="$cargo_bin/tauri-driver"
[[ -n "$TAURI_DRIVER" ]] \
    || die "tauri-driver not found (PATH, $cargo_bin): cargo install tauri-driver --version '^2' --locked (or run .ci/setup.sh)"
NATIVE_DRIVER="$(command -v WebKitWebDriver || true)"
[[ -n "$NATIVE_DRIVER" ]] \
    || die "WebKitWebDriver not found: apt-get install webkit2gtk-driver (or run .ci/setup.sh)"
if [[ "${OFFSITE_E2E_USE_DISPLAY:-}" == 1 ]]; then
    [[ -n "${DISPLAY:-}" ]] || die "OFFSITE_E2E_USE_DISPLAY=1 but DISPLAY is not set"
else
    command -v Xvfb >/dev/null || die "Xvfb not found: apt-get install xvfb (or run .ci/setup.sh)"
fi
command -v node >/dev/null || die "node not found: apt-get install nodejs npm (or run .ci/setup.sh)"
# Screenshots are taken from the X server (see lib/app.js: captureWindow).
command -v import >/dev/null || die "ImageMagick's import not found: apt-get install imagemagick (or run .ci/setup.sh)"
for tool in xwininfo xprop; do
    command -v "$tool" >/dev/null || die "$tool not found: apt-get install x11-utils (or run .ci/setup.sh)"
done
if [[ ! -d "$E2E_DIR/node_modules/webdriverio" ]]; then
    log "installing the e2e npm dependencies (npm install in tests/e2e)"
    (cd "$E2E_DIR" && npm install --no-audit --no-fund --loglevel=error) \
        || die "npm install in tests/e2e failed"
fi

# ---- 1. build the UI and the app with the UI embedded -------------------------------------------
if [[ -n "${OFFSITE_E2E_APP:-}" ]]; then
    APP="$OFFSITE_E2E_APP"
    log "app: $APP (OFFSITE_E2E_APP, not built here)"
else
    target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
    APP="$target_dir/debug/offsite-desktop"
    if [[ "${OFFSITE_E2E_SKIP_BUILD:-}" == 1 ]]; then
        log "app: $APP (OFFSITE_E2E_SKIP_BUILD=1, not rebuilt)"
    else
        [[ -d "$ROOT/ui/node_modules" ]] || die "ui/node_modules missing: run .ci/setup.sh (or npm install in ui/)"
        log "building the UI: npm --prefix ui run build"
        npm --prefix "$ROOT/ui" run build >&2 || die "UI build failed"
        log "building the app: cargo build -p offsite-desktop --features tauri/custom-protocol (target: $target_dir)"
        t0=$SECONDS
        (cd "$ROOT" && CARGO_TARGET_DIR="$target_dir" cargo build -p offsite-desktop --features tauri/custom-protocol) \
            || die "app build failed"
        log "app built in $((SECONDS - t0)) s"
        # The `offsite` command line, for specs that change the catalog from another process.
        (cd "$ROOT" && CARGO_TARGET_DIR="$target_dir" cargo build -p offsite-cli) || die "CLI build failed"
    fi
fi
[[ -x "$APP" ]] || die "app binary missing or not executable: $APP"
CLI="${OFFSITE_E2E_CLI:-$(dirname "$APP")/offsite}"
[[ -x "$CLI" ]] || die "the offsite command line is missing: $CLI (cargo build -p offsite-cli, or set OFFSITE_E2E_CLI)"
CLI="$(cd "$(dirname "$CLI")" && pwd)/$(basename "$CLI")"
APP="$(cd "$(dirname "$APP")" && pwd)/$(basename "$APP")"

# ---- 2. a private run folder, and teardown of everything started below --------------------------
# ---- shards: N whole runs at once (a spec waits on the app most of the time: one run kept ~34 %
# of 2 cores busy); the app is built once, above
SHARDS="${OFFSITE_E2E_SHARDS:-1}"
[[ "$SHARDS" =~ ^[1-9]$ ]] || die "OFFSITE_E2E_SHARDS must be 1-9, not '$SHARDS'"
if ((SHARDS > 1)) && [[ -z "${OFFSITE_E2E_SHARD:-}" ]]; then
    cd "$E2E_DIR"
    if (($# > 0)); then all=("$@"); else all=(specs/*.test.js); fi
    # Seconds each spec file took in a whole run (fresh clone, 2 cores); a new file counts 10 s
    declare -A SPEC_SECONDS=([projects]=25 [schedule-notify]=66 [screens-dark]=45 [pitr]=35
        [harness]=24 [recover]=21 [restore]=26 [storage]=19 [dashboard]=24 [schedule]=14
        [import-errors]=13 [protection]=12 [notify]=12 [diff]=10 [checklist]=10 [overdue]=10
        [remote]=9 [recover-ticked]=19 [drill]=9 [artifacts]=9 [app-info]=6 [browse]=5 [cli-sync]=5 [update]=4)
    mapfile -t all < <(for s in "${all[@]}"; do
        b="$(basename "$s" .test.js)"; echo "${SPEC_SECONDS[$b]:-10} $s"; done | sort -rn | cut -d' ' -f2)
    declare -a load=() shard_specs=()
    for ((k = 0; k < SHARDS; k++)); do load[k]=0; shard_specs[k]=""; done
    for s in "${all[@]}"; do # the longest first, each to the least loaded run
        best=0
        for ((k = 1; k < SHARDS; k++)); do ((load[k] < load[best])) && best=$k; done
        b="$(basename "$s" .test.js)"
        load[best]=$((load[best] + ${SPEC_SECONDS[$b]:-10}))
        shard_specs[best]+="$s "
    done
    rm -rf "$ARTIFACTS"
    mkdir -p "$ARTIFACTS"
    shard_logs="$(mktemp -d "${TMPDIR:-/tmp}/offsite-e2e-shards.XXXXXX")"
    declare -a pids=()
    for ((k = 0; k < SHARDS; k++)); do
        [[ -n "${shard_specs[k]}" ]] || continue
        log "run $((k + 1)) of $SHARDS (~${load[k]} s): ${shard_specs[k]}"
        # shellcheck disable=SC2086 # the spec list is split on purpose
        # each run its own keyring: gnome-keyring keeps it under $XDG_DATA_HOME, and two daemons on
        # one file locked each other out ("unlock prompt was dismissed")
        # and its own runtime folder: gnome-keyring's control socket is $XDG_RUNTIME_DIR/keyring/control,
        # and the second daemon to start on a shared one failed ("Address already in use"), its run
        # ending before any spec
        mkdir -p "$shard_logs/home-$k/.local/share"
        mkdir -p -m 700 "$shard_logs/runtime-$k"
        env OFFSITE_E2E_SHARD="$((k + 1))" OFFSITE_E2E_SKIP_BUILD=1 OFFSITE_E2E_APP="$APP" OFFSITE_E2E_CLI="$CLI" \
            CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" HOME="$shard_logs/home-$k" XDG_DATA_HOME="$shard_logs/home-$k/.local/share" \
            XDG_RUNTIME_DIR="$shard_logs/runtime-$k" \
            bash "$ROOT/.ci/with-keyring" bash "$E2E_DIR/run.sh" ${shard_specs[k]} >"$shard_logs/$k.log" 2>&1 &
        pids[k]=$!
    done
    status=0
    for k in "${!pids[@]}"; do
        s=0
        wait "${pids[k]}" || s=$?
        log "──── run $((k + 1)) of $SHARDS: $( ((s == 0)) && echo passed || echo "FAILED (exit $s)") ────"
        cat "$shard_logs/$k.log"
        ((s == 0)) || status=1
    done
    # A run's document portal may still have its FUSE mount in its runtime folder: unmount first
    # (a folder left behind is said, never a failed run)
    while read -r _ mnt _; do
        case "$mnt" in
            "$shard_logs"/*) fusermount -u -z "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true ;;
        esac
    done </proc/mounts
    rm -rf "$shard_logs" 2>/dev/null || { sleep 1; rm -rf "$shard_logs" 2>/dev/null; } || log "note: could not remove all of $shard_logs"
    node -e 'const fs = require("fs"), path = require("path"), dir = process.argv[1], all = {};
             for (const f of fs.readdirSync(dir).filter((f) => /^metrics-run-\d+\.json$/.test(f)).sort()) {
               Object.assign(all, JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"))); fs.rmSync(path.join(dir, f));
             }
             if (Object.keys(all).length) fs.writeFileSync(path.join(dir, "metrics.json"), JSON.stringify(all, null, 2) + "\n");' "$ARTIFACTS"
    log "$SHARDS runs finished in $((SECONDS - started)) s: $( ((status == 0)) && echo PASSED || echo FAILED)"
    exit "$status"
fi

RUN_TMP="$(mktemp -d "${TMPDIR:-/tmp}/offsite-e2e.XXXXXX")"
chmod 0755 "$RUN_TMP" # the postgres OS user must reach the cluster folder below it
mkdir -p "$RUN_TMP/pgids" "$RUN_TMP/xdg-data" "$RUN_TMP/xdg-config" "$RUN_TMP/xdg-cache" \
    "$RUN_TMP/xdg-state" "$RUN_TMP/xdg-runtime" "$RUN_TMP/home"
chmod 0700 "$RUN_TMP/xdg-runtime"
# shellcheck source=lib/xvfb.sh
source "$E2E_DIR/lib/xvfb.sh"
pg_started=""

kill_group() { # kill_group PGID: TERM, up to 5 s grace, then KILL
    local pgid="$1"
    kill -TERM -- "-$pgid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 -- "-$pgid" 2>/dev/null || return 0
        sleep 0.1
    done
    log "process group $pgid ignored SIGTERM: SIGKILL"
    kill -KILL -- "-$pgid" 2>/dev/null || true
}

# Processes still carrying this run's folder in their environment (every process started for the
# run does: XDG_* / OFFSITE_* point into it). Prints "PID COMMAND" lines.
leftovers() {
    local p
    for p in /proc/[0-9]*; do
        [[ "${p#/proc/}" == "$$" || "${p#/proc/}" == "$BASHPID" ]] && continue
        if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qF "$RUN_TMP"; then
            echo "${p#/proc/} $(cat "$p/comm" 2>/dev/null)"
        fi
    done
}

cleanup() {
    local status=$? f pid
    set +e
    trap - EXIT INT TERM
    for f in "$RUN_TMP"/pgids/*; do
        [[ -e "$f" ]] || continue
        log "stopping leftover process group $(basename "$f") ($(head -1 "$f"))"
        kill_group "$(basename "$f")"
    done
    if [[ -n "$pg_started" ]]; then
        bash "$E2E_DIR/lib/pg-cluster.sh" stop "$RUN_TMP/pg" >&2
    fi
    xvfb_stop
    # Helpers the private D-Bus session activated (portals, a11y bus) exit on their own once the
    # bus is gone; give them a moment. What is left then is killed; one of the processes this
    # harness is responsible for still being alive fails the run.
    local left="" name
    for _ in $(seq 50); do
        left="$(leftovers)"
        [[ -n "$left" ]] || break
        sleep 0.1
    done
    if [[ -n "$left" ]]; then
        while read -r pid name; do
            case "$name" in
                tauri-driver | WebKitWebDriver | offsite-deskto* | Xvfb | postgres | node)
                    log "ERROR: $name (pid $pid) outlived the run: killed"
                    ((status != 0)) || status=1
                    ;;
                *) log "warning: $name (pid $pid) outlived the run: killed" ;;
            esac
            kill -KILL "$pid" 2>/dev/null
        done <<<"$left"
    else
        log "teardown: no processes of this run left"
    fi
    rm -rf "$RUN_TMP"
    log "finished in $((SECONDS - started)) s: $( ((status == 0)) && echo PASSED || echo "FAILED (exit $status)")"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Nothing of the run touches the real HOME: its own XDG folders (each app launch gets its own
# again, see lib/app.js). The node / npm caches are not needed past this point.
export HOME="$RUN_TMP/home" XDG_DATA_HOME="$RUN_TMP/xdg-data" XDG_CONFIG_HOME="$RUN_TMP/xdg-config"
export XDG_CACHE_HOME="$RUN_TMP/xdg-cache" XDG_STATE_HOME="$RUN_TMP/xdg-state"
export XDG_RUNTIME_DIR="$RUN_TMP/xdg-runtime"
export OFFSITE_E2E_APP="$APP" OFFSITE_E2E_CLI="$CLI" OFFSITE_E2E_TMP="$RUN_TMP" OFFSITE_E2E_ARTIFACTS="$ARTIFACTS"
export OFFSITE_E2E_TAURI_DRIVER="$TAURI_DRIVER" OFFSITE_E2E_NATIVE_DRIVER="$NATIVE_DRIVER"
OFFSITE_E2E_CLK_TCK="$(getconf CLK_TCK 2>/dev/null || echo 100)"
export OFFSITE_E2E_CLK_TCK
if [[ -n "${OFFSITE_E2E_SHARD:-}" ]]; then # one of several runs: the folder is shared, the metrics not
    export OFFSITE_E2E_METRICS="$ARTIFACTS/metrics-run-$OFFSITE_E2E_SHARD.json"
else
    rm -rf "$ARTIFACTS"
fi
mkdir -p "$ARTIFACTS"

# ---- 3. X server ---------------------------------------------------------------------------------
if [[ "${OFFSITE_E2E_USE_DISPLAY:-}" == 1 ]]; then
    log "display: $DISPLAY (OFFSITE_E2E_USE_DISPLAY=1)"
else
    xvfb_start "$RUN_TMP" || die "no private X server (see above)"
    log "display: private Xvfb on $DISPLAY (pid $xvfb_pid, 1280x1024x24)"
fi

# ---- 4. specs ------------------------------------------------------------------------------------
cd "$E2E_DIR"
if (($# > 0)); then
    specs=("$@")
else
    shopt -s nullglob
    specs=(specs/*.test.js)
    shopt -u nullglob
fi
((${#specs[@]} > 0)) || die "no specs found (tests/e2e/specs/*.test.js)"
for s in "${specs[@]}"; do [[ -f "$s" ]] || die "no such spec: $s"; done

# A throwaway PostgreSQL cluster when a spec asks for one; specs read OFFSITE_E2E_PG_* (host, port,
# user, password, bin dir).
if grep -lq '^// e2e: needs postgres' "${specs[@]}"; then
    log "a spec needs PostgreSQL: starting a throwaway cluster"
    pg_started=1
    bash "$E2E_DIR/lib/pg-cluster.sh" start "$RUN_TMP/pg" >"$RUN_TMP/pg.env" || die "PostgreSQL cluster did not start"
    # shellcheck disable=SC1091
    source "$RUN_TMP/pg.env"
    log "PostgreSQL on 127.0.0.1:$OFFSITE_E2E_PG_PORT ($OFFSITE_E2E_PG_BIN)"
fi

# Two reporters: the usual one on stdout, TAP into a file for the specs' times (printed at the end)
runner=(node --test --test-concurrency=1 --test-timeout=300000
    --test-reporter=spec --test-reporter-destination=stdout
    --test-reporter=tap --test-reporter-destination="$RUN_TMP/specs.tap" "${specs[@]}")
if [[ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]]; then
    log "no D-Bus session: running the specs in a private one with a throwaway gnome-keyring"
    runner=(bash "$ROOT/.ci/with-keyring" "${runner[@]}")
fi
log "running ${#specs[@]} spec file(s): ${specs[*]}"
status=0
"${runner[@]}" || status=$?

metrics_file="${OFFSITE_E2E_METRICS:-$ARTIFACTS/metrics.json}"
if [[ -f "$metrics_file" ]]; then
    log "metrics ($metrics_file):"
    node -e 'for (const [k, v] of Object.entries(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))))
                 console.error(`e2e:   ${k} = ${v.value} ${v.unit}`)' "$metrics_file"
fi
# The slowest specs (a file's time is its top-level test's duration_ms in the TAP)
if [[ -f "$RUN_TMP/specs.tap" ]]; then
    log "the slowest specs:"
    awk '/^(not )?ok [0-9]+ - /{sub(/^(not )?ok [0-9]+ - /, ""); name=$0; top=1; next}
         top && /^  duration_ms:/{printf "%8.1f s  %s\n", $2 / 1000, name; top=0}
         /^ /{next} {top=0}' "$RUN_TMP/specs.tap" | sort -rn | head -10 | sed "s|$E2E_DIR/||; s|^|e2e:   |" >&2
fi
shots=("$ARTIFACTS"/*.png)
[[ -e "${shots[0]}" ]] && log "screenshots: ${shots[*]#"$ROOT"/}"
exit "$status"
