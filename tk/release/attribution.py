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
    ]
    if by:
        out += ["| uid | title | author | source | license |", "| --- | --- | --- | --- | --- |"]
        for r in by:
            c = credit_fields(r)
            lic = licenses.normalise(r.get("license"))
            out.append(
                f"| `{r['uid']}` | {_cell(c['title'])} | {_cell(c['author'])} | {_cell(c['url'])} "
                f"| [{lic}]({licenses.license_url(lic)}) |"
            )
    else:
        out.append("None.")
    out += ["", f"## Works under licenses that require their notice ({len(notice)})", ""]
    if notice:
        for r in notice:
            c = credit_fields(r)
            lic = licenses.normalise(r.get("license"))
            out.append(
                f"- `{r['uid']}`: {_cell(c['title'])}, copyright (c) {_cell(c['author'])}, source {_cell(c['url'])}. "
                f"Licensed under {lic} ({licenses.license_url(lic)}); the license text applies to the rendered copies."
            )
    else:
        out.append("None.")
    return "\n".join(out) + "\n"


def credited_uids(text: str) -> set[str]:
    """The uids an ATTRIBUTION.md credits (each appears as `uid` in backticks)."""
    import re

    return set(re.findall(r"`([^`\s]+)`", text))


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")
