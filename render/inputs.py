"""The objects to render: kept rows of a `tk curate` manifest, or the 3D files of a folder.

A folder is walked by `tk.confine.model_files`, as `tk curate --source local` walks it: hidden files and
folders are skipped, and a file that is a link (or lies in a linked folder) resolving outside the folder
becomes a failed object with its reason, never read. Paths keep their links (not resolved), so the
worker's checks see where a file really lies relative to its folder.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tk import confine
from tk import formats
from tk.contracts import MANIFEST, read_table
from tk.contracts import manifest
from tk.errors import TkError
from tk.hashing import sha256_file
from tk.splits import split_of


@dataclass(frozen=True)
class ObjectRef:
    """One object to render: its uid, the file to import, its type and split."""

    uid: str
    path: str
    file_type: str
    split: str
    local_path: str  # as the manifest gives it (relative paths stay relative in objects.parquet)
    refused: str | None = None  # why the file is not read (it leaves the input folder), or None


def from_manifest(folder: str | Path) -> list[ObjectRef]:
    """Kept manifest rows that have a local_path; relative paths resolve against the manifest folder."""
    folder = Path(folder)
    path = manifest.parquet_path(folder)
    if not path.exists():
        raise TkError(f"{folder}: no manifest.parquet; run `tk curate ... --out {folder}` first or use --input DIR")
    rows = read_table(path, MANIFEST, columns=["uid", "file_type", "status", "split", "local_path"]).to_pylist()
    refs = []
    for r in rows:
        if r["status"] != "keep" or not r["local_path"]:
            continue
        p = Path(r["local_path"])
        resolved = p if p.is_absolute() else (folder / p if (folder / p).exists() else p)
        file_type = (r["file_type"] or formats.file_type(p)).lower()
        refs.append(ObjectRef(r["uid"], os.path.abspath(resolved), file_type, r["split"], r["local_path"]))
    if not refs:
        raise TkError(f"{path}: no kept rows with a local_path; run `tk curate` without --no-download")
    return refs


def from_folder(folder: str | Path, split_seed: int = 0) -> list[ObjectRef]:
    """The 3D files under `folder`; uid = sha256 of the file's bytes, as `tk curate --source local` gives."""
    folder = Path(folder)
    # linked sub-folders are a common way to pick objects: followed while they stay inside the folder
    found = confine.model_files(folder, formats.EXTENSIONS)
    files = found.files
    for linked in found.outside_folders:
        print(f"tk render: not entering {linked}: a linked folder that leads outside --input", file=sys.stderr)
    if not files:
        raise TkError(f"--input {folder}: no 3D files ({', '.join(formats.EXTENSIONS)}) found in it")
    refs, seen = [], set()
    for p, refused in files:
        file_type = formats.file_type(p)
        if refused:
            uid = confine.refused_uid(str(p.relative_to(folder)))
            refs.append(ObjectRef(uid, os.path.abspath(p), file_type, split_of(uid, split_seed), str(p), refused))
            continue
        uid = sha256_file(p)
        if uid in seen:  # identical bytes under two names: one object
            continue
        seen.add(uid)
        refs.append(ObjectRef(uid, os.path.abspath(p), file_type, split_of(uid, split_seed), str(p)))
    return refs
