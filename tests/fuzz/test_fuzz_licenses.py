"""License strings (annotations, sidecar files, --licenses mappings) are untrusted text.

Properties: `normalize` returns a known id or `unknown` for any text; a string that names a restriction
(non-commercial, no derivatives, share-alike) in any spelling never lands in the `cc-by` policy, and a
non-commercial one never in `commercial`.
"""

from __future__ import annotations


from hypothesis import given
from hypothesis import strategies as st

from tk.curate import licenses

KNOWN = set(licenses.COMMERCIAL) | {licenses.UNKNOWN} | {
    f"cc-by-{e}-{v}" for e in ("nc", "nd", "sa", "nc-sa", "nc-nd", "nd-sa", "nc-nd-sa") for v in
    ("1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0", "4.5")} | {f"cc-by-{v}" for v in ("1.5", "3.5", "4.5")} | {
    "gpl-2.0", "gpl-3.0", "lgpl-2.1", "lgpl-3.0", "agpl-3.0", "mpl-2.0", "epl-2.0"}

# Separators a person (or a web form) puts between words: ASCII and Unicode dashes, spaces, dots, slashes.
SEP = st.sampled_from([" ", "-", "_", ".", "/", " - ", "\u2010", "\u2011", "\u2013", "\u2014", "\u00a0", "\u2009",
                       ", ", ": ", "\t", "--", "\u3000", "\uff0d"])
BASE = st.sampled_from(["CC", "CC BY", "cc-by", "by", "Creative Commons", "Creative Commons Attribution",
                        "Attribution", "CC-BY-4.0", "CC BY 3.0", "Attribution 4.0 International",
                        "https://creativecommons.org/licenses/by/4.0/", "creativecommons.org/licenses/by/3.0",
                        "Creative Commons - Attribution", "cc by 2.5", "CC0", "Public Domain", "MIT"])
NC = ["NC", "nc", "NonCommercial", "Non-Commercial", "Non Commercial", "non_commercial", "no commercial use",
      "not for commercial use", "Noncommercial", "NON-COMMERCIAL", "Non\u2011Commercial", "Non\u00a0Commercial",
      "ＮＣ", "Non‐Commercial", "commercial use prohibited", "NonCommercial-ShareAlike"]
ND = ["ND", "nd", "NoDerivatives", "No Derivatives", "No-Derivs", "NoDerivs", "No_Derivatives", "no derivative works",
      "No\u00a0Derivatives", "ＮＤ", "no modifications", "do not modify", "No-Derivatives", "NoDerivative"]
SA = ["SA", "sa", "ShareAlike", "Share Alike", "Share-Alike", "share_alike", "Share\u00a0Alike", "ＳＡ",
      "Share\u2013Alike", "sharealike"]
WORD = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=8)


def _case(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if f else c for c, f in zip(text, flips + [False] * len(text)))


@st.composite
def restricted(draw: st.DrawFn, kinds: tuple[list[str], ...] = (NC, ND, SA)) -> str:
    """A license text with at least one restriction, in random order, case and separators."""
    parts = [draw(BASE)]
    for _ in range(draw(st.integers(1, 3))):
        word = draw(st.sampled_from(draw(st.sampled_from(kinds))))
        parts.insert(draw(st.integers(0, len(parts))), _case(word, draw(st.lists(st.booleans(), max_size=12))))
    for _ in range(draw(st.integers(0, 2))):
        parts.insert(draw(st.integers(0, len(parts))), draw(st.sampled_from(["4.0", "3.0", "v2", "International",
                                                                              "Unported", "license", "(", ")"])))
    text = parts[0]
    for p in parts[1:]:
        text += draw(SEP) + p
    return text


@given(st.one_of(st.text(max_size=80), restricted(), st.builds(lambda a, b: a + b, BASE, WORD)))
def test_any_text_gives_a_known_id(raw):
    assert licenses.normalize(raw) in KNOWN


@given(restricted())
def test_a_restriction_never_passes_cc_by(raw):
    assert licenses.normalize(raw) not in licenses.CC_BY, raw


@given(restricted((NC,)))
def test_non_commercial_never_passes_commercial(raw):
    assert licenses.normalize(raw) not in licenses.COMMERCIAL, raw


def test_the_spellings_fuzzing_found():
    # Each of these was admitted as cc-by-4.0 (or cc-by-3.0) before the fix.
    for raw in ("CC BY-ＮＣ 4.0", "Creative Commons Attribution-No-Derivs", "Creative Commons Attribution Share_Alike",
                "Creative Commons Attribution-No\u00a0Derivatives 4.0", "CC BY 4.0 NC",
                "https://creativecommons.org/licenses/by/4.0/ NonCommercial", "CC BY-NC\u200b 4.0"):
        assert licenses.normalize(raw) not in licenses.CC_BY, raw


def test_plain_cc_by_still_passes():
    for raw in ("CC BY 4.0", "by", "cc-by", "Creative Commons Attribution 4.0 International",
                "https://creativecommons.org/licenses/by/4.0/", "CC0", "Attribution 3.0 Unported"):
        assert licenses.normalize(raw) in licenses.CC_BY, raw
