#!/usr/bin/env python3
"""Checks that `cargo install --path crates/cli` resolves every dependency with the features the
test build (`cargo test --workspace --features offsite-desktop/custom-protocol`) gives it, so the
install reuses what the tests built instead of compiling most of the tree again (~180 s).

Two comparisons, neither compiles anything (a few seconds):
1. `cargo tree`, package by package: a package whose feature sets differ is printed with both.
2. The exact one: cargo's unit graphs of the two builds (`--unit-graph`, read with
   RUSTC_BOOTSTRAP=1: the plan only). A unit is compiled again whenever its features, profile or
   any unit below it differ, so equal feature sets are not enough (a build script's `libc` without
   `extra_traits` rebuilt 120 units, ~80 s, while check 1 passed). Prints the units the install
   would compile and, for each lowest one, the dependency whose variant differs.
3. Host = target, in the test build: a crate compiled once for the macros and build scripts (the
   host) and once more for the code (the target) because the two sides ask for other features.
   Prints the line that gives both sides the union (for both sections of the hack's "host =
   target" block). Allowed twice: HOST_TARGET_ALLOWED, each with its reason.
The fix is a line in crates/workspace-hack/Cargo.toml (the dependency with the workspace's
features; under [build-dependencies] when it is a build script's or a macro's dependency).
Exit 1 when any differs.
"""
import json
import os
import collections
import subprocess
import sys

FEATURES = ["--features", "offsite-desktop/custom-protocol"]
# Compiled for host and target with other features, on purpose: giving the app's tauri-utils the
# build script's features would link the HTML toolchain (kuchikiki, html5ever) and swift-rs into
# the app for one unit saved.
HOST_TARGET_ALLOWED = {"tauri-utils"}


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
    return unit_graphs()


def unit_graph(args):
    env = dict(os.environ, RUSTC_BOOTSTRAP="1")
    out = subprocess.run(["cargo", *args, "--locked", "-Z", "unstable-options", "--unit-graph"],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"feature parity: cargo {' '.join(args)} --unit-graph failed:\n{out.stderr}")
    units = json.loads(out.stdout)["units"]
    memo = {}

    def key(i):
        if i not in memo:
            u = units[i]
            profile = {k: v for k, v in u["profile"].items() if k != "name"}  # dev/test: same flags
            memo[i] = hash((u["pkg_id"], u["target"]["name"], u["mode"], u.get("platform"),
                            tuple(sorted(u["features"])), json.dumps(profile, sort_keys=True),
                            tuple(sorted(key(d["index"]) for d in u["dependencies"]))))
        return memo[i]
    return units, [key(i) for i in range(len(units))]


def host_units(units):
    """Indexes of the units compiled for the host: macros, build scripts and what they use."""
    host = set()
    stack = [i for i, u in enumerate(units) if u["target"]["kind"][0] == "proc-macro"
             or (u["target"]["kind"][0] == "custom-build" and u["mode"] == "build")]
    while stack:
        i = stack.pop()
        if i not in host:
            host.add(i)
            stack.extend(d["index"] for d in units[i]["dependencies"])
    return host


def host_target(units):
    """Check 3: packages the test build compiles for both sides with other features."""
    host = host_units(units)
    sides = collections.defaultdict(lambda: ([], []))
    for i, u in enumerate(units):
        if u["mode"] != "build" or u["target"]["kind"][0] == "custom-build":
            continue
        pid = u["pkg_id"].split("#")[-1]
        sides[pid][0 if i in host else 1].append(set(u["features"]))
    names = collections.Counter(p.split("@")[0] for p in sides)
    lines = []
    for pid, (h, t) in sorted(sides.items()):
        name, version = pid.split("@")
        if not h or not t or name in HOST_TARGET_ALLOWED or name.startswith("offsite"):
            continue
        hu, tu = set.union(*h), set.union(*t)
        if hu == tu:
            continue
        req = ".".join(version.split(".")[:2]) if version.startswith("0.") else version.split(".")[0]
        key = name if names[name] == 1 else f"{name}-{req.replace('.', '_')}"
        package = f'package = "{name}", ' if key != name else ""
        feats = json.dumps(sorted(f for f in hu | tu if f != "default"))
        lines.append(f'{key} = {{ {package}version = "{req}", '
                     f'default-features = {str("default" in hu | tu).lower()}, features = {feats} }}')
        print(f"{pid}: the host's features {sorted(hu - tu)}, the target's {sorted(tu - hu)}")
    if lines:
        print("feature parity: these packages are compiled twice (host and target) with everything "
              "above them; add to both sections of crates/workspace-hack/Cargo.toml's host = target "
              "block:\n" + "\n".join(lines), file=sys.stderr)
        return 1
    print("feature parity: no package is compiled twice for want of a feature (host = target)")
    return 0


def unit_graphs():
    test, test_keys = unit_graph(["test", "--workspace", *FEATURES, "--no-run"])
    if host_target(test):
        return 1
    inst, inst_keys = unit_graph(["build", "-p", "offsite-cli", "--bin", "offsite"])
    built = set(test_keys)
    extra = [i for i, k in enumerate(inst_keys) if k not in built]
    if not extra:
        print(f"feature parity: every one of the install's {len(inst)} units is one the test build "
              "compiles (cargo's unit graphs)")
        return 0
    name = lambda u: u["pkg_id"].split("#")[-1]
    for i in extra:
        u = inst[i]
        if all(inst_keys[d["index"]] in built for d in u["dependencies"]):
            deps = {name(inst[d["index"]]): sorted(inst[d["index"]]["features"]) for d in u["dependencies"]}
            print(f"{name(u)} ({u['target']['name']}, features {sorted(u['features'])}): "
                  f"its variant differs from the test build's; its dependencies here: {deps}")
    print(f"feature parity: the install would compile {len(extra)} units the test build does not "
          f"({', '.join(sorted({name(inst[i]) for i in extra}))}); fix the lowest ones above in "
          "crates/workspace-hack/Cargo.toml", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
