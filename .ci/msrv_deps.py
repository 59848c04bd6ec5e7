#!/usr/bin/env python3
"""MSRV check of the dependencies: no crate that a user of `dsa` compiles may need a newer Rust
than `dsa`'s own `rust-version`.

Takes the crates that a build of the library compiles (`cargo tree`: the versions in
Cargo.lock, every feature on, this machine's target; normal and build dependencies,
transitively; dev-dependencies are left out, a user never builds them) and reads each one's
`rust-version` and edition from `cargo metadata`. A crate fails when its `rust-version` is
above ours, or when it is on edition 2024 (which needs Rust 1.85) while ours is older. Crates
that declare no `rust-version` on an older edition cannot be checked this way and are listed
for information.

This is the part of an MSRV check that needs no second toolchain; clippy's `incompatible_msrv`
lint (on in `.ci/run`'s clippy step) checks our own code's use of the standard library.
"""

import json
import subprocess
import sys


def version_tuple(v):
    parts = [int(p) for p in v.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    meta = json.loads(run(["cargo", "metadata", "--format-version", "1", "--all-features",
                           "--locked"]))
    packages = {(p["name"], p["version"]): p for p in meta["packages"]}
    root = next(p for p in meta["packages"] if p["name"] == "dsa" and p["source"] is None)
    msrv = root.get("rust_version")
    if not msrv:
        sys.exit("dsa declares no rust-version")
    ours = version_tuple(msrv)

    # What a build of the library compiles: `cargo tree` applies the feature resolution
    # (metadata's resolve graph also lists optional dependencies that no feature turns on).
    tree = run([
        "cargo", "tree", "-p", "dsa", "--all-features", "-e", "normal,build", "--prefix", "none",
        "--format", "{p}", "--no-dedupe", "--locked", "--target", host_target(),
    ])
    seen = set()
    for line in tree.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith("v"):
            key = (parts[0], parts[1][1:])
            if key != (root["name"], root["version"]):
                seen.add(key)

    too_new, undeclared = [], []
    for key in sorted(seen):
        p = packages[key]
        label = f'{p["name"]} {p["version"]}'
        rv = p.get("rust_version")
        if rv and version_tuple(rv) > ours:
            too_new.append(f"{label} needs Rust {rv}")
        elif p["edition"] == "2024" and ours < (1, 85, 0):
            too_new.append(f"{label} is on edition 2024 (Rust 1.85)")
        elif not rv and p["edition"] != "2024":
            undeclared.append(label)

    print(f"dsa rust-version {msrv}: {len(seen)} crates in the library's dependency graph "
          f"(all features), {len(seen) - len(undeclared)} checked (a rust-version, or "
          f"edition 2024)")
    if undeclared:
        print("  no rust-version declared (edition <= 2021, not checked): "
              + ", ".join(undeclared))
    if too_new:
        print("  NEWER THAN OUR rust-version:\n    " + "\n    ".join(too_new))
        print("  Raise rust-version in Cargo.toml to the truth, or pin an older version "
              "(cargo update -p NAME --precise VERSION).")
        sys.exit(1)


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def host_target():
    out = run(["rustc", "-vV"])
    return next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("host: "))


if __name__ == "__main__":
    main()
