"""Tests of .ci/updater_manifest.py (run by .ci/test: `python3 -m unittest discover -s .ci/tests`).

Fake release folders in temporary directories, signed the way `tauri signer sign` signs (minisign,
Ed25519 over the BLAKE2b-512 of the file, a trusted comment with `version:`), with keys made
here; one test signs with the real tauri CLI of ui/node_modules (OFFSITE_TAURI_CLI overrides it).
"""
import base64
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CI = pathlib.Path(__file__).resolve().parent.parent
ROOT = CI.parent
SCRIPT = CI / "updater_manifest.py"
_spec = importlib.util.spec_from_file_location("updater_manifest", SCRIPT)
um = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(um)

V = "0.2.0"
BASE = "https://releases.example/download/v0.2.0"
ARTIFACTS = [
    "Offsite_0.2.0_amd64.AppImage",
    "Offsite_0.2.0_amd64.deb",
    "Offsite-0.2.0-1.x86_64.rpm",
    "Offsite_0.2.0_universal.app.tar.gz",
    "Offsite_0.2.0_x64_en-US.msi",
    "Offsite_0.2.0_x64-setup.exe",
]
# Release files that are no updater package: left out of the manifest, not refused.
OTHERS = ["Offsite_0.2.0_universal.dmg", "offsite-0.2.0-x86_64-unknown-linux-gnu.tar.gz",
          "offsite-packaging-0.2.0.tar.gz", "SHA256SUMS"]
# What the updater asks for (tauri-plugin-updater: `<os>-<arch>-<bundle>`, then `<os>-<arch>`).
EXPECTED = {
    "linux-x86_64": "Offsite_0.2.0_amd64.AppImage",
    "linux-x86_64-appimage": "Offsite_0.2.0_amd64.AppImage",
    "linux-x86_64-deb": "Offsite_0.2.0_amd64.deb",
    "linux-x86_64-rpm": "Offsite-0.2.0-1.x86_64.rpm",
    "darwin-aarch64": "Offsite_0.2.0_universal.app.tar.gz",
    "darwin-aarch64-app": "Offsite_0.2.0_universal.app.tar.gz",
    "darwin-x86_64": "Offsite_0.2.0_universal.app.tar.gz",
    "darwin-x86_64-app": "Offsite_0.2.0_universal.app.tar.gz",
    "windows-x86_64": "Offsite_0.2.0_x64-setup.exe",
    "windows-x86_64-msi": "Offsite_0.2.0_x64_en-US.msi",
    "windows-x86_64-nsis": "Offsite_0.2.0_x64-setup.exe",
}


class Key:
    """A minisign key pair as tauri makes them: `pubkey` is what tauri.conf.json holds."""

    def __init__(self, key_id=b"\x16\xa7\x8c\x0f\xa0\x0c\xa3\xdf"):
        self.private = Ed25519PrivateKey.generate()
        self.key_id = key_id
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        pub = (f"untrusted comment: minisign public key: {key_id[::-1].hex().upper()}\n"
               + base64.b64encode(b"Ed" + key_id + raw).decode() + "\n")
        self.pubkey = base64.b64encode(pub.encode()).decode()

    def sign(self, data, version=V, file="f", trusted=None):
        """The content of the `.sig` tauri writes for `data` signed for `version`."""
        sig = self.private.sign(hashlib.blake2b(data, digest_size=64).digest())
        if trusted is None:
            trusted = f"timestamp:1795879372\tfile:{file}"
            if version is not None:
                trusted += f"\tversion:{version}"
        glob = self.private.sign(sig + trusted.encode())
        text = ("untrusted comment: signature from tauri secret key\n"
                + base64.b64encode(b"ED" + self.key_id + sig).decode()
                + f"\ntrusted comment: {trusted}\n" + base64.b64encode(glob).decode() + "\n")
        return base64.b64encode(text.encode()).decode()


