"""TripoSR configuration: dataclasses for the official `config.yaml` format, validated, with named presets.

The official config names its image tokenizer by a Hugging Face id (`facebook/dino-vitb16`). tk carries
that ViT configuration itself and resolves any other name as `<checkpoint folder>/<name>/config.json`,
so a checkpoint folder is self-contained and nothing is downloaded.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from tk import yamlfile
from tk.atomic import write_text
from tk.errors import TkError
from tk.sections import build_section, check_known

PRESETS_DIR = Path(__file__).resolve().parents[1] / "configs"
PRESETS = ("tiny", "cpu", "small", "triposr")
# the official extract_mesh defaults (tsr/system.py): the density_act isosurface level and the marching-cubes grid
DENSITY_THRESHOLD = 25.0
MESH_RESOLUTION = 256
# A checkpoint folder may name the isosurface level chosen for it (e.g. on a validation split with
# `tk eval --density-sweep`): a small model's densities can stay below the official 25 everywhere.
SURFACE_FILE = "surface.json"



def read_surface_level(model_dir: str | Path) -> tuple[float, str]:
    """(density level, where it came from) for a model folder: its surface.json, else the official 25.

    A surface.json that cannot be read or holds no level above 0 is refused in one line, not ignored: a user who
    wrote one meant it."""
    path = Path(model_dir) / SURFACE_FILE
    if not path.is_file():
        return DENSITY_THRESHOLD, f"official TripoSR level (no {SURFACE_FILE} in the model folder)"
    try:
        record = json.loads(path.read_text())
        level = float(record["density_threshold"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TkError(f"{path}: not a surface level file ({{\"density_threshold\": LEVEL, \"chosen_by\": ...}}): "
                      f"{e}") from None
    if not level > 0:
        raise TkError(f"{path}: density_threshold {level:g} must be above 0")
    return level, f"{SURFACE_FILE} ({record.get('chosen_by') or 'chosen for this model'})"


def write_surface_level(model_dir: str | Path, level: float, chosen_by: str) -> Path:
    """Record in a model folder the isosurface level chosen for it and how it was chosen."""
    if not level > 0:
        raise TkError(f"density level {level:g} must be above 0")
    path = Path(model_dir) / SURFACE_FILE
    write_text(path, json.dumps({"density_threshold": float(level), "chosen_by": chosen_by}, indent=1) + "\n")
    return path


# ViT hidden_act values tk implements (tk.model.vit.ACTIVATIONS): the parameter-free ones of transformers' ACT2FN.
VIT_ACTIVATIONS = ("gelu", "gelu_python", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_accurate", "gelu_10",
                   "quick_gelu", "relu", "relu2", "relu6", "leaky_relu", "silu", "swish", "mish", "tanh", "sigmoid",
                   "linear")

# backbone.activation_fn values of the official FeedForward (any other one fails there)
FEEDFORWARD_ACTIVATIONS = ("geglu", "gelu", "gelu-approximate", "geglu-approximate")
# Renderer activations the official get_activation resolves: its own names and the element-wise functions of
# torch.nn.functional (trunc_exp, the official class default, is not one: it fails there, so tk refuses it).
RENDER_ACTIVATIONS = ("none", "exp", "sigmoid", "tanh", "softplus", "relu", "relu6", "elu", "selu", "celu", "gelu",
                      "silu", "mish", "leaky_relu", "hardtanh", "hardsigmoid", "hardswish", "logsigmoid", "softsign",
                      "tanhshrink")
# Official defaults that differ from tk's dataclass defaults (which are the released model's values): a section
# that leaves these out gets what the official code would build.
OFFICIAL_DEFAULTS = {"backbone": {"attention_head_dim": 88, "num_layers": 1}, "decoder": {"activation": "relu"}}

# Class names of the official config, kept so a written config.yaml loads in the official code too.
OFFICIAL_CLASSES = {
    "image_tokenizer_cls": "tsr.models.tokenizers.image.DINOSingleImageTokenizer",
    "tokenizer_cls": "tsr.models.tokenizers.triplane.Triplane1DTokenizer",
    "backbone_cls": "tsr.models.transformer.transformer_1d.Transformer1D",
    "post_processor_cls": "tsr.models.network_utils.TriplaneUpsampleNetwork",
    "decoder_cls": "tsr.models.network_utils.NeRFMLP",
    "renderer_cls": "tsr.models.nerf_renderer.TriplaneNeRFRenderer",
}


def _check(ok: bool, msg: str) -> None:
    if not ok:
        raise TkError(f"model config: {msg}")


@dataclass
class ViTConfig:
    """The DINO ViT of the image tokenizer (transformers' ViTConfig fields that matter)."""

    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    image_size: int = 224
    patch_size: int = 16
    num_channels: int = 3
    hidden_act: str = "gelu"
    layer_norm_eps: float = 1e-12
    qkv_bias: bool = True
    initializer_range: float = 0.02

    def __post_init__(self) -> None:
        # image_size need not be a multiple of patch_size: transformers floors it (position table of (S//p)^2)
        _check(self.hidden_size % self.num_attention_heads == 0, "ViT hidden_size must divide by num_attention_heads")
        _check(self.patch_size >= 1 and self.image_size >= self.patch_size, "ViT image_size must be >= patch_size >= 1")
        _check(self.hidden_act in VIT_ACTIVATIONS,
               f"ViT hidden_act {self.hidden_act!r} is not supported; use one of {', '.join(VIT_ACTIVATIONS)}")


# facebook/dino-vitb16/config.json (architecture only; the weights come from the checkpoint): ViTConfig's defaults
DINO_VITB16 = asdict(ViTConfig())
BUILTIN_VITS = {"facebook/dino-vitb16": DINO_VITB16}


@dataclass
class ImageTokenizerConfig:
    pretrained_model_name_or_path: str = "facebook/dino-vitb16"
    enable_gradient_checkpointing: bool = False


@dataclass
class TokenizerConfig:
    plane_size: int = 32
    num_channels: int = 1024


@dataclass
class BackboneConfig:
    in_channels: int = 1024
    num_attention_heads: int = 16
    attention_head_dim: int = 64
    num_layers: int = 16
    cross_attention_dim: int = 768
    out_channels: int | None = None
    dropout: float = 0.0
    norm_num_groups: int = 32
    attention_bias: bool = False
    activation_fn: str = "geglu"
    only_cross_attention: bool = False
    double_self_attention: bool = False
    upcast_attention: bool = False
    norm_type: str = "layer_norm"
    norm_elementwise_affine: bool = True
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        _check(self.in_channels % self.norm_num_groups == 0, "backbone in_channels must divide by norm_num_groups")
        _check(self.activation_fn in FEEDFORWARD_ACTIVATIONS,
               f"backbone activation_fn {self.activation_fn!r}: use one of {', '.join(FEEDFORWARD_ACTIVATIONS)}")
        _check(self.norm_type == "layer_norm", "backbone norm_type must be 'layer_norm' (the only one the official code has)")
        # upcast_attention is accepted and has no effect: the official attention (SDPA) ignores it too


@dataclass
class PostProcessorConfig:
    in_channels: int = 1024
    out_channels: int = 40
    # tk-only: the ConvTranspose2d's kernel and stride. The official network is the factor-2 case (its weights
    # load unchanged); 4 gives 4x finer planes from the same tokens, so the backbone's cost does not grow.
    upsample_factor: int = 2

    def __post_init__(self) -> None:
        _check(self.upsample_factor >= 1, "post_processor.upsample_factor must be >= 1")


@dataclass
class DecoderConfig:
    in_channels: int = 120
    n_neurons: int = 64
    n_hidden_layers: int = 9
    activation: str = "silu"
    bias: bool = True
    weight_init: str | None = "kaiming_uniform"
    bias_init: str | None = None

    def __post_init__(self) -> None:
        _check(self.activation in ("silu", "relu"), f"decoder activation {self.activation!r}: use silu or relu")
        # 0 builds what 1 builds, in the official code too (one hidden layer is always there)
        _check(self.n_hidden_layers >= 0, "decoder n_hidden_layers must be >= 0")
        _check(self.weight_init in (None, "kaiming_uniform"), "decoder weight_init must be kaiming_uniform or null")
        _check(self.bias_init in (None, "zero"), "decoder bias_init must be zero or null")


@dataclass
class RendererConfig:
    radius: float = 0.87
    feature_reduction: str = "concat"
    density_activation: str = "exp"
    density_bias: float = -1.0
    color_activation: str = "sigmoid"
    num_samples_per_ray: int = 128
    randomized: bool = False

    def __post_init__(self) -> None:
        _check(self.radius > 0, "renderer radius must be positive")
        _check(self.feature_reduction in ("concat", "mean"), "renderer feature_reduction must be concat or mean")
        _check(str(self.density_activation).lower() in RENDER_ACTIVATIONS,
               f"renderer density_activation {self.density_activation!r}: use exp (the official value)")
        _check(str(self.color_activation).lower() in RENDER_ACTIVATIONS,
               f"renderer color_activation {self.color_activation!r}: use sigmoid (the official value)")
        _check(self.num_samples_per_ray >= 1, "renderer num_samples_per_ray must be >= 1")


@dataclass
class TripoSRConfig:
    """The whole model: the official config sections plus the resolved ViT architecture."""

    cond_image_size: int = 512
    image_tokenizer: ImageTokenizerConfig = field(default_factory=ImageTokenizerConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    post_processor: PostProcessorConfig = field(default_factory=PostProcessorConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    renderer: RendererConfig = field(default_factory=RendererConfig)
    vit: ViTConfig = field(default_factory=ViTConfig)

    def __post_init__(self) -> None:
        t, b, p, d, v = self.tokenizer, self.backbone, self.post_processor, self.decoder, self.vit
        _check(b.in_channels == t.num_channels, "backbone.in_channels must equal tokenizer.num_channels")
        _check(p.in_channels == t.num_channels, "post_processor.in_channels must equal tokenizer.num_channels")
        # the image tokens are the keys/values of attn2 (and of attn1 with only_cross_attention)
        if b.double_self_attention:
            inner = b.num_attention_heads * b.attention_head_dim
            _check(inner == v.hidden_size, "backbone with double_self_attention: num_attention_heads x "
                   "attention_head_dim must equal the ViT hidden_size (the official model fails otherwise)")
        if b.only_cross_attention or not b.double_self_attention:
            _check(b.cross_attention_dim == v.hidden_size, "backbone.cross_attention_dim must equal the ViT hidden_size")
        n = 3 if self.renderer.feature_reduction == "concat" else 1
        _check(d.in_channels == n * p.out_channels,
               f"decoder.in_channels must be {n} x post_processor.out_channels = {n * p.out_channels}")
        # Not a multiple of the patch size is fine: the stride-p patch convolution floors it, as in the official code.
        _check(self.cond_image_size >= v.patch_size, f"cond_image_size must be >= the ViT patch_size ({v.patch_size})")

    def to_official_dict(self) -> dict[str, Any]:
        """The config.yaml content in the official layout (class names included, no tk-only keys)."""
        out: dict[str, Any] = {"cond_image_size": self.cond_image_size}
        for section in ("image_tokenizer", "tokenizer", "backbone", "post_processor", "decoder", "renderer"):
            out[f"{section}_cls"] = OFFICIAL_CLASSES[f"{section}_cls"]
            out[section] = asdict(getattr(self, section))
        if self.post_processor.upsample_factor == 2:  # the official value: left out, so the official code loads it
            del out["post_processor"]["upsample_factor"]
        return out

    @property
    def plane_resolution(self) -> int:
        """Texels per side of the planes the decoder samples (the post-processor's output)."""
        return self.tokenizer.plane_size * self.post_processor.upsample_factor


_SECTIONS = {
    "image_tokenizer": ImageTokenizerConfig,
    "tokenizer": TokenizerConfig,
    "backbone": BackboneConfig,
    "post_processor": PostProcessorConfig,
    "decoder": DecoderConfig,
    "renderer": RendererConfig,
}
_INTERP = re.compile(r"^\$\{([A-Za-z_][\w.]*)\}$")


def _resolve_interpolations(raw: dict[str, Any]) -> dict[str, Any]:
    """Resolve OmegaConf-style `${a.b}` references (the official config uses one)."""

    def lookup(path: str) -> Any:
        node: Any = raw
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise TkError(f"model config: cannot resolve ${{{path}}}")
            node = node[part]
        return node

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, str) and (m := _INTERP.match(node.strip())):
            return walk(lookup(m.group(1)))
        return node

    return walk(raw)


def _with_official_defaults(name: str, values: Any) -> Any:
    """A section mapping with the official defaults filled in where they differ from tk's."""
    if not isinstance(values, dict):
        return values
    return {**OFFICIAL_DEFAULTS.get(name, {}), **values}


def _section(name: str, cls: type, values: Any) -> Any:
    return build_section("model config", name, cls, values)


def vit_config_for(name: str, base_dir: Path | None) -> ViTConfig:
    """The ViT architecture named by `image_tokenizer.pretrained_model_name_or_path`."""
    candidates = []
    if base_dir is not None:
        candidates.append(base_dir / name / "config.json")
    candidates.append(Path(name) / "config.json")
    for path in candidates:
        if path.is_file():
            raw = json.loads(path.read_text())
            known = {f.name for f in fields(ViTConfig)}
            return _section(f"{path}", ViTConfig, {k: v for k, v in raw.items() if k in known})
    if name in BUILTIN_VITS:
        return ViTConfig(**BUILTIN_VITS[name])
    where = base_dir / name / "config.json" if base_dir else Path(name) / "config.json"
    raise TkError(f"model config: unknown image tokenizer {name!r}: put its ViT config.json at {where}")


def config_from_dict(raw: dict[str, Any], base_dir: Path | None = None) -> TripoSRConfig:
    """Build a validated TripoSRConfig from an official-format mapping (class-name keys are checked)."""
    if not isinstance(raw, dict):
        raise TkError("model config: expected a mapping at the top level")
    raw = _resolve_interpolations(raw)
    allowed = {"cond_image_size", *(_SECTIONS), *OFFICIAL_CLASSES, "vit"}
    check_known(raw, allowed, "model config")
    for key, value in raw.items():
        if key.endswith("_cls") and value != OFFICIAL_CLASSES[key]:
            raise TkError(f"model config: {key} {value!r} is not supported; tk implements {OFFICIAL_CLASSES[key]}")
    sections = {name: _section(name, cls, _with_official_defaults(name, raw.get(name))) for name, cls in _SECTIONS.items()}
    if "vit" in raw:  # tk extension: the ViT architecture inline (used by training configs)
        vit = _section("vit", ViTConfig, raw["vit"])
    else:
        vit = vit_config_for(sections["image_tokenizer"].pretrained_model_name_or_path, base_dir)
    return TripoSRConfig(cond_image_size=int(raw.get("cond_image_size", 512)), vit=vit, **sections)


def load_model_config(name_or_path: str | Path) -> TripoSRConfig:
    """A preset name (tiny, small, triposr), a config.yaml file, or a checkpoint folder holding one."""
    path = Path(name_or_path)
    if str(name_or_path) in PRESETS:
        path = PRESETS_DIR / f"{name_or_path}.yaml"
    elif path.is_dir():
        path = path / "config.yaml"
    if not path.is_file():
        raise TkError(f"model config {str(name_or_path)!r} not found: give a preset ({', '.join(PRESETS)}), "
                      "a config.yaml, or a folder that holds one")
    raw = yamlfile.read(path, f"model config {path}")
    return config_from_dict(raw, base_dir=path.parent)


def write_model_config(cfg: TripoSRConfig, folder: Path) -> None:
    """Write config.yaml (official format) and the ViT config.json beside it, atomically."""
    folder = Path(folder)
    vit_name = cfg.image_tokenizer.pretrained_model_name_or_path
    if Path(vit_name).is_absolute() or ".." in Path(vit_name).parts:
        # a ViT named by a folder elsewhere loads fine, but a saved checkpoint must be self-contained:
        # keep the folder's last name, relative to the checkpoint (the architecture is in cfg.vit)
        vit_name = Path(vit_name).name if Path(vit_name).name not in ("", "..") else "vit"
        cfg = replace(cfg, image_tokenizer=replace(cfg.image_tokenizer, pretrained_model_name_or_path=vit_name))
    write_text(folder / "config.yaml", yaml.safe_dump(cfg.to_official_dict(), sort_keys=False))
    vit_json = {"architectures": ["ViTModel"], "model_type": "vit", "attention_probs_dropout_prob": 0.0,
                "hidden_dropout_prob": 0.0, **asdict(cfg.vit)}
    target = folder / vit_name / "config.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text(target, json.dumps(vit_json, indent=2) + "\n")
