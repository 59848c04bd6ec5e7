#!/usr/bin/env python3
"""MSRV check of the dependencies: no crate that a user of `dsa` compiles may need a newer Rust
than `dsa`'s own `rust-version`.

Reads `cargo metadata` (the versions in Cargo.lock, every feature on, this machine's target)
and walks the library's normal and build dependencies, transitively; dev-dependencies are left
out (a user never builds them). A crate fails when its `rust-version` is above ours, or when it
is on edition 2024 (which needs Rust 1.85) while ours is older. Crates that declare no
`rust-version` on an older edition cannot be checked this way and are listed for information.

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
    meta = json.loads(
        subprocess.run(
            [
                "cargo", "metadata", "--format-version", "1", "--all-features",
                "--filter-platform", host_target(), "--locked",
            ],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    packages = {p["id"]: p for p in meta["packages"]}
    root_id = meta["resolve"]["root"]
    if root_id is None:
        # a virtual or multi-member workspace: take the package named dsa
        root_id = next(p["id"] for p in meta["packages"]
                       if p["name"] == "dsa" and p["source"] is None)
    root = packages[root_id]
    msrv = root.get("rust_version")
    if not msrv:
        sys.exit("dsa declares no rust-version")
    ours = version_tuple(msrv)

    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    seen, stack = set(), [root_id]
    while stack:
        node = nodes[stack.pop()]
        for dep in node["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if node["id"] == root_id and kinds <= {"dev"}:
                continue
            if dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])

    too_new, undeclared = [], []
    for pid in sorted(seen, key=lambda i: packages[i]["name"]):
        p = packages[pid]
        label = f'{p["name"]} {p["version"]}'
        rv = p.get("rust_version")
        if rv and version_tuple(rv) > ours:
            too_new.append(f"{label} needs Rust {rv}")
        elif p["edition"] == "2024" and ours < (1, 85, 0):
            too_new.append(f"{label} is on edition 2024 (Rust 1.85)")
        elif not rv:
            undeclared.append(label)

    print(f"dsa rust-version {msrv}: {len(seen)} crates in the library's dependency graph "
          f"(all features), {len(seen) - len(undeclared)} declare a rust-version")
    if undeclared:
        print("  no rust-version declared (edition <= 2021, not checked): "
              + ", ".join(undeclared))
    if too_new:
        print("  NEWER THAN OUR rust-version:\n    " + "\n    ".join(too_new))
        print("  Raise rust-version in Cargo.toml to the truth, or pin an older version "
              "(cargo update -p NAME --precise VERSION).")
        sys.exit(1)


def host_target():
    out = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout
    return next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("host: "))


if __name__ == "__main__":
    main()
