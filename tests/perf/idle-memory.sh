#!/usr/bin/env bash
# Idle memory of the desktop app (release build, UI embedded): starts it under a private Xvfb, in
# a private D-Bus session with a throwaway gnome-keyring (.ci/with-keyring), with temporary
# HOME / XDG folders and an empty data folder (OFFSITE_DATA_DIR), lets it sit idle, then prints
# RSS and PSS (/proc/PID/smaps_rollup) of offsite-desktop and every process below it
# (WebKitWebProcess, WebKitNetworkProcess, …) and the totals. Nothing is asserted: it prints
# numbers (the target is a total PSS ≤ 150 MB), and the CPU time the idle app used (user +
# system, app and WebKit processes) as a share of one core.
#
#   bash tests/perf/idle-memory.sh                      # build if the binary is missing, 1 run
#   bash tests/perf/idle-memory.sh --runs 3 --idle 15   # 3 launches, 15 s idle each
#   bash tests/perf/idle-memory.sh --data-dir DIR       # an existing data folder instead of an empty one
#   bash tests/perf/idle-memory.sh --maps 12            # also each process' 12 largest mappings by PSS
#   WEBKIT_DISABLE_COMPOSITING_MODE=1 bash tests/perf/idle-memory.sh   # the environment reaches the app
#
# Environment:
#   CARGO_TARGET_DIR            where the app is built (default: <repo>/target)
#   OFFSITE_PERF_APP=PATH       measure this binary (never built here)
#   OFFSITE_PERF_BUILD=1        rebuild UI + app even if the binary exists
#                               (npm --prefix ui run build; nice cargo build --release -p offsite-desktop
#                               --features tauri/custom-protocol)
#   OFFSITE_PERF_USE_DISPLAY=1  use $DISPLAY instead of a private Xvfb
# The app gets NO_AT_BRIDGE=1 (as in the e2e harness: no accessibility bus in the private
# session); nothing else is added to its environment.
#
# Units: MiB (1024 × 1024 bytes) from the kB values of the kernel.
set -euo pipefail

PERF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$PERF_DIR/../.." && pwd)"
log() { printf 'idle-memory: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

runs=1
idle=15
data_dir=""
maps=0
while (($# > 0)); do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --idle) idle="$2"; shift 2 ;;
        --data-dir) data_dir="$2"; shift 2 ;;
        --maps) maps="$2"; shift 2 ;;
        --inner) break ;;
        -h | --help) sed -n '2,25p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

