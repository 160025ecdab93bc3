#!/usr/bin/env python3
"""Prints a crate's module import graph, from the `crate::`/`super::` paths of its non-test code
(re-exports in lib.rs resolved to their modules; doc comments ignored), and its import cycles.

Usage: module-cycles.py SRC_DIR [DEPTH]   (DEPTH 1: top-level modules; 2: cache/read, …)
Exits 1 when there is a cycle: CI runs it on both crates at depths 1 and 2.

Edges between a module and its own descendants are left out (a child naming its parent's
types, a parent re-exporting its child's, is how Rust modules nest): the cycles reported are
between siblings or across branches.
"""
import os, re, sys
root = sys.argv[1]  # e.g. asm-runtime/src
depth = int(sys.argv[2]) if len(sys.argv) > 2 else 1
def modpath(path):
    rel = os.path.relpath(path, root)[:-3]
    parts = rel.split(os.sep)
    if parts[-1] in ("lib", "main", "mod"): parts = parts[:-1]
    return parts
# Names lib.rs re-exports (`pub use module::{A, B}`), resolved to their modules.
reexport = {}
lib = open(os.path.join(root, "lib.rs")).read()
for m in re.finditer(r"pub use (\w+)(?:::\w+)*::(\{[^}]*\}|\w+)", lib):
    for name in re.findall(r"\w+", m.group(2)):
        reexport[name] = m.group(1)
edges = {}


def expand(rest):
    """The paths a `use` tail names: `a::b`, or each element of `{a, b::{c, d}}`."""
    rest = rest.strip()
    if not rest.startswith("{"):
        return [rest.split("::")]
    inner, depth_, item, items = rest[1:-1], 0, "", []
    for ch in inner:
        if ch == "," and depth_ == 0:
            items.append(item); item = ""; continue
        depth_ += ch == "{"; depth_ -= ch == "}"
        item += ch
    items.append(item)
    out = []
    for it in (i.strip() for i in items if i.strip()):
        head, sep, tail = it.partition("::{")
        if sep:
            out += [head.split("::") + p for p in expand("{" + tail)]
        else:
            out.append(it.split(" as ")[0].strip().split("::"))
    return out


def resolve(base, path):
    """The module `base::path` lands in: its longest prefix that is a module file, the
    re-exporting module for a name lib.rs re-exports, or `base` itself for an item of it."""
    t = list(base)
    for seg in path:
        if seg in ("self", "*", ""):
            break
        cand = os.path.join(root, *t, seg)
        if os.path.exists(cand + ".rs") or os.path.isdir(cand):
            t.append(seg)
        else:
            break
    if t == list(base) and not base and path and path[0] in reexport:
        t = [reexport[path[0]]]
    if not t:
        return None
    return t
for dp, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith(".rs"): continue
        p = os.path.join(dp, f)
        mp = modpath(p)
        if not mp or "tests" in mp or mp[-1] in ("proptests", "testing", "tests"): continue
        src = open(p).read()
        src = re.split(r"#\[cfg\(test\)\]\s*mod tests", src)[0]
        src = re.sub(r"//.*", "", src)  # doc links are not imports
        me = tuple(mp[:depth])
        for m in re.finditer(r"\b((?:crate|super)(?:::super)*)::(\{[^;]*?\}|[\w:]+)", src):
            head, rest = m.group(1), m.group(2)
            if head == "crate":
                base = []
            else:
                n = head.count("super")
                base = mp[:-n] if n <= len(mp) else []
            for path in expand(rest):
                t = resolve(base, path)
                if t is None:
                    continue
                t = tuple(t[:depth])
                if t and t != me and t[:len(me)] != me and me[:len(t)] != t:
                    edges.setdefault(me, set()).add(t)
nodes = sorted(set(edges) | {t for v in edges.values() for t in v})
for n in nodes:
    print("/".join(n), "->", ", ".join(sorted("/".join(t) for t in edges.get(n, ()))))
# cycles via SCC (Tarjan)
idx = {}; low = {}; st = []; on = set(); sccs = []; c = [0]
def sc(v):
    idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(comp)
sys.setrecursionlimit(10000)
for v in nodes:
    if v not in idx: sc(v)
print("cycles:", len(sccs))
for comp in sccs: print("  ", " <-> ".join(sorted("/".join(x) for x in comp)))
sys.exit(1 if sccs else 0)
