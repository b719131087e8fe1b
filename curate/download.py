"""Fetch untrusted object files: HTTP with a size cap, a timeout, retries and a sha256 check, and
archive extraction that refuses members escaping the target folder.

Files are written to a temp name and renamed only when complete and verified, so a killed download
never leaves a file that looks finished.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tk import atomic
from tk.hashing import sha256_file

ERROR_PREFIX = "download: "  # starts the probe_error of a row whose file could not be fetched (rule `download_failed`)
_CHUNK = 1 << 20
_GITHUB_BLOB = re.compile(r"^https://github\.com/([^/]+)/([^/]+)/blob/([^/]+)/(.+)$")


class DownloadError(Exception):
    """A download that failed for good (too large, wrong hash, unsafe archive); `retryable` for network errors."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


def resolve_url(file_identifier: str) -> str:
    """The URL to GET for a source's fileIdentifier (GitHub blob pages → raw file URLs)."""
    m = _GITHUB_BLOB.match(file_identifier)
    if m:
        org, repo, commit, path = m.groups()
        return f"https://raw.githubusercontent.com/{org}/{repo}/{commit}/{path}"
    return file_identifier


def fetch(url: str, dest: Path, max_bytes: int, timeout: float = 60.0, retries: int = 2, sha256: str | None = None) -> Path:
    """Download `url` to `dest` (atomically); raise DownloadError when it is too large or the hash differs."""
    if dest.exists() and (sha256 is None or sha256_file(dest) == sha256):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(f".{dest.name}.*.part"):  # left by a killed run
        stale.unlink(missing_ok=True)
    last: Exception | None = None
    for attempt in range(retries + 1):
        try:
            return _fetch_once(url, dest, max_bytes, timeout, sha256)
        except DownloadError as e:
            if not e.retryable:
                raise
            last = e
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            if isinstance(e, urllib.error.HTTPError) and 400 <= e.code < 500 and e.code != 429:
                raise DownloadError(f"HTTP {e.code} for {url}") from None
            last = e
        time.sleep(min(0.2 * 2**attempt, 5.0))
    raise DownloadError(f"download failed after {retries + 1} attempt(s): {last}", retryable=True)


def _fetch_once(url: str, dest: Path, max_bytes: int, timeout: float, sha256: str | None) -> Path:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "tk-curate"}), timeout=timeout) as resp:
            declared = resp.headers.get("Content-Length")
            if declared and int(declared) > max_bytes:
                raise DownloadError(f"too large: {int(declared)} bytes > cap {max_bytes}")
            size = 0
            with open(tmp, "wb") as fh:
                while chunk := resp.read(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise DownloadError(f"too large: more than cap {max_bytes} bytes")
                    h.update(chunk)
                    fh.write(chunk)
        if sha256 and h.hexdigest() != sha256.lower():
            raise DownloadError(f"sha256 mismatch: got {h.hexdigest()[:12]}…, annotation says {sha256[:12]}…")
        atomic.replace(tmp, dest)
        return dest
    finally:
        tmp.unlink(missing_ok=True)


def is_archive(path: Path) -> bool:
    """True for zip and tar(.gz/.bz2/.xz) files, judged by content, not by name."""
    return zipfile.is_zipfile(path) or _is_tar(path)


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def extract(archive: Path, target: Path, max_bytes: int) -> list[Path]:
    """Extract a zip/tar into `target`; refuse absolute paths, `..`, links and more than `max_bytes` in total."""
    target = target.resolve()
    for stale in target.parent.glob(f".{target.name}.*.extract"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.extract")
    tmp.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                members = [(i.filename, i.file_size, i.is_dir(), False) for i in zf.infolist()]
                _check_members(members, max_bytes)
                zf.extractall(tmp)
        else:
            with tarfile.open(archive) as tf:
                infos = tf.getmembers()
                _check_members([(i.name, i.size, i.isdir(), i.issym() or i.islnk() or not (i.isfile() or i.isdir())) for i in infos], max_bytes)
                tf.extractall(tmp, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        atomic.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(p for p in target.rglob("*") if p.is_file())


def _check_members(members: list[tuple[str, int, bool, bool]], max_bytes: int) -> None:
    total = 0
    for name, size, _is_dir, is_link in members:
        parts = Path(name).parts
        if name.startswith(("/", "\\")) or Path(name).is_absolute() or ".." in parts or re.match(r"^[A-Za-z]:", name):
            raise DownloadError(f"unsafe archive: member {name!r} escapes the target folder")
        if is_link:
            raise DownloadError(f"unsafe archive: member {name!r} is a link or device")
        total += size
        if total > max_bytes:
            raise DownloadError(f"too large: archive expands past cap {max_bytes} bytes")
