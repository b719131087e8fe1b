"""Import the official TripoSR at run time, from outside the repo, for baseline numbers only.

The official source is never copied into tk nor imported by it: only this benchmark adds its folder to
sys.path while it runs. It needs omegaconf, einops and transformers 4.35 (see docs/model.md); torchmcubes
and rembg are not used by the measured calls and are replaced by empty modules when absent.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

# Beside the repo (a checkout with ../shared keeps it there); TK_TRIPOSR_OFFICIAL points elsewhere.
DEFAULT_SRC = str(Path(__file__).resolve().parents[3] / "shared" / "research" / "triposr_ref" / "official_tsr")
DEFAULT_DEPS = str(Path(tempfile.gettempdir()) / "tsrdeps")
DEPS_HINT = ("pip install --target /tmp/tsrdeps --no-deps transformers==4.35.0 tokenizers==0.14.1 "
             "huggingface_hub==0.19.4 omegaconf antlr4-python3-runtime==4.9.3")


def _placeholder(name: str) -> None:
    """An empty module for an optional import of the official code that the benchmark never calls."""
    if name in sys.modules:
        return
    try:
        __import__(name)
    except ImportError:
        module = types.ModuleType(name)

        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"{name} is not installed (not needed by the benchmark)")

        module.marching_cubes = module.remove = unavailable
        module.new_session = lambda *a, **k: None
        sys.modules[name] = module


def import_official(src: str | None = None, deps: str | None = None):
    """Return the official `TSR` class; exits with one clear line when the source or deps are missing."""
    src = src or os.environ.get("TK_TRIPOSR_OFFICIAL", DEFAULT_SRC)
    deps = deps or os.environ.get("TK_TRIPOSR_DEPS", DEFAULT_DEPS)
    if not (Path(src) / "tsr" / "system.py").is_file():
        sys.exit(f"bench.model: the official TripoSR source is not at {src} (a folder holding tsr/); "
                 "set TK_TRIPOSR_OFFICIAL or pass --official-src")
    if Path(deps).is_dir():
        sys.path.insert(0, deps)
    sys.path.insert(0, src)
    for name in ("torchmcubes", "rembg"):
        _placeholder(name)
    try:
        import tsr.models.tokenizers.image as tsr_image
        from tsr.system import TSR
    except ImportError as e:
        sys.exit(f"bench.model: the official code needs {e.name}: {DEPS_HINT}")
    import transformers

    if not transformers.__version__.startswith("4."):
        sys.exit(f"bench.model: the official code needs transformers 4.x (found {transformers.__version__}): {DEPS_HINT}")
    from tk.model.config import DINO_VITB16

    from tk.model.config import PRESETS_DIR

    # The official tokenizer downloads facebook/dino-vitb16's config.json: serve tk's copy (or a preset's
    # own ViT config from configs/) instead.
    dino = Path(tempfile.mkdtemp()) / "config.json"
    dino.write_text(json.dumps({"model_type": "vit", "architectures": ["ViTModel"], **DINO_VITB16}))

    def local_config(repo_id: str, filename: str, **kwargs: Any) -> str:
        own = PRESETS_DIR / repo_id / filename
        return str(own if own.is_file() else dino)

    tsr_image.hf_hub_download = local_config
    return TSR


def build_official(preset_yaml: Path, src: str | None = None, deps: str | None = None):
    """The official model with random init from one of tk's preset YAMLs (official format)."""
    TSR = import_official(src, deps)
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(preset_yaml)
    OmegaConf.resolve(cfg)
    return TSR(cfg)
