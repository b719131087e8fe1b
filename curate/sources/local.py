"""A local folder of 3D files: one candidate row per model file, uid = sha256 of the file's bytes.

Licenses come, in this order, from a `--licenses FILE` mapping (CSV or JSON: path → license, with
optional author/title/url/category; `tk fetch` writes one), a `<file>.license` sidecar, or a `LICENSE` file in the model's folder or a
parent up to the input root; otherwise `unknown`. The same bytes under two paths are one object (one
uid): the first path in sorted order is kept and the others are counted in the report.

The folder is walked by `tk.confine.model_files`, as `tk render --input` walks it: hidden files and
folders are skipped, and a file that is a link (or lies in a linked folder) resolving outside the input is
never read: its row has no local_path, its uid is the sha256 of its relative path, and probing rejects
it with the reason. Sidecar and LICENSE files are read only inside the input.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from tk import confine, formats
from tk.curate.licenses import from_text
from tk.curate.sources.base import RowSource
from tk.errors import TkError
from tk.hashing import sha256_file

LICENSE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "license", "license.txt")


def model_files(root: Path) -> list[Path]:
    """Model files under `root` (recursive, sorted, hidden folders skipped)."""
    return [p for p, _ in walk(root).files]


def walk(root: Path) -> confine.Walk:
    """Model files under `root` with why each is not read (or None); see `tk.confine.model_files`."""
    if not root.is_dir():
        raise TkError(f"--input {root}: not a folder; point --input at a folder of 3D files")
    return confine.model_files(root, formats.EXTENSIONS)


def load_mapping(path: Path, input_root: Path) -> dict[Path, dict[str, str]]:
    """Read a `--licenses` CSV/JSON mapping into {resolved path: {license, author, title, url, category}}."""
    if not path.is_file():
        raise TkError(f"--licenses {path}: file not found")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, (dict, list)):
                raise TkError(f"--licenses {path}: a JSON {type(data).__name__}, not a list or mapping of entries")
            records = (
                [{"path": k, **(v if isinstance(v, dict) else {"license": v})} for k, v in data.items()]
                if isinstance(data, dict) else list(data)
            )
        else:
            with open(path, newline="", encoding="utf-8") as fh:
                records = list(csv.DictReader(fh))
    except (OSError, ValueError, csv.Error) as e:
        raise TkError(f"--licenses {path}: not a readable CSV/JSON mapping ({e})") from None
    if not records or not all(isinstance(r, dict) and r.get("path") and "license" in r for r in records):
        raise TkError(f"--licenses {path}: every entry needs 'path' and 'license' (optional: author, title, url, "
                      "category)")
    for i, r in enumerate(records):
        # an empty license would silently fall through to a sidecar or `unknown`: say which row lacks it
        if not str(r.get("license") or "").strip():
            raise TkError(f"--licenses {path}: entry {i + 1} ({r['path']}) has no license; give one "
                          "(e.g. CC-BY-4.0, or 'unknown' to let the policy reject it)")
    out: dict[Path, dict[str, str]] = {}
    for i, r in enumerate(records):
        rel = Path(str(r["path"]))
        # Paths are relative to the mapping file's folder (as in manifests/sample/SOURCES.csv), or to --input.
        for base in (path.parent, input_root):
            try:
                cand = (base / rel).resolve()
                found = cand.exists()
            except (OSError, ValueError) as e:  # a NUL byte, a name longer than the filesystem allows
                raise TkError(f"--licenses {path}: entry {i + 1} ({str(r['path'])[:60]!r}): not a usable path "
                              f"({type(e).__name__})") from None
            if found:
                out[cand] = {k: str(v) for k, v in r.items() if v not in (None, "")}
    return out


def _sidecar_license(file: Path, root: Path) -> str | None:
    side = file.with_name(file.name + ".license")
    if side.is_file() and confine.inside(side, root):
        return _license_of(side)
    folder = file.parent
    while True:
        for name in LICENSE_FILES:
            if (folder / name).is_file() and confine.inside(folder / name, root):
                return _license_of(folder / name)
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent


def _license_of(path: Path) -> str | None:
    """The raw license of a sidecar or LICENSE file: the id of a standard license text, else its first line."""
    with path.open(encoding="utf-8", errors="replace") as f:
        text = f.read(200_000)  # a license file, not a multi-GB mistake
    return from_text(text) or None


def rows(root: Path, licenses_file: Path | None = None, limit: int | None = None, stats: dict | None = None) -> Iterator[dict]:
    """Candidate rows (manifest columns plus title/author/url) for the model files under `root`.

    `stats['identical_files']` counts files skipped because their bytes equal an earlier file's;
    `stats['outside_folders']` lists linked sub-folders not entered because they lead outside `root`.
    """
    stats = stats if stats is not None else {}
    stats.setdefault("identical_files", 0)
    root = root.resolve()
    found = walk(root)
    if found.outside_folders:
        stats["outside_folders"] = [str(p.relative_to(root)) for p in found.outside_folders]
    mapping = load_mapping(licenses_file.resolve(), root) if licenses_file else {}
    seen: set[str] = set()
    n = 0
    for file, refused in found.files:
        if limit is not None and n >= limit:
            return
        if refused:
            n += 1
            yield _refused_row(file, root, refused)
            continue
        uid = sha256_file(file)
        if uid in seen:
            stats["identical_files"] += 1
            continue
        seen.add(uid)
        n += 1
        info = mapping.get(file.resolve(), {})
        raw = info.get("license") or _sidecar_license(file, root)
        attribution = "; ".join(f"{k}: {info[k]}" for k in ("title", "author", "url") if info.get(k)) or None
        yield {
            "uid": uid, "source": "local", "file_identifier": str(file.relative_to(root)),
            "file_type": formats.file_type(file), "sha256": uid, "license_raw": raw,
            "attribution": attribution, "title": info.get("title"), "author": info.get("author"),
            "url": info.get("url"), "category": info.get("category"), "size_bytes": file.stat().st_size,
            "local_path": str(file),
        }


def _refused_row(file: Path, root: Path, why: str) -> dict:
    """The row of a file tk does not read: keyed by its path, no local_path (nothing to fetch or render)."""
    rel = str(file.relative_to(root))
    return {
        "uid": confine.refused_uid(rel), "source": "local", "file_identifier": rel,
        "file_type": formats.file_type(file), "sha256": None, "license_raw": _sidecar_license(file, root),
        "attribution": None, "title": None, "author": None, "url": None, "category": None, "size_bytes": None,
        "local_path": None,
        "metadata": json.dumps({"refused": why}),
    }


SOURCE = RowSource(
    name="local",
    rows=lambda cfg, stats: rows(cfg.input, cfg.licenses, cfg.limit, stats),
    where=lambda cfg: cfg.input,
    needs=("input", "--source local needs --input DIR (a folder of 3D files)"),
    # probe tasks read files only inside the input folder (tk.confine)
    settings=lambda cfg: {"input_root": str(cfg.input.resolve())},
)
