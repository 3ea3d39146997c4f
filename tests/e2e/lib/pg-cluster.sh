#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the end-to-end specs, the recipe of crates/testkit
# (src/cluster.rs) in shell: initdb from the system's server binaries (the newest
# /usr/lib/postgresql/*/bin, or $OFFSITE_TEST_PG_BIN), superuser `postgres` with a random password,
# scram-sha-256 over TCP on 127.0.0.1, trusted Unix socket in DIR, fsync off; run as the `postgres`
# OS user when we are root (initdb refuses root).
#
#   lib/pg-cluster.sh start DIR   # prints `export OFFSITE_E2E_PG_…=…` lines (eval/source them):
#                                 #   HOST, PORT, USER, PASSWORD, BIN, SOCKET_DIR
#   lib/pg-cluster.sh stop DIR    # immediate shutdown, removes DIR
# run.sh starts one when a spec has a line `// e2e: needs postgres`, and always stops it.
set -euo pipefail

log() { printf 'pg-cluster: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

cmd="${1:-}"
dir="${2:-}"
[[ ( "$cmd" == start || "$cmd" == stop ) && -n "$dir" ]] || die "usage: $0 start|stop DIR"

find_bin() {
    if [[ -n "${OFFSITE_TEST_PG_BIN:-}" ]]; then
        echo "$OFFSITE_TEST_PG_BIN"
        return
    fi
    local best="" best_major=0 d major
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" && -x "$d/postgres" ]] || continue
        major="$(basename "$(dirname "$d")")"
        major="${major%%.*}"
        [[ "$major" =~ ^[0-9]+$ ]] || continue
        if ((major > best_major)); then best="$d" best_major="$major"; fi
    done
    [[ -n "$best" ]] || die "PostgreSQL server binaries not found: apt-get install postgresql-15 postgresql-contrib (or run .ci/setup.sh), or set OFFSITE_TEST_PG_BIN"
    echo "$best"
}

# as_pg CMD…: runs CMD as the postgres OS user when root, else as ourselves; own process group
# (setsid) so a Ctrl-C in the terminal does not reach the server.
as_pg() {
    if [[ "$(id -u)" -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' OS user (install postgresql-15)"
        (cd / && setsid runuser -u postgres -- "$@")
    else
        (cd / && setsid "$@")
    fi
}

bin="$(find_bin)"
data="$dir/data"

if [[ "$cmd" == stop ]]; then
    if [[ -f "$data/postmaster.pid" ]]; then
        if ! as_pg "$bin/pg_ctl" stop -D "$data" -m immediate -w -t 30 >/dev/null 2>&1; then
            pid="$(head -1 "$data/postmaster.pid" 2>/dev/null || true)"
            [[ "$pid" =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped"
    fi
    rm -rf "$dir"
    exit 0
fi

# ---- start ----
mkdir -p "$dir"
chmod 0700 "$dir"
[[ "$(id -u)" -ne 0 ]] || chown postgres:postgres "$dir"
password="e2e-$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
printf '%s\n' "$password" >"$dir/pwfile"
chmod 0600 "$dir/pwfile"
[[ "$(id -u)" -ne 0 ]] || chown postgres:postgres "$dir/pwfile"
locale=C
locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$' && locale=C.UTF-8
as_pg "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
    --locale="$locale" --pwfile="$dir/pwfile" --no-sync >"$dir/initdb.log" 2>&1 \
    || die "initdb failed: $(tail -5 "$dir/initdb.log")"
rm -f "$dir/pwfile"
cat >>"$data/postgresql.conf" <<EOF

# --- offsite e2e ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 16MB
password_encryption = 'scram-sha-256'
log_min_messages = warning
log_timezone = 'UTC'
# the point-in-time spec's logical capture (a slot, a publication)
wal_level = logical
EOF
port=""
for _ in 1 2 3 4 5 6 7 8; do
    candidate="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
    echo "port = $candidate" >>"$data/postgresql.conf"
    if as_pg "$bin/pg_ctl" start -w -t 60 -s -D "$data" -l "$dir/server.log" >/dev/null 2>&1; then
        port="$candidate"
        break
    fi
    grep -qE 'could not bind|already in use|could not create any TCP/IP sockets' "$dir/server.log" 2>/dev/null \
        || die "pg_ctl start failed: $(tail -5 "$dir/server.log" 2>/dev/null)"
done
[[ -n "$port" ]] || die "no free port for PostgreSQL after 8 attempts"
log "started: 127.0.0.1:$port ($bin)"
cat <<EOF
export OFFSITE_E2E_PG_HOST=127.0.0.1
export OFFSITE_E2E_PG_PORT=$port
export OFFSITE_E2E_PG_USER=postgres
export OFFSITE_E2E_PG_PASSWORD=$password
export OFFSITE_E2E_PG_BIN=$bin
export OFFSITE_E2E_PG_SOCKET_DIR=$dir
EOF
