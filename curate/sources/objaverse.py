"""Objaverse 1.0 (Sketchfab): candidate rows from the objaverse package's annotation cache.

Counts the annotations already give (faces, vertices, animations, textures, archive size) fill the
probe columns, so the quality rules work even with `--no-download`; LVIS categories, where present,
fill `category` for `--max-per-category`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tk.curate import objaverse_adapter
from tk.curate.sources.base import RowSource


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def rows(cache_dir: Path, limit: int | None = None) -> Iterator[dict]:
    """Candidate rows (manifest columns plus title/author/url/category) in uid order."""
    annotations, object_paths, lvis = objaverse_adapter.load_annotations(cache_dir)
    for n, uid in enumerate(sorted(annotations)):
        if limit is not None and n >= limit:
            return
        a = annotations[uid] if isinstance(annotations[uid], dict) else {}
        user = a.get("user") if isinstance(a.get("user"), dict) else {}
        glb = (a.get("archives") or {}).get("glb") or {}
        author = user.get("displayName") or user.get("username")
        url = a.get("viewerUrl")
        title = a.get("name")
        attribution = "; ".join(f"{k}: {v}" for k, v in (("title", title), ("author", author), ("url", url)) if v) or None
        yield {
            "uid": uid, "source": "objaverse", "file_identifier": object_paths.get(uid, f"glbs/{uid}.glb"),
            "file_type": "glb", "sha256": None, "license_raw": a.get("license"), "attribution": attribution,
            "title": title, "author": author, "url": url, "category": lvis.get(uid),
            "size_bytes": _int(glb.get("size")), "face_count": _int(a.get("faceCount")),
            "vertex_count": _int(a.get("vertexCount")), "animation_count": _int(a.get("animationCount")),
            "texture_count": _int(glb.get("textureCount")),
            "is_age_restricted": bool(a["isAgeRestricted"]) if "isAgeRestricted" in a else None,
        }


def _cache(cfg: Any) -> Path:
    return cfg.objaverse_dir or objaverse_adapter.default_cache_dir()


SOURCE = RowSource(
    name="objaverse",
    rows=lambda cfg, stats: rows(_cache(cfg), cfg.limit),
    where=lambda cfg: cfg.objaverse_dir,
    settings=lambda cfg: {"objaverse_dir": str(_cache(cfg))},  # where the probe tasks download the GLBs
)
