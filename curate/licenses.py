"""License normalisation (raw spellings of the sources → one id) and license policies.

The sources spell the same license many ways: Sketchfab/Objaverse short ids (`by`, `by-nc-sa`, `cc0`),
Thingiverse phrases ("Creative Commons - Attribution - Non-Commercial"), GitHub repository license
names ("MIT License", "GNU General Public License v3.0") or SPDX ids, Smithsonian "CC0". Everything
becomes one of the ids of docs/design.md; what cannot be recognised becomes `unknown`, which passes no
policy but `all`.
"""

from __future__ import annotations

import re
import unicodedata

from tk.errors import TkError

UNKNOWN = "unknown"

# Exact spellings (after `_key`), matched only as the whole value: short ids and license names.
_ALIASES: dict[str, str] = {
    "mit": "mit", "mit license": "mit", "the mit license": "mit", "the mit license mit": "mit", "expat": "mit",
    "apache 2 0": "apache-2.0", "apache license 2 0": "apache-2.0", "apache license version 2 0": "apache-2.0",
    "apache": "apache-2.0", "apache 2": "apache-2.0",
    "bsd": "bsd-3-clause", "bsd license": "bsd-3-clause", "bsd 3 clause": "bsd-3-clause", "bsd 3": "bsd-3-clause",
    "bsd 3 clause license": "bsd-3-clause", "new bsd license": "bsd-3-clause",
    "bsd 3 clause new or revised license": "bsd-3-clause", "bsd 2 clause": "bsd-2-clause",
    "bsd 2 clause license": "bsd-2-clause", "simplified bsd license": "bsd-2-clause",
    "bsd 2 clause simplified license": "bsd-2-clause", "isc": "isc", "isc license": "isc",
    "zlib": "zlib", "zlib license": "zlib", "unlicense": "unlicense", "the unlicense": "unlicense",
    "0bsd": "0bsd", "bsd zero clause license": "0bsd",
    "gpl 3 0": "gpl-3.0", "gpl 3 0 only": "gpl-3.0", "gpl 3 0 or later": "gpl-3.0", "gplv3": "gpl-3.0",
    "gnu gpl v3": "gpl-3.0", "gnu general public license v3 0": "gpl-3.0", "gpl": "gpl-3.0", "gnu gpl": "gpl-3.0",
    "gpl 2 0": "gpl-2.0", "gpl 2 0 only": "gpl-2.0", "gpl 2 0 or later": "gpl-2.0",
    "gnu general public license v2 0": "gpl-2.0",
    "lgpl 3 0": "lgpl-3.0", "lgpl 3 0 only": "lgpl-3.0", "lgpl 3 0 or later": "lgpl-3.0",
    "gnu lesser general public license v3 0": "lgpl-3.0", "gnu lgpl": "lgpl-3.0",
    "lgpl 2 1": "lgpl-2.1", "lgpl 2 1 only": "lgpl-2.1", "lgpl 2 1 or later": "lgpl-2.1",
    "gnu lesser general public license v2 1": "lgpl-2.1",
    "agpl 3 0": "agpl-3.0", "agpl 3 0 only": "agpl-3.0", "agpl 3 0 or later": "agpl-3.0",
    "gnu affero general public license v3 0": "agpl-3.0",
    "mpl 2 0": "mpl-2.0", "mozilla public license 2 0": "mpl-2.0",
    "epl 2 0": "epl-2.0", "eclipse public license 2 0": "epl-2.0",
    "public domain": "public-domain", "pd": "public-domain", "public domain mark": "public-domain",
    "public domain mark 1 0": "public-domain",
    "cc0": "cc0-1.0", "cc0 1 0": "cc0-1.0", "cc 0": "cc0-1.0", "creative commons zero v1 0 universal": "cc0-1.0",
    "creative commons public domain dedication": "cc0-1.0", "cc0 public domain dedication": "cc0-1.0",
    "creative commons cc0": "cc0-1.0", "cc zero": "cc0-1.0",
    "creative commons gnu gpl": "gpl-2.0", "creative commons gnu lgpl": "lgpl-2.1", "creative commons lgpl": "lgpl-2.1",
}

# Creative Commons elements, in the order the id spells them, each with the word stems that name it;
# "commercial" and "modif..." in any CC text mean a restriction (e.g. "not for commercial use"), so they count
# too: a wrong restriction only costs an object, a missed one admits it under a policy it does not meet.
_CC_ELEMENTS = (
    ("nc", ("nc",), ("commerc",)),
    ("nd", ("nd",), ("deriv", "modif")),
    ("sa", ("sa",), ("alike",)),
)
_VERSION = re.compile(r"\b([1-4])(?: ([05]))?\b")
# Sketchfab's short ids (and SPDX-style ones with a version), matched only as the whole value.
_SHORT_ID = re.compile(r"^(?:cc )?by((?: nc)?(?: nd)?(?: sa)?)(?: ([1-4])(?: ([05]))?)?$")
_CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d\.\d)")
_CC_URL_ELEMENTS = {"by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd"}

