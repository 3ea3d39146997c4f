#!/usr/bin/env bash
# Install test: package the built app and CLI as the release does, install the packages into a
# clean root and run what was installed.
#
#   bash tests/install/run.sh
#
# Steps (each fails loudly, nothing is skipped):
#   1. the debug app built with the UI embedded (`--features tauri/custom-protocol`, as
#      tests/e2e/run.sh builds it; cargo finds it up to date after the e2e step) and the CLI;
#   2. the CLI staged at packaging/bin/offsite (tauri.conf.json: bundle.linux.*.files), then
#      `tauri bundle --debug --bundles deb,rpm` packages the binary already built (no compile);
#   3. the .deb: `dpkg-deb -I` declares the dependencies (WebKitGTK 4.1, libayatana-appindicator,
#      postgresql-client recommended), each satisfiable here; `dpkg -x` into a clean root holds
#      the app, /usr/bin/offsite, the desktop entry (desktop-file-validate) and the icons;
#   4. the .rpm: `rpm -qp --requires/--recommends` and its files (rpm2cpio);
#   5. the installed `offsite --version` and `offsite project list` on an empty data folder;
#      `cargo install --path crates/cli` into a temporary root (debug, reusing the target folder);
#   6. the installed app under its own Xvfb (and D-Bus session) up to its first window: a
#      screenshot into artifacts/install/, then it is stopped.
# The AppImage is not built here: tauri's bundler downloads linuxdeploy and its plugins from
# github.com, which this machine cannot reach (docs/packaging.md).
#
# Environment:
#   CARGO_TARGET_DIR             where the app is built (default: <repo>/target)
#   OFFSITE_INSTALL_SKIP_BUILD=1 package the binaries already in the target folder (step 1's cargo
#                                build left out; every check still runs)
#   OFFSITE_INSTALL_CARGO_CHECKED=1  the caller ran tests/install/cargo_install.sh (step 5's
#                                `cargo install`) and checked its exit status
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ARTIFACTS="$ROOT/artifacts/install"
log() { printf 'install: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}
started=$SECONDS
# The app talks to a D-Bus session (tray, notifications, the keychain): a private one with a
# throwaway keyring unless the caller gave one (.ci/test runs this under .ci/with-keyring).
if [[ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]]; then
    exec bash "$ROOT/.ci/with-keyring" bash "${BASH_SOURCE[0]}" "$@"
fi

for tool in dpkg-deb dpkg dpkg-query rpm rpm2cpio cpio desktop-file-validate Xvfb import xwininfo xprop \
    identify dbus-run-session npm; do
    command -v "$tool" >/dev/null || die "$tool not found (run .ci/setup.sh)"
done
[[ -x "$ROOT/ui/node_modules/.bin/tauri" ]] || die "ui/node_modules/.bin/tauri missing (run .ci/setup.sh)"

# HOME moves to a temporary folder below (step 5): cargo and rustup keep their real homes.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
APP="$target_dir/debug/offsite-desktop"
CLI="$target_dir/debug/offsite"
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml")"
[[ -n "$version" ]] || die "no workspace.package.version in Cargo.toml"

# ---- 1. the binaries ---------------------------------------------------------------------------
if [[ "${OFFSITE_INSTALL_SKIP_BUILD:-}" != 1 ]]; then
    # ui/dist as the e2e step (or `npm --prefix ui run build`) left it: building it again would
    # give it new times and make cargo rebuild the app the e2e step has just built.
    [[ -f "$ROOT/ui/dist/index.html" ]] || npm --prefix "$ROOT/ui" run build >&2 || die "UI build failed"
    t0=$SECONDS
    (cd "$ROOT" && CARGO_TARGET_DIR="$target_dir" cargo build -p offsite-desktop --features tauri/custom-protocol \
        && CARGO_TARGET_DIR="$target_dir" cargo build -p offsite-cli) || die "build failed"
    log "app and CLI up to date ($((SECONDS - t0)) s)"
fi
[[ -x "$APP" ]] || die "app binary missing: $APP (bash tests/e2e/run.sh builds it)"
[[ -x "$CLI" ]] || die "CLI binary missing: $CLI (cargo build -p offsite-cli)"

RUN_TMP="$(mktemp -d "${TMPDIR:-/tmp}/offsite-install.XXXXXX")"
app_pid=""
# shellcheck source=../e2e/lib/xvfb.sh
source "$ROOT/tests/e2e/lib/xvfb.sh"
cleanup() {
    local status=$?
    set +e
    if [[ -n "$app_pid" ]] && kill -0 "$app_pid" 2>/dev/null; then kill -KILL "$app_pid"; fi
    xvfb_stop
    rm -rf "$RUN_TMP"
    log "finished in $((SECONDS - started)) s: $( ((status == 0)) && echo PASSED || echo "FAILED (exit $status)")"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"

# ---- 2. package what is built ------------------------------------------------------------------
mkdir -p "$ROOT/packaging/bin"
install -m 0755 "$CLI" "$ROOT/packaging/bin/offsite"
bundle_dir="$target_dir/debug/bundle"
rm -rf "$bundle_dir/deb" "$bundle_dir/rpm"
app_size="$(stat -c %s "$APP")"
t0=$SECONDS
CARGO_TARGET_DIR="$target_dir" npm --prefix "$ROOT/ui" run --silent tauri -- bundle --debug --bundles deb,rpm \
    >"$RUN_TMP/bundle.log" 2>&1 || { tail -30 "$RUN_TMP/bundle.log" >&2; die "tauri bundle failed"; }
log "tauri bundle --debug --bundles deb,rpm: $((SECONDS - t0)) s"
# It packages the binary that is there: nothing compiled, the app only patched in place (tauri
# writes the bundle type into it, same size), and the package holds that very file (step 3).
if grep -qE "Compiling|Running .*cargo|beforeBuildCommand" "$RUN_TMP/bundle.log"; then
    die "tauri bundle built something: $(grep -E "Compiling|Running" "$RUN_TMP/bundle.log" | head -3)"
fi
[[ "$(stat -c %s "$APP")" == "$app_size" ]] || die "the app binary changed size while being packaged"
deb="$bundle_dir/deb/Offsite_${version}_amd64.deb"
rpm_file="$bundle_dir/rpm/Offsite-${version}-1.x86_64.rpm"
[[ -f "$deb" ]] || die "no $deb: $(ls -R "$bundle_dir" 2>&1 | head -20)"
[[ -f "$rpm_file" ]] || die "no $rpm_file: $(ls -R "$bundle_dir" 2>&1 | head -20)"
log "built $(basename "$deb") ($(du -h "$deb" | cut -f1)), $(basename "$rpm_file") ($(du -h "$rpm_file" | cut -f1))"

# ---- 3. the .deb: its control data, then unpacked into a clean root ----------------------------
control="$(dpkg-deb -f "$deb" Package Version Architecture Depends Recommends Section)"
printf '%s\n' "$control" >"$ARTIFACTS/deb-control.txt"
field() { dpkg-deb -f "$deb" "$1"; }
[[ "$(field Package)" == offsite ]] || die "Package: $(field Package) (expected offsite)"
[[ "$(field Version)" == "$version" ]] || die "Version: $(field Version) (expected $version)"
depends="$(field Depends)"
for need in libwebkit2gtk-4.1-0 libgtk-3-0 libayatana-appindicator3-1; do
    grep -qE "(^|, )$need( |,|$)" <<<"$depends" || die "Depends lacks $need: $depends"
done
dups="$(tr ',' '\n' <<<"$depends" | awk '{print $1}' | sort | uniq -d)"
[[ -z "$dups" ]] || die "Depends names a package twice ($dups): $depends"
[[ "$(field Recommends)" == *postgresql-client* ]] || die "Recommends lacks postgresql-client: $(field Recommends)"
# Every dependency is one this Debian has installed (the package would install here).
IFS=',' read -ra deps <<<"$depends"
for d in "${deps[@]}"; do
    name="$(awk '{print $1}' <<<"$d")"
    dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "ok installed" \
        || die "dependency $name of the .deb is not installed here (apt-get install $name)"
done
log "deb control: Depends: $depends; Recommends: $(field Recommends)"

root="$RUN_TMP/root"
dpkg -x "$deb" "$root"
for f in usr/bin/offsite-desktop usr/bin/offsite usr/share/applications/Offsite.desktop \
    usr/share/icons/hicolor/32x32/apps/offsite-desktop.png usr/share/icons/hicolor/128x128/apps/offsite-desktop.png usr/share/icons/hicolor/512x512/apps/offsite-desktop.png \
    usr/lib/systemd/system/offsite-serve.service usr/lib/systemd/system/offsite-daemon.service; do
    [[ -e "$root/$f" ]] || die "the .deb does not install /$f: $(cd "$root" && find . -type f | head -30)"
done
cmp -s "$root/usr/bin/offsite" "$CLI" || die "/usr/bin/offsite in the .deb is not the CLI that was built"
# The app as packaged for the .rpm (patched last) differs from the .deb's by its bundle-type mark
# only: same size as the built one.
[[ "$(stat -c %s "$root/usr/bin/offsite-desktop")" == "$app_size" ]] || die "the .deb's app is not the built one"
desktop="$root/usr/share/applications/Offsite.desktop"
desktop-file-validate "$desktop" || die "the desktop entry does not validate"
grep -qx 'Exec=offsite-desktop' "$desktop" || die "desktop entry Exec: $(grep ^Exec "$desktop")"
grep -qx 'Icon=offsite-desktop' "$desktop" || die "desktop entry Icon: $(grep ^Icon "$desktop")"
cp "$desktop" "$ARTIFACTS/Offsite.desktop"
(cd "$root" && find . -type f | sort) >"$ARTIFACTS/deb-files.txt"

# ---- 4. the .rpm -------------------------------------------------------------------------------
requires="$(rpm -qp --requires "$rpm_file" 2>/dev/null)"
for need in 'libwebkit2gtk-4.1.so.0()(64bit)' 'libgtk-3.so.0()(64bit)' 'libayatana-appindicator3.so.1()(64bit)'; do
    grep -qxF "$need" <<<"$requires" || die ".rpm requires lacks $need: $requires"
done
rpm -qp --recommends "$rpm_file" 2>/dev/null | grep -qx postgresql || die ".rpm does not recommend postgresql"
rpm_root="$RUN_TMP/rpm-root"
mkdir -p "$rpm_root"
rpm -K --nosignature "$rpm_file" >/dev/null || die "the .rpm's digests do not match: $(rpm -K --nosignature "$rpm_file" 2>&1)"
# Debian's rpm2cpio (4.18) exits 1 on the packages tauri's rpm writer makes although it writes the
# whole payload: its status is not used; the digests (above) and the files (below) are checked.
rpm2cpio "$rpm_file" >"$RUN_TMP/rpm.cpio" 2>"$RUN_TMP/rpm2cpio.err" || true
(cd "$rpm_root" && cpio -idm --quiet <"$RUN_TMP/rpm.cpio") || die "cpio could not unpack the .rpm's payload: $(cat "$RUN_TMP/rpm2cpio.err")"
[[ "$(rpm -qlp "$rpm_file" | sort)" == "$(cd "$rpm_root" && find . -type f | sed 's,^\.,,' | sort)" ]] \
    || die "the .rpm's payload does not hold the files its header lists"
cmp -s "$rpm_root/usr/bin/offsite" "$CLI" || die "/usr/bin/offsite in the .rpm is not the CLI that was built"
[[ -x "$rpm_root/usr/bin/offsite-desktop" && -f "$rpm_root/usr/share/applications/Offsite.desktop" ]] \
    || die "the .rpm lacks the app or its desktop entry: $(cd "$rpm_root" && find . -type f | head -20)"
log "rpm: requires and files as declared"

# ---- 5. the installed command line -------------------------------------------------------------
export HOME="$RUN_TMP/home" XDG_DATA_HOME="$RUN_TMP/xdg-data" XDG_CONFIG_HOME="$RUN_TMP/xdg-config"
export XDG_CACHE_HOME="$RUN_TMP/xdg-cache" XDG_RUNTIME_DIR="$RUN_TMP/xdg-runtime"
mkdir -p "$HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 0700 "$XDG_RUNTIME_DIR"
export OFFSITE_DATA_DIR="$RUN_TMP/data"
offsite="$root/usr/bin/offsite"
"$offsite" --version >"$ARTIFACTS/offsite-version.txt" || die "offsite --version failed"
[[ "$(head -1 "$ARTIFACTS/offsite-version.txt")" == "offsite $version" ]] \
    || die "offsite --version: $(cat "$ARTIFACTS/offsite-version.txt")"
grep -q '^archive format: ' "$ARTIFACTS/offsite-version.txt" || die "offsite --version names no archive format"
grep -q '^catalog schema: ' "$ARTIFACTS/offsite-version.txt" || die "offsite --version names no catalog schema"
[[ ! -e "$OFFSITE_DATA_DIR" ]] || die "the data folder exists before the first command"
out="$("$offsite" project list 2>"$RUN_TMP/list.err")" || die "offsite project list failed: $(cat "$RUN_TMP/list.err")"
json="$("$offsite" --json project list 2>"$RUN_TMP/list.err")" || die "offsite --json project list failed: $(cat "$RUN_TMP/list.err")"
[[ "$(tr -d ' \n' <<<"$json")" == '{"projects":[]}' ]] || die "offsite --json project list on an empty data folder: $json"
[[ -f "$OFFSITE_DATA_DIR/catalog.sqlite3" ]] || die "no catalog made in $OFFSITE_DATA_DIR"
log "installed offsite: $(head -1 "$ARTIFACTS/offsite-version.txt"); project list: ${out:-<nothing>}"

# `cargo install --path crates/cli` works (tests/install/cargo_install.sh). Always checked, also
# with OFFSITE_INSTALL_SKIP_BUILD=1 (which only leaves out step 1's cargo build); .ci/test runs it
# as a step of its own and says so with OFFSITE_INSTALL_CARGO_CHECKED=1.
if [[ "${OFFSITE_INSTALL_CARGO_CHECKED:-}" == 1 ]]; then
    log "cargo install --path crates/cli: checked by the caller (tests/install/cargo_install.sh)"
else
    bash "$HERE/cargo_install.sh" || die "cargo install --path crates/cli failed"
fi

# ---- 6. the installed app, up to its first window ----------------------------------------------
xvfb_start "$RUN_TMP" || die "no private X server"
log "display: private Xvfb on $DISPLAY"
export OFFSITE_DATA_DIR="$RUN_TMP/app-data"
t_app=$SECONDS
"$root/usr/bin/offsite-desktop" >"$RUN_TMP/app.log" 2>&1 &
app_pid=$!
window=""
for _ in $(seq 300); do
    kill -0 "$app_pid" 2>/dev/null || die "the app exited: $(tail -20 "$RUN_TMP/app.log")"
    while read -r id; do
        info="$(xwininfo -id "$id" 2>/dev/null)" || continue
        grep -q 'Map State: IsViewable' <<<"$info" || continue
        w="$(awk '/Width:/ {print $2}' <<<"$info")"
        ((w >= 400)) && window="$id" && break
    done < <(xwininfo -root -tree | awk '/"Offsite"/ {print $1}')
    [[ -n "$window" ]] && break
    sleep 0.1
done
[[ -n "$window" ]] || die "no Offsite window within 30 s: $(tail -20 "$RUN_TMP/app.log")"
log "first window $window after $((SECONDS - t_app)) s"
# The window maps before the page paints, and the page then loads the (empty) catalog: the
# screenshot is taken once the screen shows more than a blank window and has stopped changing
# (three equal captures 0.5 s apart).
shot="$ARTIFACTS/installed-app.png"
colours=0 previous="" same=0
for _ in $(seq 120); do
    import -display "$DISPLAY" -window root "$RUN_TMP/shot.png" 2>/dev/null || { sleep 0.5; continue; }
    colours="$(identify -format '%k' "$RUN_TMP/shot.png" 2>/dev/null || echo 0)"
    digest="$(identify -format '%#' "$RUN_TMP/shot.png" 2>/dev/null || echo none)"
    if ((colours > 50)) && [[ "$digest" == "$previous" ]]; then
        same=$((same + 1))
        ((same >= 2)) && break
    else
        same=0
    fi
    previous="$digest"
    sleep 0.5
done
cp "$RUN_TMP/shot.png" "$shot"
((colours > 50)) || die "the window stayed blank ($colours colours): $shot"
((same >= 2)) || die "the window never settled within 60 s: $shot"
log "screenshot: ${shot#"$ROOT"/} ($colours colours)"
kill -TERM "$app_pid"
for _ in $(seq 50); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$app_pid" 2>/dev/null; then die "the app ignored SIGTERM for 5 s"; fi
wait "$app_pid" 2>/dev/null || true
app_pid=""
log "app stopped"
