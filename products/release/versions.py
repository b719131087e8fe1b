"""The versions a release was built with: tk, Python, Blender and the packages that shape the data."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata

import tk

PACKAGES = ("bpy", "numpy", "pyarrow", "duckdb", "trimesh", "pillow", "ray", "DracoPy", "torch")


def blender_version(timeout: float = 120.0) -> str | None:
    """bpy.app.version_string, read in a subprocess so this process never loads Blender."""
    try:
        r = subprocess.run(
            [sys.executable, "-c", "import bpy; print(bpy.app.version_string)"],
            capture_output=True, text=True, timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = r.stdout.strip().splitlines()
    return lines[-1].strip() if r.returncode == 0 and lines else None


def resolved_versions() -> dict[str, object]:
    """Versions of tk, Python, the platform, Blender and the key packages (None when not installed)."""
    packages: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "tk": tk.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "blender": blender_version(),
        "packages": packages,
    }
