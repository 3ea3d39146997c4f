#!/usr/bin/env python3
"""Writes the updater manifest of a release (docs/packaging.md, "Updates and signing") from a
folder of release artifacts and the `.sig` files `tauri build` writes beside them.

    .ci/updater_manifest.py --dir dist --version 0.2.0 \\
        --base-url https://github.com/OWNER/REPO/releases/download/v0.2.0 \\
        [--pubkey BASE64 | --pubkey-from tauri.conf.json] [--notes-file NOTES.md] \\
        [--pub-date 2026-12-01T10:00:00Z] [--allow-missing KEY ...] [--out latest.json]

Every platform key the app's updater (tauri-plugin-updater 2.x) looks up gets an entry: it asks
for `<os>-<arch>-<bundle>` first, then `<os>-<arch>`, with os linux/darwin/windows, arch
x86_64/aarch64 and bundle appimage/deb/rpm/app/msi/nsis (the kind of package the running app
was installed from). The universal macOS `.app.tar.gz` answers for both Mac architectures; the
AppImage is the Linux fallback (the plugin installs anything that is not a .deb/.rpm install as
an AppImage); the NSIS installer the Windows one.

The folder is read as hostile: only regular files with plain names (no links, no spaces, no
path tricks), `.sig` files bounded in size and parsed as tauri writes them (base64 of a minisign
signature whose trusted comment carries `version:<v>`). It refuses, with every problem listed
and exit status 1: an artifact without its `.sig`, a `.sig` without its artifact, a signature of
another version or without one, an artifact named for another version, a package name this
release does not make, two artifacts for one key, signatures from different keys, and a key with
no artifact (unless `--allow-missing KEY`). With a public key (`--pubkey`, or `--pubkey-from` a
tauri.conf.json, whose placeholder is refused) every signature is verified against it (Ed25519,
as the app does; needs the `cryptography` module).
"""
import argparse
import base64
import binascii
import datetime
import hashlib
import json
import os
import re
import stat
import sys

PRODUCT = "Offsite"
# What a version may look like in a file name (semver: digits, dots, pre-release, build).
VERSION_RE = r"[0-9][0-9A-Za-z.+-]{0,63}"
# A release file's name: no path, no spaces or control characters, no leading dot or dash.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,199}")
# Names that look like updater packages (anything else in the folder is another release file,
# e.g. the .dmg, CLI tarballs, SHA256SUMS, and is left out of the manifest).
UPDATER_SUFFIX_RE = re.compile(r".*(\.AppImage|\.deb|\.rpm|\.msi|\.exe|\.app\.tar\.gz)")
MAX_SIG_BYTES = 4096  # tauri's are ~430 bytes
MAX_ENTRIES = 1000
MAX_NOTES_BYTES = 64 * 1024

# (name pattern with the version as group "v", the manifest keys it answers)
ARTIFACTS = [
    (rf"{PRODUCT}_(?P<v>{VERSION_RE})_amd64\.AppImage",
     ["linux-x86_64-appimage", "linux-x86_64"]),
    (rf"{PRODUCT}_(?P<v>{VERSION_RE})_amd64\.deb", ["linux-x86_64-deb"]),
    (rf"{PRODUCT}-(?P<v>{VERSION_RE})-1\.x86_64\.rpm", ["linux-x86_64-rpm"]),
    (rf"{PRODUCT}_(?P<v>{VERSION_RE})_universal\.app\.tar\.gz",
     ["darwin-aarch64-app", "darwin-aarch64", "darwin-x86_64-app", "darwin-x86_64"]),
    (rf"{PRODUCT}_(?P<v>{VERSION_RE})_x64_en-US\.msi", ["windows-x86_64-msi"]),
    (rf"{PRODUCT}_(?P<v>{VERSION_RE})_x64-setup\.exe", ["windows-x86_64-nsis", "windows-x86_64"]),
]
ARTIFACTS = [(re.compile(p), keys) for p, keys in ARTIFACTS]
ALL_KEYS = [k for _, keys in ARTIFACTS for k in keys]
# The committed tauri.conf.json's pubkey is a placeholder; every real minisign public key in
# tauri's form starts so (base64 of "untrusted comment:").
KEY_PREFIX = "dW50cnVzdGVkIGNvbW1lbnQ6"


class Refused(Exception):
    pass


def b64(text, what):
    if not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", text):
        raise Refused(f"{what}: not base64")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as e:
        raise Refused(f"{what}: not base64 ({e})") from None