CC_BY = frozenset({"cc0-1.0", "cc-by-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0"})
COMMERCIAL = CC_BY | frozenset({
    "cc-by-sa-2.0", "cc-by-sa-2.5", "cc-by-sa-3.0", "cc-by-sa-4.0",
    "mit", "apache-2.0", "bsd-2-clause", "bsd-3-clause", "0bsd", "isc", "zlib", "unlicense", "public-domain",
})
POLICIES = ("cc-by", "commercial", "all")


def _key(raw: str) -> str:
    # NFKC folds look-alikes (fullwidth "ＮＣ", no-break spaces) to ASCII and format characters (zero-width
    # spaces, soft hyphens) are dropped, so no spelling of a restriction slips past the ASCII word split.
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf").lower()
    key = " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())
    # Two-word spellings become one word after the split, whatever separated them ("Non_Commercial").
    for two, one in (("non commercial", "noncommercial"), ("no derivatives", "noderivatives"),
                     ("no derivs", "noderivs"), ("share alike", "sharealike")):
        key = re.sub(rf"\b{two}\b", one, key)
    return key


def _elements(words: list[str]) -> list[str]:
    """The CC restrictions (nc, nd, sa) that `words` name, in the order an id spells them."""
    return [name for name, exact, stems in _CC_ELEMENTS
            if any(w in exact or any(s in w for s in stems) for w in words)]


def _version(key: str) -> str:
    m = _VERSION.search(key)
    # Sketchfab (and Objaverse) short ids carry no version: Sketchfab licenses are 4.0.
    return f"{m.group(1)}.{m.group(2) or 0}" if m else "4.0"


def _creative_commons(key: str) -> str | None:
    """The CC id of free text that names a Creative Commons license, else None.

    The text must say it is Creative Commons ("creative commons", a word "cc", or a CC legal code title
    with "international"/"unported"), and name attribution ("attribution", or "by" right after "cc" or
    "commons"): a bare "by" ("made by ACME", "GPL v3 by FSF") is never a license. CC0 is CC text that
    says "cc0" (or "zero") and nothing of BY.
    """
    words = key.split()
    says_cc = "creative commons" in key or "cc" in words or "cc0" in words
    says_cc = says_cc or ("attribution" in words and ("international" in words or "unported" in words))
    if not says_cc:
        return None
    attribution = "attribution" in words or any(
        w == "by" and i > 0 and words[i - 1] in ("cc", "commons") for i, w in enumerate(words))
    elements = _elements(words)
    if not attribution:
        zero = "cc0" in words or ("zero" in words and "creative commons" in key)
        return "cc0-1.0" if zero and not elements else None
    return "-".join(["cc-by", *elements]) + "-" + _version(key)


def _from_url(raw: str) -> str | None:
    m = _CC_URL.search(raw.lower())
    if not m:
        return None
    kind, element, version = m.groups()
    if kind == "publicdomain":
        return "cc0-1.0" if element == "zero" else "public-domain" if element == "mark" else None
    return f"cc-{element}-{version}" if element in _CC_URL_ELEMENTS else None


def normalize(raw: str | None) -> str:
    """The license id of a raw license string (`unknown` when missing or not recognised).

    Short ids (`by`, `by-nc-sa`, `cc0`, `mit`) and license names match only as the whole value; free text
    must carry the words of a real license (see `_creative_commons`); a question mark means nobody knows.
    """
    if raw is None:
        return UNKNOWN
    text = str(raw)
    if "?" in text:
        return UNKNOWN
    key = _key(text)
    if not key or key in ("none", "null", "nan", "other", "unknown", "noassertion", "all rights reserved"):
        return UNKNOWN
    if key in _ALIASES:
        return _ALIASES[key]
    if url := _from_url(text):
        # Restrictions written beside the link count too ("NonCommercial, see creativecommons.org/licenses/by/4.0").
        extra = _elements(key.split())
        if url.startswith("cc-by") and extra:
            named = url.split("-")[2:-1]
            return "-".join(["cc-by", *[e for e, _, _ in _CC_ELEMENTS if e in named or e in extra]]) + "-" + url.rsplit("-", 1)[1]
        return url if not extra else UNKNOWN
    m = _SHORT_ID.match(key)
    if m:
        elements = [e for e in ("nc", "nd", "sa") if f" {e}" in f" {m.group(1)}"]
        return "-".join(["cc-by", *elements]) + "-" + _version(key)
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
