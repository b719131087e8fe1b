"""Keys of cached bench results: a hash of everything a result depends on, so a cache cannot go stale.

A trained run or an eval depends on its config, its data and the code that trained or scored it. The config and the
data were keyed already; `code_fingerprint` adds the code: the training, model and core sources and the presets.
It hashes each module's syntax tree without docstrings, so a comment or a reworded docstring keeps every cached
result, and any change to what the code does drops them (a moved or renamed module drops them too: the safe side).
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

def code_roots() -> list[Path]:
    """The folders whose files decide a training or eval result: tk.train, tk.model, the presets, tk's core (the
    products, release and demo, live in products/ and decide none)."""
    import tk
    import tk.model
    import tk.train
    from tk.model.config import PRESETS_DIR

    core = Path(tk.__file__).parent
    return [Path(tk.train.__file__).parent, Path(tk.model.__file__).parent, PRESETS_DIR,
            *sorted(p for p in core.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file())]


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _file_key(path: Path) -> bytes:
    if path.suffix == ".py":
        return ast.dump(_without_docstrings(ast.parse(path.read_bytes(), str(path)))).encode()
    return path.read_bytes()


def code_fingerprint(roots: Sequence[Path] | None = None) -> str:
    """sha256 over the files under `roots` (default `code_roots()`): .py files by their syntax tree without
    docstrings, any other file (weights, presets) by its bytes; compiled caches are skipped."""
    h = hashlib.sha256()
    for root in roots if roots is not None else code_roots():
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()
                                                      and "__pycache__" not in p.parts)
        for path in files:
            name = path.name if path == root else str(path.relative_to(root))
            h.update(f"{root.name}/{name}".encode() + b"\0" + hashlib.sha256(_file_key(path)).digest())
    return h.hexdigest()


def renders_fingerprint(data: Path) -> str:
    """sha256 over the renders' render.json and every shard's bytes: a result keyed by it goes stale with them."""
    from tk.hashing import sha256_file

    h = hashlib.sha256()
    for path in [data / "render.json", *sorted((data / "shards").glob("*.parquet"))]:
        h.update(path.name.encode() + b"\0" + sha256_file(path).encode())
    return h.hexdigest()


def result_key(*parts: Any) -> str:
    """A short key of JSON-able parts (resolved configs, fingerprints) for cache and run folder names."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]
