"""The dataset card (README.md) and license summary (LICENSES.md) of a release."""

from __future__ import annotations

from typing import Any

from tk.contracts import release as layout
from tk.release import licenses
from tk.release.stats import ReleaseStats


def license_summary(stats: ReleaseStats) -> str:
    """LICENSES.md: objects per license, and what each license asks of users of the dataset."""
    out = [
        "# License summary",
        "",
        "Each object keeps its own license; the renders of an object are shipped under it.",
        "",
        "| license | objects kept | objects rendered | what it requires | text |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for lic, n in stats.licenses_kept.items():
        out.append(
            f"| {lic} | {n} | {stats.licenses_rendered.get(lic, 0)} | {licenses.obligation(lic)} "
            f"| {licenses.license_url(lic)} |"
        )
    out.append(f"| **total** | {stats.kept} | {stats.rendered} | | |")
    return "\n".join(out) + "\n"


def dataset_card(record: dict[str, Any], stats: ReleaseStats) -> str:
    """README.md of a release: what it holds, its licenses, a contact sheet, and how to load and check it."""
    spec = record["spec"]
    render = spec.get("render") or {}
    versions = record["versions"]
    name, version = spec["name"], spec["version"]
    out = [
        f"# {name} {version}",
        "",
        (spec.get("description") or "").strip() or "A 3D rendering dataset built with tk.",
        "",
        f"![contact sheet: objects x views, with masks]({layout.PREVIEW})",
        "",
        "## Contents",
        "",
        "| | count |",
        "| --- | ---: |",
        f"| candidate objects | {stats.candidates} |",
        f"| kept by curation | {stats.kept} |",
        f"| rendered | {stats.rendered} |",
        f"| failed to render | {stats.render_failed} |",
        f"| views per object | {stats.views_per_object} |",
        f"| rows (views) in {stats.shards} shard(s) | {stats.shard_rows} |",
        "",
        "Splits (kept objects): " + ", ".join(f"{k} {n}" for k, n in stats.splits.items()),
        "",
        f"Render settings: {', '.join(f'{k}={val}' for k, val in sorted(render.items())) or 'tk defaults'}. "
        f"Built with tk {versions['tk']}, Blender {versions['blender']}, Python {versions['python']}.",
        "",
        "## Licenses",
        "",
        "| license | objects kept | objects rendered |",
        "| --- | ---: | ---: |",
        *(f"| {k} | {n} | {stats.licenses_rendered.get(k, 0)} |" for k, n in stats.licenses_kept.items()),
        "",
        f"Credits the licenses require are in [{layout.ATTRIBUTION}]({layout.ATTRIBUTION}); "
        f"what each license asks is in [{layout.LICENSES}]({layout.LICENSES}).",
        "",
        f"## Categories (by `{stats.category_column}`)",
        "",
        "| | objects |",
        "| --- | ---: |",
        *(f"| {k} | {n} |" for k, n in stats.categories.items()),
    ]
    if stats.rejected_by_reason:
        out += ["", "Rejected by curation, by the first rule that failed:", ""]
        out += [f"- {reason}: {n}" for reason, n in stats.rejected_by_reason.items()]
    out += ["", LOADING.strip(), "", CHECKING.strip(), ""]
    return "\n".join(out)


LOADING = """
## Loading

One row per view: `uid`, `view`, `split`, `rgba` (PNG bytes, alpha is the mask), `depth` (float16),
`normal` (PNG), `c2w` (row-major 4x4, OpenGL camera, Blender world +Z up), `fx fy cx cy`, `width`,
`height`, `light` (JSON). `manifest/manifest.parquet` has one row per candidate object, with its license.

```python
import pyarrow.dataset as ds
views = ds.dataset("renders/shards", format="parquet").to_table(filter=ds.field("split") == "train")

import duckdb
duckdb.sql("SELECT split, count(*) FROM 'renders/shards/*.parquet' GROUP BY split").show()

from datasets import load_dataset
data = load_dataset("parquet", data_files={"train": "renders/shards/*.parquet"})["train"]

import io
from PIL import Image
image = Image.open(io.BytesIO(views["rgba"][0].as_py()))
```
"""

CHECKING = """
## Checking and rebuilding

- `tk release verify .` checks every file against `SHA256SUMS`, the schemas, the counts and the licenses.
  `sha256sum -c SHA256SUMS` checks the hashes alone.
- `tk release rebuild . --out REBUILT [--source-root DIR]` builds the dataset again from `spec.yaml` and
  compares manifests, cameras, lights and images with this copy.
- `RELEASE.json` holds the spec and the versions of tk, Blender, Python and the key packages it was built with.
"""
