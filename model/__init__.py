"""tk.model: TripoSR (weight-compatible with the official release), its renderer, meshes and `tk infer`.

Importing this package imports torch; the CLI imports it inside its commands only.
"""

from tk.model.config import TripoSRConfig, load_model_config
from tk.model.tsr import TripoSR

__all__ = ["TripoSR", "TripoSRConfig", "load_model_config"]
