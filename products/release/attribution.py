"""ATTRIBUTION.md: the credits the licenses of the shipped objects require."""

from __future__ import annotations

from typing import Any

from tk.release import licenses


def credit_fields(row: dict[str, Any]) -> dict[str, str]:
    """Author, title and URL of a manifest row: its own columns when curate provides them, else `attribution`."""
    attribution = row.get("attribution") or ""
    return {
        "author": str(row.get("author") or "") or attribution or "unknown author",
        "title": str(row.get("title") or "") or str(row.get("file_identifier") or row["uid"]).rsplit("/", 1)[-1],
        "url": str(row.get("url") or "") or str(row.get("file_identifier") or ""),
    }


_BY_ROW = "| `{uid}` | {title} | {author} | {url} | [{license}]({license_url}) |"
_NOTICE_ROW = ("- `{uid}`: {title}, copyright (c) {author}, source {url}. Licensed under {license} ({license_url}); "
               "the license text applies to the rendered copies.")


def attribution_markdown(rows: list[dict[str, Any]], release_name: str) -> str:
    """Markdown crediting every kept row whose license asks for credit or a notice, sorted by uid."""
    rows = sorted(rows, key=lambda r: r["uid"])
    by = [r for r in rows if licenses.requires_attribution(r.get("license"))]
    notice = [r for r in rows if licenses.requires_notice(r.get("license"))]
    out = [
        f"# Attribution: {release_name}",
        "",
        "This dataset holds renders of the 3D works below. Their licenses ask that they are credited as",
        "listed here; keep this file with any copy or derivative of the dataset.",
        "",
        f"## Creative Commons BY works ({len(by)})",
        "",
        *_credits(by, _BY_ROW, ["| uid | title | author | source | license |", "| --- | --- | --- | --- | --- |"]),
        "",
        f"## Works under licenses that require their notice ({len(notice)})",
        "",
        *_credits(notice, _NOTICE_ROW),
    ]
    return "\n".join(out) + "\n"


def _credits(rows: list[dict[str, Any]], template: str, header: list[str] | None = None) -> list[str]:
    """One `template` line per row (after `header`), or "None." when there are no rows."""
    if not rows:
        return ["None."]
    lines = list(header or [])
    for r in rows:
        c = {k: _cell(v) for k, v in credit_fields(r).items()}
        lic = licenses.normalise(r.get("license"))
        lines.append(template.format(uid=r["uid"], **c, license=lic, license_url=licenses.license_url(lic)))
    return lines


def credited_uids(text: str) -> set[str]:
    """The uids an ATTRIBUTION.md credits (each appears as `uid` in backticks)."""
    import re

    return set(re.findall(r"`([^`\s]+)`", text))


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")
