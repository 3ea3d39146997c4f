# A private Xvfb for the e2e harness and the perf scripts (sourced; bash).
#
#   xvfb_start DIR   starts Xvfb on a free display (its log in DIR/xvfb.log), waits until it accepts
#                    connections, exports DISPLAY and sets xvfb_pid; returns 1 with a message on
#                    stderr if it cannot
#   xvfb_stop        stops it (TERM, then KILL after 5 s); does nothing if none was started

xvfb_pid=""

xvfb_start() {
    local dir="$1"
    command -v Xvfb >/dev/null || { echo "Xvfb not found: apt-get install xvfb (or run .ci/setup.sh)" >&2; return 1; }
    # -displayfd: Xvfb picks a free display number and writes it once it accepts connections.
    Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp -noreset 3>"$dir/display" \
        >"$dir/xvfb.log" 2>&1 &
    xvfb_pid=$!
    local _
    for _ in $(seq 100); do
        [[ -s "$dir/display" ]] && break
        kill -0 "$xvfb_pid" 2>/dev/null || { echo "Xvfb exited: $(tail -5 "$dir/xvfb.log")" >&2; return 1; }
        sleep 0.1
    done
    [[ -s "$dir/display" ]] || { echo "Xvfb did not come up within 10 s" >&2; return 1; }
    export DISPLAY=":$(tr -dc 0-9 <"$dir/display")"
}

xvfb_stop() {
    [[ -n "$xvfb_pid" ]] || return 0
    kill -TERM "$xvfb_pid" 2>/dev/null
    local _
    for _ in $(seq 50); do kill -0 "$xvfb_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$xvfb_pid" 2>/dev/null
    wait "$xvfb_pid" 2>/dev/null
    xvfb_pid=""
}
