#!/usr/bin/env python3
"""Fails when folders of a source tree include each other in a cycle.

    check_include_cycles.py [--allow FILE] ROOT...

Each ROOT (e.g. proxy, control) is also its own include directory: a line
`#include "X/y.hpp"` in a file under ROOT names ROOT/X/y.hpp when that file
exists (otherwise the path is tried relative to the including file; includes
that resolve to neither, such as common/ or generated headers, are outside
the graph). A node is the folder holding a file; a file at the top of ROOT
(a main.cpp, a header shared by all folders) is a node of its own, named by
its path without suffix, so a main including every folder and a folder
including a top-level header do not make a cycle. An edge A -> B means some file in A includes a file in B. Any strongly
connected set of two or more folders is a cycle: it is reported with one
include line per edge, and the exit status is 1.

--allow FILE lists folder pairs ("proxy/runtime proxy/session", one pair a
line, '#' starts a comment) whose mutual includes are known and tolerated:
the two folders of a pair count as one node ("proxy/runtime+proxy/session"),
so a longer cycle through them and a third folder still fails.
"""
import argparse
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SOURCE_SUFFIXES = (".hpp", ".cpp", ".h", ".hh", ".cc", ".ipp")


def read_allowed(path):
    pairs = set()
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2:
                sys.exit(f"{path}:{number}: expected two folders, got {line!r}")
            pairs.add(frozenset(p.rstrip("/") for p in parts))
    return pairs


def node_of(base, root, path):
    folder = os.path.relpath(os.path.dirname(path), base)
    if folder == os.path.normpath(root):
        return os.path.splitext(os.path.relpath(path, base))[0]
    return folder


def folder_graph(base, roots):
    """Edges {(a, b): 'file:line: #include "..."'} between folders (paths relative to base)."""
    edges = {}
    for root in roots:
        root_dir = os.path.join(base, root)
        if not os.path.isdir(root_dir):
            sys.exit(f"check_include_cycles: no folder {root_dir}")
        for dirpath, _, files in os.walk(root_dir):
            for name in sorted(files):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.join(dirpath, name)
                source_node = node_of(base, root, path)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = None
                        for candidate in (os.path.join(root_dir, m.group(1)), os.path.join(dirpath, m.group(1))):
                            if os.path.isfile(candidate):
                                target = node_of(base, root, os.path.normpath(candidate))
                                break
                        if target is None or target == source_node:
                            continue
                        edges.setdefault((source_node, target),
                                         f"{os.path.relpath(path, base)}:{number}: {line.strip()}")
    return edges


def strongly_connected(nodes, succ):
    """Tarjan's algorithm, iterative; returns the components of two or more nodes."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = 0
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(succ.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(succ.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    result.append(sorted(component))
    return result


def one_cycle(component, succ):
    """A closed path through the component's first folder (breadth-first: a shortest one)."""
    members = set(component)
    start = component[0]
    parent = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(succ.get(node, ())):
            if child not in members:
                continue
            if child == start:
                path = [node]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                path.reverse()
                return path + [start]
            if child not in parent:
                parent[child] = node
                queue.append(child)
    return [start, start]


def main():
    parser = argparse.ArgumentParser(description="Fail on folder-level #include cycles.")
    parser.add_argument("--base", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                        help="the source tree (default: this script's repository)")
    parser.add_argument("--allow", help="file of tolerated folder pairs")
    parser.add_argument("roots", nargs="+", help="top folders to check, relative to --base (e.g. proxy control)")
    args = parser.parse_args()

    allowed = read_allowed(args.allow) if args.allow else set()
    folder_edges = folder_graph(os.path.abspath(args.base), args.roots)

    # Each allowed pair becomes one node (pairs sharing a folder merge further).
    group = {}
    def merged(node):
        while group.get(node, node) != node:
            node = group[node]
        return node
    for pair in allowed:
        a, b = sorted(pair)
        ra, rb = merged(a), merged(b)
        if ra != rb:
            group[max(ra, rb)] = min(ra, rb)
    members = {}
    for node in {n for edge in folder_edges for n in edge} | {n for pair in allowed for n in pair}:
        members.setdefault(merged(node), []).append(node)
    name = {root: "+".join(sorted(nodes)) for root, nodes in members.items()}

    edges, succ, nodes = {}, {}, set()
    for (a, b), example in sorted(folder_edges.items()):
        na, nb = name[merged(a)], name[merged(b)]
        nodes.update((na, nb))
        if na == nb:
            continue
        edges.setdefault((na, nb), f"{example}   ({a} -> {b})" if "+" in na + nb else example)
        succ.setdefault(na, set()).add(nb)

    components = strongly_connected(nodes, succ)
    for component in components:
        print(f"include cycle between folders: {', '.join(component)}")
        path = one_cycle(component, succ)
        for a, b in zip(path, path[1:]):
            print(f"  {a} -> {b}   {edges[(a, b)]}")
    for pair in sorted(sorted(p) for p in allowed):
        a, b = pair
        if (a, b) not in folder_edges or (b, a) not in folder_edges:
            print(f"note: allowed pair {a} {b} no longer include each other: remove the pair")
    if components:
        return 1
    print(f"no include cycles between the folders of {', '.join(args.roots)} "
          f"({len(nodes)} nodes, {sum(len(s) for s in succ.values())} edges checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
