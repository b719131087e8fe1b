"""The real path: `tk release build` on manifests/tiny-release.yaml (3 sample objects, 2 views of 32 px,
Cycles), then verify, tamper, rebuild; and a failed build leaves no release behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tk.contracts import release as layout
from tk.hashing import sha256_file

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "manifests" / "tiny-release.yaml"
ENV = {**os.environ, "TK_NO_PROGRESS": "1", "RAY_USAGE_STATS_ENABLED": "0"}


def tk(*args: str) -> subprocess.CompletedProcess:
    """Run the tk CLI in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "tk", *args], capture_output=True, text=True, env=ENV, timeout=900)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "tiny"
    r = tk("release", "build", str(TINY), "--out", str(out), "--workers", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    return out


@pytest.mark.slow
def test_build_writes_a_complete_release(built, sample_dir):
    r = tk("release", "verify", str(built))
    assert r.returncode == 0, r.stderr
    assert "3 kept, 3 rendered x 2 views = 6 rows" in r.stderr + r.stdout
    record = json.loads((built / layout.RELEASE_JSON).read_text())
    assert record["stats"]["licenses_kept"] == {"cc-by-3.0": 1, "cc0-1.0": 1, "mit": 1}
    assert record["stats"]["rejected_by_reason"].get("where", 0) >= 8  # the other sample objects
    assert record["versions"]["blender"].startswith("5.0.1") and record["versions"]["tk"]
    assert record["license_policy"]["policy"] == "commercial" and "mit" in record["license_policy"]["allowed"]
    assert (built / layout.SPEC).read_bytes() == TINY.read_bytes()
    cat, bunny = sha256_file(sample_dir / "objects/siameseCat/siameseCat.obj"), sha256_file(sample_dir / "objects/bunny.glb")
    attribution = (built / layout.ATTRIBUTION).read_text()
    cat_line = next(line for line in attribution.splitlines() if cat in line)
    assert "Gwinna" in cat_line and "cc-by-3.0" in cat_line and bunny not in attribution
    card = (built / layout.CARD).read_text()
    assert "](preview.png)" in card and "| kept by curation | 3 |" in card and "load_dataset" in card
    from PIL import Image

    with Image.open(built / layout.PREVIEW) as img:
        assert img.size[0] > 64 and img.size[1] >= 3 * 32
    assert not list(built.parent.glob(".tiny.*")), "staging and work folders are removed after success"


@pytest.mark.slow
def test_tampered_real_release_names_the_file(built, tmp_path):
    copy = Path(shutil.copytree(built, tmp_path / "copy"))
    shard = layout.shards(copy)[0]
    shard.unlink()
    r = tk("release", "verify", str(copy))
    name = shard.relative_to(copy).as_posix()
    assert r.returncode == 2 and f"{name}: missing" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_rebuild_matches(built, tmp_path):
    r = tk("release", "rebuild", str(built), "--out", str(tmp_path / "again"), "--workers", "1")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    text = r.stdout + r.stderr
    assert "rebuild matches the release" in text and "MISMATCH" not in text
    for row in ("manifest", "cameras", "lights", "rgba", "depth"):
        assert row in text


@pytest.mark.slow
def test_failed_build_leaves_no_release(tmp_path):
    spec = tmp_path / "none.yaml"
    spec.write_text(
        f"name: none\nversion: 1\nsources: [{{source: local, input: {REPO / 'manifests/sample/objects'}}}]\n"
        "curation: {license: commercial, where: \"file_identifier = 'no-such-file.glb'\"}\n"
        "render: {views: 2, resolution: 32, samples: 4}\n"
    )
    out = tmp_path / "rel"
    r = tk("release", "build", str(spec), "--out", str(out), "--workers", "1")
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1].startswith("error: curation kept no object, so there is nothing to release")
    assert not out.exists() and not (tmp_path / ".rel.staging").exists()
