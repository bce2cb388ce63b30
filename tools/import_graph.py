"""Print the project's import graph and whether it has a cycle.

    python tools/import_graph.py            # layers, module counts, cycles (exit 1 if any)
    python tools/import_graph.py --edges    # also every module -> module edge

Every `import` and `from ... import` in the project's packages counts, including the ones
inside functions (a lazy import still ties two modules together). The graph is over modules
(`ada.trainer`, `worlds.env`); a package's `__init__` counts as the module of the package.
Cycles are the strongly connected components with more than one module (or a module importing
itself). The layers line shows which top-level package imports which: worlds and agents at the
bottom, curriculum above worlds, ada on top (`ada.paths` and `ada.validation` are leaves that
import nothing from the project, so the bottom layers may use them).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ada", "agents", "curriculum", "worlds")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The longest project module that `target` names or lies inside."""
    parts = target.split(".")
    while parts:
        name = ".".join(parts)
        if name in modules:
            return name
        parts.pop()
    return None


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".") if is_package else name.split(".")[:-1]
                pkg = pkg[:len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for target in targets:
            hit = resolve(target, modules)
            if hit is not None and hit != name:
                found.add(hit)
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of size > 1 (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def layers(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Top-level package -> the other top-level packages it imports (leaves excluded)."""
    leaves = {"ada.paths", "ada.validation"}
    out: dict[str, set[str]] = defaultdict(set)
    for src, dsts in edges.items():
        for dst in dsts - leaves:
            a, b = src.split(".")[0], dst.split(".")[0]
            if a != b:
                out[a].add(b)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--edges", action="store_true", help="print every module -> module edge")
    args = p.parse_args(argv)
    edges = graph()
    if args.edges:
        for src in sorted(edges):
            for dst in sorted(edges[src]):
                print(f"{src} -> {dst}")
    n_edges = sum(len(v) for v in edges.values())
    print(f"{len(edges)} modules, {n_edges} import edges")
    for pkg, deps in sorted(layers(edges).items()):
        print(f"  {pkg} imports {sorted(deps)}")
    found = cycles(edges)
    if not found:
        print("no import cycle")
        return 0
    for comp in found:
        print("cycle: " + " <-> ".join(comp))
    return 1


if __name__ == "__main__":
    sys.exit(main())
