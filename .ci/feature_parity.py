#!/usr/bin/env python3
"""Checks that `cargo install --path crates/cli` resolves every dependency with the features the
test build (`cargo test --workspace --features offsite-desktop/custom-protocol`) gives it, so the
install reuses what the tests built instead of compiling most of the tree again (~180 s).

Compares `cargo tree` (no compilation: a second or two) of the two builds, package by package: a
package whose feature sets differ is printed with both, and the fix is a line in
crates/workspace-hack/Cargo.toml (the dependency with the workspace's features; under
[build-dependencies] when it is a build script's or a macro's dependency). Exit 1 when any differs.
"""
import collections
import subprocess
import sys

FEATURES = ["--features", "offsite-desktop/custom-protocol"]


def tree(args):
    out = subprocess.run(["cargo", "tree", "--locked", "--prefix", "none", "--no-dedupe",
                          "-f", "{p}|{f}", *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"feature parity: cargo tree {' '.join(args)} failed:\n{out.stderr}")
    sets = collections.defaultdict(set)
    for line in out.stdout.splitlines():
        if "|" not in line:
            continue
        pkg, feats = line.split("|", 1)
        pkg = pkg.replace(" (*)", "").strip()
        name_version = " ".join(pkg.split()[:2])
        sets[name_version].add(feats.strip())
    return sets


def main():
    # The test build: every member, dev-dependencies included (cargo test unifies them).
    workspace = tree(["--workspace", *FEATURES, "-e", "normal,build,dev"])
    # The install: the CLI alone, no dev-dependencies.
    cli = tree(["-p", "offsite-cli", "-e", "normal,build"])
    differ = []
    for pkg, sets in sorted(cli.items()):
        # Every feature set the install needs must be one the test build made.
        missing = sets - workspace.get(pkg, set())
        if missing:
            differ.append((pkg, sorted(missing), sorted(workspace.get(pkg, set()))))
    for pkg, mine, theirs in differ:
        print(f"{pkg}: the install builds it with {mine}; the test build with {theirs}")
    if differ:
        print(f"feature parity: {len(differ)} packages differ: `cargo install --path crates/cli` "
              "would compile them (and everything above them) again; add the test build's "
              "features to crates/workspace-hack/Cargo.toml", file=sys.stderr)
        return 1
    print(f"feature parity: the install's {len(cli)} packages all have the test build's features")
    return 0


if __name__ == "__main__":
    sys.exit(main())
