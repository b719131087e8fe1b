"""License normalisation (raw spellings of the sources → one id) and license policies.

The sources spell the same license many ways: Sketchfab/Objaverse short ids (`by`, `by-nc-sa`, `cc0`),
Thingiverse phrases ("Creative Commons - Attribution - Non-Commercial"), GitHub repository license
names ("MIT License", "GNU General Public License v3.0") or SPDX ids, Smithsonian "CC0". Everything
becomes one of the ids of DESIGN.md; what cannot be recognised becomes `unknown`, which passes no
policy but `all`.
"""

from __future__ import annotations

import re

from tk.errors import TkError

UNKNOWN = "unknown"

# Exact spellings (after `_key`) that are not Creative Commons phrases.
_ALIASES: dict[str, str] = {
    "mit": "mit", "mit license": "mit", "the mit license": "mit", "expat": "mit",
    "apache 2 0": "apache-2.0", "apache license 2 0": "apache-2.0", "apache license version 2 0": "apache-2.0",
    "apache": "apache-2.0", "apache 2": "apache-2.0",
    "bsd": "bsd-3-clause", "bsd license": "bsd-3-clause", "bsd 3 clause": "bsd-3-clause",
    "bsd 3 clause new or revised license": "bsd-3-clause", "bsd 2 clause": "bsd-2-clause",
    "bsd 2 clause simplified license": "bsd-2-clause", "isc": "isc", "isc license": "isc",
    "zlib": "zlib", "zlib license": "zlib", "unlicense": "unlicense", "the unlicense": "unlicense",
    "0bsd": "0bsd", "bsd zero clause license": "0bsd",
    "gpl 3 0": "gpl-3.0", "gnu general public license v3 0": "gpl-3.0", "gpl": "gpl-3.0", "gnu gpl": "gpl-3.0",
    "gpl 2 0": "gpl-2.0", "gnu general public license v2 0": "gpl-2.0",
    "lgpl 3 0": "lgpl-3.0", "gnu lesser general public license v3 0": "lgpl-3.0", "gnu lgpl": "lgpl-3.0",
    "lgpl 2 1": "lgpl-2.1", "gnu lesser general public license v2 1": "lgpl-2.1",
    "agpl 3 0": "agpl-3.0", "gnu affero general public license v3 0": "agpl-3.0",
    "mpl 2 0": "mpl-2.0", "mozilla public license 2 0": "mpl-2.0",
    "epl 2 0": "epl-2.0", "eclipse public license 2 0": "epl-2.0",
    "public domain": "public-domain", "pd": "public-domain", "public domain mark": "public-domain",
    "cc0": "cc0-1.0", "cc0 1 0": "cc0-1.0", "cc 0": "cc0-1.0", "creative commons zero v1 0 universal": "cc0-1.0",
    "creative commons public domain dedication": "cc0-1.0", "cc0 public domain dedication": "cc0-1.0",
    "creative commons cc0": "cc0-1.0", "cc zero": "cc0-1.0",
    "creative commons gnu gpl": "gpl-2.0", "creative commons gnu lgpl": "lgpl-2.1",
}

# Creative Commons elements, in the order the id spells them.
_CC_ELEMENTS = (("nc", ("nc", "noncommercial")), ("nd", ("nd", "noderivatives", "noderivs")), ("sa", ("sa", "sharealike")))
_VERSION = re.compile(r"\b([1-4])(?: ([05]))?\b")

CC_BY = frozenset({"cc0-1.0", "cc-by-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0"})
COMMERCIAL = CC_BY | frozenset({
    "cc-by-sa-2.0", "cc-by-sa-2.5", "cc-by-sa-3.0", "cc-by-sa-4.0",
    "mit", "apache-2.0", "bsd-2-clause", "bsd-3-clause", "0bsd", "isc", "zlib", "unlicense", "public-domain",
})
POLICIES = ("cc-by", "commercial", "all")


