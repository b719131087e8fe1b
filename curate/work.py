"""The work on one object: get the file (in place, objaverse cache, or HTTP download) and probe it.

A plain function of one item dict so it runs in a probe actor (tk.curate.executor), or directly in a test.
It never raises for a bad object: download and probe failures come back as `probe_error` (with `retryable`
set for network failures, which a rerun tries again).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tk import formats
from tk.blender.process import WorkerProcess
from tk.curate import download, objaverse_adapter
from tk.curate.probe import probe_file

_SKETCHFAB_UID = re.compile(r"([0-9a-f]{32})/?$")


def process(item: dict[str, Any], blender: WorkerProcess | None = None) -> dict[str, Any]:
    """Fetch and probe one candidate; return the probe row (see tk.curate.probe.PROBE_SCHEMA). `blender`: the
    caller's persistent Blender worker for Blender-only formats (None: one is started for the file)."""
    if item["source"] == "local" and not item.get("local_path"):
        # tk.curate.sources.local leaves local_path empty for a file it refused to read (tk.confine)
        return {"probe_error": "not read: a link resolving outside the input folder", "retryable": False}
    try:
        path = _fetch(item)
    except download.DownloadError as e:
        return {"probe_error": f"{download.ERROR_PREFIX}{e}", "retryable": e.retryable}
    except Exception as e:  # noqa: BLE001 - an unreachable object is that row's result
        return {"probe_error": f"{download.ERROR_PREFIX}{type(e).__name__}: {' '.join(str(e).split())[:200]}", "retryable": True}
    file_type = formats.file_type(path) or item.get("file_type") or ""
    if path.stat().st_size > item["max_bytes"]:
        return {"local_path": str(path), "size_bytes": path.stat().st_size, "probe_error": f"too large: {path.stat().st_size} bytes"}
    root = Path(item["input_root"]) if item.get("input_root") else None
    return probe_file(path, file_type, timeout=item["timeout"], input_root=root, blender=blender) | {"retryable": False}


def _fetch(item: dict[str, Any]) -> Path:
    if item.get("local_path") and Path(item["local_path"]).is_file():
        return Path(item["local_path"])
    source = item["source"]
    if source in ("objaverse", "xl-sketchfab"):
        uid = item["uid"]
        if source == "xl-sketchfab":
            m = _SKETCHFAB_UID.search(item["file_identifier"])
            if not m:
                raise download.DownloadError(f"no Sketchfab uid in {item['file_identifier']!r}")
            uid = m.group(1)
        return Path(objaverse_adapter.load_object(uid, Path(item["objaverse_dir"]), item.get("objaverse_url")))
    url = download.resolve_url(item["file_identifier"])
    if not url.startswith(("http://", "https://")):
        raise download.DownloadError(f"not a downloadable URL: {item['file_identifier']!r}")
    folder = Path(item["download_dir"]) / item["uid"][:2]
    ext = item.get("file_type") or "bin"
    dest = download.fetch(url, folder / f"{item['uid']}.{ext}", item["max_bytes"], item["timeout"], item["retries"], item.get("sha256"))
    fmt = formats.get(ext)
    if download.is_archive(dest) and not (fmt and fmt.whole_file):
        return _model_in(download.extract(dest, folder / item["uid"], item["max_bytes"]), ext)
    return dest


def _model_in(files: list[Path], ext: str) -> Path:
    """The model file of an extracted archive: the largest of the expected type, else of any readable type."""
    for wanted in ({ext}, set(formats.EXTENSIONS)):
        found = [f for f in files if formats.file_type(f) in wanted]
        if found:
            return max(found, key=lambda f: f.stat().st_size)
    raise download.DownloadError("archive holds no 3D model file")