def parse_signature(text, what):
    """A tauri `.sig` (base64 of a minisign signature) → dict(alg, key_id, sig, trusted, global_sig)."""
    raw = b64(text.strip(), what)
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise Refused(f"{what}: not a minisign signature (not UTF-8)") from None
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != 4 or not lines[0].startswith("untrusted comment:") \
            or not lines[2].startswith("trusted comment: "):
        raise Refused(f"{what}: not a minisign signature (expected 4 lines: comment, signature, "
                      "trusted comment, global signature)")
    sig = b64(lines[1], what + " (signature line)")
    global_sig = b64(lines[3], what + " (global signature line)")
    if len(sig) != 74 or sig[:2] not in (b"Ed", b"ED") or len(global_sig) != 64:
        raise Refused(f"{what}: not an Ed25519 minisign signature")
    trusted = lines[2][len("trusted comment: "):]
    return {"alg": sig[:2], "key_id": sig[2:10], "sig": sig[10:], "trusted": trusted,
            "global_sig": global_sig}


def parse_pubkey(value):
    """tauri.conf.json's `plugins.updater.pubkey` (base64 of the minisign .pub file) → (key_id, key)."""
    value = value.strip()
    if not value.startswith(KEY_PREFIX):
        raise Refused("the public key is not a minisign public key in tauri's form (the committed "
                      "tauri.conf.json has a placeholder: put the release key's .pub in it first)")
    text = b64(value, "public key").decode("utf-8", "replace").strip().split("\n")
    if len(text) != 2:
        raise Refused("public key: expected a comment line and a key line")
    key = b64(text[1].strip(), "public key (key line)")
    if len(key) != 42 or key[:2] != b"Ed":
        raise Refused("public key: not an Ed25519 minisign key")
    return key[2:10], key[10:]


def verify(path, sig, pubkey):
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        raise Refused("verifying signatures needs the Python module `cryptography` "
                      "(Debian: python3-cryptography)") from None
    key_id, key = pubkey
    name = os.path.basename(path)
    if sig["key_id"] != key_id:
        raise Refused(f"{name}.sig: signed by key {sig['key_id'][::-1].hex().upper()}, not the "
                      f"release key {key_id[::-1].hex().upper()}")
    public = Ed25519PublicKey.from_public_bytes(key)
    if sig["alg"] == b"ED":  # pre-hashed (what tauri writes)
        h = hashlib.blake2b(digest_size=64)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        message = h.digest()
    else:
        with open(path, "rb") as f:
            message = f.read()
    try:
        public.verify(sig["sig"], message)
        public.verify(sig["global_sig"], sig["sig"] + sig["trusted"].encode("utf-8"))
    except InvalidSignature:
        raise Refused(f"{name}.sig: the signature does not verify against the release key "
                      "(another file, or the file was changed)") from None


def signed_version(trusted):
    """The `version:` field of the trusted comment (what the app compares), or None."""
    for field in trusted.split("\t"):
        if field.startswith("version:"):
            return field[len("version:"):]
    return None


def read_bounded(path, limit, what):
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Refused(f"{what}: larger than {limit} bytes")
    return data


def scan(folder):
    """Regular files with plain names in `folder` → sorted names; refuses anything else."""
    problems, names = [], []
    with os.scandir(folder) as it:
        for n, entry in enumerate(it):
            if n >= MAX_ENTRIES:
                raise Refused(f"{folder}: more than {MAX_ENTRIES} entries")
            name = entry.name
            shown = ascii(name)
            if not NAME_RE.fullmatch(name) or ".." in name:
                problems.append(f"{shown}: not a plain release file name")
            elif not stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode):
                problems.append(f"{shown}: not a regular file (links and folders are refused)")
            else:
                names.append(name)
    return sorted(names), problems


