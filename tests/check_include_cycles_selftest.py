#!/usr/bin/env python3
"""Proof that check_include_cycles.py fails on a cycle: runs it on small trees
made in a temporary folder and checks its exit status and report."""
import os
import subprocess
import sys
import tempfile

CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_include_cycles.py")
failures = []
checks = 0


def tree(base, files):
    for path, includes in files.items():
        full = os.path.join(base, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write("#pragma once\n")
            for include in includes:
                f.write(f'#include "{include}"\n')


def run(base, *args):
    result = subprocess.run([sys.executable, CHECK, "--base", base, *args], capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def expect(name, condition, output):
    global checks
    checks += 1
    if not condition:
        failures.append(f"{name}\n{output}")


with tempfile.TemporaryDirectory() as base:
    # Two folders including each other, one edge through a .cpp.
    tree(os.path.join(base, "two"), {
        "app/a/x.hpp": ["b/y.hpp"],
        "app/b/y.hpp": ["<system>"],
        "app/b/y.cpp": ["b/y.hpp", "a/x.hpp"],
    })
    two = os.path.join(base, "two")
    rc, out = run(two, "app")
    expect("a two-folder cycle fails", rc == 1, out)
    expect("the cycle names both folders", "include cycle between folders: app/a, app/b" in out, out)
    expect("each edge has an example include",
           'app/a/x.hpp:2: #include "b/y.hpp"' in out and 'app/b/y.cpp:3: #include "a/x.hpp"' in out, out)

    # The same cycle, tolerated by an allow-list entry.
    allow = os.path.join(base, "allowed.txt")
    with open(allow, "w", encoding="utf-8") as f:
        f.write("# known\napp/a app/b  # until the rework\n")
    rc, out = run(two, "--allow", allow, "app")
    expect("an allowed pair passes", rc == 0, out)

    # A three-folder cycle is reported as a path through all three.
    tree(os.path.join(base, "three"), {
        "app/a/x.hpp": ["b/y.hpp"],
        "app/b/y.hpp": ["c/z.hpp"],
        "app/c/z.hpp": ["a/x.hpp"],
    })
    rc, out = run(os.path.join(base, "three"), "app")
    expect("a three-folder cycle fails", rc == 1, out)
    expect("the three-folder path is reported",
           "app/a -> app/b" in out and "app/b -> app/c" in out and "app/c -> app/a" in out, out)
    # ... and an allow-list pair does not hide a cycle through other folders.
    with open(allow, "w", encoding="utf-8") as f:
        f.write("app/a app/b\n")
    rc, out = run(os.path.join(base, "three"), "--allow", allow, "app")
    expect("a pair of a longer cycle does not hide it", rc == 1, out)

    # Layers without a cycle pass: a main including every folder, folders
    # including a header at the top, a relative include, unresolvable ones.
    tree(os.path.join(base, "layers"), {
        "app/main.cpp": ["a/x.hpp", "b/y.hpp"],
        "app/status.hpp": [],
        "app/a/x.hpp": ["b/y.hpp", "status.hpp", "config/model.hpp"],
        "app/b/y.hpp": ["status.hpp", "../b/w.hpp"],
        "app/b/w.hpp": [],
    })
    rc, out = run(os.path.join(base, "layers"), "app")
    expect("layers without a cycle pass", rc == 0, out)

    # A relative include that closes a cycle is found too.
    tree(os.path.join(base, "relative"), {
        "app/a/x.hpp": ["b/y.hpp"],
        "app/b/y.hpp": ["../a/x.hpp"],
    })
    rc, out = run(os.path.join(base, "relative"), "app")
    expect("a relative include's cycle fails", rc == 1, out)

if failures:
    print("check_include_cycles.py self-test failed:")
    for failure in failures:
        print(" -", failure)
    sys.exit(1)
print(f"check_include_cycles.py self-test: {checks} checks passed")