class Release:
    """A release folder with every updater package, its .sig, and other release files."""

    def __init__(self, key, names=ARTIFACTS, others=OTHERS):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self._tmp.name)
        self.key = key
        for name in names:
            self.add(name)
        for name in others:
            (self.dir / name).write_bytes(b"not an updater package")

    def add(self, name, version=V, sign=True):
        data = f"the bytes of {name}".encode()
        (self.dir / name).write_bytes(data)
        if sign:
            (self.dir / f"{name}.sig").write_text(self.key.sign(data, version, name))

    def build(self, **kw):
        return um.build(str(self.dir), V, BASE, **kw)

    def refused(self, *expected, **kw):
        """build() refuses; every `expected` text is in its message."""
        with self_test.assertRaises(um.Refused) as c:
            self.build(**kw)
        for text in expected:
            self_test.assertIn(text, str(c.exception))
        return str(c.exception)

    def cleanup(self):
        self._tmp.cleanup()


self_test = None


class Test(unittest.TestCase):
    def setUp(self):
        global self_test
        self_test = self
        self.key = Key()
        self.r = Release(self.key)
        self.addCleanup(self.r.cleanup)

    def run_main(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = um.main(["--dir", str(self.r.dir), "--version", V, "--base-url", BASE, *args])
        return code, out.getvalue(), err.getvalue()

    def test_every_key_the_updater_looks_up_is_in_the_manifest(self):
        m = self.r.build(pubkey=um.parse_pubkey(self.key.pubkey))
        self.assertEqual(m["version"], V)
        self.assertEqual(set(m["platforms"]), set(EXPECTED))
        for key, name in EXPECTED.items():
            entry = m["platforms"][key]
            self.assertEqual(entry["url"], f"{BASE}/{name}", key)
            self.assertEqual(entry["signature"], (self.r.dir / f"{name}.sig").read_text().strip())
        # The updater's own key list (docs and code agree on it).
        self.assertEqual(sorted(um.ALL_KEYS), sorted(EXPECTED))

    def test_written_as_json_with_notes_and_date(self):
        notes = self.r.dir.parent / f"{self.r.dir.name}-notes.md"
        notes.write_text("Restores are faster.\n")
        self.addCleanup(notes.unlink)
        out = self.r.dir.parent / f"{self.r.dir.name}-latest.json"
        self.addCleanup(lambda: out.unlink(missing_ok=True))
        code, _, err = self.run_main("--notes-file", str(notes), "--pub-date",
                                     "2026-12-01T10:00:00Z", "--out", str(out),
                                     "--pubkey", self.key.pubkey)
        self.assertEqual(code, 0, err)
        m = json.loads(out.read_text())
        self.assertEqual(m["notes"], "Restores are faster.\n")
        self.assertEqual(m["pub_date"], "2026-12-01T10:00:00Z")
        self.assertEqual(len(m["platforms"]), len(EXPECTED))

    def test_the_script_refuses_with_a_non_zero_status(self):
        (self.r.dir / "Offsite_0.2.0_amd64.deb.sig").unlink()
        p = subprocess.run([sys.executable, str(SCRIPT), "--dir", str(self.r.dir), "--version", V,
                            "--base-url", BASE], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertIn("Offsite_0.2.0_amd64.deb: no signature", p.stderr)

    def test_an_artifact_without_its_signature(self):
        (self.r.dir / "Offsite_0.2.0_x64_en-US.msi.sig").unlink()
        self.r.refused("Offsite_0.2.0_x64_en-US.msi: no signature", "no artifact for windows-x86_64-msi")

    def test_a_signature_without_its_artifact(self):
        (self.r.dir / "Offsite_0.2.0_amd64.AppImage").unlink()
        self.r.refused("Offsite_0.2.0_amd64.AppImage.sig: a signature without its artifact")
        (self.r.dir / "notes.txt.sig").write_text("x")
        (self.r.dir / "notes.txt").write_text("x")
        self.r.refused("notes.txt.sig: a signature of a file that is no updater package")

    def test_broken_signatures(self):
        deb = self.r.dir / "Offsite_0.2.0_amd64.deb.sig"
        good = deb.read_text()
        raw = base64.b64decode(good).decode()
        cases = {
            "empty": ("", "empty"),
            "too big": ("A" * 5000, "larger than 4096 bytes"),
            "not base64": ("this is; not base64!", "not base64"),
            "base64 of junk": (base64.b64encode(b"\xff\xfe junk").decode(), "not a minisign signature (not UTF-8)"),
            "three lines": (base64.b64encode("\n".join(raw.split("\n")[:3]).encode()).decode(),
                            "not a minisign signature (expected 4 lines"),
            "short signature": (base64.b64encode(raw.replace(raw.split("\n")[1], "RUQ=").encode())
                                .decode(), "not an Ed25519 minisign signature"),
        }
        for what, (content, expected) in cases.items():
            with self.subTest(what):
                deb.write_text(content)
                self.r.refused(f"Offsite_0.2.0_amd64.deb.sig: {expected}")

    def test_a_signature_of_another_version_or_of_none(self):
        self.r.add("Offsite_0.2.0_amd64.deb", version="0.1.9")
        self.r.refused("Offsite_0.2.0_amd64.deb.sig: signed for version 0.1.9, the release is 0.2.0")
        self.r.add("Offsite_0.2.0_amd64.deb", version=None)
        self.r.refused("Offsite_0.2.0_amd64.deb.sig: signed without a version")

    def test_a_file_named_for_another_version(self):
        self.r.add("Offsite_0.1.9_x64-setup.exe")
        self.r.refused("Offsite_0.1.9_x64-setup.exe: named for version 0.1.9, the release is 0.2.0")

    def test_a_package_name_this_release_does_not_make(self):
        for name in ["Offsite_0.2.0_arm64.deb", "evil.exe", "Offsite_0.2.0_aarch64.app.tar.gz"]:
            with self.subTest(name):
                self.r.add(name)
                self.r.refused(f"{name}: not a package name this release makes")
                (self.r.dir / name).unlink()
                (self.r.dir / f"{name}.sig").unlink()

    def test_a_missing_platform_unless_allowed(self):
        for name in ["Offsite_0.2.0_universal.app.tar.gz"]:
            (self.r.dir / name).unlink()
            (self.r.dir / f"{name}.sig").unlink()
        darwin = ["darwin-aarch64-app", "darwin-aarch64", "darwin-x86_64-app", "darwin-x86_64"]
        msg = self.r.refused("no artifact for " + ", ".join(darwin))
        self.assertNotIn("linux", msg)
        m = self.r.build(allow_missing=darwin)
        self.assertEqual(set(m["platforms"]), set(EXPECTED) - set(darwin))
        # Allowing only some of them is not enough.
        self.r.refused("no artifact for darwin-x86_64-app, darwin-x86_64", allow_missing=darwin[:2])
        self.r.refused("--allow-missing darwin-arm64: not a platform key",
                       allow_missing=["darwin-arm64"])

    def test_odd_file_names_links_and_folders(self):
        bad = ["Offsite 0.2.0.deb", ".hidden", "-rf", "Offsite_0.2.0_amd64.deb\n",
               "naïve.msi", "a..b"]
        for name in bad:
            with self.subTest(name):
                (self.r.dir / name).write_bytes(b"x")
                self.r.refused(f"{ascii(name)}: not a plain release file name")
                (self.r.dir / name).unlink()
        os.symlink("/etc/passwd", self.r.dir / "link.deb")
        self.r.refused("'link.deb': not a regular file")
        (self.r.dir / "link.deb").unlink()
        (self.r.dir / "sub").mkdir()
        self.r.refused("'sub': not a regular file")

    def test_a_folder_with_too_many_entries(self):
        for i in range(um.MAX_ENTRIES):
            (self.r.dir / f"junk-{i}").write_bytes(b"")
        self.r.refused(f"more than {um.MAX_ENTRIES} entries")

    def test_a_signature_linked_elsewhere_is_refused(self):
        sig = self.r.dir / "Offsite_0.2.0_amd64.deb.sig"
        target = self.r.dir.parent / f"{self.r.dir.name}-elsewhere.sig"
        target.write_text(sig.read_text())
        self.addCleanup(target.unlink)
        sig.unlink()
        os.symlink(target, sig)
        self.r.refused("'Offsite_0.2.0_amd64.deb.sig': not a regular file")

    def test_verified_against_the_release_key(self):
        other = Key(key_id=b"\x01" * 8)
        # Another key's signature (the same key id, so only the cryptography can tell).
        imposter = Key()
        data = (self.r.dir / "Offsite_0.2.0_amd64.deb").read_bytes()
        (self.r.dir / "Offsite_0.2.0_amd64.deb.sig").write_text(imposter.sign(data))
        pub = um.parse_pubkey(self.key.pubkey)
        self.r.refused("Offsite_0.2.0_amd64.deb.sig: the signature does not verify", pubkey=pub)
        # A tampered package.
        self.r.add("Offsite_0.2.0_amd64.deb")
        with open(self.r.dir / "Offsite_0.2.0_x64-setup.exe", "ab") as f:
            f.write(b"!")
        self.r.refused("Offsite_0.2.0_x64-setup.exe.sig: the signature does not verify", pubkey=pub)
        self.r.add("Offsite_0.2.0_x64-setup.exe")
        # A trusted comment changed after signing (another version claimed).
        text = base64.b64decode(self.key.sign(data, "0.1.0")).decode().replace("0.1.0", V)
        (self.r.dir / "Offsite_0.2.0_amd64.deb.sig").write_text(base64.b64encode(text.encode()).decode())
        self.r.refused("Offsite_0.2.0_amd64.deb.sig: the signature does not verify", pubkey=pub)
        self.r.add("Offsite_0.2.0_amd64.deb")
        # Another key id.
        (self.r.dir / "Offsite_0.2.0_amd64.deb.sig").write_text(other.sign(data))
        self.r.refused("signed by key 0101010101010101, not the release key DFA30CA00F8CA716",
                       pubkey=pub)
        # Without a key, two keys in one release are still refused.
        self.r.refused("the signatures come from different keys")
        self.r.add("Offsite_0.2.0_amd64.deb")
        self.r.build(pubkey=pub)

    def test_the_committed_placeholder_key_is_refused(self):
        code, out, err = self.run_main("--pubkey-from", str(ROOT / "tauri.conf.json"))
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertIn("placeholder", err)

    def test_version_and_base_url(self):
        self.assertEqual(um.build(str(self.r.dir), "v0.2.0", BASE)["version"], V)
        for url in ["http://releases.example/x", "https://x/a b", "https://x/\"", "file:///tmp"]:
            with self.subTest(url), self.assertRaises(um.Refused):
                um.build(str(self.r.dir), V, url)
        with self.assertRaises(um.Refused):
            um.build(str(self.r.dir), "../0.2.0", BASE)

    def test_signatures_of_the_real_tauri_cli(self):
        cli = os.environ.get("OFFSITE_TAURI_CLI") or str(ROOT / "ui/node_modules/.bin/tauri")
        self.assertTrue(os.path.exists(cli), f"{cli} is missing: run `npm --prefix ui ci` "
                        "(or set OFFSITE_TAURI_CLI)")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAURI_SIGNING_")}
        keyfile = self.r.dir.parent / f"{self.r.dir.name}-release.key"
        self.addCleanup(lambda: [p.unlink(missing_ok=True)
                                 for p in (keyfile, pathlib.Path(f"{keyfile}.pub"))])
        run = lambda *a: subprocess.run([cli, "signer", *a], env=env, check=True,
                                        capture_output=True)
        run("generate", "--ci", "-p", "pw", "-w", str(keyfile))
        # Two packages (each signature costs the CLI a key derivation: ~1 s); the others left out.
        signed = ["Offsite_0.2.0_amd64.deb", "Offsite_0.2.0_universal.app.tar.gz"]
        for name in ARTIFACTS:
            if name in signed:
                run("sign", "-f", str(keyfile), "-p", "pw", "--app-version", V,
                    str(self.r.dir / name))
            else:
                (self.r.dir / name).unlink()
                (self.r.dir / f"{name}.sig").unlink()
        rest = [k for k, name in EXPECTED.items() if name not in signed]
        pub = um.parse_pubkey(pathlib.Path(f"{keyfile}.pub").read_text())
        m = self.r.build(pubkey=pub, allow_missing=rest)
        self.assertEqual(set(m["platforms"]), set(EXPECTED) - set(rest))
        self.assertEqual(len(m["platforms"]), 5)
        # …and still refused against another key or for another version.
        self.r.refused("not the release key", pubkey=um.parse_pubkey(self.key.pubkey),
                       allow_missing=rest)
        run("sign", "-f", str(keyfile), "-p", "pw", "--app-version", "0.1.0",
            str(self.r.dir / "Offsite_0.2.0_amd64.deb"))
        self.r.refused("signed for version 0.1.0", pubkey=pub, allow_missing=rest)


if __name__ == "__main__":
    unittest.main()