def build(folder, version, base_url, pubkey=None, allow_missing=(), notes=None, pub_date=None):
    """The manifest (a dict), or Refused listing every problem."""
    version = version[1:] if version.startswith("v") else version
    if not re.fullmatch(VERSION_RE, version):
        raise Refused(f"{version!r}: not a version")
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~%+-]+)*/?", base_url):
        raise Refused(f"{base_url!r}: the base URL must be a plain https URL (the app refuses http)")
    unknown = sorted(set(allow_missing) - set(ALL_KEYS))
    if unknown:
        raise Refused(f"--allow-missing {', '.join(unknown)}: not a platform key "
                      f"(keys: {', '.join(ALL_KEYS)})")
    names, problems = scan(folder)
    present = set(names)
    platforms, key_ids = {}, {}
    for name in names:
        if name.endswith(".sig"):
            if name[:-4] not in present:
                problems.append(f"{name}: a signature without its artifact {name[:-4]}")
            elif not UPDATER_SUFFIX_RE.fullmatch(name[:-4]):
                problems.append(f"{name}: a signature of a file that is no updater package")
            continue
        if not UPDATER_SUFFIX_RE.fullmatch(name):
            continue  # the .dmg, CLI tarballs, SHA256SUMS, …
        match = [(m, keys) for p, keys in ARTIFACTS if (m := p.fullmatch(name))]
        if not match:
            problems.append(f"{name}: not a package name this release makes")
            continue
        m, keys = match[0]
        if m.group("v") != version:
            problems.append(f"{name}: named for version {m.group('v')}, the release is {version}")
            continue
        if name + ".sig" not in present:
            problems.append(f"{name}: no signature ({name}.sig; was TAURI_SIGNING_PRIVATE_KEY "
                            "set and the updater overlay config passed to tauri build?)")
            continue
        path = os.path.join(folder, name)
        try:
            text = read_bounded(path + ".sig", MAX_SIG_BYTES, name + ".sig")
            if not text.strip():
                raise Refused(f"{name}.sig: empty")
            text = text.decode("ascii", "replace")
            sig = parse_signature(text, name + ".sig")
            signed = signed_version(sig["trusted"])
            if signed is None:
                raise Refused(f"{name}.sig: signed without a version (the app requires one: "
                              "sign with --app-version)")
            if signed.lstrip("v") != version:
                raise Refused(f"{name}.sig: signed for version {signed}, the release is {version}")
            if pubkey is not None:
                verify(path, sig, pubkey)
        except Refused as e:
            problems.append(str(e))
            continue
        key_ids.setdefault(sig["key_id"], []).append(name)
        for key in keys:
            if key in platforms:
                problems.append(f"{name}: a second artifact for {key}")
            platforms[key] = {"url": f"{base_url.rstrip('/')}/{name}", "signature": text.strip()}
    if len(key_ids) > 1:
        problems.append("the signatures come from different keys: " + "; ".join(
            f"{k[::-1].hex().upper()}: {', '.join(v)}" for k, v in key_ids.items()))
    missing = [k for k in ALL_KEYS if k not in platforms and k not in allow_missing]
    if missing:
        problems.append("no artifact for " + ", ".join(missing)
                        + " (--allow-missing KEY to release without it)")
    if problems:
        raise Refused("\n".join(problems))
    manifest = {"version": version}
    if notes is not None:
        manifest["notes"] = notes
    manifest["pub_date"] = pub_date or datetime.datetime.now(datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest["platforms"] = {k: platforms[k] for k in ALL_KEYS if k in platforms}
    return manifest


def pubkey_from_conf(path):
    conf = json.loads(read_bounded(path, 1 << 20, path))
    try:
        return conf["plugins"]["updater"]["pubkey"]
    except (KeyError, TypeError):
        raise Refused(f"{path}: no plugins.updater.pubkey") from None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="the folder of release artifacts and .sig files")
    ap.add_argument("--version", required=True, help="the release's version (X.Y.Z or vX.Y.Z)")
    ap.add_argument("--base-url", required=True, help="https URL the artifacts are published under")
    key = ap.add_mutually_exclusive_group()
    key.add_argument("--pubkey", help="the release public key (base64, as in tauri.conf.json)")
    key.add_argument("--pubkey-from", metavar="TAURI_CONF", help="read it from a tauri.conf.json")
    ap.add_argument("--notes-file", help="release notes shown in the app (UTF-8, ≤ 64 KiB)")
    ap.add_argument("--pub-date", help="RFC 3339 date (default: now, UTC)")
    ap.add_argument("--allow-missing", action="append", default=[], metavar="KEY",
                    help=f"release without this platform key ({', '.join(ALL_KEYS)})")
    ap.add_argument("--out", help="write the manifest here (default: stdout)")
    args = ap.parse_args(argv)
    try:
        pubkey = None
        if args.pubkey_from:
            pubkey = parse_pubkey(pubkey_from_conf(args.pubkey_from))
        elif args.pubkey:
            pubkey = parse_pubkey(args.pubkey)
        notes = None
        if args.notes_file:
            raw = read_bounded(args.notes_file, MAX_NOTES_BYTES, args.notes_file)
            try:
                notes = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise Refused(f"{args.notes_file}: not UTF-8") from None
        if args.pub_date is not None and not re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", args.pub_date):
            raise Refused(f"--pub-date {args.pub_date!r}: not an RFC 3339 date")
        manifest = build(args.dir, args.version, args.base_url, pubkey, args.allow_missing,
                         notes, args.pub_date)
    except (Refused, OSError, ValueError) as e:
        print(f"updater manifest: refused:\n{e}", file=sys.stderr)
        return 1
    text = json.dumps(manifest, indent=2) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"updater manifest: {args.out}: {len(manifest['platforms'])} platform keys "
              f"({', '.join(manifest['platforms'])})", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
