"""Curate's sources, one module each behind `tk.curate.sources.base.Source`; `REGISTRY` maps --source to it."""

from tk.curate.sources import local, objaverse, objaverse_xl
from tk.curate.sources.base import Source

REGISTRY: dict[str, Source] = {s.name: s for s in (objaverse.SOURCE, objaverse_xl.SOURCE, local.SOURCE)}
