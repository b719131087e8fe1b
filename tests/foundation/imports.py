"""The import graph of tk's package and of bench/, read from the source (every import, those inside functions too)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def package_roots() -> dict[str, str]:
    """setup.py's ROOTS (package name -> folder): the one place that says which folder is which package."""
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "ROOTS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py has no ROOTS")


@dataclass(frozen=True)
class Edge:
    source: str  # importing module
    target: str  # imported module (the deepest one that exists)
    line: int
    lazy: bool  # inside a function or class body, not at module level


def modules() -> dict[str, Path]:
    """Every module of the tk package and of bench/, by dotted name."""
    out: dict[str, Path] = {}
    for pkg, folder in {**package_roots(), "bench": "bench"}.items():
        for path in (REPO / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(REPO / folder).with_suffix("").parts if p != "__init__"]
            if pkg == "tk" and parts and f"tk.{parts[0]}" in package_roots():
                continue
            out[".".join([pkg, *parts])] = path
    return out


def _module_level(body: list[ast.stmt]) -> set[int]:
    ids: set[int] = set()
    for node in body:
        ids.add(id(node))
        for sub in ("body", "orelse", "finalbody"):
            if isinstance(node, (ast.If, ast.Try)):
                ids |= _module_level(getattr(node, sub, []))
        for handler in getattr(node, "handlers", []):
            ids |= _module_level(handler.body)
    return ids


def _type_only(tree: ast.Module) -> set[int]:
    """Imports under `if TYPE_CHECKING:`: read by type checkers, never run."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return ids


def edges(mods: dict[str, Path] | None = None) -> list[Edge]:
    """Every import from one of `mods` to another (those under `if TYPE_CHECKING:` aside)."""
    mods = modules() if mods is None else mods

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    out = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        top = _module_level(tree.body)
        type_only = _type_only(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{up}.{base}" if base else up
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for t in targets:
                target = resolve(t)
                if target and target != name:
                    out.append(Edge(name, target, node.lineno, id(node) not in top))
    return out


def cycles(graph: list[Edge]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    succ: dict[str, set[str]] = {}
    for e in graph:
        succ.setdefault(e.source, set()).add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(succ.get(v, ())):
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
                found.append(sorted(group))

    for v in sorted(succ):
        if v not in index:
            visit(v)
    return found


HEAVY = ("torch", "torchvision", "bpy", "ray", "trimesh", "matplotlib")  # engines that take a second or a process


def heavy_modules(mods: dict[str, Path] | None = None) -> set[str]:
    """The modules whose import pulls in a heavy engine: one imports it at module level, or imports (at module
    level) a module that does."""
    mods = modules() if mods is None else mods
    direct: set[str] = set()
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        top = _module_level(tree.body)
        for node in ast.walk(tree):
            if id(node) in top and isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif id(node) in top and isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            if any(n.split(".")[0] in HEAVY for n in names):
                direct.add(name)
    succ: dict[str, set[str]] = {}
    for e in edges(mods):
        if not e.lazy:
            succ.setdefault(e.source, set()).add(e.target)
    heavy, changed = set(direct), True
    while changed:
        changed = False
        for name in mods:
            if name not in heavy and succ.get(name, set()) & heavy:
                heavy.add(name)
                changed = True
    return heavy
