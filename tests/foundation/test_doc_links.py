"""Every pointer to the project's docs names a file that exists: readers sent to a doc must find it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC_REF = re.compile(r"(?<![\w/.-])((?:docs/)?[A-Z][A-Z_]+\.md|docs/[\w.-]+\.md)\b")


def _text_files() -> list[Path]:
    """The repo's own text files (no git needed: a clean checkout may be an export)."""
    skip = {".venv", ".cache", ".git", "node_modules", "demo-out"}
    return [p for p in ROOT.rglob("*") if p.suffix in (".py", ".md", ".yaml") and p.is_file()
            and not any(part in skip or part.startswith(".") for part in p.relative_to(ROOT).parts)]


def test_doc_pointers_name_existing_files():
    # output files a command writes (ATTRIBUTION.md, LICENSES.md of a release) are not docs of the repo
    written = {"ATTRIBUTION.md", "LICENSES.md", "LICENSE.md", "NOTE.md"}
    missing = []
    for path in _text_files():
        for m in DOC_REF.finditer(path.read_text(errors="ignore")):
            ref = m.group(1)
            if ref in written or (ROOT / ref).exists() or (path.parent / ref).exists():
                continue
            missing.append(f"{path.relative_to(ROOT)}: {ref}")
    assert missing == []