# ---- inside the private D-Bus session: launch, wait, measure, stop (repeated --runs times) -----
if [[ "${1:-}" == --inner ]]; then
    : "${APP:?}" "${RUN_TMP:?}" "${RUNS:?}" "${IDLE:?}" "${MAPS:?}"

    descendants() { # descendants PID: PID and every process below it
        ps -e -o pid=,ppid= | awk -v root="$1" '
            { parent[$1] = $2; pids[NR] = $1 }
            END {
                keep[root] = 1
                do {
                    changed = 0
                    for (i in pids) { p = pids[i]; if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 } }
                } while (changed)
                for (p in keep) print p
            }' | sort -n
    }

    kb() { # kb FILE FIELD: the kB value of "FIELD:" in FILE (0 if absent)
        awk -v f="$2:" '$1 == f { print $2; found = 1 } END { if (!found) print 0 }' "$1" 2>/dev/null || echo 0
    }

    measure() { # prints the table of one run; returns totals in TOTAL_PSS / TOTAL_RSS (kB)
        local root="$1" pid comm rss pss anon file uss
        TOTAL_PSS=0 TOTAL_RSS=0 TOTAL_USS=0
        printf '%-8s %-22s %10s %10s %10s %10s %10s\n' PID PROCESS "RSS MiB" "PSS MiB" "PSS anon" "PSS file" "USS MiB"
        for pid in $(descendants "$root"); do
            [[ -r "/proc/$pid/smaps_rollup" ]] || continue
            comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
            rss=$(kb "/proc/$pid/smaps_rollup" Rss)
            pss=$(kb "/proc/$pid/smaps_rollup" Pss)
            anon=$(kb "/proc/$pid/smaps_rollup" Pss_Anon)
            file=$(kb "/proc/$pid/smaps_rollup" Pss_File)
            uss=$(($(kb "/proc/$pid/smaps_rollup" Private_Clean) + $(kb "/proc/$pid/smaps_rollup" Private_Dirty)))
            printf '%-8s %-22s %10.1f %10.1f %10.1f %10.1f %10.1f\n' "$pid" "$comm" \
                "$(bc -l <<<"$rss/1024")" "$(bc -l <<<"$pss/1024")" "$(bc -l <<<"$anon/1024")" \
                "$(bc -l <<<"$file/1024")" "$(bc -l <<<"$uss/1024")"
            TOTAL_PSS=$((TOTAL_PSS + pss)) TOTAL_RSS=$((TOTAL_RSS + rss)) TOTAL_USS=$((TOTAL_USS + uss))
        done
        if ((MAPS > 0)); then
            for pid in $(descendants "$root"); do
                [[ -r "/proc/$pid/smaps" ]] || continue
                echo "  largest mappings of $pid ($(cat "/proc/$pid/comm" 2>/dev/null)), PSS MiB (anonymous ones as [anon]):"
                awk '/^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]"; next }
                     $1 == "Pss:" { pss[name] += $2 }
                     END { for (n in pss) printf "%10.1f  %s\n", pss[n] / 1024, n }' "/proc/$pid/smaps" \
                    | sort -rn | awk -v n="$MAPS" 'NR <= n' 
            done
        fi
        printf '%-31s %10.1f %10.1f %21s %10.1f\n' "TOTAL" "$(bc -l <<<"$TOTAL_RSS/1024")" \
            "$(bc -l <<<"$TOTAL_PSS/1024")" "" "$(bc -l <<<"$TOTAL_USS/1024")"
    }

    summary=()
    for run in $(seq "$RUNS"); do
        dir="$RUN_TMP/run-$run"
        mkdir -p "$dir/home" "$dir/xdg-data" "$dir/xdg-config" "$dir/xdg-cache" "$dir/xdg-state" "$dir/xdg-runtime"
        chmod 0700 "$dir/xdg-runtime"
        data="${DATA_DIR:-$dir/offsite-data}"
        # setsid: the app and its WebKit children get their own process group, killed as one.
        HOME="$dir/home" XDG_DATA_HOME="$dir/xdg-data" XDG_CONFIG_HOME="$dir/xdg-config" \
            XDG_CACHE_HOME="$dir/xdg-cache" XDG_STATE_HOME="$dir/xdg-state" XDG_RUNTIME_DIR="$dir/xdg-runtime" \
            OFFSITE_DATA_DIR="$data" NO_AT_BRIDGE=1 \
            setsid "$APP" >"$dir/app.log" 2>&1 &
        app_pid=$!
        echo "$app_pid" >"$RUN_TMP/app.pgid"
        started=$(date +%s.%N)
        # The window is up once a WebKitWebProcess exists below the app and the app has an X window.
        for _ in $(seq 300); do
            kill -0 "$app_pid" 2>/dev/null || { cat "$dir/app.log" >&2; echo "the app exited early" >&2; exit 1; }
            comms="$(for p in $(descendants "$app_pid"); do cat "/proc/$p/comm" 2>/dev/null; done)"
            [[ "$comms" == *WebKitWebProces* ]] && break
            sleep 0.1
        done
        # CPU time (user + system, clock ticks) of the app and its WebKit processes over the idle
        # period: what the idle app costs (schedules are checked at least once a minute).
        cpu_ticks() {
            local t=0 p v
            for p in $(descendants "$app_pid"); do
                v=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null) || continue
                t=$((t + ${v:-0}))
            done
            echo "$t"
        }
        # The window's first render and loads are not idleness: measure from SETTLE s on.
        sleep "${SETTLE:-15}"
        ticks0=$(cpu_ticks)
        idle_from=$(date +%s.%N)
        sleep "$IDLE"
        ticks1=$(cpu_ticks)
        idle_s=$(bc -l <<<"$(date +%s.%N) - $idle_from")
        hz=$(getconf CLK_TCK)
        cpu_s=$(bc -l <<<"($ticks1 - $ticks0) / $hz")
        echo
        printf 'CPU while idle: %.2f s of CPU in %.1f s = %.2f %% of one core\n' "$cpu_s" "$idle_s" "$(bc -l <<<"100 * $cpu_s / $idle_s")"
        # PSS splits shared file pages among every process mapping them: other WebKitGTK apps
        # running on the machine (another test run) lower this app's PSS. Say so.
        others=0
        mine=" $(descendants "$app_pid" | tr '\n' ' ') "
        for p in /proc/[0-9]*; do
            [[ "$mine" == *" ${p#/proc/} "* ]] && continue
            grep -qs 'libwebkit2gtk' "$p/maps" 2>/dev/null && others=$((others + 1))
        done
        echo "run $run/$RUNS: app pid $app_pid, idle ${IDLE} s after start ($(bc -l <<<"$(date +%s.%N) - $started" | cut -c1-5) s since launch)"
        ((others == 0)) || echo "NOTE: $others other process(es) on this machine map libwebkit2gtk: the PSS of shared libraries is split with them (PSS lower than alone; PSS anon is unaffected)"
        measure "$app_pid"
        summary+=("$(printf 'run %s: total PSS %.1f MiB, total RSS %.1f MiB, total USS %.1f MiB' "$run" \
            "$(bc -l <<<"$TOTAL_PSS/1024")" "$(bc -l <<<"$TOTAL_RSS/1024")" "$(bc -l <<<"$TOTAL_USS/1024")")")
        # Stop: TERM the group, up to 5 s grace, then KILL.
        kill -TERM -- "-$app_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 -- "-$app_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$app_pid" 2>/dev/null || true
        wait "$app_pid" 2>/dev/null || true
        rm -f "$RUN_TMP/app.pgid"
    done
    echo
    printf '%s\n' "${summary[@]}"
    exit 0
