"""Every pointer to the project's docs names a file that exists: readers sent to a doc must find it."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC_REF = re.compile(r"(?<![\w/.-])((?:docs/)?[A-Z][A-Z_]+\.md|docs/[\w.-]+\.md)\b")


def _tracked_text_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "*.py", "*.md", "*.yaml", "Makefile"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / f for f in out]


def test_doc_pointers_name_existing_files():
    # output files a command writes (ATTRIBUTION.md, LICENSES.md of a release) are not docs of the repo
    written = {"ATTRIBUTION.md", "LICENSES.md", "LICENSE.md", "NOTE.md"}
    missing = []
    for path in _tracked_text_files():
        for m in DOC_REF.finditer(path.read_text(errors="ignore")):
            ref = m.group(1)
            if ref in written or (ROOT / ref).exists() or (path.parent / ref).exists():
                continue
            missing.append(f"{path.relative_to(ROOT)}: {ref}")
    assert missing == []
