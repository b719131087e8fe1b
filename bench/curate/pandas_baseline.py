"""The idiomatic pandas version of tk curate's default XL rules, as a peer would write it.

read_parquet, normalise licenses through a dict on the unique raw values, isin filters, a reason per
row with np.select, drop_duplicates on sha256 among the kept rows (sorted for a deterministic keep),
a hash split, to_parquet of every row and column. Same rules and output columns as tk's path.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from tk.curate import licenses
from tk.formats import EXTENSIONS as SUPPORTED_TYPES


def run(xl_dir: Path, out: Path) -> int:
    """Curate every XL annotation file under `xl_dir` into `out/manifest.parquet`; return rows kept."""
    frames = [pd.read_parquet(p) for p in sorted(xl_dir.glob("*/*.parquet"))]
    df = pd.concat(frames, ignore_index=True)
    del frames
    df["source"] = "xl-" + df["source"].astype(str)
    df["fileIdentifier"] = df["fileIdentifier"].fillna("")
    df["uid"] = [hashlib.sha256(f.encode()).hexdigest() for f in df["fileIdentifier"]]
    df["file_type"] = df["fileType"].str.lower().str.strip(". ")
    mapping = {raw: licenses.normalize(raw) for raw in df["license"].dropna().unique()}
    df["license_id"] = df["license"].map(mapping).fillna("unknown")
    allowed = licenses.allowed("cc-by")
    conditions = [df["fileIdentifier"] == "", ~df["license_id"].isin(allowed), ~df["file_type"].isin(SUPPORTED_TYPES)]
    df["reason"] = np.select(conditions, ["no_identifier", "license", "file_type"], default=None)
    kept = df[df["reason"].isna() & df["sha256"].notna()].sort_values("fileIdentifier")
    dup_index = kept.index[kept.duplicated("sha256", keep="first")]
    df.loc[dup_index, "reason"] = "duplicate"
    df["status"] = np.where(df["reason"].isna(), "keep", "reject")
    h = pd.util.hash_pandas_object(df["uid"], index=False).to_numpy() / 2.0**64
    df["split"] = np.where(h < 0.98, "train", np.where(h < 0.99, "val", "test"))
    df = df.rename(columns={"fileIdentifier": "file_identifier", "license": "license_raw"}).rename(columns={"license_id": "license"})
    df = df.drop(columns=["fileType"])
    out.mkdir(parents=True, exist_ok=True)
    df.to_parquet(out / "manifest.parquet", index=False)
    return int((df["status"] == "keep").sum())