fi

# ---- outside: tools, build, Xvfb, then the inner part in a private D-Bus session ---------------
for tool in bc setsid dbus-run-session gnome-keyring-daemon; do
    command -v "$tool" >/dev/null || die "$tool not found (run .ci/setup.sh)"
done
target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
if [[ -n "${OFFSITE_PERF_APP:-}" ]]; then
    APP="$OFFSITE_PERF_APP"
else
    APP="$target_dir/release/offsite-desktop"
    if [[ "${OFFSITE_PERF_BUILD:-}" == 1 || ! -x "$APP" ]]; then
        [[ -d "$ROOT/ui/node_modules" ]] || { log "npm ci in ui/"; npm --prefix "$ROOT/ui" ci >&2 || npm --prefix "$ROOT/ui" install >&2; }
        log "building the UI: npm --prefix ui run build"
        npm --prefix "$ROOT/ui" run build >&2 || die "UI build failed"
        log "building the app: nice -n 19 cargo build --release -p offsite-desktop --features tauri/custom-protocol (target: $target_dir)"
        (cd "$ROOT" && CARGO_TARGET_DIR="$target_dir" nice -n 19 cargo build --release -p offsite-desktop \
            --features tauri/custom-protocol) || die "app build failed"
    fi
fi
[[ -x "$APP" ]] || die "app binary missing: $APP"
log "app: $APP"

RUN_TMP="$(mktemp -d "${TMPDIR:-/tmp}/offsite-perf-mem.XXXXXX")"
# shellcheck source=../e2e/lib/xvfb.sh
source "$ROOT/tests/e2e/lib/xvfb.sh"
cleanup() {
    local status=$?
    set +e
    trap - EXIT INT TERM
    if [[ -s "$RUN_TMP/app.pgid" ]]; then
        kill -KILL -- "-$(cat "$RUN_TMP/app.pgid")" 2>/dev/null
    fi
    xvfb_stop
    # Anything else still carrying this run's folder in its environment (D-Bus activated helpers).
    local p
    for p in /proc/[0-9]*; do
        [[ "${p#/proc/}" == "$$" ]] && continue
        if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qF "$RUN_TMP"; then
            log "leftover $(cat "$p/comm" 2>/dev/null) (pid ${p#/proc/}): killed"
            kill -KILL "${p#/proc/}" 2>/dev/null
        fi
    done
    rm -rf "$RUN_TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$RUN_TMP/home" "$RUN_TMP/xdg-data" "$RUN_TMP/xdg-config" "$RUN_TMP/xdg-cache" "$RUN_TMP/xdg-runtime"
chmod 0700 "$RUN_TMP/xdg-runtime"
# The keyring and the D-Bus session use these (never the real HOME).
export HOME="$RUN_TMP/home" XDG_DATA_HOME="$RUN_TMP/xdg-data" XDG_CONFIG_HOME="$RUN_TMP/xdg-config"
export XDG_CACHE_HOME="$RUN_TMP/xdg-cache" XDG_RUNTIME_DIR="$RUN_TMP/xdg-runtime"

if [[ "${OFFSITE_PERF_USE_DISPLAY:-}" == 1 ]]; then
    [[ -n "${DISPLAY:-}" ]] || die "OFFSITE_PERF_USE_DISPLAY=1 but DISPLAY is not set"
else
    xvfb_start "$RUN_TMP" || die "no private X server (see above)"
fi
log "display $DISPLAY, $runs run(s), ${idle} s idle each, data folder: ${data_dir:-empty (fresh per run)}"
env_note="$(env | grep -E '^(WEBKIT_|MALLOC_|GDK_|LIBGL_|GSK_|OFFSITE_WEBKIT_)' | tr '\n' ' ' || true)"
[[ -z "$env_note" ]] || log "extra environment for the app: $env_note"

# The session's own chatter (dbus-daemon, portals, the app's warnings) goes to a log, shown on failure.
status=0
APP="$APP" RUN_TMP="$RUN_TMP" RUNS="$runs" IDLE="$idle" DATA_DIR="$data_dir" MAPS="$maps" SETTLE="${OFFSITE_PERF_SETTLE:-15}" \
    bash "$ROOT/.ci/with-keyring" bash "${BASH_SOURCE[0]}" --inner 2>"$RUN_TMP/session.log" || status=$?
if ((status != 0)); then
    tail -40 "$RUN_TMP/session.log" >&2
    die "the measurement failed (exit $status)"
fi
