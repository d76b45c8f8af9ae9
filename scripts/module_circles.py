#!/usr/bin/env python3
"""Finds import circles between the modules of each crate in the workspace.

A module is a source file (`flows/login.rs` is `flows::login`, a `mod.rs`
or `lib.rs` is its folder's module). Module A depends on module B when A's
production code (everything before its first `#[cfg(test)]`) names
`crate::B…`, `super::…` or, in a module with children, one of them. Two
modules that reach each other through such names form a circle, and a
circle is a place where no module can be read, tested or moved alone.

Usage: module_circles.py [--max-file-lines N] [CRATE_SRC ...]
Prints every circle (a strongly connected set of two or more modules) and
exits 1 when there is one; 0 when there is none.
"""

import os
import re
import sys

NAME = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
SUBMOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", re.M)


def modules(src):
    """Every module of a crate's source folder: {path tuple: file}."""
    found = {}
    for folder, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(folder, f), src)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            if parts and parts[0] == "bin":
                continue
            found[tuple(parts)] = os.path.join(folder, f)
    return found


def production(text):
    """The file up to its first test module."""
    cut = re.search(r"^\s*#\[cfg\(test\)\]", text, re.M)
    return text[: cut.start()] if cut else text


def resolve(mods, base):
    """The longest known module that `base` (a path tuple) starts with."""
    for n in range(len(base), -1, -1):
        if tuple(base[:n]) in mods:
            return tuple(base[:n])
    return ()


DEFINED = re.compile(
    r"^pub\s+(?:async\s+)?(?:struct|enum|trait|type|fn|const|static|mod)\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.M,
)
REEXPORT = re.compile(r"^\s*pub(?:\([^)]*\))?\s+use\s+([^;]+);", re.M)


def reexports(mods):
    """Names a module re-exports (`pub use a::B;`, `pub use a::{B, C};`),
    each with the path it comes from, so a name reached through a facade
    counts as a use of the module that defines it."""
    table = {}
    for m, path in mods.items():
        text = production(open(path, encoding="utf-8").read())
        for tree in REEXPORT.findall(text):
            tree = " ".join(tree.split())
            head, _, group = tree.partition("::{")
            if group:
                names = [n.strip() for n in group.rstrip("}").split(",") if n.strip()]
                prefix = head
            else:
                prefix, _, last = tree.rpartition("::")
                names = [last]
            segs = [p for p in prefix.split("::") if p]
            if segs and segs[0] == "crate":
                base = segs[1:]
            elif segs and segs[0] == "self":
                base = list(m) + segs[1:]
            else:
                base = list(m) + segs
            for n in names:
                n = n.split(" as ")[-1].strip()
                if n == "*":
                    # A glob: each public item the source module defines.
                    source = resolve(mods, base)
                    if source in mods:
                        body = production(open(mods[source], encoding="utf-8").read())
                        for item in DEFINED.findall(body):
                            table.setdefault((m, item), source)
                else:
                    table[(m, n)] = tuple(base)
    return table


def graph(mods):
    exported = reexports(mods)
    edges = {m: set() for m in mods}
    for m, path in mods.items():
        text = production(open(path, encoding="utf-8").read())
        text = re.sub(r"//[^\n]*", "", text)
        children = set(SUBMOD.findall(text))
        for root, rest in NAME.findall(text):
            segs = rest.strip(":").split("::")
            if root == "crate":
                base = segs
            elif root == "super":
                # super::super::x climbs once per super.
                up = 1
                while segs and segs[0] == "super":
                    up += 1
                    segs = segs[1:]
                base = list(m[: max(len(m) - up, 0)]) + segs
            else:
                base = list(m) + segs
            target = resolve(mods, base)
            rest_segs = list(base[len(target):])
            if rest_segs and (target, rest_segs[0]) in exported:
                target = resolve(mods, list(exported[(target, rest_segs[0])]))
            if target != m:
                edges[m].add(target)
        # A parent naming a child module's items directly (`login::Kind`).
        for child in children:
            if re.search(r"(?<![A-Za-z0-9_:])" + child + r"::", text):
                edges[m].add(m + (child,))
    return edges


def circles(edges):
    """Tarjan's strongly connected components of two or more modules."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def name(m):
    return "::".join(m) or "crate"


def main(argv):
    srcs = [a for a in argv if not a.startswith("--")]
    failed = False
    for src in srcs:
        mods = modules(src)
        edges = graph(mods)
        for comp in circles(edges):
            failed = True
            members = set(comp)
            print(f"{src}: a circle of {len(comp)} modules:")
            for m in comp:
                inside = sorted(name(t) for t in edges[m] if t in members)
                print(f"  {name(m)} -> {', '.join(inside)}")
    if failed:
        print("module_circles: cut each circle (a module that both uses and is used by another)")
        return 1
    print(f"module_circles: no import circle in {', '.join(srcs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
