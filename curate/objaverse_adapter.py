"""The one place tk touches the `objaverse` package's internals (objaverse==0.1.7).

The package keeps its cache location in module globals (`objaverse.BASE_PATH`, `objaverse._VERSIONED_PATH`,
default `~/.objaverse/hf-objaverse-v1`) and builds its download URLs from a hard-coded Hugging Face
prefix inside its functions, fetched with `urllib.request.urlretrieve`. `objaverse_env` sets the cache
globals for the duration of a block and, when a base URL is given (a mirror, or a 127.0.0.1 server in
tests), installs a urllib opener that rewrites that prefix; both are restored afterwards. Everything
else in tk calls the functions below, never the package directly.

Cache layout (what the package reads and writes, and what the test fixture builds):
  <cache>/hf-objaverse-v1/object-paths.json.gz      {uid: "glbs/000-023/<uid>.glb"}
  <cache>/hf-objaverse-v1/metadata/000-023.json.gz  {uid: Sketchfab metadata: license, faceCount, ...}
  <cache>/hf-objaverse-v1/lvis-annotations.json.gz  {category: [uid, ...]}
  <cache>/hf-objaverse-v1/glbs/000-023/<uid>.glb    downloaded objects
"""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tk.errors import TkError

HF_PREFIX = "https://huggingface.co/datasets/allenai/objaverse/resolve/main/"
VERSIONED = "hf-objaverse-v1"


def default_cache_dir() -> Path:
    """The package's own cache folder (the parent of hf-objaverse-v1)."""
    import objaverse

    return Path(objaverse.BASE_PATH)


def versioned_dir(cache_dir: Path) -> Path:
    """`cache_dir/hf-objaverse-v1`, or `cache_dir` itself when it already is that folder."""
    return cache_dir if (cache_dir / "object-paths.json.gz").exists() or cache_dir.name == VERSIONED else cache_dir / VERSIONED


class _Rewrite(urllib.request.BaseHandler):
    """Send requests for the Hugging Face prefix to `base_url` instead."""

    handler_order = 100  # before the default handlers open the request

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/") + "/"

    def default_open(self, req: urllib.request.Request) -> Any:
        url = req.full_url
        if url.startswith(HF_PREFIX):
            # Re-open through a plain opener: this handler must not see its own rewritten request.
            return urllib.request.build_opener().open(self.base_url + url[len(HF_PREFIX):], timeout=req.timeout)
        return None


@contextlib.contextmanager
def objaverse_env(cache_dir: Path, base_url: str | None = None) -> Iterator[Any]:
    """Point the objaverse package at `cache_dir` (and its downloads at `base_url`) for one block."""
    import objaverse

    saved = (objaverse.BASE_PATH, objaverse._VERSIONED_PATH, getattr(urllib.request, "_opener", None))
    vdir = versioned_dir(cache_dir)
    objaverse.BASE_PATH, objaverse._VERSIONED_PATH = str(vdir.parent), str(vdir)
    if base_url:
        urllib.request.install_opener(urllib.request.build_opener(_Rewrite(base_url)))
    try:
        yield objaverse
    finally:
        objaverse.BASE_PATH, objaverse._VERSIONED_PATH = saved[0], saved[1]
        urllib.request._opener = saved[2]  # type: ignore[attr-defined]


def load_annotations(cache_dir: Path) -> tuple[dict[str, dict], dict[str, str], dict[str, str]]:
    """(annotations by uid, object paths by uid, LVIS category by uid) from the cache, offline.

    Only metadata shards present in the cache are read (the package would download missing ones).
    """
    vdir = versioned_dir(cache_dir)
    paths_file = vdir / "object-paths.json.gz"
    if not paths_file.is_file():
        raise TkError(
            f"--objaverse-dir {cache_dir}: no {VERSIONED}/object-paths.json.gz; fetch the annotations once with "
            "`python -c 'import objaverse; objaverse.load_annotations()'` or point --objaverse-dir at a copy"
        )
    try:
        with objaverse_env(cache_dir) as ov:
            object_paths = ov._load_object_paths()
            present = {p.name[: -len(".json.gz")] for p in (vdir / "metadata").glob("*.json.gz")}
            uids = [u for u, p in object_paths.items() if p.split("/")[1] in present]
            annotations = ov.load_annotations(uids) if uids else {}
            lvis: dict[str, str] = {}
            if (vdir / "lvis-annotations.json.gz").is_file():
                for category, members in ov.load_lvis_annotations().items():
                    for uid in members:
                        lvis.setdefault(uid, category)
    except (OSError, ValueError, EOFError, KeyError, AttributeError) as e:
        raise TkError(f"--objaverse-dir {cache_dir}: unreadable annotation file ({type(e).__name__}: {e})") from None
    if not annotations:
        raise TkError(f"--objaverse-dir {cache_dir}: no metadata/*.json.gz shards in {vdir}; fetch them with objaverse.load_annotations()")
    return annotations, object_paths, lvis


def load_object(uid: str, cache_dir: Path, base_url: str | None = None) -> str:
    """Download one object through the package's `load_objects` (cached) and return its local path."""
    import io
    from contextlib import redirect_stdout

    with objaverse_env(cache_dir, base_url) as ov, redirect_stdout(io.StringIO()):
        found = ov.load_objects([uid], download_processes=1)
    if uid not in found:
        raise FileNotFoundError(f"objaverse has no object {uid}")
    return found[uid]

