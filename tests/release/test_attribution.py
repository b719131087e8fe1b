"""ATTRIBUTION.md credits CC-BY works and reproduces MIT/BSD notices; CC0 works need neither."""

from __future__ import annotations

from tk.release import licenses
from tk.release.attribution import attribution_markdown, credited_uids


def _row(uid, lic, author="A. Author", title="Thing"):
    return {"uid": uid, "license": lic, "author": author, "title": title, "url": f"https://example.org/{uid}",
            "file_identifier": f"objects/{uid}.glb", "attribution": None}


def test_credits_follow_the_license():
    rows = [_row("u-cc0", "cc0-1.0"), _row("u-by", "cc-by-4.0", "Gwinna", "Siamese cat"),
            _row("u-sa", "cc-by-sa-3.0"), _row("u-mit", "mit", "W3C"), _row("u-bsd", "bsd-3-clause")]
    text = attribution_markdown(rows, "demo")
    assert credited_uids(text) == {"u-by", "u-sa", "u-mit", "u-bsd"}
    by_line = next(line for line in text.splitlines() if "`u-by`" in line)
    assert "Siamese cat" in by_line and "Gwinna" in by_line and "https://creativecommons.org/licenses/by/4.0/" in by_line
    mit_line = next(line for line in text.splitlines() if "`u-mit`" in line)
    assert "copyright (c) W3C" in mit_line and "https://opensource.org/license/mit" in mit_line
    assert "Creative Commons BY works (2)" in text and "require their notice (2)" in text


def test_license_facts():
    assert licenses.license_url("CC-BY-NC-SA-4.0") == "https://creativecommons.org/licenses/by-nc-sa/4.0/"
    assert licenses.requires_attribution("cc-by-3.0") and not licenses.requires_attribution("cc0-1.0")
    assert licenses.requires_notice("mit") and not licenses.requires_notice("cc-by-4.0")
    assert "non-commercial" in licenses.obligation("cc-by-nc-4.0")
    assert licenses.obligation("weird") == "unknown: check before use"
