"""What each normalised license id asks of a dataset that ships renders of the work."""

from __future__ import annotations

import re

_CC = re.compile(r"^cc-(by(?:-sa|-nc|-nd|-nc-sa|-nc-nd)?)-(\d\.\d)$")
# Permissive software licenses whose copyright and permission notice must travel with copies.
NOTICE_LICENSES = {
    "mit": "https://opensource.org/license/mit",
    "bsd-2-clause": "https://opensource.org/license/bsd-2-clause",
    "bsd-3-clause": "https://opensource.org/license/bsd-3-clause",
    "apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
    "isc": "https://opensource.org/license/isc-license-txt",
}


def normalise(license_id: str | None) -> str:
    """Lower-case id as the manifest stores it (`CC-BY-4.0` -> `cc-by-4.0`); None -> `unknown`."""
    return (license_id or "unknown").strip().lower()


def requires_attribution(license_id: str | None) -> bool:
    """True for every Creative Commons BY variant: a release must credit author, title, source and license."""
    return bool(_CC.match(normalise(license_id)))


def requires_notice(license_id: str | None) -> bool:
    """True for licenses (MIT, BSD, Apache) whose copyright notice must be reproduced."""
    return normalise(license_id) in NOTICE_LICENSES


def license_url(license_id: str | None) -> str:
    """The canonical text of a license id, or '' when tk does not know it."""
    lic = normalise(license_id)
    if lic == "cc0-1.0":
        return "https://creativecommons.org/publicdomain/zero/1.0/"
    m = _CC.match(lic)
    if m:
        return f"https://creativecommons.org/licenses/{m.group(1)}/{m.group(2)}/"
    return NOTICE_LICENSES.get(lic, "")


def obligation(license_id: str | None) -> str:
    """One phrase saying what shipping this license requires."""
    lic = normalise(license_id)
    if lic == "cc0-1.0":
        return "none (public domain dedication)"
    if requires_attribution(lic):
        extra = "; share derivatives alike" if "-sa-" in lic else ""
        extra += "; non-commercial use only" if "-nc" in lic else ""
        extra += "; no derivatives" if "-nd" in lic else ""
        return "credit author, title, source and license (ATTRIBUTION.md)" + extra
    if requires_notice(lic):
        return "keep the copyright and license notice (ATTRIBUTION.md)"
    return "unknown: check before use"