def _key(raw: str) -> str:
    text = raw.lower().replace("non-commercial", "noncommercial").replace("no derivatives", "noderivatives")
    text = text.replace("share alike", "sharealike").replace("share-alike", "sharealike").replace("no-derivatives", "noderivatives")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _creative_commons(key: str) -> str | None:
    words = key.split()
    is_cc = "attribution" in words or "by" in words or key.startswith(("cc ", "creative commons"))
    if not is_cc or "by" not in words and "attribution" not in words:
        return None
    parts = ["cc-by"]
    for name, spellings in _CC_ELEMENTS:
        if any(s in words for s in spellings):
            parts.append(name)
    m = _VERSION.search(key)
    # Sketchfab (and Objaverse) short ids carry no version: Sketchfab licenses are 4.0.
    version = f"{m.group(1)}.{m.group(2) or 0}" if m else "4.0"
    return "-".join(parts) + "-" + version


def normalize(raw: str | None) -> str:
    """The license id of a raw license string (`unknown` when missing or not recognised)."""
    if raw is None:
        return UNKNOWN
    key = _key(str(raw))
    if not key or key in ("none", "null", "nan", "other", "unknown", "noassertion", "all rights reserved"):
        return UNKNOWN
    if key in _ALIASES:
        return _ALIASES[key]
    return _creative_commons(key) or UNKNOWN


# Phrases that identify the standard license texts people drop into a folder as LICENSE, checked in
# order (the more specific first); a file's first line alone often says only "Creative Commons Legal Code"
# (CC0) or "Apache License" (no version).
_TEXT_SIGNATURES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("cc0 1 0 universal",), "cc0-1.0"),
    (("released into the public domain", "unlicense"), "unlicense"),
    (("gnu affero general public license", "version 3"), "agpl-3.0"),
    (("gnu lesser general public license", "version 3"), "lgpl-3.0"),
    (("gnu lesser general public license", "version 2 1"), "lgpl-2.1"),
    (("gnu general public license", "version 3"), "gpl-3.0"),
    (("gnu general public license", "version 2"), "gpl-2.0"),
    (("mozilla public license", "2 0"), "mpl-2.0"),
    (("apache license", "version 2 0"), "apache-2.0"),
    (("permission is hereby granted free of charge",), "mit"),
    (("redistribution and use in source and binary forms", "neither the name"), "bsd-3-clause"),
    (("redistribution and use in source and binary forms",), "bsd-2-clause"),
    (("permission to use copy modify and or distribute this software for any purpose",), "isc"),
)


def from_text(text: str) -> str:
    """A raw license string for a license file's text: the license id when the text is a standard one
    (CC legal codes, MIT, Apache, BSD, GPL family, MPL, ISC, Unlicense), else its first non-empty line."""
    key = _key(text[:20000])
    for phrases, license_id in _TEXT_SIGNATURES:
        if all(p in key for p in phrases):
            return license_id
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # CC BY legal codes start with their title: "Attribution-NonCommercial-ShareAlike 4.0 International".
    for line in lines[:3]:
        cc = _creative_commons(_key(line)) if "international" in line.lower() or "unported" in line.lower() else None
        if cc:
            return cc
    return lines[0][:200] if lines else ""


def known_ids() -> frozenset[str]:
    """Every id `normalize` can return, so an explicit `--license` list can be checked."""
    ids = set(_ALIASES.values()) | COMMERCIAL | {UNKNOWN}
    for combo in ("", "-nc", "-nd", "-sa", "-nc-sa", "-nc-nd"):
        ids |= {f"cc-by{combo}-{v}" for v in ("1.0", "2.0", "2.5", "3.0", "4.0")}
    return frozenset(ids)


def allowed(policy: str) -> frozenset[str] | None:
    """The license ids a policy keeps: None means every license (`all`); an explicit list is checked."""
    policy = policy.strip().lower()
    if policy == "all":
        return None
    if policy == "cc-by":
        return CC_BY
    if policy == "commercial":
        return COMMERCIAL
    ids = {p.strip() for p in policy.split(",") if p.strip()}
    bad = sorted(ids - known_ids())
    if not ids or bad:
        raise TkError(
            f"--license: unknown license id(s) {bad or [policy]}; use cc-by, commercial, all, "
            "or a comma-separated list of ids such as cc0-1.0,cc-by-4.0,mit"
        )
    return frozenset(ids)
