#!/usr/bin/env python3
"""Builds the workspace's test binaries once, then runs them several at a time.

`cargo test` runs its test binaries one after another. This runs up to --jobs binaries at once (the known long ones first), each in its
package's folder as cargo would, prints each binary's whole output when it ends (never
interleaved), then runs the doc tests through cargo. Every binary runs, whatever failed before
it (like --no-fail-fast); the exit status is non-zero when any failed.

  test_binaries.py build [cargo options]         build (cargo test --no-run), list binaries in LIST,
                                                 the workspace's warnings in LINTS
  test_binaries.py lints                         print LINTS; exit 1 when it holds any
  test_binaries.py run --jobs N [--no-doc] [cargo options] [-- test args]
                                                 run the listed binaries, then the doc tests

LIST is $OFFSITE_TEST_LIST (default target/ci-test-binaries.json), LINTS the same name with
-lints.txt. With RUSTC_WORKSPACE_WRAPPER=clippy-driver (as .ci/test sets it) the build is also
clippy's run over every target of every workspace crate: its warnings are the lints. Cargo options (e.g.
--workspace --features …) must be the same in both calls so that the doc tests do not rebuild.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

# Binaries measured to run longest (docs/development.md): started first so none ends the run alone.
LONG_FIRST = ["engine", "pitr", "remote", "ctrl_c", "agent", "destinations"]
# Binaries split into this many processes (their tests dealt out in turn): the engine's binary
# alone ran 340 s of a 757 s run.
SHARDS = {"engine": 3}
# Binaries whose tests named with one of these prefixes run in a process of their own (its own
# shared PostgreSQL cluster), beside the rest: the agent's point-in-time tests take a third of its
# time (docs/development.md). (The split first hid a bug since fixed: a capture dropping its slot
# dropped every inactive slot on the server.)
APART = {"agent": ["pitr"]}


def log(msg):
    print(f"test_binaries: {msg}", file=sys.stderr, flush=True)


def list_path():
    return os.environ.get("OFFSITE_TEST_LIST", os.path.join("target", "ci-test-binaries.json"))


def lints_path():
    return os.path.splitext(list_path())[0] + "-lints.txt"


def build(cargo_args):
    cmd = ["cargo", "test", *cargo_args, "--no-run", "--message-format=json-diagnostic-rendered-ansi"]
    log("$ " + " ".join(cmd))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    binaries = []
    lints = []
    for line in proc.stdout:
        try:
            msg = json.loads(line)
        except ValueError:
            sys.stdout.write(line)
            continue
        if msg.get("reason") == "compiler-message":
            rendered = msg["message"].get("rendered") or ""
            sys.stderr.write(rendered)
            # The workspace's own crates (path packages), not a dependency's
            if msg["package_id"].startswith("path+") and msg["message"]["level"] in ("warning", "error"):
                lints.append(strip_ansi(rendered))
            continue
        if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
            continue
        if not msg["profile"]["test"]:
            continue
        target = msg["target"]
        binaries.append({
            "name": target["name"],
            "kind": target["kind"][0],
            "package": msg["package_id"],
            "cwd": os.path.dirname(msg["manifest_path"]),
            "exe": msg["executable"],
        })
    status = proc.wait()
    # Warnings are deduplicated: the same one comes from a lib and its test build
    unique = list(dict.fromkeys(lints))
    with open(lints_path(), "w") as f:
        f.write("".join(unique))
    if unique:
        log(f"{len(unique)} warnings in the workspace's crates (listed in {lints_path()})")
    if status != 0:
        log(f"the build failed (exit {status})")
        return status
    with open(list_path(), "w") as f:
        json.dump(binaries, f, indent=1)
    log(f"{len(binaries)} test binaries listed in {list_path()}")
    return 0


def strip_ansi(text):
    import re
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def lints():
    if not os.path.exists(lints_path()):
        log(f"{lints_path()} is missing: run the build first")
        return 1
    with open(lints_path()) as f:
        text = f.read()
    if not text:
        log("no warning in the workspace's crates")
        return 0
    sys.stdout.write(text)
    log("FAILED: the workspace's crates have the warnings above (clippy and rustc, every target)")
    return 1


def order(binaries):
    def key(b):
        name = b["name"]
        return (LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST), name)
    return sorted(binaries, key=key)


def shard(binaries, test_args):
    """Binaries as jobs: a sharded one becomes several, each given its share of the test names
    its --list prints (with the same filters), run with --exact."""
    jobs = []
    for b in binaries:
        n = SHARDS.get(b["name"], 1)
        apart = APART.get(b["name"], [])
        if n == 1 and not apart:
            jobs.append(dict(b, args=list(test_args), part=""))
            continue
        listed = subprocess.run([b["exe"], "--list", "--format", "terse", *test_args],
                                cwd=b["cwd"], capture_output=True, text=True, check=True)
        names = [line[:-len(": test")] for line in listed.stdout.splitlines()
                 if line.endswith(": test")]
        options, it = [], iter(test_args)  # the filters are in the names; keep the rest
        for a in it:
            if a == "--skip":
                next(it, None)
            elif a.startswith("--"):
                options.append(a)
        if apart:
            alone = [t for t in names if any(t.startswith(p) for p in apart)]
            rest = [t for t in names if t not in alone]
            for part, mine in ((" (point in time)", alone), (" (the rest)", rest)):
                if mine:
                    jobs.append(dict(b, args=[*options, "--exact", *mine], part=part))
            continue
        for i in range(n):
            mine = names[i::n]
            if mine:
                jobs.append(dict(b, args=[*options, "--exact", *mine],
                                 part=f" part {i + 1} of {n}"))
    return jobs


def run_one(b, lock):
    test_args = b["args"]
    label = f"{b['name']}{b['part']} ({b['kind']}, {os.path.relpath(b['cwd'])})"
    t0 = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as out:
        # what cargo sets for a test it runs (tests read CARGO to run cargo themselves)
        env = dict(os.environ, CARGO_MANIFEST_DIR=b["cwd"], CARGO=os.environ.get("CARGO", "cargo"))
        status = subprocess.call([b["exe"], *test_args], cwd=b["cwd"], stdout=out, env=env,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.seek(0)
        text = out.read()
    secs = time.monotonic() - t0
    with lock:
        print(f"\n     Running {label}: {os.path.relpath(b['exe'])}", flush=True)
        sys.stdout.write(text)
        print(f"     {'ok' if status == 0 else 'FAILED'}: {label} in {secs:.1f} s", flush=True)
    return label, status, secs


def run(jobs, cargo_args, test_args, doc=True):
    with open(list_path()) as f:
        binaries = shard(order(json.load(f)), test_args)
    log(f"running {len(binaries)} test binaries (some in parts), {jobs} at a time")
    lock = threading.Lock()
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda b: run_one(b, lock), binaries))
    wall = time.monotonic() - t0
    busy = sum(r[2] for r in results)
    log(f"binaries: {wall:.0f} s wall, {busy:.0f} s summed over binaries")
    for label, _status, secs in sorted(results, key=lambda r: -r[2])[:10]:
        log(f"  longest: {label} {secs:.1f} s")
    doc_status = 0
    if doc:
        cmd = ["cargo", "test", *cargo_args, "--doc", "--", *test_args]
        log("$ " + " ".join(cmd))
        doc_status = subprocess.call(cmd)
    failed = [label for label, status, _ in results if status != 0]
    if doc_status != 0:
        failed.append("doc tests")
    for label in failed:
        log(f"FAILED: {label}")
    log(f"{len(results) + doc - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def main(argv):
    if argv[:1] == ["lints"]:
        return lints()
    if not argv or argv[0] not in ("build", "run"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, rest = argv[0], argv[1:]
    jobs, doc = 2, True
    if mode == "run" and rest[:1] == ["--jobs"]:
        jobs, rest = int(rest[1]), rest[2:]
    if mode == "run" and rest[:1] == ["--no-doc"]:
        doc, rest = False, rest[1:]
    if "--" in rest:
        cut = rest.index("--")
        cargo_args, test_args = rest[:cut], rest[cut + 1:]
    else:
        cargo_args, test_args = rest, []
    if mode == "build":
        return build(cargo_args)
    return run(jobs, cargo_args, test_args, doc)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
