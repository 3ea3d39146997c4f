#!/usr/bin/env bash
# PostgreSQL 13 server and client binaries for the tests of Offsite on a PostgreSQL 13 source
# (crates/testkit: TestCluster::start_major(13)), without installing a second distribution's
# packages: Debian 11 (bullseye)'s postgresql-13 and postgresql-client-13, and the libraries they
# need that Debian 12 lacks (libssl1.1, libicu67, libldap-2.4-2; libpq5 13 beside them), are
# unpacked with `dpkg-deb -x` into /opt/offsite/pg13 (nothing registered with dpkg, nothing
# outside that folder written) and pointed at their own libraries with `patchelf --set-rpath`
# (no LD_LIBRARY_PATH: the binaries are the real programs, so Offsite's confinement and its
# discovery of server binaries see them as a user's). PostgreSQL finds its share and lib folders
# relative to its binary, so the Debian layout is kept under the prefix:
#   /opt/offsite/pg13/usr/lib/postgresql/13/bin   initdb, postgres, pg_ctl, psql, pg_dump, …
# JIT is left out (llvmjit.so needs libLLVM-11, 18 MB more): such a server says jit is
# unavailable, and Offsite forces jit off on every server it starts from a backup anyway.
#
# Trust: the archive's InRelease is checked with gpgv against Debian's archive keyring (which
# holds Debian 11's keys); the Packages index against the SHA256 the signed InRelease gives; each
# .deb against the SHA256 that index gives. Anything that does not match stops the setup.
# The archive is the one apt on this machine uses (its Debian sources), with the suite replaced.
# Idempotent: with a complete prefix (its stamp written last) it touches nothing, offline.
set -euo pipefail
CI_SCRIPT_NAME=setup
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PREFIX="${OFFSITE_PG13_PREFIX:-/opt/offsite/pg13}"
BIN="$PREFIX/usr/lib/postgresql/13/bin"
STAMP="$PREFIX/.offsite-pg13-complete"
SUITE=bullseye
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
PACKAGES=(postgresql-13 postgresql-client-13 libpq5 libssl1.1 libicu67 libldap-2.4-2)

if [[ -f "$STAMP" && -x "$BIN/postgres" ]] && "$BIN/postgres" --version 2>/dev/null | grep -q ' 13\.'; then
    ci_log "PostgreSQL 13: present ($BIN, $("$BIN/postgres" --version | awk '{print $3}'))"
    exit 0
fi
started=$SECONDS
for tool in curl gpgv xz dpkg-deb patchelf sha256sum; do
    command -v "$tool" >/dev/null || { ci_log "PostgreSQL 13: $tool missing (the apt step installs it)"; exit 1; }
done
[[ -f "$KEYRING" ]] || { ci_log "PostgreSQL 13: $KEYRING missing (debian-archive-keyring)"; exit 1; }

# The Debian archive apt uses here: the URI of the sources entry for this release's main suite
# (deb822 .sources or one-line .list); OFFSITE_DEBIAN_MIRROR overrides it.
mirror="${OFFSITE_DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v c="$codename" '
        /^$/ { if (u != "" && s) { print u; exit } u = ""; s = 0; next }
        tolower($1) == "uris:" { u = $2 }
        tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == c) s = 1 }
        END { if (u != "" && s) print u }' | head -1)
    if [[ -z "$mirror" ]]; then
        mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v c="$codename" '
            $1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                          if ($(i + 1) == c) { print $i; exit } }')
    fi
fi
[[ -n "$mirror" ]] || { ci_log "PostgreSQL 13: no Debian archive found in apt's sources (set OFFSITE_DEBIAN_MIRROR)"; exit 1; }
mirror="${mirror%/}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch() { # URL FILE
    if ! curl -sSf --retry 3 --connect-timeout 20 --max-time 600 -o "$2" "$1" 2>"$work/curl.err"; then
        ci_log "PostgreSQL 13: cannot download $1: $(tr '\n' ' ' <"$work/curl.err")"
        ci_log "PostgreSQL 13: the Debian $SUITE archive must be reachable once to set up the PostgreSQL 13 tests (or unpack the packages ${PACKAGES[*]} into $PREFIX yourself: docs/development.md)"
        exit 1
    fi
}
ci_log "PostgreSQL 13: from $mirror ($SUITE) into $PREFIX"
fetch "$mirror/dists/$SUITE/InRelease" "$work/InRelease"
if ! gpgv --keyring "$KEYRING" --output "$work/Release" "$work/InRelease" 2>"$work/gpgv.err"; then
    ci_log "PostgreSQL 13: the $SUITE InRelease's signature does not verify against $KEYRING: $(tr '\n' ' ' <"$work/gpgv.err")"
    exit 1
