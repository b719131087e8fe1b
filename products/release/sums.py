"""SHA256SUMS: one `HEX  PATH` line per file of the release, readable by `sha256sum -c`."""

from __future__ import annotations

from pathlib import Path

from tk import atomic
from tk.contracts import release as layout
from tk.errors import TkError
from tk.hashing import sha256_file


def release_files(root: Path) -> list[str]:
    """Every file under `root` except SHA256SUMS itself, as sorted POSIX paths relative to `root`."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


def write_sums(root: Path) -> int:
    """Hash every file of the release into SHA256SUMS (written last, atomically); return the file count."""
    names = [n for n in release_files(root) if n != layout.SUMS]
    lines = [f"{sha256_file(root / n)}  {n}\n" for n in names]
    atomic.write_text(root / layout.SUMS, "".join(lines))
    return len(names)


def read_sums(root: Path) -> dict[str, str]:
    """Parse SHA256SUMS into {path: hex}; a malformed line fails naming its number."""
    path = root / layout.SUMS
    if not path.is_file():
        raise TkError(f"{path}: missing; this is not a finished tk release (build it with tk release build)")
    sums: dict[str, str] = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name or name.startswith("/") or ".." in Path(name).parts:
            raise TkError(f"{path}: line {i} is not 'SHA256  relative/path'")
        sums[name] = digest
    return sums


def check_sums(root: Path) -> list[str]:
    """Compare the files under `root` with SHA256SUMS; return one line per missing, extra or changed file."""
    sums = read_sums(root)
    present = set(release_files(root)) - {layout.SUMS}
    problems = [f"{n}: missing (listed in {layout.SUMS})" for n in sorted(set(sums) - present)]
    problems += [f"{n}: extra file, not listed in {layout.SUMS}" for n in sorted(present - set(sums))]
    for name in sorted(present & set(sums)):
        if (root / name).is_symlink():
            problems.append(f"{name}: is a symlink; a release holds plain files only")
        elif sha256_file(root / name) != sums[name]:
            problems.append(f"{name}: sha256 differs from {layout.SUMS} (the file was changed)")
    return problems
