#!/usr/bin/env python3
"""Lists import circles between the source files of each crate of the workspace.

A file *imports* another when it names an item defined there: in a `use` (re-exports followed
to where the item is defined) or in a path written inline (`crate::a::b`, `super::x`,
`store::f()` where `store` is a module in scope). Two files that import each other, directly or
through a longer ring, form a circle; so does a submodule that uses an item its parent
`mod.rs` defines while the parent uses the submodule. Declaring a module (`mod x;`) is not an
import.

Usage: scripts/import-cycles.py [--explain] [--allow GLOB ...]
  Prints each circle (a strongly connected component of the file graph) and exits 1 when one
  is not allowed. The allowed ones are those whose files all match one --allow glob, or
  equal a set given as --allow 'a.rs|b.rs'. --explain names, for each edge of a circle that is
  not allowed, the paths that make it.

It reads Rust as text (no macro expansion), which is enough for this codebase's style: one
`use` per line or brace tree, modules declared with `mod name;`.
"""

import fnmatch
import os
import re
import subprocess
import sys
from collections import defaultdict

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

ITEM = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+|const\s+|unsafe\s+|extern\s+\"C\"\s+)*"
    r"(fn|struct|enum|trait|type|const|static|union|mod|macro_rules!)\s+([A-Za-z_][A-Za-z0-9_]*)"
)
MOD_DECL = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;")
PATH_ATTR = re.compile(r'#\[path\s*=\s*"([^"]+)"\]')
USE = re.compile(r"^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M | re.S)
INLINE = re.compile(r"(?<![A-Za-z0-9_:])((?:crate|super|self|[a-z_][a-z0-9_]*)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    # Strings can hold `::` too (SQL, messages); blank them out.
    text = re.sub(r'r#+".*?"#+', '""', text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text, flags=re.S)
    return text


def strip_test_modules(text):
    """Drops `#[cfg(test)] mod x { ... }` blocks: unit tests may use anything."""
    out, i = [], 0
    pattern = re.compile(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{")
    while True:
        m = pattern.search(text, i)
        if not m:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j


def expand_use(tree):
    """`a::{b, c::{d, e as f}, self}` -> [(path, alias)]."""
    # Spaces matter only around `as` (`e as f`); elsewhere they go, so `a :: { b }` reads `a::{b}`.
    tree = re.sub(r"\s+", " ", tree)
    tree = re.sub(r"\s*(::|[{},])\s*", r"\1", tree).strip()
    results = []

    def walk(prefix, t):
        if t.startswith("{") and t.endswith("}"):
            for part in split_top(t[1:-1]):
                if part:
                    walk(prefix, part)
            return
        m = re.match(r"^([^{]*?)(::)?\{(.*)\}$", t)
        if m and t.endswith("}") and "{" in t:
            head = m.group(1)
            segments = prefix + [s for s in head.split("::") if s]
            for part in split_top(m.group(3)):
                if part:
                    walk(segments, part)
            return
        alias = None
        if re.search(r" as ", t):
            t, alias = (part.strip() for part in t.split(" as ", 1))
        segments = prefix + [s for s in t.split("::") if s]
        if segments and segments[-1] == "self":
            segments = segments[:-1]
        if segments and segments[-1] != "*":
            results.append((segments, alias or segments[-1]))
        elif segments:
            results.append((segments[:-1], None))

    walk([], tree)
    return results


def split_top(text):
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


class Module:
    def __init__(self, path, file):
        self.path = path  # tuple of names from the crate root
        self.file = file
        self.children = {}  # name -> Module
        self.items = set()
        self.reexports = {}  # name -> absolute path (list)
        self.imports = {}  # alias -> absolute path (list)
        self.text = ""


def load_crate(root_file):
    modules = {}

    def load(path, file, is_dir_owner):
        module = Module(path, file)
        modules[path] = module
        raw = open(file, encoding="utf-8").read()
        text = strip_test_modules(strip_comments(raw))
        module.text = text
        for m in ITEM.finditer(text):
            pass
        for line in text.splitlines():
            m = ITEM.match(line)
            if m and m.group(1) != "mod":
                module.items.add(m.group(2))
        base = os.path.dirname(file) if is_dir_owner else os.path.splitext(file)[0]
        lines = text.splitlines()
        for index, line in enumerate(lines):
            m = MOD_DECL.match(line)
            if not m:
                continue
            name = m.group(1)
            attr = PATH_ATTR.search(lines[index - 1]) if index else None
            if attr:
                child_file = os.path.normpath(os.path.join(os.path.dirname(file), attr.group(1)))
                owner = os.path.basename(child_file) == "mod.rs"
            else:
                candidates = [(os.path.join(base, name + ".rs"), False), (os.path.join(base, name, "mod.rs"), True)]
                found = [c for c in candidates if os.path.exists(c[0])]
                if not found:
                    continue
                child_file, owner = found[0]
            module.children[name] = load(path + (name,), child_file, owner)
        return module

    root = load((), root_file, True)
    return root, modules


def resolve_start(module, segments, modules, crate_name):
    """Where a path's first segment starts: (module, remaining segments) or None."""
    first = segments[0]
    if first == "crate" or first == crate_name:
        return modules[()], segments[1:]
    if first == "self":
        return module, segments[1:]
    if first == "super":
        current, rest = module, segments
        while rest and rest[0] == "super":
            current = modules.get(current.path[:-1], current)
            rest = rest[1:]
        return current, rest
    if first in module.children:
        return module.children[first], segments[1:]
    if first in module.imports:
        return None  # resolved through the import table by the caller
    return None


def resolve(module, segments, modules, crate_name, depth=0):
    """The file defining what `segments` names, seen from `module`; None if outside the crate."""
    if depth > 20 or not segments:
        return None
    if segments[0] in module.imports and segments[0] not in module.children and segments[0] not in ("crate", "self", "super"):
        target = module.imports[segments[0]]
        return resolve_absolute(target + segments[1:], modules, crate_name, depth + 1)
    start = resolve_start(module, segments, modules, crate_name)
    if start is None:
        return None
    current, rest = start
    return walk(current, rest, modules, crate_name, depth)


def resolve_absolute(segments, modules, crate_name, depth):
    if not segments or segments[0] not in ("crate", crate_name):
        return None
    return walk(modules[()], segments[1:], modules, crate_name, depth)


def walk(current, rest, modules, crate_name, depth):
    if depth > 20:
        return current.file
    while rest and rest[0] in current.children:
        current = current.children[rest[0]]
        rest = rest[1:]
    # An item a module only imports (`use x::Y`, public or not: descendants see private
    # imports too) is defined elsewhere: follow it there.
    if rest and rest[0] in current.imports and rest[0] not in current.items:
        target = current.imports[rest[0]]
        found = resolve_absolute(target + rest[1:], modules, crate_name, depth + 1)
        if found:
            return found
    return current.file


def crate_roots():
    out = subprocess.check_output(
        ["cargo", "metadata", "--no-deps", "--format-version", "1"], cwd=ROOT, text=True
    )
    import json

    meta = json.loads(out)
    roots = []
    for package in meta["packages"]:
        for target in package["targets"]:
            if set(target["kind"]) & {"lib", "bin"}:
                roots.append((target["name"].replace("-", "_"), target["src_path"]))
    return roots


def file_graph(crate_name, root_file):
    root, modules = load_crate(root_file)
    for module in modules.values():
        for m in USE.finditer(module.text):
            public = bool(m.group(1))
            for segments, alias in expand_use(m.group(2)):
                if not segments:
                    continue
                absolute = absolutize(module, segments, modules, crate_name)
                if absolute is None:
                    continue
                if alias:
                    module.imports[alias] = absolute
                    if public:
                        module.reexports[alias] = absolute
    edges = defaultdict(set)
    reasons = defaultdict(set)
    for module in modules.values():
        refs = []
        for m in USE.finditer(module.text):
            for segments, _ in expand_use(m.group(2)):
                if segments:
                    refs.append(segments)
        body = USE.sub("", module.text)
        for m in INLINE.finditer(body):
            refs.append(m.group(1).split("::"))
        for segments in refs:
            target = resolve(module, segments, modules, crate_name)
            if target and target != module.file:
                edges[module.file].add(target)
                reasons[(module.file, target)].add("::".join(segments))
    return edges, reasons


def absolutize(module, segments, modules, crate_name):
    first = segments[0]
    if first in ("crate", crate_name):
        return ["crate"] + segments[1:]
    if first == "self":
        return ["crate"] + list(module.path) + segments[1:]
    if first == "super":
        path, rest = list(module.path), segments
        while rest and rest[0] == "super":
            path = path[:-1]
            rest = rest[1:]
        return ["crate"] + path + rest
    if first in module.children:
        return ["crate"] + list(module.path) + segments
    return None


def components(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    nodes = set(edges) | {t for ts in edges.values() for t in ts}

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
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def allowed(group, allows):
    for allow in allows:
        if "|" in allow:
            if sorted(group) == sorted(allow.split("|")):
                return True
        elif all(fnmatch.fnmatch(f, allow) for f in group):
            return True
    return False


def main(argv):
    allows = []
    explain = False
    args = argv[1:]
    while args:
        if args[0] == "--explain":
            explain = True
            args = args[1:]
        elif args[0] == "--allow" and len(args) > 1:
            allows.append(args[1])
            args = args[2:]
        else:
            print(__doc__, file=sys.stderr)
            return 2
    bad = 0
    seen = set()
    for crate_name, root_file in crate_roots():
        if root_file in seen:
            continue
        seen.add(root_file)
        edges, reasons = file_graph(crate_name, root_file)
        for group in components(edges):
            rel = [os.path.relpath(f, ROOT) for f in group]
            ok = allowed(rel, allows)
            bad += 0 if ok else 1
            print(("allowed  " if ok else "circle   ") + "  ↔  ".join(rel))
            if explain and not ok:
                for a in group:
                    for b in group:
                        if (a, b) in reasons:
                            names = ", ".join(sorted(reasons[(a, b)])[:6])
                            print(f"    {os.path.relpath(a, ROOT)} -> {os.path.relpath(b, ROOT)}: {names}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