fi
index=main/binary-amd64/Packages.xz
# The SHA256 section of the signed Release: " <sha256> <size> <path>".
want=$(awk -v f="$index" '/^SHA256:/ { in256 = 1; next } /^[^ ]/ { in256 = 0 }
    in256 && $3 == f { print $1 }' "$work/Release")
[[ -n "$want" ]] || { ci_log "PostgreSQL 13: the signed Release lists no $index"; exit 1; }
fetch "$mirror/dists/$SUITE/$index" "$work/Packages.xz"
got=$(sha256sum "$work/Packages.xz" | cut -d' ' -f1)
[[ "$got" == "$want" ]] || { ci_log "PostgreSQL 13: $index has SHA256 $got, the signed Release says $want"; exit 1; }
# One pass over the index: "<Package> <Filename> <SHA256> <Version>" of each package wanted.
xz -dc "$work/Packages.xz" | awk -v want=" ${PACKAGES[*]} " '
    function out() { if (n != "" && index(want, " " n " ")) print n, f, s, v; n = f = s = v = "" }
    /^$/ { out(); next }
    /^Package: / { n = $2 } /^Filename: / { f = $2 } /^SHA256: / { s = $2 } /^Version: / { v = $2 }
    END { out() }' >"$work/wanted"

root="$work/root"
mkdir -p "$root" "$work/debs"
for p in "${PACKAGES[@]}"; do
    file='' sha='' version=''
    read -r _ file sha version < <(awk -v p="$p" '$1 == p { print; exit }' "$work/wanted") || true
    [[ -n "${file:-}" && -n "${sha:-}" ]] || { ci_log "PostgreSQL 13: $p is not in $SUITE's index"; exit 1; }
    [[ "$file" =~ ^pool/[A-Za-z0-9._+/~-]+\.deb$ && "$file" != *..* ]] \
        || { ci_log "PostgreSQL 13: $p's file name in the index is refused: $file"; exit 1; }
    deb="$work/debs/$p.deb"
    fetch "$mirror/$file" "$deb"
    got=$(sha256sum "$deb" | cut -d' ' -f1)
    [[ "$got" == "$sha" ]] || { ci_log "PostgreSQL 13: $file has SHA256 $got, the index says $sha"; exit 1; }
    dpkg-deb -x "$deb" "$root"
    echo "$p $version $sha" >>"$work/stamp"
done

pgroot="$root/usr/lib/postgresql/13"
rm -rf "$pgroot/lib/llvmjit.so" "$pgroot/lib/llvmjit_types.bc" "$pgroot/lib/bitcode"
# ELF files (not links) by their first four bytes, read by bash itself: one patchelf and one
# ldd for them all (a fork costs seconds on a machine busy with builds).
elves() {
    local f magic
    for f in "$@"; do
        [[ -f "$f" && ! -L "$f" ]] || continue
        IFS= read -r -N4 magic <"$f" || true
        [[ "$magic" == $'\x7fELF' ]] && printf '%s\n' "$f"
    done
}
mapfile -t progs < <(elves "$pgroot"/bin/* "$pgroot"/lib/*.so)
mapfile -t libs < <(elves "$root"/usr/lib/x86_64-linux-gnu/*.so*)
patchelf --set-rpath '$ORIGIN/../../../x86_64-linux-gnu' "${progs[@]}"
patchelf --set-rpath '$ORIGIN' "${libs[@]}"
patched=$((${#progs[@]} + ${#libs[@]}))
if ldd "${progs[@]}" 2>/dev/null | grep -q 'not found'; then
    ci_log "PostgreSQL 13: unpacked programs miss libraries: $(ldd "${progs[@]}" 2>&1 | grep -E '^/|not found' | grep -B1 'not found' | tr -s ' \t\n' ' ')"
    exit 1
fi
"$pgroot/bin/postgres" --version | grep -q ' 13\.' || { ci_log "PostgreSQL 13: the unpacked postgres does not run"; exit 1; }

# In place whole or not at all: the stamp is written last, inside the folder moved in.
chmod -R a+rX,go-w "$root"
cp "$work/stamp" "$root/.offsite-pg13-complete"
as_root mkdir -p "$(dirname "$PREFIX")"
as_root rm -rf "$PREFIX"
as_root mv "$root" "$PREFIX"
ci_log "PostgreSQL 13: $("$BIN/postgres" --version | awk '{print $3}') unpacked and $patched files pointed at their libraries in $((SECONDS - started)) s ($(du -sh "$PREFIX" | cut -f1))"
